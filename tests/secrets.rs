//! No secret ever shows: with Secrets among the inputs (in `data` and `stringData`) and a config whose
//! `passwordSecret` points at one of them, every mode runs at `SPINNAKER_KRM_LOG=trace`, and the values
//! (plain and base64) never appear on stderr, and on stdout only inside the Secret objects themselves,
//! which pass through. Failing runs (a broken Secret, an inline password) do not echo them either.

use spinnaker_krm_tests as h;
use std::path::Path;
use std::process::Command;

/// The secret values: each is distinctive, so any appearance is a leak.
const KEYSTORE_PASSWORD: &str = "hunter2-keystore-7f3a9c";
const STRING_DATA: &str = "hunter2-stringdata-91c2e4";
const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\nhunter2-private-key-5d1e08\n-----END PRIVATE KEY-----\n";
const LITERAL: &str = "hunter2-literal-c0ffee";

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

#[test]
fn the_needles_are_right() {
    assert_eq!([base64(b"hunter2"), base64(b"hunter"), base64(b"hunte")], ["aHVudGVyMg==", "aHVudGVy", "aHVudGU="]);
}

/// Every form a secret could leak in: the plain values, their base64, and the key's inner line.
fn needles() -> Vec<String> {
    let mut all = Vec::new();
    for value in [KEYSTORE_PASSWORD, STRING_DATA, PRIVATE_KEY, LITERAL] {
        all.push(base64(value.as_bytes()));
    }
    all.extend(["hunter2-keystore", "hunter2-stringdata", "hunter2-private-key", "hunter2-literal"].map(String::from));
    all
}

fn secrets() -> String {
    format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: certificate-secrets
  namespace: spinnaker
type: Opaque
data:
  TLS_INTERNAL_KEYSTORE_PASSWORD: {}
stringData:
  extra: {STRING_DATA}
---
apiVersion: v1
kind: Secret
metadata:
  name: gate-tls
  namespace: spinnaker
type: kubernetes.io/tls
data:
  tls.key: {}
",
        base64(KEYSTORE_PASSWORD.as_bytes()),
        base64(PRIVATE_KEY.as_bytes())
    )
}

fn gate() -> String {
    h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"))
}

/// Truststore and mTLS on, the password from the Secret above (named explicitly).
fn config() -> String {
    let config = h::pinning_config("");
    let pin_only = "  truststore:\n    mode: none\n  mtls:\n    enabled: false\n";
    assert!(config.contains(pin_only), "harness config changed?");
    config.replace(
        pin_only,
        "  truststore:\n    passwordSecret: {name: certificate-secrets, key: TLS_INTERNAL_KEYSTORE_PASSWORD}\n",
    )
}

/// The binary at trace level.
fn spinnaker_krm(cwd: &Path) -> Command {
    let mut cmd = Command::new(h::binary());
    cmd.current_dir(cwd).env("SPINNAKER_KRM_LOG", "trace");
    cmd
}

/// No secret on stderr; on stdout only as often as in the input, and only inside Secret objects.
#[track_caller]
fn assert_no_leak(out: &h::Run, input: &str) {
    for needle in needles() {
        assert!(!out.stderr.contains(&needle), "{needle:?} on stderr of {}:\n{}", out.what, out.stderr);
        assert_eq!(out.stdout.matches(&needle).count(), input.matches(&needle).count(), "{needle:?} on stdout");
    }
    let docs: Vec<serde_yaml_ng::Value> = if out.stdout.starts_with("apiVersion: config.kubernetes.io/v1\n") {
        let list: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out.stdout).unwrap();
        list["items"].as_sequence().cloned().unwrap_or_default()
    } else {
        out.stdout.split("\n---\n").map(|d| serde_yaml_ng::from_str(d).unwrap()).collect()
    };
    for doc in docs.iter().filter(|d| d["kind"].as_str() != Some("Secret")) {
        let text = serde_yaml_ng::to_string(doc).unwrap();
        for needle in needles() {
            assert!(!text.contains(&needle), "{needle:?} outside a Secret:\n{text}");
        }
    }
}

#[test]
fn krm_mode_never_shows_a_secret() {
    let work = h::TempDir::new("secrets-krm");
    h::install_bom(work.path());
    let secrets = secrets();
    let items: Vec<&str> = secrets.split("---\n").collect();
    let input = h::resource_list(&[items[0], &gate(), items[1]], &config());
    let out = h::run(&mut spinnaker_krm(work.path()), Some(&input)).success();
    assert!(out.stderr.contains("TRACE") || out.stderr.contains("DEBUG"), "logging is on:\n{}", out.stderr);
    assert!(out.stdout.contains("secretKeyRef"), "the password is referenced:\n{}", out.stdout);
    assert!(out.stdout.contains(&h::as_item(items[0])), "the Secret passes through as it is");
    assert_no_leak(&out, &input);
}

/// A directory with the Secrets, gate, the config and the BOM.
fn app_dir(name: &str) -> h::TempDir {
    let dir = h::TempDir::new(name);
    h::install_bom(dir.path());
    h::write_file(&dir.path().join("secrets.yaml"), &secrets());
    h::write_file(&dir.path().join("gate.yaml"), &gate());
    h::write_file(&dir.path().join("spinnaker-krm.yaml"), &config());
    dir
}

#[test]
fn render_generate_and_verify_never_show_a_secret() {
    let dir = app_dir("secrets-render");
    let input = secrets();
    let rendered = h::run(spinnaker_krm(dir.path()).arg("render").arg("."), None).success();
    assert_eq!(rendered.stdout.matches("kind: Secret\n").count(), 2, "{}", rendered.stdout);
    assert_no_leak(&rendered, &input);

    let mut generate = spinnaker_krm(dir.path());
    generate.arg("generate").env("ARGOCD_APP_PARAMETERS", r#"[{"name":"client-auth","string":"want"}]"#);
    let generated = h::run(&mut generate, None).success();
    assert_eq!(generated.stdout.matches("kind: Secret\n").count(), 2, "{}", generated.stdout);
    assert_no_leak(&generated, &input);

    let verified =
        h::run(spinnaker_krm(dir.path()).args(["verify", "--config", "spinnaker-krm.yaml"]), Some(&rendered.stdout))
            .success();
    assert_no_leak(&verified, &input);
}

#[test]
fn failing_runs_never_show_a_secret() {
    let work = h::TempDir::new("secrets-failing");
    h::install_bom(work.path());
    let secrets = secrets();
    let items: Vec<&str> = secrets.split("---\n").collect();
    let run = |input: &str| h::run(&mut spinnaker_krm(work.path()), Some(input)).failure();

    // A Secret with a duplicate key: the key is named, the values are not.
    let duplicate = items[0].replace(
        "stringData:\n",
        &format!("  TLS_INTERNAL_KEYSTORE_PASSWORD: {}\nstringData:\n", base64(LITERAL.as_bytes())),
    );
    let input = h::resource_list(&[&duplicate, &gate()], &config());
    let out = run(&input);
    assert!(out.stderr.contains("duplicate key \"TLS_INTERNAL_KEYSTORE_PASSWORD\""), "{}", out.stderr);
    assert_no_leak(&out, "");

    // A Secret value that does not parse (an unterminated quote).
    let unterminated = items[0].replace(&format!("extra: {STRING_DATA}"), &format!("extra: \"{STRING_DATA}"));
    let out = run(&h::resource_list(&[&unterminated, &gate()], &config()));
    assert!(out.stderr.contains("is not valid YAML"), "{}", out.stderr);
    assert_no_leak(&out, "");

    // A password given inline in the config, in each place one could put it.
    for (place, config) in [
        ("spec.truststore.password", config().replace("  truststore:\n", &format!("  truststore:\n    password: {LITERAL}\n"))),
        ("spec.truststore.passwordSecret", config().replace(
            "    passwordSecret: {name: certificate-secrets, key: TLS_INTERNAL_KEYSTORE_PASSWORD}\n",
            &format!("    passwordSecret: {LITERAL}\n"),
        )),
        ("data.password", format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: function-input\ndata:\n  bom-version: 1.27.0\n  password: {LITERAL}\n")),
    ] {
        let out = run(&h::resource_list(&[items[0], &gate(), items[1]], &config));
        assert!(out.stderr.starts_with(&format!("spinnaker-krm: error: functionConfig {place}: a password is never accepted inline")), "{}", out.stderr);
        assert_no_leak(&out, "");
    }

    // A transform failure with the Secrets among the items: results only, no item.
    let digest = gate().replace("gate:latest", &format!("gate@sha256:{}", "ab".repeat(32)));
    let out = run(&h::resource_list(&[items[0], &digest, items[1]], &config()));
    assert!(out.stdout.contains("items: []"), "{}", out.stdout);
    assert_no_leak(&out, "");
}

/// A BOM path that names a file holding a token (one YAML scalar, or a mapping with a bad value): the
/// error names the file and the field, never the content, in KRM mode (stderr and `results`), `render`
/// and `generate`.
#[test]
fn a_bom_that_is_a_secret_is_never_quoted() {
    for content in
        [format!("{LITERAL}\n"), format!("version: 1.27.0\nservices: {LITERAL}\n"), format!("version: [{LITERAL}]\n")]
    {
        let dir = app_dir("secrets-bom");
        h::write_file(&dir.path().join("bom/1.27.0.yml"), &content);
        let input = h::resource_list(&[&gate()], &config());
        let out = h::run(&mut spinnaker_krm(dir.path()), Some(&input)).failure();
        assert!(out.stderr.starts_with("spinnaker-krm: error: BOM bom/1.27.0.yml"), "{}", out.stderr);
        assert_no_leak(&out, "");
        let out = h::run(spinnaker_krm(dir.path()).arg("render").arg("."), None).failure();
        assert_no_leak(&out, "");
        let out = h::run(spinnaker_krm(dir.path()).arg("generate"), None).failure();
        assert_no_leak(&out, "");
    }
}

/// `generate` relays kustomize's failure; a secretGenerator literal written `password:VALUE` (a colon
/// instead of `=`) makes the real kustomize quote every literal of that generator. None reaches a stream.
#[test]
fn generate_redacts_generator_literals_from_kustomize_errors() {
    let dir = app_dir("secrets-literals");
    std::fs::remove_file(dir.path().join("secrets.yaml")).unwrap();
    h::write_file(
        &dir.path().join("kustomization.yaml"),
        &format!(
            "resources: [gate.yaml]\nsecretGenerator:\n- name: creds\n  literals:\n  - password:{LITERAL}\n  - token={STRING_DATA}\n"
        ),
    );
    let mut generate = spinnaker_krm(dir.path());
    generate.arg("generate").env("SPINNAKER_KRM_KUSTOMIZE", h::kustomize());
    let out = h::run(&mut generate, None).failure();
    let first = out.stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "spinnaker-krm: error: kustomize build failed: loading KV pairs: literal sources [password:<redacted> token=<redacted>]: invalid literal source password:<redacted>, expected key=value; fix the kustomization.yaml in the app directory (`kustomize build .` there in a clone shows it), or the build options (none: the sidecar's KUSTOMIZE_BUILD_OPTIONS, or the Application's plugin env KUSTOMIZE_BUILD_OPTIONS)",
        "{}",
        out.stderr
    );
    assert_no_leak(&out, "");
    // A literal kustomize quotes from somewhere we did not read (a remote base) is redacted by its shape.
    h::write_file(
        &dir.path().join("base/kustomization.yaml"),
        &format!("secretGenerator:\n- name: c\n  literals: [\"{LITERAL}\"]\n"),
    );
    h::write_file(&dir.path().join("kustomization.yaml"), "resources: [gate.yaml, base]\n");
    let out = h::run(&mut generate, None).failure();
    assert!(out.stderr.contains("literal sources [<redacted>]"), "{}", out.stderr);
    assert_no_leak(&out, "");
}
