//! The Spinnaker services this tool knows, and how a container is recognised as one of them.
//!
//! A container is service `<svc>` when its image repository's last path segment is `<svc>`
//! (`us-docker.pkg.dev/spinnaker-community/docker/clouddriver:5.74.3`), or else when its name is `<svc>`
//! or `<svc>-<suffix>` (HA splits such as `clouddriver-ro` or `echo-scheduler`). The image wins over the
//! name: a container named `gate` that runs `…/clouddriver:1.0` is clouddriver.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One Spinnaker service. The serde form is the lowercase name (`clouddriver`, `front50`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Clouddriver,
    Deck,
    Echo,
    Fiat,
    Front50,
    Gate,
    Igor,
    Kayenta,
    Keel,
    Orca,
    Rosco,
}

impl Service {
    /// Every service, in alphabetical order.
    pub const ALL: [Service; 11] = [
        Service::Clouddriver,
        Service::Deck,
        Service::Echo,
        Service::Fiat,
        Service::Front50,
        Service::Gate,
        Service::Igor,
        Service::Kayenta,
        Service::Keel,
        Service::Orca,
        Service::Rosco,
    ];

    /// The service's name: its image repository name, BOM key and DNS name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Clouddriver => "clouddriver",
            Service::Deck => "deck",
            Service::Echo => "echo",
            Service::Fiat => "fiat",
            Service::Front50 => "front50",
            Service::Gate => "gate",
            Service::Igor => "igor",
            Service::Kayenta => "kayenta",
            Service::Keel => "keel",
            Service::Orca => "orca",
            Service::Rosco => "rosco",
        }
    }

    /// The port the service listens on (Halyard's defaults, also used by spinnaker-kustomize).
    pub fn port(self) -> u16 {
        match self {
            Service::Clouddriver => 7002,
            Service::Deck => 9000,
            Service::Echo => 8089,
            Service::Fiat => 7003,
            Service::Front50 => 8080,
            Service::Gate => 8084,
            Service::Igor => 8088,
            Service::Kayenta => 8090,
            Service::Keel => 7010,
            Service::Orca => 8083,
            Service::Rosco => 8087,
        }
    }

    /// True for the services that run on a JVM and so get a truststore and mTLS: all but deck (Apache httpd).
    pub fn is_jvm(self) -> bool {
        self != Service::Deck
    }

    /// The service with this exact (lowercase) name.
    pub fn parse(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The names of all services, comma-separated, for error messages.
    pub fn names() -> String {
        Service::ALL.map(Service::name).join(", ")
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a Spinnaker service.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown Spinnaker service {0:?}; expected one of {names}", names = Service::names())]
pub struct UnknownService(pub String);

impl FromStr for Service {
    type Err = UnknownService;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::parse(s).ok_or_else(|| UnknownService(s.to_owned()))
    }
}

/// A container image reference split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Everything before the tag and digest, registry host (and port) included.
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    /// The digest without its `@`, e.g. `sha256:…`.
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// The last path segment of the repository: `clouddriver` in `host:5000/spinnaker/clouddriver`.
    pub fn name(&self) -> &'a str {
        self.repository.rsplit('/').next().unwrap_or(self.repository)
    }
}

/// Splits `[host[:port]/]path[:tag][@digest]`, borrowing the parts. A `:` counts as the tag separator only
/// after the last `/`, so a registry port (`host:5000/x`) is never taken for a tag.
pub fn split_image(image: &str) -> ImageRef<'_> {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match rest[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            (&rest[..at], Some(&rest[at + 1..]))
        }
        None => (rest, None),
    };
    ImageRef { repository, tag, digest }
}

/// Which service a container runs: by its image's last path segment, or else by its name (`<svc>` or an HA
/// split `<svc>-<suffix>`) when the image does not say otherwise: the image is absent, or its name has the
/// service as one of its dash-separated words (`spinnaker-gate`). A `gate-proxy` sidecar running envoy is
/// not gate.
pub fn identify(container_name: &str, image: Option<&str>) -> Option<Service> {
    let image_name = image.map(|image| split_image(image).name());
    if let Some(service) = image_name.and_then(Service::parse) {
        return Some(service);
    }
    let base = match container_name.split_once('-') {
        Some((base, suffix)) if !suffix.is_empty() => base,
        Some(_) => return None,
        None => container_name,
    };
    let service = Service::parse(base)?;
    match image_name {
        None | Some("") => Some(service),
        Some(name) => name.split('-').any(|word| word == service.name()).then_some(service),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_table_matches_the_reference() {
        let table: Vec<(&str, u16, bool)> = Service::ALL.iter().map(|s| (s.name(), s.port(), s.is_jvm())).collect();
        assert_eq!(
            table,
            [
                ("clouddriver", 7002, true),
                ("deck", 9000, false),
                ("echo", 8089, true),
                ("fiat", 7003, true),
                ("front50", 8080, true),
                ("gate", 8084, true),
                ("igor", 8088, true),
                ("kayenta", 8090, true),
                ("keel", 7010, true),
                ("orca", 8083, true),
                ("rosco", 8087, true),
            ]
        );
    }

    #[test]
    fn names_round_trip_through_parse_display_and_serde() {
        for s in Service::ALL {
            assert_eq!(Service::parse(s.name()), Some(s));
            assert_eq!(s.name().parse::<Service>(), Ok(s));
            assert_eq!(s.to_string(), s.name());
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.name()));
            assert_eq!(serde_json::from_value::<Service>(serde_json::json!(s.name())).unwrap(), s);
        }
    }

    #[test]
    fn parse_is_exact() {
        for bad in ["", "Gate", "GATE", " gate", "gate ", "redis", "monitoring-daemon", "spinnaker", "clouddriver-ro"] {
            assert_eq!(Service::parse(bad), None, "{bad:?}");
        }
        let err = "redis".parse::<Service>().unwrap_err().to_string();
        assert!(err.contains("\"redis\"") && err.contains("clouddriver, deck"), "{err}");
    }

    #[test]
    fn split_image_handles_tags_digests_and_registry_ports() {
        let cases = [
            ("clouddriver", "clouddriver", None, None),
            ("clouddriver:1.0", "clouddriver", Some("1.0"), None),
            (
                "us-docker.pkg.dev/spinnaker-community/docker/clouddriver:5.74.3",
                "us-docker.pkg.dev/spinnaker-community/docker/clouddriver",
                Some("5.74.3"),
                None,
            ),
            ("host:5000/x/clouddriver:1.0", "host:5000/x/clouddriver", Some("1.0"), None),
            ("host:5000/x/clouddriver", "host:5000/x/clouddriver", None, None),
            ("host:5000/gate@sha256:abcd", "host:5000/gate", None, Some("sha256:abcd")),
            (
                "ghcr.io/spinnaker/gate:2025.3.2@sha256:ef01",
                "ghcr.io/spinnaker/gate",
                Some("2025.3.2"),
                Some("sha256:ef01"),
            ),
            ("", "", None, None),
        ];
        for (image, repository, tag, digest) in cases {
            let r = split_image(image);
            assert_eq!(r.repository, repository, "{image}");
            assert_eq!(r.tag, tag, "{image}");
            assert_eq!(r.digest, digest, "{image}");
        }
        assert_eq!(split_image("host:5000/x/clouddriver:1.0").name(), "clouddriver");
        assert_eq!(split_image("keel").name(), "keel");
    }

    #[test]
    fn a_container_is_recognised_by_its_image_repository() {
        let id = |image: &str| identify("main", Some(image));
        assert_eq!(id("us-docker.pkg.dev/spinnaker-community/docker/clouddriver:5.74.3"), Some(Service::Clouddriver));
        assert_eq!(id("host:5000/x/front50:1.0"), Some(Service::Front50));
        assert_eq!(id("ghcr.io/spinnaker/keel:main-latest"), Some(Service::Keel));
        assert_eq!(id("gate@sha256:0123"), Some(Service::Gate));
        assert_eq!(id("deck"), Some(Service::Deck));
        // Only the last segment counts, and only exactly.
        assert_eq!(id("gate/busybox:1"), None);
        assert_eq!(id("example.com/spinnaker-gate:1"), None);
        assert_eq!(id("redis:6.2"), None);
    }

    #[test]
    fn or_else_by_its_name_including_ha_splits() {
        assert_eq!(identify("clouddriver", None), Some(Service::Clouddriver));
        assert_eq!(identify("clouddriver-ro", None), Some(Service::Clouddriver));
        assert_eq!(identify("clouddriver-ro-deck", Some("")), Some(Service::Clouddriver));
        assert_eq!(identify("echo-scheduler", Some("myco/spinnaker-echo:1")), Some(Service::Echo));
        // A sidecar named after the service it sits beside is not that service.
        assert_eq!(identify("gate-proxy", Some("envoyproxy/envoy:v1.30")), None);
        assert_eq!(identify("echo-scheduler", Some("myco/custom-image:1")), None);
        assert_eq!(identify("redis", None), None);
        assert_eq!(identify("gate-", None), None);
        assert_eq!(identify("-gate", None), None);
        assert_eq!(identify("gatekeeper", None), None);
        assert_eq!(identify("Gate", None), None);
    }

    #[test]
    fn the_image_wins_over_the_name() {
        assert_eq!(identify("gate", Some("registry/clouddriver:1")), Some(Service::Clouddriver));
        assert_eq!(identify("monitoring", Some("registry/orca:1")), Some(Service::Orca));
    }
}
