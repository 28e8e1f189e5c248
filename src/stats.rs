//! The statistics Janus reports, defined once.
//!
//! **Quantile**: nearest rank. The `q`-quantile of `n` values is the
//! smallest value `x` such that at least `q * n` of the values are `<= x`
//! (the `ceil(q n)`-th smallest; the smallest for `q = 0`). It is always an
//! observed value, and "95 % of runs finished within the p95" holds exactly,
//! which is what an SLO means. `janus demo`, `janus simulate`, the runner's
//! summaries and the profile summary all use this one definition (Python
//! reaches it as `janus.quantile`).
//!
//! **Attainment interval**: the Wilson score interval of a share of runs
//! that met the deadline, the sampling error to report beside attainment.

/// Nearest-rank quantile of already sorted values (NaN when empty).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    let n = sorted.len();
    let k = ((q.clamp(0.0, 1.0) * n as f64) - 1e-9).ceil() as usize;
    sorted[k.clamp(1, n) - 1]
}

/// Nearest-rank quantile of values in any order (NaN values sort last).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

/// Mean (NaN when empty).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        f64::NAN
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Wilson score interval at about 95 % confidence (z = 1.96) of a share
/// `hits / n`; `(NaN, NaN)` when `n` is 0.
pub fn wilson_interval(hits: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let z = 1.96f64;
    let (n, p) = (n as f64, hits as f64 / n as f64);
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.0);
        assert_eq!(quantile(&v, 0.95), 4.0);
        assert_eq!(quantile(&v, 0.75), 3.0);
        assert_eq!(quantile(&v, 0.0), 1.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).rev().collect();
        assert_eq!(quantile(&hundred, 0.95), 95.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn wilson_brackets_the_share() {
        let (lo, hi) = wilson_interval(38, 40);
        assert!(lo < 0.95 && hi > 0.95 && lo > 0.8, "{lo} {hi}");
        let (lo, hi) = wilson_interval(19_000, 20_000);
        assert!(hi - lo < 0.01);
    }
}
