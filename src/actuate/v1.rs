//! cgroup v1: one hierarchy per controller (cpu, cpuacct, memory), each with
//! its own `janus/<pool>/<worker>` directory.
//!
//! Files written: `cpu.cfs_period_us` (100000), `cpu.cfs_quota_us`
//! (`millis * 100`), `memory.limit_in_bytes`. Swap (`memory.memsw.*`) is not
//! touched: a new cgroup's memsw limit is unlimited, so the memory limit
//! alone bounds RAM, and writing memsw would impose ordering rules
//! (memsw >= limit at every moment) for no gain on hosts without swap.
//!
//! Read back: `cpuacct.usage` (ns), `cpu.stat` (`nr_periods`, `nr_throttled`,
//! `throttled_time` in ns), `memory.max_usage_in_bytes`, and the `oom_kill`
//! line of `memory.oom_control` (Linux >= 4.13). On older kernels without that
//! line, `oom_kills` falls back to `memory.failcnt`, which counts how often
//! the limit was hit (reclaim included), so it over-counts kills: treat a
//! non-zero value as "ran into its limit".

use super::fs::{self, CgroupFs, Res, CGROUP_PROCS, KILL_TIMEOUT, REMOVE_TIMEOUT};
use super::limits::{check_pid, limits};
use super::tree::Tree;
use super::{ActuateError, Actuator, Usage};
use crate::model::Size;
use std::path::{Path, PathBuf};

pub const CPU_CFS_PERIOD: &str = "cpu.cfs_period_us";
pub const CPU_CFS_QUOTA: &str = "cpu.cfs_quota_us";
pub const CPU_STAT: &str = "cpu.stat";
pub const CPUACCT_USAGE: &str = "cpuacct.usage";
pub const MEMORY_LIMIT: &str = "memory.limit_in_bytes";
pub const MEMORY_USAGE: &str = "memory.usage_in_bytes";
pub const MEMORY_MAX_USAGE: &str = "memory.max_usage_in_bytes";
pub const MEMORY_OOM_CONTROL: &str = "memory.oom_control";
pub const MEMORY_FAILCNT: &str = "memory.failcnt";

/// Where the v1 controllers are mounted. When cpu and cpuacct are co-mounted
/// (`/sys/fs/cgroup/cpu,cpuacct`), both fields name the same directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Mounts {
    pub cpu: PathBuf,
    pub cpuacct: PathBuf,
    pub memory: PathBuf,
}

impl V1Mounts {
    /// The usual layout under `base`: `base/cpu`, `base/cpuacct` (or `base/cpu`
    /// if there is no separate cpuacct), `base/memory`.
    pub fn under(base: &Path) -> Self {
        let cpu = base.join("cpu");
        let acct = base.join("cpuacct");
        V1Mounts { cpuacct: if acct.is_dir() { acct } else { cpu.clone() }, cpu, memory: base.join("memory") }
    }
}

#[derive(Debug)]
pub struct CgroupV1 {
    mounts: V1Mounts,
    tree: Tree,
    ncpus: u32,
}

fn no_prepare(_: &Path) -> Res<()> {
    Ok(())
}

impl CgroupV1 {
    /// Actuator over the v1 controllers mounted under `base` (see
    /// [`V1Mounts::under`]) for a machine with `ncpus` online CPUs. Creates
    /// `janus/<pool>` in each hierarchy, so a read-only root fails here with
    /// [`ActuateError::NotWritable`].
    pub fn with_root(base: impl AsRef<Path>, pool: &str, ncpus: u32) -> Result<Self, ActuateError> {
        Self::with_mounts(V1Mounts::under(base.as_ref()), pool, ncpus)
    }

    /// Same with explicit mount points (from `/proc/self/mountinfo`).
    pub fn with_mounts(mounts: V1Mounts, pool: &str, ncpus: u32) -> Result<Self, ActuateError> {
        if ncpus == 0 {
            return Err(ActuateError::BadSize {
                what: "ncpus",
                value: 0,
                why: "a machine has at least one CPU".into(),
            });
        }
        for (controller, p) in [("cpu", &mounts.cpu), ("cpuacct", &mounts.cpuacct), ("memory", &mounts.memory)] {
            if !p.is_dir() {
                return Err(ActuateError::ControllerUnavailable {
                    path: p.clone(),
                    controller,
                    why: "no cgroup v1 hierarchy mounted there".into(),
                });
            }
            fs::require_cgroupfs(p, CgroupFs::V1)?;
        }
        let tree = Tree::new(vec![mounts.cpu.clone(), mounts.cpuacct.clone(), mounts.memory.clone()], pool)?;
        tree.ensure_pool(&no_prepare)?;
        Ok(CgroupV1 { mounts, tree, ncpus })
    }

    pub fn mounts(&self) -> &V1Mounts {
        &self.mounts
    }

    fn write_memory(&self, dir: &Path, limit: u64) -> Res<()> {
        let usage = fs::read_u64(&dir.join(MEMORY_USAGE))?;
        let path = dir.join(MEMORY_LIMIT);
        if limit < usage {
            return Err(ActuateError::MemoryBelowUsage { path, usage, limit });
        }
        match fs::write_existing(&path, &limit.to_string()) {
            // v1 answers EBUSY when it cannot reclaim down to the new limit
            // (usage grew since we read it): same refusal, fresh number.
            Err(ActuateError::Io { source, .. }) if source.raw_os_error() == Some(libc::EBUSY) => {
                let usage = fs::read_u64(&dir.join(MEMORY_USAGE)).unwrap_or(usage);
                Err(ActuateError::MemoryBelowUsage { path, usage, limit })
            }
            other => other,
        }
    }
}

impl Actuator for CgroupV1 {
    fn kind(&self) -> &'static str {
        "cgroup-v1"
    }

    fn pool(&self) -> &str {
        self.tree.pool()
    }

    /// `<mount>/janus/<pool>/<worker>` for cpu, cpuacct (if separate) and memory.
    fn worker_dirs(&self, worker: &str) -> Result<Vec<PathBuf>, ActuateError> {
        self.tree.mounts().iter().map(|m| self.tree.worker_dir(m, worker)).collect()
    }

    fn create(&self, worker: &str) -> Result<(), ActuateError> {
        self.tree.create(worker, &no_prepare)
    }

    fn attach(&self, worker: &str, pid: u32) -> Result<(), ActuateError> {
        check_pid(pid)?;
        // Memory first: the pages it allocates from now on are charged to the worker.
        let dirs: Vec<PathBuf> = [&self.mounts.memory, &self.mounts.cpu, &self.mounts.cpuacct]
            .into_iter()
            .filter(|m| self.tree.mounts().contains(m))
            .map(|m| self.tree.existing(m, worker))
            .collect::<Res<_>>()?;
        for d in dirs {
            fs::write_existing(&d.join(CGROUP_PROCS), &pid.to_string())?;
        }
        Ok(())
    }

    fn kill(&self, worker: &str) -> Result<usize, ActuateError> {
        let dirs: Vec<PathBuf> = self.worker_dirs(worker)?.into_iter().filter(|d| d.is_dir()).collect();
        fs::kill_members(&dirs, KILL_TIMEOUT)
    }

    fn ncpus(&self) -> u32 {
        self.ncpus
    }

    fn apply(&self, worker: &str, size: Size) -> Result<(), ActuateError> {
        let l = limits(size, self.ncpus)?;
        let mem = self.tree.existing(&self.mounts.memory, worker)?;
        let cpu = self.tree.existing(&self.mounts.cpu, worker)?;
        // A failed write changes nothing, so a refused memory limit leaves the
        // previous size in force; only a CPU failure after the memory write
        // leaves a mixed state, which `applied` then reports as unknown.
        self.write_memory(&mem, l.memory_bytes)?;
        let cpu_result = fs::write_existing(&cpu.join(CPU_CFS_PERIOD), &l.cpu_period_us.to_string())
            .and_then(|()| fs::write_existing(&cpu.join(CPU_CFS_QUOTA), &l.cpu_quota_us.to_string()));
        self.tree.state.record_apply(worker, size, cpu_result)
    }

    fn usage(&self, worker: &str) -> Result<Usage, ActuateError> {
        let cpu = self.tree.existing(&self.mounts.cpu, worker)?;
        let acct = self.tree.existing(&self.mounts.cpuacct, worker)?;
        let mem = self.tree.existing(&self.mounts.memory, worker)?;
        let stat = fs::read_keyed(&cpu.join(CPU_STAT))?;
        let get = |k: &str| stat.get(k).copied().unwrap_or(0);
        let oom = fs::read_keyed(&mem.join(MEMORY_OOM_CONTROL))?;
        let oom_kills = match oom.get("oom_kill") {
            Some(&n) => n,
            None => fs::read_u64(&mem.join(MEMORY_FAILCNT))?,
        };
        Ok(Usage {
            cpu_usec: fs::read_u64(&acct.join(CPUACCT_USAGE))? / 1000,
            nr_periods: get("nr_periods"),
            nr_throttled: get("nr_throttled"),
            throttled_usec: get("throttled_time") / 1000,
            memory_peak_bytes: fs::read_u64(&mem.join(MEMORY_MAX_USAGE))?,
            oom_kills,
        })
    }

    fn reset_peak(&self, worker: &str) -> Result<bool, ActuateError> {
        let mem = self.tree.existing(&self.mounts.memory, worker)?;
        fs::write_existing(&mem.join(MEMORY_MAX_USAGE), "0")?;
        Ok(true)
    }

    fn remove(&self, worker: &str) -> Result<(), ActuateError> {
        self.tree.remove(worker, REMOVE_TIMEOUT)
    }

    fn remove_all(&self) -> Result<(), ActuateError> {
        self.tree.remove_all()
    }

    fn applied(&self, worker: &str) -> Option<Size> {
        self.tree.state.applied(worker)
    }
}
