use thiserror::Error;

/// Everything that can stop a trace replay, with a message that names the
/// stage, size or option at fault.
#[derive(Debug, Error)]
pub enum ReplayError {
    #[error(transparent)]
    Workflow(#[from] crate::model::WorkflowError),
    #[error("replay: {what} must be {why}, got {value}")]
    BadOption { what: &'static str, why: &'static str, value: String },
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error("replay: coupling 'keyed' needs a keyed profile (every sample naming the request it was measured on, each request measured at every stage and size)")]
    NotKeyed,
    #[error("replay: policy '{policy}' chose size {size} for stage '{stage}', which is not one of its options")]
    NotAnOption { policy: String, stage: String, size: String },
    #[error("replay: policy '{policy}': {why}")]
    BadPolicy { policy: String, why: String },
    #[error("replay: hint set '{policy}' is for workflow '{found}', the replay is of '{expected}'")]
    OtherWorkflow { policy: String, found: String, expected: String },
    #[error("replay: unknown coupling {0:?} (use 'auto', 'keyed', 'rank' or 'independent')")]
    UnknownCoupling(String),
    #[error("replay: unknown policy kind {0:?} (use janus, static, maxsize, stepconf or oracle)")]
    UnknownPolicy(String),
    #[error(transparent)]
    Synth(#[from] crate::synth::SynthError),
    #[error("replay: adapter failed in policy '{policy}': {source}")]
    Adapter { policy: String, source: crate::adapter::AdapterError },
}
