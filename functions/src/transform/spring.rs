//! The Spring Boot and kork settings that turn mTLS on for one JVM service: `server.ssl.*` (the server
//! side), `ok-http-client.*` (kork's HTTP clients, which trust only the store they are given, hence the
//! default CAs in it), and the `https` base URLs of the services it calls. Passwords are `${ENV}`
//! placeholders that Spring resolves from the environment; the value stays in the Secret.
//!
//! The same settings are written as environment variables on a plain Deployment (they outrank the
//! config files) and as a profile on a SpinnakerService.

use super::pod::{CA_TRUSTSTORE_FILE, KEYSTORE_FILE, PASSWORD_ENV, TRUSTSTORE_FILE, TRUSTSTORE_PASSWORD};
use super::Context;
use crate::service::Service;
use crate::yaml::{Mapping, Node};

/// Where Spring Boot's management endpoints (`/health`) listen, in plain HTTP, for a service whose main port
/// requires a client certificate (`clientAuth: need`): kubelet probes present none. Checked in Spinnaker's
/// source (spinnaker/spinnaker monorepo, kork history at 554c5ed21d, 2021-12-14, the kork of 1.27, and HEAD):
/// kork-core `SpringBoot1CompatibilityApplicationListener` puts the endpoints at `/`
/// (`management.endpoints.web.base-path=/`), so health is `/health` on this port; no service sets
/// `management.server.port`; the 1.27 services run Spring Boot 2.2.13 (`spinnaker-dependencies.gradle`), whose
/// management child context applies the main `server.ssl.*` unless `management.server.ssl.enabled=false`
/// (later lines: Boot 2.5-3.5, same properties). kork's Tomcat customizer (extra connectors) is not applied to
/// that child context. `/spectator/metrics` is a Spring MVC controller of the main context (kork-web
/// `MetricsEndpointConfiguration` component-scans `com.netflix.spectator.controllers`), so it stays on the main
/// port: a metrics scraper without a client certificate cannot read it under `need`.
pub const MANAGEMENT_PORT: u16 = 8558;

/// A setting's value: typed where Spring's YAML would be typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Text(String),
    Bool(bool),
}

/// `(property, value)` pairs in a fixed order.
pub type Settings = Vec<(String, Value)>;

/// A service another one calls: its DNS host (without namespace) and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub service: Service,
    /// The key under `services.` that Spinnaker reads: `clouddriver`, `clouddriverRo`.
    pub key: String,
    /// The workload's name (who the peer is).
    pub host: String,
    pub namespace: String,
    /// How callers reach it: the name and port of its Service in the input, else the workload's name and
    /// Halyard's default port.
    pub url_host: String,
    pub port: u16,
}

/// The mTLS settings of `service`; `peers` become `services.<svc>.baseUrl` over https. A service that
/// does not serve TLS itself (gate with `gateListener: http`) gets only the client side.
pub fn mtls_settings(ctx: &Context, service: Service, peers: &[Peer]) -> Settings {
    let placeholder = format!("${{{PASSWORD_ENV}}}");
    // The built trust store's password is public (see `pod::TRUSTSTORE_PASSWORD`); cert-manager's
    // `truststore.p12` (the CA only, for the server side) is written with the key store's password.
    let trust_password = TRUSTSTORE_PASSWORD.to_owned();
    let client_auth = ctx.config.spec.mtls.client_auth_for(service).as_str();
    let text = |v: &str| Value::Text(v.to_owned());
    let mut settings: Settings = [
        ("server.ssl.enabled", Value::Bool(true)),
        ("server.ssl.key-store", text(KEYSTORE_FILE)),
        ("server.ssl.key-store-type", text("PKCS12")),
        ("server.ssl.key-store-password", text(&placeholder)),
        ("server.ssl.trust-store", text(CA_TRUSTSTORE_FILE)),
        ("server.ssl.trust-store-type", text("PKCS12")),
        ("server.ssl.trust-store-password", text(&placeholder)),
        ("server.ssl.client-auth", text(client_auth)),
        ("ok-http-client.key-store", text(KEYSTORE_FILE)),
        ("ok-http-client.key-store-type", text("PKCS12")),
        ("ok-http-client.key-store-password", text(&placeholder)),
        ("ok-http-client.trust-store", text(TRUSTSTORE_FILE)),
        ("ok-http-client.trust-store-type", text("PKCS12")),
        ("ok-http-client.trust-store-password", text(&trust_password)),
    ]
    .into_iter()
    .filter(|(property, _)| ctx.config.spec.mtls.serves_tls(service) || !property.starts_with("server."))
    .map(|(property, value)| (property.to_owned(), value))
    .collect();
    if ctx.config.spec.mtls.client_auth_for(service) == crate::config::ClientAuth::Need {
        // Health for kubelet on its own plain port; only health and info there (Spring Boot's default
        // exposure), so no other actuator endpoint (kayenta exposes `*`) is served without TLS.
        settings.push(("management.server.port".to_owned(), text(&MANAGEMENT_PORT.to_string())));
        settings.push(("management.server.ssl.enabled".to_owned(), Value::Bool(false)));
        settings.push(("management.endpoints.web.exposure.include".to_owned(), text("health,info")));
    }
    for peer in peers.iter().filter(|p| p.service.is_jvm()) {
        settings.push((format!("services.{}.baseUrl", peer.key), Value::Text(peer.base_url())));
    }
    settings
}

impl Peer {
    /// `https://<host>.<namespace>:<port>`: a name the peer's certificate holds.
    pub fn base_url(&self) -> String {
        format!("https://{}.{}:{}", self.url_host, self.namespace, self.port)
    }
}

/// The environment variable Spring Boot binds to a property: dots to underscores, dashes removed,
/// upper case (`ok-http-client.key-store` → `OKHTTPCLIENT_KEYSTORE`).
pub fn env_name(property: &str) -> String {
    property.replace('-', "").replace('.', "_").to_ascii_uppercase()
}

/// One setting as an `env` entry.
pub fn env_entry(property: &str, value: &Value) -> Node {
    let value = match value {
        Value::Text(t) => t.clone(),
        Value::Bool(b) => b.to_string(),
    };
    [("name", Node::string(env_name(property))), ("value", Node::string(value))].into_iter().collect::<Mapping>().into()
}

/// Writes the settings into a Spring profile mapping, nesting at the dots and keeping everything else in it.
pub fn merge_into_profile(profile: &mut Mapping, settings: &Settings) {
    for (property, value) in settings {
        let mut parts: Vec<&str> = property.split('.').collect();
        let leaf = parts.pop().expect("properties have a name");
        let mut target = &mut *profile;
        for part in parts {
            if target.get(part).is_some_and(|n| n.as_mapping().is_none() && !n.is_null()) {
                target.remove(part);
            }
            target = target.mapping_entry(part).expect("made a mapping above");
        }
        let node = match value {
            Value::Text(t) => Node::string(t),
            Value::Bool(b) => Node::bool(*b),
        };
        target.insert(leaf, node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_spring_relaxed_binding() {
        assert_eq!(env_name("server.ssl.key-store"), "SERVER_SSL_KEYSTORE");
        assert_eq!(env_name("ok-http-client.trust-store-password"), "OKHTTPCLIENT_TRUSTSTOREPASSWORD");
        assert_eq!(env_name("services.front50.baseUrl"), "SERVICES_FRONT50_BASEURL");
        assert_eq!(env_name("services.clouddriverRo.baseUrl"), "SERVICES_CLOUDDRIVERRO_BASEURL");
    }

    #[test]
    fn profile_merge_nests_and_keeps_the_users_keys() {
        let docs =
            crate::yaml::parse_stream("server:\n  port: 8084\n  ssl: ~\nfoo: bar\n", Default::default()).unwrap();
        let mut profile = docs[0].as_mapping().unwrap().clone();
        merge_into_profile(
            &mut profile,
            &vec![
                ("server.ssl.enabled".into(), Value::Bool(true)),
                ("ok-http-client.key-store".into(), Value::Text("/k".into())),
            ],
        );
        let out = crate::yaml::to_string(&Node::Mapping(profile));
        assert_eq!(
            out,
            "server:\n  port: 8084\n  ssl:\n    enabled: true\nfoo: bar\nok-http-client:\n  key-store: /k\n"
        );
    }
}
