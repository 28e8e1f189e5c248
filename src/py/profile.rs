//! Binding of latency profiles.

use super::errors::{err, ProfileError};
use super::model::{PySize, PyWorkflow};
use crate::profile::{read_csv, read_orion, Profile};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// Latency samples per (function, size), with optional input feature values.
#[pyclass(name = "Profile", module = "janus")]
#[derive(Clone, Default)]
pub struct PyProfile(pub Profile);

#[pymethods]
impl PyProfile {
    #[new]
    fn new() -> Self {
        PyProfile::default()
    }

    /// Append samples (milliseconds) of `function` at `size`; `features`, if
    /// given, holds the input feature value of each run.
    #[pyo3(signature = (function, size, latencies_ms, features = None))]
    fn add(
        &mut self,
        function: &str,
        size: PySize,
        latencies_ms: Vec<f64>,
        features: Option<Vec<f64>>,
    ) -> PyResult<()> {
        self.0.add(function, size.0, latencies_ms, features).map_err(err)
    }

    /// Build from a dict: `{(function, size): samples}` or
    /// `{function: {size: samples}}`; samples are a sequence or numpy array of
    /// milliseconds, or a `(latencies, features)` pair.
    #[staticmethod]
    fn from_samples(samples: &Bound<'_, PyDict>) -> PyResult<Self> {
        let mut p = Profile::new();
        let mut add = |f: &str, s: PySize, v: &Bound<'_, PyAny>| -> PyResult<()> {
            let (lat, feat) = match v.extract::<(Vec<f64>, Vec<f64>)>() {
                Ok((l, f)) if !v.is_instance_of::<pyo3::types::PyList>() => (l, Some(f)),
                _ => (
                    v.extract::<Vec<f64>>().map_err(|_| {
                        ProfileError::new_err(format!("samples of '{f}' at {} must be a sequence of numbers", s.0))
                    })?,
                    None,
                ),
            };
            p.add(f, s.0, lat, feat).map_err(err)
        };
        for (k, v) in samples.iter() {
            if let Ok((f, s)) = k.extract::<(String, PySize)>() {
                add(&f, s, &v)?;
            } else if let Ok(f) = k.extract::<String>() {
                let inner = v
                    .cast::<PyDict>()
                    .map_err(|_| ProfileError::new_err(format!("samples of '{f}' must be a dict {{size: samples}}")))?;
                for (sk, sv) in inner.iter() {
                    add(&f, sk.extract::<PySize>()?, &sv)?;
                }
            } else {
                return Err(ProfileError::new_err(format!(
                    "from_samples keys must be (function, size) or function names, got {}",
                    k.repr()?
                )));
            }
        }
        Ok(PyProfile(p))
    }

    /// Read an ORION DAG_Profiler folder into a profile (see `read_orion`).
    #[staticmethod]
    fn from_orion(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        Ok(PyProfile(py.detach(|| read_orion(&path)).map_err(err)?.profile))
    }

    /// Read a CSV with columns function, cpu_millis, memory_mib, latency_ms[, feature].
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
        Profile::from_json(text).map(PyProfile).map_err(|m| ProfileError::new_err(format!("profile JSON {m}")))
    }

    fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// Write as JSON (atomically: temp file + rename).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        let io = |e: std::io::Error| ProfileError::new_err(format!("{}: {e}", path.display()));
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        std::io::Write::write_all(&mut tmp, self.0.to_json().as_bytes()).map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }

    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        let text =
            std::fs::read_to_string(&path).map_err(|e| ProfileError::new_err(format!("{}: {e}", path.display())))?;
        Profile::from_json(&text)
            .map(PyProfile)
            .map_err(|m| ProfileError::new_err(format!("{}: not a Janus profile {m}", path.display())))
    }

    /// Samples of (function, size) as a float64 array.
    fn latencies<'py>(&self, py: Python<'py>, function: &str, size: PySize) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let s = self.0.require(function, &size.0).map_err(err)?;
        Ok(s.latencies.clone().into_pyarray(py))
    }

    /// Feature values of (function, size), or None when none were recorded.
    fn features<'py>(
        &self,
        py: Python<'py>,
        function: &str,
        size: PySize,
    ) -> PyResult<Option<Bound<'py, PyArray1<f64>>>> {
        let s = self.0.require(function, &size.0).map_err(err)?;
        Ok(s.features.clone().map(|f| f.into_pyarray(py)))
    }

    fn functions(&self) -> Vec<String> {
        self.0.functions().into_iter().map(String::from).collect()
    }

    fn sizes(&self, function: &str) -> Vec<PySize> {
        self.0.sizes_of(function).into_iter().map(PySize).collect()
    }

    /// Raise ProfileError naming the first (stage, option) without samples.
    fn check_covers(&self, workflow: &PyWorkflow) -> PyResult<()> {
        self.0.check_covers(&workflow.0).map_err(err)
    }

    /// Split each entry in measurement order: (first `fraction`, rest).
    fn split(&self, fraction: f64) -> PyResult<(Self, Self)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(ProfileError::new_err(format!("split fraction must be in (0, 1), got {fraction}")));
        }
        let (a, b) = self.0.split(fraction).map_err(|m| ProfileError::new_err(format!("profile: {m}")))?;
        Ok((PyProfile(a), PyProfile(b)))
    }

    /// Add every sample of `other` to this profile.
    fn merge(&mut self, other: &PyProfile) -> PyResult<()> {
        for (f, s, v) in other.0.iter() {
            self.0.add(f, *s, v.latencies.clone(), v.features.clone()).map_err(err)?;
        }
        Ok(())
    }

    /// SHA-256 of the canonical JSON form.
    #[getter]
    fn digest(&self) -> String {
        self.0.digest()
    }

    /// Summary rows: function, cpu_millis, memory_mib, n, mean_ms, p50_ms, p95_ms.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let mut out = Vec::new();
        for (f, s, v) in self.0.iter() {
            let mut x = v.latencies.clone();
            x.sort_by(f64::total_cmp);
            let q = |p: f64| x[((x.len() as f64 - 1.0) * p).round() as usize];
            let d = PyDict::new(py);
            d.set_item("function", f)?;
            d.set_item("cpu_millis", s.cpu_millis)?;
            d.set_item("memory_mib", s.memory_mib)?;
            d.set_item("n", x.len())?;
            d.set_item("mean_ms", x.iter().sum::<f64>() / x.len() as f64)?;
            d.set_item("p50_ms", q(0.5))?;
            d.set_item("p95_ms", q(0.95))?;
            out.push(d);
        }
        Ok(out)
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
        let n: usize = self.0.iter().map(|(_, _, v)| v.latencies.len()).sum();
        format!(
            "Profile({} functions, {} (function, size) entries, {n} samples)",
            self.0.functions().len(),
            self.0.len()
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyProfile>()?;
    Ok(())
}
