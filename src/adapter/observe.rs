//! Online profiling: what the adapter saw, to compare with the profile and
//! to re-synthesise from.

use crate::model::Size;
use crate::profile::{Profile, ProfileError};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The latencies of one (function, size), with their running sum so that
/// drift checks (run after every workflow run) cost O(keys), not O(history).
#[derive(Debug, Default)]
struct Seen {
    latencies: Vec<f64>,
    sum: f64,
}

/// Latencies observed per (function, size). Recording takes a short lock;
/// it is off the `decide` path.
#[derive(Debug, Default)]
pub struct Observations {
    seen: Mutex<BTreeMap<(String, Size), Seen>>,
}

impl Observations {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, Size), Seen>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn record(&self, function: &str, size: Size, latency_ms: f64) {
        let mut g = self.lock();
        let s = g.entry((function.to_string(), size)).or_default();
        s.latencies.push(latency_ms);
        s.sum += latency_ms;
    }

    pub fn count(&self) -> usize {
        self.lock().values().map(|s| s.latencies.len()).sum()
    }

    /// The observations as a profile (to merge with the offline one and re-synthesise).
    pub fn to_profile(&self) -> Result<Profile, ProfileError> {
        let g = self.lock();
        let mut p = Profile::new();
        for ((f, s), v) in g.iter() {
            p.add(f, *s, crate::profile::Samples::new(v.latencies.clone()))?;
        }
        Ok(p)
    }

    /// Observed mean over profiled mean per (function, size) with at least
    /// `min_samples` observations: > 1 means slower than profiled.
    pub fn drift(&self, profile: &Profile, min_samples: usize) -> Vec<(String, Size, f64)> {
        let g = self.lock();
        let mut out = Vec::new();
        for ((f, s), v) in g.iter() {
            let n = v.latencies.len();
            if n < min_samples.max(1) {
                continue;
            }
            if let Some(prof) = profile.get(f, s) {
                let pm = prof.latencies.iter().sum::<f64>() / prof.latencies.len() as f64;
                if pm > 0.0 {
                    out.push((f.clone(), *s, v.sum / n as f64 / pm));
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
        for x in [110.0, 130.0] {
            o.record("f", s, x);
        }
        let mut p = Profile::new();
        p.add("f", s, crate::profile::Samples::new(vec![60.0, 40.0])).unwrap();
        assert_eq!(o.drift(&p, 2), vec![("f".to_string(), s, 2.4)]);
        assert!(o.drift(&p, 3).is_empty());
        assert_eq!(o.count(), 2);
        assert_eq!(o.to_profile().unwrap().get("f", &s).unwrap().latencies, vec![110.0, 130.0]);
    }
}
