//! Binding of the adapter: decide (scalar, pre-bound per function, and over
//! numpy arrays), observe, swap.

use super::args::int_arg;
use super::errors::{adapter_error, err};
use super::hints::PyHintSet;
use super::model::PySize;
use super::profile::PyProfile;
use crate::adapter::{run_key_of, Adapter, Batch, Decision, Query};
use numpy::ndarray::{Ix1, IxDyn};
use numpy::{IntoPyArray, PyArray, PyArrayMethods, PyReadonlyArray, PyUntypedArrayMethods};
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
        // A key the workflow lacks is named (`{"kbx": 1}` is a typo of `kb`,
        // and "no value for 'kb'" alone would not say which key). The keys
        // are read only when a name is missing or keys are left over: a
        // well-formed mapping, every decision's case, costs its lookups only.
        let unknown_key = || -> PyResult<Option<String>> {
            let keys: Vec<String> = m
                .keys()?
                .extract()
                .map_err(|_| adapter_error("features: a mapping's keys must be feature names (str)".into()))?;
            Ok(keys.into_iter().find(|k| !names.contains(k)))
        };
        let not_a_feature =
            |k: String| adapter_error(format!("features: '{k}' is not a request feature of the workflow ({names:?})"));
        let mut v = Vec::with_capacity(names.len());
        for n in &names {
            let Ok(x) = m.get_item(n) else {
                return Err(unknown_key()?.map_or_else(
                    || {
                        adapter_error(format!(
                            "features: no value for request feature '{n}' (the workflow's features: {names:?})"
                        ))
                    },
                    not_a_feature,
                ));
            };
            v.push(x.extract::<f64>().map_err(|_| adapter_error(format!("features: '{n}' must be a number")))?);
        }
        if m.len()? > names.len() {
            if let Some(k) = unknown_key()? {
                return Err(not_a_feature(k));
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
    /// feature), in any memory layout; `run_keys`: non-negative integers.
    /// Lists and integer arrays are converted. Returns a dict of numpy arrays:
    /// cpu_millis, memory_mib, rule (-1 = late), late, remaining_ms,
    /// input_class (-1 = unconditioned).
    #[pyo3(signature = (function, elapsed_ms, features = None, free = None, run_keys = None))]
    fn decide_many<'py>(
        &self,
        py: Python<'py>,
        function: &str,
        elapsed_ms: Bound<'py, PyAny>,
        features: Option<Bound<'py, PyAny>>,
        free: Option<PySize>,
        run_keys: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let el_arr = array_arg::<f64, Ix1>(&elapsed_ms, "elapsed_ms", "a 1-D array of numbers")?;
        let el_ro = el_arr.readonly();
        let el = row_major(&el_ro);
        // Features as one row-major buffer: an (n, d) array, or n values of one feature.
        let feats_arr: Option<(PyReadonlyArray<'py, f64, IxDyn>, usize)> =
            match features.as_ref().filter(|f| !f.is_none()) {
                None => None,
                Some(f) => {
                    let a = array_arg::<f64, IxDyn>(f, "features", "an (n, d) or (n,) array of numbers")?;
                    let width = match a.shape() {
                        [_] => 1,
                        [_, d] => *d,
                        shape => {
                            return Err(adapter_error(format!(
                                "decide_many: features must be an (n, d) or (n,) array of numbers, got shape {shape:?}"
                            )))
                        }
                    };
                    Some((a.readonly(), width))
                }
            };
        let feats = feats_arr.as_ref().map(|(a, w)| (row_major(a), *w));
        let keys_arr = run_keys
            .as_ref()
            .filter(|k| !k.is_none())
            .map(|k| array_arg::<u64, Ix1>(k, "run_keys", "a 1-D array of non-negative integers"))
            .transpose()?;
        let keys_ro = keys_arr.as_ref().map(|k| k.readonly());
        let keys = keys_ro.as_ref().map(row_major);
        let feats: Option<(&[f64], usize)> = feats.as_ref().map(|(f, w)| (f.as_ref(), *w));
        let keys: Option<&[u64]> = keys.as_deref();
        let el: &[f64] = &el;
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

    /// The observations in the windows as a Profile, to look at what ran.
    /// Windows keep latencies only, so it has no request keys or features:
    /// merged into a keyed profile it unkeys it (synthesis then warns). To
    /// re-synthesise on drift, scale the offline profile instead
    /// (`drift_by_function`, then `Profile.scaled`), as `janus.online` does.
    fn observed_profile(&self) -> PyResult<PyProfile> {
        self.0.observations().to_profile().map(PyProfile).map_err(err)
    }

    /// Per function: the median over its sizes of observed mean / profiled
    /// mean (sizes with at least `min_samples` observations in the windows).
    #[pyo3(signature = (profile, min_samples = 5))]
    fn drift_by_function(
        &self,
        profile: &PyProfile,
        #[pyo3(from_py_with = min_samples_arg)] min_samples: usize,
    ) -> PyResult<std::collections::BTreeMap<String, f64>> {
        crate::adapter::drift::check_comparable(&self.0.hints().workflow, &profile.0).map_err(err)?;
        Ok(crate::adapter::drift::drift_by_function(self.0.observations(), &profile.0, min_samples))
    }

    /// Observed mean / profiled mean per (function, size) with enough samples.
    #[pyo3(signature = (profile, min_samples = 5))]
    fn drift(
        &self,
        profile: &PyProfile,
        #[pyo3(from_py_with = min_samples_arg)] min_samples: usize,
    ) -> PyResult<Vec<(String, PySize, f64)>> {
        crate::adapter::drift::check_comparable(&self.0.hints().workflow, &profile.0).map_err(err)?;
        let d = self.0.observations().drift(&profile.0, min_samples);
        Ok(d.into_iter().map(|(f, s, r)| (f, PySize(s), r)).collect())
    }
}

/// `min_samples` of the drift methods.
fn min_samples_arg(v: &Bound<'_, PyAny>) -> PyResult<usize> {
    int_arg(v, "Adapter.drift: min_samples", 0, adapter_error)
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

/// Argument `name` of a batch call as a numpy array of `T` with `D`
/// dimensions: lists and other numeric dtypes are converted (int64 elapsed
/// times, say), and anything else is an `AdapterError` naming the argument.
fn array_arg<'py, T: numpy::Element, D: numpy::ndarray::Dimension>(
    ob: &Bound<'py, PyAny>,
    name: &str,
    what: &str,
) -> PyResult<Bound<'py, PyArray<T, D>>> {
    let py = ob.py();
    let converted = py
        .import("numpy")?
        .call_method1("asarray", (ob, numpy::dtype::<T>(py)))
        .map_err(|e| adapter_error(format!("decide_many: {name} must be {what}: {e}")))?;
    converted.cast_into::<PyArray<T, D>>().map_err(|_| adapter_error(format!("decide_many: {name} must be {what}")))
}

/// The array's elements in row-major (C) order: borrowed when its memory
/// already is, else copied. (`as_slice` also accepts Fortran-ordered
/// arrays, a pandas `to_numpy()` among them, and hands back their memory
/// column by column.)
fn row_major<'a, T: numpy::Element + Copy, D: numpy::ndarray::Dimension>(
    a: &'a PyReadonlyArray<'_, T, D>,
) -> std::borrow::Cow<'a, [T]> {
    match a.as_slice() {
        Ok(x) if a.is_c_contiguous() => std::borrow::Cow::Borrowed(x),
        _ => std::borrow::Cow::Owned(a.as_array().iter().copied().collect()),
    }
}
