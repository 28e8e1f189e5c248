//! The dry-run actuator: the same checks as the real ones, no kernel.
//!
//! It validates names, sizes and pids exactly like the cgroup actuators and
//! records the sizes it was asked to apply, so `applied` answers as for a
//! real actuator. It never limits a process: `attach` only checks its
//! arguments, `usage` returns zeros, `reset_peak` returns false, and
//! `is_real()` is false so that callers (profiler, runner) can refuse to
//! treat its numbers as measurements.

use super::limits::{check_pid, limits, online_cpus};
use super::name::check_name;
use super::state::State;
use super::{ActuateError, Actuator, Usage};
use crate::model::Size;
use std::path::PathBuf;

#[derive(Debug)]
pub struct DryRun {
    pool: String,
    ncpus: u32,
    state: State,
}

impl DryRun {
    /// Dry run for pool `default` on this machine's online CPUs.
    pub fn new() -> Self {
        DryRun { pool: "default".into(), ncpus: online_cpus(), state: State::default() }
    }

    /// Dry run for `pool` validating CPU against `ncpus` CPUs.
    pub fn with_pool(pool: &str, ncpus: u32) -> Result<Self, ActuateError> {
        check_name(pool)?;
        if ncpus == 0 {
            return Err(ActuateError::BadSize {
                what: "ncpus",
                value: 0,
                why: "a machine has at least one CPU".into(),
            });
        }
        Ok(DryRun { pool: pool.into(), ncpus, state: State::default() })
    }

    fn known(&self, worker: &str) -> Result<(), ActuateError> {
        check_name(worker)?;
        if self.state.is_created(worker) {
            Ok(())
        } else {
            Err(ActuateError::UnknownWorker {
                worker: worker.into(),
                path: PathBuf::from(format!("dry-run:{}/{}", self.pool, worker)),
            })
        }
    }
}

impl Default for DryRun {
    fn default() -> Self {
        Self::new()
    }
}

impl Actuator for DryRun {
    fn kind(&self) -> &'static str {
        "dry-run"
    }

    fn is_real(&self) -> bool {
        false
    }

    fn pool(&self) -> &str {
        &self.pool
    }

    fn worker_dirs(&self, worker: &str) -> Result<Vec<PathBuf>, ActuateError> {
        check_name(worker)?;
        Ok(Vec::new())
    }

    fn create(&self, worker: &str) -> Result<(), ActuateError> {
        check_name(worker)?;
        self.state.created(worker);
        Ok(())
    }

    fn attach(&self, worker: &str, pid: u32) -> Result<(), ActuateError> {
        check_pid(pid)?;
        self.known(worker)
    }

    fn kill(&self, worker: &str) -> Result<usize, ActuateError> {
        check_name(worker)?;
        Ok(0)
    }

    fn ncpus(&self) -> u32 {
        self.ncpus
    }

    fn apply(&self, worker: &str, size: Size) -> Result<(), ActuateError> {
        limits(size, self.ncpus)?;
        self.known(worker)?;
        self.state.set_applied(worker, Some(size));
        Ok(())
    }

    fn usage(&self, worker: &str) -> Result<Usage, ActuateError> {
        self.known(worker)?;
        Ok(Usage::default())
    }

    fn reset_peak(&self, worker: &str) -> Result<bool, ActuateError> {
        self.known(worker)?;
        Ok(false)
    }

    fn remove(&self, worker: &str) -> Result<(), ActuateError> {
        check_name(worker)?;
        self.state.forget(worker);
        Ok(())
    }

    fn remove_all(&self) -> Result<(), ActuateError> {
        for w in self.state.created_workers() {
            self.state.forget(&w);
        }
        Ok(())
    }

    fn applied(&self, worker: &str) -> Option<Size> {
        self.state.applied(worker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_but_is_not_real() {
        let d = DryRun::with_pool("p", 2).unwrap();
        assert_eq!(d.kind(), "dry-run");
        assert!(!d.is_real());
        assert!(matches!(d.apply("w", Size::new(100, 64)), Err(ActuateError::UnknownWorker { .. })));
        d.create("w").unwrap();
        d.apply("w", Size::new(100, 64)).unwrap();
        assert_eq!(d.applied("w"), Some(Size::new(100, 64)));
        assert!(matches!(d.apply("w", Size::new(2001, 64)), Err(ActuateError::BadSize { .. })));
        assert_eq!(d.applied("w"), Some(Size::new(100, 64)));
        d.attach("w", 1).unwrap();
        assert!(d.attach("w", 0).is_err());
        assert_eq!(d.usage("w").unwrap(), Usage::default());
        assert!(!d.reset_peak("w").unwrap());
        assert!(d.create("../x").is_err());
        d.remove_all().unwrap();
        assert_eq!(d.applied("w"), None);
    }
}
