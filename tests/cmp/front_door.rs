//! Gate's front door through `generate` as ArgoCD runs it (the real sidecar/plugin.yaml, the emulator),
//! with the BOM at the repository root: upstream spinnaker-kustomize's Ingress (`/` → deck:9000,
//! `/api/v1/` → gate:8084, no ingressClassName, no backend-protocol annotation) and a SpinnakerService
//! with `spec.expose` keep reaching gate over plain HTTP, as README promises, while every other service
//! serves mTLS and gate calls them with its client certificate. Asking gate to serve HTTPS instead fails
//! naming the front door that would break.

use crate::emulator::{Application, Plugin, Sidecar};
use crate::{find, Bin};
use serde_json::Value;
use spinnaker_krm_tests as h;
use std::path::Path;

fn sidecar(bin: &Bin) -> Sidecar {
    let plugin = Plugin::load(&h::root().join("sidecar/plugin.yaml")).expect("sidecar/plugin.yaml loads");
    Sidecar::new(plugin, vec![("PATH".to_owned(), bin.path()), ("HOME".to_owned(), "/home/argocd".to_owned())])
}

fn app(path: &str) -> Application {
    Application::parse(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: spinnaker, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: https://git.example.com/platform/deploy.git, targetRevision: main, path: {path}, plugin: {{}}}}
  destination: {{server: https://kubernetes.default.svc, namespace: spinnaker}}
"
    ))
    .expect("application")
}

/// A repository with the BOM at its root and an app at `apps/spinnaker` holding `files` and the example's
/// functionConfig `config` (a path under examples/).
fn repository(name: &str, config: &str) -> h::TempDir {
    let repo = h::TempDir::new(name);
    h::install_bom(repo.path());
    h::copy_file(&h::root().join(config), &repo.path().join("apps/spinnaker/spinnaker-krm.yaml"));
    repo
}

fn env<'a>(deployment: &'a Value, name: &str) -> Option<&'a Value> {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| &e["value"])
}

fn first_error_line(err: &str) -> String {
    err.lines().find(|l| l.contains("spinnaker-krm: error:")).unwrap_or(err).to_owned()
}

#[test]
fn upstream_spinnaker_kustomize_ingress_still_reaches_gate_over_http() {
    let bin = Bin::new();
    let repo = repository("front-door-ingress", "examples/spinnaker-kustomize/spinnaker-krm.yaml");
    let dir = repo.path().join("apps/spinnaker");
    let resources = h::copy_spinnaker_kustomize_base(&dir);
    let ingress = h::fixtures().join("spinnaker-kustomize-monorepo/ingress.yaml");
    h::copy_file(&ingress, &dir.join("ingress.yaml"));
    h::write_file(
        &dir.join("kustomization.yaml"),
        &format!("namespace: spinnaker\nresources:\n{resources}- ingress.yaml\n"),
    );
    let out = sidecar(&bin).generate(repo.path(), &app("apps/spinnaker")).unwrap_or_else(|e| panic!("{e}"));

    // The Ingress is applied as written: gate:8084, no annotation.
    let applied = find(&out.objects, "Ingress", "spinnaker-ingress");
    let written: Value = serde_yaml_ng::from_str(&h::read_file(&ingress)).unwrap();
    assert_eq!(applied["spec"], written["spec"]);
    assert!(applied["metadata"].get("annotations").is_none(), "{applied}");
    // Gate's port serves plain HTTP and its probes stay HTTP ...
    let gate = find(&out.objects, "Deployment", "gate");
    assert_eq!(env(gate, "SERVER_SSL_ENABLED"), None, "{gate}");
    let probe = &gate["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"];
    assert!(probe.is_object() && probe.get("scheme").is_none(), "{probe}");
    // ... while gate calls the others with its client certificate, over https.
    assert_eq!(env(gate, "OKHTTPCLIENT_KEYSTORE").and_then(Value::as_str), Some("/spinnaker-krm/tls/keystore.p12"));
    assert_eq!(
        env(gate, "SERVICES_CLOUDDRIVER_BASEURL").and_then(Value::as_str),
        Some("https://clouddriver.spinnaker:7002")
    );
    // Every other JVM service serves mTLS; nobody is told to call gate over https.
    let clouddriver = find(&out.objects, "Deployment", "clouddriver");
    assert_eq!(env(clouddriver, "SERVER_SSL_ENABLED").and_then(Value::as_str), Some("true"));
    assert_eq!(env(clouddriver, "SERVER_SSL_CLIENTAUTH").and_then(Value::as_str), Some("need"));
    assert!(!out.stdout.contains("SERVICES_GATE_BASEURL"));

    // gate-listener=https: the Ingress would speak HTTP to an HTTPS port, so nothing is generated.
    let https = app("apps/spinnaker").with_parameters("[{name: gate-listener, string: https}]");
    let err = sidecar(&bin).generate(repo.path(), &https).expect_err("an HTTP front door to an HTTPS gate");
    let line = first_error_line(&err);
    assert!(
        line.contains(
            "Ingress/spinnaker/spinnaker-ingress spec.rules[0].http.paths[1].backend: routes to gate over plain HTTP \
             but parameter gate-listener=https makes gate serve HTTPS"
        ) && line.contains("nginx.ingress.kubernetes.io/backend-protocol: HTTPS"),
        "{err}"
    );
    // The fix names the parameter that set the listener: a fix in spinnaker-krm.yaml would change nothing.
    assert!(line.ends_with("or set parameter gate-listener=http") && !line.contains("spec.mtls"), "{err}");
    // Annotated for its controller, the HTTPS front door is accepted.
    let annotated = h::read_file(&ingress)
        .replace("#  annotations:\n", "  annotations:\n    nginx.ingress.kubernetes.io/backend-protocol: HTTPS\n");
    h::write_file(&dir.join("ingress.yaml"), &annotated);
    let out = sidecar(&bin).generate(repo.path(), &https).unwrap_or_else(|e| panic!("{e}"));
    let gate = find(&out.objects, "Deployment", "gate");
    assert_eq!(env(gate, "SERVER_SSL_ENABLED").and_then(Value::as_str), Some("true"));
    assert_eq!(env(gate, "SERVER_SSL_CLIENTAUTH").and_then(Value::as_str), Some("want"));
    // And that annotation with gate on plain HTTP (the default) is refused: the controller would speak HTTPS.
    let err = sidecar(&bin).generate(repo.path(), &app("apps/spinnaker")).expect_err("an HTTPS front door to HTTP");
    assert!(first_error_line(&err).contains("routes to gate over HTTPS"), "{err}");
}

#[test]
fn a_spinnaker_service_with_expose_keeps_gate_on_http() {
    let bin = Bin::new();
    let repo = repository("front-door-expose", "examples/spinnaker/spinnaker-krm.yaml");
    let dir = repo.path().join("apps/spinnaker");
    let service = h::fixtures().join("spinnaker-operator/examples/basic.spinnakerservice.yml");
    h::copy_file(&service, &dir.join("spinnakerservice.yml"));
    h::write_file(&dir.join("kustomization.yaml"), "namespace: spinnaker\nresources: [spinnakerservice.yml]\n");
    let out = sidecar(&bin).generate(repo.path(), &app("apps/spinnaker")).unwrap_or_else(|e| panic!("{e}"));
    let applied = find(&out.objects, "SpinnakerService", "spinnaker");
    let written: Value = serde_yaml_ng::from_str(&h::read_file(&service)).unwrap();
    assert_eq!(applied["spec"]["expose"], written["spec"]["expose"]);
    let config = &applied["spec"]["spinnakerConfig"];
    // The Operator keeps gate's scheme (http) for expose's overrideBaseUrl and deck; gate is a TLS client.
    assert!(config["service-settings"]["gate"].get("scheme").is_none(), "{config}");
    assert!(config["profiles"]["gate"].get("server").is_none(), "{config}");
    assert!(config["profiles"]["gate"]["ok-http-client"]["key-store"].is_string(), "{config}");
    assert_eq!(config["service-settings"]["clouddriver"]["scheme"], "https");
    assert_eq!(config["profiles"]["clouddriver"]["server"]["ssl"]["client-auth"], "need");

    let https = app("apps/spinnaker").with_parameters("[{name: gate-listener, string: https}]");
    let err = sidecar(&bin).generate(repo.path(), &https).expect_err("expose with an HTTPS gate");
    let line = first_error_line(&err);
    assert!(
        line.contains(
            "SpinnakerService/spinnaker/spinnaker spec.expose: with parameter gate-listener=https the Operator's"
        ) && line.contains("; set parameter gate-listener=http (gate keeps")
            && !line.contains("spec.mtls"),
        "{err}"
    );
}

/// The repository root is where ArgoCD checked it out, even when the CMP leaves `.git` out.
#[test]
fn the_bom_at_the_repository_root_is_found_from_a_nested_app_path() {
    let repo = repository("front-door-root", "examples/spinnaker-kustomize/spinnaker-krm.yaml");
    let dir = repo.path().join("apps/spinnaker");
    h::copy_spinnaker_kustomize_base(&dir);
    assert!(!repo.path().join(".git").exists() && !Path::new(&dir).join("bom").exists());
    let bin = Bin::new();
    sidecar(&bin).generate(repo.path(), &app("apps/spinnaker")).unwrap_or_else(|e| panic!("{e}"));
}
