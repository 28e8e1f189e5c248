//! The JSON the service reads and writes. Parsing names the JSON path of
//! whatever is wrong (`requests[3].elapsed_ms: invalid type: string ...`).

use super::error::ApiError;
use crate::adapter::{run_key_of, Decision};
use crate::model::Size;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest batch (decisions or observations) one request may carry.
pub const MAX_BATCH: usize = 10_000;
/// Times beyond this (one day) are refused as absurd rather than served.
pub const MAX_MS: f64 = 86_400_000.0;
/// Features one request may carry.
pub const MAX_FEATURES: usize = 256;

/// Parse a request body, naming the JSON path of the first problem.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest("the request body is empty; send a JSON object".into()));
    }
    let malformed = |e: serde_json::Error| ApiError::BadRequest(format!("malformed JSON: {e}"));
    let de = &mut serde_json::Deserializer::from_slice(body);
    let v = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if matches!(inner.classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof) {
            malformed(inner)
        } else {
            ApiError::BadRequest(format!("{path}: {inner}"))
        }
    })?;
    // One JSON value per body: anything after it (a second object, a
    // truncated concatenation) is a client bug, not something to ignore.
    de.end().map_err(malformed)?;
    Ok(v)
}

/// Request features: `{"name": value}` or `[values]` in the workflow's declared order.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    Named(Vec<(String, f64)>),
    Ordered(Vec<f64>),
}

impl<'de> Deserialize<'de> for Features {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Features;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object {name: number} or an array of numbers in the workflow's declared feature order")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Features, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, f64>()? {
                    if out.len() == MAX_FEATURES {
                        return Err(de::Error::custom(format!("more than {MAX_FEATURES} features")));
                    }
                    out.push((k, v));
                }
                Ok(Features::Named(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Features, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = s.next_element::<f64>()? {
                    if out.len() == MAX_FEATURES {
                        return Err(de::Error::custom(format!("more than {MAX_FEATURES} features")));
                    }
                    out.push(v);
                }
                Ok(Features::Ordered(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A run key: an unsigned integer, or a string (an activation id) hashed
/// with [`run_key_of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunKey(pub u64);

impl<'de> Deserialize<'de> for RunKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'a> Visitor<'a> for V {
            type Value = RunKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an unsigned 64-bit integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RunKey, E> {
                Ok(RunKey(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RunKey, E> {
                u64::try_from(v).map(RunKey).map_err(|_| E::custom(format!("run_key {v} is negative")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RunKey, E> {
                Ok(RunKey(run_key_of(v)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    pub function: String,
    pub elapsed_ms: f64,
    #[serde(default)]
    pub features: Option<Features>,
    #[serde(default)]
    pub free: Option<Size>,
    #[serde(default)]
    pub run_key: Option<RunKey>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideBatch {
    pub requests: Vec<DecideRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserveRequest {
    pub function: String,
    pub size: Size,
    pub latency_ms: f64,
    #[serde(default)]
    pub features: Option<Features>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserveBatch {
    pub observations: Vec<ObserveRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftRequest {
    /// The baseline to compare with; the service's own when omitted.
    #[serde(default)]
    pub profile: Option<serde_json::Value>,
    #[serde(default = "five")]
    pub min_samples: usize,
}

fn five() -> usize {
    5
}

/// A decision as the client reads it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct DecisionOut {
    pub size: Size,
    pub rule: Option<usize>,
    pub remaining_ms: f64,
    /// The run is late (budget below every rule): the late fallback was chosen.
    pub late: bool,
    pub fits: bool,
    pub input_class: Option<usize>,
}

impl From<Decision> for DecisionOut {
    fn from(d: Decision) -> Self {
        DecisionOut {
            size: d.size,
            rule: d.rule,
            remaining_ms: d.remaining_ms,
            late: d.late,
            fits: d.fits,
            input_class: d.class,
        }
    }
}

/// Refuse times the adapter would accept but no real run has (> one day):
/// they come from unit mix-ups (seconds vs ns) and would poison the windows.
pub fn check_ms(name: &str, v: f64) -> Result<f64, ApiError> {
    if v > MAX_MS {
        return Err(ApiError::BadRequest(format!(
            "{name} = {v:?} ms is more than one day ({MAX_MS} ms): is it in the wrong unit?"
        )));
    }
    Ok(v)
}

/// Refuse empty and oversized batches.
pub fn check_batch(list: &str, n: usize) -> Result<(), ApiError> {
    if n == 0 {
        return Err(ApiError::BadRequest(format!("{list} is empty")));
    }
    if n > MAX_BATCH {
        return Err(ApiError::TooLarge(format!("{list} has {n} items, at most {MAX_BATCH} per request")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        parse::<DecideRequest>(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn features_and_run_keys_take_both_forms() {
        let r: DecideRequest =
            parse(br#"{"function":"a","elapsed_ms":1,"features":{"bytes":3.5},"run_key":"act-1"}"#).unwrap();
        assert_eq!(r.features, Some(Features::Named(vec![("bytes".into(), 3.5)])));
        assert_eq!(r.run_key, Some(RunKey(run_key_of("act-1"))));
        let r: DecideRequest = parse(br#"{"function":"a","elapsed_ms":1,"features":[3.5, 1],"run_key":7}"#).unwrap();
        assert_eq!((r.features, r.run_key), (Some(Features::Ordered(vec![3.5, 1.0])), Some(RunKey(7))));
    }

    #[test]
    fn bad_requests_name_the_path_and_the_problem() {
        assert!(err(r#"{"function":"a","elapsed_ms":"x"}"#).contains("elapsed_ms: invalid type: string"));
        assert!(err(r#"{"function":"a"}"#).contains("missing field `elapsed_ms`"));
        assert!(err(r#"{"function":"a","elapsed":1}"#).contains("unknown field `elapsed`"));
        assert!(err(r#"{"function":"a","elapsed_ms":NaN}"#).contains("malformed JSON"));
        assert!(err(r#"{"function":"a","elapsed_ms":1e999}"#).contains("out of range"));
        assert!(err(r#"{"function":"a","elapsed_ms":1,"run_key":-3}"#).contains("negative"));
        assert!(err(r#"{"function":"a","elapsed_ms":1,"run_key":1.5}"#).contains("run_key"));
        assert!(err(r#"{"function":"a","elapsed_ms":1,"features":"big"}"#).contains("declared feature order"));
        assert!(err(r#"{"function":"a","elapsed_ms":1,"features":{"x":"1"}}"#).contains("features"));
        assert!(err(r#"{"function":"a","elapsed_ms":1"#).contains("malformed JSON"));
        assert!(err("").contains("empty"));
        let b = parse::<DecideBatch>(br#"{"requests":[{"function":"a","elapsed_ms":1},{"function":2}]}"#);
        assert!(b.unwrap_err().to_string().contains("requests[1].function"), "path into the batch");
    }

    #[test]
    fn absurd_times_and_batches_are_refused() {
        assert!(check_ms("elapsed_ms", 1e12).unwrap_err().to_string().contains("wrong unit"));
        assert_eq!(check_ms("elapsed_ms", 5.0).unwrap(), 5.0);
        assert!(matches!(check_batch("requests", MAX_BATCH + 1), Err(ApiError::TooLarge(_))));
        assert!(matches!(check_batch("requests", 0), Err(ApiError::BadRequest(_))));
    }
}
