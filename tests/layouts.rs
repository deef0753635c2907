//! Repository layouts users keep, through the real standalone kustomize 4.5.4 (`--enable-alpha-plugins
//! --enable-exec`) with the function listed under `transformers:` of the root kustomization and the BOM
//! where README says: `bom/<version>.yml` at the repository root. kustomize starts the function in the
//! directory of the last kustomization it loaded (a component, a base), so each layout below puts that
//! directory somewhere else; the function finds the BOM from there up to the repository root (`.git`).
//! Also: the error cases (no BOM, two different BOMs in reach), kpt on such a package, and `render` =
//! `generate` on every example directory.

use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The full functionConfig of the plain-Deployment example (truststore, mTLS, keel pinned), as a kustomize
/// exec transformer.
fn transformer() -> String {
    h::as_exec_transformer(&h::read_file(&h::root().join("examples/spinnaker-kustomize/spinnaker-krm.yaml")))
}

/// A Git repository (a `.git` directory is what marks its root) with the BOM at `bom/1.27.0.yml`.
fn repository(name: &str) -> h::TempDir {
    let repo = h::TempDir::new(name);
    std::fs::create_dir_all(repo.path().join(".git")).unwrap();
    h::install_bom(repo.path());
    repo
}

/// `base/`: the spinnaker-kustomize Deployments and Services, one kustomization.
fn write_base(repo: &Path) {
    let base = repo.join("base");
    let resources = h::copy_spinnaker_kustomize_base(&base);
    h::write_file(&base.join("kustomization.yaml"), &format!("resources:\n{resources}"));
}

/// `components/{redis,ingress,java-opts}`: spinnaker-kustomize's redis, upstream's Ingress, and a
/// strategic-merge patch of gate's JAVA_OPTS.
fn write_components(repo: &Path) {
    let component = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n";
    let redis = h::fixtures().join("spinnaker-kustomize/components/redis/base");
    for file in ["configmap.yml", "statefulset.yml", "service.yml"] {
        h::copy_file(&redis.join(file), &repo.join("components/redis").join(file));
    }
    h::write_file(
        &repo.join("components/redis/kustomization.yaml"),
        &format!("{component}resources: [configmap.yml, statefulset.yml, service.yml]\n"),
    );
    h::copy_file(
        &h::fixtures().join("spinnaker-kustomize-monorepo/ingress.yaml"),
        &repo.join("components/ingress/ingress.yaml"),
    );
    h::write_file(
        &repo.join("components/ingress/kustomization.yaml"),
        &format!("{component}resources: [ingress.yaml]\n"),
    );
    h::write_file(
        &repo.join("components/java-opts/gate.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gate}\nspec:\n  template:\n    spec:\n      containers:\n      - name: gate\n        env:\n        - {name: JAVA_OPTS, value: -XX:MaxRAMPercentage=60.0}\n",
    );
    h::write_file(
        &repo.join("components/java-opts/kustomization.yaml"),
        &format!("{component}patchesStrategicMerge: [gate.yaml]\n"),
    );
}

fn kustomize_build(dir: &Path) -> h::Run {
    let mut cmd = Command::new(h::kustomize());
    cmd.args(["build", "--enable-alpha-plugins", "--enable-exec"]).arg(dir);
    h::run(&mut cmd, None)
}

/// `spinnaker-krm verify --config <config>` on `rendered`, run at the repository root.
fn verify(repo: &Path, config: &Path, rendered: &str) -> h::Run {
    let mut cmd = Command::new(h::binary());
    cmd.current_dir(repo).arg("verify").arg("--config").arg(config);
    h::run(&mut cmd, Some(rendered))
}

/// The layout of spinnaker-kustomize itself: `resources: [base]`, several components last.
fn root_with_components(name: &str) -> h::TempDir {
    let repo = repository(name);
    write_base(repo.path());
    write_components(repo.path());
    h::write_file(&repo.path().join("spinnaker-krm.yaml"), &transformer());
    h::write_file(
        &repo.path().join("kustomization.yaml"),
        "namespace: spinnaker\nresources: [base]\ncomponents:\n- components/redis\n- components/ingress\n- components/java-opts\ntransformers: [spinnaker-krm.yaml]\n",
    );
    repo
}

fn assert_protected(repo: &Path, config: &Path, out: &h::Run) {
    let mut images = h::image_lines(&out.stdout);
    images.retain(|i| !i.contains("redis"));
    images.sort();
    images.dedup();
    let expected: Vec<String> = h::SERVICES.iter().map(|s| h::pinned_image(s)).collect();
    assert_eq!(images, expected, "{}", out.stdout);
    verify(repo, config, &out.stdout).success();
}

#[test]
fn a_root_kustomization_with_components_last_finds_the_bom_at_the_repository_root() {
    let repo = root_with_components("components-last");
    let out = kustomize_build(repo.path()).success();
    assert_protected(repo.path(), &repo.path().join("spinnaker-krm.yaml"), &out);
    assert!(out.stdout.contains("kind: StatefulSet") && out.stdout.contains("kind: Ingress"), "{}", out.stdout);
    assert!(out.stdout.contains("-XX:MaxRAMPercentage=60.0"), "the component's patch survives: {}", out.stdout);
    // The same from any working directory: kustomize's, not ours, decides where the function starts.
    let mut cmd = Command::new(h::kustomize());
    cmd.current_dir(repo.path().join("components/redis"))
        .args(["build", "--enable-alpha-plugins", "--enable-exec"])
        .arg(repo.path());
    assert_eq!(h::run(&mut cmd, None).success().stdout, out.stdout);
}

#[test]
fn an_overlay_on_a_sibling_base_and_a_nested_overlay_find_the_bom_at_the_repository_root() {
    let repo = repository("overlays");
    write_base(repo.path());
    write_components(repo.path());
    let prod = repo.path().join("overlays/prod");
    h::write_file(&prod.join("spinnaker-krm.yaml"), &transformer());
    h::write_file(
        &prod.join("kustomization.yaml"),
        "namespace: spinnaker\nresources: [../../base]\ncomponents: [../../components/ingress]\ntransformers: [spinnaker-krm.yaml]\n",
    );
    let out = kustomize_build(&prod).success();
    assert_protected(repo.path(), &prod.join("spinnaker-krm.yaml"), &out);

    // overlays/prod/eu on overlays/staging on ../../base: two levels of overlay, the transformer in the deepest.
    let staging = repo.path().join("overlays/staging");
    h::write_file(&staging.join("kustomization.yaml"), "resources: [../../base]\ncommonLabels: {stage: staging}\n");
    let eu = prod.join("eu");
    h::write_file(&eu.join("spinnaker-krm.yaml"), &transformer());
    h::write_file(
        &eu.join("kustomization.yaml"),
        "namespace: spinnaker\nresources: [../../staging]\ncomponents: [../../../components/java-opts]\ntransformers: [spinnaker-krm.yaml]\n",
    );
    let out = kustomize_build(&eu).success();
    assert_protected(repo.path(), &eu.join("spinnaker-krm.yaml"), &out);
}

#[test]
fn a_spinnaker_service_repository_with_components_and_a_dozen_patches() {
    let repo = repository("spinnakerservice");
    h::copy_file(
        &h::fixtures().join("spinnaker-operator/examples/basic.spinnakerservice.yml"),
        &repo.path().join("base/spinnakerservice.yml"),
    );
    h::write_file(&repo.path().join("base/kustomization.yaml"), "resources: [spinnakerservice.yml]\n");
    let component = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n";
    let head = "apiVersion: spinnaker.io/v1alpha2\nkind: SpinnakerService\nmetadata: {name: spinnaker}\nspec:\n";
    h::write_file(
        &repo.path().join("components/storage/kustomization.yaml"),
        &format!("{component}patchesStrategicMerge: [storage.yaml]\n"),
    );
    h::write_file(
        &repo.path().join("components/storage/storage.yaml"),
        &format!(
            "{head}  spinnakerConfig:\n    config:\n      persistentStorage:\n        s3: {{bucket: my-spinnaker}}\n"
        ),
    );
    h::write_file(
        &repo.path().join("components/expose-annotations/kustomization.yaml"),
        &format!("{component}patchesStrategicMerge: [expose.yaml]\n"),
    );
    h::write_file(
        &repo.path().join("components/expose-annotations/expose.yaml"),
        &format!("{head}  expose:\n    service:\n      annotations:\n        service.beta.kubernetes.io/aws-load-balancer-backend-protocol: http\n"),
    );
    let services = ["clouddriver", "echo", "fiat", "front50", "gate", "igor", "orca", "rosco"];
    let mut patches = String::new();
    for (i, svc) in services.iter().chain(["clouddriver", "orca", "gate", "echo"].iter()).enumerate() {
        let file = format!("patches/{i:02}-{svc}.yaml");
        let body = if i < services.len() {
            format!(
                "  spinnakerConfig:\n    profiles:\n      {svc}:\n        logging: {{level: {{com.netflix: INFO}}}}\n"
            )
        } else {
            format!("  spinnakerConfig:\n    service-settings:\n      {svc}:\n        env: {{TEAM_{i}: platform}}\n")
        };
        h::write_file(&repo.path().join(&file), &format!("{head}{body}"));
        patches.push_str(&format!("- {file}\n"));
    }
    let config =
        transformer().replace("    extraPins:\n      keel: 0.1.0-20210331200022-slim   # keel is never in a BOM\n", "");
    h::write_file(&repo.path().join("spinnaker-krm.yaml"), &config);
    h::write_file(
        &repo.path().join("kustomization.yaml"),
        &format!("namespace: spinnaker\nresources: [base]\ncomponents: [components/storage, components/expose-annotations]\npatchesStrategicMerge:\n{patches}transformers: [spinnaker-krm.yaml]\n"),
    );
    let out = kustomize_build(repo.path()).success();
    for (needle, what) in [
        ("version: 1.27.0", "the BOM's version"),
        ("bucket: my-spinnaker", "the component"),
        ("TEAM_11: platform", "the twelfth patch"),
        ("com.netflix: INFO", "the profile patches"),
        ("artifactId: us-docker.pkg.dev/spinnaker-community/docker/gate:6.54.1", "gate's pin"),
    ] {
        assert!(out.stdout.contains(needle), "{what} missing:\n{}", out.stdout);
    }
    verify(repo.path(), &repo.path().join("spinnaker-krm.yaml"), &out.stdout).success();
}

#[test]
fn no_bom_in_reach_fails_listing_every_place_searched() {
    let repo = root_with_components("no-bom");
    std::fs::remove_dir_all(repo.path().join("bom")).unwrap();
    let out = kustomize_build(repo.path()).failure();
    let root = repo.path().display();
    // kustomize started the function in the last component it loaded.
    let expected = format!(
        "cannot find the BOM bom/1.27.0.yml for spec.bom.version 1.27.0 from {root}/components/java-opts up to the repository root {root}; searched {root}/components/java-opts/bom/1.27.0.yml, {root}/components/bom/1.27.0.yml, {root}/bom/1.27.0.yml; put the Spinnaker 1.27.0 BOM at {root}/bom/1.27.0.yml (found from every directory of the repository), or point spec.bom.dir at it"
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
}

#[test]
fn two_different_boms_of_one_version_in_reach_fail_and_two_equal_copies_pass() {
    let repo = root_with_components("two-boms");
    let bom = h::read_file(&repo.path().join("bom/1.27.0.yml"));
    let copy = repo.path().join("components/java-opts/bom/1.27.0.yml");
    h::write_file(&copy, &bom);
    kustomize_build(repo.path()).success();
    h::write_file(&copy, &bom.replace("version: 6.54.1", "version: 6.54.9"));
    let out = kustomize_build(repo.path()).failure();
    let root = repo.path().display();
    assert!(
        out.stderr.contains(&format!(
            "two different BOMs for 1.27.0 in reach: {root}/components/java-opts/bom/1.27.0.yml and {root}/bom/1.27.0.yml"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bom_path_out_of_the_repository_through_a_symlink_is_refused_without_quoting_the_file() {
    let repo = repository("symlink");
    let outside = h::TempDir::new("outside");
    h::write_file(&outside.path().join("1.27.0.yml"), "sk-live-secret-api-key-0123456789\n");
    std::fs::remove_dir_all(repo.path().join("bom")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("bom")).unwrap();
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"));
    let out = h::run_function(repo.path(), &h::resource_list(&[&gate], &h::pinning_config(""))).failure();
    assert!(out.stderr.contains("leads outside") && out.stderr.contains("(a symlink)"), "{}", out.stderr);
    // Inside the repository, a file that is no BOM (a key pasted by mistake) is named, never quoted.
    std::fs::remove_file(repo.path().join("bom")).unwrap();
    h::write_file(&repo.path().join("bom/1.27.0.yml"), "sk-live-secret-api-key-0123456789\n");
    let out = h::run_function(repo.path(), &h::resource_list(&[&gate], &h::pinning_config(""))).failure();
    assert!(out.stderr.contains("BOM bom/1.27.0.yml"), "{}", out.stderr);
    assert!(!out.stderr.contains("sk-live") && !out.stdout.contains("sk-live"), "{}\n{}", out.stderr, out.stdout);
}

#[test]
fn kpt_fn_eval_on_a_package_inside_the_repository_finds_the_bom_at_its_root() {
    let repo = repository("kpt");
    let pkg = repo.path().join("packages/spinnaker");
    h::copy_spinnaker_kustomize_base(&pkg);
    h::write_file(&pkg.join("Kptfile"), "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata: {name: spinnaker}\n");
    let config = repo.path().join("spinnaker-krm.yaml");
    h::write_file(&config, &h::read_file(&h::root().join("examples/spinnaker-kustomize/spinnaker-krm.yaml")));
    h::kpt_eval_with_config(&pkg, config.to_str().unwrap()).success();
    let gate = h::read_file(&pkg.join("gate-deployment.yml"));
    let mut images = h::image_lines(&gate);
    images.dedup(); // the truststore init container runs gate's own image
    assert_eq!(images, [h::pinned_image("gate")]);
}

/// `render DIR` and `generate` in DIR (as ArgoCD runs it: kustomize on PATH) on every example directory:
/// the same output, or the same failure.
#[test]
fn render_and_generate_give_the_same_objects_on_every_example_directory() {
    let examples = h::root().join("examples");
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(&examples).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut rendered = 0;
    for dir in dirs {
        let run = |cmd: &mut Command| h::run(cmd.env("SPINNAKER_KRM_KUSTOMIZE", h::kustomize()), None);
        let render = run(Command::new(h::binary()).arg("render").arg(&dir));
        let generate = run(Command::new(h::binary()).arg("generate").current_dir(&dir));
        assert_eq!(
            render.status.code(),
            generate.status.code(),
            "{}: {}\n{}",
            dir.display(),
            render.stderr,
            generate.stderr
        );
        assert_eq!(render.stdout, generate.stdout, "{}", dir.display());
        // The same failure; the fix is named for the caller (a command for a person, the route for ArgoCD), and
        // generate names files in the app directory as ArgoCD's user knows them, not in its checkout.
        let what = |run: &h::Run| {
            let line = run.stderr.lines().next().map(|l| l.replace(&format!("{}/", dir.display()), ""));
            line.map(|l| l.split("; ").next().unwrap_or(&l).to_owned())
        };
        assert_eq!(what(&render), what(&generate), "{}", dir.display());
        rendered += usize::from(render.status.success());
    }
    assert!(rendered >= 2, "examples/spinnaker and examples/spinnaker-kustomize render");
    // examples/spinnaker's kustomization sets the namespace: render keeps it, as generate does.
    let out = h::run(
        Command::new(h::binary())
            .arg("render")
            .arg(examples.join("spinnaker"))
            .env("SPINNAKER_KRM_KUSTOMIZE", h::kustomize()),
        None,
    )
    .success();
    assert!(
        out.stdout.contains("kind: SpinnakerService\nmetadata:\n  name: spinnaker\n  namespace: spinnaker\n"),
        "{}",
        out.stdout
    );
}

/// When the last kustomization kustomize loads is outside the repository (a shared or remote component),
/// no file search can reach the BOM; the root kustomization carries it in the stream instead, as a
/// local-config ConfigMap `spinnaker-bom` that kustomize leaves out of its output.
#[test]
fn a_component_outside_the_repository_needs_the_bom_carried_in_the_stream() {
    let outer = h::TempDir::new("carried");
    let repo = outer.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    h::install_bom(&repo);
    write_base(&repo);
    write_components(&outer.path().join("elsewhere"));
    h::write_file(&repo.join("spinnaker-krm.yaml"), &transformer());
    let plain = "namespace: spinnaker\nresources: [base]\ncomponents: [../elsewhere/components/java-opts]\ntransformers: [spinnaker-krm.yaml]\n";
    h::write_file(&repo.join("kustomization.yaml"), plain);
    let out = kustomize_build(&repo).failure();
    let elsewhere = outer.path().join("elsewhere/components/java-opts");
    assert!(
        out.stderr.contains(&format!("in {} only (it is in no Git repository", elsewhere.display())),
        "{}",
        out.stderr
    );

    let carried = format!(
        "{plain}configMapGenerator:\n- name: spinnaker-bom\n  files: [bom/1.27.0.yml]\n  options:\n    disableNameSuffixHash: true\n    annotations: {{config.kubernetes.io/local-config: \"true\"}}\n"
    );
    h::write_file(&repo.join("kustomization.yaml"), &carried);
    let out = kustomize_build(&repo).success();
    assert_protected(&repo, &repo.join("spinnaker-krm.yaml"), &out);
    assert!(!out.stdout.contains("spinnaker-bom"), "kustomize drops the local-config ConfigMap: {}", out.stdout);

    // A copy on disk where the function runs must pin the same.
    let bom = h::read_file(&repo.join("bom/1.27.0.yml"));
    h::write_file(&elsewhere.join("bom/1.27.0.yml"), &bom.replace("version: 6.54.1", "version: 6.54.9"));
    let out = kustomize_build(&repo).failure();
    assert!(
        out.stderr.contains("two different BOMs for 1.27.0 in reach: the ConfigMap spinnaker-bom in the stream and"),
        "{}",
        out.stderr
    );
    // A carried ConfigMap without the release's key says where it goes, for the path the config names.
    std::fs::remove_file(elsewhere.join("bom/1.27.0.yml")).unwrap();
    std::fs::copy(repo.join("bom/1.27.0.yml"), repo.join("bom/other.yml")).unwrap();
    h::write_file(
        &repo.join("kustomization.yaml"),
        &carried.replace("files: [bom/1.27.0.yml]", "files: [bom/other.yml]"),
    );
    let out = kustomize_build(&repo).failure();
    assert!(
        out.stderr.contains(
            "the local-config ConfigMap spinnaker-bom carries no 1.27.0.yml; give it the BOM under data.1.27.0.yml \
             (kustomize: files: [bom/1.27.0.yml] in its configMapGenerator) or remove the ConfigMap"
        ),
        "{}",
        out.stderr
    );
}
