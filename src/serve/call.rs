//! The one place where the service calls the core adapter, and the mapping
//! of a request's features onto the workflow's declared feature order.
//!
//! Requests carry the workflow's request features as a vector in declared
//! order, or by name; [`FeatureSchema::of`] reads the declared order from
//! the workflow and the vector goes to `Adapter::decide` as it is.

use super::error::ApiError;
use super::wire::{check_ms, DecideRequest, Features, ObserveRequest};
use crate::adapter::{Adapter, AdapterError, Decision, Query};
use crate::hints::HintSet;
use crate::model::Size;

/// The workflow's declared features, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureSchema {
    pub names: Vec<String>,
}

impl FeatureSchema {
    /// The workflow's request features, in the order it declares them.
    pub fn of(h: &HintSet) -> FeatureSchema {
        FeatureSchema { names: h.workflow.features().to_vec() }
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
    Ok(adapter_decide(adapter, &r.function, elapsed_ms, features.as_deref(), r.free, r.run_key.map(|k| k.0))?)
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
    Ok(adapter.check_observation(&r.function, r.size, latency_ms, features.as_deref())?)
}

/// THE call into `Adapter::decide`.
fn adapter_decide(
    adapter: &Adapter,
    function: &str,
    elapsed_ms: f64,
    features: Option<&[f64]>,
    free: Option<Size>,
    run_key: Option<u64>,
) -> Result<Decision, AdapterError> {
    adapter.decide(function, &Query { elapsed_ms, features, free, run_key })
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
            let q = Query { elapsed_ms: el, features: Some(&[x]), ..Query::default() };
            assert_eq!(decide(&a, &s, &r).unwrap(), a.decide("a", &q).unwrap());
        }
    }
}
