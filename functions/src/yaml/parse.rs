//! Builds lossless node trees from a YAML stream, with the limits that keep hostile input bounded.
//!
//! Events come from saphyr-parser (pure Rust, YAML 1.2 syntax; resolution is ours, in [`super::scalar`]).
//! Aliases are expanded, because every consumer (kubectl, ArgoCD, kustomize) expands them too; the
//! expansion is budgeted so an alias bomb fails in milliseconds instead of eating the machine. The tree
//! is built with an explicit stack, so deep nesting is an error, never a stack overflow.

use super::node::{Mapping, Node, Scalar, Sequence, Source, Style, View};
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use std::collections::{HashMap, HashSet};

/// Bounds on what one stream may expand to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes that aliases may add when they are expanded.
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 200, max_alias_nodes: 1_000_000 }
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
    Builder::new(text, limits).run()
}

/// A collection being built; `flow` when it is written `{…}`/`[…]` or sits inside one.
enum Frame {
    Mapping { map: Mapping, pending_key: Option<Scalar>, seen: HashSet<String>, anchor: usize, span: Span, flow: bool },
    Sequence { seq: Sequence, anchor: usize, flow: bool },
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
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
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
            anchors: HashMap::new(),
            alias_nodes: 0,
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
                    let size = self.anchors.get(&id).map(|(_, size)| *size);
                    let size = size.ok_or_else(|| ParseError::at(&span, "alias to an unknown anchor"))?;
                    self.count_alias(size, &span)?;
                    let node = self.anchors[&id].0.clone();
                    self.add(node, 0, &span)?;
                }
                Event::Scalar(value, style, anchor, tag) => {
                    // The scanner builds text by pushing, so it has spare room; the tree keeps it for good.
                    let mut value = value.into_owned();
                    value.shrink_to_fit();
                    let scalar = self.scalar(value, style, tag.as_deref(), &span);
                    self.add(Node::Scalar(scalar), anchor, &span)?;
                }
                Event::MappingStart(anchor, tag) => {
                    self.enter(&span)?;
                    let flow = self.starts_flow(&span, '{');
                    self.stack.push(Frame::Mapping {
                        map: Mapping::with_capacity_and_tag(0, tag_text(tag.as_deref())),
                        pending_key: None,
                        seen: HashSet::new(),
                        anchor,
                        span,
                        flow,
                    });
                }
                Event::SequenceStart(anchor, tag) => {
                    self.enter(&span)?;
                    let flow = self.starts_flow(&span, '[');
                    self.stack.push(Frame::Sequence {
                        seq: Sequence::with_capacity_and_tag(0, tag_text(tag.as_deref())),
                        anchor,
                        flow,
                    });
                }
                Event::MappingEnd => match self.stack.pop() {
                    Some(Frame::Mapping { mut map, anchor, .. }) => {
                        map.shrink_to_fit();
                        self.add(Node::Mapping(map), anchor, &span)?
                    }
                    _ => return Err(ParseError::at(&span, "unbalanced mapping end")),
                },
                Event::SequenceEnd => match self.stack.pop() {
                    Some(Frame::Sequence { mut seq, anchor, .. }) => {
                        seq.shrink_to_fit();
                        self.add(Node::Sequence(seq), anchor, &span)?
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

    fn count_alias(&mut self, n: usize, span: &Span) -> Result<(), ParseError> {
        self.alias_nodes = self.alias_nodes.saturating_add(n);
        if self.alias_nodes > self.limits.max_alias_nodes {
            return Err(ParseError::at(
                span,
                format!(
                    "aliases expand to more than {} nodes (an alias bomb?); write the repeated content out or use fewer aliases",
                    self.limits.max_alias_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Attaches a finished node to its parent (or ends a document) and records its anchor.
    fn add(&mut self, node: Node, anchor: usize, span: &Span) -> Result<(), ParseError> {
        if anchor != 0 {
            let size = node_count(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Sequence { seq, .. }) => seq.push(node),
            Some(Frame::Mapping { map, pending_key, seen, span: map_span, .. }) => {
                match pending_key.take() {
                    Some(key) => map.push_unchecked(key, node),
                    None => {
                        let Node::Scalar(key) = node else {
                            return Err(ParseError::at(span, "a mapping key is itself a mapping or sequence; Kubernetes objects only have string keys"));
                        };
                        if !seen.insert(key.value().to_owned()) {
                            return Err(ParseError::at(
                            span,
                            format!(
                                "duplicate key {:?} in the mapping that starts at line {}; readers disagree on which value wins, so keep one",
                                key.value(),
                                map_span.start.line()
                            ),
                        ));
                        }
                        *pending_key = Some(key);
                    }
                }
            }
        }
        Ok(())
    }

    fn scalar(&mut self, value: String, style: ScalarStyle, tag: Option<&Tag>, span: &Span) -> Scalar {
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

fn node_count(node: &Node) -> usize {
    match node.view() {
        View::Scalar(_) => 1,
        View::Mapping(m) => 1 + m.iter().map(|(_, v)| 1 + node_count(v)).sum::<usize>(),
        View::Sequence(s) => 1 + s.iter().map(node_count).sum::<usize>(),
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
