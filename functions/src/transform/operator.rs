//! Truststore and mTLS for a SpinnakerService. ArgoCD only sees this object; the operator renders the
//! Deployments in the cluster, so everything goes through the fields it offers: a strategic-merge patch
//! per service (`spec.kustomize.<svc>.deployment.patchesStrategicMerge`, the one patch kind that merges
//! containers, env and volumes by name instead of replacing the lists), `profiles.<svc>` for Spring, and
//! `service-settings.<svc>` for the https scheme and TCP probes.
//!
//! What a run adds or changes there is recorded in the annotation [`SETTINGS_ANNOTATION`] (the keys it
//! created, and the user's value of each key it changed), so that the next run first takes it all back,
//! then injects what its own config asks for: a re-render with another config is a fresh render, and the
//! user's own settings are never removed.

use super::certs;
use super::pod;
use super::spring;
use super::workload::{injection_hash, HASH_ANNOTATION};
use super::Context;
use crate::config::ClientAuth;
use crate::service::Service;
use crate::yaml::{build, emit, Mapping, Node};

/// The first line of every patch we own; entries that start with it are replaced on each run.
pub const PATCH_MARKER: &str = "# spinnaker-krm: generated patch, replaced on every render; do not edit";

/// The SpinnakerService annotation recording, as a JSON tree, what the last run added under `spec`: a key
/// whose value is `null` was created by it (removed on the next run), `{"/created": true, ...}` a mapping it
/// created (removed when nothing else is left in it), `{"/was": v}` a value it replaced (`v` comes back).
pub const SETTINGS_ANNOTATION: &str = "spinnaker-krm.dev/managed-settings";

const CREATED: &str = "/created";
const WAS: &str = "/was";

/// What changed from `before` to `after` as a [`SETTINGS_ANNOTATION`] tree; `None` when nothing did. Lists are
/// compared as a whole (our patch is found by [`PATCH_MARKER`] instead).
fn changes(before: Option<&Node>, after: &Node) -> Option<serde_json::Value> {
    use serde_json::Value;
    match (before, after.as_mapping()) {
        (None, Some(mapping)) => {
            let mut tree = serde_json::Map::new();
            tree.insert(CREATED.to_owned(), Value::Bool(true));
            for (key, value) in mapping.iter() {
                tree.insert(key.value().to_owned(), changes(None, value).unwrap_or(Value::Null));
            }
            Some(Value::Object(tree))
        }
        (None, None) => Some(Value::Null),
        (Some(before), _) if before == after => None,
        (Some(before), Some(mapping)) if before.as_mapping().is_some() => {
            let old = before.as_mapping().expect("checked");
            let tree: serde_json::Map<String, Value> = mapping
                .iter()
                .filter_map(|(key, value)| Some((key.value().to_owned(), changes(old.get(key.value()), value)?)))
                .collect();
            (!tree.is_empty()).then_some(Value::Object(tree))
        }
        (Some(before), _) if before.as_sequence().is_some() && after.as_sequence().is_some() => None,
        (Some(before), _) => Some(serde_json::json!({ WAS: before.to_json() })),
    }
}

/// Takes back what `tree` (a previous run's [`changes`]) says was added to the mapping `parent` at `key`.
fn take_back(parent: &mut Mapping, key: &str, tree: &serde_json::Value) {
    use serde_json::Value;
    match tree {
        Value::Null => {
            let ours_only = match parent.get_mut(key).and_then(Node::as_sequence_mut) {
                Some(list) => {
                    list.retain(|n| !is_our_patch(n));
                    list.is_empty()
                }
                None => true,
            };
            if ours_only {
                parent.remove(key);
            }
        }
        Value::Object(tree) if tree.contains_key(WAS) => {
            let was = serde_json::to_string(&tree[WAS]).unwrap_or_default();
            if let Some(node) = crate::yaml::parse_stream(&was, Default::default()).ok().and_then(|mut d| d.pop()) {
                parent.insert(key, super::workload::as_written(&node));
            }
        }
        Value::Object(tree) => {
            let Some(mapping) = parent.get_mut(key).and_then(Node::as_mapping_mut) else { return };
            for (child, subtree) in tree.iter().rev().filter(|(child, _)| *child != CREATED) {
                take_back(mapping, child, subtree);
            }
            if tree.contains_key(CREATED) && mapping.is_empty() {
                parent.remove(key);
            }
        }
        _ => {}
    }
}

fn is_our_patch(node: &Node) -> bool {
    node.as_str().is_some_and(|t| t.starts_with(PATCH_MARKER))
}

/// Takes back everything a previous run added to the SpinnakerService (its [`SETTINGS_ANNOTATION`] and its
/// patches), leaving what the user wrote. Returns true when there was such a record.
fn take_back_all(item: &mut Node) -> bool {
    let recorded = item.path_str(&["metadata", "annotations", SETTINGS_ANNOTATION]).map(str::to_owned);
    if let Some(kustomize) = item.path_mut(&["spec", "kustomize"]).and_then(Node::as_mapping_mut) {
        for (_, service) in kustomize.iter_mut() {
            let patches = service.path_mut(&["deployment", "patchesStrategicMerge"]).and_then(Node::as_sequence_mut);
            if let Some(patches) = patches {
                patches.retain(|n| !is_our_patch(n));
            }
        }
    }
    let Some(recorded) = recorded else { return false };
    let tree: serde_json::Value = serde_json::from_str(&recorded).unwrap_or_default();
    if let Some(root) = item.as_mapping_mut() {
        // The annotations go with the record when it was their only entry (the run that recorded it made them).
        if let Some(metadata) = root.get_mut("metadata").and_then(Node::as_mapping_mut) {
            if let Some(annotations) = metadata.get_mut("annotations").and_then(Node::as_mapping_mut) {
                annotations.remove(SETTINGS_ANNOTATION);
                if annotations.is_empty() {
                    metadata.remove("annotations");
                }
            }
        }
        if let serde_json::Value::Object(tree) = &tree {
            for (key, subtree) in tree.iter().rev() {
                take_back(root, key, subtree);
            }
        }
    }
    true
}

/// Records what this run changed from `before` (the SpinnakerService as the user wrote it, pinned) in
/// [`SETTINGS_ANNOTATION`].
fn record(item: &mut Node, before: &Node) {
    let Some(mut tree) = changes(before.path(&["spec"]), item.path(&["spec"]).unwrap_or(before)) else { return };
    let Some(metadata) = item.as_mapping_mut().and_then(|m| m.mapping_entry("metadata")) else { return };
    let Some(annotations) = metadata.mapping_entry("annotations") else { return };
    let mut root = serde_json::Map::new();
    if let serde_json::Value::Object(spec) = &mut tree {
        spec.remove(CREATED);
    }
    root.insert("spec".to_owned(), tree);
    annotations.insert_str(SETTINGS_ANNOTATION, &serde_json::Value::Object(root).to_string());
}

/// The services the operator deploys from this SpinnakerService (keel never; kayenta with canary on).
pub fn deployed_services(item: &Node) -> Vec<Service> {
    let canary = item.path(&["spec", "spinnakerConfig", "config", "canary", "enabled"]).is_some_and(Node::is_true);
    Service::ALL
        .into_iter()
        .filter(|s| match s {
            Service::Keel => false,
            Service::Kayenta => canary,
            _ => true,
        })
        .collect()
}

/// Injects into one SpinnakerService; returns the Certificates it needs.
/// `pin` runs on the SpinnakerService as the user wrote it (a previous run taken back), so that what it
/// changes is recorded too.
pub fn inject(
    item: &mut Node,
    ctx: &Context,
    pin: impl FnOnce(&mut Node),
    report: &mut impl FnMut(String, String),
) -> Vec<Node> {
    // An output of a version that kept no record: the profiles' settings are a previous run's, not the user's.
    let patched = item.path(&["spec", "kustomize"]).and_then(Node::as_mapping).is_some_and(|k| {
        k.iter().any(|(_, s)| {
            s.path(&["deployment", "patchesStrategicMerge"])
                .and_then(Node::as_sequence)
                .is_some_and(|p| p.iter().any(is_our_patch))
        })
    });
    let unrecorded_previous_run = !take_back_all(item) && patched;
    let before = item.clone();
    pin(item);
    let certificates = inject_settings(item, ctx, unrecorded_previous_run, report);
    record(item, &before);
    certificates
}

fn inject_settings(
    item: &mut Node,
    ctx: &Context,
    unrecorded_previous_run: bool,
    report: &mut impl FnMut(String, String),
) -> Vec<Node> {
    let namespace = item.path_str(&["metadata", "namespace"]).unwrap_or(&ctx.config.spec.namespace).to_owned();
    let services: Vec<Service> =
        deployed_services(item).into_iter().filter(|s| s.is_jvm() && ctx.selects(*s)).collect();
    let mut certificates = Vec::new();
    // HA splits (clouddriver-ro/-rw/-caching, echo-scheduler/-worker) are Deployments the operator names
    // itself; a patch for `clouddriver` does not reach them. Refuse rather than half-protect them.
    for service in &services {
        let ha = item.path(&[
            "spec",
            "spinnakerConfig",
            "config",
            "deploymentEnvironment",
            "haServices",
            service.name(),
            "enabled",
        ]);
        if ha.is_some_and(Node::is_true) {
            report(
                format!("spec.spinnakerConfig.config.deploymentEnvironment.haServices.{}.enabled", service.name()),
                format!(
                    "HA splits of {} would run without the truststore and mTLS (spinnaker-krm patches the service, not its splits); disable HA for it or leave {} out of {}",
                    service.name(),
                    service.name(),
                    ctx.config.form.name("spec.services")
                ),
            );
        }
    }
    let metric_stores =
        item.path(&["spec", "spinnakerConfig", "config", "metricStores", "enabled"]).is_some_and(Node::is_true);
    if metric_stores && ctx.config.spec.mtls.enabled {
        // Halyard adds the monitoring-daemon sidecar to every service; it has no client certificate.
        if let Some(service) =
            services.iter().copied().find(|s| ctx.config.spec.mtls.client_auth_for(*s) == ClientAuth::Need)
        {
            report(
                "spec.spinnakerConfig.config.metricStores.enabled".to_owned(),
                super::workload::monitoring_daemon_message(service, ctx.config.form),
            );
        }
    }
    let Some(spec) = item.path_mut(&["spec"]).and_then(Node::as_mapping_mut) else { return certificates };
    for service in services {
        let Ok(image) = ctx.bom.image_for(service, &ctx.config.spec.bom, ctx.config.form) else { continue }; // reported by pinning
        let mtls = ctx.config.spec.mtls.enabled;
        let tls_secret = mtls.then(|| certs::tls_secret_name(service.name()));
        let injection = pod::pod_injection(ctx, service, &image, tls_secret.as_deref(), false);
        // The strategic merge replaces an env value by name, so the user's own `<SVC>_OPTS` (set through
        // service-settings) goes into ours.
        let user_opts = spec
            .get("spinnakerConfig")
            .and_then(|c| c.path_str(&["service-settings", service.name(), "env", &pod::opts_env(service)]))
            .map(str::to_owned);
        let need = mtls && ctx.config.spec.mtls.client_auth_for(service) == ClientAuth::Need;
        let patch =
            (!injection.is_empty()).then(|| strategic_merge_patch(service, &injection, user_opts.as_deref(), need));
        if let Err(message) = set_patch(spec, service, patch) {
            report(format!("spec.kustomize.{}.deployment", service.name()), message);
            continue;
        }
        if !mtls {
            continue;
        }
        let Some(spinnaker_config) = spec.mapping_entry("spinnakerConfig") else { continue };
        if let Some(profile) = spinnaker_config.mapping_entry("profiles").and_then(|p| p.mapping_entry(service.name()))
        {
            let settings = spring::mtls_settings(ctx, service, &[]);
            let conflicts = if unrecorded_previous_run { Vec::new() } else { profile_conflicts(profile, &settings) };
            if !conflicts.is_empty() {
                report(
                    format!("spec.spinnakerConfig.profiles.{}", service.name()),
                    format!(
                        "{} already set by the manifest; spinnaker-krm sets them for {}'s mTLS: remove them, or leave {} out of {}",
                        conflicts.join(", "),
                        service.name(),
                        service.name(),
                        ctx.config.form.name("spec.services")
                    ),
                );
                continue;
            }
            spring::merge_into_profile(profile, &settings);
        } else {
            report(format!("spec.spinnakerConfig.profiles.{}", service.name()), "is not a mapping; make it one".into());
        }
        match spinnaker_config.mapping_entry("service-settings").and_then(|s| s.mapping_entry(service.name())) {
            // Gate serving plain HTTP: its scheme and probes stay as they are (the Operator's expose and
            // deck's gate URL follow the scheme).
            Some(_) if !ctx.config.spec.mtls.serves_tls(service) => {}
            Some(settings) => {
                settings.insert_str("scheme", "https");
                if ctx.config.spec.mtls.client_auth_for(service) == ClientAuth::Need {
                    if let Some(kubernetes) = settings.mapping_entry("kubernetes") {
                        kubernetes.insert("useTcpProbe", Node::bool(true));
                    }
                }
            }
            None => report(
                format!("spec.spinnakerConfig.service-settings.{}", service.name()),
                "is not a mapping; make it one".into(),
            ),
        }
        certificates.push(certs::certificate(ctx, service.name(), &namespace, None));
    }
    certificates
}

/// The patch text: our init container, volumes, and the service container's env and mounts.
/// With `health_port`, the readiness probe becomes an HTTP probe of `/health` on the plain management port
/// (Halyard's exec or TCP probe is removed by the `null`s, which a strategic merge reads as "delete").
fn strategic_merge_patch(
    service: Service,
    injection: &pod::PodInjection,
    user_opts: Option<&str>,
    health_port: bool,
) -> String {
    let mut pod_spec = Mapping::new();
    if !injection.init_containers.is_empty() {
        pod_spec.insert("initContainers", build::list(injection.init_containers.iter().cloned()));
    }
    let mut container: Mapping = [("name", build::s(service.name()))].into_iter().collect();
    let env: Vec<Node> =
        injection.env.iter().cloned().chain(pod::jvm_options_env(service, user_opts, injection)).collect();
    if !env.is_empty() {
        container.insert("env", build::list(env));
    }
    if !injection.mounts.is_empty() {
        container.insert("volumeMounts", build::list(injection.mounts.iter().cloned()));
    }
    if health_port {
        let http = build::map([
            ("path", build::s("/health")),
            ("port", Node::int(i64::from(spring::MANAGEMENT_PORT))),
            ("scheme", build::s("HTTP")),
        ]);
        let probe = build::map([("exec", Node::null()), ("tcpSocket", Node::null()), ("httpGet", http)]);
        container.insert("readinessProbe", probe);
    }
    pod_spec.insert("containers", build::list([Node::Mapping(container)]));
    if !injection.volumes.is_empty() {
        pod_spec.insert("volumes", build::list(injection.volumes.iter().cloned()));
    }
    let hash = injection_hash(injection).unwrap_or_default();
    let template = build::map([
        ("metadata", build::map([("annotations", build::map([(HASH_ANNOTATION, build::s(&hash))]))])),
        ("spec", Node::Mapping(pod_spec)),
    ]);
    let patch = build::map([("spec", build::map([("template", template)]))]);
    format!("{PATCH_MARKER}\n{}", emit::to_string(&patch))
}

/// Puts our patch (or none) into `kustomize.<svc>.deployment.patchesStrategicMerge`, replacing a previous
/// one. A user patch that touches our names is a conflict: we will not guess which should win.
fn set_patch(spec: &mut Mapping, service: Service, patch: Option<String>) -> Result<(), String> {
    let existing = spec.get("kustomize").and_then(|k| k.path(&[service.name(), "deployment"]));
    if let Some(deployment) = existing.and_then(Node::as_mapping) {
        check_user_patches(deployment)?;
    }
    if patch.is_none() && existing.is_none() {
        return Ok(());
    }
    let deployment = spec
        .mapping_entry("kustomize")
        .and_then(|k| k.mapping_entry(service.name()))
        .and_then(|s| s.mapping_entry("deployment"))
        .ok_or_else(|| "is not a mapping; make it one".to_owned())?;
    let Some(patches) = deployment.sequence_entry("patchesStrategicMerge") else {
        return Err("patchesStrategicMerge is not a list; make it one".into());
    };
    let ours = |n: &Node| n.as_str().is_some_and(|t| t.starts_with(PATCH_MARKER));
    let position = patches.iter().position(ours);
    patches.retain(|n| !ours(n));
    if let Some(patch) = patch {
        patches.insert(position.unwrap_or(patches.len()), Node::string(patch));
    }
    if patches.is_empty() {
        deployment.remove("patchesStrategicMerge");
    }
    Ok(())
}

/// The settings a profile already sets to something else (`server.ssl.key-store` nested, flat, or half
/// of each, as Spring reads them): the same conflict as an env var a Deployment already sets. Equal values
/// are not a conflict.
fn profile_conflicts(profile: &Mapping, settings: &spring::Settings) -> Vec<String> {
    fn lookup<'m>(m: &'m Mapping, property: &str) -> Option<&'m Node> {
        m.get(property).or_else(|| {
            property
                .match_indices('.')
                .find_map(|(at, _)| lookup(m.get(&property[..at])?.as_mapping()?, &property[at + 1..]))
        })
    }
    settings
        .iter()
        .filter(|(property, value)| {
            let Some(existing) = lookup(profile, property).filter(|n| !n.is_null()) else { return false };
            let wanted = match value {
                spring::Value::Text(t) => serde_json::Value::String(t.clone()),
                spring::Value::Bool(b) => serde_json::Value::Bool(*b),
            };
            let found = existing.to_json();
            found != wanted && found.as_str() != Some(&wanted.to_string())
        })
        .map(|(property, _)| property.clone())
        .collect()
}

/// A user patch that touches our names is a conflict: we will not guess which should win.
fn check_user_patches(deployment: &Mapping) -> Result<(), String> {
    for kind in ["patches", "patchesStrategicMerge"] {
        for text in deployment.get_sequence(kind).into_iter().flat_map(|s| s.iter()).filter_map(Node::as_str) {
            if !text.starts_with(PATCH_MARKER) && text.contains("spinnaker-krm-") {
                return Err(format!(
                    "a {kind} entry already patches spinnaker-krm's volumes or init container; remove it, spinnaker-krm writes its own patch"
                ));
            }
        }
    }
    if deployment.get_str("patchesJson6902").is_some_and(|p| p.contains("spinnaker-krm-")) {
        return Err("patchesJson6902 already patches spinnaker-krm's volumes or init container; remove it".into());
    }
    Ok(())
}
