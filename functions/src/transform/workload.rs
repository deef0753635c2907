//! Truststore and mTLS for a plain Deployment or StatefulSet (spinnaker-kustomize, kleat, Halyard-shaped
//! `spin-<svc>`): our volumes, init container, env and mounts are merged by name, so the user's own
//! entries (JAVA_OPTS, config volumes, other init containers) stay where they are; a previous run's
//! entries are updated in place or removed when the config no longer calls for them.
//!
//! Ownership is explicit: volumes, mounts and init containers named `spinnaker-krm-*` are ours, and the
//! env vars we set are listed in the pod-template annotation [`MANAGED_ENV_ANNOTATION`]. A variable of
//! the same name that the user set with another value is a conflict, reported, never overwritten. Probes
//! adapted to TLS keep the manifest's own in [`PROBES_ANNOTATION`], which every run adapts from.

use super::certs;
use super::pod::{self, PodInjection};
use super::spring::{self, Peer};
use super::Context;
use crate::config::{ClientAuth, Form};
use crate::service::{identify, Service};
use crate::yaml::{build, Mapping, Node, Scalar, Sequence, View};
use sha2::Digest;
use std::collections::{HashMap, HashSet};

/// The pod-template annotation whose value changes whenever what we inject changes, so pods roll.
pub const HASH_ANNOTATION: &str = "spinnaker-krm.dev/injection-hash";

/// The pod-template annotation listing the env vars of the service container that spinnaker-krm set.
pub const MANAGED_ENV_ANNOTATION: &str = "spinnaker-krm.dev/managed-env";

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

/// True when an object (a workload, a SpinnakerService) is in the install's namespace (or names none, as in
/// a kpt package before a namespace is set). A `keel` Deployment in another namespace is somebody else's keel.
pub fn in_scope(item: &Node, ctx: &Context) -> bool {
    item.path_str(&["metadata", "namespace"]).is_none_or(|ns| ns == ctx.config.spec.namespace)
}

/// The service container of a workload: the first of `containers` that runs a JVM service `selects`
/// accepts, with its index. Shared with `verify`, so both agree on what they look at.
pub fn service_container(item: &Node, selects: impl Fn(Service) -> bool) -> Option<(usize, Service)> {
    let containers = item.path(&["spec", "template", "spec", "containers"])?.as_sequence()?;
    containers.iter().enumerate().find_map(|(i, c)| {
        let c = c.as_mapping()?;
        let service = identify(c.get_str("name").unwrap_or_default(), c.get_str("image"))?;
        (service.is_jvm() && selects(service)).then_some((i, service))
    })
}

/// The JVM service of a Deployment/StatefulSet, when it runs one that the config selects.
pub fn jvm_workload(item: &Node, ctx: &Context) -> Option<JvmWorkload> {
    JvmWorkload::of(item, &ctx.config.spec)
}

impl JvmWorkload {
    /// The JVM service of a Deployment/StatefulSet under this config's allow-list (`verify` has no BOM,
    /// so this takes the spec alone).
    pub fn of(item: &Node, spec: &crate::config::Spec) -> Option<JvmWorkload> {
        let (container, service) = service_container(item, |s| spec.selects(s))?;
        let name = item.path_str(&["metadata", "name"])?;
        let host = name.strip_prefix("spin-").unwrap_or(name).to_owned();
        let namespace = item.path_str(&["metadata", "namespace"]).unwrap_or(&spec.namespace).to_owned();
        Some(JvmWorkload { service, name: name.to_owned(), host, namespace, container })
    }
}

/// The HA splits Spinnaker knows (Halyard's `haServices`), which other services call by their own keys.
const HA_SPLITS: &[&str] = &[
    "clouddriver-caching",
    "clouddriver-rw",
    "clouddriver-ro",
    "clouddriver-ro-deck",
    "echo-scheduler",
    "echo-worker",
];

/// The peer a workload is for other services, when it is one they call: the service's main workload or a
/// known HA split, reached by its own name (`clouddriver`, `spin-clouddriver` in a Halyard-shaped install)
/// under the key Spinnaker uses for it (`clouddriver`; `clouddriverRo` for `clouddriver-ro`). Other copies
/// (`gate-canary`) are nobody's endpoint.
pub fn as_peer(workload: &JvmWorkload) -> Option<Peer> {
    (workload.host == workload.service.name() || HA_SPLITS.contains(&workload.host.as_str())).then(|| Peer {
        service: workload.service,
        key: service_key(&workload.host),
        host: workload.name.clone(),
        namespace: workload.namespace.clone(),
        url_host: workload.name.clone(),
        port: workload.service.port(),
    })
}

/// Points `peer` at the Service of the input that selects `item`'s pods, when there is one: its name and the
/// port that targets the service container (issue 10: base URLs use the Services' ports, not Halyard's
/// defaults). A Service named like the workload wins over another that selects it.
pub fn use_service(peer: &mut Peer, item: &Node, services: &[&Node]) {
    let labels = item.path(&["spec", "template", "metadata", "labels"]).and_then(Node::as_mapping);
    let selects = |svc: &&&Node| {
        svc.path_str(&["metadata", "namespace"]).unwrap_or(&peer.namespace) == peer.namespace
            && svc.path(&["spec", "selector"]).and_then(Node::as_mapping).is_some_and(|selector| {
                !selector.is_empty()
                    && selector
                        .iter()
                        .all(|(k, v)| labels.and_then(|l| l.get_str(k.value())).is_some_and(|l| Some(l) == v.as_str()))
            })
    };
    let matching: Vec<&&Node> = services.iter().filter(selects).collect();
    let Some(service) = matching
        .iter()
        .find(|s| s.path_str(&["metadata", "name"]) == Some(peer.host.as_str()))
        .or_else(|| matching.first())
    else {
        return;
    };
    let Some(name) = service.path_str(&["metadata", "name"]) else { return };
    let container = item.path(&["spec", "template", "spec", "containers"]).and_then(Node::as_sequence).and_then(|c| {
        c.iter().find(|c| c.path_str(&["name"]).and_then(|n| identify(n, c.path_str(&["image"]))) == Some(peer.service))
    });
    let container_ports: Vec<(Option<i64>, Option<&str>)> = container
        .and_then(|c| c.path(&["ports"])?.as_sequence())
        .into_iter()
        .flat_map(|p| p.iter())
        .map(|p| (scalar(p, "containerPort").and_then(|n| n.parse().ok()), p.path_str(&["name"])))
        .collect();
    let ports: Vec<&Node> =
        service.path(&["spec", "ports"]).and_then(Node::as_sequence).into_iter().flat_map(|p| p.iter()).collect();
    let port_of = |p: &Node| scalar(p, "port").and_then(|n| n.parse::<u16>().ok());
    let targets = |p: &&Node| {
        let target = scalar(p, "targetPort").or_else(|| scalar(p, "port")).unwrap_or_default();
        match target.parse::<i64>() {
            Ok(number) => {
                container_ports.iter().any(|(n, _)| *n == Some(number)) || number == i64::from(peer.service.port())
            }
            Err(_) => container_ports.iter().any(|(_, n)| *n == Some(target)),
        }
    };
    let only = if ports.len() == 1 { ports.first().copied() } else { None };
    let port = ports.iter().copied().find(targets).or(only).and_then(port_of);
    if let Some(port) = port {
        peer.url_host = name.to_owned();
        peer.port = port;
    }
}

/// A scalar's text, whatever YAML would read it as (`port: 8084` and `port: "8084"`).
fn scalar<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.path(&[key]).and_then(Node::as_scalar).map(Scalar::value)
}

/// The key under `services.` for a workload named `host` (without `spin-`): `clouddriver-ro` → `clouddriverRo`.
pub fn service_key(host: &str) -> String {
    let mut key = String::new();
    for (i, word) in host.split('-').enumerate() {
        let mut chars = word.chars();
        match (i, chars.next()) {
            (0, _) => key.push_str(word),
            (_, Some(first)) => {
                key.extend(first.to_uppercase());
                key.push_str(chars.as_str());
            }
            (_, None) => {}
        }
    }
    key
}

/// The parts of an injection that many workloads share, built once per run and copied for each: the
/// truststore (its image is set in each copy), the mTLS settings of one service (a large install runs many
/// workloads of a service, and building these nodes cost more than parsing and writing the workload), and
/// the Certificate every workload gets but for its names. A shared part carries its digest, so the
/// injection hash of a workload reads its own parts only, and shares its text with its copies. A part
/// only one workload uses (an install with one workload per service) is built for it directly.
pub struct Memo {
    /// How many workloads may use each part (counted before the run; a workload that fails uses none).
    truststore_uses: HashMap<bool, usize>,
    env_uses: HashMap<EnvKey, usize>,
    workloads: usize,
    truststore: HashMap<bool, Digested>,
    /// A service's mTLS env, as an injection of env only.
    mtls_env: HashMap<EnvKey, Digested>,
    /// Env entries by setting: most mTLS settings are the same for every service (an install with one
    /// workload per service builds each service's env once, from these).
    env_entries: HashMap<(String, spring::Value), Node>,
    certificate: Option<certs::CertificateTemplate>,
    tls: Option<TlsTemplate>,
}

/// The TLS part of an injection ([`pod::tls_injection`]) is the same for every workload but for the Secret
/// its volume names, the last scalar of its first node: built once, and its digest split around that name
/// (the digest's state before it, the bytes after it), so a workload hashes its Secret's name alone and
/// gets the digest [`injection_digest`] gives.
struct TlsTemplate {
    injection: PodInjection,
    before: sha2::Sha256,
    after: Vec<u8>,
}

impl TlsTemplate {
    fn new(ctx: &Context, secret: &str) -> Self {
        let mut injection = pod::tls_injection(ctx, secret);
        injection.share();
        let (mut all, mut head, mut name) = (Vec::new(), Vec::new(), Vec::new());
        feed_injection(&mut all, &injection);
        hash_length(&mut head, 1);
        hash_node(&mut head, &injection.volumes[0]);
        hash_scalar(&mut name, secret_scalar(&injection.volumes[0]).expect("tls_volume names its Secret"));
        assert!(injection.volumes.len() == 1 && all.starts_with(&head) && head.ends_with(&name));
        let mut before = sha2::Sha256::new();
        before.update(&head[..head.len() - name.len()]);
        TlsTemplate { before, after: all[head.len()..].to_vec(), injection }
    }

    /// What `pod::tls_injection(ctx, secret)` builds, and its `injection_digest`.
    fn for_secret(&self, secret: &str) -> (PodInjection, [u8; 32]) {
        let mut injection = self.injection.clone();
        injection.volumes[0] = pod::tls_volume(secret);
        let mut digest = self.before.clone();
        hash_scalar(&mut digest, secret_scalar(&injection.volumes[0]).expect("tls_volume names its Secret"));
        digest.update(&self.after);
        (injection, digest.finalize().into())
    }
}

fn secret_scalar(volume: &Node) -> Option<&Scalar> {
    volume.path(&["secret", "secretName"]).and_then(Node::as_scalar)
}

/// A service's mTLS env is the same for its workloads but for the peer a workload itself is, which is left
/// out of its peers: by service and that peer.
type EnvKey = (Service, Option<usize>);

/// Whether a workload's pod sets runAsUser (the truststore's init container then runs as that user).
pub fn inherits_user(item: &Node) -> bool {
    item.path(&["spec", "template", "spec", "securityContext", "runAsUser"]).is_some()
}

fn env_key(workload: &JvmWorkload, peers: &[Peer]) -> EnvKey {
    (workload.service, peers.iter().position(|p| p.host == workload.name))
}

impl Memo {
    /// A memo for `workloads` (the JVM workloads the run will inject into, each with whether its pod sets
    /// runAsUser: [`inherits_user`]).
    pub fn for_workloads<'a>(workloads: impl IntoIterator<Item = (bool, &'a JvmWorkload)>, peers: &[Peer]) -> Self {
        let mut memo = Memo {
            truststore_uses: HashMap::new(),
            env_uses: HashMap::new(),
            workloads: 0,
            truststore: HashMap::new(),
            mtls_env: HashMap::new(),
            env_entries: HashMap::new(),
            certificate: None,
            tls: None,
        };
        for (inherit_user, workload) in workloads {
            memo.workloads += 1;
            *memo.truststore_uses.entry(inherit_user).or_default() += 1;
            *memo.env_uses.entry(env_key(workload, peers)).or_default() += 1;
        }
        memo
    }
}

/// The env entries of `settings`, each built once per run (kept in `entries`).
fn env_of(entries: &mut HashMap<(String, spring::Value), Node>, settings: spring::Settings) -> Vec<Node> {
    use std::collections::hash_map::Entry;
    let env = settings.into_iter().map(|setting| match entries.entry(setting) {
        Entry::Occupied(entry) => entry.get().clone(),
        Entry::Vacant(entry) => {
            let (property, value) = entry.key();
            let mut node = spring::env_entry(property, value);
            node.share();
            entry.insert(node).clone()
        }
    });
    env.collect()
}

/// A shared part of an injection with its digest (see [`injection_digest`]); its text is shared with
/// its copies.
struct Digested {
    value: PodInjection,
    digest: [u8; 32],
}

/// The part at `key` and its digest: built once and shared when more than one workload uses it (`uses`),
/// else built for this workload alone.
fn part<K: std::hash::Hash + Eq>(
    parts: &mut HashMap<K, Digested>,
    uses: &HashMap<K, usize>,
    key: K,
    build: impl FnOnce() -> PodInjection,
) -> (PodInjection, [u8; 32]) {
    if uses.get(&key).is_some_and(|&n| n > 1) {
        let part = parts.entry(key).or_insert_with(|| {
            let mut value = build();
            value.share();
            Digested { digest: injection_digest(&value), value }
        });
        (part.value.clone(), part.digest)
    } else {
        let value = build();
        let digest = injection_digest(&value);
        (value, digest)
    }
}

/// Injects the truststore and mTLS into one workload; returns the Certificate it needs (if any). A part
/// of the pod that has the wrong shape, or an env var the user set that we would have to overwrite, is
/// reported and nothing of the workload is changed.
pub fn inject(
    item: &mut Node,
    workload: &JvmWorkload,
    ctx: &Context,
    peers: &[Peer],
    memo: &mut Memo,
    report: &mut impl FnMut(String, String),
) -> Option<Node> {
    let mtls = ctx.config.spec.mtls.enabled;
    let tls_secret = mtls.then(|| certs::tls_secret_name(&workload.host));
    let at = |rest: &str| format!("spec.template.spec.containers[{}].{rest}", workload.container);
    let image = item
        .path(&["spec", "template", "spec", "containers"])
        .and_then(Node::as_sequence)
        .and_then(|c| c.get(workload.container))
        .and_then(|c| c.path_str(&["image"]))
        .unwrap_or_default()
        .to_owned();
    let inherit_user = inherits_user(item);
    // pod::pod_injection, from the parts shared by every workload of an image or service. The injection
    // hash is the digest of the parts' digests.
    let mut parts = sha2::Sha256::new();
    let (mut injection, digest) = part(&mut memo.truststore, &memo.truststore_uses, inherit_user, || {
        pod::truststore_injection(ctx, "", inherit_user)
    });
    parts.update(digest);
    pod::set_image(&mut injection, &image);
    hash_text(&mut parts, &image);
    pod::set_default_cacerts(&mut injection, ctx, workload.service);
    hash_text(&mut parts, ctx.config.spec.truststore.default_cacerts_for(workload.service).unwrap_or_default());
    if let Some(secret) = &tls_secret {
        let (tls, digest) = if memo.workloads > 1 {
            memo.tls.get_or_insert_with(|| TlsTemplate::new(ctx, secret)).for_secret(secret)
        } else {
            let tls = pod::tls_injection(ctx, secret);
            let digest = injection_digest(&tls);
            (tls, digest)
        };
        parts.update(digest);
        injection.extend(tls);
    }
    if mtls {
        let entries = &mut memo.env_entries;
        let (env, digest) = part(&mut memo.mtls_env, &memo.env_uses, env_key(workload, peers), || {
            let others: Vec<Peer> = peers.iter().filter(|p| p.host != workload.name).cloned().collect();
            let env = env_of(entries, spring::mtls_settings(ctx, workload.service, &others));
            PodInjection { env, ..PodInjection::default() }
        });
        parts.update(digest);
        injection.extend(env);
    }
    let injected = (!injection.is_empty()).then(|| short_hex(parts));
    // Everything is checked before anything is changed, so a problem leaves the workload as it was.
    if let Some((field, message)) = metrics_sidecar_problem(item, ctx, workload.service) {
        report(field, message);
        return None;
    }
    let previous = managed_env(item);
    let previous_probes =
        item.path_str(&["spec", "template", "metadata", "annotations", PROBES_ANNOTATION]).map(str::to_owned);
    let pod = item.path(&["spec", "template", "spec"]).and_then(Node::as_mapping)?;
    let shaped = |key: &str, m: &Mapping| m.get(key).is_none_or(|n| n.is_null() || n.as_sequence().is_some());
    for key in ["volumes", "initContainers"] {
        if !shaped(key, pod) {
            report(format!("spec.template.spec.{key}"), "is not a list; make it one".to_owned());
            return None;
        }
    }
    let container = pod
        .get_sequence("containers")
        .and_then(|c| c.get(workload.container))
        .and_then(Node::as_mapping)
        .expect("jvm_workload found this container");
    for key in ["env", "volumeMounts"] {
        if !shaped(key, container) {
            report(at(key), "is not a list; make it one".to_owned());
            return None;
        }
    }
    let opts = pod::opts_env(workload.service);
    let user_opts =
        container.get_sequence("env").and_then(|e| e.find_by("name", &opts)).and_then(|e| e.get_str("value"));
    let opts_entry = pod::jvm_options_env(workload.service, user_opts, &injection);
    // An `<SVC>_OPTS` holding nothing of the user's is ours alone: it goes, and comes back after the user's env.
    let opts_ours = pod::merge_jvm_options(user_opts, None).is_none();
    // The container's env by name, read once: every injected variable is looked up in it.
    let env_names = env_names(container);
    // Listed: the variables this run adds. One the user already set to the same value stays the user's.
    let users = |name: &str| name != pod::PASSWORD_ENV && !previous.contains(name) && env_names.contains(&Some(name));
    let wanted: Vec<&str> =
        injection.env.iter().filter_map(|e| e.path_str(&["name"])).filter(|name| !users(name)).collect();
    let listed = (!wanted.is_empty()).then(|| wanted.join(","));
    let conflicts: Vec<String> = env_conflicts(container, &env_names, &injection.env, &previous);
    if !conflicts.is_empty() {
        report(
            at("env"),
            format!(
                "{} already set by the manifest; spinnaker-krm sets them for {}'s truststore and mTLS: remove them, or leave {} out of {}",
                conflicts.join(", "),
                workload.service.name(),
                workload.service.name(),
                ctx.config.form.name("spec.services")
            ),
        );
        return None;
    }
    let mut env = injection.env;
    env.extend(opts_entry);
    let pod = item.path_mut(&["spec", "template", "spec"]).and_then(Node::as_mapping_mut).expect("checked above");
    sync(pod, "volumes", "name", injection.volumes, |m| is_ours(m.get_str("name")));
    sync(pod, "initContainers", "name", injection.init_containers, |m| is_ours(m.get_str("name")));
    let container = pod
        .get_mut("containers")
        .and_then(Node::as_sequence_mut)
        .and_then(|c| c.get_mut(workload.container))
        .and_then(Node::as_mapping_mut)
        .expect("checked above");
    sync(container, "env", "name", env, |m| {
        let name = m.get_str("name").unwrap_or_default();
        name == pod::PASSWORD_ENV || (name == opts && opts_ours) || previous.contains(name)
    });
    if let Some(list) = container.get_mut("env").and_then(Node::as_sequence_mut) {
        password_first(list);
    }
    sync(container, "volumeMounts", "name", injection.mounts, |m| is_ours(m.get_str("name")));
    // Probes are adapted from the manifest's own (kept in PROBES_ANNOTATION the first time they change), so a
    // later run with another clientAuth, or with mTLS off, starts from what the user wrote.
    let mut originals = original_probes(&previous_probes);
    // A service that serves plain HTTP (gate, by default) keeps the manifest's own probes.
    let client_auth = (mtls && ctx.config.spec.mtls.serves_tls(workload.service))
        .then(|| ctx.config.spec.mtls.client_auth_for(workload.service));
    restore_probes(container, &originals, client_auth, workload.service);
    if let Some(client_auth) = client_auth {
        let before = probes_of(container);
        adapt_probes(container, client_auth, workload.service);
        for (name, probe) in before {
            if container.get(name) != Some(&probe) {
                originals.entry(name.to_owned()).or_insert(probe);
            }
        }
    } else {
        originals.clear();
    }
    // A probe this run leaves as the manifest had it (one already adapted: `scheme: HTTPS` under want) has
    // nothing to restore, as on a first run.
    originals.retain(|name, original| container.get(name).is_some_and(|probe| !probe.same_json(original)));
    let recorded = (!originals.is_empty()).then(|| {
        // A probe is a few hundred bytes of JSON.
        let mut record = String::with_capacity(512 * originals.len());
        record.push('{');
        for (i, (name, probe)) in originals.iter().enumerate() {
            if i > 0 {
                record.push(',');
            }
            push_json_string(&mut record, name);
            record.push(':');
            write_json(&mut record, probe);
        }
        record.push('}');
        record
    });
    let hash = injected.unwrap_or_else(|| images_hash(item));
    set_annotation(item, HASH_ANNOTATION, Some(&hash));
    set_annotation(item, MANAGED_ENV_ANNOTATION, listed.as_deref());
    set_annotation(item, PROBES_ANNOTATION, recorded.as_deref());
    // The name callers use, when the input's Service for the workload has another name.
    let also = peers.iter().find(|p| p.host == workload.name && p.url_host != p.host).map(|p| p.url_host.as_str());
    tls_secret.map(|_| {
        if memo.workloads > 1 {
            let template = memo.certificate.get_or_insert_with(|| certs::CertificateTemplate::new(ctx));
            template.for_workload(&workload.host, &workload.namespace, also)
        } else {
            certs::certificate(ctx, &workload.host, &workload.namespace, also)
        }
    })
}

/// Takes back everything a previous run injected into a workload this run injects nothing into (its service
/// left out of `spec.services`): our volumes, init container, mounts, env and `<SVC>_OPTS` options go, the
/// manifest's own probes come back, and the annotations that recorded them go. The user's entries stay.
pub fn undo(item: &mut Node) {
    let previous = managed_env(item);
    let recorded =
        item.path_str(&["spec", "template", "metadata", "annotations", PROBES_ANNOTATION]).map(str::to_owned);
    let originals = original_probes(&recorded);
    let container = service_container(item, |_| true).map(|(index, service)| (index, pod::opts_env(service)));
    let Some(pod) = item.path_mut(&["spec", "template", "spec"]).and_then(Node::as_mapping_mut) else { return };
    for key in ["volumes", "initContainers"] {
        sync(pod, key, "name", Vec::new(), |m| is_ours(m.get_str("name")));
    }
    let service_container = container.and_then(|(index, opts)| {
        let c = pod.get_mut("containers")?.as_sequence_mut()?.get_mut(index)?.as_mapping_mut()?;
        Some((c, opts))
    });
    if let Some((container, opts)) = service_container {
        sync(container, "volumeMounts", "name", Vec::new(), |m| is_ours(m.get_str("name")));
        if let Some(entry) =
            container.get_mut("env").and_then(Node::as_sequence_mut).and_then(|e| e.find_by_mut("name", &opts))
        {
            let value = entry.get_str("value").filter(|v| pod::has_our_jvm_options(v)).map(str::to_owned);
            if let Some(value) = value {
                match pod::merge_jvm_options(Some(&value), None) {
                    Some(user) => entry.insert_str("value", &user),
                    None => entry.insert_str("value", ""),
                }
            }
        }
        sync(container, "env", "name", Vec::new(), |m| {
            let name = m.get_str("name").unwrap_or_default();
            name == pod::PASSWORD_ENV || previous.contains(name) || (name == opts && m.get_str("value") == Some(""))
        });
        for (name, original) in originals {
            if container.contains_key(&name) {
                container.insert(&name, original);
            }
        }
    }
    set_annotation(item, MANAGED_ENV_ANNOTATION, None);
    set_annotation(item, PROBES_ANNOTATION, None);
}

/// The pod-template annotation holding, as JSON, the probes of the service container as the manifest had them
/// before spinnaker-krm adapted them to TLS (so they can be restored).
pub const PROBES_ANNOTATION: &str = "spinnaker-krm.dev/original-probes";

const PROBES: [&str; 3] = ["readinessProbe", "livenessProbe", "startupProbe"];

/// The container's probes, by name.
fn probes_of(container: &Mapping) -> Vec<(&'static str, Node)> {
    PROBES.iter().filter_map(|name| Some((*name, container.get(name)?.clone()))).collect()
}

/// Appends `node` as JSON with its keys in their order (a probe restored from it reads as the manifest wrote
/// it) to `out`.
fn write_json(out: &mut String, node: &Node) {
    match node.view() {
        View::Scalar(scalar) => match scalar.json_string() {
            Some(text) => push_json_string(out, text),
            None => out.push_str(&node.to_json().to_string()),
        },
        View::Mapping(mapping) => {
            out.push('{');
            for (i, (k, v)) in mapping.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, k.value());
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
        View::Sequence(sequence) => {
            out.push('[');
            for (i, item) in sequence.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
    }
}

/// Appends `text` as a JSON string, exactly as serde_json writes it: quoted as it is when nothing in it
/// needs an escape (the common case: names, images, paths), else by serde_json.
pub(super) fn push_json_string(out: &mut String, text: &str) {
    if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(&serde_json::Value::String(text.to_owned()).to_string());
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

/// The probes a previous run recorded (JSON is YAML, so the parser reads it).
fn original_probes(recorded: &Option<String>) -> std::collections::BTreeMap<String, Node> {
    let Some(text) = recorded else { return Default::default() };
    let Ok(mut docs) = crate::yaml::parse_stream(text, Default::default()) else { return Default::default() };
    let Some(Node::Mapping(map)) = docs.pop() else { return Default::default() };
    map.iter()
        .filter(|(name, probe)| PROBES.contains(&name.value()) && probe.as_mapping().is_some())
        .map(|(name, probe)| (name.value().to_owned(), as_written(probe)))
        .collect()
}

/// A node read back from JSON written as a manifest would be: strings plain where that is safe (the JSON
/// quotes every key and string), block collections. Numbers and booleans are plain already.
pub(super) fn as_written(node: &Node) -> Node {
    match node.view() {
        View::Scalar(scalar) => match scalar.as_str() {
            Some(text) => Node::string(text),
            None => node.clone(),
        },
        View::Mapping(mapping) => {
            let entries: Vec<(&str, Node)> = mapping.iter().map(|(k, v)| (k.value(), as_written(v))).collect();
            Node::Mapping(entries.into_iter().collect())
        }
        View::Sequence(sequence) => Node::Sequence(sequence.iter().map(as_written).collect()),
    }
}

/// Puts a recorded probe back when the container's is not what adapting it under `client_auth` (None: mTLS
/// off) gives, compared by meaning: a probe already adapted the same way stays as it is, byte for byte.
fn restore_probes(
    container: &mut Mapping,
    originals: &std::collections::BTreeMap<String, Node>,
    client_auth: Option<ClientAuth>,
    service: Service,
) {
    for (name, original) in originals {
        let Some(current) = container.get(name) else { continue };
        let mut expected: Mapping = [(name.as_str(), original.clone())].into_iter().collect();
        if let Some(client_auth) = client_auth {
            adapt_probes(&mut expected, client_auth, service);
        }
        if expected.get(name).map(Node::to_json) != Some(current.to_json()) {
            container.insert(name, original.clone());
        }
    }
}

/// The env vars a previous run set, from its annotation (a set: the annotation is user-sized input, and
/// every env entry is looked up in it).
fn managed_env(item: &Node) -> HashSet<String> {
    item.path_str(&["spec", "template", "metadata", "annotations", MANAGED_ENV_ANNOTATION])
        .map(|v| v.split(',').filter(|n| !n.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The `name` of each entry of the container's env, in order (what `position_by("name", …)` reads).
fn env_names(container: &Mapping) -> Vec<Option<&str>> {
    let env = container.get_sequence("env").map(|e| e.iter()).into_iter().flatten();
    env.map(|n| n.as_mapping().and_then(|m| m.get_str("name"))).collect()
}

/// Names of `wanted` env vars the container already has with another value, set by the user (not by a
/// previous run).
fn env_conflicts(
    container: &Mapping,
    env_names: &[Option<&str>],
    wanted: &[Node],
    previous: &HashSet<String>,
) -> Vec<String> {
    let Some(env) = container.get_sequence("env") else { return Vec::new() };
    wanted
        .iter()
        .filter_map(|w| {
            let name = w.path_str(&["name"])?;
            let existing = env_names.iter().position(|n| *n == Some(name)).and_then(|i| env.get(i))?;
            let ours = name == pod::PASSWORD_ENV || previous.contains(name);
            (!ours && existing != w).then(|| name.to_owned())
        })
        .collect()
}

/// Moves the password variable before the first variable that refers to it as `$(…)`: Kubernetes expands
/// a reference only to a variable defined earlier in the list.
fn password_first(env: &mut Sequence) {
    let reference = format!("$({})", pod::PASSWORD_ENV);
    let Some(password) = env.position_by("name", pod::PASSWORD_ENV) else { return };
    let first_use = env.iter().position(|e| e.path_str(&["value"]).is_some_and(|v| v.contains(&reference)));
    if let Some(first_use) = first_use.filter(|&u| u < password) {
        let node = env.remove(password);
        env.insert(first_use, node);
    }
}

fn is_ours(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with("spinnaker-krm-"))
}

/// Makes the list `key` of `parent` hold `items` (matched by `field`): the entries `managed` claims (a
/// previous run's) go, and `items` are put in place of the user's entries of the same name or appended in
/// their order, as on a first run, so that a re-render with another config is a fresh render. Other entries
/// keep their place. The caller has checked that `key` is a list when present.
pub fn sync(parent: &mut Mapping, key: &str, field: &str, items: Vec<Node>, managed: impl Fn(&Mapping) -> bool) {
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
    let Some(list) = parent.sequence_entry(key) else { return };
    list.retain(|n| !n.as_mapping().is_some_and(&managed));
    list.upsert_all_by(field, items);
}

/// Probes under TLS: kubelet presents no client certificate, so under `need` an HTTP or exec probe (and a
/// TCP readiness probe on the main port, what earlier versions wrote) becomes an HTTP probe of `/health` on
/// the plain management port ([`spring::MANAGEMENT_PORT`]): readiness reflects Spring's health. Under `want`
/// it stays HTTP but over HTTPS.
fn adapt_probes(container: &mut Mapping, client_auth: ClientAuth, service: Service) {
    for name in ["readinessProbe", "livenessProbe", "startupProbe"] {
        let Some(probe) = container.get_mut(name).and_then(Node::as_mapping_mut) else { continue };
        let http_port = probe.get("httpGet").and_then(|h| h.as_mapping()?.get("port").cloned());
        let port = http_port.unwrap_or_else(|| Node::int(i64::from(service.port())));
        let main_port_tcp = name == "readinessProbe"
            && probe.get("tcpSocket").and_then(|t| scalar(t, "port")) == Some(service.port().to_string().as_str());
        let check = if probe.contains_key("httpGet") {
            "httpGet"
        } else if probe.contains_key("exec") {
            "exec"
        } else if main_port_tcp && client_auth == ClientAuth::Need {
            "tcpSocket"
        } else {
            continue;
        };
        match client_auth {
            ClientAuth::Need => {
                let health = build::map([
                    ("path", build::s("/health")),
                    ("port", Node::int(i64::from(spring::MANAGEMENT_PORT))),
                    ("scheme", build::s("HTTP")),
                ]);
                probe.replace_entry(check, "httpGet", health)
            }
            ClientAuth::Want if check == "httpGet" => {
                if let Some(http) = probe.get_mut("httpGet").and_then(Node::as_mapping_mut) {
                    http.insert_str("scheme", "HTTPS");
                }
            }
            ClientAuth::Want => {
                let path = exec_probe_path(probe).unwrap_or_else(|| "/health".to_owned());
                let http = build::map([("path", build::s(&path)), ("port", port), ("scheme", build::s("HTTPS"))]);
                probe.replace_entry(check, "httpGet", http);
            }
        }
    }
}

/// The reason a workload cannot run under `need`: a monitoring-daemon sidecar reads
/// `https://localhost:<port>/spectator/metrics` with no client certificate, and that endpoint is on the main
/// port (see [`spring::MANAGEMENT_PORT`]).
pub fn metrics_sidecar_problem(item: &Node, ctx: &Context, service: Service) -> Option<(String, String)> {
    if !ctx.config.spec.mtls.serves_tls(service) || ctx.config.spec.mtls.client_auth_for(service) != ClientAuth::Need {
        return None;
    }
    let containers = item.path(&["spec", "template", "spec", "containers"])?.as_sequence()?;
    let index = containers.iter().position(|c| {
        c.path_str(&["image"]).is_some_and(|i| crate::service::split_image(i).name() == "monitoring-daemon")
    })?;
    Some((format!("spec.template.spec.containers[{index}].image"), monitoring_daemon_message(service, ctx.config.form)))
}

/// What to do when a monitoring-daemon would read `service`'s metrics under `need`, in the user's `form`.
pub fn monitoring_daemon_message(service: Service, form: Form) -> String {
    let field = if service == Service::Gate { "spec.mtls.gateClientAuth" } else { "spec.mtls.clientAuth" };
    format!(
        "the monitoring-daemon sidecar reads https://localhost:{}/spectator/metrics without a client certificate, and \
         {} requires one there (clientAuth need; the metrics endpoint is on the main port, not the management port): \
         set {}, remove the monitoring-daemon sidecar, or leave {} out of {}",
        service.port(),
        service.name(),
        form.setting(field, "want"),
        service.name(),
        form.name("spec.services")
    )
}

/// The path of the URL an exec probe fetches (Halyard's `wget … http://localhost:8084/health`).
fn exec_probe_path(probe: &Mapping) -> Option<String> {
    let command = probe.get_mapping("exec")?.get_sequence("command")?;
    command.iter().filter_map(Node::as_str).find_map(|arg| {
        let rest = arg.strip_prefix("http://").or_else(|| arg.strip_prefix("https://"))?;
        Some(rest.find('/').map_or_else(|| "/".to_owned(), |at| rest[at..].to_owned()))
    })
}

/// A short, stable digest of what was injected (the pinned image is inside the init container or, with
/// nothing injected, hashed on its own by the caller). The nodes are hashed by what they mean to a reader
/// (see [`hash_node`]), not by writing them out as YAML first.
pub fn injection_hash(injection: &PodInjection) -> Option<String> {
    (!injection.is_empty()).then(|| {
        let mut digest = sha2::Sha256::new();
        digest.update(injection_digest(injection));
        short_hex(digest)
    })
}

/// The full digest of an injection's nodes and JVM options.
fn injection_digest(injection: &PodInjection) -> [u8; 32] {
    let mut digest = sha2::Sha256::new();
    feed_injection(&mut digest, injection);
    digest.finalize().into()
}

fn feed_injection(digest: &mut impl Feed, injection: &PodInjection) {
    for group in [&injection.volumes, &injection.init_containers, &injection.mounts, &injection.env] {
        hash_length(digest, group.len());
        for node in group {
            hash_node(digest, node);
        }
    }
    hash_text(digest, injection.jvm_options.as_deref().unwrap_or_default());
}

/// Feeds a node into a digest: every scalar's value, tag and quoted-or-plain nature (what [`Node`]'s
/// equality compares), every key, and every collection's length and tag, each with a kind byte and
/// length-prefixed so that no two different trees feed the same bytes. The framing is a few bytes per
/// scalar: the digest's cost is the bytes it reads.
fn hash_node(digest: &mut impl Feed, node: &Node) {
    match node.view() {
        View::Scalar(scalar) => hash_scalar(digest, scalar),
        View::Mapping(mapping) => {
            hash_tagged(digest, b'm', mapping.tag());
            hash_length(digest, mapping.len());
            for (key, value) in mapping.iter() {
                hash_scalar(digest, key);
                hash_node(digest, value);
            }
        }
        View::Sequence(sequence) => {
            hash_tagged(digest, b's', sequence.tag());
            hash_length(digest, sequence.len());
            for item in sequence.iter() {
                hash_node(digest, item);
            }
        }
    }
}

fn hash_scalar(digest: &mut impl Feed, scalar: &Scalar) {
    hash_tagged(digest, if scalar.is_plain() { b'p' } else { b'q' }, scalar.tag());
    hash_text(digest, scalar.value());
}

/// A kind byte, upper case when a tag follows.
fn hash_tagged(digest: &mut impl Feed, kind: u8, tag: Option<&str>) {
    match tag {
        None => digest.feed(&[kind]),
        Some(tag) => {
            digest.feed(&[kind.to_ascii_uppercase()]);
            hash_text(digest, tag);
        }
    }
}

/// A length in LEB128: one byte below 128.
fn hash_length(digest: &mut impl Feed, length: usize) {
    let mut rest = length as u64;
    let mut bytes = [0u8; 10];
    let mut n = 0;
    loop {
        let low = (rest & 0x7f) as u8;
        rest >>= 7;
        bytes[n] = if rest == 0 { low } else { low | 0x80 };
        n += 1;
        if rest == 0 {
            break;
        }
    }
    digest.feed(&bytes[..n]);
}

fn hash_text(digest: &mut impl Feed, text: &str) {
    hash_length(digest, text.len());
    digest.feed(text.as_bytes());
}

/// Where the digest's bytes go: the digest itself, or a buffer of them (see [`TlsTemplate`]).
trait Feed {
    fn feed(&mut self, bytes: &[u8]);
}

impl Feed for sha2::Sha256 {
    fn feed(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

impl Feed for Vec<u8> {
    fn feed(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// The hash of a workload that got nothing but pins: its images.
pub fn images_hash(item: &Node) -> String {
    let images = super::pin::images(item);
    digest(&images.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Sets (or, with `None`, removes) a pod-template annotation.
pub fn set_annotation(item: &mut Node, key: &str, value: Option<&str>) {
    let Some(template) = item.path_mut(&["spec", "template"]).and_then(Node::as_mapping_mut) else { return };
    match value {
        Some(value) => {
            if !template.contains_key("metadata") {
                template.insert_at(0, "metadata", Node::Mapping(Mapping::new()));
            }
            if let Some(annotations) = template.mapping_entry("metadata").and_then(|m| m.mapping_entry("annotations")) {
                annotations.insert_str(key, value);
            }
        }
        None => {
            if let Some(annotations) =
                template.get_mut("metadata").and_then(|m| m.path_mut(&["annotations"])).and_then(Node::as_mapping_mut)
            {
                annotations.remove(key);
            }
        }
    }
}

/// A short, stable digest of text.
pub fn digest(parts: &[&str]) -> String {
    let mut digest = sha2::Sha256::new();
    for part in parts {
        digest.update(part.as_bytes());
        digest.update(b"\0");
    }
    short_hex(digest)
}

/// The first 8 bytes of a digest, in hex: enough to tell injections apart, short enough for an annotation.
fn short_hex(digest: sha2::Sha256) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    digest.finalize().iter().take(8).fold(String::with_capacity(16), |mut hex, b| {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bom::Bom;
    use crate::config::SpinnakerPlatform;
    use crate::transform::{apply, Context};
    use crate::yaml::build::{map, s};
    use crate::yaml::{parse_stream, to_string, Limits};

    /// The gate Deployment of spinnaker-kustomize, named `name`.
    fn gate(name: &str) -> Node {
        let text = include_str!("../../../tests/fixtures/spinnaker-kustomize/base/gate/deployment.yml");
        let mut item = parse_stream(text, Limits::default()).unwrap().remove(0);
        item.path_mut(&["metadata"]).and_then(Node::as_mapping_mut).unwrap().insert_str("name", name);
        item
    }

    /// Each item's output after a run over all of `items`.
    fn rendered(items: Vec<Node>, mtls: bool) -> Vec<String> {
        let bom = Bom::parse(include_str!("../../../tests/fixtures/bom/1.27.0.yml"), "bom/1.27.0.yml").unwrap();
        let config = format!(
            "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {{name: s}}\nspec:\n  \
             bom: {{version: 1.27.0}}\n  mtls: {{enabled: {mtls}}}\n"
        );
        let config = SpinnakerPlatform::from_function_config(&parse_stream(&config, Limits::default()).unwrap()[0]);
        let config = config.unwrap();
        let mut items = items;
        apply(&mut items, &Context { config: &config, bom: &bom }).unwrap();
        items.iter().map(to_string).collect()
    }

    #[test]
    fn a_workload_renders_the_same_alone_and_beside_others_that_share_its_parts() {
        // Alone, every part is built for the workload; beside copies of its service, the truststore, the
        // mTLS env and the Certificate are built once and copied. The result, hash included, is the same.
        for mtls in [false, true] {
            let alone = rendered(vec![gate("gate-canary")], mtls);
            let beside = rendered(vec![gate("gate-canary"), gate("gate-blue"), gate("gate-green")], mtls);
            assert!(alone[0].contains(HASH_ANNOTATION), "{}", alone[0]);
            assert_eq!(alone[0], beside[0], "mTLS {mtls}");
            let certificate = |out: &[String]| out.iter().find(|o| o.contains("name: gate-canary-mtls")).cloned();
            assert_eq!(certificate(&alone), certificate(&beside), "mTLS {mtls}");
            assert_eq!(certificate(&alone).is_some(), mtls);
        }
    }

    #[test]
    fn the_tls_part_copied_from_its_template_is_what_is_built_for_the_workload() {
        let bom = Bom::parse(include_str!("../../../tests/fixtures/bom/1.27.0.yml"), "bom/1.27.0.yml").unwrap();
        let config = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec:\n  \
                      bom: {version: 1.27.0}\n  mtls: {enabled: true}\n";
        let config = SpinnakerPlatform::from_function_config(&parse_stream(config, Limits::default()).unwrap()[0]);
        let config = config.unwrap();
        let ctx = Context { config: &config, bom: &bom };
        let template = TlsTemplate::new(&ctx, "gate-mtls");
        // Names of other lengths and styles (a quoted one: `true`) than the template's.
        for secret in ["gate-mtls", "clouddriver-ro-deck-mtls", "x", "true", "1e3", ""] {
            let built = pod::tls_injection(&ctx, secret);
            let (copied, digest) = template.for_secret(secret);
            assert_eq!(digest, injection_digest(&built), "{secret:?}");
            assert_eq!(copied.volumes, built.volumes, "{secret:?}");
            assert_eq!((copied.mounts, copied.env), (built.mounts, built.env), "{secret:?}");
        }
    }

    fn injection(env: Vec<Node>, mounts: Vec<Node>) -> PodInjection {
        PodInjection { volumes: Vec::new(), init_containers: Vec::new(), mounts, env, jvm_options: None }
    }

    fn var(value: Node) -> Node {
        map([("name", s("PORT")), ("value", value)])
    }

    #[test]
    fn the_injection_hash_is_stable_and_sees_what_a_reader_sees() {
        let quoted = injection_hash(&injection(vec![var(s("8084"))], Vec::new()));
        assert_eq!(quoted, injection_hash(&injection(vec![var(s("8084"))], Vec::new())), "stable");
        assert_eq!(quoted.as_deref().map(str::len), Some(16));
        let others = [
            injection(vec![var(Node::int(8084))], Vec::new()),
            injection(vec![var(s("8085"))], Vec::new()),
            injection(Vec::new(), vec![var(s("8084"))]),
            injection(vec![map([("name", s("PORT8084")), ("value", s(""))])], Vec::new()),
            PodInjection { jvm_options: Some("-Dx".to_owned()), ..injection(vec![var(s("8084"))], Vec::new()) },
        ];
        for other in &others {
            assert_ne!(quoted, injection_hash(other), "{:?}", other.env);
        }
        assert_eq!(injection_hash(&injection(Vec::new(), Vec::new())), None);
    }
}
