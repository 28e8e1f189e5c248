//! The numbers synthesis writes into a hint set, as short decimals.
//!
//! Not for Janus's own round trip: the crate enables serde_json's
//! `float_roundtrip` feature (Cargo.toml), whose correctly rounded parser
//! reads back every double serde_json prints bit for bit, snapped or not.
//! The snapping is for what the written file is:
//! - read the same by every JSON reader. A hint file is a documented format
//!   (docs/hint-format.md) that a provider may read with its own parser, and
//!   not every parser rounds correctly: best-effort ones (serde_json without
//!   `float_roundtrip`, its default) may land one ulp off on a 17-digit
//!   decimal. They are exact on the fast path (Clinger's): a significand
//!   below 2^53 and a power of ten of at most 22, combined in one correctly
//!   rounded multiplication or division. The numbers snapped here are in
//!   that range (bucket widths from 1e-16 to 1e28 ms, summaries of
//!   magnitude below 1e22), so correctly rounding and best-effort readers
//!   alike get the same doubles, hence the same decisions;
//! - never more generous than the grid: a budget edge is snapped *down*, so
//!   a rule never claims more remaining time than the grid edge it stands for;
//! - short: edges and summaries print with a dozen digits, not seventeen,
//!   which keeps the file small (its size is reported) and readable.

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

    /// What a best-effort reader does with `text` when it takes the fast
    /// path: the decimal significand (below 2^53) and power of ten (at most
    /// 22) combined in one correctly rounded operation. None outside it.
    fn fast_path(text: &str) -> Option<f64> {
        let (mantissa, exp) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits: u64 = format!("{int}{frac}").trim_start_matches('-').parse().ok()?;
        let e = exp - frac.len() as i32;
        if digits >= 1 << 53 || !(-22..=22).contains(&e) {
            return None;
        }
        let m = digits as f64 * if text.starts_with('-') { -1.0 } else { 1.0 };
        Some(if e >= 0 { m * 10f64.powi(e) } else { m / 10f64.powi(-e) })
    }

    fn as_written(x: f64) -> String {
        serde_json::to_string(&x).unwrap()
    }

    #[test]
    fn written_numbers_are_read_back_exactly_by_a_fast_path_reader() {
        for &dt in &[1000.0 / 13.0, 300.0 / 78.0, 2.5, 1e-3 / 7.0, 123_456.789] {
            for b in [0usize, 1, 2, 7, 77, 19_999] {
                let e = grid_edge(b, dt);
                assert!(e <= b as f64 * dt + 1e-12 * dt && e > (b as f64 - 0.5) * dt, "{b} {dt} {e}");
                let back = fast_path(&as_written(e)).unwrap_or_else(|| panic!("{e} is long"));
                assert_eq!(back.to_bits(), e.to_bits(), "{e}");
            }
        }
        for &x in &[0.19488341856366095, 1e-17, 3.3e-9, 0.05, 1.0 - 1e-13, 4.2e11, 0.0066240000000000005] {
            let v = summary_value(x);
            assert!((v - x).abs() <= 1e-11 * x.abs().max(1e-10));
            let back = fast_path(&as_written(v)).unwrap_or_else(|| panic!("{x} -> {v} is long"));
            assert_eq!(back.to_bits(), v.to_bits(), "{x} -> {v}");
        }
        // The check can fail: an unsnapped edge or summary is outside the fast path.
        assert_eq!(fast_path(&as_written(300.0 / 78.0)), None); // edge 1 of that grid
        assert_eq!(fast_path(&as_written(0.19488341856366095)), None);
    }
}
