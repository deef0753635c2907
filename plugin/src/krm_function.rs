//! KRM exec function mode: a ResourceList on stdin, one on stdout, as `kpt fn eval --exec`,
//! `kpt fn render --allow-exec` and `kustomize build --enable-alpha-plugins --enable-exec` call it.
//!
//! On failure stdout carries a ResourceList with no items and only `results` (kpt prints them and
//! stores them in `--results-dir`), the exit code is non-zero, and kpt and kustomize then write and
//! build nothing. A resource is never emitted from a failed run.

use crate::failure::Failure;
use crate::{pipeline, source};
use functions::krm::ResourceList;
use std::io::Read;

/// Reads stdin and transforms. Returns what to print on stdout, whatever happened: the transformed
/// ResourceList, or after a failure a results-only one (also when stdin could not be read as one).
pub fn run(stdin: &mut impl Read) -> (ResourceList, Result<(), Failure>) {
    let read = source::read_limited(stdin, "stdin")
        .and_then(|bytes| ResourceList::parse(&bytes, "stdin").map_err(Failure::from));
    let (mut list, outcome) = match read {
        Ok(mut list) => {
            let outcome = transform(&mut list);
            (list, outcome)
        }
        Err(failure) => (ResourceList::empty(), Err(failure)),
    };
    if let Err(failure) = &outcome {
        list.items.clear();
        list.results = failure.results.clone();
    }
    (list, outcome)
}

fn transform(list: &mut ResourceList) -> Result<(), Failure> {
    let function_config = list.function_config.as_ref().ok_or_else(|| {
        Failure::input(
            "no functionConfig: give spinnaker-krm a SpinnakerPlatform (kpt fn render: configPath: spinnaker-krm.yaml on its exec entry in the Kptfile; kpt fn eval: --fn-config spinnaker-krm.yaml, or -- bom-version=1.27.0; kustomize: list it under transformers:)",
        )
    })?;
    let cwd = std::env::current_dir().map_err(|e| Failure::input(format!("cannot read the working directory: {e}")))?;
    let search = pipeline::BomSearch::from_dir(&cwd);
    let prepared = pipeline::prepare_with_items(function_config, &search, &Default::default(), &list.items)?;
    let summary = pipeline::run(&mut list.items, &prepared)?;
    // kustomize passes a function's stderr through, and kpt prints it under the function's [PASS] too. Results
    // stay for problems: an info result would change the ResourceList kpt writes back on every run.
    crate::logging::stderr_line(format_args!("{}", pipeline::summary_line(&summary, &prepared)));
    Ok(())
}
