//! The block model: every parallel block of the workflow as one composite
//! stage whose options are joint sizes, all on the common time grid
//! `dt = deadline / buckets`.

use super::SynthError;
use crate::model::{Size, Workflow};
use crate::profile::{LatencyDist, Profile, ProfileError};

/// A latency histogram on the synthesis grid, truncated at the full budget.
///
/// `p[j]` is P(latency = `off + j` buckets) for latencies up to `b_max`
/// buckets; the mass beyond is implicit (`1 - sum p`) and is always a miss,
/// so nothing past the deadline needs to be stored or convolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hist {
    pub off: usize,
    pub p: Vec<f64>,
}

impl Hist {
    pub fn new(d: &LatencyDist, b_max: usize) -> Hist {
        let probs = &d.probs[..d.probs.len().min(b_max + 1)];
        match probs.iter().position(|&x| x > 0.0) {
            None => Hist { off: 0, p: Vec::new() },
            Some(first) => {
                let last = probs.iter().rposition(|&x| x > 0.0).unwrap_or(first);
                Hist { off: first, p: probs[first..=last].to_vec() }
            }
        }
    }

    /// `sum over k <= b of P(k) * vals[b - k]`: the expectation of `vals` at
    /// the budget left after this latency, restricted to runs still on time.
    #[inline]
    pub fn dot(&self, b: usize, vals: &[f64]) -> f64 {
        if b < self.off {
            return 0.0;
        }
        let top = b - self.off;
        let n = self.p.len().min(top + 1);
        let mut s = 0.0;
        for (j, p) in self.p[..n].iter().enumerate() {
            s += p * vals[top - j];
        }
        s
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
}

/// One joint option of a block: a size per member stage.
#[derive(Debug, Clone)]
pub(crate) struct JointOption {
    /// Latency of the block: max over members, each the max over its fan-out.
    pub hist: Hist,
    /// Expected cost: sum over members of fanout * rate * mean duration.
    pub cost: f64,
}

/// A parallel block (a single stage for chains).
#[derive(Debug, Clone)]
pub(crate) struct BlockModel {
    /// Stage indices (in `wf.stages()`) of the members.
    pub stages: Vec<usize>,
    /// Number of options of each member.
    pub radix: Vec<usize>,
    /// Mixed-radix place value of each member in a joint index (last member varies fastest).
    stride: Vec<usize>,
    pub options: Vec<JointOption>,
    /// The joint option the adapter falls back to (each member's fastest).
    pub fallback: usize,
}

impl BlockModel {
    /// Option index of member `m` in joint option `joint`.
    pub fn digit(&self, joint: usize, m: usize) -> usize {
        (joint / self.stride[m]) % self.radix[m]
    }

    /// `joint` with member `m` switched to its option `x`.
    pub fn with_digit(&self, joint: usize, m: usize, x: usize) -> usize {
        joint - self.digit(joint, m) * self.stride[m] + x * self.stride[m]
    }

    /// Joint index of per-member option indices.
    pub fn compose(&self, digits: &[usize]) -> usize {
        digits.iter().zip(&self.stride).map(|(d, s)| d * s).sum()
    }
}

/// All blocks of one workflow on one grid, for one input class.
#[derive(Debug, Clone)]
pub(crate) struct Models {
    pub blocks: Vec<BlockModel>,
    /// The full budget in buckets (= the number of buckets).
    pub b_max: usize,
    pub dt: f64,
    /// `tail[i]`: cost of running blocks `i..` at their fallback options,
    /// which is what the adapter does once the deadline is already missed.
    pub tail: Vec<f64>,
}

/// Restrict one stage's samples to an input class.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Restriction {
    pub stage: usize,
    pub class: usize,
    pub range: (f64, f64),
}

/// The option of each stage with the lowest mean latency on the whole
/// profile (ties -> more CPU): the adapter's best-effort fallback.
pub(crate) fn fastest(wf: &Workflow, profile: &Profile) -> Result<Vec<usize>, SynthError> {
    let mut out = Vec::with_capacity(wf.stages().len());
    for st in wf.stages() {
        let mut best: Option<(f64, u32, usize)> = None;
        for (i, s) in st.options.iter().enumerate() {
            let lat = &profile.require(&st.name, s)?.latencies;
            let mean = lat.iter().sum::<f64>() / lat.len().max(1) as f64;
            let better = match best {
                None => true,
                Some((m, cpu, _)) => mean < m || (mean == m && s.cpu_millis > cpu),
            };
            if better {
                best = Some((mean, s.cpu_millis, i));
            }
        }
        out.push(best.map_or(0, |b| b.2));
    }
    Ok(out)
}

/// The histogram of (function, size) on the grid, optionally only of runs
/// whose feature is in `[lo, hi)`.
///
/// Like [`Profile::dist`], but samples past the deadline are clipped to just
/// past it before binning: they are misses whatever their value, and a
/// timeout sample a million times the bucket width must not allocate a
/// million bins. The mean (for cost) is that of the real samples.
fn grid_dist(
    profile: &Profile,
    function: &str,
    size: &Size,
    dt: f64,
    buckets: usize,
    range: Option<(f64, f64)>,
    class: usize,
) -> Result<LatencyDist, SynthError> {
    let s = profile.require(function, size)?;
    let selected: Vec<f64> = match (range, &s.features) {
        (None, _) => s.latencies.clone(),
        (Some((lo, hi)), Some(f)) => {
            s.latencies.iter().zip(f).filter(|(_, &x)| x >= lo && x < hi).map(|(&l, _)| l).collect()
        }
        (Some(_), None) => {
            return Err(SynthError::Features(format!(
                "function '{function}' at size {size} has no feature values, so its runs cannot be split into input classes"
            )))
        }
    };
    if selected.is_empty() {
        let (lo, hi) = range.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        return Err(
            ProfileError::EmptyClass { function: function.to_string(), class, range: format!("[{lo}, {hi})") }.into()
        );
    }
    let mean = selected.iter().sum::<f64>() / selected.len() as f64;
    let past = (buckets + 2) as f64 * dt;
    let clipped: Vec<f64> = selected.iter().map(|&x| x.min(past)).collect();
    let mut d = LatencyDist::from_samples(&clipped, dt)?;
    d.mean_ms = mean;
    Ok(d)
}

/// Build the block model. `fallback[s]` is the option index stage `s`
/// falls back to when its budget is below every rule.
pub(crate) fn build(
    wf: &Workflow,
    profile: &Profile,
    buckets: usize,
    fallback: &[usize],
    restrict: Option<Restriction>,
) -> Result<Models, SynthError> {
    let dt = wf.slo().deadline_ms / buckets as f64;
    let cm = wf.cost_model();
    let mut blocks = Vec::with_capacity(wf.blocks().len());
    for block in wf.blocks() {
        // Per member: (fan-out dist, cost) of each option.
        let mut members: Vec<Vec<(LatencyDist, f64)>> = Vec::with_capacity(block.len());
        for &si in block {
            let st = &wf.stages()[si];
            let range = restrict.filter(|r| r.stage == si).map(|r| r.range);
            let mut opts = Vec::with_capacity(st.options.len());
            for size in &st.options {
                let class = restrict.map_or(0, |r| r.class);
                let d = grid_dist(profile, &st.name, size, dt, buckets, range, class)?;
                let cost = f64::from(st.fanout) * cm.rate(size) * d.mean_ms / 1000.0;
                opts.push((d.max_of(st.fanout), cost));
            }
            members.push(opts);
        }
        let radix: Vec<usize> = members.iter().map(Vec::len).collect();
        let mut stride = vec![1usize; radix.len()];
        for m in (0..radix.len().saturating_sub(1)).rev() {
            stride[m] = stride[m + 1] * radix[m + 1];
        }
        // The workflow caps joint options at MAX_JOINT_OPTIONS, so this product is small.
        let count: usize = radix.iter().product();
        let mut options = Vec::with_capacity(count);
        for joint in 0..count {
            let mut dist: Option<LatencyDist> = None;
            let mut cost = 0.0;
            for (m, opts) in members.iter().enumerate() {
                let (d, c) = &opts[(joint / stride[m]) % radix[m]];
                cost += c;
                dist = Some(match dist {
                    None => d.clone(),
                    Some(acc) => acc.max_with(d),
                });
            }
            let hist = dist.map_or(Hist { off: 0, p: Vec::new() }, |d| Hist::new(&d, buckets));
            options.push(JointOption { hist, cost });
        }
        let mut bm = BlockModel { stages: block.clone(), radix, stride, options, fallback: 0 };
        let digits: Vec<usize> = block.iter().map(|&si| fallback.get(si).copied().unwrap_or(0)).collect();
        bm.fallback = bm.compose(&digits);
        blocks.push(bm);
    }
    let mut tail = vec![0.0; blocks.len() + 1];
    for i in (0..blocks.len()).rev() {
        tail[i] = tail[i + 1] + blocks[i].options[blocks[i].fallback].cost;
    }
    Ok(Models { blocks, b_max: buckets, dt, tail })
}

/// A policy: the joint option of every block at every budget `0..=b_max`.
pub(crate) type Policy = Vec<Vec<u32>>;
