//! kustomize's legacy exec plugin mode, the route that `kustomize build --enable-alpha-plugins` and
//! `kubectl kustomize --enable-alpha-plugins` (kustomize 4 and 5, so also ArgoCD's built-in kustomize) run
//! with no other flag. kustomize finds the binary at
//! `<plugin home>/spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform` for a `transformers:` entry
//! of that kind *without* a `config.kubernetes.io/function` annotation (with one it is a KRM function, which
//! needs `--enable-exec`: krm_function.rs), and calls it as kustomize's
//! api/internal/plugins/execplugin/execplugin.go does:
//!
//! - argv: `<plugin path> <temporary file holding the config>`; more arguments only from the config's
//!   `argsOneLiner` / `argsFromFile`, which spinnaker-krm does not take;
//! - env: its own plus `KUSTOMIZE_PLUGIN_CONFIG_STRING` (the config) and `KUSTOMIZE_PLUGIN_CONFIG_ROOT` (the
//!   root of the kustomization that lists the transformer, also the working directory, with components and
//!   bases too: measured with 4.5.4 and kubectl's v5.5.0);
//! - stdin: the resources as a multi-document YAML stream carrying kustomize's `kustomize.config.k8s.io/id`
//!   and `internal.config.kubernetes.io/*` annotations, which it maps the output back by
//!   (api/internal/plugins/utils/utils.go, `UpdateResMapValues`); stdout: the resulting stream. A non-zero
//!   exit fails the build and kustomize shows stderr.
//!
//! The mode is chosen by the program name alone, so the CLI under its own name never changes meaning: a
//! binary called `SpinnakerPlatform` is this mode and nothing else, and refuses an invocation kustomize
//! would not make. The transform, the lossless YAML and the fail-closed rules are the other modes' own:
//! on failure one `spinnaker-krm: error:` line first on stderr, a non-zero exit and nothing on stdout.

use crate::failure::Failure;
use crate::{pipeline, render, source};
use functions::krm;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The file name kustomize runs: the config's kind (loader.go, `AbsolutePluginPath`).
pub const PROGRAM: &str = "SpinnakerPlatform";

/// Where the plugin lives below the plugin home: `<group>/<version>/<lowercase kind>/<Kind>`.
pub const RELATIVE_PATH: &str = "spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform";

/// Set by kustomize to the root of the kustomization that lists the transformer.
pub const ROOT_ENV: &str = "KUSTOMIZE_PLUGIN_CONFIG_ROOT";

/// A call from kustomize: the config file and the kustomization root.
#[derive(Debug, PartialEq)]
pub struct Invocation {
    pub config_file: PathBuf,
    pub root: PathBuf,
}

/// `None` when the program is not called `SpinnakerPlatform` (the ordinary CLI); otherwise the call, or
/// why it is not one kustomize makes.
pub fn detect(args: &[OsString], root: Option<OsString>) -> Option<Result<Invocation, Failure>> {
    let program = Path::new(args.first()?);
    if program.file_name()? != PROGRAM {
        return None;
    }
    let how = "kustomize runs it with one argument, the config file, and KUSTOMIZE_PLUGIN_CONFIG_ROOT set; for the CLI run the binary as spinnaker-krm";
    let invocation = match (&args[1..], root.filter(|r| !r.is_empty())) {
        ([config_file], Some(root)) => Ok(Invocation { config_file: config_file.into(), root: root.into() }),
        ([_, _, ..], _) => Err(Failure::input(format!(
            "called as kustomize's {PROGRAM} plugin with {} arguments; {how}; spinnaker-krm takes no argsOneLiner or argsFromFile: remove them from the SpinnakerPlatform",
            args.len() - 1
        ))),
        ([], _) => Err(Failure::input(format!("called as kustomize's {PROGRAM} plugin without a config file; {how}"))),
        ([_], None) => Err(Failure::input(format!(
            "called as kustomize's {PROGRAM} plugin but {ROOT_ENV} is not set; {how}"
        ))),
    };
    Some(invocation)
}

/// Reads the stream on `stdin`, transforms it with the config kustomize wrote, and returns the stream to
/// print. The BOM is looked for from the kustomization root up to the repository root, or carried in the
/// stream (`pipeline::CARRIED_BOM`), as in KRM mode.
pub fn run(invocation: &Invocation, stdin: &mut impl Read) -> Result<String, Failure> {
    let bytes = source::read_limited(stdin, "stdin")?;
    let mut items = krm::parse_manifests(&bytes, "stdin")?;
    let function_config = render::read_config(&invocation.config_file)?;
    let search = pipeline::BomSearch::from_dir(&invocation.root);
    let prepared = pipeline::prepare_with_items(&function_config, &search, &Default::default(), &items)?;
    let summary = pipeline::run(&mut items, &prepared)?;
    // kustomize passes a plugin's stderr through, as it does a function's.
    crate::logging::stderr_line(format_args!("{}", pipeline::summary_line(&summary, &prepared)));
    Ok(krm::manifests_to_yaml(&items))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_with(args: &[&str], root: Option<&str>) -> Option<Result<Invocation, String>> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        detect(&args, root.map(OsString::from)).map(|r| r.map_err(|f| f.headline))
    }

    #[test]
    fn kustomizes_call_is_the_plugin_mode() {
        let plugin = "/home/u/.config/kustomize/plugin/spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform";
        assert_eq!(
            detect_with(&[plugin, "/tmp/kust-plugin-config-1"], Some("/repo/app")),
            Some(Ok(Invocation { config_file: "/tmp/kust-plugin-config-1".into(), root: "/repo/app".into() }))
        );
    }

    #[test]
    fn under_its_own_name_it_is_the_cli_whatever_the_environment() {
        assert_eq!(detect_with(&["spinnaker-krm", "/tmp/kust-plugin-config-1"], Some("/repo")), None);
        assert_eq!(detect_with(&["/usr/local/bin/spinnaker-krm", "render", "."], Some("/repo")), None);
        assert_eq!(detect_with(&["spinnakerplatform", "x"], Some("/repo")), None);
        assert_eq!(detect_with(&[], Some("/repo")), None);
    }

    #[test]
    fn a_call_kustomize_would_not_make_is_refused_with_the_reason() {
        let plugin = "SpinnakerPlatform";
        let err = |args: &[&str], root| detect_with(args, root).unwrap().unwrap_err();
        assert!(err(&[plugin, "c"], None).contains("KUSTOMIZE_PLUGIN_CONFIG_ROOT is not set"));
        assert!(err(&[plugin, "c"], Some("")).contains("KUSTOMIZE_PLUGIN_CONFIG_ROOT is not set"));
        assert!(err(&[plugin], Some("/r")).contains("without a config file"));
        assert!(err(&[plugin, "c", "--x"], Some("/r")).contains("no argsOneLiner or argsFromFile"));
        assert!(err(&[plugin, "--help"], None).contains("for the CLI run the binary as spinnaker-krm"));
    }
}
