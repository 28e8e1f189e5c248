//! Budget bands: a run that was slow so far is slow ahead.
//!
//! The DP models each block's latency as independent of the blocks before
//! it (within an input class). Stages of one request are rarely
//! independent: an input trait nobody declared, a slow machine or a cold
//! cache makes every stage of the run slow together. Under independence
//! the DP believes a slow start is followed by average stages, so it spends
//! too little on runs that started slow and too much on runs that started
//! fast; the walk of the keyed requests then holds it to the target with a
//! larger multiplier, which spends everywhere (on a workload whose stages
//! share a hidden driver, the model said 0.6 % misses where the requests
//! showed 2 %, and the plan over-achieved by half its allowance).
//!
//! The rules read only the remaining budget, and that is enough to know
//! more: under a given policy the budget a run reaches a block with says
//! how slow it has been. So, with a keyed profile, every block after the
//! first gets its own histograms per budget band: the requests are walked
//! through the level's plan, cut into [`BANDS`] bands by the budget they
//! reach the block with (quantiles), and each band's histograms are those
//! requests' own latencies at every option, shrunk toward the class's
//! histograms by `n / (n + PRIOR_RUNS)`. The level is then planned
//! again on the banded models (the rules are still budget -> sizes: the
//! adapter is unchanged). The bands come from the plan before, so the
//! banded plan is a candidate next to it, not a replacement: it is kept
//! only when it meets the target on the same yardstick and its expected
//! cost, with the charge cross-fitting finds for banded plans made on the
//! parts, is `min_gain` below the plain plan's (see `candidates.rs`).
//!
//! Only where the profile can carry it: keyed, a class with at least `per_band`
//! requests per band (the caller asks for `samples_needed(p)`, at least
//! [`MIN_PER_BAND`]: 304 requests per class at p95), and blocks of at most
//! [`MAX_BANDED_OPTIONS`] joint options (each band multiplies a block's
//! convolutions). With 20 requests per band instead, classes of a few dozen
//! requests were banded too, the banded levels gave the choice among
//! candidates more ways to fit the profile's luck, and on 20 random
//! workloads drawn afresh Janus missed the SLO in 4 held-out splits of 240
//! against 2 without bands; with `samples_needed(p)` per band, 2 and 2.
//!
//! The bands stand in for how slow a run has been, but the DP takes them as
//! given: it believes a faster size upstream moves a run into a faster band
//! downstream, when the run is as slow as it was. That is why the banded
//! plan is only a candidate, judged on the requests themselves.

use super::conv::{share_fft_len, Hist};
use super::grid::{Band, JointOption, Policy};
use super::lagrange::{Level, Reference};

/// Budget bands per block.
pub(crate) const BANDS: usize = 4;
/// Requests a class needs per band (on average) to be banded, at the least.
pub(crate) const MIN_PER_BAND: usize = 20;
/// A band's histograms count as this many requests of the class's own.
const PRIOR_RUNS: f64 = 10.0;
/// Larger blocks (joint options of parallel stages) stay unbanded.
pub(crate) const MAX_BANDED_OPTIONS: usize = 64;

/// `level` with the blocks after the first banded by the budget its keyed
/// requests reach them with under `policies` (one per class); None when
/// no block of any class could be banded.
pub(crate) fn banded(level: &Level, policies: &[&Policy], reference: &Reference, per_band: usize) -> Option<Level> {
    let (emp, ref_class) = reference.empirical.as_ref()?;
    let mut models = level.models.clone();
    let mut any = false;
    for (k, m) in models.iter_mut().enumerate() {
        let runs: Vec<usize> = (0..emp.runs.len()).filter(|&r| level.of_ref.get(ref_class[r]) == Some(&k)).collect();
        if runs.len() < BANDS * per_band {
            continue;
        }
        let plain = &level.models[k];
        let reached: Vec<Vec<Option<usize>>> = runs.iter().map(|&r| emp.reached(r, plain, policies[k])).collect();
        let len = m.b_max + 1;
        for i in 1..m.blocks.len() {
            if m.blocks[i].options.len() > MAX_BANDED_OPTIONS {
                continue;
            }
            let mut at: Vec<(usize, usize)> =
                reached.iter().zip(&runs).filter_map(|(x, &r)| x[i].map(|b| (b, r))).collect();
            if at.len() < BANDS * per_band {
                continue;
            }
            at.sort_unstable();
            // Band starts: 0, then the budgets at the quantiles (distinct, increasing).
            let mut starts = vec![0usize];
            for q in 1..BANDS {
                let b = at[q * at.len() / BANDS].0;
                if b > *starts.last().unwrap_or(&0) {
                    starts.push(b);
                }
            }
            if starts.len() < 2 {
                continue;
            }
            let blk = &m.blocks[i];
            let bands: Vec<Band> = starts
                .iter()
                .enumerate()
                .map(|(l, &from)| {
                    // `at` is sorted by budget: a band's runs are one slice of it.
                    let to = starts.get(l + 1).copied().unwrap_or(usize::MAX);
                    let band = &at[at.partition_point(|x| x.0 < from)..at.partition_point(|x| x.0 < to)];
                    let rows: Vec<usize> = band.iter().map(|&(_, r)| r).collect();
                    let w = rows.len() as f64 / (rows.len() as f64 + PRIOR_RUNS);
                    let options = (0..blk.options.len())
                        .map(|o| {
                            let all = &blk.options[o];
                            let mut bins = vec![0.0; len];
                            for (j, p) in all.hist.p.iter().enumerate() {
                                if let Some(x) = bins.get_mut(all.hist.off + j) {
                                    *x += (1.0 - w) * p;
                                }
                            }
                            for &r in &rows {
                                let k = emp.block_bins(r, plain, i, o) as usize;
                                if let Some(x) = bins.get_mut(k) {
                                    *x += w / rows.len() as f64;
                                }
                            }
                            // Costs stay the class's: bands steer where to spend, not what a size
                            // costs (per-band costs were tried and planned dearer on the profile).
                            JointOption { hist: Hist::from_bins(&bins), cost: all.cost }
                        })
                        .collect();
                    Band { from, options }
                })
                .collect();
            let blk = &mut m.blocks[i];
            blk.bands = bands;
            share_fft_len(blk.bands.iter_mut().flat_map(|b| b.options.iter_mut()).map(|o| &mut o.hist), len);
            any = true;
        }
    }
    any.then(|| Level {
        models,
        weights: level.weights.clone(),
        of_ref: level.of_ref.clone(),
        is_reference: false,
        own_yardstick: true,
    })
}

#[cfg(test)]
mod tests {
    use super::super::conv::{share_fft_len, Conv, Hist};
    use super::super::dp;
    use super::super::evaluate::forward;
    use super::super::grid::{Band, Models};
    use crate::synth::tests::toy_models;

    /// Toy models whose blocks after the first are slower (by `shift`
    /// buckets) for runs reaching them with less than 4/5 of the budget.
    fn banded_toy(b_max: usize, shift: usize) -> Models {
        let mut m = toy_models(b_max);
        for blk in m.blocks.iter_mut().skip(1) {
            let slow = blk
                .options
                .iter()
                .map(|o| {
                    let mut x = o.clone();
                    x.hist = Hist::new(o.hist.off + shift, o.hist.p.clone());
                    x
                })
                .collect();
            blk.bands =
                vec![Band { from: 0, options: slow }, Band { from: b_max * 4 / 5, options: blk.options.clone() }];
            share_fft_len(blk.bands.iter_mut().flat_map(|b| b.options.iter_mut()).map(|o| &mut o.hist), b_max + 1);
        }
        m
    }

    /// With bands, the convolution DP still chooses as the direct DP does
    /// (up to near-ties) and its values are what a forward pass of its
    /// policy gives: both read each band's histograms at its budgets.
    #[test]
    fn banded_dp_matches_the_direct_dp_and_the_forward_pass() {
        for b_max in [120, 900] {
            let models = banded_toy(b_max, b_max / 10);
            let conv = Conv::new(b_max + 1);
            for lambda in [0.0, 0.05, 0.5, 5.0, 1e4] {
                let fast = dp::backward(&models, &conv, lambda, None, None);
                let (slow, values) = dp::reference::backward(&models, lambda);
                for i in 0..models.blocks.len() {
                    for b in 0..=b_max {
                        if fast.policy[i][b] != slow[i][b] {
                            let v = fast.cost_from[i][b] + lambda * fast.miss_from[i][b];
                            let w = values[i][b];
                            assert!((v - w).abs() <= 1e-9 * w.abs().max(1.0), "b_max {b_max} block {i} budget {b}");
                        }
                    }
                }
                let e = forward(&models, &conv, &fast.policy);
                let (c, m) = fast.start();
                assert!((e.cost - c).abs() < 1e-9 * c.max(1.0) && (e.miss - m).abs() < 1e-9, "lambda {lambda}");
            }
        }
    }

    /// Runs reaching a block late are slower there: the plain plan misses
    /// more than it believes, and the plan made on the bands does better
    /// on them (cost + lambda * miss, evaluated on the bands).
    #[test]
    fn bands_change_what_the_plan_expects_of_slow_starts() {
        let b_max = 300;
        let (plain, banded) = (toy_models(b_max), banded_toy(b_max, 40));
        let conv = Conv::new(b_max + 1);
        let lambda = 5.0;
        let p = dp::backward(&plain, &conv, lambda, None, None);
        let on_plain = forward(&plain, &conv, &p.policy);
        let on_banded = forward(&banded, &conv, &p.policy);
        assert!(on_banded.miss > on_plain.miss + 0.01, "{} vs {}", on_banded.miss, on_plain.miss);
        let q = dp::backward(&banded, &conv, lambda, None, None);
        assert_ne!(q.policy, p.policy);
        let e = forward(&banded, &conv, &q.policy);
        let value = |c: f64, m: f64| c + lambda * m;
        assert!(
            value(e.cost, e.miss) < value(on_banded.cost, on_banded.miss) - 1e-6,
            "banded plan {} {} vs plain plan {} {}",
            e.cost,
            e.miss,
            on_banded.cost,
            on_banded.miss
        );
    }
}
