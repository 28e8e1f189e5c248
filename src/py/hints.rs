//! Binding of synthesis and hint sets.

use super::errors::{err, SynthesisError};
use super::model::{PySize, PyWorkflow};
use super::profile::PyProfile;
use crate::hints::HintSet;
use crate::synth::{best_static, synthesize, Mode, SynthOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// The versioned JSON contract between developer and provider.
#[pyclass(name = "HintSet", module = "janus", frozen)]
#[derive(Clone)]
pub struct PyHintSet(pub HintSet);

#[pymethods]
impl PyHintSet {
    /// Load and validate; errors name the file and the JSON path.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        Ok(PyHintSet(py.detach(|| HintSet::load(&path)).map_err(err)?))
    }
    #[staticmethod]
    #[pyo3(signature = (text, origin = "<string>"))]
    fn from_json(text: &str, origin: &str) -> PyResult<Self> {
        Ok(PyHintSet(HintSet::from_json(text, origin).map_err(err)?))
    }
    /// Write atomically (temp file, fsync, rename); only a regular file is
    /// ever replaced, a new file honours the umask, an existing one keeps its mode.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.0.save(&path)).map_err(err)
    }
    /// Compact JSON (as saved); `indent=True` for people.
    #[pyo3(signature = (indent = false))]
    fn to_json(&self, indent: bool) -> String {
        if indent {
            self.0.to_json()
        } else {
            self.0.to_json_compact()
        }
    }
    /// Size of the compact JSON form (as saved) in bytes.
    #[getter]
    fn size_bytes(&self) -> usize {
        self.0.size_bytes()
    }
    #[getter]
    fn feasible(&self) -> bool {
        self.0.feasible()
    }
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.0.warnings.clone()
    }
    #[getter]
    fn workflow(&self) -> PyWorkflow {
        PyWorkflow(self.0.workflow.clone())
    }
    #[getter]
    fn schema_version(&self) -> u32 {
        self.0.schema_version
    }
    /// One dict per table: class, expected_cost, miss_probability, feasible, source, lambda.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.0
            .summary
            .iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("class", s.class)?;
                d.set_item("expected_cost", s.expected_cost)?;
                d.set_item("miss_probability", s.miss_probability)?;
                d.set_item("feasible", s.feasible)?;
                d.set_item("source", &s.source)?;
                d.set_item("lambda", s.lambda)?;
                d.set_item("mix", s.mix)?;
                d.set_item("primary_cost", s.primary.map(|p| p.0))?;
                d.set_item("primary_miss_probability", s.primary.map(|p| p.1))?;
                Ok(d)
            })
            .collect()
    }
    #[getter]
    fn provenance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = &self.0.provenance;
        let d = PyDict::new(py);
        d.set_item("profile_digest", &p.profile_digest)?;
        d.set_item("created_unix_s", p.created_unix_s)?;
        d.set_item("janus_version", &p.janus_version)?;
        d.set_item("synthesis", &p.synthesis)?;
        Ok(d)
    }
    /// The feature classes: dict(function, feature, boundaries), or None.
    #[getter]
    fn classes<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.0
            .classes
            .as_ref()
            .map(|c| {
                let d = PyDict::new(py);
                d.set_item("function", &c.function)?;
                d.set_item("feature", &c.feature)?;
                d.set_item("boundaries", c.boundaries.clone())?;
                Ok(d)
            })
            .transpose()
    }
    /// Rules of `function` for input class `input_class` (None: unconditioned)
    /// as a list of (min_remaining_ms, [Size, ...]) ascending. With
    /// `alternative=True`: the rules of the cheaper policy that a share of
    /// keyed runs follows (`summary[..]["mix"]`); empty where not mixed.
    #[pyo3(signature = (function, input_class = None, alternative = false))]
    fn rules(
        &self,
        function: &str,
        input_class: Option<usize>,
        alternative: bool,
    ) -> PyResult<Vec<(f64, Vec<PySize>)>> {
        let h = self
            .0
            .hint(function)
            .ok_or_else(|| super::errors::HintError::new_err(format!("hint set has no function '{function}'")))?;
        let tables = if alternative { &h.alt_tables } else { &h.tables };
        let t = match input_class {
            None => tables.last(),
            Some(c) if c + 1 < h.tables.len() => tables.get(c),
            Some(c) => {
                return Err(super::errors::HintError::new_err(format!(
                    "input class {c} does not exist (the hint set has {} classes)",
                    h.tables.len() - 1
                )))
            }
        };
        Ok(t.map(|t| {
            t.rules.iter().map(|r| (r.min_remaining_ms, r.sizes.iter().map(|s| PySize(*s)).collect())).collect()
        })
        .unwrap_or_default())
    }
    /// Number of rules over all functions and tables.
    #[getter]
    fn rule_count(&self) -> usize {
        self.0.hints.iter().flat_map(|h| &h.tables).map(|t| t.rules.len()).sum()
    }
    fn __eq__(&self, other: &PyHintSet) -> bool {
        self.0 == other.0
    }
    fn __repr__(&self) -> String {
        format!(
            "HintSet(workflow={:?}, functions={}, rules={}, feasible={}, bytes={})",
            self.0.workflow.name(),
            self.0.hints.len(),
            self.rule_count(),
            self.0.feasible(),
            self.size_bytes()
        )
    }
}

fn options(
    mode: &str,
    buckets: usize,
    tolerance: f64,
    max_rules: Option<usize>,
    feature_classes: usize,
    boundaries: Option<Vec<f64>>,
    mix: bool,
) -> PyResult<SynthOptions> {
    let mode = match mode {
        "stochastic" => Mode::Stochastic,
        "percentile" => Mode::Percentile,
        other => {
            return Err(SynthesisError::new_err(format!("mode must be 'stochastic' or 'percentile', got {other:?}")))
        }
    };
    Ok(SynthOptions { mode, buckets, tolerance, max_rules, feature_classes, boundaries, mix })
}

/// Profiles + workflow + SLO -> hint set. Runs in parallel without the GIL.
#[pyfunction(name = "synthesize")]
#[pyo3(signature = (workflow, profile, *, mode = "stochastic", buckets = 400, tolerance = 0.05, max_rules = None, feature_classes = 2, boundaries = None, mix = false))]
#[allow(clippy::too_many_arguments)]
fn py_synthesize(
    py: Python<'_>,
    workflow: &PyWorkflow,
    profile: &PyProfile,
    mode: &str,
    buckets: usize,
    tolerance: f64,
    max_rules: Option<usize>,
    feature_classes: usize,
    boundaries: Option<Vec<f64>>,
    mix: bool,
) -> PyResult<PyHintSet> {
    let opts = options(mode, buckets, tolerance, max_rules, feature_classes, boundaries, mix)?;
    let (wf, prof) = (&workflow.0, &profile.0);
    Ok(PyHintSet(py.detach(|| synthesize(wf, prof, &opts)).map_err(err)?))
}

/// The cheapest one-size-per-function assignment meeting the percentile on
/// the profile: dict(sizes={stage: Size}, expected_cost, miss_probability, feasible).
#[pyfunction(name = "best_static")]
#[pyo3(signature = (workflow, profile, *, buckets = 400))]
fn py_best_static<'py>(
    py: Python<'py>,
    workflow: &PyWorkflow,
    profile: &PyProfile,
    buckets: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = SynthOptions { buckets, ..SynthOptions::default() };
    let (wf, prof) = (&workflow.0, &profile.0);
    let plan = py.detach(|| best_static(wf, prof, &opts)).map_err(err)?;
    let d = PyDict::new(py);
    let sizes = PyDict::new(py);
    for (st, s) in wf.stages().iter().zip(&plan.sizes) {
        sizes.set_item(&st.name, PySize(*s))?;
    }
    d.set_item("sizes", sizes)?;
    d.set_item("expected_cost", plan.expected_cost)?;
    d.set_item("miss_probability", plan.miss_probability)?;
    d.set_item("feasible", plan.feasible)?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHintSet>()?;
    m.add_function(wrap_pyfunction!(py_synthesize, m)?)?;
    m.add_function(wrap_pyfunction!(py_best_static, m)?)?;
    Ok(())
}
