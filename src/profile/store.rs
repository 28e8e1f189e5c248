//! A profile: latency samples keyed by (function, size).

use super::{LatencyDist, ProfileError};
use crate::model::{Size, Workflow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The samples of one function at one size, in the order they were measured.
/// `features[i]`, when present, is the input feature value of run `i`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    pub latencies: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    function: String,
    size: Size,
    #[serde(flatten)]
    samples: Samples,
}

/// All measured latencies of a workflow's functions. Every stored sample is
/// validated: finite, non-negative, and every entry is non-empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Entry>", into = "Vec<Entry>")]
pub struct Profile {
    entries: BTreeMap<(String, Size), Samples>,
}

impl TryFrom<Vec<Entry>> for Profile {
    type Error = ProfileError;
    fn try_from(v: Vec<Entry>) -> Result<Self, ProfileError> {
        let mut p = Profile::default();
        for e in v {
            p.add(&e.function, e.size, e.samples.latencies, e.samples.features)?;
        }
        Ok(p)
    }
}

impl From<Profile> for Vec<Entry> {
    fn from(p: Profile) -> Self {
        p.entries.into_iter().map(|((function, size), samples)| Entry { function, size, samples }).collect()
    }
}

impl Profile {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append samples for (function, size). Rejects empty, negative and NaN samples.
    pub fn add(
        &mut self,
        function: &str,
        size: Size,
        latencies: Vec<f64>,
        features: Option<Vec<f64>>,
    ) -> Result<(), ProfileError> {
        let key = || (function.to_string(), size.to_string());
        if latencies.is_empty() {
            let (function, size) = key();
            return Err(ProfileError::Empty { function, size });
        }
        if let Some((index, &value)) = latencies.iter().enumerate().find(|(_, x)| !(x.is_finite() && **x >= 0.0)) {
            let (function, size) = key();
            return Err(ProfileError::BadSample { function, size, index, value });
        }
        if let Some(f) = &features {
            if f.len() != latencies.len() {
                let (function, size) = key();
                return Err(ProfileError::FeatureCount { function, size, latencies: latencies.len(), features: f.len() });
            }
            if let Some((index, &value)) = f.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                let (function, size) = key();
                return Err(ProfileError::BadFeature { function, size, index, value });
            }
        }
        let slot = self.entries.entry((function.to_string(), size)).or_default();
        match (&mut slot.features, features) {
            (Some(mine), Some(theirs)) => mine.extend(theirs),
            (None, Some(theirs)) if slot.latencies.is_empty() => slot.features = Some(theirs),
            // Mixing runs with and without features: the feature is unknown for some runs, drop it.
            (mine @ Some(_), None) => *mine = None,
            _ => {}
        }
        slot.latencies.extend(latencies);
        Ok(())
    }

    pub fn get(&self, function: &str, size: &Size) -> Option<&Samples> {
        self.entries.get(&(function.to_string(), *size))
    }

    /// Samples for (function, size), or a `Missing` error naming them.
    pub fn require(&self, function: &str, size: &Size) -> Result<&Samples, ProfileError> {
        self.get(function, size).ok_or_else(|| ProfileError::Missing {
            function: function.to_string(),
            size: size.to_string(),
        })
    }

    /// Histogram of (function, size), optionally only of runs whose feature is in `[lo, hi)`.
    pub fn dist(
        &self,
        function: &str,
        size: &Size,
        bin_ms: f64,
        feature_range: Option<(f64, f64)>,
    ) -> Result<LatencyDist, ProfileError> {
        let s = self.require(function, size)?;
        match (feature_range, &s.features) {
            (Some((lo, hi)), Some(f)) => {
                let sel: Vec<f64> =
                    s.latencies.iter().zip(f).filter(|(_, &x)| x >= lo && x < hi).map(|(&l, _)| l).collect();
                if sel.is_empty() {
                    return Err(ProfileError::EmptyClass {
                        function: function.to_string(),
                        class: 0,
                        range: format!("[{lo}, {hi})"),
                    });
                }
                LatencyDist::from_samples(&sel, bin_ms)
            }
            _ => LatencyDist::from_samples(&s.latencies, bin_ms),
        }
    }

    /// Every (function, size) key with its samples.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Size, &Samples)> {
        self.entries.iter().map(|((f, s), v)| (f.as_str(), s, v))
    }

    pub fn functions(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.entries.keys().map(|(f, _)| f.as_str()).collect();
        v.dedup();
        v
    }

    pub fn sizes_of(&self, function: &str) -> Vec<Size> {
        self.entries.keys().filter(|(f, _)| f == function).map(|(_, s)| *s).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Check that every (stage, option) of the workflow has samples.
    pub fn check_covers(&self, wf: &Workflow) -> Result<(), ProfileError> {
        for st in wf.stages() {
            for s in &st.options {
                self.require(&st.name, s)?;
            }
        }
        Ok(())
    }

    /// All feature values recorded for a function (pooled over sizes).
    pub fn feature_values(&self, function: &str) -> Vec<f64> {
        self.entries
            .iter()
            .filter(|((f, _), _)| f == function)
            .filter_map(|(_, s)| s.features.as_ref())
            .flatten()
            .copied()
            .collect()
    }

    /// SHA-256 of the canonical JSON form: the provenance of hint sets.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.to_json().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a profile always serializes")
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| format!("at {}: {}", e.path(), e.inner()))
    }

    /// Split every entry into (first `fraction` of samples, the rest), in
    /// measurement order, so profiles and replays can use held-apart data.
    pub fn split(&self, fraction: f64) -> Result<(Profile, Profile), String> {
        let mut a = Profile::new();
        let mut b = Profile::new();
        for ((f, s), v) in &self.entries {
            let n = v.latencies.len();
            let k = ((n as f64) * fraction).round() as usize;
            if k == 0 || k >= n {
                return Err(format!(
                    "function '{f}' at size {s} has {n} samples: too few to split at {fraction} (each part needs at least one)"
                ));
            }
            let cut = |r: std::ops::Range<usize>| Samples {
                latencies: v.latencies[r.clone()].to_vec(),
                features: v.features.as_ref().map(|x| x[r].to_vec()),
            };
            a.entries.insert((f.clone(), *s), cut(0..k));
            b.entries.insert((f.clone(), *s), cut(k..n));
        }
        Ok((a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_samples() {
        let mut p = Profile::new();
        let s = Size::new(1000, 512);
        assert!(matches!(p.add("f", s, vec![], None), Err(ProfileError::Empty { .. })));
        assert!(matches!(p.add("f", s, vec![1.0, -2.0], None), Err(ProfileError::BadSample { index: 1, .. })));
        assert!(matches!(p.add("f", s, vec![f64::NAN], None), Err(ProfileError::BadSample { .. })));
        assert!(matches!(p.add("f", s, vec![1.0], Some(vec![])), Err(ProfileError::FeatureCount { .. })));
        assert!(p.is_empty());
    }

    #[test]
    fn json_round_trip_and_digest_is_stable() {
        let mut p = Profile::new();
        p.add("f", Size::new(1000, 512), vec![1.0, 2.5], Some(vec![3.0, 4.0])).unwrap();
        p.add("g", Size::new(500, 512), vec![7.0], None).unwrap();
        let q = Profile::from_json(&p.to_json()).unwrap();
        assert_eq!(p, q);
        assert_eq!(p.digest(), q.digest());
        assert_eq!(p.digest().len(), 64);
    }

    #[test]
    fn feature_ranges_select_runs() {
        let mut p = Profile::new();
        let s = Size::new(1000, 512);
        p.add("f", s, vec![10.0, 100.0], Some(vec![1.0, 9.0])).unwrap();
        let d = p.dist("f", &s, 10.0, Some((0.0, 5.0))).unwrap();
        assert!((d.mean_ms - 10.0).abs() < 1e-12);
        assert!(p.dist("f", &s, 10.0, Some((20.0, 30.0))).is_err());
    }
}
