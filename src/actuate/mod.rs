//! Actuation: apply a size to a worker (cgroup v1, cgroup v2, dry run).
//!
//! Every worker lives in its own cgroup under a Janus-owned root,
//! `<mount>/janus/<pool>/<worker>` (on v1 under each controller's mount: cpu,
//! cpuacct when mounted separately, memory). Janus creates, writes and removes
//! cgroups only below `<mount>/janus`. Pool and worker names are checked with
//! [`check_name`] so that they cannot leave that root.
//!
//! The usual sequence for one worker is `create`, `apply`, `attach` (the
//! worker's pid; apply before attach so the limits are in force from the
//! first instruction), then per call `reset_peak`, dispatch, `usage`, and at
//! the end: `kill` (every process in the worker's cgroup, found by
//! membership), `remove`. Janus never moves processes out of a cgroup, and
//! `remove` fails with [`ActuateError::Busy`] while processes remain.
//!
//! Kernel files are opened without create, and a directory counts as a
//! cgroup only on a cgroup file system (statfs magic): a plain folder shaped
//! like a cgroup tree is refused, never written into.
//!
//! The layout and the choice of writing the kernel files directly (rather than
//! through the `cgroups-rs` crate) are described in `docs/actuation.md`.

mod detect;
mod dry_run;
mod error;
#[cfg(test)]
mod fake;
mod fs;
mod gc;
mod limits;
mod name;
mod state;
mod tree;
mod v1;
mod v2;

pub use detect::{detect, detect_at, detect_from, parse_mountinfo, MountEntry};
pub use dry_run::DryRun;
pub use error::ActuateError;
pub use gc::gc;
pub use limits::{limits, online_cpus, Limits, CPU_PERIOD_US, MIB};
pub use name::check_name;
pub use v1::{CgroupV1, V1Mounts};
pub use v2::CgroupV2;

use crate::model::Size;
use std::path::PathBuf;

/// Directory directly under each cgroup mount that holds everything Janus creates.
pub const JANUS_ROOT: &str = "janus";

/// Default cgroup mount base.
pub const CGROUP_BASE: &str = "/sys/fs/cgroup";

/// Counters read back from a worker's cgroup. CPU times are cumulative since
/// the cgroup was created; `memory_peak_bytes` is since creation or the last
/// [`Actuator::reset_peak`] that returned `true`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time consumed, microseconds.
    pub cpu_usec: u64,
    /// CFS periods in which the cgroup was runnable.
    pub nr_periods: u64,
    /// Periods in which it was throttled (ran out of quota).
    pub nr_throttled: u64,
    /// Total time throttled, microseconds.
    pub throttled_usec: u64,
    /// Peak memory charged to the cgroup, bytes.
    pub memory_peak_bytes: u64,
    /// OOM kills inside the cgroup (see the v1 notes on `memory.failcnt`).
    pub oom_kills: u64,
}

/// Something that can size workers. Implementations are thread-safe: the
/// mutable bookkeeping (applied sizes) sits behind a lock.
pub trait Actuator: Send + Sync {
    /// `"cgroup-v1"`, `"cgroup-v2"` or `"dry-run"`.
    fn kind(&self) -> &'static str;

    /// True when sizes really limit processes. Only [`DryRun`] says false.
    fn is_real(&self) -> bool {
        true
    }

    /// The pool this actuator manages (`<mount>/janus/<pool>`).
    fn pool(&self) -> &str;

    /// The worker's cgroup directories, one per hierarchy (none for the dry
    /// run), whether or not they exist yet. For logs and tests.
    fn worker_dirs(&self, worker: &str) -> Result<Vec<PathBuf>, ActuateError>;

    /// Create the worker's cgroup (idempotent). On failure nothing half-made is left.
    fn create(&self, worker: &str) -> Result<(), ActuateError>;

    /// Move process `pid` (and its threads) into the worker's cgroup.
    fn attach(&self, worker: &str, pid: u32) -> Result<(), ActuateError>;

    /// SIGKILL every process in the worker's cgroup (found by membership, so
    /// children in new sessions too; `cgroup.kill` on v2 where the kernel has
    /// it) and wait until they are gone. Returns how many were found; fails
    /// with [`ActuateError::Busy`] if some survive. The dry run has no
    /// membership to go by and returns 0: its caller kills what it started.
    fn kill(&self, worker: &str) -> Result<usize, ActuateError>;

    /// The online CPUs sizes are checked against: CPU may be at most
    /// `ncpus * 1000` millicores (see [`online_cpus`]).
    fn ncpus(&self) -> u32;

    /// Write `size` into the worker's cgroup: memory first (refused with
    /// [`ActuateError::MemoryBelowUsage`] when below current usage), then CPU.
    fn apply(&self, worker: &str, size: Size) -> Result<(), ActuateError>;

    /// Read the worker's counters.
    fn usage(&self, worker: &str) -> Result<Usage, ActuateError>;

    /// Restart peak-memory tracking. `Ok(false)` when the kernel cannot do it
    /// (v2 before Linux 6.12): the peak then stays "since creation".
    fn reset_peak(&self, worker: &str) -> Result<bool, ActuateError>;

    /// Remove the worker's cgroup, retrying briefly while the kernel reports
    /// it busy. Fails with [`ActuateError::Busy`] if processes remain.
    fn remove(&self, worker: &str) -> Result<(), ActuateError>;

    /// Remove every worker of the pool, then the pool directory (and the
    /// `janus` directory when no other pool uses it). Tries everything and
    /// returns the first error.
    fn remove_all(&self) -> Result<(), ActuateError>;

    /// The size last applied successfully to this worker by this actuator
    /// (`None` if never, after `remove`, or after an `apply` that failed half-way).
    fn applied(&self, worker: &str) -> Option<Size>;
}

#[cfg(test)]
mod tests;
