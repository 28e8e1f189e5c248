//! Errors of the actuators. Every error that comes from the file system names
//! the path it was about. The binding turns them into `ActuationError` (with
//! `kind` and `path` attributes) or one of its subclasses for the variants a
//! caller acts on: `MemoryBelowUsageError`, `CgroupBusyError`,
//! `CgroupsUnavailableError`.

use std::io;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ActuateError {
    /// A pool or worker name that could escape the Janus root or is not a plain name.
    #[error("bad cgroup name {name:?}: {why}")]
    BadName { name: String, why: &'static str },

    /// A size that the kernel would refuse or that makes no sense on this machine.
    #[error("bad size: {what} = {value}: {why}")]
    BadSize { what: &'static str, value: u64, why: String },

    /// A pid that cannot be attached (0 would move the caller itself).
    #[error("bad pid {pid}: {why}")]
    BadPid { pid: u32, why: &'static str },

    /// Lowering the memory limit below what the cgroup already uses would make
    /// the kernel reclaim or OOM-kill the worker; Janus refuses instead.
    #[error(
        "refusing to set memory limit {limit} bytes on {path}: the cgroup already uses {usage} bytes \
         (lowering below usage could OOM-kill the worker; pick a larger size or restart the worker)"
    )]
    MemoryBelowUsage { path: PathBuf, usage: u64, limit: u64 },

    /// The cgroup root cannot be written: not root, read-only mount, no delegation.
    #[error(
        "cgroup root {path} is not writable ({source}); run as root with a writable /sys/fs/cgroup \
         or use the dry-run actuator ({hint})",
        hint = DRY_RUN_HINT
    )]
    NotWritable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A controller Janus needs is not mounted or not enabled for the Janus root.
    #[error("cgroup controller {controller:?} is not available at {path}: {why}")]
    ControllerUnavailable { path: PathBuf, controller: &'static str, why: String },

    /// No usable cgroup hierarchy on this machine.
    #[error("no usable cgroup hierarchy: {why}; use the dry-run actuator instead ({hint})", hint = DRY_RUN_HINT)]
    NoCgroups { why: String },

    /// A directory that should be (in) a cgroup hierarchy is on another file
    /// system: Janus never creates kernel files, so it refuses plain folders.
    #[error(
        "{path} is not on a {expected} file system (statfs type {found:#x}); Janus only writes into \
         real cgroup trees ({hint})",
        hint = DRY_RUN_HINT
    )]
    NotCgroupfs { path: PathBuf, expected: &'static str, found: i64 },

    /// `apply`, `attach`, `usage`... on a worker that was never created (or was removed).
    #[error("worker {worker:?} has no cgroup at {path} (call create first)")]
    UnknownWorker { worker: String, path: PathBuf },

    /// The cgroup still holds processes (or the kernel still reports it busy).
    #[error("cgroup {path} is busy: {why}; kill its processes before removing it")]
    Busy { path: PathBuf, why: String },

    /// Any other file-system error, with the path it happened on.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A kernel file whose content Janus could not parse.
    #[error("{path}: cannot parse {content:?}: {why}")]
    Parse { path: PathBuf, content: String, why: &'static str },
}

/// Where the dry run is, for messages that point to it.
const DRY_RUN_HINT: &str = "actuate::DryRun in Rust; WorkerPool(..., dry_run=True) or \
     janus.runtime.default_actuator(pool, dry_run=True) in Python";

impl ActuateError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        ActuateError::Io { path: path.into(), source }
    }

    /// A stable snake_case name of the variant, for callers that branch on it
    /// (Python's `ActuationError.kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            ActuateError::BadName { .. } => "bad_name",
            ActuateError::BadSize { .. } => "bad_size",
            ActuateError::BadPid { .. } => "bad_pid",
            ActuateError::MemoryBelowUsage { .. } => "memory_below_usage",
            ActuateError::NotWritable { .. } => "not_writable",
            ActuateError::ControllerUnavailable { .. } => "controller_unavailable",
            ActuateError::NoCgroups { .. } => "no_cgroups",
            ActuateError::NotCgroupfs { .. } => "not_cgroupfs",
            ActuateError::UnknownWorker { .. } => "unknown_worker",
            ActuateError::Busy { .. } => "busy",
            ActuateError::Io { .. } => "io",
            ActuateError::Parse { .. } => "parse",
        }
    }

    /// The file or directory the error is about, when there is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            ActuateError::MemoryBelowUsage { path, .. }
            | ActuateError::NotWritable { path, .. }
            | ActuateError::ControllerUnavailable { path, .. }
            | ActuateError::NotCgroupfs { path, .. }
            | ActuateError::UnknownWorker { path, .. }
            | ActuateError::Busy { path, .. }
            | ActuateError::Io { path, .. }
            | ActuateError::Parse { path, .. } => Some(path),
            ActuateError::BadName { .. }
            | ActuateError::BadSize { .. }
            | ActuateError::BadPid { .. }
            | ActuateError::NoCgroups { .. } => None,
        }
    }
}
