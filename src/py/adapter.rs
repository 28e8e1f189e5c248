//! Binding of the adapter: decide (scalar, pre-bound per function, and over
//! numpy arrays), observe, swap.

use super::errors::{adapter_error, err};
use super::hints::PyHintSet;
use super::model::PySize;
use super::profile::PyProfile;
use crate::adapter::{run_key_of, Adapter, Batch, Decision, Query};
use numpy::{IntoPyArray, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyMapping, PyString};
use std::sync::Arc;

/// The size chosen for one invocation and why.
#[pyclass(name = "Decision", module = "janus", frozen)]
pub struct PyDecision(Decision);

#[pymethods]
impl PyDecision {
    #[getter]
    fn size(&self) -> PySize {
        PySize(self.0.size)
    }
    /// Index of the rule that chose the size; None for a late run.
    #[getter]
    fn rule(&self) -> Option<usize> {
        self.0.rule
    }
    #[getter]
    fn remaining_ms(&self) -> f64 {
        self.0.remaining_ms
    }
    /// True when the budget was below every rule: the run is likely lost and
    /// got the hint set's late fallback (see `HintSet.late`).
    #[getter]
    fn late(&self) -> bool {
        self.0.late
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
            "Decision(size={}, rule={:?}, remaining_ms={:.1}, late={}, fits={}, input_class={:?})",
            self.0.size, self.0.rule, self.0.remaining_ms, self.0.late, self.0.fits, self.0.class
        )
    }
}

/// Request features: None, one number, a sequence in the workflow's order,
/// or a mapping from feature name to value.
fn features_of(adapter: &Adapter, ob: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<f64>>> {
    let Some(ob) = ob.filter(|o| !o.is_none()) else { return Ok(None) };
    if ob.is_instance_of::<PyFloat>() || ob.is_instance_of::<PyInt>() {
        return Ok(Some(vec![ob.extract::<f64>()?]));
    }
    if let Ok(m) = ob.cast::<PyMapping>() {
        let names = adapter.feature_names();
        let mut v = Vec::with_capacity(names.len());
        for n in &names {
            let x = m.get_item(n).map_err(|_| {
                adapter_error(format!(
                    "features: no value for request feature '{n}' (the workflow's features: {names:?})"
                ))
            })?;
            v.push(x.extract::<f64>().map_err(|_| adapter_error(format!("features: '{n}' must be a number")))?);
        }
        if m.len()? > names.len() {
            let keys: Vec<String> = m.keys()?.extract()?;
            if let Some(extra) = keys.iter().find(|k| !names.contains(k)) {
                return Err(adapter_error(format!(
                    "features: '{extra}' is not a request feature of the workflow ({names:?})"
                )));
            }
        }
        return Ok(Some(v));
    }
    ob.extract::<Vec<f64>>().map(Some).map_err(|_| {
        adapter_error(format!(
            "features must be a number, a sequence of numbers or a mapping name -> number, got {}",
            ob.get_type().name().map_or("?".into(), |n| n.to_string())
        ))
    })
}

/// A run key: an unsigned integer, or a string (an activation or request id).
fn run_key(ob: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    let Some(ob) = ob.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(s) = ob.cast::<PyString>() {
        return Ok(Some(run_key_of(s.to_str()?)));
    }
    ob.extract::<u64>().map(Some).map_err(|_| {
        adapter_error(format!(
            "run_key must be a str or an int in 0..2**64, got {}",
            ob.repr().map_or("?".into(), |r| r.to_string())
        ))
    })
}

fn decide(
    adapter: &Adapter,
    target: Result<&str, usize>,
    elapsed_ms: f64,
    features: Option<&Bound<'_, PyAny>>,
    free: Option<PySize>,
    key: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyDecision> {
    let f = features_of(adapter, features)?;
    let q = Query { elapsed_ms, features: f.as_deref(), free: free.map(|s| s.0), run_key: run_key(key)? };
    let d = match target {
        Ok(name) => adapter.decide(name, &q),
        Err(i) => adapter.decide_at(i, &q),
    };
    d.map(PyDecision).map_err(err)
}

/// Evaluates a hint set at invocation time. Thread-safe; `decide` takes no lock.
#[pyclass(name = "Adapter", module = "janus", frozen)]
pub struct PyAdapter(Arc<Adapter>);

#[pymethods]
impl PyAdapter {
    #[new]
    fn new(hints: &PyHintSet) -> Self {
        PyAdapter(Arc::new(Adapter::new(hints.0.clone())))
    }

    /// Size for `function` after `elapsed_ms` of the workflow run. `features`:
    /// the request's features (mapping name -> value, a sequence in the
    /// workflow's order, or one number); the unconditioned rules without.
    /// `free`: the node's free capacity. `run_key` (a str or int, the same for
    /// every function of a run) lets a hint set that mixes two policies per
    /// run pick this run's one.
    #[pyo3(signature = (function, elapsed_ms, features = None, free = None, run_key = None))]
    fn decide(
        &self,
        function: &str,
        elapsed_ms: f64,
        features: Option<Bound<'_, PyAny>>,
        free: Option<PySize>,
        run_key: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyDecision> {
        decide(&self.0, Ok(function), elapsed_ms, features.as_ref(), free, run_key.as_ref())
    }

    /// A handle pre-bound to `function`: `handle.decide(elapsed_ms, ...)`
    /// skips the name lookup (for a provider's hot path).
    fn function(&self, function: &str) -> PyResult<PyFunctionAdapter> {
        let index = self.0.function_index(function).map_err(err)?;
        Ok(PyFunctionAdapter { adapter: self.0.clone(), index, name: function.to_string() })
    }

    /// Vectorised decide for one function, from ONE snapshot of the hint set
    /// (a concurrent swap never splits a batch): one decision per element of
    /// `elapsed_ms`. `features`: an (n, d) array (or n values for one
    /// feature); `run_keys`: uint64 array. Returns a dict of numpy arrays:
    /// cpu_millis, memory_mib, rule (-1 = late), late, remaining_ms,
    /// input_class (-1 = unconditioned).
    #[pyo3(signature = (function, elapsed_ms, features = None, free = None, run_keys = None))]
    fn decide_many<'py>(
        &self,
        py: Python<'py>,
        function: &str,
        elapsed_ms: PyReadonlyArray1<'py, f64>,
        features: Option<Bound<'py, PyAny>>,
        free: Option<PySize>,
        run_keys: Option<PyReadonlyArray1<'py, u64>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let el = elapsed_ms.as_slice()?;
        // Features as one row-major buffer (borrowed when the array is contiguous).
        let ro2 = features.as_ref().and_then(|f| f.cast::<numpy::PyArray2<f64>>().ok()).map(|a| a.readonly());
        let ro1 = features.as_ref().and_then(|f| f.cast::<numpy::PyArray1<f64>>().ok()).map(|a| a.readonly());
        let copied: Vec<f64>;
        let feats: Option<(&[f64], usize)> = match (&ro2, &ro1) {
            (Some(a), _) => {
                let width = a.shape()[1];
                match a.as_slice() {
                    Ok(x) => Some((x, width)),
                    Err(_) => {
                        copied = a.as_array().iter().copied().collect();
                        Some((&copied, width))
                    }
                }
            }
            (None, Some(a)) => Some((a.as_slice()?, 1)),
            (None, None) if features.as_ref().is_some_and(|f| !f.is_none()) => {
                return Err(adapter_error("decide_many: features must be a float64 numpy array (n, d) or (n,)".into()))
            }
            (None, None) => None,
        };
        let keys = run_keys.as_ref().map(|k| k.as_slice()).transpose()?;
        let batch = Batch { elapsed_ms: el, features: feats, free: free.map(|f| f.0), run_keys: keys };
        let d = py.detach(|| self.0.decide_many(function, &batch)).map_err(err)?;
        let out = PyDict::new(py);
        out.set_item("cpu_millis", d.cpu_millis.into_pyarray(py))?;
        out.set_item("memory_mib", d.memory_mib.into_pyarray(py))?;
        out.set_item("rule", d.rule.into_pyarray(py))?;
        out.set_item("late", d.late.into_pyarray(py))?;
        out.set_item("remaining_ms", d.remaining_ms.into_pyarray(py))?;
        out.set_item("input_class", d.class.into_pyarray(py))?;
        Ok(out)
    }

    /// Record an observed latency (online profiling), in the window of the
    /// request's input class when `features` are given (as for `decide`).
    #[pyo3(signature = (function, size, latency_ms, features = None))]
    fn observe(
        &self,
        function: &str,
        size: PySize,
        latency_ms: f64,
        features: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let f = features_of(&self.0, features.as_ref())?;
        self.0.observe_run(function, size.0, latency_ms, f.as_deref()).map(|_| ()).map_err(err)
    }

    /// Swap in a re-synthesised hint set for the same workflow (same digest; atomic).
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

/// An adapter pre-bound to one function (`Adapter.function(name)`).
#[pyclass(name = "FunctionAdapter", module = "janus", frozen)]
pub struct PyFunctionAdapter {
    adapter: Arc<Adapter>,
    index: usize,
    name: String,
}

#[pymethods]
impl PyFunctionAdapter {
    /// `Adapter.decide(function, ...)` for the bound function.
    #[pyo3(signature = (elapsed_ms, features = None, free = None, run_key = None))]
    fn decide(
        &self,
        elapsed_ms: f64,
        features: Option<Bound<'_, PyAny>>,
        free: Option<PySize>,
        run_key: Option<Bound<'_, PyAny>>,
    ) -> PyResult<PyDecision> {
        decide(&self.adapter, Err(self.index), elapsed_ms, features.as_ref(), free, run_key.as_ref())
    }
    #[getter]
    fn function(&self) -> &str {
        &self.name
    }
    fn __repr__(&self) -> String {
        format!("FunctionAdapter({:?})", self.name)
    }
}

/// The stable 64-bit run key of a string run id (FNV-1a): what `decide`
/// uses for a `run_key` given as a str.
#[pyfunction(name = "run_key")]
fn py_run_key(id: &str) -> u64 {
    run_key_of(id)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDecision>()?;
    m.add_class::<PyAdapter>()?;
    m.add_class::<PyFunctionAdapter>()?;
    m.add_function(wrap_pyfunction!(py_run_key, m)?)?;
    Ok(())
}
