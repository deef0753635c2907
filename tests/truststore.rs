//! The truststore init container, as rendered, run with this machine's real `keytool` (issue 3).
//!
//! The spinnaker-kustomize clouddriver Deployment is rendered through the binary with the default config
//! (init-container truststore, Wise's names). Its init container `spinnaker-krm-truststore` is then run as
//! the kubelet would: its volumes are temp directories (the CA bundle ConfigMap projected per the rendered
//! `items`, an emptyDir for the result), its env resolved (the password from a test Secret through
//! `secretKeyRef`, paths under a mountPath mapped to those directories), and its `command` executed as
//! is, with no shell of ours around it. The script finds the JDK default store itself; on this machine that
//! is `/etc/ssl/certs/java/cacerts` (through the JDK of `/usr/bin/keytool`). The CA certificates are made
//! here with rcgen. The result is read back with `keytool -list`.
//!
//! No container image is pulled: the command runs with the local keytool, which is the point. The images of
//! a Spinnaker release keep the JDK and its store in different places (Alpine, docker-library `openjdk:11`,
//! eclipse-temurin: `functions/src/releases.rs`); each is rebuilt here in its own mount namespace
//! (`unshare -m`, as root) around a `jlink` runtime, and the same rendered script runs in each.

#[path = "java/pod.rs"]
mod pod;

use pod::{named, Cluster, Pod};
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
/// The trust store's password: public, the JDK's and kork's default (it holds public certificates only).
const TRUSTSTORE_PASSWORD: &str = "changeit";
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
        TruststorePod::with_config(bundle_pem, pod::DEFAULT_CONFIG)
    }

    fn with_config(bundle_pem: &str, config: &str) -> TruststorePod {
        let items = pod::render(&[&pod::spinnaker_kustomize_deployment("clouddriver")], config);
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

    // What the rendered pod says: no store named (the script finds it), no Secret read by the init container,
    // the script run without a shell of ours.
    assert!(named(&init.spec()["env"], "DEFAULT_CACERTS").is_none(), "defaultCacerts unset: nothing rendered");
    let init_env = format!("{:?}", init.spec()["env"]);
    assert!(!init_env.contains("secretKeyRef"), "the trust store needs no secret: {init_env}");
    assert_eq!(init.argv()[..2], ["/bin/sh".to_owned(), "-c".to_owned()]);
    let bundle_before = std::fs::read(run.ca_bundle()).expect("the CA bundle is projected where CA_BUNDLE points");
    assert_eq!(bundle_before, ca.pem().as_bytes());

    let out = run.run_init().success();
    let ready = format!("spinnaker-krm: truststore ready: {} default CA certificate(s) from ", default_cacerts().len());
    assert!(out.stdout.trim().starts_with(&ready), "{}", out.stdout);
    assert!(out.stdout.trim().ends_with(" and 1 private CA certificate(s)"), "{}", out.stdout);

    let store = list_store(&run.truststore(), "PKCS12", TRUSTSTORE_PASSWORD)
        .expect("the built store opens with the public trust-store password");
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
    assert_eq!(spring_password, TRUSTSTORE_PASSWORD, "ok-http-client.trust-store-password is the public one");
    let jvm_options = service.env_value("CLOUDDRIVER_OPTS");
    let jvm_store = service.host_path(option(&jvm_options, "-Djavax.net.ssl.trustStore=")).expect("under a mount");
    assert_eq!(jvm_store, run.truststore(), "the JVM-wide javax.net.ssl.trustStore is the built store");
    assert_eq!(option(&jvm_options, "-Djavax.net.ssl.trustStorePassword="), TRUSTSTORE_PASSWORD);
    assert_eq!(option(&jvm_options, "-Djavax.net.ssl.trustStoreType="), "PKCS12");
    // The Secret's password is nowhere in text a start script evaluates (it is the key stores' only).
    assert!(!service.rendered_env("CLOUDDRIVER_OPTS").contains("$("), "{jvm_options}");
    assert!(!jvm_options.contains(&run.password));

    // Another password does not open it: it is a real PKCS12 store with that password.
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
    assert!(out.stdout.trim().ends_with(" and 2 private CA certificate(s)"), "{}", out.stdout);
    let store = list_store(&run.truststore(), "PKCS12", TRUSTSTORE_PASSWORD).expect("opens");
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
    assert!(out.stdout.trim().ends_with(" and 1 private CA certificate(s)"), "{}", out.stdout);
    assert_defaults_plus(&list_store(&run.truststore(), "PKCS12", TRUSTSTORE_PASSWORD).expect("opens"), &[&ca]);
    assert!(!work.exists(), "the work directory is cleaned up");

    // The kubelet refreshed the ConfigMap volume (the CA was replaced); the next restart trusts the new CA only.
    std::fs::write(run.ca_bundle(), next.pem()).unwrap();
    run.run_init().success();
    assert_defaults_plus(&list_store(&run.truststore(), "PKCS12", TRUSTSTORE_PASSWORD).expect("opens"), &[&next]);
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

// ---- The images of the pinned release (issue 10) ----

/// A JDK runtime made by `jlink --add-modules java.base` (java, keytool and its own `lib/security/cacerts`),
/// the JDK of every image layout below.
fn jlink_runtime(dir: &Path) -> PathBuf {
    let jdk = dir.join("jdk");
    let out = pod::run_bounded(
        Command::new(h::on_path("jlink")).args(["--add-modules", "java.base", "--output"]).arg(&jdk),
        Duration::from_secs(300),
    );
    assert!(out.status.success(), "jlink failed:\n{}{}", out.stdout, out.stderr);
    assert!(jdk.join("bin/keytool").is_file() && jdk.join("lib/security/cacerts").is_file());
    jdk
}

/// The runtime's own CAs plus a marker CA `marker`, as a PKCS12 store with the JDK's password: the default
/// store of one layout, told apart from the others (and from the machine's) by its marker.
fn layout_store(jdk: &Path, marker: &CertifiedIssuer<'static, KeyPair>, path: &Path) {
    let marker_pem = path.with_extension("pem");
    std::fs::write(&marker_pem, marker.pem()).unwrap();
    let keytool = jdk.join("bin/keytool");
    let copy = Command::new(&keytool)
        .args(["-J-XX:-UsePerfData", "-importkeystore", "-noprompt", "-srcstorepass", "changeit"])
        .args(["-deststoretype", "PKCS12", "-deststorepass", "changeit", "-srckeystore"])
        .arg(jdk.join("lib/security/cacerts"))
        .arg("-destkeystore")
        .arg(path)
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
    let add = Command::new(&keytool)
        .args(["-J-XX:-UsePerfData", "-importcert", "-noprompt", "-alias", "layout-marker", "-storepass", "changeit"])
        .arg("-file")
        .arg(&marker_pem)
        .arg("-keystore")
        .arg(path)
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
}

/// An image layout rebuilt in a private mount namespace: `setup` runs as root in it (with `JDK_SRC`,
/// `STORE_SRC` and `SYSTEM_JDK` set), puts the JDK and its store where that image has them, hides what the
/// image does not have, exports what the image's environment has (JAVA_HOME, PATH) and ends with
/// `exec setpriv ... "$@"`: the init container's own command as the container's user.
struct Layout {
    name: &'static str,
    /// What the image is (from `functions/src/releases.rs`).
    stands_for: &'static str,
    setup: &'static str,
    /// Where the JDK default store is in it, and how the script should say it found it.
    store: &'static str,
    how: &'static str,
}

const DROP_ROOT: &str = r#"unset JDK_SRC STORE_SRC SYSTEM_JDK
exec setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups "$@"
"#;

const LAYOUTS: [Layout; 3] = [
    Layout {
        name: "alpine",
        stands_for: "the Alpine slim images (alpine:3.11-3.20 + openjdk11-jre/openjdk17-jre): no JAVA_HOME, \
                     /usr/bin/keytool a link into /usr/lib/jvm/<jdk>, whose lib/security/cacerts links to the \
                     system store /etc/ssl/certs/java/cacerts (the Ubuntu images have the same shape)",
        setup: r#"set -eu
mount -t tmpfs -o mode=755 tmpfs /usr/lib/jvm
cp -a "$JDK_SRC" "$SYSTEM_JDK"
rm "$SYSTEM_JDK/lib/security/cacerts"
ln -s /etc/ssl/certs/java/cacerts "$SYSTEM_JDK/lib/security/cacerts"
mount -t tmpfs -o mode=755 tmpfs /etc/ssl/certs/java
cp "$STORE_SRC" /etc/ssl/certs/java/cacerts
chmod 644 /etc/ssl/certs/java/cacerts
unset JAVA_HOME
"#,
        store: "$SYSTEM_JDK/lib/security/cacerts",
        how: "the JDK of ",
    },
    Layout {
        name: "docker-library-openjdk-11",
        stands_for: "echo's images of 1.21-1.32 (FROM openjdk:11, docker-library, Debian): \
                     JAVA_HOME=/usr/local/openjdk-11 with $JAVA_HOME/bin first on PATH, the store only at \
                     $JAVA_HOME/lib/security/cacerts, no /etc/ssl/certs/java/cacerts and no system JDK",
        setup: r#"set -eu
mount -t tmpfs -o mode=755 tmpfs /usr/lib/jvm
mount -t tmpfs -o mode=755 tmpfs /etc/ssl/certs/java
mount -t tmpfs -o mode=755 tmpfs /usr/local
cp -a "$JDK_SRC" /usr/local/openjdk-11
cp "$STORE_SRC" /usr/local/openjdk-11/lib/security/cacerts
chmod 644 /usr/local/openjdk-11/lib/security/cacerts
export JAVA_HOME=/usr/local/openjdk-11 PATH="/usr/local/openjdk-11/bin:$PATH"
"#,
        store: "/usr/local/openjdk-11/lib/security/cacerts",
        how: "$JAVA_HOME",
    },
    Layout {
        name: "eclipse-temurin",
        stands_for: "eclipse-temurin images: JAVA_HOME=/opt/java/openjdk on PATH with its own store file, while \
                     /etc/ssl/certs/java/cacerts (here the machine's) is not the JDK's",
        setup: r#"set -eu
mount -t tmpfs -o mode=755 tmpfs /usr/lib/jvm
mount -t tmpfs -o mode=755 tmpfs /opt
mkdir -p /opt/java
cp -a "$JDK_SRC" /opt/java/openjdk
cp "$STORE_SRC" /opt/java/openjdk/lib/security/cacerts
chmod 644 /opt/java/openjdk/lib/security/cacerts
export JAVA_HOME=/opt/java/openjdk PATH="/opt/java/openjdk/bin:$PATH"
"#,
        store: "/opt/java/openjdk/lib/security/cacerts",
        how: "$JAVA_HOME",
    },
];

#[test]
fn the_rendered_script_finds_the_jdk_store_in_every_image_layout_of_the_release() {
    if !pod::running_as_root() {
        panic!("this test rebuilds image layouts with unshare -m and needs root (the CI and this machine run as root)");
    }
    let work = h::TempDir::new("layouts");
    let jdk = jlink_runtime(work.path());
    // The machine's JDK dir under /usr/lib/jvm, which /usr/bin/keytool links to (Alpine's shape).
    let system_jdk =
        std::fs::canonicalize(h::on_path("keytool")).unwrap().parent().unwrap().parent().unwrap().to_owned();
    assert!(system_jdk.starts_with("/usr/lib/jvm"), "{} is not under /usr/lib/jvm", system_jdk.display());
    let ca = private_ca("spinnaker-ca");
    for layout in &LAYOUTS {
        let marker = private_ca(&format!("marker {}", layout.name));
        let store_src = work.path().join(format!("{}.p12", layout.name));
        layout_store(&jdk, &marker, &store_src);
        let expected = list_store(&store_src, "PKCS12", "changeit").unwrap();

        let run = TruststorePod::new(&ca.pem());
        let init = run.init();
        let (uid, gid) = init.run_as().expect("the init container runs as the images' user");
        let script = format!("{}{DROP_ROOT}", layout.setup);
        let mut cmd = Command::new(h::on_path("unshare"));
        cmd.args(["-m", "--propagation", "private", "/bin/sh", "-c", &script, "setup"]).args(init.argv());
        cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).envs(init.env());
        cmd.env("JDK_SRC", &jdk).env("STORE_SRC", &store_src).env("SYSTEM_JDK", &system_jdk);
        cmd.env("RUN_UID", uid.to_string()).env("RUN_GID", gid.to_string()).current_dir(work.path());
        let out = pod::run_bounded(&mut cmd, INIT_TIMEOUT);
        assert!(
            out.status.success(),
            "{} ({}): the init container failed:\n{}{}",
            layout.name,
            layout.stands_for,
            out.stdout,
            out.stderr
        );

        let store = layout.store.replace("$SYSTEM_JDK", system_jdk.to_str().unwrap());
        let line = out.stdout.trim();
        println!("{} ({}): {line}", layout.name, layout.stands_for);
        let ready = format!(
            "spinnaker-krm: truststore ready: {} default CA certificate(s) from {store} ({}",
            expected.len(),
            layout.how
        );
        assert!(line.starts_with(&ready), "{}: {line:?} should start with {ready:?}", layout.name);
        assert!(line.ends_with(" and 1 private CA certificate(s)"), "{}: {line}", layout.name);

        // The emptyDir's store: exactly that layout's CAs (its marker included) plus the private CA.
        let built = list_store(&run.truststore(), "PKCS12", TRUSTSTORE_PASSWORD).expect("the built store opens");
        for (alias, sha) in &expected {
            assert_eq!(built.get(alias), Some(sha), "{}: {alias} of the image's store is missing", layout.name);
        }
        let extra: Vec<&String> = built.iter().filter(|(a, _)| !expected.contains_key(*a)).map(|(_, s)| s).collect();
        assert_eq!(extra, [&fingerprint(ca.der())], "{}: only the private CA is added", layout.name);
    }
}

#[test]
fn a_named_store_that_the_image_lacks_fails_the_pod_with_the_setting_in_the_log() {
    let ca = private_ca("spinnaker-ca");
    let config = format!(
        "{}  truststore:\n    defaultCacerts: /etc/ssl/certs/java/cacerts\n    defaultCacertsPerService:\n      clouddriver: /usr/local/openjdk-11/lib/security/cacerts\n",
        pod::DEFAULT_CONFIG
    );
    let run = TruststorePod::with_config(&ca.pem(), &config);
    assert!(!Path::new("/usr/local/openjdk-11/lib/security/cacerts").exists(), "this machine has the odd path");
    let out = run.run_init().failure();
    let message = "spinnaker-krm: the JDK default trust store /usr/local/openjdk-11/lib/security/cacerts (set in \
                   spec.truststore.defaultCacertsPerService.clouddriver) does not exist in this image; fix the path, \
                   or unset it to let spinnaker-krm find the store";
    assert!(out.stderr.lines().any(|l| l == message), "expected {message:?} on stderr:\n{}", out.stderr);
    assert!(!run.truststore().exists());

    // The global setting, for a service without its own, is used exactly as written.
    let config = format!("{}  truststore:\n    defaultCacerts: {DEFAULT_CACERTS}\n", pod::DEFAULT_CONFIG);
    let run = TruststorePod::with_config(&ca.pem(), &config);
    let out = run.run_init().success();
    let ready = format!("from {DEFAULT_CACERTS} (set in spec.truststore.defaultCacerts) and 1 private CA");
    assert!(out.stdout.contains(&ready), "{}", out.stdout);
}
