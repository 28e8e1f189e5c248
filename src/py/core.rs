//! Binding of the core: sizes, workflows, profiles, synthesis, hints, adapter.
use pyo3::prelude::*;

pub(crate) fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
