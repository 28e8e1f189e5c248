//! The one place where Rust errors become Python exceptions.
//!
//! Python sees `JanusError` and one subclass per area; the message names what
//! is wrong and where (file and line, JSON path, stage name). Actuation errors
//! also carry structured attributes (`kind`, `path`, and the numbers of a
//! refused memory limit), and the variants a caller acts on have their own
//! subclasses, so callers branch on types, not on message text.

use crate::actuate::ActuateError;
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
create_exception!(
    janus._janus,
    ActuationError,
    JanusError,
    "A size could not be applied (cgroups, workers). `kind` names the cause (a snake_case word such as \
     'memory_below_usage', 'busy', 'bad_size', 'not_writable'); `path` is the cgroup file or directory \
     concerned, or None."
);
create_exception!(
    janus._janus,
    MemoryBelowUsageError,
    ActuationError,
    "A memory limit below what the worker's cgroup already uses was refused (lowering it could OOM-kill \
     the worker): restart the worker or pick a larger size. `limit_bytes` is the refused limit, \
     `usage_bytes` the cgroup's usage, `path` the limit file."
);
create_exception!(
    janus._janus,
    CgroupBusyError,
    ActuationError,
    "A cgroup could not be removed because processes (or child cgroups) remain in it; `path` names it."
);
create_exception!(
    janus._janus,
    CgroupsUnavailableError,
    ActuationError,
    "No writable cgroup tree with the cpu and memory controllers here (not root, read-only, not a cgroup \
     file system, controller not enabled): use the dry run, `WorkerPool(..., dry_run=True)`."
);
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
    // Set on the instance by `serve_setting_error`; None on the class.
    py.get_type::<ServeError>().setattr("setting", py.None())?;
    m.add("WorkflowError", py.get_type::<WorkflowError>())?;
    m.add("ProfileError", py.get_type::<ProfileError>())?;
    m.add("SynthesisError", py.get_type::<SynthesisError>())?;
    m.add("HintError", py.get_type::<HintError>())?;
    m.add("AdapterError", py.get_type::<AdapterError>())?;
    let actuation = py.get_type::<ActuationError>();
    // Defaults for instances raised from Python code without the attributes.
    actuation.setattr("kind", "actuation")?;
    actuation.setattr("path", py.None())?;
    m.add("ActuationError", actuation)?;
    m.add("MemoryBelowUsageError", py.get_type::<MemoryBelowUsageError>())?;
    m.add("CgroupBusyError", py.get_type::<CgroupBusyError>())?;
    m.add("CgroupsUnavailableError", py.get_type::<CgroupsUnavailableError>())?;
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
            Error::Replay(crate::replay::ReplayError::Profile(_)) => ProfileError::new_err(msg),
            Error::Replay(crate::replay::ReplayError::Synth(crate::synth::SynthError::Profile(_))) => {
                ProfileError::new_err(msg)
            }
            Error::Synth(_) => SynthesisError::new_err(msg),
            Error::Hint(_) => HintError::new_err(msg),
            Error::Adapter(_) => AdapterError::new_err(msg),
            Error::Actuate(e) => actuation_error(&e, msg),
            Error::Replay(_) => ReplayError::new_err(msg),
            Error::Serve(crate::serve::ServeError::Hints(_)) => HintError::new_err(msg),
            Error::Serve(crate::serve::ServeError::Config { name, .. }) => serve_setting_error(name, msg),
            Error::Serve(_) => ServeError::new_err(msg),
        }
    }
}

/// The Python exception for an actuation error: its subclass, with `kind`,
/// `path` and, for a refused memory limit, `limit_bytes` and `usage_bytes`.
fn actuation_error(e: &ActuateError, msg: String) -> PyErr {
    let py_err = match e {
        ActuateError::MemoryBelowUsage { .. } => MemoryBelowUsageError::new_err(msg),
        ActuateError::Busy { .. } => CgroupBusyError::new_err(msg),
        ActuateError::NotWritable { .. }
        | ActuateError::NoCgroups { .. }
        | ActuateError::NotCgroupfs { .. }
        | ActuateError::ControllerUnavailable { .. } => CgroupsUnavailableError::new_err(msg),
        _ => ActuationError::new_err(msg),
    };
    // Setting attributes on a fresh instance only fails when memory runs out;
    // the exception (with its message) is raised either way.
    let _ = Python::attach(|py| -> PyResult<()> {
        let v = py_err.value(py);
        v.setattr("kind", e.kind())?;
        v.setattr("path", e.path().map(|p| p.display().to_string()))?;
        if let ActuateError::MemoryBelowUsage { usage, limit, .. } = e {
            v.setattr("limit_bytes", *limit)?;
            v.setattr("usage_bytes", *usage)?;
        }
        Ok(())
    });
    py_err
}

/// Convert any area's error through the single `From<Error>` above.
pub(crate) fn err<E: Into<Error>>(e: E) -> PyErr {
    e.into().into()
}

// Errors the binding itself finds (a wrong Python type, a bad argument
// shape), one constructor per area so every exception is made here.

pub(crate) fn workflow_error(msg: String) -> PyErr {
    WorkflowError::new_err(msg)
}
pub(crate) fn profile_error(msg: String) -> PyErr {
    ProfileError::new_err(msg)
}
pub(crate) fn synthesis_error(msg: String) -> PyErr {
    SynthesisError::new_err(msg)
}
pub(crate) fn hint_error(msg: String) -> PyErr {
    HintError::new_err(msg)
}
pub(crate) fn adapter_error(msg: String) -> PyErr {
    AdapterError::new_err(msg)
}
pub(crate) fn actuator_arg_error(msg: String) -> PyErr {
    ActuationError::new_err(msg)
}
pub(crate) fn replay_error(msg: String) -> PyErr {
    ReplayError::new_err(msg)
}
/// A ServeError for one setting out of its range, with the setting's name as
/// its `setting` attribute (None on every other ServeError), so that
/// `janus serve` can answer it as a bad command line naming the flag.
pub(crate) fn serve_setting_error(setting: &str, msg: String) -> PyErr {
    Python::attach(|py| {
        let e = ServeError::new_err(msg);
        match e.value(py).setattr("setting", setting) {
            Ok(()) => e,
            Err(set_failed) => set_failed,
        }
    })
}
