//! Binding of sizes, prices and workflows (the builder the Python
//! `janus.Workflow` decorator drives, and the validated workflow).

use super::args::int_arg;
use super::errors::{err, workflow_error};
use crate::model::{check_size, CostModel, Size, Slo, Stage, Workflow, WorkflowBuilder, MAX_PRICE, MIN_CPU_MILLIS};
use pyo3::prelude::*;

/// One resource option: CPU in millicores and memory in MiB.
#[pyclass(name = "Size", module = "janus", frozen, eq, hash, ord)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PySize(pub Size);

#[pymethods]
impl PySize {
    #[new]
    fn new(cpu_millis: &Bound<'_, PyAny>, memory_mib: &Bound<'_, PyAny>) -> PyResult<Self> {
        let cpu = int_arg(cpu_millis, "Size: cpu_millis", MIN_CPU_MILLIS.into(), workflow_error)?;
        let s = Size::new(cpu, int_arg(memory_mib, "Size: memory_mib", 1, workflow_error)?);
        check_size(&s).map_err(|why| workflow_error(format!("Size({}, {}): {why}", s.cpu_millis, s.memory_mib)))?;
        Ok(PySize(s))
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
    /// Accept a `Size`, or a `(cpu_millis, memory_mib)` pair.
    fn extract(ob: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = ob.cast::<PySize>() {
            return Ok(*s.get());
        }
        if let Ok((c, m)) = ob.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>() {
            return PySize::new(&c, &m);
        }
        Err(workflow_error(format!("expected a janus.Size or a (cpu_millis, memory_mib) pair, got {}", ob.repr()?)))
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
            return Err(workflow_error(format!(
                "CostModel: prices must be in [0, {MAX_PRICE:e}] and not both 0, got cpu_price={cpu_price}, mem_price={mem_price}"
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

/// A workflow under construction: every call validates what it adds and
/// raises `WorkflowError` at once (driven by `janus.Workflow`).
#[pyclass(name = "WorkflowBuilder", module = "janus")]
pub struct PyWorkflowBuilder(WorkflowBuilder);

#[pymethods]
impl PyWorkflowBuilder {
    #[new]
    #[pyo3(signature = (name, deadline_ms, percentile = 0.95, cost_model = None))]
    fn new(
        name: &str,
        deadline_ms: f64,
        percentile: f64,
        cost_model: Option<PyRef<'_, PyCostModel>>,
    ) -> PyResult<Self> {
        let slo = Slo { deadline_ms, percentile };
        Ok(PyWorkflowBuilder(
            WorkflowBuilder::new(name, slo, cost_model.map_or_else(CostModel::default, |c| c.0)).map_err(err)?,
        ))
    }
    fn add_feature(&mut self, name: &str) -> PyResult<()> {
        self.0.add_feature(name).map_err(err)
    }
    #[pyo3(signature = (name, options, fanout = None))]
    fn add_stage(&mut self, name: &str, options: Vec<PySize>, fanout: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let fanout = match fanout {
            Some(v) => int_arg(v, &format!("workflow '{}': fanout of '{name}'", self.0.name()), 1, workflow_error)?,
            None => 1,
        };
        let stage = Stage { name: name.to_string(), options: options.into_iter().map(|s| s.0).collect(), fanout };
        self.0.add_stage(stage).map_err(err)
    }
    fn add_edge(&mut self, a: &str, b: &str) -> PyResult<()> {
        self.0.add_edge(a, b).map_err(err)
    }
    fn has_stage(&self, name: &str) -> bool {
        self.0.stage_index(name).is_some()
    }
    /// The validated workflow (raises WorkflowError when it has no stage).
    fn build(&self) -> PyResult<PyWorkflow> {
        Ok(PyWorkflow(self.0.build().map_err(err)?))
    }
}

/// A validated workflow DAG (built by `janus.Workflow`; rarely used directly).
#[pyclass(name = "NativeWorkflow", module = "janus", frozen)]
#[derive(Clone)]
pub struct PyWorkflow(pub Workflow);

#[pymethods]
impl PyWorkflow {
    /// Parse the JSON form; errors name the JSON path.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Workflow::from_json(text).map(PyWorkflow).map_err(|m| workflow_error(format!("workflow JSON {m}")))
    }
    fn to_json(&self) -> String {
        self.0.to_json()
    }
    /// SHA-256 of the workflow: hints are valid only for the workflow with this digest.
    #[getter]
    fn digest(&self) -> String {
        self.0.digest()
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
    /// Names of the request features, in the order the adapter takes them.
    #[getter]
    fn features(&self) -> Vec<String> {
        self.0.features().to_vec()
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
            "NativeWorkflow(name={:?}, deadline_ms={}, percentile={}, features={:?}, blocks={:?})",
            self.0.name(),
            self.0.slo().deadline_ms,
            self.0.slo().percentile,
            self.0.features(),
            self.blocks()
        )
    }
}

impl PyWorkflow {
    fn stage(&self, name: &str) -> PyResult<&Stage> {
        self.0
            .stage_index(name)
            .map(|i| &self.0.stages()[i])
            .ok_or_else(|| workflow_error(format!("workflow '{}' has no stage '{name}'", self.0.name())))
    }
}

/// A workflow argument: a `NativeWorkflow`, or anything with a `.native`
/// attribute that is one (the Python `janus.Workflow`).
pub(crate) struct AnyWorkflow(pub Workflow);

impl<'py> FromPyObject<'_, 'py> for AnyWorkflow {
    type Error = PyErr;
    fn extract(ob: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(w) = ob.cast::<PyWorkflow>() {
            return Ok(AnyWorkflow(w.get().0.clone()));
        }
        match ob.getattr("native") {
            Ok(n) => {
                if let Ok(w) = n.cast::<PyWorkflow>() {
                    return Ok(AnyWorkflow(w.get().0.clone()));
                }
            }
            // A janus.Workflow that is not valid yet (no stage): its own error says why.
            Err(e) if e.is_instance_of::<super::errors::JanusError>(ob.py()) => return Err(e),
            Err(_) => {}
        }
        Err(workflow_error(format!("expected a janus.Workflow, got {}", ob.get_type().name()?)))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySize>()?;
    m.add_class::<PyCostModel>()?;
    m.add_class::<PyWorkflowBuilder>()?;
    m.add_class::<PyWorkflow>()?;
    Ok(())
}
