//! Binding of synthesis and hint sets.

use super::errors::{err, hint_error, synthesis_error};
use super::model::{AnyWorkflow, PySize, PyWorkflow};
use super::profile::PyProfile;
use crate::hints::{HintSet, Late, Node};
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
    /// Whether the plan meets the percentile over all requests (on the profile).
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
    /// What late runs get: "static", "cheapest" or "fastest".
    #[getter]
    fn late(&self) -> String {
        self.0.late.to_string()
    }
    /// The plan over all requests: expected_cost, miss_probability,
    /// feasible, chosen, candidates (list of dicts), miss_target, reason.
    #[getter]
    fn plan<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = &self.0.plan;
        let d = PyDict::new(py);
        d.set_item("expected_cost", p.expected_cost)?;
        d.set_item("miss_probability", p.miss_probability)?;
        d.set_item("feasible", p.feasible)?;
        d.set_item("chosen", &p.chosen)?;
        d.set_item("miss_target", p.miss_target)?;
        d.set_item("reason", &p.reason)?;
        let cands = p
            .candidates
            .iter()
            .map(|c| {
                let x = PyDict::new(py);
                x.set_item("name", &c.name)?;
                x.set_item("expected_cost", c.expected_cost)?;
                x.set_item("miss_probability", c.miss_probability)?;
                x.set_item("feasible", c.feasible)?;
                Ok(x)
            })
            .collect::<PyResult<Vec<_>>>()?;
        d.set_item("candidates", cands)?;
        Ok(d)
    }
    /// One dict per table (the classes', then the unconditioned one): class,
    /// weight, expected_cost, miss_probability, feasible, source, lambda,
    /// mix, primary_cost, primary_miss_probability.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.0
            .summary
            .iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("class", s.class)?;
                d.set_item("weight", s.weight)?;
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
        d.set_item("workflow_digest", &p.workflow_digest)?;
        d.set_item("created_unix_s", p.created_unix_s)?;
        d.set_item("janus_version", &p.janus_version)?;
        d.set_item("synthesis", &p.synthesis)?;
        Ok(d)
    }
    /// The input classes: dict(features, count, classes=[{class, description,
    /// ranges: {feature: (lo, hi)}}], nodes), or None without classes.
    #[getter]
    fn classes<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(c) = &self.0.classes else { return Ok(None) };
        let d = PyDict::new(py);
        d.set_item("features", c.features.clone())?;
        d.set_item("count", c.count())?;
        let ranges = c.ranges();
        let classes = (0..c.count())
            .map(|k| {
                let x = PyDict::new(py);
                x.set_item("class", k)?;
                x.set_item("description", c.describe(k))?;
                let r = PyDict::new(py);
                for (name, bounds) in c.features.iter().zip(&ranges[k]) {
                    r.set_item(name, *bounds)?;
                }
                x.set_item("ranges", r)?;
                Ok(x)
            })
            .collect::<PyResult<Vec<_>>>()?;
        d.set_item("classes", classes)?;
        let nodes = c
            .nodes
            .iter()
            .map(|n| {
                let x = PyDict::new(py);
                match *n {
                    Node::Leaf { class } => x.set_item("class", class)?,
                    Node::Split { feature, threshold, below, above } => {
                        x.set_item("feature", &c.features[feature])?;
                        x.set_item("threshold", threshold)?;
                        x.set_item("below", below)?;
                        x.set_item("above", above)?;
                    }
                }
                Ok(x)
            })
            .collect::<PyResult<Vec<_>>>()?;
        d.set_item("nodes", nodes)?;
        Ok(Some(d))
    }
    /// The input class of a request with these features (workflow order),
    /// or None when the hint set has no classes.
    fn class_of(&self, features: Vec<f64>) -> PyResult<Option<usize>> {
        match &self.0.classes {
            None => Ok(None),
            Some(c) if c.features.len() == features.len() => Ok(Some(c.class_of(&features))),
            Some(c) => Err(hint_error(format!(
                "class_of: {} feature values given, the classes read {:?}",
                features.len(),
                c.features
            ))),
        }
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
        let h = self.0.hint(function).ok_or_else(|| hint_error(format!("hint set has no function '{function}'")))?;
        let tables = if alternative { &h.alt_tables } else { &h.tables };
        let t = match input_class {
            None => tables.last(),
            Some(c) if c + 1 < h.tables.len() => tables.get(c),
            Some(c) => {
                return Err(hint_error(format!(
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
    /// The late fallback size of `function`.
    fn fallback(&self, function: &str) -> PyResult<PySize> {
        let h = self.0.hint(function).ok_or_else(|| hint_error(format!("hint set has no function '{function}'")))?;
        Ok(PySize(h.fallback))
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
            "HintSet(workflow={:?}, functions={}, classes={}, rules={}, chosen={:?}, feasible={}, bytes={})",
            self.0.workflow.name(),
            self.0.hints.len(),
            self.0.classes.as_ref().map_or(1, |c| c.count()),
            self.rule_count(),
            self.0.plan.chosen,
            self.0.feasible(),
            self.size_bytes()
        )
    }
}

/// Synthesis options from keyword arguments: every key names a field of
/// `SynthOptions`; an unknown key or a value of the wrong type is a
/// `SynthesisError` naming it. Defaults are the core's (`SynthOptions::default`).
pub(crate) fn synth_options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<SynthOptions> {
    let mut o = SynthOptions::default();
    let Some(kw) = kwargs else { return Ok(o) };
    for (k, v) in kw.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        let bad = |what: &str| {
            synthesis_error(format!(
                "synthesis option {key}: expected {what}, got {}",
                v.repr().map_or("?".into(), |r| r.to_string())
            ))
        };
        match key.as_str() {
            "mode" => o.mode = v.extract::<String>().map_err(|_| bad("a str"))?.parse::<Mode>().map_err(err)?,
            "buckets" => o.buckets = v.extract().map_err(|_| bad("an int >= 0"))?,
            "tolerance" => o.tolerance = v.extract().map_err(|_| bad("a number"))?,
            "max_rules" => o.max_rules = Some(v.extract().map_err(|_| bad("an int >= 0"))?),
            "max_classes" => o.max_classes = Some(v.extract().map_err(|_| bad("an int >= 0"))?),
            "min_class_samples" => o.min_class_samples = v.extract().map_err(|_| bad("an int >= 0"))?,
            "smoothing" => o.smoothing = v.extract().map_err(|_| bad("a number"))?,
            "late" => {
                o.late = v.extract::<String>().map_err(|_| bad("a str"))?.parse::<Late>().map_err(synthesis_error)?
            }
            "min_gain" => o.min_gain = v.extract().map_err(|_| bad("a number"))?,
            "confidence" => o.confidence = v.extract().map_err(|_| bad("a number"))?,
            "mix" => o.mix = v.extract().map_err(|_| bad("a bool"))?,
            "crossfit" => o.crossfit = v.extract().map_err(|_| bad("a bool"))?,
            "bands" => o.bands = v.extract().map_err(|_| bad("a bool"))?,
            "lockstep" => o.lockstep = v.extract().map_err(|_| bad("a bool"))?,
            "beyond" => o.beyond = v.extract().map_err(|_| bad("a bool"))?,
            other => {
                return Err(synthesis_error(format!(
                    "unknown synthesis option '{other}' (options: mode, buckets, tolerance, max_rules, max_classes, \
                     min_class_samples, smoothing, late, min_gain, confidence, mix, crossfit, bands, lockstep, beyond)"
                )))
            }
        }
    }
    Ok(o)
}

/// Profiles + workflow + SLO -> hint set. Runs in parallel without the GIL.
///
/// Options (defaults in parentheses): mode "stochastic" | "percentile";
/// buckets (400) of the time grid; tolerance (0.05) of ranked alternatives;
/// max_rules (none) per function and table; max_classes (8, up to 16 on a
/// keyed profile of 4 x samples_needed(p) requests per class) input classes
/// over the request features; min_class_samples (15) per class and
/// (stage, size); smoothing (0) of the latency histograms; late ("static")
/// what late runs get: "static" | "cheapest" | "fastest"; min_gain (0.005)
/// a more complex plan must save; confidence (0.9) that the percentile holds
/// despite the profile's sampling error (0.5: plan on the profile as it is);
/// mix (False) per-run mixtures; crossfit (True) plans checked on requests they were not
/// fitted on (a keyed profile of 40 requests or more; unkeyed, on runs drawn from samples
/// they were not fitted on, 40 or more per stage and size); bands (True) plans
/// that know a run slow so far is slow ahead (keyed profiles); lockstep (True) plans from
/// an unkeyed profile that, were a run's stages slow together, miss no more than static;
/// beyond (True) plans from a profile too thin for the percentile held on runs one stage
/// slower than any profiled.
#[pyfunction(name = "synthesize")]
#[pyo3(signature = (workflow, profile, **options))]
fn py_synthesize(
    py: Python<'_>,
    workflow: AnyWorkflow,
    profile: &PyProfile,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyHintSet> {
    let opts = synth_options(options)?;
    let (wf, prof) = (&workflow.0, &profile.0);
    Ok(PyHintSet(py.detach(|| synthesize(wf, prof, &opts)).map_err(err)?))
}

/// The cheapest one-size-per-function assignment meeting the percentile on
/// the profile: dict(sizes={stage: Size}, expected_cost, miss_probability, feasible).
/// Takes the synthesis options that matter to it (buckets, smoothing,
/// confidence), so it is the static plan `synthesize` compares with.
#[pyfunction(name = "best_static")]
#[pyo3(signature = (workflow, profile, **options))]
fn py_best_static<'py>(
    py: Python<'py>,
    workflow: AnyWorkflow,
    profile: &PyProfile,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = synth_options(options)?;
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

/// Runs needed to pin a miss rate of `1 - percentile` to within half of
/// itself (one standard error): `4 p / (1 - p)`, 76 for p95. Synthesis warns
/// below it (and, for a late-binding plan, below 4 times it).
#[pyfunction]
fn samples_needed(percentile: f64) -> PyResult<usize> {
    if !(percentile > 0.0 && percentile < 1.0) {
        return Err(synthesis_error(format!("samples_needed: percentile {percentile} is not in (0, 1)")));
    }
    Ok(crate::synth::samples_needed(percentile))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHintSet>()?;
    m.add_function(wrap_pyfunction!(samples_needed, m)?)?;
    m.add_function(wrap_pyfunction!(py_synthesize, m)?)?;
    m.add_function(wrap_pyfunction!(py_best_static, m)?)?;
    Ok(())
}
