//! The one path every mode takes: functionConfig → validated config → the BOM file it names → transform.
//! This is the only place the binary touches the file system on the transform's behalf (the BOM), so
//! the library stays pure.

use crate::failure::Failure;
use functions::bom::Bom;
use functions::config::{Mode, SpinnakerPlatform};
use functions::transform::{self, Context, Summary};
use functions::verify::{self, Checked, Expectations};
use functions::yaml::Node;
use std::path::{Path, PathBuf};

/// A config ready to run, with its BOM loaded (a `verify` config may name none).
pub struct Prepared {
    pub config: SpinnakerPlatform,
    pub bom: Option<Bom>,
}

impl Prepared {
    /// The files of a directory that are configuration, not manifests: the functionConfig, the BOM
    /// file and the directory holding it (`bom/`), as paths from the working directory.
    pub fn non_manifests(&self, base_dir: &Path, config_path: &Path) -> Vec<PathBuf> {
        let mut paths = vec![config_path.to_path_buf()];
        if self.bom.is_some() {
            let bom = base_dir.join(self.config.bom_path());
            paths.extend(bom.parent().filter(|p| *p != base_dir).map(Path::to_path_buf));
            paths.push(bom);
        }
        paths
    }
}

/// Validates the functionConfig, applies `overrides` (ArgoCD parameters) and reads the BOM relative to
/// `base_dir` (the function's working directory, or the directory being rendered).
pub fn prepare(function_config: &Node, base_dir: &Path, overrides: &[(String, String)]) -> Result<Prepared, Failure> {
    let mut config = SpinnakerPlatform::from_function_config(function_config)?;
    config.apply_overrides(overrides)?;
    let bom = if config.spec.bom.version.is_empty() { None } else { Some(load_bom(&config, base_dir)?) };
    Ok(Prepared { config, bom })
}

fn load_bom(config: &SpinnakerPlatform, base_dir: &Path) -> Result<Bom, Failure> {
    let relative = config.bom_path();
    let path = base_dir.join(&relative);
    let text = std::fs::read(&path).map_err(|e| {
        Failure::input(format!(
            "cannot read the BOM {relative} ({}: {}); put the Spinnaker {} BOM there, or point {} at it (relative to {})",
            path.display(),
            io_reason(&e),
            config.spec.bom.version,
            config.form.either("spec.bom.dir", "spec.bom.file"),
            base_dir.display()
        ))
    })?;
    let text = String::from_utf8(text)
        .map_err(|_| Failure::input(format!("the BOM {relative} is not UTF-8 text; use the BOM YAML as published")))?;
    let bom = Bom::parse(&text, &relative)?;
    bom.check_version(&config.spec.bom.version, config.form)?;
    tracing::debug!(bom = %relative, version = %bom.version, "loaded BOM");
    Ok(bom)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// Runs the transform over `items` in place, or in `verify` mode checks them and leaves them as they are.
pub fn run(items: &mut Vec<Node>, prepared: &Prepared) -> Result<Summary, Failure> {
    if prepared.config.mode() == Mode::Verify {
        let checked = check(items, &prepared.config, prepared.bom.as_ref())?;
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

/// `verify`: every finding becomes a failure line and a result.
pub fn check(items: &[Node], config: &SpinnakerPlatform, bom: Option<&Bom>) -> Result<Checked, Failure> {
    let (checked, findings) = verify::verify(items, &Expectations { config, bom });
    if findings.is_empty() {
        tracing::info!(workloads = checked.workloads, spinnaker_services = checked.spinnaker_services, "verified");
        Ok(checked)
    } else {
        let mut failure = Failure::from(transform::Failed(findings));
        failure.headline = format!("not protected: {}; {}", failure.headline, verify::SKIPPED_HINT);
        Err(failure)
    }
}
