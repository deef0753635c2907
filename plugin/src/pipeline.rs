//! The one path every mode takes: functionConfig → validated config → the BOM file it names → transform.
//! This is the only place the binary touches the file system on the transform's behalf (the BOM), so
//! the library stays pure.

use crate::failure::Failure;
use functions::bom::Bom;
use functions::config::SpinnakerPlatform;
use functions::transform::{self, Context, Summary};
use functions::yaml::Node;
use std::path::Path;

/// A config ready to run, with its BOM loaded.
pub struct Prepared {
    pub config: SpinnakerPlatform,
    pub bom: Bom,
}

/// Validates the functionConfig, applies `overrides` (ArgoCD parameters) and reads the BOM relative to
/// `base_dir` (the function's working directory, or the directory being rendered).
pub fn prepare(function_config: &Node, base_dir: &Path, overrides: &[(String, String)]) -> Result<Prepared, Failure> {
    let mut config = SpinnakerPlatform::from_function_config(function_config)?;
    config.apply_overrides(overrides)?;
    let bom = load_bom(&config, base_dir)?;
    Ok(Prepared { config, bom })
}

fn load_bom(config: &SpinnakerPlatform, base_dir: &Path) -> Result<Bom, Failure> {
    let relative = config.bom_path();
    let path = base_dir.join(&relative);
    let text = std::fs::read(&path).map_err(|e| {
        Failure::input(format!(
            "cannot read the BOM {relative} ({}: {}); put the Spinnaker {} BOM there, or point spec.bom.dir or spec.bom.file at it (relative to {})",
            path.display(),
            io_reason(&e),
            config.spec.bom.version,
            base_dir.display()
        ))
    })?;
    let text = String::from_utf8(text)
        .map_err(|_| Failure::input(format!("the BOM {relative} is not UTF-8 text; use the BOM YAML as published")))?;
    let bom = Bom::parse(&text, &relative)?;
    bom.check_version(&config.spec.bom.version)?;
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

/// Runs the transform over `items` in place.
pub fn run(items: &mut Vec<Node>, prepared: &Prepared) -> Result<Summary, Failure> {
    let ctx = Context { config: &prepared.config, bom: &prepared.bom };
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
