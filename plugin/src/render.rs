//! `spinnaker-krm render DIR`: for a person or CI. The same pipeline as ArgoCD's `generate` in DIR
//! (`kustomize build` when DIR has a kustomization, the transform, the objects the cluster gets), with the
//! functionConfig `DIR/spinnaker-krm.yaml` or `--config`, and the BOM found from DIR up to its repository
//! root, so what a person previews is what ArgoCD deploys.

use crate::failure::Failure;
use crate::{pipeline, source};
use functions::krm;
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
    let search = pipeline::BomSearch::from_dir(dir);
    crate::generate::render_dir(
        dir,
        &function_config,
        &config_path,
        &search,
        &Default::default(),
        crate::generate::Caller::Render,
    )
}

/// Reads a functionConfig file: exactly one object.
pub fn read_config(path: &Path) -> Result<functions::yaml::Node, Failure> {
    let bytes = source::read_file(path).map_err(|e| {
        Failure::input(format!(
            "cannot read the functionConfig {} ({}); create it (see README, \"The functionConfig\") or pass --config FILE",
            path.display(),
            crate::pipeline::io_reason(&e)
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
