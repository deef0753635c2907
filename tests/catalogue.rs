//! The failure catalogue (README "Failure catalogue"): one test per kind of bad input, through the real
//! binary, pinning what the user sees. Each asserts the exact first stderr line, the exit code, what is on
//! stdout (in KRM mode a ResourceList with no items and only error `results`, in the other modes nothing),
//! that nothing panicked, and for the hostile rows that time and memory stay bounded.

use spinnaker_krm_tests as h;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What stdout holds after a failure.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stdout {
    /// Nothing at all.
    Empty,
    /// A ResourceList with `items: []` and error `results`, the first matching the headline.
    Results,
}

/// Asserts a failed run: exit code, the exact first stderr line, stdout, no panic.
#[track_caller]
fn assert_fails(out: &h::Run, code: i32, headline: &str, stdout: Stdout) {
    let context = format!("--- stdout\n{}\n--- stderr\n{}", out.stdout, out.stderr);
    assert_eq!(out.status.code(), Some(code), "exit code\n{context}");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, format!("spinnaker-krm: error: {headline}"), "first stderr line\n{context}");
    assert!(!out.stderr.contains("panicked"), "a panic\n{context}");
    match stdout {
        Stdout::Empty => assert_eq!(out.stdout, "", "stdout must be empty\n{context}"),
        Stdout::Results => assert_results(&out.stdout, code, headline),
    }
}

/// stdout is `apiVersion`, `kind: ResourceList`, `items: []` and `results`, every result an error; the
/// first result is the headline: its message (exit 2), or `Kind/ns/name field: message` (exit 1, where
/// the resource and field are the result's `resourceRef` and `field.path`).
#[track_caller]
fn assert_results(stdout: &str, code: i32, headline: &str) {
    let list: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not YAML ({e}):\n{stdout}"));
    let keys: Vec<&str> = list.as_mapping().expect("a mapping").keys().filter_map(|k| k.as_str()).collect();
    assert_eq!(keys, ["apiVersion", "kind", "items", "results"], "{stdout}");
    assert_eq!(list["kind"].as_str(), Some("ResourceList"), "{stdout}");
    assert_eq!(list["items"].as_sequence().map(Vec::len), Some(0), "a failed run emits no item:\n{stdout}");
    let results = list["results"].as_sequence().expect("results");
    assert!(!results.is_empty(), "{stdout}");
    for result in results {
        assert_eq!(result["severity"].as_str(), Some("error"), "{stdout}");
    }
    let first = &results[0];
    let message = first["message"].as_str().expect("a message");
    let shown = match code {
        2 => message.to_owned(),
        // A finding about the install as a whole (no resource): `field: message`.
        _ if first.get("resourceRef").is_none() => {
            format!("{}: {message}", first["field"]["path"].as_str().expect("a field path"))
        }
        _ => {
            let r = &first["resourceRef"];
            let namespace = r["namespace"].as_str().map(|ns| format!("{ns}/")).unwrap_or_default();
            let field = first["field"]["path"].as_str().expect("a field path");
            format!("{}/{namespace}{} {field}: {message}", r["kind"].as_str().unwrap(), r["name"].as_str().unwrap())
        }
    };
    assert!(
        headline == shown || headline.starts_with(&format!("{shown} (and ")),
        "the first result {shown:?} is not the headline {headline:?}"
    );
}

/// A working directory with `bom/1.27.0.yml`, where the function runs.
fn workdir(name: &str) -> h::TempDir {
    let work = h::TempDir::new(name);
    h::install_bom(work.path());
    work
}

fn gate() -> String {
    h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"))
}

/// A SpinnakerPlatform with these `spec` lines (indented by two spaces).
fn platform(spec: &str) -> String {
    format!(
        "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata:\n  name: spinnaker\nspec:\n{spec}"
    )
}

/// The gate Deployment under the functionConfig `config`, through the binary in KRM mode.
fn krm_gate(work: &Path, config: &str) -> h::Run {
    h::run_function(work, &h::resource_list(&[&gate()], config))
}

const LIST_HEAD: &str = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n";

// ---- the input stream ----------------------------------------------------------------------------

#[test]
fn not_yaml() {
    let out = h::run_function(workdir("not-yaml").path(), "this is: [not yaml\n");
    // Also when stdin is not a readable ResourceList, stdout is a ResourceList with only the error result.
    assert_fails(
        &out,
        2,
        "stdin is not valid YAML: line 2 column 1: while parsing a flow sequence, expected ',' or ']'",
        Stdout::Results,
    );
}

#[test]
fn not_a_resource_list() {
    let out = h::run_function(workdir("not-rl").path(), &gate());
    assert_fails(
        &out,
        2,
        "stdin is not a ResourceList: kind is \"Deployment\"; kpt and kustomize send `apiVersion: config.kubernetes.io/v1`, `kind: ResourceList`, `items: [...]`",
        Stdout::Results,
    );
}

#[test]
fn items_not_a_list() {
    let out = h::run_function(workdir("items-map").path(), &format!("{LIST_HEAD}items:\n  gate: {{}}\n"));
    assert_fails(
        &out,
        2,
        "stdin is not a ResourceList: items is not a list; kpt and kustomize send `apiVersion: config.kubernetes.io/v1`, `kind: ResourceList`, `items: [...]`",
        Stdout::Results,
    );
}

#[test]
fn an_item_without_kind_fails_and_one_without_metadata_passes() {
    let work = workdir("no-kind");
    let config = h::pinning_config("");
    let no_kind = "apiVersion: v1\nmetadata:\n  name: settings\ndata:\n  a: b\n";
    let out = h::run_function(work.path(), &h::resource_list(&[&gate(), no_kind], &config));
    assert_fails(
        &out,
        2,
        "stdin: items[1] is not a Kubernetes object: kind is missing or not a string; every item needs a string apiVersion and kind, and metadata, when present, must be a mapping",
        Stdout::Results,
    );
    let bad_metadata = "apiVersion: v1\nkind: ConfigMap\nmetadata: settings\n";
    let out = h::run_function(work.path(), &h::resource_list(&[bad_metadata], &config));
    assert_fails(
        &out,
        2,
        "stdin: items[0] is not a Kubernetes object: metadata is not a mapping; every item needs a string apiVersion and kind, and metadata, when present, must be a mapping",
        Stdout::Results,
    );
    // kpt sends a package's Kustomization files, which have no metadata: they pass through as they are.
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gate.yaml\n";
    let out = h::run_function(work.path(), &h::resource_list(&[kustomization, &gate()], &config)).success();
    assert!(out.stdout.contains(&h::as_item(kustomization)), "{}", out.stdout);
    assert_eq!(h::image_lines(&out.stdout), [h::pinned_image("gate")]);
    // kustomize lets a kustomization file leave out apiVersion and kind, and kpt sends it with its path; any
    // other item without them is refused, named by the file kpt read it from.
    let from = |path: &str| {
        format!("resources:\n- gate.yaml\nmetadata:\n  annotations:\n    config.kubernetes.io/path: '{path}'\n")
    };
    let bare = from("overlays/prod/kustomization.yaml");
    let out = h::run_function(work.path(), &h::resource_list(&[&gate(), &bare], &config)).success();
    assert!(out.stdout.contains(&h::as_item(&bare)), "{}", out.stdout);
    let kind_only = format!("kind: Kustomization\n{}", from("kustomization.yml"));
    h::run_function(work.path(), &h::resource_list(&[&gate(), &kind_only], &config)).success();
    let not_kustomize = format!("kind: Deployment\n{}", from("kustomization.yaml"));
    h::run_function(work.path(), &h::resource_list(&[&gate(), &not_kustomize], &config)).failure();
    let out = h::run_function(work.path(), &h::resource_list(&[&gate(), &from("notes.yaml")], &config));
    assert_fails(
        &out,
        2,
        "stdin: items[1] (notes.yaml) is not a Kubernetes object: apiVersion is missing or not a string; every item needs a string apiVersion and kind, and metadata, when present, must be a mapping",
        Stdout::Results,
    );
}

#[test]
fn duplicate_keys() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: a\n  mode: b\n";
    let out = h::run_function(workdir("dup").path(), &h::resource_list(&[cm], &h::pinning_config("")));
    assert_fails(
        &out,
        2,
        "stdin is not valid YAML: line 10 column 5: duplicate key \"mode\" in the mapping that starts at line 9; readers disagree on which value wins, so keep one",
        Stdout::Results,
    );
}

#[test]
fn invalid_utf8() {
    let work = workdir("utf8");
    let path = work.path().join("input.yaml");
    let mut bytes = h::resource_list(&[&gate()], &h::pinning_config("")).into_bytes();
    let at = bytes.windows(4).position(|w| w == b"gate").expect("gate");
    assert_eq!(at, 125, "the byte made invalid: the first `gate`, in metadata.name");
    bytes[at] = 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let (out, _) = run_measured(&mut Command::new(h::binary()), work.path(), &path);
    assert_fails(
        &out,
        2,
        "stdin is not UTF-8 (invalid byte at offset 125); Kubernetes manifests are UTF-8 text",
        Stdout::Results,
    );
}

#[test]
fn empty_stream() {
    let out = h::run_function(workdir("empty").path(), "");
    assert_fails(&out, 2, "stdin is empty: expected a ResourceList", Stdout::Results);
    let out = h::run_function(workdir("blank").path(), "\n  \n");
    assert_fails(&out, 2, "stdin is empty: expected a ResourceList", Stdout::Results);
}

/// Peak RSS and wall time of one run.
struct Cost {
    seconds: f64,
    /// Wall time: a run that waits (a FIFO, a hang) uses no CPU but never ends.
    wall: f64,
    max_rss_kb: u64,
}

/// Runs `cmd` (the binary) under `/usr/bin/time` with stdin from `input`, in `cwd`.
fn run_measured(cmd: &mut Command, cwd: &Path, input: &Path) -> (h::Run, Cost) {
    let what = format!("{cmd:?} < {}", input.display());
    run_measured_with(cmd, cwd, Stdio::from(std::fs::File::open(input).unwrap()), what)
}

/// Runs `cmd` (the binary) under `/usr/bin/time` with stdin `stdin`, in `cwd`, killed after 60 s (a run
/// that would hang fails its bound instead of hanging the test).
fn run_measured_with(cmd: &mut Command, cwd: &Path, stdin: Stdio, what: String) -> (h::Run, Cost) {
    let report = cwd.join("time.txt");
    let mut timed = Command::new(h::on_path("time"));
    timed.arg("-f").arg("%M %U %S").arg("-o").arg(&report).arg(h::on_path("timeout")).arg("60");
    timed.arg(cmd.get_program()).args(cmd.get_args());
    timed.envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    timed.current_dir(cwd).stdin(stdin);
    let start = Instant::now();
    let output = timed.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let wall = start.elapsed().as_secs_f64();
    let time = h::read_file(&report);
    let fields: Vec<f64> = time.lines().last().unwrap_or_default().split(' ').filter_map(|f| f.parse().ok()).collect();
    let [max_rss_kb, user, system] = fields[..] else { panic!("{time}") };
    let max_rss_kb = max_rss_kb as u64;
    // The bound is on CPU time (user + system): on a machine shared with other jobs, wall time measures them.
    let seconds = user + system;
    let out = h::Run {
        what,
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    eprintln!("{}: {seconds:.2} s CPU ({wall:.2} s wall), {} MB peak RSS", out.what, max_rss_kb / 1024);
    (out, Cost { seconds, wall, max_rss_kb })
}

/// Hostile input fails fast and small. Measured (debug build, 2 busy CPUs): 100 MB 0.05-0.16 s / 72 MB peak
/// RSS, the alias bomb 0.01 s / 7 MB, 10,000-deep nesting under 0.01 s / 8 MB; 50 MB of one-letter scalars
/// 2.8 s / 230 MB (release: 0.5 s), 2,000 aliases of 1 MiB 0.25 s / 10 MB, 190 nested anchors around 16 MiB
/// 2.4 s / 55 MB, 100,000 managed env names 1.8 s / 91 MB, 40 files sharing the node budget 2.2 s / 183 MB,
/// a BOM 100,000 deep and the special files 0.01 s / 8 MB.
#[track_caller]
fn assert_bounded(cost: &Cost, max: Duration, max_mb: u64) {
    assert!(cost.seconds < max.as_secs_f64(), "took {:.2} s of CPU (bound {max:?})", cost.seconds);
    assert!(cost.wall < 30.0, "took {:.2} s of wall time: it waited on something", cost.wall);
    assert!(cost.max_rss_kb < max_mb * 1024, "peak RSS {} MB (bound {max_mb} MB)", cost.max_rss_kb / 1024);
}

/// Writes `size` bytes of valid ResourceList (ConfigMaps) to `path`, in chunks.
fn write_big_resource_list(path: &Path, size: usize) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(format!("{LIST_HEAD}items:\n").as_bytes()).unwrap();
    let item = format!(
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: x}}\n  data: {{a: \"{}\"}}\n",
        "x".repeat(1000)
    );
    for _ in 0..=size / item.len() {
        file.write_all(item.as_bytes()).unwrap();
    }
    file.flush().unwrap();
}

#[test]
fn a_100_mb_stream() {
    let work = workdir("big");
    let input = work.path().join("big.yaml");
    write_big_resource_list(&input, 100_000_000);
    assert!(std::fs::metadata(&input).unwrap().len() >= 100_000_000);
    let (out, cost) = run_measured(&mut Command::new(h::binary()), work.path(), &input);
    assert_fails(
        &out,
        2,
        "stdin is larger than the 64 MiB input limit; split the package or render fewer resources at once",
        Stdout::Results,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

#[test]
fn an_alias_bomb() {
    let work = workdir("bomb");
    let mut text =
        format!("{LIST_HEAD}items: []\nfunctionConfig:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        text.push_str(&format!("  a{i}: &a{i} [{}]\n", [p.as_str(); 9].join(", ")));
    }
    let input = work.path().join("bomb.yaml");
    h::write_file(&input, &text);
    let (out, cost) = run_measured(&mut Command::new(h::binary()), work.path(), &input);
    assert_fails(
        &out,
        2,
        "stdin is not valid YAML: line 11 column 12: aliases expand to more than 1000000 nodes (an alias bomb?); write the repeated content out or use fewer aliases",
        Stdout::Results,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

#[test]
fn aliases_of_a_big_scalar() {
    // 1 MB of input: one 1 MiB scalar, aliased 2,000 times (2 GB written out if accepted).
    let work = workdir("alias-bytes");
    let text = format!(
        "{LIST_HEAD}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: a}}\n  data:\n    a: &a {}\n    b: [{}]\n",
        "x".repeat(1024 * 1024),
        ["*a"; 2000].join(", ")
    );
    let input = work.path().join("aliases.yaml");
    h::write_file(&input, &text);
    let (out, cost) = run_measured(&mut Command::new(h::binary()), work.path(), &input);
    assert_fails(
        &out,
        2,
        "stdin is not valid YAML: line 9 column 73: aliases expand to more than 16 MiB of text (an alias bomb?); write the repeated content out or use fewer aliases",
        Stdout::Results,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

#[test]
fn nested_anchors_are_shared_not_copied() {
    // 190 anchors, one inside the other, around 16 MiB; no alias. Each anchor used to keep a deep copy.
    let work = workdir("anchors");
    let mut nested = format!("&a0 [{}]", "x".repeat(16 * 1024 * 1024));
    for i in 1..190 {
        nested = format!("&a{i} [{nested}]");
    }
    let item = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  a: {nested}\n");
    let input = work.path().join("anchors.yaml");
    h::write_file(&input, &h::resource_list(&[&item], &h::pinning_config("")));
    let (out, cost) = run_measured(&mut Command::new(h::binary()), work.path(), &input);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(out.stdout.len() > 16 * 1024 * 1024, "the item is written out");
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

#[test]
fn a_50_mb_flow_list_of_one_letter_scalars() {
    // Valid YAML under the input limit, but a node per 3 bytes: 16 million nodes.
    let work = workdir("flow");
    let input = work.path().join("flow.yaml");
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        write!(file, "{LIST_HEAD}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: a}}\n  data: {{a: [")
            .unwrap();
        for _ in 0..(50_000_000 / 3) {
            file.write_all(b"a, ").unwrap();
        }
        file.write_all(b"a]}\n").unwrap();
    }
    let (out, cost) = run_measured(&mut Command::new(h::binary()), work.path(), &input);
    assert_fails(
        &out,
        2,
        "stdin is not valid YAML: line 7 column 2999954: more than 1000000 YAML nodes (keys, values and items); split the package or render fewer resources at once",
        Stdout::Results,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

#[test]
fn managed_env_with_100000_names() {
    // A previous run's list of env vars, and as many env vars: each is looked up in the list.
    let work = workdir("managed-env");
    let names: Vec<String> = (0..100_000).map(|i| format!("V{i}")).collect();
    let env: String = names.iter().map(|n| format!("        - name: {n}\n          value: x\n")).collect();
    let gate = gate()
        .replacen(
            "  template:\n    spec:\n",
            &format!("  template:\n    metadata:\n      annotations:\n        spinnaker-krm.dev/managed-env: {}\n    spec:\n", names.join(",")),
            1,
        )
        .replacen("        - name: JAVA_OPTS\n", &format!("{env}        - name: JAVA_OPTS\n"), 1);
    let input = work.path().join("gate.yaml");
    h::write_file(&input, &h::resource_list(&[&gate], &h::pinning_config("")));
    let (out, cost) = run_measured(&mut Command::new(h::binary()), work.path(), &input);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert!(!out.stdout.contains("name: V99999\n"), "a previous run's variables are removed");
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

#[test]
fn a_bom_nested_100000_deep() {
    let work = h::TempDir::new("deep-bom");
    let deep = format!("version: 1.27.0\nservices: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    h::write_file(&work.path().join("bom/1.27.0.yml"), &deep);
    let input = work.path().join("input.yaml");
    h::write_file(&input, &h::resource_list(&[&gate()], &h::pinning_config("")));
    let (out, cost) = run_measured(&mut Command::new(h::binary()), work.path(), &input);
    assert_fails(
        &out,
        2,
        "BOM bom/1.27.0.yml is not valid YAML: line 2 column 266: nesting deeper than 200 levels; no Kubernetes manifest needs that; fix the file (a BOM has version, services.<svc>.version and artifactSources.dockerRegistry)",
        Stdout::Results,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

/// `verify /dev/zero`, a BOM or config that links to /dev/zero, a FIFO as the config: refused by file
/// type before anything is read, instead of hanging or reading until memory runs out.
#[test]
fn special_files_are_refused_by_their_type() {
    let work = workdir("special");
    let dir = work.path();
    let null = || Stdio::null();
    let (out, cost) = run_measured_with(
        Command::new(h::binary()).args(["verify", "/dev/zero"]),
        dir,
        null(),
        "verify /dev/zero".into(),
    );
    assert_fails(&out, 2, "cannot read /dev/zero: it is a device, not a regular file", Stdout::Empty);
    assert_bounded(&cost, Duration::from_secs(5), 300);

    let fifo = dir.join("spinnaker-krm.yaml");
    let made = Command::new(h::on_path("mkfifo")).arg(&fifo).status().unwrap();
    assert!(made.success());
    h::write_file(&dir.join("gate.yaml"), &gate());
    let (out, cost) =
        run_measured_with(Command::new(h::binary()).arg("render").arg(dir), dir, null(), "render, FIFO config".into());
    assert_fails(
        &out,
        2,
        &format!("cannot read the functionConfig {} (it is a FIFO, not a regular file); create it (see README, \"The functionConfig\") or pass --config FILE", fifo.display()),
        Stdout::Empty,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
    std::fs::remove_file(&fifo).unwrap();

    std::os::unix::fs::symlink("/dev/zero", &fifo).unwrap();
    let (out, _) = run_measured_with(
        Command::new(h::binary()).arg("render").arg(dir),
        dir,
        null(),
        "render, config -> /dev/zero".into(),
    );
    assert_fails(
        &out,
        2,
        &format!("cannot read the functionConfig {} (it is a device, not a regular file); create it (see README, \"The functionConfig\") or pass --config FILE", fifo.display()),
        Stdout::Empty,
    );
    std::fs::remove_file(&fifo).unwrap();

    h::write_file(&fifo, &h::pinning_config(""));
    std::fs::remove_file(dir.join("bom/1.27.0.yml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("bom/1.27.0.yml")).unwrap();
    let (out, cost) = run_measured_with(
        Command::new(h::binary()).arg("render").arg(dir),
        dir,
        null(),
        "render, BOM -> /dev/zero".into(),
    );
    assert_fails(
        &out,
        2,
        &format!(
            "the BOM {} leads outside {} (a symlink); spec.bom.dir must name a file inside the repository: copy the BOM in",
            dir.join("bom/1.27.0.yml").display(),
            dir.display()
        ),
        Stdout::Empty,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);

    // A FIFO in the BOM's place: refused by its type, not waited on.
    std::fs::remove_file(dir.join("bom/1.27.0.yml")).unwrap();
    let status = Command::new(h::on_path("mkfifo")).arg(dir.join("bom/1.27.0.yml")).status().unwrap();
    assert!(status.success());
    let (out, cost) = run_measured_with(
        Command::new(h::binary()).arg("render").arg(dir),
        dir,
        null(),
        "render, BOM is a FIFO".into(),
    );
    assert_fails(
        &out,
        2,
        "cannot read the BOM bom/1.27.0.yml (it is a FIFO, not a regular file); it must be a readable regular file holding the BOM YAML",
        Stdout::Empty,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

#[test]
fn nesting_10000_deep() {
    let work = workdir("deep");
    let input = work.path().join("deep.yaml");
    h::write_file(&input, &format!("{LIST_HEAD}items:\n- {}x{}\n", "{a: ".repeat(10_000), "}".repeat(10_000)));
    let (out, cost) = run_measured(&mut Command::new(h::binary()), work.path(), &input);
    assert_fails(
        &out,
        2,
        "stdin is not valid YAML: line 4 column 1023: nesting deeper than 200 levels; no Kubernetes manifest needs that",
        Stdout::Results,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
    // Block style (nested sequences), as deep, through `verify`.
    h::write_file(&input, &format!("{}x\n", "- ".repeat(10_000)));
    let (out, cost) = run_measured(Command::new(h::binary()).arg("verify"), work.path(), &input);
    assert_fails(
        &out,
        2,
        "stdin is not valid YAML: line 1 column 401: nesting deeper than 200 levels; no Kubernetes manifest needs that",
        Stdout::Empty,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
}

// ---- the functionConfig --------------------------------------------------------------------------

#[test]
fn no_function_config() {
    let out = h::run_function(workdir("no-fc").path(), &format!("{LIST_HEAD}items:\n{}", h::as_item(&gate())));
    assert_fails(
        &out,
        2,
        "no functionConfig: give spinnaker-krm a SpinnakerPlatform (kpt fn render: configPath: spinnaker-krm.yaml on its exec entry in the Kptfile; kpt fn eval: --fn-config spinnaker-krm.yaml, or -- bom-version=1.27.0; kustomize: list it under transformers:)",
        Stdout::Results,
    );
}

#[test]
fn function_config_with_an_unknown_field() {
    let work = workdir("unknown");
    let out = krm_gate(work.path(), &platform("  bom: {version: 1.27.0}\n  mtls: {clientAuht: want}\n"));
    assert_fails(
        &out,
        2,
        "functionConfig spec.mtls.clientAuht: unknown field `clientAuht`, expected one of `enabled`, `clientAuth`, `gateClientAuth`, `gateListener`, `issuer`, `pkcs12Profile`",
        Stdout::Results,
    );
    // kpt's `-- key=value` form (a ConfigMap).
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: function-input\ndata:\n  bom-version: 1.27.0\n  client-auht: want\n";
    let out = krm_gate(work.path(), config);
    assert_fails(
        &out,
        2,
        "functionConfig data.client-auht: unknown key \"client-auht\"; valid keys: bom-version, bom-dir, bom-file, bom-registry, extra-pins, namespace, services, mode, truststore-mode, ca-bundle-configmap, ca-bundle-key, password-secret-name, password-secret-key, default-cacerts, default-cacerts-per-service, trust-namespace, mtls-enabled, client-auth, gate-client-auth, gate-listener, issuer-kind, issuer-name, issuer-create, pkcs12-profile",
        Stdout::Results,
    );
}

#[test]
fn a_key_store_profile_the_releases_java_cannot_read() {
    let work = workdir("profile");
    let out = krm_gate(work.path(), &platform("  bom: {version: 1.27.0}\n  mtls: {pkcs12Profile: Modern2023}\n"));
    assert_fails(
        &out,
        1,
        "functionConfig spec.mtls.pkcs12Profile: Modern2023 key stores (HMAC-SHA256 MAC) cannot be read by the Java of Spinnaker 1.27.0's images of gate (alpine:3.11 openjdk11-jre 11.0.5-11.0.9, slim): Java 11 reads them only from 11.0.12; remove spec.mtls.pkcs12Profile (LegacyDES is read by every Java) or pin a later release",
        Stdout::Results,
    );
}

#[test]
fn a_metrics_sidecar_under_client_auth_need() {
    let work = workdir("metrics");
    let sidecar = "      - name: monitoring-daemon\n        image: us-docker.pkg.dev/spinnaker-community/docker/monitoring-daemon:1.4.0\n";
    let orca = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/orca/deployment.yml")).replacen(
        "      containers:\n",
        &format!("      containers:\n{sidecar}"),
        1,
    );
    let out = h::run_function(work.path(), &h::resource_list(&[&orca], &platform("  bom: {version: 1.27.0}\n")));
    assert_fails(
        &out,
        1,
        "Deployment/orca spec.template.spec.containers[0].image: the monitoring-daemon sidecar reads https://localhost:8083/spectator/metrics without a client certificate, and orca requires one there (clientAuth need; the metrics endpoint is on the main port, not the management port): set spec.mtls.clientAuth: want, remove the monitoring-daemon sidecar, or leave orca out of spec.services",
        Stdout::Results,
    );
}

#[test]
fn function_config_with_a_wrong_type() {
    let work = workdir("types");
    let out = krm_gate(work.path(), &platform("  bom: {version: 1.27.0}\n  mtls: {enabled: maybe}\n"));
    assert_fails(
        &out,
        2,
        "functionConfig spec.mtls.enabled: invalid type: string \"maybe\", expected a boolean",
        Stdout::Results,
    );
    let out = krm_gate(work.path(), &platform("  bom: {version: 1.27.0}\n  services: gate\n"));
    assert_fails(
        &out,
        2,
        "functionConfig spec.services: invalid type: string \"gate\", expected a sequence",
        Stdout::Results,
    );
}

#[test]
fn function_config_with_a_literal_password() {
    let work = workdir("password");
    let out =
        krm_gate(work.path(), &platform("  bom: {version: 1.27.0}\n  truststore:\n    password: hunter2-catalogue\n"));
    assert_fails(
        &out,
        2,
        "functionConfig spec.truststore.password: a password is never accepted inline: only a reference {name, key} to a Secret is accepted; put the password in a Secret and set spec.truststore.passwordSecret: {name: <secret>, key: <key>}",
        Stdout::Results,
    );
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"), "the password was echoed");
}

#[test]
fn shell_metacharacters_in_names_and_paths() {
    let work = workdir("shell");
    let cases = [
        (
            "  namespace: \"spin;rm -rf /\"\n",
            "functionConfig spec.namespace: \"spin;rm -rf /\" is not a valid namespace; use a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
        ),
        (
            "  truststore:\n    passwordSecret: {name: \"$(id)\"}\n",
            "functionConfig spec.truststore.passwordSecret.name: \"$(id)\" is not a valid object name; use a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
        ),
        (
            "  truststore:\n    defaultCacerts: \"/etc/ssl/`id`\"\n",
            "functionConfig spec.truststore.defaultCacerts: \"/etc/ssl/`id`\" is not a valid path to the JDK truststore; use an absolute file path of letters, digits, '.', '_' and '-' with no '..' component and no '//' (e.g. /etc/ssl/certs/java/cacerts)",
        ),
    ];
    for (spec, headline) in cases {
        let out = krm_gate(work.path(), &platform(&format!("  bom: {{version: 1.27.0}}\n{spec}")));
        assert_fails(&out, 2, headline, Stdout::Results);
    }
    let out = krm_gate(work.path(), &platform("  bom: {version: 1.27.0, dir: \"bom;ls\"}\n"));
    assert_fails(
        &out,
        2,
        "functionConfig spec.bom.dir: \"bom;ls\" is not a valid BOM path; use a relative path of letters, digits, '.', '_', '-', '+' and '@' separated by single '/' (e.g. bom, ../../bom or bom/1.27.0.yml)",
        Stdout::Results,
    );
}

#[test]
fn dot_dot_is_refused_in_default_cacerts_and_allowed_in_bom_dir() {
    let root = h::TempDir::new("dotdot");
    let work = root.path().join("app");
    h::install_bom(root.path());
    std::fs::create_dir_all(&work).unwrap();
    let out = krm_gate(
        &work,
        &platform("  bom: {version: 1.27.0, dir: ../bom}\n  truststore:\n    defaultCacerts: /etc/ssl/../cacerts\n"),
    );
    assert_fails(
        &out,
        2,
        "functionConfig spec.truststore.defaultCacerts: \"/etc/ssl/../cacerts\" is not a valid path to the JDK truststore; use an absolute file path of letters, digits, '.', '_' and '-' with no '..' component and no '//' (e.g. /etc/ssl/certs/java/cacerts)",
        Stdout::Results,
    );
    // A BOM at the repository root, above the kustomization: `..` works inside the repository ...
    std::fs::create_dir_all(root.path().join(".git")).unwrap();
    let config = h::pinning_config("").replace("    dir: bom\n", "    dir: ../bom\n");
    let out = krm_gate(&work, &config).success();
    assert_eq!(h::image_lines(&out.stdout), [h::pinned_image("gate")]);
    // ... and never above it: with the repository at app/, ../bom is not read.
    std::fs::create_dir_all(work.join(".git")).unwrap();
    let out = krm_gate(&work, &config).failure();
    assert!(
        out.stderr.contains("cannot find the BOM ../bom/1.27.0.yml") && out.stderr.contains("searched nothing: "),
        "{}",
        out.stderr
    );
    // The fix is not a place it has just refused to read.
    assert!(
        out.stderr.contains(&format!(
            "copy the Spinnaker 1.27.0 BOM into {} and point spec.bom.dir there (spec.bom.dir: bom), or run inside one \
             Git repository that holds both",
            work.display()
        )) && !out.stderr.contains("put the Spinnaker"),
        "{}",
        out.stderr
    );
}

// ---- the BOM -------------------------------------------------------------------------------------

#[test]
fn bom_missing() {
    let work = h::TempDir::new("no-bom");
    let out = krm_gate(work.path(), &h::pinning_config(""));
    let dir = work.path().display();
    assert_fails(
        &out,
        2,
        &format!("cannot find the BOM bom/1.27.0.yml for spec.bom.version 1.27.0 in {dir} only (it is in no Git repository, so no directory above it is read); searched {dir}/bom/1.27.0.yml; put the Spinnaker 1.27.0 BOM at {dir}/bom/1.27.0.yml, or point spec.bom.dir at it"),
        Stdout::Results,
    );
}

#[test]
fn bom_malformed() {
    let work = h::TempDir::new("bad-bom");
    h::write_file(&work.path().join("bom/1.27.0.yml"), "version: \"1.27.0\nservices: {}\n");
    let out = krm_gate(work.path(), &h::pinning_config(""));
    assert_fails(
        &out,
        2,
        "BOM bom/1.27.0.yml is not valid YAML: line 1 column 10: invalid indentation in quoted scalar; fix the file (a BOM has version, services.<svc>.version and artifactSources.dockerRegistry)",
        Stdout::Results,
    );
    h::write_file(&work.path().join("bom/1.27.0.yml"), "version: 1.27.0\nservices: [gate]\n");
    let out = krm_gate(work.path(), &h::pinning_config(""));
    assert_fails(
        &out,
        2,
        "BOM bom/1.27.0.yml: services: invalid type: sequence, expected a map at line 2 column 11; fix the file (a BOM has version, services.<svc>.version and artifactSources.dockerRegistry)",
        Stdout::Results,
    );
}

#[test]
fn bom_for_another_version() {
    let work = h::TempDir::new("other-bom");
    h::copy_file(&h::fixtures().join("bom/1.27.0.yml"), &work.path().join("bom/1.28.0.yml"));
    let config = h::pinning_config("").replace("    version: 1.27.0\n", "    version: 1.28.0\n");
    let out = krm_gate(work.path(), &config);
    assert_fails(
        &out,
        2,
        "BOM bom/1.28.0.yml has version \"1.27.0\" but spec.bom.version asks for \"1.28.0\"; point spec.bom at the BOM for 1.28.0 or set spec.bom.version to 1.27.0",
        Stdout::Results,
    );
}

#[test]
fn bom_missing_a_service() {
    let work = h::TempDir::new("bom-no-gate");
    let bom = h::read_file(&h::fixtures().join("bom/1.27.0.yml"));
    let without_gate =
        bom.replace("  gate:\n    commit: b621ff317dc0d4049b1a1bc2267e61a8e0b1ce7d\n    version: 6.54.1\n", "");
    assert_ne!(bom, without_gate, "fixture changed?");
    h::write_file(&work.path().join("bom/1.27.0.yml"), &without_gate);
    let out = krm_gate(work.path(), &h::pinning_config(""));
    assert_fails(
        &out,
        1,
        "Deployment/gate spec.template.spec.containers[0].image: service gate is not pinned: BOM bom/1.27.0.yml has no services.gate.version and spec.bom.extraPins has no gate; add it to spec.bom.extraPins (e.g. extraPins: {gate: <tag>})",
        Stdout::Results,
    );
}

#[test]
fn a_service_the_bom_lacks_with_flat_keys() {
    // kpt's `-- bom-version=1.27.0` on a keel: the fix is told in the flat keys the user typed.
    let work = workdir("flat-keel");
    let keel = gate().replace("gate", "keel");
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: function-input\ndata:\n  bom-version: 1.27.0\n";
    let out = h::run_function(work.path(), &h::resource_list(&[&keel], config));
    assert_fails(
        &out,
        1,
        "Deployment/keel spec.template.spec.containers[0].image: service keel is not pinned: BOM bom/1.27.0.yml has no services.keel.version and extra-pins has no keel; add it to extra-pins (e.g. extra-pins=keel=<tag>)",
        Stdout::Results,
    );
}

// ---- the manifests -------------------------------------------------------------------------------

#[test]
fn a_spinnaker_image_pinned_by_digest() {
    let work = workdir("digest");
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let pinned = gate().replace("gate:latest", &format!("gate@{digest}"));
    let out = h::run_function(work.path(), &h::resource_list(&[&pinned], &h::pinning_config("")));
    assert_fails(
        &out,
        1,
        &format!("Deployment/gate spec.template.spec.containers[0].image: gate is pinned by digest ({digest}); spinnaker-krm pins Spinnaker images to the BOM by tag: remove the digest, or leave gate out of spec.services"),
        Stdout::Results,
    );
}

#[test]
fn a_spinnaker_service_with_a_conflicting_patch() {
    let work = workdir("conflict");
    let service = "apiVersion: spinnaker.io/v1alpha2
kind: SpinnakerService
metadata:
  name: spinnaker
  namespace: spinnaker
spec:
  spinnakerConfig:
    config:
      version: 1.28.1
  kustomize:
    gate:
      deployment:
        patchesStrategicMerge:
        - |
          spec:
            template:
              spec:
                volumes:
                - name: spinnaker-krm-truststore
                  emptyDir: {}
";
    let out = h::run_function(work.path(), &h::resource_list(&[service], &platform("  bom: {version: 1.27.0}\n")));
    assert_fails(
        &out,
        1,
        "SpinnakerService/spinnaker/spinnaker spec.kustomize.gate.deployment: a patchesStrategicMerge entry already patches spinnaker-krm's volumes or init container; remove it, spinnaker-krm writes its own patch",
        Stdout::Results,
    );
}

// ---- the other modes -----------------------------------------------------------------------------

#[test]
fn render_names_the_file_that_is_not_yaml() {
    let dir = workdir("render-bad");
    h::write_file(&dir.path().join("spinnaker-krm.yaml"), &h::pinning_config(""));
    h::write_file(&dir.path().join("gate.yaml"), &gate());
    h::write_file(&dir.path().join("broken.yaml"), "a: [\n");
    let out = h::run(Command::new(h::binary()).arg("render").arg(dir.path()), None);
    assert_fails(
        &out,
        2,
        "broken.yaml is not valid YAML: line 2 column 1: while parsing a node, did not find expected node content",
        Stdout::Empty,
    );
}

#[test]
fn render_of_a_directory_without_manifests() {
    let dir = workdir("render-empty");
    h::write_file(&dir.path().join("spinnaker-krm.yaml"), &h::pinning_config(""));
    let out = h::run(Command::new(h::binary()).arg("render").arg(".").current_dir(dir.path()), None);
    assert_fails(
        &out,
        2,
        "no manifests found in . (the functionConfig, the BOM and kustomization files are not manifests); put the Spinnaker manifests (.yaml, .yml or .json) there, or pass the directory that holds them",
        Stdout::Empty,
    );
}

#[test]
fn generate_refuses_a_bad_parameter() {
    let dir = workdir("generate-param");
    h::write_file(&dir.path().join("spinnaker-krm.yaml"), &h::pinning_config(""));
    h::write_file(&dir.path().join("gate.yaml"), &gate());
    let mut cmd = Command::new(h::binary());
    cmd.arg("generate").current_dir(dir.path());
    cmd.env("ARGOCD_APP_PARAMETERS", r#"[{"name":"client-auth","string":"required"}]"#);
    let out = h::run(&mut cmd, None);
    assert_fails(
        &out,
        2,
        "Application parameter client-auth: unknown variant `required`, expected `need` or `want`",
        Stdout::Empty,
    );
}

/// An Application that names the plugin skips discovery, so generate can run where the config is missing:
/// the fix is in Git or the Application, not a `--config` flag nobody can pass there.
#[test]
fn generate_without_a_function_config_says_where_to_put_it() {
    let dir = workdir("generate-no-config");
    h::write_file(&dir.path().join("gate.yaml"), &gate());
    let out = h::run(Command::new(h::binary()).arg("generate").current_dir(dir.path()), None);
    assert_fails(
        &out,
        2,
        "cannot read the functionConfig spinnaker-krm.yaml (no such file); the Application names this plugin, so ArgoCD \
         did not look for it: commit it in the app directory (see README, \"The functionConfig\"), or point the \
         Application's spec.source.path at the directory that holds it",
        Stdout::Empty,
    );
}

#[test]
fn verify_refuses_an_empty_stream_and_one_without_spinnaker() {
    let out = h::run(Command::new(h::binary()).arg("verify"), Some(""));
    assert_fails(&out, 2, "stdin holds no Kubernetes objects: nothing to verify (did the render fail?)", Stdout::Empty);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n";
    let out = h::run(Command::new(h::binary()).arg("verify"), Some(cm));
    assert_fails(
        &out,
        2,
        "stdin has no Spinnaker workload or SpinnakerService: nothing was verified; check that the right stream is piped in",
        Stdout::Empty,
    );
    // Spinnaker in another namespace than the one checked is not "no Spinnaker": the message says where it is.
    let elsewhere = gate().replacen("name: gate\n", "name: gate\n  namespace: spin-prod\n", 1);
    assert_ne!(elsewhere, gate());
    let out = h::run(Command::new(h::binary()).arg("verify"), Some(&elsewhere));
    assert_fails(
        &out,
        2,
        "stdin: Spinnaker is in namespace spin-prod and nothing of it in spinnaker, the namespace verify checks without \
         --config; nothing was verified: pass --config with the functionConfig the stream was rendered with (its \
         spec.namespace)",
        Stdout::Empty,
    );
}

/// Spinnaker only in another namespace than the one checked: `verify --config` and the kpt validator
/// (`mode: verify`) name where it is; the validator passed with "verified 0 workload(s)".
#[test]
fn verification_that_checks_nothing_fails_and_says_why() {
    let work = workdir("verify-elsewhere");
    let service =
        "apiVersion: spinnaker.io/v1alpha2\nkind: SpinnakerService\nmetadata:\n  name: spinnaker\n  namespace: b\n";
    let stream = [service, "---\n", &gate().replacen("name: gate\n", "name: gate\n  namespace: a\n", 1)].concat();
    let config = platform("  namespace: spinnaker\n  bom:\n    version: 1.27.0\n");
    h::write_file(&work.path().join("spinnaker-krm.yaml"), &config);
    let mut cmd = Command::new(h::binary());
    cmd.args(["verify", "--config", "spinnaker-krm.yaml"]).current_dir(work.path());
    assert_fails(
        &h::run(&mut cmd, Some(&stream)),
        2,
        "stdin: Spinnaker is in namespaces a, b and nothing of it in spinnaker, the namespace checked with --config \
         spinnaker-krm.yaml (its spec.namespace, spinnaker when it sets none); nothing was verified: pass the config the \
         stream was rendered with, or set its spec.namespace to where Spinnaker runs",
        Stdout::Empty,
    );
    let validator = config.replace("spec:\n", "spec:\n  mode: verify\n");
    let list =
        h::resource_list(&[service, &gate().replacen("name: gate\n", "name: gate\n  namespace: a\n", 1)], &validator);
    let mut cmd = Command::new(h::binary());
    cmd.current_dir(work.path());
    assert_fails(
        &h::run(&mut cmd, Some(&list)),
        2,
        "functionConfig spec.namespace: Spinnaker is in namespaces a, b and nothing of it in spinnaker, the namespace \
         verification checks; nothing was verified: set spec.namespace to where Spinnaker runs",
        Stdout::Results,
    );
    // No Spinnaker anywhere: the validator fails as `verify` does, instead of "verified 0 workload(s)".
    let settings = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n";
    let mut cmd = Command::new(h::binary());
    cmd.current_dir(work.path());
    assert_fails(
        &h::run(&mut cmd, Some(&h::resource_list(&[settings], &validator))),
        2,
        "no Spinnaker workload or SpinnakerService among the items: nothing was verified; run the validator on the \
         package that holds Spinnaker",
        Stdout::Results,
    );
}

#[test]
fn verify_fails_an_unprotected_stream() {
    let out = h::run(Command::new(h::binary()).arg("verify"), Some(&gate()));
    assert_fails(
        &out,
        1,
        "not protected: Deployment/gate spec.template.spec.containers[0].image: us-docker.pkg.dev/spinnaker-community/docker/gate:latest is not pinned to a release (and 5 more problem(s), listed below); was spinnaker-krm skipped? kustomize with --enable-alpha-plugins but without --enable-exec (kubectl kustomize has no --enable-exec) skips exec functions and exits 0; use kustomize's SpinnakerPlatform plugin, which cannot be skipped (README, kustomize and kubectl kustomize)",
        Stdout::Empty,
    );
}

#[test]
fn the_first_stderr_line_is_the_error_at_every_log_level_and_for_command_line_errors() {
    // A transform failure, after the BOM was loaded (logged at debug).
    let work = workdir("first-line");
    let digest = gate().replace("gate:latest", &format!("gate@sha256:{}", "ab".repeat(32)));
    for level in ["trace", "debug", "warn"] {
        let mut cmd = Command::new(h::binary());
        cmd.current_dir(work.path()).env("SPINNAKER_KRM_LOG", level);
        let out = h::run(&mut cmd, Some(&h::resource_list(&[&digest], &h::pinning_config(""))));
        let first = out.stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("spinnaker-krm: error: Deployment/gate spec.template.spec.containers[0].image: gate is pinned by digest"), "{level}:\n{}", out.stderr);
        assert_eq!(out.status.code(), Some(1));
        if level != "warn" {
            assert!(out.stderr.contains("DEBUG loaded BOM"), "the logs follow the headline:\n{}", out.stderr);
        }
    }
    let out = h::run(Command::new(h::binary()).arg("rendr"), None);
    assert_fails(&out, 2, "unrecognized subcommand 'rendr'", Stdout::Empty);
    let out = h::run(Command::new(h::binary()).arg("render"), None);
    assert_fails(&out, 2, "the following required arguments were not provided: <DIR>", Stdout::Empty);
    let out = h::run(Command::new(h::binary()).args(["verify", "--confg", "x"]), None);
    assert_fails(&out, 2, "unexpected argument '--confg' found", Stdout::Empty);
}

// ---- no silent `:latest` -------------------------------------------------------------------------

/// One object of each kind that can start a pod from a Spinnaker image, each at `:latest`.
fn every_pod_carrier() -> Vec<String> {
    let image = |svc: &str| format!("us-docker.pkg.dev/spinnaker-community/docker/{svc}:latest");
    let pod = |svc: &str| format!("containers:\n- name: {svc}\n  image: {}\n", image(svc));
    let indent = |text: &str, n: usize| text.lines().map(|l| format!("{}{l}\n", " ".repeat(n))).collect::<String>();
    let template = |svc: &str, n: usize| indent(&format!("template:\n  spec:\n{}", indent(&pod(svc), 4)), n);
    let object = |api: &str, kind: &str, name: &str, spec: &str| {
        format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}")
    };
    vec![
        object("apps/v1", "DaemonSet", "ds", &template("echo", 2)),
        object("apps/v1", "ReplicaSet", "rs", &template("orca", 2)),
        object("batch/v1", "Job", "job", &template("front50", 2)),
        object("batch/v1", "CronJob", "cron", &format!("  schedule: '@daily'\n  jobTemplate:\n    spec:\n{}", template("rosco", 6))),
        object("v1", "Pod", "pod", &indent(&pod("igor"), 2)),
        object("extensions/v1beta1", "Deployment", "old", &template("fiat", 2)),
        object("apps/v1beta2", "Deployment", "older", &template("kayenta", 2)),
        object("argoproj.io/v1alpha1", "Rollout", "rollout", &template("clouddriver", 2)),
        format!("apiVersion: v1\nkind: List\nitems:\n{}", indent(&format!("- {}", object("apps/v1", "DaemonSet", "in-list", &template("deck", 2)).replace('\n', "\n  ").trim_end()), 0)),
        // The pod spec comes through a YAML merge key, which Kubernetes' reader resolves.
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: gate\nspec:\n  template:\n    metadata: {{labels: {{app: gate}}}}\n    <<: {{spec: {{containers: [{{name: gate, image: \"{}\"}}]}}}}\n", image("gate")),
    ]
}

#[test]
fn no_silent_latest_in_any_object_with_a_pod_spec() {
    let work = workdir("latest");
    let objects = every_pod_carrier();
    let items: Vec<&str> = objects.iter().map(String::as_str).collect();
    let out = h::run_function(work.path(), &h::resource_list(&items, &h::pinning_config(""))).success();
    let images = h::image_lines(&out.stdout);
    let expected: Vec<String> =
        ["echo", "orca", "front50", "rosco", "igor", "fiat", "kayenta", "clouddriver", "deck", "gate"]
            .map(h::pinned_image)
            .to_vec();
    assert_eq!(images, expected, "{}", out.stdout);

    // `verify` checks the same set: the unrendered stream fails on every one of them.
    let stream = objects.join("---\n");
    let out = h::run(Command::new(h::binary()).arg("verify"), Some(&stream));
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    for field in [
        "DaemonSet/ds spec.template.spec.containers[0].image",
        "CronJob/cron spec.jobTemplate.spec.template.spec.containers[0].image",
        "Pod/pod spec.containers[0].image",
        "Deployment/old spec.template.spec.containers[0].image",
        "Rollout/rollout spec.template.spec.containers[0].image",
        "Deployment/gate spec.template.spec.containers[0].image",
    ] {
        assert!(out.stderr.contains(&format!("{field}: ")), "{field}:\n{}", out.stderr);
    }
    assert!(out.stderr.contains("deck:latest is not pinned"), "the List item is checked:\n{}", out.stderr);
}

#[test]
fn a_job_with_an_unpinned_service_is_an_error() {
    let work = h::TempDir::new("latest-job");
    h::install_bom(work.path());
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n      containers:\n      - name: keel\n        image: us-docker.pkg.dev/spinnaker-community/docker/keel:latest\n";
    let config = h::pinning_config("").replace("    extraPins:\n      keel: 0.1.0-20210331200022-slim\n", "");
    let out = h::run_function(work.path(), &h::resource_list(&[job], &config));
    assert_fails(
        &out,
        1,
        "Job/migrate spec.template.spec.containers[0].image: service keel is not pinned: BOM bom/1.27.0.yml has no services.keel.version and spec.bom.extraPins has no keel; add it to spec.bom.extraPins (e.g. extraPins: {keel: <tag>})",
        Stdout::Results,
    );
}

#[test]
fn a_spinnaker_service_whose_profile_already_sets_ssl() {
    // Its own encrypted key store for gate: a conflict, like an env var a Deployment already sets, never
    // silently overwritten.
    let work = workdir("profile-conflict");
    let service = "apiVersion: spinnaker.io/v1alpha2
kind: SpinnakerService
metadata:
  name: spinnaker
  namespace: spinnaker
spec:
  spinnakerConfig:
    config:
      version: 1.28.1
    profiles:
      gate:
        server:
          ssl:
            enabled: true
            key-store: encrypted:s3!r:us-west-2!b:bucket!f:gate.jks
            key-store-password: encrypted:k8s!n:spin-secrets!k:gate-pass
        server.ssl.client-auth: need
";
    let run = |config: &str| h::run_function(work.path(), &h::resource_list(&[service], config));
    // gate's listener is plain HTTP unless `gateListener: https`; only then are the server.ssl.* keys ours.
    let out = run(&platform("  bom: {version: 1.27.0}\n  services: [gate]\n  mtls: {gateListener: https}\n"));
    assert_fails(
        &out,
        1,
        "SpinnakerService/spinnaker/spinnaker spec.spinnakerConfig.profiles.gate: server.ssl.key-store, server.ssl.key-store-password, server.ssl.client-auth already set by the manifest; spinnaker-krm sets them for gate's mTLS: remove them, or leave gate out of spec.services",
        Stdout::Results,
    );
    assert!(!out.stdout.contains("s3!r") && !out.stderr.contains("s3!r"), "values are not quoted");
    // The same values spinnaker-krm would set are no conflict; its own output runs again unchanged.
    let config = platform("  bom: {version: 1.27.0}\n  services: [gate]\n  mtls: {gateClientAuth: need}\n");
    let plain = service.replace(
        "        server:\n          ssl:\n            enabled: true\n            key-store: encrypted:s3!r:us-west-2!b:bucket!f:gate.jks\n            key-store-password: encrypted:k8s!n:spin-secrets!k:gate-pass\n",
        "",
    );
    let once = h::run_function(work.path(), &h::resource_list(&[&plain], &config)).success();
    let twice = h::run_function(work.path(), &h::with_function_config(&once.stdout, &config)).success();
    assert_eq!(twice.stdout, once.stdout);
}

#[test]
fn render_files_share_one_node_budget() {
    // 40 files of 300,000 one-letter scalars each: every file alone is within the limits, together they
    // are 12 million nodes.
    let dir = workdir("render-nodes");
    h::write_file(&dir.path().join("spinnaker-krm.yaml"), &h::pinning_config(""));
    let list =
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {{a: [{}a]}}\n", "a, ".repeat(300_000));
    for i in 0..40 {
        h::write_file(&dir.path().join(format!("m{i:02}.yaml")), &list);
    }
    let (out, cost) = run_measured_with(
        Command::new(h::binary()).arg("render").arg(dir.path()),
        dir.path(),
        Stdio::null(),
        "render".into(),
    );
    assert_fails(
        &out,
        2,
        "m03.yaml and the files before it hold more than 1000000 YAML nodes (keys, values and items) together; split the package or render fewer resources at once",
        Stdout::Empty,
    );
    assert_bounded(&cost, Duration::from_secs(5), 300);
}
