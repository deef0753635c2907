//! The App-of-Apps of `examples/` as ArgoCD runs it: valid Applications (the Application CRD of
//! tests/fixtures/argocd), the documented health check that makes sync waves wait, waves in dependency order,
//! retries, and SkipDryRunOnMissingResource where a CRD arrives in the same root sync.

use crate::emulator::yaml_documents;
use crate::{assert_valid, examples, find};
use serde_json::Value;
use spinnaker_krm_tests as h;
use std::process::Command;

/// The Lua of ArgoCD's docs (`AC:docs/operator-manual/health.md:69-81`, "Argocd App"), at 37ee0097cf85.
const APPLICATION_HEALTH: &str = r#"hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"#;
const HEALTH_KEY: &str = "resource.customizations.health.argoproj.io_Application";

/// The children, in the order they must come up: each needs the ones before it.
const ORDER: &[&str] = &["cert-manager", "trust-manager", "spinnaker-operator", "spinnaker"];

fn load(path: &str) -> Value {
    let text = h::read_file(&examples().join(path));
    let docs: Vec<String> = yaml_documents(&text).into_iter().filter(|d| !d.trim().is_empty()).collect();
    assert_eq!(docs.len(), 1, "{path}: one object");
    serde_yaml_ng::from_str(&docs[0]).unwrap()
}

fn wave(app: &Value) -> i64 {
    app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"].as_str().unwrap_or("0").parse().unwrap()
}

#[test]
fn the_applications_are_valid_against_argocds_application_crd() {
    let mut text = String::new();
    for path in
        ["bootstrap/root.yaml"].into_iter().map(str::to_owned).chain(ORDER.iter().map(|n| format!("apps/{n}.yaml")))
    {
        text.push_str(&h::read_file(&examples().join(path)));
        text.push_str("---\n");
    }
    assert_valid(&text, &[], "the App-of-Apps");
    // The check can fail: a misspelt retry field is pruned by the API server, so it is an error here.
    let broken = text.replace("maxDuration: 5m", "maxDurration: 5m");
    let file = h::TempDir::new("app-of-apps");
    h::write_file(&file.path().join("apps.yaml"), &broken);
    let problems = h::validate(&file.path().join("apps.yaml"), &[]).expect_err("maxDurration is not a field");
    assert!(problems.contains("maxDurration"), "{problems}");
}

#[test]
fn sync_waves_follow_the_dependencies_and_every_sync_is_retried() {
    let apps: Vec<Value> = ORDER.iter().map(|n| load(&format!("apps/{n}.yaml"))).collect();
    for (app, name) in apps.iter().zip(ORDER) {
        assert_eq!(app["metadata"]["name"], *name);
    }
    let waves: Vec<i64> = apps.iter().map(wave).collect();
    assert!(waves.windows(2).all(|w| w[0] < w[1]), "waves {waves:?} do not follow {ORDER:?}");
    for app in apps.iter().chain([&load("bootstrap/root.yaml")]) {
        let name = &app["metadata"]["name"];
        let policy = &app["spec"]["syncPolicy"];
        assert!(policy["automated"].is_object(), "{name}: not auto-synced");
        let retry = &policy["retry"];
        assert!(retry["limit"].as_i64().is_some_and(|l| l > 0), "{name}: a failed sync is not retried: {retry}");
        assert!(
            retry["backoff"]["duration"].is_string() && retry["backoff"]["factor"].as_i64() > Some(1),
            "{name}: no backoff"
        );
    }
    // Where a CR's CRD comes from an earlier Application of the same root sync, the dry run must not fail.
    for name in ["trust-manager", "spinnaker"] {
        let app = &apps[ORDER.iter().position(|n| *n == name).unwrap()];
        let options = app["spec"]["syncPolicy"]["syncOptions"].to_string();
        assert!(options.contains("SkipDryRunOnMissingResource=true"), "{name}: {options}");
    }
}

#[test]
fn the_application_health_check_is_argocds_and_merges_into_argocd_cm() {
    // kubectl's merge patch of examples/bootstrap/argocd-cm-health.yaml, done as a kustomize patch over the
    // upstream argocd-cm: the key is added, nothing is lost, the result is a valid ConfigMap.
    let tmp = h::TempDir::new("argocd-cm-health");
    h::copy_file(&h::root().join("tests/fixtures/argocd/argocd-cm.yaml"), &tmp.path().join("argocd-cm.yaml"));
    h::copy_file(&examples().join("bootstrap/argocd-cm-health.yaml"), &tmp.path().join("health.yaml"));
    h::write_file(
        &tmp.path().join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- argocd-cm.yaml\npatches:\n- path: health.yaml\n",
    );
    let built = h::run(Command::new(h::on_path("kubectl")).arg("kustomize").arg(tmp.path()), None).success();
    assert_valid(&built.stdout, &[], "argocd-cm with the health check");
    let objects: Vec<Value> = yaml_documents(&built.stdout)
        .iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml_ng::from_str(d).unwrap())
        .collect();
    let cm = find(&objects, "ConfigMap", "argocd-cm");
    assert_eq!(cm["data"][HEALTH_KEY], APPLICATION_HEALTH);
    assert!(cm["data"]["resource.exclusions"].is_string(), "the upstream keys survive");
    // The Helm values carry the same check.
    let values: Value = serde_yaml_ng::from_str(&h::read_file(&h::root().join("sidecar/values-argo-cd.yaml"))).unwrap();
    assert_eq!(values["configs"]["cm"][HEALTH_KEY], APPLICATION_HEALTH);
}
