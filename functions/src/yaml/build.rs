//! Short constructors for the node trees the transform writes (`map([("name", s("x"))])`), so generated
//! objects read like the YAML they become.

use super::node::{Mapping, Node, Sequence};

/// A new string node (styled by the quote guard).
pub fn s(value: &str) -> Node {
    Node::string(value)
}

/// A mapping from `(key, node)` pairs, in order.
pub fn map<'a>(entries: impl IntoIterator<Item = (&'a str, Node)>) -> Node {
    Node::Mapping(entries.into_iter().collect::<Mapping>())
}

/// A sequence of nodes, in order.
pub fn list(items: impl IntoIterator<Item = Node>) -> Node {
    Node::Sequence(items.into_iter().collect::<Sequence>())
}
