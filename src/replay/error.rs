use thiserror::Error;

/// Everything that can stop a trace replay, with a message that names the
/// stage, size or option at fault.
#[derive(Debug, Error)]
pub enum ReplayError {
    #[error(transparent)]
    Workflow(#[from] crate::model::WorkflowError),
    #[error("replay: {what} must be {why}, got {value}")]
    BadOption { what: &'static str, why: &'static str, value: String },
    #[error("replay: function '{function}' at size {size} has {count} samples: too few to split at {fraction} (each part needs at least one)")]
    TooFewToSplit { function: String, size: String, count: usize, fraction: f64 },
    #[error("replay: the profile has no samples for function '{function}' at size {size}, which the workflow allows")]
    MissingSize { function: String, size: String },
    #[error("replay: stage '{stage}' of the profile/trace is absent from workflow '{workflow}' (its stages: {known})")]
    StageAbsent { stage: String, workflow: String, known: String },
    #[error("replay: policy '{policy}' chose size {size} for stage '{stage}', which is not one of its options")]
    NotAnOption { policy: String, stage: String, size: String },
    #[error("replay: policy '{policy}': {why}")]
    BadPolicy { policy: String, why: String },
    #[error("replay: hint set '{policy}' is for workflow '{found}', the replay is of '{expected}'")]
    OtherWorkflow { policy: String, found: String, expected: String },
    #[error("replay: unknown coupling {0:?} (use 'rank' or 'independent')")]
    UnknownCoupling(String),
    #[error("replay: unknown policy kind {0:?} (use janus, static, maxsize, stepconf or oracle)")]
    UnknownPolicy(String),
    #[error(transparent)]
    Synth(#[from] crate::synth::SynthError),
    #[error("replay: adapter failed in policy '{policy}': {source}")]
    Adapter { policy: String, source: crate::adapter::AdapterError },
}
