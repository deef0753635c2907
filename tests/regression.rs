//! One test per bug, named after what went wrong (ripgrep's `tests/regression.rs` style).

use spinnaker_krm_tests as h;
use std::process::Command;

/// `render DIR` with a relative DIR joined the skipped paths to DIR twice, so the functionConfig
/// (a SpinnakerPlatform) and the BOM directory were read as manifests and printed. The README's
/// quickstart is exactly this command.
#[test]
fn render_with_a_relative_dir_skips_the_config_and_the_bom() {
    let out = h::run(
        Command::new(h::binary()).arg("render").arg("examples/spinnaker-kustomize").current_dir(h::root()),
        None,
    )
    .success();
    assert!(!out.stdout.contains("kind: SpinnakerPlatform"), "the functionConfig leaked into the output");
    assert!(!out.stdout.contains("artifactSources:"), "the BOM leaked into the output");
    let deployments = out.stdout.lines().filter(|l| *l == "kind: Deployment").count();
    assert_eq!(deployments, 11, "{}", out.stdout);
    let absolute =
        h::run(Command::new(h::binary()).arg("render").arg(h::root().join("examples/spinnaker-kustomize")), None)
            .success();
    assert_eq!(absolute.stdout, out.stdout, "relative and absolute DIR render the same");
}

const FULL_CONFIG: &str = "apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker
spec:
  bom:
    version: 1.27.0
";

fn clouddriver_with_env(env: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: clouddriver
spec:
  template:
    spec:
      containers:
      - name: clouddriver
        image: us-docker.pkg.dev/spinnaker-community/docker/clouddriver:latest
        env:
{env}"
    )
}

fn transform_twice(item: &str) -> String {
    let root = h::TempDir::new("regression-env");
    h::install_bom(root.path());
    let out = h::run_function(root.path(), &h::resource_list(&[item], FULL_CONFIG)).success();
    let again = h::run_function(root.path(), &h::with_function_config(&out.stdout, FULL_CONFIG)).success();
    assert_eq!(again.stdout, out.stdout, "not idempotent");
    out.stdout
}

/// The user's own `<SVC>_OPTS` (a JMX port here) was replaced by the truststore options.
#[test]
fn the_users_svc_opts_keep_their_options_before_ours() {
    let out = transform_twice(&clouddriver_with_env(
        "        - name: CLOUDDRIVER_OPTS\n          value: -Dcom.sun.management.jmxremote.port=9010\n",
    ));
    let opts = out.lines().skip_while(|l| !l.ends_with("name: CLOUDDRIVER_OPTS")).nth(1).expect("CLOUDDRIVER_OPTS");
    assert!(
        opts.trim()
            .starts_with("value: -Dcom.sun.management.jmxremote.port=9010 -Djavax.net.ssl.trustStore=/spinnaker-krm/"),
        "{opts}"
    );
    assert_eq!(out.matches("name: CLOUDDRIVER_OPTS").count(), 1);
}

/// Every user env var starting SERVER_SSL_ / OKHTTPCLIENT_ or named SERVICES_*_BASEURL was deleted,
/// because the transform claimed them by prefix.
#[test]
fn the_users_other_tls_and_service_url_env_survive() {
    let out = transform_twice(&clouddriver_with_env(
        "        - name: SERVER_SSL_ENABLEDPROTOCOLS\n          value: TLSv1.3\n        - name: SERVICES_FIAT_BASEURL\n          value: http://fiat.example:7003\n",
    ));
    assert!(out.contains("name: SERVER_SSL_ENABLEDPROTOCOLS\n            value: TLSv1.3"), "{out}");
    assert!(out.contains("name: SERVICES_FIAT_BASEURL\n            value: http://fiat.example:7003"), "{out}");
    assert!(out.contains("name: SERVER_SSL_CLIENTAUTH"), "the transform's own settings are there too");
}
