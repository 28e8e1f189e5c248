//! The block model: latency histograms of every option on the common time
//! grid `dt = deadline / buckets`, and every parallel block of the workflow
//! as one composite stage whose options are joint sizes.
//!
//! Histograms are built from samples, optionally smoothed: each sample
//! spreads its probability over nearby latencies with a log-normal kernel
//! whose width follows Silverman's rule on the log latencies of its
//! (stage, size, class), narrowed where the samples form several modes
//! (see [`bandwidth`]). A profile of a few dozen runs says little about
//! the latencies between and just beyond its samples; planning on the raw
//! samples lets the DP choose sizes that fit the observed maximum exactly,
//! which held-out requests then miss. Smoothing spends the miss allowance
//! on the uncertainty instead. It changes nothing for samples that agree.

use super::conv::Hist;
use crate::model::Workflow;

/// Bandwidths (log-space) are capped: beyond this a kernel says more about
/// the rule than about the samples.
const MAX_BANDWIDTH: f64 = 0.3;
/// The kernel is cut at this many bandwidths on each side (mass beyond < 6e-7).
const KERNEL_SPAN: f64 = 5.0;

/// Latencies of one (stage, option) on the grid.
#[derive(Debug, Clone)]
pub(crate) struct StageDist {
    /// P(latency in bin k) for k in 0..=b_max; the rest is past the deadline.
    pub bins: Vec<f64>,
    /// Expected cost of one run of the stage at this option (all fan-out instances).
    pub cost: f64,
}

/// The kernel bandwidth (log space) of one (stage, size, class)'s samples,
/// times `factor`: Silverman's rule of thumb, or a fraction of it (1/2,
/// 1/4, 1/8) where that predicts each sample from the others better
/// (leave-one-out likelihood). Silverman's rule is right for one bump and
/// far too wide for several: a function that is either fast or slow (a
/// cache hit or miss) would get each mode smeared over the gap between
/// them, and every plan would pay for latencies no run has.
pub(crate) fn bandwidth(samples: &[f64], factor: f64) -> f64 {
    let logs: Vec<f64> = samples.iter().filter(|&&x| x > 0.0).map(|x| x.ln()).collect();
    let n = logs.len();
    if factor <= 0.0 || n < 2 {
        return 0.0;
    }
    let mean = logs.iter().sum::<f64>() / n as f64;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let mut sorted = logs;
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| crate::stats::quantile_sorted(&sorted, p);
    let iqr = (q(0.75) - q(0.25)) / 1.34;
    let spread = if iqr > 0.0 { sd.min(iqr) } else { sd };
    if spread < 1e-9 {
        return 0.0;
    }
    let silverman = 0.9 * spread * (n as f64).powf(-0.2);
    let shrink = best_shrink(&sorted, silverman);
    (factor * shrink * silverman).min(MAX_BANDWIDTH)
}

/// Fractions of Silverman's bandwidth tried, widest first (ties keep the wider).
const SHRINKS: [f64; 4] = [1.0, 0.5, 0.25, 0.125];
/// Leave-one-out is computed on at most this many samples (evenly spaced in
/// rank): enough to tell one bump from several, cheap for any profile.
const LOO_SAMPLES: usize = 400;

/// The fraction of `h` whose Gaussian kernel gives the sorted log samples
/// the highest leave-one-out log-likelihood.
fn best_shrink(sorted: &[f64], h: f64) -> f64 {
    let step = sorted.len().div_ceil(LOO_SAMPLES).max(1);
    let xs: Vec<f64> = sorted.iter().step_by(step).copied().collect();
    let m = xs.len();
    if m < 3 {
        return 1.0;
    }
    let score = |h: f64| -> f64 {
        let mut total = 0.0;
        let mut lo = 0;
        for i in 0..m {
            // Neighbours within KERNEL_SPAN bandwidths (the rest adds < 6e-7 each).
            while xs[i] - xs[lo] > KERNEL_SPAN * h {
                lo += 1;
            }
            let mut d = 0.0;
            for (j, &x) in xs.iter().enumerate().skip(lo) {
                if x - xs[i] > KERNEL_SPAN * h {
                    break;
                }
                if j != i {
                    let z = (x - xs[i]) / h;
                    d += (-0.5 * z * z).exp();
                }
            }
            // A sample alone within the kernel's span: a floor, not minus infinity.
            total += (d / ((m - 1) as f64 * h)).max(1e-300).ln();
        }
        total
    };
    let mut best = (f64::NEG_INFINITY, 1.0);
    for s in SHRINKS {
        let v = score(s * h);
        if v > best.0 + 1e-9 * v.abs() {
            best = (v, s);
        }
    }
    best.1
}

/// Standard normal CDF.
fn phi(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Histogram of `samples` (ms) on the grid: bin `k` holds latencies in
/// `((k-1) dt, k dt]` (rounded up, so a plan that meets the deadline on the
/// histogram meets it on the samples), bins `0..=b_max`; mass past the
/// deadline is left out. `h` is the log-space kernel bandwidth (0: none).
pub(crate) fn histogram(samples: &[f64], dt: f64, b_max: usize, h: f64) -> Vec<f64> {
    let mut bins = vec![0.0; b_max + 1];
    let w = 1.0 / samples.len().max(1) as f64;
    let bin_of = |x: f64| {
        let v = x / dt - 1e-9;
        if v <= 0.0 {
            0
        } else if v >= (b_max + 1) as f64 {
            b_max + 1
        } else {
            v.ceil() as usize
        }
    };
    for &x in samples {
        if h <= 0.0 || x <= 0.0 {
            if let Some(b) = bins.get_mut(bin_of(x)) {
                *b += w;
            }
            continue;
        }
        let (lo, hi) = (x * (-KERNEL_SPAN * h).exp(), x * (KERNEL_SPAN * h).exp());
        let (first, last) = (bin_of(lo).max(1), bin_of(hi).min(b_max));
        if first > b_max {
            continue;
        }
        let lx = x.ln();
        let cdf_at = |k: usize| if k == 0 { 0.0 } else { phi(((k as f64 * dt).ln() - lx) / h) };
        let mut prev = cdf_at(first - 1);
        // Mass below the kernel's span belongs to its first bin.
        if first == 1 {
            prev = 0.0;
        }
        for (k, slot) in bins.iter_mut().enumerate().take(last + 1).skip(first) {
            let c = cdf_at(k);
            *slot += w * (c - prev);
            prev = c;
        }
    }
    bins
}

/// The distribution of the max of `n` independent draws (a fan-out of `n`).
pub(crate) fn max_of(bins: &[f64], n: u32) -> Vec<f64> {
    if n <= 1 {
        return bins.to_vec();
    }
    let mut out = Vec::with_capacity(bins.len());
    let (mut acc, mut prev) = (0.0f64, 0.0f64);
    for p in bins {
        acc += p;
        let c = acc.min(1.0).powi(n as i32);
        out.push((c - prev).max(0.0));
        prev = c;
    }
    out
}

/// The distribution of the max of independent latencies (a parallel block).
fn max_with(a: &[f64], b: &[f64]) -> Vec<f64> {
    let (mut ca, mut cb, mut prev) = (0.0f64, 0.0f64, 0.0f64);
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            ca += x;
            cb += y;
            let c = ca.min(1.0) * cb.min(1.0);
            let p = (c - prev).max(0.0);
            prev = c;
            p
        })
        .collect()
}

/// One joint option of a block: a size per member stage.
#[derive(Debug, Clone)]
pub(crate) struct JointOption {
    /// Latency of the block: max over members, each the max over its fan-out.
    pub hist: Hist,
    /// Expected cost: sum over members of fanout * rate * mean duration.
    pub cost: f64,
}

/// A parallel block (a single stage for chains).
#[derive(Debug, Clone)]
pub(crate) struct BlockModel {
    /// Stage indices (in `wf.stages()`) of the members.
    pub stages: Vec<usize>,
    /// Number of options of each member.
    pub radix: Vec<usize>,
    /// Mixed-radix place value of each member in a joint index (last member varies fastest).
    stride: Vec<usize>,
    pub options: Vec<JointOption>,
    /// The joint option a late run falls back to.
    pub fallback: usize,
    /// Budget bands with their own histograms (see `bands.rs`), by
    /// increasing `from`, the first covering every budget below the
    /// second's; empty: `options` hold at every budget.
    pub bands: Vec<Band>,
}

/// The options of a block as seen by runs that reach it with a budget in
/// `from..` (up to the next band's `from`; the first band from 0).
#[derive(Debug, Clone)]
pub(crate) struct Band {
    pub from: usize,
    pub options: Vec<JointOption>,
}

impl BlockModel {
    /// Option index of member `m` in joint option `joint`.
    pub fn digit(&self, joint: usize, m: usize) -> usize {
        (joint / self.stride[m]) % self.radix[m]
    }

    /// `joint` with member `m` switched to its option `x`.
    pub fn with_digit(&self, joint: usize, m: usize, x: usize) -> usize {
        joint - self.digit(joint, m) * self.stride[m] + x * self.stride[m]
    }

    /// The options a run reaching this block with budget `b` meets.
    pub fn options_at(&self, b: usize) -> &[JointOption] {
        if self.bands.is_empty() {
            return &self.options;
        }
        let i = self.bands.iter().rposition(|band| band.from <= b).unwrap_or(0);
        &self.bands[i].options
    }

    /// The budgets `(from, to)` (to exclusive, up to `len`) of every band; one span without bands.
    pub fn spans(&self, len: usize) -> Vec<(usize, usize, &[JointOption])> {
        if self.bands.is_empty() {
            return vec![(0, len, &self.options)];
        }
        let mut out = Vec::with_capacity(self.bands.len());
        for (i, band) in self.bands.iter().enumerate() {
            let from = if i == 0 { 0 } else { band.from };
            let to = self.bands.get(i + 1).map_or(len, |n| n.from.min(len));
            if from < to {
                out.push((from, to, band.options.as_slice()));
            }
        }
        out
    }

    /// Joint index of per-member option indices.
    pub fn compose(&self, digits: &[usize]) -> usize {
        digits.iter().zip(&self.stride).map(|(d, s)| d * s).sum()
    }
}

/// All blocks of one workflow on one grid, for one input class.
#[derive(Debug, Clone)]
pub(crate) struct Models {
    pub blocks: Vec<BlockModel>,
    /// The full budget in buckets (= the number of buckets).
    pub b_max: usize,
    pub dt: f64,
    /// `tail[i]`: cost of running blocks `i..` at their fallback options,
    /// which is what the adapter does once the deadline is already missed.
    pub tail: Vec<f64>,
}

impl Models {
    /// Build from the per-(stage, option) distributions `dists[stage][option]`.
    pub fn build(wf: &Workflow, dists: &[Vec<StageDist>], b_max: usize, dt: f64) -> Models {
        let mut blocks = Vec::with_capacity(wf.blocks().len());
        for block in wf.blocks() {
            let (radix, stride) = wf.joint_layout(block);
            // The workflow caps joint options at MAX_JOINT_OPTIONS, so this product is small.
            let count: usize = radix.iter().product();
            let mut options = Vec::with_capacity(count);
            for joint in 0..count {
                let mut bins: Option<Vec<f64>> = None;
                let mut cost = 0.0;
                for (m, &si) in block.iter().enumerate() {
                    let d = &dists[si][(joint / stride[m]) % radix[m]];
                    cost += d.cost;
                    bins = Some(match bins {
                        None => d.bins.clone(),
                        Some(acc) => max_with(&acc, &d.bins),
                    });
                }
                let hist = Hist::from_bins(&bins.unwrap_or_default());
                options.push(JointOption { hist, cost });
            }
            // The options of a block are convolved with one input: one transform length.
            super::conv::share_fft_len(options.iter_mut().map(|o| &mut o.hist), b_max + 1);
            blocks.push(BlockModel { stages: block.clone(), radix, stride, options, fallback: 0, bands: Vec::new() });
        }
        let mut m = Models { tail: vec![0.0; blocks.len() + 1], blocks, b_max, dt };
        m.set_fallback(&vec![0; wf.stages().len()]);
        m
    }

    /// Set every stage's late fallback option (`fallback[stage]`) and the tail costs.
    pub fn set_fallback(&mut self, fallback: &[usize]) {
        for b in &mut self.blocks {
            let digits: Vec<usize> = b.stages.iter().map(|&si| fallback.get(si).copied().unwrap_or(0)).collect();
            b.fallback = b.compose(&digits);
        }
        let n = self.blocks.len();
        self.tail = vec![0.0; n + 1];
        for i in (0..n).rev() {
            self.tail[i] = self.tail[i + 1] + self.blocks[i].options[self.blocks[i].fallback].cost;
        }
    }

    /// The largest cost of a run: the scale of the Lagrange multiplier.
    pub fn cost_scale(&self) -> f64 {
        self.blocks.iter().map(|b| b.options.iter().map(|o| o.cost).fold(0.0, f64::max)).sum::<f64>().max(1e-12)
    }
}

/// A policy: the joint option of every block at every budget `0..=b_max`.
pub(crate) type Policy = Vec<Vec<u32>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_up_into_bins() {
        let h = histogram(&[0.0, 10.0, 10.5, 29.0], 10.0, 5, 0.0);
        assert_eq!(h, vec![0.25, 0.25, 0.25, 0.25, 0.0, 0.0]);
        // Past the deadline: left out.
        assert_eq!(histogram(&[100.0], 10.0, 5, 0.0).iter().sum::<f64>(), 0.0);
    }

    #[test]
    fn smoothing_keeps_mass_and_mean_spreads_a_little() {
        let s: Vec<f64> = (0..50).map(|i| 100.0 + f64::from(i)).collect();
        let h = bandwidth(&s, 1.0);
        assert!(h > 0.01 && h < 0.2, "{h}");
        let raw = histogram(&s, 1.0, 400, 0.0);
        let smooth = histogram(&s, 1.0, 400, h);
        assert!((smooth.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        let mean = |b: &[f64]| b.iter().enumerate().map(|(k, p)| k as f64 * p).sum::<f64>();
        assert!((mean(&raw) - mean(&smooth)).abs() < 2.0, "{} {}", mean(&raw), mean(&smooth));
        // Some mass beyond the largest sample, none far beyond.
        assert!(smooth[150..].iter().sum::<f64>() > 0.0);
        assert!(smooth[300..].iter().sum::<f64>() < 1e-9);
        // Identical samples: no spread at all.
        assert_eq!(bandwidth(&[5.0; 20], 1.0), 0.0);
    }

    #[test]
    fn two_tight_modes_get_a_narrow_kernel_one_bump_gets_silverman() {
        // Fast or slow (200 or 600 ms, each within 10 %): Silverman's rule on
        // the whole set would smear both modes over the gap between them.
        let modes: Vec<f64> =
            (0..400).map(|i| if i % 2 == 0 { 200.0 } else { 600.0 } * (1.0 + 0.1 * (i as f64 / 400.0))).collect();
        let logs: Vec<f64> = modes.iter().map(|x: &f64| x.ln()).collect();
        let m = logs.iter().sum::<f64>() / 400.0;
        let sd = (logs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 399.0).sqrt();
        let h = bandwidth(&modes, 1.0);
        assert!(h <= 0.25 * 0.9 * sd * 400f64.powf(-0.2) + 1e-12, "{h}");
        // One smooth bump (log-normal quantiles): the full rule of thumb.
        let bump: Vec<f64> =
            (1..400).map(|i| (crate::stats::normal_quantile(i as f64 / 400.0) * 0.3).exp() * 100.0).collect();
        let spread = 0.3 * 399f64.powf(-0.2) * 0.9;
        assert!((bandwidth(&bump, 1.0) / spread - 1.0).abs() < 0.1, "{} {spread}", bandwidth(&bump, 1.0));
        // And `factor` scales whatever was chosen.
        assert!((bandwidth(&bump, 0.5) / bandwidth(&bump, 1.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn fanout_max_shifts_mass_right() {
        let d = histogram(&[10.0, 20.0], 10.0, 4, 0.0);
        let m = max_of(&d, 2);
        // P(max <= 10) = 0.25, P(max = 20) = 0.75
        assert!((m[1] - 0.25).abs() < 1e-12 && (m[2] - 0.75).abs() < 1e-12);
        let j = max_with(&d, &histogram(&[30.0], 10.0, 4, 0.0));
        assert!((j[3] - 1.0).abs() < 1e-12);
    }
}
