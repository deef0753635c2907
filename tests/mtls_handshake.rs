//! A real mutual-TLS handshake between two JVM processes configured from what spinnaker-krm renders (issue 3).
//!
//! The spinnaker-kustomize gate, clouddriver and front50 Deployments are rendered with the default config
//! (init-container truststore, mTLS, `client-auth: need`, gate `want`, the CA chain created). The test then
//! plays the cluster's part:
//!   - cert-manager: a CA made with rcgen stands for the `spinnaker-ca` chain, and each rendered `Certificate`
//!     is issued as its spec says (commonName, dnsNames, usages, ECDSA P-256) into its Secret: `tls.crt`,
//!     `tls.key`, `ca.crt`, `keystore.p12` (`openssl pkcs12 -export`, 3DES for key and certificates and a
//!     SHA-1 MAC: the algorithms of cert-manager's LegacyDES profile, which the Certificates ask for; see
//!     `tests/pkcs12_profile.rs`) and `truststore.p12` (the CA only), with the password of
//!     `keystores.pkcs12.passwordSecretRef`;
//!   - trust-manager: the CA in the ConfigMap and key the rendered `Bundle` targets;
//!   - the operator: a random password in the Secret the config names.
//!
//! The caller's ok-http-client trust store is built by running its rendered init container (as in
//! `tests/truststore.rs`). Then `tests/java/MtlsProbe.java` runs as the server with the env of the server's
//! rendered container (`SERVER_SSL_*`, Spring placeholders resolved from the Secret's value, paths mapped to
//! the volume directories) and as the client with the env of the caller's container (`OKHTTPCLIENT_*` and the
//! rendered `services.<svc>.baseUrl`, whose host is sent as SNI and checked against the certificate while the
//! connection goes to the server's free port on 127.0.0.1).
//!
//! `truststore.p12` is made with keytool, not openssl: OpenSSL 3.0 cannot mark a certificate as trusted for
//! Java (`-jdktrust` came in 3.2), and Java reads such a store as empty. cert-manager's encoder marks it.

#[path = "java/pod.rs"]
mod pod;

use pod::{Cluster, Pod};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_yaml_ng::Value;
use sha2::Digest;
use spinnaker_krm_tests as h;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::OnceLock;
use std::time::Duration;

const INIT_TIMEOUT: Duration = Duration::from_secs(120);
const JVM_TIMEOUT: Duration = Duration::from_secs(60);

type Ca = CertifiedIssuer<'static, KeyPair>;

fn private_ca(common_name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("self-signed CA")
}

/// The rendered gate, clouddriver and front50 Deployments and the cluster objects they read.
struct Mesh {
    items: Vec<Value>,
    cluster: Cluster,
    dir: h::TempDir,
}

impl Mesh {
    /// Everything issued by `ca`, except the Certificates named in `foreign`, which `foreign_ca` issues
    /// (a server that presents a certificate from another CA).
    fn new(ca: &Ca, foreign: &[&str], foreign_ca: Option<&Ca>) -> Mesh {
        Mesh::with_config(ca, foreign, foreign_ca, pod::DEFAULT_CONFIG)
    }

    /// `new`, rendered with the functionConfig `config`.
    fn with_config(ca: &Ca, foreign: &[&str], foreign_ca: Option<&Ca>, config: &str) -> Mesh {
        let deployments: Vec<String> =
            ["gate", "clouddriver", "front50"].iter().map(|s| pod::spinnaker_kustomize_deployment(s)).collect();
        let items = pod::render(&deployments.iter().map(String::as_str).collect::<Vec<_>>(), config);
        let dir = h::TempDir::new("mtls");
        let mut cluster = Cluster::default();
        cluster.secret("certificate-secrets", "TLS_INTERNAL_KEYSTORE_PASSWORD", pod::random_password());

        // trust-manager: the CA into the ConfigMap the Bundle targets.
        let bundles = pod::all(&items, "Bundle");
        assert_eq!(bundles.len(), 1, "one trust-manager Bundle");
        let bundle_name = pod::text(&bundles[0]["metadata"]["name"], "Bundle name");
        let bundle_key = pod::text(&bundles[0]["spec"]["target"]["configMap"]["key"], "Bundle target key");
        cluster.config_map(bundle_name, bundle_key, ca.pem());

        // cert-manager: every workload Certificate issued into its Secret.
        let mut truststores: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for certificate in pod::all(&items, "Certificate") {
            if certificate["spec"]["isCA"].as_bool() == Some(true) {
                continue; // the CA itself: `ca` stands for it
            }
            let name = pod::text(&certificate["metadata"]["name"], "Certificate name");
            let issuer = match foreign_ca {
                Some(other) if foreign.contains(&name) => other,
                _ => ca,
            };
            let truststore = truststores
                .entry(issuer.pem())
                .or_insert_with(|| pkcs12_truststore(issuer, &cluster, certificate, dir.path()))
                .clone();
            issue(certificate, issuer, truststore, &mut cluster, dir.path());
        }
        Mesh { items, cluster, dir }
    }

    /// The pod of Deployment `name`, its volumes laid out.
    fn pod(&self, name: &str) -> Pod {
        let deployment = pod::find(&self.items, "Deployment", name);
        Pod::new(deployment, &self.cluster, &self.dir.path().join("pods").join(name))
    }

    /// The pod of `name` after its init containers ran to completion, as before its container starts.
    fn started_pod(&self, name: &str) -> Pod {
        let pod = self.pod(name);
        for init in pod::seq(&pod.spec()["initContainers"]) {
            let init = pod.init_container(pod::text(&init["name"], "init container name"));
            init.run(INIT_TIMEOUT).success();
        }
        pod
    }
}

/// The password a Certificate's `keystores.pkcs12.passwordSecretRef` points at.
fn keystore_password(certificate: &Value, cluster: &Cluster) -> String {
    let pkcs12 = &certificate["spec"]["keystores"]["pkcs12"];
    assert_eq!(pkcs12["create"].as_bool(), Some(true), "the Certificate asks for a PKCS12 key store");
    assert_eq!(pkcs12["profile"].as_str(), Some("LegacyDES"), "3DES, SHA-1 MAC (read by every Java)");
    let reference = &pkcs12["passwordSecretRef"];
    let secret = cluster.secret_value(pod::text(&reference["name"], "name"), pod::text(&reference["key"], "key"));
    String::from_utf8(secret.to_vec()).expect("utf-8 password")
}

/// cert-manager's `truststore.p12`: the issuing CA only, as a Java trusted-certificate entry.
fn pkcs12_truststore(ca: &Ca, cluster: &Cluster, certificate: &Value, dir: &Path) -> Vec<u8> {
    let work = dir.join(format!("truststore-{}", short_hash(ca.pem().as_bytes())));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("ca.crt"), ca.pem()).unwrap();
    let store = work.join("truststore.p12");
    pod::run_bounded(
        Command::new(h::on_path("keytool"))
            .args(["-J-XX:-UsePerfData", "-importcert", "-noprompt", "-alias", "ca", "-storetype", "PKCS12"])
            .args(["-storepass:env", "STOREPASS", "-file"])
            .arg(work.join("ca.crt"))
            .arg("-keystore")
            .arg(&store)
            .env("STOREPASS", keystore_password(certificate, cluster)),
        JVM_TIMEOUT,
    )
    .success();
    std::fs::read(store).unwrap()
}

/// Issues `certificate` (its spec as cert-manager reads it) with `ca` into its Secret.
fn issue(certificate: &Value, ca: &Ca, truststore: Vec<u8>, cluster: &mut Cluster, dir: &Path) {
    let spec = &certificate["spec"];
    let secret = pod::text(&spec["secretName"], "secretName");
    assert_eq!(spec["privateKey"]["algorithm"].as_str(), Some("ECDSA"), "{secret}: the test issues ECDSA keys");
    assert_eq!(spec["privateKey"]["size"].as_u64(), Some(256), "{secret}: P-256");
    let dns_names: Vec<String> =
        pod::seq(&spec["dnsNames"]).iter().map(|d| pod::text(d, "dnsNames").to_owned()).collect();
    let mut params = CertificateParams::new(dns_names).expect("leaf params");
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, pod::text(&spec["commonName"], "commonName"));
    for usage in pod::seq(&spec["usages"]) {
        match pod::text(usage, "usage") {
            "server auth" => params.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth),
            "client auth" => params.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth),
            "digital signature" => params.key_usages.push(KeyUsagePurpose::DigitalSignature),
            "key encipherment" => params.key_usages.push(KeyUsagePurpose::KeyEncipherment),
            other => panic!("{secret}: usage {other} is not emulated"),
        }
    }
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("leaf key");
    let leaf = params.signed_by(&key, ca).expect("sign the leaf");

    let work = dir.join("issued").join(secret);
    std::fs::create_dir_all(&work).unwrap();
    let (crt, tls_key, ca_crt, keystore) =
        (work.join("tls.crt"), work.join("tls.key"), work.join("ca.crt"), work.join("keystore.p12"));
    std::fs::write(&crt, leaf.pem()).unwrap();
    std::fs::write(&tls_key, key.serialize_pem()).unwrap();
    std::fs::write(&ca_crt, ca.pem()).unwrap();
    pod::run_bounded(
        Command::new(h::on_path("openssl"))
            .args(["pkcs12", "-export", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "SHA1"])
            .args(["-passout", "env:STOREPASS", "-inkey"])
            .arg(&tls_key)
            .arg("-in")
            .arg(&crt)
            .arg("-certfile")
            .arg(&ca_crt)
            .arg("-out")
            .arg(&keystore)
            .env("STOREPASS", keystore_password(certificate, cluster)),
        JVM_TIMEOUT,
    )
    .success();
    for (key, bytes) in [
        ("tls.crt", leaf.pem().into_bytes()),
        ("tls.key", key.serialize_pem().into_bytes()),
        ("ca.crt", ca.pem().into_bytes()),
        ("keystore.p12", std::fs::read(&keystore).unwrap()),
        ("truststore.p12", truststore.clone()),
    ] {
        cluster.secret(secret, key, bytes);
    }
}

fn short_hash(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// `tests/java/MtlsProbe.java` compiled once (by content) under cargo's target tmp dir.
fn probe_classes() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let source = h::root().join("tests/java/MtlsProbe.java");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("mtls-probe-{}", short_hash(h::read_file(&source).as_bytes())));
        if !dir.join("MtlsProbe.class").is_file() {
            let staging = dir.with_extension(format!("{}", std::process::id()));
            pod::run_bounded(
                Command::new(h::on_path("javac")).args(["-d"]).arg(&staging).arg(&source),
                Duration::from_secs(120),
            )
            .success();
            let _ = std::fs::rename(&staging, &dir); // another run may have won the race: same classes
        }
        dir
    })
}

/// `java MtlsProbe ...` as the container would run it: its env, its user.
fn probe(container: &pod::Container<'_>, args: &[&str]) -> Command {
    let mut argv: Vec<String> = [
        h::on_path("java").to_str().expect("utf-8").to_owned(),
        "-XX:-UsePerfData".into(),
        "-XX:TieredStopAtLevel=1".into(),
        "-cp".into(),
        probe_classes().to_str().expect("utf-8").to_owned(),
        "MtlsProbe".into(),
    ]
    .into();
    argv.extend(args.iter().map(|a| a.to_string()));
    container.command_for(&argv)
}

/// The probe server running with a container's environment; killed when dropped.
struct Server {
    child: Child,
    lines: Receiver<String>,
    port: u16,
}

impl Server {
    fn start(container: &pod::Container<'_>) -> Server {
        let mut child = probe(container, &["server"])
            .stdin(Stdio::piped()) // held open: the server exits when it closes
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the probe server");
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut server = Server { child, lines, port: 0 };
        let first = server.next_line();
        server.port = first
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the server did not start: {first}"));
        server
    }

    /// The server's next output line (one per connection after `listening`).
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(JVM_TIMEOUT)
            .unwrap_or_else(|_| panic!("the probe server said nothing for {JVM_TIMEOUT:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One call of the probe client with a container's environment: (succeeded, its output line).
fn call(container: &pod::Container<'_>, url_property: &str, port: u16, client_certificate: bool) -> (bool, String) {
    let port = port.to_string();
    let mut args = vec!["client", url_property, &port];
    if !client_certificate {
        args.push("--no-client-cert");
    }
    let out = pod::run_bounded(&mut probe(container, &args), JVM_TIMEOUT);
    let line = out.stdout.trim().to_owned();
    match out.status.code() {
        Some(0) => (true, line),
        Some(1) => (false, line),
        _ => panic!("{} did not run:\n{}{}", out.what, out.stdout, out.stderr),
    }
}

#[test]
fn gate_calls_clouddriver_over_mutual_tls_with_the_rendered_settings() {
    let ca = private_ca("spinnaker-ca");
    let mesh = Mesh::new(&ca, &[], None);
    let server_pod = mesh.pod("clouddriver");
    let clouddriver = server_pod.container("clouddriver");
    assert_eq!(clouddriver.rendered_env("SERVER_SSL_CLIENTAUTH"), "need");
    let client_pod = mesh.started_pod("gate");
    let gate = client_pod.container("gate");
    assert_eq!(gate.rendered_env("SERVICES_CLOUDDRIVER_BASEURL"), "https://clouddriver.spinnaker:7002");

    let server = Server::start(&clouddriver);
    let (ok, line) = call(&gate, "services.clouddriver.baseUrl", server.port, true);
    assert!(ok, "gate could not call clouddriver: {line}\nserver: {}", server.next_line());
    assert_eq!(line, "ok server=CN=clouddriver.spinnaker.svc body=healthy; client CN=gate.spinnaker.svc");
    assert_eq!(
        server.next_line(),
        "accepted client=CN=gate.spinnaker.svc sni=clouddriver.spinnaker request=GET /health HTTP/1.1"
    );
}

#[test]
fn under_need_clouddriver_refuses_a_caller_without_a_client_certificate() {
    let ca = private_ca("spinnaker-ca");
    let mesh = Mesh::new(&ca, &[], None);
    let server_pod = mesh.pod("clouddriver");
    let client_pod = mesh.started_pod("gate");
    let server = Server::start(&server_pod.container("clouddriver"));

    let (ok, line) = call(&client_pod.container("gate"), "services.clouddriver.baseUrl", server.port, false);
    assert!(!ok, "a caller without a client certificate got through: {line}");
    let seen = server.next_line();
    assert!(
        seen.starts_with("rejected ") && seen.contains("Empty client certificate chain"),
        "the server should reject the handshake for the missing certificate: {seen}"
    );
}

#[test]
fn a_server_certificate_from_a_foreign_ca_is_not_trusted_even_under_the_same_ca_name() {
    let (ca, foreign) = (private_ca("spinnaker-ca"), private_ca("spinnaker-ca"));
    let mesh = Mesh::new(&ca, &["clouddriver-mtls"], Some(&foreign));
    let server_pod = mesh.pod("clouddriver");
    let client_pod = mesh.started_pod("gate");
    let server = Server::start(&server_pod.container("clouddriver"));

    let (ok, line) = call(&client_pod.container("gate"), "services.clouddriver.baseUrl", server.port, true);
    assert!(!ok, "gate trusted a certificate from another CA: {line}");
    assert!(line.contains("PKIX path"), "the failure should be the certificate path: {line}");
    let seen = server.next_line();
    assert!(seen.starts_with("rejected "), "the server should see the handshake fail: {seen}");
}

#[test]
fn a_host_name_that_is_not_in_the_server_certificate_is_refused() {
    // front50's URL routed to clouddriver (a wrong Service or DNS entry): same CA, wrong name.
    let ca = private_ca("spinnaker-ca");
    let mesh = Mesh::new(&ca, &[], None);
    let server_pod = mesh.pod("clouddriver");
    let client_pod = mesh.started_pod("gate");
    let gate = client_pod.container("gate");
    assert_eq!(gate.rendered_env("SERVICES_FRONT50_BASEURL"), "https://front50.spinnaker:8080");
    let server = Server::start(&server_pod.container("clouddriver"));

    let (ok, line) = call(&gate, "services.front50.baseUrl", server.port, true);
    assert!(!ok, "gate accepted clouddriver's certificate for front50.spinnaker: {line}");
    assert!(
        line.contains("No subject alternative DNS name matching front50.spinnaker found"),
        "the failure should be the host name: {line}"
    );
    let seen = server.next_line();
    assert!(seen.starts_with("rejected "), "the server should see the handshake fail: {seen}");
}

#[test]
fn gate_under_want_serves_callers_with_and_without_a_client_certificate() {
    let ca = private_ca("spinnaker-ca");
    // Gate serving HTTPS itself is the opt-in (README "Gate's front door").
    let config = format!("{}  mtls: {{gateListener: https}}\n", pod::DEFAULT_CONFIG);
    let mesh = Mesh::with_config(&ca, &[], None, &config);
    let server_pod = mesh.pod("gate");
    let gate = server_pod.container("gate");
    assert_eq!(gate.rendered_env("SERVER_SSL_CLIENTAUTH"), "want");
    let client_pod = mesh.started_pod("clouddriver");
    let clouddriver = client_pod.container("clouddriver");
    assert_eq!(clouddriver.rendered_env("SERVICES_GATE_BASEURL"), "https://gate.spinnaker:8084");
    let server = Server::start(&gate);

    // A browser or the ingress: no client certificate.
    let (ok, line) = call(&clouddriver, "services.gate.baseUrl", server.port, false);
    assert!(ok, "gate refused a caller without a client certificate: {line}\nserver: {}", server.next_line());
    assert_eq!(line, "ok server=CN=gate.spinnaker.svc body=healthy; client none");
    assert_eq!(server.next_line(), "accepted client=none sni=gate.spinnaker request=GET /health HTTP/1.1");

    // A Spinnaker service: its certificate is asked for and checked.
    let (ok, line) = call(&clouddriver, "services.gate.baseUrl", server.port, true);
    assert!(ok, "clouddriver could not call gate: {line}");
    assert_eq!(line, "ok server=CN=gate.spinnaker.svc body=healthy; client CN=clouddriver.spinnaker.svc");
    assert_eq!(
        server.next_line(),
        "accepted client=CN=clouddriver.spinnaker.svc sni=gate.spinnaker request=GET /health HTTP/1.1"
    );
}
