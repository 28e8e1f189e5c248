//! Binding of the adapter: decide (scalar and over numpy arrays), observe, swap.

use super::errors::{err, AdapterError};
use super::hints::PyHintSet;
use super::model::PySize;
use super::profile::PyProfile;
use crate::adapter::{Adapter, Decision};
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The size chosen for one invocation and why.
#[pyclass(name = "Decision", module = "janus", frozen)]
pub struct PyDecision(Decision);

#[pymethods]
impl PyDecision {
    #[getter]
    fn size(&self) -> PySize {
        PySize(self.0.size)
    }
    /// Index of the rule that chose the size; None when the adapter fell back.
    #[getter]
    fn rule(&self) -> Option<usize> {
        self.0.rule
    }
    #[getter]
    fn remaining_ms(&self) -> f64 {
        self.0.remaining_ms
    }
    /// True when the budget was below every rule: fastest option, deadline at risk.
    #[getter]
    fn best_effort(&self) -> bool {
        self.0.best_effort
    }
    /// False when no ranked size fit the free capacity.
    #[getter]
    fn fits(&self) -> bool {
        self.0.fits
    }
    #[getter]
    fn input_class(&self) -> Option<usize> {
        self.0.class
    }
    fn __repr__(&self) -> String {
        format!(
            "Decision(size={}, rule={:?}, remaining_ms={:.1}, best_effort={}, fits={}, input_class={:?})",
            self.0.size, self.0.rule, self.0.remaining_ms, self.0.best_effort, self.0.fits, self.0.class
        )
    }
}

/// Evaluates a hint set at invocation time. Thread-safe; `decide` takes no lock.
#[pyclass(name = "Adapter", module = "janus", frozen)]
pub struct PyAdapter(Adapter);

#[pymethods]
impl PyAdapter {
    #[new]
    fn new(hints: &PyHintSet) -> Self {
        PyAdapter(Adapter::new(hints.0.clone()))
    }

    /// Size for `function` after `elapsed_ms` of the workflow run. `run_key`
    /// (an activation or request id, the same for every function of a run)
    /// lets a hint set that mixes two policies per run pick this run's one.
    #[pyo3(signature = (function, elapsed_ms, feature = None, free = None, run_key = None))]
    fn decide(
        &self,
        function: &str,
        elapsed_ms: f64,
        feature: Option<f64>,
        free: Option<PySize>,
        run_key: Option<u64>,
    ) -> PyResult<PyDecision> {
        self.0.decide_run(function, elapsed_ms, feature, free.map(|f| f.0), run_key).map(PyDecision).map_err(err)
    }

    /// Vectorised decide: one decision per element of `elapsed_ms` (and of
    /// `features` and `run_keys` (uint64) when given). Returns a dict of numpy
    /// arrays: cpu_millis, memory_mib, rule (-1 = fallback), best_effort,
    /// remaining_ms.
    #[pyo3(signature = (function, elapsed_ms, features = None, free = None, run_keys = None))]
    fn decide_many<'py>(
        &self,
        py: Python<'py>,
        function: &str,
        elapsed_ms: PyReadonlyArray1<'py, f64>,
        features: Option<PyReadonlyArray1<'py, f64>>,
        free: Option<PySize>,
        run_keys: Option<PyReadonlyArray1<'py, u64>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let el = elapsed_ms.as_array();
        let feats = features.as_ref().map(|f| f.as_array());
        let keys = run_keys.as_ref().map(|k| k.as_array());
        let lens = [("feature values", feats.as_ref().map(|f| f.len())), ("run keys", keys.as_ref().map(|k| k.len()))];
        for (what, len) in lens {
            if let Some(n) = len.filter(|&n| n != el.len()) {
                return Err(AdapterError::new_err(format!("decide_many: {} elapsed times but {n} {what}", el.len())));
            }
        }
        let n = el.len();
        let (mut cpu, mut mem, mut rule, mut be, mut rem) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let free = free.map(|f| f.0);
        py.detach(|| -> Result<(), crate::Error> {
            for (i, &e) in el.iter().enumerate() {
                let d =
                    self.0.decide_run(function, e, feats.as_ref().map(|f| f[i]), free, keys.as_ref().map(|k| k[i]))?;
                cpu.push(d.size.cpu_millis);
                mem.push(d.size.memory_mib);
                rule.push(d.rule.map_or(-1, |r| r as i64));
                be.push(d.best_effort);
                rem.push(d.remaining_ms);
            }
            Ok(())
        })?;
        let out = PyDict::new(py);
        out.set_item("cpu_millis", cpu.into_pyarray(py))?;
        out.set_item("memory_mib", mem.into_pyarray(py))?;
        out.set_item("rule", rule.into_pyarray(py))?;
        out.set_item("best_effort", be.into_pyarray(py))?;
        out.set_item("remaining_ms", rem.into_pyarray(py))?;
        Ok(out)
    }

    /// Record an observed latency (online profiling).
    fn observe(&self, function: &str, size: PySize, latency_ms: f64) -> PyResult<()> {
        self.0.observe(function, size.0, latency_ms).map_err(err)
    }

    /// Swap in a re-synthesised hint set for the same workflow (atomic).
    fn swap(&self, hints: &PyHintSet) -> PyResult<()> {
        self.0.swap(hints.0.clone()).map_err(err)
    }

    #[getter]
    fn hints(&self) -> PyHintSet {
        PyHintSet(self.0.hints())
    }

    /// Number of observations in the windows of the hint set in force (the
    /// last `window` per function, size and input class; emptied by `swap`).
    #[getter]
    fn observed(&self) -> usize {
        self.0.observations().count()
    }

    /// Observations as a Profile (merge with the offline one to re-synthesise).
    fn observed_profile(&self) -> PyResult<PyProfile> {
        self.0.observations().to_profile().map(PyProfile).map_err(err)
    }

    /// Per function: the median over its sizes of observed mean / profiled
    /// mean (sizes with at least `min_samples` observations in the windows).
    #[pyo3(signature = (profile, min_samples = 5))]
    fn drift_by_function(&self, profile: &PyProfile, min_samples: usize) -> std::collections::BTreeMap<String, f64> {
        crate::adapter::drift::drift_by_function(self.0.observations(), &profile.0, min_samples)
    }

    /// Observed mean / profiled mean per (function, size) with enough samples.
    #[pyo3(signature = (profile, min_samples = 5))]
    fn drift(&self, profile: &PyProfile, min_samples: usize) -> Vec<(String, PySize, f64)> {
        self.0.observations().drift(&profile.0, min_samples).into_iter().map(|(f, s, r)| (f, PySize(s), r)).collect()
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDecision>()?;
    m.add_class::<PyAdapter>()?;
    Ok(())
}
