//! The kustomize legacy exec plugin route: spinnaker-krm installed the documented way
//! (`spinnaker-krm install-kustomize-plugin` under `$XDG_CONFIG_HOME`) and listed under `transformers:` as
//! a SpinnakerPlatform *without* the `config.kubernetes.io/function` annotation is run by
//! `kustomize build --enable-alpha-plugins` (standalone 4.5.4) and `kubectl kustomize --enable-alpha-plugins`
//! (v5.5.0) with no other flag: both give the same protected objects, on a layout with a base and a
//! component and on a SpinnakerService with patches. kustomize's own annotations come back unchanged, a
//! failure fails the build with nothing on stdout, and without the plugin the build fails.

use serde_yaml_ng::Value;
use spinnaker_krm_tests as h;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where kustomize finds the plugin below the plugin home.
const PLUGIN: &str = "kustomize/plugin/spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform";

/// The full protection (pins, truststore, mTLS, the CA chain) as a legacy plugin config: no function
/// annotation. The BOM is `bom/` beside the kustomization that lists it.
const CONFIG: &str = "apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker
spec:
  namespace: spinnaker
  bom:
    version: 1.27.0
    dir: bom
    extraPins:
      keel: 0.1.0-20210331200022-slim
";

/// A temporary `XDG_CONFIG_HOME` (and `HOME`, so no plugin of the machine's user is found) with the plugin
/// installed by `spinnaker-krm install-kustomize-plugin`, as README says.
struct Home(h::TempDir);

impl Home {
    fn empty() -> Home {
        Home(h::TempDir::new("legacy-home"))
    }

    fn installed() -> Home {
        let home = Home::empty();
        let mut cmd = Command::new(h::binary());
        home.env(cmd.arg("install-kustomize-plugin"));
        let out = h::run(&mut cmd, None).success();
        let plugin = home.0.path().join("config").join(PLUGIN);
        assert!(out.stdout.contains(&plugin.display().to_string()), "{}", out.stdout);
        assert!(plugin.is_file(), "not installed at {}", plugin.display());
        home
    }

    fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("XDG_CONFIG_HOME", self.0.path().join("config"))
            .env("HOME", self.0.path())
            .env_remove("KUSTOMIZE_PLUGIN_HOME")
    }

    fn plugin(&self) -> PathBuf {
        self.0.path().join("config").join(PLUGIN)
    }
}

/// `kubectl kustomize --enable-alpha-plugins DIR` and `kustomize build --enable-alpha-plugins DIR`.
fn builds(home: &Home, dir: &Path) -> [h::Run; 2] {
    let mut kubectl = Command::new(h::on_path("kubectl"));
    home.env(kubectl.args(["kustomize", "--enable-alpha-plugins"]).arg(dir));
    let mut standalone = Command::new(h::kustomize());
    home.env(standalone.args(["build", "--enable-alpha-plugins"]).arg(dir));
    [h::run(&mut kubectl, None), h::run(&mut standalone, None)]
}

/// Both builds succeed with the same objects; returns kubectl's output.
fn build_same(home: &Home, dir: &Path) -> String {
    let [kubectl, standalone] = builds(home, dir);
    let (kubectl, standalone) = (kubectl.success(), standalone.success());
    assert_eq!(objects(&kubectl.stdout), objects(&standalone.stdout), "kubectl kustomize and kustomize 4.5.4 disagree");
    kubectl.stdout
}

fn objects(text: &str) -> Vec<Value> {
    text.split("\n---\n").filter(|d| !d.trim().is_empty()).map(|d| serde_yaml_ng::from_str(d).unwrap()).collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<_> = objects.iter().filter(|o| o["kind"] == kind && o["metadata"]["name"] == name).collect();
    assert_eq!(found.len(), 1, "expected one {kind}/{name}");
    found[0]
}

/// `spinnaker-krm verify --config spinnaker-krm.yaml` in `dir`: exactly what the config asks for.
fn verify(dir: &Path, rendered: &str) {
    let mut cmd = Command::new(h::binary());
    cmd.current_dir(dir).args(["verify", "--config", "spinnaker-krm.yaml"]);
    let out = h::run(&mut cmd, Some(rendered)).success();
    assert_eq!(out.stdout, rendered);
}

/// spinnaker-kustomize's Deployments and Services as a base, a Component that sets gate's JAVA_OPTS and
/// adds a ConfigMap, and an overlay that lists both, the namespace, origin annotations and the plugin.
/// The BOM is in the overlay: kustomize runs the plugin there, components and bases notwithstanding.
fn base_and_component(root: &Path) -> PathBuf {
    let base = root.join("base");
    let resources = h::copy_spinnaker_kustomize_base(&base);
    h::write_file(&base.join("kustomization.yaml"), &format!("resources:\n{resources}"));
    h::write_file(
        &root.join("components/java-opts/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [settings.yaml]\npatches:\n\
         - patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: gate\n    spec:\n\
         \x20     template:\n        spec:\n          containers:\n          - name: gate\n            env:\n\
         \x20           - name: JAVA_OPTS\n              value: -Xmx2g\n",
    );
    h::write_file(
        &root.join("components/java-opts/settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  enabled: \"yes\"\n  mode: \"0755\"\n",
    );
    let overlay = root.join("overlay");
    h::write_file(
        &overlay.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: spinnaker\n\
         resources: [../base]\ncomponents: [../components/java-opts]\ntransformers: [spinnaker-krm.yaml]\n\
         buildMetadata: [originAnnotations, transformerAnnotations]\n",
    );
    h::write_file(&overlay.join("spinnaker-krm.yaml"), CONFIG);
    h::install_bom(&overlay);
    overlay
}

/// The operator's complete SpinnakerService example as a base, patched in the overlay by a strategic
/// merge patch and a JSON 6902 patch, with the plugin listed there.
fn spinnaker_service_with_patches(root: &Path) -> PathBuf {
    h::copy_file(
        &h::fixtures().join("spinnaker-operator/examples/complete.spinnakerservice.yml"),
        &root.join("base/spinnakerservice.yml"),
    );
    h::write_file(&root.join("base/kustomization.yaml"), "resources: [spinnakerservice.yml]\n");
    let overlay = root.join("overlay");
    h::write_file(
        &overlay.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: spinnaker\nresources: [../base]\n\
         patches:\n- path: bucket.yaml\n- target: {kind: SpinnakerService, name: spinnaker}\n  patch: |-\n\
         \x20   - op: replace\n      path: /spec/expose/service/type\n      value: ClusterIP\n\
         transformers: [spinnaker-krm.yaml]\n",
    );
    h::write_file(
        &overlay.join("bucket.yaml"),
        "apiVersion: spinnaker.io/v1alpha2\nkind: SpinnakerService\nmetadata:\n  name: spinnaker\nspec:\n\
         \x20 spinnakerConfig:\n    config:\n      persistentStorage:\n        s3:\n          bucket: spinnaker-prod\n",
    );
    h::write_file(&overlay.join("spinnaker-krm.yaml"), CONFIG);
    h::install_bom(&overlay);
    overlay
}

#[test]
fn both_kustomizes_run_the_plugin_on_a_base_and_a_component_with_the_bom_of_the_overlay() {
    let root = h::TempDir::new("legacy-layout");
    let overlay = base_and_component(root.path());
    let home = Home::installed();
    let rendered = build_same(&home, &overlay);
    let built = objects(&rendered);
    let mut images = h::image_lines(&rendered);
    images.sort();
    images.dedup();
    let expected: Vec<String> = h::SERVICES.iter().map(|s| h::pinned_image(s)).collect();
    assert_eq!(images, expected);
    let gate = find(&built, "Deployment", "gate");
    let text = serde_yaml_ng::to_string(gate).unwrap();
    // gate's own listener stays plain HTTP (README "Gate's front door"); it calls the others over mTLS.
    assert!(text.contains("spinnaker-krm-truststore") && text.contains("OKHTTPCLIENT_KEYSTORE"), "{text}");
    assert!(text.contains("-Xmx2g"), "the component's JAVA_OPTS is lost: {text}");
    find(&built, "Certificate", "gate-mtls");
    // The component's ConfigMap keeps its YAML 1.1 strings.
    assert!(rendered.contains("enabled: \"yes\"") && rendered.contains("mode: \"0755\""), "{rendered}");
    verify(&overlay, &rendered);
}

#[test]
fn both_kustomizes_run_the_plugin_on_a_patched_spinnaker_service() {
    let root = h::TempDir::new("legacy-operator");
    let overlay = spinnaker_service_with_patches(root.path());
    let home = Home::installed();
    let rendered = build_same(&home, &overlay);
    let built = objects(&rendered);
    let service = find(&built, "SpinnakerService", "spinnaker");
    let config = &service["spec"]["spinnakerConfig"];
    assert_eq!(config["config"]["version"], "1.27.0");
    assert_eq!(config["config"]["persistentStorage"]["s3"]["bucket"], "spinnaker-prod", "the patch is lost");
    assert_eq!(service["spec"]["expose"]["service"]["type"], "ClusterIP", "the JSON patch is lost");
    assert_eq!(config["service-settings"]["gate"]["artifactId"], h::pinned_image("gate"));
    assert!(serde_yaml_ng::to_string(&service["spec"]["kustomize"]).unwrap().contains("keytool"), "no truststore");
    verify(&overlay, &rendered);
}

/// Annotation keys kustomize uses to track resources, which must come back as they went in.
fn tracking(object: &Value) -> Vec<(String, String)> {
    let Some(annotations) = object["metadata"]["annotations"].as_mapping() else { return Vec::new() };
    annotations
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().unwrap_or_default().to_owned()))
        .filter(|(k, _)| {
            [
                "kustomize.config.k8s.io/",
                "internal.config.kubernetes.io/",
                "config.kubernetes.io/",
                "alpha.config.kubernetes.io/",
            ]
            .iter()
            .any(|p| k.starts_with(p))
        })
        .collect()
}

#[test]
fn kustomizes_annotations_come_back_unchanged_from_inside_the_build() {
    // A recording wrapper at the plugin path: it keeps what kustomize sends and what spinnaker-krm (run by
    // the name kustomize gives it) answers, and passes both through.
    let root = h::TempDir::new("legacy-annotations");
    let overlay = base_and_component(root.path());
    let home = Home::empty();
    let real = root.path().join("real/SpinnakerPlatform");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(h::binary(), &real).unwrap();
    for tool in ["kubectl", "standalone"] {
        let record = root.path().join(tool);
        std::fs::create_dir_all(&record).unwrap();
        let wrapper = format!(
            "#!/bin/sh\ntee '{r}/stdin.yaml' | '{real}' \"$@\" > '{r}/stdout.yaml'\nstatus=$?\ncat '{r}/stdout.yaml'\nexit $status\n",
            r = record.display(),
            real = real.display()
        );
        h::write_file(&home.plugin(), &wrapper);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.plugin(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let [kubectl, standalone] = builds(&home, &overlay);
        let run = if tool == "kubectl" { kubectl } else { standalone };
        let final_output = run.success().stdout;

        let sent = objects(&h::read_file(&record.join("stdin.yaml")));
        let answered = objects(&h::read_file(&record.join("stdout.yaml")));
        let id = |o: &Value| o["metadata"]["annotations"]["kustomize.config.k8s.io/id"].as_str().map(str::to_owned);
        let keys: Vec<String> = sent.iter().flat_map(tracking).map(|(k, _)| k).collect();
        for prefix in [
            "kustomize.config.k8s.io/id",
            "internal.config.kubernetes.io/",
            "config.kubernetes.io/origin",
            "alpha.config.kubernetes.io/transformations",
        ] {
            assert!(keys.iter().any(|k| k.starts_with(prefix)), "{tool} sent no {prefix} annotation: {keys:?}");
        }
        for object in &sent {
            let object_id = id(object).expect("kustomize ids every resource it sends");
            let back = answered.iter().find(|o| id(o).as_deref() == Some(&object_id)).unwrap_or_else(|| {
                panic!("{tool}: {object_id} did not come back");
            });
            assert_eq!(tracking(back), tracking(object), "{tool}: the annotations of {object_id} changed");
        }
        assert!(answered.len() > sent.len(), "{tool}: no Certificates added");
        assert!(!final_output.contains("internal.config.kubernetes.io/"), "kustomize's own annotations leaked");
    }
}

#[test]
fn a_failing_plugin_fails_the_build_with_its_message_and_no_output() {
    let root = h::TempDir::new("legacy-nobom");
    let overlay = base_and_component(root.path());
    std::fs::remove_dir_all(overlay.join("bom")).unwrap();
    let home = Home::installed();
    for run in builds(&home, &overlay) {
        let out = run.failure();
        assert!(out.stdout.is_empty(), "output on failure:\n{}", out.stdout);
        let bom = overlay.join("bom/1.27.0.yml");
        assert!(
            out.stderr.contains(&format!(
                "spinnaker-krm: error: cannot find the BOM bom/1.27.0.yml for spec.bom.version 1.27.0 in {} only",
                overlay.display()
            )) && out.stderr.contains(&format!("searched {}", bom.display())),
            "the BOM is looked up in the kustomization that lists the plugin:\n{}",
            out.stderr
        );
    }
}

#[test]
fn without_the_plugin_installed_the_build_fails() {
    let root = h::TempDir::new("legacy-missing");
    let overlay = base_and_component(root.path());
    // No plugin home at all, then a plugin home without spinnaker-krm in it.
    let home = Home::empty();
    for run in builds(&home, &overlay) {
        let out = run.failure();
        assert!(out.stdout.is_empty() && out.stderr.contains("unable to find plugin root"), "{}", out.stderr);
    }
    std::fs::create_dir_all(home.0.path().join("config/kustomize/plugin")).unwrap();
    for run in builds(&home, &overlay) {
        let out = run.failure();
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(
            out.stderr.contains("spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn with_the_function_annotation_it_is_an_exec_function_that_alpha_plugins_alone_skips() {
    // The same overlay with the exec-function annotation: kustomize now treats it as a KRM function, which
    // needs --enable-exec; without it both kustomizes skip it and exit 0, and verify says so.
    let root = h::TempDir::new("legacy-annotated");
    let overlay = base_and_component(root.path());
    let annotated = CONFIG.replace(
        "  name: spinnaker\n",
        &format!(
            "  name: spinnaker\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: {}\n",
            h::binary().display()
        ),
    );
    h::write_file(&overlay.join("spinnaker-krm.yaml"), &annotated);
    let home = Home::installed();
    let [kubectl, standalone] = builds(&home, &overlay);
    let (kubectl, standalone) = (kubectl.success(), standalone.success());
    for out in [&kubectl, &standalone] {
        assert!(out.stdout.contains("gate:latest") && !out.stdout.contains("spinnaker-krm-truststore"));
    }
    let mut cmd = Command::new(h::binary());
    let refused = h::run(cmd.arg("verify"), Some(&kubectl.stdout)).failure();
    assert!(refused.stderr.starts_with("spinnaker-krm: error: not protected:"), "{}", refused.stderr);
}

#[test]
fn the_plugin_mode_fails_closed_and_the_cli_keeps_its_meaning() {
    let root = h::TempDir::new("legacy-direct");
    let dir = root.path();
    let plugin = dir.join("SpinnakerPlatform");
    std::os::unix::fs::symlink(h::binary(), &plugin).unwrap();
    let config = dir.join("kust-plugin-config-1");
    h::write_file(&config, &CONFIG.replace("dir: bom", "dir: nowhere"));
    let input = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: gate\nspec:\n  template:\n    spec:\n      containers:\n      - name: gate\n        image: us-docker.pkg.dev/spinnaker-community/docker/gate:latest\n";
    let call = |cmd: &mut Command| h::run(cmd.current_dir(dir).env("KUSTOMIZE_PLUGIN_CONFIG_ROOT", dir), Some(input));

    // A missing BOM: the headline first, exit 2, nothing on stdout.
    let out = call(Command::new(&plugin).arg(&config)).failure();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.starts_with("spinnaker-krm: error: cannot find the BOM nowhere/1.27.0.yml"), "{}", out.stderr);
    // Not as kustomize calls a plugin: refused, not mistaken for a subcommand.
    let out = call(Command::new(&plugin).arg(&config).arg("extra")).failure();
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(
        out.stderr.lines().next(),
        Some("spinnaker-krm: error: called as kustomize's SpinnakerPlatform plugin with 2 arguments; kustomize runs it with one argument, the config file, and KUSTOMIZE_PLUGIN_CONFIG_ROOT set; for the CLI run the binary as spinnaker-krm; spinnaker-krm takes no argsOneLiner or argsFromFile: remove them from the SpinnakerPlatform")
    );
    // Under its own name, with kustomize's variable set, the binary is the CLI (here the KRM function).
    let out = call(&mut Command::new(h::binary())).failure();
    assert!(out.stderr.contains("stdin is not a ResourceList"), "{}", out.stderr);
}

#[test]
fn alpha_plugins_alone_is_no_sandbox_a_kustomization_reaches_past_the_plugin_home() {
    // Why README and argocd-cm/README.md say --enable-alpha-plugins is no safer than --enable-exec: kustomize
    // joins the plugin home with the config's apiVersion and kind (api/internal/plugins/loader/loader.go,
    // `relativePluginPath`), and `..` in them leads out of it, to a program the repository brings along.
    let root = h::TempDir::new("legacy-escape");
    let repo = root.path().join("repo");
    let marker = root.path().join("ran");
    let probe = repo.join("tools/v1/probe/Probe");
    h::write_file(&probe, &format!("#!/bin/sh\necho ran >> '{}'\ncat\n", marker.display()));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let version = format!("{}{}/tools/v1", "../".repeat(40), repo.display().to_string().trim_start_matches('/'));
    h::write_file(
        &repo.join("probe.yaml"),
        &format!("apiVersion: x/{version}\nkind: Probe\nmetadata:\n  name: probe\n"),
    );
    h::write_file(&repo.join("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n");
    h::write_file(&repo.join("kustomization.yaml"), "resources: [cm.yaml]\ntransformers: [probe.yaml]\n");
    let home = Home::installed();
    for run in builds(&home, &repo) {
        run.success();
    }
    let runs = std::fs::read_to_string(&marker).unwrap_or_default();
    assert_eq!(runs, "ran\nran\n", "kustomize kept the plugin inside its home: update the security notes");
}
