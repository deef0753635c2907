//! BOM pinning: every Spinnaker image set to exactly the version the BOM names, never a guess.
//!
//! Workloads: each container (and init container) that runs a Spinnaker service gets
//! `<registry>/<svc>:<version>`. SpinnakerService: `config.version` is the BOM's release and
//! `service-settings.<svc>.artifactId` the pinned image, so Halyard inside the operator deploys exactly it.
//!
//! A pin keeps the image variant the manifest asked for: the tag suffix (`gate:6.0.0-ubuntu` pins to
//! `gate:<version>-ubuntu`), or on a SpinnakerService Halyard's `deploymentEnvironment.imageVariant` (which an
//! `artifactId` would otherwise override). Spinnaker publishes every service as `<version>`, `<version>-slim`
//! and `<version>-ubuntu` (1.32-1.35 also `-java11`, `-java11-ubuntu`; Halyard knows `-java8`,
//! `-ubuntu-java8`): `.github/actions/publish-docker/action.yml`, halyard `KubernetesService.getArtifactId`.

use super::Context;
use crate::service::{identify, split_image, Service};
use crate::yaml::Node;

/// Where an object carries the pod spec its containers run from, for every kind that has one, at any
/// apiVersion (`extensions/v1beta1` and `apps/v1beta2` Deployments too): an image anywhere a pod can
/// start from is pinned or is an error, never a silent `:latest`.
pub(crate) fn pod_spec_path(item: &Node) -> Option<&'static [&'static str]> {
    const TEMPLATE: &[&str] = &["spec", "template", "spec"];
    match item.path_str(&["kind"])? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => Some(TEMPLATE),
        "Rollout" if item.path_str(&["apiVersion"])?.starts_with("argoproj.io/") => Some(TEMPLATE),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        "Pod" => Some(&["spec"]),
        "PodTemplate" => Some(&["template", "spec"]),
        _ => None,
    }
}

/// The annotation of an object with a pod spec recording, as JSON, the images its manifest had where a pin
/// changed them (`{"containers/gate": "gate:latest"}`): the next run starts from them, so a pin follows the
/// config (a service left out of `spec.services` gets its own image back; an extra pin dropped gives the
/// BOM's tag with the manifest's variant).
pub const IMAGES_ANNOTATION: &str = "spinnaker-krm.dev/original-images";

/// Puts back the images a previous run recorded in [`IMAGES_ANNOTATION`], and removes the record.
fn restore_images(item: &mut Node, path: &[&str]) {
    let Some(recorded) = item.path_str(&["metadata", "annotations", IMAGES_ANNOTATION]).map(str::to_owned) else {
        return;
    };
    // The annotations go with the record when it was their only entry (the run that recorded it made them).
    if let Some(metadata) = item.path_mut(&["metadata"]).and_then(Node::as_mapping_mut) {
        if let Some(annotations) = metadata.get_mut("annotations").and_then(Node::as_mapping_mut) {
            annotations.remove(IMAGES_ANNOTATION);
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
    let Ok(serde_json::Value::Object(originals)) = serde_json::from_str::<serde_json::Value>(&recorded) else {
        return;
    };
    let Some(pod) = item.path_mut(path).and_then(Node::as_mapping_mut) else { return };
    for (at, image) in &originals {
        let (Some((list, name)), Some(image)) = (at.split_once('/'), image.as_str()) else { continue };
        let container = pod.get_mut(list).and_then(Node::as_sequence_mut).and_then(|c| c.find_by_mut("name", name));
        if let Some(container) = container {
            container.insert_str("image", image);
        }
    }
}

/// Writes the images a pin changed (`(list/name, image)`, in order) into [`IMAGES_ANNOTATION`].
fn record_images(item: &mut Node, originals: &[(String, String)]) {
    if originals.is_empty() {
        return;
    }
    let size: usize = originals.iter().map(|(at, image)| at.len() + image.len() + 6).sum();
    let mut record = String::with_capacity(size + 2);
    record.push('{');
    for (i, (at, image)) in originals.iter().enumerate() {
        if i > 0 {
            record.push(',');
        }
        super::workload::push_json_string(&mut record, at);
        record.push(':');
        super::workload::push_json_string(&mut record, image);
    }
    record.push('}');
    let Some(metadata) = item.as_mapping_mut().and_then(|m| m.mapping_entry("metadata")) else { return };
    if let Some(annotations) = metadata.mapping_entry("annotations") {
        annotations.insert_str(IMAGES_ANNOTATION, &record);
    }
}

/// Pins the containers of an object that carries a pod spec ([`pod_spec_path`]), counting the images set
/// in `count`. Returns true when it runs a Spinnaker service. A previous run's pins are undone first.
pub(super) fn pin_workload(
    item: &mut Node,
    ctx: &Context,
    count: &mut usize,
    report: &mut impl FnMut(String, String),
) -> bool {
    let Some(path) = pod_spec_path(item) else { return false };
    restore_images(item, path);
    let mut originals: Vec<(String, String)> = Vec::new();
    let found = pin_pod(item, path, ctx, count, report, &mut originals);
    record_images(item, &originals);
    found
}

fn pin_pod(
    item: &mut Node,
    path: &[&str],
    ctx: &Context,
    count: &mut usize,
    report: &mut impl FnMut(String, String),
    originals: &mut Vec<(String, String)>,
) -> bool {
    let Some(pod) = item.path_mut(path).and_then(Node::as_mapping_mut) else {
        return false;
    };
    let mut found = false;
    for list in ["containers", "initContainers"] {
        let Some(containers) = pod.get_mut(list).and_then(Node::as_sequence_mut) else { continue };
        for (index, container) in containers.iter_mut().enumerate() {
            let Some(container) = container.as_mapping_mut() else { continue };
            let name = container.get_str("name").unwrap_or_default();
            // spinnaker-krm's own init container gets its image from the injection, or goes with it.
            if list == "initContainers" && name == super::pod::INIT_CONTAINER {
                continue;
            }
            let image = container.get_str("image");
            // Init containers are matched by image only: `gate-init` running busybox is not gate.
            let service = if list == "containers" { identify(name, image) } else { identify("", image) };
            let Some(service) = service else { continue };
            found = true;
            if !ctx.selects(service) {
                continue;
            }
            let field = || format!("{}.{list}[{index}].image", path.join("."));
            if let Some(image) = image {
                if let Some(digest) = split_image(image).digest {
                    report(
                        field(),
                        format!(
                            "{} is pinned by digest ({digest}); spinnaker-krm pins Spinnaker images to the BOM by tag: \
                             remove the digest, or leave {} out of {}",
                            service.name(),
                            service.name(),
                            ctx.config.form.name("spec.services")
                        ),
                    );
                    continue;
                }
            }
            // An extra pin is the exact tag the user wrote; a BOM version gets the manifest's variant.
            let variant = image.map(split_image).and_then(|i| i.tag).and_then(variant_of);
            let variant = variant.filter(|_| !ctx.config.spec.bom.extra_pins.contains_key(&service));
            match ctx.bom.image_for(service, &ctx.config.spec.bom, ctx.config.form) {
                Ok(pinned) => {
                    *count += 1;
                    let pinned = with_variant(pinned, variant);
                    if let Some(original) = image.filter(|i| *i != pinned) {
                        originals.push((format!("{list}/{name}"), original.to_owned()));
                    }
                    container.insert_str("image", &pinned);
                }
                Err(e) => report(field(), e.to_string()),
            }
        }
    }
    found
}

/// Pins a SpinnakerService through `config.version` and `service-settings.<svc>.artifactId`, counting the
/// images set in `count`.
pub(super) fn pin_spinnaker_service(
    item: &mut Node,
    ctx: &Context,
    count: &mut usize,
    report: &mut impl FnMut(String, String),
) {
    let services: Vec<Service> =
        super::operator::deployed_services(item).into_iter().filter(|s| ctx.selects(*s)).collect();
    let Some(spinnaker_config) = item.path_mut(&["spec", "spinnakerConfig"]).and_then(Node::as_mapping_mut) else {
        report(
            "spec.spinnakerConfig".to_owned(),
            "missing or not a mapping; the SpinnakerService CRD requires it (add `spinnakerConfig: {config: {}}`)"
                .to_owned(),
        );
        return;
    };
    match spinnaker_config.mapping_entry("config") {
        Some(config) => config.insert_str("version", &ctx.bom.version),
        None => report("spec.spinnakerConfig.config".to_owned(), "is not a mapping; make it one".to_owned()),
    }
    let image_variant = spinnaker_config
        .get("config")
        .and_then(|c| c.path_str(&["deploymentEnvironment", "imageVariant"]))
        .and_then(halyard_variant);
    let Some(settings) = spinnaker_config.mapping_entry("service-settings") else {
        report("spec.spinnakerConfig.service-settings".to_owned(), "is not a mapping; make it one".to_owned());
        return;
    };
    for service in services {
        let field = format!("spec.spinnakerConfig.service-settings.{}.artifactId", service.name());
        let pinned = match ctx.bom.image_for(service, &ctx.config.spec.bom, ctx.config.form) {
            Ok(pinned) => pinned,
            Err(e) => {
                report(field, e.to_string());
                continue;
            }
        };
        match settings.mapping_entry(service.name()) {
            Some(svc_settings) => {
                let previous = svc_settings.get_str("artifactId").map(split_image).and_then(|i| i.tag);
                let variant = previous.and_then(variant_of).or(image_variant);
                let variant = variant.filter(|_| !ctx.config.spec.bom.extra_pins.contains_key(&service));
                svc_settings.insert_str("artifactId", &with_variant(pinned, variant));
                *count += 1;
            }
            None => report(field, "the service's settings are not a mapping; make them one".to_owned()),
        }
    }
}

/// The image variants' tag suffixes, longest first (so `-ubuntu-java8` is not read as `-java8`).
const VARIANTS: [&str; 7] =
    ["-java11-ubuntu", "-ubuntu-java11", "-ubuntu-java8", "-ubuntu", "-java11", "-java8", "-slim"];

/// The variant suffix a tag ends with, if any.
pub fn variant_of(tag: &str) -> Option<&'static str> {
    VARIANTS.into_iter().find(|v| tag.ends_with(v))
}

/// Halyard's `imageVariant` (`SLIM`, the default, adds nothing) as a tag suffix.
fn halyard_variant(variant: &str) -> Option<&'static str> {
    match variant.to_ascii_uppercase().as_str() {
        "UBUNTU" => Some("-ubuntu"),
        "JAVA8" => Some("-java8"),
        "UBUNTU_JAVA8" => Some("-ubuntu-java8"),
        "JAVA11" => Some("-java11"),
        "UBUNTU_JAVA11" => Some("-ubuntu-java11"),
        _ => None,
    }
}

/// `pinned` with the variant suffix, unless its tag already ends with one (an extra pin written with it).
fn with_variant(pinned: String, variant: Option<&str>) -> String {
    match variant {
        Some(suffix) if split_image(&pinned).tag.and_then(variant_of).is_none() => pinned + suffix,
        _ => pinned,
    }
}

/// The images of a workload's containers and init containers, in order (what a pin-only run hashes).
pub(super) fn images(item: &Node) -> Vec<String> {
    ["containers", "initContainers"]
        .iter()
        .filter_map(|list| item.path(&["spec", "template", "spec", list])?.as_sequence())
        .flat_map(|s| s.iter())
        .filter_map(|c| c.path_str(&["image"]).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_keeps_the_variant_the_manifest_asked_for() {
        let pin = |old: &str| with_variant("r/gate:6.54.1".to_owned(), variant_of(old));
        assert_eq!(pin("6.0.0-ubuntu"), "r/gate:6.54.1-ubuntu");
        assert_eq!(pin("6.0.0-slim"), "r/gate:6.54.1-slim");
        assert_eq!(pin("6.0.0-ubuntu-java8"), "r/gate:6.54.1-ubuntu-java8");
        assert_eq!(pin("6.0.0-java11-ubuntu"), "r/gate:6.54.1-java11-ubuntu");
        assert_eq!(pin("6.0.0-java11"), "r/gate:6.54.1-java11");
        assert_eq!(pin("6.0.0"), "r/gate:6.54.1");
        assert_eq!(
            with_variant("keel:0.1.0-20210331200022-slim".into(), Some("-ubuntu")),
            "keel:0.1.0-20210331200022-slim"
        );
        assert_eq!(halyard_variant("UBUNTU_JAVA8"), Some("-ubuntu-java8"));
        assert_eq!(halyard_variant("SLIM"), None);
    }
}
