use crate::file_io::FileError;
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can be wrong with latency samples and their files.
#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("profile: no samples for function '{function}' at size {size}")]
    Empty { function: String, size: String },
    #[error("profile: sample #{index} of function '{function}' at size {size} is {value}: latencies must be finite and >= 0")]
    BadSample { function: String, size: String, index: usize, value: f64 },
    #[error(
        "profile: feature value #{index} of function '{function}' at size {size} is {value}: features must be finite"
    )]
    BadFeature { function: String, size: String, index: usize, value: f64 },
    #[error("profile: function '{function}' at size {size} has {latencies} latencies but {features} feature values")]
    FeatureCount { function: String, size: String, latencies: usize, features: usize },
    #[error("profile: no samples for function '{function}' at size {size}, which the workflow allows")]
    Missing { function: String, size: String },
    #[error("profile: function '{function}' has no samples with its feature in class {class} ({range})")]
    EmptyClass { function: String, class: usize, range: String },
    #[error("{path}:{line}: {message}")]
    Parse { path: String, line: usize, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("profile: invalid bin width {0} ms (must be positive and finite)")]
    BadBin(f64),
    /// A profile JSON document that does not parse; `origin` is its path (or "<string>").
    #[error("{origin}: not a Janus profile {message}")]
    Json { origin: String, message: String },
    /// The file could not be saved or read (not a regular file, too large, I/O).
    #[error(transparent)]
    File(#[from] FileError),
}
