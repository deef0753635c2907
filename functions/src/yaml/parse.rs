//! Builds lossless node trees from a YAML stream, with the limits that keep hostile input bounded.
//!
//! Events come from saphyr-parser (pure Rust, YAML 1.2 syntax; resolution is ours, in [`super::scalar`]).
//! Aliases are expanded, because every consumer (kubectl, ArgoCD, kustomize) expands them too: an
//! anchored node is shared ([`Node::share`]), so an alias costs a reference count, and what aliases
//! expand to is budgeted in nodes and in bytes (the emitter writes every copy out), so an alias bomb
//! fails in milliseconds instead of eating the machine. The tree itself is budgeted in nodes per input
//! byte, so no YAML under the input limit can take much more memory than its size. The tree is built
//! with an explicit stack, so deep nesting is an error, never a stack overflow. Characters YAML 1.1
//! readers (Kubernetes' go-yaml) refuse or read differently from YAML 1.2 are refused up front.

use super::node::{Mapping, Node, Scalar, Sequence, Source, Style, View};
use super::scalar::{plain_is_string, resolve_plain_yaml11};
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use std::collections::{HashMap, HashSet};

/// Bounds on what one stream may expand to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes that aliases may add when they are expanded.
    pub max_alias_nodes: usize,
    /// Most bytes of scalar text that aliases may add when they are expanded (each copy is written out).
    pub max_alias_bytes: usize,
    /// Most nodes read from a stream (mapping keys count). A node takes 100 to 150 bytes of memory
    /// whatever its text, so this, not the input limit, bounds the memory of a stream of tiny scalars
    /// (`[a, a, a, …]` is a node per 3 bytes). Kubernetes manifests run at about 15 bytes per node: a
    /// Spinnaker install is 10,000 to 20,000 nodes, and this allows about 15 MB of manifests.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 200, max_alias_nodes: 1_000_000, max_alias_bytes: 16 * 1024 * 1024, max_nodes: 1_000_000 }
    }
}

/// What a subtree holds: its nodes (mapping keys count) and the bytes of its scalar text.
#[derive(Clone, Copy, Debug, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl Size {
    fn add(&mut self, other: Size) {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// A stream that is not YAML we can read, with the place it went wrong (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    fn at(span: &Span, message: impl Into<String>) -> Self {
        ParseError { line: span.start.line(), column: span.start.col() + 1, message: message.into() }
    }
}

/// Parses every document of `text`. An empty stream gives no documents.
pub fn parse_stream(text: &str, limits: Limits) -> Result<Vec<Node>, ParseError> {
    check_characters(text)?;
    Builder::new(text, limits).run()
}

/// Refuses the characters YAML 1.1 readers do not read as YAML 1.2 readers (saphyr) do: the control
/// characters go-yaml (Kubernetes' reader, through sigs.k8s.io/yaml) refuses anywhere in a stream
/// ("control characters are not allowed": go-yaml readerc.go, `yaml_parser_update_buffer`, v2 and v3), and
/// NEL, LS and PS, which are line breaks to go-yaml (yamlprivateh.go, `is_break`) and ordinary characters
/// to YAML 1.2, so a scalar or comment holding one means different things to different readers: refused
/// raw rather than read one way and written for the other. Escaped in a double-quoted scalar (`\x01`, `\N`, `\L`, `\P`) they are fine.
fn check_characters(text: &str) -> Result<(), ParseError> {
    // Most streams are ASCII: one pass over the bytes finds the first byte worth a closer look (a control
    // character, or the start of a non-ASCII one), a block of 32 at a time without branching inside the
    // block, which the compiler turns into vector compares.
    const BLOCK: usize = 32;
    let suspect = |b: u8| b >= 0x7f || (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r');
    let first = text
        .as_bytes()
        .chunks(BLOCK)
        .enumerate()
        .find(|(_, block)| block.iter().fold(false, |any, &b| any | suspect(b)))
        .and_then(|(i, block)| block.iter().position(|&b| suspect(b)).map(|at| i * BLOCK + at));
    let Some(first) = first else { return Ok(()) };
    for (at, c) in text[first..].char_indices() {
        let problem = match c {
            '\u{85}' => "(NEL) is a line break to YAML 1.1 readers (Kubernetes) but not to YAML 1.2 ones; write it escaped (\\N) in a double-quoted scalar, or remove it",
            '\u{2028}' | '\u{2029}' => "(a line or paragraph separator) is a line break to YAML 1.1 readers (Kubernetes) but not to YAML 1.2 ones; write it escaped (\\L, \\P) in a double-quoted scalar, or remove it",
            '\t' | '\n' | '\r' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'.. => continue,
            _ => "is a control character, which YAML does not allow unescaped; write it escaped (e.g. \\x01) in a double-quoted scalar, or remove it",
        };
        let offset = first + at;
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        return Err(ParseError {
            line: text[..offset].bytes().filter(|&b| b == b'\n').count() + 1,
            column: text[line_start..offset].chars().count() + 1,
            message: format!("U+{:04X} {problem}", u32::from(c)),
        });
    }
    Ok(())
}

/// A collection being built; `flow` when it is written `{…}`/`[…]` or sits inside one. Its entries (items)
/// so far are the ones from `start` on of the builder's entry (item) stack, so that a finished collection is
/// moved into a `Vec` of its exact size: no growing by doubling, no shrinking after.
enum Frame {
    Mapping {
        start: usize,
        tag: Option<String>,
        pending_key: Option<Scalar>,
        /// The keys' YAML 1.1 meanings, once the mapping is large (small ones are scanned).
        seen: Option<HashSet<Key>>,
        anchor: usize,
        span: Span,
        flow: bool,
        size: Size,
        /// A `<<` merge key was read: resolved when the mapping ends.
        merge: bool,
    },
    Sequence {
        start: usize,
        tag: Option<String>,
        anchor: usize,
        flow: bool,
        size: Size,
    },
}

impl Frame {
    fn is_flow(&self) -> bool {
        match self {
            Frame::Mapping { flow, .. } | Frame::Sequence { flow, .. } => *flow,
        }
    }
}

struct Builder<'a> {
    text: &'a str,
    limits: Limits,
    stack: Vec<Frame>,
    /// The entries of the mappings on `stack`, innermost last.
    entries: Vec<(Scalar, Node)>,
    /// The items of the sequences on `stack`, innermost last.
    items: Vec<Node>,
    anchors: HashMap<usize, (Node, Size)>,
    alias: Size,
    nodes: usize,
    documents: Vec<Node>,
    // Moves forward through `text` to turn the parser's character indices into byte offsets (which are
    // the same in ASCII text).
    ascii: bool,
    cursor_chars: usize,
    cursor_bytes: usize,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, limits: Limits) -> Self {
        Builder {
            text,
            limits,
            stack: Vec::new(),
            entries: Vec::new(),
            items: Vec::new(),
            anchors: HashMap::new(),
            alias: Size::default(),
            nodes: 0,
            documents: Vec::new(),
            ascii: text.is_ascii(),
            cursor_chars: 0,
            cursor_bytes: 0,
        }
    }

    fn run(mut self) -> Result<Vec<Node>, ParseError> {
        let text = self.text;
        for event in Parser::new_from_str(text) {
            let (event, span) = event.map_err(|e| ParseError {
                line: e.marker().line(),
                column: e.marker().col() + 1,
                message: match e.info() {
                    "recursion limit exceeded" => too_deep(self.limits.max_depth),
                    info => info.to_owned(),
                },
            })?;
            match event {
                Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
                Event::DocumentStart(_) => self.anchors.clear(),
                Event::DocumentEnd => {}
                Event::Alias(id) => {
                    let (node, size) = match self.anchors.get(&id) {
                        Some((node, size)) => (node.clone(), *size),
                        None => return Err(ParseError::at(&span, "alias to an unknown anchor")),
                    };
                    self.count_alias(size, &span)?;
                    self.add(node, size, 0, &span)?;
                }
                Event::Scalar(value, style, anchor, tag) => {
                    // The scanner builds text by pushing, so it has spare room, which the tree would keep
                    // for good: the scalar copies the text (inline when short, else to an exact allocation).
                    let size = Size { nodes: 1, bytes: value.len() };
                    self.count_node(&span)?;
                    let scalar = self.scalar(&value, style, tag.as_deref(), &span);
                    self.add(Node::Scalar(scalar), size, anchor, &span)?;
                }
                Event::MappingStart(anchor, tag) => {
                    self.enter(&span)?;
                    self.count_node(&span)?;
                    let flow = self.starts_flow(&span, '{');
                    self.stack.push(Frame::Mapping {
                        start: self.entries.len(),
                        tag: tag_text(tag.as_deref()),
                        pending_key: None,
                        seen: None,
                        anchor,
                        span,
                        flow,
                        size: Size { nodes: 1, bytes: 0 },
                        merge: false,
                    });
                }
                Event::SequenceStart(anchor, tag) => {
                    self.enter(&span)?;
                    self.count_node(&span)?;
                    let flow = self.starts_flow(&span, '[');
                    self.stack.push(Frame::Sequence {
                        start: self.items.len(),
                        tag: tag_text(tag.as_deref()),
                        anchor,
                        flow,
                        size: Size { nodes: 1, bytes: 0 },
                    });
                }
                Event::MappingEnd => match self.stack.pop() {
                    Some(Frame::Mapping { start, tag, anchor, size, merge, .. }) => {
                        let mut map = Mapping::from_entries(self.entries.drain(start..).collect(), tag);
                        if merge {
                            map = merged(map, &span)?;
                        }
                        self.add(Node::Mapping(map), size, anchor, &span)?
                    }
                    _ => return Err(ParseError::at(&span, "unbalanced mapping end")),
                },
                Event::SequenceEnd => match self.stack.pop() {
                    Some(Frame::Sequence { start, tag, anchor, size, .. }) => {
                        let seq = Sequence::from_items(self.items.drain(start..).collect(), tag);
                        self.add(Node::Sequence(seq), size, anchor, &span)?
                    }
                    _ => return Err(ParseError::at(&span, "unbalanced sequence end")),
                },
            }
        }
        Ok(self.documents)
    }

    fn enter(&mut self, span: &Span) -> Result<(), ParseError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(ParseError::at(span, too_deep(self.limits.max_depth)));
        }
        Ok(())
    }

    fn count_alias(&mut self, size: Size, span: &Span) -> Result<(), ParseError> {
        self.alias.add(size);
        let too_much = if self.alias.nodes > self.limits.max_alias_nodes {
            format!("{} nodes", self.limits.max_alias_nodes)
        } else if self.alias.bytes > self.limits.max_alias_bytes {
            format!("{} MiB of text", self.limits.max_alias_bytes / (1024 * 1024))
        } else {
            return Ok(());
        };
        Err(ParseError::at(
            span,
            format!("aliases expand to more than {too_much} (an alias bomb?); write the repeated content out or use fewer aliases"),
        ))
    }

    /// Counts one node read from the text against the stream's node budget.
    fn count_node(&mut self, span: &Span) -> Result<(), ParseError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(ParseError::at(
                span,
                format!(
                    "more than {} YAML nodes (keys, values and items); split the package or render fewer resources at once",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Attaches a finished node of `size` to its parent (or ends a document) and records its anchor: the
    /// node is shared, so the anchor and every alias to it hold one copy.
    fn add(&mut self, mut node: Node, size: Size, anchor: usize, span: &Span) -> Result<(), ParseError> {
        if anchor != 0 {
            node.share();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Sequence { size: total, .. }) => {
                total.add(size);
                self.items.push(node)
            }
            Some(Frame::Mapping { start, pending_key, seen, span: map_span, size: total, merge, .. }) => {
                total.add(size);
                let map = &self.entries[*start..];
                match pending_key.take() {
                    Some(key) => self.entries.push((key, node)),
                    None => {
                        let key = match node {
                            Node::Scalar(key) => key,
                            Node::Shared(held) if matches!(*held, Node::Scalar(_)) => {
                                held.as_scalar().cloned().expect("matched a scalar")
                            }
                            _ => return Err(ParseError::at(span, "a mapping key is itself a mapping or sequence; Kubernetes objects only have string keys")),
                        };
                        if is_duplicate(map, seen, &key) {
                            let first = map.iter().map(|(k, _)| k).find(|k| Key::of(k) == Key::of(&key));
                            let same = match first {
                                Some(first) if first.value() != key.value() => format!(
                                    " (YAML 1.1 readers such as Kubernetes read it as the same key as {:?})",
                                    first.value()
                                ),
                                _ => String::new(),
                            };
                            return Err(ParseError::at(
                                span,
                                format!(
                                    "duplicate key {:?}{same} in the mapping that starts at line {}; readers disagree on which value wins, so keep one",
                                    key.value(),
                                    map_span.start.line()
                                ),
                            ));
                        }
                        *merge |= key.is_plain() && key.tag().is_none() && key.value() == "<<";
                        *pending_key = Some(key);
                    }
                }
            }
        }
        Ok(())
    }

    fn scalar(&mut self, value: &str, style: ScalarStyle, tag: Option<&Tag>, span: &Span) -> Scalar {
        let tag = tag_text(tag);
        let one_line = !self.spans_lines(span);
        let (style, source) = match style {
            // A plain scalar's value is its text, unless it was folded from several lines.
            ScalarStyle::Plain if !value.is_empty() && one_line => (Style::Plain, Source::FromValue),
            ScalarStyle::Plain => (Style::Plain, Source::Unknown),
            ScalarStyle::SingleQuoted if !value.contains('\n') && one_line => (Style::SingleQuoted, Source::FromValue),
            ScalarStyle::SingleQuoted => (Style::SingleQuoted, Source::Unknown),
            ScalarStyle::DoubleQuoted => {
                let text = if tag.is_none() { self.double_quoted_source(span) } else { None };
                (Style::DoubleQuoted, text.map_or(Source::Unknown, |t| Source::Text(t.into_boxed_str())))
            }
            ScalarStyle::Literal => (Style::Literal, Source::Unknown),
            ScalarStyle::Folded => (Style::Folded, Source::Unknown),
        };
        let in_block = !self.stack.last().is_some_and(Frame::is_flow);
        Scalar::parsed(value, style, tag, source, in_block)
    }

    /// True when a collection that starts at `span` is in flow style: inside another flow collection, or
    /// itself opened by `indicator`. When the text cannot be read at the span, it counts as flow (the
    /// emitter then checks its plain scalars again).
    fn starts_flow(&mut self, span: &Span, indicator: char) -> bool {
        if self.stack.last().is_some_and(Frame::is_flow) {
            return true;
        }
        let at = self.byte_offset(span.start.index());
        at.and_then(|at| self.text.get(at..)).is_none_or(|rest| rest.starts_with(indicator))
    }

    fn spans_lines(&self, span: &Span) -> bool {
        span.end.line() != span.start.line()
    }

    /// The exact text of a one-line double-quoted scalar, read from the source (the parser's span end is
    /// not reliable for quoted scalars, so we scan from the opening quote ourselves).
    fn double_quoted_source(&mut self, span: &Span) -> Option<String> {
        let start = self.byte_offset(span.start.index())?;
        let rest = self.text.get(start..)?;
        if !rest.starts_with('"') {
            return None;
        }
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                '\n' | '\r' => return None,
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return Some(rest[..=i].to_owned()),
                _ => {}
            }
        }
        None
    }

    fn byte_offset(&mut self, char_index: usize) -> Option<usize> {
        if self.ascii {
            return (char_index <= self.text.len()).then_some(char_index);
        }
        if char_index < self.cursor_chars {
            self.cursor_chars = 0;
            self.cursor_bytes = 0;
        }
        let tail = self.text.get(self.cursor_bytes..)?;
        let mut chars = tail.char_indices();
        while self.cursor_chars < char_index {
            let (_, c) = chars.next()?;
            self.cursor_chars += 1;
            self.cursor_bytes += c.len_utf8();
        }
        Some(self.cursor_bytes)
    }
}

fn too_deep(max_depth: usize) -> String {
    format!("nesting deeper than {max_depth} levels; no Kubernetes manifest needs that")
}

/// `map` with its `<<` merge keys resolved as YAML 1.1 readers (Kubernetes' go-yaml) resolve them: the
/// entries of the merged mapping (or of each mapping of a merged list, the first one winning) that `map`
/// does not set itself, in place of the merge key. Every consumer of a manifest sees the merged object, so
/// the transform must see it too (a pod template that comes through `<<` is pinned like any other).
fn merged(map: Mapping, span: &Span) -> Result<Mapping, ParseError> {
    let is_merge = |k: &Scalar| k.is_plain() && k.tag().is_none() && k.value() == "<<";
    let own: HashSet<&str> = map.iter().filter(|(k, _)| !is_merge(k)).map(|(k, _)| k.value()).collect();
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Mapping::with_capacity_and_tag(map.len(), map.tag().map(str::to_owned));
    let not_a_mapping = || ParseError::at(span, "a merge key (<<) takes a mapping or a list of mappings");
    for (key, value) in map.iter() {
        if !is_merge(key) {
            out.push_unchecked(key.clone(), value.clone());
            continue;
        }
        let sources: Vec<&Mapping> = match value.view() {
            View::Mapping(m) => vec![m],
            View::Sequence(list) => {
                list.iter().map(|n| n.as_mapping().ok_or_else(not_a_mapping)).collect::<Result<_, _>>()?
            }
            View::Scalar(_) => return Err(not_a_mapping()),
        };
        for source in sources {
            for (k, v) in source.iter() {
                if !own.contains(k.value()) && taken.insert(k.value().to_owned()) {
                    out.push_unchecked(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(out)
}

/// The mapping size from which keys are looked up in a set rather than compared one by one.
const SCAN_KEYS: usize = 8;

/// True when `map` already has a key that means what `key` means to YAML 1.1 readers. Most mappings are
/// small: their keys are compared in place (text first, so the common case allocates nothing); a large
/// one keeps a set of its keys' meanings, so a mapping of any size is checked in linear time.
fn is_duplicate(map: &[(Scalar, Node)], seen: &mut Option<HashSet<Key>>, key: &Scalar) -> bool {
    if let Some(set) = seen {
        return !set.insert(Key::of(key));
    }
    if map.len() + 1 >= SCAN_KEYS {
        let mut set: HashSet<Key> = map.iter().map(|(k, _)| Key::of(k)).collect();
        let duplicate = !set.insert(Key::of(key));
        *seen = Some(set);
        return duplicate;
    }
    let simple = key.tag().is_none() && (!key.is_plain() || plain_is_string(key.value()));
    map.iter().any(|(existing, _)| {
        if simple {
            // A string key equals only a key that is the same string.
            existing.value() == key.value() && Key::of(existing) == Key::of(key)
        } else {
            Key::of(existing) == Key::of(key)
        }
    })
}

/// A mapping key as YAML 1.1 readers (Kubernetes) tell keys apart: by what it means, not how it is
/// written. `yes` and `true` are the same key, `~` and `null` too; `on` (a bool) and `"on"` (a string)
/// are not.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key {
    String(String),
    /// A key that is not a string to YAML 1.1: its meaning as JSON (`true`, `null`, `8`).
    Other(String),
    /// A key with a tag other than `!!str`: the tag and the text.
    Tagged(String, String),
}

impl Key {
    fn of(key: &Scalar) -> Key {
        match key.tag() {
            Some("!!str") => Key::String(key.value().to_owned()),
            Some(tag) => Key::Tagged(tag.to_owned(), key.value().to_owned()),
            None if !key.is_plain() || plain_is_string(key.value()) => Key::String(key.value().to_owned()),
            None => match resolve_plain_yaml11(key.value()) {
                serde_json::Value::String(text) => Key::String(text),
                meaning => Key::Other(meaning.to_string()),
            },
        }
    }
}

/// A tag as its author would write it: `!Ref`, `!!binary`, `!<tag:example.com,2024:x>`.
fn tag_text(tag: Option<&Tag>) -> Option<String> {
    let tag = tag?;
    Some(match tag.handle.as_str() {
        "tag:yaml.org,2002:" => format!("!!{}", tag.suffix),
        "!" => format!("!{}", tag.suffix),
        "" => format!("!<{}>", tag.suffix),
        handle if handle.starts_with('!') && handle.ends_with('!') => format!("{handle}{}", tag.suffix),
        handle => format!("!<{handle}{}>", tag.suffix),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn one(text: &str) -> Node {
        let mut docs = parse_stream(text, Limits::default()).expect("parses");
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn keeps_source_text_of_one_line_scalars() {
        let doc = one("a: \"caf\\u00e9\"  # c\nb: 'it''s'\nc: 0755\nd: !Ref foo\n");
        let m = doc.as_mapping().unwrap();
        assert_eq!(m.get("a").unwrap().as_scalar().unwrap().source().as_deref(), Some("\"caf\\u00e9\""));
        assert_eq!(m.get("a").unwrap().as_str(), Some("café"));
        assert_eq!(m.get("b").unwrap().as_scalar().unwrap().source().as_deref(), Some("'it''s'"));
        assert_eq!(m.get("c").unwrap().as_scalar().unwrap().source().as_deref(), Some("0755"));
        assert_eq!(m.get("c").unwrap().as_str(), None, "0755 is an int to YAML 1.1");
        assert_eq!(m.get("d").unwrap().as_scalar().unwrap().tag(), Some("!Ref"));
    }

    #[test]
    fn expands_aliases() {
        let doc = one("labels: &l {app: x}\nselector: *l\n");
        assert_eq!(doc.path_str(&["selector", "app"]), Some("x"));
    }

    #[test]
    fn rejects_duplicate_keys() {
        let err = parse_stream("a: 1\nb: 2\na: 3\n", Limits::default()).unwrap_err();
        assert!(err.message.contains("duplicate key \"a\""), "{err}");
        assert_eq!(err.line, 3);
    }

    #[test]
    fn rejects_alias_bombs_quickly() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse_stream(&text, Limits::default()).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn counts_what_aliases_expand_to_in_bytes() {
        let big = "x".repeat(1024 * 1024);
        let text = format!("a: &a {big}\nb: [{}]\n", vec!["*a"; 20].join(", "));
        let err = parse_stream(&text, Limits::default()).unwrap_err();
        assert!(err.message.contains("more than 16 MiB of text (an alias bomb?)"), "{err}");
    }

    #[test]
    fn an_anchor_is_shared_with_its_aliases_not_copied() {
        let doc = one("a: &a {b: &b [x, y]}\nc: *a\nd: *b\n");
        let m = doc.as_mapping().unwrap();
        let (Some(Node::Shared(a)), Some(Node::Shared(c))) = (m.get("a"), m.get("c")) else { panic!("{doc:?}") };
        assert!(Arc::ptr_eq(a, c), "the alias holds the anchored node itself");
        assert_eq!(doc.path(&["d"]), doc.path(&["a", "b"]));
    }

    #[test]
    fn bounds_the_nodes_of_a_stream() {
        let limits = Limits { max_nodes: 10, ..Limits::default() };
        let err = parse_stream("[a, b, c, d, e, f, g, h, i, j, k, l]", limits).unwrap_err();
        assert_eq!(err.to_string(), "line 1 column 29: more than 10 YAML nodes (keys, values and items); split the package or render fewer resources at once");
        assert!(parse_stream("{a: b, c: d, e: f, g: h}", limits).is_ok());
    }

    #[test]
    fn duplicate_keys_are_decided_by_their_yaml_1_1_meaning() {
        for (text, first) in [("yes: 1\ntrue: 2\n", "yes"), ("~: 1\nnull: 2\n", "~"), ("010: 1\n8: 2\n", "010")] {
            let err = parse_stream(text, Limits::default()).unwrap_err();
            assert!(err.message.contains(&format!("read it as the same key as {first:?}")), "{text}: {err}");
        }
        for text in ["on: 1\n\"on\": 2\n", "1: a\n\"1\": b\n", "a: 1\n!!str b: 2\n"] {
            assert!(parse_stream(text, Limits::default()).is_ok(), "{text}");
        }
        // Past the size where keys go into a set, the same rule.
        let many: String = (0..20).map(|i| format!("k{i}: v\n")).collect();
        let err = parse_stream(&format!("yes: 1\n{many}True: 2\n"), Limits::default()).unwrap_err();
        assert!(err.message.contains("duplicate key \"True\" (YAML 1.1 readers"), "{err}");
        let err = parse_stream(&format!("{many}k3: 2\n"), Limits::default()).unwrap_err();
        assert!(err.message.contains("duplicate key \"k3\" in"), "{err}");
        assert!(parse_stream(&format!("{many}on: 1\n\"on\": 2\n"), Limits::default()).is_ok());
        let err = parse_stream("a: 1\n'a': 2\n", Limits::default()).unwrap_err();
        assert!(err.message.contains("duplicate key \"a\" in"), "{err}");
    }

    #[test]
    fn refuses_what_yaml_1_1_readers_read_differently() {
        for (text, line, column, what) in [
            ("a: \"x\u{1}y\"\n", 1, 6, "U+0001 is a control character"),
            ("a: b\nc: d\u{85}e\n", 2, 5, "U+0085 (NEL) is a line break"),
            ("# \u{2028}\na: b\n", 1, 3, "U+2028 (a line or paragraph separator)"),
            ("a: \u{7f}\n", 1, 4, "U+007F is a control character"),
        ] {
            let err = parse_stream(text, Limits::default()).unwrap_err();
            assert!(err.message.starts_with(what), "{text:?}: {err}");
            assert_eq!((err.line, err.column), (line, column), "{text:?}: {err}");
        }
        let doc = one("a: \"x\\x01\\N\\L\"\nb: \"caf\u{e9} \u{feff}\"\n");
        assert_eq!(doc.path_str(&["a"]), Some("x\u{1}\u{85}\u{2028}"));
    }

    #[test]
    fn finds_a_refused_character_wherever_it_falls_in_a_block_of_the_scan() {
        // The check scans 32 bytes at a time: a character at either edge of a block is found all the same.
        for before in [0, 1, 27, 28, 29, 59, 60, 61, 100] {
            let text = format!("a: \"{}\u{1}\"\n", "x".repeat(before));
            let err = parse_stream(&text, Limits::default()).unwrap_err();
            assert!(err.message.starts_with("U+0001 is a control character"), "{before}: {err}");
            assert_eq!((err.line, err.column), (1, 5 + before), "{before}: {err}");
            assert!(parse_stream(&text.replace('\u{1}', "y"), Limits::default()).is_ok(), "{before}");
        }
    }

    #[test]
    fn resolves_merge_keys_as_yaml_1_1_readers_do() {
        let doc = one("base: &b {a: 1, b: 2}\nmore: &m {c: 3, a: 9}\nx:\n  <<: [*b, *m]\n  b: own\n");
        let x = doc.path(&["x"]).unwrap().as_mapping().unwrap();
        let keys: Vec<(&str, &str)> = x.iter().map(|(k, v)| (k.value(), v.as_scalar().unwrap().value())).collect();
        assert_eq!(keys, [("a", "1"), ("c", "3"), ("b", "own")]);
        assert!(one("a: {\"<<\": x}\n").path(&["a", "<<"]).is_some(), "a quoted << is a plain key");
        let err = parse_stream("a: {<<: x}\n", Limits::default()).unwrap_err();
        assert!(err.message.contains("merge key"), "{err}");
    }

    #[test]
    fn rejects_deep_nesting_without_overflowing() {
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse_stream(&text, Limits::default()).unwrap_err();
        assert!(err.message.contains("nesting deeper than"), "{err}");
    }

    #[test]
    fn rejects_complex_keys() {
        let err = parse_stream("? [a]\n: b\n", Limits::default()).unwrap_err();
        assert!(err.message.contains("mapping key"), "{err}");
    }
}
