//! The transform: finds the Spinnaker targets among the items and edits them in place.
//!
//! Targets are, in `spec.namespace` (or in no namespace yet), `SpinnakerService` objects (both API groups)
//! and `apps/v1` Deployments and StatefulSets whose containers run Spinnaker services; every other object
//! there with a pod spec (and `v1 List` items) is pinned only (see [`Target`]). What is in another namespace
//! is another install's. Every other item passes through untouched. Problems are
//! collected for every target, so one run reports all of them, and nothing is emitted when there is any.

mod certs;
mod front_door;
mod operator;
mod pin;
mod pod;
mod spring;
pub(crate) mod workload;

pub use certs::{MANAGED_BY, MANAGED_BY_LABEL};
pub use operator::{deployed_services, PATCH_MARKER, SETTINGS_ANNOTATION};
pub(crate) use pin::pod_spec_path;
pub use pin::{variant_of, IMAGES_ANNOTATION};
pub use pod::{INIT_CONTAINER, INIT_SCRIPT, PASSWORD_ENV, TLS_DIR, TLS_VOLUME, TRUSTSTORE_DIR};
pub use spring::MANAGEMENT_PORT;
pub use workload::{HASH_ANNOTATION, MANAGED_ENV_ANNOTATION, PROBES_ANNOTATION};

use crate::bom::Bom;
use crate::config::SpinnakerPlatform;
use crate::krm::{KrmResult, ResourceRef, Severity};
use crate::service::Service;
use crate::yaml::Node;
use std::collections::{HashMap, HashSet};
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
        if self.resource.kind.is_empty() {
            write!(f, "{}: {}", self.field, self.message)
        } else {
            write!(f, "{} {}: {}", self.resource, self.field, self.message)
        }
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
    /// Workloads that run a Spinnaker service (pinned).
    pub workloads: usize,
    /// JVM workloads that got a truststore and/or mTLS.
    pub injected: usize,
    pub spinnaker_services: usize,
    /// Images set to their BOM pin: containers, the user's init containers, SpinnakerService artifactIds.
    pub pinned: usize,
    /// Objects added or updated (Certificates, issuers, Bundle).
    pub generated: usize,
}

/// The kind of target an item is.
enum Target {
    /// An `apps/v1` Deployment or StatefulSet: pinned, and its JVM service gets truststore and mTLS.
    Workload,
    /// Any other object with a pod spec (DaemonSet, ReplicaSet, Job, CronJob, Pod, an Argo Rollout, a
    /// Deployment of a retired apiVersion): pinned only. Spinnaker's services run as Deployments or
    /// StatefulSets; a Job or Pod running a Spinnaker image is a one-off with no Service name for a
    /// Certificate and no peers calling it, and a Rollout's or old Deployment's pod template is not what
    /// the operator, Halyard or spinnaker-kustomize render, so no injection is guessed for it.
    PinOnly,
    /// A `v1 List`: its items are pinned (pin only), like the objects they are.
    List,
    SpinnakerService,
}

fn target_of(item: &Node) -> Option<Target> {
    match (item.path_str(&["apiVersion"])?, item.path_str(&["kind"])?) {
        ("apps/v1", "Deployment" | "StatefulSet") => Some(Target::Workload),
        ("spinnaker.io/v1alpha2" | "spinnaker.armory.io/v1alpha2", "SpinnakerService") => {
            Some(Target::SpinnakerService)
        }
        ("v1", "List") => Some(Target::List),
        _ => pin::pod_spec_path(item).map(|_| Target::PinOnly),
    }
}

/// What the transform reads of an input item before it changes anything: read in one pass, since a pass
/// over a large install's items costs more in memory reads than the little it looks at.
struct Survey {
    target: Option<Target>,
    in_scope: bool,
    /// The JVM service of a Deployment or StatefulSet (in scope or not).
    jvm: Option<workload::JvmWorkload>,
    /// A `v1` Service: a front door, or what gives a peer its name and port.
    service: bool,
    /// The workload's pod sets runAsUser ([`workload::inherits_user`]).
    inherits_user: bool,
    /// An earlier run recorded the images it pinned ([`IMAGES_ANNOTATION`]): pinning puts them back first,
    /// so the workload's service is identified again after it.
    recorded_images: bool,
}

impl Survey {
    fn of(item: &Node, ctx: &Context) -> Self {
        let target = target_of(item);
        let in_scope = workload::in_scope(item, ctx);
        let jvm = matches!(target, Some(Target::Workload)).then(|| workload::jvm_workload(item, ctx)).flatten();
        let service = target.is_none()
            && item.path_str(&["apiVersion"]) == Some("v1")
            && item.path_str(&["kind"]) == Some("Service");
        let inherits_user = jvm.is_some() && workload::inherits_user(item);
        let recorded_images = item
            .path(&["metadata", "annotations"])
            .and_then(Node::as_mapping)
            .is_some_and(|a| a.contains_key(IMAGES_ANNOTATION));
        Survey { target, in_scope, jvm, service, inherits_user, recorded_images }
    }
}

/// Runs the transform over every item: pins first, then truststore and mTLS, then the generated objects.
pub fn apply(items: &mut Vec<Node>, ctx: &Context) -> Result<Summary, Failed> {
    let mut findings = Vec::new();
    let mut summary = Summary::default();
    let mut generated = Vec::new();
    // Where Spinnaker is outside the namespace: the namespaces of its JVM workloads and SpinnakerServices there,
    // and what is there (for the message when nothing of this install is in the render).
    let mut elsewhere: Vec<String> = Vec::new();
    let (mut workloads_elsewhere, mut operators_elsewhere) = (false, 0);
    // The namespaces of other installs in this render: of the workloads outside ours that an earlier run of
    // spinnaker-krm changed (they carry its hash annotation; a second install reads the first's output), and
    // of the SpinnakerServices it changed (they carry its managed-settings annotation). A workload that only
    // looks like Spinnaker's (keel.sh's `keel`) is no install.
    let mut other_installs: Vec<String> = Vec::new();
    let surveys: Vec<Survey> = items.iter().map(|item| Survey::of(item, ctx)).collect();
    // The JVM workloads the run injects into, with what the survey read of them.
    let jvm_workloads: Vec<(&Node, &Survey, &workload::JvmWorkload)> = items
        .iter()
        .zip(&surveys)
        .filter(|(_, seen)| seen.in_scope)
        .filter_map(|(item, seen)| Some((item, seen, seen.jvm.as_ref()?)))
        .collect();
    let services: Vec<&Node> = items.iter().zip(&surveys).filter(|(_, seen)| seen.service).map(|(i, _)| i).collect();
    // Peers are called over https, so a service that serves plain HTTP (gate, by default) is none.
    let peers: Vec<spring::Peer> = jvm_workloads
        .iter()
        .filter(|(_, _, w)| ctx.config.spec.mtls.serves_tls(w.service))
        .filter_map(|(item, _, w)| {
            let mut peer = workload::as_peer(w)?;
            workload::use_service(&mut peer, item, &services);
            Some(peer)
        })
        .collect();
    let jvm_workloads_services: Vec<Service> = jvm_workloads.iter().map(|(_, _, w)| w.service).collect();
    let mut memo =
        workload::Memo::for_workloads(jvm_workloads.iter().map(|(_, seen, w)| (seen.inherits_user, *w)), &peers);
    // Read before anything changes: front doors are never edited, only checked.
    if ctx.config.spec.mtls.enabled && ctx.selects(Service::Gate) {
        let mut gate_services: Vec<String> = vec!["gate".into(), "spin-gate".into()];
        gate_services.extend(
            jvm_workloads.iter().filter(|(_, _, w)| w.service == Service::Gate).map(|(_, _, w)| w.name.clone()),
        );
        // A Deployment or StatefulSet of apps/v1 is never a front door.
        let doors: Vec<&Node> = items
            .iter()
            .zip(&surveys)
            .filter(|(_, seen)| !matches!(seen.target, Some(Target::Workload)))
            .map(|(item, _)| item)
            .collect();
        findings.extend(front_door::check(&doors, ctx, &gate_services));
    }
    for (item, seen) in items.iter_mut().zip(&surveys) {
        let Some(target) = &seen.target else { continue };
        // Problems are named with the item's identity, which the transform never changes: it is read
        // after the item is done, and only when there is a problem.
        let mut problems: Vec<(String, String)> = Vec::new();
        let mut report = |field: String, message: String| problems.push((field, message));
        match target {
            Target::Workload if !seen.in_scope => {
                let namespace = item.path_str(&["metadata", "namespace"]).map(str::to_owned);
                if seen.jvm.is_some() {
                    elsewhere.extend(namespace.clone());
                    workloads_elsewhere = true;
                }
                if item.path(&["spec", "template", "metadata", "annotations", HASH_ANNOTATION]).is_some() {
                    other_installs.extend(namespace);
                }
            }
            // The operator deploys a SpinnakerService's services into its own namespace: it sets Halyard's
            // `deploymentEnvironment.location` to it, whatever the config says (armory/spinnaker-operator,
            // pkg/api/deploy/spindeploy/transformer/target.go, and its test). In another namespace it is
            // somebody else's install (its pods would mount a CA bundle the Bundle never puts there).
            Target::SpinnakerService if !seen.in_scope => {
                let namespace = item.path_str(&["metadata", "namespace"]).map(str::to_owned);
                elsewhere.extend(namespace.clone());
                operators_elsewhere += 1;
                if item.path(&["metadata", "annotations", operator::SETTINGS_ANNOTATION]).is_some() {
                    other_installs.extend(namespace);
                }
            }
            // A workload whose images cannot be pinned is reported and left as it is.
            Target::Workload => {
                if pin::pin_workload(item, ctx, &mut summary.pinned, &mut report) {
                    summary.workloads += 1;
                    // Pinning changes no container's service (an image is pinned to its own service's), but
                    // putting back the images an earlier run recorded may (the manifest was edited since).
                    let identified_again;
                    let jvm = if seen.recorded_images {
                        identified_again = workload::jvm_workload(item, ctx);
                        identified_again.as_ref()
                    } else {
                        seen.jvm.as_ref()
                    };
                    match jvm {
                        Some(jvm) => {
                            generated.extend(workload::inject(item, jvm, ctx, &peers, &mut memo, &mut report));
                            summary.injected += 1;
                        }
                        // Pinned only (deck, or nothing to inject): the annotation still names the tool and
                        // changes with the images.
                        None => {
                            workload::undo(item);
                            let hash = workload::images_hash(item);
                            workload::set_annotation(item, HASH_ANNOTATION, Some(&hash));
                        }
                    }
                }
            }
            Target::PinOnly if seen.in_scope => {
                if pin::pin_workload(item, ctx, &mut summary.pinned, &mut report) {
                    summary.workloads += 1;
                }
            }
            Target::PinOnly => {}
            Target::List => {
                let Some(list) = item.path_mut(&["items"]).and_then(Node::as_sequence_mut) else { continue };
                for (i, inner) in list.iter_mut().enumerate() {
                    if pin::pod_spec_path(inner).is_none() || !workload::in_scope(inner, ctx) {
                        continue;
                    }
                    let mut report = |field: String, message: String| report(format!("items[{i}].{field}"), message);
                    if pin::pin_workload(inner, ctx, &mut summary.pinned, &mut report) {
                        summary.workloads += 1;
                    }
                }
            }
            Target::SpinnakerService => {
                let pinned = &mut summary.pinned;
                let mut pin_report: Vec<(String, String)> = Vec::new();
                let pin = |item: &mut Node| {
                    pin::pin_spinnaker_service(item, ctx, pinned, &mut |f, m| pin_report.push((f, m)))
                };
                generated.extend(operator::inject(item, ctx, pin, &mut report));
                problems.splice(0..0, pin_report);
                summary.spinnaker_services += 1;
            }
        }
        if !problems.is_empty() {
            let resource = ResourceRef::of(item);
            let found =
                problems.into_iter().map(|(field, message)| Finding { resource: resource.clone(), field, message });
            findings.extend(found);
        }
    }
    if ctx.config.spec.mtls.enabled {
        let mut services: Vec<Service> = jvm_workloads_services;
        services.extend(
            items
                .iter()
                .zip(&surveys)
                .filter(|(_, seen)| seen.in_scope && matches!(seen.target, Some(Target::SpinnakerService)))
                .map(|(i, _)| i)
                .flat_map(|i| operator::deployed_services(i).into_iter().filter(|s| s.is_jvm() && ctx.selects(*s))),
        );
        if let Err(message) = check_pkcs12_profile(ctx, &services) {
            findings.push(Finding {
                resource: ResourceRef::default(),
                field: ctx.config.form.head("spec.mtls.pkcs12Profile"),
                message,
            });
        }
    }
    if summary.workloads + summary.spinnaker_services == 0 && !elsewhere.is_empty() {
        elsewhere.sort();
        elsewhere.dedup();
        findings.push(Finding {
            resource: ResourceRef::default(),
            field: ctx.config.form.head("spec.namespace"),
            message: format!(
                "{what} in namespace{s} {} but {field} is {namespace}; {set} to where Spinnaker runs, or move \
                 Spinnaker into namespace {namespace} (a kustomization's `namespace:`{kpt})",
                elsewhere.join(", "),
                what = found_elsewhere(operators_elsewhere, workloads_elsewhere),
                s = if elsewhere.len() > 1 { "s" } else { "" },
                namespace = ctx.config.spec.namespace,
                field = ctx.config.form.name("spec.namespace"),
                set = ctx.config.form.set_namespace(),
                // kpt reads no kustomization: its own function moves a package.
                kpt = if ctx.config.form.under_argocd() { "" } else { ", or kpt's set-namespace function" },
            ),
        });
    }
    other_installs.sort();
    other_installs.dedup();
    let owners = Owners { others: &other_installs, namespace: &ctx.config.spec.namespace };
    // With nothing injected, nothing is generated, and an earlier run's generated objects go.
    let earlier = |item: &Node| certs::is_managed(item) && !owners.may_be_anothers(item);
    if findings.is_empty() && (summary.injected + summary.spinnaker_services > 0 || items.iter().any(earlier)) {
        let mut objects = Vec::new();
        if summary.injected + summary.spinnaker_services > 0 {
            objects = certs::trust_objects(ctx);
            objects.extend(generated);
        }
        summary.generated = add_generated(items, objects, &owners, ctx, &mut findings);
    }
    if findings.is_empty() {
        Ok(summary)
    } else {
        Err(Failed(findings))
    }
}

/// What of Spinnaker is in other namespaces, as the subject of a sentence: `operators` SpinnakerServices and,
/// or, JVM workloads.
fn found_elsewhere(operators: usize, workloads: bool) -> &'static str {
    match (operators, workloads) {
        (0, _) => "Spinnaker workloads are",
        (1, false) => "the SpinnakerService is",
        (_, false) => "SpinnakerServices are",
        (1, true) => "a SpinnakerService and Spinnaker workloads are",
        (_, true) => "SpinnakerServices and Spinnaker workloads are",
    }
}

/// Refuses a PKCS12 profile that a Java of the release cannot read (`releases::IMAGES`): `Modern2023`'s
/// HMAC-SHA256 MAC on the Java 11 builds before 11.0.12 that 1.26 and 1.27.0 ship.
fn check_pkcs12_profile(ctx: &Context, services: &[Service]) -> Result<(), String> {
    use crate::config::Pkcs12Profile;
    use crate::releases::{images_of, Reads};
    if ctx.config.spec.mtls.pkcs12_profile != Some(Pkcs12Profile::Modern2023) {
        return Ok(());
    }
    let release = &ctx.bom.version;
    let unreadable: Vec<String> = images_of(release)
        .into_iter()
        .filter(|row| row.reads_hmac_sha256 == Reads::No)
        .filter(|row| row.services.is_empty() || row.services.iter().any(|s| services.contains(s)))
        .map(|row| {
            let names: Vec<&str> = row.services.iter().filter(|s| services.contains(s)).map(|s| s.name()).collect();
            format!("{} ({} {}, {})", names.join(", "), row.base, row.java, row.variant)
        })
        .collect();
    if unreadable.is_empty() {
        return Ok(());
    }
    Err(format!(
        "Modern2023 key stores (HMAC-SHA256 MAC) cannot be read by the Java of Spinnaker {release}'s images of {}: \
         Java 11 reads them only from 11.0.12; remove {} (LegacyDES is read by every Java) or pin a later release",
        unreadable.join("; "),
        ctx.config.form.name("spec.mtls.pkcs12Profile")
    ))
}

/// What tells two objects apart (as kpt and kustomize do), borrowed from the object.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Identity<'a> {
    api_version: &'a str,
    kind: &'a str,
    name: &'a str,
    namespace: Option<&'a str>,
}

impl<'a> Identity<'a> {
    fn of(item: &'a Node) -> Self {
        Identity {
            api_version: item.path_str(&["apiVersion"]).unwrap_or_default(),
            kind: item.path_str(&["kind"]).unwrap_or_default(),
            name: item.path_str(&["metadata", "name"]).unwrap_or_default(),
            namespace: item.path_str(&["metadata", "namespace"]),
        }
    }
}

/// Who an earlier run's generated object may belong to when one render holds two installs (two
/// SpinnakerPlatform transformers, one per namespace, the second reading the first's output). While it does, a
/// cluster-scoped object an install no longer generates (after a rename, or with mTLS off) cannot be told from
/// the other install's and stays: README says to delete it by hand.
struct Owners<'a> {
    /// The namespaces of the other installs (their Spinnaker workloads or SpinnakerService).
    others: &'a [String],
    /// This install's `spec.namespace`.
    namespace: &'a str,
}

impl Owners<'_> {
    /// A workload's Certificate in this install's namespace is this install's. While the render holds another
    /// install, any other may be that install's: in its namespace (its Certificates), a CA Certificate in the
    /// trust namespace (which may be this install's namespace, or, after a change of `trustNamespace`, another
    /// one), or cluster-scoped (the ClusterIssuers, the Bundle). Either way it is this run's only when this run
    /// generates it too.
    fn may_be_anothers(&self, object: &Node) -> bool {
        if self.others.is_empty() {
            return false;
        }
        match object.path_str(&["metadata", "namespace"]) {
            // Another install's CA Certificate is here when this namespace is the trust namespace.
            Some(namespace) if namespace == self.namespace => object.path(&["spec", "isCA"]).is_some_and(Node::is_true),
            _ => true,
        }
    }

    /// The other install's namespace an earlier run's Bundle distributes the CA to, when it does.
    fn bundle_target<'n>(&self, bundle: &'n Node) -> Option<&'n str> {
        let selector = ["spec", "target", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"];
        bundle.path_str(&selector).filter(|namespace| self.others.iter().any(|o| o == namespace))
    }
}

/// Adds generated objects after the input items, in the order this run generates them: a managed object of
/// the same identity (an earlier run's) is updated and moved there (its metadata, and so kpt's annotations,
/// stay), so a re-render lists them as a fresh render does; one this run no longer generates (mTLS turned
/// off, a service removed) goes; an unmanaged one of the same identity is a conflict. New objects get kpt
/// path annotations when the input has them, so `kpt fn eval` writes them under `spinnaker-krm/`. A managed
/// object that may be another install's ([`Owners`]) and that this run does not generate stays where it is;
/// a Bundle of the same name that distributes the CA to another install's namespace is a conflict. Returns how
/// many objects were added or updated.
fn add_generated(
    items: &mut Vec<Node>,
    objects: Vec<Node>,
    owners: &Owners,
    ctx: &Context,
    findings: &mut Vec<Finding>,
) -> usize {
    let with_paths = items.iter().any(|i| {
        i.path(&["metadata", "annotations"]).and_then(Node::as_mapping).is_some_and(|a| {
            a.contains_key("config.kubernetes.io/path") || a.contains_key("internal.config.kubernetes.io/path")
        })
    });
    type Owned = (String, String, String, Option<String>);
    let owned = |item: &Node| -> Owned {
        let id = Identity::of(item);
        (id.api_version.to_owned(), id.kind.to_owned(), id.name.to_owned(), id.namespace.map(str::to_owned))
    };
    // Read only when another install's namespace holds a managed object (never in a render of one install).
    let generates: std::cell::OnceCell<HashSet<Owned>> = std::cell::OnceCell::new();
    let ours = |item: &Node| {
        certs::is_managed(item)
            && (!owners.may_be_anothers(item)
                || generates.get_or_init(|| objects.iter().map(owned).collect()).contains(&owned(item)))
    };
    // One pass over the items: this install's earlier objects, and the identities of the user's objects of a
    // kind this run generates (only those can collide with a generated object).
    let kinds: HashSet<&str> = objects.iter().filter_map(|o| o.path_str(&["kind"])).collect();
    let mut theirs: HashSet<Owned> = HashSet::new();
    let mine: Vec<bool> = items.iter().map(ours).collect();
    for (item, _) in items.iter().zip(&mine).filter(|(_, mine)| !**mine) {
        if item.path_str(&["kind"]).is_some_and(|kind| kinds.contains(kind)) {
            theirs.insert(owned(item));
        }
    }
    let mut earlier: HashMap<Owned, Node> = HashMap::new();
    if mine.contains(&true) {
        let (managed, rest): (Vec<_>, Vec<_>) = std::mem::take(items).into_iter().zip(mine).partition(|(_, m)| *m);
        *items = rest.into_iter().map(|(item, _)| item).collect();
        for (item, _) in managed {
            earlier.entry(owned(&item)).or_insert(item);
        }
    }
    let mut added: HashSet<Owned> = HashSet::with_capacity(objects.len());
    let mut count = 0;
    for object in objects {
        let id = owned(&object);
        if !added.insert(id.clone()) {
            continue;
        }
        count += 1;
        let existing = earlier.remove(&id);
        let clash = existing.as_ref().filter(|_| id.1 == "Bundle").and_then(|e| owners.bundle_target(e));
        if let Some(namespace) = clash.map(str::to_owned) {
            findings.push(Finding {
                resource: ResourceRef::of(&object),
                field: "spec.target.namespaceSelector".to_owned(),
                message: format!(
                    "distributes the CA to namespace {namespace}, another install's in this render, and a Bundle \
                     targets one namespace; give this install ({} {}) its own {}, the ConfigMap its \
                     pods mount (with your own CA in trust-manager mode, rename that ConfigMap in the trust namespace \
                     too), or delete this Bundle if it is left over from a renamed install or from this install's \
                     old namespace",
                    ctx.config.form.name("spec.namespace"),
                    ctx.config.spec.namespace,
                    ctx.config.form.head("spec.truststore.caBundle.configMap"),
                ),
            });
        } else if let Some(mut existing) = existing {
            if let (Some(mapping), Some(spec)) = (existing.as_mapping_mut(), object.path(&["spec"])) {
                mapping.insert("spec", spec.clone());
            }
            items.push(existing);
        } else if theirs.contains(&id) {
            findings.push(Finding {
                resource: ResourceRef::of(&object),
                field: "metadata.labels".to_owned(),
                message: format!(
                    "exists without the label {MANAGED_BY_LABEL}: {MANAGED_BY}, and spinnaker-krm generates an object of \
                     the same name; rename or delete yours, or add the label to let spinnaker-krm manage it"
                ),
            });
        } else {
            let mut object = object;
            if with_paths {
                let path = certs::generated_path(&object);
                if let Some(meta) = object.as_mapping_mut().and_then(|o| o.mapping_entry("metadata")) {
                    if let Some(annotations) = meta.mapping_entry("annotations") {
                        annotations.insert_str("config.kubernetes.io/path", &path);
                        annotations.insert_str("internal.config.kubernetes.io/path", &path);
                    }
                }
            }
            items.push(object);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::{found_elsewhere, Owners};
    use crate::yaml::{parse_stream, Limits};

    #[test]
    fn what_is_elsewhere_is_named_in_the_singular_or_plural_it_is() {
        assert_eq!(found_elsewhere(0, true), "Spinnaker workloads are");
        assert_eq!(found_elsewhere(1, false), "the SpinnakerService is");
        assert_eq!(found_elsewhere(2, false), "SpinnakerServices are");
        assert_eq!(found_elsewhere(1, true), "a SpinnakerService and Spinnaker workloads are");
        assert_eq!(found_elsewhere(3, true), "SpinnakerServices and Spinnaker workloads are");
    }

    #[test]
    fn with_another_install_only_this_installs_workload_certificates_are_surely_its_own() {
        let object = |namespace: &str, spec: &str| {
            let metadata = if namespace.is_empty() { String::new() } else { format!("  namespace: {namespace}\n") };
            let text = format!("kind: Certificate\nmetadata:\n  name: x\n{metadata}spec: {spec}\n");
            parse_stream(&text, Limits::default()).unwrap().remove(0)
        };
        let others = ["prod".to_owned()];
        let with = Owners { others: &others, namespace: "spinnaker" };
        let alone = Owners { others: &[], namespace: "spinnaker" };
        for (namespace, spec, anothers) in [
            ("spinnaker", "{secretName: gate-mtls}", false),
            // Another install's CA, when this namespace is the cluster's trust namespace.
            ("spinnaker", "{isCA: true}", true),
            ("prod", "{secretName: gate-mtls}", true),
            ("cert-manager", "{isCA: true}", true),
            // Another trust namespace (after a change of trustNamespace): may be the other install's.
            ("trust-old", "{isCA: true}", true),
            ("", "{}", true),
        ] {
            let item = object(namespace, spec);
            assert_eq!(with.may_be_anothers(&item), anothers, "{namespace} {spec}");
            assert!(!alone.may_be_anothers(&item), "alone, every earlier generated object is this install's");
        }
    }
}
