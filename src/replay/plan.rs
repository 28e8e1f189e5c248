//! The standard comparison: split the profile, fit Janus (each synthesis
//! mode) and static sizing on one part, replay every policy on the other.

use super::engine::{replay, ReplayConfig, ReplayOutcome};
use super::policy::{PolicyKind, PolicySpec};
use super::ReplayError;
use crate::model::Workflow;
use crate::profile::Profile;
use crate::synth::{best_static, synthesize, Mode, SynthOptions};

/// Knobs of [`simulate`].
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub replay: ReplayConfig,
    /// Share of the requests (of each (function, size)'s samples, for an
    /// unkeyed profile), chosen at random from `replay.seed`, used to fit
    /// hints and static sizes; the rest is replayed.
    pub split: f64,
    /// One Janus policy per synthesis mode.
    pub modes: Vec<Mode>,
    /// Which kinds to include (all when `None`).
    pub kinds: Option<Vec<PolicyKind>>,
    /// Synthesis options (mode is overridden per Janus policy).
    pub synth: SynthOptions,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            replay: ReplayConfig::default(),
            split: 0.5,
            modes: vec![Mode::Stochastic, Mode::Percentile],
            kinds: None,
            synth: SynthOptions::default(),
        }
    }
}

/// Build the standard policies from the fitting profile.
pub fn standard_policies(
    wf: &Workflow,
    fit: &Profile,
    opts: &SimulateOptions,
) -> Result<(Vec<PolicySpec>, Vec<String>), ReplayError> {
    let want = |k: PolicyKind| opts.kinds.as_ref().is_none_or(|ks| ks.contains(&k));
    let mut out = Vec::new();
    let mut notes = Vec::new();
    if want(PolicyKind::Janus) {
        for &mode in &opts.modes {
            let so = SynthOptions { mode, ..opts.synth.clone() };
            let hints = synthesize(wf, fit, &so)?;
            if !hints.feasible() {
                notes.push(format!("janus-{}: synthesis found the SLO infeasible on the fit data", mode.name()));
            }
            out.push(PolicySpec::Janus { name: format!("janus-{}", mode.name()), hints: Box::new(hints) });
        }
    }
    if want(PolicyKind::Static) {
        let plan = best_static(wf, fit, &opts.synth)?;
        if !plan.feasible {
            notes.push("static: no one-size-per-stage plan meets the SLO on the fit data (fastest plan used)".into());
        }
        out.push(PolicySpec::Static { name: "static".into(), sizes: plan.sizes });
    }
    if want(PolicyKind::MaxSize) {
        out.push(PolicySpec::MaxSize);
    }
    if want(PolicyKind::StepConf) {
        out.push(PolicySpec::StepConf);
    }
    if want(PolicyKind::Oracle) {
        out.push(PolicySpec::Oracle);
    }
    Ok((out, notes))
}

/// Split at random (by request when keyed), fit, replay: the standard comparison.
pub fn simulate(wf: &Workflow, profile: &Profile, opts: &SimulateOptions) -> Result<ReplayOutcome, ReplayError> {
    wf.check_joint_options()?;
    profile.check_covers(wf)?;
    let (fit, held) = profile.split_random(opts.split, opts.replay.seed)?;
    let (policies, notes) = standard_policies(wf, &fit, opts)?;
    let mut out = replay(wf, &fit, &held, &policies, &opts.replay)?;
    out.notes.extend(notes);
    Ok(out)
}
