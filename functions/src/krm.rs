//! The KRM wire format: reading a `ResourceList` (or a plain multi-document stream) into lossless nodes,
//! and writing one back in the block style kpt and kustomize expect, with `results` as data.
//!
//! Every item passes through as a node tree, so annotations we do not know (kpt's path/index/id,
//! kustomize's previousKinds and id) survive untouched.

use crate::yaml::{self, Limits, Mapping, Node, ParseError};
use std::fmt;

/// The largest input accepted. A Spinnaker install is well under 1 MiB; kpt's own tests move 54 MB.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

const RESOURCE_LIST_VERSIONS: &[&str] =
    &["config.kubernetes.io/v1", "config.kubernetes.io/v1beta1", "config.kubernetes.io/v1alpha1"];

/// Input that is not a stream of Kubernetes objects we can work on.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{origin} is not UTF-8 (invalid byte at offset {offset}); Kubernetes manifests are UTF-8 text")]
    NotUtf8 { origin: String, offset: usize },
    #[error("{origin} is larger than the {} MiB input limit; split the package or render fewer resources at once", limit / (1024 * 1024))]
    TooLarge { origin: String, limit: usize },
    #[error("{origin} is empty: expected {expected}")]
    Empty { origin: String, expected: &'static str },
    #[error("{origin} is not valid YAML: {source}")]
    Yaml {
        origin: String,
        #[source]
        source: ParseError,
    },
    #[error("{origin} holds {count} YAML documents; a ResourceList is exactly one")]
    NotOneDocument { origin: String, count: usize },
    #[error("{origin} is not a ResourceList: {problem}; kpt and kustomize send `apiVersion: config.kubernetes.io/v1`, `kind: ResourceList`, `items: [...]`")]
    NotAResourceList { origin: String, problem: String },
    #[error(
        "{origin}: {at} is not a Kubernetes object: {problem}; every item needs a string apiVersion and kind, and metadata, when present, must be a mapping"
    )]
    NotAnObject { origin: String, at: String, problem: String },
}

/// How severe a result is (KRM functions spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The object a result is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

impl ResourceRef {
    /// The identity of an item (empty strings where it has none).
    pub fn of(item: &Node) -> Self {
        let s = |keys: &[&str]| item.path_str(keys).unwrap_or_default().to_owned();
        ResourceRef {
            api_version: s(&["apiVersion"]),
            kind: s(&["kind"]),
            name: s(&["metadata", "name"]),
            namespace: item.path_str(&["metadata", "namespace"]).map(str::to_owned),
        }
    }
}

/// `Kind/namespace/name`, the way people name objects in messages.
impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// One entry of `results`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrmResult {
    pub message: String,
    pub severity: Severity,
    pub resource: Option<ResourceRef>,
    pub field: Option<String>,
    pub file: Option<String>,
}

impl KrmResult {
    pub fn error(message: impl Into<String>) -> Self {
        KrmResult { message: message.into(), severity: Severity::Error, resource: None, field: None, file: None }
    }

    fn to_node(&self) -> Node {
        let mut m = Mapping::new();
        m.insert_str("message", &self.message);
        m.insert_str("severity", self.severity.as_str());
        if let Some(r) = self.resource.as_ref().filter(|r| !r.kind.is_empty()) {
            let mut rr = Mapping::new();
            rr.insert_str("apiVersion", &r.api_version);
            rr.insert_str("kind", &r.kind);
            rr.insert_str("name", &r.name);
            if let Some(ns) = &r.namespace {
                rr.insert_str("namespace", ns);
            }
            m.insert("resourceRef", rr.into());
        }
        if let Some(path) = &self.field {
            m.insert("field", [("path", Node::string(path))].into_iter().collect::<Mapping>().into());
        }
        if let Some(path) = &self.file {
            m.insert("file", [("path", Node::string(path))].into_iter().collect::<Mapping>().into());
        }
        m.into()
    }
}

/// A parsed `ResourceList`.
#[derive(Clone, Debug)]
pub struct ResourceList {
    pub api_version: String,
    pub items: Vec<Node>,
    pub function_config: Option<Node>,
    pub results: Vec<KrmResult>,
}

impl ResourceList {
    /// A `config.kubernetes.io/v1` list with nothing in it (for results when the input was unreadable).
    pub fn empty() -> Self {
        ResourceList {
            api_version: RESOURCE_LIST_VERSIONS[0].to_owned(),
            items: Vec::new(),
            function_config: None,
            results: Vec::new(),
        }
    }

    /// Reads a ResourceList as kpt or kustomize sends it on stdin.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Self, InputError> {
        let mut docs = parse_documents(bytes, origin, "a ResourceList")?;
        if docs.len() != 1 {
            return Err(InputError::NotOneDocument { origin: origin.to_owned(), count: docs.len() });
        }
        let not_rl =
            |problem: &str| InputError::NotAResourceList { origin: origin.to_owned(), problem: problem.to_owned() };
        let Node::Mapping(mut root) = docs.remove(0).into_owned() else {
            return Err(not_rl("the document is not a mapping"));
        };
        match root.get_str("kind") {
            Some("ResourceList") => {}
            Some(kind) => return Err(not_rl(&format!("kind is {kind:?}"))),
            None => return Err(not_rl("it has no kind")),
        }
        let api_version = root.get_str("apiVersion").unwrap_or_default().to_owned();
        if !RESOURCE_LIST_VERSIONS.contains(&api_version.as_str()) {
            return Err(not_rl(&format!(
                "apiVersion {api_version:?} is not one of {}",
                RESOURCE_LIST_VERSIONS.join(", ")
            )));
        }
        let items = match root.remove("items").map(Node::into_owned) {
            None => Vec::new(),
            Some(node) if node.is_null() => Vec::new(),
            Some(Node::Sequence(seq)) => seq.into_vec(),
            Some(_) => return Err(not_rl("items is not a list")),
        };
        for (i, item) in items.iter().enumerate() {
            check_object(item, origin, &format!("items[{i}]"), true)?;
        }
        let function_config = root.remove("functionConfig").filter(|n| !n.is_null());
        Ok(ResourceList { api_version, items, function_config, results: Vec::new() })
    }

    /// The block-style ResourceList for stdout.
    pub fn to_yaml(&self) -> String {
        let mut out = Vec::new();
        self.write_yaml(&mut out).expect("writing to memory cannot fail");
        String::from_utf8(out).expect("the emitter writes only UTF-8 text")
    }

    /// Writes [`ResourceList::to_yaml`] to `sink` item by item: the items are written in place, never
    /// copied into a new tree, and their text is never held whole.
    pub fn write_yaml(&self, sink: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut head = Mapping::new();
        head.insert_str("apiVersion", &self.api_version);
        head.insert_str("kind", "ResourceList");
        sink.write_all(yaml::to_string(&Node::Mapping(head)).as_bytes())?;
        yaml::emit::write_entry_items(sink, "items", &self.items)?;
        if !self.results.is_empty() {
            let results: Vec<Node> = self.results.iter().map(KrmResult::to_node).collect();
            yaml::emit::write_entry_items(sink, "results", &results)?;
        }
        Ok(())
    }
}

/// Reads a plain multi-document stream of Kubernetes objects (files in a directory, `kustomize build`
/// output). Empty documents are skipped; a `List` or `ResourceList` document contributes its items.
pub fn parse_manifests(bytes: &[u8], origin: &str) -> Result<Vec<Node>, InputError> {
    parse_manifests_within(bytes, origin, Limits::default())
}

/// [`parse_manifests`] under other limits (what is left of a budget shared by several files).
pub fn parse_manifests_within(bytes: &[u8], origin: &str, limits: Limits) -> Result<Vec<Node>, InputError> {
    let mut objects = Vec::new();
    for (d, doc) in parse_documents_allow_empty(bytes, origin, limits)?.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let at = format!("document {}", d + 1);
        let kind = doc.path_str(&["kind"]);
        // Only the two wrappers Kubernetes tools emit: `v1 List` (kubectl) and a ResourceList. A custom
        // resource whose kind ends in `List` (an `AllowList` with `items`) is an object like any other.
        let api_version = doc.path_str(&["apiVersion"]);
        let wraps_items = matches!(
            (api_version, kind),
            (Some("v1"), Some("List"))
                | (
                    Some("config.kubernetes.io/v1" | "config.kubernetes.io/v1beta1" | "config.kubernetes.io/v1alpha1"),
                    Some("ResourceList")
                )
        );
        match (wraps_items, doc.into_owned()) {
            (true, Node::Mapping(mut m)) if m.get_sequence("items").is_some() => {
                let Some(Node::Sequence(items)) = m.remove("items").map(Node::into_owned) else {
                    unreachable!("checked above")
                };
                for (i, item) in items.iter().enumerate() {
                    check_object(item, origin, &format!("{at} items[{i}]"), false)?;
                }
                objects.extend(items.into_vec());
            }
            (_, doc) => {
                check_object(&doc, origin, &at, false)?;
                objects.push(doc);
            }
        }
    }
    Ok(objects)
}

/// Objects as a multi-document YAML stream (`---` between documents).
pub fn manifests_to_yaml(items: &[Node]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        yaml::write_document(&mut out, item);
    }
    out
}

fn parse_documents(bytes: &[u8], origin: &str, expected: &'static str) -> Result<Vec<Node>, InputError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::Empty { origin: origin.to_owned(), expected });
    }
    parse_documents_allow_empty(bytes, origin, Limits::default())
}

fn parse_documents_allow_empty(bytes: &[u8], origin: &str, limits: Limits) -> Result<Vec<Node>, InputError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge { origin: origin.to_owned(), limit: MAX_INPUT_BYTES });
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| InputError::NotUtf8 { origin: origin.to_owned(), offset: e.valid_up_to() })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    yaml::parse_stream(text, limits).map_err(|source| InputError::Yaml { origin: origin.to_owned(), source })
}

/// The names kustomize accepts for a kustomization file.
pub const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The file kpt read an item from (`config.kubernetes.io/path`, or the internal annotation kpt also sets).
fn source_path(m: &Mapping) -> Option<&str> {
    let annotations = m.get_mapping("metadata")?.get_mapping("annotations")?;
    annotations
        .get_str("config.kubernetes.io/path")
        .or_else(|| annotations.get_str("internal.config.kubernetes.io/path"))
}

/// An item must be an object with `apiVersion` and `kind`. `metadata`, when present, must be a mapping;
/// it may be absent, because kpt sends a package's Kustomization files, which have none, and they must
/// pass through. For the same reason a kustomization file kpt sent (`kustomization_items`: a ResourceList's
/// items) may also leave out `apiVersion` and `kind`, as kustomize allows. A problem names the file kpt read
/// the item from.
fn check_object(item: &Node, origin: &str, at: &str, kustomization_items: bool) -> Result<(), InputError> {
    // Only read on a problem: this runs for every item of every stream.
    let file = || item.as_mapping().and_then(source_path);
    let problem = |p: &str| InputError::NotAnObject {
        origin: origin.to_owned(),
        at: file().map_or_else(|| at.to_owned(), |file| format!("{at} ({file})")),
        problem: p.to_owned(),
    };
    let Some(m) = item.as_mapping() else {
        return Err(problem("it is not a mapping"));
    };
    // Only kustomize's own apiVersion and kind may be left out, and only in a file kpt sent by its name.
    let kustomize_or_none = |field: &str, ours: fn(&str) -> bool| {
        m.get(field).is_none_or(|v| v.as_scalar().is_some_and(|s| ours(s.value())))
    };
    let partial = m.get("apiVersion").is_none() || m.get("kind").is_none();
    if kustomization_items
        && partial
        && kustomize_or_none("apiVersion", |v| v.starts_with("kustomize.config.k8s.io/"))
        && kustomize_or_none("kind", |v| matches!(v, "Kustomization" | "Component"))
    {
        let name = file().map(|f| f.rsplit('/').next().unwrap_or(f));
        if name.is_some_and(|name| KUSTOMIZATION_FILES.contains(&name)) {
            return Ok(());
        }
    }
    for field in ["apiVersion", "kind"] {
        if m.get_str(field).is_none_or(str::is_empty) {
            return Err(problem(&format!("{field} is missing or not a string")));
        }
    }
    match m.get("metadata") {
        Some(metadata) if metadata.as_mapping().is_none() => Err(problem("metadata is not a mapping")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RL: &str = "\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cm1
    annotations:
      existing: \"yes\"
      config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/id: '1'
  data:
    b: \"2\"
    a: \"1\"
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: function-input
  data: {}
";

    #[test]
    fn reads_and_writes_a_resource_list_without_losing_anything() {
        let rl = ResourceList::parse(RL.as_bytes(), "stdin").unwrap();
        assert_eq!(rl.items.len(), 1);
        assert!(rl.function_config.is_some());
        let out = rl.to_yaml();
        let expected = RL.split("functionConfig:").next().unwrap();
        assert_eq!(out, expected);
    }

    #[test]
    fn kustomization_files_that_kpt_sends_pass_through() {
        let text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: kustomize.config.k8s.io/v1beta1\n  kind: Kustomization\n  resources:\n  - deployment.yml\n";
        let rl = ResourceList::parse(text.as_bytes(), "stdin").unwrap();
        assert_eq!(rl.to_yaml(), text);
    }

    #[test]
    fn older_resource_list_versions_and_flow_style_are_accepted() {
        let text = "{apiVersion: config.kubernetes.io/v1beta1, kind: ResourceList, items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}]}";
        let rl = ResourceList::parse(text.as_bytes(), "stdin").unwrap();
        assert_eq!(rl.api_version, "config.kubernetes.io/v1beta1");
        assert_eq!(rl.items.len(), 1);
    }

    #[test]
    fn bad_input_is_named_precisely() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "stdin is empty"),
            (b"a: [", "not valid YAML"),
            (b"kind: Deployment\n", "kind is \"Deployment\""),
            (b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {}\n", "items is not a list"),
            (
                b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- kind: X\n",
                "items[0] is not a Kubernetes object: apiVersion",
            ),
            (
                b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: v1, kind: X, metadata: [a]}\n",
                "metadata is not a mapping",
            ),
            (b"a: \xff\n", "not UTF-8"),
        ];
        for (input, expected) in cases {
            let err = ResourceList::parse(input, "stdin").unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }

    #[test]
    fn a_custom_kind_ending_in_list_is_an_object_not_a_wrapper() {
        let text = "apiVersion: example.com/v1\nkind: AllowList\nmetadata: {name: a}\nitems:\n- {apiVersion: v1, kind: X, metadata: {name: b}}\n";
        let objects = parse_manifests(text.as_bytes(), "x.yaml").unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].path_str(&["kind"]), Some("AllowList"));
    }

    #[test]
    fn manifest_streams_skip_empty_documents_and_unwrap_lists() {
        let text = "---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n";
        let objects = parse_manifests(text.as_bytes(), "x.yaml").unwrap();
        let names: Vec<_> = objects.iter().map(|o| o.path_str(&["metadata", "name"]).unwrap()).collect();
        assert_eq!(names, ["a", "b"]);
    }
}
