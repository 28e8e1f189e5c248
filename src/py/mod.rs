//! The PyO3 binding: thin wrappers over the core, registered as `janus._janus`.
//! Each area has its own file; errors are converted in `errors` only.

mod actuate;
mod adapter;
mod args;
mod errors;
mod hints;
mod model;
mod profile;
mod replay;
mod serve;

use pyo3::prelude::*;

#[pymodule]
fn _janus(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    model::register(m)?;
    profile::register(m)?;
    hints::register(m)?;
    adapter::register(m)?;
    actuate::register(m)?;
    replay::register(m)?;
    serve::register(m)?;
    Ok(())
}
