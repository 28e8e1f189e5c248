//! Fake cgroup trees for the unit tests (compiled only with `cfg(test)`).
//!
//! A test registers a temp directory as a fake v1 or v2 root. Below it,
//! `fs` treats plain directories as cgroups: a directory Janus makes gets the
//! files the kernel would show in a fresh cgroup (with the kernel's default
//! values), writing `1` to `cgroup.kill` empties `cgroup.procs`, "killing" a
//! pid removes it from `cgroup.procs` and records it (no signal is sent: the
//! pids in fake trees are made up), and removing a directory unlinks its
//! plain files first. Unregistered directories get none of this, exactly as
//! in a library build.

use super::fs::{CgroupFs, CGROUP_KILL, CGROUP_PROCS};
use super::ActuateError;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

struct Root {
    root: PathBuf,
    version: CgroupFs,
    /// Whether new v2 cgroups get a `cgroup.kill` file (Linux 5.14+).
    cgroup_kill: bool,
    killed: Vec<u32>,
}

static ROOTS: Mutex<Vec<Root>> = Mutex::new(Vec::new());

fn canon(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn with_root<T>(path: &Path, f: impl FnOnce(&mut Root, &Path) -> T) -> Option<T> {
    let p = canon(path);
    let mut roots = ROOTS.lock().unwrap_or_else(|e| e.into_inner());
    let r = roots.iter_mut().find(|r| p.starts_with(&r.root))?;
    let rel = p.strip_prefix(&r.root).unwrap_or(Path::new("")).to_path_buf();
    Some(f(r, &rel))
}

/// Treat everything below `root` as a fake cgroup v1 hierarchy set
/// (`root/<controllers>/...`, one directory per mount).
pub(crate) fn register_v1(root: &Path) {
    register(root, CgroupFs::V1, false);
}

/// Treat everything below `root` as a fake unified hierarchy; `cgroup_kill`
/// says whether the fake kernel offers `cgroup.kill`.
pub(crate) fn register_v2(root: &Path, cgroup_kill: bool) {
    register(root, CgroupFs::V2, cgroup_kill);
}

fn register(root: &Path, version: CgroupFs, cgroup_kill: bool) {
    let mut roots = ROOTS.lock().unwrap_or_else(|e| e.into_inner());
    roots.push(Root { root: canon(root), version, cgroup_kill, killed: Vec::new() });
}

/// The fake version of `path`, if it is below a registered root.
pub(crate) fn version_of(path: &Path) -> Option<CgroupFs> {
    with_root(path, |r, _| r.version)
}

/// Pids "killed" so far under the fake root that holds `path`.
pub(crate) fn killed(path: &Path) -> Vec<u32> {
    with_root(path, |r, _| r.killed.clone()).unwrap_or_default()
}

/// The files (and default contents) of a fresh cgroup at `rel` below the root.
fn kernel_files(version: CgroupFs, cgroup_kill: bool, rel: &Path) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![(CGROUP_PROCS, "")];
    match version {
        CgroupFs::V2 => {
            files.extend([
                ("cgroup.controllers", "cpu memory\n"),
                ("cgroup.subtree_control", "\n"),
                ("cgroup.events", "populated 0\nfrozen 0\n"),
                ("cpu.max", "max 100000\n"),
                (
                    "cpu.stat",
                    "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
                ),
                ("memory.max", "max\n"),
                ("memory.current", "0\n"),
                ("memory.peak", "0\n"),
                ("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
            ]);
            if cgroup_kill {
                files.push((CGROUP_KILL, ""));
            }
        }
        CgroupFs::V1 => {
            // The first component is the mount: "cpu", "memory", "cpu,cpuacct", ...
            let mount = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
            for controller in mount.as_deref().unwrap_or("").split(',') {
                match controller {
                    "cpu" => files.extend([
                        ("cpu.cfs_period_us", "100000\n"),
                        ("cpu.cfs_quota_us", "-1\n"),
                        ("cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"),
                    ]),
                    "cpuacct" => files.push(("cpuacct.usage", "0\n")),
                    "memory" => files.extend([
                        ("memory.limit_in_bytes", "9223372036854771712\n"),
                        ("memory.usage_in_bytes", "0\n"),
                        ("memory.max_usage_in_bytes", "0\n"),
                        ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"),
                        ("memory.failcnt", "0\n"),
                    ]),
                    _ => {}
                }
            }
        }
    }
    files
}

/// After `mkdir` of `dir`: give a fake cgroup its kernel files.
pub(crate) fn populate(dir: &Path) {
    let Some(files) = with_root(dir, |r, rel| kernel_files(r.version, r.cgroup_kill, rel)) else { return };
    for (name, content) in files {
        fs::write(dir.join(name), content).unwrap_or_else(|e| panic!("fake cgroup {}: {e}", dir.display()));
    }
}

/// After a successful write: `cgroup.kill` empties the fake cgroup.
pub(crate) fn after_write(path: &Path, value: &str) {
    if path.file_name().is_some_and(|n| n == CGROUP_KILL) && value.trim() == "1" {
        if let Some(dir) = path.parent() {
            let pids = super::fs::procs(dir).unwrap_or_default();
            let _ = kill(dir, &pids);
        }
    }
}

/// "Kill" `pids` in the fake cgroup `dir`: record them and drop them from `cgroup.procs`.
pub(crate) fn kill(dir: &Path, pids: &[u32]) -> Result<(), ActuateError> {
    let procs = dir.join(CGROUP_PROCS);
    let left: Vec<String> =
        super::fs::procs(dir)?.into_iter().filter(|p| !pids.contains(p)).map(|p| p.to_string()).collect();
    fs::write(&procs, left.join("\n")).map_err(|e| ActuateError::io(&procs, e))?;
    with_root(dir, |r, _| r.killed.extend_from_slice(pids));
    Ok(())
}

/// Before `rmdir` of a fake cgroup: unlink its plain files (the kernel's go with the directory).
pub(crate) fn remove_files(dir: &Path) -> Result<(), ActuateError> {
    if version_of(dir).is_none() {
        return Ok(());
    }
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ActuateError::io(dir, e)),
    };
    for ent in rd.flatten() {
        if ent.file_type().map(|t| t.is_file()).unwrap_or(false) {
            fs::remove_file(ent.path()).map_err(|e| ActuateError::io(ent.path(), e))?;
        }
    }
    Ok(())
}
