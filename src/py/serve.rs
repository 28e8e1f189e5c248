//! Binding of `janus serve`: one blocking call that releases the GIL, serves
//! until SIGINT/SIGTERM and then returns (the service code is in `crate::serve`).

use super::args::int_arg;
use super::errors::{err, serve_setting_error};
use crate::serve::{ResynthConfig, ServeConfig};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::time::Duration;

/// serve's integer settings, read so that a negative or too large one is a
/// ServeError naming it, in its message and `setting` attribute (pyo3 alone
/// raises a bare OverflowError).
/// (`ServeConfig::validate` checks their ranges; the least value here is
/// its lower bound, so the two never disagree on where a range starts.)
macro_rules! setting {
    ($($name:ident: $t:ty = $min:expr),* $(,)?) => {$(
        fn $name(v: &Bound<'_, PyAny>) -> PyResult<$t> {
            fn named(msg: String) -> PyErr {
                serve_setting_error(stringify!($name), msg)
            }
            int_arg(v, concat!("serve: ", stringify!($name)), $min, named)
        }
    )*};
}
setting!(window: usize = 1, min_samples: usize = 1, max_body: usize = 256, max_upload: usize = 256,
    max_connections: usize = 1, threads: usize = 1, compact_at: u64 = 4096);

/// Serve hint sets over HTTP until SIGINT or SIGTERM (see `janus serve --help`).
/// Prints one line, `janus serve: listening on http://ADDR (...)`, once it
/// accepts connections.
#[pyfunction]
#[pyo3(signature = (
    hints, data, *, listen = crate::serve::DEFAULT_LISTEN.to_string(), profiles = Vec::new(), window = 1024,
    resynth_threshold = None, min_samples = 5, drift_every_s = 10.0, read_timeout_s = 10.0,
    max_body = 1 << 20, max_upload = 32 << 20, max_connections = 1024, threads = 2, compact_at = 64 << 20,
))]
#[allow(clippy::too_many_arguments)]
fn serve(
    py: Python<'_>,
    hints: Vec<PathBuf>,
    data: PathBuf,
    listen: String,
    profiles: Vec<PathBuf>,
    #[pyo3(from_py_with = window)] window: usize,
    resynth_threshold: Option<f64>,
    #[pyo3(from_py_with = min_samples)] min_samples: usize,
    drift_every_s: f64,
    read_timeout_s: f64,
    #[pyo3(from_py_with = max_body)] max_body: usize,
    #[pyo3(from_py_with = max_upload)] max_upload: usize,
    #[pyo3(from_py_with = max_connections)] max_connections: usize,
    #[pyo3(from_py_with = threads)] threads: usize,
    #[pyo3(from_py_with = compact_at)] compact_at: u64,
) -> PyResult<()> {
    let secs = |name: &'static str, s: f64| {
        Duration::try_from_secs_f64(s).map_err(|_| {
            err(crate::serve::ServeError::Config {
                name,
                why: format!("must be a positive number of seconds, got {s:?}"),
            })
        })
    };
    let mut c = ServeConfig::new(hints, data);
    c.listen = listen;
    c.profiles = profiles;
    c.window = window;
    c.resynth = resynth_threshold.map(|threshold| ResynthConfig { threshold, min_samples });
    c.drift_every = secs("drift_every", drift_every_s)?;
    c.read_timeout = secs("read_timeout", read_timeout_s)?;
    c.max_body = max_body;
    c.max_upload = max_upload;
    c.max_connections = max_connections;
    c.threads = threads;
    c.compact_at = compact_at;
    py.detach(|| crate::serve::serve(c)).map_err(err)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(serve, m)?)?;
    Ok(())
}
