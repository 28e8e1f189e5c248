//! Exact evaluation of a policy on the grid histograms.
//!
//! A run starts with the full budget `b_max`; each block draws its latency
//! from the chosen option's histogram and the budget shrinks by it. Once the
//! budget is negative the deadline is missed and, as the adapter does (below
//! every rule -> late fallback), every later block runs at its fallback
//! option: its cost is still counted.

use super::conv::Conv;
use super::grid::{Models, Policy};
use super::SynthError;
use crate::hints::RuleTable;
use crate::model::Workflow;
use rayon::prelude::*;

/// Result of a forward pass.
#[derive(Debug, Clone)]
pub(crate) struct Eval {
    pub cost: f64,
    pub miss: f64,
    /// `reach[i][b]`: probability that block `i` starts with budget `b` (on time).
    pub reach: Vec<Vec<f64>>,
}

/// Push the budget distribution through every block. The transition of one
/// block is, per option, a convolution in elapsed time (`e = b_max - b`) of
/// the runs that chose it with its histogram; all options share one inverse
/// FFT (see `conv.rs`).
pub(crate) fn forward(models: &Models, conv: &Conv, policy: &Policy) -> Eval {
    let bm = models.b_max;
    let len = bm + 1;
    let mut dist = vec![0.0; len];
    dist[bm] = 1.0;
    let (mut missed, mut cost) = (0.0f64, 0.0f64);
    let mut reach = Vec::with_capacity(models.blocks.len());
    for (blk, pol) in models.blocks.iter().zip(policy) {
        cost += missed * blk.options[blk.fallback].cost;
        // Runs by (band, option), in elapsed time.
        let spans = blk.spans(len);
        let nopt = blk.options.len();
        let mut by_option: Vec<Option<Vec<f64>>> = vec![None; nopt * spans.len()];
        let mut on_time = 0.0;
        for (band, &(from, to, options)) in spans.iter().enumerate() {
            for (b, &w) in dist.iter().enumerate().take(to).skip(from) {
                if w <= 0.0 {
                    continue;
                }
                let o = pol[b] as usize;
                cost += w * options[o].cost;
                on_time += w;
                by_option[band * nopt + o].get_or_insert_with(|| vec![0.0; len])[bm - b] = w;
            }
        }
        let pairs: Vec<(&super::conv::Hist, Vec<f64>)> = by_option
            .into_iter()
            .enumerate()
            .filter_map(|(k, x)| x.map(|x| (&spans[k / nopt].2[k % nopt].hist, x)))
            .collect();
        let elapsed = conv.apply_sum(&pairs);
        let mut next = vec![0.0; len];
        let mut kept = 0.0;
        for (e, v) in elapsed.into_iter().enumerate() {
            let v = v.max(0.0);
            next[bm - e] = v;
            kept += v;
        }
        missed += (on_time - kept).max(0.0);
        reach.push(std::mem::replace(&mut dist, next));
    }
    Eval { cost, miss: missed.clamp(0.0, 1.0), reach }
}

/// The policy a set of rule tables (one per stage, `wf.stages()` order)
/// implies on the grid, read exactly as the adapter reads it: at budget `b`
/// the remaining time is `b * dt`; the last rule with `min_remaining_ms` at
/// or below it applies, below the first rule the fallback option.
pub(crate) fn policy_from_tables(wf: &Workflow, models: &Models, tables: &[&RuleTable]) -> Result<Policy, SynthError> {
    // Blocks are independent: read in parallel.
    models.blocks.par_iter().map(|blk| block_policy(wf, models, tables, blk)).collect()
}

/// One block's row of [`policy_from_tables`].
fn block_policy(
    wf: &Workflow,
    models: &Models,
    tables: &[&RuleTable],
    blk: &super::grid::BlockModel,
) -> Result<Vec<u32>, SynthError> {
    // Per member, the option index at every budget.
    let mut per_member: Vec<Vec<usize>> = Vec::with_capacity(blk.stages.len());
    for (m, &si) in blk.stages.iter().enumerate() {
        let st = &wf.stages()[si];
        let table =
            tables.get(si).ok_or_else(|| SynthError::Hints(format!("no rule table for stage '{}'", st.name)))?;
        let fb = blk.digit(blk.fallback, m);
        let mut opt_of = Vec::with_capacity(models.b_max + 1);
        for b in 0..=models.b_max {
            let rem = b as f64 * models.dt;
            // Tolerate float noise: rules are written at exactly b * dt.
            let k = table.rules.partition_point(|r| r.min_remaining_ms <= rem + 1e-9 * models.dt);
            let o = match k {
                0 => fb,
                _ => {
                    let size = table.rules[k - 1]
                        .sizes
                        .first()
                        .ok_or_else(|| SynthError::Hints(format!("stage '{}': rule {} has no size", st.name, k - 1)))?;
                    st.options.iter().position(|s| s == size).ok_or_else(|| {
                        SynthError::Hints(format!("stage '{}': size {size} is not an option", st.name))
                    })?
                }
            };
            opt_of.push(o);
        }
        per_member.push(opt_of);
    }
    let mut digits = vec![0usize; blk.stages.len()];
    Ok((0..=models.b_max)
        .map(|b| {
            for (d, pm) in digits.iter_mut().zip(&per_member) {
                *d = pm[b];
            }
            blk.compose(&digits) as u32
        })
        .collect())
}

/// A static assignment (one joint option per block) as a policy.
pub(crate) fn constant_policy(models: &Models, choice: &[usize]) -> Policy {
    choice.iter().map(|&o| vec![o as u32; models.b_max + 1]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct forward pass (one loop per state and latency) agrees.
    #[test]
    fn forward_matches_the_direct_walk() {
        let models = crate::synth::tests::toy_models(300);
        let conv = Conv::new(models.b_max + 1);
        let policy: Policy =
            models.blocks.iter().map(|b| (0..=models.b_max).map(|x| (x % b.options.len()) as u32).collect()).collect();
        let e = forward(&models, &conv, &policy);
        // Direct.
        let bm = models.b_max;
        let mut dist = vec![0.0; bm + 1];
        dist[bm] = 1.0;
        let (mut missed, mut cost) = (0.0, 0.0);
        for (blk, pol) in models.blocks.iter().zip(&policy) {
            cost += missed * blk.options[blk.fallback].cost;
            let mut next = vec![0.0; bm + 1];
            for (b, &w) in dist.iter().enumerate() {
                let o = &blk.options[pol[b] as usize];
                cost += w * o.cost;
                let mut on = 0.0;
                for (j, p) in o.hist.p.iter().enumerate() {
                    let k = o.hist.off + j;
                    if k > b {
                        break;
                    }
                    next[b - k] += w * p;
                    on += p;
                }
                missed += w * (1.0 - on);
            }
            dist = next;
        }
        assert!((e.cost - cost).abs() < 1e-9 * cost.max(1.0), "{} vs {cost}", e.cost);
        assert!((e.miss - missed).abs() < 1e-9, "{} vs {missed}", e.miss);
    }
}
