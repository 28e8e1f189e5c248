//! One candidate plan: its rules (condensed from a level's policy, plain
//! or on budget bands, or static's one rule per stage), how it is judged on
//! the reference, what it is held to, and a per-run mixture with the policy
//! just below the target.

use super::bands;
use super::condense::{condense, Ranked};
use super::dp::Pass;
use super::evaluate::policy_from_tables;
use super::grid::{Models, Policy};
use super::json_safe::summary_value;
use super::lagrange::{solve, Aggregate, Bisection, Level, Solved};
use super::options::SynthOptions;
use super::plan::{samples_needed, FEASIBILITY_EPS};
use super::setup::Setup;
use super::SynthError;
use crate::hints::{CandidateSummary, Rule, RuleTable};
use crate::model::Workflow;

/// Smoothed rules may cost this much more (relative) than the exact ones:
/// fewer, steadier rules are worth a rounding error, not a real loss.
const SMOOTHING_SLACK: f64 = 0.002;
/// Rounds of raising lambda when capped rules miss the target.
const MAX_CAP_ROUNDS: usize = 8;
/// Mixtures with a smaller share of the cheaper policy are dropped.
const MIN_MIX_SHARE: f64 = 0.01;

/// A static plan as hints: one rule per function from budget 0 on.
pub(super) fn static_tables(wf: &Workflow, models: &Models, choice: &[usize]) -> Vec<RuleTable> {
    let mut tables = vec![RuleTable::default(); wf.stages().len()];
    for (blk, &o) in models.blocks.iter().zip(choice) {
        for (m, &si) in blk.stages.iter().enumerate() {
            let size = wf.stages()[si].options[blk.digit(o, m)];
            tables[si].rules = vec![Rule { min_remaining_ms: 0.0, sizes: vec![size] }];
        }
    }
    tables
}

/// One plan, as rules, judged on the reference.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) name: String,
    /// Index in `Setup::classifiers`; `None` for the static plan.
    pub(super) level: Option<usize>,
    /// Per class of the level: one rule table per stage.
    pub(super) tables: Vec<Vec<RuleTable>>,
    pub(super) aggregate: Aggregate,
    pub(super) lambda: Option<f64>,
    pub(super) source: &'static str,
    /// A per-run mixture with the policy just below the target (`mix` option).
    pub(super) mix: Option<Mix>,
    /// How much more its plans missed on requests they were not fitted on
    /// (cross-fitting, see `crossfit.rs`); 0 when not measured.
    pub(super) optimism: f64,
    /// How much more it cost, relative to static, on requests its plans were
    /// not fitted on (cross-fitting), in cost units; 0 when not measured.
    pub(super) cost_optimism: f64,
    /// The margin for sampling error it is held to beyond the target: a
    /// late-binding plan's when static cannot afford the margin (see
    /// `setup_and_candidates`); 0 otherwise.
    pub(super) margin: f64,
}

impl Candidate {
    /// A plan as judged, before any mixture, optimism, charge or margin.
    pub(super) fn new(
        name: String,
        level: Option<usize>,
        tables: Vec<Vec<RuleTable>>,
        aggregate: Aggregate,
        source: &'static str,
    ) -> Candidate {
        let (lambda, mix, optimism, cost_optimism, margin) = (None, None, 0.0, 0.0, 0.0);
        Candidate { name, level, tables, aggregate, lambda, source, mix, optimism, cost_optimism, margin }
    }
    /// `f` of its aggregate, or of the mixture when mixed: the two plans'
    /// values weighted by their shares of the requests.
    pub(super) fn mixed(&self, f: impl Fn(&Aggregate) -> f64) -> f64 {
        self.mix
            .as_ref()
            .map_or(f(&self.aggregate), |m| m.share * f(&m.aggregate) + (1.0 - m.share) * f(&self.aggregate))
    }
    /// Expected cost and miss probability over all requests (of the mixture, when mixed).
    pub(super) fn cost(&self) -> f64 {
        self.mixed(|a| a.cost)
    }
    /// The cost to expect on new requests: on the profile, plus the cost optimism.
    pub(super) fn expected_cost(&self) -> f64 {
        self.cost() + self.cost_optimism
    }
    pub(super) fn miss(&self) -> f64 {
        self.mixed(|a| a.miss)
    }
    /// The miss to expect on new requests: on the profile, plus the optimism.
    pub(super) fn expected_miss(&self) -> f64 {
        self.miss() + self.optimism
    }
    /// The miss it is held to the target with: its own miss plus its
    /// optimism and margin, or the lockstep term where larger
    /// (`Aggregate::held`).
    pub(super) fn held_miss(&self) -> f64 {
        let extra = self.optimism + self.margin;
        self.mixed(|a| a.held(extra))
    }
    /// What its rules were planned to, for `target`.
    pub(super) fn planned_to(&self, target: f64) -> f64 {
        target - self.optimism - self.margin
    }
    pub(super) fn feasible(&self, target: f64) -> bool {
        self.held_miss() <= target
    }
    pub(super) fn summary(&self, target: f64) -> CandidateSummary {
        CandidateSummary {
            name: self.name.clone(),
            expected_cost: summary_value(self.expected_cost()),
            // What to expect on new requests: with the optimism cross-fitting measured.
            miss_probability: summary_value(self.expected_miss()),
            feasible: self.feasible(target),
        }
    }
}

/// Judge per-class rule tables of `level` on the reference.
fn judge(wf: &Workflow, setup: &Setup, level: &Level, tables: &[Vec<RuleTable>]) -> Result<Aggregate, SynthError> {
    let policies: Vec<Policy> = tables
        .iter()
        .zip(&level.models)
        .map(|(t, m)| policy_from_tables(wf, m, &t.iter().collect::<Vec<_>>()))
        .collect::<Result<_, _>>()?;
    Ok(setup.reference.evaluate(level, &policies))
}

/// What a plan is held to: `target`, with `extra` (its optimism and
/// margin) on its own miss (`Aggregate::held`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Hold {
    pub(super) target: f64,
    pub(super) extra: f64,
}

impl Hold {
    pub(super) fn of(&self, a: &Aggregate) -> f64 {
        a.held(self.extra)
    }
    pub(super) fn meets(&self, a: &Aggregate) -> bool {
        self.of(a) <= self.target
    }
}

/// Condense per-class policies into rules: the smoothed rules (short
/// flickering runs folded into a neighbour, see `condense.rs`) win when the
/// whole plan still meets the target and costs at most `SMOOTHING_SLACK`
/// more than the exact rules. With `max_rules`, merging is steered by
/// `cost + lambda * miss`; when the capped plan misses the target, lambda
/// is raised tenfold and the merge redone, a bounded number of times.
#[allow(clippy::too_many_arguments)]
pub(super) fn condensed(
    wf: &Workflow,
    setup: &Setup,
    level: &Level,
    policies: &[Policy],
    ranked: &[Option<&Ranked>],
    max_rules: Option<usize>,
    lambda: Option<f64>,
    hold: Hold,
) -> Result<(Vec<Vec<RuleTable>>, Aggregate), SynthError> {
    let conv = &setup.reference.conv;
    let scale = level.cost_scale();
    let mut lam = lambda.filter(|l| *l > 0.0).unwrap_or(scale * 10.0);
    let mut best: Option<(Vec<Vec<RuleTable>>, Aggregate)> = None;
    for _ in 0..MAX_CAP_ROUNDS {
        let cap = max_rules.map(|m| (m, lam));
        let run = |smooth: bool| -> Vec<Vec<RuleTable>> {
            level
                .models
                .iter()
                .zip(policies)
                .zip(ranked)
                .map(|((m, p), r)| condense(wf, m, conv, &mut p.clone(), *r, cap, smooth))
                .collect()
        };
        // The exact and the smoothed rules are independent: side by side.
        let judged = |smooth: bool| {
            let t = run(smooth);
            judge(wf, setup, level, &t).map(|a| (t, a))
        };
        let (plain, smooth) = rayon::join(|| judged(false), || judged(true));
        let ((plain, pa), (smooth, sa)) = (plain?, smooth?);
        let take_smooth = if hold.meets(&pa) {
            hold.meets(&sa) && sa.cost <= pa.cost * (1.0 + SMOOTHING_SLACK)
        } else {
            sa.miss < pa.miss
        };
        let cand = if take_smooth { (smooth, sa) } else { (plain, pa) };
        let done = max_rules.is_none() || hold.meets(&cand.1);
        if best.as_ref().is_none_or(|b| cand.1.miss < b.1.miss || done) {
            best = Some(cand);
        }
        if done {
            break;
        }
        lam *= 10.0;
    }
    best.ok_or_else(|| SynthError::Hints("internal error: no condensation round ran".into()))
}

/// The rules of a level's solved plan, planned to `setup.target - optimism - margin`.
#[allow(clippy::too_many_arguments)]
pub(super) fn dp_candidate(
    wf: &Workflow,
    setup: &Setup,
    level: &Level,
    idx: usize,
    solved: &Solved,
    optimism: f64,
    margin: f64,
    opts: &SynthOptions,
) -> Result<Candidate, SynthError> {
    let hold = Hold { target: setup.target, extra: optimism + margin };
    let policies: Vec<Policy> = solved.passes.iter().map(|p| p.policy.clone()).collect();
    let ranked: Vec<Option<&Ranked>> = solved.passes.iter().map(|p| p.ranked.as_ref()).collect();
    let (tables, aggregate) =
        condensed(wf, setup, level, &policies, &ranked, opts.max_rules, Some(solved.lambda), hold)?;
    let k = level.models.len();
    let name = if k == 1 { "unconditioned".to_string() } else { format!("{k} classes") };
    let mut c = Candidate {
        lambda: Some(solved.lambda),
        optimism,
        margin,
        ..Candidate::new(name, Some(idx), tables, aggregate, "dp")
    };
    if opts.mix && opts.max_rules.is_none() && c.feasible(setup.target) {
        if let Some(below) = &solved.below {
            c.mix = mixture(wf, setup, level, &c, below, hold)?;
        }
    }
    Ok(c)
}

/// How far a plan that may ship is bisected: the policy just below the
/// target is finished only when `dp_candidate` will mix it in.
pub(super) fn to_ship(opts: &SynthOptions) -> Bisection {
    Bisection::to_ship(opts.mix && opts.max_rules.is_none())
}

/// Whether levels are also planned on budget bands (see `bands.rs`): on a
/// keyed profile; `bands::banded` itself skips classes too thin to band.
pub(super) fn banding_applies(setup: &Setup, opts: &SynthOptions) -> bool {
    opts.bands && setup.data.keyed.is_some()
}

/// Level `level` banded by the budget its keyed requests reach each block
/// with under `solved`'s plan (see `bands.rs`); None when no class can be banded.
pub(super) fn banded_level(setup: &Setup, level: &Level, solved: &Solved) -> Option<Level> {
    let policies: Vec<&Policy> = solved.passes.iter().map(|p| &p.policy).collect();
    bands::banded(level, &policies, &setup.reference, per_band(setup.data.wf))
}

/// The banded level's candidate, planned and held as the plain plan is
/// (from its multiplier), and its own multiplier for the provenance.
/// Whether it is kept is the caller's call, on both plans' charges.
pub(super) fn banded_candidate(
    setup: &Setup,
    banded: &Level,
    idx: usize,
    solved: &Solved,
    plain: &Candidate,
    opts: &SynthOptions,
) -> Result<(Candidate, f64), SynthError> {
    let extra = plain.optimism + plain.margin;
    let sv = solve(banded, &setup.reference, setup.target, extra, opts.tolerance, to_ship(opts).near(solved.lambda));
    Ok((dp_candidate(setup.data.wf, setup, banded, idx, &sv, plain.optimism, plain.margin, opts)?, sv.lambda))
}

/// Requests per band a class needs on average to be banded.
pub(super) fn per_band(wf: &Workflow) -> usize {
    samples_needed(wf.slo().percentile).max(bands::MIN_PER_BAND)
}

/// The cheaper policy of a per-run mixture and the share of runs that follow it.
#[derive(Debug, Clone)]
pub(super) struct Mix {
    pub(super) tables: Vec<Vec<RuleTable>>,
    pub(super) aggregate: Aggregate,
    pub(super) share: f64,
}

/// Mix the feasible chosen plan with the policy just below the target, in
/// the share that spends the miss allowance exactly. Cost and miss are
/// linear in the share because each run follows one policy from start to end.
fn mixture(
    wf: &Workflow,
    setup: &Setup,
    level: &Level,
    chosen: &Candidate,
    below: &(f64, Vec<Pass>, Aggregate),
    hold: Hold,
) -> Result<Option<Mix>, SynthError> {
    let (_, passes, _) = below;
    // The exact rules, never smoothed: the two policies differ near a tie
    // (that is what a step of the miss in lambda is), and smoothing folds
    // exactly those short runs away, giving back the chosen policy.
    let tables: Vec<Vec<RuleTable>> = level
        .models
        .iter()
        .zip(passes)
        .map(|(m, p)| condense(wf, m, &setup.reference.conv, &mut p.policy.clone(), p.ranked.as_ref(), None, false))
        .collect();
    let aggregate = judge(wf, setup, level, &tables)?;
    let (c, m) = (hold.of(&chosen.aggregate), hold.of(&aggregate));
    let target = hold.target - FEASIBILITY_EPS;
    if !(m > target && aggregate.cost < chosen.aggregate.cost && m > c) {
        return Ok(None);
    }
    // Round the share down to 1e-6 so the mixture stays within the target.
    let share = (((target - c) / (m - c)) * 1e6).floor() / 1e6;
    Ok((MIN_MIX_SHARE..1.0).contains(&share).then_some(Mix { tables, aggregate, share }))
}
