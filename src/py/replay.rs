//! Binding of the replay engine: `simulate` (split, fit, replay) and
//! `replay` (explicit policies). Both release the GIL and return plain dicts
//! of numpy columns that `janus.analysis` turns into DataFrames.

use super::args::opt_int_arg;
use super::errors::{err, replay_error};
use super::hints::{synth_options, PyHintSet};
use super::model::{AnyWorkflow, PySize};
use super::profile::PyProfile;
use crate::replay::{
    replay, simulate, Coupling, PolicyKind, PolicySpec, ReplayConfig, ReplayError, ReplayOutcome, SimulateOptions,
};
use crate::synth::Mode;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The replay settings given, the core's defaults (`ReplayConfig::default`)
/// for the others: the defaults are defined once, in Rust, and the Python
/// wrappers and the CLI forward only what the caller gave.
fn config(
    caller: &str,
    runs: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
    coupling: Option<&str>,
) -> PyResult<ReplayConfig> {
    let d = ReplayConfig::default();
    Ok(ReplayConfig {
        runs: opt_int_arg(runs, &format!("{caller}: runs"), 0, replay_error)?.unwrap_or(d.runs),
        seed: opt_int_arg(seed, &format!("{caller}: seed"), 0, replay_error)?.unwrap_or(d.seed),
        coupling: coupling.map(|c| c.parse::<Coupling>().map_err(err)).transpose()?.unwrap_or(d.coupling),
    })
}

/// `SIMULATE_DEFAULTS`: what `simulate` and `replay` use for an option not
/// given, for help texts and results that show them.
fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let s = SimulateOptions::default();
    let d = PyDict::new(py);
    d.set_item("runs", s.replay.runs)?;
    d.set_item("seed", s.replay.seed)?;
    d.set_item("split", s.split)?;
    d.set_item("coupling", s.replay.coupling.to_string())?;
    d.set_item("modes", s.modes.iter().map(|m| m.name()).collect::<Vec<_>>())?;
    Ok(d)
}

/// The outcome as a dict: metadata, `summary` (one dict per policy) and
/// `runs` (tidy columns: one row per (policy, run)).
fn to_dict<'py>(py: Python<'py>, o: ReplayOutcome) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("coupling", o.coupling.to_string())?;
    // Executions replayed (every held-out request when keyed, else the draws asked for).
    d.set_item("runs", o.run_keys.len())?;
    d.set_item("seed", o.config.seed)?;
    d.set_item("deadline_ms", o.deadline_ms)?;
    d.set_item("percentile", o.percentile)?;
    d.set_item("notes", o.notes.clone())?;
    let mut summary = Vec::new();
    for s in &o.summary {
        let r = PyDict::new(py);
        r.set_item("policy", &s.name)?;
        r.set_item("kind", s.kind.to_string())?;
        r.set_item("runs", s.runs)?;
        r.set_item("cost", s.cost)?;
        r.set_item("cpu_core_s", s.core_s)?;
        r.set_item("gib_s", s.gib_s)?;
        r.set_item("attainment", s.attainment)?;
        r.set_item("attainment_ci", s.attainment_ci)?;
        r.set_item("p50_ms", s.p50_ms)?;
        r.set_item("p95_ms", s.p95_ms)?;
        r.set_item("p99_ms", s.p99_ms)?;
        r.set_item("decisions_per_s", s.decisions_per_s)?;
        r.set_item("hint_bytes", s.hint_bytes)?;
        r.set_item("saving_vs_static", s.saving_vs_static)?;
        r.set_item("oracle_share", s.oracle_share)?;
        summary.push(r);
    }
    d.set_item("summary", summary)?;
    let n: usize = o.policies.iter().map(|p| p.met.len()).sum();
    let (mut pol, mut run) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut lat, mut cost, mut core, mut gib, mut met) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::new());
    for (k, p) in o.policies.into_iter().enumerate() {
        pol.extend(std::iter::repeat_n(k as u32, p.met.len()));
        run.extend(0..p.met.len() as u64);
        lat.extend(p.latency_ms);
        cost.extend(p.cost);
        core.extend(p.core_s);
        gib.extend(p.gib_s);
        met.extend(p.met);
    }
    let cols = PyDict::new(py);
    cols.set_item("policy_index", pol.into_pyarray(py))?;
    cols.set_item("run", run.into_pyarray(py))?;
    cols.set_item("latency_ms", lat.into_pyarray(py))?;
    cols.set_item("cost", cost.into_pyarray(py))?;
    cols.set_item("cpu_core_s", core.into_pyarray(py))?;
    cols.set_item("gib_s", gib.into_pyarray(py))?;
    cols.set_item("met", met.into_pyarray(py))?;
    let keys: Vec<Option<String>> = o.keys.iter().map(|k| k.as_ref().map(|(k, rep)| format!("{k}#{rep}"))).collect();
    cols.set_item("execution", keys)?;
    cols.set_item("run_key", o.run_keys.clone().into_pyarray(py))?;
    d.set_item("columns", cols)?;
    Ok(d)
}

/// Split `profile` at random (by request when keyed; `seed`), synthesize
/// one hint set per mode with the synthesis options given, fit static
/// sizing, and replay Janus, static, max size, StepConf and the oracle on the
/// held-out executions: every held-out request of a keyed profile, else
/// `runs` draws with `coupling`. `policies` filters by kind.
#[pyfunction(name = "simulate")]
#[pyo3(signature = (workflow, profile, *, runs = None, seed = None, split = None, coupling = None,
    modes = None, policies = None, **synthesis))]
#[allow(clippy::too_many_arguments)]
fn py_simulate<'py>(
    py: Python<'py>,
    workflow: AnyWorkflow,
    profile: &PyProfile,
    runs: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
    split: Option<f64>,
    coupling: Option<&str>,
    modes: Option<Vec<String>>,
    policies: Option<Vec<String>>,
    synthesis: Option<&Bound<'_, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = SimulateOptions::default();
    let modes = match modes {
        Some(ms) => ms.iter().map(|m| m.parse::<Mode>().map_err(err)).collect::<PyResult<Vec<_>>>()?,
        None => d.modes,
    };
    let kinds = policies
        .map(|ps| ps.iter().map(|p| p.parse::<PolicyKind>().map_err(err)).collect::<PyResult<Vec<_>>>())
        .transpose()?;
    let synth = synth_options(synthesis)?;
    let opts = SimulateOptions {
        replay: config("simulate", runs, seed, coupling)?,
        split: split.unwrap_or(d.split),
        modes,
        kinds,
        synth,
    };
    let (wf, prof) = (&workflow.0, &profile.0);
    let out = py.detach(|| simulate(wf, prof, &opts)).map_err(err)?;
    to_dict(py, out)
}

/// Replay explicit policies: `policies` is a list of `(name, kind, arg)`
/// with kind "janus" (arg: HintSet), "static" (arg: list of Size in stage
/// order, or dict stage -> Size), "maxsize", "stepconf" or "oracle" (arg: None).
/// `profile_fit` is what policies may know, `profile_replay` what is replayed.
#[pyfunction(name = "replay")]
#[pyo3(signature = (workflow, profile_fit, profile_replay, policies, *, runs = None, seed = None, coupling = None))]
#[allow(clippy::too_many_arguments)]
fn py_replay<'py>(
    py: Python<'py>,
    workflow: AnyWorkflow,
    profile_fit: &PyProfile,
    profile_replay: &PyProfile,
    policies: Vec<(String, String, Option<Bound<'py, PyAny>>)>,
    runs: Option<&Bound<'_, PyAny>>,
    seed: Option<&Bound<'_, PyAny>>,
    coupling: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let wf = &workflow.0;
    let mut specs = Vec::with_capacity(policies.len());
    for (name, kind, arg) in policies {
        let kind = kind.parse::<PolicyKind>().map_err(err)?;
        let need = |what: &'static str| err(ReplayError::BadPolicy { policy: name.clone(), why: what.into() });
        specs.push(match kind {
            PolicyKind::Janus => {
                let h = arg.ok_or_else(|| need("a janus policy needs a HintSet"))?;
                let h = h.extract::<PyRef<'_, PyHintSet>>().map_err(|_| need("a janus policy needs a HintSet"))?;
                PolicySpec::Janus { name: name.clone(), hints: Box::new(h.0.clone()) }
            }
            PolicyKind::Static => {
                let a = arg.ok_or_else(|| need("a static policy needs its sizes"))?;
                let sizes: Vec<_> = if let Ok(d) = a.cast::<PyDict>() {
                    wf.stages()
                        .iter()
                        .map(|st| {
                            d.get_item(&st.name)?
                                .ok_or_else(|| need("the dict of static sizes misses a stage"))?
                                .extract::<PySize>()
                                .map(|s| s.0)
                        })
                        .collect::<PyResult<_>>()?
                } else {
                    a.extract::<Vec<PySize>>()
                        .map_err(|_| need("static sizes must be a list of Size or a dict stage -> Size"))?
                        .into_iter()
                        .map(|s| s.0)
                        .collect()
                };
                PolicySpec::Static { name: name.clone(), sizes }
            }
            PolicyKind::MaxSize => PolicySpec::MaxSize,
            PolicyKind::StepConf => PolicySpec::StepConf,
            PolicyKind::Oracle => PolicySpec::Oracle,
        });
    }
    let cfg = config("replay", runs, seed, coupling)?;
    let (fit, rep) = (&profile_fit.0, &profile_replay.0);
    let out = py.detach(|| replay(wf, fit, rep, &specs, &cfg)).map_err(err)?;
    to_dict(py, out)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_simulate, m)?)?;
    m.add_function(wrap_pyfunction!(py_replay, m)?)?;
    m.add("SIMULATE_DEFAULTS", defaults(m.py())?)?;
    Ok(())
}
