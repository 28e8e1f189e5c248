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

use super::blocks::{BlockModel, Models, Policy};
use super::condense::{rank_alternatives, Ranked};
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

fn state(blk: &BlockModel, b: usize, dv: &[f64], dc: &[f64], dm: &[f64], v_miss: f64, c_miss: f64, tol: Option<f64>) -> Row {
    let q: Vec<f64> = blk.options.iter().map(|o| o.cost + v_miss + o.hist.dot(b, dv)).collect();
    let miss_of = |o: usize| 1.0 + blk.options[o].hist.dot(b, dm);
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
    let c = o.cost + c_miss + o.hist.dot(b, dc);
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
    let n = models.blocks.len();
    let bm = models.b_max;
    let (mut vn, mut cn, mut mn) = (vec![0.0; bm + 1], vec![0.0; bm + 1], vec![0.0; bm + 1]);
    let mut policy: Policy = vec![Vec::new(); n];
    let mut ranked: Ranked = vec![Vec::new(); n];
    for i in (0..n).rev() {
        let blk = &models.blocks[i];
        let c_miss = models.tail[i + 1];
        let v_miss = lambda + c_miss;
        // Values relative to the miss value: the missing mass then needs no term of its own.
        let dv: Vec<f64> = vn.iter().map(|v| v - v_miss).collect();
        let dc: Vec<f64> = cn.iter().map(|c| c - c_miss).collect();
        let dm: Vec<f64> = mn.iter().map(|m| m - 1.0).collect();
        let rows: Vec<Row> =
            (0..=bm).into_par_iter().map(|b| state(blk, b, &dv, &dc, &dm, v_miss, c_miss, tol)).collect();
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
    }
    Pass { policy, miss: mn[bm], cost: cn[bm], ranked: tol.map(|_| ranked) }
}

/// The DP policy for a miss target.
pub(crate) struct Solved {
    pub pass: Pass,
    pub lambda: f64,
    /// False when even the largest lambda (minimum miss) misses the target.
    pub feasible: bool,
    /// DP passes spent (for the provenance string and the bench).
    pub passes: usize,
}

/// Bisect lambda on a log scale; the returned pass carries ranked lists.
pub(crate) fn solve(models: &Models, target: f64, tol: f64) -> Solved {
    // Lambda is in cost units: scale it by the most a run can cost, so that
    // at the top of the range one unit of miss probability outweighs any cost.
    let scale: f64 = models
        .blocks
        .iter()
        .map(|b| b.options.iter().map(|o| o.cost).fold(0.0, f64::max))
        .sum::<f64>()
        .max(1e-12);
    let mut passes = 1;
    let free = backward(models, 0.0, None);
    let (lambda, feasible) = if free.miss <= target {
        (0.0, true)
    } else {
        let mut hi = scale * 1e9;
        passes += 1;
        if backward(models, hi, None).miss > target {
            (hi, false)
        } else {
            let mut lo = scale * 1e-6;
            passes += 1;
            if backward(models, lo, None).miss <= target {
                hi = lo;
            } else {
                while hi / lo > LAMBDA_RATIO && passes < MAX_BISECTIONS {
                    let mid = (lo * hi).sqrt();
                    passes += 1;
                    if backward(models, mid, None).miss <= target {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
            }
            (hi, true)
        }
    };
    passes += 1;
    let pass = backward(models, lambda, Some(tol));
    Solved { pass, lambda, feasible, passes }
}
