//! The full transform (pins, truststore, mTLS, the CA chain) through the real runners: `kpt fn eval --exec`
//! on a package writes the generated objects under `spinnaker-krm/` and a second run is a no-op; standalone
//! `kustomize build --enable-exec` with the function as a transformer renders the same protections. Every
//! object that comes out validates against the Kubernetes schemas and the cert-manager/trust-manager CRDs,
//! and passes `spinnaker-krm verify`.

use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The JVM services of spinnaker-kustomize (deck is not one).
const JVM: &[&str] = &["clouddriver", "echo", "fiat", "front50", "gate", "igor", "kayenta", "keel", "orca", "rosco"];

/// The full defaults: init-container truststore, mTLS `need` (gate `want`), the CA chain created.
fn full_config() -> String {
    "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata:\n  name: spinnaker\n  annotations:\n    \
     config.kubernetes.io/local-config: \"true\"\nspec:\n  namespace: spinnaker\n  bom:\n    version: 1.27.0\n    \
     extraPins:\n      keel: 0.1.0-20210331200022-slim\n"
        .to_owned()
}

/// The spinnaker-kustomize Deployments and Services as a kpt package with the BOM ignored by kpt.
fn package(root: &Path) -> PathBuf {
    let pkg = root.join("pkg");
    let base = h::fixtures().join("spinnaker-kustomize/base");
    for svc in h::SERVICES {
        for file in ["deployment.yml", "service.yml"] {
            h::copy_file(&base.join(svc).join(file), &pkg.join(svc).join(file));
        }
    }
    h::install_bom(&pkg);
    h::write_file(&pkg.join(".krmignore"), "bom/\n");
    h::write_file(&root.join("cfg.yaml"), &full_config());
    pkg
}

fn kpt_eval(pkg: &Path) -> h::Run {
    h::kpt_eval_with_config(pkg, "../cfg.yaml")
}

/// Every YAML file below `dir` (not `bom/`), concatenated as one stream.
fn package_stream(dir: &Path) -> String {
    h::snapshot(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".yml") || name.ends_with(".yaml"))
        .filter(|(name, _)| !name.starts_with("bom/"))
        .map(|(_, bytes)| String::from_utf8(bytes).expect("utf-8"))
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The objects of a YAML stream, read with serde_yaml_ng (key order does not matter here: kustomize sorts).
fn objects(stream: &str) -> Vec<serde_yaml_ng::Value> {
    format!("\n{stream}")
        .split("\n---\n")
        .map(|doc| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The protections every JVM Deployment must show, and the objects that must exist.
fn assert_protected(stream: &str) {
    let objects = objects(stream);
    let kinds = |kind: &str| objects.iter().filter(|o| o["kind"].as_str() == Some(kind)).count();
    assert_eq!(kinds("Certificate"), JVM.len() + 1, "a Certificate per JVM service, and the CA");
    assert_eq!(kinds("ClusterIssuer"), 2, "the self-signed and the CA issuer");
    assert_eq!(kinds("Bundle"), 1);
    for svc in JVM {
        let deployment = objects
            .iter()
            .find(|o| o["kind"].as_str() == Some("Deployment") && o["metadata"]["name"].as_str() == Some(svc))
            .unwrap_or_else(|| panic!("no Deployment {svc}"));
        let pod = &deployment["spec"]["template"]["spec"];
        let names = |list: &serde_yaml_ng::Value| -> Vec<String> {
            list.as_sequence().into_iter().flatten().filter_map(|i| i["name"].as_str().map(str::to_owned)).collect()
        };
        assert!(
            names(&pod["initContainers"]).contains(&"spinnaker-krm-truststore".to_owned()),
            "{svc}: init container"
        );
        let env = names(&pod["containers"][0]["env"]);
        for variable in
            ["SPINNAKER_KRM_STORE_PASSWORD", "SERVER_SSL_ENABLED", "SERVER_SSL_CLIENTAUTH", "OKHTTPCLIENT_KEYSTORE"]
        {
            // gate's own port stays plain HTTP (README "Gate's front door"): only its client side.
            let server_side = variable.starts_with("SERVER_SSL_");
            assert_eq!(env.contains(&variable.to_owned()), !(server_side && *svc == "gate"), "{svc}: {variable}");
        }
        let client_auth = pod["containers"][0]["env"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|e| e["name"].as_str() == Some("SERVER_SSL_CLIENTAUTH"))
            .and_then(|e| e["value"].as_str());
        assert_eq!(client_auth, (*svc != "gate").then_some("need"), "{svc}");
        // Issue 10: no `$(...)` password in any env value (the start script evaluates `<SVC>_OPTS`), and under
        // `need` readiness is Spring's /health on the plain management port.
        let container = &pod["containers"][0];
        let values: Vec<&str> =
            container["env"].as_sequence().into_iter().flatten().filter_map(|e| e["value"].as_str()).collect();
        assert!(!values.iter().any(|v| v.contains("$(")), "{svc}: {values:?}");
        if *svc != "gate" {
            let http = &container["readinessProbe"]["httpGet"];
            assert_eq!(http["port"].as_u64(), Some(8558), "{svc}: readiness on the management port");
            assert_eq!((http["path"].as_str(), http["scheme"].as_str()), (Some("/health"), Some("HTTP")), "{svc}");
            assert!(values.contains(&"8558") && values.contains(&"false"), "{svc}: management.server.* set");
        }
        let secret = pod["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|v| v["name"].as_str() == Some("spinnaker-krm-tls"))
            .and_then(|v| v["secret"]["secretName"].as_str());
        assert_eq!(secret, Some(format!("{svc}-mtls").as_str()), "{svc}: key store volume");
    }
}

fn verify(stream: &str) -> h::Run {
    h::run(Command::new(h::binary()).arg("verify"), Some(stream))
}

#[test]
fn kpt_fn_eval_writes_the_protections_and_the_generated_objects() {
    let root = h::TempDir::new("mtls-kpt");
    let pkg = package(root.path());
    let out = kpt_eval(&pkg).success();
    assert!(out.stderr.contains("[PASS]"), "{}", out.stderr);
    let files = h::snapshot(&pkg);
    let generated: Vec<&String> = files.keys().filter(|f| f.starts_with("spinnaker-krm/")).collect();
    assert_eq!(generated.len(), JVM.len() + 4, "one file per generated object: {generated:?}");
    assert!(files.contains_key("spinnaker-krm/spinnaker/certificate-gate-mtls.yaml"), "{generated:?}");
    assert!(files.contains_key("spinnaker-krm/cert-manager/certificate-spinnaker-ca.yaml"), "{generated:?}");
    assert!(files.contains_key("spinnaker-krm/bundle-spinnaker-cert-trust-bundle.yaml"), "{generated:?}");

    let stream = package_stream(&pkg);
    assert_protected(&stream);
    let rendered = root.path().join("rendered.yaml");
    h::write_file(&rendered, &stream);
    // The base Deployments have no selector (kustomize's commonLabels adds it), so schema validation is left
    // to the kustomize test below; here: the generated objects against their CRDs.
    let generated_stream: String =
        generated.iter().map(|f| String::from_utf8(files[*f].clone()).unwrap()).collect::<Vec<_>>().join("---\n");
    let generated_file = root.path().join("generated.yaml");
    h::write_file(&generated_file, &generated_stream);
    h::validate(&generated_file, &[]).unwrap_or_else(|e| panic!("generated objects do not validate:\n{e}"));
    verify(&stream).success();

    // A second run changes nothing, byte for byte.
    let again = kpt_eval(&pkg).success();
    assert!(again.stderr.contains("[PASS]"));
    assert_eq!(h::snapshot(&pkg), files, "a second kpt run changed files");
}

#[test]
fn kpt_deletes_the_generated_files_when_mtls_is_turned_off() {
    let root = h::TempDir::new("mtls-kpt-off");
    let pkg = package(root.path());
    kpt_eval(&pkg).success();
    assert!(h::snapshot(&pkg).keys().any(|f| f.starts_with("spinnaker-krm/")));
    let off = full_config() + "  truststore:\n    mode: none\n  mtls:\n    enabled: false\n";
    h::write_file(&root.path().join("cfg.yaml"), &off);
    kpt_eval(&pkg).success();
    let files = h::snapshot(&pkg);
    assert!(!files.keys().any(|f| f.starts_with("spinnaker-krm/")), "{:?}", files.keys().collect::<Vec<_>>());
    let stream = package_stream(&pkg);
    assert!(!stream.contains("spinnaker-krm-truststore"), "the init containers are gone too");
    assert!(stream.contains("gate:6.54.1"), "the pins stay");
}

#[test]
fn standalone_kustomize_renders_valid_protected_objects() {
    let root = h::TempDir::new("mtls-kustomize");
    let dir = root.path().join("install");
    let resources = h::copy_spinnaker_kustomize_base(&dir);
    // As spinnaker-kustomize does: a namespace and a common label with selectors (the Deployments need one).
    h::write_file(
        &dir.join("kustomization.yaml"),
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: spinnaker\nlabels:\n- includeSelectors: true\n  \
             pairs:\n    app.kubernetes.io/part-of: spinnaker\nresources:\n{resources}transformers:\n- spinnaker-krm.yaml\n"
        ),
    );
    h::write_file(&dir.join("spinnaker-krm.yaml"), &h::as_exec_transformer(&full_config()));
    h::install_bom(&dir);
    let mut cmd = Command::new(h::kustomize());
    cmd.args(["build", "--enable-alpha-plugins", "--enable-exec"]).arg(&dir);
    let out = h::run(&mut cmd, None).success();
    assert_protected(&out.stdout);
    let rendered = root.path().join("rendered.yaml");
    h::write_file(&rendered, &out.stdout);
    h::validate(&rendered, &[]).unwrap_or_else(|e| panic!("kustomize's output does not validate:\n{e}"));
    let checked = verify(&out.stdout).success();
    assert_eq!(checked.stdout, out.stdout, "verify prints a passing stream unchanged");
}
