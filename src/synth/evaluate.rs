//! Exact evaluation of a policy on the grid histograms.
//!
//! A run starts with the full budget `b_max`; each block draws its latency
//! from the chosen option's histogram and the budget shrinks by it. Once the
//! budget is negative the deadline is missed and, as the adapter does (below
//! every rule -> best effort), every later block runs at its fallback option:
//! its cost is still counted.

use super::blocks::{Models, Policy};
use super::SynthError;
use crate::hints::RuleTable;
use crate::model::Workflow;

/// Result of a forward pass.
#[derive(Debug, Clone)]
pub(crate) struct Eval {
    pub cost: f64,
    pub miss: f64,
    /// `reach[i][b]`: probability that block `i` starts with budget `b` (on time).
    pub reach: Vec<Vec<f64>>,
}

pub(crate) fn forward(models: &Models, policy: &Policy) -> Eval {
    let bm = models.b_max;
    let mut dist = vec![0.0; bm + 1];
    dist[bm] = 1.0;
    let (mut missed, mut cost) = (0.0f64, 0.0f64);
    let mut reach = Vec::with_capacity(models.blocks.len());
    for (blk, pol) in models.blocks.iter().zip(policy) {
        cost += missed * blk.options[blk.fallback].cost;
        let mut next = vec![0.0; bm + 1];
        for (b, &w) in dist.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let o = &blk.options[pol[b] as usize];
            cost += w * o.cost;
            let mut on_time = 0.0;
            for (j, p) in o.hist.p.iter().enumerate() {
                let k = o.hist.off + j;
                if k > b {
                    break;
                }
                next[b - k] += w * p;
                on_time += p;
            }
            missed += w * (1.0 - on_time).max(0.0);
        }
        reach.push(std::mem::replace(&mut dist, next));
    }
    Eval { cost, miss: missed.clamp(0.0, 1.0), reach }
}

/// Expected cost and miss probability of blocks `i..` when block `i`
/// starts with budget `b` under `policy`: `(cost[i][b], miss[i][b])`, with
/// row `n` all zero (the run is over, on time).
pub(crate) fn to_go(models: &Models, policy: &Policy) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let n = models.blocks.len();
    let mut cost = vec![vec![0.0; models.b_max + 1]; n + 1];
    let mut miss = vec![vec![0.0; models.b_max + 1]; n + 1];
    for i in (0..n).rev() {
        let c_miss = models.tail[i + 1];
        let dc: Vec<f64> = cost[i + 1].iter().map(|c| c - c_miss).collect();
        let dm: Vec<f64> = miss[i + 1].iter().map(|m| m - 1.0).collect();
        let blk = &models.blocks[i];
        for b in 0..=models.b_max {
            let o = &blk.options[policy[i][b] as usize];
            cost[i][b] = o.cost + c_miss + o.hist.dot(b, &dc);
            miss[i][b] = (1.0 + o.hist.dot(b, &dm)).clamp(0.0, 1.0);
        }
    }
    (cost, miss)
}

/// The policy a set of rule tables (one per stage, `wf.stages()` order)
/// implies on the grid, read exactly as the adapter reads it: at budget `b`
/// the remaining time is `b * dt`; the last rule with `min_remaining_ms` at
/// or below it applies, below the first rule the fallback option.
pub(crate) fn policy_from_tables(wf: &Workflow, models: &Models, tables: &[&RuleTable]) -> Result<Policy, SynthError> {
    let mut policy = Vec::with_capacity(models.blocks.len());
    for blk in &models.blocks {
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
                        let size = table.rules[k - 1].sizes.first().ok_or_else(|| {
                            SynthError::Hints(format!("stage '{}': rule {} has no size", st.name, k - 1))
                        })?;
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
        let col: Vec<u32> = (0..=models.b_max)
            .map(|b| {
                for (d, pm) in digits.iter_mut().zip(&per_member) {
                    *d = pm[b];
                }
                blk.compose(&digits) as u32
            })
            .collect();
        policy.push(col);
    }
    Ok(policy)
}

/// A static assignment (one joint option per block) as a policy.
pub(crate) fn constant_policy(models: &Models, choice: &[usize]) -> Policy {
    choice.iter().map(|&o| vec![o as u32; models.b_max + 1]).collect()
}
