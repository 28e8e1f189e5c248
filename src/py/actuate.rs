//! Binding of the actuators: `janus.Actuator` (cgroup v1/v2 or dry run) and
//! `janus.gc_cgroups`. Errors go through `errors::err` (raised as
//! `ActuationError`); file work that can wait (detection, removal with
//! retries, gc) runs with the GIL released.
use super::args::int_arg;
use super::errors::{actuator_arg_error, err};
use crate::actuate::{self, DryRun};
use crate::model::Size;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// Applies sizes to workers: one cgroup per worker under
/// `<mount>/janus/<pool>/<worker>`, or a dry run that only records them.
///
/// Typical use: ``a = Actuator.cgroup("pool")``; ``a.create("w")``;
/// ``a.apply("w", 500, 256)``; ``a.attach("w", pid)``; per call
/// ``a.reset_peak("w")`` and ``a.usage("w")``; after killing the worker
/// ``a.remove("w")``; at shutdown ``a.remove_all()``.
#[pyclass(name = "Actuator", module = "janus._janus", frozen)]
pub(crate) struct PyActuator {
    inner: Box<dyn actuate::Actuator>,
}

#[pymethods]
impl PyActuator {
    /// The real actuator for this machine (cgroup v1 or v2, detected), or for
    /// the cgroup tree mounted at ``base``. Creates ``janus/<pool>``; raises
    /// ``ActuationError`` if the cgroup root is not writable.
    #[staticmethod]
    #[pyo3(signature = (pool = "default", base = None))]
    fn cgroup(py: Python<'_>, pool: &str, base: Option<PathBuf>) -> PyResult<Self> {
        let inner = py
            .detach(|| match base {
                None => actuate::detect(pool),
                Some(b) => actuate::detect_at(b, pool),
            })
            .map_err(err)?;
        Ok(PyActuator { inner })
    }

    /// An actuator that validates and records sizes but limits nothing
    /// (``is_real`` is False, ``usage`` returns zeros).
    #[staticmethod]
    #[pyo3(signature = (pool = "default"))]
    fn dry_run(pool: &str) -> PyResult<Self> {
        let inner = DryRun::with_pool(pool, actuate::online_cpus()).map_err(err)?;
        Ok(PyActuator { inner: Box::new(inner) })
    }

    /// ``"cgroup-v1"``, ``"cgroup-v2"`` or ``"dry-run"``.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    /// False for the dry run: its sizes limit no process.
    #[getter]
    fn is_real(&self) -> bool {
        self.inner.is_real()
    }

    #[getter]
    fn pool(&self) -> String {
        self.inner.pool().to_string()
    }

    /// Create the worker's cgroup (idempotent).
    fn create(&self, worker: &str) -> PyResult<()> {
        self.inner.create(worker).map_err(err)
    }

    /// Move process ``pid`` into the worker's cgroup.
    fn attach(&self, worker: &str, pid: &Bound<'_, PyAny>) -> PyResult<()> {
        let pid = int_arg(pid, "Actuator.attach: pid", 1, actuator_arg_error)?;
        self.inner.attach(worker, pid).map_err(err)
    }

    /// SIGKILL every process in the worker's cgroup, found by membership (so
    /// also children started in a new session), and wait until they are
    /// gone; returns how many there were. The dry run has no membership to go
    /// by and returns 0.
    fn kill(&self, py: Python<'_>, worker: &str) -> PyResult<usize> {
        py.detach(|| self.inner.kill(worker)).map_err(err)
    }

    /// Online CPUs that sizes are checked against: CPU may be at most
    /// ``ncpus * 1000`` millicores.
    #[getter]
    fn ncpus(&self) -> u32 {
        self.inner.ncpus()
    }

    /// Apply a size: memory first (refused below current usage), then CPU.
    fn apply(&self, worker: &str, cpu_millis: &Bound<'_, PyAny>, memory_mib: &Bound<'_, PyAny>) -> PyResult<()> {
        let cpu = int_arg(cpu_millis, "Actuator.apply: cpu_millis", 0, actuator_arg_error)?;
        let memory = int_arg(memory_mib, "Actuator.apply: memory_mib", 0, actuator_arg_error)?;
        self.inner.apply(worker, Size::new(cpu, memory)).map_err(err)
    }

    /// Counters of the worker's cgroup: ``cpu_usec``, ``nr_periods``,
    /// ``nr_throttled``, ``throttled_usec``, ``memory_peak_bytes``, ``oom_kills``.
    fn usage<'py>(&self, py: Python<'py>, worker: &str) -> PyResult<Bound<'py, PyDict>> {
        let u = self.inner.usage(worker).map_err(err)?;
        let d = PyDict::new(py);
        d.set_item("cpu_usec", u.cpu_usec)?;
        d.set_item("nr_periods", u.nr_periods)?;
        d.set_item("nr_throttled", u.nr_throttled)?;
        d.set_item("throttled_usec", u.throttled_usec)?;
        d.set_item("memory_peak_bytes", u.memory_peak_bytes)?;
        d.set_item("oom_kills", u.oom_kills)?;
        Ok(d)
    }

    /// Restart peak-memory tracking; False when the kernel cannot.
    fn reset_peak(&self, worker: &str) -> PyResult<bool> {
        self.inner.reset_peak(worker).map_err(err)
    }

    /// Remove the worker's cgroup (its processes must be gone; retries briefly).
    fn remove(&self, py: Python<'_>, worker: &str) -> PyResult<()> {
        py.detach(|| self.inner.remove(worker)).map_err(err)
    }

    /// Remove every worker of the pool and the pool itself.
    fn remove_all(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.remove_all()).map_err(err)
    }

    /// ``(cpu_millis, memory_mib)`` last applied to the worker, or None.
    fn applied(&self, worker: &str) -> Option<(u32, u32)> {
        self.inner.applied(worker).map(|s| (s.cpu_millis, s.memory_mib))
    }

    /// The worker's cgroup directories (empty for the dry run).
    fn worker_dirs(&self, worker: &str) -> PyResult<Vec<PathBuf>> {
        self.inner.worker_dirs(worker).map_err(err)
    }

    fn __repr__(&self) -> String {
        format!("Actuator(kind={:?}, pool={:?})", self.inner.kind(), self.inner.pool())
    }
}

/// Remove leftover empty Janus cgroups (``<base>/**/janus``, default
/// ``/sys/fs/cgroup``) from a killed run; busy ones stay. Returns the removed
/// directories.
#[pyfunction]
#[pyo3(signature = (base = None))]
fn gc_cgroups(py: Python<'_>, base: Option<PathBuf>) -> PyResult<Vec<String>> {
    let base = base.unwrap_or_else(|| PathBuf::from(actuate::CGROUP_BASE));
    let removed = py.detach(|| actuate::gc(&base, actuate::JANUS_ROOT)).map_err(err)?;
    Ok(removed.into_iter().map(|p| p.display().to_string()).collect())
}

/// Online CPUs of this machine: what a size's CPU is checked against
/// (at most ``online_cpus() * 1000`` millicores). Not the affinity mask of
/// the calling process: a worker's cgroup may use the whole machine.
#[pyfunction]
fn online_cpus() -> u32 {
    actuate::online_cpus()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyActuator>()?;
    m.add_function(wrap_pyfunction!(online_cpus, m)?)?;
    m.add_function(wrap_pyfunction!(gc_cgroups, m)?)?;
    Ok(())
}
