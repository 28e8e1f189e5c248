//! A profile: latency samples keyed by (function, size), each sample
//! optionally tagged with the request it was measured on and that request's
//! features.

use super::ProfileError;
use crate::model::{is_latency_ms, Size, Workflow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The samples of one function at one size, in the order they were measured.
///
/// `keys[i]`, when present, names the request sample `i` was measured on:
/// samples of different functions and sizes with the same key are the same
/// request, which is what lets a replay walk one held-out request through
/// every stage at every size with no synthetic coupling. `features[i]`, when
/// present, is that request's feature vector (the profile's
/// [`Profile::feature_names`] order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    pub latencies: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<Vec<f64>>>,
}

impl Samples {
    /// Plain latencies, no keys, no features.
    pub fn new(latencies: Vec<f64>) -> Self {
        Samples { latencies, keys: None, features: None }
    }
    pub fn with_keys(mut self, keys: Vec<String>) -> Self {
        self.keys = Some(keys);
        self
    }
    pub fn with_features(mut self, features: Vec<Vec<f64>>) -> Self {
        self.features = Some(features);
        self
    }
    pub fn len(&self) -> usize {
        self.latencies.len()
    }
    pub fn is_empty(&self) -> bool {
        self.latencies.is_empty()
    }
    pub fn mean(&self) -> f64 {
        self.latencies.iter().sum::<f64>() / self.latencies.len().max(1) as f64
    }
    /// The samples at positions `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Samples {
        Samples {
            latencies: idx.iter().map(|&i| self.latencies[i]).collect(),
            keys: self.keys.as_ref().map(|k| idx.iter().map(|&i| k[i].clone()).collect()),
            features: self.features.as_ref().map(|f| idx.iter().map(|&i| f[i].clone()).collect()),
        }
    }
}

/// All measured latencies of a workflow's functions. Every stored sample is
/// validated: finite, non-negative latencies; every entry non-empty; keys and
/// feature vectors (when present) one per latency, features finite and of the
/// profile's dimension.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    feature_names: Vec<String>,
    entries: BTreeMap<(String, Size), Samples>,
}

impl Profile {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty profile whose samples carry these request features.
    pub fn with_features(names: Vec<String>) -> Self {
        Profile { feature_names: names, entries: BTreeMap::new() }
    }

    /// Names of the request features the samples carry (may be empty).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// An empty profile whose samples carry these request features, named as
    /// a workflow's are (not empty, no '..', no repeats).
    pub fn named(names: Vec<String>) -> Result<Self, ProfileError> {
        check_feature_names(&names)?;
        Ok(Self::with_features(names))
    }

    /// Rename the features (same count), e.g. to match a workflow's names.
    pub fn set_feature_names(&mut self, names: Vec<String>) -> Result<(), ProfileError> {
        check_feature_names(&names)?;
        let has = self.entries.values().any(|s| s.features.is_some());
        if has && names.len() != self.feature_names.len() {
            return Err(ProfileError::FeatureNames {
                profile: self.feature_names.clone(),
                given: names,
                why: "the samples carry a different number of features",
            });
        }
        self.feature_names = names;
        Ok(())
    }

    /// Append samples for (function, size). Rejects empty, negative and NaN
    /// latencies, keys or features of the wrong count, non-finite features.
    pub fn add(&mut self, function: &str, size: Size, batch: Samples) -> Result<(), ProfileError> {
        let key = || (function.to_string(), size.to_string());
        let n = batch.latencies.len();
        if n == 0 {
            let (function, size) = key();
            return Err(ProfileError::Empty { function, size });
        }
        if let Err(why) = crate::model::check_size(&size) {
            let (function, size) = key();
            return Err(ProfileError::BadSize { function, size, why });
        }
        if let Some((index, &value)) = batch.latencies.iter().enumerate().find(|(_, x)| !is_latency_ms(**x)) {
            let (function, size) = key();
            return Err(ProfileError::BadSample { function, size, index, value });
        }
        if let Some(k) = &batch.keys {
            if k.len() != n {
                let (function, size) = key();
                return Err(ProfileError::Count { function, size, what: "keys", latencies: n, count: k.len() });
            }
            if let Some(index) = k.iter().position(|x| x.is_empty() || x.len() > MAX_KEY_LEN) {
                let (function, size) = key();
                return Err(ProfileError::BadKey { function, size, index, max: MAX_KEY_LEN });
            }
        }
        if let Some(f) = &batch.features {
            if f.len() != n {
                let (function, size) = key();
                return Err(ProfileError::Count {
                    function,
                    size,
                    what: "feature vectors",
                    latencies: n,
                    count: f.len(),
                });
            }
            if self.feature_names.is_empty() && !f[0].is_empty() {
                // Unnamed features (a CSV `feature` column, a numpy pair): name them by position.
                self.feature_names = default_feature_names(f[0].len());
            }
            let dim = self.feature_names.len();
            for (index, v) in f.iter().enumerate() {
                if v.len() != dim {
                    let (function, size) = key();
                    return Err(ProfileError::FeatureDim { function, size, index, found: v.len(), expected: dim });
                }
                if let Some(&value) = v.iter().find(|x| !x.is_finite()) {
                    let (function, size) = key();
                    return Err(ProfileError::BadFeature { function, size, index, value });
                }
            }
        }
        let slot = self.entries.entry((function.to_string(), size)).or_default();
        let fresh = slot.latencies.is_empty();
        // Mixing samples with and without keys (features): unknown for some, drop them.
        merge_column(&mut slot.keys, batch.keys, fresh);
        merge_column(&mut slot.features, batch.features, fresh);
        slot.latencies.extend(batch.latencies);
        Ok(())
    }

    /// Add every sample of `other` (its feature names must match when both have features).
    pub fn merge(&mut self, other: &Profile) -> Result<(), ProfileError> {
        let theirs = other.entries.values().any(|s| s.features.is_some());
        let mine = self.entries.values().any(|s| s.features.is_some());
        if theirs && mine && other.feature_names != self.feature_names {
            return Err(ProfileError::FeatureNames {
                profile: self.feature_names.clone(),
                given: other.feature_names.clone(),
                why: "the profiles carry different request features",
            });
        }
        if theirs && !mine {
            self.feature_names = other.feature_names.clone();
        }
        for ((f, s), v) in &other.entries {
            self.add(f, *s, v.clone())?;
        }
        Ok(())
    }

    pub fn get(&self, function: &str, size: &Size) -> Option<&Samples> {
        self.entries.get(&(function.to_string(), *size))
    }

    /// Samples for (function, size), or a `Missing` error naming them.
    pub fn require(&self, function: &str, size: &Size) -> Result<&Samples, ProfileError> {
        self.get(function, size)
            .ok_or_else(|| ProfileError::Missing { function: function.to_string(), size: size.to_string() })
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

    /// Total number of samples.
    pub fn sample_count(&self) -> usize {
        self.entries.values().map(Samples::len).sum()
    }

    /// Check that every (stage, option) of the workflow has samples, that no
    /// sample names a function the workflow lacks, and that the workflow's
    /// request features are the ones the samples carry (where they carry any).
    pub fn check_covers(&self, wf: &Workflow) -> Result<(), ProfileError> {
        for f in self.functions() {
            if wf.stage_index(f).is_none() {
                let known = wf.stages().iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
                return Err(ProfileError::UnknownFunction { function: f.to_string(), known });
            }
        }
        for st in wf.stages() {
            for s in &st.options {
                self.require(&st.name, s)?;
            }
        }
        let carries = self.entries.values().any(|s| s.features.is_some());
        if carries && !wf.features().is_empty() && wf.features() != self.feature_names.as_slice() {
            return Err(ProfileError::FeatureNames {
                profile: self.feature_names.clone(),
                given: wf.features().to_vec(),
                why: "the workflow declares other request features than the profile's samples carry",
            });
        }
        Ok(())
    }

    /// Mutable access for the importers and splits of this module.
    pub(super) fn entries_mut(&mut self) -> &mut BTreeMap<(String, Size), Samples> {
        &mut self.entries
    }

    /// SHA-256 of the canonical JSON form: the provenance of hint sets.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.to_json().as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&ProfileFile::from(self)).expect("a profile always serializes")
    }

    /// Parse the JSON form (this version's object, or version 1's bare list of entries).
    pub fn from_json(text: &str) -> Result<Self, String> {
        // Which version decides the shape; then errors can name the JSON path.
        let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("at $: {e}"))?;
        let path_err = |e: serde_path_to_error::Error<serde_json::Error>| format!("at {}: {}", e.path(), e.inner());
        let any = if raw.is_array() {
            AnyProfileFile::V1(serde_path_to_error::deserialize(raw).map_err(path_err)?)
        } else {
            AnyProfileFile::V2(serde_path_to_error::deserialize(raw).map_err(path_err)?)
        };
        let (names, entries) = match any {
            AnyProfileFile::V2(f) => {
                if f.format != FORMAT || f.version != VERSION {
                    return Err(format!(
                        "at $: format {:?} version {} is not supported (this Janus reads {FORMAT:?} version {VERSION})",
                        f.format, f.version
                    ));
                }
                (f.features, f.samples)
            }
            AnyProfileFile::V1(v) => {
                let has = v.iter().any(|e| e.features.is_some());
                let entries = v
                    .into_iter()
                    .map(|e| Entry {
                        function: e.function,
                        size: e.size,
                        samples: Samples {
                            latencies: e.latencies,
                            keys: None,
                            features: e.features.map(|f| f.into_iter().map(|x| vec![x]).collect()),
                        },
                    })
                    .collect();
                (if has { default_feature_names(1) } else { Vec::new() }, entries)
            }
        };
        let mut p = Profile::named(names).map_err(|e| format!("at $.features: {e}"))?;
        for (i, e) in entries.into_iter().enumerate() {
            p.add(&e.function, e.size, e.samples).map_err(|err| format!("at samples[{i}]: {err}"))?;
        }
        Ok(p)
    }
}

/// Keys longer than this are refused (they end up in logs and CSV columns).
pub const MAX_KEY_LEN: usize = 256;

/// Feature names as a workflow takes them: each a valid name, none twice.
fn check_feature_names(names: &[String]) -> Result<(), ProfileError> {
    for (i, name) in names.iter().enumerate() {
        crate::model::check_name(name).map_err(|why| ProfileError::BadFeatureName { name: name.clone(), why })?;
        if names[..i].contains(name) {
            return Err(ProfileError::BadFeatureName { name: name.clone(), why: "it is named twice" });
        }
    }
    Ok(())
}

/// `feature`, or `feature0`, `feature1`, ... for unnamed features.
fn default_feature_names(n: usize) -> Vec<String> {
    if n == 1 {
        vec!["feature".to_string()]
    } else {
        (0..n).map(|i| format!("feature{i}")).collect()
    }
}

fn merge_column<T>(mine: &mut Option<Vec<T>>, theirs: Option<Vec<T>>, fresh: bool) {
    match (mine.as_mut(), theirs) {
        (Some(m), Some(t)) => m.extend(t),
        (None, Some(t)) if fresh => *mine = Some(t),
        (Some(_), None) => *mine = None,
        _ => {}
    }
}

const FORMAT: &str = "janus-profile";
const VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    function: String,
    size: Size,
    #[serde(flatten)]
    samples: Samples,
}

/// Version 2 on disk: `{"format", "version", "features", "samples": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    format: String,
    version: u32,
    #[serde(default)]
    features: Vec<String>,
    samples: Vec<Entry>,
}

impl From<&Profile> for ProfileFile {
    fn from(p: &Profile) -> Self {
        ProfileFile {
            format: FORMAT.to_string(),
            version: VERSION,
            features: p.feature_names.clone(),
            samples: p
                .entries
                .iter()
                .map(|((function, size), samples)| Entry {
                    function: function.clone(),
                    size: *size,
                    samples: samples.clone(),
                })
                .collect(),
        }
    }
}

/// Version 1: a bare list of entries with one optional scalar feature.
#[derive(Debug, Clone, Deserialize)]
struct EntryV1 {
    function: String,
    size: Size,
    latencies: Vec<f64>,
    #[serde(default)]
    features: Option<Vec<f64>>,
}

enum AnyProfileFile {
    V2(ProfileFile),
    V1(Vec<EntryV1>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_samples() {
        let mut p = Profile::new();
        let s = Size::new(1000, 512);
        assert!(matches!(p.add("f", s, Samples::new(vec![])), Err(ProfileError::Empty { .. })));
        assert!(matches!(p.add("f", s, Samples::new(vec![1.0, -2.0])), Err(ProfileError::BadSample { index: 1, .. })));
        assert!(matches!(p.add("f", s, Samples::new(vec![f64::NAN])), Err(ProfileError::BadSample { .. })));
        let bad = Samples::new(vec![1.0]).with_features(vec![]);
        assert!(matches!(p.add("f", s, bad), Err(ProfileError::Count { .. })));
        let bad = Samples::new(vec![1.0]).with_keys(vec![String::new()]);
        assert!(matches!(p.add("f", s, bad), Err(ProfileError::BadKey { .. })));
        assert!(p.is_empty());
        p.add("f", s, Samples::new(vec![1.0]).with_features(vec![vec![1.0, 2.0]])).unwrap();
        let wrong_dim = Samples::new(vec![1.0]).with_features(vec![vec![1.0]]);
        assert!(matches!(p.add("f", s, wrong_dim), Err(ProfileError::FeatureDim { found: 1, expected: 2, .. })));
    }

    #[test]
    fn json_round_trip_and_digest_is_stable() {
        let mut p = Profile::with_features(vec!["kb".into()]);
        let s = Samples::new(vec![1.0, 2.5])
            .with_keys(vec!["r1".into(), "r2".into()])
            .with_features(vec![vec![3.0], vec![4.0]]);
        p.add("f", Size::new(1000, 512), s).unwrap();
        p.add("g", Size::new(500, 512), Samples::new(vec![7.0])).unwrap();
        let q = Profile::from_json(&p.to_json()).unwrap();
        assert_eq!(p, q);
        assert_eq!(p.digest(), q.digest());
        assert_eq!(p.digest().len(), 64);
    }

    #[test]
    fn version_1_files_still_load() {
        let v1 = r#"[{"function":"f","size":{"cpu_millis":1000,"memory_mib":512},"latencies":[1.0,2.0],"features":[5.0,6.0]}]"#;
        let p = Profile::from_json(v1).unwrap();
        assert_eq!(p.feature_names(), &["feature".to_string()]);
        assert_eq!(p.get("f", &Size::new(1000, 512)).unwrap().features, Some(vec![vec![5.0], vec![6.0]]));
        let err = Profile::from_json(r#"{"format":"janus-profile","version":9,"samples":[]}"#).unwrap_err();
        assert!(err.contains("version 9"), "{err}");
    }

    #[test]
    fn mixing_keyed_and_unkeyed_samples_drops_the_keys() {
        let mut p = Profile::new();
        let s = Size::new(1000, 512);
        p.add("f", s, Samples::new(vec![1.0]).with_keys(vec!["a".into()])).unwrap();
        p.add("f", s, Samples::new(vec![2.0])).unwrap();
        assert_eq!(p.get("f", &s).unwrap().keys, None);
        assert_eq!(p.get("f", &s).unwrap().latencies, vec![1.0, 2.0]);
    }
}
