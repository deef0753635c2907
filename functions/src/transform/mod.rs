//! The transform: finds the Spinnaker targets among the items and edits them in place.
//!
//! Targets are `SpinnakerService` objects (both API groups) and `apps/v1` Deployments and StatefulSets
//! whose containers run Spinnaker services. Every other item passes through untouched. Problems are
//! collected for every target, so one run reports all of them, and nothing is emitted when there is any.

mod pin;

use crate::bom::Bom;
use crate::config::SpinnakerPlatform;
use crate::krm::{KrmResult, ResourceRef, Severity};
use crate::service::Service;
use crate::yaml::Node;
use std::fmt;

/// What the transform works from: the validated config and the BOM it names.
pub struct Context<'a> {
    pub config: &'a SpinnakerPlatform,
    pub bom: &'a Bom,
}

impl Context<'_> {
    /// True when `service` is in scope (the `spec.services` allow-list is empty or names it).
    pub fn selects(&self, service: Service) -> bool {
        self.config.spec.selects(service)
    }
}

/// A problem with one resource, at one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub resource: ResourceRef,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.resource, self.field, self.message)
    }
}

impl Finding {
    pub fn to_result(&self) -> KrmResult {
        KrmResult {
            message: self.message.clone(),
            severity: Severity::Error,
            resource: Some(self.resource.clone()),
            field: Some(self.field.clone()),
            file: None,
        }
    }
}

/// The transform failed: every finding, in item order.
#[derive(Debug, thiserror::Error)]
#[error("{}", summarize(.0))]
pub struct Failed(pub Vec<Finding>);

fn summarize(findings: &[Finding]) -> String {
    match findings {
        [only] => only.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more problem(s), listed below)", rest.len()),
        [] => "the transform failed".to_owned(),
    }
}

/// What was changed, for logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub workloads: usize,
    pub spinnaker_services: usize,
}

/// The kind of target an item is.
enum Target {
    Workload,
    SpinnakerService,
}

fn target_of(item: &Node) -> Option<Target> {
    match (item.path_str(&["apiVersion"])?, item.path_str(&["kind"])?) {
        ("apps/v1", "Deployment" | "StatefulSet") => Some(Target::Workload),
        ("spinnaker.io/v1alpha2" | "spinnaker.armory.io/v1alpha2", "SpinnakerService") => {
            Some(Target::SpinnakerService)
        }
        _ => None,
    }
}

/// Runs the transform over every item.
pub fn apply(items: &mut [Node], ctx: &Context) -> Result<Summary, Failed> {
    let mut findings = Vec::new();
    let mut summary = Summary::default();
    for item in items.iter_mut() {
        let resource = ResourceRef::of(item);
        let mut report = |field: String, message: String| {
            findings.push(Finding { resource: resource.clone(), field, message });
        };
        match target_of(item) {
            Some(Target::Workload) if pin::pin_workload(item, ctx, &mut report) => summary.workloads += 1,
            Some(Target::Workload) => {}
            Some(Target::SpinnakerService) => {
                pin::pin_spinnaker_service(item, ctx, &mut report);
                summary.spinnaker_services += 1;
            }
            None => {}
        }
    }
    if findings.is_empty() {
        Ok(summary)
    } else {
        Err(Failed(findings))
    }
}
