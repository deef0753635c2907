//! What the images of each Spinnaker release are made of: base image, Java, where the JDK default trust
//! store is, whether that Java reads a PKCS12 file with an HMAC-SHA256 MAC, and which Gradle start script
//! evaluates `<APP>_OPTS`. One table, read from Spinnaker's own source; the transform consults it to refuse
//! a PKCS12 profile a release's Java cannot read, and the tests to reproduce each start-script pattern.
//!
//! Sources (per row below): each service's `Dockerfile.slim` / `Dockerfile.ubuntu` history in the
//! spinnaker/spinnaker monorepo (which holds the pre-monorepo history of every service, e.g.
//! `git log 98f7291984^2 -- Dockerfile.slim` for echo: `FROM openjdk:11` from 5763f3e586 (2020-08-12) to
//! 4a17a5ca0a (2023-11-28)), the per-service tags pinned by each BOM (`tests/fixtures/bom/1.27.0.yml`),
//! `gradle/wrapper/gradle-wrapper.properties` at those tags, aports `community/openjdk11` (Alpine 3.11/3.12
//! carried 11.0.9-11.0.11), docker-library/openjdk history (`openjdk:11` was 11.0.14.1 when echo 2.32.2
//! was built) and JDK-8267701 (Java 11 reads HMAC-SHA256 PKCS12 MACs from 11.0.12).

use crate::service::Service;

/// Whether an image's Java reads PKCS12 with an HMAC-SHA256 MAC (cert-manager `Modern2023`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    Yes,
    /// The JRE is older than 11.0.12.
    No,
    /// Inferred from build dates only.
    Probably,
}

/// One image line of a range of releases.
#[derive(Clone, Copy, Debug)]
pub struct ImageRow {
    /// The releases, inclusive: `1.26.0..=1.27.0`, `2025.0.0..=2026.2.99`.
    pub releases: &'static str,
    /// The services; empty means every JVM service not named by another row of the range.
    pub services: &'static [Service],
    /// `slim` (the default tag) or `ubuntu`.
    pub variant: &'static str,
    pub base: &'static str,
    pub java: &'static str,
    /// Where the JDK default trust store is in this image (what the init container finds).
    pub cacerts: &'static str,
    pub reads_hmac_sha256: Reads,
    pub source: &'static str,
}

use Service::*;

const ALPINE: &str = "/etc/ssl/certs/java/cacerts (JAVA_HOME unset; /usr/lib/jvm/java-NN-openjdk/lib/security/cacerts links to it; keytool in /usr/bin)";
const DOCKER_LIBRARY: &str =
    "/usr/local/openjdk-11/lib/security/cacerts ($JAVA_HOME; /etc/ssl/certs/java absent; keytool in $JAVA_HOME/bin on PATH)";
const UBUNTU: &str =
    "/etc/ssl/certs/java/cacerts (JAVA_HOME unset; /usr/lib/jvm/java-NN-openjdk-amd64/lib/security/cacerts links to it)";
const GROUP: &[Service] = &[Fiat, Front50, Gate, Igor, Kayenta, Orca];
const ALL: &[Service] = &[];

/// The images of every release line spinnaker-krm knows, per service group. 1.27.0 pins clouddriver 5.74.2,
/// echo 2.32.2, fiat 1.28.2, front50 2.23.2, gate 6.54.1, igor 4.6.3, kayenta 2.31.1, orca 8.18.3, rosco 1.7.3;
/// 1.27.1 backported Alpine 3.16 (gate 6.54.3).
#[rustfmt::skip]
pub const IMAGES: &[ImageRow] = &[
    ImageRow { releases: "1.26.0..=1.27.0", services: GROUP, variant: "slim", base: "alpine:3.11", java: "openjdk11-jre 11.0.5-11.0.9", cacerts: ALPINE, reads_hmac_sha256: Reads::No, source: "<svc>/Dockerfile.slim at the BOM tag (gate @3045152409); aports 3.11 community/openjdk11" },
    ImageRow { releases: "1.26.0..=1.27.0", services: &[Rosco], variant: "slim", base: "alpine:3.12", java: "openjdk11-jre 11.0.9", cacerts: ALPINE, reads_hmac_sha256: Reads::No, source: "rosco/Dockerfile.slim at v1.7.3; aports 3.12.1 openjdk11 11.0.9" },
    ImageRow { releases: "1.26.0..=1.27.0", services: &[Clouddriver], variant: "slim", base: "python:3.7-alpine3.12", java: "openjdk11 (JDK) 11.0.9", cacerts: ALPINE, reads_hmac_sha256: Reads::No, source: "clouddriver/Dockerfile.slim at v5.74.2" },
    ImageRow { releases: "1.26.0..=1.26.99", services: &[Echo], variant: "slim", base: "openjdk:11 (docker-library, Debian)", java: "11.0.11", cacerts: DOCKER_LIBRARY, reads_hmac_sha256: Reads::No, source: "echo/Dockerfile.slim @5763f3e586 (2020-08-12); docker-library/openjdk at build time" },
    ImageRow { releases: "1.27.0..=1.32.99", services: &[Echo], variant: "slim", base: "openjdk:11 (docker-library, Debian)", java: "11.0.14.1 (1.27.0), 11.0.16 later", cacerts: DOCKER_LIBRARY, reads_hmac_sha256: Reads::Yes, source: "echo/Dockerfile.slim @5763f3e586 until 4a17a5ca0a (2023-11-28)" },
    ImageRow { releases: "1.27.1..=1.31.99", services: &[Fiat, Front50, Gate, Igor, Kayenta, Orca, Rosco], variant: "slim", base: "alpine:3.16", java: "openjdk11-jre >= 11.0.13", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "<svc>/Dockerfile.slim on release-1.27.x..1.31.x" },
    ImageRow { releases: "1.27.1..=1.32.99", services: &[Clouddriver], variant: "slim", base: "python:3.7-alpine3.16", java: "openjdk11 >= 11.0.13", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "clouddriver/Dockerfile.slim on release-1.27.x..1.32.x" },
    ImageRow { releases: "1.27.0..=1.30.99", services: &[Keel], variant: "slim", base: "alpine:3.11", java: "openjdk11-jre 11.0.5-11.0.9", cacerts: ALPINE, reads_hmac_sha256: Reads::No, source: "keel/Dockerfile.slim on release-1.27.x..1.30.x (keel is in no BOM)" },
    ImageRow { releases: "1.26.0..=1.31.99", services: ALL, variant: "ubuntu", base: "ubuntu:bionic", java: "openjdk-11-jre-headless (1.26 probably below 11.0.12)", cacerts: UBUNTU, reads_hmac_sha256: Reads::Probably, source: "<svc>/Dockerfile.ubuntu at the BOM tags" },
    ImageRow { releases: "1.32.0..=1.32.99", services: &[Front50, Igor], variant: "slim", base: "alpine:3.16", java: "openjdk17-jre", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "<svc>/Dockerfile.slim on release-1.32.x" },
    ImageRow { releases: "1.32.0..=1.32.99", services: ALL, variant: "slim", base: "alpine:3.16", java: "openjdk11-jre >= 11.0.13", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "<svc>/Dockerfile.slim on release-1.32.x" },
    ImageRow { releases: "1.33.0..=1.35.99", services: &[Clouddriver], variant: "slim", base: "python:3.7 (1.35: 3.8)-alpine3.16", java: "openjdk17", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "clouddriver/Dockerfile.slim on release-1.33.x..1.35.x" },
    ImageRow { releases: "1.33.0..=1.35.99", services: &[Gate], variant: "slim", base: "alpine:3.18", java: "openjdk17-jre", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "gate/Dockerfile.slim on release-1.33.x..1.35.x" },
    ImageRow { releases: "1.33.0..=1.35.99", services: ALL, variant: "slim", base: "alpine:3.16", java: "openjdk17-jre", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "<svc>/Dockerfile.slim on release-1.33.x..1.35.x; echo since 4a17a5ca0a" },
    ImageRow { releases: "1.32.0..=1.35.99", services: ALL, variant: "ubuntu", base: "ubuntu:bionic or jammy", java: "openjdk-17-jre-headless (1.32: some openjdk-11)", cacerts: UBUNTU, reads_hmac_sha256: Reads::Yes, source: "<svc>/Dockerfile.ubuntu on release-1.32.x..1.35.x" },
    ImageRow { releases: "2025.0.0..=2026.2.99", services: &[Clouddriver], variant: "slim", base: "python:3.12-alpine3.20", java: "openjdk17", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "clouddriver/Dockerfile.slim at clouddriver-2025.x.y..2026.2.3" },
    ImageRow { releases: "2025.0.0..=2026.2.99", services: ALL, variant: "slim", base: "alpine:3.20", java: "openjdk17-jre", cacerts: ALPINE, reads_hmac_sha256: Reads::Yes, source: "<svc>/Dockerfile.slim at <svc>-2025.x.y..2026.2.3" },
    ImageRow { releases: "2025.0.0..=2026.2.99", services: ALL, variant: "ubuntu", base: "ubuntu:jammy", java: "openjdk-17-jre-headless", cacerts: UBUNTU, reads_hmac_sha256: Reads::Yes, source: "<svc>/Dockerfile.ubuntu at <svc>-2025.x.y..2026.2.3" },
];

/// How a release's Gradle start script (`/opt/<svc>/bin/<svc>`) reads `<APP>_OPTS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartScript {
    /// Gradle 6.x: `eval set -- $DEFAULT_JVM_OPTS $JAVA_OPTS $<APP>_OPTS ...`: the shell expands the value.
    EvalSet,
    /// Gradle 7.6 and later: `printf '%s\n' "$DEFAULT_JVM_OPTS $JAVA_OPTS $<APP>_OPTS" | xargs -n1 | sed ...`:
    /// xargs splits at blanks and parses quotes and backslashes; no expansion.
    XargsSplit,
}

/// Gradle per release line: `(from, to, Gradle version, start script)`; source
/// `gradle/wrapper/gradle-wrapper.properties` at each service's tags (1.26-1.27 6.7, kayenta 6.8.1, orca 6.6.1,
/// keel 6.8.3), the generated `build/install/<svc>/bin/<svc>` of that Gradle.
#[rustfmt::skip]
pub const GRADLE: &[(&str, &str, StartScript)] = &[
    ("1.26.0..=1.27.99", "6.7 (kayenta 6.8.1, orca 6.6.1, keel 6.8.3)", StartScript::EvalSet),
    ("1.28.0..=1.31.99", "6.8.1", StartScript::EvalSet),
    ("1.32.0..=1.35.99", "7.6.1", StartScript::XargsSplit),
    ("2025.0.0..=2026.1.99", "7.6.1", StartScript::XargsSplit),
    ("2026.2.0..=2026.2.99", "8.14.5", StartScript::XargsSplit),
];

/// `1.27.0` → `(1, 27, 0)`; anything unparsable is `None` (a release the tables do not know).
pub fn parse_version(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

/// True when `version` is in `range` (`first..=last`).
fn in_range(range: &str, version: (u32, u32, u32)) -> bool {
    let Some((first, last)) = range.split_once("..=") else { return false };
    parse_version(first).is_some_and(|f| version >= f) && parse_version(last).is_some_and(|l| version <= l)
}

/// The image rows of `version` (every service group and variant), empty for a release the table does not know.
pub fn images_of(version: &str) -> Vec<&'static ImageRow> {
    let Some(v) = parse_version(version) else { return Vec::new() };
    IMAGES.iter().filter(|r| in_range(r.releases, v)).collect()
}

/// The start script of `version`'s services, when the table knows the release.
pub fn start_script(version: &str) -> Option<StartScript> {
    let v = parse_version(version)?;
    GRADLE.iter().find(|(range, ..)| in_range(range, v)).map(|g| g.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_1_27_0_ships_java_11_below_11_0_12_and_echo_on_docker_library_openjdk() {
        let rows = images_of("1.27.0");
        let echo = rows.iter().find(|r| r.services.contains(&Echo) && r.variant == "slim").unwrap();
        assert!(echo.base.starts_with("openjdk:11"), "{echo:?}");
        assert!(echo.cacerts.starts_with("/usr/local/openjdk-11/"));
        let gate = rows.iter().find(|r| r.services.contains(&Gate) && r.variant == "slim").unwrap();
        assert_eq!((gate.base, gate.reads_hmac_sha256), ("alpine:3.11", Reads::No));
        assert!(!images_of("1.27.1").iter().any(|r| r.reads_hmac_sha256 == Reads::No && r.services.contains(&Gate)));
        assert_eq!(start_script("1.27.0"), Some(StartScript::EvalSet));
        assert_eq!(start_script("2025.3.2"), Some(StartScript::XargsSplit));
        assert!(images_of("2025.3.2").iter().all(|r| r.reads_hmac_sha256 == Reads::Yes));
        assert!(images_of("9.9.9").is_empty());
    }
}
