//! Golden cases: tests/golden/<case>/{input.yaml, config.yaml, expected.yaml | expected-error.txt}.
//!
//! `input.yaml` is a ResourceList as kpt or kustomize sends it, without functionConfig; the runner appends
//! `config.yaml` as the functionConfig and runs the binary in KRM mode in a temp dir holding
//! `bom/1.27.0.yml`. Then:
//!   - with `expected.yaml`: exit 0 and stdout byte-identical to it; every item valid (validate.py, with
//!     `--allow-unknown` only when the case has a file `validate-allow-unknown`); and the output, fed back
//!     with the same config, comes out byte-identical (idempotence);
//!   - with `expected-error.txt`: non-zero exit, no item on stdout (empty, or a ResourceList with `items: []`
//!     and error `results`), and the first stderr line equal to it.
//!
//! `UPDATE_EXPECT=1 cargo test -p spinnaker-krm-tests --test golden` rewrites the expectations (the other
//! checks still run). Read every rewritten file before committing it.

use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    h::root().join("tests/golden")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some_and(|v| !v.is_empty() && v != "0")
}

fn run_case(name: &str) {
    let case = golden_dir().join(name);
    let input = h::read_file(&case.join("input.yaml"));
    let config = h::read_file(&case.join("config.yaml"));
    assert!(
        input.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"),
        "{name}/input.yaml must be a ResourceList"
    );
    assert!(!input.lines().any(|l| l.starts_with("functionConfig:")), "{name}/input.yaml: no functionConfig there");
    let work = h::TempDir::new(name);
    h::install_bom(work.path());
    let out = h::run_function(work.path(), &h::with_function_config(&input, &config));

    let expected_error = case.join("expected-error.txt");
    let expected_output = case.join("expected.yaml");
    if expected_error.exists() {
        assert!(!expected_output.exists(), "{name}: expected.yaml and expected-error.txt are exclusive");
        check_error(name, &out, &expected_error);
    } else {
        check_output(name, &case, work.path(), &out, &expected_output, &config);
    }
}

fn check_error(name: &str, out: &h::Run, expected_error: &Path) {
    let first_line = out.stderr.lines().next().unwrap_or_default();
    if updating() {
        h::write_file(expected_error, &format!("{first_line}\n"));
    }
    assert!(!out.status.success(), "{name}: exit 0, expected a failure; stdout:\n{}", out.stdout);
    check_failure_stdout(name, &out.stdout);
    let expected = h::read_file(expected_error);
    assert_eq!(first_line, expected.trim_end_matches('\n'), "{name}: first stderr line; whole stderr:\n{}", out.stderr);
}

/// A failed run emits no resource: stdout is empty, or a ResourceList with no items whose `results` carry
/// the error (DESIGN.md: "results entries with severity: error in KRM mode"; kpt prints them).
fn check_failure_stdout(name: &str, stdout: &str) {
    if stdout.is_empty() {
        return;
    }
    assert!(
        stdout.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"),
        "{name}: stdout on failure is neither empty nor a ResourceList:\n{stdout}"
    );
    assert!(stdout.lines().any(|l| l == "items: []"), "{name}: a failed run must emit no item:\n{stdout}");
    assert!(stdout.lines().any(|l| l.trim() == "severity: error"), "{name}: no error result:\n{stdout}");
}

fn check_output(name: &str, case: &Path, work: &Path, out: &h::Run, expected_output: &Path, config: &str) {
    assert!(out.status.success(), "{name}: {} failed ({}):\n{}", out.what, out.status, out.stderr);
    if updating() {
        h::write_file(expected_output, &out.stdout);
    }
    assert!(expected_output.exists(), "{name}: no expected.yaml; run with UPDATE_EXPECT=1 and read what it wrote");
    let expected = h::read_file(expected_output);
    if out.stdout != expected {
        let actual = work.join("actual.yaml");
        h::write_file(&actual, &out.stdout);
        panic!("{name}: output differs from expected.yaml\n{}", diff(expected_output, &actual));
    }

    let output_file = work.join("output.yaml");
    h::write_file(&output_file, &out.stdout);
    let args: &[&str] = if case.join("validate-allow-unknown").exists() { &["--allow-unknown"] } else { &[] };
    h::validate(&output_file, args).unwrap_or_else(|problems| panic!("{name}: invalid output:\n{problems}"));

    let again = h::run_function(work, &h::with_function_config(&out.stdout, config));
    assert!(again.status.success(), "{name}: second run failed:\n{}", again.stderr);
    if again.stdout != out.stdout {
        let second = work.join("second.yaml");
        h::write_file(&second, &again.stdout);
        panic!("{name}: not idempotent: a run on its own output changed it\n{}", diff(&output_file, &second));
    }
}

fn diff(a: &Path, b: &Path) -> String {
    let out = h::run(std::process::Command::new("diff").arg("-u").arg(a).arg(b), None);
    out.stdout.lines().take(80).collect::<Vec<_>>().join("\n")
}

macro_rules! golden {
    ($($test:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                run_case($case);
            }
        )*

        const CASES: &[&str] = &[$($case),*];
    };
}

golden! {
    pin_spinnaker_kustomize => "pin-spinnaker-kustomize",
    pin_kustomization_base => "pin-kustomization-base",
    pin_spinnakerservice_basic => "pin-spinnakerservice-basic",
    pin_spinnakerservice_complete => "pin-spinnakerservice-complete",
    pin_spinnakerservice_profiles => "pin-spinnakerservice-profiles",
    pin_missing_service_error => "pin-missing-service-error",
    pin_registry_override => "pin-registry-override",
    mtls_seed_spinnakerservice => "mtls-seed-spinnakerservice",
    mtls_spinnaker_kustomize => "mtls-spinnaker-kustomize",
    mtls_halyard_spin_deployments => "mtls-halyard-spin-deployments",
    mtls_client_auth_want => "mtls-client-auth-want",
    truststore_trust_manager => "truststore-trust-manager",
    truststore_user_init_container_and_java_opts => "truststore-user-init-container-and-java-opts",
    images_variants_and_service_ports => "images-variants-and-service-ports",
}

#[test]
fn every_case_directory_has_a_test() {
    let mut dirs: Vec<String> = std::fs::read_dir(golden_dir())
        .expect("tests/golden")
        .map(|e| e.expect("entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(dirs, listed, "add every tests/golden/<case>/ to the golden! list in tests/golden.rs");
}
