use crate::file_io::FileError;
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can be wrong with latency samples and their files.
#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("profile: no samples for function '{function}' at size {size}")]
    Empty { function: String, size: String },
    #[error("profile: sample #{index} of function '{function}' at size {size} is {value:?}: latencies must be in [0, {max:e}] ms", max = crate::model::MAX_LATENCY_MS)]
    BadSample { function: String, size: String, index: usize, value: f64 },
    #[error(
        "profile: feature vector #{index} of function '{function}' at size {size} holds {value:?}: features must be finite"
    )]
    BadFeature { function: String, size: String, index: usize, value: f64 },
    #[error("profile: function '{function}' at size {size} has {latencies} latencies but {count} {what}")]
    Count { function: String, size: String, what: &'static str, latencies: usize, count: usize },
    #[error("profile: feature vector #{index} of function '{function}' at size {size} has {found} values; the profile's samples carry {expected} features")]
    FeatureDim { function: String, size: String, index: usize, found: usize, expected: usize },
    #[error("profile: key #{index} of function '{function}' at size {size} is empty or longer than {max} bytes")]
    BadKey { function: String, size: String, index: usize, max: usize },
    #[error("profile: request features {given:?} do not match the profile's {profile:?}: {why}")]
    FeatureNames { profile: Vec<String>, given: Vec<String>, why: &'static str },
    #[error("profile: request '{key}' has features {first:?} in one sample but {here:?} in '{function}' at size {size}; features belong to the request and must agree")]
    InconsistentFeatures { key: String, function: String, size: String, first: Vec<f64>, here: Vec<f64> },
    #[error("profile: function '{function}' at size {size}: {why}")]
    BadSize { function: String, size: String, why: &'static str },
    #[error("profile: request feature name {name:?} is invalid: {why}")]
    BadFeatureName { name: String, why: &'static str },
    #[error("profile: no samples for function '{function}' at size {size}, which the workflow allows")]
    Missing { function: String, size: String },
    #[error("profile: function '{function}' is not a stage of the workflow (its stages: {known})")]
    UnknownFunction { function: String, known: String },
    #[error("profile: no samples of function '{function}' (the profile's functions: {known})")]
    NotProfiled { function: String, known: String },
    #[error("profile: split fraction must be in (0, 1), got {fraction:?}")]
    BadSplit { fraction: f64 },
    #[error("profile: function '{function}' at size {size} has {count} {unit}: too few to split at {fraction} (each part needs at least one)")]
    TooFewToSplit { function: String, size: String, count: usize, unit: &'static str, fraction: f64 },
    #[error("{path}:{line}: {message}")]
    Parse { path: String, line: usize, message: String },
    /// What is wrong with a file or folder as a whole (no line to point at).
    #[error("{path}: {message}")]
    Content { path: String, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("profile: invalid bin width {0:?} ms (must be positive and finite)")]
    BadBin(f64),
    /// A profile JSON document that does not parse; `origin` is its path (or "<string>").
    #[error("{origin}: not a Janus profile {message}")]
    Json { origin: String, message: String },
    /// The file could not be saved or read (not a regular file, too large, I/O).
    #[error(transparent)]
    File(#[from] FileError),
}
