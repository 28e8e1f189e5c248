//! Condensing: a policy over budgets -> a few rules per function.
//!
//! The policy of one stage is a step function of the budget. Adjacent
//! buckets with the same choice become one rule whose `min_remaining_ms` is
//! the lower edge of the range (`b * dt`): the adapter applies a rule to any
//! budget at or above it, and the run's real remaining time is never less
//! than the grid budget (latencies are rounded up), so this is conservative.

use super::conv::Conv;
use super::dp::backward;
use super::evaluate::forward;
use super::grid::{BlockModel, Models, Policy};
use super::json_safe::grid_edge;
use crate::hints::{Rule, RuleTable};
use crate::model::Workflow;
use rayon::prelude::*;

/// `ranked[block][b][member]`: alternatives (member option indices, best first)
/// to the policy's choice at that state.
pub(crate) type Ranked = Vec<Vec<Vec<Vec<u32>>>>;

/// Alternatives of each member to the best joint option: the member's other
/// sizes whose Q-value is within `tol` (relative) of the best and, when miss
/// probabilities are known, whose miss is no worse than the best's + 1e-3.
pub(crate) fn rank_alternatives(
    blk: &BlockModel,
    best: usize,
    q: &[f64],
    miss: Option<&[f64]>,
    tol: f64,
) -> Vec<Vec<u32>> {
    let qb = q[best];
    let limit = qb + tol * qb.abs() + 1e-12 * qb.abs().max(1.0);
    (0..blk.stages.len())
        .map(|m| {
            let own = blk.digit(best, m);
            let mut alts: Vec<(f64, u32)> = (0..blk.radix[m])
                .filter(|&x| x != own)
                .filter_map(|x| {
                    let j = blk.with_digit(best, m, x);
                    let ok_q = q[j].is_finite() && q[j] <= limit;
                    let ok_m = miss.is_none_or(|ms| ms[j] <= ms[best] + 1e-3);
                    (ok_q && ok_m).then_some((q[j], x as u32))
                })
                .collect();
            alts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            alts.into_iter().map(|a| a.1).collect()
        })
        .collect()
}

/// One rule before it is written out: budgets `start..end` (buckets), the
/// member's option indices, best first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub start: usize,
    pub end: usize,
    pub sizes: Vec<u32>,
}

/// Runs shorter than this share of the budget range are "short": near a
/// tie between two sizes the DP's choice and the ranked lists flicker from
/// bucket to bucket, which multiplies rules without buying anything.
const MIN_RUN_SHARE: f64 = 0.02;

/// Runs of member `m` of block `i`: a new run wherever the best size
/// changes. A run's alternatives are the sizes ranked at every budget it
/// covers (in the order of its first budget): each one is within tolerance
/// wherever the rule applies. Near-ties flicker in rank from bucket to
/// bucket (where a run is nearly lost every size is within tolerance, in
/// no stable order); a new rule for each order would multiply the rules
/// without changing any size the adapter picks with free capacity.
///
/// With `smooth`, short runs are also folded into their lower neighbour
/// when that is harmless: a neighbour's best size is one of the short run's
/// ranked alternatives (within tolerance and risk bound at each of its
/// budgets): the short run takes that neighbour's choice, the lower
/// neighbour's (chosen for smaller budgets) when both qualify, and `policy`
/// follows.
///
/// Smoothing changes the policy a little, so the caller re-evaluates it and
/// falls back to the unsmoothed rules if the percentile is no longer met.
fn runs_of(models: &Models, row: &mut [u32], ranked: Option<&Ranked>, i: usize, m: usize, smooth: bool) -> Vec<Run> {
    let blk = &models.blocks[i];
    let mut runs: Vec<Run> = Vec::new();
    for (b, &joint) in row.iter().enumerate() {
        let best = blk.digit(joint as usize, m) as u32;
        let alts = ranked.and_then(|r| r.get(i)).and_then(|r| r.get(b)).and_then(|r| r.get(m));
        match runs.last_mut() {
            Some(r) if r.sizes[0] == best => {
                r.end = b + 1;
                r.sizes.retain(|x| *x == best || alts.is_some_and(|a| a.contains(x)));
            }
            _ => {
                let mut sizes = vec![best];
                sizes.extend(alts.into_iter().flatten());
                runs.push(Run { start: b, end: b + 1, sizes });
            }
        }
    }
    if smooth {
        smooth_runs(models, row, i, m, &mut runs);
    }
    runs
}

fn smooth_runs(models: &Models, row: &mut [u32], i: usize, m: usize, runs: &mut Vec<Run>) {
    let blk = &models.blocks[i];
    let min_len = ((models.b_max + 1) as f64 * MIN_RUN_SHARE).ceil() as usize;
    let len = |r: &Run| r.end - r.start;
    // Each fold removes a run, so this ends.
    loop {
        // A short run folds into a neighbour whose best size it ranks as an
        // alternative; the lower neighbour (smaller budgets) first.
        let takes =
            |r: usize, n: usize| runs[r].sizes[0] != runs[n].sizes[0] && runs[r].sizes.contains(&runs[n].sizes[0]);
        let fold = (0..runs.len()).filter(|&r| len(&runs[r]) < min_len).find_map(|r| {
            if r > 0 && takes(r, r - 1) {
                Some((r, r - 1))
            } else if r + 1 < runs.len() && takes(r, r + 1) {
                Some((r, r + 1))
            } else {
                None
            }
        });
        let Some((r, n)) = fold else { break };
        let x = runs[n].sizes[0];
        let short = runs[r].clone();
        let into = &mut runs[n];
        into.start = into.start.min(short.start);
        into.end = into.end.max(short.end);
        into.sizes.retain(|y| *y == x || short.sizes.contains(y));
        runs.remove(r);
        for choice in &mut row[short.start..short.end] {
            *choice = blk.with_digit(*choice as usize, m, x as usize) as u32;
        }
        // The fold may leave the two runs around the short one with the same best size: one rule.
        let k = n.min(r);
        for j in [k, k.saturating_sub(1)] {
            if j + 1 < runs.len() && runs[j].sizes[0] == runs[j + 1].sizes[0] {
                let upper = runs.remove(j + 1);
                runs[j].end = upper.end;
                runs[j].sizes.retain(|y| upper.sizes.contains(y));
            }
        }
    }
}

/// Rules of every stage (`wf.stages()` order) for one table. With
/// `max_rules = (max, lambda)`, adjacent rules are merged (least added
/// `cost + lambda * miss` first) and `policy` is updated to what the merged
/// rules do.
pub(crate) fn condense(
    wf: &Workflow,
    models: &Models,
    conv: &Conv,
    policy: &mut Policy,
    ranked: Option<&Ranked>,
    max_rules: Option<(usize, f64)>,
    smooth: bool,
) -> Vec<RuleTable> {
    let mut tables = vec![RuleTable::default(); wf.stages().len()];
    let rules = |i: usize, m: usize, runs: &[Run]| -> (usize, Vec<Rule>) {
        let si = models.blocks[i].stages[m];
        let st = &wf.stages()[si];
        let rules = runs
            .iter()
            .map(|r| Rule {
                min_remaining_ms: grid_edge(r.start, models.dt),
                sizes: r.sizes.iter().map(|&x| st.options[x as usize]).collect(),
            })
            .collect();
        (si, rules)
    };
    match max_rules {
        // Without a cap a block only changes its own row of the policy: blocks in parallel.
        None => {
            let per_block: Vec<Vec<(usize, Vec<Rule>)>> = policy
                .par_iter_mut()
                .enumerate()
                .map(|(i, row)| {
                    (0..models.blocks[i].stages.len())
                        .map(|m| rules(i, m, &runs_of(models, row, ranked, i, m, smooth)))
                        .collect()
                })
                .collect();
            for (si, r) in per_block.into_iter().flatten() {
                tables[si].rules = r;
            }
        }
        // A cap weighs merges against the whole policy as capped so far: in order.
        Some((max, lambda)) => {
            for i in 0..models.blocks.len() {
                for m in 0..models.blocks[i].stages.len() {
                    let mut runs = runs_of(models, &mut policy[i], ranked, i, m, smooth);
                    if runs.len() > max {
                        cap(models, conv, policy, i, m, &mut runs, max, lambda);
                    }
                    let (si, r) = rules(i, m, &runs);
                    tables[si].rules = r;
                }
            }
        }
    }
    tables
}

/// Merge adjacent runs of member `m` of block `i` until at most `max` remain.
///
/// A merged run takes the choice of one of the two runs over both ranges:
/// whichever adds less to `cost + lambda * miss`, estimated with the rest of
/// the policy fixed (over the budgets whose choice changes: reach
/// probability times the change in expected cost-to-go and miss-to-go).
/// The pair with the least addition merges first. A large `lambda` makes
/// the merge conservative (the faster, safer size wins); the caller raises
/// it until the capped rules meet the target again.
#[allow(clippy::too_many_arguments)]
fn cap(
    models: &Models,
    conv: &Conv,
    policy: &mut Policy,
    i: usize,
    m: usize,
    runs: &mut Vec<Run>,
    max: usize,
    lambda: f64,
) {
    let reach = forward(models, conv, policy).reach;
    let to_go = backward(models, conv, 0.0, Some(policy), None);
    let blk = &models.blocks[i];
    let c_miss = models.tail[i + 1];
    let len = models.b_max + 1;
    // The rest of the run after block i (nothing after the last block).
    let (ctg, mtg) = match (to_go.cost_from.get(i + 1), to_go.miss_from.get(i + 1)) {
        (Some(c), Some(m)) => (c.clone(), m.clone()),
        _ => (vec![0.0; len], vec![0.0; len]),
    };
    let dc: Vec<f64> = ctg.iter().map(|c| c - c_miss).collect();
    let dm: Vec<f64> = mtg.iter().map(|x| x - 1.0).collect();
    // Lagrangian value of joint option `o` at budget `b` given the rest of the policy.
    let value = |o: usize, b: usize| {
        let opt = &blk.options_at(b)[o];
        opt.cost + c_miss + opt.hist.dot(b, &dc) + lambda * (1.0 + opt.hist.dot(b, &dm))
    };
    // Added value of using size `x` over `run`.
    let added = |policy: &Policy, run: &Run, x: usize| -> f64 {
        (run.start..run.end)
            .filter(|&b| reach[i][b] > 0.0)
            .map(|b| {
                let cur = policy[i][b] as usize;
                reach[i][b] * (value(blk.with_digit(cur, m, x), b) - value(cur, b))
            })
            .sum()
    };
    // Each merge removes one run, so this ends after runs.len() - max rounds.
    while runs.len() > max.max(1) {
        // (added value, lower run index, keep the lower run's choice?)
        let mut best: Option<(f64, usize, bool)> = None;
        for r in 0..runs.len() - 1 {
            let (lo, up) = (&runs[r], &runs[r + 1]);
            let keep_lower = added(policy, up, lo.sizes[0] as usize);
            let keep_upper = added(policy, lo, up.sizes[0] as usize);
            // Ties go to the lower run's choice: chosen for smaller budgets, the safer side.
            let cand = if keep_lower <= keep_upper { (keep_lower, r, true) } else { (keep_upper, r, false) };
            if best.is_none_or(|b| cand.0 < b.0) {
                best = Some(cand);
            }
        }
        let Some((_, r, keep_lower)) = best else { break };
        let upper = runs.remove(r + 1);
        let lower = &mut runs[r];
        let (changed, kept) = if keep_lower { (upper.clone(), lower.clone()) } else { (lower.clone(), upper.clone()) };
        let x = kept.sizes[0];
        // The kept list, minus alternatives not ranked on the other part.
        lower.sizes = kept.sizes.iter().copied().filter(|y| *y == x || changed.sizes.contains(y)).collect();
        lower.end = upper.end;
        for choice in &mut policy[i][changed.start..changed.end] {
            *choice = blk.with_digit(*choice as usize, m, x as usize) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostModel, Size, Slo, Stage};
    use crate::profile::{Profile, Samples};
    use crate::synth::data::Data;
    use crate::synth::evaluate::policy_from_tables;

    /// A chain of four stages with six close sizes each: near-ties everywhere.
    fn close_sizes() -> (Workflow, Profile) {
        let sizes: Vec<Size> = (1..=6).map(|k| Size::new(500 + 100 * k, 512)).collect();
        let mut p = Profile::new();
        let stages: Vec<Stage> = (0..4)
            .map(|i| {
                let name = format!("s{i}");
                for s in &sizes {
                    let base = 100.0 + 20.0 * i as f64;
                    let lat =
                        (0..40).map(|j| base * 1000.0 / f64::from(s.cpu_millis) * (0.8 + 0.01 * j as f64)).collect();
                    p.add(&name, *s, Samples::new(lat)).unwrap();
                }
                Stage { name, options: sizes.clone(), fanout: 1 }
            })
            .collect();
        let wf = Workflow::chain("close", Slo { deadline_ms: 700.0, percentile: 0.9 }, CostModel::default(), stages);
        (wf.unwrap(), p)
    }

    #[test]
    fn condensed_rules_keep_every_size_the_dp_chose_and_only_valid_alternatives() {
        let (wf, p) = close_sizes();
        let data = Data::new(&wf, &p).unwrap();
        let models = data.models(300, 0.0, None).unwrap();
        let conv = Conv::new(301);
        let pass = backward(&models, &conv, 2.0, None, Some(0.05));
        let ranked = pass.ranked.as_ref().unwrap();
        let mut policy = pass.policy.clone();
        let tables = condense(&wf, &models, &conv, &mut policy, Some(ranked), None, false);
        assert_eq!(policy, pass.policy, "unsmoothed condensing changes no choice");
        let back = policy_from_tables(&wf, &models, &tables.iter().collect::<Vec<_>>()).unwrap();
        // Below the first rule a run gets the fallback; everywhere else the DP's size.
        let first = |i: usize| (tables[i].rules[0].min_remaining_ms / models.dt).round() as usize;
        for (i, row) in back.iter().enumerate() {
            assert_eq!(row[first(i)..], pass.policy[i][first(i)..], "stage {i}");
        }
        let mut merged = 0;
        for (i, t) in tables.iter().enumerate() {
            let opts = &wf.stages()[i].options;
            let edge = |r: &Rule| (r.min_remaining_ms / models.dt).round() as usize;
            let ends: Vec<usize> = t.rules.iter().skip(1).map(edge).chain([models.b_max + 1]).collect();
            for (r, end) in t.rules.iter().zip(ends) {
                let start = edge(r);
                let alts: Vec<u32> =
                    r.sizes[1..].iter().map(|s| opts.iter().position(|o| o == s).unwrap() as u32).collect();
                let covered = &ranked[i][start..end];
                for (b, at) in covered.iter().enumerate() {
                    // Every alternative of the rule is ranked at every budget it covers.
                    assert!(alts.iter().all(|a| at[0].contains(a)), "stage {i} budget {}: {alts:?}", start + b);
                }
                merged += usize::from(covered.iter().any(|at| at[0].len() > alts.len()));
            }
            // Adjacent rules differ in their first size.
            assert!(t.rules.windows(2).all(|w| w[0].sizes[0] != w[1].sizes[0]), "stage {i}");
        }
        assert!(merged > 0, "some rule dropped an alternative ranked in only part of its range");
    }
}
