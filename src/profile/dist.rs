//! A latency distribution as a histogram with a fixed bin width.

use super::ProfileError;

/// Histogram of one function's latency at one size.
///
/// `probs[k]` is the probability that the latency falls in bin `k`, i.e. in
/// `((k - 1) * bin_ms, k * bin_ms]`: every sample is rounded *up* to the end of
/// its bin, so a policy that meets the deadline on the histogram also meets it
/// on the samples. `mean_ms` is the exact mean of the samples (cost is charged
/// on real durations, not on rounded ones).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyDist {
    pub bin_ms: f64,
    pub probs: Vec<f64>,
    pub mean_ms: f64,
}

impl LatencyDist {
    /// Build from samples, which must be validated (finite, >= 0, non-empty).
    pub fn from_samples(samples: &[f64], bin_ms: f64) -> Result<Self, ProfileError> {
        if !(bin_ms.is_finite() && bin_ms > 0.0) {
            return Err(ProfileError::BadBin(bin_ms));
        }
        debug_assert!(!samples.is_empty());
        let bins: Vec<usize> = samples.iter().map(|&x| Self::bin_of(x, bin_ms)).collect();
        let top = bins.iter().copied().max().unwrap_or(0);
        let mut probs = vec![0.0; top + 1];
        let w = 1.0 / samples.len() as f64;
        for b in bins {
            probs[b] += w;
        }
        let mean_ms = samples.iter().sum::<f64>() / samples.len() as f64;
        Ok(LatencyDist { bin_ms, probs, mean_ms })
    }

    /// Bin that holds latency `ms` (rounded up; a tiny epsilon keeps exact
    /// multiples of the bin width in their own bin despite float noise).
    pub fn bin_of(ms: f64, bin_ms: f64) -> usize {
        let x = ms / bin_ms - 1e-9;
        if x <= 0.0 {
            0
        } else {
            x.ceil() as usize
        }
    }

    /// Number of bins (the support is `0..len()`).
    pub fn len(&self) -> usize {
        self.probs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.probs.is_empty()
    }

    /// P(latency <= k bins).
    pub fn cdf(&self, k: usize) -> f64 {
        self.probs.iter().take(k + 1).sum::<f64>().min(1.0)
    }

    /// Smallest bin `k` with P(latency <= k) >= q, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let mut acc = 0.0;
        for (k, p) in self.probs.iter().enumerate() {
            acc += p;
            if acc >= q - 1e-12 {
                return k as f64 * self.bin_ms;
            }
        }
        (self.probs.len().saturating_sub(1)) as f64 * self.bin_ms
    }

    /// Distribution of the max of `n` independent draws (a fan-out of `n`).
    /// The mean stays the single-instance mean: cost is charged per instance.
    pub fn max_of(&self, n: u32) -> LatencyDist {
        if n <= 1 {
            return self.clone();
        }
        let mut out = Vec::with_capacity(self.probs.len());
        let mut prev = 0.0f64;
        let mut acc = 0.0;
        for p in &self.probs {
            acc += p;
            let c = acc.min(1.0).powi(n as i32);
            out.push((c - prev).max(0.0));
            prev = c;
        }
        LatencyDist { bin_ms: self.bin_ms, probs: out, mean_ms: self.mean_ms }
    }

    /// Distribution of the max of two independent latencies (parallel stages).
    /// The mean is meaningless for a joint option; callers keep costs apart.
    pub fn max_with(&self, other: &LatencyDist) -> LatencyDist {
        let n = self.probs.len().max(other.probs.len());
        let (mut a, mut b, mut prev) = (0.0f64, 0.0f64, 0.0f64);
        let mut out = Vec::with_capacity(n);
        for k in 0..n {
            a += self.probs.get(k).copied().unwrap_or(0.0);
            b += other.probs.get(k).copied().unwrap_or(0.0);
            let c = a.min(1.0) * b.min(1.0);
            out.push((c - prev).max(0.0));
            prev = c;
        }
        LatencyDist { bin_ms: self.bin_ms, probs: out, mean_ms: self.mean_ms.max(other.mean_ms) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_round_up_into_bins() {
        let d = LatencyDist::from_samples(&[0.0, 10.0, 10.5, 29.0], 10.0).unwrap();
        assert_eq!(d.probs, vec![0.25, 0.25, 0.25, 0.25]);
        assert!((d.mean_ms - 12.375).abs() < 1e-12);
        assert_eq!(d.quantile_ms(0.5), 10.0);
        assert_eq!(d.quantile_ms(1.0), 30.0);
    }

    #[test]
    fn fanout_max_shifts_mass_right() {
        let d = LatencyDist::from_samples(&[10.0, 20.0], 10.0).unwrap();
        let m = d.max_of(2);
        // P(max <= 10) = 0.25, P(max = 20) = 0.75
        assert!((m.probs[1] - 0.25).abs() < 1e-12 && (m.probs[2] - 0.75).abs() < 1e-12);
        let j = d.max_with(&LatencyDist::from_samples(&[30.0], 10.0).unwrap());
        assert!((j.probs[3] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_bin_width_is_an_error() {
        assert!(LatencyDist::from_samples(&[1.0], 0.0).is_err());
        assert!(LatencyDist::from_samples(&[1.0], f64::NAN).is_err());
    }
}
