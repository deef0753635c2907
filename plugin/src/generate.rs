//! `spinnaker-krm generate`: the ArgoCD config-management-plugin entry. argocd-cmp-server runs it in the
//! Application's directory (a fresh 0644 copy of the repository, no shell, stdin `/dev/null`) and applies
//! whatever it prints, so it prints either every object, transformed, or nothing and a non-zero exit.
//!
//! The directory is rendered with `kustomize build` when it has a kustomization (with the build options the
//! sidecar or the Application passes, since argocd-cm's are not visible here), else its YAML/JSON files are
//! read; the transform then runs in-process, never as a kustomize exec function (the sidecar's kustomize
//! runs without `--enable-exec`). Application parameters override the functionConfig, and the namespace
//! is the Application's destination unless the config names the same one. The output is what the cluster should get: no kpt/kustomize bookkeeping annotations,
//! no local-config objects. Empty output is refused: ArgoCD would read it as "delete everything".

use crate::failure::Failure;
use crate::render::{read_config, DEFAULT_CONFIG};
use crate::{parameters, pipeline, source};
use functions::config::SpinnakerPlatform;
use functions::krm;
use functions::yaml::Node;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Annotation keys (or key prefixes, ending in `/`) that only mean something to kpt and kustomize.
const BOOKKEEPING: &[&str] =
    &["config.kubernetes.io/", "internal.config.kubernetes.io/", "kustomize.config.k8s.io/", "config.k8s.io/id"];

/// Renders the working directory and returns the YAML stream to print.
pub fn run(config: Option<&Path>) -> Result<String, Failure> {
    let dir = std::env::current_dir().map_err(|e| {
        Failure::input(format!("cannot read the working directory: {e}; run generate in the app directory"))
    })?;
    let overrides = parameters::from_env(std::env::vars_os())?;
    let config_name = config.unwrap_or(Path::new(DEFAULT_CONFIG));
    let config_path = dir.join(config_name);
    let function_config = read_config(&config_path)?;
    let destination = std::env::var("ARGOCD_APP_NAMESPACE").ok();
    let overrides = follow_destination(&function_config, config_name, overrides, destination.as_deref())?;
    let prepared = pipeline::prepare(&function_config, &dir, &overrides)
        .map_err(|failure| explain_bom_outside(failure, &function_config, &overrides, &dir))?;
    let mut items = match kustomization(&dir) {
        Some(file) => kustomize_build(&dir, &file, &build_options())?,
        None => source::read_dir(&dir, &prepared.non_manifests(&dir, &config_path))?,
    };
    let summary = pipeline::run(&mut items, &prepared)?;
    let items = deployable(items);
    if items.is_empty() {
        return Err(Failure::input(
            "no Kubernetes objects to deploy in the app directory; point the Application's source.path at the Spinnaker manifests (empty output would make ArgoCD prune everything)",
        ));
    }
    // Logged only on success: on failure the first stderr line is the headline ArgoCD shows.
    if summary.workloads == 0 && summary.spinnaker_services == 0 {
        tracing::warn!(dir = %dir.display(), "no Spinnaker workload or SpinnakerService found: nothing was transformed");
    }
    Ok(krm::manifests_to_yaml(&items))
}

fn kustomization(dir: &Path) -> Option<String> {
    source::KUSTOMIZATION_FILES.iter().find(|name| dir.join(name).is_file()).map(|name| (*name).to_owned())
}

/// The namespace Spinnaker runs in is the Application's destination (`ARGOCD_APP_NAMESPACE`, which
/// argocd-cmp-server sets from `spec.destination.namespace`) unless the config or a parameter names one;
/// one that names another namespace would give certificates and DNS names for the wrong namespace, so it is
/// an error. Returns the overrides with the destination's namespace first when nothing names one.
fn follow_destination(
    function_config: &Node,
    config_name: &Path,
    mut overrides: Vec<(String, String)>,
    destination: Option<&str>,
) -> Result<Vec<(String, String)>, Failure> {
    let Some(destination) = destination.filter(|d| !d.is_empty()) else { return Ok(overrides) };
    let parameter = overrides.iter().rev().find(|(key, _)| key == "namespace").map(|(_, v)| v.clone());
    let named = match parameter {
        Some(value) => Some((value, "the Application's plugin parameter namespace".to_owned())),
        None => function_config
            .path_str(&["spec", "namespace"])
            .map(|value| (value.to_owned(), format!("spec.namespace in {}", config_name.display()))),
    };
    match named {
        Some((value, _)) if value == destination => Ok(overrides),
        Some((value, source)) => Err(Failure::input(format!(
            "{source} is {value} but the Application deploys to namespace {destination} (spec.destination.namespace); certificates, DNS names and the trust Bundle would be for the wrong namespace: remove {source} to follow the destination, or make the two the same"
        ))),
        None => {
            overrides.insert(0, ("namespace".to_owned(), destination.to_owned()));
            Ok(overrides)
        }
    }
}

/// A BOM above the app directory is the one file ArgoCD may not send or watch: with
/// `reposerver.plugin.use.manifest.generate.paths` the plugin receives only the common root of the app path
/// and the `argocd.argoproj.io/manifest-generate-paths` paths (`AC:reposerver/repository/utils.go:16-52`), and
/// the annotation decides which commits re-render. Says so when such a BOM cannot be read.
fn explain_bom_outside(
    mut failure: Failure,
    function_config: &Node,
    overrides: &[(String, String)],
    dir: &Path,
) -> Failure {
    let Ok(mut config) = SpinnakerPlatform::from_function_config(function_config) else { return failure };
    if config.apply_overrides(overrides).is_err() {
        return failure;
    }
    let bom = config.bom_path();
    let outside = Path::new(&bom).components().next() == Some(std::path::Component::ParentDir);
    if outside && !dir.join(&bom).is_file() {
        let bom_dir = Path::new(&bom).parent().map(|p| p.display().to_string()).unwrap_or_default();
        failure.headline.push_str(&format!(
            "; the BOM {bom} is outside the app directory: under ArgoCD list it in the Application's argocd.argoproj.io/manifest-generate-paths annotation (e.g. \".;{bom_dir}\"), or ArgoCD does not send it to the plugin when reposerver.plugin.use.manifest.generate.paths is on, and a change to it does not re-render"
        ));
    }
    failure
}

/// The `kustomize build` options: argocd-cm's global `kustomize.buildOptions` is not visible to a plugin,
/// so the install passes the same string as `KUSTOMIZE_BUILD_OPTIONS` on the sidecar container, and an
/// Application may replace it with the plugin env `KUSTOMIZE_BUILD_OPTIONS` (`ARGOCD_ENV_KUSTOMIZE_BUILD_OPTIONS`).
/// Split on white space with no quoting, as ArgoCD does (`strings.Fields`, `AC:util/kustomize/kustomize.go:413`).
fn build_options() -> Vec<String> {
    // Empty means unset: Argo CD before 3.0 does not send empty plugin env entries at all.
    let from_app = std::env::var("ARGOCD_ENV_KUSTOMIZE_BUILD_OPTIONS").ok().filter(|o| !o.trim().is_empty());
    let options = from_app.or_else(|| std::env::var("KUSTOMIZE_BUILD_OPTIONS").ok()).unwrap_or_default();
    options.split_whitespace().map(str::to_owned).collect()
}

/// `kustomize build DIR OPTIONS...` (ArgoCD's argument order), with kustomize from `$SPINNAKER_KRM_KUSTOMIZE`
/// or PATH; a `kubectl` there runs as `kubectl kustomize DIR OPTIONS...`.
fn kustomize_build(dir: &Path, file: &str, options: &[String]) -> Result<Vec<Node>, Failure> {
    let kustomize = find_kustomize().ok_or_else(|| {
        Failure::input(format!(
            "the app directory has a {file} but kustomize is not on PATH; use the sidecar image (sidecar/Dockerfile, built from the ArgoCD image, has ArgoCD's kustomize) or set SPINNAKER_KRM_KUSTOMIZE"
        ))
    })?;
    let subcommand = if kustomize.file_name().is_some_and(|n| n == "kubectl") { "kustomize" } else { "build" };
    let out =
        Command::new(&kustomize).arg(subcommand).arg(dir).args(options).stdin(Stdio::null()).output().map_err(|e| {
            Failure::input(format!("cannot run {}: {e}; check SPINNAKER_KRM_KUSTOMIZE or PATH", kustomize.display()))
        })?;
    if !out.status.success() {
        return Err(kustomize_failure(file, &String::from_utf8_lossy(&out.stderr)));
    }
    Ok(krm::parse_manifests(&out.stdout, "the kustomize build output")?)
}

fn kustomize_failure(file: &str, stderr: &str) -> Failure {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let first = lines.iter().find(|l| l.starts_with("Error:")).or(lines.first()).copied().unwrap_or("no message");
    let first = first.strip_prefix("Error:").unwrap_or(first).trim();
    let headline = if stderr.contains("external plugins disabled") {
        format!(
            "kustomize build failed: {first}; the {file} lists a KRM function (transformers:), but the plugin applies spinnaker-krm itself: remove it from transformers: (that is the argocd-cm route, see argocd-cm/README.md)"
        )
    } else {
        format!(
            "kustomize build failed: {first}; fix the {file} (run `kustomize build .` in the app directory to see it)"
        )
    };
    let mut failure = Failure::input(headline);
    failure.details = lines.iter().filter(|l| **l != first && !l.ends_with(first)).map(|l| (*l).to_owned()).collect();
    failure
}

fn find_kustomize() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SPINNAKER_KRM_KUSTOMIZE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("kustomize")).find(|candidate| candidate.is_file())
}

/// What the cluster should get: local-config objects dropped, bookkeeping annotations removed (and an
/// annotations map left empty by that removed too).
fn deployable(items: Vec<Node>) -> Vec<Node> {
    items
        .into_iter()
        .filter(|item| item.path_str(&["metadata", "annotations", "config.kubernetes.io/local-config"]) != Some("true"))
        .map(|mut item| {
            if let Some(metadata) = item.path_mut(&["metadata"]).and_then(Node::as_mapping_mut) {
                strip_bookkeeping(metadata);
            }
            item
        })
        .collect()
}

fn strip_bookkeeping(metadata: &mut functions::yaml::Mapping) {
    let Some(annotations) = metadata.get_mut("annotations").and_then(Node::as_mapping_mut) else { return };
    let doomed: Vec<String> = annotations
        .iter()
        .map(|(key, _)| key.value())
        .filter(|key| BOOKKEEPING.iter().any(|b| if b.ends_with('/') { key.starts_with(b) } else { key == b }))
        .map(str::to_owned)
        .collect();
    for key in &doomed {
        annotations.remove(key);
    }
    if annotations.is_empty() && !doomed.is_empty() {
        metadata.remove("annotations");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(text: &str) -> Vec<Node> {
        krm::parse_manifests(text.as_bytes(), "test").unwrap()
    }

    #[test]
    fn bookkeeping_annotations_and_local_config_objects_are_dropped() {
        let items = objects(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    config.kubernetes.io/index: '0'\n    internal.config.kubernetes.io/path: a.yaml\n    config.k8s.io/id: '1'\n    kustomize.config.k8s.io/id: x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations:\n    config.kubernetes.io/path: b.yaml\n    team: core\n    config.k8s.io/idle: kept\n---\napiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata:\n  name: c\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n",
        );
        let out = krm::manifests_to_yaml(&deployable(items));
        assert_eq!(
            out,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations:\n    team: core\n    config.k8s.io/idle: kept\n"
        );
    }

    #[test]
    fn an_annotations_map_that_was_empty_in_the_source_stays() {
        let items = objects("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations: {}\n");
        let out = krm::manifests_to_yaml(&deployable(items));
        assert!(out.contains("annotations: {}"), "{out}");
    }

    fn follow(
        config: &str,
        overrides: &[(&str, &str)],
        destination: Option<&str>,
    ) -> Result<Vec<(String, String)>, Failure> {
        let config = objects(config).remove(0);
        let overrides = overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        follow_destination(&config, Path::new("spinnaker-krm.yaml"), overrides, destination)
    }

    #[test]
    fn the_destination_namespace_applies_unless_the_config_names_the_same_one() {
        let bare = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec: {bom: {version: 1.27.0}}\n";
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            follow(bare, &[("client-auth", "want")], Some("spin")).unwrap(),
            [pair("namespace", "spin"), pair("client-auth", "want")]
        );
        assert!(follow(bare, &[], None).unwrap().is_empty(), "outside ArgoCD nothing changes");
        assert!(follow(bare, &[], Some("")).unwrap().is_empty(), "no destination namespace, nothing changes");
        let named = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec: {namespace: spinnaker}\n";
        assert!(follow(named, &[], Some("spinnaker")).unwrap().is_empty());
        let err = follow(named, &[], Some("spin")).unwrap_err().headline;
        assert!(
            err.starts_with(
                "spec.namespace in spinnaker-krm.yaml is spinnaker but the Application deploys to namespace spin"
            ),
            "{err}"
        );
        // A parameter outranks the file, and must agree too.
        assert_eq!(follow(named, &[("namespace", "spin")], Some("spin")).unwrap(), [pair("namespace", "spin")]);
        let err = follow(bare, &[("namespace", "a")], Some("b")).unwrap_err().headline;
        assert!(
            err.starts_with(
                "the Application's plugin parameter namespace is a but the Application deploys to namespace b"
            ),
            "{err}"
        );
    }

    #[test]
    fn kustomize_errors_become_one_line_with_the_fix() {
        let f = kustomize_failure(
            "kustomization.yaml",
            "Error: accumulating resources: accumulation err='accumulating resources from 'missing.yaml'': open missing.yaml: no such file or directory\n",
        );
        assert!(f.headline.starts_with("kustomize build failed: accumulating resources"), "{}", f.headline);
        assert!(f.headline.contains("fix the kustomization.yaml"), "{}", f.headline);
        assert!(!f.headline.contains('\n') && f.details.is_empty(), "{f:?}");
        let f = kustomize_failure(
            "kustomization.yaml",
            "Error: external plugins disabled; unable to load external plugin 'SpinnakerPlatform'\n",
        );
        assert!(f.headline.contains("remove it from transformers:"), "{}", f.headline);
    }
}
