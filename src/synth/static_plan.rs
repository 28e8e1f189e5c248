//! The best static assignment: one joint option per block (early binding),
//! the cheapest meeting the percentile on the same yardstick as every other
//! candidate (the reference classes' mixture and, for a keyed profile, the
//! requests themselves).
//!
//! It is both a baseline and a candidate: the DP's Lagrangian bisection can
//! over-achieve the percentile, and a static plan that spends the whole miss
//! allowance may then be cheaper. A static plan keeps its sizes whatever
//! happens, so its cost is the sum of its options' costs; only its miss
//! probability needs the distribution of the total latency.
//!
//! Search: exhaustive depth-first over blocks when the option space is
//! small, sharing the latency distribution of every prefix and pruning
//! prefixes that already miss too often or already cost more than the best
//! plan found. Otherwise a steepest-descent local search from the
//! all-fastest plan: repeatedly apply the single-block change that lowers
//! the cost most while keeping the miss probability within the target. Each
//! candidate change is priced with prefix and suffix distributions (the
//! latency of the other blocks convolved once per block), so a move costs a
//! few convolutions per block, not a full evaluation per candidate.

use super::conv::{Conv, Hist};
use super::data::Empirical;
use super::grid::Models;
use super::lagrange::Reference;
use rayon::prelude::*;

/// Exhaustive search up to this many (combinations x reference classes).
const EXHAUSTIVE_WORK: f64 = 2e4;
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

/// The distribution of elapsed time after one more block (on time only).
fn step(conv: &Conv, h: &Hist, elapsed: &[f64]) -> Vec<f64> {
    conv.apply(h, &conv.input(elapsed.to_vec())).into_iter().map(|v| v.max(0.0)).collect()
}

fn start(len: usize) -> Vec<f64> {
    let mut d = vec![0.0; len];
    d[0] = 1.0;
    d
}

/// Weighted cost of joint option `o` of block `i` over the reference classes.
fn option_cost(r: &Reference, i: usize, o: usize) -> f64 {
    r.models.iter().zip(&r.weights).map(|(m, w)| w * m.blocks[i].options[o].cost).sum()
}

/// Latency (buckets, rounded up) and cost of every run at every block option.
struct RunTable {
    /// `lat[run][block][option]`
    lat: Vec<Vec<Vec<u32>>>,
    b_max: u32,
}

impl RunTable {
    fn new(emp: &Empirical, models: &Models) -> RunTable {
        let lat = (0..emp.runs.len())
            .map(|r| {
                models
                    .blocks
                    .iter()
                    .enumerate()
                    .map(|(i, blk)| (0..blk.options.len()).map(|o| emp.block_bins(r, models, i, o)).collect())
                    .collect()
            })
            .collect();
        RunTable { lat, b_max: models.b_max as u32 }
    }

    fn miss(&self, choice: &[usize]) -> f64 {
        let n = self.lat.len().max(1);
        let late =
            self.lat.iter().filter(|run| run.iter().zip(choice).map(|(b, &o)| b[o]).sum::<u32>() > self.b_max).count();
        late as f64 / n as f64
    }
}

struct Search<'a> {
    r: &'a Reference,
    runs: Option<RunTable>,
    target: f64,
    costs: Vec<Vec<f64>>,
    /// Cheapest option cost of every block, summed over blocks `i..`: a lower bound.
    floor: Vec<f64>,
    best: Option<(f64, f64, Vec<usize>)>,
    path: Vec<usize>,
}

impl Search<'_> {
    /// `dists[j]`: elapsed distribution of reference class `j` after the prefix.
    fn dfs(&mut self, i: usize, dists: &[Vec<f64>], cost: f64) {
        let n = self.r.models[0].blocks.len();
        if i == n {
            let model: f64 = dists.iter().zip(&self.r.weights).map(|(d, w)| w * (1.0 - d.iter().sum::<f64>())).sum();
            let miss = model.max(self.runs.as_ref().map_or(0.0, |t| t.miss(&self.path)));
            if miss <= self.target && self.best.as_ref().is_none_or(|b| cost < b.0) {
                self.best = Some((cost, miss, self.path.clone()));
            }
            return;
        }
        for o in 0..self.costs[i].len() {
            let c = cost + self.costs[i][o];
            if self.best.as_ref().is_some_and(|b| c + self.floor[i + 1] >= b.0) {
                continue;
            }
            let next: Vec<Vec<f64>> = self
                .r
                .models
                .iter()
                .zip(dists)
                .map(|(m, d)| step(&self.r.conv, &m.blocks[i].options[o].hist, d))
                .collect();
            // Misses only accumulate: prune.
            let miss: f64 = next.iter().zip(&self.r.weights).map(|(d, w)| w * (1.0 - d.iter().sum::<f64>())).sum();
            if miss > self.target {
                continue;
            }
            self.path.push(o);
            self.dfs(i + 1, &next, c);
            self.path.pop();
        }
    }
}

/// The cheapest static plan with miss probability at most `target`;
/// `fastest[i]` is block `i`'s fastest joint option (the start of the local
/// search and the answer when nothing is feasible).
pub(crate) fn search(r: &Reference, empirical: Option<&Empirical>, target: f64, fastest: &[usize]) -> StaticChoice {
    let models = &r.models[0];
    let n = models.blocks.len();
    let costs: Vec<Vec<f64>> =
        (0..n).map(|i| (0..models.blocks[i].options.len()).map(|o| option_cost(r, i, o)).collect()).collect();
    let runs = empirical.map(|e| RunTable::new(e, models));
    let combos: f64 = models.blocks.iter().map(|b| b.options.len() as f64).product();
    if combos * r.models.len() as f64 <= EXHAUSTIVE_WORK {
        let mut floor = vec![0.0; n + 1];
        for i in (0..n).rev() {
            floor[i] = floor[i + 1] + costs[i].iter().copied().fold(f64::INFINITY, f64::min);
        }
        let dists: Vec<Vec<f64>> = r.models.iter().map(|_| start(models.b_max + 1)).collect();
        let mut s = Search { r, runs, target, costs, floor, best: None, path: Vec::with_capacity(n) };
        s.dfs(0, &dists, 0.0);
        if let Some((cost, miss, choice)) = s.best {
            return StaticChoice { choice, cost, miss, feasible: true, method: "exhaustive" };
        }
        let (cost, miss) = evaluate(r, s.runs.as_ref(), &s.costs, fastest);
        return StaticChoice { choice: fastest.to_vec(), cost, miss, feasible: false, method: "exhaustive" };
    }
    local_search(r, runs.as_ref(), &costs, target, fastest.to_vec())
}

/// (cost, miss) of a static plan.
fn evaluate(r: &Reference, runs: Option<&RunTable>, costs: &[Vec<f64>], choice: &[usize]) -> (f64, f64) {
    let cost = choice.iter().enumerate().map(|(i, &o)| costs[i][o]).sum();
    let mut model = 0.0;
    for (m, w) in r.models.iter().zip(&r.weights) {
        let mut d = start(m.b_max + 1);
        for (i, &o) in choice.iter().enumerate() {
            d = step(&r.conv, &m.blocks[i].options[o].hist, &d);
        }
        model += w * (1.0 - d.iter().sum::<f64>());
    }
    (cost, model.max(runs.map_or(0.0, |t| t.miss(choice))))
}

fn local_search(
    r: &Reference,
    runs: Option<&RunTable>,
    costs: &[Vec<f64>],
    target: f64,
    start_plan: Vec<usize>,
) -> StaticChoice {
    let method = "local search";
    let (mut cost, mut miss) = evaluate(r, runs, costs, &start_plan);
    let mut choice = start_plan;
    if miss > target {
        return StaticChoice { choice, cost, miss, feasible: false, method };
    }
    let n = choice.len();
    let len = r.models[0].b_max + 1;
    for _ in 0..MAX_MOVES {
        // Per reference class: prefix[i] = blocks < i, suffix[i] = blocks >= i.
        let mut gains: Vec<(f64, f64, usize, usize)> = Vec::new();
        let mut model_miss = vec![vec![0.0; 0]; n];
        for (i, mm) in model_miss.iter_mut().enumerate() {
            *mm = vec![0.0; costs[i].len()];
        }
        for (m, w) in r.models.iter().zip(&r.weights) {
            // Elapsed time after blocks < i (prefix) and after blocks >= i (suffix): two chains side by side.
            let (prefix, suffix) = rayon::join(
                || {
                    let mut prefix = vec![start(len)];
                    for (i, &o) in choice.iter().enumerate() {
                        let next = step(&r.conv, &m.blocks[i].options[o].hist, &prefix[i]);
                        prefix.push(next);
                    }
                    prefix
                },
                || {
                    let mut suffix = vec![start(len); n + 1];
                    for i in (0..n).rev() {
                        suffix[i] = step(&r.conv, &m.blocks[i].options[choice[i]].hist, &suffix[i + 1]);
                    }
                    suffix
                },
            );
            // Per block i: the elapsed time of every block but i, then each option of block i.
            let per_block: Vec<Vec<f64>> = (0..n)
                .into_par_iter()
                .map(|i| {
                    let q = step_dist(&r.conv, &prefix[i], &suffix[i + 1]);
                    let mut cdf = Vec::with_capacity(len);
                    let mut acc = 0.0;
                    for v in &q {
                        acc += v;
                        cdf.push(acc);
                    }
                    m.blocks[i]
                        .options
                        .iter()
                        .map(|opt| {
                            let h = &opt.hist;
                            let on: f64 =
                                h.p.iter()
                                    .enumerate()
                                    .filter(|(j, _)| h.off + j < len)
                                    .map(|(j, p)| p * cdf[len - 1 - h.off - j])
                                    .sum();
                            1.0 - on
                        })
                        .collect()
                })
                .collect();
            for (mm, miss) in model_miss.iter_mut().zip(per_block) {
                for (slot, x) in mm.iter_mut().zip(miss) {
                    *slot += w * x;
                }
            }
        }
        for i in 0..n {
            for o in 0..costs[i].len() {
                if o == choice[i] {
                    continue;
                }
                let c = cost - costs[i][choice[i]] + costs[i][o];
                if c >= cost - 1e-12 * cost.abs().max(1.0) || model_miss[i][o] > target {
                    continue;
                }
                gains.push((c, model_miss[i][o], i, o));
            }
        }
        gains.sort_by(|a, b| a.0.total_cmp(&b.0));
        // The cheapest move that also passes the empirical check.
        let mv = gains.into_iter().find_map(|(c, mm, i, o)| {
            let mut cand = choice.clone();
            cand[i] = o;
            let m = mm.max(runs.map_or(0.0, |t| t.miss(&cand)));
            (m <= target).then_some((c, m, cand))
        });
        let Some((c, m, cand)) = mv else { break };
        choice = cand;
        cost = c;
        miss = m;
    }
    StaticChoice { choice, cost, miss, feasible: true, method }
}

/// The convolution of two elapsed-time distributions (truncated).
fn step_dist(conv: &Conv, a: &[f64], b: &[f64]) -> Vec<f64> {
    let h = Hist::from_bins(b);
    step(conv, &h, a)
}
