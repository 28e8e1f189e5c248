//! In-memory bookkeeping shared by the actuators: which workers this instance
//! created and which size it last applied to each.

use crate::model::Size;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Default)]
pub(crate) struct State {
    applied: Mutex<HashMap<String, Size>>,
    created: Mutex<BTreeSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    pub(crate) fn applied(&self, worker: &str) -> Option<Size> {
        lock(&self.applied).get(worker).copied()
    }

    pub(crate) fn set_applied(&self, worker: &str, size: Option<Size>) {
        let mut m = lock(&self.applied);
        match size {
            Some(s) => m.insert(worker.to_string(), s),
            None => m.remove(worker),
        };
    }

    /// Record the outcome of writing `size`: applied, or unknown after a
    /// failed write (a half-applied size is not reported as applied).
    pub(crate) fn record_apply<E>(&self, worker: &str, size: Size, result: Result<(), E>) -> Result<(), E> {
        self.set_applied(worker, result.is_ok().then_some(size));
        result
    }

    pub(crate) fn created(&self, worker: &str) {
        lock(&self.created).insert(worker.to_string());
    }

    pub(crate) fn is_created(&self, worker: &str) -> bool {
        lock(&self.created).contains(worker)
    }

    pub(crate) fn forget(&self, worker: &str) {
        lock(&self.created).remove(worker);
        lock(&self.applied).remove(worker);
    }

    pub(crate) fn created_workers(&self) -> Vec<String> {
        lock(&self.created).iter().cloned().collect()
    }
}
