//! Properties of the library under generated input (proptest, fixed seed, so every run checks the same
//! cases; a failure prints its shrunk input, which then becomes a regression test below):
//!
//! * reading any bytes or YAML-ish text never panics, and what reads back means the same after a write;
//! * any string written as a new scalar reads back as the same string;
//! * over generated manifests (Spinnaker workloads, SpinnakerServices, ConfigMaps, Secrets, unknown kinds)
//!   and configs, the transform is deterministic and idempotent byte for byte, keeps every item, leaves
//!   non-targets byte-identical, and changes targets only at the paths it owns.

use functions::bom::Bom;
use functions::config::SpinnakerPlatform;
use functions::krm::{self, ResourceList, ResourceRef};
use functions::service::{identify, Service};
use functions::transform::{self, Context, HASH_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL, MANAGED_ENV_ANNOTATION};
use functions::yaml::{self, Limits, Mapping, Node, Sequence, View};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

const BOM_1_27_0: &str = include_str!("../../tests/fixtures/bom/1.27.0.yml");

/// Fixed seed, no regression files written into the tree: a failure is shrunk and printed, and the
/// minimal input is added as a test at the end of this file.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x5EED_C0FF_EE15_2025),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------------------------------------
// Strings

/// Words and fragments that YAML 1.1 or 1.2 readers, or the YAML syntax, treat specially.
#[rustfmt::skip]
const TRAPS: &[&str] = &[
    "", " ", "  ", "yes", "No", "on", "OFF", "y", "n", "~", "null", "NULL", "true", "False", "0755",
    "012", "0o17", "0x1F", "0b101", "1e3", "1E-3", "+1", "-0", "1_000", "1:20", "1:20:30.5", ".inf", "-.Inf", ".NaN",
    "1.10", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "<<", "=", "a: b", "a:b", "a #b", "#c", "- x", "-", "? x",
    "?", ":", "&a", "*a", "!tag", "!!str", "|", ">", "'q'", "\"dq\"", "%x", "@x", "`x", "{a}", "[a]", ",", "---",
    "...", "--- x", "a\nb", "a\n", "\n", "\n\n", "a\n\n", " a", "a ", "\ta", "a\t", "a\u{0}b", "\u{7}", "\u{1b}[0m",
    "\u{85}", "\u{a0}", "\u{feff}x", "\u{2028}", "\u{2029}", "\u{fffe}", "\u{ffff}", "é", "日本語", "😀", "\r", "\r\n",
    "a\rb", "\\", "\\n", "'", "\"", "''", "a'b", "a\"b", "\"a", "'a", "#", " #", "a\n b", "a\n  b\n", " \n", "\n ",
    "x\u{0}", "$(id)", "${X}", "%", "%YAML 1.2",
];

fn trap() -> impl Strategy<Value = String> {
    proptest::sample::select(TRAPS).prop_map(str::to_owned)
}

/// Scalars a manifest may hold: traps, arbitrary unicode (control characters included), printable ASCII
/// with line breaks, and traps glued to other text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => trap(),
        2 => any::<String>(),
        2 => "[ -~\n\t]{0,16}",
        1 => (trap(), "[ -~]{0,4}", trap()).prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
}

/// Text for a mapping key (line breaks included: a key is written on one line, double-quoted).
fn one_line_text() -> impl Strategy<Value = String> {
    text()
}

fn words() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}"
}

// ------------------------------------------------------------------------------------------------
// (a) reading never panics

/// YAML-ish text: tokens that exercise indentation, flow, anchors, tags, block scalars and documents.
fn yamlish() -> impl Strategy<Value = String> {
    #[rustfmt::skip]
    const TOKENS: &[&str] = &[
        "- ", ": ", "? ", "{", "}", "[", "]", ", ", "&a ", "*a", "&b ", "*b", "!!str ", "!t ", "!!binary ", "|\n",
        "|-\n", ">+\n", ">2\n", "\n", "\n  ", "\n    ", "  ", "'", "\"", "# c\n", "---\n", "...\n", "%YAML 1.2\n",
        "\t", "key", "x", "0755", "yes", "~", "\\", "\\x41", "\u{feff}", "é", "<<: ", "apiVersion: v1\n",
        "kind: ConfigMap\n", "kind: ResourceList\n", "apiVersion: config.kubernetes.io/v1\n", "items:\n",
        "metadata:\n  name: x\n", "functionConfig:\n",
    ];
    prop::collection::vec(proptest::sample::select(TOKENS), 0..80).prop_map(|t| t.concat())
}

/// What a document means to a YAML 1.1 reader, tags included (a tagged scalar keeps its tag); keys are
/// resolved like values (`~` and an empty key are both null; `yes` and `"yes"` differ).
fn meaning(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node.view() {
        View::Scalar(s) => match s.tag() {
            Some(tag) => Value::String(format!("{tag} {}", s.value())),
            None => node.to_json(),
        },
        View::Mapping(m) => Value::Array(
            std::iter::once(Value::String(m.tag().unwrap_or_default().to_owned()))
                .chain(m.iter().map(|(k, v)| Value::Array(vec![meaning(&Node::Scalar(k.clone())), meaning(v)])))
                .collect(),
        ),
        View::Sequence(s) => Value::Array(
            std::iter::once(Value::String(format!("seq {}", s.tag().unwrap_or_default())))
                .chain(s.iter().map(meaning))
                .collect(),
        ),
    }
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn any_bytes_are_read_or_refused_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ResourceList::parse(&bytes, "stdin");
        let _ = krm::parse_manifests(&bytes, "stdin");
    }

    #[test]
    fn yamlish_text_is_read_or_refused_without_panicking_and_keeps_its_meaning(text in yamlish()) {
        let _ = ResourceList::parse(text.as_bytes(), "stdin");
        let _ = krm::parse_manifests(text.as_bytes(), "stdin");
        if let Ok(docs) = yaml::parse_stream(&text, Limits::default()) {
            for doc in &docs {
                let written = yaml::to_string(doc);
                let again = yaml::parse_stream(&written, Limits::default())
                    .unwrap_or_else(|e| panic!("our own output does not read back: {e}\n{written}"));
                prop_assert_eq!(again.len(), 1, "one document in, one out:\n{}", written);
                prop_assert_eq!(meaning(&again[0]), meaning(doc), "meaning changed:\n{}", written);
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// (b) any string written as a new scalar reads back as itself

fn config_map_with(key: &str, value: &str) -> Node {
    let mut data = Mapping::new();
    data.insert("value", Node::string(value));
    data.insert(key, Node::string("key"));
    let mut m = Mapping::new();
    m.insert_str("apiVersion", "v1");
    m.insert_str("kind", "ConfigMap");
    m.insert("metadata", [("name", Node::string("x"))].into_iter().collect::<Mapping>().into());
    m.insert("data", data.into());
    m.into()
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn new_strings_read_back_as_themselves(value in text(), key in one_line_text()) {
        prop_assume!(key != "value");
        let written = krm::manifests_to_yaml(&[config_map_with(&key, &value)]);
        let items = krm::parse_manifests(written.as_bytes(), "x.yaml")
            .unwrap_or_else(|e| panic!("{e}\n{written}"));
        prop_assert_eq!(items.len(), 1);
        // YAML 1.1 readers refuse raw control characters and break lines at NEL, LS and PS: never written raw.
        let raw = written.chars().find(|c| !matches!(c, '\t' | '\n' | ' '..='~' | '\u{a0}'..='\u{2027}' | '\u{202a}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..));
        prop_assert_eq!(raw, None, "written raw:\n{}", written);
        let data = items[0].path(&["data"]).and_then(Node::as_mapping).expect("data");
        prop_assert_eq!(data.get("value").and_then(Node::as_str), Some(value.as_str()), "written as:\n{}", written);
        prop_assert!(data.get(&key).is_some(), "key {:?} written as:\n{}", key, written);
    }
}

/// Keys as people write them: words YAML 1.1 reads as bools, nulls or numbers, in every style.
fn key_text() -> impl Strategy<Value = String> {
    #[rustfmt::skip]
    const KEYS: &[&str] = &[
        "yes", "Yes", "YES", "y", "true", "True", "on", "ON", "no", "false", "off", "n", "~", "null", "Null", "",
        "010", "8", "0x8", "0o10", "1_0", "10", "1.0", "1e1", "a", "A", "<<", "=",
    ];
    (proptest::sample::select(KEYS), 0..3usize).prop_map(|(key, style)| match style {
        0 => key.to_owned(),
        1 => format!("'{key}'"),
        _ => format!("\"{key}\""),
    })
}

/// What a key written as `text` means to YAML 1.1 (the meaning a value written the same way has).
fn key_meaning(text: &str) -> serde_json::Value {
    let doc = yaml::parse_stream(&format!("- {text}\n"), Limits::default()).expect("one scalar");
    doc[0].as_sequence().and_then(|s| s.get(0)).map(Node::to_json).expect("an item")
}

proptest! {
    #![proptest_config(config(1024))]

    /// Two keys are duplicates exactly when YAML 1.1 reads them as the same value (`yes`/`true`, `~`/`null`,
    /// `010`/`8`), whatever their spelling and style.
    #[test]
    fn duplicate_keys_are_the_keys_yaml_1_1_reads_as_equal(a in key_text(), b in key_text(), filler in 0..12usize) {
        prop_assume!(!a.trim_matches(['\'', '"']).is_empty() || a.len() > 1);
        let others: String = (0..filler).map(|i| format!("k{i}: v\n")).collect();
        let text = format!("{a}: 1\n{others}{b}: 2\n");
        let merge = |k: &str| k == "<<";
        prop_assume!(!merge(&a) && !merge(&b));
        let same = key_meaning(&a) == key_meaning(&b);
        match yaml::parse_stream(&text, Limits::default()) {
            Ok(_) => prop_assert!(!same, "{} and {} mean the same, not refused:\n{}", a, b, text),
            Err(e) => prop_assert!(same && e.message.contains("duplicate key"), "{}:\n{}", e, text),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// (c) the transform over generated manifests

fn s(v: &str) -> Node {
    Node::string(v)
}

fn map(entries: Vec<(String, Node)>) -> Node {
    let mut m = Mapping::new();
    for (k, v) in entries {
        m.insert(&k, v);
    }
    m.into()
}

fn seq(items: Vec<Node>) -> Node {
    Node::Sequence(items.into_iter().collect::<Sequence>())
}

/// A plain `~`.
fn null() -> Node {
    yaml::parse_stream("~", Limits::default()).expect("null").remove(0)
}

fn kv(k: &str, v: Node) -> (String, Node) {
    (k.to_owned(), v)
}

/// Entries with distinct names (kept first), so lists keyed by name stay keyed.
fn distinct<T>(items: Vec<(String, T)>) -> Vec<(String, T)> {
    let mut seen = std::collections::HashSet::new();
    items.into_iter().filter(|(name, _)| seen.insert(name.clone())).collect()
}

fn service() -> impl Strategy<Value = Service> {
    proptest::sample::select(Service::ALL.to_vec())
}

fn image_of(svc: Service) -> impl Strategy<Value = String> {
    let registry = proptest::sample::select(vec![
        "us-docker.pkg.dev/spinnaker-community/docker/",
        "gcr.io/spinnaker-marketplace/",
        "localhost:5000/spin/",
        "",
    ]);
    let tag = proptest::sample::select(vec![":latest", ":1.0.0", ":spinnaker-master-latest-validated", ""]);
    (registry, tag).prop_map(move |(r, t)| format!("{r}{}{t}", svc.name()))
}

fn annotations() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop_oneof![
                3 => "[a-z][a-z0-9./-]{0,12}",
                1 => trap().prop_map(|t| t.replace(['\n', '\r'], " ")),
                1 => Just(HASH_ANNOTATION.to_owned()),
            ],
            text(),
        ),
        0..3,
    )
}

fn annotation_map(pairs: Vec<(String, String)>) -> Node {
    map(distinct(pairs).into_iter().map(|(k, v)| (k, s(&v))).collect())
}

fn probe() -> impl Strategy<Value = Option<Node>> {
    prop_oneof![
        Just(None),
        Just(Some(map(vec![kv("httpGet", map(vec![kv("path", s("/health")), kv("port", s("http"))]))]))),
        (1u16..9000).prop_map(|p| Some(map(vec![
            kv("httpGet", map(vec![kv("path", s("/health")), kv("port", Node::int(i64::from(p)))])),
            kv("periodSeconds", Node::int(10)),
        ]))),
        Just(Some(map(vec![kv("exec", map(vec![kv("command", seq(vec![s("wget"), s("localhost")]))]))]))),
        Just(Some(map(vec![kv("tcpSocket", map(vec![kv("port", Node::int(8080))]))]))),
    ]
}

const ENV_NAMES: &[&str] = &["JAVA_OPTS", "SPRING_PROFILES_ACTIVE", "SERVER_SSL_ENABLED", "GATE_OPTS", "HOME"];

fn env() -> impl Strategy<Value = Vec<Node>> {
    prop::collection::vec(
        (prop_oneof![proptest::sample::select(ENV_NAMES).prop_map(str::to_owned), "[A-Z][A-Z0-9_]{0,8}"], text()),
        0..4,
    )
    .prop_map(|pairs| {
        distinct(pairs).into_iter().map(|(n, v)| map(vec![kv("name", s(&n)), kv("value", s(&v))])).collect()
    })
}

/// A Deployment or StatefulSet running a Spinnaker service, as spinnaker-kustomize, kleat or Halyard write them.
fn workload() -> impl Strategy<Value = Node> {
    service().prop_flat_map(|svc| {
        let name = (
            proptest::sample::select(vec!["", "spin-"]),
            proptest::sample::select(vec!["", "-ro", "-rw", "-ha", "-api"]),
        )
            .prop_map(move |(p, x)| format!("{p}{}{x}", svc.name()));
        let container_name =
            prop_oneof![Just(svc.name().to_owned()), Just(format!("{}-ro", svc.name())), Just("main".to_owned()),];
        let extra_inits = prop::collection::vec(
            prop_oneof![
                Just(("init-config".to_owned(), "busybox:1.36".to_owned())),
                Just(("wait".to_owned(), "alpine:3".to_owned())),
                image_of(Service::Clouddriver).prop_map(|i| ("clouddriver-init".to_owned(), i)),
            ],
            0..3,
        );
        let volumes = prop::collection::vec(words(), 0..3);
        (
            (proptest::sample::select(vec!["Deployment", "StatefulSet"]), name),
            proptest::option::of(proptest::sample::select(vec!["spinnaker", "spin-prod", "default"])),
            (container_name, image_of(svc), env(), volumes),
            (extra_inits, probe(), probe(), any::<bool>()),
            (annotations(), prop::option::of(annotations()), any::<bool>(), any::<bool>()),
        )
            .prop_map(
                move |(
                    (kind, name),
                    namespace,
                    (cname, image, env, volumes),
                    (inits, ready, live, sidecar),
                    (ann, tmpl_ann, labels, empties),
                )| {
                    let mut container = vec![kv("name", s(&cname)), kv("image", s(&image))];
                    if !env.is_empty() {
                        container.push(kv("env", seq(env)));
                    } else if empties {
                        container.push(kv("env", null()));
                    }
                    if let Some(p) = ready {
                        container.push(kv("readinessProbe", p));
                    }
                    if let Some(p) = live {
                        container.push(kv("livenessProbe", p));
                    }
                    let volumes: Vec<(String, ())> = distinct(volumes.into_iter().map(|v| (v, ())).collect());
                    if !volumes.is_empty() {
                        container.push(kv(
                            "volumeMounts",
                            seq(volumes
                                .iter()
                                .map(|(v, _)| map(vec![kv("name", s(v)), kv("mountPath", s(&format!("/opt/{v}")))]))
                                .collect()),
                        ));
                    }
                    let mut containers = vec![map(container)];
                    if sidecar {
                        containers
                            .push(map(vec![kv("name", s("monitoring")), kv("image", s("prom/statsd-exporter:v0.22"))]));
                    }
                    let mut pod = Vec::new();
                    let inits = distinct(inits);
                    if !inits.is_empty() {
                        pod.push(kv(
                            "initContainers",
                            seq(inits.iter().map(|(n, i)| map(vec![kv("name", s(n)), kv("image", s(i))])).collect()),
                        ));
                    }
                    pod.push(kv("containers", seq(containers)));
                    if !volumes.is_empty() {
                        pod.push(kv(
                            "volumes",
                            seq(volumes
                                .iter()
                                .map(|(v, _)| map(vec![kv("name", s(v)), kv("emptyDir", map(vec![]))]))
                                .collect()),
                        ));
                    } else if empties {
                        pod.push(kv("volumes", seq(vec![])));
                    }
                    let mut template = Vec::new();
                    match (tmpl_ann, labels) {
                        (None, false) if empties => template.push(kv("metadata", map(vec![kv("annotations", null())]))),
                        (None, false) => {}
                        (None, true) => {
                            template.push(kv("metadata", map(vec![kv("labels", map(vec![kv("app", s(svc.name()))]))])))
                        }
                        (Some(a), _) => template.push(kv("metadata", map(vec![kv("annotations", annotation_map(a))]))),
                    }
                    template.push(kv("spec", map(pod)));
                    let mut metadata = vec![kv("name", s(&name))];
                    if let Some(ns) = namespace {
                        metadata.push(kv("namespace", s(ns)));
                    }
                    if !ann.is_empty() {
                        metadata.push(kv("annotations", annotation_map(ann)));
                    }
                    map(vec![
                        kv("apiVersion", s("apps/v1")),
                        kv("kind", s(kind)),
                        kv("metadata", map(metadata)),
                        kv("spec", map(vec![kv("replicas", Node::int(1)), kv("template", map(template))])),
                    ])
                },
            )
    })
}

fn spinnaker_service() -> impl Strategy<Value = Node> {
    (
        proptest::sample::select(vec!["spinnaker.io/v1alpha2", "spinnaker.armory.io/v1alpha2"]),
        words(),
        proptest::option::of(Just("spinnaker")),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        text(),
    )
        .prop_map(|(api, name, ns, (canary, profiles, settings, user_patch), note)| {
            let mut config = vec![kv("version", s("1.28.1")), kv("note", s(&note))];
            if canary {
                config.push(kv("canary", map(vec![kv("enabled", Node::bool(true))])));
            }
            let mut spinnaker_config = vec![kv("config", map(config))];
            if profiles {
                spinnaker_config.push(kv(
                    "profiles",
                    map(vec![kv("gate", map(vec![kv("server", map(vec![kv("port", Node::int(8084))]))]))]),
                ));
            }
            if settings {
                spinnaker_config.push(kv(
                    "service-settings",
                    map(vec![
                        kv("clouddriver", map(vec![kv("env", map(vec![kv("X", s(&note))]))])),
                        kv("kayenta", map(vec![])),
                    ]),
                ));
            }
            let mut spec = vec![kv("spinnakerConfig", map(spinnaker_config))];
            if user_patch {
                spec.push(kv(
                    "kustomize",
                    map(vec![kv(
                        "gate",
                        map(vec![kv(
                            "deployment",
                            map(vec![kv("patchesStrategicMerge", seq(vec![s("spec:\n  replicas: 2\n")]))]),
                        )]),
                    )]),
                ));
            }
            spec.push(kv("expose", map(vec![kv("type", s("service"))])));
            let mut metadata = vec![kv("name", s(&name))];
            if let Some(ns) = ns {
                metadata.push(kv("namespace", s(ns)));
            }
            map(vec![
                kv("apiVersion", s(api)),
                kv("kind", s("SpinnakerService")),
                kv("metadata", map(metadata)),
                kv("spec", map(spec)),
            ])
        })
}

fn other_item() -> impl Strategy<Value = Node> {
    let data = || {
        prop::collection::vec(("[a-zA-Z0-9._-]{1,10}", text()), 0..4)
            .prop_map(|d| map(distinct(d).into_iter().map(|(k, v)| (k, s(&v))).collect()))
    };
    prop_oneof![
        (words(), data()).prop_map(|(n, d)| map(vec![
            kv("apiVersion", s("v1")),
            kv("kind", s("ConfigMap")),
            kv("metadata", map(vec![kv("name", s(&n))])),
            kv("data", d)
        ])),
        (words(), data(), data()).prop_map(|(n, d, sd)| map(vec![
            kv("apiVersion", s("v1")),
            kv("kind", s("Secret")),
            kv("metadata", map(vec![kv("name", s(&n)), kv("namespace", s("spinnaker"))])),
            kv("type", s("Opaque")),
            kv("data", d),
            kv("stringData", sd),
        ])),
        (words(), text(), annotations()).prop_map(|(n, t, a)| map(vec![
            kv("apiVersion", s("example.com/v1")),
            kv("kind", s("Widget")),
            kv("metadata", map(vec![kv("name", s(&n)), kv("annotations", annotation_map(a))])),
            kv("spec", map(vec![kv("text", s(&t)), kv("list", seq(vec![s(&t), Node::int(1)]))])),
        ])),
        words().prop_map(|n| map(vec![
            kv("apiVersion", s("apps/v1")),
            kv("kind", s("Deployment")),
            kv("metadata", map(vec![kv("name", s(&n))])),
            kv(
                "spec",
                map(vec![kv(
                    "template",
                    map(vec![kv(
                        "spec",
                        map(vec![kv(
                            "containers",
                            seq(vec![map(vec![kv("name", s("redis")), kv("image", s("redis:5"))])])
                        )])
                    )])
                )])
            ),
        ])),
        Just(map(vec![
            kv("apiVersion", s("kustomize.config.k8s.io/v1beta1")),
            kv("kind", s("Kustomization")),
            kv("resources", seq(vec![s("a.yaml")]))
        ])),
    ]
}

fn items() -> impl Strategy<Value = Vec<Node>> {
    prop::collection::vec(prop_oneof![5 => workload(), 1 => spinnaker_service(), 3 => other_item()], 0..8)
}

/// A valid SpinnakerPlatform (keel always pinned, so every generated service has a pin).
fn platform() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(vec!["init-container", "trust-manager", "none"]),
        any::<bool>(),
        proptest::sample::select(vec!["need", "want"]),
        proptest::option::of(proptest::sample::select(vec!["need", "want"])),
        any::<bool>(),
        proptest::option::of(Just("registry.example.com/spinnaker")),
        prop::collection::vec(service(), 0..3),
        proptest::sample::select(vec!["spinnaker", "spin-prod"]),
    )
        .prop_map(|(mode, mtls, client_auth, gate, create, registry, services, namespace)| {
            let mtls = mtls && mode != "none";
            let mut text = format!(
                "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {{name: s}}\nspec:\n  namespace: {namespace}\n  bom:\n    version: 1.27.0\n    extraPins: {{keel: 0.1.0-20210331200022-slim}}\n"
            );
            if let Some(r) = registry {
                text.push_str(&format!("    registry: {r}\n"));
            }
            text.push_str(&format!("  truststore: {{mode: {mode}}}\n  mtls:\n    enabled: {mtls}\n    clientAuth: {client_auth}\n    issuer: {{create: {create}}}\n"));
            if let Some(g) = gate {
                text.push_str(&format!("    gateClientAuth: {g}\n"));
            }
            let names: Vec<&str> = services.iter().map(|s| s.name()).collect();
            text.push_str(&format!("  services: [{}]\n", names.join(", ")));
            text
        })
}

fn load_platform(text: &str) -> SpinnakerPlatform {
    let docs = yaml::parse_stream(text, Limits::default()).expect("config parses");
    SpinnakerPlatform::from_function_config(&docs[0]).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn bom() -> Bom {
    Bom::parse(BOM_1_27_0, "bom/1.27.0.yml").expect("BOM 1.27.0")
}

fn same(a: &ResourceRef, b: &ResourceRef) -> bool {
    (&a.api_version, &a.kind, &a.namespace, &a.name) == (&b.api_version, &b.kind, &b.namespace, &b.name)
}

/// A step of a path: a mapping key, a list entry by its `name`, or a list entry by position.
#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Name(String),
    Index(usize),
}

impl std::fmt::Display for Seg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seg::Key(k) => write!(f, ".{k}"),
            Seg::Name(n) => write!(f, "[name={n}]"),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

fn show(path: &[Seg]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// What changed between two trees.
#[derive(Clone, Debug, PartialEq)]
enum Change {
    /// A scalar's text, or the kind of node, differs (or a scalar was added or removed).
    Value(Vec<Seg>),
    /// A mapping or list was created or removed (absent or null on the other side).
    Container(Vec<Seg>),
    /// Entries present on both sides changed their relative order.
    Order(Vec<Seg>),
}

impl Change {
    fn path(&self) -> &[Seg] {
        match self {
            Change::Value(p) | Change::Container(p) | Change::Order(p) => p,
        }
    }
}

fn names(s: &Sequence) -> Option<Vec<String>> {
    let names: Vec<String> =
        s.iter().map(|n| n.as_mapping()?.get_str("name").map(str::to_owned)).collect::<Option<_>>()?;
    let unique: std::collections::HashSet<&String> = names.iter().collect();
    (unique.len() == names.len()).then_some(names)
}

fn absent(n: Option<&Node>) -> bool {
    n.is_none_or(Node::is_null)
}

/// Lists every changed path between `a` (input) and `b` (output), down to the scalars.
fn diff(a: Option<&Node>, b: Option<&Node>, path: &mut Vec<Seg>, out: &mut Vec<Change>) {
    let empty_map = Mapping::new();
    let empty_seq = Sequence::new();
    match (a.map(Node::view), b.map(Node::view)) {
        (Some(View::Mapping(x)), Some(View::Mapping(y))) => diff_maps(x, y, path, out),
        (Some(View::Sequence(x)), Some(View::Sequence(y))) => diff_seqs(x, y, path, out),
        (_, Some(View::Mapping(y))) if absent(a) => {
            out.push(Change::Container(path.clone()));
            diff_maps(&empty_map, y, path, out);
        }
        (Some(View::Mapping(x)), _) if absent(b) => {
            out.push(Change::Container(path.clone()));
            diff_maps(x, &empty_map, path, out);
        }
        (_, Some(View::Sequence(y))) if absent(a) => {
            out.push(Change::Container(path.clone()));
            diff_seqs(&empty_seq, y, path, out);
        }
        (Some(View::Sequence(x)), _) if absent(b) => {
            out.push(Change::Container(path.clone()));
            diff_seqs(x, &empty_seq, path, out);
        }
        (None, None) => {}
        _ if a.zip(b).is_some_and(|(x, y)| yaml::to_string(x) == yaml::to_string(y)) => {}
        _ => out.push(Change::Value(path.clone())),
    }
}

fn diff_maps(x: &Mapping, y: &Mapping, path: &mut Vec<Seg>, out: &mut Vec<Change>) {
    let xs: Vec<&str> = x.iter().map(|(k, _)| k.value()).collect();
    let ys: Vec<&str> = y.iter().map(|(k, _)| k.value()).collect();
    let common_x: Vec<&&str> = xs.iter().filter(|k| ys.contains(k)).collect();
    let common_y: Vec<&&str> = ys.iter().filter(|k| xs.contains(k)).collect();
    if common_x != common_y {
        out.push(Change::Order(path.clone()));
    }
    let mut keys = xs.clone();
    keys.extend(ys.iter().filter(|k| !xs.contains(k)));
    for key in keys {
        path.push(Seg::Key(key.to_owned()));
        diff(x.get(key), y.get(key), path, out);
        path.pop();
    }
}

fn diff_seqs(x: &Sequence, y: &Sequence, path: &mut Vec<Seg>, out: &mut Vec<Change>) {
    match (names(x), names(y)) {
        (Some(xn), Some(yn)) => {
            let common_x: Vec<&String> = xn.iter().filter(|n| yn.contains(n)).collect();
            let common_y: Vec<&String> = yn.iter().filter(|n| xn.contains(n)).collect();
            if common_x != common_y {
                out.push(Change::Order(path.clone()));
            }
            let mut all = xn.clone();
            all.extend(yn.iter().filter(|n| !xn.contains(n)).cloned());
            for name in all {
                let find = |s: &Sequence, names: &[String]| {
                    names.iter().position(|n| *n == name).and_then(|i| s.get(i)).cloned()
                };
                path.push(Seg::Name(name.clone()));
                diff(find(x, &xn).as_ref(), find(y, &yn).as_ref(), path, out);
                path.pop();
            }
        }
        _ => {
            for i in 0..x.len().max(y.len()) {
                path.push(Seg::Index(i));
                diff(x.get(i), y.get(i), path, out);
                path.pop();
            }
        }
    }
}

fn keys(path: &[Seg]) -> Vec<&str> {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) | Seg::Name(k) => k.as_str(),
            Seg::Index(_) => "[]",
        })
        .collect()
}

fn ours(name: &str) -> bool {
    name.starts_with("spinnaker-krm-")
}

/// Env vars the transform owns in the service container: the password, the start script's options
/// (merged with the user's own), and what a run declared it set (its managed-env annotation, before or after).
fn managed_env(name: &str, svc: Service, declared: &[String]) -> bool {
    name == transform::PASSWORD_ENV
        || name == format!("{}_OPTS", svc.name().to_ascii_uppercase())
        || declared.iter().any(|d| d == name)
}

/// The env names a workload's managed-env annotation lists.
fn declared_env(item: &Node) -> Vec<String> {
    item.path_str(&["spec", "template", "metadata", "annotations", MANAGED_ENV_ANNOTATION])
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The service container of a workload: the first container that runs a JVM service (by name in the list).
fn service_container(item: &Node) -> Option<(String, Service)> {
    item.path(&["spec", "template", "spec", "containers"])?.as_sequence()?.iter().find_map(|c| {
        let c = c.as_mapping()?;
        let svc = identify(c.get_str("name").unwrap_or_default(), c.get_str("image"))?;
        svc.is_jvm().then(|| (c.get_str("name").unwrap_or_default().to_owned(), svc))
    })
}

/// True when the transform owns `change` in a Deployment/StatefulSet.
fn workload_owns(change: &Change, service: Option<&(String, Service)>, declared: &[String]) -> bool {
    let (path, container_only) = match change {
        Change::Value(p) => (p, false),
        Change::Container(p) => (p, true),
        Change::Order(_) => return false,
    };
    let k = keys(path);
    let svc_container = |name: &str| service.is_some_and(|(n, _)| n == name);
    match k.as_slice() {
        ["spec", "template", "metadata"] | ["spec", "template", "metadata", "annotations"] => container_only,
        ["metadata"] | ["metadata", "annotations"] => container_only,
        ["metadata", "annotations", key] => *key == transform::IMAGES_ANNOTATION,
        ["spec", "template", "metadata", "annotations", key] => {
            *key == HASH_ANNOTATION || *key == MANAGED_ENV_ANNOTATION || *key == transform::PROBES_ANNOTATION
        }
        ["spec", "template", "spec", "volumes" | "initContainers"] => container_only,
        ["spec", "template", "spec", "volumes" | "initContainers", name, ..] if ours(name) => true,
        ["spec", "template", "spec", "containers" | "initContainers", _, "image"] => true,
        ["spec", "template", "spec", "containers", c, "volumeMounts"] => container_only && svc_container(c),
        ["spec", "template", "spec", "containers", c, "volumeMounts", name, ..] => svc_container(c) && ours(name),
        ["spec", "template", "spec", "containers", c, "env"] => container_only && svc_container(c),
        ["spec", "template", "spec", "containers", c, "env", name, ..] => {
            svc_container(c) && service.is_some_and(|(_, svc)| managed_env(name, *svc, declared))
        }
        ["spec", "template", "spec", "containers", c, "readinessProbe" | "livenessProbe" | "startupProbe", ..] => {
            svc_container(c)
        }
        _ => false,
    }
}

/// True when the transform owns `change` in a SpinnakerService.
fn spinnaker_service_owns(change: &Change) -> bool {
    let (path, container_only) = match change {
        Change::Value(p) => (p, false),
        Change::Container(p) => (p, true),
        Change::Order(_) => return false,
    };
    match keys(path).as_slice() {
        ["spec", "spinnakerConfig", "config"] | ["metadata"] | ["metadata", "annotations"] => container_only,
        ["metadata", "annotations", key] => *key == transform::SETTINGS_ANNOTATION,
        ["spec", "spinnakerConfig", "config", "version"] => true,
        ["spec", "spinnakerConfig", "service-settings" | "profiles", ..] | ["spec", "kustomize", ..] => true,
        _ => false,
    }
}

/// An object an earlier run generated: its `spec` is rewritten on every run.
fn is_managed(item: &Node) -> bool {
    item.path_str(&["metadata", "labels", MANAGED_BY_LABEL]) == Some(MANAGED_BY)
}

fn owns(
    id: &ResourceRef,
    item: &Node,
    service: Option<&(String, Service)>,
    declared: &[String],
    change: &Change,
) -> bool {
    (is_workload(id) && workload_owns(change, service, declared))
        || (is_spinnaker_service(id) && spinnaker_service_owns(change))
        || (is_managed(item)
            && !matches!(change, Change::Order(_))
            && change.path().first() == Some(&Seg::Key("spec".into())))
}

fn is_workload(r: &ResourceRef) -> bool {
    r.api_version == "apps/v1" && (r.kind == "Deployment" || r.kind == "StatefulSet")
}

fn is_spinnaker_service(r: &ResourceRef) -> bool {
    r.kind == "SpinnakerService"
        && (r.api_version == "spinnaker.io/v1alpha2" || r.api_version == "spinnaker.armory.io/v1alpha2")
}

/// Items as a YAML stream, duplicate identities dropped (kpt and kustomize never send two objects with
/// one id). Generating text keeps a failing case readable: proptest prints the shrunk stream.
fn as_stream(items: Vec<Node>) -> String {
    let mut unique: Vec<Node> = Vec::new();
    for item in items {
        let id = ResourceRef::of(&item);
        if !unique.iter().any(|u| same(&ResourceRef::of(u), &id)) {
            unique.push(item);
        }
    }
    krm::manifests_to_yaml(&unique)
}

/// Items as a run reads them.
fn as_read(text: &str) -> Vec<Node> {
    krm::parse_manifests(text.as_bytes(), "generated").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run(items: &[Node], platform: &SpinnakerPlatform, bom: &Bom) -> Result<(Vec<Node>, String), String> {
    let mut items = items.to_vec();
    transform::apply(&mut items, &Context { config: platform, bom }).map_err(|e| e.to_string())?;
    let text = krm::manifests_to_yaml(&items);
    Ok((items, text))
}

/// Every property of one transform run over `input`; Err describes the first one broken.
fn check_transform(input: &[Node], config_text: &str) -> Result<(), String> {
    let platform = load_platform(config_text);
    let bom = bom();
    let first = run(input, &platform, &bom);
    // Determinism: the same input gives the same bytes (or the same error).
    let again = run(input, &platform, &bom);
    if first.as_ref().map(|(_, t)| t) != again.as_ref().map(|(_, t)| t) {
        return Err(format!("not deterministic:\n{first:?}\n---\n{again:?}"));
    }
    if let (Err(a), Err(b)) = (&first, &again) {
        if a != b {
            return Err(format!("different errors: {a} / {b}"));
        }
    }
    if std::env::var_os("PROP_DEBUG").is_some() {
        eprintln!("OUTCOME {} items={} {:?}", first.is_ok(), input.len(), first.as_ref().err());
    }
    let Ok((output, text)) = first else { return Ok(()) };

    // Idempotence: the output, read back and transformed again, gives the same bytes.
    let reread =
        krm::parse_manifests(text.as_bytes(), "output").map_err(|e| format!("output does not read back: {e}"))?;
    let (_, text2) = run(&reread, &platform, &bom).map_err(|e| format!("second run failed: {e}\n{text}"))?;
    if text2 != text {
        return Err(format!("not idempotent:\n--- run 1\n{text}\n--- run 2\n{text2}"));
    }

    // Every input item is there, in order, before the generated objects; objects an earlier run generated
    // (labelled managed-by spinnaker-krm) come after them in the order this run generates them, and go when
    // this run no longer generates them.
    let kept: Vec<&Node> = input.iter().filter(|item| !is_managed(item)).collect();
    for (i, item) in kept.iter().copied().enumerate() {
        let id = ResourceRef::of(item);
        let out = output.get(i).ok_or_else(|| format!("item {i} ({id}) is missing"))?;
        if !same(&ResourceRef::of(out), &id) {
            return Err(format!("item {i} is {} instead of {id}", ResourceRef::of(out)));
        }
        let (before, after) = (yaml::to_string(item), yaml::to_string(out));
        let targeted = is_workload(&id) || is_spinnaker_service(&id) || is_managed(item);
        if targeted {
            let mut changes = Vec::new();
            diff(Some(item), Some(out), &mut Vec::new(), &mut changes);
            let service = service_container(item);
            let declared: Vec<String> = declared_env(item).into_iter().chain(declared_env(out)).collect();
            let foreign: Vec<String> = changes
                .iter()
                .filter(|c| !owns(&id, item, service.as_ref(), &declared, c))
                .map(|c| format!("{c:?} at {}", show(c.path())))
                .collect();
            if !foreign.is_empty() {
                return Err(format!(
                    "{id}: changed outside the owned paths: {foreign:?}\n--- before\n{before}--- after\n{after}"
                ));
            }
        } else if before != after {
            return Err(format!("{id} is not a target but changed:\n--- before\n{before}--- after\n{after}"));
        }
    }
    // The rest is ours: new objects, or an earlier run's changed in their spec only.
    for item in &output[kept.len()..] {
        if item.path_str(&["metadata", "labels", MANAGED_BY_LABEL]) != Some(MANAGED_BY) {
            return Err(format!("new item {} lacks {MANAGED_BY_LABEL}: {MANAGED_BY}", ResourceRef::of(item)));
        }
        let id = ResourceRef::of(item);
        if kept.iter().any(|i| same(&ResourceRef::of(i), &id)) {
            return Err(format!("new item {id} duplicates an input item"));
        }
        if let Some(earlier) = input.iter().find(|i| is_managed(i) && same(&ResourceRef::of(i), &id)) {
            let mut changes = Vec::new();
            diff(Some(earlier), Some(item), &mut Vec::new(), &mut changes);
            let foreign: Vec<String> = changes
                .iter()
                .filter(|c| !owns(&id, earlier, None, &[], c))
                .map(|c| format!("{c:?} at {}", show(c.path())))
                .collect();
            if !foreign.is_empty() {
                return Err(format!("{id}: changed outside its spec: {foreign:?}"));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn the_transform_is_deterministic_idempotent_and_changes_only_what_it_owns(
        stream in items().prop_map(as_stream),
        config in platform(),
    ) {
        if let Err(problem) = check_transform(&as_read(&stream), &config) {
            prop_assert!(false, "{}\n--- config\n{}--- input\n{}", problem, config, stream);
        }
    }

    /// The same over the output of a run with another config: a config change updates what an earlier
    /// run injected, in place, and touches nothing else.
    #[test]
    fn a_rerun_with_another_config_changes_only_what_it_owns(
        stream in items().prop_map(as_stream),
        earlier in platform(),
        config in platform(),
    ) {
        let Ok((_, rendered)) = run(&as_read(&stream), &load_platform(&earlier), &bom()) else { return Ok(()) };
        if let Err(problem) = check_transform(&as_read(&rendered), &config) {
            prop_assert!(false, "{}\n--- config\n{}--- earlier config\n{}--- input\n{}", problem, config, earlier, stream);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The checker itself: a change outside the owned paths is caught.

#[test]
fn the_owned_path_check_catches_a_foreign_change() {
    let pod = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gate}\nspec:\n  template:\n    spec:\n      containers:\n      - name: gate\n";
    let input =
        as_read(&format!("{pod}        image: gate:latest\n        env: [{{name: JAVA_OPTS, value: -Xmx1g}}]\n"));
    let output =
        as_read(&format!("{pod}        image: gate:6.54.1\n        env: [{{name: JAVA_OPTS, value: -Xmx2g}}]\n"));
    let mut changes = Vec::new();
    diff(Some(&input[0]), Some(&output[0]), &mut Vec::new(), &mut changes);
    let service = service_container(&input[0]);
    let foreign: Vec<String> =
        changes.iter().filter(|c| !workload_owns(c, service.as_ref(), &[])).map(|c| show(c.path())).collect();
    assert_eq!(foreign, [".spec.template.spec.containers[name=gate].env[name=JAVA_OPTS].value"], "{changes:?}");
    assert_eq!(changes.len(), 2, "the image change is owned: {changes:?}");
}

// ------------------------------------------------------------------------------------------------
// Regressions: minimal inputs on which the properties above once failed, one test per bug.

#[test]
fn a_new_key_with_a_line_break_reads_back() {
    let written = krm::manifests_to_yaml(&[config_map_with("\na", "")]);
    let items = krm::parse_manifests(written.as_bytes(), "x.yaml").unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert!(items[0].path(&["data", "\na"]).is_some(), "{written}");
}

#[test]
fn a_tagged_document_keeps_its_content() {
    let text = "--- !!map\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n";
    let items = krm::parse_manifests(text.as_bytes(), "cm.yaml").unwrap();
    let written = krm::manifests_to_yaml(&items);
    let again = krm::parse_manifests(written.as_bytes(), "again").unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(again[0].path_str(&["metadata", "name"]), Some("x"), "{written}");
}

#[test]
fn an_empty_tagged_key_keeps_its_meaning() {
    let docs = yaml::parse_stream("? !!str\n: v\n", Limits::default()).unwrap();
    let written = yaml::to_string(&docs[0]);
    let again = yaml::parse_stream(&written, Limits::default()).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(meaning(&again[0]), meaning(&docs[0]), "{written}");
}

#[test]
fn a_plain_scalar_starting_with_an_indicator_is_refused_or_quoted() {
    if let Ok(docs) = yaml::parse_stream("{|: a}\n", Limits::default()) {
        let written = yaml::to_string(&docs[0]);
        let again = yaml::parse_stream(&written, Limits::default()).unwrap_or_else(|e| panic!("{e}\n{written}"));
        assert_eq!(meaning(&again[0]), meaning(&docs[0]), "{written}");
    }
}

#[test]
fn a_pin_only_run_keeps_empty_lists() {
    let stream = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: rosco\nspec:\n  template:\n    spec:\n      containers:\n      - name: rosco\n        image: rosco:latest\n        env: ~\n      volumes: []\n";
    let config = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec:\n  bom: {version: 1.27.0}\n  truststore: {mode: none}\n  mtls: {enabled: false}\n";
    check_transform(&as_read(stream), config).unwrap();
}

#[test]
fn a_multi_line_scalar_document_reads_back() {
    let docs = yaml::parse_stream("|\n\n|\n", Limits::default()).unwrap();
    let written = yaml::to_string(&docs[0]);
    let again = yaml::parse_stream(&written, Limits::default()).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(meaning(&again[0]), meaning(&docs[0]), "{written}");
}

#[test]
fn a_multi_line_plain_scalar_that_looks_like_a_document_marker_stays_a_scalar() {
    let docs = yaml::parse_stream("&a ---\n? ", Limits::default()).unwrap();
    let written = yaml::to_string(&docs[0]);
    let again = yaml::parse_stream(&written, Limits::default()).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(meaning(&again[0]), meaning(&docs[0]), "{written}");
}

#[test]
fn a_null_sequence_item_stays_null() {
    let docs = yaml::parse_stream("- \n- ~\n", Limits::default()).unwrap();
    let written = yaml::to_string(&docs[0]);
    let again = yaml::parse_stream(&written, Limits::default()).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(meaning(&again[0]), meaning(&docs[0]), "{written}");
}

// ------------------------------------------------------------------------------------------------
// Node::same_json is what comparing to_json says

fn json_doc() -> impl Strategy<Value = Vec<(&'static str, &'static str)>> {
    #[rustfmt::skip]
    const KEYS: &[&str] = &["a", "b", "1", "'1'", "\"a\"", "!!str 1", "yes", "~"];
    #[rustfmt::skip]
    const VALUES: &[&str] = &[
        "7002", "'7002'", "yes", "\"yes\"", "~", "x", "[1, '1']", "[1]", "{a: 1}", "{a: '1'}", "!!int 3", "!t 3",
        "0x1F", "1.0", "1", "\"1\"", "2001-12-14", "[]", "{}", "z", "'x'",
    ];
    prop::collection::vec((proptest::sample::select(KEYS), proptest::sample::select(VALUES)), 0..4)
}

fn json_node(entries: &[(&str, &str)]) -> Option<Node> {
    let text: String = entries.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    let text = if text.is_empty() { "{}\n".to_owned() } else { text };
    yaml::parse_stream(&text, Limits::default()).ok().map(|mut docs| docs.remove(0))
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn same_json_is_comparing_to_json(a in json_doc(), b in json_doc(), shuffle in any::<bool>(), seed in 0..24usize) {
        // Half the pairs are one document and the same entries in another order, so equal pairs are common.
        let b = if shuffle {
            let mut b = a.clone();
            if !b.is_empty() {
                let len = b.len();
                b.rotate_left(seed % len);
            }
            b
        } else {
            b
        };
        let (Some(a), Some(b)) = (json_node(&a), json_node(&b)) else { return Ok(()) };
        prop_assert_eq!(a.same_json(&b), a.to_json() == b.to_json(), "{:?} vs {:?}", a.to_json(), b.to_json());
        let (x, y) = (seq(vec![a.clone()]), seq(vec![b.clone()]));
        prop_assert_eq!(x.same_json(&y), x.to_json() == y.to_json());
    }
}
