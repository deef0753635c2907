//! `spinnaker-krm verify` end to end: it fails the output of `kubectl kustomize` (which silently skips the
//! exec function and exits 0), passes the output of the real function and prints it unchanged, works as a
//! kpt validator (`-- mode=verify`, or a Kptfile validator with its own function config), and with
//! `--config` checks the exact BOM pins.

use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The lines of `h::pinning_config` that turn the truststore and mTLS off.
const PIN_ONLY: &str = "  truststore:\n    mode: none\n  mtls:\n    enabled: false\n";

/// A config with every protection on (what `verify` expects without `--config`), keel pinned.
fn full_config() -> String {
    let config = h::pinning_config("");
    assert!(config.contains(PIN_ONLY), "harness config changed?");
    config.replace(PIN_ONLY, "")
}

/// The spinnaker-kustomize base (every service's Deployment and Service) with the function under
/// `transformers:` (exec path: the built binary) and the BOM beside it.
fn kustomization(root: &Path) -> PathBuf {
    let dir = root.join("install");
    let resources = h::copy_spinnaker_kustomize_base(&dir);
    h::write_file(
        &dir.join("kustomization.yaml"),
        &format!("namespace: spinnaker\nresources:\n{resources}transformers:\n- spinnaker-krm.yaml\n"),
    );
    h::write_file(&dir.join("spinnaker-krm.yaml"), &h::as_exec_transformer(&full_config()));
    h::install_bom(&dir);
    dir
}

/// The kustomization rendered by standalone kustomize, which runs the function.
fn render(dir: &Path) -> String {
    let mut kustomize = Command::new(h::kustomize());
    h::run(kustomize.args(["build", "--enable-alpha-plugins", "--enable-exec"]).arg(dir), None).success().stdout
}

/// `spinnaker-krm verify ARGS` in `cwd` with `input` on stdin.
fn verify(cwd: &Path, args: &[&str], input: &str) -> h::Run {
    h::run(Command::new(h::binary()).arg("verify").args(args).current_dir(cwd), Some(input))
}

const JVM: &[&str] = &["clouddriver", "echo", "fiat", "front50", "gate", "igor", "kayenta", "keel", "orca", "rosco"];

#[test]
fn verify_fails_what_kubectl_kustomize_renders() {
    let root = h::TempDir::new("verify-kubectl");
    let dir = kustomization(root.path());
    let mut kubectl = Command::new(h::on_path("kubectl"));
    let skipped = h::run(kubectl.args(["kustomize", "--enable-alpha-plugins"]).arg(&dir), None).success();

    let out = verify(&dir, &[], &skipped.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "", "a failed verify prints nothing");
    let headline = out.stderr.lines().next().unwrap();
    assert!(headline.starts_with("spinnaker-krm: error: not protected: Deployment/spinnaker/"), "{headline}");
    assert!(headline.ends_with("; was spinnaker-krm skipped? kustomize with --enable-alpha-plugins but without --enable-exec (kubectl kustomize has no --enable-exec) skips exec functions and exits 0; use kustomize's SpinnakerPlatform plugin, which cannot be skipped (README, kustomize and kubectl kustomize)"), "{headline}");
    // Each finding names the resource and the field.
    let findings: Vec<&str> = out.stderr.lines().skip(1).map(str::trim).collect();
    for svc in JVM {
        let at = |field: &str, message: &str| format!("Deployment/spinnaker/{svc} {field}: {message}");
        // gate's own port stays plain HTTP (README "Gate's front door"): it is checked as a TLS client.
        let tls = if *svc == "gate" {
            at(
                "spec.template.spec.containers[0].env",
                "gate calls other services without a client certificate (no OKHTTPCLIENT_KEYSTORE)",
            )
        } else {
            at(
                "spec.template.spec.containers[0].env",
                &format!("{svc} does not serve TLS (SERVER_SSL_ENABLED is not \"true\")"),
            )
        };
        for expected in [
            at("spec.template.spec.initContainers", "no spinnaker-krm-truststore init container builds the truststore"),
            tls,
            at("spec.template.spec.containers[0].volumeMounts", "no key store mounted at /spinnaker-krm/tls"),
            at("spec.template.metadata.annotations", "no spinnaker-krm.dev/injection-hash annotation"),
        ] {
            assert!(findings.contains(&expected.as_str()), "missing {expected:?} in\n{}", out.stderr);
        }
    }
    for svc in h::SERVICES.iter().filter(|s| **s != "keel") {
        let expected = format!(
            "Deployment/spinnaker/{svc} spec.template.spec.containers[0].image: {}/{svc}:latest is not pinned to a release",
            h::COMMUNITY_REGISTRY
        );
        assert!(findings.contains(&expected.as_str()), "missing {expected:?} in\n{}", out.stderr);
    }
    assert!(
        findings.iter().filter(|f| f.starts_with("Deployment/spinnaker/deck ")).count() == 1,
        "deck (not a JVM) is only checked for its pin:\n{}",
        out.stderr
    );
}

#[test]
fn verify_passes_what_the_real_function_renders_and_prints_it_unchanged() {
    let root = h::TempDir::new("verify-kustomize");
    let dir = kustomization(root.path());
    let rendered = render(&dir);
    assert_eq!(h::image_lines(&rendered).len(), 21, "11 services and 10 truststore init containers");

    let out = verify(&dir, &[], &rendered).success();
    assert_eq!(out.stdout, rendered, "verify prints its input unchanged");
    assert_eq!(out.stderr, "spinnaker-krm: verified 11 workload(s) and 0 SpinnakerService(s)\n");

    // From a file, and with the config: the exact BOM pins are there too.
    let file = root.path().join("rendered.yaml");
    h::write_file(&file, &rendered);
    let out = verify(&dir, &[file.to_str().unwrap(), "--config", "spinnaker-krm.yaml"], "").success();
    assert_eq!(out.stdout, rendered);
}

#[test]
fn with_a_config_verify_checks_the_exact_bom_pins() {
    let root = h::TempDir::new("verify-pins");
    let dir = kustomization(root.path());
    let rendered = render(&dir);
    // Someone bumps gate by hand after the render.
    let pinned = h::pinned_image("gate");
    let older = format!("{}/gate:6.50.0", h::COMMUNITY_REGISTRY);
    let edited = rendered.replace(&pinned, &older);
    assert_eq!(edited.matches(&older).count(), 2, "the service container and its truststore init container");

    // Without a config any fixed tag passes ...
    verify(&dir, &[], &edited).success();
    // ... with one, the BOM's pin is the only one that does.
    let out = verify(&dir, &["--config", "spinnaker-krm.yaml"], &edited);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let first = format!(
        "Deployment/spinnaker/gate spec.template.spec.containers[0].image: {older} is not the BOM pin {pinned}"
    );
    assert_eq!(
        out.stderr.lines().next().unwrap(),
        format!("spinnaker-krm: error: not protected: {first} (and 1 more problem(s), listed below); was spinnaker-krm skipped? kustomize with --enable-alpha-plugins but without --enable-exec (kubectl kustomize has no --enable-exec) skips exec functions and exits 0; use kustomize's SpinnakerPlatform plugin, which cannot be skipped (README, kustomize and kubectl kustomize)")
    );
    assert!(
        out.stderr.contains(&format!(
        "  Deployment/spinnaker/gate spec.template.spec.initContainers[0].image: {older} is not the BOM pin {pinned}\n"
    )),
        "{}",
        out.stderr
    );
}

/// The spinnaker-kustomize base Deployments as a kpt package `pkg/`, the BOM in `bom/` beside it.
fn package(root: &Path) -> PathBuf {
    let pkg = root.join("pkg");
    for svc in h::SERVICES {
        let from = h::fixtures().join("spinnaker-kustomize/base").join(svc).join("deployment.yml");
        h::copy_file(&from, &pkg.join(svc).join("deployment.yml"));
    }
    h::install_bom(root);
    h::write_file(&root.join("spinnaker-krm.yaml"), &full_config());
    pkg
}

/// `kpt fn eval pkg --exec BIN ARGS` in `root`.
fn kpt_eval(root: &Path, args: &[&str]) -> h::Run {
    h::kpt_eval_in(root, "pkg", args)
}

#[test]
fn kpt_mode_verify_fails_raw_deployments_and_passes_transformed_ones() {
    let root = h::TempDir::new("verify-kpt");
    let pkg = package(root.path());
    let raw = h::snapshot(&pkg);
    let out = kpt_eval(root.path(), &["--", "mode=verify"]).failure();
    assert!(out.stderr.contains("[FAIL]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("[error] apps/v1/Deployment/gate spec.template.spec.initContainers: no spinnaker-krm-truststore init container builds the truststore"),
        "kpt shows the results with resource and field:\n{}",
        out.stderr
    );
    assert_eq!(h::snapshot(&pkg), raw, "a failed validator changes no file");
    // The validator says what does protect, in the form the user wrote the mode.
    assert!(
        out.stderr.contains(
            "mode=verify only checks and changes nothing: run spinnaker-krm without it first (a mutator before this \
             validator, a transformer before this one); was spinnaker-krm skipped?"
        ),
        "{}",
        out.stderr
    );

    kpt_eval(root.path(), &["--fn-config", "spinnaker-krm.yaml"]).success();
    let transformed = h::snapshot(&pkg);
    assert_ne!(transformed, raw);
    let out = kpt_eval(root.path(), &["--", "mode=verify"]).success();
    assert!(out.stderr.contains("[PASS]"), "{}", out.stderr);
    assert_eq!(h::snapshot(&pkg), transformed, "verify changes nothing");
}

#[test]
fn a_kptfile_validator_with_its_own_function_config() {
    let root = h::TempDir::new("verify-kptfile");
    let pkg = package(root.path());
    h::write_file(
        &pkg.join("Kptfile"),
        &format!(
            "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\npipeline:\n  validators:\n  - exec: {}\n    configPath: spinnaker-krm-verify.yaml\n",
            h::binary().display()
        ),
    );
    h::write_file(
        &pkg.join("spinnaker-krm-verify.yaml"),
        "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata:\n  name: verify\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\nspec:\n  mode: verify\n",
    );
    let render = || {
        let mut cmd = Command::new(h::on_path("kpt"));
        h::run(
            cmd.current_dir(root.path()).args(["fn", "render", "pkg", "--allow-exec", "--truncate-output=false"]),
            None,
        )
    };
    let out = render().failure();
    assert!(
        out.stderr.contains("[error] apps/v1/Deployment/orca spec.template.spec.containers[0].image"),
        "{}",
        out.stderr
    );

    kpt_eval(root.path(), &["--fn-config", "spinnaker-krm.yaml"]).success();
    let out = render().success();
    assert!(out.stderr.contains("[PASS]"), "{}", out.stderr);
}
