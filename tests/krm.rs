//! The binary's contract as a KRM function and as `render DIR` (DESIGN.md "Rules every mode keeps",
//! krm-runtime.md §13): every item and annotation passes through, failures are loud and emit no resource,
//! and the ConfigMap functionConfig from kpt's `-- key=value` works.

use spinnaker_krm_tests as h;
use std::process::Command;

fn fixture(path: &str) -> String {
    h::read_file(&h::fixtures().join(path))
}

/// The spinnaker-kustomize gate Deployment with a selector (the schemas require one).
fn gate_deployment() -> String {
    let text = fixture("spinnaker-kustomize/base/gate/deployment.yml").replace(
        "spec:\n  replicas: 1\n",
        "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: gate\n",
    );
    assert!(text.contains("matchLabels"), "fixture changed?");
    text
}

#[test]
fn items_without_a_name_pass_through() {
    // kpt sends every KRM file of a package, kustomization.yml included (it has apiVersion and kind but
    // no metadata.name), and an identity function passes kpt's checks with it. spinnaker-kustomize keeps
    // one in every service directory, so the function must pass it through untouched.
    let work = h::TempDir::new("noname");
    h::install_bom(work.path());
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
metadata:
  annotations:
    config.kubernetes.io/index: '0'
    config.kubernetes.io/path: 'gate/kustomization.yml'
    internal.config.kubernetes.io/id: '1'
    config.k8s.io/id: '1'
resources:
- deployment.yml
- service.yml
commonLabels:
  app.kubernetes.io/name: gate
";
    let out =
        h::run_function(work.path(), &h::resource_list(&[kustomization, &gate_deployment()], &h::pinning_config("")))
            .success();
    assert!(
        out.stdout.contains(&h::as_item(kustomization)),
        "the Kustomization did not pass through as is:\n{}",
        out.stdout
    );
    assert_eq!(h::image_lines(&out.stdout), vec![h::pinned_image("gate")]);
}

#[test]
fn every_item_and_annotation_passes_through() {
    let work = h::TempDir::new("passthrough");
    h::install_bom(work.path());
    let kptfile = "apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: spinnaker
  annotations:
    config.kubernetes.io/local-config: \"true\"
    config.kubernetes.io/index: '0'
    config.kubernetes.io/path: 'Kptfile'
    internal.config.kubernetes.io/index: '0'
    internal.config.kubernetes.io/path: 'Kptfile'
    internal.config.kubernetes.io/seqindent: 'compact'
    internal.config.kubernetes.io/annotations-migration-resource-id: '0'
    internal.config.kubernetes.io/id: '1'
    config.k8s.io/id: '1'
info:
  description: count \"3\"
";
    let local_config = "apiVersion: v1
kind: ConfigMap
metadata:
  name: setters
  annotations:
    config.kubernetes.io/local-config: \"true\"
data:
  count: \"3\"
  enabled: \"on\"
";
    let redis = fixture("spinnaker-kustomize/components/redis/base/statefulset.yml");
    let annotated = gate_deployment().replacen(
        "metadata:\n  name: gate\n",
        "metadata:
  name: gate
  annotations:
    existing: \"yes\"
    internal.config.kubernetes.io/previousKinds: Deployment
    internal.config.kubernetes.io/previousNames: gate
    internal.config.kubernetes.io/previousNamespaces: default
    kustomize.config.k8s.io/id: |
      group: apps
      kind: Deployment
      name: gate
      namespace: spinnaker
      version: v1
    config.kubernetes.io/index: '1'
    config.kubernetes.io/path: 'gate/deployment.yml'
    internal.config.kubernetes.io/index: '1'
    internal.config.kubernetes.io/path: 'gate/deployment.yml'
    internal.config.kubernetes.io/seqindent: 'wide'
    internal.config.kubernetes.io/package-path: '/abs/pkg'
    internal.config.kubernetes.io/annotations-migration-resource-id: '3'
    internal.config.kubernetes.io/id: '4'
    config.k8s.io/id: '4'
",
        1,
    );
    let items = [kptfile, local_config, &redis, &annotated];
    let out = h::run_function(work.path(), &h::resource_list(&items, &h::pinning_config(""))).success();

    // Same items, same order, same meaning; only the gate image pinned (and the tool's own annotations).
    let expected = work.path().join("expected.yaml");
    h::write_file(&expected, &format!("{kptfile}---\n{local_config}---\n{redis}---\n{}", h::pin_text(&annotated)));
    let actual = work.path().join("actual.yaml");
    h::write_file(&actual, &out.stdout);
    h::yaml11_equal(&expected, &actual, &["--unwrap", "--strip-annotations", h::TOOL_ANNOTATIONS])
        .unwrap_or_else(|diff| panic!("{diff}\n--- output:\n{}", out.stdout));
    // The annotations keep their exact text (kpt and kustomize match items by them).
    for line in annotated.lines().skip_while(|l| !l.contains("annotations:")).take_while(|l| !l.starts_with("spec:")) {
        assert!(out.stdout.contains(line), "annotation line {line:?} changed:\n{}", out.stdout);
    }
    assert_eq!(h::image_lines(&out.stdout), vec!["redis:5".to_owned(), h::pinned_image("gate")]);
}

#[track_caller]
fn assert_failure(out: &h::Run, first_line_has: &[&str]) {
    assert!(!out.status.success(), "exit 0 on a failure:\n{}", out.stdout);
    assert!(!out.stdout.contains("kind: Deployment"), "a failed run emitted a resource:\n{}", out.stdout);
    assert!(out.stdout.is_empty() || out.stdout.contains("items: []"), "items on failure:\n{}", out.stdout);
    let first = out.stderr.lines().next().unwrap_or_default();
    for needle in first_line_has {
        assert!(
            first.contains(needle),
            "first stderr line {first:?} should mention {needle:?}; stderr:\n{}",
            out.stderr
        );
    }
}

#[test]
fn failures_are_loud_and_emit_nothing() {
    let work = h::TempDir::new("failures");
    let deployment = gate_deployment();
    // No BOM at all.
    let out = h::run_function(work.path(), &h::resource_list(&[&deployment], &h::pinning_config("")));
    assert_failure(&out, &["bom/1.27.0.yml"]);

    h::install_bom(work.path());
    // A misspelled field of the config.
    let config = h::pinning_config("").replace("    version: 1.27.0\n", "    versoin: 1.27.0\n");
    let out = h::run_function(work.path(), &h::resource_list(&[&deployment], &config));
    assert_failure(&out, &["versoin"]);

    // A BOM whose version is not the one asked for.
    h::copy_file(&h::fixtures().join("bom/1.27.0.yml"), &work.path().join("bom/1.28.1.yml"));
    let config = h::pinning_config("").replace("    version: 1.27.0\n", "    version: 1.28.1\n");
    let out = h::run_function(work.path(), &h::resource_list(&[&deployment], &config));
    assert_failure(&out, &["1.28.1", "1.27.0"]);

    // Not YAML at all.
    let out = h::run_function(work.path(), "this is: [not valid yaml\n");
    assert_failure(&out, &[]);
    assert!(!out.stderr.trim().is_empty(), "no message on stderr");
}

#[test]
fn kpt_config_map_arguments_configure_the_function() {
    // kpt fn eval DIR --exec BIN -- key=value ... sends a ConfigMap functionConfig (krm-runtime.md §5).
    let root = h::TempDir::new("kpt-args");
    let pkg = root.path().join("pkg");
    h::write_file(&pkg.join("gate.yaml"), &gate_deployment());
    h::write_file(
        &pkg.join("keel.yaml"),
        &fixture("spinnaker-kustomize/base/keel/deployment.yml").replace(":0.1.0-20210331200022-slim", ":latest"),
    );
    h::install_bom(root.path());
    let mut cmd = Command::new(h::on_path("kpt"));
    cmd.current_dir(root.path()).args(["fn", "eval", "pkg", "--truncate-output=false", "--exec"]).arg(h::binary());
    cmd.args([
        "--",
        "bom-version=1.27.0",
        "bom-dir=bom",
        "truststore-mode=none",
        "mtls-enabled=false",
        "extra-pins=keel=0.1.0-20210331200022-slim",
    ]);
    h::run(&mut cmd, None).success();
    assert_eq!(h::image_lines(&h::read_file(&pkg.join("gate.yaml"))), vec![h::pinned_image("gate")]);
    assert_eq!(h::image_lines(&h::read_file(&pkg.join("keel.yaml"))), vec![h::pinned_image("keel")]);
}

#[test]
fn render_prints_the_directory_transformed() {
    let dir = h::TempDir::new("render");
    let base = h::fixtures().join("spinnaker-kustomize/base");
    for svc in ["clouddriver", "gate"] {
        h::copy_file(&base.join(svc).join("deployment.yml"), &dir.path().join(svc).join("deployment.yml"));
        h::copy_file(&base.join(svc).join("service.yml"), &dir.path().join(svc).join("service.yml"));
        h::copy_file(&base.join(svc).join("kustomization.yml"), &dir.path().join(svc).join("kustomization.yml"));
    }
    h::install_bom(dir.path());
    h::write_file(&dir.path().join("spinnaker-krm.yaml"), &h::pinning_config(""));
    let elsewhere = h::TempDir::new("render-cwd");
    let out =
        h::run(Command::new(h::binary()).current_dir(elsewhere.path()).arg("render").arg(dir.path()), None).success();
    assert_eq!(h::image_lines(&out.stdout), vec![h::pinned_image("clouddriver"), h::pinned_image("gate")]);
    // The manifests only: neither the BOM, nor the config, nor the kustomizations.
    let kinds: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("kind: ")).collect();
    // In kustomize's order: Services before Deployments.
    assert_eq!(kinds, ["kind: Service", "kind: Service", "kind: Deployment", "kind: Deployment"], "{}", out.stdout);
    assert!(!out.stdout.contains("artifactSources"), "the BOM was read as a manifest:\n{}", out.stdout);

    // The same with --config FILE from another place.
    let config = elsewhere.path().join("my-config.yaml");
    std::fs::rename(dir.path().join("spinnaker-krm.yaml"), &config).unwrap();
    let again =
        h::run(Command::new(h::binary()).arg("render").arg(dir.path()).arg("--config").arg(&config), None).success();
    assert_eq!(again.stdout, out.stdout);

    // And with no config at all: a clear failure, nothing on stdout.
    std::fs::remove_file(&config).unwrap();
    let failed = h::run(Command::new(h::binary()).arg("render").arg(dir.path()), None);
    assert!(!failed.status.success() && failed.stdout.is_empty(), "{}\n{}", failed.stdout, failed.stderr);
    assert!(failed.stderr.lines().next().unwrap_or_default().contains("spinnaker-krm.yaml"), "{}", failed.stderr);
}
