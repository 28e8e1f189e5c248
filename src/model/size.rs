//! Resource sizes and what they cost.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One resource option: CPU in millicores and memory in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
// A size with a field Janus does not know ("gpu") is refused, not read as
// the two fields it does know.
#[serde(deny_unknown_fields)]
pub struct Size {
    pub cpu_millis: u32,
    pub memory_mib: u32,
}

impl Size {
    pub const fn new(cpu_millis: u32, memory_mib: u32) -> Self {
        Size { cpu_millis, memory_mib }
    }

    pub fn cores(&self) -> f64 {
        f64::from(self.cpu_millis) / 1000.0
    }

    pub fn gib(&self) -> f64 {
        f64::from(self.memory_mib) / 1024.0
    }

    /// True when this size fits inside `capacity` in both dimensions.
    pub fn fits_in(&self, capacity: &Size) -> bool {
        self.cpu_millis <= capacity.cpu_millis && self.memory_mib <= capacity.memory_mib
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}m/{}Mi", self.cpu_millis, self.memory_mib)
    }
}

/// Price of a size per second of wall time: `cpu_price * cores + mem_price * GiB`.
///
/// The default prices are in abstract "cost units" with the ratio of a
/// vCPU-second to a GiB-second taken from public per-second serverless
/// pricing (about 9.6 : 1, as on Cloud Run): one core-second costs 1.0 and one
/// GiB-second costs 0.104. [`CostModel::memory_only`] is the Lambda-like
/// preset, where CPU grows with memory and only GiB-seconds are billed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    pub cpu_price: f64,
    pub mem_price: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel { cpu_price: 1.0, mem_price: 0.104 }
    }
}

/// The longest latency Janus computes with, in ms (about 32 years). With
/// prices at most [`MAX_PRICE`], sizes within `u32` and fan-outs within
/// `MAX_FANOUT`, every cost, sum of costs and expected cost then stays far
/// from overflowing a double (a latency of 1e308 ms made synthesis predict an
/// infinite cost and fail its own checks).
pub const MAX_LATENCY_MS: f64 = 1e12;

/// The highest price per core-second or GiB-second (see [`MAX_LATENCY_MS`]).
pub const MAX_PRICE: f64 = 1e12;

/// Whether `ms` is a latency Janus takes: finite, >= 0 and at most
/// [`MAX_LATENCY_MS`]. The one check for profiles, imports and observations.
pub fn is_latency_ms(ms: f64) -> bool {
    (0.0..=MAX_LATENCY_MS).contains(&ms)
}

impl CostModel {
    /// Lambda-like: only memory is billed (1.0 cost unit per GiB-second).
    pub fn memory_only() -> Self {
        CostModel { cpu_price: 0.0, mem_price: 1.0 }
    }

    /// Cost units per second of running at `size`.
    pub fn rate(&self, size: &Size) -> f64 {
        self.cpu_price * size.cores() + self.mem_price * size.gib()
    }

    /// Cost units of running at `size` for `ms` milliseconds.
    pub fn cost(&self, size: &Size, ms: f64) -> f64 {
        self.rate(size) * ms / 1000.0
    }

    /// Prices in [0, MAX_PRICE], not both zero.
    pub fn is_valid(&self) -> bool {
        let price = 0.0..=MAX_PRICE;
        price.contains(&self.cpu_price) && price.contains(&self.mem_price) && self.cpu_price + self.mem_price > 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_adds_cpu_and_memory() {
        let m = CostModel { cpu_price: 2.0, mem_price: 0.5 };
        let s = Size::new(500, 2048);
        assert!((m.rate(&s) - (2.0 * 0.5 + 0.5 * 2.0)).abs() < 1e-12);
        assert!((m.cost(&s, 2000.0) - 2.0 * m.rate(&s)).abs() < 1e-12);
    }

    #[test]
    fn fits_needs_both_dimensions() {
        let cap = Size::new(1000, 1024);
        assert!(Size::new(1000, 1024).fits_in(&cap));
        assert!(!Size::new(1001, 512).fits_in(&cap));
        assert!(!Size::new(500, 2048).fits_in(&cap));
    }
}
