//! The lossless YAML layer for manifests: a node tree that remembers how each scalar was written,
//! a parser with limits for hostile input, and a block-style emitter guarded against YAML 1.1
//! misreadings. Typed documents we own (functionConfig, BOM) use serde instead.

pub mod build;
pub mod emit;
pub mod node;
pub mod parse;
pub mod scalar;

pub use emit::{to_string, write_document};
pub use node::{Mapping, Node, Scalar, Sequence, Style, View};
pub use parse::{parse_stream, Limits, ParseError};
