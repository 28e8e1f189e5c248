//! Binding of sizes, prices and workflows.

use super::errors::err;
use crate::model::{CostModel, Size, Workflow};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// One resource option: CPU in millicores and memory in MiB.
#[pyclass(name = "Size", module = "janus", frozen, eq, hash, ord)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PySize(pub Size);

#[pymethods]
impl PySize {
    #[new]
    fn new(cpu_millis: i64, memory_mib: i64) -> PyResult<Self> {
        let conv = |v: i64, what: &str| {
            u32::try_from(v).map_err(|_| {
                PyValueError::new_err(format!("Size: {what} must be an integer in 0..=4294967295, got {v}"))
            })
        };
        Ok(PySize(Size::new(conv(cpu_millis, "cpu_millis")?, conv(memory_mib, "memory_mib")?)))
    }
    #[getter]
    fn cpu_millis(&self) -> u32 {
        self.0.cpu_millis
    }
    #[getter]
    fn memory_mib(&self) -> u32 {
        self.0.memory_mib
    }
    #[getter]
    fn cores(&self) -> f64 {
        self.0.cores()
    }
    #[getter]
    fn gib(&self) -> f64 {
        self.0.gib()
    }
    fn fits_in(&self, capacity: &PySize) -> bool {
        self.0.fits_in(&capacity.0)
    }
    fn __repr__(&self) -> String {
        format!("Size(cpu_millis={}, memory_mib={})", self.0.cpu_millis, self.0.memory_mib)
    }
    fn __str__(&self) -> String {
        self.0.to_string()
    }
    fn __getnewargs__(&self) -> (u32, u32) {
        (self.0.cpu_millis, self.0.memory_mib)
    }
}

impl<'py> FromPyObject<'_, 'py> for PySize {
    type Error = PyErr;
    /// Accept a `Size`, or a `(cpu_millis, memory_mib)` tuple.
    fn extract(ob: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = ob.cast::<PySize>() {
            return Ok(*s.get());
        }
        if let Ok((c, m)) = ob.extract::<(i64, i64)>() {
            return PySize::new(c, m);
        }
        Err(PyValueError::new_err(format!(
            "expected a janus.Size or a (cpu_millis, memory_mib) tuple, got {}",
            ob.repr()?
        )))
    }
}

/// Price of a size per second: `cpu_price * cores + mem_price * GiB`.
#[pyclass(name = "CostModel", module = "janus", frozen)]
#[derive(Clone, Copy)]
pub struct PyCostModel(pub CostModel);

#[pymethods]
impl PyCostModel {
    #[new]
    #[pyo3(signature = (cpu_price = 1.0, mem_price = 0.104))]
    fn new(cpu_price: f64, mem_price: f64) -> PyResult<Self> {
        let m = CostModel { cpu_price, mem_price };
        if !m.is_valid() {
            return Err(PyValueError::new_err(format!(
                "CostModel: prices must be finite, >= 0 and not both 0, got cpu_price={cpu_price}, mem_price={mem_price}"
            )));
        }
        Ok(PyCostModel(m))
    }
    /// Lambda-like: only GiB-seconds are billed.
    #[staticmethod]
    fn memory_only() -> Self {
        PyCostModel(CostModel::memory_only())
    }
    #[getter]
    fn cpu_price(&self) -> f64 {
        self.0.cpu_price
    }
    #[getter]
    fn mem_price(&self) -> f64 {
        self.0.mem_price
    }
    fn rate(&self, size: PySize) -> f64 {
        self.0.rate(&size.0)
    }
    fn cost(&self, size: PySize, ms: f64) -> f64 {
        self.0.cost(&size.0, ms)
    }
    fn __repr__(&self) -> String {
        format!("CostModel(cpu_price={}, mem_price={})", self.0.cpu_price, self.0.mem_price)
    }
}

/// A validated workflow DAG (built by `janus.Workflow`; rarely used directly).
#[pyclass(name = "NativeWorkflow", module = "janus", frozen)]
#[derive(Clone)]
pub struct PyWorkflow(pub Workflow);

#[pymethods]
impl PyWorkflow {
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        // Structural errors carry their JSON path; semantic ones (cycles,
        // names) come from Workflow::new as typed WorkflowErrors.
        let de = &mut serde_json::Deserializer::from_str(text);
        let spec: serde_json::Value = serde_path_to_error::deserialize(de).map_err(|e| {
            super::errors::WorkflowError::new_err(format!("workflow JSON at {}: {}", e.path(), e.inner()))
        })?;
        match serde_json::from_value::<Workflow>(spec.clone()) {
            Ok(w) => Ok(PyWorkflow(w)),
            Err(_) => Err(rebuild_error(spec)),
        }
    }
    fn to_json(&self) -> String {
        self.0.to_json()
    }
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }
    #[getter]
    fn deadline_ms(&self) -> f64 {
        self.0.slo().deadline_ms
    }
    #[getter]
    fn percentile(&self) -> f64 {
        self.0.slo().percentile
    }
    #[getter]
    fn cost_model(&self) -> PyCostModel {
        PyCostModel(*self.0.cost_model())
    }
    #[getter]
    fn stages(&self) -> Vec<String> {
        self.0.stages().iter().map(|s| s.name.clone()).collect()
    }
    fn options(&self, stage: &str) -> PyResult<Vec<PySize>> {
        Ok(self.stage(stage)?.options.iter().map(|s| PySize(*s)).collect())
    }
    fn fanout(&self, stage: &str) -> PyResult<u32> {
        Ok(self.stage(stage)?.fanout)
    }
    fn feature(&self, stage: &str) -> PyResult<Option<String>> {
        Ok(self.stage(stage)?.feature.clone())
    }
    /// Parallel blocks in execution order, as stage names.
    #[getter]
    fn blocks(&self) -> Vec<Vec<String>> {
        let st = self.0.stages();
        self.0.blocks().iter().map(|b| b.iter().map(|&i| st[i].name.clone()).collect()).collect()
    }
    #[getter]
    fn edges(&self) -> Vec<(String, String)> {
        let st = self.0.stages();
        self.0.edges().iter().map(|&(a, b)| (st[a].name.clone(), st[b].name.clone())).collect()
    }
    /// `None` when the block schedule is exact, else what is approximated.
    #[getter]
    fn approximation(&self) -> Option<&str> {
        self.0.approximation()
    }
    #[pyo3(signature = (deadline_ms, percentile = None))]
    fn with_slo(&self, deadline_ms: f64, percentile: Option<f64>) -> PyResult<Self> {
        let mut slo = self.0.slo();
        slo.deadline_ms = deadline_ms;
        slo.percentile = percentile.unwrap_or(slo.percentile);
        Ok(PyWorkflow(self.0.with_slo(slo).map_err(err)?))
    }
    fn __repr__(&self) -> String {
        format!(
            "NativeWorkflow(name={:?}, deadline_ms={}, percentile={}, blocks={:?})",
            self.0.name(),
            self.0.slo().deadline_ms,
            self.0.slo().percentile,
            self.blocks()
        )
    }
}

impl PyWorkflow {
    fn stage(&self, name: &str) -> PyResult<&crate::model::Stage> {
        self.0.stage_index(name).map(|i| &self.0.stages()[i]).ok_or_else(|| {
            super::errors::WorkflowError::new_err(format!("workflow '{}' has no stage '{name}'", self.0.name()))
        })
    }
}

/// Re-run validation directly to surface the typed WorkflowError (serde
/// flattens it into a string otherwise).
fn rebuild_error(spec: serde_json::Value) -> PyErr {
    #[derive(serde::Deserialize)]
    struct Spec {
        name: String,
        slo: crate::model::Slo,
        #[serde(default)]
        cost_model: Option<CostModel>,
        stages: Vec<crate::model::Stage>,
        #[serde(default)]
        edges: Vec<(String, String)>,
    }
    match serde_json::from_value::<Spec>(spec) {
        Ok(s) => match Workflow::new(&s.name, s.slo, s.cost_model.unwrap_or_default(), s.stages, &s.edges) {
            Err(e) => err(e),
            Ok(_) => super::errors::WorkflowError::new_err("workflow JSON is invalid"),
        },
        Err(e) => super::errors::WorkflowError::new_err(format!("workflow JSON: {e}")),
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySize>()?;
    m.add_class::<PyCostModel>()?;
    m.add_class::<PyWorkflow>()?;
    Ok(())
}
