//! The key stores the Certificates ask cert-manager for are ones every Java of the pinned release reads
//! (issue 10). 1.27.0's Alpine images carry an OpenJDK 11 older than 11.0.12, which cannot read a PKCS12
//! file with an HMAC-SHA256 MAC or PBES2/AES bags (JDK-8267701, JDK-8076190): cert-manager's `Modern2023`.
//!
//! The profile is read from the rendered Certificate; the key store is then built the way cert-manager's
//! encoder (software.sslmate.com/src/go-pkcs12) builds that profile, with the real `openssl pkcs12 -export`
//! and the same algorithms: `LegacyDES` = pbeWithSHAAnd3-KeyTripleDES-CBC for the key and the certificates,
//! SHA-1 MAC; `LegacyRC2` = the same with 40-bit RC2 for the certificates. `openssl pkcs12 -info` then
//! reports what is in the file, and each algorithm must be one Java 11.0.0 reads (PKCS12KeyStore of 11.0.0:
//! PBEWithSHA1AndDESede, PBEWithSHA1AndRC2_40, HmacPBESHA1). Finally this machine's keytool (Java 17) opens it.

#[path = "java/pod.rs"]
mod pod;

use rcgen::{CertificateParams, DnType, KeyPair};
use spinnaker_krm_tests as h;
use std::process::Command;
use std::time::Duration;

/// The algorithms cert-manager's encoder uses per profile, as `openssl pkcs12 -export` options.
fn openssl_options(profile: &str) -> &'static [&'static str] {
    match profile {
        "LegacyDES" => &["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "SHA1"],
        "LegacyRC2" => &["-legacy", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-RC2-40", "-macalg", "SHA1"],
        "Modern2023" => &["-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC", "-macalg", "SHA256"],
        other => panic!("no cert-manager profile {other}"),
    }
}

/// What `openssl pkcs12 -info` names the algorithms Java 11.0.0 reads.
const JAVA_11_0_0_READS: &[&str] = &["pbeWithSHA1And3-KeyTripleDES-CBC", "pbeWithSHA1And40BitRC2-CBC"];

#[test]
fn the_certificates_key_store_profile_is_read_by_java_11_0_0_and_by_this_machines_java() {
    let items = pod::render(&[&pod::spinnaker_kustomize_deployment("clouddriver")], pod::DEFAULT_CONFIG);
    let certificate = pod::find(&items, "Certificate", "clouddriver-mtls");
    let profile = pod::text(&certificate["spec"]["keystores"]["pkcs12"]["profile"], "profile").to_owned();
    assert_eq!(profile, "LegacyDES");

    let dir = h::TempDir::new("pkcs12-profile");
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(vec!["clouddriver.spinnaker.svc".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "clouddriver.spinnaker.svc");
    let cert = params.self_signed(&key).unwrap();
    let (crt, tls_key, store) =
        (dir.path().join("tls.crt"), dir.path().join("tls.key"), dir.path().join("keystore.p12"));
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&tls_key, key.serialize_pem()).unwrap();
    let password = pod::random_password();
    pod::run_bounded(
        Command::new(h::on_path("openssl"))
            .args(["pkcs12", "-export"])
            .args(openssl_options(&profile))
            .args(["-passout", "env:STOREPASS", "-inkey"])
            .arg(&tls_key)
            .arg("-in")
            .arg(&crt)
            .arg("-out")
            .arg(&store)
            .env("STOREPASS", &password),
        Duration::from_secs(60),
    )
    .success();

    let info = pod::run_bounded(
        Command::new(h::on_path("openssl"))
            .args(["pkcs12", "-info", "-noout", "-passin", "env:STOREPASS"])
            .arg("-in")
            .arg(&store)
            .env("STOREPASS", &password),
        Duration::from_secs(60),
    )
    .success();
    let report = format!("{}{}", info.stdout, info.stderr);
    let mac = report.lines().find_map(|l| l.strip_prefix("MAC: ")).unwrap_or_else(|| panic!("no MAC line:\n{report}"));
    assert!(mac.starts_with("sha1,"), "the MAC must be HMAC-SHA1 (HMAC-SHA256 needs Java 11.0.12): {mac}");
    let encryptions: Vec<&str> = report
        .lines()
        .filter_map(|l| l.strip_prefix("Shrouded Keybag: ").or_else(|| l.strip_prefix("PKCS7 Encrypted data: ")))
        .collect();
    assert_eq!(encryptions.len(), 2, "one encrypted key bag and one encrypted certificate bag:\n{report}");
    for encryption in encryptions {
        let algorithm = encryption.split(',').next().unwrap_or_default();
        assert!(JAVA_11_0_0_READS.contains(&algorithm), "{algorithm} is not read by Java 11.0.0:\n{report}");
    }

    let list = pod::run_bounded(
        Command::new(h::on_path("keytool"))
            .args(["-J-XX:-UsePerfData", "-list", "-storetype", "PKCS12", "-storepass:env", "STOREPASS", "-keystore"])
            .arg(&store)
            .env("STOREPASS", &password),
        Duration::from_secs(60),
    )
    .success();
    assert!(list.stdout.contains("PrivateKeyEntry"), "keytool reads the key entry:\n{}", list.stdout);
}

#[test]
fn modern2023_would_not_pass_this_check() {
    // The check above can fail: the profile 1.27.0 used to get has a SHA-256 MAC and AES bags.
    let dir = h::TempDir::new("pkcs12-modern");
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = CertificateParams::new(vec!["x".to_owned()]).unwrap().self_signed(&key).unwrap();
    let (crt, tls_key, store) = (dir.path().join("tls.crt"), dir.path().join("tls.key"), dir.path().join("ks.p12"));
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&tls_key, key.serialize_pem()).unwrap();
    let mut export = Command::new(h::on_path("openssl"));
    export
        .args(["pkcs12", "-export"])
        .args(openssl_options("Modern2023"))
        .args(["-passout", "pass:x", "-inkey"])
        .arg(&tls_key)
        .arg("-in")
        .arg(&crt)
        .arg("-out")
        .arg(&store);
    pod::run_bounded(&mut export, Duration::from_secs(60)).success();
    let info = pod::run_bounded(
        Command::new(h::on_path("openssl")).args(["pkcs12", "-info", "-noout", "-passin", "pass:x", "-in"]).arg(&store),
        Duration::from_secs(60),
    )
    .success();
    let report = format!("{}{}", info.stdout, info.stderr);
    assert!(report.contains("MAC: sha256"), "{report}");
    assert!(report.contains("PBES2"), "{report}");
}
