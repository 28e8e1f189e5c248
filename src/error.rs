//! One error type over every area, so the binding converts errors in exactly
//! one place (`py::errors`).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Workflow(#[from] crate::model::WorkflowError),
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error(transparent)]
    Synth(#[from] crate::synth::SynthError),
    #[error(transparent)]
    Hint(#[from] crate::hints::HintError),
    #[error(transparent)]
    Adapter(#[from] crate::adapter::AdapterError),
    #[error(transparent)]
    Actuate(#[from] crate::actuate::ActuateError),
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    #[cfg(feature = "serve")]
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
}
