//! Reads the manifests of a directory the way a person expects: every `.yaml`, `.yml` and `.json` file
//! below it, in path order, except the functionConfig itself, the BOM directory, kustomization files
//! and hidden directories (`.git`).

use crate::failure::Failure;
use functions::krm;
use functions::yaml::{Limits, Node, View};
use std::io::Read;
use std::path::{Path, PathBuf};

pub use functions::krm::KUSTOMIZATION_FILES;

/// All of `input`, but never more than one byte past the input limit: an oversized stream is refused by
/// the parser without being held in memory whole.
pub fn read_limited(input: &mut impl Read, origin: &str) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    input
        .take(krm::MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::input(format!("cannot read {origin}: {e}")))?;
    Ok(bytes)
}

/// A whole file, read through the same limit as stdin: only a regular file (after following links), never
/// more than [`krm::MAX_INPUT_BYTES`]. A device (`/dev/zero`), a FIFO or a socket is refused by its type
/// before a byte is read: it is opened without blocking (a FIFO without a writer would wait forever) and
/// its type is taken from the open file, so it cannot change between the check and the read.
pub fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let file_type = file.metadata()?.file_type();
    let special = if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_dir() {
        "a directory"
    } else {
        ""
    };
    if !special.is_empty() {
        return Err(Error::new(ErrorKind::InvalidInput, format!("it is {special}, not a regular file")));
    }
    let mut bytes = Vec::new();
    file.take(krm::MAX_INPUT_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > krm::MAX_INPUT_BYTES {
        return Err(Error::new(
            ErrorKind::FileTooLarge,
            format!("it is larger than the {} MiB input limit", krm::MAX_INPUT_BYTES / (1024 * 1024)),
        ));
    }
    Ok(bytes)
}

/// The manifests below `dir`, skipping the files and directories in `skip` (paths as the caller names
/// them: relative to the working directory, or absolute). Paths are compared after resolving them, so
/// `examples/x/bom` and `/abs/examples/x/bom` are the same directory.
pub fn read_dir(dir: &Path, skip: &[PathBuf]) -> Result<Vec<Node>, Failure> {
    let root = dir.canonicalize().map_err(|e| Failure::input(format!("cannot read {}: {e}", dir.display())))?;
    let skip: Vec<PathBuf> = skip.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut files = Vec::new();
    collect(&root, &skip, &mut files)?;
    files.sort();
    let mut items = Vec::new();
    let mut total = 0;
    // The files share one node budget, as they share the input limit: many files of tiny scalars take no
    // more memory than one stream may.
    let mut limits = Limits::default();
    for file in files {
        let bytes = read_file(&file).map_err(|e| Failure::input(format!("cannot read {}: {e}", file.display())))?;
        let origin = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        total += bytes.len();
        if total > krm::MAX_INPUT_BYTES {
            return Err(
                krm::InputError::TooLarge { origin: dir.display().to_string(), limit: krm::MAX_INPUT_BYTES }.into()
            );
        }
        let parsed = krm::parse_manifests_within(&bytes, &origin, limits).map_err(|e| match e {
            krm::InputError::Yaml { source, .. }
                if limits.max_nodes < Limits::default().max_nodes && source.message.starts_with("more than") =>
            {
                Failure::input(format!(
                    "{origin} and the files before it hold more than {} YAML nodes (keys, values and items) together; split the package or render fewer resources at once",
                    Limits::default().max_nodes
                ))
            }
            e => e.into(),
        })?;
        limits.max_nodes = limits.max_nodes.saturating_sub(parsed.iter().map(node_count).sum());
        items.extend(parsed);
    }
    Ok(items)
}

/// The nodes of a tree, keys included (what the parser counts against its budget).
fn node_count(node: &Node) -> usize {
    match node.view() {
        View::Scalar(_) => 1,
        View::Mapping(m) => 1 + m.iter().map(|(_, v)| 1 + node_count(v)).sum::<usize>(),
        View::Sequence(s) => 1 + s.iter().map(node_count).sum::<usize>(),
    }
}

fn collect(dir: &Path, skip: &[PathBuf], files: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| Failure::input(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| Failure::input(format!("cannot list {}: {e}", dir.display())))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || skip.contains(&path) {
            continue;
        }
        let file_type =
            entry.file_type().map_err(|e| Failure::input(format!("cannot stat {}: {e}", path.display())))?;
        if file_type.is_dir() {
            collect(&path, skip, files)?;
        } else if file_type.is_file()
            && !KUSTOMIZATION_FILES.contains(&name.as_str())
            && [".yaml", ".yml", ".json"].iter().any(|ext| name.ends_with(ext))
        {
            files.push(path);
        }
    }
    Ok(())
}
