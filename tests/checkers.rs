//! Self-tests of the Python checkers (tests/tools/): each one must be able to fail, and must fail for the
//! right reason, or the end-to-end tests that lean on it prove nothing.

use spinnaker_krm_tests as h;
use std::path::PathBuf;

struct Files(h::TempDir);

impl Files {
    fn new(name: &str) -> Files {
        Files(h::TempDir::new(name))
    }

    fn put(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        h::write_file(&path, text);
        path
    }
}

fn equal(a: &str, b: &str, args: &[&str]) -> Result<(), String> {
    let f = Files::new("y11");
    h::yaml11_equal(&f.put("a.yaml", a), &f.put("b.yaml", b), args)
}

#[track_caller]
fn assert_differ(a: &str, b: &str, args: &[&str], needle: &str) {
    match equal(a, b, args) {
        Ok(()) => panic!("yaml11_equal.py found these equal:\n{a}\n---\n{b}"),
        Err(msg) => assert!(msg.contains(needle), "difference reported as {msg:?}, expected it to mention {needle:?}"),
    }
}

#[test]
fn yaml11_equal_accepts_same_data_in_another_form() {
    // Key order, flow vs block, quote style, anchors vs copies, merge keys: all the same data.
    let a = "b: 1\na: 'x'\nl: [1, 2]\nanchor: &a {k: v}\nalias: *a\nmerged: {<<: *a, y: 2}\n";
    let b = "a: \"x\"\nb: 1\nl:\n- 1\n- 2\nanchor:\n  k: v\nalias:\n  k: v\nmerged:\n  k: v\n  y: 2\n";
    equal(a, b, &[]).unwrap();
    // YAML 1.1: plain 0755 is the octal int 493; kubectl's go-yaml v2 also reads 0o755 as 493.
    equal("m: 0755\no: 0o755\n", "m: 493\no: 493\n", &[]).unwrap();
    // A stray empty document means nothing to kubectl.
    equal("a: 1\n", "---\na: 1\n---\n", &[]).unwrap();
}

#[test]
fn yaml11_equal_sees_yaml11_type_changes() {
    assert_differ("v: \"yes\"\n", "v: yes\n", &[], "doc[0].v: 'yes' (str) != True (bool)");
    assert_differ("v: on\n", "v: \"on\"\n", &[], ".v");
    assert_differ("v: 0755\n", "v: \"0755\"\n", &[], ".v: 493 (int) != '0755' (str)");
    assert_differ("v: 012\n", "v: 12\n", &[], ".v: 10 (int) != 12 (int)");
    // PyYAML alone reads these as strings; kubectl (go-yaml v2) reads a float and bools.
    assert_differ("v: 1e3\n", "v: \"1e3\"\n", &[], ".v: 1000.0 (float) != '1e3' (str)");
    assert_differ("v: 1.0e3\n", "v: \"1.0e3\"\n", &[], ".v");
    assert_differ("v: y\n", "v: \"y\"\n", &[], ".v: True (bool) != 'y' (str)");
    assert_differ("v: N\n", "v: \"N\"\n", &[], ".v: False (bool)");
    assert_differ("v: ~\n", "v: \"\"\n", &[], ".v");
    assert_differ("v: 1\n", "v: true\n", &[], ".v: 1 (int) != True (bool)");
    assert_differ("v: 1\n", "v: 1.0\n", &[], ".v");
    assert_differ("v: \"1.10\"\n", "v: 1.10\n", &[], ".v");
    assert_differ("v: |\n  a\n  b\n", "v: >\n  a\n  b\n", &[], ".v");
}

#[test]
fn yaml11_equal_keeps_tags_and_binary() {
    equal("r: !Ref foo\nb: !!binary aGVsbG8=\n", "r: !Ref 'foo'\nb: !!binary |\n  aGVsbG8=\n", &[]).unwrap();
    assert_differ("r: !Ref foo\n", "r: foo\n", &[], ".r");
    assert_differ("r: !Ref foo\n", "r: !Sub foo\n", &[], "tag !Ref != !Sub");
    assert_differ("b: !!binary aGVsbG8=\n", "b: aGVsbG8=\n", &[], "b'hello' (bytes)");
    assert_differ("b: !!binary aGVsbG8=\n", "b: hello\n", &[], ".b");
}

#[test]
fn yaml11_equal_reports_structure_differences() {
    assert_differ("a: 1\n", "a: 1\nb: 2\n", &[], ".b: only in B");
    assert_differ("l: [1, 2]\n", "l: [2, 1]\n", &[], ".l[0]");
    assert_differ("l: [1, 2]\n", "l: [1]\n", &[], "length 2 != 1");
    assert_differ("a: 1\n---\nb: 2\n", "a: 1\n", &[], "document count: 2 != 1");
    assert_differ(
        "kind: A\nmetadata: {name: x}\nspec: {v: 1}\n",
        "kind: A\nmetadata: {name: x}\nspec: {v: 2}\n",
        &[],
        "doc[0](A/x).spec.v",
    );
}

#[test]
fn yaml11_equal_strips_annotations_and_unwraps() {
    let kpt = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n    annotations:\n      keep: \"yes\"\n      config.kubernetes.io/path: 'c.yaml'\n      internal.config.kubernetes.io/id: '1'\n      config.k8s.io/id: '1'\n  data: {a: b}\n";
    let plain =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    keep: \"yes\"\ndata: {a: b}\n";
    equal(kpt, plain, &["--unwrap", "--strip-annotations", h::KPT_ANNOTATIONS]).unwrap();
    assert_differ(kpt, plain, &["--strip-annotations", h::KPT_ANNOTATIONS], ".items: only in A");
    assert_differ(kpt, plain, &["--unwrap"], ".metadata.annotations.config.kubernetes.io/path: only in A");
    // Annotations outside the prefixes still count, and a value change under a kept key is seen.
    let changed = plain.replace("keep: \"yes\"", "keep: yes");
    assert_differ(kpt, &changed, &["--unwrap", "--strip-annotations", h::KPT_ANNOTATIONS], "annotations.keep");
}

#[test]
fn yaml11_equal_strips_nested_annotations() {
    // A tool annotation added to a pod template that had no metadata: equal once stripped, not before.
    let plain = "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec: {containers: []}\n";
    let marked = "kind: Deployment\nmetadata:\n  name: d\n  annotations: {spinnaker-krm.dev/x: a}\nspec:\n  template:\n    metadata:\n      annotations: {spinnaker-krm.dev/hash: abc}\n    spec: {containers: []}\n";
    equal(plain, marked, &["--strip-annotations", h::TOOL_ANNOTATIONS]).unwrap();
    assert_differ(plain, marked, &[], "metadata.annotations: only in B");
    // Other annotations of the template still count.
    let other = marked.replace("spinnaker-krm.dev/hash", "example.com/hash");
    assert_differ(plain, &other, &["--strip-annotations", h::TOOL_ANNOTATIONS], "spec.template.metadata: only in B");
}

fn validate_text(text: &str, args: &[&str]) -> Result<(), String> {
    let f = Files::new("validate");
    h::validate(&f.put("in.yaml", text), args)
}

#[track_caller]
fn assert_invalid(text: &str, args: &[&str], line: &str) {
    match validate_text(text, args) {
        Ok(()) => panic!("validate.py accepted:\n{text}"),
        Err(msg) => assert!(msg.lines().any(|l| l == line), "problems reported:\n{msg}\nexpected the line:\n{line}"),
    }
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: gate
spec:
  selector:
    matchLabels: {app: gate}
  template:
    metadata:
      labels: {app: gate}
    spec:
      containers:
      - name: gate
        image: us-docker.pkg.dev/spinnaker-community/docker/gate:6.54.1
        env:
        - {name: FLAG, value: \"on\"}
        volumeMounts:
        - {name: config, mountPath: /opt/spinnaker/config, readOnly: true}
      volumes:
      - name: config
        secret: {secretName: gate, defaultMode: 0755}
";

#[test]
fn validate_accepts_real_manifests() {
    validate_text(DEPLOYMENT, &[]).unwrap();
    let fixtures = h::fixtures();
    for file in [
        "spinnaker-operator/examples/basic.spinnakerservice.yml",
        "spinnaker-operator/examples/complete.spinnakerservice.yml",
        "spinnaker-operator/examples/profiles-files-service-settings.spinnakerservice.yml",
        "spinnaker-kustomize/base/gate/service.yml",
        "spinnaker-kustomize/components/redis/base/configmap.yml",
    ] {
        h::validate(&fixtures.join(file), &[]).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn validate_rejects_misspelled_and_mistyped_fields() {
    assert_invalid(
        &DEPLOYMENT.replace("readOnly: true", "readonly: true"),
        &[],
        "Deployment/gate: $.spec.template.spec.containers[0].volumeMounts[0]: Additional properties are not allowed ('readonly' was unexpected)",
    );
    // A lost quote: YAML 1.1 reads `on` as a bool, which an env value cannot be.
    assert_invalid(
        &DEPLOYMENT.replace("value: \"on\"", "value: on"),
        &[],
        "Deployment/gate: $.spec.template.spec.containers[0].env[0].value: True is not of type 'string', 'null'",
    );
    // Quoted octal: a string where the API wants an integer.
    assert_invalid(
        &DEPLOYMENT.replace("defaultMode: 0755", "defaultMode: '0755'"),
        &[],
        "Deployment/gate: $.spec.template.spec.volumes[0].secret.defaultMode: '0755' is not of type 'integer', 'null'",
    );
    // The fixtures' Deployments before kustomize adds a selector.
    let f = h::fixtures().join("spinnaker-kustomize/base/gate/deployment.yml");
    let err = h::validate(&f, &[]).expect_err("a Deployment without selector must fail");
    assert_eq!(err, "Deployment/gate: $.spec: 'selector' is a required property");
}

#[test]
fn validate_rejects_fields_a_crd_would_prune() {
    let svc = "apiVersion: spinnaker.io/v1alpha2
kind: SpinnakerService
metadata:
  name: spinnaker
spec:
  spinnakerConfig:
    config: {version: 1.27.0}
    service-settings:
      gate: {artifactId: us-docker.pkg.dev/spinnaker-community/docker/gate:6.54.1}
  kustomize:
    gate:
      deployment:
        patchesStrategicMerge:
        - |
          spec: {}
";
    validate_text(svc, &[]).unwrap();
    validate_text(&svc.replace("spinnaker.io/v1alpha2", "spinnaker.armory.io/v1alpha2"), &[]).unwrap();
    assert_invalid(
        &svc.replace("patchesStrategicMerge:", "patchesStrategicMerges:"),
        &[],
        "SpinnakerService/spinnaker: $.spec.kustomize.gate.deployment: Additional properties are not allowed ('patchesStrategicMerges' was unexpected) (the API server would prune it: a silently lost setting)",
    );
    assert_invalid(
        &svc.replace("  name: spinnaker\n", "  name: spinnaker\n  labelz: {}\n"),
        &[],
        "SpinnakerService/spinnaker: $.metadata: Additional properties are not allowed ('labelz' was unexpected) (the API server would prune it: a silently lost setting)",
    );
    assert_invalid(
        &svc.replace("config: {version: 1.27.0}", "config: {version: 1.27.0}\n    profiles: {gate: x}"),
        &[],
        "SpinnakerService/spinnaker: $.spec.spinnakerConfig.profiles.gate: 'x' is not of type 'object'",
    );
}

#[test]
fn validate_checks_cert_manager_and_trust_manager() {
    let ok = "apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: gate, namespace: spinnaker}
spec:
  secretName: gate-tls
  dnsNames: [gate, gate.spinnaker]
  usages: [server auth, client auth]
  issuerRef: {kind: ClusterIssuer, name: spinnaker-ca}
  keystores:
    pkcs12:
      create: true
      passwordSecretRef: {name: certificate-secrets, key: TLS_INTERNAL_KEYSTORE_PASSWORD}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: selfsigned}
spec: {selfSigned: {}}
---
apiVersion: trust.cert-manager.io/v1alpha1
kind: Bundle
metadata: {name: spinnaker-cert-trust-bundle}
spec:
  sources:
  - useDefaultCAs: true
  - secret: {name: spinnaker-ca, key: ca.crt}
  target:
    configMap: {key: mtls-cacerts}
";
    validate_text(ok, &[]).unwrap();
    assert_invalid(
        &ok.replace("dnsNames:", "dnsName:"),
        &[],
        "Certificate/gate: $.spec: Additional properties are not allowed ('dnsName' was unexpected) (the API server would prune it: a silently lost setting)",
    );
    assert_invalid(
        &ok.replace("usages: [server auth, client auth]", "usages: [server auth, client-auth]"),
        &[],
        "Certificate/gate: $.spec.usages[1]: 'client-auth' is not one of ['signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc']",
    );
    assert_invalid(
        &ok.replace("configMap: {key: mtls-cacerts}", "configMap: {key: mtls-cacerts, name: x}"),
        &[],
        "Bundle/spinnaker-cert-trust-bundle: $.spec.target.configMap: Additional properties are not allowed ('name' was unexpected) (the API server would prune it: a silently lost setting)",
    );
}

#[test]
fn validate_requires_identity_and_known_kinds() {
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: spinnaker}\n";
    assert_invalid(
        ns,
        &[],
        "Namespace/spinnaker: $: no schema for apiVersion 'v1' kind 'Namespace' (use --allow-unknown)",
    );
    validate_text(ns, &["--allow-unknown"]).unwrap();
    assert_invalid(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n",
        &["--allow-unknown"],
        "ConfigMap/?: $.metadata.name: must be a non-empty string, got None",
    );
    assert_invalid(
        "kind: Foo\nmetadata: {name: f}\n",
        &["--allow-unknown"],
        "Foo/f: $.apiVersion: must be a non-empty string, got None",
    );
    // An empty stream is not "valid": an empty render must never pass.
    let err = validate_text("---\n", &[]).expect_err("empty stream");
    assert_eq!(err, "no documents to validate");
}

#[test]
fn validate_reads_resource_list_items() {
    let rl = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{}",
        DEPLOYMENT
            .replace("readOnly: true", "readonly: true")
            .lines()
            .enumerate()
            .fold(String::new(), |acc, (i, l)| { acc + if i == 0 { "- " } else { "  " } + l + "\n" })
    );
    let err = validate_text(&rl, &[]).expect_err("the item is invalid");
    assert!(err.starts_with("Deployment/gate: $.spec.template.spec.containers[0].volumeMounts[0]"), "{err}");
}
