//! `spinnaker-krm install DIR`: the init container of the argocd-cm route. It copies this binary into DIR,
//! an emptyDir the repo-server mounts at /usr/local/bin/spinnaker-krm, so the repo-server's own kustomize
//! can run it as an exec KRM function (the KSOPS pattern). It needs no shell and no `cp` in the image.

use crate::failure::Failure;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The file name the binary gets in DIR.
const NAME: &str = "spinnaker-krm";

pub fn run(dir: &Path) -> Result<String, Failure> {
    let failed = |what: &str, e: std::io::Error| {
        Failure::input(format!("cannot {what} ({e}); mount a writable emptyDir at {} (see argocd-cm/)", dir.display()))
    };
    let exe = std::env::current_exe().map_err(|e| failed("find this binary", e))?;
    let target = dir.join(NAME);
    // Copy beside the target, then rename: the repo-server never sees a half-written binary.
    let partial = dir.join(format!(".{NAME}.partial"));
    std::fs::copy(&exe, &partial).map_err(|e| failed(&format!("write {}", partial.display()), e))?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| failed("make it executable", e))?;
    std::fs::rename(&partial, &target).map_err(|e| failed(&format!("write {}", target.display()), e))?;
    Ok(format!("installed {}\n", target.display()))
}
