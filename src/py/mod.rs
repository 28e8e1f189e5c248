//! The PyO3 binding: thin wrappers over the core, registered as `janus._janus`.
//! Each area has its own file; errors are converted in `errors` only.

mod actuate;
mod core;
mod errors;
mod replay;

use pyo3::prelude::*;

#[pymodule]
fn _janus(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    core::register(m)?;
    actuate::register(m)?;
    replay::register(m)?;
    Ok(())
}
