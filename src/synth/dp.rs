//! The stochastic DP of one input class at a given Lagrange multiplier.
//!
//! ```text
//! V[n](b)  = 0 for b >= 0, lambda + (cost of the rest at fallback) for b < 0
//! V[i](b)  = min over joint options s of cost(s) + sum_k P[i,s](k) V[i+1](b - k)
//! ```
//!
//! A missed run still runs its remaining blocks at their fallback options
//! (the adapter's late policy), so their cost is part of the miss value:
//! this keeps the DP's cost identical to the exact evaluation of the hints.
//! `V = C + lambda * M` with `C` the expected cost and `M` the miss
//! probability of the rest of the run; both are carried separately (no
//! cancellation when lambda is huge) and the sums over latencies are
//! convolutions of every option's histogram with the next block's `C` and
//! `M`, computed for all budgets at once (see `conv.rs`).
//!
//! Options are streamed in index order, a few at a time in parallel, so a
//! parallel block with thousands of joint options needs memory for a few
//! options only; ties (within a relative 1e-9) go to the lower miss
//! probability, then to the lower option index, so the result does not
//! depend on the number of threads.

use super::condense::Ranked;
use super::conv::Conv;
use super::grid::{Models, Policy};
use rayon::prelude::*;

/// Slack for "equal" values (relative) and "certain" misses.
pub(crate) const EPS: f64 = 1e-9;
/// Options convolved at once (in parallel) before their values are compared.
const CHUNK: usize = 8;

/// One backward pass at a given lambda.
#[derive(Debug, Clone)]
pub(crate) struct Pass {
    pub policy: Policy,
    /// Miss probability and expected cost from every state (block, budget) under the policy.
    pub miss_from: Vec<Vec<f64>>,
    pub cost_from: Vec<Vec<f64>>,
    /// Ranked alternatives of every state (with `tol`).
    pub ranked: Option<Ranked>,
}

/// Values of one option at every budget.
struct OptionValues {
    /// Expected cost of the rest of the run (this block included).
    c: Vec<f64>,
    /// Miss probability of the rest of the run.
    m: Vec<f64>,
}

fn option_values(
    models: &Models,
    conv: &Conv,
    i: usize,
    o: usize,
    dc: &super::conv::Input,
    dm: &super::conv::Input,
    c_miss: f64,
) -> OptionValues {
    let opt = &models.blocks[i].options[o];
    let mut c = conv.apply(&opt.hist, dc);
    let mut m = conv.apply(&opt.hist, dm);
    c.iter_mut().for_each(|v| *v += opt.cost + c_miss);
    m.iter_mut().for_each(|v| *v = (*v + 1.0).clamp(0.0, 1.0));
    OptionValues { c, m }
}

/// One backward pass. With `fixed`, the policy is evaluated instead of
/// optimised; with `tol`, the ranked alternatives of every state are listed.
pub(crate) fn backward(models: &Models, conv: &Conv, lambda: f64, fixed: Option<&Policy>, tol: Option<f64>) -> Pass {
    let n = models.blocks.len();
    let len = models.b_max + 1;
    let (mut cn, mut mn) = (vec![0.0; len], vec![0.0; len]);
    let mut policy: Policy = vec![Vec::new(); n];
    let mut ranked: Ranked = vec![Vec::new(); n];
    let mut miss_from = vec![Vec::new(); n];
    let mut cost_from = vec![Vec::new(); n];
    for i in (0..n).rev() {
        let blk = &models.blocks[i];
        let c_miss = models.tail[i + 1];
        // Values relative to the miss values: the mass past the deadline then needs no term.
        let dc = conv.input(&cn.iter().map(|c| c - c_miss).collect::<Vec<_>>());
        let dm = conv.input(&mn.iter().map(|m| m - 1.0).collect::<Vec<_>>());
        let q = |v: &OptionValues, b: usize| v.c[b] + lambda * v.m[b];
        let nopt = blk.options.len();
        let fx = fixed.and_then(|f| f.get(i));
        let mut best = vec![u32::MAX; len];
        let (mut best_q, mut best_c, mut best_m) = (vec![0.0f64; len], vec![0.0f64; len], vec![0.0f64; len]);
        let mut min_m = vec![f64::INFINITY; len];
        for start in (0..nopt).step_by(CHUNK) {
            let end = (start + CHUNK).min(nopt);
            let vals: Vec<OptionValues> =
                (start..end).into_par_iter().map(|o| option_values(models, conv, i, o, &dc, &dm, c_miss)).collect();
            for (o, v) in (start..end).zip(&vals) {
                for b in 0..len {
                    min_m[b] = min_m[b].min(v.m[b]);
                    let take = match fx {
                        Some(f) => f[b] as usize == o,
                        None if best[b] == u32::MAX => true,
                        None => {
                            let (qo, qb) = (q(v, b), best_q[b]);
                            let slack = EPS * qb.abs().max(1.0);
                            qo < qb - slack || (qo <= qb + slack && v.m[b] < best_m[b] - EPS)
                        }
                    };
                    if take {
                        best[b] = o as u32;
                        best_q[b] = q(v, b);
                        best_c[b] = v.c[b];
                        best_m[b] = v.m[b];
                    }
                }
            }
        }
        if fx.is_none() {
            // Where every option misses for sure, take the fallback, as the adapter's late policy would.
            let fb = blk.fallback;
            let hopeless: Vec<usize> = (0..len).filter(|&b| min_m[b] >= 1.0 - EPS && best[b] as usize != fb).collect();
            if !hopeless.is_empty() {
                let v = option_values(models, conv, i, fb, &dc, &dm, c_miss);
                for b in hopeless {
                    best[b] = fb as u32;
                    best_c[b] = v.c[b];
                    best_m[b] = v.m[b];
                }
            }
        }
        let chosen = OptionValues { c: best_c, m: best_m };
        if let Some(tol) = tol {
            ranked[i] = rank(models, conv, i, &best, &chosen, &dc, &dm, c_miss, lambda, tol);
        }
        cn = chosen.c;
        mn = chosen.m;
        policy[i] = best;
        miss_from[i] = mn.clone();
        cost_from[i] = cn.clone();
    }
    Pass { policy, miss_from, cost_from, ranked: tol.map(|_| ranked) }
}

/// Ranked alternatives of every state of block `i`: for each member, its
/// other sizes (the rest of the joint option kept) whose value is within
/// `tol` (relative) of the chosen one and whose miss probability is no
/// worse than the chosen one's + 1e-3, best first. Hopeless states get none.
#[allow(clippy::too_many_arguments)]
fn rank(
    models: &Models,
    conv: &Conv,
    i: usize,
    choice: &[u32],
    chosen: &OptionValues,
    dc: &super::conv::Input,
    dm: &super::conv::Input,
    c_miss: f64,
    lambda: f64,
    tol: f64,
) -> Vec<Vec<Vec<u32>>> {
    let blk = &models.blocks[i];
    let len = choice.len();
    let nm = blk.stages.len();
    // (value, option of the member) candidates per (budget, member).
    let mut cand: Vec<Vec<Vec<(f64, u32)>>> = vec![vec![Vec::new(); nm]; len];
    let nopt = blk.options.len();
    for start in (0..nopt).step_by(CHUNK) {
        let end = (start + CHUNK).min(nopt);
        let vals: Vec<OptionValues> =
            (start..end).into_par_iter().map(|o| option_values(models, conv, i, o, dc, dm, c_miss)).collect();
        for (o, v) in (start..end).zip(&vals) {
            for b in 0..len {
                let c = choice[b] as usize;
                if o == c || chosen.m[b] >= 1.0 - EPS {
                    continue;
                }
                // `o` must differ from the choice in exactly one member.
                let diff: Vec<usize> = (0..nm).filter(|&m| blk.digit(o, m) != blk.digit(c, m)).collect();
                let [m] = diff[..] else { continue };
                let qb = chosen.c[b] + lambda * chosen.m[b];
                let qo = v.c[b] + lambda * v.m[b];
                let limit = qb + tol * qb.abs() + EPS * qb.abs().max(1.0);
                if qo.is_finite() && qo <= limit && v.m[b] <= chosen.m[b] + 1e-3 {
                    cand[b][m].push((qo, blk.digit(o, m) as u32));
                }
            }
        }
    }
    cand.into_iter()
        .map(|per_member| {
            per_member
                .into_iter()
                .map(|mut alts| {
                    alts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    alts.into_iter().map(|a| a.1).collect()
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod reference {
    //! The direct DP (one dot product per state and option), kept to check
    //! that the convolution-based pass chooses the same sizes.

    use super::super::grid::{Models, Policy};
    use super::EPS;

    pub(crate) fn backward(models: &Models, lambda: f64) -> (Policy, Vec<Vec<f64>>) {
        let n = models.blocks.len();
        let len = models.b_max + 1;
        let (mut vn, mut mn) = (vec![0.0; len], vec![0.0; len]);
        let mut policy = vec![Vec::new(); n];
        let mut values = vec![Vec::new(); n];
        for i in (0..n).rev() {
            let blk = &models.blocks[i];
            let c_miss = models.tail[i + 1];
            let v_miss = lambda + c_miss;
            let dv: Vec<f64> = vn.iter().map(|v| v - v_miss).collect();
            let dm: Vec<f64> = mn.iter().map(|m| m - 1.0).collect();
            let (mut pol, mut v_out, mut m_out) = (Vec::new(), Vec::new(), Vec::new());
            for b in 0..len {
                let qs: Vec<f64> = blk.options.iter().map(|o| o.cost + v_miss + o.hist.dot(b, &dv)).collect();
                let ms: Vec<f64> = blk.options.iter().map(|o| (1.0 + o.hist.dot(b, &dm)).clamp(0.0, 1.0)).collect();
                let mut best = 0;
                for o in 1..qs.len() {
                    let slack = EPS * qs[best].abs().max(1.0);
                    if qs[o] < qs[best] - slack || (qs[o] <= qs[best] + slack && ms[o] < ms[best] - EPS) {
                        best = o;
                    }
                }
                if ms.iter().all(|&m| m >= 1.0 - EPS) {
                    best = blk.fallback;
                }
                pol.push(best as u32);
                v_out.push(qs[best]);
                m_out.push(ms[best]);
            }
            vn = v_out.clone();
            mn = m_out;
            policy[i] = pol;
            values[i] = v_out;
        }
        (policy, values)
    }
}
