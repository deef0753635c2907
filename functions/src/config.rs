//! The `SpinnakerPlatform` functionConfig: the public contract of spinnaker-krm.
//!
//! Two spellings are read onto the same typed [`Spec`]:
//!
//! * `apiVersion: spinnaker-krm.dev/v1alpha1`, `kind: SpinnakerPlatform` with a `spec` (see DESIGN.md);
//!   `metadata` is ignored (kustomize and kpt inject annotations there);
//! * `apiVersion: v1`, `kind: ConfigMap` with flat string keys in `data` (what `kpt fn eval -- key=value`
//!   produces): the defaults, then the keys of [`FLAT_KEYS`] applied by the same code as
//!   [`SpinnakerPlatform::apply_overrides`] (ArgoCD Application parameters).
//!
//! Everything is checked: unknown fields, wrong types and bad enum values fail with the field path, and
//! every string that ends up in a container command, a path or a DNS name must match a strict pattern.
//! No password, key or certificate is accepted inline, only references to a Secret or ConfigMap.
//!
//! Decisions where DESIGN.md is silent:
//! * Scalars that YAML would read as numbers (`version: 1.10`, `keel: 1.0`) are taken as the text written:
//!   no field of this config is a number, and `1.10` must not become `1.1`.
//! * A field written as `null` (e.g. `extraPins:` with every entry commented out) means its default.
//! * Nested references default per field: `caBundle: {configMap: my-bundle}` keeps key `mtls-cacerts`.
//! * `spec.bom.dir` and `spec.bom.file` are exclusive; with neither, the dir is `bom`. A flat `bom-dir`
//!   override replaces a `file` and vice versa; both in one set of overrides is an error.
//! * BOM paths are relative; absolute paths are not accepted. The binary looks them up from the working
//!   directory up to the repository root and never reads above it (`..` included) or through a symlink out.
//! * `spec.mtls.gateListener` (added): gate's own listener, `http` unless set. Browsers, ingress controllers,
//!   the Operator's `expose` and deck's `/gate` proxy reach gate over plain HTTP, and nothing inside Spinnaker
//!   calls gate; gate still calls the other services over mTLS as a client. `https` is the opt-in; then
//!   whatever fronts gate must say HTTPS, or the run refuses (README "Gate's front door").
//! * `spec.mtls.gateClientAuth` (added): client-auth of gate's HTTPS listener, `want` unless set. Setting it
//!   without `gateListener` means `gateListener: https` (it asks for a TLS listener, as before this field
//!   existed); an explicit `gateListener: http` wins (ArgoCD's UI may send back every announced parameter).
//! * `spec.mode` (added): `transform` (default) or `verify`, also the flat key `mode`.
//! * `spec.truststore.defaultCacerts` (changed): unset (the default) means the init container finds the JDK
//!   default store in the image it runs in; `defaultCacertsPerService` (added) names it for one service
//!   (flat `default-cacerts-per-service=echo=/path`), and wins over `defaultCacerts`.
//! * `spec.mtls.pkcs12Profile` (added): cert-manager's PKCS12 profile for the key stores (and trust-manager's
//!   trust store), `LegacyDES` unless set: every JRE of every release reads it (see `releases.rs`).
//! * Flat overrides: `extra-pins` merges into the existing pins (a service given again is replaced);
//!   `services` replaces the list; an empty `bom-registry` clears the registry; the last of a repeated key wins.

use crate::service::Service;
use crate::yaml::{Mapping, Node, View};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The functionConfig's `apiVersion`.
pub const API_VERSION: &str = "spinnaker-krm.dev/v1alpha1";
/// The functionConfig's `kind`.
pub const KIND: &str = "SpinnakerPlatform";

/// The keys a `ConfigMap` functionConfig (`data`) or an override (ArgoCD parameter) may set, and the
/// field each one sets.
pub const FLAT_KEYS: &[(&str, &str)] = &[
    ("bom-version", "spec.bom.version"),
    ("bom-dir", "spec.bom.dir"),
    ("bom-file", "spec.bom.file"),
    ("bom-registry", "spec.bom.registry"),
    ("extra-pins", "spec.bom.extraPins (svc=tag,svc=tag)"),
    ("namespace", "spec.namespace"),
    ("services", "spec.services (comma-separated)"),
    ("mode", "spec.mode"),
    ("truststore-mode", "spec.truststore.mode"),
    ("ca-bundle-configmap", "spec.truststore.caBundle.configMap"),
    ("ca-bundle-key", "spec.truststore.caBundle.key"),
    ("password-secret-name", "spec.truststore.passwordSecret.name"),
    ("password-secret-key", "spec.truststore.passwordSecret.key"),
    ("default-cacerts", "spec.truststore.defaultCacerts"),
    ("default-cacerts-per-service", "spec.truststore.defaultCacertsPerService (svc=path,svc=path)"),
    ("trust-namespace", "spec.truststore.trustNamespace"),
    ("mtls-enabled", "spec.mtls.enabled (true|false)"),
    ("client-auth", "spec.mtls.clientAuth"),
    ("gate-client-auth", "spec.mtls.gateClientAuth"),
    ("gate-listener", "spec.mtls.gateListener"),
    ("issuer-kind", "spec.mtls.issuer.kind"),
    ("issuer-name", "spec.mtls.issuer.name"),
    ("issuer-create", "spec.mtls.issuer.create (true|false)"),
    ("pkcs12-profile", "spec.mtls.pkcs12Profile"),
];

/// A functionConfig that cannot be used. Every message is one line: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "functionConfig: expected apiVersion {API_VERSION} kind {KIND} (or apiVersion v1 kind ConfigMap with \
         flat keys in data), got apiVersion {api_version:?} kind {kind:?}; fix apiVersion and kind"
    )]
    WrongKind { api_version: String, kind: String },
    /// A field (`spec.truststore.mode`, `data.client-auth`, `parameter namespace`) with a bad value.
    #[error("{} {path}: {message}", owner(path))]
    Invalid { path: String, message: String },
    /// The Application's destination namespace, which generate takes when nothing names one, is no namespace name.
    #[error("Application spec.destination.namespace: {message}")]
    Destination { message: String },
    /// A flat key (ConfigMap `data` or an override) that does not exist.
    #[error("{} {path}: unknown key {key:?}; valid keys: {valid}", owner(path), valid = flat_key_names())]
    UnknownKey { path: String, key: String },
}

/// Where a field lives: an ArgoCD Application's (its parameters), else the functionConfig's.
fn owner(path: &str) -> &'static str {
    if path.starts_with("parameter ") {
        "Application"
    } else {
        "functionConfig"
    }
}

impl ConfigError {
    /// The field the error is about, when there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ConfigError::WrongKind { .. } | ConfigError::Destination { .. } => None,
            ConfigError::Invalid { path, .. } | ConfigError::UnknownKey { path, .. } => Some(path),
        }
    }

    fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid { path: path.into(), message: message.into() }
    }
}

fn flat_key_names() -> String {
    FLAT_KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
}

const INLINE_PASSWORD: &str = "a password is never accepted inline: only a reference {name, key} to a Secret is \
     accepted; put the password in a Secret and set spec.truststore.passwordSecret: {name: <secret>, key: <key>}";
const INLINE_PASSWORD_FLAT: &str = "a password is never accepted inline: only a reference to a Secret is \
     accepted; put the password in a Secret and set password-secret-name=<secret> and password-secret-key=<key>";
const INLINE_CA: &str = "only a reference {configMap, key} to a ConfigMap is accepted; put the CA bundle in a \
     ConfigMap and set spec.truststore.caBundle: {configMap: <name>, key: <key>}";
const INLINE_PEM_FLAT: &str = "certificate or key material is never accepted inline; put keys in a Secret and CA \
     certificates in a ConfigMap, and reference them (password-secret-name and -key, ca-bundle-configmap and -key)";
const INLINE_PEM: &str = "certificate or key material is never accepted inline; put keys in a Secret and CA \
     certificates in a ConfigMap, and reference them (spec.truststore.passwordSecret, spec.truststore.caBundle)";

/// What this function does with its input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Inject truststores, mTLS and BOM pins (the default).
    #[default]
    Transform,
    /// Reserved: check a rendered stream instead of changing it.
    Verify,
}

/// Where the Java truststore comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TruststoreMode {
    /// A `keytool` init container builds it from the JDK defaults plus the CA bundle (the default).
    #[default]
    InitContainer,
    /// A trust-manager `Bundle` with a PKCS12 target provides it.
    TrustManager,
    /// No truststore is injected.
    None,
}

impl TruststoreMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TruststoreMode::InitContainer => "init-container",
            TruststoreMode::TrustManager => "trust-manager",
            TruststoreMode::None => "none",
        }
    }
}

/// Spring Boot's `server.ssl.client-auth`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// A client certificate is required (the default).
    #[default]
    Need,
    /// A client certificate is requested and verified when presented.
    Want,
}

impl GateListener {
    pub fn as_str(self) -> &'static str {
        match self {
            GateListener::Http => "http",
            GateListener::Https => "https",
        }
    }
}

impl ClientAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Need => "need",
            ClientAuth::Want => "want",
        }
    }
}

/// What gate's own port serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateListener {
    /// Plain HTTP, as browsers, ingress controllers and the Operator's `expose` reach it (the default).
    #[default]
    Http,
    /// HTTPS with gate's certificate (client-auth `gateClientAuth`); the front doors must speak HTTPS.
    Https,
}

/// The kind of cert-manager issuer that signs the service certificates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IssuerKind {
    #[default]
    ClusterIssuer,
    /// A namespaced issuer, in `spec.namespace`.
    Issuer,
}

impl IssuerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerKind::ClusterIssuer => "ClusterIssuer",
            IssuerKind::Issuer => "Issuer",
        }
    }
}

/// cert-manager's `keystores.pkcs12.profile` (cert-manager >= 1.14; trust-manager's `pkcs12.profile`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pkcs12Profile {
    /// RC2-40 certificates, 3DES key, SHA-1 MAC: cert-manager's own default; OpenSSL 3 needs `-legacy`.
    LegacyRC2,
    /// 3DES certificates and key, SHA-1 MAC: read by every Java (8, 11.0.0 on, 17, 21, 25) and OpenSSL 3.
    #[default]
    LegacyDES,
    /// AES-256-CBC with PBKDF2, HMAC-SHA256 MAC: Java 11 reads it only from 11.0.12 (JDK-8267701).
    Modern2023,
}

impl Pkcs12Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Pkcs12Profile::LegacyRC2 => "LegacyRC2",
            Pkcs12Profile::LegacyDES => "LegacyDES",
            Pkcs12Profile::Modern2023 => "Modern2023",
        }
    }
}

/// The typed functionConfig. Build it with [`SpinnakerPlatform::from_function_config`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SpinnakerPlatform {
    pub spec: Spec,
    /// How the user wrote it; messages about its fields after loading (the BOM, pins) use the same form.
    #[serde(skip)]
    pub form: Form,
}

/// What an ArgoCD Application sets over the functionConfig: its plugin parameters (flat keys, in the order
/// given; a later one wins) and its destination namespace, given only when neither the file nor a parameter
/// names a namespace. `application`: an Application renders, so the namespace must be its destination
/// (generate refuses any other), and a fix to the namespace starts there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub parameters: Vec<(String, String)>,
    pub destination: Option<String>,
    pub application: bool,
}

/// How the user wrote the functionConfig: a `SpinnakerPlatform` document (`spec.bom.extraPins`) or flat
/// keys (a `ConfigMap`, what kpt's `-- key=value` sends: `extra-pins=keel=<tag>`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    #[default]
    Document,
    Flat,
}

/// Where each setting came from, so that a message names it as the user wrote it: a field of the
/// functionConfig in its [`Layout`], an ArgoCD Application parameter (which wins over the file, so a fix
/// made in the file would change nothing), or, for the namespace, the Application's destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pub layout: Layout,
    /// Bit `i`: [`FLAT_KEYS`]`[i]` was set by an Application parameter.
    parameters: u32,
    /// `spec.namespace` is the Application's destination namespace: neither the file nor a parameter names one.
    destination: bool,
    /// An ArgoCD Application renders: the namespace must equal its destination.
    application: bool,
}

const _: () = assert!(FLAT_KEYS.len() <= u32::BITS as usize, "Form keeps one bit per flat key");

impl Form {
    pub const DOCUMENT: Form = Form { layout: Layout::Document, parameters: 0, destination: false, application: false };
    pub const FLAT: Form = Form { layout: Layout::Flat, parameters: 0, destination: false, application: false };

    /// The flat key of a field (`spec.bom.version` → `bom-version`) and its place in [`FLAT_KEYS`].
    fn flat_key(field: &str) -> Option<(usize, &'static str)> {
        FLAT_KEYS.iter().position(|(_, f)| f.split(' ').next() == Some(field)).map(|i| (i, FLAT_KEYS[i].0))
    }

    /// True when an Application parameter set [`FLAT_KEYS`]`[i]`.
    fn parameter_set(self, i: usize) -> bool {
        self.parameters & (1 << i) != 0
    }

    fn set_by_parameter(&mut self, key: &str) {
        if let Some(i) = FLAT_KEYS.iter().position(|(k, _)| *k == key) {
            self.parameters |= 1 << i;
        }
    }

    /// True when an ArgoCD Application renders (generate): fixes are in Git and the Application.
    pub fn under_argocd(self) -> bool {
        self.application
    }

    /// True when an Application parameter set `field`.
    pub fn from_parameter(self, field: &str) -> bool {
        Form::flat_key(field).is_some_and(|(i, _)| self.parameter_set(i))
    }

    /// A field as the user set it: `spec.bom.version`, the flat key that sets it (`bom-version`), `parameter
    /// bom-version` when an Application parameter set it, or for a namespace nothing named the Application's
    /// `spec.destination.namespace`.
    pub fn name(self, field: &str) -> String {
        if field == "spec.namespace" && self.destination {
            return "the Application's spec.destination.namespace".to_owned();
        }
        match (Form::flat_key(field), self.layout) {
            (Some((i, key)), _) if self.parameter_set(i) => format!("parameter {key}"),
            (Some((_, key)), Layout::Flat) => key.to_owned(),
            _ => field.to_owned(),
        }
    }

    /// [`Form::name`] where a message starts with the place, as [`ConfigError`] does: `functionConfig
    /// spec.namespace`, `Application parameter namespace`, or `Application spec.destination.namespace`.
    pub fn head(self, field: &str) -> String {
        if field == "spec.namespace" && self.destination {
            return "Application spec.destination.namespace".to_owned();
        }
        let name = self.name(field);
        format!("{} {name}", owner(&name))
    }

    /// How to change the namespace this install is rendered for: `set spec.namespace`; under ArgoCD, where
    /// the namespace must be the Application's destination, `set the Application's spec.destination.namespace`
    /// (`and parameter namespace`, or whatever else names it). A sentence goes on `to where Spinnaker runs`.
    pub fn set_namespace(self) -> String {
        let field = self.name("spec.namespace");
        let in_file = !self.from_parameter("spec.namespace");
        match (self.application, self.destination, self.layout) {
            (false, _, _) | (true, true, _) => format!("set {field}"),
            (true, false, Layout::Flat) if in_file => {
                format!("set the Application's spec.destination.namespace and the functionConfig's {field}")
            }
            (true, false, _) => format!("set the Application's spec.destination.namespace and {field}"),
        }
    }

    /// A setting, written as the user writes it: `spec.mtls.gateListener: http`, `gate-listener=http`, or
    /// `parameter gate-listener=http`.
    pub fn setting(self, field: &str, value: &str) -> String {
        match Form::flat_key(field) {
            Some((i, key)) if self.parameter_set(i) => format!("parameter {key}={value}"),
            Some((_, key)) if self.layout == Layout::Flat => format!("{key}={value}"),
            _ => format!("{field}: {value}"),
        }
    }

    /// One entry of a map field: `spec.bom.extraPins.keel`, `extra-pins (keel)` or `parameter extra-pins (keel)`.
    pub fn name_entry(self, field: &str, entry: &str) -> String {
        match (self.layout, self.from_parameter(field)) {
            (Layout::Document, false) => format!("{field}.{entry}"),
            _ => format!("{} ({entry})", self.name(field)),
        }
    }

    /// [`Form::name_entry`] where a message starts with the place, as [`Form::head`].
    pub fn head_entry(self, field: &str, entry: &str) -> String {
        let name = self.name_entry(field, entry);
        format!("{} {name}", owner(&name))
    }

    /// Two exclusive fields: `spec.bom.dir or spec.bom.file`, or `bom-dir or bom-file`.
    pub fn either(self, a: &str, b: &str) -> String {
        format!("{} or {}", self.name(a), self.name(b))
    }

    /// Where the BOM is chosen: `spec.bom` in a document, else the two fields that point at it (a parameter
    /// that sets one clears the other: then both are parameters).
    pub fn bom_location(self) -> String {
        let parameter = self.from_parameter("spec.bom.dir") || self.from_parameter("spec.bom.file");
        match (self.layout, parameter) {
            (_, true) => "parameter bom-dir or bom-file".to_owned(),
            (Layout::Document, false) => "spec.bom".to_owned(),
            (Layout::Flat, false) => self.either("spec.bom.dir", "spec.bom.file"),
        }
    }

    /// How to pin a service the BOM lacks: `extraPins: {keel: <tag>}`, `extra-pins=keel=<tag>`, or `keel: <tag>`
    /// (an entry of the map parameter extra-pins).
    pub fn example_pin(self, service: Service) -> String {
        match (self.layout, self.from_parameter("spec.bom.extraPins")) {
            (_, true) => format!("{service}: <tag>"),
            (Layout::Document, false) => format!("extraPins: {{{service}: <tag>}}"),
            (Layout::Flat, false) => format!("extra-pins={service}=<tag>"),
        }
    }
}

/// `spec`: what to inject and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    /// Where Spinnaker runs (DNS names, trust distribution). Default `spinnaker`.
    pub namespace: String,
    #[serde(deserialize_with = "null_as_default")]
    pub bom: BomConfig,
    #[serde(deserialize_with = "null_as_default")]
    pub truststore: Truststore,
    #[serde(deserialize_with = "null_as_default")]
    pub mtls: Mtls,
    /// Allow-list of services to change; empty (the default) means every Spinnaker service found.
    #[serde(deserialize_with = "null_as_default")]
    pub services: Vec<Service>,
    /// `transform` (default) or `verify`.
    pub mode: Mode,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            namespace: "spinnaker".to_owned(),
            bom: BomConfig::default(),
            truststore: Truststore::default(),
            mtls: Mtls::default(),
            services: Vec::new(),
            mode: Mode::Transform,
        }
    }
}

impl Spec {
    /// True when `service` is to be changed: the allow-list is empty or names it.
    pub fn selects(&self, service: Service) -> bool {
        self.services.is_empty() || self.services.contains(&service)
    }
}

/// `spec.bom`: which BOM pins the images. Also what [`crate::bom::Bom::image_for`] takes as its pins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct BomConfig {
    /// The Spinnaker release to pin (required), e.g. `1.27.0` or `2025.3.2`.
    pub version: String,
    /// Directory holding `<version>.yml`, relative to the working directory or any directory above it up to
    /// the repository root. `bom` when neither dir nor file is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// An explicit BOM file, looked up as `dir` is; exclusive with `dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Registry for every image (`host[:port][/path]`); overrides the BOM's `artifactSources.dockerRegistry`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Tags for services the BOM lacks (keel never is in a BOM). A service both here and in the BOM gets
    /// the tag from here.
    #[serde(deserialize_with = "null_as_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_pins: BTreeMap<Service, String>,
}

impl BomConfig {
    /// The BOM file to read: `<dir>/<version>.yml` (dir defaults to `bom`), or `file`.
    pub fn bom_path(&self) -> String {
        match (&self.file, &self.dir) {
            (Some(file), _) => file.clone(),
            (None, dir) => {
                let dir = dir.as_deref().unwrap_or(DEFAULT_BOM_DIR);
                let dir = match dir.trim_end_matches('/') {
                    "" => dir,
                    trimmed => trimmed,
                };
                format!("{dir}/{}.yml", self.version)
            }
        }
    }
}

const DEFAULT_BOM_DIR: &str = "bom";

/// `spec.truststore`: how each JVM service gets a Java truststore with the private CA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Truststore {
    pub mode: TruststoreMode,
    /// The ConfigMap and key holding the CA bundle (PEM). Default `spinnaker-cert-trust-bundle` / `mtls-cacerts`.
    #[serde(deserialize_with = "null_as_default")]
    pub ca_bundle: ConfigMapKeyRef,
    /// The Secret and key holding the keystore/truststore password. Default `certificate-secrets` /
    /// `TLS_INTERNAL_KEYSTORE_PASSWORD`.
    #[serde(deserialize_with = "null_as_default")]
    pub password_secret: SecretKeyRef,
    /// The JDK default truststore inside every service image. Unset (the default): the init container finds
    /// it in the image it runs in (`$JAVA_HOME`, next to `keytool`, the system store).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_cacerts: Option<String>,
    /// The JDK default truststore for one service's image, over `defaultCacerts` (an image with an odd layout).
    #[serde(deserialize_with = "null_as_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub default_cacerts_per_service: BTreeMap<Service, String>,
    /// trust-manager's trust namespace (Helm `app.trust.namespace`): where Bundle sources are read and where
    /// a created CA's Certificate and Secret live (cert-manager's cluster resource namespace). Default `cert-manager`.
    pub trust_namespace: String,
}

impl Default for Truststore {
    fn default() -> Self {
        Truststore {
            mode: TruststoreMode::InitContainer,
            ca_bundle: ConfigMapKeyRef::default(),
            password_secret: SecretKeyRef::default(),
            default_cacerts: None,
            default_cacerts_per_service: BTreeMap::new(),
            trust_namespace: "cert-manager".to_owned(),
        }
    }
}

impl Truststore {
    /// The JDK default store the user named for `service`'s image, if any (else the init container finds it).
    pub fn default_cacerts_for(&self, service: Service) -> Option<&str> {
        self.default_cacerts_per_service.get(&service).or(self.default_cacerts.as_ref()).map(String::as_str)
    }
}

/// A key of a ConfigMap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigMapKeyRef {
    pub config_map: String,
    pub key: String,
}

impl Default for ConfigMapKeyRef {
    fn default() -> Self {
        ConfigMapKeyRef { config_map: "spinnaker-cert-trust-bundle".to_owned(), key: "mtls-cacerts".to_owned() }
    }
}

/// A key of a Secret: the only way a password enters the config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

impl Default for SecretKeyRef {
    fn default() -> Self {
        SecretKeyRef { name: "certificate-secrets".to_owned(), key: "TLS_INTERNAL_KEYSTORE_PASSWORD".to_owned() }
    }
}

/// `spec.mtls`: certificates and Spring TLS settings for the JVM services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Mtls {
    /// Default true.
    pub enabled: bool,
    /// Server-side client-auth of every JVM service but gate. Default `need`.
    pub client_auth: ClientAuth,
    /// Client-auth of gate's HTTPS listener; unset means `want` (browsers and the ingress have no client
    /// certificate). Set, it implies `gateListener: https`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_client_auth: Option<ClientAuth>,
    /// Gate's own listener; unset means `http`, or `https` when `gateClientAuth` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_listener: Option<GateListener>,
    #[serde(deserialize_with = "null_as_default")]
    pub issuer: Issuer,
    /// The PKCS12 profile of the key stores; unset means [`Pkcs12Profile::LegacyDES`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs12_profile: Option<Pkcs12Profile>,
}

impl Default for Mtls {
    fn default() -> Self {
        Mtls {
            enabled: true,
            client_auth: ClientAuth::Need,
            gate_client_auth: None,
            gate_listener: None,
            issuer: Issuer::default(),
            pkcs12_profile: None,
        }
    }
}

impl Mtls {
    /// Whether `service` serves TLS on its own port (with mTLS on): every JVM service but gate, and gate
    /// with `gateListener: https` (or a `gateClientAuth`).
    pub fn serves_tls(&self, service: Service) -> bool {
        self.enabled && (service != Service::Gate || self.gate_listener() == GateListener::Https)
    }

    /// Gate's listener: `gateListener`, else `https` when `gateClientAuth` is set, else `http`.
    pub fn gate_listener(&self) -> GateListener {
        self.gate_listener.unwrap_or(match self.gate_client_auth {
            Some(_) => GateListener::Https,
            None => GateListener::Http,
        })
    }

    /// The server-side client-auth for `service`: gate's own setting (default `want`), else `clientAuth`.
    pub fn client_auth_for(&self, service: Service) -> ClientAuth {
        match service {
            Service::Gate => self.gate_client_auth.unwrap_or(ClientAuth::Want),
            _ => self.client_auth,
        }
    }
}

/// `spec.mtls.issuer`: who signs the certificates. Default `ClusterIssuer` `spinnaker-ca`, created by us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Issuer {
    pub kind: IssuerKind,
    pub name: String,
    /// Also emit the CA chain (self-signed issuer → CA Certificate → CA issuer → trust-manager Bundle).
    pub create: bool,
}

impl Default for Issuer {
    fn default() -> Self {
        Issuer { kind: IssuerKind::ClusterIssuer, name: "spinnaker-ca".to_owned(), create: true }
    }
}

/// The whole document as written, for deserialization only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document {
    #[allow(dead_code)]
    api_version: IgnoredAny,
    #[allow(dead_code)]
    kind: IgnoredAny,
    #[serde(default)]
    #[allow(dead_code)]
    metadata: IgnoredAny,
    #[serde(default, deserialize_with = "null_as_default")]
    spec: Spec,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl SpinnakerPlatform {
    /// The namespace a functionConfig names, with the field that names it (`spec.namespace`, or `data.namespace`
    /// in a ConfigMap), as loading reads it (any scalar's text: `123` too); `None` when it names none (absent,
    /// null or empty: the default applies, or loading reports it).
    pub fn named_namespace(fc: &Node) -> Option<(&'static str, &str)> {
        let (field, path) = match fc.path_str(&["kind"]) {
            Some("ConfigMap") => ("data.namespace", ["data", "namespace"]),
            _ => ("spec.namespace", ["spec", "namespace"]),
        };
        let value = fc.path(&path).and_then(Node::as_scalar).filter(|s| !s.is_null())?.value();
        (!value.is_empty()).then_some((field, value))
    }

    /// Reads a functionConfig: a `SpinnakerPlatform`, or a `ConfigMap` with flat keys. The result is validated.
    pub fn from_function_config(fc: &Node) -> Result<SpinnakerPlatform, ConfigError> {
        Self::load(fc, &Overrides::default())
    }

    /// Reads a functionConfig and applies what an ArgoCD Application sets over it ([`Self::apply_overrides`]).
    /// The release may come from the parameter `bom-version` alone: one path in Git, rendered by an
    /// Application per environment, each pinning its own release.
    pub fn load(fc: &Node, overrides: &Overrides) -> Result<SpinnakerPlatform, ConfigError> {
        let overridden = *overrides != Overrides::default();
        let mut platform = Self::read(fc, !overridden)?;
        if overridden {
            platform.apply_overrides(overrides)?;
        }
        platform.require_version()?;
        Ok(platform)
    }

    /// [`Self::from_function_config`] that leaves a missing release empty, for what shows the file's values
    /// (the ArgoCD parameters announcement) where a parameter may set the release.
    pub fn from_function_config_unpinned(fc: &Node) -> Result<SpinnakerPlatform, ConfigError> {
        Self::read(fc, false)
    }

    /// `require_version`: a file without a release is an error here, in the file's own terms (else it is for
    /// [`Self::require_version`] once the overrides are in).
    fn read(fc: &Node, require_version: bool) -> Result<SpinnakerPlatform, ConfigError> {
        let Some(map) = fc.as_mapping() else {
            return Err(ConfigError::invalid(
                "(document)",
                format!("must be a mapping with apiVersion {API_VERSION} and kind {KIND}"),
            ));
        };
        let field = |name: &str| match map.get(name).map(Node::to_json) {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let (api_version, kind) = (field("apiVersion"), field("kind"));
        match (api_version.as_str(), kind.as_str()) {
            (API_VERSION, KIND) => Self::from_document(fc, require_version),
            ("v1", "ConfigMap") => Self::from_config_map(fc, require_version),
            _ => Err(ConfigError::WrongKind { api_version, kind }),
        }
    }

    fn from_document(fc: &Node, require_version: bool) -> Result<SpinnakerPlatform, ConfigError> {
        let mut value = config_json(fc);
        if let Value::Object(map) = &mut value {
            // Ignored, and not scanned: kustomize and kpt put their own annotations there.
            map.insert("metadata".to_owned(), Value::Null);
        }
        reject_inline_material(&value, &mut Vec::new())?;
        let document: Document = serde_path_to_error::deserialize(value).map_err(|err| {
            // Map keys show as `?` (serde cannot name a key that failed to parse); the message names it.
            let path = match err.path().to_string().replace(".?", "") {
                p if p == "." || p == "?" => "(document)".to_owned(),
                p => p,
            };
            ConfigError::invalid(path, err.into_inner().to_string())
        })?;
        let mut platform = SpinnakerPlatform { spec: document.spec, form: Form::DOCUMENT };
        platform.normalize();
        platform.validate()?;
        if require_version {
            platform.require_version()?;
        }
        Ok(platform)
    }

    fn from_config_map(fc: &Node, require_version: bool) -> Result<SpinnakerPlatform, ConfigError> {
        let map = fc.as_mapping().expect("checked by the caller");
        for (key, _) in map.iter() {
            if !matches!(key.value(), "apiVersion" | "kind" | "metadata" | "data") {
                return Err(ConfigError::invalid(
                    key.value(),
                    "unknown field in a ConfigMap functionConfig; put settings in data (flat keys such as bom-version)",
                ));
            }
        }
        let mut params = Vec::new();
        match map.get("data") {
            None => {}
            Some(data) if data.as_mapping().is_some() => {
                for (key, value) in data.as_mapping().into_iter().flat_map(Mapping::iter) {
                    let text = match value.view() {
                        View::Scalar(s) if s.is_null() => String::new(),
                        View::Scalar(s) => s.value().to_owned(),
                        _ => {
                            return Err(ConfigError::invalid(
                                format!("data.{}", key.value()),
                                "must be a string (ConfigMap data holds only strings)",
                            ))
                        }
                    };
                    params.push((key.value().to_owned(), text));
                }
            }
            Some(node) if node.is_null() => {}
            Some(_) => return Err(ConfigError::invalid("data", "must be a mapping of flat string keys")),
        }
        let verify = params.iter().any(|(k, v)| k == "mode" && v == "verify");
        if require_version && !verify && !params.iter().any(|(k, _)| k == "bom-version") {
            return Err(ConfigError::invalid(
                "data.bom-version",
                "required: the Spinnaker release to pin (data: {bom-version: 1.27.0}; with kpt fn eval: -- bom-version=1.27.0)",
            ));
        }
        let mut platform = SpinnakerPlatform { form: Form::FLAT, ..SpinnakerPlatform::default() };
        platform.apply_flat(&params, "data.")?;
        Ok(platform)
    }

    /// Applies what an ArgoCD Application sets over this config and validates the result: its destination
    /// namespace (when given), then its parameters (flat `key=value` settings, the keys of [`FLAT_KEYS`]).
    /// Errors name a parameter as `parameter <key>`, and so do later messages about what it set ([`Form`]).
    /// On error `self` is left unchanged.
    pub fn apply_overrides(&mut self, overrides: &Overrides) -> Result<(), ConfigError> {
        let mut next = self.clone();
        next.form.application |= overrides.application;
        if let Some(namespace) = &overrides.destination {
            check_namespace(namespace).map_err(|message| ConfigError::Destination { message })?;
            next.spec.namespace = namespace.clone();
            next.form.destination = true;
        }
        // Marked first: the checks across fields that `apply_flat` ends with name what the parameters set.
        for (key, _) in &overrides.parameters {
            next.form.set_by_parameter(key);
            if key == "namespace" {
                next.form.destination = false;
            }
        }
        next.apply_flat(&overrides.parameters, "parameter ")?;
        *self = next;
        Ok(())
    }

    fn apply_flat(&mut self, params: &[(String, String)], prefix: &str) -> Result<(), ConfigError> {
        let (mut dir_given, mut file_given) = (false, false);
        for (key, value) in params {
            let path = format!("{prefix}{key}");
            let bad = |message: String| ConfigError::invalid(path.clone(), message);
            if value.contains("-----BEGIN") {
                return Err(ConfigError::invalid(path, INLINE_PEM_FLAT));
            }
            let spec = &mut self.spec;
            match key.as_str() {
                "bom-version" => {
                    check_version(value).map_err(bad)?;
                    spec.bom.version = value.clone();
                }
                "bom-dir" => {
                    check_bom_path(value, true).map_err(bad)?;
                    spec.bom.dir = Some(value.clone());
                    spec.bom.file = None;
                    dir_given = true;
                }
                "bom-file" => {
                    check_bom_path(value, false).map_err(bad)?;
                    spec.bom.file = Some(value.clone());
                    spec.bom.dir = None;
                    file_given = true;
                }
                "bom-registry" if value.is_empty() => spec.bom.registry = None,
                "bom-registry" => {
                    check_registry(value).map_err(bad)?;
                    spec.bom.registry = Some(value.clone());
                }
                "extra-pins" => {
                    for item in split_list(value) {
                        let Some((service, tag)) = item.split_once('=') else {
                            return Err(bad(format!(
                                "{} is not svc=tag; write e.g. keel=0.1.0,gate=6.54.1",
                                show(item)
                            )));
                        };
                        let service = parse_service(service.trim()).map_err(bad)?;
                        let tag = tag.trim();
                        check_tag(tag).map_err(bad)?;
                        spec.bom.extra_pins.insert(service, tag.to_owned());
                    }
                }
                "namespace" => {
                    check_namespace(value).map_err(bad)?;
                    spec.namespace = value.clone();
                }
                "services" => {
                    spec.services = split_list(value).map(parse_service).collect::<Result<_, _>>().map_err(bad)?;
                }
                "mode" => spec.mode = parse_enum(value).map_err(bad)?,
                "truststore-mode" => spec.truststore.mode = parse_enum(value).map_err(bad)?,
                "ca-bundle-configmap" => {
                    check_name(value).map_err(bad)?;
                    spec.truststore.ca_bundle.config_map = value.clone();
                }
                "ca-bundle-key" => {
                    check_key(value).map_err(bad)?;
                    spec.truststore.ca_bundle.key = value.clone();
                }
                "password-secret-name" => {
                    check_name(value).map_err(bad)?;
                    spec.truststore.password_secret.name = value.clone();
                }
                "password-secret-key" => {
                    check_key(value).map_err(bad)?;
                    spec.truststore.password_secret.key = value.clone();
                }
                "default-cacerts" if value.is_empty() => spec.truststore.default_cacerts = None,
                "default-cacerts" => {
                    check_cacerts(value).map_err(bad)?;
                    spec.truststore.default_cacerts = Some(value.clone());
                }
                "default-cacerts-per-service" => {
                    for item in split_list(value) {
                        let Some((service, path)) = item.split_once('=') else {
                            return Err(bad(format!(
                                "{} is not svc=path; write e.g. echo=/usr/local/openjdk-11/lib/security/cacerts",
                                show(item)
                            )));
                        };
                        let service = parse_service(service.trim()).map_err(bad)?;
                        let path = path.trim();
                        check_cacerts(path).map_err(bad)?;
                        spec.truststore.default_cacerts_per_service.insert(service, path.to_owned());
                    }
                }
                "trust-namespace" => {
                    check_namespace(value).map_err(bad)?;
                    spec.truststore.trust_namespace = value.clone();
                }
                "mtls-enabled" => spec.mtls.enabled = parse_bool(value).map_err(bad)?,
                "client-auth" => spec.mtls.client_auth = parse_enum(value).map_err(bad)?,
                "gate-client-auth" => spec.mtls.gate_client_auth = Some(parse_enum(value).map_err(bad)?),
                "gate-listener" => spec.mtls.gate_listener = Some(parse_enum(value).map_err(bad)?),
                "issuer-kind" => spec.mtls.issuer.kind = parse_enum(value).map_err(bad)?,
                "issuer-name" => {
                    check_name(value).map_err(bad)?;
                    spec.mtls.issuer.name = value.clone();
                }
                "issuer-create" => spec.mtls.issuer.create = parse_bool(value).map_err(bad)?,
                "pkcs12-profile" => spec.mtls.pkcs12_profile = Some(parse_enum(value).map_err(bad)?),
                other if names_a_secret(other) => return Err(ConfigError::invalid(path, INLINE_PASSWORD_FLAT)),
                other => return Err(ConfigError::UnknownKey { path, key: other.to_owned() }),
            }
        }
        if dir_given && file_given {
            return Err(ConfigError::invalid(
                format!("{prefix}bom-dir"),
                "bom-dir and bom-file are both set; set only one (bom-dir reads <dir>/<version>.yml)",
            ));
        }
        self.normalize();
        self.validate()
    }

    fn normalize(&mut self) {
        let bom = &mut self.spec.bom;
        if bom.dir.is_none() && bom.file.is_none() {
            bom.dir = Some(DEFAULT_BOM_DIR.to_owned());
        }
    }

    /// A release to pin, unless the mode is `verify` (without one it checks for any fixed tag instead of the
    /// exact BOM pins). Under ArgoCD the Application's parameter `bom-version` may give it.
    fn require_version(&self) -> Result<(), ConfigError> {
        if !self.spec.bom.version.is_empty() || self.spec.mode == Mode::Verify {
            return Ok(());
        }
        let example = match self.form.layout {
            Layout::Document => "spec.bom.version: 1.27.0",
            Layout::Flat => "data: {bom-version: 1.27.0}",
        };
        let parameter = if self.form.application { ", or the Application's parameter bom-version" } else { "" };
        Err(ConfigError::invalid(
            self.form.name("spec.bom.version"),
            format!("required: set the Spinnaker release to pin ({example}){parameter}"),
        ))
    }

    /// Checks every rule of the contract; errors name the field under `spec.`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let spec = &self.spec;
        fn at(path: &'static str) -> impl Fn(String) -> ConfigError {
            move |message| ConfigError::invalid(path, message)
        }
        if !spec.bom.version.is_empty() {
            check_version(&spec.bom.version).map_err(at("spec.bom.version"))?;
        }
        if spec.bom.dir.is_some() && spec.bom.file.is_some() {
            return Err(ConfigError::invalid(
                "spec.bom",
                "spec.bom.dir and spec.bom.file are both set; set only one (dir reads <dir>/<version>.yml)",
            ));
        }
        if let Some(dir) = &spec.bom.dir {
            check_bom_path(dir, true).map_err(at("spec.bom.dir"))?;
        }
        if let Some(file) = &spec.bom.file {
            check_bom_path(file, false).map_err(at("spec.bom.file"))?;
        }
        if let Some(registry) = &spec.bom.registry {
            check_registry(registry).map_err(at("spec.bom.registry"))?;
        }
        for (service, tag) in &spec.bom.extra_pins {
            check_tag(tag).map_err(|m| ConfigError::invalid(format!("spec.bom.extraPins.{service}"), m))?;
        }
        check_namespace(&spec.namespace).map_err(at("spec.namespace"))?;
        let truststore = &spec.truststore;
        check_name(&truststore.ca_bundle.config_map).map_err(at("spec.truststore.caBundle.configMap"))?;
        check_key(&truststore.ca_bundle.key).map_err(at("spec.truststore.caBundle.key"))?;
        check_name(&truststore.password_secret.name).map_err(at("spec.truststore.passwordSecret.name"))?;
        check_key(&truststore.password_secret.key).map_err(at("spec.truststore.passwordSecret.key"))?;
        if let Some(cacerts) = &truststore.default_cacerts {
            check_cacerts(cacerts).map_err(at("spec.truststore.defaultCacerts"))?;
        }
        for (service, cacerts) in &truststore.default_cacerts_per_service {
            check_cacerts(cacerts)
                .map_err(|m| ConfigError::invalid(format!("spec.truststore.defaultCacertsPerService.{service}"), m))?;
        }
        check_namespace(&truststore.trust_namespace).map_err(at("spec.truststore.trustNamespace"))?;
        check_name(&spec.mtls.issuer.name).map_err(at("spec.mtls.issuer.name"))?;
        // Across fields: each is named as the user set it (a field, a flat key or a parameter).
        let form = self.form;
        if spec.mtls.issuer.create && spec.mtls.issuer.kind != IssuerKind::ClusterIssuer {
            return Err(ConfigError::invalid(
                form.name("spec.mtls.issuer.kind"),
                format!(
                    "{} builds a cluster-wide CA chain and needs kind ClusterIssuer; set {}, or {} and bring your own \
                     Issuer",
                    form.name("spec.mtls.issuer.create"),
                    form.setting("spec.mtls.issuer.kind", "ClusterIssuer"),
                    form.setting("spec.mtls.issuer.create", "false")
                ),
            ));
        }
        if spec.mtls.enabled && truststore.mode == TruststoreMode::None {
            return Err(ConfigError::invalid(
                form.name("spec.truststore.mode"),
                format!(
                    "mTLS needs a truststore (ok-http-client.trust-store replaces the JVM's trust, so it must hold the \
                     default CAs plus the private CA): set {} or trust-manager, or {}",
                    form.setting("spec.truststore.mode", "init-container"),
                    form.setting("spec.mtls.enabled", "false")
                ),
            ));
        }
        Ok(())
    }

    /// The BOM file to read: `<dir>/<version>.yml` or `spec.bom.file`.
    pub fn bom_path(&self) -> String {
        self.spec.bom.bom_path()
    }

    /// `spec.mode`.
    pub fn mode(&self) -> Mode {
        self.spec.mode
    }
}

/// The config's JSON view: YAML 1.1 resolution, except that a scalar read as a number keeps the text written
/// (no field here is a number; `1.10` stays `1.10`).
fn config_json(node: &Node) -> Value {
    match node.view() {
        View::Scalar(s) => match node.to_json() {
            Value::Number(_) => Value::String(s.value().to_owned()),
            other => other,
        },
        View::Mapping(m) => Value::Object(m.iter().map(|(k, v)| (k.value().to_owned(), config_json(v))).collect()),
        View::Sequence(q) => Value::Array(q.iter().map(config_json).collect()),
    }
}

/// True for a field name that can only mean a secret value: `password`, `keyStorePassword`, `passphrase`, …
fn names_a_secret(name: &str) -> bool {
    let n: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    n.contains("password") || n.contains("passphrase") || n.contains("privatekey")
}

/// Finds a password, CA bundle or PEM block given inline, before serde could echo it in an error.
fn reject_inline_material(value: &Value, path: &mut Vec<String>) -> Result<(), ConfigError> {
    let here = |path: &[String]| if path.is_empty() { "(document)".to_owned() } else { path.join(".") };
    match value {
        Value::String(s) if s.contains("-----BEGIN") => Err(ConfigError::invalid(here(path), INLINE_PEM)),
        Value::Object(map) => {
            for (key, child) in map {
                path.push(key.clone());
                if matches!(child, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    if names_a_secret(key) {
                        return Err(ConfigError::invalid(here(path), INLINE_PASSWORD));
                    }
                    if key == "caBundle" {
                        return Err(ConfigError::invalid(here(path), INLINE_CA));
                    }
                }
                reject_inline_material(child, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let last = path.pop();
                path.push(format!("{}[{i}]", last.as_deref().unwrap_or("")));
                let result = reject_inline_material(item, path);
                path.pop();
                path.extend(last);
                result?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_service(name: &str) -> Result<Service, String> {
    Service::parse(name).ok_or_else(|| format!("unknown service {}; expected one of {}", show(name), Service::names()))
}

fn parse_enum<T: DeserializeOwned>(value: &str) -> Result<T, String> {
    serde_json::from_value(Value::String(value.to_owned())).map_err(|e| e.to_string())
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("{} is not a boolean; write true or false", show(other))),
    }
}

/// A value for an error message: quoted and escaped (one line), shortened, and never PEM material.
fn show(value: &str) -> String {
    if value.contains("-----BEGIN") {
        return "<inline PEM, not shown>".to_owned();
    }
    match value.char_indices().nth(64) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

/// The shapes of configuration strings, checked by hand: compiling a regex for each cost more than reading the
/// rest of the config, on every run. Each function implements the pattern in its doc comment; the tests check
/// them against those patterns.
mod shape {
    fn all(bytes: &[u8], allowed: impl Fn(u8) -> bool) -> bool {
        bytes.iter().all(|&c| allowed(c))
    }

    fn alnum(c: u8) -> bool {
        c.is_ascii_alphanumeric()
    }

    fn lower_or_digit(c: u8) -> bool {
        c.is_ascii_lowercase() || c.is_ascii_digit()
    }

    /// Non-empty, `first` for its first byte, `rest` for the others, at most `max` bytes.
    fn word(s: &str, max: usize, first: impl Fn(u8) -> bool, rest: impl Fn(u8) -> bool) -> bool {
        matches!(s.as_bytes(), [head, tail @ ..] if s.len() <= max && first(*head) && all(tail, rest))
    }

    /// `^[0-9A-Za-z][0-9A-Za-z._+-]{0,127}$`
    pub fn version(s: &str) -> bool {
        word(s, 128, alnum, |c| alnum(c) || matches!(c, b'.' | b'_' | b'+' | b'-'))
    }

    /// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
    pub fn dns_label(s: &str) -> bool {
        s.as_bytes().last().is_some_and(|&c| lower_or_digit(c))
            && word(s, usize::MAX, lower_or_digit, |c| lower_or_digit(c) || c == b'-')
    }

    /// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
    pub fn dns_subdomain(s: &str) -> bool {
        s.split('.').all(dns_label)
    }

    /// `^[-._a-zA-Z0-9]+$`
    pub fn key(s: &str) -> bool {
        !s.is_empty() && all(s.as_bytes(), |c| alnum(c) || matches!(c, b'-' | b'.' | b'_'))
    }

    /// `^[A-Za-z0-9._+@-]+(/[A-Za-z0-9._+@-]+)*$`
    pub fn bom_path(s: &str) -> bool {
        s.split('/').all(|segment| {
            !segment.is_empty()
                && all(segment.as_bytes(), |c| alnum(c) || matches!(c, b'.' | b'_' | b'+' | b'@' | b'-'))
        })
    }

    /// `^/[A-Za-z0-9._/-]+$`
    pub fn cacerts(s: &str) -> bool {
        matches!(s.as_bytes(), [b'/', rest @ ..] if !rest.is_empty()
            && all(rest, |c| alnum(c) || matches!(c, b'.' | b'_' | b'/' | b'-')))
    }

    /// `^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*$`
    pub fn registry(s: &str) -> bool {
        let (head, path) = s.split_once('/').map_or((s, None), |(head, path)| (head, Some(path)));
        let (host, port) = head.split_once(':').map_or((head, None), |(host, port)| (host, Some(port)));
        host.as_bytes().last().is_some_and(|&c| lower_or_digit(c))
            && word(host, usize::MAX, lower_or_digit, |c| lower_or_digit(c) || matches!(c, b'.' | b'-'))
            && port.is_none_or(|port| !port.is_empty() && all(port.as_bytes(), |c| c.is_ascii_digit()))
            && path.is_none_or(|path| {
                path.split('/').all(|segment| {
                    !segment.is_empty()
                        && all(segment.as_bytes(), |c| lower_or_digit(c) || matches!(c, b'.' | b'_' | b'-'))
                })
            })
    }

    /// `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`
    pub fn tag(s: &str) -> bool {
        word(s, 128, |c| alnum(c) || c == b'_', |c| alnum(c) || matches!(c, b'_' | b'.' | b'-'))
    }
}

fn check_version(v: &str) -> Result<(), String> {
    if shape::version(v) {
        return Ok(());
    }
    Err(format!(
        "{} is not a valid release version; use letters, digits, '.', '_', '+' and '-', starting with a letter or \
         digit, at most 128 characters (e.g. 1.27.0 or 2025.3.2)",
        show(v)
    ))
}

fn check_namespace(v: &str) -> Result<(), String> {
    if v.len() <= 63 && shape::dns_label(v) {
        return Ok(());
    }
    Err(format!(
        "{} is not a valid namespace; use a DNS-1123 label: lowercase letters, digits and '-', starting and ending \
         with a letter or digit, at most 63 characters",
        show(v)
    ))
}

fn check_name(v: &str) -> Result<(), String> {
    if v.len() <= 253 && shape::dns_subdomain(v) {
        return Ok(());
    }
    Err(format!(
        "{} is not a valid object name; use a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting \
         and ending with a letter or digit, at most 253 characters",
        show(v)
    ))
}

fn check_key(v: &str) -> Result<(), String> {
    if v.len() <= 253 && shape::key(v) && v != "." && !v.starts_with("..") {
        return Ok(());
    }
    Err(format!(
        "{} is not a valid ConfigMap/Secret key; use letters, digits, '-', '_' and '.' (not '.', not starting with \
         '..'), at most 253 characters",
        show(v)
    ))
}

fn check_bom_path(v: &str, is_dir: bool) -> Result<(), String> {
    let body = if is_dir && v.len() > 1 { v.strip_suffix('/').unwrap_or(v) } else { v };
    if v.len() <= 4096 && shape::bom_path(body) {
        return Ok(());
    }
    Err(format!(
        "{} is not a valid BOM path; use a relative path of letters, digits, '.', '_', '-', '+' and '@' separated by \
         single '/' (e.g. bom, ../../bom or bom/1.27.0.yml)",
        show(v)
    ))
}

fn check_cacerts(v: &str) -> Result<(), String> {
    let ok = v.len() <= 4096
        && shape::cacerts(v)
        && !v.contains("//")
        && !v.ends_with('/')
        && !v.split('/').any(|segment| segment == "..");
    if ok {
        return Ok(());
    }
    Err(format!(
        "{} is not a valid path to the JDK truststore; use an absolute file path of letters, digits, '.', '_' and '-' \
         with no '..' component and no '//' (e.g. /etc/ssl/certs/java/cacerts)",
        show(v)
    ))
}

/// A registry (`host[:port][/path]`, lowercase) as used in image references.
pub(crate) fn check_registry(v: &str) -> Result<(), String> {
    if v.len() <= 255 && shape::registry(v) {
        return Ok(());
    }
    Err(format!(
        "{} is not a valid image registry; use a lowercase host[:port][/path] without a scheme, tag or trailing '/' \
         (e.g. registry.example.com/spinnaker)",
        show(v)
    ))
}

/// A docker image tag.
pub(crate) fn check_tag(v: &str) -> Result<(), String> {
    if shape::tag(v) {
        return Ok(());
    }
    Err(format!(
        "{} is not a valid image tag; use letters, digits, '_', '.' and '-', starting with a letter, digit or '_', \
         at most 128 characters",
        show(v)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_shapes_agree_with_their_patterns() {
        use regex::Regex;
        type Check = fn(&str) -> bool;
        let shapes: [(Check, &str); 8] = [
            (shape::version, r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,127}$"),
            (shape::dns_label, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"),
            (shape::dns_subdomain, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"),
            (shape::key, r"^[-._a-zA-Z0-9]+$"),
            (shape::bom_path, r"^[A-Za-z0-9._+@-]+(/[A-Za-z0-9._+@-]+)*$"),
            (shape::cacerts, r"^/[A-Za-z0-9._/-]+$"),
            (shape::registry, r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*$"),
            (shape::tag, r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"),
        ];
        // Every string of up to five characters over one character of each class that matters.
        let alphabet = ['a', 'Z', '0', '-', '.', '_', '+', '@', '/', ':', 'é'];
        let mut strings = vec![String::new()];
        let mut all = strings.clone();
        for _ in 0..5 {
            strings = strings.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            all.extend(strings.iter().cloned());
        }
        let long = ["a".repeat(127), "a".repeat(128), "a".repeat(129), format!("_{}", "-".repeat(127))];
        all.extend(long);
        all.extend(
            ["registry.example.com:5000/spinnaker", "us-docker.pkg.dev/spinnaker-community/docker"].map(String::from),
        );
        for (check, pattern) in shapes {
            let re = Regex::new(pattern).unwrap();
            for s in &all {
                assert_eq!(check(s), re.is_match(s), "{pattern} on {s:?}");
            }
        }
    }
    use crate::yaml::{parse_stream, Limits};

    fn node(text: &str) -> Node {
        parse_stream(text, Limits::default()).unwrap().remove(0)
    }

    fn load(text: &str) -> Result<SpinnakerPlatform, ConfigError> {
        SpinnakerPlatform::from_function_config(&node(text))
    }

    /// A minimal valid SpinnakerPlatform with `spec` lines appended (indented by the caller).
    fn with_spec(spec: &str) -> String {
        format!("apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nspec:\n{spec}")
    }

    fn minimal(extra: &str) -> String {
        with_spec(&format!("  bom:\n    version: 1.27.0\n{extra}"))
    }

    /// The error for `text`, checked to be one line and to name `path`.
    fn error(text: &str, path: &str) -> String {
        let err = load(text).expect_err("should be rejected").to_string();
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(err.contains(path), "{err:?} should name {path:?}");
        err
    }

    const DESIGN_EXAMPLE: &str = r#"
apiVersion: spinnaker-krm.dev/v1alpha1
kind: SpinnakerPlatform
metadata:
  name: spinnaker
  annotations:
    config.kubernetes.io/local-config: "true"
    config.kubernetes.io/function: |
      exec:
        path: /usr/local/bin/spinnaker-krm
spec:
  namespace: spinnaker            # where Spinnaker runs; used for DNS names and trust distribution
  bom:
    version: 1.27.0               # the release to pin
    dir: bom                      # reads bom/<version>.yml, relative to the function's working directory
    # file: bom/1.27.0.yml        # alternative to dir: an explicit file (exactly one of dir | file)
    registry: registry.example.com/spinnaker   # optional: overrides artifactSources.dockerRegistry
    extraPins:                    # optional: services a BOM does not carry (keel never is in a BOM)
      keel: 0.1.0-20210331200022-slim
  truststore:
    mode: init-container          # init-container (keytool, default) | trust-manager (Bundle PKCS12 target) | none
    caBundle: {configMap: spinnaker-cert-trust-bundle, key: mtls-cacerts}
    passwordSecret: {name: certificate-secrets, key: TLS_INTERNAL_KEYSTORE_PASSWORD}
    defaultCacerts: /etc/ssl/certs/java/cacerts   # the JDK default store inside the service image
  mtls:
    enabled: true
    clientAuth: need              # need | want
    issuer: {kind: ClusterIssuer, name: spinnaker-ca, create: true}
  services: []                    # optional allow-list; empty = every Spinnaker service found
"#;

    fn design_example_spec() -> Spec {
        Spec {
            namespace: "spinnaker".into(),
            bom: BomConfig {
                version: "1.27.0".into(),
                dir: Some("bom".into()),
                file: None,
                registry: Some("registry.example.com/spinnaker".into()),
                extra_pins: BTreeMap::from([(Service::Keel, "0.1.0-20210331200022-slim".into())]),
            },
            truststore: Truststore {
                mode: TruststoreMode::InitContainer,
                ca_bundle: ConfigMapKeyRef {
                    config_map: "spinnaker-cert-trust-bundle".into(),
                    key: "mtls-cacerts".into(),
                },
                password_secret: SecretKeyRef {
                    name: "certificate-secrets".into(),
                    key: "TLS_INTERNAL_KEYSTORE_PASSWORD".into(),
                },
                default_cacerts: Some("/etc/ssl/certs/java/cacerts".into()),
                default_cacerts_per_service: BTreeMap::new(),
                trust_namespace: "cert-manager".into(),
            },
            mtls: Mtls {
                enabled: true,
                client_auth: ClientAuth::Need,
                gate_client_auth: None,
                gate_listener: None,
                issuer: Issuer { kind: IssuerKind::ClusterIssuer, name: "spinnaker-ca".into(), create: true },
                pkcs12_profile: None,
            },
            services: vec![],
            mode: Mode::Transform,
        }
    }

    // ---- the contract as written in DESIGN.md ----

    #[test]
    fn the_design_example_parses_to_the_expected_config() {
        let platform = load(DESIGN_EXAMPLE).unwrap();
        assert_eq!(platform.spec, design_example_spec());
        assert_eq!(platform.bom_path(), "bom/1.27.0.yml");
        assert_eq!(platform.mode(), Mode::Transform);
    }

    #[test]
    fn every_default_is_the_design_example_minus_registry_pins_and_cacerts() {
        let platform = load(&minimal("")).unwrap();
        let mut expected = design_example_spec();
        expected.bom.registry = None;
        expected.bom.extra_pins.clear();
        // Unset: the init container finds the store in the image it runs in.
        expected.truststore.default_cacerts = None;
        assert_eq!(platform.spec, expected);
        assert_eq!(platform.bom_path(), "bom/1.27.0.yml");
    }

    #[test]
    fn nested_references_default_field_by_field() {
        let p = load(&minimal(
            "  truststore:\n    caBundle: {configMap: my-bundle}\n    passwordSecret: {key: PASS}\n  mtls:\n    issuer: {name: corp-ca}\n",
        ))
        .unwrap();
        assert_eq!(
            p.spec.truststore.ca_bundle,
            ConfigMapKeyRef { config_map: "my-bundle".into(), key: "mtls-cacerts".into() }
        );
        assert_eq!(
            p.spec.truststore.password_secret,
            SecretKeyRef { name: "certificate-secrets".into(), key: "PASS".into() }
        );
        assert_eq!(
            p.spec.mtls.issuer,
            Issuer { kind: IssuerKind::ClusterIssuer, name: "corp-ca".into(), create: true }
        );
    }

    #[test]
    fn null_sections_mean_their_defaults() {
        let p = load(&minimal("  truststore:\n  services:\n  mtls: ~\n")).unwrap();
        assert_eq!(p.spec.truststore, Truststore::default());
        assert_eq!(p.spec.mtls, Mtls::default());
        let p = load(&with_spec("  bom:\n    version: 1.27.0\n    extraPins:\n")).unwrap();
        assert!(p.spec.bom.extra_pins.is_empty());
    }

    #[test]
    fn metadata_and_its_annotations_are_ignored() {
        let text = minimal("").replace(
            "spec:",
            "metadata:\n  name: x\n  annotations:\n    internal.config.kubernetes.io/path: a.yaml\n    \
             config.kubernetes.io/index: '0'\n    anything: {nested: [1, 2]}\nspec:",
        );
        assert_eq!(load(&text).unwrap().spec.bom.version, "1.27.0");
    }

    #[test]
    fn numbers_are_read_as_the_text_written() {
        let p =
            load(&with_spec("  bom:\n    version: 1.10\n    extraPins:\n      keel: 1.0\n      gate: 10\n")).unwrap();
        assert_eq!(p.spec.bom.version, "1.10");
        assert_eq!(p.spec.bom.extra_pins[&Service::Keel], "1.0");
        assert_eq!(p.spec.bom.extra_pins[&Service::Gate], "10");
    }

    #[test]
    fn the_other_enum_values_and_the_added_fields() {
        let p = load(&minimal(
            "  mode: verify\n  truststore:\n    mode: trust-manager\n  mtls:\n    enabled: false\n    clientAuth: want\n    \
             gateClientAuth: need\n    issuer: {kind: Issuer, name: ca, create: false}\n  services: [gate, clouddriver]\n",
        ))
        .unwrap();
        assert_eq!(p.mode(), Mode::Verify);
        assert_eq!(p.spec.truststore.mode, TruststoreMode::TrustManager);
        assert!(!p.spec.mtls.enabled);
        assert_eq!(p.spec.mtls.client_auth, ClientAuth::Want);
        assert_eq!(p.spec.mtls.client_auth_for(Service::Gate), ClientAuth::Need);
        assert_eq!(p.spec.mtls.issuer, Issuer { kind: IssuerKind::Issuer, name: "ca".into(), create: false });
        assert_eq!(p.spec.services, [Service::Gate, Service::Clouddriver]);
        assert!(p.spec.selects(Service::Gate) && !p.spec.selects(Service::Orca));
        let trust_off = load(&minimal("  truststore: {mode: none}\n  mtls: {enabled: false}\n")).unwrap();
        assert_eq!(trust_off.spec.truststore.mode, TruststoreMode::None);
    }

    #[test]
    fn gate_defaults_to_want_and_the_rest_to_client_auth() {
        let mtls = Mtls::default();
        assert_eq!(mtls.client_auth_for(Service::Gate), ClientAuth::Want);
        assert_eq!(mtls.client_auth_for(Service::Clouddriver), ClientAuth::Need);
        assert!(Spec::default().selects(Service::Orca));
    }

    #[test]
    fn bom_file_and_dir_paths() {
        let p = load(&with_spec("  bom:\n    version: 1.27.0\n    file: ../../boms/spinnaker-1.27.0.yml\n")).unwrap();
        assert_eq!((p.spec.bom.dir.as_deref(), p.bom_path().as_str()), (None, "../../boms/spinnaker-1.27.0.yml"));
        let p = load(&with_spec("  bom:\n    version: 2025.3.2\n    dir: ../../bom/\n")).unwrap();
        assert_eq!(p.bom_path(), "../../bom/2025.3.2.yml");
        let p = load(&with_spec("  bom:\n    version: 1.27.0\n    dir: .\n")).unwrap();
        assert_eq!(p.bom_path(), "./1.27.0.yml");
    }

    #[test]
    fn serializes_back_in_camel_case() {
        let json = serde_json::to_value(load(DESIGN_EXAMPLE).unwrap()).unwrap();
        assert_eq!(json["spec"]["truststore"]["caBundle"]["configMap"], "spinnaker-cert-trust-bundle");
        assert_eq!(json["spec"]["bom"]["extraPins"]["keel"], "0.1.0-20210331200022-slim");
        assert_eq!(json["spec"]["truststore"]["mode"], "init-container");
    }

    // ---- wrong documents ----

    #[test]
    fn another_kind_or_api_version_names_what_is_expected() {
        for text in [
            "apiVersion: v1\nkind: Secret\n",
            "apiVersion: spinnaker-krm.dev/v1\nkind: SpinnakerPlatform\n",
            "apiVersion: v2\nkind: ConfigMap\n",
            "kind: SpinnakerPlatform\n",
        ] {
            let err = load(text).unwrap_err();
            assert!(matches!(err, ConfigError::WrongKind { .. }), "{err}");
            let msg = err.to_string();
            assert!(msg.contains("spinnaker-krm.dev/v1alpha1") && msg.contains("SpinnakerPlatform"), "{msg}");
        }
        error("- a\n- b\n", "(document)");
    }

    #[test]
    fn unknown_fields_are_errors_at_every_level() {
        error(&minimal("  nmespace: x\n"), "nmespace");
        error(&minimal("  truststore:\n    mod: none\n"), "spec.truststore.mod");
        error(&minimal("  mtls:\n    issuer: {kind: ClusterIssuer, nam: x}\n"), "spec.mtls.issuer.nam");
        error(&with_spec("  bom:\n    version: 1.27.0\n    regsitry: x\n"), "spec.bom.regsitry");
        error(&format!("{}status: {{}}\n", minimal("")), "status");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = error(&minimal("  mtls:\n    enabled: maybe\n"), "spec.mtls.enabled");
        assert!(err.contains("boolean"), "{err}");
        error(&minimal("  services: gate\n"), "spec.services");
        error(&minimal("  namespace: [a]\n"), "spec.namespace");
        error(&minimal("  truststore: init-container\n"), "spec.truststore");
        error(&with_spec("  bom: 1.27.0\n"), "spec.bom");
    }

    #[test]
    fn bad_enum_values_list_the_valid_ones() {
        let err = error(&minimal("  truststore:\n    mode: initcontainer\n"), "spec.truststore.mode");
        assert!(
            err.contains("initcontainer") && err.contains("init-container") && err.contains("trust-manager"),
            "{err}"
        );
        let err = error(&minimal("  mtls:\n    clientAuth: required\n"), "spec.mtls.clientAuth");
        assert!(err.contains("need") && err.contains("want"), "{err}");
        error(&minimal("  mtls:\n    issuer: {kind: clusterissuer}\n"), "spec.mtls.issuer.kind");
        error(&minimal("  mode: apply\n"), "spec.mode");
        let err = error(&minimal("  services: [gate, redis]\n"), "spec.services[1]");
        assert!(err.contains("redis") && err.contains("clouddriver"), "{err}");
        let err = error(&with_spec("  bom:\n    version: 1.27.0\n    extraPins: {kel: '1.0'}\n"), "spec.bom.extraPins");
        assert!(err.contains("kel") && !err.contains(".?"), "{err}");
    }

    #[test]
    fn bom_version_is_required_and_strict() {
        let err = error(&with_spec("  namespace: spinnaker\n"), "spec.bom.version");
        assert!(err.contains("required"), "{err}");
        error("apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\n", "spec.bom.version");
        for bad in ["'-1.0'", "'1.27.0;ls'", "'$(id)'", "'1 2'", "local:1.27.0", "../1.27.0"] {
            error(&with_spec(&format!("  bom:\n    version: {bad}\n")), "spec.bom.version");
        }
        let long = "1".repeat(129);
        error(&with_spec(&format!("  bom:\n    version: '{long}'\n")), "spec.bom.version");
    }

    #[test]
    fn bom_dir_and_file_are_exclusive() {
        let err =
            error(&with_spec("  bom:\n    version: 1.27.0\n    dir: bom\n    file: bom/1.27.0.yml\n"), "spec.bom");
        assert!(err.contains("only one"), "{err}");
    }

    #[test]
    fn bom_paths_are_relative_and_plain() {
        for bad in [
            "/etc/bom",
            "''",
            "'a;rm -rf /'",
            "'$(x)'",
            "'`id`'",
            "a//b",
            "\"a\\nb\"",
            "\"a\\0b\"",
            "'bom dir'",
            "\"a\\tb\"",
            "'~/bom'",
        ] {
            error(&with_spec(&format!("  bom:\n    version: 1.27.0\n    dir: {bad}\n")), "spec.bom.dir");
            error(&with_spec(&format!("  bom:\n    version: 1.27.0\n    file: {bad}\n")), "spec.bom.file");
        }
        error(&with_spec("  bom:\n    version: 1.27.0\n    file: bom/\n"), "spec.bom.file");
        for good in ["bom", "../../bom", "./bom/", "boms/spinnaker_1.27+x@y"] {
            assert!(load(&with_spec(&format!("  bom:\n    version: 1.27.0\n    dir: {good}\n"))).is_ok(), "{good}");
        }
    }

    #[test]
    fn names_and_namespaces_follow_dns_1123() {
        for bad in ["'a;rm -rf'", "'$(x)'", "'`id`'", "Spinnaker", "-spin", "spin-", "spin.naker", "''", "'a b'"] {
            error(&minimal(&format!("  namespace: {bad}\n")), "spec.namespace");
        }
        error(&minimal(&format!("  namespace: {}\n", "a".repeat(64))), "spec.namespace");
        assert!(load(&minimal(&format!("  namespace: {}\n", "a".repeat(63)))).is_ok());
        for bad in ["'a;rm -rf'", "'$(x)'", "'`id`'", "Bundle", "a..b", "''"] {
            error(
                &minimal(&format!("  truststore:\n    caBundle: {{configMap: {bad}}}\n")),
                "spec.truststore.caBundle.configMap",
            );
            error(
                &minimal(&format!("  truststore:\n    passwordSecret: {{name: {bad}}}\n")),
                "spec.truststore.passwordSecret.name",
            );
            error(&minimal(&format!("  mtls:\n    issuer: {{name: {bad}}}\n")), "spec.mtls.issuer.name");
        }
        assert!(load(&minimal("  truststore:\n    caBundle: {configMap: trust.example.com}\n")).is_ok());
        error(&minimal(&format!("  mtls:\n    issuer: {{name: {}}}\n", "a".repeat(254))), "spec.mtls.issuer.name");
    }

    #[test]
    fn secret_and_configmap_keys_are_plain_file_names() {
        for bad in ["'a;b'", "'$(x)'", "'`id`'", "a/b", "'..'", "'.'", "'..data'", "''", "'a b'"] {
            error(&minimal(&format!("  truststore:\n    caBundle: {{key: {bad}}}\n")), "spec.truststore.caBundle.key");
            error(
                &minimal(&format!("  truststore:\n    passwordSecret: {{key: {bad}}}\n")),
                "spec.truststore.passwordSecret.key",
            );
        }
        assert!(load(&minimal("  truststore:\n    caBundle: {key: ca.crt}\n")).is_ok());
    }

    #[test]
    fn default_cacerts_is_a_clean_absolute_path() {
        for bad in [
            "etc/cacerts",
            "/etc/../cacerts",
            "/etc/ssl/..",
            "//etc/cacerts",
            "/etc//cacerts",
            "/etc/ssl/",
            "'/etc/ca certs'",
            "'/etc/cacerts;rm -rf /'",
            "'/$(x)'",
            "'/`id`'",
            "''",
        ] {
            error(&minimal(&format!("  truststore:\n    defaultCacerts: {bad}\n")), "spec.truststore.defaultCacerts");
        }
        let p = load(&minimal("  truststore:\n    defaultCacerts: /opt/java/openjdk/lib/security/cacerts\n")).unwrap();
        assert_eq!(p.spec.truststore.default_cacerts.as_deref(), Some("/opt/java/openjdk/lib/security/cacerts"));
        let p = load(&minimal(
            "  truststore:\n    defaultCacertsPerService: {echo: /usr/local/openjdk-11/lib/security/cacerts}\n",
        ))
        .unwrap();
        assert_eq!(
            p.spec.truststore.default_cacerts_for(Service::Echo),
            Some("/usr/local/openjdk-11/lib/security/cacerts")
        );
        assert_eq!(p.spec.truststore.default_cacerts_for(Service::Gate), None, "unset: found in the image");
        error(
            &minimal("  truststore:\n    defaultCacertsPerService: {echo: 'x;id'}\n"),
            "spec.truststore.defaultCacertsPerService.echo",
        );
    }

    #[test]
    fn registry_and_pins_are_image_reference_safe() {
        for bad in ["https://reg.io", "Reg.io", "reg.io/", "reg.io/x:1.0", "'reg.io;ls'", "'$(x)'", "reg.io:port", "''"]
        {
            error(&with_spec(&format!("  bom:\n    version: 1.27.0\n    registry: {bad}\n")), "spec.bom.registry");
        }
        for good in ["localhost:5000", "ghcr.io/spinnaker", "us-docker.pkg.dev/spinnaker-community/docker"] {
            assert!(
                load(&with_spec(&format!("  bom:\n    version: 1.27.0\n    registry: {good}\n"))).is_ok(),
                "{good}"
            );
        }
        for bad in ["'-x'", "'.x'", "'a:b'", "'$(x)'", "'`id`'", "'a b'", "''"] {
            error(
                &with_spec(&format!("  bom:\n    version: 1.27.0\n    extraPins: {{keel: {bad}}}\n")),
                "spec.bom.extraPins.keel",
            );
        }
    }

    #[test]
    fn passwords_are_never_accepted_inline() {
        for (yaml, path) in [
            ("  truststore:\n    passwordSecret: hunter2\n", "spec.truststore.passwordSecret"),
            ("  truststore:\n    password: hunter2\n", "spec.truststore.password"),
            ("  truststore:\n    keyStorePassword: hunter2\n", "spec.truststore.keyStorePassword"),
            ("  mtls:\n    key-store-password: 12345\n", "spec.mtls.key-store-password"),
            ("  password: hunter2\n", "spec.password"),
        ] {
            let err = error(&minimal(yaml), path);
            assert!(err.contains("only a reference {name, key} to a Secret is accepted"), "{err}");
            assert!(err.contains("put the password in a Secret"), "{err}");
            assert!(!err.contains("hunter2") && !err.contains("12345"), "never echo a password: {err}");
        }
    }

    #[test]
    fn certificates_and_keys_are_never_accepted_inline() {
        let err = error(
            &minimal("  truststore:\n    caBundle: \"-----BEGIN CERTIFICATE-----\\nMIIB\"\n"),
            "spec.truststore.caBundle",
        );
        assert!(!err.contains("MIIB"), "{err}");
        let err = error(&minimal("  truststore:\n    caBundle: my-configmap\n"), "spec.truststore.caBundle");
        assert!(err.contains("only a reference {configMap, key}"), "{err}");
        let err =
            error(&minimal("  mtls:\n    tlsKey: \"-----BEGIN PRIVATE KEY-----\\nSECRET\"\n"), "spec.mtls.tlsKey");
        assert!(!err.contains("SECRET"), "{err}");
        error(&minimal("  mtls:\n    privateKey: abc\n"), "spec.mtls.privateKey");
    }

    // ---- the ConfigMap form and overrides ----

    fn config_map(data: &str) -> String {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fn-config\n  annotations:\n    config.kubernetes.io/local-config: 'true'\ndata:\n{data}")
    }

    #[test]
    fn a_configmap_with_only_bom_version_gives_the_defaults() {
        let p = load(&config_map("  bom-version: 1.27.0\n")).unwrap();
        assert_eq!(p.spec, load(&minimal("")).unwrap().spec);
        assert_eq!((p.form, load(&minimal("")).unwrap().form), (Form::FLAT, Form::DOCUMENT));
    }

    #[test]
    fn a_configmap_maps_every_flat_key() {
        let p = load(&config_map(
            "  bom-version: '1.27'\n  bom-file: ../bom/custom.yml\n  bom-registry: reg.example.com:5000/spin\n  \
             extra-pins: keel=0.1.0-slim, gate=6.54.1\n  namespace: spin\n  services: gate,clouddriver\n  mode: verify\n  \
             truststore-mode: trust-manager\n  ca-bundle-configmap: bundle\n  ca-bundle-key: ca.crt\n  \
             password-secret-name: pw\n  password-secret-key: PW\n  default-cacerts: /opt/java/cacerts\n  \
             default-cacerts-per-service: echo=/usr/local/openjdk-11/lib/security/cacerts\n  \
             pkcs12-profile: LegacyRC2\n  trust-namespace: trust\n  \
             mtls-enabled: 'false'\n  client-auth: want\n  gate-client-auth: need\n  gate-listener: https\n  issuer-kind: Issuer\n  \
             issuer-name: my-ca\n  issuer-create: 'false'\n",
        ))
        .unwrap();
        let expected = Spec {
            namespace: "spin".into(),
            bom: BomConfig {
                version: "1.27".into(),
                dir: None,
                file: Some("../bom/custom.yml".into()),
                registry: Some("reg.example.com:5000/spin".into()),
                extra_pins: BTreeMap::from([(Service::Keel, "0.1.0-slim".into()), (Service::Gate, "6.54.1".into())]),
            },
            truststore: Truststore {
                mode: TruststoreMode::TrustManager,
                ca_bundle: ConfigMapKeyRef { config_map: "bundle".into(), key: "ca.crt".into() },
                password_secret: SecretKeyRef { name: "pw".into(), key: "PW".into() },
                default_cacerts: Some("/opt/java/cacerts".into()),
                default_cacerts_per_service: BTreeMap::from([(
                    Service::Echo,
                    "/usr/local/openjdk-11/lib/security/cacerts".into(),
                )]),
                trust_namespace: "trust".into(),
            },
            mtls: Mtls {
                enabled: false,
                client_auth: ClientAuth::Want,
                gate_client_auth: Some(ClientAuth::Need),
                gate_listener: Some(GateListener::Https),
                issuer: Issuer { kind: IssuerKind::Issuer, name: "my-ca".into(), create: false },
                pkcs12_profile: Some(Pkcs12Profile::LegacyRC2),
            },
            services: vec![Service::Gate, Service::Clouddriver],
            mode: Mode::Verify,
        };
        assert_eq!(p.spec, expected);
        assert_eq!(FLAT_KEYS.len(), 24, "a new flat key needs a line in this test");
    }

    #[test]
    fn configmap_values_are_taken_as_written() {
        let p = load(&config_map("  bom-version: 1.10\n  mtls-enabled: false\n  bom-dir: boms\n")).unwrap();
        assert_eq!((p.spec.bom.version.as_str(), p.spec.mtls.enabled), ("1.10", false));
        assert_eq!(p.bom_path(), "boms/1.10.yml");
    }

    #[test]
    fn configmap_errors_name_the_data_key() {
        let err = error(&config_map("  namespace: spinnaker\n"), "data.bom-version");
        assert!(err.contains("required"), "{err}");
        error("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "data.bom-version");
        let err = error(&config_map("  bom-version: 1.27.0\n  bom-versoin: 1.27.0\n"), "data.bom-versoin");
        assert!(err.contains("valid keys: bom-version, bom-dir"), "{err}");
        let err =
            error(&config_map("  bom-version: 1.27.0\n  truststore-mode: initcontainer\n"), "data.truststore-mode");
        assert!(err.contains("init-container"), "{err}");
        error(&config_map("  bom-version: 1.27.0\n  mtls-enabled: yes\n"), "data.mtls-enabled");
        error(&config_map("  bom-version: 1.27.0\n  namespace: 'a;rm -rf'\n"), "data.namespace");
        error(&config_map("  bom-version: 1.27.0\n  services: gate,redis\n"), "data.services");
        error(&config_map("  bom-version: 1.27.0\n  extra-pins: keel\n"), "data.extra-pins");
        error(&config_map("  bom-version: 1.27.0\n  extra-pins: keel=$(x)\n"), "data.extra-pins");
        error(&config_map("  bom-version: 1.27.0\n  bom-dir: a\n  bom-file: b.yml\n"), "bom-file");
        error(&config_map("  bom-version: 1.27.0\n  namespace: [a]\n"), "data.namespace");
        error(&format!("{}binaryData: {{}}\n", config_map("  bom-version: 1.27.0\n")), "binaryData");
        let err = error(&config_map("  bom-version: 1.27.0\n  password: hunter2\n"), "data.password");
        assert!(
            err.contains("set password-secret-name=<secret> and password-secret-key=<key>") && !err.contains("hunter2"),
            "{err}"
        );
        let err = error(
            &config_map("  bom-version: 1.27.0\n  ca-bundle-key: \"-----BEGIN CERTIFICATE-----\"\n"),
            "data.ca-bundle-key",
        );
        assert!(err.contains("never accepted inline"), "{err}");
    }

    fn params(pairs: &[(&str, &str)]) -> Overrides {
        Overrides {
            parameters: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Overrides::default()
        }
    }

    #[test]
    fn overrides_apply_over_a_loaded_config() {
        let mut p = load(DESIGN_EXAMPLE).unwrap();
        p.apply_overrides(&params(&[
            ("bom-version", "1.28.1"),
            ("client-auth", "want"),
            ("truststore-mode", "trust-manager"),
            ("namespace", "spin-prod"),
            ("extra-pins", "gate=6.55.0"),
            ("bom-registry", ""),
        ]))
        .unwrap();
        let s = &p.spec;
        assert_eq!(s.bom.version, "1.28.1");
        assert_eq!(p.bom_path(), "bom/1.28.1.yml");
        assert_eq!((s.mtls.client_auth, s.truststore.mode), (ClientAuth::Want, TruststoreMode::TrustManager));
        assert_eq!(s.namespace, "spin-prod");
        assert_eq!(s.bom.registry, None);
        assert_eq!(s.bom.extra_pins.len(), 2, "extra-pins merges: {:?}", s.bom.extra_pins);
        assert_eq!(s.bom.extra_pins[&Service::Gate], "6.55.0");
    }

    /// Messages name a setting where the user set it: the file (in its layout), a parameter, or for the
    /// namespace the Application's destination.
    #[test]
    fn form_names_a_field_as_the_user_set_it() {
        let listener = "spec.mtls.gateListener";
        let cases = [
            (
                Form::DOCUMENT,
                "spec.mtls.gateListener",
                "functionConfig spec.mtls.gateListener",
                "spec.mtls.gateListener: http",
            ),
            (Form::FLAT, "gate-listener", "functionConfig gate-listener", "gate-listener=http"),
        ];
        for (form, name, head, setting) in cases {
            assert_eq!(
                (form.name(listener), form.head(listener), form.setting(listener, "http")),
                (name.into(), head.into(), setting.into())
            );
            let mut p = SpinnakerPlatform { form, ..load(DESIGN_EXAMPLE).unwrap() };
            p.apply_overrides(&params(&[("gate-listener", "https")])).unwrap();
            assert_eq!(p.form.name(listener), "parameter gate-listener");
            assert_eq!(p.form.head(listener), "Application parameter gate-listener");
            assert_eq!(p.form.setting(listener, "http"), "parameter gate-listener=http");
            assert_eq!(p.form.name("spec.mtls.clientAuth"), form.name("spec.mtls.clientAuth"), "only what it set");
            assert_eq!(p.form.name_entry("spec.bom.extraPins", "keel"), form.name_entry("spec.bom.extraPins", "keel"));
            p.apply_overrides(&params(&[("extra-pins", "keel=0.2.0")])).unwrap();
            assert_eq!(p.form.name_entry("spec.bom.extraPins", "keel"), "parameter extra-pins (keel)");
            assert_eq!(p.form.example_pin(Service::Keel), "keel: <tag>");
            assert_eq!(form.bom_location(), if form == Form::FLAT { "bom-dir or bom-file" } else { "spec.bom" });
            p.apply_overrides(&params(&[("bom-dir", "boms")])).unwrap();
            assert_eq!(p.form.bom_location(), "parameter bom-dir or bom-file", "the parameter cleared the file's");
            // Checks across fields name each field where it was set.
            let err = p.apply_overrides(&params(&[("truststore-mode", "none")])).unwrap_err().to_string();
            let enabled = if form == Form::FLAT { "mtls-enabled=false" } else { "spec.mtls.enabled: false" };
            assert!(
                err.starts_with("Application parameter truststore-mode: mTLS needs a truststore")
                    && err.ends_with(&format!(
                        "set parameter truststore-mode=init-container or trust-manager, or {enabled}"
                    )),
                "{err}"
            );
        }
        // The destination namespace, until a parameter names one.
        let mut p = load(DESIGN_EXAMPLE).unwrap();
        let destination = Overrides { destination: Some("spin".into()), application: true, ..Overrides::default() };
        p.apply_overrides(&destination).unwrap();
        assert_eq!(p.spec.namespace, "spin");
        assert_eq!(p.form.set_namespace(), "set the Application's spec.destination.namespace");
        assert_eq!(p.form.name("spec.namespace"), "the Application's spec.destination.namespace");
        assert_eq!(p.form.head("spec.namespace"), "Application spec.destination.namespace");
        assert_eq!(p.form.name("spec.bom.version"), "spec.bom.version");
        p.apply_overrides(&params(&[("namespace", "spin")])).unwrap();
        assert_eq!(p.form.head("spec.namespace"), "Application parameter namespace");
        assert_eq!(p.form.set_namespace(), "set the Application's spec.destination.namespace and parameter namespace");
        let mut outside = load(DESIGN_EXAMPLE).unwrap();
        outside.apply_overrides(&params(&[("namespace", "spin")])).unwrap();
        assert_eq!(outside.form.set_namespace(), "set parameter namespace", "outside ArgoCD");
        let err = p.apply_overrides(&Overrides { destination: Some("Spin".into()), ..Overrides::default() });
        assert!(err.unwrap_err().to_string().starts_with("Application spec.destination.namespace: "));
    }

    /// A release from the Application alone, in either layout; without one, the error says where it may be set.
    #[test]
    fn under_argocd_the_release_may_come_from_the_parameter() {
        let argocd = |parameters: &[(&str, &str)]| Overrides { application: true, ..params(parameters) };
        for file in [config_map("  namespace: spinnaker\n"), with_spec("  namespace: spinnaker\n")] {
            let p = SpinnakerPlatform::load(&node(&file), &argocd(&[("bom-version", "1.27.0")])).unwrap();
            assert_eq!(p.spec.bom.version, "1.27.0");
            let err = SpinnakerPlatform::load(&node(&file), &argocd(&[])).unwrap_err().to_string();
            assert!(err.ends_with(", or the Application's parameter bom-version"), "{err}");
            assert!(
                err.contains("(data: {bom-version: 1.27.0})") || err.contains("(spec.bom.version: 1.27.0)"),
                "{err}"
            );
            // Outside ArgoCD the file must name it, as before.
            assert!(SpinnakerPlatform::load(&node(&file), &Overrides::default()).is_err());
        }
    }

    /// What generate compares with the destination: the namespace as loading reads it, in either layout.
    #[test]
    fn the_named_namespace_is_read_as_loading_reads_it() {
        let named = |text: &str| {
            let fc = node(text);
            SpinnakerPlatform::named_namespace(&fc).map(|(field, value)| format!("{field}={value}"))
        };
        assert_eq!(
            named(&config_map("  bom-version: 1.27.0\n  namespace: 123\n")).as_deref(),
            Some("data.namespace=123")
        );
        assert_eq!(named(&config_map("  bom-version: 1.27.0\n  namespace: \"\"\n")), None);
        assert_eq!(named(&config_map("  bom-version: 1.27.0\n")), None);
        assert_eq!(named(&minimal("  namespace: prod\n")).as_deref(), Some("spec.namespace=prod"));
        assert_eq!(named(&minimal("  namespace: ~\n")), None);
        assert_eq!(named(&minimal("")), None);
        // Under ArgoCD, with a ConfigMap's namespace: the file's, not a parameter.
        let mut p = load(&config_map("  bom-version: 1.27.0\n  namespace: prod\n")).unwrap();
        p.apply_overrides(&Overrides { application: true, ..Overrides::default() }).unwrap();
        assert_eq!(
            p.form.set_namespace(),
            "set the Application's spec.destination.namespace and the functionConfig's namespace"
        );
    }

    #[test]
    fn a_bom_file_override_replaces_the_dir_and_back() {
        let mut p = load(DESIGN_EXAMPLE).unwrap();
        p.apply_overrides(&params(&[("bom-file", "boms/x.yml")])).unwrap();
        assert_eq!((p.spec.bom.dir.as_deref(), p.bom_path().as_str()), (None, "boms/x.yml"));
        p.apply_overrides(&params(&[("bom-dir", "other")])).unwrap();
        assert_eq!((p.spec.bom.file.as_deref(), p.bom_path().as_str()), (None, "other/1.27.0.yml"));
    }

    #[test]
    fn bad_overrides_name_the_parameter() {
        let mut p = load(DESIGN_EXAMPLE).unwrap();
        let err = p.apply_overrides(&params(&[("client-auth", "required")])).unwrap_err().to_string();
        assert!(err.contains("parameter client-auth") && err.contains("need"), "{err}");
        let err = p.apply_overrides(&params(&[("bom-version", "$(id)")])).unwrap_err().to_string();
        assert!(err.contains("parameter bom-version"), "{err}");
        let before = p.clone();
        let err = p.apply_overrides(&params(&[("namespace", "ok"), ("colour", "blue")])).unwrap_err();
        assert_eq!(p, before, "a failed override changes nothing");
        assert_eq!(err, ConfigError::UnknownKey { path: "parameter colour".into(), key: "colour".into() });
    }
}

#[cfg(test)]
mod cross_field_rules {
    use super::*;

    fn load(text: &str) -> Result<SpinnakerPlatform, ConfigError> {
        let docs = crate::yaml::parse_stream(text, crate::yaml::Limits::default()).unwrap();
        SpinnakerPlatform::from_function_config(&docs[0])
    }

    const HEAD: &str = "apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nmetadata: {name: s}\nspec:\n  bom: {version: 1.27.0}\n";

    #[test]
    fn creating_the_ca_chain_needs_a_cluster_issuer() {
        let err = load(&format!("{HEAD}  mtls: {{issuer: {{kind: Issuer, name: ca, create: true}}}}\n")).unwrap_err();
        assert_eq!(err.path(), Some("spec.mtls.issuer.kind"));
        assert!(err.to_string().contains("needs kind ClusterIssuer"), "{err}");
    }

    #[test]
    fn mtls_without_a_truststore_is_refused() {
        let err = load(&format!("{HEAD}  truststore: {{mode: none}}\n")).unwrap_err();
        assert_eq!(err.path(), Some("spec.truststore.mode"));
        assert!(err.to_string().contains("mTLS needs a truststore"), "{err}");
    }

    #[test]
    fn verify_mode_needs_no_bom_version() {
        let docs = crate::yaml::parse_stream(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: function-input}\ndata: {mode: verify}\n",
            crate::yaml::Limits::default(),
        )
        .unwrap();
        let p = SpinnakerPlatform::from_function_config(&docs[0]).unwrap();
        assert_eq!((p.mode(), p.spec.bom.version.as_str()), (Mode::Verify, ""));
        let err = load("apiVersion: spinnaker-krm.dev/v1alpha1\nkind: SpinnakerPlatform\nspec: {bom: {dir: x}}\n")
            .unwrap_err();
        assert_eq!(err.path(), Some("spec.bom.version"));
    }

    #[test]
    fn the_trust_namespace_defaults_to_cert_manager_and_is_validated() {
        assert_eq!(load(HEAD).unwrap().spec.truststore.trust_namespace, "cert-manager");
        let err = load(&format!("{HEAD}  truststore: {{trustNamespace: 'a;b'}}\n")).unwrap_err();
        assert_eq!(err.path(), Some("spec.truststore.trustNamespace"));
    }
}
