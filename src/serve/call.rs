//! The one place where the service calls the core adapter, and the mapping
//! of a request's features onto the workflow's declared feature order.
//!
//! Requests carry the workflow's request features as a vector (or by name).
//! When `Adapter::decide` takes that vector (`features: Option<&[f64]>`,
//! `run_key: Option<u64>`), [`adapter_decide`] and [`adapter_check`] pass it
//! through and [`FeatureSchema::of`] reads the declared order from the
//! workflow; nothing else changes.

use super::error::ApiError;
use super::wire::{check_ms, DecideRequest, Features, ObserveRequest};
use crate::adapter::{Adapter, AdapterError, Decision};
use crate::hints::HintSet;
use crate::model::Size;

/// The workflow's declared features, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureSchema {
    pub names: Vec<String>,
    /// Position of the feature the hint set's input classes split on.
    class_feature: Option<usize>,
}

impl FeatureSchema {
    /// Today's workflows declare a feature per stage; the declared order is
    /// the stages' order, each name once.
    pub fn of(h: &HintSet) -> FeatureSchema {
        let mut names: Vec<String> = Vec::new();
        for s in h.workflow.stages() {
            if let Some(f) = &s.feature {
                if !names.contains(f) {
                    names.push(f.clone());
                }
            }
        }
        let class_feature = h.classes.as_ref().and_then(|c| names.iter().position(|n| *n == c.feature));
        FeatureSchema { names, class_feature }
    }

    fn declared(&self) -> String {
        if self.names.is_empty() {
            "none".into()
        } else {
            self.names.join(", ")
        }
    }

    /// The request's features as a vector in declared order, every declared
    /// feature present exactly once.
    pub fn vector(&self, f: &Features) -> Result<Vec<f64>, ApiError> {
        let bad =
            |why: String| ApiError::BadRequest(format!("features: {why} (the workflow declares: {})", self.declared()));
        let out = match f {
            Features::Ordered(v) => {
                if v.len() != self.names.len() {
                    return Err(bad(format!("{} values given, {} declared", v.len(), self.names.len())));
                }
                v.clone()
            }
            Features::Named(kv) => {
                let mut out = vec![f64::NAN; self.names.len()];
                let mut seen = vec![false; self.names.len()];
                for (k, v) in kv {
                    let Some(i) = self.names.iter().position(|n| n == k) else {
                        return Err(bad(format!("unknown feature '{k}'")));
                    };
                    if std::mem::replace(&mut seen[i], true) {
                        return Err(bad(format!("'{k}' is given twice")));
                    }
                    out[i] = *v;
                }
                if let Some(i) = seen.iter().position(|s| !s) {
                    return Err(bad(format!("'{}' is missing", self.names[i])));
                }
                out
            }
        };
        Ok(out)
    }
}

/// Decide for one request: the service's checks, then the adapter.
pub fn decide(adapter: &Adapter, schema: &FeatureSchema, r: &DecideRequest) -> Result<Decision, ApiError> {
    let elapsed_ms = check_ms("elapsed_ms", r.elapsed_ms)?;
    let features = r.features.as_ref().map(|f| schema.vector(f)).transpose()?;
    Ok(adapter_decide(adapter, schema, &r.function, elapsed_ms, features.as_deref(), r.free, r.run_key.map(|k| k.0))?)
}

/// Check one observation and return its input class (it is recorded after
/// the log has it on disk).
pub fn check_observation(
    adapter: &Adapter,
    schema: &FeatureSchema,
    r: &ObserveRequest,
) -> Result<Option<usize>, ApiError> {
    let latency_ms = check_ms("latency_ms", r.latency_ms)?;
    let features = r.features.as_ref().map(|f| schema.vector(f)).transpose()?;
    Ok(adapter_check(adapter, schema, &r.function, r.size, latency_ms, features.as_deref())?)
}

/// THE call into `Adapter::decide`. Today it takes the one feature the
/// input classes split on; with the vector signature this becomes
/// `adapter.decide(function, elapsed_ms, features, free, run_key)`.
fn adapter_decide(
    adapter: &Adapter,
    schema: &FeatureSchema,
    function: &str,
    elapsed_ms: f64,
    features: Option<&[f64]>,
    free: Option<Size>,
    run_key: Option<u64>,
) -> Result<Decision, AdapterError> {
    let feature = schema.class_feature.zip(features).map(|(i, v)| v[i]);
    adapter.decide_run(function, elapsed_ms, feature, free, run_key)
}

/// THE call into the adapter's observation check (same feature mapping).
fn adapter_check(
    adapter: &Adapter,
    schema: &FeatureSchema,
    function: &str,
    size: Size,
    latency_ms: f64,
    features: Option<&[f64]>,
) -> Result<Option<usize>, AdapterError> {
    let feature = schema.class_feature.zip(features).map(|(i, v)| v[i]);
    adapter.check_observation(function, size, latency_ms, feature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::fixture::classed_hints;

    #[test]
    fn features_map_by_name_or_position() {
        let s = FeatureSchema::of(&classed_hints());
        assert_eq!(s.names, vec!["bytes".to_string()]);
        assert_eq!(s.vector(&Features::Named(vec![("bytes".into(), 3.0)])).unwrap(), vec![3.0]);
        assert_eq!(s.vector(&Features::Ordered(vec![3.0])).unwrap(), vec![3.0]);
        let e = |f: Features| s.vector(&f).unwrap_err().to_string();
        assert!(e(Features::Named(vec![("size".into(), 1.0)])).contains("unknown feature 'size'"));
        assert!(e(Features::Named(vec![])).contains("'bytes' is missing"));
        assert!(e(Features::Ordered(vec![1.0, 2.0])).contains("2 values given, 1 declared"));
        let twice = Features::Named(vec![("bytes".into(), 1.0), ("bytes".into(), 2.0)]);
        assert!(e(twice).contains("twice"));
    }

    #[test]
    fn decisions_equal_the_adapters() {
        let h = classed_hints();
        let (a, s) = (Adapter::new(h.clone()), FeatureSchema::of(&h));
        for (el, x) in [(0.0, 1.0), (0.0, 11.5), (300.0, 11.5), (990.0, 1.0)] {
            let r = DecideRequest {
                function: "a".into(),
                elapsed_ms: el,
                features: Some(Features::Ordered(vec![x])),
                free: None,
                run_key: None,
            };
            assert_eq!(decide(&a, &s, &r).unwrap(), a.decide("a", el, Some(x), None).unwrap());
        }
    }
}
