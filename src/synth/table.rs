//! One rule table set (one input class, or all inputs): pick the policy,
//! condense it to rules, and evaluate the rules exactly.

use super::blocks::{build, Models, Policy, Restriction};
use super::condense::Ranked;
use super::evaluate::{forward, policy_from_tables};
use super::json_safe::summary_value;
use super::{condense::condense, dp, percentile, static_plan, Mode, SynthError, SynthOptions};
use crate::hints::{Rule, RuleTable, TableSummary};
use crate::model::Workflow;
use crate::profile::Profile;

/// Slack on the miss target (float noise only): a plan missing exactly one
/// run in ten meets p90 although `1 - 0.9` is 0.09999999999999998.
pub(crate) const FEASIBILITY_EPS: f64 = 1e-9;

pub(crate) struct Table {
    /// One rule table per stage, `wf.stages()` order.
    pub rules: Vec<RuleTable>,
    /// The cheaper policy of a per-run mixture (one table per stage), if mixed.
    pub alt_rules: Option<Vec<RuleTable>>,
    pub summary: TableSummary,
    pub warning: Option<String>,
    /// Details for the provenance string.
    pub note: String,
}

/// Exact (cost, miss) of rule tables on the models.
pub(crate) fn exact(wf: &Workflow, models: &Models, rules: &[RuleTable]) -> Result<(f64, f64), SynthError> {
    let refs: Vec<&RuleTable> = rules.iter().collect();
    let e = forward(models, &policy_from_tables(wf, models, &refs)?);
    Ok((e.cost, e.miss))
}

/// A static plan as hints: one rule per function from budget 0 on.
pub(crate) fn static_tables(wf: &Workflow, models: &Models, choice: &[usize]) -> Vec<RuleTable> {
    let mut tables = vec![RuleTable::default(); wf.stages().len()];
    for (blk, &o) in models.blocks.iter().zip(choice) {
        for (m, &si) in blk.stages.iter().enumerate() {
            let size = wf.stages()[si].options[blk.digit(o, m)];
            tables[si].rules = vec![Rule { min_remaining_ms: 0.0, sizes: vec![size] }];
        }
    }
    tables
}

/// Smoothed rules may cost this much more (relative) than the exact ones:
/// fewer, steadier rules are worth a rounding error, not a real loss.
const SMOOTHING_SLACK: f64 = 0.002;

/// Condense a policy into rules and evaluate them exactly. Both the exact
/// condensation and the smoothed one (short flickering runs folded into a
/// neighbour, see `condense.rs`) are evaluated; the smoothed rules win when
/// they still meet the target and cost at most `SMOOTHING_SLACK` more.
///
/// With `max_rules`, merging is steered by `cost + lambda * miss` starting
/// from the policy's own lambda (a cost-scale default for policies without
/// one); when the capped rules miss the target, lambda is raised tenfold and
/// the merge redone, a bounded number of times.
fn condensed(
    wf: &Workflow,
    models: &Models,
    policy: &Policy,
    ranked: Option<&Ranked>,
    max_rules: Option<usize>,
    lambda: Option<f64>,
    target: f64,
) -> Result<(Vec<RuleTable>, f64, f64), SynthError> {
    let feasible = |m: f64| m <= target + FEASIBILITY_EPS;
    let scale: f64 = models.blocks.iter().map(|b| b.options.iter().map(|o| o.cost).fold(0.0, f64::max)).sum();
    let mut lam = lambda.filter(|l| *l > 0.0).unwrap_or(scale.max(1e-12) * 10.0);
    let mut best: Option<(Vec<RuleTable>, f64, f64)> = None;
    for _ in 0..MAX_CAP_ROUNDS {
        let cap = max_rules.map(|m| (m, lam));
        let mut p = policy.clone();
        let plain = condense(wf, models, &mut p, ranked, cap, false);
        let (pc, pm) = exact(wf, models, &plain)?;
        let mut p = policy.clone();
        let smooth = condense(wf, models, &mut p, ranked, cap, true);
        let (sc, sm) = exact(wf, models, &smooth)?;
        let take_smooth = if feasible(pm) { feasible(sm) && sc <= pc * (1.0 + SMOOTHING_SLACK) } else { sm < pm };
        let cand = if take_smooth { (smooth, sc, sm) } else { (plain, pc, pm) };
        let done = max_rules.is_none() || feasible(cand.2);
        // Keep the least missing result should no round meet the target.
        if best.as_ref().is_none_or(|b| cand.2 < b.2 || done) {
            best = Some(cand);
        }
        if done {
            break;
        }
        lam *= 10.0;
    }
    best.ok_or_else(|| SynthError::Hints("internal error: no condensation round ran".into()))
}

/// Rounds of raising lambda when capped rules miss the target.
const MAX_CAP_ROUNDS: usize = 8;

struct Candidate {
    rules: Vec<RuleTable>,
    cost: f64,
    miss: f64,
    source: &'static str,
    lambda: Option<f64>,
}

pub(crate) fn synthesize_table(
    wf: &Workflow,
    profile: &Profile,
    opts: &SynthOptions,
    fallback: &[usize],
    restrict: Option<Restriction>,
) -> Result<Table, SynthError> {
    let models = build(wf, profile, opts.buckets, fallback, restrict)?;
    let slo = wf.slo();
    let target = 1.0 - slo.percentile;
    let meets = |miss: f64| miss <= target + FEASIBILITY_EPS;
    let (chosen, note, why_infeasible, mix) = match opts.mode {
        Mode::Stochastic => {
            let solved = dp::solve(&models, target + FEASIBILITY_EPS, opts.tolerance);
            let (pass_cost, pass_miss) = (solved.pass.cost, solved.pass.miss);
            let (rules, cost, miss) = condensed(
                wf,
                &models,
                &solved.pass.policy,
                solved.pass.ranked.as_ref(),
                opts.max_rules,
                Some(solved.lambda),
                target,
            )?;
            let dp_c = Candidate { rules, cost, miss, source: "dp", lambda: Some(solved.lambda) };
            // Always keep the best static plan as a candidate: the bisection can over-achieve.
            let st = static_plan::search(&models, target + FEASIBILITY_EPS);
            let rules = static_tables(wf, &models, &st.choice);
            let (cost, miss) = exact(wf, &models, &rules)?;
            let st_c = Candidate { rules, cost, miss, source: "static", lambda: None };
            let note = format!(
                "lambda={:.6e} dp_passes={} dp_feasible={} dp_policy_cost={:.6} dp_policy_miss={:.6} \
                 dp_rules_cost={:.6} dp_rules_miss={:.6} static({})_cost={:.6} static_miss={:.6}",
                solved.lambda,
                solved.passes,
                solved.feasible,
                pass_cost,
                pass_miss,
                dp_c.cost,
                dp_c.miss,
                st.method,
                st_c.cost,
                st_c.miss
            );
            let pick_static = match (meets(dp_c.miss), meets(st_c.miss)) {
                (true, true) => st_c.cost < dp_c.cost,
                (false, true) => true,
                (true, false) => false,
                (false, false) => st_c.miss < dp_c.miss,
            };
            let why = if solved.feasible {
                "the max_rules cap cannot be met without missing more often; allow more rules"
            } else {
                "even the fastest sizes cannot meet it; the hints minimise the miss probability (best effort)"
            };
            let chosen = if pick_static { st_c } else { dp_c };
            // Mix per run with the policy just below the target, when the
            // chosen one over-achieves and that policy is cheaper.
            let mix = match (&solved.below, opts.max_rules) {
                (Some((l, below)), None) if opts.mix && meets(chosen.miss) => {
                    let (rules, cost, miss) =
                        condensed(wf, &models, &below.policy, below.ranked.as_ref(), None, Some(*l), target)?;
                    mixture(&chosen, rules, cost, miss, target)
                }
                _ => None,
            };
            let note = match &mix {
                Some(m) => format!("{note} mix={:.6} below_cost={:.6} below_miss={:.6}", m.share, m.cost, m.miss),
                None => note,
            };
            (chosen, note, why, mix)
        }
        Mode::Percentile => {
            let pp = percentile::solve(&models, slo.percentile, opts.tolerance);
            let (rules, cost, miss) =
                condensed(wf, &models, &pp.policy, Some(&pp.ranked), opts.max_rules, None, target)?;
            let note = format!("per-block quantile={:.6}", pp.q);
            let why = "percentile mode plans on per-block quantiles, which is conservative; \
                       the stochastic mode may still meet it";
            (Candidate { rules, cost, miss, source: "percentile", lambda: None }, note, why, None)
        }
    };
    let feasible = meets(chosen.miss);
    let table = match restrict {
        Some(r) => format!("input class {} of '{}'", r.class, wf.stages()[r.stage].name),
        None => "all inputs".to_string(),
    };
    let warning = (!feasible).then(|| {
        format!(
            "deadline {} ms at percentile {} is infeasible for {table}: predicted miss probability {:.4} \
             exceeds the allowed {:.4}; {why_infeasible}",
            slo.deadline_ms, slo.percentile, chosen.miss, target
        )
    });
    let (cost, miss) = match &mix {
        Some(m) => (m.share * m.cost + (1.0 - m.share) * chosen.cost, m.share * m.miss + (1.0 - m.share) * chosen.miss),
        None => (chosen.cost, chosen.miss),
    };
    let summary = TableSummary {
        class: restrict.map(|r| r.class),
        expected_cost: summary_value(cost),
        miss_probability: summary_value(miss),
        feasible,
        source: chosen.source.to_string(),
        lambda: chosen.lambda.map(summary_value),
        mix: mix.as_ref().map(|m| m.share),
        primary: mix.as_ref().map(|_| (summary_value(chosen.cost), summary_value(chosen.miss))),
    };
    Ok(Table {
        rules: chosen.rules,
        alt_rules: mix.map(|m| m.rules),
        summary,
        warning,
        note: format!("[{table}: {note}]"),
    })
}

/// The cheaper, over-the-target end of a per-run mixture.
struct Mix {
    rules: Vec<RuleTable>,
    cost: f64,
    miss: f64,
    /// Share of runs that use `rules`.
    share: f64,
}

/// Mix the feasible `chosen` with a cheaper policy that misses more than the
/// target, in the share that spends the miss allowance exactly. The mixture's
/// cost and miss are linear in the share because each run follows one policy
/// from start to end. Shares under 1 % are not worth a second table.
fn mixture(chosen: &Candidate, rules: Vec<RuleTable>, cost: f64, miss: f64, target: f64) -> Option<Mix> {
    if !(miss > target && cost < chosen.cost && miss > chosen.miss) {
        return None;
    }
    // Round the share down to 1e-6 so the mixture stays within the target.
    let share = (((target - chosen.miss) / (miss - chosen.miss)) * 1e6).floor() / 1e6;
    (MIN_MIX_SHARE..1.0).contains(&share).then_some(Mix { rules, cost, miss, share })
}

/// Mixtures with a smaller share of the cheaper policy are dropped.
const MIN_MIX_SHARE: f64 = 0.01;
