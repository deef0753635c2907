//! `spinnaker-krm render DIR`: for a person or CI. Reads the functionConfig (`DIR/spinnaker-krm.yaml` or
//! `--config`) and the manifests of DIR, and prints the transformed objects as a YAML stream. The BOM
//! path is relative to DIR, as it is to the app directory in ArgoCD.

use crate::failure::Failure;
use crate::{pipeline, source};
use functions::{krm, order};
use std::path::Path;

pub const DEFAULT_CONFIG: &str = "spinnaker-krm.yaml";

pub fn run(dir: &Path, config: Option<&Path>) -> Result<String, Failure> {
    if !dir.is_dir() {
        return Err(Failure::input(format!(
            "{} is not a directory; render takes the directory of a Spinnaker install",
            dir.display()
        )));
    }
    let config_path = config.map(Path::to_path_buf).unwrap_or_else(|| dir.join(DEFAULT_CONFIG));
    let function_config = read_config(&config_path)?;
    let prepared = pipeline::prepare(&function_config, dir, &[])?;
    let mut items = source::read_dir(dir, &prepared.non_manifests(dir, &config_path))?;
    if items.is_empty() {
        return Err(no_manifests(dir));
    }
    let summary = pipeline::run(&mut items, &prepared)?;
    order::kustomize_order(&mut items);
    eprintln!("{}", pipeline::summary_line(&summary, &prepared));
    Ok(krm::manifests_to_yaml(&items))
}

/// A directory with nothing to render (only the functionConfig and the BOM): an error, never empty output.
fn no_manifests(dir: &Path) -> Failure {
    let fix = match source::KUSTOMIZATION_FILES.iter().find(|name| dir.join(name).is_file()) {
        Some(file) => format!(
            "render reads the directory's files and does not run its {file}: run `kustomize build --enable-alpha-plugins --enable-exec {}`",
            dir.display()
        ),
        None => "put the Spinnaker manifests (.yaml, .yml or .json) there, or pass the directory that holds them".to_owned(),
    };
    Failure::input(format!(
        "no manifests found in {} (the functionConfig, the BOM and kustomization files are not manifests); {fix}",
        dir.display()
    ))
}

/// Reads a functionConfig file: exactly one object.
pub fn read_config(path: &Path) -> Result<functions::yaml::Node, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::input(format!(
            "cannot read the functionConfig {} ({e}); create it (see README, \"The functionConfig\") or pass --config FILE",
            path.display()
        ))
    })?;
    let mut docs = krm::parse_manifests(&bytes, &path.display().to_string())?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => Err(Failure::input(format!(
            "{} holds {n} objects; the functionConfig file holds exactly one SpinnakerPlatform",
            path.display()
        ))),
    }
}
