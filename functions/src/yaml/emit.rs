//! Writes node trees as block-style YAML the way kpt and kubectl expect it: two-space indent, compact
//! sequences (`- ` at the parent key's indent), never flow style (kpt would write flow style into the
//! user's files). Scalars with known source text are written as they were read; everything else goes
//! through the quote guard.

use super::node::{Mapping, Node, Scalar, Sequence, Style, View};
use super::scalar;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Appends `node` as one YAML document (no `---`), ending with a newline. A tag on the root collection
/// goes on its own line before the content.
pub fn write_document(out: &mut String, node: &Node) {
    match node.view() {
        View::Mapping(m) if !m.is_empty() => {
            if let Some(tag) = m.tag() {
                out.push_str(tag);
                out.push('\n');
            }
            write_mapping(out, m, 0, false, &mut SharedTexts::default());
        }
        View::Sequence(s) if !s.is_empty() => {
            if let Some(tag) = s.tag() {
                out.push_str(tag);
                out.push('\n');
            }
            write_sequence(out, s, 0, false, &mut SharedTexts::default());
        }
        // An empty document would read back as no document at all.
        View::Scalar(s) if s.is_null() && !s.has_source() => out.push_str("~\n"),
        other => {
            write_inline_value(out, other, 2);
            out.push('\n');
        }
    }
}

/// Writes a top-level `key:` whose value is the sequence `items` (`key: []` when empty), as
/// [`write_document`] would write it inside a mapping, without building that mapping. The text goes to
/// `sink` in chunks of about [`CHUNK_BYTES`], so the text of a large list is never held whole.
pub fn write_entry_items(sink: &mut impl std::io::Write, key: &str, items: &[Node]) -> std::io::Result<()> {
    let mut chunk = String::with_capacity(CHUNK_BYTES * 2);
    let mut shared = SharedTexts::default();
    write_key(&mut chunk, &Scalar::string(key));
    chunk.push(':');
    if items.is_empty() {
        chunk.push_str(" []\n");
    } else {
        chunk.push('\n');
    }
    for item in items {
        chunk.push_str("- ");
        write_item(&mut chunk, item, 2, &mut shared);
        if chunk.len() >= CHUNK_BYTES {
            sink.write_all(chunk.as_bytes())?;
            chunk.clear();
        }
    }
    sink.write_all(chunk.as_bytes())
}

/// How much text [`write_entry_items`] gathers before it writes: few write calls, little memory.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The document as a string (see [`write_document`]).
pub fn to_string(node: &Node) -> String {
    let mut out = String::new();
    write_document(&mut out, node);
    out
}

/// Where a subtree is written: its text depends on that and on the indent.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Position {
    /// After `- `.
    Item,
    /// After `key:`.
    AfterKey,
}

/// The text of subtrees that many places of a tree hold ([`Node::Shared`]: the parts the transform puts
/// into every workload of a service), by subtree, indent and position: written once, then copied. Lives
/// for one write, while the tree cannot change.
#[derive(Default)]
struct SharedTexts(HashMap<(usize, (usize, Position)), String, BuildHasherDefault<AddressHasher>>);

/// The node `node` shares with other places of the tree, if it does.
fn held_by_many(node: &Node) -> Option<&Node> {
    match node {
        Node::Shared(held) if Arc::strong_count(held) > 1 => Some(held),
        _ => None,
    }
}

impl SharedTexts {
    /// Writes `held` at `place` with `write`, or copies what that wrote for it before.
    fn write(
        &mut self,
        out: &mut String,
        held: &Node,
        place: (usize, Position),
        write: impl FnOnce(&mut String, &mut SharedTexts),
    ) {
        let key = (std::ptr::from_ref(held) as usize, place);
        if let Some(text) = self.0.get(&key) {
            out.push_str(text);
            return;
        }
        let start = out.len();
        write(out, self);
        self.0.insert(key, out[start..].to_owned());
    }
}

/// FxHash for the [`SharedTexts`] key (an address and two small numbers): SipHash would cost about as
/// much as writing a small subtree.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn pad(out: &mut String, indent: usize) {
    // A slice of spaces at a time, not one char at a time: every line of the output starts here.
    const SPACES: &str = "                                                                ";
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

/// Entries of a non-empty mapping at `indent`. With `first_inline` the first key follows text already
/// on the line (a `- ` of a sequence item).
fn write_mapping(out: &mut String, m: &Mapping, indent: usize, first_inline: bool, shared: &mut SharedTexts) {
    for (i, (key, value)) in m.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        write_key(out, key);
        out.push(':');
        write_after_key(out, value, indent, shared);
    }
}

/// Items of a non-empty sequence, each `- ` at `indent`.
fn write_sequence(out: &mut String, s: &Sequence, indent: usize, first_inline: bool, shared: &mut SharedTexts) {
    for (i, item) in s.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        out.push_str("- ");
        write_item(out, item, indent + 2, shared);
    }
}

/// A value after `key:`.
fn write_after_key(out: &mut String, value: &Node, indent: usize, shared: &mut SharedTexts) {
    if let Some(held) = held_by_many(value) {
        return shared
            .write(out, held, (indent, Position::AfterKey), |out, shared| write_after_key(out, held, indent, shared));
    }
    match value.view() {
        View::Mapping(m) if !m.is_empty() => {
            if let Some(tag) = m.tag() {
                out.push(' ');
                out.push_str(tag);
            }
            out.push('\n');
            write_mapping(out, m, indent + 2, false, shared);
        }
        View::Sequence(s) if !s.is_empty() => {
            if let Some(tag) = s.tag() {
                out.push(' ');
                out.push_str(tag);
            }
            out.push('\n');
            write_sequence(out, s, indent, false, shared);
        }
        View::Scalar(s) if s.is_null() && !s.has_source() => out.push('\n'),
        other => {
            out.push(' ');
            write_inline_value(out, other, indent + 2);
            out.push('\n');
        }
    }
}

/// A sequence item after `- `; `indent` is where its content lines start.
fn write_item(out: &mut String, item: &Node, indent: usize, shared: &mut SharedTexts) {
    if let Some(held) = held_by_many(item) {
        return shared.write(out, held, (indent, Position::Item), |out, shared| write_item(out, held, indent, shared));
    }
    match item.view() {
        View::Mapping(m) if !m.is_empty() => match m.tag() {
            Some(tag) => {
                out.push_str(tag);
                out.push('\n');
                write_mapping(out, m, indent, false, shared);
            }
            None => write_mapping(out, m, indent, true, shared),
        },
        View::Sequence(s) if !s.is_empty() => match s.tag() {
            Some(tag) => {
                out.push_str(tag);
                out.push('\n');
                write_sequence(out, s, indent, false, shared);
            }
            None => write_sequence(out, s, indent, true, shared),
        },
        other => {
            write_inline_value(out, other, indent);
            out.push('\n');
        }
    }
}

/// A scalar or an empty collection on the current line. Block scalars continue on the next lines,
/// indented by `indent`, and leave the cursor at the end of their last line.
fn write_inline_value(out: &mut String, node: View<'_>, indent: usize) {
    match node {
        View::Scalar(s) => write_scalar(out, s, indent),
        View::Mapping(m) => {
            if let Some(tag) = m.tag() {
                out.push_str(tag);
                out.push(' ');
            }
            out.push_str("{}");
        }
        View::Sequence(s) => {
            if let Some(tag) = s.tag() {
                out.push_str(tag);
                out.push(' ');
            }
            out.push_str("[]");
        }
    }
}

/// A mapping key: always on one line, so a key that would need a block scalar is double-quoted.
fn write_key(out: &mut String, key: &Scalar) {
    if key.is_checked_plain() && key.tag().is_none() {
        // Nearly every key: one line, not empty, not a null word written as such.
        out.push_str(key.value());
        return;
    }
    let multi_line = key.value().contains('\n') || matches!(key.style(), Style::Literal | Style::Folded);
    if multi_line && !key.has_source() {
        if let Some(tag) = key.tag() {
            out.push_str(tag);
            out.push(' ');
        }
        out.push_str(&scalar::double_quoted(key.value()));
    } else if key.is_null() && !key.has_source() {
        out.push('~');
    } else {
        write_scalar(out, key, 0);
    }
}

fn write_scalar(out: &mut String, s: &Scalar, indent: usize) {
    if s.is_checked_plain() && s.tag().is_none() {
        // Most scalars: plain text that reads back as itself, written as it is (or was).
        out.push_str(s.value());
        return;
    }
    if let Some(tag) = s.tag() {
        out.push_str(tag);
        out.push(' ');
        if s.is_plain() && s.value().is_empty() && !s.has_source() {
            // A tagged empty scalar: `!!str ""`, never a bare tag that would run into what follows.
            out.push_str("\"\"");
            return;
        }
    }
    if let Some(source) = s.source() {
        // A plain scalar read in flow context (`{|: a}`) may not be valid plain text in block context.
        if s.is_plain() && !s.is_checked_plain() && scalar::breaks_plain_syntax(&source) {
            out.push_str(&scalar::double_quoted(s.value()));
        } else {
            out.push_str(&source);
        }
        return;
    }
    let value = s.value();
    match s.style() {
        // An empty plain scalar is a null: nothing is written (`- `); `write_key` and the document use `~`.
        Style::Plain if value.is_empty() => {}
        Style::Plain if s.is_checked_plain() || !scalar::breaks_plain_syntax(value) => out.push_str(value),
        Style::Plain | Style::SingleQuoted | Style::DoubleQuoted if !value.contains('\n') => {
            if s.style() == Style::SingleQuoted && !value.chars().any(scalar::needs_escape) {
                out.push_str(&scalar::single_quoted(value));
            } else {
                out.push_str(&scalar::double_quoted(value));
            }
        }
        Style::Literal if s.is_checked_literal() => write_block(out, '|', value, indent),
        Style::Folded if folded_block_can_hold(value) => write_block(out, '>', value, indent),
        _ if scalar::literal_block_can_hold(value) => write_block(out, '|', value, indent),
        _ => out.push_str(&scalar::double_quoted(value)),
    }
}

/// A `|` or `>` block: chomping from the trailing line breaks, an indentation indicator when the content
/// starts with a space or an empty line (so the reader does not guess the indent from it).
///
/// A folded block is written without re-wrapping: every line break of the value becomes an empty line
/// (the one way a folded block keeps a break), so no break is ever folded into a space.
fn write_block(out: &mut String, indicator: char, value: &str, indent: usize) {
    out.push(indicator);
    if value.starts_with([' ', '\n']) {
        out.push('2');
    }
    let body = value.trim_end_matches('\n');
    let trailing = value.len() - body.len();
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    let mut lines: Vec<&str> = value.strip_suffix('\n').unwrap_or(value).split('\n').collect();
    if indicator == '>' {
        // Interior breaks only: the trailing ones are kept by the chomping indicator as they are.
        let content = body.split('\n').count();
        let tail = lines.split_off(content);
        let mut folded = Vec::with_capacity(lines.len() * 2);
        for (i, line) in lines.iter().enumerate() {
            // After a content line a break needs an empty line; each further empty line is one more break.
            if i > 0 && !lines[i - 1].is_empty() {
                folded.push("");
            }
            folded.push(*line);
        }
        lines = folded;
        lines.extend(tail);
    }
    for line in lines {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
}

/// A folded block can hold what a literal block can, when no line starts with white space (such lines
/// are never folded, and their breaks would need another rule) and it does not start with a break.
fn folded_block_can_hold(value: &str) -> bool {
    scalar::literal_block_can_hold(value)
        && !value.starts_with('\n')
        && value.trim_end_matches('\n').split('\n').all(|l| !l.starts_with([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::super::parse::{parse_stream, Limits};
    use super::*;

    fn round_trip(text: &str) -> String {
        let docs = parse_stream(text, Limits::default()).unwrap();
        to_string(&docs[0])
    }

    #[test]
    fn block_yaml_round_trips_byte_for_byte() {
        let text = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
  annotations:
    a: \"yes\"
    b: 'on'
spec:
  n: 0755
  big: 12345678901234567890
  f: 1.10
  e: 1e3
  empty: {}
  none: []
  nothing:
  tagged: !!binary aGVsbG8=
  custom: !Ref foo
  template:
    spec:
      containers:
      - name: c
        args:
        - -Xmx1g
        - - nested
          - seq
        env:
        - name: A
          value: \"1\"
      - name: d
";
        assert_eq!(round_trip(text), text);
    }

    #[test]
    fn plain_text_read_inside_flow_collections_is_checked_again_in_block_style() {
        // `|` is plain text only inside `{…}`; at every depth of flow under block it must be quoted.
        let out = round_trip("a:\n  b: {c: [d, {|: e}], |: f}\nh: [{|: g}]\n");
        assert_eq!(out, "a:\n  b:\n    c:\n    - d\n    - \"|\": e\n    \"|\": f\nh:\n- \"|\": g\n");
    }

    #[test]
    fn a_subtree_held_in_many_places_is_written_as_each_place_needs() {
        let mut part =
            parse_stream("name: x\nscript: |\n  a\n  b\nlist: [1, two]\n", Limits::default()).unwrap().remove(0);
        part.share();
        let shared = || part.clone();
        let mut doc = Mapping::new();
        doc.insert("a", shared());
        doc.insert("items", Node::Sequence([shared(), shared()].into_iter().collect()));
        let mut nested = Mapping::new();
        nested.insert("b", shared());
        doc.insert("deeper", Node::Sequence([Node::Mapping(nested), shared()].into_iter().collect()));
        let text = to_string(&Node::Mapping(doc));
        let plain = parse_stream(&text, Limits::default()).unwrap().remove(0);
        assert_eq!(plain.path(&["a"]), Some(&part));
        assert_eq!(to_string(&plain), text, "the shared text is the text the subtree gets in each place");
        let part_text = to_string(&part);
        assert!(text.starts_with(&format!("a:\n{}", part_text.lines().map(|l| format!("  {l}\n")).collect::<String>())));
        assert!(
            text.contains("items:\n- name: x\n  script: |\n    a\n    b\n  list:\n  - 1\n  - two\n- name: x\n"),
            "{text}"
        );
        assert!(text.contains("- b:\n    name: x\n    script: |\n      a\n      b\n"), "{text}");
    }

    #[test]
    fn flow_style_becomes_block_style_with_the_same_scalars() {
        let out = round_trip("{\"a\": \"yes\", b: [1, \"0755\"], c: {}}\n");
        assert_eq!(out, "\"a\": \"yes\"\nb:\n- 1\n- \"0755\"\nc: {}\n");
    }

    #[test]
    fn block_scalars_are_written_as_literals_with_the_same_value() {
        let text = "a: |\n  one\n    two\nb: |-\n  strip\nc: |+\n  keep\n\nd: >\n  folded\n  text\ne: |2\n   lead\nf: >-\n  one\n\n  two\n\n\n  three\ng: >+\n  keep\n\n\nh: >\n  a\n    b\n";
        let out = round_trip(text);
        assert_eq!(
            out,
            "a: |\n  one\n    two\nb: |-\n  strip\nc: |+\n  keep\n\nd: >\n  folded text\ne: |2\n   lead\n\
             f: >-\n  one\n\n  two\n\n\n  three\ng: >+\n  keep\n\n\nh: |\n  a\n    b\n"
        );
        let again = parse_stream(&out, Limits::default()).unwrap();
        let before = parse_stream(text, Limits::default()).unwrap();
        for key in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            assert_eq!(again[0].path_str(&[key]), before[0].path_str(&[key]), "{key}");
        }
    }

    #[test]
    fn new_strings_are_quoted_when_a_reader_could_misread_them() {
        let mut m = Mapping::new();
        for (k, v) in [("a", "yes"), ("b", "0755"), ("c", "1e3"), ("d", "plain"), ("e", "a: b"), ("f", "two\nlines\n")]
        {
            m.insert_str(k, v);
        }
        let out = to_string(&Node::Mapping(m));
        assert_eq!(out, "a: \"yes\"\nb: \"0755\"\nc: \"1e3\"\nd: plain\ne: \"a: b\"\nf: |\n  two\n  lines\n");
    }
}
