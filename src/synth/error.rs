use thiserror::Error;

#[derive(Debug, Error)]
pub enum SynthError {
    #[error(transparent)]
    Workflow(#[from] crate::model::WorkflowError),
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error("synthesis: option '{name}' is invalid: {why}")]
    BadOption { name: &'static str, why: String },
    #[error("synthesis: {0}")]
    Features(String),
    /// A hint set handed to [`crate::synth::evaluate`] is inconsistent.
    #[error("synthesis: hint set: {0}")]
    Hints(String),
}
