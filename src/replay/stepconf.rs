//! A StepConf-like online per-step optimizer that uses no hints.
//!
//! Before each block it re-plans the remaining blocks from the *mean*
//! latencies of the fitting profile: the cheapest assignment (by mean cost)
//! whose summed mean block latency fits the remaining budget, and takes the
//! current block's choice; when nothing fits, the fastest joint option. The
//! plan is a DP over a time grid of `GRID` units per deadline, with mean
//! latencies rounded up to the grid (conservative). A block's mean latency is
//! the max of its stages' means, where a fan-out stage's mean is the exact
//! empirical mean of the max of `n` draws.

use super::ReplayError;
use crate::model::Workflow;
use crate::profile::Profile;

/// Grid units per deadline for the re-planning DP.
pub const GRID: usize = 2000;

#[derive(Debug, Clone)]
struct BlockPlan {
    joint: Vec<Vec<usize>>,
    units: Vec<usize>,
    cost: Vec<f64>,
    fastest: usize,
}

/// The precomputed planner; `choose` is a lookup over the block's options.
#[derive(Debug, Clone)]
pub struct StepConf {
    blocks: Vec<BlockPlan>,
    unit_ms: f64,
    /// `value[b][g]`: least mean cost of blocks `b..` within `g` grid units.
    value: Vec<Vec<f64>>,
}

/// Mean of the max of `n` independent draws from the empirical samples.
fn mean_max(samples: &[f64], n: u32) -> f64 {
    let mut x = samples.to_vec();
    x.sort_by(f64::total_cmp);
    let m = x.len() as f64;
    x.iter().enumerate().map(|(i, v)| v * (((i + 1) as f64 / m).powi(n as i32) - (i as f64 / m).powi(n as i32))).sum()
}

impl StepConf {
    pub fn new(wf: &Workflow, fit: &Profile) -> Result<Self, ReplayError> {
        let unit_ms = wf.slo().deadline_ms / GRID as f64;
        let cm = wf.cost_model();
        let mut blocks = Vec::new();
        for block in wf.blocks() {
            let joint = wf.joint_options(block);
            let (mut units, mut cost) = (Vec::new(), Vec::new());
            let mut lat_ms = Vec::new();
            for j in &joint {
                let (mut lat, mut c) = (0.0f64, 0.0);
                for (&s, &o) in block.iter().zip(j) {
                    let st = &wf.stages()[s];
                    let size = st.options[o];
                    let smp = fit.require(&st.name, &size)?;
                    let mean = smp.latencies.iter().sum::<f64>() / smp.latencies.len() as f64;
                    lat = lat.max(mean_max(&smp.latencies, st.fanout));
                    c += cm.cost(&size, mean) * f64::from(st.fanout);
                }
                lat_ms.push(lat);
                units.push((lat / unit_ms - 1e-9).ceil().max(0.0) as usize);
                cost.push(c);
            }
            let fastest = (0..joint.len())
                .min_by(|&a, &b| lat_ms[a].total_cmp(&lat_ms[b]).then(cost[a].total_cmp(&cost[b])))
                .unwrap_or(0);
            blocks.push(BlockPlan { joint, units, cost, fastest });
        }
        let nb = blocks.len();
        let mut value = vec![vec![0.0; GRID + 1]; nb + 1];
        for b in (0..nb).rev() {
            for g in 0..=GRID {
                let bp = &blocks[b];
                let mut best = f64::INFINITY;
                for j in 0..bp.joint.len() {
                    if bp.units[j] <= g {
                        best = best.min(bp.cost[j] + value[b + 1][g - bp.units[j]]);
                    }
                }
                value[b][g] = best;
            }
        }
        Ok(StepConf { blocks, unit_ms, value })
    }

    /// Option index per stage of block `b`, with `remaining_ms` of the deadline left.
    pub fn choose(&self, b: usize, remaining_ms: f64) -> &[usize] {
        let bp = &self.blocks[b];
        if remaining_ms >= 0.0 {
            let g = ((remaining_ms / self.unit_ms).floor() as usize).min(GRID);
            let mut best = (f64::INFINITY, bp.fastest);
            for j in 0..bp.joint.len() {
                if bp.units[j] <= g {
                    let v = bp.cost[j] + self.value[b + 1][g - bp.units[j]];
                    if v < best.0 {
                        best = (v, j);
                    }
                }
            }
            return &bp.joint[best.1];
        }
        &bp.joint[bp.fastest]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_max_matches_closed_form() {
        assert!((mean_max(&[1.0, 2.0], 1) - 1.5).abs() < 1e-12);
        // max of two draws from {1, 2}: 1 w.p. 1/4, 2 w.p. 3/4
        assert!((mean_max(&[2.0, 1.0], 2) - 1.75).abs() < 1e-12);
    }
}
