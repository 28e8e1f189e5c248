//! Online profiling: what the adapter saw, to compare with the profile and
//! to re-synthesise from.

use crate::model::Size;
use crate::profile::{Profile, ProfileError};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Latencies observed per (function, size). Recording takes a short lock;
/// it is off the `decide` path.
#[derive(Debug, Default)]
pub struct Observations {
    seen: Mutex<BTreeMap<(String, Size), Vec<f64>>>,
}

impl Observations {
    pub fn record(&self, function: &str, size: Size, latency_ms: f64) {
        let mut g = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        g.entry((function.to_string(), size)).or_default().push(latency_ms);
    }

    pub fn count(&self) -> usize {
        let g = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        g.values().map(Vec::len).sum()
    }

    /// The observations as a profile (to merge with the offline one and re-synthesise).
    pub fn to_profile(&self) -> Result<Profile, ProfileError> {
        let g = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let mut p = Profile::new();
        for ((f, s), v) in g.iter() {
            p.add(f, *s, v.clone(), None)?;
        }
        Ok(p)
    }

    /// Observed mean over profiled mean per (function, size) with at least
    /// `min_samples` observations: > 1 means slower than profiled.
    pub fn drift(&self, profile: &Profile, min_samples: usize) -> Vec<(String, Size, f64)> {
        let g = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for ((f, s), v) in g.iter() {
            if v.len() < min_samples.max(1) {
                continue;
            }
            if let Some(prof) = profile.get(f, s) {
                let pm = prof.latencies.iter().sum::<f64>() / prof.latencies.len() as f64;
                let om = v.iter().sum::<f64>() / v.len() as f64;
                if pm > 0.0 {
                    out.push((f.clone(), *s, om / pm));
                }
            }
        }
        out
    }
}
