//! The argocd-cm route end to end: the repo-server runs `kustomize build <abs app path> --enable-alpha-plugins
//! --enable-exec` with cwd = the repository root and its own env plus the ARGOCD_APP_* build env
//! (argocd-cmp.md §6.1); kustomize runs spinnaker-krm as an exec function found on PATH. Here with the
//! standalone kustomize 4.5.4 on examples/kustomize-route, which must give what the sidecar route gives.

use crate::emulator::{Application, Plugin, Sidecar, REVISION};
use crate::{annotation_keys, assert_valid, examples, find, Bin};
use serde_json::Value;
use spinnaker_krm_tests as h;
use std::process::Command;

fn repo_server_build(bin: &Bin, flags: &[&str]) -> h::Run {
    let repo = examples();
    let mut cmd = Command::new(h::kustomize());
    cmd.arg("build").arg(repo.join("kustomize-route")).args(flags).current_dir(&repo).env_clear();
    // The repo-server's env (its PATH has /usr/local/bin, where argocd-cm/ mounts the binary) plus §3 rows 1-9.
    cmd.env("PATH", bin.path()).env("HOME", "/home/argocd");
    for (k, v) in [
        ("ARGOCD_APP_NAME", "spinnaker"),
        ("ARGOCD_APP_NAMESPACE", "spinnaker"),
        ("ARGOCD_APP_PROJECT_NAME", "default"),
        ("ARGOCD_APP_REVISION", REVISION),
        ("ARGOCD_APP_REVISION_SHORT", &REVISION[..7]),
        ("ARGOCD_APP_REVISION_SHORT_8", &REVISION[..8]),
        ("ARGOCD_APP_SOURCE_REPO_URL", "https://git.example.com/platform/spinnaker-deploy.git"),
        ("ARGOCD_APP_SOURCE_PATH", "kustomize-route"),
        ("ARGOCD_APP_SOURCE_TARGET_REVISION", "main"),
    ] {
        cmd.env(k, v);
    }
    h::run(&mut cmd, None)
}

fn objects(text: &str) -> Vec<Value> {
    crate::emulator::parse_objects(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `kind/namespace/name` → object, annotations of kustomize's and kpt's bookkeeping removed.
fn by_id(objects: Vec<Value>) -> std::collections::BTreeMap<String, Value> {
    objects
        .into_iter()
        .map(|mut o| {
            if let Some(a) = o["metadata"]["annotations"].as_object_mut() {
                a.retain(|k, _| {
                    !k.starts_with("config.kubernetes.io/") && !k.starts_with("internal.config.kubernetes.io/")
                });
                if a.is_empty() {
                    o["metadata"].as_object_mut().unwrap().remove("annotations");
                }
            }
            let id = format!("{}/{}/{}", o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]);
            (id, o)
        })
        .collect()
}

#[test]
fn the_repo_servers_kustomize_runs_the_function_and_matches_the_sidecar_route() {
    let bin = Bin::new();
    let out = repo_server_build(&bin, &["--enable-alpha-plugins", "--enable-exec"]).success();
    let built = objects(&out.stdout);
    let service = find(&built, "SpinnakerService", "spinnaker");
    let config = &service["spec"]["spinnakerConfig"];
    assert_eq!(config["config"]["version"], "1.27.0");
    assert_eq!(config["service-settings"]["clouddriver"]["artifactId"], h::pinned_image("clouddriver"));
    assert!(service["spec"]["kustomize"]["clouddriver"].to_string().contains("keytool"), "no truststore patch");
    assert!(annotation_keys(&built).iter().all(|k| !k.starts_with("internal.config.kubernetes.io/")));
    assert_valid(&out.stdout, &[], "the kustomize route's output");

    // The same objects as the sidecar renders from ../spinnaker (kustomize orders them its own way).
    let plugin = Plugin::load(&h::root().join("sidecar/plugin.yaml")).unwrap();
    let sidecar = Sidecar::new(plugin, vec![("PATH".to_owned(), bin.path())]);
    let app = Application::load(&examples().join("apps/spinnaker.yaml")).unwrap();
    let via_sidecar = sidecar.generate(&examples(), &app).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(by_id(built), by_id(via_sidecar.objects), "the two routes deploy different objects");
}

#[test]
fn without_enable_exec_the_function_is_silently_skipped_which_is_why_argocd_cm_sets_it() {
    let bin = Bin::new();
    let out = repo_server_build(&bin, &["--enable-alpha-plugins"]).success();
    let built = objects(&out.stdout);
    let service = find(&built, "SpinnakerService", "spinnaker");
    let settings = &service["spec"]["spinnakerConfig"]["service-settings"];
    assert!(settings["clouddriver"]["artifactId"].is_null(), "nothing pinned: {service}");
    assert!(!out.stdout.contains("keytool"));
    let argocd_cm = h::read_file(&h::root().join("argocd-cm/argocd-cm-patch.yaml"));
    assert!(argocd_cm.contains("kustomize.buildOptions: --enable-alpha-plugins --enable-exec"));
}
