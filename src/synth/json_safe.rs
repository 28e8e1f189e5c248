//! Numbers that survive the JSON round trip exactly.
//!
//! serde_json (without its `float_roundtrip` feature, which the core does not
//! enable) parses a decimal exactly only when its significand fits in 53 bits
//! and its power of ten is at most 22: then one correctly rounded division or
//! multiplication yields the nearest double. Arbitrary doubles print with up
//! to 17 digits and may come back one ulp off, which breaks `load(save(h)) ==
//! h`. So every number synthesis writes is first snapped to a short decimal.

/// Budget edge `b * dt` snapped *down* to 1e-6 of the bucket width (at most
/// a few nanoseconds for any sane grid), so the rule never claims more
/// budget than the grid edge it stands for.
pub(crate) fn grid_edge(b: usize, dt: f64) -> f64 {
    let x = b as f64 * dt;
    if x <= 0.0 || !x.is_finite() {
        return x.max(0.0);
    }
    let n = 6 - dt.log10().floor() as i32;
    snap_down(x, n)
}

/// Largest `k / 10^n` (as the nearest double) not above `x`, with `k` integer.
fn snap_down(x: f64, n: i32) -> f64 {
    if !(-22..=22).contains(&n) {
        return x;
    }
    if n >= 0 {
        let p = 10f64.powi(n);
        (x * p).floor() / p
    } else {
        let p = 10f64.powi(-n);
        (x / p).floor() * p
    }
}

/// A summary number rounded to 12 significant digits (tiny values to a fixed
/// 1e-21 grid, so the decimal exponent stays within reach of the fast path).
pub(crate) fn summary_value(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    if x.abs() < 1e-6 {
        return (x * 1e21).round() / 1e21;
    }
    format!("{x:.11e}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapped_values_round_trip_through_serde_json() {
        for &dt in &[1000.0 / 13.0, 300.0 / 78.0, 2.5, 1e-3 / 7.0, 123_456.789] {
            for b in [0usize, 1, 2, 7, 77, 19_999] {
                let e = grid_edge(b, dt);
                assert!(e <= b as f64 * dt + 1e-12 * dt && e > (b as f64 - 0.5) * dt, "{b} {dt} {e}");
                let back: f64 = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
                assert_eq!(back.to_bits(), e.to_bits(), "{e}");
            }
        }
        for &x in &[0.19488341856366095, 1e-17, 3.3e-9, 0.05, 1.0 - 1e-13, 4.2e11, 0.0066240000000000005] {
            let v = summary_value(x);
            assert!((v - x).abs() <= 1e-11 * x.abs().max(1e-10));
            let back: f64 = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{x} -> {v}");
        }
    }
}
