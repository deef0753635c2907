//! Convergence after a config change (issue 13): for every input `x` and every pair of configs,
//! `render(new, render(old, x))` is `render(new, x)` byte for byte, and when `render(new, x)` fails the
//! re-render fails with the same message. Everything spinnaker-krm adds is recorded as its own and goes,
//! or goes back to what the user wrote, when the config no longer asks for it.
//!
//! The inputs are the golden cases' (spinnaker-kustomize, Halyard `spin-*` Deployments, the SpinnakerService
//! examples); the configs are drawn from every setting that changes what the transform writes. The
//! property runs the library (what the binary runs between reading and writing the ResourceList); the
//! named transitions below are the issue's, written out.

use functions::bom::Bom;
use functions::config::SpinnakerPlatform;
use functions::krm::{self, ResourceList};
use functions::transform::{self, Context};
use functions::yaml::{self, Limits, Node};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

const BOM_1_27_0: &str = include_str!("../../tests/fixtures/bom/1.27.0.yml");

/// The golden inputs that hold Spinnaker targets, by case name.
const INPUTS: &[(&str, &str)] = &[
    ("mtls-spinnaker-kustomize", include_str!("../../tests/golden/mtls-spinnaker-kustomize/input.yaml")),
    ("mtls-halyard-spin-deployments", include_str!("../../tests/golden/mtls-halyard-spin-deployments/input.yaml")),
    ("mtls-seed-spinnakerservice", include_str!("../../tests/golden/mtls-seed-spinnakerservice/input.yaml")),
    ("mtls-client-auth-want", include_str!("../../tests/golden/mtls-client-auth-want/input.yaml")),
    ("pin-spinnakerservice-basic", include_str!("../../tests/golden/pin-spinnakerservice-basic/input.yaml")),
    ("pin-spinnakerservice-complete", include_str!("../../tests/golden/pin-spinnakerservice-complete/input.yaml")),
    ("pin-spinnakerservice-profiles", include_str!("../../tests/golden/pin-spinnakerservice-profiles/input.yaml")),
    ("pin-spinnaker-kustomize", include_str!("../../tests/golden/pin-spinnaker-kustomize/input.yaml")),
    ("pin-kustomization-base", include_str!("../../tests/golden/pin-kustomization-base/input.yaml")),
    ("truststore-trust-manager", include_str!("../../tests/golden/truststore-trust-manager/input.yaml")),
    (
        "truststore-user-init-container-and-java-opts",
        include_str!("../../tests/golden/truststore-user-init-container-and-java-opts/input.yaml"),
    ),
    (
        "images-variants-and-service-ports",
        include_str!("../../tests/golden/images-variants-and-service-ports/input.yaml"),
    ),
];

/// A kpt package that names no namespace: its workloads follow `spec.namespace`, so it is the input a change of
/// namespace is drawn for (a workload that names another namespace is somebody else's and is never touched, so a
/// run after a namespace change leaves what an earlier run did to it; see `tests/regression.rs`). One pod
/// template has no metadata, and a Job is pinned only.
const PACKAGE_WITHOUT_NAMESPACES: &str = "apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: clouddriver
  spec:
    template:
      spec:
        containers:
        - name: clouddriver
          image: us-docker.pkg.dev/spinnaker-community/docker/clouddriver:latest
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: front50
  spec:
    template:
      metadata:
        labels:
          app: front50
      spec:
        containers:
        - name: front50
          image: us-docker.pkg.dev/spinnaker-community/docker/front50:latest
- apiVersion: batch/v1
  kind: Job
  metadata:
    name: bake
  spec:
    template:
      spec:
        containers:
        - name: rosco
          image: us-docker.pkg.dev/spinnaker-community/docker/rosco:latest
";

/// One config: every setting that changes what the transform writes.
#[derive(Clone, Debug)]
struct Config {
    /// `spec.namespace`: drawn only for [`PACKAGE_WITHOUT_NAMESPACES`] (the golden inputs name theirs).
    namespace: &'static str,
    mtls: bool,
    client_auth: &'static str,
    gate_listener: Option<&'static str>,
    gate_client_auth: Option<&'static str>,
    truststore: &'static str,
    services: Vec<&'static str>,
    pkcs12_profile: Option<&'static str>,
    issuer_create: bool,
    default_cacerts: Option<&'static str>,
    cacerts_per_service: Option<(&'static str, &'static str)>,
    extra_pins: Vec<(&'static str, &'static str)>,
    ca_bundle: &'static str,
}

impl Config {
    fn text(&self) -> String {
        let mut t = String::from(
            "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: spinnaker}\nspec:\n",
        );
        t.push_str(&format!("  namespace: {}\n  bom:\n    version: 1.27.0\n", self.namespace));
        if !self.extra_pins.is_empty() {
            t.push_str("    extraPins:\n");
            for (service, tag) in &self.extra_pins {
                t.push_str(&format!("      {service}: {tag}\n"));
            }
        }
        t.push_str(&format!(
            "  truststore:\n    mode: {}\n    caBundle: {{configMap: {}, key: mtls-cacerts}}\n",
            self.truststore, self.ca_bundle
        ));
        if let Some(path) = self.default_cacerts {
            t.push_str(&format!("    defaultCacerts: {path}\n"));
        }
        if let Some((service, path)) = self.cacerts_per_service {
            t.push_str(&format!("    defaultCacertsPerService: {{{service}: {path}}}\n"));
        }
        t.push_str(&format!(
            "  mtls:\n    enabled: {}\n    clientAuth: {}\n    issuer: {{create: {}}}\n",
            self.mtls, self.client_auth, self.issuer_create
        ));
        if let Some(listener) = self.gate_listener {
            t.push_str(&format!("    gateListener: {listener}\n"));
        }
        if let Some(auth) = self.gate_client_auth {
            t.push_str(&format!("    gateClientAuth: {auth}\n"));
        }
        if let Some(profile) = self.pkcs12_profile {
            t.push_str(&format!("    pkcs12Profile: {profile}\n"));
        }
        if !self.services.is_empty() {
            t.push_str(&format!("  services: [{}]\n", self.services.join(", ")));
        }
        t
    }
}

/// The config that the golden cases' own default is: mTLS on, need, init-container, the CA chain created.
fn base() -> Config {
    Config {
        namespace: "spinnaker",
        mtls: true,
        client_auth: "need",
        gate_listener: None,
        gate_client_auth: None,
        truststore: "init-container",
        services: Vec::new(),
        pkcs12_profile: None,
        issuer_create: true,
        default_cacerts: None,
        cacerts_per_service: None,
        extra_pins: vec![("keel", "0.1.0-20210331200022-slim")],
        ca_bundle: "spinnaker-cert-trust-bundle",
    }
}

fn config() -> impl Strategy<Value = Config> {
    let services = prop_oneof![
        3 => Just(Vec::new()),
        2 => prop::sample::subsequence(
            vec!["gate", "clouddriver", "front50", "orca", "echo", "deck", "igor", "fiat", "keel", "rosco"],
            1..4,
        ),
    ];
    (
        (any::<bool>(), prop::sample::select(vec!["need", "want"]), Just("spinnaker")),
        (
            prop::option::of(prop::sample::select(vec!["http", "https"])),
            prop::option::of(prop::sample::select(vec!["need", "want"])),
        ),
        prop::sample::select(vec!["init-container", "init-container", "trust-manager", "none"]),
        services,
        prop::option::weighted(0.2, prop::sample::select(vec!["LegacyDES", "LegacyRC2", "Modern2023"])),
        any::<bool>(),
        (
            prop::option::weighted(0.3, Just("/etc/ssl/certs/java/cacerts")),
            prop::option::weighted(
                0.3,
                prop::sample::select(vec![("echo", "/opt/java/cacerts"), ("gate", "/x/cacerts")]),
            ),
        ),
        prop::sample::select(vec![
            vec![("keel", "0.1.0-20210331200022-slim")],
            vec![("keel", "0.1.0-20210331200022-slim"), ("gate", "6.99.0")],
            vec![("keel", "0.2.0-20220101000000-slim"), ("orca", "8.0.0-ubuntu")],
            vec![],
        ]),
        prop::sample::select(vec!["spinnaker-cert-trust-bundle", "private-ca"]),
    )
        .prop_map(
            |(
                (mtls, client_auth, namespace),
                (gate_listener, gate_client_auth),
                truststore,
                services,
                pkcs12_profile,
                issuer_create,
                (default_cacerts, cacerts_per_service),
                extra_pins,
                ca_bundle,
            )| Config {
                namespace,
                mtls,
                client_auth,
                gate_listener,
                gate_client_auth,
                truststore,
                services,
                pkcs12_profile,
                issuer_create,
                default_cacerts,
                cacerts_per_service,
                extra_pins,
                ca_bundle,
            },
        )
}

/// The config read and validated, or its error (an invalid config fails the same way on any input).
fn load(config: &Config) -> Result<SpinnakerPlatform, String> {
    let text = config.text();
    let docs = yaml::parse_stream(&text, Limits::default()).expect("the generated config is YAML");
    SpinnakerPlatform::from_function_config(&docs[0]).map_err(|e| e.to_string())
}

fn items_of(input: &str) -> Vec<Node> {
    ResourceList::parse(input.as_bytes(), "input.yaml").expect("golden input").items
}

/// One render: the items as the binary writes them, or the transform's error.
fn render(items: &[Node], config: &Config) -> Result<String, String> {
    let platform = load(config)?;
    let bom = Bom::parse(BOM_1_27_0, "bom/1.27.0.yml").expect("BOM 1.27.0");
    let mut items = items.to_vec();
    transform::apply(&mut items, &Context { config: &platform, bom: &bom }).map_err(|e| format!("{e}"))?;
    Ok(krm::manifests_to_yaml(&items))
}

/// `render(new, render(old, x)) == render(new, x)`; Err describes the divergence. A failing `old` has no
/// output to re-render and is skipped.
fn converges(input: &str, old: &Config, new: &Config) -> Result<(), String> {
    let x = items_of(input);
    let Ok(rendered) = render(&x, old) else { return Ok(()) };
    let again = krm::parse_manifests(rendered.as_bytes(), "rendered").map_err(|e| e.to_string())?;
    let fresh = render(&x, new);
    let rerendered = render(&again, new);
    if rerendered == fresh {
        return Ok(());
    }
    Err(match (&fresh, &rerendered) {
        (Ok(fresh), Ok(rerendered)) => {
            format!("re-render differs from a fresh render:\n{}", first_difference(fresh, rerendered))
        }
        (fresh, rerendered) => format!("fresh: {fresh:?}\nre-render: {rerendered:?}"),
    })
}

/// The first lines where two outputs part, with a little context.
fn first_difference(fresh: &str, rerendered: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (fresh.lines().collect(), rerendered.lines().collect());
    let at = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(12);
    format!(
        "--- fresh (line {})\n{}\n--- re-render\n{}",
        at + 1,
        a[from..(at + 6).min(a.len())].join("\n"),
        b[from..(at + 6).min(b.len())].join("\n")
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        rng_seed: RngSeed::Fixed(0xC0_4E_26_E5_13),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_re_render_with_another_config_is_a_fresh_render(
        input in prop::sample::select(INPUTS.to_vec()),
        old in config(),
        new in config(),
    ) {
        if let Err(divergence) = converges(input.1, &old, &new) {
            prop_assert!(false, "{}: {}\n--- old config\n{}--- new config\n{}", input.0, divergence, old.text(), new.text());
        }
    }
}

fn config_in_any_namespace() -> impl Strategy<Value = Config> {
    (config(), prop::sample::select(vec!["spinnaker", "spin", "ci"]))
        .prop_map(|(config, namespace)| Config { namespace, ..config })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(0xC0_4E_26_E5_14),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_package_without_namespaces_follows_a_change_of_namespace(
        old in config_in_any_namespace(),
        new in config_in_any_namespace(),
    ) {
        if let Err(divergence) = converges(PACKAGE_WITHOUT_NAMESPACES, &old, &new) {
            prop_assert!(false, "{}\n--- old config\n{}--- new config\n{}", divergence, old.text(), new.text());
        }
    }
}

/// Every golden input through one transition.
fn transition(old: Config, new: Config) {
    for (name, input) in INPUTS {
        if let Err(divergence) = converges(input, &old, &new) {
            panic!("{name}: {divergence}\n--- old config\n{}--- new config\n{}", old.text(), new.text());
        }
    }
}

#[test]
fn mtls_on_then_off() {
    transition(base(), Config { mtls: false, ..base() });
}

#[test]
fn mtls_off_then_on() {
    transition(Config { mtls: false, ..base() }, base());
}

#[test]
fn client_auth_need_then_want() {
    transition(base(), Config { client_auth: "want", ..base() });
}

#[test]
fn client_auth_want_then_need() {
    transition(Config { client_auth: "want", ..base() }, base());
}

#[test]
fn trust_manager_then_init_container() {
    transition(Config { truststore: "trust-manager", ..base() }, base());
}

#[test]
fn init_container_then_trust_manager() {
    transition(base(), Config { truststore: "trust-manager", ..base() });
}

#[test]
fn gate_https_then_http() {
    transition(Config { gate_listener: Some("https"), gate_client_auth: Some("need"), ..base() }, base());
}

#[test]
fn gate_http_then_https() {
    transition(base(), Config { gate_listener: Some("https"), ..base() });
}

#[test]
fn every_service_then_a_few() {
    transition(base(), Config { services: vec!["clouddriver", "gate"], ..base() });
}

#[test]
fn truststore_then_none() {
    transition(Config { mtls: false, ..base() }, Config { mtls: false, truststore: "none", ..base() });
}

#[test]
fn issuer_created_then_brought() {
    transition(base(), Config { issuer_create: false, ..base() });
}

#[test]
fn default_cacerts_set_then_unset() {
    transition(
        Config {
            default_cacerts: Some("/etc/ssl/certs/java/cacerts"),
            cacerts_per_service: Some(("echo", "/opt/java/cacerts")),
            ..base()
        },
        base(),
    );
}

#[test]
fn an_extra_pin_then_none() {
    transition(
        Config { extra_pins: vec![("keel", "0.1.0-20210331200022-slim"), ("gate", "6.99.0")], ..base() },
        base(),
    );
}

#[test]
fn an_invalid_new_config_fails_the_same_way_on_a_rendered_input() {
    let invalid = Config { truststore: "none", ..base() };
    assert!(load(&invalid).is_err());
    transition(base(), invalid);
}
