use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum AdapterError {
    #[error("adapter: unknown function '{function}' (the hint set has: {known})")]
    UnknownFunction { function: String, known: String },
    #[error("adapter: elapsed_ms must be a finite number >= 0, got {0:?}")]
    BadElapsed(f64),
    #[error("adapter: feature values must be finite, got {0:?}")]
    BadFeature(f64),
    #[error("adapter: {found} feature values given; the hint set's classes read [{expected}] (pass them in that order, or none)")]
    FeatureCount { expected: String, found: usize },
    #[error("adapter: latency_ms must be in [0, {max:e}] ms, got {0:?}", max = crate::model::MAX_LATENCY_MS)]
    BadLatency(f64),
    #[error("adapter: size {size} is not an option of function '{function}'")]
    UnknownSize { function: String, size: String },
    #[error("{source} (item {index} of the batch)")]
    BatchItem { index: usize, source: Box<AdapterError> },
    #[error("adapter: a batch of {expected} elapsed times with {found} {what}")]
    BatchShape { what: &'static str, expected: usize, found: usize },
    #[error("adapter: the new hint set is for another workflow ('{new}': its stages, options, edges, features or SLO differ from '{old}', which this adapter serves)")]
    OtherWorkflow { old: String, new: String },
}
