//! Percentile mode: the paper's baseline and a cross-check of the DP.
//!
//! Every block's latency is replaced by its quantile at
//! `q = percentile^(1 / n_blocks)`. Block latencies are independent, so all
//! blocks stay within their quantiles with probability `q^n = percentile`;
//! a policy that finishes on time whenever they do therefore meets the SLO
//! (conservatively: it ignores that a fast block leaves slack for a slow one,
//! although the policy does re-plan from the real remaining budget). On these
//! deterministic latencies the cheapest plan is a plain DP over budgets.

use super::condense::{rank_alternatives, Ranked};
use super::grid::{Models, Policy};

pub(crate) struct PercentilePolicy {
    pub policy: Policy,
    pub ranked: Ranked,
    /// The per-block quantile level used.
    pub q: f64,
}

pub(crate) fn solve(models: &Models, percentile: f64, tol: f64) -> PercentilePolicy {
    let n = models.blocks.len();
    let bm = models.b_max;
    let q = percentile.powf(1.0 / n.max(1) as f64);
    let mut wn = vec![0.0f64; bm + 1];
    let mut policy: Policy = vec![Vec::new(); n];
    let mut ranked: Ranked = vec![Vec::new(); n];
    for i in (0..n).rev() {
        let blk = &models.blocks[i];
        // Quantile in buckets of every option; None when it is past the deadline.
        let d: Vec<Option<usize>> = blk.options.iter().map(|o| o.hist.quantile(q)).collect();
        let mut w = vec![f64::INFINITY; bm + 1];
        let mut pol = Vec::with_capacity(bm + 1);
        let mut alts = Vec::with_capacity(bm + 1);
        for b in 0..=bm {
            let qv: Vec<f64> = blk
                .options
                .iter()
                .zip(&d)
                .map(|(o, d)| match d {
                    Some(d) if *d <= b => o.cost + wn[b - d],
                    _ => f64::INFINITY,
                })
                .collect();
            let mut best: Option<usize> = None;
            for (o, v) in qv.iter().enumerate() {
                if !v.is_finite() {
                    continue;
                }
                let better = match best {
                    None => true,
                    // Ties: the shorter quantile leaves more slack.
                    Some(bo) => *v < qv[bo] || (*v == qv[bo] && d[o] < d[bo]),
                };
                if better {
                    best = Some(o);
                }
            }
            match best {
                Some(bo) => {
                    w[b] = qv[bo];
                    pol.push(bo as u32);
                    alts.push(rank_alternatives(blk, bo, &qv, None, tol));
                }
                None => {
                    // No plan fits the quantiles: best effort with the fastest sizes.
                    pol.push(blk.fallback as u32);
                    alts.push(vec![Vec::new(); blk.stages.len()]);
                }
            }
        }
        wn = w;
        policy[i] = pol;
        ranked[i] = alts;
    }
    PercentilePolicy { policy, ranked, q }
}
