//! Truncated convolutions on the synthesis grid, direct or by FFT.
//!
//! Every DP pass and every forward evaluation is, per option, the same
//! operation: `out[b] = sum_k P(k) x[b - k]` for budgets `b` in `0..len`
//! (the expectation of `x` at the budget left after a latency of `k`
//! buckets). Done directly it costs `len x support`, and the support of a
//! histogram grows with the number of buckets, so a pass is quadratic in
//! the buckets. By FFT it costs `O(n log n)` whatever the support, with
//! `n >= 2 len` so that the circular convolution never wraps into the
//! outputs we keep. Short histograms stay direct: below [`DIRECT_MAX`] bins
//! the direct loop is faster and exact.
//!
//! Accuracy: an FFT convolution's absolute error is about `1e-16 n` times
//! the largest input value, i.e. below 1e-12 of the values it sums. The
//! synthesizer compares values with a relative slack of 1e-9 (see `dp.rs`),
//! so the two methods choose the same sizes except between options whose
//! values differ by less than that (a test checks this).

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::{Arc, OnceLock};

/// Histograms with fewer bins than this are convolved directly.
pub(crate) const DIRECT_MAX: usize = 48;

/// A latency histogram on the grid, truncated at the full budget.
///
/// `p[j]` is P(latency = `off + j` buckets) for latencies up to `b_max`
/// buckets; the mass beyond is implicit (`1 - sum p`) and is always a miss,
/// so nothing past the deadline needs to be stored or convolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hist {
    pub off: usize,
    pub p: Vec<f64>,
    /// The FFT of the histogram placed at its offset, computed on first use.
    spectrum: OnceLock<Vec<Complex<f64>>>,
}

impl PartialEq for Hist {
    fn eq(&self, other: &Self) -> bool {
        self.off == other.off && self.p == other.p
    }
}

impl Hist {
    pub fn new(off: usize, p: Vec<f64>) -> Hist {
        Hist { off, p, spectrum: OnceLock::new() }
    }

    /// Build from probabilities per bin `0..` (trailing and leading zeros dropped).
    pub fn from_bins(probs: &[f64]) -> Hist {
        match probs.iter().position(|&x| x > 0.0) {
            None => Hist::default(),
            Some(first) => {
                let last = probs.iter().rposition(|&x| x > 0.0).unwrap_or(first);
                Hist::new(first, probs[first..=last].to_vec())
            }
        }
    }

    /// `sum over k <= b of P(k) * vals[b - k]`: one output of the convolution.
    #[inline]
    pub fn dot(&self, b: usize, vals: &[f64]) -> f64 {
        if b < self.off {
            return 0.0;
        }
        let top = b - self.off;
        let n = self.p.len().min(top + 1);
        self.p[..n].iter().enumerate().map(|(j, p)| p * vals[top - j]).sum()
    }

    /// Smallest latency `k` (buckets) with P(latency <= k) >= q, if within the budget.
    pub fn quantile(&self, q: f64) -> Option<usize> {
        let mut acc = 0.0;
        for (j, p) in self.p.iter().enumerate() {
            acc += p;
            if acc >= q - 1e-12 {
                return Some(self.off + j);
            }
        }
        None
    }

    fn direct(&self, x: &[f64], out: &mut [f64]) {
        // Loop over the histogram outside, budgets inside: contiguous, vectorises.
        let len = out.len();
        for (j, &p) in self.p.iter().enumerate() {
            let k = self.off + j;
            if k >= len {
                break;
            }
            for (o, &v) in out[k..].iter_mut().zip(&x[..len - k]) {
                *o += p * v;
            }
        }
    }
}

/// FFT plans for one grid (`len` budgets).
pub(crate) struct Conv {
    len: usize,
    n: usize,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
}

impl Conv {
    pub fn new(len: usize) -> Conv {
        let n = (2 * len).next_power_of_two().max(16);
        let mut planner = RealFftPlanner::<f64>::new();
        Conv { len, n, r2c: planner.plan_fft_forward(n), c2r: planner.plan_fft_inverse(n) }
    }

    fn forward(&self, x: &[f64], shift: usize) -> Vec<Complex<f64>> {
        let mut buf = vec![0.0; self.n];
        let m = x.len().min(self.n.saturating_sub(shift));
        buf[shift..shift + m].copy_from_slice(&x[..m]);
        let mut out = self.r2c.make_output_vec();
        // Buffers are sized by the plan, so this cannot fail.
        let _ = self.r2c.process(&mut buf, &mut out);
        out
    }

    fn inverse(&self, mut s: Vec<Complex<f64>>) -> Vec<f64> {
        let mut out = self.c2r.make_output_vec();
        // The imaginary parts of the DC and Nyquist bins are zero up to
        // rounding; realfft refuses them otherwise.
        if let Some(c) = s.first_mut() {
            c.im = 0.0;
        }
        if let Some(c) = s.last_mut() {
            c.im = 0.0;
        }
        let _ = self.c2r.process(&mut s, &mut out);
        let scale = 1.0 / self.n as f64;
        out.truncate(self.len);
        out.iter_mut().for_each(|v| *v *= scale);
        out
    }

    fn kernel<'a>(&self, h: &'a Hist) -> &'a [Complex<f64>] {
        // Bins past the last budget never reach an output; left in, they would wrap around.
        let keep = h.p.len().min(self.len.saturating_sub(h.off));
        h.spectrum.get_or_init(|| self.forward(&h.p[..keep], h.off))
    }

    /// The spectrum of `x` (`len` values), for [`Conv::apply`].
    pub fn input(&self, x: &[f64]) -> Input {
        Input { x: x.to_vec(), spectrum: OnceLock::new() }
    }

    /// `out[b] = sum_k h(k) x[b - k]` for `b` in `0..len`.
    pub fn apply(&self, h: &Hist, x: &Input) -> Vec<f64> {
        if h.p.len() < DIRECT_MAX || h.off >= self.len {
            let mut out = vec![0.0; self.len];
            h.direct(&x.x, &mut out);
            return out;
        }
        let xs = x.spectrum.get_or_init(|| self.forward(&x.x, 0));
        let prod: Vec<Complex<f64>> = self.kernel(h).iter().zip(xs).map(|(a, b)| a * b).collect();
        self.inverse(prod)
    }

    /// `sum_o (h_o * x_o)` for pairs of histograms and inputs: one inverse
    /// FFT for all the long histograms (the forward evaluation of a policy,
    /// where each option carries the share of runs that chose it).
    pub fn apply_sum(&self, pairs: &[(&Hist, Vec<f64>)]) -> Vec<f64> {
        let mut out = vec![0.0; self.len];
        let mut acc: Option<Vec<Complex<f64>>> = None;
        for (h, x) in pairs {
            if x.iter().all(|&v| v == 0.0) {
                continue;
            }
            if h.p.len() < DIRECT_MAX || h.off >= self.len {
                h.direct(x, &mut out);
                continue;
            }
            let xs = self.forward(x, 0);
            let k = self.kernel(h);
            match acc.as_mut() {
                None => acc = Some(k.iter().zip(&xs).map(|(a, b)| a * b).collect()),
                Some(a) => a.iter_mut().zip(k.iter().zip(&xs)).for_each(|(s, (a, b))| *s += a * b),
            }
        }
        if let Some(a) = acc {
            for (o, v) in out.iter_mut().zip(self.inverse(a)) {
                *o += v;
            }
        }
        out
    }
}

/// An input array with its spectrum computed on first use (shared by every option).
pub(crate) struct Input {
    x: Vec<f64>,
    spectrum: OnceLock<Vec<Complex<f64>>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn naive(h: &Hist, x: &[f64]) -> Vec<f64> {
        (0..x.len()).map(|b| h.dot(b, x)).collect()
    }

    #[test]
    fn fft_and_direct_agree_with_the_definition() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for &len in &[17usize, 401, 1001] {
            let c = Conv::new(len);
            for &(off, support) in &[(0usize, 3usize), (5, 40), (0, 200), (100, 700), (len - 3, 20)] {
                let mut p: Vec<f64> = (0..support).map(|_| rng.gen::<f64>()).collect();
                let s: f64 = p.iter().sum();
                p.iter_mut().for_each(|v| *v /= s * 1.1);
                let h = Hist::new(off, p);
                let x: Vec<f64> = (0..len).map(|_| rng.gen::<f64>() * 100.0 - 50.0).collect();
                let want = naive(&h, &x);
                let got = c.apply(&h, &c.input(&x));
                for (a, b) in want.iter().zip(&got) {
                    assert!((a - b).abs() < 1e-10, "len {len} off {off} support {support}: {a} vs {b}");
                }
                let sum = c.apply_sum(&[(&h, x.clone()), (&Hist::new(1, vec![0.5]), x.clone())]);
                for (b, v) in sum.iter().enumerate() {
                    let w = want[b] + if b >= 1 { 0.5 * x[b - 1] } else { 0.0 };
                    assert!((v - w).abs() < 1e-10, "apply_sum at {b}: {v} vs {w}");
                }
            }
        }
    }
}
