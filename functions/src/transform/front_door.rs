//! Gate's front door: whatever routes to gate from outside must speak the protocol gate's own port serves
//! after the transform, or the UI and API go down without a warning.
//!
//! By default gate's listener stays plain HTTP (`spec.mtls.gateListener: http`): browsers, ingress
//! controllers, the Operator's `expose` and deck's `/gate` proxy reach it that way (reference: upstream
//! spinnaker-kustomize's Ingress has no backend-protocol annotation; the Operator writes an `http`
//! `overrideBaseUrl` unless `security.apiSecurity.ssl.enabled`; deck's Apache proxy has no
//! `SSLProxyEngine`), and nothing inside Spinnaker calls gate. Gate still calls every other service
//! over mTLS as a client. This module only reads: it reports each front door that disagrees with the
//! listener, naming the object and the fix; it never edits an Ingress or a Service.

use super::{Context, Finding};
use crate::config::GateListener;
use crate::krm::ResourceRef;
use crate::yaml::{Mapping, Node};

/// Annotations by which a front door says it speaks HTTPS to its backend, with the value that means
/// HTTPS (compared case-insensitively; `*` = a value that contains "https"). On the Ingress, or on the
/// backend Service for the controllers that read it there. Sources: ingress-nginx annotations docs,
/// aws-load-balancer-controller ingress and service annotations, HAProxy Kubernetes Ingress Controller,
/// Traefik's Kubernetes Ingress provider, Kong's konghq.com annotations, GKE's app-protocols.
const HTTPS_ANNOTATIONS: &[(&str, &str)] = &[
    ("nginx.ingress.kubernetes.io/backend-protocol", "https"),
    ("alb.ingress.kubernetes.io/backend-protocol", "https"),
    ("haproxy.org/server-ssl", "true"),
    ("traefik.ingress.kubernetes.io/service.serversscheme", "https"),
    ("konghq.com/protocol", "https"),
    ("cloud.google.com/app-protocols", "*"),
    ("service.beta.kubernetes.io/aws-load-balancer-backend-protocol", "https"),
];

/// What to tell a user whose front door must speak HTTPS, before the other fix (gate's listener back to http).
const ANNOTATE_HINT: &str = "annotate it for your controller (nginx.ingress.kubernetes.io/backend-protocol: HTTPS; \
alb.ingress.kubernetes.io/backend-protocol: HTTPS; haproxy.org/server-ssl: \"true\"; or on gate's Service \
traefik.ingress.kubernetes.io/service.serversscheme: https, konghq.com/protocol: https, \
cloud.google.com/app-protocols)";

const LISTENER: &str = "spec.mtls.gateListener";

/// The HTTPS annotation an object carries, as `key: value`.
fn https_annotation(item: &Node) -> Option<String> {
    let annotations = item.path(&["metadata", "annotations"]).and_then(Node::as_mapping)?;
    HTTPS_ANNOTATIONS.iter().find_map(|(key, want)| {
        let value = annotations.get_str(key)?.to_ascii_lowercase();
        let https = if *want == "*" { value.contains("https") } else { value == *want };
        https.then(|| format!("{key}: {value}"))
    })
}

/// Every front door to gate in `items` that disagrees with gate's listener. `gate_services` are the
/// names gate's Service may have (`gate`, `spin-gate`, and the gate workloads' names).
pub fn check(items: &[&Node], ctx: &Context, gate_services: &[String]) -> Vec<Finding> {
    let https = ctx.config.spec.mtls.gate_listener() == GateListener::Https;
    // The listener named as the user set it (a field, a flat key or an Application parameter).
    let form = ctx.config.form;
    let listener = |value: &str| form.setting(LISTENER, value);
    let plain = format!(
        "{} is http{}",
        form.name(LISTENER),
        if ctx.config.spec.mtls.gate_listener.is_none() { ", the default" } else { "" }
    );
    let mut findings = Vec::new();
    let mut report = |item: &Node, field: &str, message: String| {
        findings.push(Finding { resource: ResourceRef::of(item), field: field.to_owned(), message })
    };
    let in_namespace =
        |item: &Node| item.path_str(&["metadata", "namespace"]).is_none_or(|ns| ns == ctx.config.spec.namespace);
    let is_gate = |name: &str| gate_services.iter().any(|g| g == name);
    let gate_service = items
        .iter()
        .copied()
        .filter(|i| i.path_str(&["apiVersion"]) == Some("v1") && i.path_str(&["kind"]) == Some("Service"))
        .filter(|i| in_namespace(i))
        .find(|i| i.path_str(&["metadata", "name"]).is_some_and(is_gate));
    let service_https = gate_service.and_then(https_annotation);
    for &item in items.iter().filter(|i| in_namespace(i)) {
        match (item.path_str(&["apiVersion"]).unwrap_or_default(), item.path_str(&["kind"]).unwrap_or_default()) {
            ("networking.k8s.io/v1" | "extensions/v1beta1" | "networking.k8s.io/v1beta1", "Ingress") => {
                let Some(field) = ingress_backends(item).into_iter().find(|(_, name)| is_gate(name)).map(|(f, _)| f)
                else {
                    continue;
                };
                match (https, https_annotation(item).or_else(|| service_https.clone())) {
                    (false, Some(annotation)) => report(item, &field, format!(
                        "routes to gate over HTTPS ({annotation}) but gate serves plain HTTP ({plain}); remove that annotation, or set {}",
                        listener("https")
                    )),
                    (true, None) => report(item, &field, format!(
                        "routes to gate over plain HTTP but {} makes gate serve HTTPS; {ANNOTATE_HINT} or set {}",
                        listener("https"),
                        listener("http")
                    )),
                    _ => {}
                }
            }
            ("v1", "Service") if gate_service.is_some_and(|g| std::ptr::eq(g, item)) => {
                let exposed = matches!(item.path_str(&["spec", "type"]), Some("LoadBalancer" | "NodePort"));
                match (https, &service_https) {
                    (false, Some(annotation)) => report(item, "metadata.annotations", format!(
                        "says gate's backend speaks HTTPS ({annotation}) but gate serves plain HTTP ({plain}); remove that annotation, or set {}",
                        listener("https")
                    )),
                    (true, None) if exposed => report(item, "spec.type", format!(
                        "exposes gate directly, and with {} browsers would get gate's cluster-internal certificate; terminate TLS in front of it (service.beta.kubernetes.io/aws-load-balancer-backend-protocol: https, or an Ingress) or set {}",
                        listener("https"),
                        listener("http")
                    )),
                    _ => {}
                }
            }
            ("spinnaker.io/v1alpha2" | "spinnaker.armory.io/v1alpha2", "SpinnakerService") => {
                let Some(expose) = item.path(&["spec", "expose"]).and_then(Node::as_mapping) else { continue };
                let annotated = expose
                    .get_mapping("service")
                    .and_then(|s| s.get_mapping("annotations"))
                    .and_then(|a| a.get_str("service.beta.kubernetes.io/aws-load-balancer-backend-protocol"))
                    .map(str::to_ascii_lowercase);
                if https {
                    report(item, "spec.expose", format!(
                        "with {} the Operator's expose still writes gate's URL as http:// (unless security.apiSecurity.ssl.enabled, which is gate's own TLS, not spinnaker-krm's) and its load balancer would hand browsers gate's cluster-internal certificate; set {} (gate keeps calling the other services over mTLS)",
                        listener("https"),
                        listener("http")
                    ));
                } else if annotated.as_deref() == Some("https") {
                    report(item, "spec.expose.service.annotations", format!("says gate's backend speaks HTTPS (service.beta.kubernetes.io/aws-load-balancer-backend-protocol: https) but gate serves plain HTTP ({plain}); set it to http"));
                }
            }
            ("v1", "ConfigMap") if https => {
                if let Some(url) = plain_gate_url(item.path(&["data"]).and_then(Node::as_mapping)) {
                    report(item, "data.API_HOST", format!(
                        "deck's gate URL {url} is plain HTTP but {} makes gate serve HTTPS (deck's /gate proxy cannot speak HTTPS); set {}",
                        listener("https"),
                        listener("http")
                    ));
                }
            }
            _ => {}
        }
    }
    findings
}

/// `API_HOST` (deck's gate URL) when it is a plain `http://` URL of gate.
fn plain_gate_url(data: Option<&Mapping>) -> Option<String> {
    let url = data?.get_str("API_HOST")?;
    (url.starts_with("http://") && url.contains("gate")).then(|| url.to_owned())
}

/// The backends of an Ingress that name a Service: `(field, service name)`.
fn ingress_backends(item: &Node) -> Vec<(String, String)> {
    fn name(backend: &Mapping) -> Option<&str> {
        backend.get_mapping("service").and_then(|s| s.get_str("name")).or_else(|| backend.get_str("serviceName"))
    }
    let mut out = Vec::new();
    let Some(spec) = item.path(&["spec"]).and_then(Node::as_mapping) else { return out };
    for key in ["defaultBackend", "backend"] {
        if let Some(n) = spec.get_mapping(key).and_then(name) {
            out.push((format!("spec.{key}"), n.to_owned()));
        }
    }
    for (r, rule) in spec.get_sequence("rules").into_iter().flat_map(|s| s.iter()).enumerate() {
        let paths = rule.as_mapping().and_then(|m| m.get_mapping("http")).and_then(|h| h.get_sequence("paths"));
        for (p, path) in paths.into_iter().flat_map(|s| s.iter()).enumerate() {
            if let Some(n) = path.as_mapping().and_then(|m| m.get_mapping("backend")).and_then(name) {
                out.push((format!("spec.rules[{r}].http.paths[{p}].backend"), n.to_owned()));
            }
        }
    }
    out
}
