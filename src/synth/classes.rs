//! Input classes: where the request features change how long a run takes.
//!
//! A regression tree over the request features predicts how slow a request
//! is relative to the typical one: for every sample, the log of its latency
//! over the geometric mean of its (stage, size), averaged over a keyed
//! request's samples (stages weighted by their share of the run time). The
//! tree grows best split first; a split is kept only if
//! - both sides keep at least `min_class_samples` samples of every
//!   (stage, size) (requests, for a keyed profile), so every class has
//!   histograms worth planning on;
//! - it explains at least 0.5 % of the variance; and
//! - it beats chance: its gain exceeds the best gain of every one of 19
//!   random permutations of the latencies among the node's samples (a
//!   permutation test at the 5 % level), so a feature that predicts nothing
//!   yields no classes instead of classes fitted to noise.
//!
//! The result is the nested sequence of classifiers after each split (one
//! class, two, ...): synthesis plans with each and keeps the one that
//! serves the whole workflow cheapest (see `choose.rs`). Boundaries thus sit
//! where run time changes, not at quantiles of the sample.

use super::data::Data;
use super::plan::{samples_needed, LATE_BINDING_SAMPLES};
use crate::hints::{Classifier, Node};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Permutations of the chance test (the split must beat all of them: p < 1/20).
const PERMUTATIONS: usize = 19;
/// A split must explain at least this share of the root's variance (the
/// chance test above keeps noise out; this only stops splits too small to
/// matter). It was 0.005, which stopped the tree at 5-8 classes even on
/// 20 000 requests; see [`auto_max`] for what finer classes bought.
const MIN_GAIN_SHARE: f64 = 0.0005;
/// Input classes tried when `max_classes` is not given, at the least and at most.
pub(crate) const AUTO_CLASSES: (usize, usize) = (8, 16);

/// How many input classes to try when the caller does not say: one per
/// `LATE_BINDING_SAMPLES x samples_needed(p)` keyed requests (a class with
/// fewer is thin for late binding: synthesis warns), within [`AUTO_CLASSES`].
///
/// Why more than 8 on large profiles: held out on 10 000 of 20 000
/// requests, up to 16 classes cost less than 8 at the same SLO record
/// (docs/results.md, "Large profiles", made by `examples/results.py`),
/// at 2-3 times the synthesis time. On profiles of 150-1000 requests
/// (families of 20 members, 3 splits, 4 deadlines; `examples/family_eval.py
/// ... max_classes=16`) 16 classes moved the cost by at most 0.15 points and
/// no MISSED count, at up to 3.5 times the synthesis time (the pipeline):
/// so 8 there, as before.
pub(crate) fn auto_max(data: &Data, percentile: f64) -> usize {
    let per_class = LATE_BINDING_SAMPLES * samples_needed(percentile);
    let requests = data.keyed.as_ref().map_or(0, |k| k.len());
    (requests / per_class.max(1)).clamp(AUTO_CLASSES.0, AUTO_CLASSES.1)
}

/// One point of the regression: features, target, weight, and the
/// (stage, option) entry it counts for (`None` for a keyed request).
struct Point {
    x: Vec<f64>,
    y: f64,
    w: f64,
    entry: Option<usize>,
}

/// A threshold `t` with `below < t <= above` (a class takes `x < t`): the
/// midpoint where it lies strictly above `below`, else `above` itself. Halves
/// are summed so that values near `f64::MAX` do not overflow, and between
/// neighbouring doubles the midpoint rounds to `below`, which would leave
/// one side of the split empty.
fn threshold_between(below: f64, above: f64) -> f64 {
    let mid = below / 2.0 + above / 2.0;
    if mid > below && mid <= above {
        mid
    } else {
        above
    }
}

/// The best split of a node: (gain, feature, threshold).
type Split = (f64, usize, f64);

/// A node of the growth tree: its points, and its split (feature,
/// threshold, child below, child above) once split.
type GrowthNode = (Vec<usize>, Option<(usize, f64, usize, usize)>);

struct Grower {
    points: Vec<Point>,
    entries: usize,
    min_count: usize,
    dims: usize,
}

impl Grower {
    /// Count constraint: every entry (or the requests) on both sides.
    fn best_split(&self, idx: &[usize], ys: &[f64]) -> Option<Split> {
        let total: Vec<usize> = self.counts(idx);
        let (sw, sy): (f64, f64) =
            idx.iter().fold((0.0, 0.0), |(a, b), &i| (a + self.points[i].w, b + self.points[i].w * ys[i]));
        let base = sy * sy / sw.max(1e-300);
        let mut best: Option<Split> = None;
        for d in 0..self.dims {
            let mut order = idx.to_vec();
            order.sort_by(|&a, &b| self.points[a].x[d].total_cmp(&self.points[b].x[d]));
            let mut left = vec![0usize; total.len()];
            let slots = total.len();
            let (mut ok_left, mut bad_right) = (0usize, 0usize);
            let (mut lw, mut ly) = (0.0, 0.0);
            for (k, &i) in order.iter().enumerate().take(order.len() - 1) {
                let p = &self.points[i];
                let e = p.entry.unwrap_or(0);
                left[e] += 1;
                if left[e] == self.min_count {
                    ok_left += 1;
                }
                if left[e] + self.min_count == total[e] + 1 {
                    bad_right += 1;
                }
                lw += p.w;
                ly += p.w * ys[i];
                let next = self.points[order[k + 1]].x[d];
                if next <= p.x[d] || ok_left < slots || bad_right > 0 {
                    continue;
                }
                let (rw, ry) = (sw - lw, sy - ly);
                let gain = ly * ly / lw.max(1e-300) + ry * ry / rw.max(1e-300) - base;
                if best.is_none_or(|b| gain > b.0) {
                    best = Some((gain, d, threshold_between(p.x[d], next)));
                }
            }
        }
        best
    }

    fn counts(&self, idx: &[usize]) -> Vec<usize> {
        let mut c = vec![0usize; self.entries.max(1)];
        for &i in idx {
            c[self.points[i].entry.unwrap_or(0)] += 1;
        }
        c
    }

    /// The node's best split if it beats chance (permutation test), else None.
    fn accepted_split(&self, idx: &[usize], seed: u64, min_gain: f64) -> Option<Split> {
        let ys: Vec<f64> = self.points.iter().map(|p| p.y).collect();
        let best = self.best_split(idx, &ys)?;
        if best.0 < min_gain {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Permute targets within each entry (among the node's samples of it).
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); self.entries.max(1)];
        for &i in idx {
            groups[self.points[i].entry.unwrap_or(0)].push(i);
        }
        let mut perm = ys.clone();
        for _ in 0..PERMUTATIONS {
            for g in &groups {
                let mut vals: Vec<f64> = g.iter().map(|&i| ys[i]).collect();
                vals.shuffle(&mut rng);
                for (&i, v) in g.iter().zip(vals) {
                    perm[i] = v;
                }
            }
            if self.best_split(idx, &perm).is_some_and(|p| p.0 >= best.0) {
                return None;
            }
        }
        Some(best)
    }
}

/// The regression points: one per keyed request, else one per sample.
fn points(data: &Data) -> Option<(Vec<Point>, usize)> {
    if !data.featured {
        return None;
    }
    // Stage weights: share of the run time at each stage's fastest option.
    let means = data.mean_latency();
    let fastest = data.fastest();
    let stage_time: Vec<f64> = means.iter().zip(&fastest).map(|(m, &f)| m[f].max(1e-9)).collect();
    let total: f64 = stage_time.iter().sum();
    let gm = |lat: &[f64]| {
        let logs: Vec<f64> = lat.iter().map(|x| x.max(1e-9).ln()).collect();
        crate::stats::mean(&logs)
    };
    if let Some(r) = &data.keyed {
        let mut pts = Vec::new();
        let centres: Vec<Vec<f64>> = data.entries.iter().map(|per| per.iter().map(|e| gm(&e.lat)).collect()).collect();
        for (i, f) in r.features.iter().enumerate() {
            let Some(x) = f else { continue };
            let mut y = 0.0;
            for (s, per) in r.latency[i].iter().enumerate() {
                let ws = stage_time[s] / total / per.len() as f64;
                for (o, lat) in per.iter().enumerate() {
                    y += ws * (gm(lat) - centres[s][o]);
                }
            }
            pts.push(Point { x: x.clone(), y, w: 1.0, entry: None });
        }
        return Some((pts, 1));
    }
    let mut pts = Vec::new();
    let mut e = 0;
    for (s, per) in data.entries.iter().enumerate() {
        for en in per {
            let c = gm(&en.lat);
            let ws = stage_time[s] / total / per.len() as f64 / en.lat.len() as f64;
            for (l, x) in en.lat.iter().zip(en.feats.as_ref()?) {
                pts.push(Point { x: x.clone(), y: l.max(1e-9).ln() - c, w: ws, entry: Some(e) });
            }
            e += 1;
        }
    }
    Some((pts, e))
}

/// The nested classifiers: `[one class, two classes, ...]`, at most
/// `max_classes` classes; just `[one class]` when the profile carries no
/// request features or no split is worth it.
pub(crate) fn candidates(data: &Data, max_classes: usize, min_class_samples: usize) -> Vec<Classifier> {
    let names = data.wf.features().to_vec();
    let mut out = vec![Classifier::single(names.clone())];
    let Some((pts, entries)) = points(data) else { return out };
    let g = Grower { dims: names.len(), points: pts, entries, min_count: min_class_samples.max(1) };
    let all: Vec<usize> = (0..g.points.len()).collect();
    let ys: Vec<f64> = g.points.iter().map(|p| p.y).collect();
    let (sw, sy) = all.iter().fold((0.0, 0.0), |(a, b), &i| (a + g.points[i].w, b + g.points[i].w * ys[i]));
    let root_sse: f64 = all.iter().map(|&i| g.points[i].w * (ys[i] - sy / sw).powi(2)).sum();
    let min_gain = MIN_GAIN_SHARE * root_sse;
    // Growth tree: (points, split into children) per node.
    let mut nodes: Vec<GrowthNode> = vec![(all, None)];
    let mut pending: Vec<(usize, Option<Split>)> = vec![(0, g.accepted_split(&nodes[0].0, 0, min_gain))];
    while out.len() < max_classes {
        let Some(pos) = pending
            .iter()
            .enumerate()
            .filter_map(|(k, (_, s))| s.map(|s| (k, s.0)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| k)
        else {
            break;
        };
        let (node, split) = pending.swap_remove(pos);
        let (_, d, t) = split.expect("filtered above");
        let (lo, hi): (Vec<usize>, Vec<usize>) = nodes[node].0.iter().partition(|&&i| g.points[i].x[d] < t);
        let (a, b) = (nodes.len(), nodes.len() + 1);
        nodes[node].1 = Some((d, t, a, b));
        nodes.push((lo, None));
        nodes.push((hi, None));
        pending.push((a, g.accepted_split(&nodes[a].0, a as u64, min_gain)));
        pending.push((b, g.accepted_split(&nodes[b].0, b as u64, min_gain)));
        out.push(classifier(&nodes, &names));
    }
    out
}

/// The growth tree as a [`Classifier`]: nodes renumbered depth first
/// (children after their parent), leaves numbered left to right.
fn classifier(nodes: &[GrowthNode], names: &[String]) -> Classifier {
    let mut out: Vec<Node> = Vec::new();
    let mut leaves = 0;
    fn visit(nodes: &[GrowthNode], i: usize, out: &mut Vec<Node>, leaves: &mut usize) -> usize {
        let me = out.len();
        match nodes[i].1 {
            None => {
                out.push(Node::Leaf { class: *leaves });
                *leaves += 1;
            }
            Some((feature, threshold, a, b)) => {
                out.push(Node::Leaf { class: usize::MAX });
                let below = visit(nodes, a, out, leaves);
                let above = visit(nodes, b, out, leaves);
                out[me] = Node::Split { feature, threshold, below, above };
            }
        }
        me
    }
    visit(nodes, 0, &mut out, &mut leaves);
    Classifier { features: names.to_vec(), nodes: out }
}

#[cfg(test)]
mod tests {
    use super::threshold_between;

    #[test]
    fn a_threshold_always_parts_the_two_values() {
        for (a, b) in [
            (1.0, 3.0),
            (0.7, 0.1 * 7.0),          // neighbouring doubles: the midpoint rounds to 0.7
            (1.0e308, 1.7e308),        // their sum overflows
            (-1.7e308, 1.7e308),       // their difference overflows
            (-0.0, f64::MIN_POSITIVE), // the smallest step above zero
        ] {
            assert!(a < b, "{a} < {b}");
            let t = threshold_between(a, b);
            assert!(a < t && b >= t, "{a} < {t} <= {b}");
        }
        assert_eq!(threshold_between(1.0, 3.0), 2.0);
    }
}
