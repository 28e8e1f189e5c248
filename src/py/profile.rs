//! Binding of latency profiles.

use super::args::int_arg;
use super::errors::{err, profile_error};
use super::model::{AnyWorkflow, PySize};
use crate::profile::{read_csv, read_orion, Profile, Samples};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;

/// Latency samples per (function, size); each sample optionally tagged with
/// the key of the request it was measured on and the request's features.
#[pyclass(name = "Profile", module = "janus")]
#[derive(Clone, Default)]
pub struct PyProfile(pub Profile);

/// Feature vectors from a 2-D array (n x d), a list of sequences, or a 1-D
/// sequence (one feature).
fn feature_rows(ob: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Vec<f64>>> {
    if let Ok(a) = ob.cast::<numpy::PyArray2<f64>>() {
        let ro = a.readonly();
        let v = ro.as_array();
        return Ok(v.outer_iter().map(|r| r.to_vec()).collect());
    }
    if let Ok(rows) = ob.extract::<Vec<Vec<f64>>>() {
        return Ok(rows);
    }
    if let Ok(flat) = ob.extract::<Vec<f64>>() {
        return Ok(flat.into_iter().map(|x| vec![x]).collect());
    }
    Err(profile_error(format!(
        "{what}: features must be a sequence of numbers (one feature) or of feature vectors, got {}",
        ob.get_type().name()?
    )))
}

fn key_list(ob: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    let items: Vec<Bound<'_, PyAny>> = ob.try_iter()?.collect::<PyResult<_>>()?;
    items
        .iter()
        .map(|k| {
            if let Ok(s) = k.extract::<String>() {
                Ok(s)
            } else if let Ok(i) = k.extract::<i64>() {
                Ok(i.to_string())
            } else {
                Err(profile_error(format!("{what}: keys must be strings or integers, got {}", k.repr()?)))
            }
        })
        .collect()
}

#[pymethods]
impl PyProfile {
    /// An empty profile; `features` names the request features its samples carry.
    #[new]
    #[pyo3(signature = (features = None))]
    fn new(features: Option<Vec<String>>) -> PyResult<Self> {
        Ok(PyProfile(Profile::named(features.unwrap_or_default()).map_err(err)?))
    }

    /// Append samples (milliseconds) of `function` at `size`. `keys`: the
    /// request each sample was measured on (str or int); `features`: the
    /// request's feature vector per sample (n x d, or n values for one feature).
    #[pyo3(signature = (function, size, latencies_ms, *, keys = None, features = None))]
    fn add(
        &mut self,
        function: &str,
        size: PySize,
        latencies_ms: Vec<f64>,
        keys: Option<Bound<'_, PyAny>>,
        features: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let what = format!("profile.add('{function}', {})", size.0);
        let mut s = Samples::new(latencies_ms);
        if let Some(k) = keys {
            s = s.with_keys(key_list(&k, &what)?);
        }
        if let Some(f) = features {
            s = s.with_features(feature_rows(&f, &what)?);
        }
        self.0.add(function, size.0, s).map_err(err)
    }

    /// Build from a dict: `{(function, size): samples}` or
    /// `{function: {size: samples}}`; samples are a sequence or numpy array of
    /// milliseconds, or a `(latencies, features)` pair.
    #[staticmethod]
    #[pyo3(signature = (samples, features = None))]
    fn from_samples(samples: &Bound<'_, PyDict>, features: Option<Vec<String>>) -> PyResult<Self> {
        let mut p = Profile::named(features.unwrap_or_default()).map_err(err)?;
        let mut add = |f: &str, s: PySize, v: &Bound<'_, PyAny>| -> PyResult<()> {
            let what = format!("samples of '{f}' at {}", s.0);
            // A (latencies, features) pair, unless it is two latencies: `(1.0, 2.0)`.
            let pair = (!v.is_instance_of::<PyList>())
                .then(|| v.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>().ok())
                .flatten()
                .filter(|(l, _)| l.extract::<f64>().is_err());
            let smp = match pair {
                Some((l, feats)) => Samples::new(
                    l.extract::<Vec<f64>>().map_err(|_| profile_error(format!("{what}: latencies must be numbers")))?,
                )
                .with_features(feature_rows(&feats, &what)?),
                None => Samples::new(
                    v.extract::<Vec<f64>>()
                        .map_err(|_| profile_error(format!("{what} must be a sequence of numbers")))?,
                ),
            };
            p.add(f, s.0, smp).map_err(err)
        };
        for (k, v) in samples.iter() {
            if let Ok((f, s)) = k.extract::<(String, PySize)>() {
                add(&f, s, &v)?;
            } else if let Ok(f) = k.extract::<String>() {
                let inner = v
                    .cast::<PyDict>()
                    .map_err(|_| profile_error(format!("samples of '{f}' must be a dict {{size: samples}}")))?;
                for (sk, sv) in inner.iter() {
                    add(&f, sk.extract::<PySize>()?, &sv)?;
                }
            } else {
                return Err(profile_error(format!(
                    "from_samples keys must be (function, size) or function names, got {}",
                    k.repr()?
                )));
            }
        }
        Ok(PyProfile(p))
    }

    /// Read a CSV with columns function, cpu_millis, memory_mib, latency_ms
    /// and optionally key and feature.<name> columns (any other column is
    /// refused, so that a feature is never dropped).
    #[staticmethod]
    fn from_csv(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        Ok(PyProfile(py.detach(|| read_csv(&path)).map_err(err)?))
    }

    /// Read an ORION DAG_Profiler folder; returns (profile, stage names in
    /// order of first appearance, sizes). Lambda sizes map to CPU in
    /// proportion to memory (1 vCPU at 1769 MB).
    #[staticmethod]
    fn read_orion(py: Python<'_>, path: PathBuf) -> PyResult<(Self, Vec<String>, Vec<PySize>)> {
        let t = py.detach(|| read_orion(&path)).map_err(err)?;
        Ok((PyProfile(t.profile), t.stages, t.sizes.into_iter().map(PySize).collect()))
    }

    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Profile::from_json(text).map(PyProfile).map_err(|m| profile_error(format!("profile JSON {m}")))
    }

    fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// Write as JSON, atomically (temp file, fsync, rename); only a regular
    /// file is ever replaced, a new file honours the umask, an existing one
    /// keeps its mode.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.0.save(&path)).map_err(err)
    }

    /// Read a profile saved with ``save`` (a regular file of at most 64 MiB).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| Profile::load(&path)).map(PyProfile).map_err(err)
    }

    /// Names of the request features the samples carry.
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.0.feature_names().to_vec()
    }

    /// True when every sample names the request it was measured on.
    #[getter]
    fn is_keyed(&self) -> bool {
        self.0.is_keyed()
    }

    /// Samples of (function, size) as a float64 array.
    fn latencies<'py>(&self, py: Python<'py>, function: &str, size: PySize) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let s = self.0.require(function, &size.0).map_err(err)?;
        Ok(s.latencies.clone().into_pyarray(py))
    }

    /// Feature vectors of (function, size) as an (n, d) float64 array, or None.
    fn features<'py>(
        &self,
        py: Python<'py>,
        function: &str,
        size: PySize,
    ) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        let s = self.0.require(function, &size.0).map_err(err)?;
        let Some(f) = &s.features else { return Ok(None) };
        let d = self.0.feature_names().len();
        let flat: Vec<f64> = f.iter().flatten().copied().collect();
        let arr = flat.into_pyarray(py).reshape([f.len(), d])?;
        Ok(Some(arr))
    }

    /// Request keys of (function, size)'s samples, or None.
    fn keys(&self, function: &str, size: PySize) -> PyResult<Option<Vec<String>>> {
        Ok(self.0.require(function, &size.0).map_err(err)?.keys.clone())
    }

    /// Names of the functions that have samples (a property, like
    /// `Workflow.stages`: docs/design.md, "The Python API").
    #[getter]
    fn functions(&self) -> Vec<String> {
        self.0.functions().into_iter().map(String::from).collect()
    }

    fn sizes(&self, function: &str) -> Vec<PySize> {
        self.0.sizes_of(function).into_iter().map(PySize).collect()
    }

    /// Raise ProfileError naming the first (stage, option) without samples,
    /// or a function or feature the workflow does not have.
    fn check_covers(&self, workflow: AnyWorkflow) -> PyResult<()> {
        self.0.check_covers(&workflow.0).map_err(err)
    }

    /// Split at random (seeded): by request when keyed, else each (function,
    /// size)'s samples on their own. Returns (fraction part, the rest).
    #[pyo3(signature = (fraction, seed = 0))]
    fn split(&self, fraction: f64, #[pyo3(from_py_with = split_seed)] seed: u64) -> PyResult<(Self, Self)> {
        let (a, b) = self.0.split_random(fraction, seed).map_err(err)?;
        Ok((PyProfile(a), PyProfile(b)))
    }

    /// Add every sample of `other` to this profile (`p.merge(p)` doubles
    /// every sample: `other` is read before this profile is written).
    fn merge(slf: &Bound<'_, Self>, other: &Bound<'_, PyProfile>) -> PyResult<()> {
        if slf.is(other) {
            let theirs = other.borrow().0.clone();
            return slf.borrow_mut().0.merge(&theirs).map_err(err);
        }
        slf.borrow_mut().0.merge(&other.borrow().0).map_err(err)
    }

    /// SHA-256 of the canonical JSON form.
    #[getter]
    fn digest(&self) -> String {
        self.0.digest()
    }

    /// Summary rows: function, cpu_millis, memory_mib, n, requests (distinct
    /// keys), mean_ms, p50_ms, p95_ms (nearest-rank quantiles, `janus.quantile`).
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.0
            .summary()
            .into_iter()
            .map(|r| {
                let d = PyDict::new(py);
                d.set_item("function", r.function)?;
                d.set_item("cpu_millis", r.size.cpu_millis)?;
                d.set_item("memory_mib", r.size.memory_mib)?;
                d.set_item("n", r.n)?;
                d.set_item("requests", r.requests)?;
                d.set_item("mean_ms", r.mean_ms)?;
                d.set_item("p50_ms", r.p50_ms)?;
                d.set_item("p95_ms", r.p95_ms)?;
                Ok(d)
            })
            .collect()
    }

    /// A copy with every sample of each function in `ratios` multiplied by
    /// its ratio (feature values kept): the profile corrected for drift.
    fn scaled(&self, ratios: std::collections::BTreeMap<String, f64>) -> PyResult<Self> {
        crate::adapter::drift::corrected_profile(&self.0, &ratios).map(PyProfile).map_err(err)
    }

    fn __len__(&self) -> usize {
        self.0.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Profile({} functions, {} (function, size) entries, {} samples{}{})",
            self.0.functions().len(),
            self.0.len(),
            self.0.sample_count(),
            if self.0.is_keyed() { format!(", {} requests", self.0.keys().len()) } else { String::new() },
            if self.0.feature_names().is_empty() {
                String::new()
            } else {
                format!(", features {:?}", self.0.feature_names())
            }
        )
    }
}

/// Nearest-rank quantile of `values` (the one definition Janus reports; see `stats.rs`).
#[pyfunction]
fn quantile(values: Vec<f64>, q: f64) -> PyResult<f64> {
    if !(0.0..=1.0).contains(&q) {
        return Err(profile_error(format!("quantile: q must be in [0, 1], got {q:?}")));
    }
    if let Some(i) = values.iter().position(|v| v.is_nan()) {
        return Err(profile_error(format!("quantile: value #{i} is NaN")));
    }
    Ok(crate::stats::quantile(&values, q))
}

fn split_seed(v: &Bound<'_, PyAny>) -> PyResult<u64> {
    int_arg(v, "Profile.split: seed", 0, profile_error)
}

/// The 95 % Wilson score interval of a share `hits / n` (the sampling error
/// of an attainment; `(nan, nan)` for no runs).
#[pyfunction]
fn wilson_interval(hits: &Bound<'_, PyAny>, n: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    let hits: usize = int_arg(hits, "wilson_interval: hits", 0, profile_error)?;
    let n: usize = int_arg(n, "wilson_interval: n", 0, profile_error)?;
    if hits > n {
        return Err(profile_error(format!("wilson_interval: {hits} hits out of {n} runs")));
    }
    Ok(crate::stats::wilson_interval(hits, n))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyProfile>()?;
    m.add_function(wrap_pyfunction!(quantile, m)?)?;
    m.add_function(wrap_pyfunction!(wilson_interval, m)?)?;
    Ok(())
}
