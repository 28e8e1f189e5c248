//! Online profiling: what the adapter saw under the hint set in force, to
//! compare with the profile and to re-synthesise from.
//!
//! Latencies are kept in bounded windows (the last `capacity` runs) per
//! (function, size, input class), so memory stays bounded however long the
//! adapter runs and drift reflects recent behaviour. Every swap of the hint
//! set starts a new *epoch* with empty windows: the runs seen under the old
//! hints (other sizes chosen at other budgets, another class split) are not
//! mixed with the new ones, so a re-synthesis compares like with like.

use crate::model::Size;
use crate::profile::{Profile, ProfileError};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Latencies kept per (function, size, class) unless told otherwise.
pub const DEFAULT_WINDOW: usize = 1024;

/// The last `capacity` latencies of one (function, size, class) with their
/// running sum, so drift checks (run after every workflow run) cost O(keys).
#[derive(Debug, Default)]
struct Window {
    latencies: VecDeque<f64>,
    sum: f64,
    /// Evictions since the sum was last recomputed from scratch: subtracting
    /// evicted values accumulates rounding, so it is redone every `capacity`.
    evicted: usize,
}

impl Window {
    fn push(&mut self, x: f64, capacity: usize) {
        if self.latencies.len() == capacity {
            if let Some(old) = self.latencies.pop_front() {
                self.sum -= old;
                self.evicted += 1;
            }
        }
        self.latencies.push_back(x);
        self.sum += x;
        if self.evicted >= capacity {
            self.sum = self.latencies.iter().sum();
            self.evicted = 0;
        }
    }
}

/// Summary of one window, for metrics and the service's API.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowStats {
    pub function: String,
    pub size: Size,
    /// Input class of the hint set in force, `None` when unconditioned.
    pub class: Option<usize>,
    pub count: usize,
    pub mean_ms: f64,
}

#[derive(Debug, Default)]
struct State {
    epoch: u64,
    /// function -> (size, class) -> window; ordered so output is deterministic.
    windows: BTreeMap<String, BTreeMap<(Size, Option<usize>), Window>>,
    /// Every latency ever recorded, across epochs (a counter for metrics).
    total: u64,
}

/// Bounded windows of observed latencies for the current epoch. Recording
/// takes a short lock; it is off the `decide` path.
#[derive(Debug)]
pub struct Observations {
    state: Mutex<State>,
    capacity: usize,
}

impl Default for Observations {
    fn default() -> Self {
        Observations::with_window(DEFAULT_WINDOW)
    }
}

impl Observations {
    /// Windows of the last `capacity` latencies (at least 1).
    pub fn with_window(capacity: usize) -> Self {
        Observations { state: Mutex::default(), capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn window(&self) -> usize {
        self.capacity
    }

    /// The current epoch: 0 at start, +1 at every [`Observations::next_epoch`].
    pub fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Start a new epoch with empty windows (the hint set was swapped).
    pub fn next_epoch(&self) -> u64 {
        let mut g = self.lock();
        g.epoch += 1;
        g.windows.clear();
        g.epoch
    }

    pub fn record(&self, function: &str, size: Size, class: Option<usize>, latency_ms: f64) {
        let mut g = self.lock();
        Self::push(&mut g, function, size, class, latency_ms, self.capacity);
    }

    /// Record only if `epoch` is still the current one: an observation
    /// validated under one hint set must not land in the next one's windows.
    /// Returns whether it was recorded.
    pub fn record_in(&self, epoch: u64, function: &str, size: Size, class: Option<usize>, latency_ms: f64) -> bool {
        let mut g = self.lock();
        if g.epoch != epoch {
            return false;
        }
        Self::push(&mut g, function, size, class, latency_ms, self.capacity);
        true
    }

    fn push(g: &mut State, function: &str, size: Size, class: Option<usize>, x: f64, capacity: usize) {
        let per_fn = match g.windows.get_mut(function) {
            Some(m) => m,
            None => g.windows.entry(function.to_string()).or_default(),
        };
        per_fn.entry((size, class)).or_default().push(x, capacity);
        g.total += 1;
    }

    /// Observations in the current epoch's windows.
    pub fn count(&self) -> usize {
        self.lock().windows.values().flat_map(|m| m.values()).map(|w| w.latencies.len()).sum()
    }

    /// Observations ever recorded, across epochs and evictions.
    pub fn total(&self) -> u64 {
        self.lock().total
    }

    /// One summary per window of the current epoch.
    pub fn windows(&self) -> Vec<WindowStats> {
        let g = self.lock();
        let mut out = Vec::new();
        for (f, m) in &g.windows {
            for ((size, class), w) in m {
                let count = w.latencies.len();
                out.push(WindowStats {
                    function: f.clone(),
                    size: *size,
                    class: *class,
                    count,
                    mean_ms: w.sum / count as f64,
                });
            }
        }
        out
    }

    /// The latencies of one window, oldest first (to persist or inspect).
    pub fn latencies(&self, function: &str, size: Size, class: Option<usize>) -> Vec<f64> {
        let g = self.lock();
        g.windows
            .get(function)
            .and_then(|m| m.get(&(size, class)))
            .map_or_else(Vec::new, |w| w.latencies.clone().into())
    }

    /// The current windows as a profile, all classes of a (function, size)
    /// together (to merge with the offline one and re-synthesise).
    pub fn to_profile(&self) -> Result<Profile, ProfileError> {
        let g = self.lock();
        let mut p = Profile::new();
        for (f, m) in &g.windows {
            for ((size, _class), w) in m {
                p.add(f, *size, crate::profile::Samples::new(w.latencies.iter().copied().collect()))?;
            }
        }
        Ok(p)
    }

    /// Observed mean over profiled mean per (function, size) with at least
    /// `min_samples` observations in the current windows (all classes
    /// together): > 1 means slower than profiled.
    pub fn drift(&self, profile: &Profile, min_samples: usize) -> Vec<(String, Size, f64)> {
        let g = self.lock();
        let mut out = Vec::new();
        for (f, m) in &g.windows {
            let mut per_size: BTreeMap<Size, (usize, f64)> = BTreeMap::new();
            for ((size, _class), w) in m {
                let e = per_size.entry(*size).or_default();
                e.0 += w.latencies.len();
                e.1 += w.sum;
            }
            for (size, (n, sum)) in per_size {
                if n < min_samples.max(1) {
                    continue;
                }
                if let Some(prof) = profile.get(f, &size) {
                    let pm = prof.latencies.iter().sum::<f64>() / prof.latencies.len() as f64;
                    if pm > 0.0 {
                        out.push((f.clone(), size, sum / n as f64 / pm));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_observed_mean_over_profiled_mean() {
        let o = Observations::default();
        let s = Size::new(1000, 512);
        o.record("f", s, Some(0), 110.0);
        o.record("f", s, Some(1), 130.0);
        let mut p = Profile::new();
        p.add("f", s, crate::profile::Samples::new(vec![60.0, 40.0])).unwrap();
        assert_eq!(o.drift(&p, 2), vec![("f".to_string(), s, 2.4)]);
        assert!(o.drift(&p, 3).is_empty());
        assert_eq!(o.count(), 2);
        assert_eq!(o.windows().len(), 2, "one window per class");
        assert_eq!(o.to_profile().unwrap().get("f", &s).unwrap().latencies, vec![110.0, 130.0]);
    }

    #[test]
    fn windows_are_bounded_and_keep_the_latest() {
        let o = Observations::with_window(3);
        let s = Size::new(500, 256);
        for x in 1..=10 {
            o.record("f", s, None, f64::from(x));
        }
        assert_eq!(o.latencies("f", s, None), vec![8.0, 9.0, 10.0]);
        assert_eq!((o.count(), o.total()), (3, 10));
        assert_eq!(o.windows()[0].mean_ms, 9.0);
    }

    #[test]
    fn running_sum_stays_exact_over_many_evictions() {
        let o = Observations::with_window(7);
        let s = Size::new(500, 256);
        for i in 0..100_000u32 {
            o.record("f", s, None, 0.1 + f64::from(i % 13) * 1e6);
        }
        let direct: f64 = o.latencies("f", s, None).iter().sum::<f64>() / 7.0;
        assert!((o.windows()[0].mean_ms - direct).abs() <= 1e-9 * direct, "{} vs {direct}", o.windows()[0].mean_ms);
    }

    #[test]
    fn a_new_epoch_starts_empty_and_refuses_stale_records() {
        let o = Observations::default();
        let s = Size::new(500, 256);
        let e0 = o.epoch();
        assert!(o.record_in(e0, "f", s, None, 1.0));
        assert_eq!(o.next_epoch(), e0 + 1);
        assert_eq!(o.count(), 0);
        assert!(!o.record_in(e0, "f", s, None, 2.0), "recorded under the old hints");
        assert!(o.record_in(e0 + 1, "f", s, None, 3.0));
        assert_eq!((o.count(), o.total()), (1, 2));
    }
}
