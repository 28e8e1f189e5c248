//! The best static assignment: one joint option per block (early binding),
//! the cheapest meeting the percentile on the same histograms.
//!
//! It is both a baseline and a candidate: the DP's Lagrangian bisection can
//! over-achieve the percentile, and a static plan that spends the whole miss
//! allowance may then be cheaper (DESIGN.md, "Pitfalls").
//!
//! Search: exhaustive depth-first over blocks when the estimated work is
//! small, sharing the budget distribution of every prefix and pruning
//! prefixes that already miss too often or already cost more than the best
//! plan found (costs only add up). Otherwise a steepest-descent local
//! search from the all-fastest plan: repeatedly apply the single-block
//! change that lowers the expected cost most while keeping the miss
//! probability within the target, until no change helps. The local search
//! can stop at a local optimum; it is only used for large option spaces.
//!
//! Costs follow the exact evaluation: once the deadline is missed later
//! blocks run at their fallback (as the adapter does).

use super::blocks::Models;
use super::evaluate::{constant_policy, forward};

/// Exhaustive search above this many (combinations x budget x support) steps is replaced by local search.
const EXHAUSTIVE_WORK: f64 = 5e7;
/// Cap on local-search moves (each strictly lowers the cost; this is only a guard).
const MAX_MOVES: usize = 10_000;

#[derive(Debug, Clone)]
pub(crate) struct StaticChoice {
    /// Joint option per block.
    pub choice: Vec<usize>,
    pub cost: f64,
    pub miss: f64,
    pub feasible: bool,
    /// "exhaustive" or "local search": recorded in the provenance.
    pub method: &'static str,
}

/// Prefix state of the depth-first search.
struct Prefix {
    dist: Vec<f64>,
    missed: f64,
    cost: f64,
}

/// Advance a prefix through block `i` at joint option `o`.
fn step(models: &Models, i: usize, o: usize, pre: &Prefix) -> Prefix {
    let blk = &models.blocks[i];
    let opt = &blk.options[o];
    let mut next = vec![0.0; models.b_max + 1];
    let mut cost = pre.cost + pre.missed * blk.options[blk.fallback].cost;
    let mut missed = pre.missed;
    for (b, &w) in pre.dist.iter().enumerate() {
        if w == 0.0 {
            continue;
        }
        cost += w * opt.cost;
        let mut on_time = 0.0;
        for (j, p) in opt.hist.p.iter().enumerate() {
            let k = opt.hist.off + j;
            if k > b {
                break;
            }
            next[b - k] += w * p;
            on_time += p;
        }
        missed += w * (1.0 - on_time).max(0.0);
    }
    Prefix { dist: next, missed, cost }
}

struct Search<'a> {
    models: &'a Models,
    target: f64,
    /// Cheapest option cost of every block and the sum over blocks `i..`: a lower bound.
    floor: Vec<f64>,
    best: Option<(f64, f64, Vec<usize>)>,
    path: Vec<usize>,
}

impl Search<'_> {
    fn dfs(&mut self, i: usize, pre: &Prefix) {
        if i == self.models.blocks.len() {
            if self.best.as_ref().is_none_or(|b| pre.cost < b.0) {
                self.best = Some((pre.cost, pre.missed, self.path.clone()));
            }
            return;
        }
        for o in 0..self.models.blocks[i].options.len() {
            let next = step(self.models, i, o, pre);
            // Misses only accumulate and costs only add up: prune.
            if next.missed > self.target {
                continue;
            }
            if let Some(b) = &self.best {
                if next.cost + self.floor[i + 1] >= b.0 {
                    continue;
                }
            }
            self.path.push(o);
            self.dfs(i + 1, &next);
            self.path.pop();
        }
    }
}

fn evaluate(models: &Models, choice: &[usize]) -> (f64, f64) {
    let e = forward(models, &constant_policy(models, choice));
    (e.cost, e.miss)
}

pub(crate) fn search(models: &Models, target: f64) -> StaticChoice {
    let n = models.blocks.len();
    let fastest: Vec<usize> = models.blocks.iter().map(|b| b.fallback).collect();
    let combos: f64 = models.blocks.iter().map(|b| b.options.len() as f64).product();
    let support: f64 = models
        .blocks
        .iter()
        .map(|b| b.options.iter().map(|o| o.hist.p.len().max(1) as f64).sum::<f64>() / b.options.len().max(1) as f64)
        .sum::<f64>()
        / n.max(1) as f64;
    let work = combos * (models.b_max + 1) as f64 * support;
    if work <= EXHAUSTIVE_WORK {
        let mut floor = vec![0.0; n + 1];
        for i in (0..n).rev() {
            let cheapest = models.blocks[i].options.iter().map(|o| o.cost).fold(f64::INFINITY, f64::min);
            floor[i] = floor[i + 1] + cheapest;
        }
        let mut dist = vec![0.0; models.b_max + 1];
        dist[models.b_max] = 1.0;
        let mut s = Search { models, target, floor, best: None, path: Vec::with_capacity(n) };
        s.dfs(0, &Prefix { dist, missed: 0.0, cost: 0.0 });
        if let Some((cost, miss, choice)) = s.best {
            return StaticChoice { choice, cost, miss, feasible: true, method: "exhaustive" };
        }
        // Nothing meets the target: report the all-fastest plan.
        let (cost, miss) = evaluate(models, &fastest);
        return StaticChoice { choice: fastest, cost, miss, feasible: false, method: "exhaustive" };
    }
    local_search(models, target, fastest)
}

fn local_search(models: &Models, target: f64, start: Vec<usize>) -> StaticChoice {
    let method = "local search";
    let (mut cost, miss) = evaluate(models, &start);
    let mut choice = start;
    if miss > target {
        return StaticChoice { choice, cost, miss, feasible: false, method };
    }
    let mut cur_miss = miss;
    for _ in 0..MAX_MOVES {
        let mut best: Option<(f64, f64, usize, usize)> = None;
        for i in 0..models.blocks.len() {
            for o in 0..models.blocks[i].options.len() {
                if o == choice[i] {
                    continue;
                }
                let mut cand = choice.clone();
                cand[i] = o;
                let (c, m) = evaluate(models, &cand);
                if m <= target && c < cost - 1e-12 * cost.abs().max(1.0) && best.is_none_or(|b| c < b.0) {
                    best = Some((c, m, i, o));
                }
            }
        }
        let Some((c, m, i, o)) = best else { break };
        choice[i] = o;
        cost = c;
        cur_miss = m;
    }
    StaticChoice { choice, cost, miss: cur_miss, feasible: true, method }
}
