//! `verify`: proof that a rendered stream really went through spinnaker-krm. `kubectl kustomize` and
//! ArgoCD's built-in kustomize without `--enable-exec` skip exec functions and exit 0, which would ship
//! a Spinnaker with `:latest` images and no TLS. This check reads the rendered objects and reports every
//! Spinnaker JVM workload or SpinnakerService that lacks its truststore, its mTLS settings or its BOM pin.
//!
//! What is expected follows the config when one is given (truststore mode, mTLS on or off, the service
//! allow-list, the exact BOM pins); without one, the defaults: everything on, pins checked for a fixed tag.

use crate::bom::Bom;
use crate::config::{ClientAuth, SpinnakerPlatform, TruststoreMode};
use crate::krm::ResourceRef;
use crate::service::{identify, split_image, Service};
use crate::transform::{workload, Finding, HASH_ANNOTATION, INIT_CONTAINER, PASSWORD_ENV, PATCH_MARKER};
use crate::yaml::{Mapping, Node};

/// What the stream is checked against.
pub struct Expectations<'a> {
    pub config: &'a SpinnakerPlatform,
    /// With a BOM, images must be exactly the pinned ones; without, any fixed tag (not `latest`) passes.
    pub bom: Option<&'a Bom>,
}

/// How many targets were checked, for the success message; and where Spinnaker is that was not checked, for
/// the message when nothing was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub workloads: usize,
    pub spinnaker_services: usize,
    /// The namespaces other than `spec.namespace` holding a SpinnakerService or a Spinnaker JVM workload
    /// (sorted, once each): another install's, or the stream was rendered for another namespace.
    pub elsewhere: Vec<String>,
}

impl Checked {
    /// True when no workload and no SpinnakerService was checked.
    pub fn nothing(&self) -> bool {
        self.workloads + self.spinnaker_services == 0
    }

    /// Where Spinnaker is when nothing was checked but there is Spinnaker in other namespaces (`namespace prod`,
    /// `namespaces prod, staging`): the stream was rendered for another namespace, or the config is not its.
    pub fn only_elsewhere(&self) -> Option<String> {
        let plural = if self.elsewhere.len() > 1 { "s" } else { "" };
        (self.nothing() && !self.elsewhere.is_empty())
            .then(|| format!("namespace{plural} {}", self.elsewhere.join(", ")))
    }
}

/// Checks every item; returns the findings (empty when the stream is protected).
pub fn verify(items: &[Node], expect: &Expectations) -> (Checked, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut checked = Checked::default();
    let certificate_secrets: Vec<&str> = items
        .iter()
        .filter(|i| i.path_str(&["kind"]) == Some("Certificate"))
        .filter_map(|i| i.path_str(&["spec", "secretName"]))
        .collect();
    // Every JVM workload of the install, by name with its `services.` key: each must be called over https.
    let peers: Vec<(String, String)> = items
        .iter()
        .filter(|i| matches!(i.path_str(&["kind"]), Some("Deployment" | "StatefulSet")) && in_namespace(i, expect))
        .filter(|i| workload::service_container(i, |s| expect.config.spec.selects(s)).is_some())
        .filter_map(|i| {
            let jvm = workload::JvmWorkload::of(i, &expect.config.spec)?;
            // gate serving plain HTTP (the default) is nobody's https peer
            if !expect.config.spec.mtls.serves_tls(jvm.service) {
                return None;
            }
            workload::as_peer(&jvm).map(|p| (p.host, p.key))
        })
        .collect();
    for item in items {
        let resource = ResourceRef::of(item);
        let mut report = |field: &str, message: String| {
            findings.push(Finding { resource: resource.clone(), field: field.to_owned(), message });
        };
        match (resource.api_version.as_str(), resource.kind.as_str()) {
            ("apps/v1", "Deployment" | "StatefulSet")
                if in_namespace(item, expect)
                    && verify_workload(item, expect, &certificate_secrets, &peers, &mut report) =>
            {
                checked.workloads += 1;
            }
            ("spinnaker.io/v1alpha2" | "spinnaker.armory.io/v1alpha2", "SpinnakerService")
                if in_namespace(item, expect) =>
            {
                verify_spinnaker_service(item, expect, &mut report);
                checked.spinnaker_services += 1;
            }
            ("apps/v1", "Deployment" | "StatefulSet")
            | ("spinnaker.io/v1alpha2" | "spinnaker.armory.io/v1alpha2", "SpinnakerService") => {
                let spinnaker = !in_namespace(item, expect)
                    && (resource.kind == "SpinnakerService"
                        || workload::service_container(item, |s| expect.config.spec.selects(s)).is_some());
                if spinnaker {
                    checked.elsewhere.extend(item.path_str(&["metadata", "namespace"]).map(str::to_owned));
                }
            }
            ("v1", "List") => {
                let inner = item.path(&["items"]).and_then(Node::as_sequence).into_iter().flat_map(|l| l.iter());
                for (i, inner) in inner.enumerate().filter(|(_, inner)| in_namespace(inner, expect)) {
                    if verify_pins(inner, expect, &format!("items[{i}]."), &mut report) {
                        checked.workloads += 1;
                    }
                }
            }
            // Pinned only by the transform (see `transform::Target::PinOnly`): checked for pins only.
            _ if in_namespace(item, expect) && verify_pins(item, expect, "", &mut report) => checked.workloads += 1,
            _ => {}
        }
    }
    checked.elsewhere.sort();
    checked.elsewhere.dedup();
    (checked, findings)
}

/// The transform's scope: workloads and SpinnakerServices in `spec.namespace`, or in none (see
/// `transform::workload::in_scope`).
fn in_namespace(item: &Node, expect: &Expectations) -> bool {
    item.path_str(&["metadata", "namespace"]).is_none_or(|ns| ns == expect.config.spec.namespace)
}

/// Said once with the findings: the usual reason a stream is unprotected.
pub const SKIPPED_HINT: &str =
    "was spinnaker-krm skipped? kustomize with --enable-alpha-plugins but without --enable-exec (kubectl kustomize has no --enable-exec) skips exec functions and exits 0; use kustomize's SpinnakerPlatform plugin, which cannot be skipped (README, kustomize and kubectl kustomize)";

fn verify_image(
    image: Option<&str>,
    service: Service,
    expect: &Expectations,
    field: &str,
    report: &mut impl FnMut(&str, String),
) {
    let Some(image) = image else {
        report(field, format!("{} has no image", service.name()));
        return;
    };
    if let Some(bom) = expect.bom {
        if let Ok(pinned) = bom.image_for(service, &expect.config.spec.bom, expect.config.form) {
            // The pin keeps the image variant (`-ubuntu`, `-slim`, ...) the manifest asked for.
            let variant =
                image.strip_prefix(pinned.as_str()).filter(|rest| crate::transform::variant_of(rest) == Some(*rest));
            if image != pinned && variant.is_none() {
                report(field, format!("{image} is not the BOM pin {pinned}"));
            }
            return;
        }
    }
    let reference = split_image(image);
    let floating = match (&reference.tag, &reference.digest) {
        (_, Some(_)) => false,
        (None, None) => true,
        (Some(tag), None) => tag.contains("latest"),
    };
    if floating {
        report(field, format!("{image} is not pinned to a release"));
    }
}

/// Checks the pins of every Spinnaker container of an object with a pod spec (any kind; `prefix` goes
/// before field paths, for `v1 List` items). Returns true when it runs a Spinnaker service.
fn verify_pins(item: &Node, expect: &Expectations, prefix: &str, report: &mut impl FnMut(&str, String)) -> bool {
    let Some(path) = crate::transform::pod_spec_path(item) else { return false };
    let Some(pod) = item.path(path).and_then(Node::as_mapping) else { return false };
    let mut found = false;
    for list in ["containers", "initContainers"] {
        let Some(containers) = pod.get_sequence(list) else { continue };
        for (index, container) in containers.iter().enumerate() {
            let Some(container) = container.as_mapping() else { continue };
            let image = container.get_str("image");
            // As the transform pins: init containers by image only.
            let name = if list == "containers" { container.get_str("name").unwrap_or_default() } else { "" };
            let Some(service) = identify(name, image) else { continue };
            found = true;
            if expect.config.spec.selects(service) {
                let field = format!("{prefix}{}.{list}[{index}].image", path.join("."));
                verify_image(image, service, expect, &field, report);
            }
        }
    }
    found
}

fn env_value<'a>(container: &'a Mapping, name: &str) -> Option<&'a Node> {
    container.get_sequence("env")?.find_by("name", name).map(|e| e.get("value").or_else(|| e.get("valueFrom")))?
}

fn verify_workload(
    item: &Node,
    expect: &Expectations,
    certificate_secrets: &[&str],
    peers: &[(String, String)],
    report: &mut impl FnMut(&str, String),
) -> bool {
    let spec = &expect.config.spec;
    let Some(pod) = item.path(&["spec", "template", "spec"]).and_then(Node::as_mapping) else { return false };
    let mut found = false;
    for list in ["containers", "initContainers"] {
        for (i, c) in pod.get_sequence(list).into_iter().flat_map(|s| s.iter()).enumerate() {
            let Some(c) = c.as_mapping() else { continue };
            let name = if list == "containers" { c.get_str("name").unwrap_or_default() } else { "" };
            let Some(service) = identify(name, c.get_str("image")) else { continue };
            found = true;
            if spec.selects(service) {
                let field = format!("spec.template.spec.{list}[{i}].image");
                verify_image(c.get_str("image"), service, expect, &field, report);
            }
        }
    }
    let Some((index, service)) = workload::service_container(item, |s| spec.selects(s)) else { return found };
    let Some(container) = pod.get_sequence("containers").and_then(|c| c.get(index)).and_then(Node::as_mapping) else {
        return found;
    };
    let at = |rest: &str| format!("spec.template.spec.containers[{index}].{rest}");
    let mounts =
        |dir: &str| container.get_sequence("volumeMounts").is_some_and(|m| m.find_by("mountPath", dir).is_some());
    if spec.truststore.mode != TruststoreMode::None {
        if !mounts(crate::transform::TRUSTSTORE_DIR) {
            report(
                &at("volumeMounts"),
                format!("{} has no truststore mounted at {}", service.name(), crate::transform::TRUSTSTORE_DIR),
            );
        }
        let init = pod.get_sequence("initContainers").and_then(|s| s.find_by("name", INIT_CONTAINER));
        if spec.truststore.mode == TruststoreMode::InitContainer && init.is_none() {
            report(
                "spec.template.spec.initContainers",
                format!("no {INIT_CONTAINER} init container builds the truststore"),
            );
        }
    }
    let serves_tls = spec.mtls.serves_tls(service);
    if spec.mtls.enabled {
        if serves_tls && env_value(container, "SERVER_SSL_ENABLED").and_then(Node::as_str) != Some("true") {
            report(&at("env"), format!("{} does not serve TLS (SERVER_SSL_ENABLED is not \"true\")", service.name()));
        }
        let expected = spec.mtls.client_auth_for(service).as_str();
        let actual = env_value(container, "SERVER_SSL_CLIENTAUTH").and_then(Node::as_str);
        if serves_tls && actual != Some(expected) {
            report(&at("env"), format!("SERVER_SSL_CLIENTAUTH is {} instead of {expected}", actual.unwrap_or("unset")));
        }
        if env_value(container, "OKHTTPCLIENT_KEYSTORE").is_none() {
            report(
                &at("env"),
                format!(
                    "{} calls other services without a client certificate (no OKHTTPCLIENT_KEYSTORE)",
                    service.name()
                ),
            );
        }
        for peer in peers.iter().filter(|p| p.0 != item.path_str(&["metadata", "name"]).unwrap_or_default()) {
            let variable = format!("SERVICES_{}_BASEURL", peer.1.to_ascii_uppercase());
            let url = env_value(container, &variable).and_then(Node::as_str);
            if !url.is_some_and(|u| u.starts_with("https://")) {
                report(
                    &at("env"),
                    format!(
                        "{variable} is {}: {} would call {} without TLS",
                        url.unwrap_or("unset"),
                        service.name(),
                        peer.0
                    ),
                );
            }
        }
        if !mounts(crate::transform::TLS_DIR) {
            report(&at("volumeMounts"), format!("no key store mounted at {}", crate::transform::TLS_DIR));
        }
        let tls_secret = pod
            .get_sequence("volumes")
            .and_then(|v| v.find_by("name", crate::transform::TLS_VOLUME))
            .and_then(|v| v.get("secret").and_then(|s| s.as_mapping()?.get_str("secretName")));
        if let Some(secret) = tls_secret {
            if !certificate_secrets.is_empty() && !certificate_secrets.contains(&secret) {
                report(
                    "spec.template.spec.volumes",
                    format!("no Certificate in the stream writes the Secret {secret}"),
                );
            }
        }
        for probe in ["readinessProbe", "livenessProbe", "startupProbe"].into_iter().filter(|_| serves_tls) {
            let Some(p) = container.get_mapping(probe) else { continue };
            // Under `need`, the one HTTP probe that works is plain HTTP on the management port.
            let need = spec.mtls.client_auth_for(service) == ClientAuth::Need;
            let management = |h: &crate::yaml::Mapping| {
                h.get("port").and_then(Node::as_scalar).map(|s| s.value())
                    == Some(crate::transform::MANAGEMENT_PORT.to_string().as_str())
            };
            let broken = p.get_mapping("httpGet").is_some_and(|h| {
                if need {
                    !management(h)
                } else {
                    h.get_str("scheme") != Some("HTTPS")
                }
            });
            if broken {
                report(&at(probe), "an HTTP probe fails once the service serves mTLS; spinnaker-krm probes /health on the plain management port (need) or over HTTPS (want)".to_owned());
            }
        }
    }
    if let Some(env) = container.get_sequence("env") {
        // A `$(...)` reference puts the key store password into text a start script evaluates and `ps` shows.
        let reference = format!("$({PASSWORD_ENV})");
        if let Some(use_at) = env.iter().position(|e| e.path_str(&["value"]).is_some_and(|v| v.contains(&reference))) {
            report(
                &format!("{}[{use_at}]", at("env")),
                format!(
                    "refers to {reference}: the key store password would be on a command line; Spring reads it as ${{{PASSWORD_ENV}}}"
                ),
            );
        }
    }
    if (spec.truststore.mode != TruststoreMode::None || spec.mtls.enabled)
        && item.path_str(&["spec", "template", "metadata", "annotations", HASH_ANNOTATION]).is_none()
    {
        report("spec.template.metadata.annotations", format!("no {HASH_ANNOTATION} annotation"));
    }
    true
}

fn verify_spinnaker_service(item: &Node, expect: &Expectations, report: &mut impl FnMut(&str, String)) {
    let spec = &expect.config.spec;
    let config = item.path(&["spec", "spinnakerConfig"]);
    let version = config.and_then(|c| c.path_str(&["config", "version"]));
    match (version, expect.bom) {
        (None, _) => report("spec.spinnakerConfig.config.version", "no Spinnaker version".to_owned()),
        (Some(v), Some(bom)) if v != bom.version => {
            report("spec.spinnakerConfig.config.version", format!("{v} is not the BOM version {}", bom.version))
        }
        _ => {}
    }
    for service in crate::transform::deployed_services(item).into_iter().filter(|s| spec.selects(*s)) {
        let name = service.name();
        let artifact = config.and_then(|c| c.path_str(&["service-settings", name, "artifactId"]));
        verify_image(
            artifact,
            service,
            expect,
            &format!("spec.spinnakerConfig.service-settings.{name}.artifactId"),
            report,
        );
        if !service.is_jvm() {
            continue;
        }
        let patched = item
            .path(&["spec", "kustomize", name, "deployment", "patchesStrategicMerge"])
            .and_then(Node::as_sequence)
            .is_some_and(|s| s.iter().filter_map(Node::as_str).any(|t| t.starts_with(PATCH_MARKER)));
        if (spec.truststore.mode != TruststoreMode::None || spec.mtls.enabled) && !patched {
            report(
                &format!("spec.kustomize.{name}.deployment.patchesStrategicMerge"),
                format!("no spinnaker-krm patch for {name}"),
            );
        }
        if spec.mtls.enabled {
            let profile = config.and_then(|c| c.path(&["profiles", name]));
            let ssl_on = profile.and_then(|p| p.path(&["server", "ssl", "enabled"])).is_some_and(Node::is_true);
            if !ssl_on && spec.mtls.serves_tls(service) {
                report(
                    &format!("spec.spinnakerConfig.profiles.{name}.server.ssl.enabled"),
                    format!("{name} does not serve TLS"),
                );
            }
            if profile.and_then(|p| p.path_str(&["ok-http-client", "key-store"])).is_none() {
                report(
                    &format!("spec.spinnakerConfig.profiles.{name}.ok-http-client.key-store"),
                    format!("{name} calls other services without a client certificate"),
                );
            }
            let scheme = config.and_then(|c| c.path_str(&["service-settings", name, "scheme"]));
            if spec.mtls.serves_tls(service) && scheme != Some("https") {
                report(&format!("spec.spinnakerConfig.service-settings.{name}.scheme"), "is not https".to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{apply, Context};
    use crate::yaml::{parse_stream, Limits};

    const BOM: &str = include_str!("../../tests/fixtures/bom/1.27.0.yml");
    const GATE: &str = include_str!("../../tests/fixtures/spinnaker-kustomize/base/gate/deployment.yml");
    const CONFIG: &str = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec:\n  bom: {version: 1.27.0}\n";

    fn config(text: &str) -> SpinnakerPlatform {
        SpinnakerPlatform::from_function_config(&parse_stream(text, Limits::default()).unwrap()[0]).unwrap()
    }

    fn fields(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn the_transforms_output_passes_and_the_raw_input_fails() {
        let bom = Bom::parse(BOM, "bom/1.27.0.yml").unwrap();
        // gate serving TLS itself (the opt-in): every server-side check applies.
        let platform = config(&format!("{CONFIG}  mtls: {{gateListener: https}}\n"));
        let raw = parse_stream(GATE, Limits::default()).unwrap();
        let expect = Expectations { config: &platform, bom: Some(&bom) };
        let (checked, findings) = verify(&raw, &expect);
        assert_eq!(checked.workloads, 1);
        assert_eq!(
            fields(&findings),
            [
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[0].volumeMounts",
                "spec.template.spec.initContainers",
                "spec.template.spec.containers[0].env",
                "spec.template.spec.containers[0].env",
                "spec.template.spec.containers[0].env",
                "spec.template.spec.containers[0].volumeMounts",
                "spec.template.spec.containers[0].readinessProbe",
                "spec.template.metadata.annotations",
            ]
        );
        let mut rendered = raw.clone();
        apply(&mut rendered, &Context { config: &platform, bom: &bom }).unwrap();
        let (_, findings) = verify(&rendered, &expect);
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn what_is_outside_spec_namespace_is_not_checked_as_the_transform_does_not_change_it() {
        let bom = Bom::parse(BOM, "bom/1.27.0.yml").unwrap();
        let platform = config(CONFIG);
        let expect = Expectations { config: &platform, bom: Some(&bom) };
        let service =
            "apiVersion: spinnaker.io/v1alpha2\nkind: SpinnakerService\nmetadata: {name: s, namespace: NS}\nspec: {}\n";
        let gate = GATE.replacen("metadata:\n", "metadata:\n  namespace: NS\n", 1);
        for (namespace, checked) in [("prod", 0), ("spinnaker", 1)] {
            let items = parse_stream(&[service, "---\n", &gate].concat().replace("NS", namespace), Limits::default());
            let (seen, findings) = verify(&items.unwrap(), &expect);
            assert_eq!((seen.spinnaker_services, seen.workloads), (checked, checked), "{namespace}");
            assert_eq!(findings.is_empty(), checked == 0, "{namespace}: {findings:?}");
            let elsewhere: &[&str] = if checked == 0 { &["prod"] } else { &[] };
            assert_eq!(seen.elsewhere, elsewhere, "both objects are in one namespace, named once");
        }
        let two = [service.replace("NS", "b"), gate.replace("NS", "a")].join("---\n");
        let (seen, _) = verify(&parse_stream(&two, Limits::default()).unwrap(), &expect);
        assert_eq!(seen.only_elsewhere().as_deref(), Some("namespaces a, b"));
    }

    #[test]
    fn gate_serving_plain_http_is_checked_as_a_client_only() {
        let bom = Bom::parse(BOM, "bom/1.27.0.yml").unwrap();
        let platform = config(CONFIG);
        let expect = Expectations { config: &platform, bom: Some(&bom) };
        let mut rendered = parse_stream(GATE, Limits::default()).unwrap();
        apply(&mut rendered, &Context { config: &platform, bom: &bom }).unwrap();
        let text = crate::krm::manifests_to_yaml(&rendered);
        assert!(!text.contains("SERVER_SSL_ENABLED") && text.contains("OKHTTPCLIENT_KEYSTORE"), "{text}");
        assert!(verify(&rendered, &expect).1.is_empty());
        // Without its client key store gate would call the others without a certificate.
        let stripped = text.replace("name: OKHTTPCLIENT_KEYSTORE\n", "name: X_UNUSED\n");
        let (_, findings) = verify(&crate::krm::parse_manifests(stripped.as_bytes(), "x").unwrap(), &expect);
        assert!(findings.iter().any(|f| f.message.contains("no OKHTTPCLIENT_KEYSTORE")), "{findings:?}");
    }

    #[test]
    fn exact_pins_are_checked_against_the_bom_and_any_fixed_tag_passes_without_one() {
        let bom = Bom::parse(BOM, "bom/1.27.0.yml").unwrap();
        let platform = config(&format!("{CONFIG}  truststore: {{mode: none}}\n  mtls: {{enabled: false}}\n"));
        let older = GATE.replace("gate:latest", "gate:6.50.0");
        let items = parse_stream(&older, Limits::default()).unwrap();
        let (_, with_bom) = verify(&items, &Expectations { config: &platform, bom: Some(&bom) });
        assert_eq!(with_bom.len(), 1);
        assert!(with_bom[0]
            .message
            .contains("is not the BOM pin us-docker.pkg.dev/spinnaker-community/docker/gate:6.54.1"));
        let (_, without_bom) = verify(&items, &Expectations { config: &platform, bom: None });
        assert!(without_bom.is_empty(), "{without_bom:?}");
    }

    #[test]
    fn http_calls_between_services_and_a_password_on_a_command_line_are_caught() {
        const CLOUDDRIVER: &str =
            include_str!("../../tests/fixtures/spinnaker-kustomize/base/clouddriver/deployment.yml");
        let bom = Bom::parse(BOM, "bom/1.27.0.yml").unwrap();
        let platform = config(CONFIG);
        let mut rendered = parse_stream(&format!("{GATE}---\n{CLOUDDRIVER}"), Limits::default()).unwrap();
        apply(&mut rendered, &Context { config: &platform, bom: &bom }).unwrap();
        let expect = Expectations { config: &platform, bom: Some(&bom) };
        assert!(verify(&rendered, &expect).1.is_empty());
        let text = crate::krm::manifests_to_yaml(&rendered);
        // gate's URL of clouddriver back to http, and the password moved after its first use.
        let http = text.replace("https://clouddriver.spinnaker:7002", "http://clouddriver.spinnaker:7002");
        let (_, findings) = verify(&crate::krm::parse_manifests(http.as_bytes(), "x").unwrap(), &expect);
        assert!(
            findings.iter().any(|f| f.message.starts_with("SERVICES_CLOUDDRIVER_BASEURL is http://")),
            "{findings:?}"
        );
        // The password put back on gate's command line (what spinnaker-krm wrote before issue 10).
        let mut moved = rendered.clone();
        let env = moved[0]
            .path_mut(&["spec", "template", "spec", "containers"])
            .and_then(Node::as_sequence_mut)
            .and_then(|c| c.get_mut(0))
            .and_then(|c| c.path_mut(&["env"]))
            .and_then(Node::as_sequence_mut)
            .unwrap();
        let opts = env.find_by_mut("name", "GATE_OPTS").unwrap();
        opts.insert_str("value", "-Djavax.net.ssl.trustStorePassword=$(SPINNAKER_KRM_STORE_PASSWORD)");
        let (_, findings) = verify(&moved, &expect);
        assert!(
            findings.iter().any(|f| f.message.contains("the key store password would be on a command line")),
            "{findings:?}"
        );
    }

    #[test]
    fn services_outside_the_allow_list_are_not_checked() {
        let platform = config(&format!("{CONFIG}  services: [clouddriver]\n"));
        let items = parse_stream(GATE, Limits::default()).unwrap();
        let (_, findings) = verify(&items, &Expectations { config: &platform, bom: None });
        assert!(findings.is_empty(), "{findings:?}");
    }
}
