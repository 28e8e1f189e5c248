//! Truncated convolutions on the synthesis grid, direct or by FFT.
//!
//! Every DP pass and every forward evaluation is, per option, the same
//! operation: `out[b] = sum_k P(k) x[b - k]` for budgets `b` in `0..len`
//! (the expectation of `x` at the budget left after a latency of `k`
//! buckets). Done directly it costs `len x support`, and the support of a
//! histogram grows with the number of buckets, so a pass is quadratic in
//! the buckets. By FFT it costs `O(n log n)` whatever the support, with
//! `n >= 2 len - 1` so that the circular convolution never wraps into the
//! outputs we keep. Short histograms stay direct: below [`DIRECT_MAX`] bins
//! the direct loop is faster and exact.
//!
//! `n` is the smallest even 5-smooth number (`2^a 3^b 5^c`) that is large
//! enough, not the next power of two: rustfft is about as fast per point on
//! these sizes, and a power of two would waste up to half of every
//! transform (and make the cost jump at every power of two of the buckets).
//! The transforms take their scratch space from per-thread buffers, so a
//! convolution allocates only its result.
//!
//! Accuracy: an FFT convolution's absolute error is about `1e-16 n` times
//! the largest input value, i.e. below 1e-12 of the values it sums. The
//! synthesizer compares values with a relative slack of 1e-9 (see `dp.rs`),
//! so the two methods choose the same sizes except between options whose
//! values differ by less than that (a test checks this).

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::cell::RefCell;
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

/// The smallest even 5-smooth number (`2^a 3^b 5^c`, `a >= 1`) at least `min`.
pub(crate) fn fft_len(min: usize) -> usize {
    let min = min.max(16);
    let mut best = min.next_power_of_two();
    let mut p5 = 2;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            let mut x = p35;
            while x < min {
                x *= 2;
            }
            best = best.min(x);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

/// Per-thread buffers of the transforms: (real, complex, scratch).
type Buffers = (Vec<f64>, Vec<Complex<f64>>, Vec<Complex<f64>>);

thread_local! {
    static BUFFERS: RefCell<Buffers> = const { RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

impl Conv {
    pub fn new(len: usize) -> Conv {
        let n = fft_len(2 * len - 1);
        let mut planner = RealFftPlanner::<f64>::new();
        Conv { len, n, r2c: planner.plan_fft_forward(n), c2r: planner.plan_fft_inverse(n) }
    }

    /// Run `f` on this thread's buffers, sized for this grid.
    fn with_buffers<R>(&self, f: impl FnOnce(&mut [f64], &mut [Complex<f64>], &mut [Complex<f64>]) -> R) -> R {
        BUFFERS.with(|cell| {
            let mut guard = cell.borrow_mut();
            let (re, co, scratch) = &mut *guard;
            let scratch_len = self.r2c.get_scratch_len().max(self.c2r.get_scratch_len());
            re.resize(self.n, 0.0);
            co.resize(self.n / 2 + 1, Complex::default());
            scratch.resize(scratch_len, Complex::default());
            f(&mut re[..self.n], &mut co[..self.n / 2 + 1], &mut scratch[..scratch_len])
        })
    }

    fn forward(&self, x: &[f64], shift: usize) -> Vec<Complex<f64>> {
        let mut out = vec![Complex::default(); self.n / 2 + 1];
        self.with_buffers(|buf, _, scratch| {
            buf.fill(0.0);
            let m = x.len().min(self.n.saturating_sub(shift));
            buf[shift..shift + m].copy_from_slice(&x[..m]);
            // Buffers are sized by the plan, so this cannot fail.
            let _ = self.r2c.process_with_scratch(buf, &mut out, scratch);
        });
        out
    }

    /// The first `len` outputs of the inverse transform of `spectrum(k)`
    /// (filled in for every bin `k`), scaled.
    fn inverse(&self, spectrum: impl Fn(usize) -> Complex<f64>) -> Vec<f64> {
        self.with_buffers(|buf, s, scratch| {
            for (k, v) in s.iter_mut().enumerate() {
                *v = spectrum(k);
            }
            // The imaginary parts of the DC and Nyquist bins are zero up to
            // rounding; realfft refuses them otherwise.
            if let Some(c) = s.first_mut() {
                c.im = 0.0;
            }
            if let Some(c) = s.last_mut() {
                c.im = 0.0;
            }
            let _ = self.c2r.process_with_scratch(s, buf, scratch);
            let scale = 1.0 / self.n as f64;
            buf[..self.len].iter().map(|v| v * scale).collect()
        })
    }

    /// True when `h` is convolved by FFT (else directly).
    pub fn is_long(&self, h: &Hist) -> bool {
        h.p.len() >= DIRECT_MAX && h.off < self.len
    }

    fn kernel<'a>(&self, h: &'a Hist) -> &'a [Complex<f64>] {
        // Bins past the last budget never reach an output; left in, they would wrap around.
        let keep = h.p.len().min(self.len.saturating_sub(h.off));
        h.spectrum.get_or_init(|| self.forward(&h.p[..keep], h.off))
    }

    /// `x` (`len` values) ready for [`Conv::apply`]; its spectrum is computed on first use.
    pub fn input(&self, x: Vec<f64>) -> Input {
        Input { x, spectrum: OnceLock::new() }
    }

    /// Compute the spectrum of `x` now (e.g. in parallel with another's).
    pub fn prepare(&self, x: &Input) {
        x.spectrum.get_or_init(|| self.forward(&x.x, 0));
    }

    /// `out[b] = sum_k h(k) x[b - k]` for `b` in `0..len`.
    pub fn apply(&self, h: &Hist, x: &Input) -> Vec<f64> {
        if !self.is_long(h) {
            let mut out = vec![0.0; self.len];
            h.direct(&x.x, &mut out);
            return out;
        }
        let xs = x.spectrum.get_or_init(|| self.forward(&x.x, 0));
        let k = self.kernel(h);
        self.inverse(|j| k[j] * xs[j])
    }

    /// `sum_o (h_o * x_o)` for pairs of histograms and inputs: one inverse
    /// FFT for all the long histograms (the forward evaluation of a policy,
    /// where each option carries the share of runs that chose it). The
    /// transforms of the pairs run in parallel; their sum is taken in order,
    /// so the result does not depend on the number of threads.
    pub fn apply_sum(&self, pairs: &[(&Hist, Vec<f64>)]) -> Vec<f64> {
        use rayon::prelude::*;
        let mut out = vec![0.0; self.len];
        let live = |x: &[f64]| x.iter().any(|&v| v != 0.0);
        for (h, x) in pairs.iter().filter(|(h, x)| !self.is_long(h) && live(x)) {
            h.direct(x, &mut out);
        }
        let long: Vec<Vec<Complex<f64>>> = pairs
            .par_iter()
            .filter(|(h, x)| self.is_long(h) && live(x))
            .map(|(h, x)| {
                let mut xs = self.forward(x, 0);
                xs.iter_mut().zip(self.kernel(h)).for_each(|(a, k)| *a *= k);
                xs
            })
            .collect();
        if let Some((first, rest)) = long.split_first() {
            let mut acc = first.clone();
            for s in rest {
                acc.iter_mut().zip(s).for_each(|(a, b)| *a += b);
            }
            for (o, v) in out.iter_mut().zip(self.inverse(|j| acc[j])) {
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
                let got = c.apply(&h, &c.input(x.clone()));
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
