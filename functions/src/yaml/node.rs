//! The lossless node tree for manifests we do not own.
//!
//! A `Scalar` keeps what the author wrote: its style, its tag and, when it fitted on one line, its exact
//! source text. Emitting an untouched scalar writes that text back, so `"yes"`, `0755`, `1.10` and
//! `12345678901234567890` mean to Kubernetes (a YAML 1.1 reader) exactly what they meant before.
//! New strings are styled by the quote guard in [`super::scalar`], never by a YAML 1.2-only rule.

use super::scalar;
use std::sync::Arc;

/// How a scalar is (or will be) written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// A scalar: its decoded value plus everything needed to write it back unchanged. A manifest is mostly
/// scalars, so what few of them have (a tag, a double-quoted text) is boxed apart: a Scalar is 40 bytes.
#[derive(Clone, Debug)]
pub struct Scalar {
    value: Text,
    style: Style,
    /// The source text is the value written in the scalar's style ([`Source::FromValue`]).
    source_from_value: bool,
    /// Written in its style, the value is known to read back as itself in block context: the quote guard
    /// chose the style (plain, or a literal block), or it was read as one-line plain text in block context.
    /// The emitter checks the others.
    style_checked: bool,
    extra: Option<Box<Extra>>,
}

/// A scalar's text. Most of a manifest's keys and values are short (`name`, `image`, `containerPort`), so
/// text of up to 23 bytes is held inline, with no allocation of its own and nothing behind a pointer to read
/// when a key is compared; longer text is reference-counted, so copying a node built once into many
/// workloads (see [`Node::share`]) copies no text.
type Text = smol_str::SmolStr;

/// The rare parts of a scalar.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Extra {
    tag: Option<Box<str>>,
    /// [`Source::Text`].
    text: Option<Box<str>>,
}

/// What is known of a scalar's source text. Most scalars are one-line plain or single-quoted ones whose
/// text follows from the value and the style, so no second copy is kept for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// Not known (a new scalar, a block scalar, a quoted scalar over several lines).
    Unknown,
    /// The value written in the scalar's style: the text itself for plain, `'…'` for single-quoted.
    FromValue,
    /// The exact text (a one-line double-quoted scalar: escapes as the author wrote them).
    Text(Box<str>),
}

/// Two scalars are equal when a reader would see the same thing: same value, same tag, and the same
/// quoted-or-plain nature (`"1"` and `1` differ; `'a'` and `"a"` do not).
impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value() && self.tag() == other.tag() && self.is_plain() == other.is_plain()
    }
}

impl Scalar {
    /// A scalar as read from a document (used by the parser); `in_block` when it was read in block context
    /// (not inside `[…]` or `{…}`, where plain text may hold what block context reads differently).
    pub(crate) fn parsed(value: &str, style: Style, tag: Option<String>, source: Source, in_block: bool) -> Self {
        let (source_from_value, text) = match source {
            Source::Unknown => (false, None),
            Source::FromValue => (true, None),
            Source::Text(text) => (false, Some(text)),
        };
        let style_checked = in_block && source_from_value && style == Style::Plain;
        let extra =
            (tag.is_some() || text.is_some()).then(|| Box::new(Extra { tag: tag.map(String::into_boxed_str), text }));
        Scalar { value: Text::new(value), style, source_from_value, style_checked, extra }
    }

    /// A new scalar styled by the quote guard (or a number or bool): its style is checked.
    fn new(value: Text, style: Style) -> Self {
        Scalar { value, style, source_from_value: false, style_checked: true, extra: None }
    }

    /// A new string. It is written plain only when no YAML 1.1 or 1.2 reader could take it for anything
    /// but this string; otherwise it is double-quoted (or a literal block when it spans lines).
    pub fn string(value: impl AsRef<str>) -> Self {
        let value = value.as_ref();
        Scalar::new(Text::new(value), scalar::style_for_string(value))
    }

    /// A new plain integer.
    pub fn int(value: i64) -> Self {
        Scalar::new(smol_str::ToSmolStr::to_smolstr(&value), Style::Plain)
    }

    /// A new plain boolean (`true` / `false`, the spelling every reader agrees on).
    pub fn bool(value: bool) -> Self {
        Scalar::new(Text::new_static(if value { "true" } else { "false" }), Style::Plain)
    }

    /// A new plain `null` (what a strategic-merge patch reads as "delete this field").
    pub fn null() -> Self {
        Scalar::new(Text::new_static("null"), Style::Plain)
    }

    /// The decoded value (for a plain scalar, its text).
    pub fn value(&self) -> &str {
        self.value.as_str()
    }

    pub fn style(&self) -> Style {
        self.style
    }

    pub fn tag(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.tag.as_deref())
    }

    /// The exact text this scalar had in its source, when it is known (single-line scalars).
    pub fn source(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        if self.source_from_value {
            return Some(match self.style {
                Style::SingleQuoted => Cow::Owned(scalar::single_quoted(self.value())),
                _ => Cow::Borrowed(self.value()),
            });
        }
        self.extra.as_ref().and_then(|e| e.text.as_deref()).map(Cow::Borrowed)
    }

    /// True when the source text is known (cheaper than [`Scalar::source`]).
    pub fn has_source(&self) -> bool {
        self.source_from_value || self.extra.as_ref().is_some_and(|e| e.text.is_some())
    }

    pub fn is_plain(&self) -> bool {
        self.style == Style::Plain
    }

    /// True for a plain scalar known to read back as itself when written plain in block context (see
    /// the field); false means "not known", not "broken".
    pub(crate) fn is_checked_plain(&self) -> bool {
        self.style_checked && self.style == Style::Plain
    }

    /// True for a scalar the quote guard made a literal block: the block holds its value.
    pub(crate) fn is_checked_literal(&self) -> bool {
        self.style_checked && self.style == Style::Literal
    }

    /// True for a plain, untagged null (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        self.is_plain() && self.tag().is_none() && scalar::is_null_word(self.value())
    }

    /// The value when [`Node::to_json`] makes this scalar a JSON string (tagged scalars keep their text).
    pub fn json_string(&self) -> Option<&str> {
        match (self.tag(), self.style) {
            (None, Style::Plain) => scalar::plain_is_string(self.value()).then_some(self.value()),
            _ => Some(self.value()),
        }
    }

    /// The value when a YAML 1.1 reader would read this scalar as a string.
    pub fn as_str(&self) -> Option<&str> {
        match (self.tag(), self.style) {
            (Some(tag), _) => (tag == "!!str").then_some(self.value()),
            (None, Style::Plain) => scalar::plain_is_string(self.value()).then_some(self.value()),
            (None, _) => Some(self.value()),
        }
    }
}

/// A mapping in source order. Keys are scalars; their text is kept like any other scalar's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapping {
    entries: Vec<(Scalar, Node)>,
    tag: CollectionTag,
}

/// The tag of a mapping or sequence, behind a thin pointer: few collections have one, and every node of a
/// tree is as large as its largest kind (a collection is 32 bytes with it, 40 with a `Box<str>`).
type CollectionTag = Option<Box<String>>;

/// A sequence in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sequence {
    items: Vec<Node>,
    tag: CollectionTag,
}

/// One node of a document.
#[derive(Clone, Debug)]
pub enum Node {
    Scalar(Scalar),
    Mapping(Mapping),
    Sequence(Sequence),
    /// A subtree that many places hold at once (what the transform puts into every workload of a service):
    /// read through like the node it holds (see [`Node::view`]), copied on the first change to it.
    /// Made by [`Node::share`].
    Shared(Arc<Node>),
}

/// What a node holds, shared or not: what to match on to read a node.
#[derive(Clone, Copy, Debug)]
pub enum View<'a> {
    Scalar(&'a Scalar),
    Mapping(&'a Mapping),
    Sequence(&'a Sequence),
}

/// Nodes are equal when they hold equal content, shared or not.
impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        match (self.view(), other.view()) {
            (View::Scalar(a), View::Scalar(b)) => a == b,
            (View::Mapping(a), View::Mapping(b)) => a == b,
            (View::Sequence(a), View::Sequence(b)) => a == b,
            _ => false,
        }
    }
}

impl Mapping {
    pub fn new() -> Self {
        Mapping::default()
    }

    pub(crate) fn with_capacity_and_tag(capacity: usize, tag: Option<String>) -> Self {
        Mapping { entries: Vec::with_capacity(capacity), tag: tag.map(Box::new) }
    }

    pub(crate) fn push_unchecked(&mut self, key: Scalar, value: Node) {
        self.entries.push((key, value));
    }

    /// A complete mapping from its entries (the parser gathers them on a stack of its own and hands them
    /// over in a `Vec` of their exact size).
    pub(crate) fn from_entries(entries: Vec<(Scalar, Node)>, tag: Option<String>) -> Self {
        Mapping { entries, tag: tag.map(Box::new) }
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Scalar, &Node)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Scalar, &mut Node)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k.value() == key)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.position(key).map(move |i| &mut self.entries[i].1)
    }

    /// The string value at `key`, when there is one.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }

    pub fn get_mapping(&self, key: &str) -> Option<&Mapping> {
        self.get(key).and_then(Node::as_mapping)
    }

    pub fn get_sequence(&self, key: &str) -> Option<&Sequence> {
        self.get(key).and_then(Node::as_sequence)
    }

    /// Sets `key` to `value`, keeping the key's position when it exists and appending otherwise.
    /// A value equal to the present one (see [`Scalar`]'s equality) leaves the node untouched, so its
    /// source text survives and the transform stays idempotent.
    pub fn insert(&mut self, key: &str, value: Node) {
        match self.position(key) {
            Some(i) => {
                if self.entries[i].1 != value {
                    self.entries[i].1 = value;
                }
            }
            None => self.entries.push((Scalar::string(key), value)),
        }
    }

    /// Sets `key` to the string `value` (see [`Mapping::insert`]).
    pub fn insert_str(&mut self, key: &str, value: &str) {
        self.insert(key, Node::Scalar(Scalar::string(value)));
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        self.position(key).map(|i| self.entries.remove(i).1)
    }

    /// Inserts `key: value` at `index` (clamped), or sets it in place when the key exists.
    pub fn insert_at(&mut self, index: usize, key: &str, value: Node) {
        if self.contains_key(key) {
            self.insert(key, value);
        } else {
            self.entries.insert(index.min(self.entries.len()), (Scalar::string(key), value));
        }
    }

    /// Replaces the entry `old_key` by `new_key: value` at the same position (appends when absent).
    pub fn replace_entry(&mut self, old_key: &str, new_key: &str, value: Node) {
        match self.position(old_key) {
            Some(i) => self.entries[i] = (Scalar::string(new_key), value),
            None => self.insert(new_key, value),
        }
    }

    /// The node at `key`, set to `empty` when absent (appended) or null.
    fn entry_or(&mut self, key: &str, empty: fn() -> Node) -> &mut Node {
        let i = match self.position(key) {
            Some(i) => i,
            None => {
                self.entries.push((Scalar::string(key), empty()));
                self.entries.len() - 1
            }
        };
        let slot = &mut self.entries[i].1;
        if slot.is_null() {
            *slot = empty();
        }
        slot
    }

    /// The mapping at `key`, created empty (at the end) when absent or null; `None` when it holds
    /// something else.
    pub fn mapping_entry(&mut self, key: &str) -> Option<&mut Mapping> {
        self.entry_or(key, || Node::Mapping(Mapping::new())).as_mapping_mut()
    }

    /// The sequence at `key`, created empty when absent or null; `None` when it holds something else.
    pub fn sequence_entry(&mut self, key: &str) -> Option<&mut Sequence> {
        self.entry_or(key, || Node::Sequence(Sequence::new())).as_sequence_mut()
    }
}

impl Sequence {
    pub fn new() -> Self {
        Sequence::default()
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Node> {
        self.items.iter()
    }

    /// The items, moved out.
    pub fn into_vec(self) -> Vec<Node> {
        self.items
    }

    /// Gives back spare capacity (the parser calls it when a sequence is complete).
    /// A complete sequence from its items (see [`Mapping::from_entries`]).
    pub(crate) fn from_items(items: Vec<Node>, tag: Option<String>) -> Self {
        Sequence { items, tag: tag.map(Box::new) }
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Node> {
        self.items.iter_mut()
    }

    pub fn get(&self, index: usize) -> Option<&Node> {
        self.items.get(index)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut Node> {
        self.items.get_mut(index)
    }

    pub fn retain(&mut self, keep: impl FnMut(&Node) -> bool) {
        self.items.retain(keep);
    }

    /// The index of the first mapping item whose `field` is the string `value`.
    pub fn position_by(&self, field: &str, value: &str) -> Option<usize> {
        self.items.iter().position(|n| n.as_mapping().and_then(|m| m.get_str(field)) == Some(value))
    }

    /// Puts each of `items`, in order, in place of the mapping item whose `field` equals the item's own
    /// `field`, or appends it. An equal item is left untouched (its source text survives). The result is
    /// that of upserting the items one at a time; every present item's `field` is read once.
    pub fn upsert_all_by(&mut self, field: &str, items: Vec<Node>) {
        fn key_of<'n>(node: &'n Node, field: &str) -> Option<&'n str> {
            node.as_mapping().and_then(|m| m.get_str(field))
        }
        let places: Vec<Option<usize>> = {
            let mut keys: Vec<Option<&str>> = Vec::with_capacity(self.items.len() + items.len());
            keys.extend(self.items.iter().map(|n| key_of(n, field)));
            items
                .iter()
                .map(|item| {
                    let key = key_of(item, field);
                    let at = key.and_then(|k| keys.iter().position(|present| *present == Some(k)));
                    if at.is_none() {
                        keys.push(key);
                    }
                    at
                })
                .collect()
        };
        self.items.reserve(places.iter().filter(|at| at.is_none()).count());
        for (item, at) in items.into_iter().zip(places) {
            match at {
                Some(i) if self.items[i] == item => {}
                Some(i) => self.items[i] = item,
                None => self.items.push(item),
            }
        }
    }

    pub fn push(&mut self, node: Node) {
        self.items.push(node);
    }

    pub fn insert(&mut self, index: usize, node: Node) {
        self.items.insert(index, node);
    }

    pub fn remove(&mut self, index: usize) -> Node {
        self.items.remove(index)
    }

    /// The mapping items of this sequence whose `field` is the string `value`
    /// (a container by `name`, a volume mount by `mountPath`).
    pub fn find_by(&self, field: &str, value: &str) -> Option<&Mapping> {
        self.items.iter().filter_map(Node::as_mapping).find(|m| m.get_str(field) == Some(value))
    }

    pub fn find_by_mut(&mut self, field: &str, value: &str) -> Option<&mut Mapping> {
        self.items.iter_mut().filter_map(Node::as_mapping_mut).find(|m| m.get_str(field) == Some(value))
    }
}

impl Node {
    /// A new string node (see [`Scalar::string`]).
    pub fn string(value: impl AsRef<str>) -> Self {
        Node::Scalar(Scalar::string(value))
    }

    pub fn int(value: i64) -> Self {
        Node::Scalar(Scalar::int(value))
    }

    pub fn bool(value: bool) -> Self {
        Node::Scalar(Scalar::bool(value))
    }

    pub fn null() -> Self {
        Node::Scalar(Scalar::null())
    }

    /// What the node holds (through any [`Node::Shared`]).
    pub fn view(&self) -> View<'_> {
        match self {
            Node::Scalar(s) => View::Scalar(s),
            Node::Mapping(m) => View::Mapping(m),
            Node::Sequence(s) => View::Sequence(s),
            Node::Shared(held) => held.view(),
        }
    }

    /// The node itself, not shared (a copy of what a [`Node::Shared`] holds when something else holds it
    /// too): for taking a parsed node apart, which may be shared when it had an anchor.
    pub fn into_owned(self) -> Node {
        match self {
            Node::Shared(held) => Arc::try_unwrap(held).unwrap_or_else(|held| (*held).clone()).into_owned(),
            node => node,
        }
    }

    /// The node, unshared first when it is shared (a copy when something else holds it too).
    fn resolved_mut(&mut self) -> &mut Node {
        match self {
            Node::Shared(held) => Arc::make_mut(held).resolved_mut(),
            node => node,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self.view() {
            View::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&Mapping> {
        match self.view() {
            View::Mapping(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_mapping_mut(&mut self) -> Option<&mut Mapping> {
        match self.resolved_mut() {
            Node::Mapping(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&Sequence> {
        match self.view() {
            View::Sequence(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_sequence_mut(&mut self) -> Option<&mut Sequence> {
        match self.resolved_mut() {
            Node::Sequence(s) => Some(s),
            _ => None,
        }
    }

    /// The string value of a scalar node, when a YAML 1.1 reader would read it as a string.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().and_then(Scalar::as_str)
    }

    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(Scalar::is_null)
    }

    /// The node at a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.as_mapping()?.get(key))
    }

    pub fn path_mut(&mut self, keys: &[&str]) -> Option<&mut Node> {
        keys.iter().try_fold(self, |node, key| node.as_mapping_mut()?.get_mut(key))
    }

    /// The string at a path of mapping keys.
    pub fn path_str(&self, keys: &[&str]) -> Option<&str> {
        self.path(keys).and_then(Node::as_str)
    }

    /// Makes this tree cheap to copy: for a node built once and copied into many workloads. Every mapping
    /// and sequence becomes [`Node::Shared`] (a copy is a reference count; changing a copy copies only the
    /// collections on the path to the change). A scalar's text needs nothing: long text is shared by its copies
    /// already, and short text is held inline.
    pub fn share(&mut self) {
        match self {
            Node::Scalar(_) | Node::Shared(_) => return,
            Node::Mapping(mapping) => mapping.entries.iter_mut().for_each(|(_, value)| value.share()),
            Node::Sequence(sequence) => sequence.items.iter_mut().for_each(Node::share),
        }
        let collection = std::mem::replace(self, Node::Sequence(Sequence::new()));
        *self = Node::Shared(Arc::new(collection));
    }
}

impl From<Mapping> for Node {
    fn from(m: Mapping) -> Self {
        Node::Mapping(m)
    }
}

impl From<Sequence> for Node {
    fn from(s: Sequence) -> Self {
        Node::Sequence(s)
    }
}

impl From<Scalar> for Node {
    fn from(s: Scalar) -> Self {
        Node::Scalar(s)
    }
}

impl FromIterator<Node> for Sequence {
    fn from_iter<I: IntoIterator<Item = Node>>(iter: I) -> Self {
        Sequence { items: iter.into_iter().collect(), tag: None }
    }
}

/// Builds a mapping from `(key, node)` pairs in the order given.
impl<'a> FromIterator<(&'a str, Node)> for Mapping {
    fn from_iter<I: IntoIterator<Item = (&'a str, Node)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        // Sized for the pairs given (`map([...])` knows them all), not grown in steps of 4 entries.
        let mut m = Mapping::with_capacity_and_tag(iter.size_hint().0, None);
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl Node {
    /// True when a YAML 1.1 reader takes this node for the boolean true (`true`, `yes`, `on`, …): what
    /// Halyard and the operator read from a flag such as `enabled`.
    pub fn is_true(&self) -> bool {
        self.to_json() == serde_json::Value::Bool(true)
    }

    /// What this node means to a YAML 1.1 reader, as JSON: the typed view for reading configuration
    /// (the functionConfig) with serde. Tagged scalars other than `!!str` keep their text as a string.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self.view() {
            View::Scalar(s) => match (s.tag(), s.style()) {
                (None, Style::Plain) => scalar::resolve_plain_yaml11(s.value()),
                _ => Value::String(s.value().to_owned()),
            },
            View::Mapping(m) => Value::Object(m.iter().map(|(k, v)| (k.value().to_owned(), v.to_json())).collect()),
            View::Sequence(s) => Value::Array(s.iter().map(Node::to_json).collect()),
        }
    }

    /// `self.to_json() == other.to_json()`, without building either (probes are compared this way for
    /// every workload).
    pub fn same_json(&self, other: &Node) -> bool {
        match (self.view(), other.view()) {
            (View::Scalar(a), View::Scalar(b)) => match (a.json_string(), b.json_string()) {
                (Some(a), Some(b)) => a == b,
                _ => self.to_json() == other.to_json(),
            },
            (View::Sequence(a), View::Sequence(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(a, b)| a.same_json(b))
            }
            (View::Mapping(a), View::Mapping(b)) => {
                // JSON keeps one entry of keys with the same text: such mappings are compared as JSON.
                let unique = |m: &Mapping| {
                    m.iter().enumerate().all(|(i, (k, _))| m.iter().take(i).all(|(j, _)| j.value() != k.value()))
                };
                if !unique(a) || !unique(b) {
                    return self.to_json() == other.to_json();
                }
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter().find(|(j, _)| j.value() == k.value()).is_some_and(|(_, w)| v.same_json(w))
                    })
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::build::{map, s};
    use super::super::parse::{parse_stream, Limits};
    use super::*;

    fn var(name: &str, value: &str) -> Node {
        map([("name", s(name)), ("value", s(value))])
    }

    #[test]
    fn a_scalar_holds_short_text_inline_and_stays_40_bytes() {
        assert_eq!(std::mem::size_of::<Scalar>(), 40);
        assert_eq!(std::mem::size_of::<Node>(), 40, "a node is as large as a scalar");
        let key = Scalar::string("containerPort");
        assert!(!key.value.is_heap_allocated(), "a short key has no allocation of its own");
        let long = Scalar::string("us-docker.pkg.dev/spinnaker-community/docker/clouddriver:5.87.0");
        let copy = long.clone();
        assert!(std::ptr::eq(long.value().as_ptr(), copy.value().as_ptr()), "a copy shares long text");
    }

    #[test]
    fn a_shared_tree_reads_like_its_content_and_a_change_to_a_copy_stays_in_that_copy() {
        let text = "name: init\nenv:\n- name: A\n  value: x\nresources:\n  limits:\n    memory: 1Gi\n";
        let plain = parse_stream(text, Limits::default()).unwrap().remove(0);
        let mut shared = plain.clone();
        shared.share();
        assert!(matches!(shared, Node::Shared(_)));
        assert_eq!(shared, plain);
        assert_eq!(super::super::to_string(&shared), text);
        let mut copy = shared.clone();
        copy.path_mut(&["env"]).and_then(Node::as_sequence_mut).unwrap().push(var("B", "y"));
        assert_eq!(shared, plain, "the original is unchanged");
        assert_eq!(copy.path(&["env"]).and_then(Node::as_sequence).map(Sequence::len), Some(2));
        // What the change did not touch is still held by both; what it touched was copied.
        let held = |node: &Node, key: &str| match node.as_mapping().and_then(|m| m.get(key)) {
            Some(Node::Shared(held)) => Arc::clone(held),
            other => panic!("{key} is not shared: {other:?}"),
        };
        assert!(Arc::ptr_eq(&held(&copy, "resources"), &held(&shared, "resources")));
        assert!(!Arc::ptr_eq(&held(&copy, "env"), &held(&shared, "env")));
    }

    #[test]
    fn upserting_all_at_once_is_upserting_one_at_a_time() {
        let text = "- {name: A, value: '1'}\n- {name: B, value: '2'}\n- {name: USER, value: x}\n- value: no-name\n";
        let present = || parse_stream(text, Limits::default()).unwrap().remove(0);
        let items = vec![var("B", "2"), var("A", "3"), var("C", "4"), var("C", "5"), var("A", "6")];
        let mut one_by_one = present();
        let list = one_by_one.as_sequence_mut().unwrap();
        for item in items.clone() {
            let key = item.path_str(&["name"]).unwrap().to_owned();
            match list.position_by("name", &key) {
                Some(i) if list.items[i] == item => {}
                Some(i) => list.items[i] = item,
                None => list.push(item),
            }
        }
        let mut at_once = present();
        at_once.as_sequence_mut().unwrap().upsert_all_by("name", items);
        assert_eq!(at_once, one_by_one);
        let names: Vec<_> = at_once.as_sequence().unwrap().iter().map(|n| n.path_str(&["name"])).collect();
        assert_eq!(names, [Some("A"), Some("B"), Some("USER"), None, Some("C")]);
        let a = at_once.as_sequence().unwrap().get(0).unwrap();
        assert_eq!(a.path_str(&["value"]), Some("6"));
        // The equal item was left as read: its single-quoted source text survives.
        let b = at_once.as_sequence().unwrap().get(1).unwrap().path(&["value"]).unwrap().as_scalar().unwrap();
        assert_eq!(b.source().as_deref(), Some("'2'"));
    }
}
