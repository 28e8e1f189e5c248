//! One synthesis, start to end: the reference model, the candidates
//! (static, unconditioned, conditioned on 2, 3, ... classes), the choice
//! over all requests, and the rules.
//!
//! Every candidate is condensed into the rules the adapter will read and
//! judged on the same reference (see `lagrange.rs`). The chosen plan is the
//! cheapest that meets the target, except that a more complex plan (more
//! classes; any DP plan over the static one) must save at least
//! `min_gain`: a conditioned plan is never shipped when it is not clearly
//! better in aggregate than the unconditioned one and than static.

use super::candidate::Candidate;
use super::candidates::{setup_and_candidates, Candidates};
use super::choose::{choose, reason};
use super::conv::Conv;
use super::data::Data;
use super::evaluate::policy_from_tables;
use super::grid::Policy;
use super::json_safe::summary_value;
use super::lagrange::{Aggregate, Level, Reference};
use super::options::{Mode, SynthOptions};
use super::setup::{build_level, runs_behind, Setup};
use super::SynthError;
use crate::hints::{Classifier, Hint, HintSet, PlanSummary, Provenance, RuleTable, TableSummary, SCHEMA_VERSION};
use crate::model::{Size, Workflow};
use crate::profile::Profile;

/// Slack on the miss target (float noise only): a plan missing exactly one
/// run in ten meets p90 although `1 - 0.9` is 0.09999999999999998.
pub(crate) const FEASIBILITY_EPS: f64 = 1e-9;

/// Synthesize the hint set of `wf` from `profile`.
pub(crate) fn synthesize(wf: &Workflow, profile: &Profile, opts: &SynthOptions) -> Result<HintSet, SynthError> {
    let (setup, Candidates { cands, levels, mut notes, static_optimism }, margin, held) =
        setup_and_candidates(wf, profile, opts)?;
    let target = setup.target;
    let mut warnings = profile_warnings(wf, profile, &setup, margin, held, opts);
    // Percentile mode is a baseline: its plan is the answer, whatever static costs.
    let chosen_i = match opts.mode {
        Mode::Percentile => 1,
        Mode::Stochastic => choose(&cands, target, opts.min_gain, runs_behind(&setup.data), static_optimism),
    };
    let chosen = cands[chosen_i].clone();
    thin_profile_warning(&setup, chosen.level.is_some(), &mut warnings);
    let nclasses = chosen.tables.len();
    // Runs without features: the better of static and unconditioned.
    let unknown = if nclasses > 1 {
        cands[choose(&cands[..2], target, opts.min_gain, runs_behind(&setup.data), static_optimism)].clone()
    } else {
        chosen.clone()
    };
    if opts.mix && chosen.mix.is_none() && chosen.level.is_some() {
        notes.push("mix: no cheaper policy just below the target to mix with".into());
    }
    let reason = reason(&cands, chosen_i, target, opts.min_gain);
    let feasible = chosen.feasible(target);
    if !feasible {
        warnings.push(format!(
            "deadline {} ms at percentile {} is infeasible on the profile: the best plan misses {:.4} of runs, \
             more than the allowed {:.4}; the hints minimise the miss probability (runs that cannot make it get the late policy)",
            wf.slo().deadline_ms,
            wf.slo().percentile,
            chosen.miss(),
            target - FEASIBILITY_EPS
        ));
    }
    if let Some(a) = wf.approximation() {
        warnings.push(format!("workflow '{}': {a}", wf.name()));
    }
    let (per_table, alt, summary) = tables_and_summary(wf, &levels, &chosen, &unknown, feasible, target);
    let (mixed_cost, mixed_miss) = (chosen.mixed(|a| a.cost), chosen.mixed(Aggregate::predicted_miss));
    let classes = (nclasses > 1).then(|| setup.classifiers[chosen.level.expect("classes come from a level")].clone());
    let hints = wf
        .stages()
        .iter()
        .enumerate()
        .map(|(si, st)| Hint {
            function: st.name.clone(),
            options: st.options.clone(),
            fastest: st.options[setup.fastest[si]],
            fallback: st.options[setup.fallback[si]],
            tables: per_table.iter().map(|t| t[si].clone()).collect(),
            alt_tables: alt.iter().map(|t| t[si].clone()).collect(),
        })
        .collect();
    let synthesis = synthesis_line(wf, &setup, &notes, opts);
    let created_unix_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let plan = PlanSummary {
        expected_cost: summary_value(mixed_cost),
        miss_probability: summary_value(mixed_miss),
        feasible,
        chosen: chosen.name.clone(),
        candidates: cands.iter().map(|c| c.summary(target)).collect(),
        miss_target: summary_value(target - FEASIBILITY_EPS),
        reason,
    };
    let hs = HintSet {
        schema_version: SCHEMA_VERSION,
        workflow: wf.clone(),
        late: opts.late,
        classes,
        hints,
        summary,
        plan,
        provenance: Provenance {
            profile_digest: profile.digest(),
            workflow_digest: wf.digest(),
            created_unix_s,
            janus_version: env!("CARGO_PKG_VERSION").to_string(),
            synthesis,
        },
        warnings,
    };
    // A hint set the loader would refuse is a bug here, not the user's: say so rather than hand it out.
    hs.validate("<synthesized>").map_err(|e| SynthError::Hints(format!("internal error, please report: {e}")))?;
    Ok(hs)
}

/// Warnings on what the profile holds, before any plan is chosen: features
/// declared but not recorded, keys on some entries only, no whole
/// requests, and no margin for sampling error that static can afford.
fn profile_warnings(
    wf: &Workflow,
    profile: &Profile,
    setup: &Setup,
    margin: bool,
    held: f64,
    opts: &SynthOptions,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if !wf.features().is_empty() && !setup.data.featured {
        warnings.push(format!(
            "workflow '{}' declares request features {:?} but the profile's samples do not all carry them: \
             no input classes (profile with the workflow's requests to record them)",
            wf.name(),
            wf.features()
        ));
    }
    let (keyed_entries, entries) = profile.keyed_entries(wf);
    if keyed_entries > 0 && keyed_entries < entries {
        warnings.push(format!(
            "only {keyed_entries} of the workflow's {entries} (stage, size) entries carry request keys (samples \
             added without keys drop an entry's keys): the profile is used unkeyed, with no walk of its requests \
             (cross-fitted on its samples, not its requests; give every sample its request's key)"
        ));
    }
    if setup.data.keyed.is_none() && wf.blocks().len() > 1 {
        // Without whole requests the stages' joint latencies are unknown,
        // and the plan takes them as independent. Shared slowness (an input
        // trait, a cold cache, a busy machine) makes the tail of the sum
        // fatter than that: the SLO is then missed more often than planned.
        let held = if setup.reference.lockstep.is_some() {
            "; the plan is held to lose no more runs than static's slack pays for were a run's stages slow \
             together (lockstep=True), which keeps most but not all of those misses away"
        } else {
            ""
        };
        warnings.push(format!(
            "no request of the profile was measured at every stage and size (no request keys, or no request \
             complete): stages are planned as independent, and where a request slow at one stage is slow at the \
             next (its input, a cold cache, a busy machine) the hints miss the SLO more often than planned{held} \
             (docs/results.md, 'Unkeyed profiles'); profile whole requests, each sample with its request's key"
        ));
    }
    if !margin {
        let thin = held > 0.0;
        warnings.push(format!(
            "no static plan meets the percentile with {:.0} % confidence over the profile's {} runs: {} planned to \
             the percentile itself, with no margin for sampling error{} (profile more runs, or loosen the deadline)",
            100.0 * opts.confidence,
            runs_behind(&setup.data),
            if thin { "static is" } else { "Janus and static are" },
            if thin { "; late-binding plans are still held to the margin, as the profile is thin for it" } else { "" }
        ));
    }
    warnings
}

/// Per stage, the chosen plan's rule tables (one per class, then the
/// unknown-class one, `unknown`'s), the mixed-in policy's where mixed, and
/// the per-table summary.
fn tables_and_summary(
    wf: &Workflow,
    levels: &[Level],
    chosen: &Candidate,
    unknown: &Candidate,
    feasible: bool,
    target: f64,
) -> (Vec<Vec<RuleTable>>, Vec<Vec<RuleTable>>, Vec<TableSummary>) {
    let nclasses = chosen.tables.len();
    let mix = &chosen.mix;
    let mut per_table: Vec<Vec<RuleTable>> = chosen.tables.clone();
    let mut alt: Vec<Vec<RuleTable>> = match &mix {
        Some(m) => m.tables.clone(),
        None => Vec::new(),
    };
    let mut summary = Vec::new();
    let weights = chosen.level.map_or(vec![1.0], |li| levels[li].weights.clone());
    if nclasses > 1 {
        for (k, &(w, c, m)) in chosen.aggregate.classes.iter().enumerate() {
            let (c, m, prim) = match &mix {
                Some(x) => {
                    let (_, xc, xm) = x.aggregate.classes[k];
                    (
                        x.share * xc + (1.0 - x.share) * c,
                        x.share * xm + (1.0 - x.share) * m,
                        Some((summary_value(c), summary_value(m))),
                    )
                }
                None => (c, m, None),
            };
            summary.push(TableSummary {
                class: Some(k),
                weight: summary_value(weights.get(k).copied().unwrap_or(w)),
                expected_cost: summary_value(c),
                miss_probability: summary_value(m),
                feasible,
                source: chosen.source.into(),
                lambda: chosen.lambda.map(summary_value),
                mix: mix.as_ref().map(|x| x.share),
                primary: prim,
            });
        }
        per_table.push(unknown.tables[0].clone());
        if !alt.is_empty() {
            alt.push(vec![RuleTable::default(); wf.stages().len()]);
        }
        summary.push(TableSummary {
            class: None,
            weight: 1.0,
            expected_cost: summary_value(unknown.aggregate.cost),
            miss_probability: summary_value(unknown.aggregate.predicted_miss()),
            feasible: unknown.aggregate.miss <= target,
            source: unknown.source.into(),
            lambda: unknown.lambda.map(summary_value),
            mix: None,
            primary: None,
        });
    } else {
        summary.push(TableSummary {
            class: None,
            weight: 1.0,
            expected_cost: summary_value(chosen.mixed(|a| a.cost)),
            miss_probability: summary_value(chosen.mixed(Aggregate::predicted_miss)),
            feasible,
            source: chosen.source.into(),
            lambda: chosen.lambda.map(summary_value),
            mix: mix.as_ref().map(|x| x.share),
            primary: mix
                .as_ref()
                .map(|_| (summary_value(chosen.aggregate.cost), summary_value(chosen.aggregate.predicted_miss()))),
        });
    }
    (per_table, alt, summary)
}

/// The provenance's synthesis line: every option as applied, then the notes.
fn synthesis_line(wf: &Workflow, setup: &Setup, notes: &[String], opts: &SynthOptions) -> String {
    let dt = wf.slo().deadline_ms / opts.buckets as f64;
    format!(
        "mode={} buckets={} dt_ms={dt:.6} tolerance={} max_rules={} max_classes={} min_class_samples={} smoothing={} late={} min_gain={} confidence={} mix={} crossfit={} bands={} lockstep={} beyond={} keyed_requests={}{} {}",
        opts.mode.name(),
        opts.buckets,
        opts.tolerance,
        opts.max_rules.map_or("none".to_string(), |m| m.to_string()),
        if opts.max_classes.is_some() { setup.max_classes.to_string() } else { format!("auto({})", setup.max_classes) },
        opts.min_class_samples,
        opts.smoothing,
        opts.late,
        opts.min_gain,
        opts.confidence,
        opts.mix,
        opts.crossfit,
        opts.bands,
        opts.lockstep,
        opts.beyond,
        setup.data.keyed.as_ref().map_or(0, |k| k.len()),
        setup.reference.lockstep.as_ref().map_or(String::new(), |l| {
            let shares = l.static_shares();
            format!(
                " lockstep_runs={} static_misses_in_lockstep={:.6} (full) {:.6} (half)",
                l.sets[0].runs.runs.len(),
                shares[0],
                shares[1]
            )
        }),
        notes.join(" ")
    )
}

/// Runs needed to estimate a miss probability of `1 - p` to within half of
/// itself (one standard error): `4 p / (1 - p)`, 76 for p95.
pub fn samples_needed(percentile: f64) -> usize {
    (4.0 * percentile / (1.0 - percentile) - 1e-9).ceil() as usize
}

/// A late-binding plan fits rules, per input class, to the profiled
/// requests, and its miss rate on them flatters it more than a static plan's
/// does. On held-out requests of two random families (docs/results.md, "By
/// profile size"), plans fitted on fewer than this many times
/// `samples_needed` requests MISSED the SLO in 2.6-5.3 % of splits (static:
/// under 1.5 %); above it, in under 0.5 %.
pub const LATE_BINDING_SAMPLES: usize = 4;

/// The profile's size as a warning: too thin to estimate the percentile's
/// tail at all, or (for a late-binding plan, `late_binding`) too thin for
/// rules fitted to it to hold on new requests as well as a static plan does.
fn thin_profile_warning(setup: &Setup, late_binding: bool, warnings: &mut Vec<String>) {
    let p = setup.data.wf.slo().percentile;
    let need = samples_needed(p);
    let (have, what) = match &setup.data.keyed {
        Some(k) => (k.len(), "requests measured at every stage and size".to_string()),
        None => {
            let (n, si, oi) = setup
                .data
                .entries
                .iter()
                .enumerate()
                .flat_map(|(s, per)| per.iter().enumerate().map(move |(o, e)| (e.lat.len(), s, o)))
                .min()
                .unwrap_or((0, 0, 0));
            let st = &setup.data.wf.stages()[si];
            (n, format!("samples of '{}' at {}", st.name, st.options[oi]))
        }
    };
    // 95 for p95, 99.9 for p99.9 (f64's shortest form).
    let pct = (p * 1000.0).round() / 10.0;
    if have < need {
        warnings.push(format!(
            "thin profile: {have} {what}, fewer than the {need} needed to estimate a p{pct} tail \
             (a miss rate of {:.1} % to within half of itself); the hints may miss the SLO on new requests: profile more",
            (1.0 - p) * 100.0
        ));
    } else if late_binding && have < LATE_BINDING_SAMPLES * need {
        warnings.push(format!(
            "thin profile for late binding: {have} {what}, fewer than {} for a p{pct} target; the \
             rules are fitted to these requests and may miss the SLO on new ones more often than a static plan \
             would: profile more (see docs/results.md, 'By profile size')",
            LATE_BINDING_SAMPLES * need,
        ));
    }
}

/// The best static plan: one size per stage.
pub(crate) fn best_static(
    wf: &Workflow,
    profile: &Profile,
    opts: &SynthOptions,
) -> Result<(Vec<Size>, f64, f64, bool), SynthError> {
    // As synthesis does: with the margin for sampling error when a static plan can afford it.
    let mut setup = Setup::new(wf, profile, opts, true)?;
    if !setup.static_plan.feasible {
        setup = Setup::new(wf, profile, opts, false)?;
    }
    let st = &setup.static_plan;
    let mut sizes = vec![Size::new(0, 0); wf.stages().len()];
    for (blk, &o) in setup.reference.models[0].blocks.iter().zip(&st.choice) {
        for (m, &si) in blk.stages.iter().enumerate() {
            sizes[si] = wf.stages()[si].options[blk.digit(o, m)];
        }
    }
    Ok((sizes, st.cost, st.miss, st.feasible))
}

/// What a hint set does on a profile: (expected cost, miss probability)
/// over all requests, and per class of the hint set (weight, cost, miss).
pub(crate) fn evaluate(hints: &HintSet, profile: &Profile, opts: &SynthOptions) -> Result<Aggregate, SynthError> {
    hints.validate("<evaluate>").map_err(|e| SynthError::Hints(e.to_string()))?;
    let wf = &hints.workflow;
    let data = Data::new(wf, profile)?;
    let c = hints.classes.clone().unwrap_or_else(|| Classifier::single(wf.features().to_vec()));
    if c.count() > 1 && !data.featured {
        return Err(SynthError::Features(
            "the hint set has input classes but the profile's samples carry no request features".into(),
        ));
    }
    let mut level = build_level(&data, &c, opts)?;
    let fallback: Vec<usize> =
        hints.hints.iter().map(|h| h.options.iter().position(|s| *s == h.fallback).unwrap_or(0)).collect();
    for m in &mut level.models {
        m.set_fallback(&fallback);
    }
    let empirical = data.empirical(opts.buckets).map(|e| {
        let class = e.runs.iter().map(|r| r.class(&c)).collect();
        (e, class)
    });
    let policies: Vec<Policy> = (0..c.count())
        .map(|k| {
            policy_from_tables(wf, &level.models[k], &hints.hints.iter().map(|h| &h.tables[k]).collect::<Vec<_>>())
        })
        .collect::<Result<_, _>>()?;
    let reference = Reference {
        models: level.models.clone(),
        weights: level.weights.clone(),
        empirical,
        lockstep: None,
        beyond: None,
        conv: Conv::new(opts.buckets + 1),
    };
    Ok(reference.evaluate(&level, &policies))
}
