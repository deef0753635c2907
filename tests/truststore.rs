//! The truststore init container, as rendered, run with this machine's real `keytool` (issue 3).
//!
//! The spinnaker-kustomize clouddriver Deployment is rendered through the binary with the default config
//! (init-container truststore, Wise's names). Its init container `spinnaker-krm-truststore` is then run as
//! the kubelet would: its volumes are temp directories (the CA bundle ConfigMap projected per the rendered
//! `items`, an emptyDir for the result), its env resolved (the password from a test Secret through
//! `secretKeyRef`, paths under a mountPath mapped to those directories), and its `command` executed as
//! is, with no shell of ours around it. The JDK default store is this machine's `/etc/ssl/certs/java/
//! cacerts`, which is also what the rendered `DEFAULT_CACERTS` names. The CA certificates are made here with
//! rcgen. The result is read back with `keytool -list`.
//!
//! No container image is pulled: the command runs with the local keytool, which is the point (the service
//! images carry the same JDK tools and a `cacerts` at the same path).

#[path = "java/pod.rs"]
mod pod;

use pod::{Cluster, Pod};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use sha2::Digest;
use spinnaker_krm_tests as h;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The JDK default trust store the rendered init container copies (and this machine's).
const DEFAULT_CACERTS: &str = "/etc/ssl/certs/java/cacerts";
const INIT_CONTAINER: &str = "spinnaker-krm-truststore";
/// Wise's names, the config's defaults: the trust-manager Bundle's ConfigMap and the password Secret.
const BUNDLE_CONFIG_MAP: &str = "spinnaker-cert-trust-bundle";
const BUNDLE_KEY: &str = "mtls-cacerts";
const PASSWORD_SECRET: &str = "certificate-secrets";
const PASSWORD_KEY: &str = "TLS_INTERNAL_KEYSTORE_PASSWORD";
/// Two keytool runs of a JVM each; generous for a loaded 2-core machine.
const INIT_TIMEOUT: Duration = Duration::from_secs(120);

/// A self-signed CA certificate, as cert-manager's CA chain would hold (ECDSA P-256).
fn private_ca(common_name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("self-signed CA")
}

/// keytool's SHA-256 fingerprint form: `AB:CD:...`.
fn fingerprint(der: &[u8]) -> String {
    sha2::Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// The clouddriver pod as rendered with the default config, with the CA bundle `bundle_pem` in the
/// ConfigMap and a random password in the Secret.
struct TruststorePod {
    pod: Pod,
    password: String,
    _dir: h::TempDir,
}

impl TruststorePod {
    fn new(bundle_pem: &str) -> TruststorePod {
        let items = pod::render(&[&pod::spinnaker_kustomize_deployment("clouddriver")], pod::DEFAULT_CONFIG);
        let deployment = pod::find(&items, "Deployment", "clouddriver");
        let password = pod::random_password();
        let mut cluster = Cluster::default();
        cluster.config_map(BUNDLE_CONFIG_MAP, BUNDLE_KEY, bundle_pem);
        cluster.secret(PASSWORD_SECRET, PASSWORD_KEY, password.clone());
        // cert-manager's Secret for the service container (not read by the init container).
        cluster.secret("clouddriver-mtls", "tls.crt", "");
        let dir = h::TempDir::new("truststore");
        TruststorePod { pod: Pod::new(deployment, &cluster, dir.path()), password, _dir: dir }
    }

    fn init(&self) -> pod::Container<'_> {
        self.pod.init_container(INIT_CONTAINER)
    }

    /// Runs the init container once (a pod start, or a restart over the same emptyDir).
    fn run_init(&self) -> h::Run {
        self.init().run(INIT_TIMEOUT)
    }

    /// Where the rendered `TRUSTSTORE` env puts the result, mapped to here.
    fn truststore(&self) -> PathBuf {
        PathBuf::from(self.init().env_value("TRUSTSTORE"))
    }

    /// The CA bundle file as the init container sees it (`CA_BUNDLE`), mapped to here.
    fn ca_bundle(&self) -> PathBuf {
        PathBuf::from(self.init().env_value("CA_BUNDLE"))
    }
}

/// `keytool -list -v` of a PKCS12 store: alias → SHA-256 fingerprint; Err with keytool's output on failure.
fn list_store(store: &Path, store_type: &str, password: &str) -> Result<BTreeMap<String, String>, String> {
    let out = pod::run_bounded(
        Command::new(h::on_path("keytool"))
            .args(["-J-XX:-UsePerfData", "-list", "-v", "-storetype", store_type, "-storepass:env", "STOREPASS"])
            .arg("-keystore")
            .arg(store)
            .env("STOREPASS", password),
        Duration::from_secs(60),
    );
    if !out.status.success() {
        return Err(format!("{}{}", out.stdout, out.stderr));
    }
    let mut entries = BTreeMap::new();
    let mut alias: Option<String> = None;
    for line in out.stdout.lines() {
        if let Some(name) = line.strip_prefix("Alias name: ") {
            alias = Some(name.to_owned());
        } else if let Some(sha) = line.trim().strip_prefix("SHA256: ") {
            if let Some(alias) = alias.take() {
                entries.insert(alias, sha.to_owned());
            }
        }
    }
    let count = out.stdout.lines().find_map(|l| l.strip_prefix("Your keystore contains ")).unwrap_or_default();
    let count: usize = count.split(' ').next().and_then(|n| n.parse().ok()).expect("keytool's entry count");
    assert_eq!(count, entries.len(), "parsed every entry of {}", store.display());
    Ok(entries)
}

/// The machine's JDK default trust store, listed once.
fn default_cacerts() -> &'static BTreeMap<String, String> {
    static LIST: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    LIST.get_or_init(|| {
        assert!(Path::new(DEFAULT_CACERTS).is_file(), "{DEFAULT_CACERTS} is missing: install a Java 17 JDK");
        let list = list_store(Path::new(DEFAULT_CACERTS), "PKCS12", "changeit")
            .or_else(|_| list_store(Path::new(DEFAULT_CACERTS), "JKS", "changeit"))
            .expect("the JDK cacerts opens with the JDK's well-known password");
        assert!(list.len() > 50, "{DEFAULT_CACERTS} holds only {} certificates", list.len());
        list
    })
}

/// The store holds every entry of the JDK default store, under the same alias, and exactly the `cas` besides.
fn assert_defaults_plus(store: &BTreeMap<String, String>, cas: &[&CertifiedIssuer<'static, KeyPair>]) {
    let defaults = default_cacerts();
    for (alias, sha) in defaults {
        assert_eq!(store.get(alias), Some(sha), "default CA {alias} missing from the built trust store");
    }
    let extra: Vec<&String> = store.iter().filter(|(a, _)| !defaults.contains_key(*a)).map(|(_, sha)| sha).collect();
    let mut expected: Vec<String> = cas.iter().map(|ca| fingerprint(ca.der())).collect();
    let mut found: Vec<String> = extra.into_iter().cloned().collect();
    expected.sort();
    found.sort();
    assert_eq!(found, expected, "the private CA entries of the built trust store (SHA-256)");
}

#[test]
fn the_init_container_imports_the_jdk_defaults_and_the_private_ca_into_the_store_the_service_reads() {
    let ca = private_ca("spinnaker-ca");
    let run = TruststorePod::new(&ca.pem());
    let init = run.init();

    // What the rendered pod says: the machine's JDK store as the source, the script run without a shell of ours.
    assert_eq!(init.rendered_env("DEFAULT_CACERTS"), DEFAULT_CACERTS);
    assert!(Path::new(DEFAULT_CACERTS).is_file(), "{DEFAULT_CACERTS} (the rendered default) is not on this machine");
    assert_eq!(init.argv()[..2], ["/bin/sh".to_owned(), "-c".to_owned()]);
    let bundle_before = std::fs::read(run.ca_bundle()).expect("the CA bundle is projected where CA_BUNDLE points");
    assert_eq!(bundle_before, ca.pem().as_bytes());

    let out = run.run_init().success();
    assert_eq!(out.stdout.trim(), "spinnaker-krm: truststore ready with 1 private CA certificate(s)");

    let store = list_store(&run.truststore(), "PKCS12", &run.password)
        .expect("the built store opens with the Secret's password");
    assert_defaults_plus(&store, &[&ca]);

    // The emptyDir holds the store and nothing else; the ConfigMap volume is as the kubelet wrote it.
    let empty_dir = run.pod.volume_dir("spinnaker-krm-truststore");
    let left: Vec<String> =
        std::fs::read_dir(empty_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["truststore.p12"], "what the init container left in its emptyDir");
    assert_eq!(std::fs::read(run.ca_bundle()).unwrap(), bundle_before);

    // The service container reads that very file, with the password it is given.
    let service = run.pod.container("clouddriver");
    let mount = service.mounts().into_iter().find(|m| m.volume == "spinnaker-krm-truststore").expect("mounted");
    assert!(mount.read_only, "the service container mounts the built store read-only");
    let ok_http_store = service.env_value("OKHTTPCLIENT_TRUSTSTORE");
    assert_eq!(PathBuf::from(&ok_http_store), run.truststore(), "ok-http-client.trust-store is the built store");
    assert_eq!(service.env_value("OKHTTPCLIENT_TRUSTSTORETYPE"), "PKCS12");
    let spring_password = spring_resolve(&service.env_value("OKHTTPCLIENT_TRUSTSTOREPASSWORD"), &service.env());
    assert_eq!(spring_password, run.password, "ok-http-client.trust-store-password resolves to the Secret's value");
    let jvm_options = service.env_value("CLOUDDRIVER_OPTS");
    let jvm_store = service.host_path(option(&jvm_options, "-Djavax.net.ssl.trustStore=")).expect("under a mount");
    assert_eq!(jvm_store, run.truststore(), "the JVM-wide javax.net.ssl.trustStore is the built store");
    assert_eq!(option(&jvm_options, "-Djavax.net.ssl.trustStorePassword="), run.password);
    assert_eq!(option(&jvm_options, "-Djavax.net.ssl.trustStoreType="), "PKCS12");

    // Another password does not open it: the store really is protected by the Secret's value.
    let wrong =
        list_store(&run.truststore(), "PKCS12", &pod::random_password()).expect_err("a wrong password opens it");
    assert!(wrong.contains("password was incorrect"), "keytool with a wrong password said:\n{wrong}");
}

#[test]
fn during_a_ca_rotation_both_certificates_of_the_bundle_are_imported() {
    let (old, new) = (private_ca("spinnaker-ca 2025"), private_ca("spinnaker-ca 2026"));
    // trust-manager concatenates its sources' PEM blocks.
    let run = TruststorePod::new(&format!("{}{}", old.pem(), new.pem()));
    let out = run.run_init().success();
    assert_eq!(out.stdout.trim(), "spinnaker-krm: truststore ready with 2 private CA certificate(s)");
    let store = list_store(&run.truststore(), "PKCS12", &run.password).expect("opens");
    assert_defaults_plus(&store, &[&old, &new]);
}

#[test]
fn a_pod_restart_reruns_the_init_container_over_its_emptydir_and_rebuilds_the_store() {
    let (ca, next) = (private_ca("spinnaker-ca"), private_ca("spinnaker-ca next"));
    let run = TruststorePod::new(&ca.pem());
    run.run_init().success();

    // The restart: the emptyDir keeps the first run's store. A run killed half-way would also have left
    // its work directory; nothing in it may end up in the store.
    let work = run.truststore().parent().unwrap().join(".build");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("ca-7.pem"), private_ca("left over").pem()).unwrap();
    if let (true, Some((uid, gid))) = (pod::running_as_root(), run.init().run_as()) {
        // Left by the init container's user, as a killed run would leave them.
        for path in [work.clone(), work.join("ca-7.pem")] {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        }
    }
    let out = run.run_init().success();
    assert_eq!(out.stdout.trim(), "spinnaker-krm: truststore ready with 1 private CA certificate(s)");
    assert_defaults_plus(&list_store(&run.truststore(), "PKCS12", &run.password).expect("opens"), &[&ca]);
    assert!(!work.exists(), "the work directory is cleaned up");

    // The kubelet refreshed the ConfigMap volume (the CA was replaced); the next restart trusts the new CA only.
    std::fs::write(run.ca_bundle(), next.pem()).unwrap();
    run.run_init().success();
    assert_defaults_plus(&list_store(&run.truststore(), "PKCS12", &run.password).expect("opens"), &[&next]);
}

#[test]
fn an_empty_ca_bundle_fails_the_pod_with_the_scripts_message_and_leaves_no_store() {
    let run = TruststorePod::new("");
    let out = run.run_init().failure();
    let message =
        format!("spinnaker-krm: no certificate in {}: check the CA bundle ConfigMap", run.ca_bundle().display());
    assert!(out.stderr.lines().any(|l| l == message), "expected the line {message:?} on stderr:\n{}", out.stderr);
    assert!(!run.truststore().exists(), "a store without the private CA must not be left for the service");
}

/// The value of `-Dname=value` in a JVM options string.
fn option<'a>(options: &'a str, prefix: &str) -> &'a str {
    options
        .split_whitespace()
        .find_map(|o| o.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {options:?}"))
}

/// Spring's `${NAME}` placeholder resolution against the environment (a missing name is a failure).
fn spring_resolve(value: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let (name, after) = rest[at + 2..].split_once('}').unwrap_or_else(|| panic!("unclosed placeholder in {value}"));
        let resolved =
            env.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("Spring cannot resolve ${{{name}}}"));
        out.push_str(&resolved.1);
        rest = after;
    }
    out.push_str(rest);
    out
}
