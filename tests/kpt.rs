//! `kpt fn eval --exec` with the real kpt on a copy of the spinnaker-kustomize base: every Spinnaker image
//! pinned to BOM 1.27.0, comments kept, nothing else changed in meaning, and a second run a no-op.

use spinnaker_krm_tests as h;
use std::path::Path;

/// A kpt package laid out as a user would: the spinnaker-kustomize base (Deployments, Services,
/// Kustomizations, the Namespace, and `spinnaker.yml`, a Spring config that is not KRM), the BOM in
/// `bom/`, and a `.krmignore` that keeps both non-KRM files away from kpt. Returns the package dir.
fn package(root: &Path) -> std::path::PathBuf {
    let pkg = root.join("pkg");
    let base = h::fixtures().join("spinnaker-kustomize/base");
    for svc in h::SERVICES {
        for file in ["deployment.yml", "service.yml", "kustomization.yml"] {
            h::copy_file(&base.join(svc).join(file), &pkg.join(svc).join(file));
        }
    }
    for file in ["kustomization.yml", "namespace.yml", "spinnaker.yml"] {
        h::copy_file(&base.join(file), &pkg.join(file));
    }
    h::install_bom(&pkg);
    h::write_file(&pkg.join(".krmignore"), "bom/\nspinnaker.yml\n");
    // Comments of our own: a head comment, one on the image line, one inside the pod spec.
    let gate = pkg.join("gate/deployment.yml");
    let text = h::read_file(&gate)
        .replace("apiVersion: apps/v1\n", "# gate: the API gateway (head comment)\napiVersion: apps/v1\n")
        .replace(
            "image: us-docker.pkg.dev/spinnaker-community/docker/gate:latest\n",
            "image: us-docker.pkg.dev/spinnaker-community/docker/gate:latest # pinned by spinnaker-krm\n",
        )
        .replace(
            "      serviceAccountName: gate\n",
            "      # runs as its own account\n      serviceAccountName: gate\n",
        );
    assert_eq!(text.matches("(head comment)").count() + text.matches("# pinned by").count(), 2, "fixture changed?");
    assert!(text.contains("# runs as its own account"), "fixture changed?");
    h::write_file(&gate, &text);
    h::write_file(&root.join("cfg.yaml"), &h::pinning_config(""));
    pkg
}

fn kpt_eval(pkg: &Path) -> h::Run {
    h::kpt_eval_with_config(pkg, "../cfg.yaml")
}

#[test]
fn kpt_sends_non_krm_files_unless_krmignored() {
    // Why the package needs .krmignore: without it kpt refuses to run any function.
    let root = h::TempDir::new("kpt-noignore");
    let pkg = package(root.path());
    std::fs::remove_file(pkg.join(".krmignore")).unwrap();
    let out = kpt_eval(&pkg).failure();
    assert!(out.stderr.contains("input resource list must contain only KRM resources"), "kpt stderr:\n{}", out.stderr);
}

#[test]
fn kpt_fn_eval_pins_every_image_and_changes_nothing_else() {
    let root = h::TempDir::new("kpt-eval");
    let pkg = package(root.path());
    let original = root.path().join("original");
    copy_tree(&pkg, &original);
    let before = h::snapshot(&pkg);

    let out = kpt_eval(&pkg).success();
    assert!(out.stderr.contains("[PASS]"), "kpt stderr:\n{}", out.stderr);
    let after = h::snapshot(&pkg);
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>(), "files added or removed");

    // Non-KRM files kpt never saw stay byte for byte.
    for file in ["bom/1.27.0.yml", "spinnaker.yml", ".krmignore"] {
        assert_eq!(before[file], after[file], "{file} changed");
    }

    // Every Spinnaker image is pinned, in every Deployment.
    for svc in h::SERVICES {
        let text = h::read_file(&pkg.join(svc).join("deployment.yml"));
        assert_eq!(h::image_lines(&text), vec![h::pinned_image(svc)], "{svc}/deployment.yml:\n{text}");
    }

    // Comments survive, the one on the changed line included.
    let gate = h::read_file(&pkg.join("gate/deployment.yml"));
    for comment in ["# gate: the API gateway (head comment)", "# pinned by spinnaker-krm", "# runs as its own account"]
    {
        assert!(gate.contains(comment), "lost {comment:?}:\n{gate}");
    }
    let keel = h::read_file(&pkg.join("keel/deployment.yml"));
    // (kpt re-spaces line comments: `0  # FIXME` comes back as `0 # FIXME` even from an identity function.)
    assert!(
        keel.lines()
            .any(|l| l.starts_with("  replicas: 0 ") && l.ends_with("# FIXME: Crash loops due to configuration issue")),
        "keel:\n{keel}"
    );

    // Everything else means the same to a YAML 1.1 reader: each file equals its original with the image
    // lines pinned (the tool's own annotations aside).
    let mut compared = 0;
    for (file, bytes) in &before {
        if !(file.ends_with(".yml") || file.ends_with(".yaml")) || file.starts_with("bom/") {
            continue;
        }
        let expected = root.path().join("expected").join(file);
        h::write_file(&expected, &h::pin_text(&String::from_utf8(bytes.clone()).unwrap()));
        h::yaml11_equal(&expected, &pkg.join(file), &["--strip-annotations", h::TOOL_ANNOTATIONS])
            .unwrap_or_else(|diff| panic!("{file} changed beyond its images: {diff}"));
        compared += 1;
    }
    assert_eq!(compared, 11 * 3 + 3, "every manifest compared");
    // And the pin is visible as a change: the originals differ from the results.
    assert!(h::yaml11_equal(&original.join("gate/deployment.yml"), &pkg.join("gate/deployment.yml"), &[]).is_err());

    // A second run changes nothing, byte for byte.
    kpt_eval(&pkg).success();
    let again = h::snapshot(&pkg);
    for (file, bytes) in &after {
        assert!(again[file] == *bytes, "second run changed {file}:\n{}", String::from_utf8_lossy(&again[file]));
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for (file, bytes) in h::snapshot(from) {
        h::write_file(&to.join(&file), "");
        std::fs::write(to.join(&file), bytes).unwrap();
    }
}
