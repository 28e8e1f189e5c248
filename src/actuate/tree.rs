//! The Janus-owned part of one or more cgroup hierarchies:
//! `<mount>/janus/<pool>/<worker>` for every mount (one on v2; cpu, cpuacct
//! and memory on v1). Creating and removing directories lives here; what is
//! written into them is the business of `v1` and `v2`.

use super::fs::{self, Res, REMOVE_TIMEOUT};
use super::name::check_name;
use super::state::State;
use super::{ActuateError, JANUS_ROOT};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Called on `janus` and on `janus/<pool>` after they exist (v2 enables its
/// controllers for the children there).
pub(crate) type Prepare<'a> = &'a dyn Fn(&Path) -> Res<()>;

#[derive(Debug)]
pub(crate) struct Tree {
    /// Distinct hierarchy mounts (co-mounted controllers appear once).
    mounts: Vec<PathBuf>,
    pool: String,
    pub(crate) state: State,
}

impl Tree {
    pub(crate) fn new(mounts: Vec<PathBuf>, pool: &str) -> Res<Self> {
        check_name(pool)?;
        let mut distinct: Vec<PathBuf> = Vec::new();
        let mut seen: Vec<PathBuf> = Vec::new();
        for m in mounts {
            let canon = std::fs::canonicalize(&m).unwrap_or_else(|_| m.clone());
            if !seen.contains(&canon) {
                seen.push(canon);
                distinct.push(m);
            }
        }
        Ok(Tree { mounts: distinct, pool: pool.to_string(), state: State::default() })
    }

    pub(crate) fn pool(&self) -> &str {
        &self.pool
    }

    pub(crate) fn mounts(&self) -> &[PathBuf] {
        &self.mounts
    }

    pub(crate) fn janus_dir(mount: &Path) -> PathBuf {
        mount.join(JANUS_ROOT)
    }

    pub(crate) fn pool_dir(&self, mount: &Path) -> PathBuf {
        Self::janus_dir(mount).join(&self.pool)
    }

    /// `<mount>/janus/<pool>/<worker>`, after checking the name (no existence check).
    pub(crate) fn worker_dir(&self, mount: &Path, worker: &str) -> Res<PathBuf> {
        check_name(worker)?;
        Ok(self.pool_dir(mount).join(worker))
    }

    /// The worker's directory under `mount`, which must exist.
    pub(crate) fn existing(&self, mount: &Path, worker: &str) -> Res<PathBuf> {
        let d = self.worker_dir(mount, worker)?;
        if d.is_dir() {
            Ok(d)
        } else {
            Err(ActuateError::UnknownWorker { worker: worker.to_string(), path: d })
        }
    }

    /// Make `<mount>/janus/<pool>` on every mount.
    pub(crate) fn ensure_pool(&self, prepare: Prepare<'_>) -> Res<()> {
        for m in &self.mounts {
            let j = Self::janus_dir(m);
            fs::mkdir(&j)?;
            prepare(&j)?;
            let p = self.pool_dir(m);
            fs::mkdir(&p)?;
            prepare(&p)?;
        }
        Ok(())
    }

    /// Create the worker on every mount; undo what was made if one fails.
    pub(crate) fn create(&self, worker: &str, prepare: Prepare<'_>) -> Res<()> {
        check_name(worker)?;
        let mut made: Vec<PathBuf> = Vec::new();
        let result = (|| {
            for m in &self.mounts {
                let d = self.worker_dir(m, worker)?;
                if d.is_dir() {
                    continue;
                }
                // Another actuator's remove_all may drop an empty pool dir between
                // ensure_pool and mkdir: make the parents again and retry.
                let mut attempts = 0;
                loop {
                    self.ensure_pool(prepare)?;
                    match fs::mkdir(&d) {
                        Err(ActuateError::Io { source, .. })
                            if source.kind() == ErrorKind::NotFound && attempts < 3 =>
                        {
                            attempts += 1;
                        }
                        other => break other?,
                    }
                }
                made.push(d);
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.state.created(worker);
                Ok(())
            }
            Err(e) => {
                for d in made.iter().rev() {
                    let _ = fs::remove_cgroup_dir(d, Duration::ZERO);
                }
                Err(e)
            }
        }
    }

    /// Remove the worker on every mount (missing is fine). Tries all mounts,
    /// returns the first error.
    pub(crate) fn remove(&self, worker: &str, timeout: Duration) -> Res<()> {
        let mut first = None;
        for m in &self.mounts {
            let d = self.worker_dir(m, worker)?;
            if let Err(e) = fs::remove_cgroup_dir(&d, timeout) {
                first.get_or_insert(e);
            }
        }
        match first {
            None => {
                self.state.forget(worker);
                Ok(())
            }
            Some(e) => Err(e),
        }
    }

    /// Every worker directory of the pool (whoever created it), then the
    /// pool, then `janus` if empty.
    pub(crate) fn remove_all(&self) -> Res<()> {
        let mut names: Vec<String> = Vec::new();
        for m in &self.mounts {
            for d in fs::child_dirs(&self.pool_dir(m))? {
                if let Some(n) = d.file_name().and_then(|n| n.to_str()) {
                    if !names.iter().any(|x| x == n) {
                        names.push(n.to_string());
                    }
                }
            }
        }
        let mut first = None;
        for n in &names {
            if check_name(n).is_err() {
                // Not made by Janus (names are always valid): leave it alone.
                continue;
            }
            if let Err(e) = self.remove(n, REMOVE_TIMEOUT) {
                first.get_or_insert(e);
            }
        }
        for m in &self.mounts {
            for d in [self.pool_dir(m), Self::janus_dir(m)] {
                if let Err(e) = fs::remove_if_empty(&d) {
                    first.get_or_insert(e);
                }
            }
        }
        match first {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

impl Drop for Tree {
    /// Best effort on shutdown: remove the (empty) workers this instance
    /// created, then the pool and `janus` if nothing else is in them. Busy
    /// cgroups stay; `gc` removes them once their processes are gone.
    fn drop(&mut self) {
        for w in self.state.created_workers() {
            let _ = self.remove(&w, Duration::ZERO);
        }
        for m in &self.mounts {
            let _ = fs::remove_if_empty(&self.pool_dir(m));
            let _ = fs::remove_if_empty(&Self::janus_dir(m));
        }
    }
}
