//! Removal of leftover Janus cgroups (a killed run, a crashed worker pool).

use super::fs::{self, Res};
use super::name::check_name;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Remove every empty cgroup under `<base>/<janus_root>` and
/// `<base>/<controller>/<janus_root>` (each v1 controller mount), depth
/// first, the `janus_root` directories included once they are empty.
///
/// Only directories below a `janus_root` directory on a cgroup file system
/// (statfs magic) are ever touched; symlinks (such as v1's `cpu ->
/// cpu,cpuacct`) are not followed. Cgroups
/// that still hold processes (or child cgroups that do) are left in place,
/// as are directories the kernel refuses to remove. Returns the removed
/// directories, deepest first.
pub fn gc(base: impl AsRef<Path>, janus_root: &str) -> Result<Vec<PathBuf>, super::ActuateError> {
    check_name(janus_root)?;
    let base = base.as_ref();
    let mut roots = vec![base.join(janus_root)];
    for d in fs::child_dirs(base)? {
        roots.push(d.join(janus_root));
    }
    let mut removed = Vec::new();
    for r in roots {
        let is_dir = std::fs::symlink_metadata(&r).map(|m| m.is_dir()).unwrap_or(false);
        if is_dir && fs::cgroupfs(&r).is_some() {
            sweep(&r, &mut removed)?;
        }
    }
    Ok(removed)
}

fn sweep(dir: &Path, removed: &mut Vec<PathBuf>) -> Res<()> {
    for child in fs::child_dirs(dir)? {
        sweep(&child, removed)?;
    }
    if fs::child_dirs(dir)?.is_empty()
        && fs::procs(dir)?.is_empty()
        && fs::remove_cgroup_dir(dir, Duration::from_millis(50)).is_ok()
    {
        removed.push(dir.to_path_buf());
    }
    Ok(())
}
