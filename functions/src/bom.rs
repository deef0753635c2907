//! A Spinnaker Bill of Materials (BOM) and the images it pins.
//!
//! A BOM is a document we own the reading of, so it is read with serde (serde_yaml_ng) into a typed model.
//! Reading is lenient where real BOMs vary (unknown fields such as `hostname`, absent `timestamp`,
//! `services` entries without a version) and strict where the result ends up in a manifest: every tag and
//! registry that goes into an image reference is checked against a strict pattern.
//!
//! Decisions where the references are silent:
//! * Version strings written as YAML numbers (`version: 1.27`, `1.10`) are read as the text written; a
//!   scalar can always be read as a string, so this never fails and never turns `1.10` into `1.1`.
//! * `spec.bom.extraPins` are for services a BOM lacks (keel); a service in both gets the extraPins tag,
//!   so a pin in the functionConfig can also override a single service's BOM version.
//! * A `local:` prefix (Halyard's marker for locally built artifacts) is stripped from service versions,
//!   and accepted on the BOM's own `version` when comparing it with `spec.bom.version`.
//! * An empty `dockerRegistry` counts as unset; with no registry at all the image is `<svc>:<tag>`.

use crate::config::{check_registry, check_tag, BomConfig, Form};
use crate::service::Service;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The pins `image_for` takes: `spec.bom` of the functionConfig (`registry` and `extraPins`).
pub type PinConfig = BomConfig;

/// A BOM that cannot be used. Every message is one line: what, where (file, field) and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BomError {
    #[error("BOM {origin} is empty; it must be a Spinnaker BOM with version, services and artifactSources")]
    Empty { origin: String },
    #[error("BOM {origin}: {path}: {message}; fix the file (a BOM has version, services.<svc>.version and artifactSources.dockerRegistry)")]
    Parse { origin: String, path: String, message: String },
    #[error("BOM {origin} is not valid YAML: {message}; fix the file (a BOM has version, services.<svc>.version and artifactSources.dockerRegistry)")]
    Yaml { origin: String, message: String },
    /// `form`: how the user wrote the functionConfig, so the fix names the field they know.
    #[error(
        "BOM {origin} has version {found:?} but {version} asks for {requested:?}; point {location} at the BOM \
         for {requested} or set {version} to {found}",
        version = form.name("spec.bom.version"),
        location = form.bom_location(),
    )]
    VersionMismatch { origin: String, found: String, requested: String, form: Form },
    /// The file's `version` is not a release number: not quoted, as the file may not be a BOM at all.
    #[error(
        "BOM {origin} has a version that is not a Spinnaker release number (such as 1.27.0); point {location} at \
         the BOM for {requested}",
        location = form.bom_location(),
    )]
    NotARelease { origin: String, requested: String, form: Form },
    #[error(
        "service {service} is not pinned: BOM {origin} has no services.{service}.version and {pins} has \
         no {service}; add it to {pins} (e.g. {example})",
        pins = form.name("spec.bom.extraPins"),
        example = form.example_pin(*service),
    )]
    Unpinned { origin: String, service: Service, form: Form },
    /// A tag or registry that cannot go into an image reference; `field` says where it came from.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

/// A Spinnaker BOM. Unknown fields (`hostname`, …) are accepted and ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    /// The release, e.g. `1.27.0`.
    pub version: String,
    /// When the BOM was assembled; opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub services: BTreeMap<String, Artifact>,
    /// redis, consul, vault: not used for pinning.
    #[serde(default)]
    pub dependencies: BTreeMap<String, Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_sources: Option<ArtifactSources>,
    /// The file this BOM was read from, for messages.
    #[serde(skip)]
    origin: String,
}

/// One service or dependency of a BOM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Per-service overrides of the top-level sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_sources: Option<ArtifactSources>,
}

/// Where a release's artifacts live.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactSources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_registry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debian_repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google_image_project: Option<String>,
}

/// A serde message without the value it found: `invalid type: string "…", expected …` names the kind of
/// value only. The BOM path comes from the config or an ArgoCD parameter, so the file may be anything the
/// process can read (a token, a key): its content must not reach stderr or ArgoCD's UI.
fn without_values(message: &str) -> String {
    let mut out = message.to_owned();
    for prefix in ["invalid type: ", "invalid value: "] {
        let Some(start) = out.find(prefix).map(|i| i + prefix.len()) else { continue };
        let end = out[start..].find(", expected").map_or(out.len(), |i| start + i);
        let found = &out[start..end];
        let kinds = [
            ("string ", "a string"),
            ("integer ", "an integer"),
            ("floating point ", "a number"),
            ("boolean ", "a boolean"),
            ("character ", "a character"),
            ("byte array", "bytes"),
        ];
        if let Some((_, kind)) = kinds.into_iter().find(|(found_kind, _)| found.starts_with(found_kind)) {
            out.replace_range(start..end, kind);
        }
    }
    out
}

impl Bom {
    /// Reads a BOM. `origin` is the file it came from, used in every message about it.
    pub fn parse(text: &str, origin: &str) -> Result<Bom, BomError> {
        if text.lines().all(|line| matches!(line.trim_start().chars().next(), None | Some('#'))) {
            return Err(BomError::Empty { origin: origin.to_owned() });
        }
        // The bounded parser first: serde_yaml_ng has no node, alias-byte or character limits of ours.
        crate::yaml::parse_stream(text, crate::yaml::Limits::default())
            .map_err(|err| BomError::Yaml { origin: origin.to_owned(), message: err.to_string() })?;
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let mut bom: Bom = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = match err.path().to_string().replace(".?", "") {
                p if p == "." || p == "?" => "(document)".to_owned(),
                p => p,
            };
            let message = without_values(&err.into_inner().to_string().replace(['\n', '\r'], " "));
            // serde_yaml_ng already starts its message with the path when there is one.
            let message = message.strip_prefix(&format!("{path}: ")).map(str::to_owned).unwrap_or(message);
            BomError::Parse { origin: origin.to_owned(), path, message }
        })?;
        if bom.version.trim().is_empty() {
            return Err(BomError::Parse {
                origin: origin.to_owned(),
                path: "version".to_owned(),
                message: "is empty".to_owned(),
            });
        }
        bom.origin = origin.to_owned();
        Ok(bom)
    }

    /// The file this BOM was read from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Checks that this is the BOM for `requested` (`spec.bom.version`, written in `form`). A `local:`
    /// prefix on the BOM's version is ignored.
    pub fn check_version(&self, requested: &str, form: Form) -> Result<(), BomError> {
        let found = self.version.strip_prefix("local:").unwrap_or(&self.version);
        if found == requested {
            return Ok(());
        }
        let release = found.len() <= 64
            && (found.starts_with(|c: char| c.is_ascii_digit())
                || found.starts_with("master-")
                || found.starts_with("release-"))
            && found.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'));
        if !release {
            return Err(BomError::NotARelease { origin: self.origin.clone(), requested: requested.to_owned(), form });
        }
        Err(BomError::VersionMismatch {
            origin: self.origin.clone(),
            found: self.version.clone(),
            requested: requested.to_owned(),
            form,
        })
    }

    /// `services.<svc>.version` without a `local:` prefix, when the BOM has one.
    pub fn service_version(&self, service: Service) -> Option<&str> {
        let version = self.services.get(service.name())?.version.as_deref()?;
        Some(version.strip_prefix("local:").unwrap_or(version))
    }

    /// The pinned image of `service`: `<registry>/<svc>:<tag>` (or `<svc>:<tag>` with no registry).
    ///
    /// Tag: `pins.extraPins.<svc>`, else `services.<svc>.version` (minus `local:`). Registry:
    /// `pins.registry`, else `services.<svc>.artifactSources.dockerRegistry`, else the top-level
    /// `artifactSources.dockerRegistry`. Both are checked before they go into the reference. Messages name
    /// the functionConfig's fields in `form`, the way the user wrote them.
    pub fn image_for(&self, service: Service, pins: &PinConfig, form: Form) -> Result<String, BomError> {
        let name = service.name();
        // The fields are named only for an error: formatting them for every workload cost more than the rest.
        let (tag, pinned) = match (pins.extra_pins.get(&service), self.service_version(service)) {
            (Some(pin), _) => (pin.as_str(), true),
            (None, Some(version)) => (version, false),
            (None, None) => return Err(BomError::Unpinned { origin: self.origin.clone(), service, form }),
        };
        let tag_field = || match pinned {
            true => form.head_entry("spec.bom.extraPins", name),
            false => format!("BOM {} services.{name}.version", self.origin),
        };
        check_tag(tag).map_err(|message| BomError::Invalid { field: tag_field(), message })?;
        let per_service = self.services.get(name).and_then(|a| a.artifact_sources.as_ref());
        let registry = [
            (pins.registry.as_deref(), RegistrySource::Config),
            (per_service.and_then(|s| s.docker_registry.as_deref()), RegistrySource::Service),
            (self.artifact_sources.as_ref().and_then(|s| s.docker_registry.as_deref()), RegistrySource::Bom),
        ]
        .into_iter()
        .find_map(|(registry, source)| registry.filter(|r| !r.is_empty()).map(|r| (r, source)));
        match registry {
            Some((registry, source)) => {
                let field = || match source {
                    RegistrySource::Config => form.head("spec.bom.registry"),
                    RegistrySource::Service => {
                        format!("BOM {} services.{name}.artifactSources.dockerRegistry", self.origin)
                    }
                    RegistrySource::Bom => format!("BOM {} artifactSources.dockerRegistry", self.origin),
                };
                check_registry(registry).map_err(|message| BomError::Invalid { field: field(), message })?;
                Ok(format!("{registry}/{name}:{tag}"))
            }
            None => Ok(format!("{name}:{tag}")),
        }
    }
}

/// Where the registry of a pinned image comes from, in the order [`Bom::image_for`] looks.
#[derive(Clone, Copy)]
enum RegistrySource {
    Config,
    Service,
    Bom,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Form;

    const BOM_1_27_0: &str = include_str!("../../tests/fixtures/bom/1.27.0.yml");
    const STANDARD_TEST_BOM: &str = include_str!("../../tests/fixtures/bom/buildtool-standard_test_bom.yml");
    const BOM_BASE: &str = include_str!("../../tests/fixtures/bom/buildtool-bom_base.yml");

    fn bom_1_27() -> Bom {
        Bom::parse(BOM_1_27_0, "bom/1.27.0.yml").unwrap()
    }

    fn pins(registry: Option<&str>, extra: &[(Service, &str)]) -> PinConfig {
        PinConfig {
            version: "1.27.0".into(),
            registry: registry.map(str::to_owned),
            extra_pins: extra.iter().map(|(s, t)| (*s, t.to_string())).collect(),
            ..PinConfig::default()
        }
    }

    #[test]
    fn a_bom_that_is_a_secret_is_never_quoted() {
        for text in [
            "sk-live-0123456789abcdef\n",
            "version: 1.27.0\nservices: 'sk-live-0123456789abcdef'\n",
            "[sk-live-0123456789abcdef]\n",
        ] {
            let msg = Bom::parse(text, "bom/1.27.0.yml").unwrap_err().to_string();
            assert!(!msg.contains("sk-live") && msg.contains("bom/1.27.0.yml"), "{msg}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_bom_is_never_quoted() {
        for text in ["ghp_secretTOKEN123\n", "version: 1.27.0\nservices: s3cr3t-value\n", "version: [hunter2]\n"] {
            let err = Bom::parse(text, "bom/1.27.0.yml").unwrap_err().to_string();
            for secret in ["ghp_secretTOKEN123", "s3cr3t", "hunter2"] {
                assert!(!err.contains(secret), "{err}");
            }
            assert!(err.starts_with("BOM bom/1.27.0.yml"), "{err}");
        }
        let err = Bom::parse("ghp_secretTOKEN123\n", "bom/1.27.0.yml").unwrap_err().to_string();
        assert!(err.contains("invalid type: a string, expected struct Bom"), "{err}");
    }

    #[test]
    fn a_version_that_is_not_a_release_is_not_quoted() {
        let bom = Bom::parse("version: ghp_secretTOKEN123\n", "bom/1.27.0.yml").unwrap();
        let err = bom.check_version("1.27.0", Form::DOCUMENT).unwrap_err().to_string();
        assert_eq!(
            err,
            "BOM bom/1.27.0.yml has a version that is not a Spinnaker release number (such as 1.27.0); point spec.bom at the BOM for 1.27.0"
        );
    }

    #[test]
    fn a_bom_is_read_through_the_bounded_parser() {
        let deep = format!("version: 1.27.0\nservices: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let started = std::time::Instant::now();
        let err = Bom::parse(&deep, "bom/1.27.0.yml").unwrap_err().to_string();
        assert!(err.starts_with("BOM bom/1.27.0.yml is not valid YAML: line 2 column"), "{err}");
        assert!(err.contains("nesting deeper than 200 levels"), "{err}");
        assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    }

    #[test]
    fn the_1_27_0_release_bom_parses_completely() {
        let bom = bom_1_27();
        assert_eq!(bom.version, "1.27.0");
        assert_eq!(bom.timestamp.as_deref(), Some("2022-04-19 04:18:35"));
        assert_eq!(bom.origin(), "bom/1.27.0.yml");
        assert_eq!(bom.services.len(), 12);
        assert_eq!(
            bom.services["clouddriver"],
            Artifact {
                version: Some("5.74.3".into()),
                commit: Some("854d708bc8e46f6c3eb5f80582ead9ed4d3f30eb".into()),
                artifact_sources: None,
            }
        );
        assert_eq!(bom.services["monitoring-daemon"].version.as_deref(), Some("1.3.0"));
        assert_eq!(bom.dependencies["redis"].version.as_deref(), Some("2:2.8.4-2"));
        assert_eq!(bom.dependencies["consul"].version.as_deref(), Some("0.7.5"));
        assert_eq!(
            bom.artifact_sources,
            Some(ArtifactSources {
                docker_registry: Some("us-docker.pkg.dev/spinnaker-community/docker".into()),
                debian_repository: Some("https://us-apt.pkg.dev/projects/spinnaker-community".into()),
                git_prefix: Some("https://github.com/spinnaker".into()),
                google_image_project: Some("marketplace-spinnaker-release".into()),
            })
        );
        let versions: Vec<_> = Service::ALL.iter().map(|s| bom.service_version(*s)).collect();
        assert_eq!(
            versions,
            [
                Some("5.74.3"),
                Some("3.8.1"),
                Some("2.32.2"),
                Some("1.28.3"),
                Some("2.23.3"),
                Some("6.54.1"),
                Some("4.6.3"),
                Some("2.31.1"),
                None,
                Some("8.18.3"),
                Some("1.7.3")
            ]
        );
    }

    #[test]
    fn the_buildtool_test_bom_parses() {
        let bom = Bom::parse(STANDARD_TEST_BOM, "bom/master.yml").unwrap();
        assert_eq!(bom.version, "master-20181122334455");
        assert_eq!(bom.service_version(Service::Front50), Some("7.8.9-20180102030405"));
        let image = bom.image_for(Service::Front50, &pins(None, &[]), Form::DOCUMENT).unwrap();
        assert_eq!(image, "gcr.io/test-docker-registry/front50:7.8.9-20180102030405");
    }

    #[test]
    fn a_partial_bom_without_version_is_an_error_naming_the_file() {
        let err = Bom::parse(BOM_BASE, "bom/base.yml").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, BomError::Parse { .. }), "{msg}");
        assert!(msg.contains("bom/base.yml") && msg.contains("version") && !msg.contains('\n'), "{msg}");
    }

    #[test]
    fn unknown_fields_and_missing_optional_parts_are_accepted() {
        let bom = Bom::parse("version: 1.10.1\nhostname: build-host\nservices:\n  defaultArtifact: {}\n  gate:\n    version: 1.0.0\n    extra: x\n", "b.yml").unwrap();
        assert_eq!((bom.version.as_str(), bom.timestamp.as_deref()), ("1.10.1", None));
        assert_eq!(bom.services["defaultArtifact"], Artifact::default());
        assert!(bom.dependencies.is_empty() && bom.artifact_sources.is_none());
        assert_eq!(bom.image_for(Service::Gate, &pins(None, &[]), Form::DOCUMENT).unwrap(), "gate:1.0.0");
    }

    #[test]
    fn versions_written_as_numbers_are_read_as_written() {
        let bom = Bom::parse("version: 1.10\ntimestamp: 2018-10-24 15:31:30\nservices:\n  gate: {version: 6.10}\n  orca: {version: 10}\n", "b.yml").unwrap();
        assert_eq!(bom.version, "1.10");
        assert_eq!(bom.timestamp.as_deref(), Some("2018-10-24 15:31:30"));
        assert_eq!(bom.service_version(Service::Gate), Some("6.10"));
        assert_eq!(bom.service_version(Service::Orca), Some("10"));
        bom.check_version("1.10", Form::DOCUMENT).unwrap();
    }

    #[test]
    fn malformed_boms_name_the_file_and_field() {
        for (text, field) in [
            ("version: 1.27.0\nservices: [gate]\n", "services"),
            ("version: 1.27.0\nservices:\n  gate: {version: [1]}\n", "services.gate.version"),
            ("version: [1]\n", "version"),
            ("version: ''\n", "version"),
            ("version: 1.27.0\nartifactSources: registry\n", "artifactSources"),
            ("version: 1.27.0\n  bad: indent\n", "line"),
        ] {
            let msg = Bom::parse(text, "bom/x.yml").unwrap_err().to_string();
            assert!(msg.contains("bom/x.yml") && msg.contains(field) && !msg.contains('\n'), "{msg}");
            assert!(msg.matches(&format!("{field}: ")).count() <= 1, "the field once: {msg}");
        }
        let msg = Bom::parse("# nothing\n\n", "bom/x.yml").unwrap_err().to_string();
        assert!(msg.contains("bom/x.yml is empty"), "{msg}");
    }

    #[test]
    fn a_bom_for_another_release_is_an_error_naming_both_versions_and_the_file() {
        let bom = bom_1_27();
        bom.check_version("1.27.0", Form::DOCUMENT).unwrap();
        let err = bom.check_version("1.28.1", Form::DOCUMENT).unwrap_err();
        assert_eq!(
            err,
            BomError::VersionMismatch {
                origin: "bom/1.27.0.yml".into(),
                found: "1.27.0".into(),
                requested: "1.28.1".into(),
                form: Form::DOCUMENT,
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("\"1.27.0\"") && msg.contains("\"1.28.1\"") && msg.contains("bom/1.27.0.yml"), "{msg}");
        let local = Bom::parse("version: local:1.27.0\n", "b.yml").unwrap();
        local.check_version("1.27.0", Form::DOCUMENT).unwrap();
    }

    #[test]
    fn images_come_from_the_bom_top_level_registry() {
        let bom = bom_1_27();
        let image = bom.image_for(Service::Clouddriver, &pins(None, &[]), Form::DOCUMENT).unwrap();
        assert_eq!(image, "us-docker.pkg.dev/spinnaker-community/docker/clouddriver:5.74.3");
        assert_eq!(
            bom.image_for(Service::Deck, &pins(None, &[]), Form::DOCUMENT).unwrap(),
            "us-docker.pkg.dev/spinnaker-community/docker/deck:3.8.1"
        );
    }

    #[test]
    fn registry_precedence_is_config_then_service_then_top_level() {
        let text = "version: 1.27.0\nartifactSources: {dockerRegistry: top.example.com/spin}\nservices:\n  \
                    gate: {version: 6.54.1, artifactSources: {dockerRegistry: 'svc.example.com:5000/gate-only'}}\n  \
                    orca: {version: 8.18.3, artifactSources: {dockerRegistry: ''}}\n";
        let bom = Bom::parse(text, "b.yml").unwrap();
        let none = pins(None, &[]);
        assert_eq!(
            bom.image_for(Service::Gate, &none, Form::DOCUMENT).unwrap(),
            "svc.example.com:5000/gate-only/gate:6.54.1"
        );
        assert_eq!(bom.image_for(Service::Orca, &none, Form::DOCUMENT).unwrap(), "top.example.com/spin/orca:8.18.3");
        let config = pins(Some("registry.example.com/spinnaker"), &[]);
        assert_eq!(
            bom.image_for(Service::Gate, &config, Form::DOCUMENT).unwrap(),
            "registry.example.com/spinnaker/gate:6.54.1"
        );
        assert_eq!(
            bom.image_for(Service::Orca, &config, Form::DOCUMENT).unwrap(),
            "registry.example.com/spinnaker/orca:8.18.3"
        );
        let bare = Bom::parse("version: 1.27.0\nservices: {gate: {version: 1.0.0}}\n", "b.yml").unwrap();
        assert_eq!(bare.image_for(Service::Gate, &none, Form::DOCUMENT).unwrap(), "gate:1.0.0");
    }

    #[test]
    fn keel_comes_from_extra_pins() {
        let bom = bom_1_27();
        let keel = pins(None, &[(Service::Keel, "0.1.0-20210331200022-slim")]);
        let image = bom.image_for(Service::Keel, &keel, Form::DOCUMENT).unwrap();
        assert_eq!(image, "us-docker.pkg.dev/spinnaker-community/docker/keel:0.1.0-20210331200022-slim");
        let with_registry = pins(Some("ghcr.io/spinnaker"), &[(Service::Keel, "main-latest")]);
        assert_eq!(
            bom.image_for(Service::Keel, &with_registry, Form::DOCUMENT).unwrap(),
            "ghcr.io/spinnaker/keel:main-latest"
        );
    }

    #[test]
    fn extra_pins_override_the_bom() {
        let bom = bom_1_27();
        let image =
            bom.image_for(Service::Gate, &pins(None, &[(Service::Gate, "6.55.0-hotfix")]), Form::DOCUMENT).unwrap();
        assert_eq!(image, "us-docker.pkg.dev/spinnaker-community/docker/gate:6.55.0-hotfix");
    }

    #[test]
    fn an_unpinned_service_is_an_error_with_the_fix() {
        let err = bom_1_27().image_for(Service::Keel, &pins(None, &[]), Form::DOCUMENT).unwrap_err();
        assert_eq!(
            err,
            BomError::Unpinned { origin: "bom/1.27.0.yml".into(), service: Service::Keel, form: Form::DOCUMENT }
        );
        let msg = err.to_string();
        assert!(
            msg.contains("keel") && msg.contains("bom/1.27.0.yml") && msg.contains("add it to spec.bom.extraPins"),
            "{msg}"
        );
        let bom = Bom::parse("version: 1.27.0\nservices: {gate: {commit: abc}}\n", "b.yml").unwrap();
        assert!(matches!(
            bom.image_for(Service::Gate, &pins(None, &[]), Form::DOCUMENT),
            Err(BomError::Unpinned { .. })
        ));
    }

    #[test]
    fn a_user_who_wrote_flat_keys_is_told_the_flat_key() {
        let msg = bom_1_27().image_for(Service::Keel, &pins(None, &[]), Form::FLAT).unwrap_err().to_string();
        assert!(msg.ends_with("extra-pins has no keel; add it to extra-pins (e.g. extra-pins=keel=<tag>)"), "{msg}");
        assert!(!msg.contains("spec.bom"), "{msg}");
        let msg = bom_1_27().check_version("1.28.0", Form::FLAT).unwrap_err().to_string();
        assert!(msg.ends_with("point bom-dir or bom-file at the BOM for 1.28.0 or set bom-version to 1.27.0"), "{msg}");
    }

    #[test]
    fn the_local_prefix_is_stripped_from_service_versions() {
        let bom = Bom::parse("version: 1.27.0\nservices: {gate: {version: 'local:6.54.1-dev'}}\n", "b.yml").unwrap();
        assert_eq!(
            bom.image_for(Service::Gate, &pins(Some("reg.io"), &[]), Form::DOCUMENT).unwrap(),
            "reg.io/gate:6.54.1-dev"
        );
    }

    #[test]
    fn tags_and_registries_from_the_bom_are_checked_before_use() {
        let bad_tag =
            Bom::parse("version: 1.27.0\nservices: {gate: {version: '1.0;rm -rf /'}}\n", "bom/evil.yml").unwrap();
        let msg = bad_tag.image_for(Service::Gate, &pins(None, &[]), Form::DOCUMENT).unwrap_err().to_string();
        assert!(msg.contains("bom/evil.yml services.gate.version") && msg.contains("not a valid image tag"), "{msg}");
        let bad_registry = Bom::parse(
            "version: 1.27.0\nartifactSources: {dockerRegistry: 'https://$(id)'}\nservices: {gate: {version: '1.0'}}\n",
            "bom/evil.yml",
        )
        .unwrap();
        let msg = bad_registry.image_for(Service::Gate, &pins(None, &[]), Form::DOCUMENT).unwrap_err().to_string();
        assert!(msg.contains("bom/evil.yml artifactSources.dockerRegistry") && msg.contains("registry"), "{msg}");
        let msg = bom_1_27()
            .image_for(Service::Keel, &pins(None, &[(Service::Keel, "$(x)")]), Form::DOCUMENT)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("spec.bom.extraPins.keel"), "{msg}");
    }
}
