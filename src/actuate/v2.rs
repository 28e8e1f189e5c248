//! cgroup v2: one unified hierarchy, `<mount>/janus/<pool>/<worker>`.
//!
//! The `cpu` and `memory` controllers must already be enabled in
//! `<mount>/cgroup.subtree_control` (systemd does this on the host root).
//! Janus does not write outside its root, so when they are not enabled it
//! stops with [`ActuateError::ControllerUnavailable`]. Inside its root it
//! enables them (`+cpu +memory`) in `janus` and `janus/<pool>`.
//!
//! Files written: `memory.max`, `cpu.max` (`"<millis*100> 100000"`), and
//! `cgroup.kill` to kill a worker's processes (where the kernel has it). Swap
//! (`memory.swap.max`) is left as inherited. Read back: `cpu.stat`
//! (`usage_usec`, `nr_periods`, `nr_throttled`, `throttled_usec`),
//! `memory.peak` and the `oom_kill` line of `memory.events`.
//!
//! Peak memory: `memory.peak` exists since Linux 5.19. Without it,
//! `memory_peak_bytes` falls back to `memory.current` at the time of reading
//! (a lower bound of the peak). Since Linux 6.12 writing to `memory.peak`
//! resets it *for the file descriptor that was written*: `reset_peak` keeps
//! that descriptor open and `usage` reads through it until the worker is
//! removed. Older kernels refuse the write and `reset_peak` returns false.

use super::fs::{self, CgroupFs, Res, CGROUP_PROCS, KILL_TIMEOUT, REMOVE_TIMEOUT};
use super::limits::{check_pid, limits};
use super::tree::Tree;
use super::{ActuateError, Actuator, Usage};
use crate::model::Size;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const CGROUP_CONTROLLERS: &str = "cgroup.controllers";
pub const CGROUP_SUBTREE_CONTROL: &str = "cgroup.subtree_control";
pub const CPU_MAX: &str = "cpu.max";
pub const CPU_STAT: &str = "cpu.stat";
pub const MEMORY_MAX: &str = "memory.max";
pub const MEMORY_CURRENT: &str = "memory.current";
pub const MEMORY_PEAK: &str = "memory.peak";
pub const MEMORY_EVENTS: &str = "memory.events";

/// Controllers Janus needs.
const NEEDED: [&str; 2] = ["cpu", "memory"];

#[derive(Debug)]
pub struct CgroupV2 {
    base: PathBuf,
    tree: Tree,
    ncpus: u32,
    /// Open `memory.peak` descriptors after a successful reset, per worker.
    peaks: Mutex<HashMap<String, File>>,
}

fn enable_controllers(dir: &Path) -> Res<()> {
    let p = dir.join(CGROUP_SUBTREE_CONTROL);
    let on = fs::read(&p).unwrap_or_default();
    if NEEDED.iter().all(|c| on.split_whitespace().any(|x| x == *c)) {
        return Ok(());
    }
    fs::write_existing(&p, "+cpu +memory")
}

fn words(path: &Path) -> Res<Vec<String>> {
    Ok(fs::read(path)?.split_whitespace().map(str::to_string).collect())
}

impl CgroupV2 {
    /// Actuator over the unified hierarchy mounted at `base` for a machine
    /// with `ncpus` online CPUs. Checks the controllers and creates
    /// `janus/<pool>`; a read-only root fails here with
    /// [`ActuateError::NotWritable`].
    pub fn with_root(base: impl AsRef<Path>, pool: &str, ncpus: u32) -> Result<Self, ActuateError> {
        let base = base.as_ref().to_path_buf();
        if ncpus == 0 {
            return Err(ActuateError::BadSize {
                what: "ncpus",
                value: 0,
                why: "a machine has at least one CPU".into(),
            });
        }
        fs::require_cgroupfs(&base, CgroupFs::V2)?;
        let available = words(&base.join(CGROUP_CONTROLLERS))?;
        let enabled = words(&base.join(CGROUP_SUBTREE_CONTROL))?;
        for c in NEEDED {
            if !available.iter().any(|x| x == c) {
                return Err(ActuateError::ControllerUnavailable {
                    path: base.join(CGROUP_CONTROLLERS),
                    controller: c,
                    why: "not listed: the kernel or the parent cgroup does not provide it here".into(),
                });
            }
            if !enabled.iter().any(|x| x == c) {
                let p = base.join(CGROUP_SUBTREE_CONTROL);
                return Err(ActuateError::ControllerUnavailable {
                    why: format!(
                        "not enabled for child cgroups; enable it with `echo +{c} > {}` \
                         (Janus does not change cgroups outside its own root)",
                        p.display()
                    ),
                    path: p,
                    controller: c,
                });
            }
        }
        let tree = Tree::new(vec![base.clone()], pool)?;
        tree.ensure_pool(&enable_controllers)?;
        Ok(CgroupV2 { base, tree, ncpus, peaks: Mutex::new(HashMap::new()) })
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `<base>/janus/<pool>/<worker>`.
    pub fn worker_dir(&self, worker: &str) -> Result<PathBuf, ActuateError> {
        self.tree.worker_dir(&self.base, worker)
    }

    fn dir(&self, worker: &str) -> Res<PathBuf> {
        self.tree.existing(&self.base, worker)
    }

    fn peaks(&self) -> std::sync::MutexGuard<'_, HashMap<String, File>> {
        self.peaks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_peak(&self, worker: &str, dir: &Path) -> Res<u64> {
        let path = dir.join(MEMORY_PEAK);
        if let Some(f) = self.peaks().get_mut(worker) {
            let mut s = String::new();
            f.seek(SeekFrom::Start(0))
                .and_then(|_| f.read_to_string(&mut s))
                .map_err(|e| ActuateError::io(&path, e))?;
            return fs::parse_u64(&path, &s);
        }
        match fs::read_u64(&path) {
            Err(ActuateError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                fs::read_u64(&dir.join(MEMORY_CURRENT))
            }
            other => other,
        }
    }
}

impl Actuator for CgroupV2 {
    fn kind(&self) -> &'static str {
        "cgroup-v2"
    }

    fn pool(&self) -> &str {
        self.tree.pool()
    }

    fn worker_dirs(&self, worker: &str) -> Result<Vec<PathBuf>, ActuateError> {
        Ok(vec![self.worker_dir(worker)?])
    }

    fn create(&self, worker: &str) -> Result<(), ActuateError> {
        self.tree.create(worker, &enable_controllers)
    }

    fn attach(&self, worker: &str, pid: u32) -> Result<(), ActuateError> {
        check_pid(pid)?;
        fs::write_existing(&self.dir(worker)?.join(CGROUP_PROCS), &pid.to_string())
    }

    fn kill(&self, worker: &str) -> Result<usize, ActuateError> {
        let dir = self.worker_dir(worker)?;
        if !dir.is_dir() {
            return Ok(0);
        }
        fs::kill_members(&[dir], KILL_TIMEOUT)
    }

    fn ncpus(&self) -> u32 {
        self.ncpus
    }

    fn apply(&self, worker: &str, size: Size) -> Result<(), ActuateError> {
        let l = limits(size, self.ncpus)?;
        let dir = self.dir(worker)?;
        let usage = fs::read_u64(&dir.join(MEMORY_CURRENT))?;
        let mem_path = dir.join(MEMORY_MAX);
        if l.memory_bytes < usage {
            return Err(ActuateError::MemoryBelowUsage { path: mem_path, usage, limit: l.memory_bytes });
        }
        // v2 does not refuse a limit below usage: it reclaims and, failing that,
        // OOM-kills. Usage can only have grown in the microseconds since the
        // check if the worker is running, which is why sizes change between calls.
        fs::write_existing(&mem_path, &l.memory_bytes.to_string())?;
        let cpu_result = fs::write_existing(&dir.join(CPU_MAX), &format!("{} {}", l.cpu_quota_us, l.cpu_period_us));
        self.tree.state.record_apply(worker, size, cpu_result)
    }

    fn usage(&self, worker: &str) -> Result<Usage, ActuateError> {
        let dir = self.dir(worker)?;
        let stat_path = dir.join(CPU_STAT);
        let stat = fs::read_keyed(&stat_path)?;
        let get = |k: &str| stat.get(k).copied().unwrap_or(0);
        let Some(&cpu_usec) = stat.get("usage_usec") else {
            return Err(ActuateError::Parse { path: stat_path, content: String::new(), why: "no usage_usec line" });
        };
        let events = fs::read_keyed(&dir.join(MEMORY_EVENTS))?;
        Ok(Usage {
            cpu_usec,
            nr_periods: get("nr_periods"),
            nr_throttled: get("nr_throttled"),
            throttled_usec: get("throttled_usec"),
            memory_peak_bytes: self.read_peak(worker, &dir)?,
            oom_kills: events.get("oom_kill").copied().unwrap_or(0),
        })
    }

    fn reset_peak(&self, worker: &str) -> Result<bool, ActuateError> {
        let path = self.dir(worker)?.join(MEMORY_PEAK);
        let opened = OpenOptions::new().read(true).write(true).open(&path);
        let mut f = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EINVAL)) => {
                return Ok(false)
            }
            Err(e) => return Err(ActuateError::io(path, e)),
        };
        match f.write_all(b"reset\n") {
            Ok(()) => {
                self.peaks().insert(worker.to_string(), f);
                Ok(true)
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EINVAL)) => {
                Ok(false)
            }
            Err(e) => Err(ActuateError::io(path, e)),
        }
    }

    fn remove(&self, worker: &str) -> Result<(), ActuateError> {
        // An open memory.peak descriptor does not pin the cgroup, but drop it anyway.
        self.peaks().remove(worker);
        self.tree.remove(worker, REMOVE_TIMEOUT)
    }

    fn remove_all(&self) -> Result<(), ActuateError> {
        self.peaks().clear();
        self.tree.remove_all()
    }

    fn applied(&self, worker: &str) -> Option<Size> {
        self.tree.state.applied(worker)
    }
}
