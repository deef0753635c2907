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
    transform_all_twice(&[item])
}

fn transform_all_twice(items: &[&str]) -> String {
    let root = h::TempDir::new("regression-env");
    h::install_bom(root.path());
    let out = h::run_function(root.path(), &h::resource_list(items, FULL_CONFIG)).success();
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
    // Issue 10: no `$(SPINNAKER_KRM_STORE_PASSWORD)` in text the start script evaluates.
    assert!(opts.trim().ends_with("-Djavax.net.ssl.trustStorePassword=changeit"), "{opts}");
    assert!(!out.contains("$(SPINNAKER_KRM_STORE_PASSWORD)"), "{out}");
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

/// Issue 10: pinning `gate:6.0.0-ubuntu` wrote `gate:6.54.1`, the Alpine image, and an `artifactId` lost
/// Halyard's `imageVariant` (`UBUNTU`) the same way.
#[test]
fn a_pin_keeps_the_image_variant_the_manifest_asked_for() {
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"))
        .replace("gate:latest", "gate:6.0.0-ubuntu");
    assert!(gate.contains("gate:6.0.0-ubuntu"), "fixture changed?");
    let out = transform_twice(&gate);
    assert!(out.contains("image: us-docker.pkg.dev/spinnaker-community/docker/gate:6.54.1-ubuntu\n"), "{out}");
    assert!(!out.contains("gate:6.54.1\n"), "{out}");

    let service = "apiVersion: spinnaker.io/v1alpha2\nkind: SpinnakerService\nmetadata:\n  name: spinnaker\n  namespace: spinnaker\nspec:\n  spinnakerConfig:\n    config:\n      version: 1.26.0\n      deploymentEnvironment:\n        imageVariant: UBUNTU\n    service-settings:\n      echo:\n        artifactId: us-docker.pkg.dev/spinnaker-community/docker/echo:2.0.0-java11-ubuntu\n";
    let out = run_with(service, FULL_CONFIG).success();
    assert!(
        out.stdout.contains("artifactId: us-docker.pkg.dev/spinnaker-community/docker/gate:6.54.1-ubuntu\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("artifactId: us-docker.pkg.dev/spinnaker-community/docker/echo:2.32.2-java11-ubuntu\n"),
        "{}",
        out.stdout
    );
}

/// Issue 10: base URLs named Halyard's default ports even when the input's Service exposes another one.
#[test]
fn base_urls_use_the_port_and_name_of_the_services_in_the_input() {
    let deployment = |svc: &str| {
        h::read_file(&h::fixtures().join(format!("spinnaker-kustomize/base/{svc}/deployment.yml")))
            .replacen("\nspec:\n", &format!("\nspec:\n  selector:\n    matchLabels:\n      app: {svc}\n"), 1)
            .replacen(
                "\n  template:\n",
                &format!("\n  template:\n    metadata:\n      labels:\n        app: {svc}\n"),
                1,
            )
    };
    // front50 is reached as `storage` on port 80; orca keeps its Halyard default (no Service in the input).
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: storage\nspec:\n  selector:\n    app: front50\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n";
    let out = run_with_all(&[&deployment("gate"), &deployment("front50"), &deployment("orca"), service], FULL_CONFIG);
    assert!(out.contains("value: https://storage.spinnaker:80\n"), "{out}");
    assert!(out.contains("value: https://orca.spinnaker:8083\n"), "{out}");
    // front50's certificate also carries the Service's name.
    assert!(out.contains("- storage.spinnaker.svc\n"), "{out}");
}

/// Issue 10: `pkcs12Profile: Modern2023` on 1.27.0, whose Alpine Java 11 predates 11.0.12 and cannot read an
/// HMAC-SHA256 MAC, is refused (every service would fail to open its key store).
#[test]
fn a_key_store_profile_the_releases_java_cannot_read_is_refused() {
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"));
    let out = run_with(&gate, &format!("{FULL_CONFIG}  mtls: {{pkcs12Profile: Modern2023}}\n")).failure();
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("spec.mtls.pkcs12Profile: Modern2023 key stores (HMAC-SHA256 MAC) cannot be read"),
        "{first}"
    );
    assert!(first.contains("gate (alpine:3.11"), "{first}");
    let default = run_with(&gate, FULL_CONFIG).success();
    assert!(default.stdout.contains("profile: LegacyDES\n"), "{}", default.stdout);
}

/// Issue 10: under clientAuth need a monitoring-daemon sidecar cannot read /spectator/metrics (main port,
/// client certificate required): refused instead of rendering a pod whose metrics silently stop.
#[test]
fn a_metrics_sidecar_under_need_is_refused() {
    let orca = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/orca/deployment.yml"));
    let sidecar = "      - name: monitoring-daemon\n        image: us-docker.pkg.dev/spinnaker-community/docker/monitoring-daemon:1.4.0\n";
    let orca = orca.replacen("      containers:\n", &format!("      containers:\n{sidecar}"), 1);
    assert!(orca.contains("monitoring-daemon:1.4.0"), "fixture changed?");
    let out = run_with(&orca, FULL_CONFIG).failure();
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("the monitoring-daemon sidecar reads https://localhost:8083/spectator/metrics"), "{first}");
    let want = format!("{FULL_CONFIG}  mtls: {{clientAuth: want}}\n");
    run_with(&orca, &want).success();
}

fn run_with_all(items: &[&str], config: &str) -> String {
    let root = h::TempDir::new("regression-all");
    h::install_bom(root.path());
    h::run_function(root.path(), &h::resource_list(items, config)).success().stdout
}

/// Issue 10: a probe adapted to TLS (TCP, then the management port) could not go back: a later run with
/// `clientAuth: want`, or with mTLS off, started from the adapted probe. The manifest's own probe is kept in
/// an annotation and every run adapts from it.
#[test]
fn probes_are_adapted_from_the_manifests_own_on_every_run() {
    let root = h::TempDir::new("regression-probes");
    h::install_bom(root.path());
    let clouddriver = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/clouddriver/deployment.yml"));
    let need = h::run_function(root.path(), &h::resource_list(&[&clouddriver], FULL_CONFIG)).success().stdout;
    assert!(need.contains("port: 8558\n"), "{need}");
    assert!(need.contains("spinnaker-krm.dev/original-probes: "), "{need}");
    let want_config = format!("{FULL_CONFIG}  mtls: {{clientAuth: want}}\n");
    let want = h::run_function(root.path(), &h::with_function_config(&need, &want_config)).success().stdout;
    assert!(!want.contains("port: 8558\n"), "{want}");
    assert!(
        want.contains("httpGet:\n              path: /health\n              port: http\n              scheme: HTTPS\n"),
        "{want}"
    );
    let off_config = format!("{FULL_CONFIG}  truststore: {{mode: none}}\n  mtls: {{enabled: false}}\n");
    let off = h::run_function(root.path(), &h::with_function_config(&want, &off_config)).success().stdout;
    let fresh = h::run_function(root.path(), &h::resource_list(&[&clouddriver], &off_config)).success().stdout;
    assert_eq!(off, fresh, "mTLS off after need and want is the manifest as if mTLS had never been on");
}

/// Gate used to serve HTTPS on its port (client-auth want) while the front doors upstream ships (an Ingress
/// without a backend-protocol annotation, the Operator's expose, deck's /gate proxy) speak HTTP to it: the
/// UI went down without a warning. Gate now stays on plain HTTP by default, and a run over such an earlier
/// output converges to a fresh run: gate's server-side settings and its HTTPS probe are undone.
#[test]
fn gate_served_https_behind_http_front_doors() {
    let work = h::TempDir::new("gate-front-door");
    h::install_bom(work.path());
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"));
    let config = h::read_file(&h::root().join("examples/spinnaker-kustomize/spinnaker-krm.yaml"));
    let https = config.replace("    clientAuth: need\n", "    clientAuth: need\n    gateClientAuth: want\n");
    assert_ne!(config, https);
    let earlier = h::run_function(work.path(), &h::resource_list(&[&gate], &https)).success().stdout;
    assert!(earlier.contains("SERVER_SSL_ENABLED") && earlier.contains("scheme: HTTPS"), "{earlier}");
    let fresh = h::run_function(work.path(), &h::resource_list(&[&gate], &config)).success().stdout;
    assert!(!fresh.contains("SERVER_SSL_") && !fresh.contains("scheme: HTTPS"), "{fresh}");
    assert!(fresh.contains("OKHTTPCLIENT_KEYSTORE"), "{fresh}");
    let again = h::run_function(work.path(), &h::with_function_config(&earlier, &config)).success().stdout;
    assert_eq!(again, fresh);
}

// ---- A newcomer's path (issue 12): the README and the shipped examples, run as written ----

/// `render DIR` of the shipped example, parsed: every object, in output order.
fn rendered_example(example: &str) -> (h::Run, Vec<serde_yaml_ng::Value>) {
    let mut render = Command::new(h::binary());
    render.arg("render").arg(h::root().join(example)).env("SPINNAKER_KRM_KUSTOMIZE", h::kustomize());
    let out = h::run(&mut render, None).success();
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
                    14 object(s) generated, BOM examples/spinnaker-kustomize/bom/1.27.0.yml (1.27.0)\n";
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
    // The BOM is named from the repository root; the temporary directory is in no repository.
    assert_eq!(rerun.stderr, expected.replace("BOM examples/spinnaker-kustomize/", "BOM "));
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
    let pkg = kpt_package("flat-keel");
    let kpt = |args: &[&str]| h::kpt_eval_in(pkg.path(), ".", args);
    let out = kpt(&["--", "bom-version=1.27.0"]).failure();
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("extra-pins has no keel; add it to extra-pins (e.g. extra-pins=keel=<tag>)"), "{all}");
    assert!(!all.contains("spec.bom"), "{all}");
    kpt(&["--", "bom-version=1.27.0", "extra-pins=keel=0.1.0-20210331200022-slim"]).success();
    // Checks across keys named document fields too (`set mode to …, or mtls.enabled: false`).
    let out = kpt(&["--", "bom-version=1.27.0", "truststore-mode=none"]).failure();
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("set truststore-mode=init-container or trust-manager, or mtls-enabled=false")
            && !all.contains("spec.")
            && !all.contains("mtls.enabled"),
        "{all}"
    );
}

/// The example spinnaker-kustomize package (its files, and the BOM at its root) for the real kpt.
fn kpt_package(name: &str) -> h::TempDir {
    let pkg = h::TempDir::new(name);
    for entry in std::fs::read_dir(h::root().join("examples/spinnaker-kustomize")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            h::copy_file(&path, &pkg.path().join(path.file_name().unwrap()));
        }
    }
    h::install_bom(pkg.path());
    pkg
}

/// kpt sends a package's kustomization.yaml as an item, and kustomize lets it leave out apiVersion and kind:
/// such a package failed with "items[18] is not a Kubernetes object: apiVersion is missing".
#[test]
fn a_kpt_package_with_a_bare_kustomization_file_renders() {
    let pkg = kpt_package("bare-kustomization");
    let kustomization = "resources:\n- gate.yml\n";
    h::write_file(&pkg.path().join("kustomization.yaml"), kustomization);
    h::kpt_eval_with_config(pkg.path(), "spinnaker-krm.yaml").success();
    assert_eq!(h::read_file(&pkg.path().join("kustomization.yaml")), kustomization, "passed through as it was");
    assert!(h::read_file(&pkg.path().join("gate.yml")).contains(&h::pinned_image("gate")));
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
/// nothing on stdout or stderr. render now builds the kustomization as generate does; this one runs
/// spinnaker-krm itself, so render names the command that renders that route.
#[test]
fn render_of_a_directory_without_manifests_fails_with_one_line() {
    let out = h::run(
        Command::new(h::binary())
            .arg("render")
            .arg("examples/kustomize-route")
            .current_dir(h::root())
            .env("SPINNAKER_KRM_KUSTOMIZE", h::kustomize()),
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("spinnaker-krm: error: kustomize build failed: external plugins disabled"),
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

/// `spinnaker-krm verify FILE 2>&1 >/dev/null | head -c 20` exited 101: `eprintln!` panics when the reader of
/// stderr has gone (EPIPE). Every stderr line is now written best effort; the exit code still says how the
/// run went, and nothing panics.
#[test]
fn a_closed_stderr_is_no_panic() {
    let dir = h::TempDir::new("closed-stderr");
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"));
    let unprotected = dir.path().join("unprotected.yaml");
    h::write_file(&unprotected, &gate);
    for _ in 0..3 {
        let mut child = Command::new(h::binary())
            .arg("verify")
            .arg(&unprotected)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stderr.take()); // the reader is gone before the first line is written
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "verify of an unprotected stream: {status}");
    }
}

// ---- Convergence after a config change (issue 13): a re-render is a fresh render ----

/// Renders `items` with `old`, then that output with `new`, and checks it is what a fresh render of `items`
/// with `new` gives, byte for byte. Returns the fresh render.
fn converges(items: &[&str], old: &str, new: &str) -> String {
    let root = h::TempDir::new("regression-converge");
    h::install_bom(root.path());
    let earlier = h::run_function(root.path(), &h::resource_list(items, old)).success().stdout;
    let again = h::run_function(root.path(), &h::with_function_config(&earlier, new)).success().stdout;
    let fresh = h::run_function(root.path(), &h::resource_list(items, new)).success().stdout;
    if again != fresh {
        let (a, b) = (root.path().join("fresh.yaml"), root.path().join("again.yaml"));
        h::write_file(&a, &fresh);
        h::write_file(&b, &again);
        let diff = h::run(Command::new("diff").arg("-u").arg(&a).arg(&b), None).stdout;
        panic!("the re-render differs from a fresh render:\n{diff}\nthe earlier render was:\n{earlier}");
    }
    fresh
}

/// True when `lines` are consecutive lines of `text`, indentation aside.
fn follows(text: &str, lines: &[&str]) -> bool {
    let trimmed: Vec<&str> = text.lines().map(str::trim).collect();
    trimmed.windows(lines.len()).any(|w| w == lines)
}

const OFF_CONFIG: &str = "apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker
spec:
  bom:
    version: 1.27.0
  mtls:
    enabled: false
";

const SPINNAKER_SERVICE: &str = "apiVersion: spinnaker.io/v1alpha2
kind: SpinnakerService
metadata:
  name: spinnaker
spec:
  spinnakerConfig:
    config:
      version: 1.26.0
    profiles:
      clouddriver:
        server:
          port: 7002
    service-settings:
      clouddriver:
        scheme: http
        kubernetes:
          useTcpProbe: false
";

/// mTLS on then off left `server.ssl.enabled: true`, the key store and `scheme: https` in a SpinnakerService
/// (and the operator then rendered HTTPS probes): nothing recorded what a run had added to the profiles and
/// service settings. Now the annotation spinnaker-krm.dev/managed-settings does, and the user's own values
/// (`scheme: http`, `useTcpProbe: false`, `server.port`) come back.
#[test]
fn mtls_off_takes_back_a_spinnaker_services_profiles_scheme_and_tcp_probe() {
    let off = converges(&[SPINNAKER_SERVICE], FULL_CONFIG, OFF_CONFIG);
    assert!(!off.contains("ssl:") && !off.contains("ok-http-client") && !off.contains("scheme: https"), "{off}");
    assert!(follows(&off, &["scheme: http", "kubernetes:", "useTcpProbe: false"]), "{off}");
    assert!(follows(&off, &["clouddriver:", "server:", "port: 7002", "service-settings:"]), "{off}");
    let on = converges(&[SPINNAKER_SERVICE], OFF_CONFIG, FULL_CONFIG);
    assert!(on.contains("scheme: https") && on.contains("useTcpProbe: true"), "{on}");
}

/// need then want left `kubernetes.useTcpProbe: true` and the plain management port in a SpinnakerService.
#[test]
fn client_auth_want_after_need_takes_back_the_tcp_probe_and_management_port() {
    let want = format!("{FULL_CONFIG}  mtls: {{clientAuth: want}}\n");
    let out = converges(&[SPINNAKER_SERVICE], FULL_CONFIG, &want);
    assert!(out.contains("useTcpProbe: false\n") && !out.contains("8558"), "{out}");
    converges(&[SPINNAKER_SERVICE], &want, FULL_CONFIG);
}

/// After a config change our env and volumes stayed where the earlier run had put them, and new ones were
/// appended after them: trust-manager then init-container, or mTLS off then on, gave another order than a
/// fresh render. Our entries now go and come back after the user's, in the order a first run writes them.
#[test]
fn our_env_and_volumes_come_after_the_users_whatever_the_earlier_config() {
    let clouddriver = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/clouddriver/deployment.yml"));
    let trust_manager = format!("{FULL_CONFIG}  truststore: {{mode: trust-manager}}\n");
    converges(&[&clouddriver], &trust_manager, FULL_CONFIG);
    let truststore_only = format!("{FULL_CONFIG}  mtls: {{enabled: false}}\n");
    converges(&[&clouddriver], &truststore_only, FULL_CONFIG);
}

/// A service left out of `spec.services` after a run kept its truststore, key store, env and probes, while
/// its Certificate went: its pods would not start. Its injection is now taken back.
#[test]
fn a_service_left_out_of_services_gets_its_injection_taken_back() {
    let clouddriver = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/clouddriver/deployment.yml"));
    let front50 = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/front50/deployment.yml"));
    let some = format!("{FULL_CONFIG}  services: [front50]\n");
    let out = converges(&[&clouddriver, &front50], FULL_CONFIG, &some);
    let clouddriver_out = out.split("\n- apiVersion").find(|d| d.contains("name: clouddriver\n")).unwrap_or(&out);
    assert!(!clouddriver_out.contains("spinnaker-krm-") && !clouddriver_out.contains("SPINNAKER_KRM"), "{out}");
}

/// Restored probes came back with their keys sorted (the record was a JSON object written in key order), so
/// mTLS off after need gave `path` before `port` where the manifest had `port` first.
#[test]
fn restored_probes_keep_the_manifests_key_order() {
    let gate = clouddriver_with_env("        - {name: A, value: b}\n")
        + "        readinessProbe:\n          httpGet:\n            port: 7002\n            path: /health\n          periodSeconds: 5\n";
    let out = converges(&[&gate], FULL_CONFIG, OFF_CONFIG);
    assert!(follows(&out, &["httpGet:", "port: 7002", "path: /health", "periodSeconds: 5"]), "{out}");
}

/// An env var the user had set to the very value spinnaker-krm sets was listed as ours, and went when mTLS
/// was turned off.
#[test]
fn an_env_var_the_user_set_to_our_value_stays_when_mtls_goes_off() {
    let item = clouddriver_with_env("        - name: OKHTTPCLIENT_KEYSTORETYPE\n          value: PKCS12\n");
    let out = converges(&[&item], FULL_CONFIG, OFF_CONFIG);
    assert!(follows(&out, &["- name: OKHTTPCLIENT_KEYSTORETYPE", "value: PKCS12"]), "{out}");
}

/// Dropping an extra pin kept the extra pin's image (or, from an earlier render, the pin without the
/// manifest's variant): a pin started from the pinned image, not the manifest's. The images a pin changed
/// are now recorded in spinnaker-krm.dev/original-images and every run pins from them.
#[test]
fn dropping_an_extra_pin_gives_the_boms_tag_with_the_manifests_variant() {
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"))
        .replace("docker/gate:latest", "docker/gate:6.40.0-ubuntu");
    assert!(gate.contains("gate:6.40.0-ubuntu"), "{gate}");
    let pinned = format!("{FULL_CONFIG}    extraPins: {{gate: 6.99.0}}\n");
    let out = converges(&[&gate], &pinned, FULL_CONFIG);
    assert!(out.contains("docker/gate:6.54.1-ubuntu\n"), "{out}");
}

/// A run that generated the CA chain after one that did not listed it after the earlier run's Certificates,
/// not before them as a fresh render does; and a run that injected nothing left an earlier run's objects.
#[test]
fn generated_objects_are_listed_as_a_fresh_render_lists_them() {
    let clouddriver = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/clouddriver/deployment.yml"));
    let brought = format!("{FULL_CONFIG}  mtls: {{issuer: {{create: false}}}}\n");
    converges(&[&clouddriver], &brought, FULL_CONFIG);
    let nothing = format!("{FULL_CONFIG}    extraPins: {{keel: 0.1.0-20210331200022-slim}}\n  services: [keel]\n");
    let out = converges(&[&clouddriver], FULL_CONFIG, &nothing);
    assert!(!out.contains("kind: Certificate"), "{out}");
}

/// Pinning read spinnaker-krm's own init container (it runs the service's image) as the user's: a run whose
/// config cannot pin the service reported it twice, where a fresh run reports the service once.
#[test]
fn a_pin_error_after_a_run_names_the_users_containers_only() {
    let root = h::TempDir::new("regression-pin-error");
    h::install_bom(root.path());
    let keel = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/keel/deployment.yml"));
    let pinned = format!("{FULL_CONFIG}    extraPins: {{keel: 0.1.0-20210331200022-slim}}\n");
    let earlier = h::run_function(root.path(), &h::resource_list(&[&keel], &pinned)).success().stdout;
    let fresh = h::run_function(root.path(), &h::resource_list(&[&keel], FULL_CONFIG));
    let again = h::run_function(root.path(), &h::with_function_config(&earlier, FULL_CONFIG));
    assert!(!fresh.status.success() && !again.status.success());
    assert!(fresh.stderr.contains("keel is not pinned"), "{}", fresh.stderr);
    assert_eq!(again.stderr, fresh.stderr);
}

/// A probe the manifest already had as a run adapts it (`scheme: HTTPS`, under want) was still recorded as
/// an original to restore after an earlier run had changed it (under need), so the re-render carried an
/// original-probes annotation that a fresh render has not.
#[test]
fn a_probe_left_as_the_manifest_had_it_is_not_recorded() {
    let gate = h::read_file(&h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml"));
    let gate = gate.replace("            path: /health\n", "            path: /health\n            scheme: HTTPS\n");
    assert!(gate.contains("scheme: HTTPS"), "{gate}");
    let need = format!("{FULL_CONFIG}  mtls: {{gateClientAuth: need}}\n");
    let want = format!("{FULL_CONFIG}  mtls: {{gateListener: https}}\n");
    let out = converges(&[&gate], &need, &want);
    assert!(!out.contains("original-probes"), "{out}");
}

/// A Deployment labelled `app.kubernetes.io/managed-by: spinnaker-krm` (a kustomize `labels:` entry does
/// it to every object) was taken for an object an earlier run generated, and dropped from the output.
#[test]
fn a_users_object_with_our_managed_by_label_is_kept() {
    let labelled = clouddriver_with_env("        - name: A\n          value: b\n").replace(
        "  name: clouddriver\n",
        "  name: clouddriver\n  labels:\n    app.kubernetes.io/managed-by: spinnaker-krm\n",
    );
    let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n  labels:\n    app.kubernetes.io/managed-by: spinnaker-krm\ndata:\n  a: b\n";
    let out = transform_all_twice(&[&labelled, config_map]);
    assert_eq!(out.matches("\n  kind: Deployment\n").count(), 1, "{out}");
    assert_eq!(out.matches("\n  kind: ConfigMap\n").count(), 1, "{out}");
}

fn in_namespace(service: &str, namespace: &str, template_metadata: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {service}
  namespace: {namespace}
spec:
  template:
{template_metadata}    spec:
      containers:
      - name: {service}
        image: us-docker.pkg.dev/spinnaker-community/docker/{service}:latest
"
    )
}

/// The full config of an install in `namespace` with its own cluster-scoped names (issuer `<namespace>-ca`, CA
/// bundle ConfigMap `<namespace>-trust-bundle`), as README asks of two installs in one render; `spec` and
/// `truststore` are more lines of each.
fn own_names(namespace: &str, spec: &str, truststore: &str) -> String {
    FULL_CONFIG.replace(
        "spec:\n",
        &format!(
            "spec:\n  namespace: {namespace}\n{spec}  mtls:\n    issuer: {{name: {namespace}-ca}}\n  truststore:\n\
             {truststore}    caBundle: {{configMap: {namespace}-trust-bundle}}\n"
        ),
    )
}

/// The objects spinnaker-krm generated in an output, each as its text.
fn generated(output: &str) -> Vec<String> {
    output
        .split("\n- ")
        .filter(|i| i.contains("app.kubernetes.io/managed-by: spinnaker-krm"))
        .map(|i| i.trim_end().to_owned())
        .collect()
}

/// Every one of `objects` is in `output_items` as it was: `who` neither dropped nor changed it.
fn assert_keeps<T: AsRef<str>>(objects: &[T], output_items: &[String], who: &str, output: &str) {
    for object in objects.iter().map(AsRef::as_ref) {
        assert!(output_items.iter().any(|o| o == object), "{who} dropped or changed\n{object}\n--- output\n{output}");
    }
}

/// The first lines where two outputs part.
fn first_difference(a: &str, b: &str) -> String {
    let at = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
    let show = |text: &str| text.lines().skip(at.saturating_sub(6)).take(12).collect::<Vec<_>>().join("\n");
    format!("--- first\n{}\n--- second\n{}", show(a), show(b))
}

const LABELS: &str = "    metadata:\n      labels:\n        app: x\n";

/// Two installs in one render (two SpinnakerPlatform transformers, one per namespace): the second leaves the
/// first's workloads as the first left them, since a workload in another namespace is somebody else's. (A
/// take-back of earlier runs' changes on every workload outside the namespace, tried for kpt packages whose
/// `spec.namespace` changed, undid the first install here; it was dropped for this.)
#[test]
fn a_second_install_in_another_namespace_leaves_the_first_alone() {
    let config = |namespace: &str| {
        FULL_CONFIG.replace("spec:\n", &format!("spec:\n  namespace: {namespace}\n  mtls:\n    enabled: false\n"))
    };
    let root = h::TempDir::new("regression-two-installs");
    h::install_bom(root.path());
    let (clouddriver, front50) =
        (in_namespace("clouddriver", "prod", LABELS), in_namespace("front50", "staging", LABELS));
    let source = h::resource_list(&[&clouddriver, &front50], &config("prod"));
    let prod = h::run_function(root.path(), &source).success();
    let both = h::run_function(root.path(), &h::with_function_config(&prod.stdout, &config("staging"))).success();
    let clouddriver_of = |text: &str| text.split("\n- ").find(|i| i.contains("name: clouddriver\n")).map(str::to_owned);
    let (before, after) = (clouddriver_of(&prod.stdout), clouddriver_of(&both.stdout));
    assert!(before
        .as_deref()
        .is_some_and(|c| c.contains("clouddriver:5.74.3") && c.contains("spinnaker-krm-truststore")));
    assert!(
        before == after,
        "the second install changed the first's workload:\n{}",
        first_difference(before.as_deref().unwrap_or_default(), after.as_deref().unwrap_or_default())
    );
    assert!(both.stdout.contains("front50:2.23.3"), "the second install pins its own:\n{}", both.stdout);
}

/// The same with mTLS, each install with its own cluster-scoped names as README asks: the second install
/// dropped the first's Certificates and its CA chain and Bundle (an earlier run's generated objects were all
/// taken for its own, and what it did not generate again went). A generated object in another install's
/// namespace is that install's, and a cluster-scoped one (or one in the trust namespace) may be: either stays
/// unless this run generates it. The second install here selects only front50, so it would not take the
/// first's clouddriver for Spinnaker if it looked only at the services it selects.
#[test]
fn a_second_mtls_install_in_another_namespace_keeps_the_first_ones_objects() {
    let config = |namespace: &str, services: &str| own_names(namespace, &format!("  services: [{services}]\n"), "");
    let root = h::TempDir::new("regression-two-mtls-installs");
    h::install_bom(root.path());
    let (clouddriver, front50) =
        (in_namespace("clouddriver", "prod", LABELS), in_namespace("front50", "staging", LABELS));
    let source = h::resource_list(&[&clouddriver, &front50], &config("prod", ""));
    let prod = h::run_function(root.path(), &source).success();
    let staging = config("staging", "front50");
    let both = h::run_function(root.path(), &h::with_function_config(&prod.stdout, &staging)).success();
    let (first, after) = (generated(&prod.stdout), generated(&both.stdout));
    assert!(first.len() >= 4 && first.iter().any(|o| o.contains("secretName: clouddriver-mtls")), "{}", prod.stdout);
    assert_keeps(&first, &after, "the second install", &both.stdout);
    assert!(after.iter().any(|o| o.contains("secretName: front50-mtls")), "its own:\n{}", both.stdout);
    assert!(after.iter().any(|o| o.contains("name: staging-trust-bundle")), "its own:\n{}", both.stdout);
    let again = h::run_function(root.path(), &h::with_function_config(&both.stdout, &staging)).success();
    assert!(again.stdout == both.stdout, "not idempotent:\n{}", first_difference(&both.stdout, &again.stdout));
}

/// A SpinnakerService in another namespace than `spec.namespace` was injected anyway: its Certificates went into
/// its namespace, the Bundle put the CA bundle only into `spec.namespace`, and the operator's pods, which mount
/// that bundle in the SpinnakerService's namespace, could never start, from a render that exited 0. It is
/// somebody else's install, as a Deployment there is: with nothing of this install in the render, the run fails
/// and names the setting.
#[test]
fn a_spinnaker_service_outside_spec_namespace_is_refused_not_half_protected() {
    let service = SPINNAKER_SERVICE.replace("  name: spinnaker\n", "  name: spinnaker\n  namespace: prod\n");
    let root = h::TempDir::new("regression-operator-namespace");
    h::install_bom(root.path());
    let refused = h::run_function(root.path(), &h::resource_list(&[&service], FULL_CONFIG)).failure();
    assert!(
        refused.stderr.contains(
            "functionConfig spec.namespace: the SpinnakerService is in namespace prod but spec.namespace is spinnaker; \
             set spec.namespace to where Spinnaker runs, or move Spinnaker into namespace spinnaker (a kustomization's \
             `namespace:`, or kpt's set-namespace function)"
        ),
        "{}",
        refused.stderr
    );
    assert!(!refused.stdout.contains("kind: SpinnakerService"), "no partial output:\n{}", refused.stdout);
    let config = FULL_CONFIG.replace("spec:\n", "spec:\n  namespace: prod\n");
    let done = h::run_function(root.path(), &h::resource_list(&[&service], &config)).success();
    assert!(done.stdout.contains("kubernetes.io/metadata.name: prod\n"), "the Bundle serves prod:\n{}", done.stdout);
}

/// Two installs in one render, the first an operator install: the second (Deployments in staging) re-injected
/// the first's SpinnakerService with its own issuer and CA bundle, and, not counting it as another install,
/// dropped its Certificates.
#[test]
fn a_second_install_keeps_an_operator_install_in_another_namespace() {
    let config = |namespace: &str| own_names(namespace, "", "");
    let root = h::TempDir::new("regression-operator-and-deployments");
    h::install_bom(root.path());
    let service = SPINNAKER_SERVICE.replace("  name: spinnaker\n", "  name: spinnaker\n  namespace: prod\n");
    let front50 = in_namespace("front50", "staging", LABELS);
    let prod = h::run_function(root.path(), &h::resource_list(&[&service, &front50], &config("prod"))).success();
    let staging = config("staging");
    let both = h::run_function(root.path(), &h::with_function_config(&prod.stdout, &staging)).success();
    let items = |text: &str| -> Vec<String> { text.split("\n- ").map(|i| i.trim_end().to_owned()).collect() };
    let (first, after) = (items(&prod.stdout), items(&both.stdout));
    let operator_install: Vec<&String> = first
        .iter()
        .filter(|i| i.contains("kind: SpinnakerService") || i.contains("app.kubernetes.io/managed-by: spinnaker-krm"))
        .collect();
    assert!(operator_install.iter().any(|o| o.contains("secretName: clouddriver-mtls")), "{}", prod.stdout);
    assert_keeps(&operator_install, &after, "the second install", &both.stdout);
    assert!(after.iter().any(|o| o.contains("secretName: front50-mtls")), "its own:\n{}", both.stdout);
    let again = h::run_function(root.path(), &h::with_function_config(&both.stdout, &staging)).success();
    assert!(again.stdout == both.stdout, "not idempotent:\n{}", first_difference(&both.stdout, &again.stdout));
}

/// Two installs in one cluster share its trust namespace (cert-manager's cluster resource namespace), and it may
/// be one install's own namespace. The first install's CA Certificate lives there; the second took it for its own
/// leftover (an earlier generated object in its namespace) and dropped it, and the first install's CA issuer was
/// left without a CA. The first install rendered again over both keeps the second's objects too.
#[test]
fn a_second_install_keeps_the_firsts_ca_in_the_shared_trust_namespace() {
    let config = |namespace: &str| own_names(namespace, "", "    trustNamespace: spinnaker\n");
    let root = h::TempDir::new("regression-shared-trust-namespace");
    h::install_bom(root.path());
    let (clouddriver, front50) =
        (in_namespace("clouddriver", "prod", LABELS), in_namespace("front50", "spinnaker", LABELS));
    let prod = h::run_function(root.path(), &h::resource_list(&[&clouddriver, &front50], &config("prod"))).success();
    let both = h::run_function(root.path(), &h::with_function_config(&prod.stdout, &config("spinnaker"))).success();
    let (first, after) = (generated(&prod.stdout), generated(&both.stdout));
    let ca = |objects: &[String], name: &str| {
        objects.iter().any(|o| o.contains("isCA: true") && o.contains(&format!("  name: {name}\n")))
    };
    assert!(ca(&first, "prod-ca") && first.iter().any(|o| o.contains("namespace: spinnaker\n")), "{}", prod.stdout);
    assert_keeps(&first, &after, "the second install", &both.stdout);
    assert!(ca(&after, "spinnaker-ca"), "its own CA:\n{}", both.stdout);
    let prod_again = h::run_function(root.path(), &h::with_function_config(&both.stdout, &config("prod"))).success();
    let again = generated(&prod_again.stdout);
    assert_keeps(&after, &again, "the first install rendered again", &prod_again.stdout);
}

/// Two installs that leave the cluster-scoped names at their defaults share one Bundle: the second rewrote its
/// target to its own namespace, and the first install's pods lost their CA bundle without a word. It is an
/// error naming the Bundle, this install and the setting to change.
#[test]
fn a_second_install_that_shares_the_first_ones_bundle_is_refused() {
    let config = |namespace: &str| FULL_CONFIG.replace("spec:\n", &format!("spec:\n  namespace: {namespace}\n"));
    let root = h::TempDir::new("regression-shared-bundle");
    h::install_bom(root.path());
    let (clouddriver, front50) =
        (in_namespace("clouddriver", "prod", LABELS), in_namespace("front50", "staging", LABELS));
    let prod = h::run_function(root.path(), &h::resource_list(&[&clouddriver, &front50], &config("prod"))).success();
    let both = h::run_function(root.path(), &h::with_function_config(&prod.stdout, &config("staging")));
    let refused = both.failure();
    assert!(
        refused.stderr.contains("distributes the CA to namespace prod, another install's in this render")
            && refused.stderr.contains(
                "give this install (spec.namespace staging) its own functionConfig spec.truststore.caBundle.configMap",
            ),
        "{}",
        refused.stderr
    );
    assert!(!refused.stdout.contains("kind: Deployment"), "no partial output:\n{}", refused.stdout);
}

/// keel.sh (a Deployment named keel running `keelhq/keel`) in its own namespace looks like Spinnaker's keel but
/// no spinnaker-krm run changed it: it is no other install, so a config change takes back this install's
/// cluster-scoped objects as a fresh render would not have them. Counting any Spinnaker-looking workload
/// outside the namespace as an install kept the CA chain and Bundle after mTLS was turned off.
#[test]
fn a_lookalike_workload_in_another_namespace_is_no_other_install() {
    let keel_sh =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: keel\n  namespace: keel\nspec:\n  template:\n    \
                   spec:\n      containers:\n      - name: keel\n        image: keelhq/keel:0.19.1\n";
    let clouddriver = in_namespace("clouddriver", "spinnaker", LABELS);
    let off = FULL_CONFIG.replace("spec:\n", "spec:\n  mtls:\n    enabled: false\n");
    let root = h::TempDir::new("regression-lookalike");
    h::install_bom(root.path());
    let source = h::resource_list(&[&clouddriver, keel_sh], FULL_CONFIG);
    let on = h::run_function(root.path(), &source).success();
    assert!(on.stdout.contains("kind: Bundle"), "{}", on.stdout);
    let rerender = h::run_function(root.path(), &h::with_function_config(&on.stdout, &off)).success();
    let fresh = h::run_function(root.path(), &h::resource_list(&[&clouddriver, keel_sh], &off)).success();
    assert!(!rerender.stdout.contains("kind: Bundle"), "the CA chain stayed:\n{}", rerender.stdout);
    assert!(
        !rerender.stdout.contains("managed-by: spinnaker-krm") && !fresh.stdout.contains("managed-by: spinnaker-krm"),
        "{}",
        first_difference(&fresh.stdout, &rerender.stdout)
    );
}

/// A rendered workload whose image was changed afterwards (a `set image` step) while the record of the
/// original image stayed: the run puts the recorded image back, pins it, and must inject as for that image.
/// Reusing the service identified before the record was applied left it pinned but not injected, and the
/// next run injected it (not idempotent).
#[test]
fn a_workload_whose_pinned_image_was_edited_is_injected_as_its_recorded_image() {
    let root = h::TempDir::new("regression-edited-image");
    h::install_bom(root.path());
    let clouddriver = in_namespace("clouddriver", "spinnaker", LABELS);
    let first = h::run_function(root.path(), &h::resource_list(&[&clouddriver], FULL_CONFIG)).success();
    let edited = first.stdout.replacen(
        "image: us-docker.pkg.dev/spinnaker-community/docker/clouddriver:5.74.3",
        "image: nginx:1.25",
        1,
    );
    assert_ne!(edited, first.stdout);
    let second = h::run_function(root.path(), &h::with_function_config(&edited, FULL_CONFIG)).success();
    let third = h::run_function(root.path(), &h::with_function_config(&second.stdout, FULL_CONFIG)).success();
    assert!(third.stdout == second.stdout, "not idempotent:\n{}", first_difference(&second.stdout, &third.stdout));
    assert!(second.stdout.contains("SERVER_SSL_ENABLED"), "not injected:\n{}", second.stdout);
}
