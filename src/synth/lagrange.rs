//! One miss budget for the whole workflow: input classes share one Lagrange
//! multiplier.
//!
//! The percentile constrains all runs together. With classes `k` of weight
//! `w_k`, minimise `sum_k w_k C_k` subject to `sum_k w_k M_k <= 1 - p`. The
//! Lagrangian separates: for one `lambda` every class solves its own DP (in
//! parallel), and one bisection on `lambda` meets the aggregate target. A
//! class that cannot meet the percentile alone is paid for by classes where
//! misses are cheap, instead of every class spending its own allowance.
//!
//! Every candidate is judged on one yardstick, the [`Reference`]: the finest
//! classes' models (their mixture keeps most of the dependence that one
//! request's size creates between its stages) and, for a keyed profile, the
//! requests themselves walked through the policy (no independence assumed at
//! all). The miss probability a policy is held to is the larger of the two.
//!
//! Over-achievement: the miss probability is a step function of lambda, so
//! the smallest feasible lambda can land under the target. The best static
//! plan is kept as a candidate by the caller, and the policy just below the
//! target (the largest infeasible lambda, [`Solved::below`]) can be mixed
//! per run with the chosen one (see `candidate.rs`, `mixture`).
//!
//! Unreachable states: the target only constrains states a run can reach
//! from the full budget. Elsewhere the smallest feasible lambda may choose a
//! size that misses for sure when another would not (it costs nothing on
//! the profile). Such rules would hurt a run that drifts there, so at
//! unreachable states where the choice misses for sure but the minimum-miss
//! policy does not, its choice is taken instead (`protect`).

use super::beyond::Beyond;
use super::conv::Conv;
use super::data::Empirical;
use super::dp::{backward, Pass, EPS};
use super::evaluate::forward;
use super::grid::{Models, Policy};
use super::lockstep::Lockstep;
use rayon::prelude::*;

/// Bisection stops when the bracket is this tight (relative) ...
const LAMBDA_RATIO: f64 = 1.0005;
/// ... or after this many steps: never an endless loop.
const MAX_STEPS: usize = 60;
/// A cross-fit part's bracket: its plan is only walked, to measure how much
/// the profile flatters plans like it, so a multiplier within 1 % serves
/// (the miss moves in steps far coarser than the optimism's own noise).
const CHECK_RATIO: f64 = 1.01;

/// A guess's first bracket is this factor either side of it.
const WARM: f64 = 1.5;

/// How far [`solve`] goes: how tight the multiplier, whether the policy
/// just below the target is finished too (only a mixture reads it), and
/// where the bracket starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bisection {
    pub ratio: f64,
    pub below: bool,
    /// A multiplier near the answer (the same level's on more or fewer
    /// requests, or at a nearby target): the bracket is sought out from it
    /// instead of across the whole range, a few passes instead of ~17.
    pub guess: Option<f64>,
}

impl Bisection {
    /// For a plan that may ship: the tight bracket; the policy below the
    /// target when it will be mixed with the chosen one.
    pub fn to_ship(mix: bool) -> Self {
        Bisection { ratio: LAMBDA_RATIO, below: mix, guess: None }
    }

    /// The same, sought out from `guess`.
    pub fn near(self, guess: f64) -> Self {
        Bisection { guess: Some(guess), ..self }
    }

    /// For a cross-fit part (`crossfit.rs`): a looser bracket, nothing below.
    pub const CHECK: Bisection = Bisection { ratio: CHECK_RATIO, below: false, guess: None };
}
/// States reached with less probability than this are unreachable (FFT noise is ~1e-17).
const REACH_EPS: f64 = 1e-14;

/// The yardstick every candidate is measured on.
pub(crate) struct Reference {
    /// Models of the finest classes, and their shares of the requests.
    pub models: Vec<Models>,
    pub weights: Vec<f64>,
    /// The keyed requests and the finest class of each.
    pub empirical: Option<(Empirical, Vec<usize>)>,
    /// Unkeyed: runs in lockstep, and what static does on them (see `lockstep.rs`).
    pub lockstep: Option<Lockstep>,
    /// A thin profile: runs one stage past it, and what static does on them (see `beyond.rs`).
    pub beyond: Option<Beyond>,
    pub conv: Conv,
}

/// A set of classes to plan with (one class: no conditioning).
pub(crate) struct Level {
    pub models: Vec<Models>,
    pub weights: Vec<f64>,
    /// The class of this level that holds each reference class.
    pub of_ref: Vec<usize>,
    /// The level's classes are the reference's own (same models, same
    /// order): a DP pass's values from the full budget are then already
    /// the cost and miss the reference would compute by a forward pass.
    pub is_reference: bool,
    /// The level's models carry what the reference's do not (budget bands,
    /// see `bands.rs`): the model part of the yardstick is the level's own
    /// models, per class, weighted by `weights`.
    pub own_yardstick: bool,
}

/// What a set of per-class policies does over all requests.
#[derive(Debug, Clone)]
pub(crate) struct Aggregate {
    /// Expected cost per run: of the keyed requests walked through the
    /// policy when there are (exact, whatever ties their stages together),
    /// else of the model.
    pub cost: f64,
    pub model_cost: f64,
    /// What the target constrains: the predicted miss (`max(model,
    /// empirical)`), or the lockstep or past-the-profile term where larger.
    pub miss: f64,
    pub model_miss: f64,
    pub empirical_miss: Option<f64>,
    /// Unkeyed: static's modelled miss and the runs in lockstep lost that static keeps.
    pub lockstep_miss: Option<f64>,
    /// A thin profile: the chance of a new run past it that the plan loses and static keeps.
    pub beyond_miss: Option<f64>,
    /// `miss` without the lockstep term: the plan's own (the predicted miss,
    /// or the past-the-profile term where larger), which what the profile
    /// flatters (cross-fitting's optimism) and the margin add to.
    pub own_miss: f64,
    /// Per class of the level: (weight, cost, miss) on the model.
    pub classes: Vec<(f64, f64, f64)>,
}

impl Aggregate {
    /// What a plan is held to the target with when `extra` (its optimism
    /// and margin) is added to its own miss: the lockstep term is static's
    /// modelled miss plus the runs the plan loses that static keeps, and
    /// neither the plan's optimism nor its margin is static's. Added to it,
    /// a plan of an unkeyed profile planned to the target less any optimism
    /// could never pass where static's miss is near the target (as it is
    /// wherever static is the cheapest plan that meets it): every one of
    /// the fifth family's plans of members 3, 15 and 16, which met the SLO
    /// held out where static missed it, fell back to static.
    pub fn held(&self, extra: f64) -> f64 {
        (self.own_miss + extra).max(self.lockstep_miss.unwrap_or(0.0))
    }

    /// The miss probability the plan is predicted to have: the model's, or
    /// the keyed requests' where larger. `miss` may hold more (the lockstep
    /// check's term, which is not a probability of this plan missing but
    /// what it is held to); summaries report this one, so that they are
    /// what `evaluate` computes of the hints.
    pub fn predicted_miss(&self) -> f64 {
        self.model_miss.max(self.empirical_miss.unwrap_or(0.0))
    }
}

impl Level {
    /// The most one run can cost in any class: the unit of the multiplier.
    pub fn cost_scale(&self) -> f64 {
        self.models.iter().map(Models::cost_scale).fold(1e-12, f64::max)
    }
}

impl Reference {
    /// Judge per-class policies of `level`.
    pub fn evaluate(&self, level: &Level, policies: &[Policy]) -> Aggregate {
        self.judge(level, policies, None)
    }

    /// Judge the policies of DP passes of `level`; on the reference's own
    /// classes their values are used as they are (no forward pass).
    pub fn evaluate_passes(&self, level: &Level, passes: &[Pass]) -> Aggregate {
        let policies: Vec<&Policy> = passes.iter().map(|p| &p.policy).collect();
        self.judge(level, &policies, (level.is_reference || level.own_yardstick).then_some(passes))
    }

    fn judge<P: std::borrow::Borrow<Policy> + Sync>(
        &self,
        level: &Level,
        policies: &[P],
        passes: Option<&[Pass]>,
    ) -> Aggregate {
        let policy = |k: usize| -> &Policy { policies[k].borrow() };
        // The model half of the yardstick: the reference's finest classes,
        // each judged under the policy of the level's class that holds it;
        // or, for a banded level, the level's own models.
        let (models, weights, class_of): (&[Models], &[f64], &(dyn Fn(usize) -> usize + Sync)) = if level.own_yardstick
        {
            (&level.models, &level.weights, &|k| k)
        } else {
            (&self.models, &self.weights, &|j| level.of_ref[j])
        };
        let per: Vec<(f64, f64)> = models
            .par_iter()
            .enumerate()
            .map(|(j, m)| match passes {
                Some(p) => p[j].start(),
                None => {
                    let e = forward(m, &self.conv, policy(class_of(j)));
                    (e.cost, e.miss)
                }
            })
            .collect();
        let mut classes = vec![(0.0, 0.0, 0.0); level.models.len()];
        let (mut cost, mut miss) = (0.0, 0.0);
        for (j, &(c, m)) in per.iter().enumerate() {
            let w = weights[j];
            cost += w * c;
            miss += w * m;
            let k = &mut classes[class_of(j)];
            k.0 += w;
            k.1 += w * c;
            k.2 += w * m;
        }
        for k in &mut classes {
            if k.0 > 0.0 {
                k.1 /= k.0;
                k.2 /= k.0;
            }
        }
        // Walked in parallel, summed in order: a parallel reduction adds in
        // an order that depends on which thread stole what, and a last-bit
        // difference in a cost can flip a tie between candidates.
        let walk = |emp: &Empirical, class: &[usize]| -> Vec<(f64, bool)> {
            (0..emp.runs.len())
                .into_par_iter()
                .map(|r| {
                    let j = class[r];
                    emp.walk(r, &self.models[j], policy(level.of_ref[j]))
                })
                .collect()
        };
        let empirical = self.empirical.as_ref().map(|(emp, class)| {
            let walked = walk(emp, class);
            let n = walked.len().max(1) as f64;
            (walked.iter().map(|w| w.0).sum::<f64>() / n, walked.iter().filter(|w| w.1).count() as f64 / n)
        });
        // Runs in lockstep only constrain the miss: their cost is that of a
        // coupling nobody measured.
        let lockstep = self.lockstep.as_ref().map(|l| {
            let missed: Vec<Vec<bool>> =
                l.sets.iter().map(|s| walk(&s.runs, &s.class).into_iter().map(|w| w.1).collect()).collect();
            l.miss(&missed)
        });
        let predicted = miss.max(empirical.map_or(0.0, |e| e.1));
        // Runs past a thin profile: held to the percentile itself, which is
        // `allowance` above what the plan is held to.
        let beyond = self.beyond.as_ref().map(|b| {
            let missed: Vec<bool> = walk(&b.runs, &b.class).into_iter().map(|w| w.1).collect();
            b.lost(&missed)
        });
        let past = self.beyond.as_ref().map_or(0.0, |b| predicted + beyond.unwrap_or(0.0) - b.allowance);
        let own = predicted.max(past);
        let total = own.max(lockstep.unwrap_or(0.0));
        Aggregate {
            cost: empirical.map_or(cost, |e| e.0),
            model_cost: cost,
            miss: total,
            model_miss: miss,
            empirical_miss: empirical.map(|e| e.1),
            lockstep_miss: lockstep,
            beyond_miss: beyond,
            own_miss: own,
            classes,
        }
    }
}

/// The shared-lambda policy of one level.
pub(crate) struct Solved {
    /// Per class: the final pass (policy, ranked alternatives).
    pub passes: Vec<Pass>,
    pub lambda: f64,
    pub aggregate: Aggregate,
    /// False when even the largest lambda (minimum miss) misses the target.
    pub feasible: bool,
    /// DP passes spent (for the provenance string and the bench).
    pub dp_passes: usize,
    /// The cheaper policies just below the target, with their lambda and aggregate.
    pub below: Option<(f64, Vec<Pass>, Aggregate)>,
}

fn passes_at(level: &Level, conv: &Conv, lambda: f64) -> Vec<Pass> {
    level.models.par_iter().map(|m| backward(m, conv, lambda, None, None)).collect()
}

/// Bisect one lambda (log scale) until the aggregate miss, held with
/// `extra` (`Aggregate::held`), is just under `target`.
pub(crate) fn solve(level: &Level, reference: &Reference, target: f64, extra: f64, tol: f64, how: Bisection) -> Solved {
    let conv = &reference.conv;
    // Lambda is in cost units: scale it by the most a run can cost, so that
    // at the top of the range one unit of miss probability outweighs any cost.
    let scale = level.cost_scale();
    let lambda_max = scale * 1e9;
    let lambda_min = scale * 1e-6;
    let k = level.models.len();
    let mut passes = 0;
    let eval = |p: &[Pass]| reference.evaluate_passes(level, p);
    let policies_of = |p: Vec<Pass>| -> Vec<Policy> { p.into_iter().map(|x| x.policy).collect() };
    // One multiplier tried: its passes, and whether they meet the target.
    let mut at = |l: f64| -> (Vec<Pass>, bool) {
        passes += k;
        let p = passes_at(level, conv, l);
        let ok = eval(&p).held(extra) <= target;
        (p, ok)
    };
    // The bracket: `lo` misses the target (its passes are the policy just
    // below it), `hi` meets it. The miss only falls as lambda grows.
    let mut lo: Option<(f64, Vec<Pass>)> = None;
    let mut hi: Option<(f64, Vec<Policy>)> = None;
    let mut robust: Option<Vec<Pass>> = None;
    if let Some(g) = how.guess.filter(|g| g.is_finite() && *g > lambda_min && *g < lambda_max) {
        // Out from the guess by factors 1.5, 1.5^2, 1.5^4, ... until the
        // target is crossed or the range's ends are reached.
        let mut f = WARM;
        let (p, ok) = at(g * f);
        let up = ok;
        if ok {
            hi = Some((g * f, policies_of(p)))
        } else {
            lo = Some((g * f, p))
        }
        loop {
            let x = if up { g / f } else { g * f * f };
            if x <= lambda_min || x >= lambda_max {
                break;
            }
            let (p, ok) = at(x);
            match (up, ok) {
                (true, true) => hi = Some((x, policies_of(p))),
                (false, false) => lo = Some((x, p)),
                (true, false) => {
                    lo = Some((x, p));
                    break;
                }
                (false, true) => {
                    hi = Some((x, policies_of(p)));
                    break;
                }
            }
            f *= f;
        }
    }
    let mut settled: Option<(f64, bool, Vec<Policy>)> = None;
    if lo.is_none() {
        let (free, ok) = at(0.0);
        if ok {
            settled = Some((0.0, true, policies_of(free)));
        }
    }
    if settled.is_none() && hi.is_none() {
        let (top, ok) = at(lambda_max);
        let top_policies: Vec<Policy> = top.iter().map(|p| p.policy.clone()).collect();
        robust = Some(top);
        if ok {
            hi = Some((lambda_max, top_policies));
        } else {
            settled = Some((lambda_max, false, top_policies));
        }
    }
    if settled.is_none() && lo.is_none() {
        let (low, ok) = at(lambda_min);
        if ok {
            settled = Some((lambda_min, true, policies_of(low)));
        } else {
            lo = Some((lambda_min, low));
        }
    }
    let mut below: Option<(f64, Vec<Pass>)> = None;
    let (lambda, feasible, policies) = match (settled, lo, hi) {
        (Some(s), _, _) => s,
        (None, Some((mut l, low)), Some((mut h, mut best))) => {
            below = Some((l, low));
            let mut steps = 0;
            while h / l > how.ratio && steps < MAX_STEPS {
                steps += 1;
                let mid = (l * h).sqrt();
                let (p, ok) = at(mid);
                if ok {
                    h = mid;
                    best = policies_of(p);
                } else {
                    l = mid;
                    below = Some((mid, p));
                }
            }
            (h, true, best)
        }
        _ => unreachable!("a bracket is settled or has both ends"),
    };
    // Each policy kept (the chosen one, and the one just below the target):
    // unreachable states protected, then one more pass per class for its
    // ranked lists and values.
    let mut finish = |l: f64, mut pols: Vec<Policy>| -> (Vec<Pass>, Aggregate) {
        for (c, pol) in pols.iter_mut().enumerate() {
            protect(&level.models[c], conv, pol, &mut robust, c, level, lambda_max, &mut passes);
        }
        passes += k;
        let ps: Vec<Pass> =
            level.models.par_iter().zip(&pols).map(|(m, p)| backward(m, conv, l, Some(p), Some(tol))).collect();
        let agg = eval(&ps);
        (ps, agg)
    };
    let (finals, aggregate) = finish(lambda, policies);
    let below = below.filter(|_| how.below).map(|(l, ps)| {
        let (ps, agg) = finish(l, policies_of(ps));
        (l, ps, agg)
    });
    Solved { passes: finals, lambda, aggregate, feasible, dp_passes: passes, below }
}

/// Protect unreachable states (see the module notes): where `policy` misses
/// for sure but the minimum-miss policy does not, take the latter's choice.
#[allow(clippy::too_many_arguments)]
fn protect(
    models: &Models,
    conv: &Conv,
    policy: &mut Policy,
    robust: &mut Option<Vec<Pass>>,
    class: usize,
    level: &Level,
    lambda_max: f64,
    passes: &mut usize,
) {
    let reach = forward(models, conv, policy).reach;
    let cur = backward(models, conv, 0.0, Some(policy), None);
    *passes += 1;
    let sacrificed = |i: usize, b: usize| reach[i][b] <= REACH_EPS && cur.miss_from[i][b] >= 1.0 - EPS;
    if !(0..models.blocks.len()).any(|i| (0..=models.b_max).any(|b| sacrificed(i, b))) {
        return;
    }
    let r = robust.get_or_insert_with(|| {
        *passes += level.models.len();
        level.models.par_iter().map(|m| backward(m, conv, lambda_max, None, None)).collect()
    });
    for (i, row) in policy.iter_mut().enumerate() {
        for (b, choice) in row.iter_mut().enumerate() {
            if sacrificed(i, b) && r[class].miss_from[i][b] < 1.0 - EPS {
                *choice = r[class].policy[i][b];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::tests::toy_models;

    /// A plan's optimism and margin add to its own miss, not to the lockstep
    /// term (static's modelled miss and the runs the plan loses that static
    /// keeps): a plan of an unkeyed profile whose own miss has room for them
    /// passes where the lockstep term alone does.
    #[test]
    fn optimism_and_margin_add_to_the_plans_own_miss_not_to_the_lockstep_term() {
        let a = Aggregate {
            cost: 1.0,
            model_cost: 1.0,
            miss: 0.045,
            model_miss: 0.03,
            empirical_miss: None,
            lockstep_miss: Some(0.045),
            beyond_miss: None,
            own_miss: 0.03,
            classes: Vec::new(),
        };
        assert_eq!(a.held(0.0), 0.045);
        assert_eq!(a.held(0.01), 0.045, "0.03 + 0.01 is under the lockstep term");
        assert!((a.held(0.02) - 0.05).abs() < 1e-12);
        let keyed = Aggregate { lockstep_miss: None, miss: 0.03, ..a };
        assert!((keyed.held(0.01) - 0.04).abs() < 1e-12, "keyed: miss plus optimism, as before");
    }

    /// On the reference's own classes the bisection reads each pass's values
    /// from the full budget instead of running a forward pass: the same
    /// multiplier, the same policies, the same cost and miss.
    /// A reference of one class's models only (no requests, no lockstep).
    fn model_only(models: &Models) -> Reference {
        Reference {
            models: vec![models.clone()],
            weights: vec![1.0],
            empirical: None,
            lockstep: None,
            beyond: None,
            conv: Conv::new(401),
        }
    }

    #[test]
    fn pass_values_and_forward_evaluation_bisect_alike() {
        let models = toy_models(400);
        let reference = model_only(&models);
        let level = |is_reference| Level {
            models: vec![models.clone()],
            weights: vec![1.0],
            of_ref: vec![0],
            is_reference,
            own_yardstick: false,
        };
        let mut bisected = 0;
        for target in [0.02, 0.1, 0.3] {
            let fast = solve(&level(true), &reference, target, 0.0, 0.05, Bisection::to_ship(true));
            let slow = solve(&level(false), &reference, target, 0.0, 0.05, Bisection::to_ship(true));
            assert_eq!(fast.lambda.to_bits(), slow.lambda.to_bits(), "target {target}");
            assert_eq!(fast.feasible, slow.feasible);
            assert_eq!(fast.passes[0].policy, slow.passes[0].policy, "target {target}");
            assert_eq!(fast.passes[0].ranked, slow.passes[0].ranked, "target {target}");
            let (a, b) = (&fast.aggregate, &slow.aggregate);
            assert!((a.cost - b.cost).abs() < 1e-9 && (a.miss - b.miss).abs() < 1e-12, "{a:?} vs {b:?}");
            bisected += usize::from(fast.lambda > 0.0 && fast.feasible && fast.below.is_some());
        }
        assert!(bisected > 0, "at least one target needs the bisection");
    }

    /// A bisection started from a guess ends where one across the whole range
    /// does (within the bracket's tolerance, on the feasible side), near or
    /// far from the answer, in fewer passes when near.
    #[test]
    fn a_guess_finds_the_same_multiplier_in_fewer_passes() {
        let models = toy_models(400);
        let reference = model_only(&models);
        let level = Level {
            models: vec![models],
            weights: vec![1.0],
            of_ref: vec![0],
            is_reference: true,
            own_yardstick: false,
        };
        let how = Bisection::to_ship(false);
        let mut bisected = 0;
        for target in [0.02, 0.1, 0.3] {
            let cold = solve(&level, &reference, target, 0.0, 0.05, how);
            if !(cold.feasible && cold.lambda > 0.0) {
                continue;
            }
            bisected += 1;
            for factor in [0.9, 1.3, 1e-3, 1e3] {
                let warm = solve(&level, &reference, target, 0.0, 0.05, how.near(cold.lambda * factor));
                assert!(warm.feasible && warm.aggregate.miss <= target, "target {target}, guess x{factor}");
                let gap = (warm.lambda / cold.lambda).ln().abs();
                assert!(
                    gap <= 2.0 * LAMBDA_RATIO.ln(),
                    "target {target}, guess x{factor}: {} vs {}",
                    warm.lambda,
                    cold.lambda
                );
                if (0.5..2.0).contains(&factor) {
                    assert!(warm.dp_passes < cold.dp_passes, "{} vs {}", warm.dp_passes, cold.dp_passes);
                }
            }
            // Nothing below the target is finished unless asked for (a mixture).
            assert!(
                cold.below.is_none()
                    && solve(&level, &reference, target, 0.0, 0.05, Bisection::to_ship(true)).below.is_some()
            );
        }
        assert!(bisected > 0, "at least one target needs the bisection");
    }
}
