//! One test per bug, named after what went wrong (ripgrep's `tests/regression.rs` style).

use spinnaker_krm_tests as h;
use std::process::Command;

/// `render DIR` with a relative DIR joined the skipped paths to DIR twice, so the functionConfig
/// (a SpinnakerPlatform) and the BOM directory were read as manifests and printed. The README's
/// quickstart is exactly this command.
#[test]
fn render_with_a_relative_dir_skips_the_config_and_the_bom() {
    let out = h::run(
        Command::new(h::binary()).arg("render").arg("examples/spinnaker-kustomize").current_dir(h::root()),
        None,
    )
    .success();
    assert!(!out.stdout.contains("kind: SpinnakerPlatform"), "the functionConfig leaked into the output");
    assert!(!out.stdout.contains("artifactSources:"), "the BOM leaked into the output");
    let deployments = out.stdout.lines().filter(|l| *l == "kind: Deployment").count();
    assert_eq!(deployments, 11, "{}", out.stdout);
    let absolute =
        h::run(Command::new(h::binary()).arg("render").arg(h::root().join("examples/spinnaker-kustomize")), None)
            .success();
    assert_eq!(absolute.stdout, out.stdout, "relative and absolute DIR render the same");
}
