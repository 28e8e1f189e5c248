//! Errors of the actuators. Every error that comes from the file system names
//! the path it was about; the binding turns all of them into `ActuationError`.

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
         or use the dry-run actuator (Actuator::dry_run / janus.Actuator.dry_run())"
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
    #[error("no usable cgroup hierarchy: {why}; use the dry-run actuator instead")]
    NoCgroups { why: String },

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

impl ActuateError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        ActuateError::Io { path: path.into(), source }
    }
}
