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

const FULL_CONFIG: &str = "apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker
spec:
  bom:
    version: 1.27.0
";

fn clouddriver_with_env(env: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: clouddriver
spec:
  template:
    spec:
      containers:
      - name: clouddriver
        image: us-docker.pkg.dev/spinnaker-community/docker/clouddriver:latest
        env:
{env}"
    )
}

fn transform_twice(item: &str) -> String {
    let root = h::TempDir::new("regression-env");
    h::install_bom(root.path());
    let out = h::run_function(root.path(), &h::resource_list(&[item], FULL_CONFIG)).success();
    let again = h::run_function(root.path(), &h::with_function_config(&out.stdout, FULL_CONFIG)).success();
    assert_eq!(again.stdout, out.stdout, "not idempotent");
    out.stdout
}

/// The user's own `<SVC>_OPTS` (a JMX port here) was replaced by the truststore options.
#[test]
fn the_users_svc_opts_keep_their_options_before_ours() {
    let out = transform_twice(&clouddriver_with_env(
        "        - name: CLOUDDRIVER_OPTS\n          value: -Dcom.sun.management.jmxremote.port=9010\n",
    ));
    let opts = out.lines().skip_while(|l| !l.ends_with("name: CLOUDDRIVER_OPTS")).nth(1).expect("CLOUDDRIVER_OPTS");
    assert!(
        opts.trim()
            .starts_with("value: -Dcom.sun.management.jmxremote.port=9010 -Djavax.net.ssl.trustStore=/spinnaker-krm/"),
        "{opts}"
    );
    assert_eq!(out.matches("name: CLOUDDRIVER_OPTS").count(), 1);
    // Kubernetes expands `$(SPINNAKER_KRM_STORE_PASSWORD)` only when the variable comes earlier in the list;
    // the user's CLOUDDRIVER_OPTS sat first, so the password must move ahead of it.
    let position = |name: &str| out.find(&format!("name: {name}\n")).unwrap_or_else(|| panic!("{name}\n{out}"));
    assert!(position("SPINNAKER_KRM_STORE_PASSWORD") < position("CLOUDDRIVER_OPTS"), "{out}");
}

/// Every user env var starting SERVER_SSL_ / OKHTTPCLIENT_ or named SERVICES_*_BASEURL was deleted,
/// because the transform claimed them by prefix.
#[test]
fn the_users_other_tls_and_service_url_env_survive() {
    let out = transform_twice(&clouddriver_with_env(
        "        - name: SERVER_SSL_ENABLEDPROTOCOLS\n          value: TLSv1.3\n        - name: SERVICES_FIAT_BASEURL\n          value: http://fiat.example:7003\n",
    ));
    assert!(out.contains("name: SERVER_SSL_ENABLEDPROTOCOLS\n            value: TLSv1.3"), "{out}");
    assert!(out.contains("name: SERVICES_FIAT_BASEURL\n            value: http://fiat.example:7003"), "{out}");
    assert!(out.contains("name: SERVER_SSL_CLIENTAUTH"), "the transform's own settings are there too");
}

fn run_with(item: &str, config: &str) -> h::Run {
    let root = h::TempDir::new("regression-run");
    h::install_bom(root.path());
    h::run_function(root.path(), &h::resource_list(&[item], config))
}

/// A user's own `SERVER_SSL_KEYSTORE` was silently overwritten when mTLS is on: now it is a conflict.
#[test]
fn a_users_own_tls_env_is_a_conflict_not_overwritten() {
    let out = run_with(
        &clouddriver_with_env("        - name: SERVER_SSL_KEYSTORE\n          value: /my/keystore.p12\n"),
        FULL_CONFIG,
    )
    .failure();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("Deployment/clouddriver spec.template.spec.containers[0].env: SERVER_SSL_KEYSTORE already set by the manifest"),
        "{first}"
    );
    assert!(out.stdout.contains("items: []\n"), "no resource from a failed run:\n{}", out.stdout);
}

/// With mTLS off, the user's own TLS env (their own server TLS) was deleted by prefix.
#[test]
fn with_mtls_off_the_users_tls_env_stays() {
    let config = format!("{FULL_CONFIG}  mtls: {{enabled: false}}\n");
    let out = run_with(
        &clouddriver_with_env("        - name: SERVER_SSL_ENABLED\n          value: \"true\"\n        - name: SERVER_SSL_KEYSTORE\n          value: /my/keystore.p12\n"),
        &config,
    )
    .success();
    assert!(out.stdout.contains("name: SERVER_SSL_KEYSTORE\n            value: /my/keystore.p12"), "{}", out.stdout);
}

/// The keel.sh operator (image `keelhq/keel`) in its own namespace was turned into Spinnaker's keel.
#[test]
fn a_keel_outside_the_spinnaker_namespace_is_left_alone() {
    let keel_sh = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: keel\n  namespace: keel\nspec:\n  template:\n    spec:\n      containers:\n      - name: keel\n        image: keelhq/keel:0.19.1\n";
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"));
    let root = h::TempDir::new("regression-keel");
    h::install_bom(root.path());
    let out = h::run_function(root.path(), &h::resource_list(&[keel_sh, &gate], FULL_CONFIG)).success();
    assert!(out.stdout.contains("image: keelhq/keel:0.19.1"), "{}", out.stdout);
    assert!(!out.stdout.contains("name: keel-mtls"), "no Certificate for somebody else's keel");
    // With only workloads elsewhere, the run fails and says which namespace to set.
    let alone =
        run_with(&gate.replacen("name: gate\n", "name: gate\n  namespace: spin-prod\n", 1), FULL_CONFIG).failure();
    let first = alone.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("Spinnaker workloads are in namespace spin-prod but spec.namespace is spinnaker"),
        "{first}"
    );
}

/// An `env` that is not a list left the workload half-injected (init container, no TLS settings), exit 0.
#[test]
fn a_wrongly_shaped_env_is_reported_and_nothing_is_injected() {
    let item = clouddriver_with_env("          a: b\n");
    let out = run_with(&item, FULL_CONFIG).failure();
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("spec.template.spec.containers[0].env: is not a list; make it one"), "{first}");
}

/// Turning mTLS off left the Certificates and issuers of an earlier run in the package.
#[test]
fn objects_an_earlier_run_generated_go_when_no_longer_generated() {
    let root = h::TempDir::new("regression-stale");
    h::install_bom(root.path());
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"));
    let first = h::run_function(root.path(), &h::resource_list(&[&gate], FULL_CONFIG)).success();
    assert!(first.stdout.contains("kind: Certificate"));
    let off = format!("{FULL_CONFIG}  truststore: {{mode: none}}\n  mtls: {{enabled: false}}\n");
    let second = h::run_function(root.path(), &h::with_function_config(&first.stdout, &off)).success();
    for kind in ["Certificate", "ClusterIssuer", "Bundle"] {
        assert!(!second.stdout.contains(&format!("kind: {kind}")), "{kind} left behind:\n{}", second.stdout);
    }
    assert!(!second.stdout.contains("spinnaker-krm-truststore"), "{}", second.stdout);
}

/// A SpinnakerService with HA splits got a patch for `clouddriver` that never reaches `clouddriver-ro`.
#[test]
fn spinnaker_service_ha_splits_are_refused() {
    let service = "apiVersion: spinnaker.io/v1alpha2\nkind: SpinnakerService\nmetadata:\n  name: spinnaker\n  namespace: spinnaker\nspec:\n  spinnakerConfig:\n    config:\n      version: 1.27.0\n      deploymentEnvironment:\n        haServices:\n          clouddriver:\n            enabled: true\n";
    let out = run_with(service, FULL_CONFIG).failure();
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("haServices.clouddriver.enabled: HA splits of clouddriver would run without"), "{first}");
}

// ---- A newcomer's path (issue 12): the README and the shipped examples, run as written ----

/// `render DIR` of the shipped example, parsed: every object, in output order.
fn rendered_example(example: &str) -> (h::Run, Vec<serde_yaml_ng::Value>) {
    let out = h::run(Command::new(h::binary()).arg("render").arg(h::root().join(example)), None).success();
    let objects = out.stdout.split("\n---\n").map(|doc| serde_yaml_ng::from_str(doc).expect("YAML")).collect();
    (out, objects)
}

fn str_at<'a>(value: &'a serde_yaml_ng::Value, path: &[&str]) -> &'a str {
    path.iter().try_fold(value, |v, key| v.get(*key)).and_then(|v| v.as_str()).unwrap_or_default()
}

/// `render` printed `Namespace/spinnaker` after 20 namespaced objects, so `kubectl apply -f` of the output on a
/// fresh cluster could fail: plain streams come in `kustomize build`'s order (Namespace first, then ConfigMaps,
/// Services, Deployments, then the generated Certificates and issuers), each kind in input order.
#[test]
fn render_prints_the_namespace_first_in_kustomize_order() {
    let (_, objects) = rendered_example("examples/spinnaker-kustomize");
    let kinds: Vec<&str> = objects.iter().map(|o| str_at(o, &["kind"])).collect();
    assert_eq!(kinds[0], "Namespace", "{kinds:?}");
    let last = |kind: &str| kinds.iter().rposition(|k| *k == kind).unwrap();
    let first = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(last("ServiceAccount") < first("ConfigMap"), "{kinds:?}");
    assert!(last("ConfigMap") < first("Service") && last("Service") < first("Deployment"), "{kinds:?}");
    assert!(last("Deployment") < first("Certificate"), "{kinds:?}");
    let deployments: Vec<&str> = objects
        .iter()
        .filter(|o| str_at(o, &["kind"]) == "Deployment")
        .map(|o| str_at(o, &["metadata", "name"]))
        .collect();
    assert_eq!(deployments, h::SERVICES, "Deployments keep their input (file) order");
}

/// KRM mode keeps the input order: kpt and kustomize own the order of their ResourceLists.
#[test]
fn krm_mode_keeps_the_input_order() {
    let dir = h::TempDir::new("krm-order");
    h::install_bom(dir.path());
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: spinnaker\n";
    let gate = h::read_file(&h::root().join("examples/spinnaker-kustomize/gate.yml"));
    let gate_deployment = gate.split("\n---\n").next().unwrap();
    let input = h::resource_list(&[gate_deployment, namespace], &h::pinning_config(""));
    let out = h::run_function(dir.path(), &input).success();
    let kinds: Vec<&str> = out.stdout.lines().filter_map(|l| l.strip_prefix("  kind: ")).collect();
    assert_eq!(kinds[..2], ["Deployment", "Namespace"], "{}", out.stdout);
}

/// Success was silent: `render`, `generate` and KRM mode now print exactly one summary line on stderr (what
/// was protected, pinned and generated, and the BOM), and stdout is the same as before.
#[test]
fn success_prints_one_summary_line_on_stderr() {
    let expected = "spinnaker-krm: 11 workload(s) and 0 SpinnakerService(s) protected, 11 image(s) pinned, \
                    14 object(s) generated, BOM bom/1.27.0.yml (1.27.0)\n";
    let (render, _) = rendered_example("examples/spinnaker-kustomize");
    assert_eq!(render.stderr, expected);
    assert!(render.stdout.starts_with("apiVersion: v1\nkind: Namespace\n"), "stdout holds only the objects");
    let generate = h::run(
        Command::new(h::binary())
            .arg("generate")
            .current_dir(h::root().join("examples/spinnaker-kustomize"))
            .env_remove("ARGOCD_APP_PARAMETERS"),
        None,
    )
    .success();
    assert_eq!(generate.stderr, expected);
    assert_eq!(generate.stdout, render.stdout);
    // A run over its own output says the same (spinnaker-krm's init containers are not counted as pins).
    let again = h::TempDir::new("summary-again");
    h::install_bom(again.path());
    h::copy_file(
        &h::root().join("examples/spinnaker-kustomize/spinnaker-krm.yaml"),
        &again.path().join("spinnaker-krm.yaml"),
    );
    h::write_file(&again.path().join("rendered.yaml"), &render.stdout);
    let rerun = h::run(Command::new(h::binary()).arg("render").arg(again.path()), None).success();
    assert_eq!(rerun.stderr, expected);
    let dir = h::TempDir::new("krm-summary");
    h::install_bom(dir.path());
    let gate = h::read_file(&h::root().join("examples/spinnaker-kustomize/gate.yml"));
    let input = h::resource_list(&[gate.split("\n---\n").next().unwrap()], &h::pinning_config(""));
    let krm = h::run_function(dir.path(), &input).success();
    assert_eq!(krm.stderr.lines().count(), 1, "{}", krm.stderr);
    assert!(
        krm.stderr.starts_with("spinnaker-krm: 1 workload(s) and 0 SpinnakerService(s) protected, 1 image(s) pinned"),
        "{}",
        krm.stderr
    );
    assert!(krm.stdout.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"), "{}", krm.stdout);
}

/// kpt's flat keys on spinnaker-kustomize failed on keel, and the error told a user who wrote
/// `-- bom-version=…` to edit `spec.bom.extraPins`: errors name the flat key they can type.
#[test]
fn a_flat_key_user_is_told_extra_pins_not_spec_bom_extra_pins() {
    let pkg = h::TempDir::new("flat-keel");
    for entry in std::fs::read_dir(h::root().join("examples/spinnaker-kustomize")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            h::copy_file(&path, &pkg.path().join(path.file_name().unwrap()));
        }
    }
    h::install_bom(pkg.path());
    let kpt = |args: &[&str]| {
        let mut cmd = Command::new(h::on_path("kpt"));
        cmd.current_dir(pkg.path()).args(["fn", "eval", ".", "--truncate-output=false", "--exec"]).arg(h::binary());
        h::run(cmd.arg("--").args(args), None)
    };
    let out = kpt(&["bom-version=1.27.0"]).failure();
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("extra-pins has no keel; add it to extra-pins (e.g. extra-pins=keel=<tag>)"), "{all}");
    assert!(!all.contains("spec.bom"), "{all}");
    kpt(&["bom-version=1.27.0", "extra-pins=keel=0.1.0-20210331200022-slim"]).success();
}

/// examples/spinnaker-kustomize's deck reads `deck-env` through envFrom, which did not exist, so deck never
/// started: every ConfigMap a workload reads is shipped, or is the one trust-manager's Bundle writes.
#[test]
fn every_config_map_the_spinnaker_kustomize_example_reads_is_shipped() {
    let (_, objects) = rendered_example("examples/spinnaker-kustomize");
    let of_kind = |kind: &'static str| objects.iter().filter(move |o| str_at(o, &["kind"]) == kind);
    let mut shipped: Vec<&str> = of_kind("ConfigMap").map(|o| str_at(o, &["metadata", "name"])).collect();
    shipped.extend(of_kind("Bundle").map(|o| str_at(o, &["metadata", "name"])));
    // `configMapRef: {name}` (envFrom) and `configMap: {name}` (volumes, projected sources), at any depth.
    fn config_maps<'a>(value: &'a serde_yaml_ng::Value, found: &mut Vec<&'a str>) {
        match value {
            serde_yaml_ng::Value::Mapping(map) => {
                for (key, value) in map {
                    if matches!(key.as_str(), Some("configMapRef" | "configMap")) {
                        found.extend(value.get("name").and_then(|n| n.as_str()));
                    }
                    config_maps(value, found);
                }
            }
            serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|item| config_maps(item, found)),
            _ => {}
        }
    }
    let mut read = Vec::new();
    for deployment in of_kind("Deployment") {
        let name = str_at(deployment, &["metadata", "name"]);
        let mut names = Vec::new();
        config_maps(&deployment["spec"]["template"]["spec"], &mut names);
        for config_map in names {
            assert!(
                shipped.contains(&config_map),
                "Deployment/{name} reads ConfigMap {config_map}, which is not shipped"
            );
            read.push(format!("{name}: {config_map}"));
        }
    }
    assert!(read.contains(&"deck: deck-env".to_owned()), "{read:?}");
}

/// examples/spinnaker served gate's API under `/api/v1` while the operator's readiness check fetched
/// `/health`: the example's gate healthEndpoint follows its context path.
#[test]
fn the_operator_example_checks_gate_health_under_its_context_path() {
    let (_, objects) = rendered_example("examples/spinnaker");
    let service = objects.iter().find(|o| str_at(o, &["kind"]) == "SpinnakerService").expect("a SpinnakerService");
    let config = &service["spec"]["spinnakerConfig"];
    let context = str_at(config, &["profiles", "gate", "server", "servlet", "context-path"]);
    let health = str_at(config, &["service-settings", "gate", "healthEndpoint"]);
    assert_eq!(health, format!("{context}/health"), "gate serves under {context:?}");
}

/// `render examples/kustomize-route` (a directory with only the config and a kustomization) exited 0 with
/// nothing on stdout or stderr.
#[test]
fn render_of_a_directory_without_manifests_fails_with_one_line() {
    let out =
        h::run(Command::new(h::binary()).arg("render").arg("examples/kustomize-route").current_dir(h::root()), None);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("spinnaker-krm: error: no manifests found in examples/kustomize-route "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("kustomize build --enable-alpha-plugins --enable-exec examples/kustomize-route"),
        "{}",
        out.stderr
    );
}

/// The README's kpt route failed on both shipped examples (`input resource list must contain only KRM
/// resources: bom/1.27.0.yml`): each ships the `.krmignore` that keeps `bom/` out of kpt's input.
#[test]
fn kpt_runs_on_both_shipped_examples() {
    for example in ["examples/spinnaker-kustomize", "examples/spinnaker"] {
        let krmignore = h::read_file(&h::root().join(example).join(".krmignore"));
        assert!(krmignore.lines().any(|l| l.trim() == "bom/"), "{example}/.krmignore: {krmignore}");
        let pkg = h::TempDir::new("kpt-example");
        let mut stack = vec![h::root().join(example)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(h::root().join(example)).unwrap();
                    h::copy_file(&path, &pkg.path().join(relative));
                }
            }
        }
        let out = h::kpt_eval_with_config(pkg.path(), "spinnaker-krm.yaml").success();
        assert!(out.stderr.contains("[PASS]"), "{example}: {}", out.stderr);
        assert!(pkg.path().join("spinnaker-krm").is_dir(), "{example}: no generated objects written");
    }
}
