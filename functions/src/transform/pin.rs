//! BOM pinning: every Spinnaker image set to exactly the version the BOM names, never a guess.
//!
//! Workloads: each container (and init container) that runs a Spinnaker service gets
//! `<registry>/<svc>:<version>`. SpinnakerService: `config.version` is the BOM's release and
//! `service-settings.<svc>.artifactId` the pinned image, so Halyard inside the operator deploys exactly it.

use super::Context;
use crate::service::{identify, split_image, Service};
use crate::yaml::Node;

/// Pins the containers of a pod-template workload, counting the images set in `count`. Returns true when
/// it runs a Spinnaker service.
pub(super) fn pin_workload(
    item: &mut Node,
    ctx: &Context,
    count: &mut usize,
    report: &mut impl FnMut(String, String),
) -> bool {
    let Some(pod) = item.path_mut(&["spec", "template", "spec"]).and_then(Node::as_mapping_mut) else {
        return false;
    };
    let mut found = false;
    for list in ["containers", "initContainers"] {
        let Some(containers) = pod.get_mut(list).and_then(Node::as_sequence_mut) else { continue };
        for (index, container) in containers.iter_mut().enumerate() {
            let Some(container) = container.as_mapping_mut() else { continue };
            let name = container.get_str("name").unwrap_or_default();
            let image = container.get_str("image");
            // Init containers are matched by image only: `gate-init` running busybox is not gate.
            let service = if list == "containers" { identify(name, image) } else { identify("", image) };
            let Some(service) = service else { continue };
            found = true;
            if !ctx.selects(service) {
                continue;
            }
            let field = format!("spec.template.spec.{list}[{index}].image");
            if let Some(image) = image {
                if let Some(digest) = split_image(image).digest {
                    report(
                        field,
                        format!(
                            "{} is pinned by digest ({digest}); spinnaker-krm pins Spinnaker images to the BOM by tag: \
                             remove the digest, or leave {} out of spec.services",
                            service.name(),
                            service.name()
                        ),
                    );
                    continue;
                }
            }
            match ctx.bom.image_for(service, &ctx.config.spec.bom, ctx.config.form) {
                Ok(image) => {
                    // spinnaker-krm's own init container runs the service's image: a re-run counts the same.
                    *count += usize::from(name != super::pod::INIT_CONTAINER);
                    container.insert_str("image", &image);
                }
                Err(e) => report(field, e.to_string()),
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
                svc_settings.insert_str("artifactId", &pinned);
                *count += 1;
            }
            None => report(field, "the service's settings are not a mapping; make them one".to_owned()),
        }
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
