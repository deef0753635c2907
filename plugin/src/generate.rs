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
use functions::config::{Overrides, SpinnakerPlatform};
use functions::yaml::Node;
use functions::{krm, order};
use std::io::Read;
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
    let parameters = parameters::from_env(std::env::vars_os())?;
    let config_name = config.unwrap_or(Path::new(DEFAULT_CONFIG));
    let config_path = dir.join(config_name);
    let function_config = read_config(&config_path).map_err(|failure| match config_path.exists() {
        true => failure,
        // The Application named the plugin, so discovery (which looks for this file) did not run.
        false => Failure::input(format!(
            "cannot read the functionConfig {} (no such file); the Application names this plugin, so ArgoCD did not \
             look for it: commit it in the app directory (see README, \"The functionConfig\"), or point the \
             Application's spec.source.path at the directory that holds it",
            config_name.display()
        )),
    })?;
    let destination = std::env::var("ARGOCD_APP_NAMESPACE").ok();
    let overrides = follow_destination(&function_config, config_name, parameters, destination.as_deref())?;
    let search = argocd_search(&dir, std::env::var_os("ARGOCD_APP_SOURCE_PATH").as_deref());
    render_dir(&dir, &function_config, &config_path, &search, &overrides, Caller::Generate)
}

/// Where generate looks for the BOM: from the app directory up to the root of ArgoCD's copy of the
/// repository, which `ARGOCD_APP_SOURCE_PATH` (the app's path in the repository) gives even when the
/// copy has no `.git` (a CMP may exclude `.git/*` from what it sends); else the `.git` search.
fn argocd_search(dir: &Path, source_path: Option<&std::ffi::OsStr>) -> pipeline::BomSearch {
    let mut search = pipeline::BomSearch::from_dir(dir);
    let depth = source_path
        .map(Path::new)
        .map(|p| p.components().filter(|c| matches!(c, std::path::Component::Normal(_))).count());
    if let Some(root) = depth.and_then(|n| search.start.ancestors().nth(n)) {
        search.root = Some(root.to_path_buf());
    }
    search
}

/// Who renders: the messages name the fix in that caller's terms (a directory and a command for a person,
/// the Application's source path for ArgoCD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    Render,
    Generate,
}

/// The one pipeline of `generate` and `render DIR`: `kustomize build` when `dir` has a kustomization,
/// else its YAML/JSON files; then the transform in-process; then what the cluster should get. So what a
/// person previews with `render` is what ArgoCD deploys.
pub fn render_dir(
    dir: &Path,
    function_config: &Node,
    config_path: &Path,
    search: &pipeline::BomSearch,
    overrides: &Overrides,
    caller: Caller,
) -> Result<String, Failure> {
    // kustomize first: a kustomization that cannot build is the first thing to fix.
    // Under ArgoCD, kustomize's messages name files in the repository, not in the temporary checkout.
    let checkout = search.root.as_deref().filter(|_| caller == Caller::Generate);
    let built =
        kustomization(dir).map(|file| kustomize_build(dir, &file, &build_options(), caller, checkout)).transpose()?;
    let prepared = pipeline::prepare_in(function_config, search, overrides)?;
    let mut items = match built {
        Some(items) => items,
        None => source::read_dir(dir, &prepared.non_manifests(dir, config_path))?,
    };
    if items.is_empty() {
        return Err(nothing_to_deploy(dir, caller));
    }
    let summary = pipeline::run(&mut items, &prepared)?;
    let mut items = deployable(items);
    order::kustomize_order(&mut items);
    if items.is_empty() {
        return Err(nothing_to_deploy(dir, caller));
    }
    // Logged only on success: on failure the first stderr line is the headline ArgoCD shows.
    if summary.workloads == 0 && summary.spinnaker_services == 0 {
        tracing::warn!(dir = %dir.display(), "no Spinnaker workload or SpinnakerService found: nothing was transformed");
    }
    crate::logging::stderr_line(format_args!("{}", pipeline::summary_line(&summary, &prepared)));
    Ok(krm::manifests_to_yaml(&items))
}

/// Nothing to render (only the functionConfig and the BOM, or a kustomization that builds to nothing): an
/// error, never empty output, which ArgoCD would read as "delete everything".
fn nothing_to_deploy(dir: &Path, caller: Caller) -> Failure {
    match (caller, kustomization(dir)) {
        (Caller::Generate, _) => Failure::input(
            "no Kubernetes objects to deploy in the app directory; point the Application's source.path at the Spinnaker manifests (empty output would make ArgoCD prune everything)",
        ),
        (Caller::Render, Some(file)) => Failure::input(format!(
            "no Kubernetes objects to deploy in {}: its {file} builds to nothing; list the Spinnaker manifests under resources: in it",
            dir.display()
        )),
        (Caller::Render, None) => Failure::input(format!(
            "no manifests found in {} (the functionConfig, the BOM and kustomization files are not manifests); put the Spinnaker manifests (.yaml, .yml or .json) there, or pass the directory that holds them",
            dir.display()
        )),
    }
}

fn kustomization(dir: &Path) -> Option<String> {
    source::KUSTOMIZATION_FILES.iter().find(|name| dir.join(name).is_file()).map(|name| (*name).to_owned())
}

/// The namespace Spinnaker runs in is the Application's destination (`ARGOCD_APP_NAMESPACE`, which
/// argocd-cmp-server sets from `spec.destination.namespace`) unless the config or a parameter names one;
/// one that names another namespace would give certificates and DNS names for the wrong namespace, so it is
/// an error. Returns the parameters, with the destination's namespace when nothing names one.
fn follow_destination(
    function_config: &Node,
    config_name: &Path,
    parameters: Vec<(String, String)>,
    destination: Option<&str>,
) -> Result<Overrides, Failure> {
    // generate runs only under ArgoCD: fixes are in Git and the Application, destination or not.
    let mut overrides = Overrides { parameters, destination: None, application: true };
    let Some(destination) = destination.filter(|d| !d.is_empty()) else { return Ok(overrides) };
    let parameter = overrides.parameters.iter().rev().find(|(key, _)| key == "namespace").map(|(_, v)| v.clone());
    let named = match parameter {
        Some(value) => Some((value, "the Application's plugin parameter namespace".to_owned())),
        None => SpinnakerPlatform::named_namespace(function_config)
            .map(|(field, value)| (value.to_owned(), format!("{field} in {}", config_name.display()))),
    };
    match named {
        Some((value, _)) if value == destination => Ok(overrides),
        Some((value, source)) => Err(Failure::input(format!(
            "{source} is {value} but the Application deploys to namespace {destination} (spec.destination.namespace); certificates, DNS names and the trust Bundle would be for the wrong namespace: remove {source} to follow the destination, or make the two the same"
        ))),
        None => {
            overrides.destination = Some(destination.to_owned());
            Ok(overrides)
        }
    }
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
fn kustomize_build(
    dir: &Path,
    file: &str,
    options: &[String],
    caller: Caller,
    checkout: Option<&Path>,
) -> Result<Vec<Node>, Failure> {
    let kustomize = find_kustomize().ok_or_else(|| {
        Failure::input(format!(
            "{} has a {file} but kustomize is not on PATH; {}",
            match caller {
                Caller::Render => dir.display().to_string(),
                Caller::Generate => "the app directory".to_owned(),
            },
            match caller {
                Caller::Render => "install kustomize (or kubectl, then set SPINNAKER_KRM_KUSTOMIZE to it) or set SPINNAKER_KRM_KUSTOMIZE",
                Caller::Generate => "use the sidecar image (sidecar/Dockerfile, built from the ArgoCD image, has ArgoCD's kustomize) or set SPINNAKER_KRM_KUSTOMIZE",
            }
        ))
    })?;
    let subcommand = if kustomize.file_name().is_some_and(|n| n == "kubectl") { "kustomize" } else { "build" };
    let mut child = Command::new(&kustomize)
        .arg(subcommand)
        .arg(dir)
        .args(options)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Failure::input(format!("cannot run {}: {e}; check SPINNAKER_KRM_KUSTOMIZE or PATH", kustomize.display()))
        })?;
    // Its output is read through the input limit like any other input; stderr (read alongside, so neither
    // pipe can fill up and stall kustomize) is kept to its first MiB.
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = (&mut stderr_pipe).take(1024 * 1024).read_to_end(&mut text);
        let _ = std::io::copy(&mut stderr_pipe, &mut std::io::sink());
        text
    });
    let stdout = source::read_limited(&mut child.stdout.take().expect("piped"), "the kustomize build output");
    if stdout.as_ref().is_ok_and(|b| b.len() > krm::MAX_INPUT_BYTES) || stdout.is_err() {
        // Best effort: kustomize is stopped, its output is refused below either way.
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| Failure::input(format!("cannot run {}: {e}", kustomize.display())))?;
    let stderr = stderr_reader.join().unwrap_or_default();
    let stdout = stdout?;
    if stdout.len() <= krm::MAX_INPUT_BYTES && !status.success() {
        let stderr = redact_literals(&String::from_utf8_lossy(&stderr), &generator_literals(dir));
        let stderr = match checkout.filter(|root| root.parent().is_some()) {
            Some(root) => stderr.replace(&format!("{}/", root.display()), ""),
            None => stderr,
        };
        return Err(kustomize_failure(dir, file, &stderr, caller, options));
    }
    Ok(krm::parse_manifests(&stdout, "the kustomize build output")?)
}

/// What kustomize's error shows instead of a generator literal's value.
const REDACTED: &str = "<redacted>";

/// The `literals:` of every secretGenerator and configMapGenerator in the kustomization files below `dir`
/// (read through the same limits as the manifests; a file that cannot be read adds none).
fn generator_literals(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, depth: usize, literals: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(file_type) = entry.file_type() else { continue };
            if file_type.is_dir() && !name.starts_with('.') && depth < 20 {
                walk(&path, depth + 1, literals);
            } else if file_type.is_file() && source::KUSTOMIZATION_FILES.contains(&name.as_str()) {
                let Ok(bytes) = source::read_file(&path) else { continue };
                let Ok(text) = std::str::from_utf8(&bytes) else { continue };
                let Ok(docs) = functions::yaml::parse_stream(text, functions::yaml::Limits::default()) else {
                    continue;
                };
                for doc in &docs {
                    for generator in ["secretGenerator", "configMapGenerator"] {
                        let Some(list) = doc.path(&[generator]).and_then(Node::as_sequence) else { continue };
                        for literal in
                            list.iter().filter_map(|g| g.path(&["literals"])?.as_sequence()).flat_map(|l| l.iter())
                        {
                            literals.extend(literal.as_scalar().map(|s| s.value().to_owned()));
                        }
                    }
                }
            }
        }
    }
    let mut literals = Vec::new();
    walk(dir, 0, &mut literals);
    literals
}

/// `literal` with everything after its key (`key=`, or `key:` as people mistype it) redacted.
fn redacted(literal: &str) -> String {
    match literal.find(['=', ':']) {
        Some(at) => format!("{}{REDACTED}", &literal[..=at]),
        None => REDACTED.to_owned(),
    }
}

/// kustomize's error text without generator literal values: kustomize quotes a failing generator's
/// literals whole (`literal sources [password:VALUE token=ok]: invalid literal source password:VALUE`), and
/// ArgoCD shows the headline to everyone who can see the Application, not only to readers of the repository.
/// Known literals (`known`, from the kustomization files) are redacted wherever they appear; what kustomize
/// shows as a literal source is redacted even when it is not known (a remote base).
fn redact_literals(stderr: &str, known: &[String]) -> String {
    let mut known: Vec<&String> = known.iter().filter(|l| !l.is_empty()).collect();
    known.sort_by_key(|l| std::cmp::Reverse(l.len()));
    let mut text = stderr.to_owned();
    for literal in known {
        text = text.replace(literal.as_str(), &redacted(literal));
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut line = line.to_owned();
        for (start, end) in [("literal sources [", "]"), ("invalid literal source ", ", expected")] {
            let Some(from) = line.find(start).map(|i| i + start.len()) else { continue };
            let to = line[from..].find(end).map_or(line.len(), |i| from + i);
            let sources = line[from..to].split(' ').map(redacted_unless_done).collect::<Vec<_>>().join(" ");
            line.replace_range(from..to, &sources);
        }
        out.push_str(&line);
    }
    out
}

fn redacted_unless_done(literal: &str) -> String {
    if literal.ends_with(REDACTED) || literal.is_empty() {
        literal.to_owned()
    } else {
        redacted(literal)
    }
}

fn kustomize_failure(dir: &Path, file: &str, stderr: &str, caller: Caller, options: &[String]) -> Failure {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let first = lines.iter().find(|l| l.starts_with("Error:")).or(lines.first()).copied().unwrap_or("no message");
    let first = first.strip_prefix("Error:").unwrap_or(first).trim();
    let plugins = stderr.contains("external plugins disabled");
    let headline = if plugins && caller == Caller::Render {
        format!(
            "kustomize build failed: {first}; the {file} runs spinnaker-krm itself (transformers:), and render applies it in-process: render that route as it runs, `kubectl kustomize --enable-alpha-plugins {dir}` (kustomize's SpinnakerPlatform plugin) or `kustomize build --enable-alpha-plugins --enable-exec {dir}` (an exec function), or remove spinnaker-krm from transformers: to use render",
            dir = dir.display()
        )
    } else if plugins {
        format!(
            "kustomize build failed: {first}; the {file} lists spinnaker-krm under transformers: (as kustomize's SpinnakerPlatform plugin or an exec function), but the sidecar applies it itself: remove it from transformers: (that is the argocd-cm route, see argocd-cm/README.md)"
        )
    } else if caller == Caller::Generate {
        // What the user controls: the kustomization in Git, the build options, and what ArgoCD sends the plugin.
        let options = if options.is_empty() { "none".to_owned() } else { options.join(" ") };
        let missing = ["no such file or directory", "evalsymlink failure", "must build at directory"]
            .iter()
            .any(|m| stderr.contains(m));
        let outside = if missing {
            "; a base or file outside the app directory reaches the plugin only when the Application's \
             argocd.argoproj.io/manifest-generate-paths annotation lists it or \
             reposerver.plugin.use.manifest.generate.paths is off"
        } else {
            ""
        };
        format!(
            "kustomize build failed: {first}; fix the {file} in the app directory (`kustomize build {options_hint}` \
             there in a clone shows it), or the build options ({options}: the sidecar's KUSTOMIZE_BUILD_OPTIONS, or \
             the Application's plugin env KUSTOMIZE_BUILD_OPTIONS){outside}",
            options_hint = if options == "none" { ".".to_owned() } else { format!(". {options}") },
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

    fn follow(config: &str, overrides: &[(&str, &str)], destination: Option<&str>) -> Result<Overrides, Failure> {
        let config = objects(config).remove(0);
        let overrides = overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        follow_destination(&config, Path::new("spinnaker-krm.yaml"), overrides, destination)
    }

    #[test]
    fn the_destination_namespace_applies_unless_the_config_names_the_same_one() {
        let bare = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec: {bom: {version: 1.27.0}}\n";
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let given = |parameters: &[(&str, &str)], destination: Option<&str>| Overrides {
            parameters: parameters.iter().map(|(k, v)| pair(k, v)).collect(),
            destination: destination.map(str::to_owned),
            application: true,
        };
        let application = Overrides { application: true, ..Overrides::default() };
        assert_eq!(
            follow(bare, &[("client-auth", "want")], Some("spin")).unwrap(),
            given(&[("client-auth", "want")], Some("spin"))
        );
        // No destination namespace: nothing changes, but the fixes are still an Application owner's.
        assert_eq!(follow(bare, &[], None).unwrap(), application);
        assert_eq!(follow(bare, &[], Some("")).unwrap(), application);
        let named = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec: {namespace: spinnaker}\n";
        assert_eq!(follow(named, &[], Some("spinnaker")).unwrap(), application);
        let err = follow(named, &[], Some("spin")).unwrap_err().headline;
        assert!(
            err.starts_with(
                "spec.namespace in spinnaker-krm.yaml is spinnaker but the Application deploys to namespace spin"
            ),
            "{err}"
        );
        // A ConfigMap names its namespace in data (it was overwritten by the destination, unchecked).
        let config_map =
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: {bom-version: 1.27.0, namespace: prod}\n";
        assert_eq!(follow(config_map, &[], Some("prod")).unwrap(), application);
        let err = follow(config_map, &[], Some("spin")).unwrap_err().headline;
        assert!(
            err.starts_with(
                "data.namespace in spinnaker-krm.yaml is prod but the Application deploys to namespace spin"
            ),
            "{err}"
        );
        // A parameter outranks the file, and must agree too.
        assert_eq!(
            follow(named, &[("namespace", "spin")], Some("spin")).unwrap(),
            given(&[("namespace", "spin")], None)
        );
        let err = follow(bare, &[("namespace", "a")], Some("b")).unwrap_err().headline;
        assert!(
            err.starts_with(
                "the Application's plugin parameter namespace is a but the Application deploys to namespace b"
            ),
            "{err}"
        );
    }

    #[test]
    fn argocd_s_source_path_names_the_repository_root() {
        let copy = Path::new("/spinnaker-krm-no-such-copy");
        let search = argocd_search(&copy.join("apps/spinnaker"), Some(std::ffi::OsStr::new("apps/spinnaker")));
        assert_eq!(search.root.as_deref(), Some(copy));
        let top = argocd_search(copy, Some(std::ffi::OsStr::new("")));
        assert_eq!(top.root.as_deref(), Some(top.start.as_path()), "an app at the repository root");
    }

    #[test]
    fn kustomize_errors_become_one_line_with_the_fix() {
        let dir = Path::new("app");
        let missing = "Error: accumulating resources: accumulation err='accumulating resources from 'missing.yaml'': open missing.yaml: no such file or directory\n";
        let f = kustomize_failure(dir, "kustomization.yaml", missing, Caller::Generate, &[]);
        assert!(f.headline.starts_with("kustomize build failed: accumulating resources"), "{}", f.headline);
        assert!(f.headline.contains("fix the kustomization.yaml in the app directory"), "{}", f.headline);
        assert!(f.headline.contains("manifest-generate-paths"), "a file ArgoCD may not have sent: {}", f.headline);
        assert!(!f.headline.contains('\n') && f.details.is_empty(), "{f:?}");
        let helm = "Error: trouble configuring builtin HelmChartInflationGenerator: must specify --enable-helm\n";
        let options = ["--enable-helmx".to_owned()];
        let f = kustomize_failure(dir, "kustomization.yaml", helm, Caller::Generate, &options);
        assert!(
            f.headline.contains("or the build options (--enable-helmx: the sidecar's KUSTOMIZE_BUILD_OPTIONS")
                && !f.headline.contains("manifest-generate-paths"),
            "{}",
            f.headline
        );
        let f = kustomize_failure(dir, "kustomization.yaml", missing, Caller::Render, &[]);
        assert!(f.headline.contains("(run `kustomize build .` in the app directory to see it)"), "{}", f.headline);
        let plugins = "Error: external plugins disabled; unable to load external plugin 'SpinnakerPlatform'\n";
        let f = kustomize_failure(dir, "kustomization.yaml", plugins, Caller::Generate, &[]);
        assert!(f.headline.contains("remove it from transformers:"), "{}", f.headline);
        let f = kustomize_failure(dir, "kustomization.yaml", plugins, Caller::Render, &[]);
        assert!(f.headline.contains("`kustomize build --enable-alpha-plugins --enable-exec app`"), "{}", f.headline);
    }
}
