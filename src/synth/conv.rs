//! Truncated convolutions on the synthesis grid, direct or by FFT.
//!
//! Every DP pass and every forward evaluation is, per option, the same
//! operation: `out[b] = sum_k P(k) x[b - k]` for budgets `b` in `0..len`
//! (the expectation of `x` at the budget left after a latency of `k`
//! buckets). Done directly it costs `len x support`, and the support of a
//! histogram grows with the number of buckets, so a pass is quadratic in
//! the buckets. By FFT it costs `O(n log n)` whatever the support. Short
//! histograms stay direct: below [`DIRECT_MAX`] bins the direct loop is
//! faster and exact.
//!
//! Transform length: the histogram is transformed without its offset (the
//! output is shifted instead), so `n >= len + support - 1` keeps the
//! circular convolution from wrapping into the outputs we keep; the options
//! of one block share the largest such `n` (their input is transformed
//! once). `n` is the smallest even 5-smooth number (`2^a 3^b 5^c`) that is
//! large enough, not the next power of two: rustfft is about as fast per
//! point on these sizes, and a power of two would waste up to half of
//! every transform (and make the cost jump at every power of two of the
//! buckets). The transforms take their scratch space from per-thread
//! buffers, so a convolution allocates only its result.
//!
//! Accuracy: an FFT convolution's absolute error is about `1e-16 n` times
//! the largest input value, i.e. below 1e-12 of the values it sums. The
//! synthesizer compares values with a relative slack of 1e-9 (see `dp.rs`),
//! so the two methods choose the same sizes except between options whose
//! values differ by less than that (a test checks this).

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock};

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
    /// The transform length shared with the other options of its block (0: its own).
    fft_len: usize,
    /// The FFT of the histogram (without its offset) and its length, computed on first use.
    spectrum: OnceLock<(usize, Vec<Complex<f64>>)>,
}

impl PartialEq for Hist {
    fn eq(&self, other: &Self) -> bool {
        self.off == other.off && self.p == other.p
    }
}

impl Hist {
    pub fn new(off: usize, p: Vec<f64>) -> Hist {
        Hist { off, p, fft_len: 0, spectrum: OnceLock::new() }
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

/// FFT plans for one grid (`len` budgets), made on first use of each length.
pub(crate) struct Conv {
    len: usize,
    planner: Mutex<RealFftPlanner<f64>>,
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

/// Give the histograms of one block (the options convolved with one input)
/// one transform length for a grid of `len` budgets.
pub(crate) fn share_fft_len<'a>(hists: impl Iterator<Item = &'a mut Hist>, len: usize) {
    let hists: Vec<&mut Hist> = hists.collect();
    let keep = hists.iter().filter(|h| h.p.len() >= DIRECT_MAX && h.off < len).map(|h| h.keep(len)).max();
    if let Some(keep) = keep {
        let n = fft_len(len + keep - 1);
        for h in hists {
            h.fft_len = n;
        }
    }
}

/// Per-thread buffers of the transforms: (real, complex, scratch).
type Buffers = (Vec<f64>, Vec<Complex<f64>>, Vec<Complex<f64>>);

thread_local! {
    static BUFFERS: RefCell<Buffers> = const { RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

type Plans = (Arc<dyn RealToComplex<f64>>, Arc<dyn ComplexToReal<f64>>);

impl Hist {
    /// Bins that can reach an output of a grid of `len` budgets.
    fn keep(&self, len: usize) -> usize {
        self.p.len().min(len.saturating_sub(self.off))
    }
}

impl Conv {
    pub fn new(len: usize) -> Conv {
        Conv { len, planner: Mutex::new(RealFftPlanner::new()) }
    }

    fn plans(&self, n: usize) -> Plans {
        // The planner caches its plans: after the first call per length this is a lookup.
        let mut p = self.planner.lock().unwrap_or_else(|e| e.into_inner());
        (p.plan_fft_forward(n), p.plan_fft_inverse(n))
    }

    /// The transform length for `h` (long histograms only).
    fn len_for(&self, h: &Hist) -> usize {
        if h.fft_len > 0 {
            h.fft_len
        } else {
            fft_len(self.len + h.keep(self.len) - 1)
        }
    }

    /// Run `f` on this thread's buffers, sized for length `n`.
    fn with_buffers<R>(
        &self,
        n: usize,
        plans: &Plans,
        f: impl FnOnce(&mut [f64], &mut [Complex<f64>], &mut [Complex<f64>]) -> R,
    ) -> R {
        BUFFERS.with(|cell| {
            let mut guard = cell.borrow_mut();
            let (re, co, scratch) = &mut *guard;
            let scratch_len = plans.0.get_scratch_len().max(plans.1.get_scratch_len());
            re.resize(n, 0.0);
            co.resize(n / 2 + 1, Complex::default());
            scratch.resize(scratch_len, Complex::default());
            f(&mut re[..n], &mut co[..n / 2 + 1], &mut scratch[..scratch_len])
        })
    }

    /// The spectrum (length `n`) of `x` placed at `shift` (cut at `len` values).
    fn forward(&self, x: &[f64], shift: usize, n: usize) -> Vec<Complex<f64>> {
        let plans = self.plans(n);
        let mut out = vec![Complex::default(); n / 2 + 1];
        self.with_buffers(n, &plans, |buf, _, scratch| {
            let m = x.len().min(self.len.saturating_sub(shift));
            // Zero padding around the data (the transform overwrites its input).
            buf[..shift].fill(0.0);
            buf[shift..shift + m].copy_from_slice(&x[..m]);
            buf[shift + m..].fill(0.0);
            // Buffers are sized by the plan, so this cannot fail.
            let _ = plans.0.process_with_scratch(buf, &mut out, scratch);
        });
        out
    }

    /// `out[j] = ` the inverse transform (length `n`) of `spectrum(k)` at `j`, scaled.
    fn inverse_into(&self, n: usize, spectrum: impl Fn(usize) -> Complex<f64>, out: &mut [f64]) {
        let plans = self.plans(n);
        self.with_buffers(n, &plans, |buf, s, scratch| {
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
            let _ = plans.1.process_with_scratch(s, buf, scratch);
            let scale = 1.0 / n as f64;
            for (o, v) in out.iter_mut().zip(buf.iter()) {
                *o += v * scale;
            }
        })
    }

    /// True when `h` is convolved by FFT (else directly).
    pub fn is_long(&self, h: &Hist) -> bool {
        h.p.len() >= DIRECT_MAX && h.off < self.len
    }

    /// The spectrum of `h` without its offset, at its transform length.
    fn kernel<'a>(&self, h: &'a Hist) -> std::borrow::Cow<'a, [Complex<f64>]> {
        let n = self.len_for(h);
        // Bins past the last budget never reach an output; left in, they would wrap around.
        let keep = h.keep(self.len);
        let (m, s) = h.spectrum.get_or_init(|| (n, self.forward(&h.p[..keep], 0, n)));
        if *m == n {
            std::borrow::Cow::Borrowed(s)
        } else {
            std::borrow::Cow::Owned(self.forward(&h.p[..keep], 0, n))
        }
    }

    /// `x` (`len` values) ready for [`Conv::apply`]; its spectrum is computed on first use.
    pub fn input(&self, x: Vec<f64>) -> Input {
        Input { x, spectrum: OnceLock::new() }
    }

    /// Compute the spectrum of `x` now for the histograms of `block` (e.g. in
    /// parallel with another input's).
    pub fn prepare(&self, x: &Input, block: &Hist) {
        if self.is_long(block) {
            let n = self.len_for(block);
            x.spectrum.get_or_init(|| (n, self.forward(&x.x, 0, n)));
        }
    }

    /// `out[b] = sum_k h(k) x[b - k]` for `b` in `0..len`.
    pub fn apply(&self, h: &Hist, x: &Input) -> Vec<f64> {
        let mut out = vec![0.0; self.len];
        if !self.is_long(h) {
            h.direct(&x.x, &mut out);
            return out;
        }
        let n = self.len_for(h);
        let (m, xs) = x.spectrum.get_or_init(|| (n, self.forward(&x.x, 0, n)));
        let own;
        let xs = if *m == n {
            xs
        } else {
            own = self.forward(&x.x, 0, n);
            &own
        };
        let k = self.kernel(h);
        self.inverse_into(n, |j| k[j] * xs[j], &mut out[h.off..]);
        out
    }

    /// `sum_o (h_o * x_o)` for pairs of histograms and inputs: one inverse
    /// FFT for all the long histograms of one transform length (the forward
    /// evaluation of a policy, where each option of a block carries the
    /// share of runs that chose it). The transforms of the pairs run in
    /// parallel; their sum is taken in order, so the result does not depend
    /// on the number of threads.
    pub fn apply_sum(&self, pairs: &[(&Hist, Vec<f64>)]) -> Vec<f64> {
        use rayon::prelude::*;
        let mut out = vec![0.0; self.len];
        let live = |x: &[f64]| x.iter().any(|&v| v != 0.0);
        let n = pairs.iter().find(|(h, x)| self.is_long(h) && live(x)).map(|(h, _)| self.len_for(h));
        let shared = |h: &Hist| self.is_long(h) && Some(self.len_for(h)) == n;
        for (h, x) in pairs.iter().filter(|(h, x)| !shared(h) && live(x)) {
            if self.is_long(h) {
                // Another transform length (not one block's options): on its own.
                out.iter_mut().zip(self.apply(h, &self.input(x.clone()))).for_each(|(o, v)| *o += v);
            } else {
                h.direct(x, &mut out);
            }
        }
        let Some(n) = n else { return out };
        // Each input placed at its histogram's offset: the products then line up.
        let long: Vec<Vec<Complex<f64>>> = pairs
            .par_iter()
            .filter(|(h, x)| shared(h) && live(x))
            .map(|(h, x)| {
                let mut xs = self.forward(x, h.off, n);
                xs.iter_mut().zip(self.kernel(h).iter()).for_each(|(a, k)| *a *= k);
                xs
            })
            .collect();
        if let Some((first, rest)) = long.split_first() {
            let mut acc = first.clone();
            for s in rest {
                acc.iter_mut().zip(s).for_each(|(a, b)| *a += b);
            }
            self.inverse_into(n, |j| acc[j], &mut out);
        }
        out
    }
}

/// An input array with its spectrum (and its length) computed on first use
/// (shared by every option of a block).
pub(crate) struct Input {
    x: Vec<f64>,
    spectrum: OnceLock<(usize, Vec<Complex<f64>>)>,
}

impl Input {
    /// The number of values (budgets).
    pub fn len(&self) -> usize {
        self.x.len()
    }
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

    #[test]
    fn a_block_shares_one_transform_length_and_its_sum_lines_up_the_offsets() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let len = 777;
        let c = Conv::new(len);
        let hist = |rng: &mut rand_chacha::ChaCha8Rng, off: usize, support: usize| {
            let p: Vec<f64> = (0..support).map(|_| rng.gen::<f64>() / support as f64).collect();
            Hist::new(off, p)
        };
        // Long ones with different offsets and supports (one past the end), and a short one.
        let mut hs =
            vec![hist(&mut rng, 0, 60), hist(&mut rng, 90, 300), hist(&mut rng, 700, 200), hist(&mut rng, 3, 5)];
        share_fft_len(hs.iter_mut(), len);
        let n = hs[0].fft_len;
        assert!(n >= len + 300 - 1 && hs.iter().all(|h| h.fft_len == n), "{n}");
        assert!(n < 2 * len - 1, "{n}: shorter than a transform of the whole grid");
        let xs: Vec<Vec<f64>> = hs.iter().map(|_| (0..len).map(|_| rng.gen::<f64>() - 0.5).collect()).collect();
        let input = c.input(xs[1].clone());
        c.prepare(&input, &hs[1]);
        for h in &hs {
            let (want, got) = (naive(h, &xs[1]), c.apply(h, &input));
            assert!(want.iter().zip(&got).all(|(a, b)| (a - b).abs() < 1e-12), "off {}", h.off);
        }
        let pairs: Vec<(&Hist, Vec<f64>)> = hs.iter().zip(&xs).map(|(h, x)| (h, x.clone())).collect();
        let sum = c.apply_sum(&pairs);
        for (b, v) in sum.iter().enumerate() {
            let w: f64 = hs.iter().zip(&xs).map(|(h, x)| h.dot(b, x)).sum();
            assert!((v - w).abs() < 1e-12, "apply_sum at {b}: {v} vs {w}");
        }
        // A histogram of its own (another length) in the same sum still adds up.
        let other = hist(&mut rng, 10, 100);
        let sum = c.apply_sum(&[(&hs[1], xs[0].clone()), (&other, xs[2].clone())]);
        for (b, v) in sum.iter().enumerate() {
            let w = hs[1].dot(b, &xs[0]) + other.dot(b, &xs[2]);
            assert!((v - w).abs() < 1e-12, "mixed lengths at {b}");
        }
    }
}
