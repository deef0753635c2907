//! Truststore and mTLS for a plain Deployment or StatefulSet (spinnaker-kustomize, kleat, Halyard-shaped
//! `spin-<svc>`): our volumes, init container, env and mounts are merged by name, so the user's own
//! entries (JAVA_OPTS, config volumes, other init containers) stay where they are; a previous run's
//! entries are updated in place or removed when the config no longer calls for them.

use super::certs;
use super::pod::{self, PodInjection};
use super::spring::{self, Peer};
use super::Context;
use crate::config::ClientAuth;
use crate::service::{identify, Service};
use crate::yaml::{emit, Mapping, Node, Sequence};
use sha2::Digest;

/// The pod-template annotation whose value changes whenever what we inject changes, so pods roll.
pub const HASH_ANNOTATION: &str = "spinnaker-krm.dev/injection-hash";

/// The JVM service a workload runs and the names it is reached by.
pub struct JvmWorkload {
    pub service: Service,
    /// The workload's name, which is its Service's name: `gate`, `spin-gate`, `clouddriver-ro`.
    pub name: String,
    /// The name without `spin-`: certificates carry both forms.
    pub host: String,
    pub namespace: String,
    /// Index of the service container in `containers`.
    container: usize,
}

/// The JVM service of a Deployment/StatefulSet, when it runs one that the config selects.
pub fn jvm_workload(item: &Node, ctx: &Context) -> Option<JvmWorkload> {
    let containers = item.path(&["spec", "template", "spec", "containers"])?.as_sequence()?;
    let (container, service) = containers.iter().enumerate().find_map(|(i, c)| {
        let c = c.as_mapping()?;
        let service = identify(c.get_str("name").unwrap_or_default(), c.get_str("image"))?;
        (service.is_jvm() && ctx.selects(service)).then_some((i, service))
    })?;
    let name = item.path_str(&["metadata", "name"])?;
    let host = name.strip_prefix("spin-").unwrap_or(name).to_owned();
    let namespace = item.path_str(&["metadata", "namespace"]).unwrap_or(&ctx.config.spec.namespace).to_owned();
    Some(JvmWorkload { service, name: name.to_owned(), host, namespace, container })
}

/// The peer a workload is for other services, when it is the service's main workload (not an HA split):
/// reached by its own name (`clouddriver`, or `spin-clouddriver` in a Halyard-shaped install).
pub fn as_peer(workload: &JvmWorkload) -> Option<Peer> {
    (workload.host == workload.service.name()).then(|| Peer {
        service: workload.service,
        host: workload.name.clone(),
        namespace: workload.namespace.clone(),
    })
}

/// Injects the truststore and mTLS into one workload; returns the Certificate it needs (if any).
pub fn inject(item: &mut Node, workload: &JvmWorkload, ctx: &Context, peers: &[Peer]) -> Option<Node> {
    let mtls = ctx.config.spec.mtls.enabled;
    let tls_secret = mtls.then(|| certs::tls_secret_name(&workload.host));
    let image = item
        .path(&["spec", "template", "spec", "containers"])
        .and_then(Node::as_sequence)
        .and_then(|c| c.get(workload.container))
        .and_then(|c| c.path_str(&["image"]))
        .unwrap_or_default()
        .to_owned();
    let mut injection = pod::pod_injection(ctx, &image, tls_secret.as_deref());
    if mtls {
        let others: Vec<Peer> = peers.iter().filter(|p| p.service != workload.service).cloned().collect();
        injection.env.extend(spring::as_env(&spring::mtls_settings(ctx, workload.service, &others)));
    }
    let hash = injection_hash(&injection);
    let pod = item.path_mut(&["spec", "template", "spec"]).and_then(Node::as_mapping_mut)?;
    sync(pod, "volumes", "name", &injection.volumes, |m| is_ours(m.get_str("name")));
    sync(pod, "initContainers", "name", &injection.init_containers, |m| is_ours(m.get_str("name")));
    let container = pod
        .get_mut("containers")
        .and_then(Node::as_sequence_mut)
        .and_then(|c| c.get_mut(workload.container))
        .and_then(Node::as_mapping_mut)
        .expect("jvm_workload found this container");
    let opts = pod::opts_env(workload.service);
    let user_opts =
        container.get_sequence("env").and_then(|e| e.find_by("name", &opts)).and_then(|e| e.get_str("value"));
    let mut env = injection.env.clone();
    env.extend(pod::jvm_options_env(workload.service, user_opts, &injection));
    let namespace = workload.namespace.as_str();
    sync(container, "env", "name", &env, |m| {
        let name = m.get_str("name").unwrap_or_default();
        name == pod::PASSWORD_ENV
            || name == opts
            || spring::is_tls_env(name)
            || spring::is_our_base_url(name, m.get_str("value"), namespace)
    });
    sync(container, "volumeMounts", "name", &injection.mounts, |m| is_ours(m.get_str("name")));
    if mtls {
        adapt_probes(container, ctx.config.spec.mtls.client_auth_for(workload.service), workload.service);
    }
    set_hash(item, hash.as_deref());
    tls_secret.map(|_| certs::certificate(ctx, &workload.host, &workload.namespace))
}

fn is_ours(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with("spinnaker-krm-"))
}

/// Makes the list `key` of `parent` hold `items` (matched by `field`), dropping entries that `managed`
/// claims but `items` no longer has. Other entries keep their place.
pub fn sync(parent: &mut Mapping, key: &str, field: &str, items: &[Node], managed: impl Fn(&Mapping) -> bool) {
    if items.is_empty() {
        // Nothing to add: touch the list only to drop a previous run's entries, and drop the list only
        // when that emptied it (a user's `env: ~` or `volumes: []` stays as written).
        let Some(list) = parent.get_mut(key).and_then(Node::as_sequence_mut) else { return };
        let before = list.len();
        list.retain(|n| !n.as_mapping().is_some_and(&managed));
        if before > 0 && list.is_empty() {
            parent.remove(key);
        }
        return;
    }
    let wanted: Vec<&str> = items.iter().filter_map(|i| i.as_mapping()?.get_str(field)).collect();
    let Some(list) = parent.sequence_entry(key) else { return };
    list.retain(|n| {
        let Some(m) = n.as_mapping() else { return true };
        !managed(m) || m.get_str(field).is_some_and(|name| wanted.contains(&name))
    });
    for item in items {
        list.upsert_by(field, item.clone());
    }
}

/// Probes under TLS: kubelet presents no client certificate, so under `need` an HTTP probe becomes a TCP
/// probe on the same port; under `want` it stays HTTP but over HTTPS.
fn adapt_probes(container: &mut Mapping, client_auth: ClientAuth, service: Service) {
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        let Some(probe) = container.get_mut(probe).and_then(Node::as_mapping_mut) else { continue };
        let http_port = probe.get("httpGet").and_then(|h| h.as_mapping()?.get("port").cloned());
        let port = http_port.unwrap_or_else(|| Node::int(i64::from(service.port())));
        let check = if probe.contains_key("httpGet") {
            "httpGet"
        } else if probe.contains_key("exec") {
            "exec"
        } else {
            continue;
        };
        match client_auth {
            ClientAuth::Need => probe.replace_entry(check, "tcpSocket", pod::map([("port", port)])),
            ClientAuth::Want if check == "httpGet" => {
                if let Some(http) = probe.get_mut("httpGet").and_then(Node::as_mapping_mut) {
                    http.insert_str("scheme", "HTTPS");
                }
            }
            ClientAuth::Want => {
                let path = exec_probe_path(probe).unwrap_or_else(|| "/health".to_owned());
                let http = pod::map([("path", pod::s(&path)), ("port", port), ("scheme", pod::s("HTTPS"))]);
                probe.replace_entry(check, "httpGet", http);
            }
        }
    }
}

/// The path of the URL an exec probe fetches (Halyard's `wget … http://localhost:8084/health`).
fn exec_probe_path(probe: &Mapping) -> Option<String> {
    let command = probe.get_mapping("exec")?.get_sequence("command")?;
    command.iter().filter_map(Node::as_str).find_map(|arg| {
        let rest = arg.strip_prefix("http://").or_else(|| arg.strip_prefix("https://"))?;
        Some(rest.find('/').map_or_else(|| "/".to_owned(), |at| rest[at..].to_owned()))
    })
}

/// A short, stable digest of what was injected.
pub fn injection_hash(injection: &PodInjection) -> Option<String> {
    if injection.is_empty() {
        return None;
    }
    let mut digest = sha2::Sha256::new();
    for group in [&injection.volumes, &injection.init_containers, &injection.mounts, &injection.env] {
        let seq: Sequence = group.iter().cloned().collect();
        digest.update(emit::to_string(&Node::Sequence(seq)).as_bytes());
        digest.update(b"\0");
    }
    digest.update(injection.jvm_options.as_deref().unwrap_or_default().as_bytes());
    let bytes = digest.finalize();
    Some(bytes.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

fn set_hash(item: &mut Node, hash: Option<&str>) {
    let Some(template) = item.path_mut(&["spec", "template"]).and_then(Node::as_mapping_mut) else { return };
    match hash {
        Some(hash) => {
            if !template.contains_key("metadata") {
                template.insert_at(0, "metadata", Node::Mapping(Mapping::new()));
            }
            if let Some(annotations) = template.mapping_entry("metadata").and_then(|m| m.mapping_entry("annotations")) {
                annotations.insert_str(HASH_ANNOTATION, hash);
            }
        }
        None => {
            if let Some(annotations) =
                template.get_mut("metadata").and_then(|m| m.path_mut(&["annotations"])).and_then(Node::as_mapping_mut)
            {
                annotations.remove(HASH_ANNOTATION);
            }
        }
    }
}
