//! The one path every mode takes: functionConfig → validated config → the BOM file it names → transform.
//! This is the only place the binary touches the file system on the transform's behalf (the BOM), so
//! the library stays pure.

use crate::failure::Failure;
use functions::bom::Bom;
use functions::config::{Mode, Overrides, SpinnakerPlatform};
use functions::transform::{self, Context, Summary};
use functions::verify::{self, Checked, Expectations};
use functions::yaml::Node;
use std::path::{Path, PathBuf};

/// A config ready to run, with its BOM loaded (a `verify` config may name none).
pub struct Prepared {
    pub config: SpinnakerPlatform,
    pub bom: Option<Bom>,
    /// The file the BOM was read from.
    pub bom_file: Option<PathBuf>,
}

impl Prepared {
    /// The files of a directory that are configuration, not manifests: the functionConfig, the BOM
    /// file and the directory holding it (`bom/`), as paths from the working directory.
    pub fn non_manifests(&self, base_dir: &Path, config_path: &Path) -> Vec<PathBuf> {
        let mut paths = vec![config_path.to_path_buf()];
        if let Some(bom) = &self.bom_file {
            let base = base_dir.canonicalize().unwrap_or_else(|_| base_dir.to_path_buf());
            paths.extend(bom.parent().filter(|p| *p != base).map(Path::to_path_buf));
            paths.push(bom.clone());
        }
        paths
    }
}

/// Where the BOM is looked for: `spec.bom.dir`/`file` taken relative to `start` (the working directory,
/// or the directory being rendered) and then to each directory above it, up to `root` (the repository).
///
/// Why a search: standalone kustomize starts an exec function in the directory of the *last*
/// kustomization it loaded (a component or a base, kustomize#5906), kpt where kpt runs, ArgoCD in a
/// checkout at a random path; a BOM kept at the repository root (`bom/<version>.yml`) is found from
/// every one of them. Never a silently wrong BOM: every copy in reach is read and version-checked,
/// two that pin differently are an error, and a missing one lists every place searched.
#[derive(Clone, Debug)]
pub struct BomSearch {
    pub start: PathBuf,
    /// The repository root: nothing above it is read. `None` when `start` is in no repository: then
    /// only `start` itself is searched.
    pub root: Option<PathBuf>,
}

impl BomSearch {
    /// From `start` up to the repository that holds it: the nearest directory with a `.git` (a
    /// directory in a clone, a file in a worktree or submodule; ArgoCD's checkouts have one).
    pub fn from_dir(start: &Path) -> BomSearch {
        let start = absolute(start);
        let root = start.ancestors().find(|dir| dir.join(".git").exists()).map(Path::to_path_buf);
        BomSearch { start, root }
    }

    /// The directories to look in, nearest first.
    fn dirs(&self) -> Vec<&Path> {
        match &self.root {
            Some(root) => self.start.ancestors().take_while(|dir| dir.starts_with(root)).collect(),
            None => vec![self.start.as_path()],
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    path.canonicalize().unwrap_or(path)
}

/// Validates the functionConfig, applies `overrides` (what an ArgoCD Application sets) and finds the BOM from
/// `base_dir` (the function's working directory, or the directory being rendered) up to its repository
/// root (`BomSearch::from_dir`). Every mode calls this (or `prepare_in`), so the lookup is the same.
pub fn prepare(function_config: &Node, base_dir: &Path, overrides: &Overrides) -> Result<Prepared, Failure> {
    prepare_in(function_config, &BomSearch::from_dir(base_dir), overrides)
}

/// `prepare` with an explicit search (ArgoCD's generate knows the repository root from its environment).
pub fn prepare_in(function_config: &Node, search: &BomSearch, overrides: &Overrides) -> Result<Prepared, Failure> {
    prepare_with_items(function_config, search, overrides, &[])
}

/// The name of the local-config ConfigMap that carries the BOM in the stream (kustomize's
/// `configMapGenerator` with `files: [bom/<version>.yml]` in the root kustomization, next to the
/// transformer). kustomize passes it to the function and leaves it out of its output.
pub const CARRIED_BOM: &str = "spinnaker-bom";

/// `prepare_in`, also taking the BOM the stream carries (`CARRIED_BOM`): found wherever the function
/// runs. Copies on disk in reach are still read: one that pins differently is an error.
pub fn prepare_with_items(
    function_config: &Node,
    search: &BomSearch,
    overrides: &Overrides,
    items: &[Node],
) -> Result<Prepared, Failure> {
    let config = SpinnakerPlatform::load(function_config, overrides)?;
    if config.spec.bom.version.is_empty() {
        return Ok(Prepared { config, bom: None, bom_file: None });
    }
    let carried = carried_bom(items, &config)?;
    match (find_bom(&config, search, carried.as_ref())?, carried) {
        (Some((bom, file)), _) => Ok(Prepared { config, bom: Some(bom), bom_file: Some(file) }),
        (None, carried) => Ok(Prepared { config, bom: carried, bom_file: None }),
    }
}

/// The BOM in the local-config ConfigMap `spinnaker-bom`, key `<version>.yml`, checked like a file.
fn carried_bom(items: &[Node], config: &SpinnakerPlatform) -> Result<Option<Bom>, Failure> {
    let Some(map) = items.iter().find(|i| {
        i.path_str(&["kind"]) == Some("ConfigMap")
            && i.path_str(&["metadata", "name"]) == Some(CARRIED_BOM)
            && i.path_str(&["metadata", "annotations", "config.kubernetes.io/local-config"]) == Some("true")
    }) else {
        return Ok(None);
    };
    let file = config.bom_path();
    let key = file.rsplit('/').next().unwrap_or(&file);
    let origin = format!("ConfigMap {CARRIED_BOM} data.{key}");
    let text = map.path_str(&["data", key]).ok_or_else(|| {
        Failure::input(format!(
            "the local-config ConfigMap {CARRIED_BOM} carries no {key}; give it the BOM under data.{key} (kustomize: files: [{file}] in its configMapGenerator) or remove the ConfigMap"
        ))
    })?;
    let bom = Bom::parse(text, &origin)?;
    bom.check_version(&config.spec.bom.version, config.form)?;
    Ok(Some(bom))
}

/// Every copy of the BOM in reach, read and checked; the nearest is used. With a `carried` BOM none
/// need exist, and each must pin as it does.
fn find_bom(
    config: &SpinnakerPlatform,
    search: &BomSearch,
    carried: Option<&Bom>,
) -> Result<Option<(Bom, PathBuf)>, Failure> {
    let relative = config.bom_path();
    let field = if config.spec.bom.file.is_some() { "spec.bom.file" } else { "spec.bom.dir" };
    let field = config.form.name(field);
    // Nothing outside the repository is read; in no repository, nothing outside `start`.
    let root = absolute(search.root.as_deref().unwrap_or(&search.start));
    // Under ArgoCD (generate) the checkout is a temporary directory the user never sees: paths are named in the
    // repository, and a missing BOM also says how ArgoCD sends one outside the app directory.
    let under_argocd = config.form.under_argocd();
    let shown = |path: &Path| match path.strip_prefix(&root) {
        Ok(inside) if under_argocd && inside.as_os_str().is_empty() => "the repository root".to_owned(),
        Ok(inside) if under_argocd => inside.display().to_string(),
        _ => path.display().to_string(),
    };
    let mut searched = Vec::new();
    let mut above = Vec::new();
    let mut found: Vec<(Bom, PathBuf)> = Vec::new();
    for dir in search.dirs() {
        let candidate = normalize(&dir.join(&relative));
        if !candidate.starts_with(&root) {
            // `..` above the repository root: never read (under ArgoCD named from where it starts, in the repository)
            above.push(match under_argocd {
                true => format!("{relative} from {}", shown(dir)),
                false => candidate.display().to_string(),
            });
            continue;
        }
        searched.push(shown(&candidate));
        if !candidate.exists() {
            continue;
        }
        let real = candidate.canonicalize().map_err(|e| {
            Failure::input(format!("cannot read the BOM {} ({}); check the file", shown(&candidate), io_reason(&e)))
        })?;
        if !real.starts_with(&root) {
            return Err(Failure::input(format!(
                "the BOM {} leads outside {} (a symlink); {field} must name a file inside the repository: copy the BOM in",
                shown(&candidate),
                shown(&root)
            )));
        }
        let bom = read_bom(&candidate, candidate.strip_prefix(&root).unwrap_or(&candidate), config)?;
        if carried.is_some_and(|c| !same_pins(c, &bom)) {
            return Err(Failure::input(format!(
                "two different BOMs for {} in reach: the ConfigMap {CARRIED_BOM} in the stream and {}; keep one copy (the file the ConfigMap is generated from) and delete the other",
                config.spec.bom.version,
                shown(&candidate)
            )));
        }
        if let Some((first, first_file)) = found.first() {
            if !same_pins(first, &bom) {
                let why = if under_argocd {
                    "both are in reach of the app directory"
                } else {
                    "every copy from where the function starts up to the repository root is read, and kustomize may \
                     start it in either directory"
                };
                return Err(Failure::input(format!(
                    "two different BOMs for {} in reach: {} and {}; {why}, so keep one copy (at the repository root) and delete the other",
                    config.spec.bom.version,
                    shown(first_file),
                    shown(&candidate)
                )));
            }
        }
        found.push((bom, candidate));
    }
    if let Some((bom, file)) = found.into_iter().next() {
        tracing::debug!(bom = %file.display(), version = %bom.version, "loaded BOM");
        return Ok(Some((bom, file)));
    }
    if carried.is_some() {
        tracing::debug!(bom = CARRIED_BOM, "loaded the BOM carried in the stream");
        return Ok(None);
    }
    let (reach, everywhere) = match &search.root {
        Some(_) if under_argocd => (
            format!("from {} (the app directory) up to the repository root", shown(&search.start)),
            " (found from every directory of the repository)",
        ),
        Some(_) => (
            format!("from {} up to the repository root {}", search.start.display(), root.display()),
            " (found from every directory of the repository)",
        ),
        None => (
            format!(
                "in {} only (it is in no Git repository, so no directory above it is read)",
                search.start.display()
            ),
            "",
        ),
    };
    let searched = match (searched.is_empty(), above.is_empty()) {
        (false, true) => format!("searched {}", searched.join(", ")),
        (false, false) => {
            format!("searched {}; not read, above {}: {}", searched.join(", "), root.display(), above.join(", "))
        }
        (true, _) => format!(
            "searched nothing: {} would be above {}, which {field} must stay inside",
            above.join(", "),
            if under_argocd { "the repository root".to_owned() } else { root.display().to_string() }
        ),
    };
    // The place to put it: at the root, unless the path climbs out of it; then the nearest candidate.
    let at_root = normalize(&root.join(&relative));
    let place = if at_root.starts_with(&root) { at_root } else { normalize(&search.start.join(&relative)) };
    let version = &config.spec.bom.version;
    let inside = place.starts_with(&root);
    let argocd = if under_argocd && inside { argocd_hint(&relative) } else { String::new() };
    let fix = if inside {
        format!("put the Spinnaker {version} BOM at {}{everywhere}, or point {field} at it", shown(&place))
    } else {
        // Every place the path names is outside what may be read: the fix is another path (or a wider repository).
        let wider = if under_argocd { "" } else { ", or run inside one Git repository that holds both" };
        format!(
            "copy the Spinnaker {version} BOM into {} and point {field} there ({}){wider}",
            shown(&search.start),
            config.form.setting("spec.bom.dir", "bom"),
        )
    };
    Err(Failure::input(format!(
        "cannot find the BOM {relative} for {} {version} {reach}; {searched}; {fix}{argocd}",
        config.form.name("spec.bom.version"),
    )))
}

/// Under ArgoCD, a BOM outside the app directory is the one file that may not be sent: with
/// `reposerver.plugin.use.manifest.generate.paths` the plugin receives only the common root of the app path
/// and the `argocd.argoproj.io/manifest-generate-paths` paths (`AC:reposerver/repository/utils.go:16-52`), and
/// the annotation also decides which commits re-render.
fn argocd_hint(relative: &str) -> String {
    let dir = Path::new(relative).parent().map(|p| p.display().to_string()).unwrap_or_default();
    // `..` paths are relative to the app path; the BOM found by climbing is named from the repository root.
    let listed = if dir.starts_with("..") { dir } else { format!("/{dir}") };
    format!(
        "; under ArgoCD a BOM outside the app directory reaches the plugin only when the Application's argocd.argoproj.io/manifest-generate-paths annotation lists it (e.g. \".;{listed}\") or reposerver.plugin.use.manifest.generate.paths is off"
    )
}

/// `path` with `.` and `..` components resolved by name (the file need not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Two BOMs pin the same images: same release, services and registries.
fn same_pins(a: &Bom, b: &Bom) -> bool {
    a.version == b.version && a.services == b.services && a.artifact_sources == b.artifact_sources
}

/// Reads and checks one BOM file. Messages name the file (as `origin`, its path from the repository
/// root) and the field, never the file's content.
fn read_bom(path: &Path, origin: &Path, config: &SpinnakerPlatform) -> Result<Bom, Failure> {
    let origin = origin.display().to_string();
    let text = crate::source::read_file(path).map_err(|e| {
        Failure::input(format!(
            "cannot read the BOM {origin} ({}); it must be a readable regular file holding the BOM YAML",
            io_reason(&e)
        ))
    })?;
    let text = String::from_utf8(text)
        .map_err(|_| Failure::input(format!("the BOM {origin} is not UTF-8 text; use the BOM YAML as published")))?;
    let bom = Bom::parse(&text, &origin)?;
    bom.check_version(&config.spec.bom.version, config.form)?;
    Ok(bom)
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// Runs the transform over `items` in place, or in `verify` mode checks them and leaves them as they are.
pub fn run(items: &mut Vec<Node>, prepared: &Prepared) -> Result<Summary, Failure> {
    if prepared.config.mode() == Mode::Verify {
        // Nothing was skipped here: this run was asked only to check.
        let form = prepared.config.form;
        let hint = if form.under_argocd() {
            format!(
                "{} checks the manifests as they are in Git and changes nothing: set {} to protect them",
                form.setting("spec.mode", "verify"),
                form.setting("spec.mode", "transform")
            )
        } else {
            // A validator after spinnaker-krm (a Kptfile's validators, or kustomize's plugin route after an exec
            // transformer) fails this way when that run was skipped.
            format!(
                "{} only checks and changes nothing: run spinnaker-krm without it first (a mutator before this \
                 validator, a transformer before this one); {}",
                form.setting("spec.mode", "verify"),
                verify::SKIPPED_HINT
            )
        };
        let checked = check(items, &prepared.config, prepared.bom.as_ref(), &hint)?;
        if let Some(elsewhere) = checked.only_elsewhere() {
            let form = prepared.config.form;
            return Err(Failure::input(format!(
                "{}: Spinnaker is in {elsewhere} and nothing of it in {}, the namespace verification checks; nothing \
                 was verified: {} to where Spinnaker runs",
                form.head("spec.namespace"),
                prepared.config.spec.namespace,
                form.set_namespace(),
            )));
        }
        if checked.nothing() {
            return Err(Failure::input(
                "no Spinnaker workload or SpinnakerService among the items: nothing was verified; run the validator on \
                 the package that holds Spinnaker",
            ));
        }
        return Ok(Summary {
            workloads: checked.workloads,
            spinnaker_services: checked.spinnaker_services,
            ..Summary::default()
        });
    }
    let bom = prepared.bom.as_ref().ok_or_else(|| {
        Failure::input(format!("{} is required to transform", prepared.config.form.name("spec.bom.version")))
    })?;
    let ctx = Context { config: &prepared.config, bom };
    let summary = transform::apply(items, &ctx)?;
    tracing::info!(
        workloads = summary.workloads,
        injected = summary.injected,
        spinnaker_services = summary.spinnaker_services,
        generated = summary.generated,
        "transformed"
    );
    Ok(summary)
}

/// The one line a successful `render`, `generate` or KRM run prints on stderr: what was protected, pinned
/// and generated, and with which BOM (`SPINNAKER_KRM_LOG` adds the detail).
pub fn summary_line(summary: &Summary, prepared: &Prepared) -> String {
    if prepared.config.mode() == Mode::Verify {
        return format!(
            "spinnaker-krm: verified {} workload(s) and {} SpinnakerService(s)",
            summary.workloads, summary.spinnaker_services
        );
    }
    let bom = prepared.bom.as_ref().map_or_else(String::new, |bom| format!(", BOM {} ({})", bom.origin(), bom.version));
    format!(
        "spinnaker-krm: {} workload(s) and {} SpinnakerService(s) protected, {} image(s) pinned, {} object(s) generated{bom}",
        summary.workloads, summary.spinnaker_services, summary.pinned, summary.generated
    )
}

/// `verify`: every finding becomes a failure line and a result; the headline ends with `hint`, the likely
/// reason in the caller's terms ([`verify::SKIPPED_HINT`] for a stream piped in).
pub fn check(items: &[Node], config: &SpinnakerPlatform, bom: Option<&Bom>, hint: &str) -> Result<Checked, Failure> {
    let (checked, findings) = verify::verify(items, &Expectations { config, bom });
    if findings.is_empty() {
        tracing::info!(workloads = checked.workloads, spinnaker_services = checked.spinnaker_services, "verified");
        Ok(checked)
    } else {
        let mut failure = Failure::from(transform::Failed(findings));
        failure.headline = format!("not protected: {}; {hint}", failure.headline);
        Err(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_runs_from_the_start_up_to_the_root_and_no_further() {
        let search = BomSearch { start: PathBuf::from("/r/overlays/prod"), root: Some(PathBuf::from("/r")) };
        assert_eq!(search.dirs(), [Path::new("/r/overlays/prod"), Path::new("/r/overlays"), Path::new("/r")]);
        let alone = BomSearch { start: PathBuf::from("/tmp/x"), root: None };
        assert_eq!(alone.dirs(), [Path::new("/tmp/x")]);
    }

    #[test]
    fn dot_dot_is_resolved_by_name_before_the_root_check() {
        assert_eq!(normalize(Path::new("/r/a/../bom/./1.27.0.yml")), Path::new("/r/bom/1.27.0.yml"));
        assert!(!normalize(Path::new("/r/../bom/1.27.0.yml")).starts_with("/r"));
    }
}
