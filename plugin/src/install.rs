//! Puts a copy of this binary where a renderer finds it, with no shell and no `cp` in the image (so an
//! init container can run it):
//!
//! - `spinnaker-krm install DIR`: `DIR/spinnaker-krm`, for an exec KRM function's `exec: {path: …}` (an
//!   emptyDir the repo-server mounts on its PATH);
//! - `spinnaker-krm install-kustomize-plugin [--dir HOME]`: kustomize's legacy plugin,
//!   `HOME/spinnaker-krm.dev/v1alpha1/spinnakerplatform/SpinnakerPlatform`, run by `kustomize build
//!   --enable-alpha-plugins` and `kubectl kustomize --enable-alpha-plugins` (kustomize_plugin.rs).
//!
//! A copy, not a link: an init container writes into a volume another container mounts, where a link to
//! its own image would dangle, and on a workstation the copy survives `cargo clean` or a package upgrade
//! in the middle of a build. Upgrading is running the new binary's install again. The copy is written
//! beside the target and renamed over it, so kustomize never runs a half-written binary.

use crate::failure::Failure;
use crate::kustomize_plugin;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The file name the binary gets in DIR.
const NAME: &str = "spinnaker-krm";

pub fn run(dir: &Path) -> Result<String, Failure> {
    let hint = format!("mount a writable emptyDir at {} (see argocd-cm/)", dir.display());
    copy_self(&dir.join(NAME), &hint)
}

/// `install-kustomize-plugin`: into `dir`, or the plugin home kustomize looks in first.
pub fn kustomize_plugin(dir: Option<&Path>) -> Result<String, Failure> {
    let (home, from) = match dir {
        Some(dir) => (dir.to_path_buf(), "--dir".to_owned()),
        None => plugin_home(|name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from))?,
    };
    let target = home.join(kustomize_plugin::RELATIVE_PATH);
    let parent = target.parent().expect("RELATIVE_PATH has directories");
    std::fs::create_dir_all(parent)
        .map_err(|e| Failure::input(format!("cannot create {} ({e}); pass a writable --dir", parent.display())))?;
    copy_self(&target, "pass a writable --dir")?;
    Ok(format!(
        "installed {} (plugin home from {from}); `kustomize build --enable-alpha-plugins` and `kubectl kustomize --enable-alpha-plugins` run it for a SpinnakerPlatform under transformers: without the config.kubernetes.io/function annotation\n",
        target.display()
    ))
}

/// The plugin home to install into, and the variable it came from. kustomize takes the first of
/// `$KUSTOMIZE_PLUGIN_HOME`, `$XDG_CONFIG_HOME/kustomize/plugin`, `$HOME/.config/kustomize/plugin`,
/// `$HOME/kustomize/plugin` that exists (api/konfig/plugins.go, `DefaultAbsPluginHome`); the first of them
/// that is set is the one that wins once it exists, so that is where the plugin goes.
fn plugin_home(var: impl Fn(&str) -> Option<PathBuf>) -> Result<(PathBuf, String), Failure> {
    if let Some(home) = var("KUSTOMIZE_PLUGIN_HOME") {
        return Ok((home, "$KUSTOMIZE_PLUGIN_HOME".to_owned()));
    }
    if let Some(config) = var("XDG_CONFIG_HOME") {
        return Ok((config.join("kustomize/plugin"), "$XDG_CONFIG_HOME".to_owned()));
    }
    match var("HOME") {
        Some(home) => Ok((home.join(".config/kustomize/plugin"), "$HOME".to_owned())),
        None => Err(Failure::input(
            "cannot tell where kustomize looks for plugins: none of KUSTOMIZE_PLUGIN_HOME, XDG_CONFIG_HOME and HOME is set; pass --dir",
        )),
    }
}

fn copy_self(target: &Path, hint: &str) -> Result<String, Failure> {
    let failed = |what: &str, e: std::io::Error| Failure::input(format!("cannot {what} ({e}); {hint}"));
    let exe = std::env::current_exe().map_err(|e| failed("find this binary", e))?;
    let name = target.file_name().expect("a file name").to_string_lossy();
    let partial = target.with_file_name(format!(".{name}.partial"));
    std::fs::copy(&exe, &partial).map_err(|e| failed(&format!("write {}", partial.display()), e))?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| failed("make it executable", e))?;
    std::fs::rename(&partial, target).map_err(|e| failed(&format!("write {}", target.display()), e))?;
    Ok(format!("installed {}\n", target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(vars: &[(&str, &str)]) -> Result<(PathBuf, String), String> {
        plugin_home(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| PathBuf::from(v))).map_err(|f| f.headline)
    }

    #[test]
    fn the_plugin_goes_where_kustomize_looks_first() {
        let all = [("KUSTOMIZE_PLUGIN_HOME", "/p"), ("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(home(&all).unwrap().0, PathBuf::from("/p"));
        assert_eq!(home(&all[1..]).unwrap().0, PathBuf::from("/x/kustomize/plugin"));
        assert_eq!(home(&all[2..]).unwrap().0, PathBuf::from("/h/.config/kustomize/plugin"));
        assert!(home(&[]).unwrap_err().contains("pass --dir"));
    }
}
