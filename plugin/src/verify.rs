//! `spinnaker-krm verify [FILE]`: checks a rendered stream (a ResourceList or multi-document YAML, from a
//! file or stdin) and fails when a Spinnaker JVM workload or SpinnakerService lacks its truststore, mTLS or
//! BOM pin. On success it prints the stream unchanged, so it can gate a pipeline:
//! `kustomize build … | spinnaker-krm verify | kubectl apply -f -`.

use crate::failure::Failure;
use crate::{pipeline, render, source};
use functions::config::SpinnakerPlatform;
use functions::krm;
use std::path::Path;

pub fn run(input: Option<&Path>, config: Option<&Path>) -> Result<String, Failure> {
    let (bytes, origin) = match input.filter(|p| p.as_os_str() != "-") {
        Some(path) => (
            source::read_file(path).map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?,
            path.display().to_string(),
        ),
        None => (source::read_limited(&mut std::io::stdin().lock(), "stdin")?, "stdin".to_owned()),
    };
    // A ResourceList document contributes its items, like a `List`.
    let items = krm::parse_manifests(&bytes, &origin)?;
    if items.is_empty() {
        return Err(Failure::input(format!(
            "{origin} holds no Kubernetes objects: nothing to verify (did the render fail?)"
        )));
    }
    let (platform, bom) = match config {
        Some(path) => {
            let cwd = std::env::current_dir()
                .map_err(|e| Failure::input(format!("cannot read the working directory: {e}")))?;
            let prepared = pipeline::prepare(&render::read_config(path)?, &cwd, &Default::default())?;
            (prepared.config, prepared.bom)
        }
        None => (SpinnakerPlatform::default(), None),
    };
    let checked = pipeline::check(&items, &platform, bom.as_ref(), functions::verify::SKIPPED_HINT)?;
    if let Some(elsewhere) = checked.only_elsewhere() {
        let namespace = &platform.spec.namespace;
        return Err(Failure::input(match config {
            Some(path) => {
                let field = platform.form.name("spec.namespace");
                format!(
                    "{origin}: Spinnaker is in {elsewhere} and nothing of it in {namespace}, the namespace checked with \
                     --config {path} (its {field}, spinnaker when it sets none); nothing was verified: pass the config \
                     the stream was rendered with, or set its {field} to where Spinnaker runs",
                    path = path.display()
                )
            }
            None => format!(
                "{origin}: Spinnaker is in {elsewhere} and nothing of it in {namespace}, the namespace verify checks \
                 without --config; nothing was verified: pass --config with the functionConfig the stream was \
                 rendered with (its spec.namespace)"
            ),
        }));
    }
    if checked.nothing() {
        return Err(Failure::input(format!(
            "{origin} has no Spinnaker workload or SpinnakerService: nothing was verified; check that the right stream is piped in"
        )));
    }
    crate::logging::stderr_line(format_args!(
        "spinnaker-krm: verified {} workload(s) and {} SpinnakerService(s)",
        checked.workloads, checked.spinnaker_services
    ));
    String::from_utf8(bytes).map_err(|_| Failure::input(format!("{origin} is not UTF-8")))
}
