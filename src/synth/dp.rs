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
//! Options are streamed in index order, a few at a time, so a parallel
//! block with thousands of joint options needs memory for a few options
//! only; ties (within a relative 1e-9) go to the lower miss probability,
//! then to the lower option index, so the result does not depend on the
//! number of threads.
//!
//! Parallelism (rayon) is at the level where the work is: the two input
//! transforms of a block run side by side, every (option, cost or miss)
//! convolution of a chunk is one task, and the choice over the options is
//! made for ranges of budgets in parallel (each range folds the options in
//! index order, so the choice is the same as a sequential fold's).

use super::condense::Ranked;
use super::conv::{Conv, Input};
use super::grid::{BlockModel, JointOption, Models, Policy};
use rayon::prelude::*;

/// Slack for "equal" values (relative) and "certain" misses.
pub(crate) const EPS: f64 = 1e-9;
/// Options convolved at once (in parallel) before their values are compared.
const CHUNK: usize = 16;
/// Budgets per task when the options are compared.
const BUDGETS_PER_TASK: usize = 512;

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

impl Pass {
    /// Expected cost and miss probability of a whole run (from the full budget).
    pub fn start(&self) -> (f64, f64) {
        let at = |v: &[Vec<f64>]| v.first().and_then(|x| x.last()).copied().unwrap_or(0.0);
        (at(&self.cost_from), at(&self.miss_from))
    }
}

/// Values of one option at every budget.
struct OptionValues {
    /// Expected cost of the rest of the run (this block included).
    c: Vec<f64>,
    /// Miss probability of the rest of the run.
    m: Vec<f64>,
}

/// The inputs of block `i`'s convolutions: the next block's values relative
/// to the miss values (the mass past the deadline then needs no term).
struct BlockInputs {
    dc: Input,
    dm: Input,
    c_miss: f64,
}

/// The values of options `opts` of `blk` at every budget; a banded block's
/// from each band's own histograms and costs, for the budgets of the band.
fn option_values(blk: &BlockModel, conv: &Conv, inp: &BlockInputs, opts: &[usize]) -> Vec<OptionValues> {
    let spans = blk.spans(conv_len(inp));
    if spans.len() == 1 {
        return values_of(spans[0].2, conv, inp, opts);
    }
    let mut out: Option<Vec<OptionValues>> = None;
    for (from, to, options) in spans {
        let vals = values_of(options, conv, inp, opts);
        match out.as_mut() {
            None => out = Some(vals),
            Some(acc) => {
                for (a, v) in acc.iter_mut().zip(vals) {
                    a.c[from..to].copy_from_slice(&v.c[from..to]);
                    a.m[from..to].copy_from_slice(&v.m[from..to]);
                }
            }
        }
    }
    out.unwrap_or_default()
}

/// The number of budgets of a block's inputs.
fn conv_len(inp: &BlockInputs) -> usize {
    inp.dc.len()
}

/// The values of options `opts` among `options`: every (option, cost or miss) convolution is one task.
fn values_of(options: &[JointOption], conv: &Conv, inp: &BlockInputs, opts: &[usize]) -> Vec<OptionValues> {
    let mut convs: Vec<Vec<f64>> = (0..2 * opts.len())
        .into_par_iter()
        .map(|t| {
            let opt = &options[opts[t / 2]];
            if t % 2 == 0 {
                let mut c = conv.apply(&opt.hist, &inp.dc);
                let add = opt.cost + inp.c_miss;
                c.iter_mut().for_each(|v| *v += add);
                c
            } else {
                let mut m = conv.apply(&opt.hist, &inp.dm);
                m.iter_mut().for_each(|v| *v = (*v + 1.0).clamp(0.0, 1.0));
                m
            }
        })
        .collect();
    let mut out = Vec::with_capacity(opts.len());
    while let (Some(m), Some(c)) = (convs.pop(), convs.pop()) {
        out.push(OptionValues { c, m });
    }
    out.reverse();
    out
}

/// The choice at one budget so far.
#[derive(Debug, Clone, Copy)]
struct Best {
    o: u32,
    q: f64,
    c: f64,
    m: f64,
    /// The least miss probability of any option seen.
    min_m: f64,
}

const NONE: Best = Best { o: u32::MAX, q: 0.0, c: 0.0, m: 0.0, min_m: f64::INFINITY };

/// Fold options `opts` (in index order) into the choices `best` of budgets
/// `b0..`: the lower `c + lambda m` wins, within a relative `EPS` the lower
/// miss probability; with `fixed`, the policy's option is taken.
fn fold(best: &mut [Best], b0: usize, opts: &[usize], vals: &[OptionValues], lambda: f64, fixed: Option<&[u32]>) {
    for (&o, v) in opts.iter().zip(vals) {
        let (c, m) = (&v.c[b0..b0 + best.len()], &v.m[b0..b0 + best.len()]);
        for (j, s) in best.iter_mut().enumerate() {
            let (cj, mj) = (c[j], m[j]);
            s.min_m = s.min_m.min(mj);
            let qo = cj + lambda * mj;
            let take = match fixed {
                Some(f) => f[b0 + j] as usize == o,
                None if s.o == u32::MAX => true,
                None => {
                    let slack = EPS * s.q.abs().max(1.0);
                    qo < s.q - slack || (qo <= s.q + slack && mj < s.m - EPS)
                }
            };
            if take {
                *s = Best { o: o as u32, q: qo, c: cj, m: mj, min_m: s.min_m };
            }
        }
    }
}

/// Write the choices of budgets `b0..` (`part`) into `c`, `m` and `o`;
/// with `fb`, where every option misses for sure, the fallback's instead.
fn settle(part: &[Best], b0: usize, fb: Option<(u32, &OptionValues)>, c: &mut [f64], m: &mut [f64], o: &mut [u32]) {
    for (j, s) in part.iter().enumerate() {
        (c[j], m[j], o[j]) = match fb {
            Some((f, v)) if s.min_m >= 1.0 - EPS => (v.c[b0 + j], v.m[b0 + j], f),
            _ => (s.c, s.m, s.o),
        };
    }
}

/// One backward pass. With `fixed`, the policy is evaluated instead of
/// optimised; with `tol`, the ranked alternatives of every state are listed.
pub(crate) fn backward(models: &Models, conv: &Conv, lambda: f64, fixed: Option<&Policy>, tol: Option<f64>) -> Pass {
    let n = models.blocks.len();
    let len = models.b_max + 1;
    let zeros = vec![0.0; len];
    let mut policy: Policy = vec![Vec::new(); n];
    let mut ranked: Ranked = vec![Vec::new(); n];
    let mut miss_from = vec![Vec::new(); n];
    let mut cost_from = vec![Vec::new(); n];
    for i in (0..n).rev() {
        let blk = &models.blocks[i];
        let c_miss = models.tail[i + 1];
        // The next block's values (none after the last block).
        let (cn, mn) = if i + 1 < n { (&cost_from[i + 1], &miss_from[i + 1]) } else { (&zeros, &zeros) };
        // Both inputs (and their transforms, if a histogram is long) side by side.
        let spans = blk.spans(len);
        let long = spans.iter().flat_map(|s| s.2).map(|o| &o.hist).find(|h| conv.is_long(h));
        let input = |x: &[f64], shift: f64| {
            let inp = conv.input(x.iter().map(|v| v - shift).collect());
            if let Some(h) = long {
                conv.prepare(&inp, h);
            }
            inp
        };
        let (dc, dm) = rayon::join(|| input(cn, c_miss), || input(mn, 1.0));
        let inp = BlockInputs { dc, dm, c_miss };
        let fx = fixed.and_then(|f| f.get(i)).map(Vec::as_slice);
        // A fixed policy without ranking needs the values of its own options only.
        let opts: Vec<usize> = match fx {
            Some(f) if tol.is_none() => {
                let mut used = vec![false; blk.options.len()];
                f.iter().for_each(|&o| used[o as usize] = true);
                (0..blk.options.len()).filter(|&o| used[o]).collect()
            }
            _ => (0..blk.options.len()).collect(),
        };
        // Values kept for ranking a small block (every option's).
        let keep_all = tol.is_some() && opts.len() <= CHUNK;
        let mut kept: Vec<(usize, OptionValues)> = Vec::new();
        let (mut chosen, mut choice) = (OptionValues { c: vec![0.0; len], m: vec![0.0; len] }, vec![0u32; len]);
        // Where every option misses for sure, the fallback, as the adapter's late policy would take.
        let fb = blk.fallback;
        let out = chosen
            .c
            .par_chunks_mut(BUDGETS_PER_TASK)
            .zip(chosen.m.par_chunks_mut(BUDGETS_PER_TASK))
            .zip(choice.par_chunks_mut(BUDGETS_PER_TASK));
        if opts.len() <= CHUNK {
            // One chunk of options (any chain): fold and settle every range of budgets in one task.
            let vals = option_values(blk, conv, &inp, &opts);
            let fbv = opts.iter().position(|&o| o == fb).filter(|_| fx.is_none()).map(|p| (fb as u32, &vals[p]));
            out.enumerate().for_each(|(k, ((c, m), o))| {
                let b0 = k * BUDGETS_PER_TASK;
                let mut part = vec![NONE; o.len()];
                fold(&mut part, b0, &opts, &vals, lambda, fx);
                settle(&part, b0, fbv, c, m, o);
            });
            if keep_all {
                kept = opts.iter().copied().zip(vals).collect();
            }
        } else {
            // Thousands of joint options: a few at a time, the fallback's values kept.
            let mut best = vec![NONE; len];
            let mut fb_vals = None;
            for chunk in opts.chunks(CHUNK) {
                let vals = option_values(blk, conv, &inp, chunk);
                best.par_chunks_mut(BUDGETS_PER_TASK)
                    .enumerate()
                    .for_each(|(k, part)| fold(part, k * BUDGETS_PER_TASK, chunk, &vals, lambda, fx));
                fb_vals = fb_vals.or_else(|| chunk.iter().zip(vals).find(|(&o, _)| o == fb).map(|(_, v)| v));
            }
            let fbv = fb_vals.as_ref().filter(|_| fx.is_none()).map(|v| (fb as u32, v));
            out.zip(best.par_chunks(BUDGETS_PER_TASK))
                .enumerate()
                .for_each(|(k, (((c, m), o), part))| settle(part, k * BUDGETS_PER_TASK, fbv, c, m, o));
        }
        if let Some(tol) = tol {
            let rk = Ranking::new(blk, &choice, &chosen, lambda, tol);
            let mut cand = rk.empty();
            if keep_all {
                let (opts, vals): (Vec<usize>, Vec<OptionValues>) = kept.into_iter().unzip();
                rk.collect(&mut cand, &opts, &vals);
            } else {
                // A large block: stream its options again.
                for chunk in opts.chunks(CHUNK) {
                    rk.collect(&mut cand, chunk, &option_values(blk, conv, &inp, chunk));
                }
            }
            ranked[i] = rk.finish(cand);
        }
        policy[i] = choice;
        miss_from[i] = chosen.m;
        cost_from[i] = chosen.c;
    }
    Pass { policy, miss_from, cost_from, ranked: tol.map(|_| ranked) }
}

/// Ranked alternatives of every state of one block: for each member, its
/// other sizes (the rest of the joint option kept) whose value is within
/// `tol` (relative) of the chosen one and whose miss probability is no
/// worse than the chosen one's + 1e-3, best first. Hopeless states get none.
/// Budgets are independent: they are ranked in parallel.
struct Ranking<'a> {
    blk: &'a BlockModel,
    choice: &'a [u32],
    chosen: &'a OptionValues,
    lambda: f64,
    tol: f64,
    /// `digits[o]`: the member options of joint option `o`.
    digits: Vec<Vec<u32>>,
}

/// (value, option of the member) candidates per (budget, member).
type Candidates = Vec<Vec<Vec<(f64, u32)>>>;

impl<'a> Ranking<'a> {
    fn new(blk: &'a BlockModel, choice: &'a [u32], chosen: &'a OptionValues, lambda: f64, tol: f64) -> Self {
        let nm = blk.stages.len();
        let digits = (0..blk.options.len()).map(|o| (0..nm).map(|m| blk.digit(o, m) as u32).collect()).collect();
        Ranking { blk, choice, chosen, lambda, tol, digits }
    }

    fn empty(&self) -> Candidates {
        vec![vec![Vec::new(); self.blk.stages.len()]; self.choice.len()]
    }

    fn collect(&self, cand: &mut Candidates, opts: &[usize], vals: &[OptionValues]) {
        cand.par_chunks_mut(BUDGETS_PER_TASK).enumerate().for_each(|(k, part)| {
            for (j, per_member) in part.iter_mut().enumerate() {
                let b = k * BUDGETS_PER_TASK + j;
                if self.chosen.m[b] >= 1.0 - EPS {
                    continue;
                }
                let c = &self.digits[self.choice[b] as usize];
                let qb = self.chosen.c[b] + self.lambda * self.chosen.m[b];
                let limit = qb + self.tol * qb.abs() + EPS * qb.abs().max(1.0);
                for (&o, v) in opts.iter().zip(vals) {
                    // `o` must differ from the choice in exactly one member.
                    let d = &self.digits[o];
                    let mut diff = (0..d.len()).filter(|&m| d[m] != c[m]);
                    let (Some(m), None) = (diff.next(), diff.next()) else { continue };
                    let qo = v.c[b] + self.lambda * v.m[b];
                    if qo.is_finite() && qo <= limit && v.m[b] <= self.chosen.m[b] + 1e-3 {
                        per_member[m].push((qo, d[m]));
                    }
                }
            }
        });
    }

    fn finish(&self, cand: Candidates) -> Vec<Vec<Vec<u32>>> {
        cand.into_par_iter()
            .with_min_len(BUDGETS_PER_TASK)
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
                // A banded block: the options of the band budget `b` lies in.
                let options = blk.options_at(b);
                let qs: Vec<f64> = options.iter().map(|o| o.cost + v_miss + o.hist.dot(b, &dv)).collect();
                let ms: Vec<f64> = options.iter().map(|o| (1.0 + o.hist.dot(b, &dm)).clamp(0.0, 1.0)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::evaluate::forward;
    use crate::synth::tests::toy_models;

    fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
    }

    #[test]
    fn one_thread_and_two_give_the_same_pass_bit_for_bit() {
        let models = toy_models(900);
        let conv = Conv::new(901);
        let bits = |v: &[Vec<f64>]| v.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
        for lambda in [0.0, 0.5, 1e4] {
            let one = on_threads(1, || backward(&models, &conv, lambda, None, Some(0.05)));
            let two = on_threads(2, || backward(&models, &conv, lambda, None, Some(0.05)));
            assert_eq!(one.policy, two.policy, "lambda {lambda}");
            assert_eq!(one.ranked, two.ranked, "lambda {lambda}");
            assert_eq!(bits(&one.cost_from), bits(&two.cost_from), "lambda {lambda}");
            assert_eq!(bits(&one.miss_from), bits(&two.miss_from), "lambda {lambda}");
        }
    }

    /// A parallel block of 5 x 5 joint options: more than one chunk of options.
    fn wide_block() -> Models {
        use crate::model::{CostModel, Size, Slo, Stage, Workflow};
        use crate::profile::{Profile, Samples};
        let sizes: Vec<Size> = (1..=5).map(|k| Size::new(400 * k, 512)).collect();
        let stage = |name: &str| Stage { name: name.into(), options: sizes.clone(), fanout: 1 };
        let e = |a: &str, b: &str| (a.to_string(), b.to_string());
        let wf = Workflow::new(
            "wide",
            Slo { deadline_ms: 900.0, percentile: 0.9 },
            CostModel::default(),
            vec![stage("a"), stage("b"), stage("c")],
            &[e("a", "b"), e("a", "c")],
        )
        .unwrap();
        let mut p = Profile::new();
        for (i, f) in ["a", "b", "c"].iter().enumerate() {
            for s in &sizes {
                let base = (200.0 + 50.0 * i as f64) * 400.0 / f64::from(s.cpu_millis);
                p.add(f, *s, Samples::new((0..50).map(|j| base * (0.7 + 0.02 * j as f64)).collect())).unwrap();
            }
        }
        let data = crate::synth::data::Data::new(&wf, &p).unwrap();
        let models = data.models(300, 0.0, None).unwrap();
        assert!(models.blocks.iter().any(|b| b.options.len() > CHUNK));
        models
    }

    #[test]
    fn a_block_of_many_options_streamed_in_chunks_chooses_as_the_direct_dp() {
        let models = wide_block();
        let conv = Conv::new(models.b_max + 1);
        for lambda in [0.0, 0.3, 1e3] {
            let fast = on_threads(2, || backward(&models, &conv, lambda, None, Some(0.05)));
            let one = on_threads(1, || backward(&models, &conv, lambda, None, Some(0.05)));
            assert_eq!((&fast.policy, &fast.ranked), (&one.policy, &one.ranked), "lambda {lambda}");
            let (slow, values) = reference::backward(&models, lambda);
            for (i, row) in slow.iter().enumerate() {
                for (b, &s) in row.iter().enumerate() {
                    let v = fast.cost_from[i][b] + lambda * fast.miss_from[i][b];
                    let w = values[i][b];
                    assert!(
                        fast.policy[i][b] == s || (v - w).abs() <= 1e-9 * w.abs().max(1.0),
                        "block {i} budget {b}: {} ({v}) vs {s} ({w})",
                        fast.policy[i][b]
                    );
                }
            }
        }
    }

    #[test]
    fn a_fixed_policy_is_valued_as_the_forward_pass_values_it() {
        // Only the options the policy uses are convolved: the values must not change.
        let models = toy_models(300);
        let conv = Conv::new(301);
        let policy: Policy = models
            .blocks
            .iter()
            .map(|b| (0..=models.b_max).map(|x| ((x / 7) % (b.options.len() - 1)) as u32).collect())
            .collect();
        let pass = backward(&models, &conv, 0.0, Some(&policy), None);
        assert_eq!(pass.policy, policy);
        let e = forward(&models, &conv, &policy);
        let (c, m) = pass.start();
        assert!((e.cost - c).abs() < 1e-9 * c.max(1.0) && (e.miss - m).abs() < 1e-9, "{c} {m} vs {e:?}");
    }

    #[test]
    fn ranked_alternatives_are_the_options_within_tolerance_on_the_direct_values() {
        let models = toy_models(400);
        let conv = Conv::new(401);
        let len = models.b_max + 1;
        for (lambda, tol) in [(0.5, 0.1), (50.0, 0.02)] {
            let pass = backward(&models, &conv, lambda, None, Some(tol));
            let ranked = pass.ranked.as_ref().unwrap();
            let mut listed_somewhere = 0;
            for (i, blk) in models.blocks.iter().enumerate() {
                let c_miss = models.tail[i + 1];
                let zeros = vec![0.0; len];
                let cn = pass.cost_from.get(i + 1).unwrap_or(&zeros);
                let mn = pass.miss_from.get(i + 1).unwrap_or(&zeros);
                let dc: Vec<f64> = cn.iter().map(|c| c - c_miss).collect();
                let dm: Vec<f64> = mn.iter().map(|m| m - 1.0).collect();
                for (b, ranked_at) in ranked[i].iter().enumerate() {
                    // The direct value of option `o` at budget `b` (one dot product each).
                    let value = |o: usize| {
                        let (h, cost) = (&blk.options[o].hist, blk.options[o].cost);
                        let m = (1.0 + h.dot(b, &dm)).clamp(0.0, 1.0);
                        (cost + c_miss + h.dot(b, &dc) + lambda * m, m)
                    };
                    let chosen = pass.policy[i][b] as usize;
                    let (qb, mb) = value(chosen);
                    // A chain: one member per block, its options are the block's.
                    let alts = &ranked_at[0];
                    if mb >= 1.0 - EPS {
                        assert!(alts.is_empty(), "block {i} budget {b}: a hopeless state ranks nothing");
                        continue;
                    }
                    let (limit, slack) = (qb + tol * qb.abs(), 1e-8 * qb.abs().max(1.0));
                    for o in (0..blk.options.len()).filter(|&o| o != chosen) {
                        let (q, m) = value(o);
                        let listed = alts.contains(&(o as u32));
                        if q <= limit - slack && m <= mb + 1e-3 - 1e-9 {
                            assert!(listed, "block {i} budget {b}: option {o} ({q}) within {limit}, not listed");
                        }
                        if q > limit + slack || m > mb + 1e-3 + 1e-9 {
                            assert!(!listed, "block {i} budget {b}: option {o} ({q}, {m}) listed");
                        }
                    }
                    let qs: Vec<f64> = alts.iter().map(|&o| value(o as usize).0).collect();
                    assert!(qs.windows(2).all(|w| w[0] <= w[1] + slack), "best first: {qs:?}");
                    listed_somewhere += alts.len();
                }
            }
            assert!(listed_somewhere > 0, "the check saw some alternatives (lambda {lambda})");
        }
    }
}
