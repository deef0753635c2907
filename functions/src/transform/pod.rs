//! What a JVM service's pod gets: the truststore init container, its volumes and mounts, the password
//! from the Secret, and the JVM trust options. Built once per service as plain nodes, then merged into
//! a Deployment's pod spec or written into a SpinnakerService's strategic-merge patch.
//!
//! The init container runs in the service's own BOM-pinned image (it has `keytool` and the same default
//! `cacerts`, wherever that image keeps it: see [`INIT_SCRIPT`] and `releases.rs`). Its script is a
//! constant: every value it uses arrives through the environment, so nothing from the config is ever
//! interpolated into a shell. It builds the store in a temporary file and renames it, so a re-run after a
//! pod restart (the emptyDir survives) succeeds, and it imports every certificate of the CA bundle (two
//! during a CA rotation), not only the first.
//!
//! Passwords: the trust store holds public certificates only, so its password is the JDK's well-known
//! `changeit` ([`TRUSTSTORE_PASSWORD`], also kork's default `ok-http-client.trust-store-password`), and the
//! JVM-wide `-Djavax.net.ssl.trustStorePassword` in `<SVC>_OPTS`, which the Gradle start script evaluates
//! with a shell (`eval set --`, or splits with `xargs`), carries that fixed value and nothing secret. The key
//! store password reaches Spring only as the env var [`PASSWORD_ENV`] (a `secretKeyRef`) read through
//! `${...}` placeholders, never on a command line.

use super::Context;
use crate::config::TruststoreMode;
use crate::service::Service;
use crate::yaml::build::{list, map, s};
use crate::yaml::{Mapping, Node};

/// Where our files appear inside the containers.
pub const TRUSTSTORE_DIR: &str = "/spinnaker-krm/truststore";
pub const TRUSTSTORE_FILE: &str = "/spinnaker-krm/truststore/truststore.p12";
pub const TLS_DIR: &str = "/spinnaker-krm/tls";
pub const KEYSTORE_FILE: &str = "/spinnaker-krm/tls/keystore.p12";
/// cert-manager's `truststore.p12`: the issuing CA only. The server trusts client certificates from it alone.
pub const CA_TRUSTSTORE_FILE: &str = "/spinnaker-krm/tls/truststore.p12";
const CA_DIR: &str = "/spinnaker-krm/ca";
const CA_FILE: &str = "/spinnaker-krm/ca/ca-bundle.pem";

/// Our volume names; anything named `spinnaker-krm-*` belongs to us.
pub const CA_VOLUME: &str = "spinnaker-krm-ca-bundle";
pub const TRUSTSTORE_VOLUME: &str = "spinnaker-krm-truststore";
pub const TLS_VOLUME: &str = "spinnaker-krm-tls";
pub const INIT_CONTAINER: &str = "spinnaker-krm-truststore";

/// The env var that carries the key store password (from the Secret) into the service container, where
/// Spring placeholders `${SPINNAKER_KRM_STORE_PASSWORD}` read it. The value itself never appears in a
/// manifest, and no `$(SPINNAKER_KRM_STORE_PASSWORD)` reference puts it on a command line.
pub const PASSWORD_ENV: &str = "SPINNAKER_KRM_STORE_PASSWORD";

/// The password of every Java trust store spinnaker-krm builds or has built (the init container's and
/// trust-manager's, which has no Secret reference): a trust store holds only public CA certificates, so
/// this is the JDK's and kork's well-known default, not a secret. The key stores keep the Secret's password.
pub const TRUSTSTORE_PASSWORD: &str = "changeit";
pub const TRUST_MANAGER_STORE_PASSWORD: &str = TRUSTSTORE_PASSWORD;

/// The truststore's key in trust-manager's Bundle target.
pub const TRUST_MANAGER_STORE_KEY: &str = "truststore.p12";

/// The init container's script: POSIX sh (busybox `sh` on the Alpine images, `dash`/`bash` on the Debian and
/// Ubuntu ones). Constant: inputs come only from the environment. `DEFAULT_CACERTS`, when set (the user named
/// the store), is used as it is; otherwise the JDK default store is found in the image it runs in, in this
/// order: `$JAVA_HOME/lib/security/cacerts` (docker-library `openjdk:11`, eclipse-temurin), the store of the
/// JDK whose `keytool` is on PATH (its real path, `../lib/security/cacerts`), then the system stores
/// (`/etc/ssl/certs/java/cacerts` on Alpine/Debian/Ubuntu, `/etc/pki/java/cacerts` on RHEL). The log says
/// which store it used and how many certificates it imported.
pub const INIT_SCRIPT: &str = r#"set -eu
say() { echo "spinnaker-krm: $*"; }
fail() { echo "spinnaker-krm: $*" >&2; exit 1; }
keytool=keytool
if ! command -v keytool >/dev/null 2>&1; then
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/keytool" ]; then keytool="$JAVA_HOME/bin/keytool"; else fail "no keytool on PATH or in \$JAVA_HOME/bin of this image: run the init container in an image with a JDK or JRE"; fi
fi
store=""
how=""
try() { if [ -z "$store" ] && [ -f "$1" ]; then store="$1"; how="$2"; fi; }
if [ -n "${DEFAULT_CACERTS:-}" ]; then
  [ -f "$DEFAULT_CACERTS" ] || fail "the JDK default trust store $DEFAULT_CACERTS (set in ${CACERTS_SETTING:-the functionConfig}) does not exist in this image; fix the path, or unset it to let spinnaker-krm find the store"
  try "$DEFAULT_CACERTS" "set in ${CACERTS_SETTING:-the functionConfig}"
else
  if [ -n "${JAVA_HOME:-}" ]; then
    try "$JAVA_HOME/lib/security/cacerts" "\$JAVA_HOME"
    try "$JAVA_HOME/jre/lib/security/cacerts" "\$JAVA_HOME"
  fi
  tool="$(command -v "$keytool" || true)"
  real="$(readlink -f "$tool" 2>/dev/null || echo "$tool")"
  home="$(dirname "$(dirname "$real")")"
  try "$home/lib/security/cacerts" "the JDK of $tool"
  try "$home/jre/lib/security/cacerts" "the JDK of $tool"
  try /etc/ssl/certs/java/cacerts "the system store"
  try /etc/pki/java/cacerts "the system store"
  [ -n "$store" ] || fail "found no JDK default trust store in this image (looked in \$JAVA_HOME, next to $real, /etc/ssl/certs/java and /etc/pki/java); set spec.truststore.defaultCacertsPerService for this service"
fi
work="$(dirname "$TRUSTSTORE")/.build"
rm -rf "$work"
mkdir -p "$work"
if ! out="$("$keytool" -J-XX:-UsePerfData -importkeystore -noprompt -srckeystore "$store" -srcstorepass changeit -destkeystore "$work/truststore.p12" -deststoretype PKCS12 -deststorepass:env TRUSTSTORE_PASSWORD 2>&1)"; then
  printf '%s\n' "$out" >&2
  fail "keytool could not read the JDK default trust store $store ($how) with the password changeit"
fi
defaults="$(printf '%s\n' "$out" | sed -n 's/.* \([0-9][0-9]*\) entries successfully imported.*/\1/p')"
awk -v dir="$work" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (dir "/ca-" n ".pem") }' "$CA_BUNDLE"
found=0
for cert in "$work"/ca-*.pem; do
  [ -e "$cert" ] || continue
  found=$((found + 1))
  "$keytool" -J-XX:-UsePerfData -importcert -noprompt -alias "spinnaker-krm-ca-$found" -file "$cert" -keystore "$work/truststore.p12" -storetype PKCS12 -storepass:env TRUSTSTORE_PASSWORD
done
[ "$found" -gt 0 ] || fail "no certificate in $CA_BUNDLE: check the CA bundle ConfigMap"
mv -f "$work/truststore.p12" "$TRUSTSTORE"
rm -rf "$work"
say "truststore ready: ${defaults:-?} default CA certificate(s) from $store ($how) and $found private CA certificate(s)"
"#;

fn env_value(name: &str, value: &str) -> Node {
    map([("name", s(name)), ("value", s(value))])
}

fn env_secret(name: &str, ctx: &Context) -> Node {
    let secret = &ctx.config.spec.truststore.password_secret;
    map([
        ("name", s(name)),
        ("valueFrom", map([("secretKeyRef", map([("name", s(&secret.name)), ("key", s(&secret.key))]))])),
    ])
}

/// A volume with one key of a ConfigMap as the file `path`.
fn config_map_volume(volume: &str, config_map: &str, key: &str, path: &str) -> Node {
    map([
        ("name", s(volume)),
        ("configMap", map([("name", s(config_map)), ("items", list([map([("key", s(key)), ("path", s(path))])]))])),
    ])
}

fn mount(volume: &str, path: &str, read_only: bool) -> Node {
    let mut m: Mapping = [("name", s(volume)), ("mountPath", s(path))].into_iter().collect();
    if read_only {
        m.insert("readOnly", Node::bool(true));
    }
    Node::Mapping(m)
}

/// Everything added to one pod for one JVM service.
#[derive(Clone, Default)]
pub struct PodInjection {
    pub volumes: Vec<Node>,
    pub init_containers: Vec<Node>,
    /// Mounts for the service container.
    pub mounts: Vec<Node>,
    /// Env for the service container, in order (the password first: later values refer to it).
    pub env: Vec<Node>,
    /// Our JVM options for the start script's `<SVC>_OPTS`, merged with the user's own value there.
    pub jvm_options: Option<String>,
}

impl PodInjection {
    /// Makes the nodes cheap to copy (see [`Node::share`]): for an injection built once and copied into every
    /// workload of a service.
    pub fn share(&mut self) {
        for group in [&mut self.volumes, &mut self.init_containers, &mut self.mounts, &mut self.env] {
            group.iter_mut().for_each(Node::share);
        }
    }

    /// Appends `more`'s volumes, init containers, mounts and env (and takes its JVM options if it has any).
    pub fn extend(&mut self, more: PodInjection) {
        self.volumes.extend(more.volumes);
        self.init_containers.extend(more.init_containers);
        self.mounts.extend(more.mounts);
        self.env.extend(more.env);
        self.jvm_options = more.jvm_options.or(self.jvm_options.take());
    }

    /// True when there is nothing to add (truststore `none` and mTLS off).
    pub fn is_empty(&self) -> bool {
        self.volumes.is_empty()
            && self.init_containers.is_empty()
            && self.mounts.is_empty()
            && self.env.is_empty()
            && self.jvm_options.is_none()
    }
}

/// Where our options start inside a `<SVC>_OPTS` value; everything from there on is ours.
const JVM_OPTIONS_START: &str = "-Djavax.net.ssl.trustStore=/spinnaker-krm/";

/// True when a `<SVC>_OPTS` value holds options a previous run added.
pub fn has_our_jvm_options(value: &str) -> bool {
    value.contains(JVM_OPTIONS_START)
}

/// The `<SVC>_OPTS` value from the user's own value (a previous run's options removed) and ours:
/// the user's options first, ours last. `None` when both are empty.
pub fn merge_jvm_options(user: Option<&str>, ours: Option<&str>) -> Option<String> {
    let user = user.map(|v| v.find(JVM_OPTIONS_START).map_or(v, |at| &v[..at]).trim()).unwrap_or_default();
    match (user, ours) {
        ("", None) => None,
        ("", Some(ours)) => Some(ours.to_owned()),
        (user, None) => Some(user.to_owned()),
        (user, Some(ours)) => Some(format!("{user} {ours}")),
    }
}

/// The pod injection for a service whose pinned image is `image`; `tls_secret` is its certificate's Secret
/// when mTLS is on; with `inherit_user` the init container runs as the pod's user (its securityContext
/// sets one), else as the images' `spinnaker` uid.
pub fn pod_injection(
    ctx: &Context,
    service: Service,
    image: &str,
    tls_secret: Option<&str>,
    inherit_user: bool,
) -> PodInjection {
    let mut injection = truststore_injection(ctx, image, inherit_user);
    set_default_cacerts(&mut injection, ctx, service);
    if let Some(secret) = tls_secret {
        injection.extend(tls_injection(ctx, secret));
    }
    injection
}

/// The part of [`pod_injection`] that depends on the image only: the truststore (the same for every workload
/// of a service, so the transform builds it once per image).
pub fn truststore_injection(ctx: &Context, image: &str, inherit_user: bool) -> PodInjection {
    let truststore = &ctx.config.spec.truststore;
    let mut injection = PodInjection::default();
    let trust_password = match truststore.mode {
        TruststoreMode::None => None,
        TruststoreMode::InitContainer => {
            injection.volumes.push(config_map_volume(
                CA_VOLUME,
                &truststore.ca_bundle.config_map,
                &truststore.ca_bundle.key,
                "ca-bundle.pem",
            ));
            injection.volumes.push(map([("name", s(TRUSTSTORE_VOLUME)), ("emptyDir", map([]))]));
            injection.init_containers.push(init_container(image, inherit_user));
            Some(TRUSTSTORE_PASSWORD.to_owned())
        }
        TruststoreMode::TrustManager => {
            injection.volumes.push(config_map_volume(
                TRUSTSTORE_VOLUME,
                &truststore.ca_bundle.config_map,
                TRUST_MANAGER_STORE_KEY,
                "truststore.p12",
            ));
            Some(TRUST_MANAGER_STORE_PASSWORD.to_owned())
        }
    };
    if trust_password.is_some() {
        injection.mounts.push(mount(TRUSTSTORE_VOLUME, TRUSTSTORE_DIR, true));
    }
    if let Some(password) = trust_password {
        // The JVM-wide default trust (every TLS client, not only kork's OkHttp) through the start script's
        // `<APP>_OPTS`, which leaves the user's JAVA_OPTS alone. Only fixed, public values: the script
        // evaluates this text.
        injection.jvm_options = Some(format!(
            "-Djavax.net.ssl.trustStore={TRUSTSTORE_FILE} -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword={password}"
        ));
    }
    injection
}

/// The `<SVC>_OPTS` env entry: the user's options (`user`) merged with ours, or `None` when empty.
pub fn jvm_options_env(service: Service, user: Option<&str>, injection: &PodInjection) -> Option<Node> {
    merge_jvm_options(user, injection.jvm_options.as_deref()).map(|value| env_value(&opts_env(service), &value))
}

/// Points a [`truststore_injection`] built for no image (once for every workload) at `image`: only the init
/// container, which runs the service's own image, depends on it.
pub fn set_image(injection: &mut PodInjection, image: &str) {
    for init in injection.init_containers.iter_mut().filter_map(Node::as_mapping_mut) {
        init.insert_str("image", image);
    }
}

/// Gives the init container of a [`truststore_injection`] the JDK default store the user named for
/// `service` (`DEFAULT_CACERTS`, and the setting's name for its messages); without one, it finds the store.
pub fn set_default_cacerts(injection: &mut PodInjection, ctx: &Context, service: Service) {
    let truststore = &ctx.config.spec.truststore;
    let Some(path) = truststore.default_cacerts_for(service) else { return };
    let setting = if truststore.default_cacerts_per_service.contains_key(&service) {
        format!("spec.truststore.defaultCacertsPerService.{}", service.name())
    } else {
        "spec.truststore.defaultCacerts".to_owned()
    };
    for init in injection.init_containers.iter_mut().filter_map(Node::as_mapping_mut) {
        if let Some(env) = init.get_mut("env").and_then(Node::as_sequence_mut) {
            env.upsert_all_by("name", vec![env_value("DEFAULT_CACERTS", path), env_value("CACERTS_SETTING", &setting)]);
        }
    }
}

/// The workload's key store (its certificate's Secret), to go after [`truststore_injection`]: a volume, its
/// mount, and its password as an env var (read by Spring's `${...}` placeholders only).
pub fn tls_injection(ctx: &Context, secret: &str) -> PodInjection {
    let mut injection = PodInjection::default();
    injection.volumes.push(tls_volume(secret));
    injection.mounts.push(mount(TLS_VOLUME, TLS_DIR, true));
    injection.env.push(env_secret(PASSWORD_ENV, ctx));
    injection
}

/// The volume of a workload's TLS Secret: the one part of [`tls_injection`] that differs between workloads.
pub fn tls_volume(secret: &str) -> Node {
    map([("name", s(TLS_VOLUME)), ("secret", map([("secretName", s(secret))]))])
}

/// The Gradle start script's per-application options variable: `CLOUDDRIVER_OPTS`, `FRONT50_OPTS`.
pub fn opts_env(service: Service) -> String {
    format!("{}_OPTS", service.name().to_ascii_uppercase())
}

fn init_container(image: &str, inherit_user: bool) -> Node {
    map([
        ("name", s(INIT_CONTAINER)),
        ("image", s(image)),
        ("command", list([s("/bin/sh"), s("-c"), s(INIT_SCRIPT)])),
        (
            "env",
            list([
                env_value("TRUSTSTORE_PASSWORD", TRUSTSTORE_PASSWORD),
                env_value("CA_BUNDLE", CA_FILE),
                env_value("TRUSTSTORE", TRUSTSTORE_FILE),
            ]),
        ),
        ("volumeMounts", list([mount(CA_VOLUME, CA_DIR, true), mount(TRUSTSTORE_VOLUME, TRUSTSTORE_DIR, false)])),
        (
            "resources",
            map([
                ("requests", map([("cpu", s("50m")), ("memory", s("128Mi"))])),
                ("limits", map([("memory", s("256Mi"))])),
            ]),
        ),
        ("securityContext", security_context(inherit_user)),
    ])
}

/// Locked down: non-root, read-only root filesystem, no privilege escalation, no capabilities.
fn security_context(inherit_user: bool) -> Node {
    let mut context: Mapping = [("runAsNonRoot", Node::bool(true))].into_iter().collect();
    if !inherit_user {
        context.insert("runAsUser", Node::int(SPINNAKER_UID));
        context.insert("runAsGroup", Node::int(SPINNAKER_UID));
    }
    context.insert("readOnlyRootFilesystem", Node::bool(true));
    context.insert("allowPrivilegeEscalation", Node::bool(false));
    context.insert("capabilities", map([("drop", list([s("ALL")]))]));
    context.insert("seccompProfile", map([("type", s("RuntimeDefault"))]));
    Node::Mapping(context)
}

/// The `spinnaker` user of the official images (and of spinnaker-kustomize's pod securityContext).
const SPINNAKER_UID: i64 = 10111;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jvm_options_keep_the_users_own_and_replace_ours() {
        let ours = "-Djavax.net.ssl.trustStore=/spinnaker-krm/truststore/truststore.p12 -Dx=1";
        assert_eq!(merge_jvm_options(None, Some(ours)).as_deref(), Some(ours));
        assert_eq!(merge_jvm_options(Some("-Dport=9010"), Some(ours)), Some(format!("-Dport=9010 {ours}")));
        let previous = format!("-Dport=9010 {}", ours.replace("x=1", "x=0"));
        assert_eq!(merge_jvm_options(Some(&previous), Some(ours)), Some(format!("-Dport=9010 {ours}")));
        assert_eq!(merge_jvm_options(Some(&previous), None).as_deref(), Some("-Dport=9010"));
        assert_eq!(merge_jvm_options(Some(ours), None), None);
    }
}
