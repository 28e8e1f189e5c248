//! A profile in one row per (function, size): what `Profile.summary()` and
//! `janus profile` show, with the one quantile Janus reports (`crate::stats`).

use super::Profile;
use crate::model::Size;
use crate::stats::{mean, quantile_sorted};
use std::collections::BTreeSet;

/// The samples of one (function, size) in numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub function: String,
    pub size: Size,
    /// Samples.
    pub n: usize,
    /// Distinct requests the samples were measured on (None: not keyed).
    pub requests: Option<usize>,
    pub mean_ms: f64,
    /// Nearest-rank quantiles, as everywhere in Janus.
    pub p50_ms: f64,
    pub p95_ms: f64,
}

impl Profile {
    /// One row per (function, size), in the profile's order.
    pub fn summary(&self) -> Vec<SummaryRow> {
        self.iter()
            .map(|(function, size, s)| {
                let mut x = s.latencies.clone();
                x.sort_by(f64::total_cmp);
                SummaryRow {
                    function: function.to_string(),
                    size: *size,
                    n: x.len(),
                    requests: s.keys.as_ref().map(|k| k.iter().collect::<BTreeSet<_>>().len()),
                    mean_ms: mean(&x),
                    p50_ms: quantile_sorted(&x, 0.5),
                    p95_ms: quantile_sorted(&x, 0.95),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Samples;

    #[test]
    fn rows_use_the_nearest_rank_quantile() {
        let mut p = Profile::new();
        let s = Size::new(500, 256);
        let lat: Vec<f64> = (1..=20).map(f64::from).collect();
        let keys = (0..20).map(|i| format!("r{}", i % 5)).collect();
        p.add("f", s, Samples::new(lat).with_keys(keys)).unwrap();
        let [row] = p.summary().try_into().unwrap();
        assert_eq!(
            row,
            SummaryRow {
                function: "f".into(),
                size: s,
                n: 20,
                requests: Some(5),
                mean_ms: 10.5,
                p50_ms: 10.0,
                p95_ms: 19.0
            }
        );
    }
}
