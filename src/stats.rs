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

/// Upper end of the one-sided Wilson score interval of a share `p`
/// observed over `n` runs, at the confidence of the normal quantile `z`.
pub fn wilson_upper(p: f64, n: f64, z: f64) -> f64 {
    if n <= 0.0 {
        return 1.0;
    }
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).max(0.0).sqrt();
    ((centre + half) / (1.0 + z2 / n)).min(1.0)
}

/// The largest share `p` whose one-sided Wilson upper bound over `n` runs
/// at confidence `confidence` is at most `target`: the share to plan for
/// so that, given the sampling error of `n` runs, `target` is still met.
pub fn planning_target(target: f64, n: f64, confidence: f64) -> f64 {
    let z = normal_quantile(confidence);
    if z <= 0.0 {
        return target;
    }
    let (mut lo, mut hi) = (0.0f64, target);
    if wilson_upper(0.0, n, z) > target {
        return 0.0;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if wilson_upper(mid, n, z) <= target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Quantile of the standard normal distribution (Acklam's rational
/// approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    if !(p > 0.0 && p < 1.0) {
        return if p <= 0.0 { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    let lower = 0.02425;
    if p < lower {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - lower {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
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
    fn planning_targets_shrink_with_fewer_runs() {
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-5);
        assert_eq!(normal_quantile(0.5), 0.0);
        assert_eq!(planning_target(0.05, 100.0, 0.5), 0.05);
        let t100 = planning_target(0.05, 100.0, 0.75);
        let t1000 = planning_target(0.05, 1000.0, 0.75);
        assert!(t100 < t1000 && t1000 < 0.05, "{t100} {t1000}");
        assert!((wilson_upper(t100, 100.0, normal_quantile(0.75)) - 0.05).abs() < 1e-9);
        // Ten runs cannot show a 5 % miss rate at 90 % confidence at all.
        assert_eq!(planning_target(0.05, 10.0, 0.9), 0.0);
    }

    #[test]
    fn wilson_brackets_the_share() {
        let (lo, hi) = wilson_interval(38, 40);
        assert!(lo < 0.95 && hi > 0.95 && lo > 0.8, "{lo} {hi}");
        let (lo, hi) = wilson_interval(19_000, 20_000);
        assert!(hi - lo < 0.01);
    }
}
