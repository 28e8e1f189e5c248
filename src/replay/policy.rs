//! Policies: what picks the sizes of each block in a replay.

use super::outcome::{block_outcome, Outcome};
use super::stepconf::StepConf;
use super::trace::RunDraw;
use super::ReplayError;
use crate::adapter::{Adapter, Query};
use crate::hints::HintSet;
use crate::model::{Size, Workflow};
use crate::profile::Profile;
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

/// The kind of a policy, as named in outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    Janus,
    Static,
    MaxSize,
    StepConf,
    Oracle,
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyKind::Janus => "janus",
            PolicyKind::Static => "static",
            PolicyKind::MaxSize => "maxsize",
            PolicyKind::StepConf => "stepconf",
            PolicyKind::Oracle => "oracle",
        })
    }
}

impl FromStr for PolicyKind {
    type Err = ReplayError;
    fn from_str(s: &str) -> Result<Self, ReplayError> {
        Ok(match s {
            "janus" => PolicyKind::Janus,
            "static" => PolicyKind::Static,
            "maxsize" => PolicyKind::MaxSize,
            "stepconf" => PolicyKind::StepConf,
            "oracle" => PolicyKind::Oracle,
            other => return Err(ReplayError::UnknownPolicy(other.to_string())),
        })
    }
}

/// A policy as the caller describes it.
#[derive(Debug, Clone)]
pub enum PolicySpec {
    /// Late binding: the adapter evaluates the hint set with the real elapsed time.
    Janus { name: String, hints: Box<HintSet> },
    /// Early binding: one size per stage, in workflow stage order.
    Static { name: String, sizes: Vec<Size> },
    /// The largest option of every stage (by CPU, then memory).
    MaxSize,
    /// Online per-step re-planning from mean latencies, no hints.
    StepConf,
    /// The clairvoyant oracle (must be unique).
    Oracle,
}

impl PolicySpec {
    pub fn name(&self) -> &str {
        match self {
            PolicySpec::Janus { name, .. } | PolicySpec::Static { name, .. } => name,
            PolicySpec::MaxSize => "maxsize",
            PolicySpec::StepConf => "stepconf",
            PolicySpec::Oracle => "oracle",
        }
    }
    pub fn kind(&self) -> PolicyKind {
        match self {
            PolicySpec::Janus { .. } => PolicyKind::Janus,
            PolicySpec::Static { .. } => PolicyKind::Static,
            PolicySpec::MaxSize => PolicyKind::MaxSize,
            PolicySpec::StepConf => PolicyKind::StepConf,
            PolicySpec::Oracle => PolicyKind::Oracle,
        }
    }
}

/// One run of one (non-oracle) policy, with the time spent deciding.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunResult {
    pub outcome: Outcome,
    pub decide_ns: u64,
    pub decisions: u32,
}

/// A policy ready to run: hint sets compiled into adapters, static sizes
/// turned into option indices, StepConf's plan precomputed.
pub enum Runner {
    Janus { adapter: Adapter, name: String },
    Fixed(Vec<usize>),
    StepConf(StepConf),
    Oracle,
}

fn index_of(wf: &Workflow, policy: &str, stage: usize, size: &Size) -> Result<usize, ReplayError> {
    let st = &wf.stages()[stage];
    st.options.iter().position(|s| s == size).ok_or_else(|| ReplayError::NotAnOption {
        policy: policy.to_string(),
        stage: st.name.clone(),
        size: size.to_string(),
    })
}

impl Runner {
    pub fn new(wf: &Workflow, fit: &Profile, spec: &PolicySpec) -> Result<Self, ReplayError> {
        Ok(match spec {
            PolicySpec::Janus { name, hints } => {
                if hints.workflow.digest() != wf.digest() {
                    return Err(ReplayError::OtherWorkflow {
                        policy: name.clone(),
                        found: hints.workflow.name().to_string(),
                        expected: wf.name().to_string(),
                    });
                }
                Runner::Janus { adapter: Adapter::new((**hints).clone()), name: name.clone() }
            }
            PolicySpec::Static { name, sizes } => {
                if sizes.len() != wf.stages().len() {
                    return Err(ReplayError::BadPolicy {
                        policy: name.clone(),
                        why: format!("{} sizes for {} stages", sizes.len(), wf.stages().len()),
                    });
                }
                let idx = sizes.iter().enumerate().map(|(i, s)| index_of(wf, name, i, s)).collect::<Result<_, _>>()?;
                Runner::Fixed(idx)
            }
            PolicySpec::MaxSize => Runner::Fixed(
                wf.stages()
                    .iter()
                    .map(|st| (0..st.options.len()).max_by_key(|&j| st.options[j]).unwrap_or(0))
                    .collect(),
            ),
            PolicySpec::StepConf => Runner::StepConf(StepConf::new(wf, fit)?),
            PolicySpec::Oracle => Runner::Oracle,
        })
    }

    /// Run one drawn execution block by block. Not for the oracle.
    /// `run_key` identifies the execution to the adapter (per-run mixtures).
    pub fn run(&self, wf: &Workflow, draw: &RunDraw, run_key: u64) -> Result<RunResult, ReplayError> {
        let deadline = wf.slo().deadline_ms;
        let mut total = Outcome::default();
        let mut res = RunResult::default();
        let mut choice: Vec<usize> = Vec::new();
        // Request features are known from the start, at every stage (the runtime's semantics).
        let features = draw.features.as_deref();
        for (b, block) in wf.blocks().iter().enumerate() {
            let elapsed = total.latency_ms;
            choice.clear();
            match self {
                Runner::Fixed(idx) => choice.extend(block.iter().map(|&s| idx[s])),
                Runner::StepConf(sc) => choice.extend_from_slice(sc.choose(b, deadline - elapsed)),
                Runner::Janus { adapter, name, .. } => {
                    for &s in block {
                        let st = &wf.stages()[s];
                        let t0 = Instant::now();
                        let q = Query { elapsed_ms: elapsed, features, free: None, run_key: Some(run_key) };
                        let d = adapter.decide(&st.name, &q);
                        res.decide_ns += t0.elapsed().as_nanos() as u64;
                        res.decisions += 1;
                        let d = d.map_err(|source| ReplayError::Adapter { policy: name.clone(), source })?;
                        choice.push(index_of(wf, name, s, &d.size)?);
                    }
                }
                Runner::Oracle => unreachable!("the oracle is selected across runs"),
            }
            total = total.add(&block_outcome(wf, block, &choice, draw));
        }
        res.outcome = total;
        Ok(res)
    }
}
