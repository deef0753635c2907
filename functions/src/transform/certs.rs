//! The cert-manager and trust-manager objects the transform adds: one `Certificate` per JVM workload (a
//! PKCS12 key store whose password is a Secret reference), and, with `issuer.create`, the CA chain
//! (self-signed ClusterIssuer → CA Certificate in the trust namespace → CA ClusterIssuer) and the
//! trust-manager `Bundle` that distributes the CA (and, in trust-manager mode, the finished Java trust store).
//!
//! Generated objects carry the label `app.kubernetes.io/managed-by: spinnaker-krm`; on a later run they
//! are updated in place, and an object of the same name without the label is a conflict, never overwritten.

use super::pod::{TRUST_MANAGER_STORE_KEY, TRUST_MANAGER_STORE_PASSWORD};
use super::Context;
use crate::config::TruststoreMode;
use crate::krm::ResourceRef;
use crate::yaml::build::{list, map, s};
use crate::yaml::{Mapping, Node};

pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "spinnaker-krm";

/// Where kpt writes a generated object (used only when the input items carry kpt path annotations).
pub const GENERATED_DIR: &str = "spinnaker-krm";

fn metadata(name: &str, namespace: Option<&str>) -> Node {
    let mut m: Mapping = [("name", s(name))].into_iter().collect();
    if let Some(ns) = namespace {
        m.insert("namespace", s(ns));
    }
    m.insert("labels", map([(MANAGED_BY_LABEL, s(MANAGED_BY)), ("app.kubernetes.io/part-of", s("spinnaker"))]));
    Node::Mapping(m)
}

fn object(api_version: &str, kind: &str, name: &str, namespace: Option<&str>, spec: Node) -> Node {
    map([("apiVersion", s(api_version)), ("kind", s(kind)), ("metadata", metadata(name, namespace)), ("spec", spec)])
}

/// The Secret a workload's certificate is written to.
pub fn tls_secret_name(host: &str) -> String {
    format!("{host}-mtls")
}

/// The DNS names a service answers to: `<host>` and `spin-<host>` (Operator/Halyard installs), each with
/// `.ns`, `.ns.svc` and `.ns.svc.cluster.local`.
pub fn dns_names(host: &str, namespace: &str) -> Vec<String> {
    let spin = (!host.starts_with("spin-")).then(|| ["spin-", host].concat());
    let mut names = Vec::with_capacity(8);
    for h in std::iter::once(host).chain(spin.as_deref()) {
        // `concat`, not `format!`: these are built for every workload.
        names.extend([
            h.to_owned(),
            [h, ".", namespace].concat(),
            [h, ".", namespace, ".svc"].concat(),
            [h, ".", namespace, ".svc.cluster.local"].concat(),
        ]);
    }
    names
}

/// The `Certificate` of one JVM workload.
/// `also` is another name callers use (the workload's Service in the input, when it is named otherwise).
pub fn certificate(ctx: &Context, host: &str, namespace: &str, also: Option<&str>) -> Node {
    let mut certificate = unnamed_certificate(ctx);
    name_certificate(&mut certificate, host, namespace, also);
    certificate
}

/// A workload's `Certificate` with its names left empty: what every workload's has in common.
fn unnamed_certificate(ctx: &Context) -> Node {
    let issuer = &ctx.config.spec.mtls.issuer;
    let secret = &ctx.config.spec.truststore.password_secret;
    let spec = map([
        ("secretName", s("")),
        ("commonName", s("")),
        ("dnsNames", list([])),
        ("duration", s("2160h")),
        ("renewBefore", s("360h")),
        ("privateKey", map([("algorithm", s("ECDSA")), ("size", Node::int(256)), ("rotationPolicy", s("Always"))])),
        ("usages", list([s("server auth"), s("client auth"), s("digital signature"), s("key encipherment")])),
        (
            "issuerRef",
            map([("name", s(&issuer.name)), ("kind", s(issuer.kind.as_str())), ("group", s("cert-manager.io"))]),
        ),
        (
            "keystores",
            map([(
                "pkcs12",
                map([
                    ("create", Node::bool(true)),
                    ("passwordSecretRef", map([("name", s(&secret.name)), ("key", s(&secret.key))])),
                    ("profile", s(ctx.config.spec.mtls.pkcs12_profile.unwrap_or_default().as_str())),
                ]),
            )]),
        ),
    ]);
    object("cert-manager.io/v1", "Certificate", "", Some(""), spec)
}

/// Gives an [`unnamed_certificate`] the names of `host` in `namespace`, in the places they already have.
fn name_certificate(certificate: &mut Node, host: &str, namespace: &str, also: Option<&str>) {
    let name = tls_secret_name(host);
    if let Some(metadata) = certificate.path_mut(&["metadata"]).and_then(Node::as_mapping_mut) {
        metadata.insert_str("name", &name);
        metadata.insert_str("namespace", namespace);
    }
    if let Some(spec) = certificate.path_mut(&["spec"]).and_then(Node::as_mapping_mut) {
        spec.insert_str("secretName", &name);
        spec.insert_str("commonName", &[host, ".", namespace, ".svc"].concat());
        let mut names = dns_names(host, namespace);
        if let Some(also) = also {
            let more = dns_names(also, namespace);
            names.extend(more.into_iter().filter(|n| !names.contains(n)).collect::<Vec<_>>());
        }
        spec.insert("dnsNames", list(names.into_iter().map(Node::string)));
    }
}

/// [`certificate`] for many workloads: the common part built once and shared, each copy given its names
/// (a copy shares the rest of its text).
pub struct CertificateTemplate(Node);

impl CertificateTemplate {
    pub fn new(ctx: &Context) -> Self {
        let mut template = unnamed_certificate(ctx);
        template.share();
        CertificateTemplate(template)
    }

    /// What `certificate(ctx, host, namespace, also)` builds.
    pub fn for_workload(&self, host: &str, namespace: &str, also: Option<&str>) -> Node {
        let mut certificate = self.0.clone();
        name_certificate(&mut certificate, host, namespace, also);
        certificate
    }
}

/// The CA chain and trust distribution that `issuer.create` and trust-manager mode call for.
pub fn trust_objects(ctx: &Context) -> Vec<Node> {
    let spec = &ctx.config.spec;
    let issuer = &spec.mtls.issuer;
    let trust_ns = spec.truststore.trust_namespace.as_str();
    let mut objects = Vec::new();
    let create = spec.mtls.enabled && issuer.create;
    if create {
        let self_signed = format!("{}-selfsigned", issuer.name);
        objects.push(object("cert-manager.io/v1", "ClusterIssuer", &self_signed, None, map([("selfSigned", map([]))])));
        objects.push(object(
            "cert-manager.io/v1",
            "Certificate",
            &issuer.name,
            Some(trust_ns),
            map([
                ("isCA", Node::bool(true)),
                ("commonName", s(&issuer.name)),
                ("secretName", s(&issuer.name)),
                ("duration", s("87600h")),
                ("renewBefore", s("720h")),
                ("privateKey", map([("algorithm", s("ECDSA")), ("size", Node::int(256))])),
                (
                    "issuerRef",
                    map([("name", s(&self_signed)), ("kind", s("ClusterIssuer")), ("group", s("cert-manager.io"))]),
                ),
            ]),
        ));
        objects.push(object(
            "cert-manager.io/v1",
            "ClusterIssuer",
            &issuer.name,
            None,
            map([("ca", map([("secretName", s(&issuer.name))]))]),
        ));
    }
    let trust_manager = spec.truststore.mode == TruststoreMode::TrustManager;
    if create || trust_manager {
        let ca_source = if create {
            map([("secret", map([("name", s(&issuer.name)), ("key", s("ca.crt"))]))])
        } else {
            // The user's CA, which trust-manager reads from its trust namespace.
            map([(
                "configMap",
                map([("name", s(&spec.truststore.ca_bundle.config_map)), ("key", s(&spec.truststore.ca_bundle.key))]),
            )])
        };
        let mut sources = vec![ca_source];
        let mut target: Mapping =
            [("configMap", map([("key", s(&spec.truststore.ca_bundle.key))]))].into_iter().collect();
        if trust_manager {
            sources.insert(0, map([("useDefaultCAs", Node::bool(true))]));
            target.insert(
                "additionalFormats",
                map([(
                    "pkcs12",
                    map([
                        ("key", s(TRUST_MANAGER_STORE_KEY)),
                        ("password", s(TRUST_MANAGER_STORE_PASSWORD)),
                        ("profile", s(spec.mtls.pkcs12_profile.unwrap_or_default().as_str())),
                    ]),
                )]),
            );
        }
        target.insert(
            "namespaceSelector",
            map([("matchLabels", map([("kubernetes.io/metadata.name", s(&spec.namespace))]))]),
        );
        let bundle_spec = map([("sources", list(sources)), ("target", Node::Mapping(target))]);
        objects.push(object(
            "trust.cert-manager.io/v1alpha1",
            "Bundle",
            &spec.truststore.ca_bundle.config_map,
            None,
            bundle_spec,
        ));
    }
    objects
}

/// `spinnaker-krm/<kind>-<name>.yaml`, or with the namespace for namespaced objects.
pub fn generated_path(object: &Node) -> String {
    let r = ResourceRef::of(object);
    let kind = r.kind.to_ascii_lowercase();
    match &r.namespace {
        Some(ns) => format!("{GENERATED_DIR}/{ns}/{kind}-{}.yaml", r.name),
        None => format!("{GENERATED_DIR}/{kind}-{}.yaml", r.name),
    }
}

/// True for an object an earlier run generated: one of the kinds spinnaker-krm generates (cert-manager's and
/// trust-manager's) with its label. The label alone is not enough: a user's Deployment may carry
/// `app.kubernetes.io/managed-by: spinnaker-krm` too (a kustomize `labels:` entry), and is theirs.
pub fn is_managed(object: &Node) -> bool {
    object
        .path_str(&["apiVersion"])
        .is_some_and(|v| v.starts_with("cert-manager.io/") || v.starts_with("trust.cert-manager.io/"))
        && object.path_str(&["metadata", "labels", MANAGED_BY_LABEL]) == Some(MANAGED_BY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bom::Bom;
    use crate::config::SpinnakerPlatform;
    use crate::yaml::{parse_stream, to_string, Limits};

    #[test]
    fn the_template_builds_what_certificate_builds() {
        let bom = Bom::parse(include_str!("../../../tests/fixtures/bom/1.27.0.yml"), "bom/1.27.0.yml").unwrap();
        let config = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec:\n  \
                      bom: {version: 1.27.0}\n  mtls: {enabled: true, issuer: {name: ca, kind: Issuer, create: false}}\n";
        let config =
            SpinnakerPlatform::from_function_config(&parse_stream(config, Limits::default()).unwrap()[0]).unwrap();
        let ctx = Context { config: &config, bom: &bom };
        let template = CertificateTemplate::new(&ctx);
        for (host, namespace) in
            [("gate", "spinnaker"), ("spin-gate", "spinnaker"), ("clouddriver-ro", "ops"), ("x", "template")]
        {
            let built = certificate(&ctx, host, namespace, None);
            let copied = template.for_workload(host, namespace, None);
            assert_eq!(to_string(&copied), to_string(&built), "{host} in {namespace}");
            assert_eq!(copied, built);
        }
    }
}
