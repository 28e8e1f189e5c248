//! The one place where Rust errors become Python exceptions.
//!
//! Python sees `JanusError` and one subclass per area; the message names what
//! is wrong and where (file and line, JSON path, stage name).

use crate::Error;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(janus._janus, JanusError, PyException, "Base class of every error Janus raises.");
create_exception!(janus._janus, WorkflowError, JanusError, "An invalid workflow: names, options, edges, SLO.");
create_exception!(
    janus._janus,
    ProfileError,
    JanusError,
    "Invalid or missing latency samples, or an unreadable profile file."
);
create_exception!(janus._janus, SynthesisError, JanusError, "Synthesis could not run with these options.");
create_exception!(janus._janus, HintError, JanusError, "An invalid, truncated or unsupported hint set.");
create_exception!(janus._janus, AdapterError, JanusError, "A decide/observe call with bad arguments.");
create_exception!(janus._janus, ActuationError, JanusError, "A size could not be applied (cgroups, workers).");
create_exception!(janus._janus, ReplayError, JanusError, "A trace replay could not run.");
create_exception!(
    janus._janus,
    ServeError,
    JanusError,
    "janus serve could not start or run (settings, data folder, port), or its client could not reach it."
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("JanusError", py.get_type::<JanusError>())?;
    m.add("WorkflowError", py.get_type::<WorkflowError>())?;
    m.add("ProfileError", py.get_type::<ProfileError>())?;
    m.add("SynthesisError", py.get_type::<SynthesisError>())?;
    m.add("HintError", py.get_type::<HintError>())?;
    m.add("AdapterError", py.get_type::<AdapterError>())?;
    m.add("ActuationError", py.get_type::<ActuationError>())?;
    m.add("ReplayError", py.get_type::<ReplayError>())?;
    m.add("ServeError", py.get_type::<ServeError>())?;
    Ok(())
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        let msg = e.to_string();
        match e {
            Error::Workflow(_) => WorkflowError::new_err(msg),
            Error::Profile(_) => ProfileError::new_err(msg),
            Error::Synth(crate::synth::SynthError::Profile(_)) => ProfileError::new_err(msg),
            Error::Synth(crate::synth::SynthError::Workflow(_)) => WorkflowError::new_err(msg),
            Error::Replay(crate::replay::ReplayError::Workflow(_)) => WorkflowError::new_err(msg),
            Error::Synth(_) => SynthesisError::new_err(msg),
            Error::Hint(_) => HintError::new_err(msg),
            Error::Adapter(_) => AdapterError::new_err(msg),
            Error::Actuate(_) => ActuationError::new_err(msg),
            Error::Replay(_) => ReplayError::new_err(msg),
            Error::Serve(crate::serve::ServeError::Hints(_)) => HintError::new_err(msg),
            Error::Serve(_) => ServeError::new_err(msg),
        }
    }
}

/// Convert any area's error through the single `From<Error>` above.
pub(crate) fn err<E: Into<Error>>(e: E) -> PyErr {
    e.into().into()
}
