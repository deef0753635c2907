//! The limit reference of the benchmark (docs/benchmarks.md, "the limit of a tree parser"): serde_json
//! reads a JSON document from stdin into a tree (`serde_json::Value`) and writes it back to stdout, the
//! same shape of work as `spinnaker-krm --identity` (read stdin whole, build a tree, emit it), on the same
//! ResourceList written as JSON. It keeps nothing a lossless YAML layer keeps (comments, styles, quoting,
//! key order), so it is the practical floor of any tree parser, not a goal.
//!
//!   cargo build --release -p spinnaker-krm --example serde_json_floor
//!   target/release/examples/serde_json_floor < resource-list.json > out.json

use std::io::{Read, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::new();
    std::io::stdin().lock().read_to_string(&mut text)?;
    let tree: serde_json::Value = serde_json::from_str(&text)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &tree)?;
    out.write_all(b"\n")?;
    out.flush()?;
    // As spinnaker-krm does (plugin/src/main.rs): the process ends here, freeing the tree would only add time.
    std::mem::forget(tree);
    Ok(())
}
