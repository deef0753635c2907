//! The order of a plain YAML stream (`render`, `generate`): the one `kustomize build` prints, so that a
//! `kubectl apply -f` of the output on a fresh cluster creates a Namespace before what lives in it, CRDs
//! before their objects, ConfigMaps and Secrets before the workloads that mount them.
//!
//! KRM mode keeps the input order: kpt and kustomize own the order of their ResourceLists.
//!
//! Decision: objects of the same rank keep their input order (a stable sort), where kustomize's legacy
//! order goes on to compare group/version/kind and names; the ranks are what `kubectl apply` needs, and the
//! input order within a rank is the author's.

use crate::yaml::Node;

/// kustomize's legacy order, from kubernetes-sigs/kustomize `kyaml/resid/gvk.go` (`orderFirst`,
/// `orderLast`) at tag kustomize/v4.5.4 (commit cf3a452ddd6f83945d39d582243b8592ec627ae3), the order
/// `kustomize build` and `kubectl kustomize` print by default. Kinds not listed go between the two.
const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

/// The rank of a kind: the `orderFirst` kinds first, in that order, then every other kind, then `orderLast`.
fn rank(kind: Option<&str>) -> usize {
    let kind = kind.unwrap_or_default();
    match (ORDER_FIRST.iter().position(|k| *k == kind), ORDER_LAST.iter().position(|k| *k == kind)) {
        (Some(i), _) => i,
        (None, Some(i)) => ORDER_FIRST.len() + 1 + i,
        (None, None) => ORDER_FIRST.len(),
    }
}

/// Sorts objects into kustomize's order by kind; objects of the same rank keep their order.
pub fn kustomize_order(items: &mut [Node]) {
    items.sort_by_cached_key(|item| rank(item.path_str(&["kind"])));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(items: &[Node]) -> Vec<String> {
        items
            .iter()
            .map(|i| format!("{}/{}", i.path_str(&["kind"]).unwrap(), i.path_str(&["metadata", "name"]).unwrap()))
            .collect()
    }

    #[test]
    fn namespaces_and_crds_come_first_webhooks_last_and_a_kind_keeps_its_input_order() {
        let text = [
            "ValidatingWebhookConfiguration/v",
            "Deployment/b",
            "Certificate/c1",
            "Deployment/a",
            "Service/s",
            "ClusterIssuer/i",
            "Certificate/c0",
            "ConfigMap/m",
            "CustomResourceDefinition/crd",
            "Namespace/spinnaker",
        ]
        .iter()
        .map(|id| {
            let (kind, name) = id.split_once('/').unwrap();
            format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n")
        })
        .collect::<Vec<_>>()
        .join("---\n");
        let mut items = crate::krm::parse_manifests(text.as_bytes(), "test").unwrap();
        kustomize_order(&mut items);
        assert_eq!(
            kinds(&items),
            [
                "Namespace/spinnaker",
                "CustomResourceDefinition/crd",
                "ConfigMap/m",
                "Service/s",
                "Deployment/b",
                "Deployment/a",
                "Certificate/c1",
                "ClusterIssuer/i",
                "Certificate/c0",
                "ValidatingWebhookConfiguration/v",
            ]
        );
    }
}
