//! The replay: draw many executions once, run every policy on the same draws.

use super::metrics::{summarize, PolicyRuns, PolicySummary};
use super::oracle::{oracle_run, oracle_select};
use super::policy::{PolicyKind, PolicySpec, RunResult, Runner};
use super::trace::{Coupling, Executions};
use super::ReplayError;
use crate::model::Workflow;
use crate::profile::Profile;
use rayon::prelude::*;

/// Which executions: keyed requests when the profile has them (`runs` is
/// then ignored: every held-out request is replayed), else `runs` draws
/// from the random stream `seed` with the coupling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayConfig {
    pub runs: usize,
    pub seed: u64,
    pub coupling: Coupling,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig { runs: 20_000, seed: 0, coupling: Coupling::Auto }
    }
}

/// Everything a replay measured.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    pub config: ReplayConfig,
    pub deadline_ms: f64,
    pub percentile: f64,
    /// The coupling actually used (`Keyed` for keyed executions).
    pub coupling: Coupling,
    /// Per execution: the request key and repetition (keyed executions only).
    pub keys: Vec<Option<(String, usize)>>,
    /// The adapter's run key of each execution.
    pub run_keys: Vec<u64>,
    pub policies: Vec<PolicyRuns>,
    pub summary: Vec<PolicySummary>,
    /// Human-readable caveats (infeasible static plan, DAG approximations...).
    pub notes: Vec<String>,
}

/// Replay the executions of `replay` under every policy; `fit` is what the
/// policies may know (StepConf's means). The oracle, if listed, sees the
/// executions' latencies themselves.
pub fn replay(
    wf: &Workflow,
    fit: &Profile,
    replay: &Profile,
    policies: &[PolicySpec],
    cfg: &ReplayConfig,
) -> Result<ReplayOutcome, ReplayError> {
    wf.check_joint_options()?;
    if cfg.runs == 0 {
        return Err(ReplayError::BadOption { what: "runs", why: "at least 1", value: "0".into() });
    }
    if policies.is_empty() {
        return Err(ReplayError::BadOption { what: "policies", why: "a non-empty list", value: "[]".into() });
    }
    if policies.iter().filter(|p| p.kind() == PolicyKind::Oracle).count() > 1 {
        return Err(ReplayError::BadPolicy { policy: "oracle".into(), why: "listed twice".into() });
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(p) = policies.iter().find(|p| !seen.insert(p.name().to_string())) {
        return Err(ReplayError::BadPolicy { policy: p.name().to_string(), why: "two policies have this name".into() });
    }
    fit.check_covers(wf)?;
    let (source, note) = Executions::new(wf, replay, cfg.coupling, cfg.runs, cfg.seed)?;
    let runners: Vec<Runner> = policies.iter().map(|p| Runner::new(wf, fit, p)).collect::<Result<_, _>>()?;
    let joint: Vec<Vec<Vec<usize>>> = wf.blocks().iter().map(|b| wf.joint_options(b)).collect();
    let has_oracle = runners.iter().any(|r| matches!(r, Runner::Oracle));

    type PerRun = (Vec<RunResult>, Option<super::oracle::OracleRun>, Option<(String, usize)>, u64);
    let per_run: Vec<PerRun> = (0..source.len())
        .into_par_iter()
        .map(|run| {
            let draw = source.draw(run);
            let run_key = run_key(&draw, cfg.seed, run);
            let mut res = Vec::with_capacity(runners.len());
            for r in &runners {
                res.push(if matches!(r, Runner::Oracle) { RunResult::default() } else { r.run(wf, &draw, run_key)? });
            }
            Ok((res, has_oracle.then(|| oracle_run(wf, &joint, &draw)), draw.key, run_key))
        })
        .collect::<Result<_, ReplayError>>()?;

    let deadline = wf.slo().deadline_ms;
    let percentile = wf.slo().percentile;
    let oracle: Option<Vec<_>> = has_oracle.then(|| {
        let runs: Vec<_> = per_run.iter().map(|(_, o, _, _)| o.expect("oracle computed")).collect();
        oracle_select(&runs, percentile)
    });
    let mut out = Vec::with_capacity(policies.len());
    for (k, spec) in policies.iter().enumerate() {
        let outcomes: Vec<_> = match (&runners[k], &oracle) {
            (Runner::Oracle, Some(sel)) => sel.clone(),
            _ => per_run.iter().map(|(r, _, _, _)| r[k].outcome).collect(),
        };
        let (decide_ns, decisions) = per_run
            .iter()
            .fold((0u64, 0u64), |(a, b), (r, _, _, _)| (a + r[k].decide_ns, b + u64::from(r[k].decisions)));
        out.push(PolicyRuns {
            name: spec.name().to_string(),
            kind: spec.kind(),
            latency_ms: outcomes.iter().map(|o| o.latency_ms).collect(),
            cost: outcomes.iter().map(|o| o.cost).collect(),
            core_s: outcomes.iter().map(|o| o.core_s).collect(),
            gib_s: outcomes.iter().map(|o| o.gib_s).collect(),
            met: outcomes.iter().map(|o| o.latency_ms <= deadline).collect(),
            decide_ns,
            decisions,
            hint_bytes: match spec {
                PolicySpec::Janus { hints, .. } => Some(hints.size_bytes()),
                _ => None,
            },
        });
    }
    let mut notes = vec![note];
    if let Some(a) = wf.approximation() {
        notes.push(format!("DAG approximation: {a}"));
    }
    Ok(ReplayOutcome {
        config: *cfg,
        deadline_ms: deadline,
        percentile,
        coupling: source.coupling(),
        keys: per_run.iter().map(|(_, _, k, _)| k.clone()).collect(),
        run_keys: per_run.iter().map(|(_, _, _, r)| *r).collect(),
        summary: summarize(&out),
        policies: out,
        notes,
    })
}

/// The adapter's run key of an execution: the request key and repetition of
/// a keyed one (as a runtime would hash its request id), else the run index
/// mixed with the seed.
pub fn run_key(draw: &super::trace::RunDraw, seed: u64, run: usize) -> u64 {
    match &draw.key {
        Some((k, rep)) => crate::adapter::run_key_of(&format!("{k}#{rep}")),
        None => seed.rotate_left(32) ^ run as u64,
    }
}
