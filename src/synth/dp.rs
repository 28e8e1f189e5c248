//! The stochastic DP with a Lagrange multiplier on the miss probability.
//!
//! ```text
//! V[n](b)  = 0 for b >= 0, lambda + (cost of the rest at fallback) for b < 0
//! V[i](b)  = min over joint options s of cost(s) + sum_k P[i,s](k) V[i+1](b - k)
//! ```
//!
//! A missed run still runs its remaining blocks at their fallback options
//! (the adapter's best effort), so their cost is part of the miss value:
//! this keeps the DP's cost identical to the exact evaluation of the hints.
//! `lambda` is bisected on a log scale until the policy's miss probability
//! is just under `1 - percentile`.
//!
//! Over-achievement: the miss probability is a step function of lambda, so
//! the smallest feasible lambda can land well under the target. Two cures,
//! both applied by the caller (`table.rs`): the best static plan is kept as a
//! candidate, so the result is never worse than early binding; and the
//! policy just below the target (the largest infeasible lambda of the
//! bisection, [`Solved::below`]) is mixed per run with the chosen feasible
//! one so that the mixture meets the target exactly (a known property of
//! Lagrangian relaxations of chance constraints). A mixture needs one draw
//! per run shared by all its stages; the adapter makes it from a run key.
//!
//! Unreachable states: the miss target only constrains states a run can
//! reach from the full budget. Elsewhere the smallest feasible lambda may
//! happily choose a size that misses for sure when another would not (it
//! costs nothing on the profile). Such rules would hurt a run that drifts
//! there, so at unreachable states where the choice misses for sure but the
//! minimum-miss policy (largest lambda) does not, its choice is taken
//! instead. The expected cost and miss from the full budget are unchanged.

use super::blocks::{BlockModel, Models, Policy};
use super::condense::{rank_alternatives, Ranked};
use super::evaluate::forward;
use rayon::prelude::*;

/// Numerical slack for "equal" Q-values and "certain" misses.
const EPS: f64 = 1e-12;
/// Bisection stops when the bracket is this tight (relative) ...
const LAMBDA_RATIO: f64 = 1.0005;
/// ... or after this many DP passes: never an endless loop.
const MAX_BISECTIONS: usize = 80;

/// One backward pass at a given lambda.
pub(crate) struct Pass {
    pub policy: Policy,
    /// Miss probability and expected cost from the full budget.
    pub miss: f64,
    pub cost: f64,
    /// Miss probability from every state (block, budget) under the policy.
    pub miss_from: Vec<Vec<f64>>,
    pub ranked: Option<Ranked>,
}

/// What one state's minimisation found.
struct Row {
    choice: u32,
    v: f64,
    c: f64,
    m: f64,
    alts: Vec<Vec<u32>>,
}

/// The next block's values relative to their miss values, and those.
struct Next<'a> {
    dv: &'a [f64],
    dc: &'a [f64],
    dm: &'a [f64],
    v_miss: f64,
    c_miss: f64,
}

/// Minimise at one state, or (with `fixed`) evaluate the given choice there.
fn state(blk: &BlockModel, b: usize, nx: &Next, fixed: Option<usize>, tol: Option<f64>) -> Row {
    let q_of = |o: usize| blk.options[o].cost + nx.v_miss + blk.options[o].hist.dot(b, nx.dv);
    let miss_of = |o: usize| 1.0 + blk.options[o].hist.dot(b, nx.dm);
    if let Some(f) = fixed {
        let o = &blk.options[f];
        let m = miss_of(f);
        let c = o.cost + nx.c_miss + o.hist.dot(b, nx.dc);
        let alts = match tol {
            Some(tol) if m < 1.0 - EPS => {
                let q: Vec<f64> = (0..blk.options.len()).map(q_of).collect();
                let ms: Vec<f64> = (0..blk.options.len()).map(miss_of).collect();
                rank_alternatives(blk, f, &q, Some(&ms), tol)
            }
            _ => vec![Vec::new(); blk.stages.len()],
        };
        return Row { choice: f as u32, v: q_of(f), c, m, alts };
    }
    let q: Vec<f64> = (0..blk.options.len()).map(q_of).collect();
    let mut best = 0usize;
    let mut best_m: Option<f64> = None;
    for o in 1..q.len() {
        let slack = EPS * q[best].abs().max(1.0);
        if q[o] < q[best] - slack {
            best = o;
            best_m = None;
        } else if q[o] <= q[best] + slack {
            // A tie in Q: prefer the lower miss probability.
            let mb = *best_m.get_or_insert_with(|| miss_of(best));
            let mo = miss_of(o);
            if mo < mb - EPS {
                best = o;
                best_m = Some(mo);
            }
        }
    }
    let mut m = best_m.unwrap_or_else(|| miss_of(best));
    let mut hopeless = false;
    if m >= 1.0 - EPS && (0..q.len()).all(|o| miss_of(o) >= 1.0 - EPS) {
        // Every option misses for sure: take the fastest, as the adapter's best effort would.
        hopeless = true;
        best = blk.fallback;
        m = 1.0;
    }
    let o = &blk.options[best];
    let c = o.cost + nx.c_miss + o.hist.dot(b, nx.dc);
    let alts = match tol {
        Some(tol) if !hopeless => {
            let ms: Vec<f64> = (0..q.len()).map(miss_of).collect();
            rank_alternatives(blk, best, &q, Some(&ms), tol)
        }
        _ => vec![Vec::new(); blk.stages.len()],
    };
    Row { choice: best as u32, v: q[best], c, m, alts }
}

/// One backward pass; with `tol`, also the ranked alternatives of every state.
pub(crate) fn backward(models: &Models, lambda: f64, tol: Option<f64>) -> Pass {
    run(models, lambda, tol, None)
}

fn run(models: &Models, lambda: f64, tol: Option<f64>, fixed: Option<&Policy>) -> Pass {
    let n = models.blocks.len();
    let bm = models.b_max;
    let (mut vn, mut cn, mut mn) = (vec![0.0; bm + 1], vec![0.0; bm + 1], vec![0.0; bm + 1]);
    let mut policy: Policy = vec![Vec::new(); n];
    let mut ranked: Ranked = vec![Vec::new(); n];
    let mut miss_from = vec![Vec::new(); n];
    for i in (0..n).rev() {
        let blk = &models.blocks[i];
        let c_miss = models.tail[i + 1];
        let v_miss = lambda + c_miss;
        // Values relative to the miss value: the missing mass then needs no term of its own.
        let dv: Vec<f64> = vn.iter().map(|v| v - v_miss).collect();
        let dc: Vec<f64> = cn.iter().map(|c| c - c_miss).collect();
        let dm: Vec<f64> = mn.iter().map(|m| m - 1.0).collect();
        let nx = Next { dv: &dv, dc: &dc, dm: &dm, v_miss, c_miss };
        let fx = fixed.and_then(|f| f.get(i));
        let rows: Vec<Row> = (0..=bm)
            .into_par_iter()
            .map(|b| state(blk, b, &nx, fx.and_then(|f| f.get(b)).map(|&o| o as usize), tol))
            .collect();
        let mut pol = Vec::with_capacity(bm + 1);
        let mut alts = Vec::with_capacity(if tol.is_some() { bm + 1 } else { 0 });
        for (b, r) in rows.into_iter().enumerate() {
            pol.push(r.choice);
            vn[b] = r.v;
            cn[b] = r.c;
            mn[b] = r.m.clamp(0.0, 1.0);
            if tol.is_some() {
                alts.push(r.alts);
            }
        }
        policy[i] = pol;
        ranked[i] = alts;
        miss_from[i] = mn.clone();
    }
    Pass { policy, miss: mn[bm], cost: cn[bm], miss_from, ranked: tol.map(|_| ranked) }
}

/// The DP policy for a miss target.
pub(crate) struct Solved {
    pub pass: Pass,
    pub lambda: f64,
    /// False when even the largest lambda (minimum miss) misses the target.
    pub feasible: bool,
    /// DP passes spent (for the provenance string and the bench).
    pub passes: usize,
    /// The cheaper policy just below the target (it misses more often than
    /// allowed), with its lambda: the other end of the bracket, for mixing.
    pub below: Option<(f64, Pass)>,
}

/// Bisect lambda on a log scale; the returned pass carries ranked lists.
pub(crate) fn solve(models: &Models, target: f64, tol: f64) -> Solved {
    // Lambda is in cost units: scale it by the most a run can cost, so that
    // at the top of the range one unit of miss probability outweighs any cost.
    let scale: f64 =
        models.blocks.iter().map(|b| b.options.iter().map(|o| o.cost).fold(0.0, f64::max)).sum::<f64>().max(1e-12);
    let lambda_max = scale * 1e9;
    let mut passes = 1;
    let free = backward(models, 0.0, None);
    // The infeasible end of the bracket, for mixing (see the module notes).
    let mut below_policy: Option<(f64, Policy)> = None;
    // The minimum-miss policy, once computed.
    let mut robust: Option<Pass> = None;
    let (lambda, feasible, mut policy) = if free.miss <= target {
        (0.0, true, free.policy)
    } else {
        passes += 1;
        let top = backward(models, lambda_max, None);
        let top_policy = top.policy.clone();
        let top_miss = top.miss;
        robust = Some(top);
        if top_miss > target {
            // Infeasible: minimise the miss probability.
            (lambda_max, false, top_policy)
        } else {
            let (mut lo, mut hi) = (scale * 1e-6, lambda_max);
            let mut best = top_policy;
            passes += 1;
            let low = backward(models, lo, None);
            if low.miss <= target {
                hi = lo;
                best = low.policy;
            } else {
                below_policy = Some((lo, low.policy));
                while hi / lo > LAMBDA_RATIO && passes < MAX_BISECTIONS {
                    let mid = (lo * hi).sqrt();
                    passes += 1;
                    let p = backward(models, mid, None);
                    if p.miss <= target {
                        hi = mid;
                        best = p.policy;
                    } else {
                        lo = mid;
                        below_policy = Some((mid, p.policy));
                    }
                }
            }
            (hi, true, best)
        }
    };
    protect(models, &mut policy, &mut robust, lambda_max, &mut passes);
    // One more pass: costs, misses and ranked lists of the final policy.
    passes += 1;
    let pass = run(models, lambda, Some(tol), Some(&policy));
    let below = below_policy.map(|(l, mut p)| {
        protect(models, &mut p, &mut robust, lambda_max, &mut passes);
        passes += 1;
        (l, run(models, l, Some(tol), Some(&p)))
    });
    Solved { pass, lambda, feasible, passes, below }
}

/// Protect unreachable states (see the module notes): where `policy` misses
/// for sure but the minimum-miss policy does not, take the latter's choice.
fn protect(models: &Models, policy: &mut Policy, robust: &mut Option<Pass>, lambda_max: f64, passes: &mut usize) {
    let reach = forward(models, policy).reach;
    let cur = run(models, 0.0, None, Some(policy));
    let sacrificed = |i: usize, b: usize| reach[i][b] == 0.0 && cur.miss_from[i][b] >= 1.0 - EPS;
    if (0..models.blocks.len()).any(|i| (0..=models.b_max).any(|b| sacrificed(i, b))) {
        let r = robust.get_or_insert_with(|| {
            *passes += 1;
            backward(models, lambda_max, None)
        });
        for (i, row) in policy.iter_mut().enumerate() {
            for (b, choice) in row.iter_mut().enumerate() {
                if sacrificed(i, b) && r.miss_from[i][b] < 1.0 - EPS {
                    *choice = r.policy[i][b];
                }
            }
        }
    }
}
