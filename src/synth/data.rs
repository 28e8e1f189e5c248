//! The profile as synthesis sees it: every (stage, option)'s samples with
//! their request features, histograms of any subset of requests (an input
//! class), and the keyed requests replayed exactly (the empirical check).

use super::grid::{bandwidth, histogram, max_of, Models, Policy, StageDist};
use super::SynthError;
use crate::hints::Classifier;
use crate::model::Workflow;
use crate::profile::{KeyedRequests, Profile};
use rayon::prelude::*;

/// Samples of one (stage, option).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub lat: Vec<f64>,
    pub feats: Option<Vec<Vec<f64>>>,
}

impl Entry {
    /// The latencies of the samples in class `k` of `c` (all of them
    /// without classes); None when the samples carry no features to classify.
    pub fn in_class(&self, classes: Option<(&Classifier, usize)>) -> Option<Vec<f64>> {
        match (classes, &self.feats) {
            (None, _) => Some(self.lat.clone()),
            (Some((c, k)), Some(f)) => {
                Some(self.lat.iter().zip(f).filter(|(_, x)| c.class_of(x) == k).map(|(&l, _)| l).collect())
            }
            (Some(_), None) => None,
        }
    }
}

pub(crate) struct Data<'a> {
    pub wf: &'a Workflow,
    /// `entries[stage][option]`.
    pub entries: Vec<Vec<Entry>>,
    pub keyed: Option<KeyedRequests>,
    /// Every entry carries the workflow's request features (so classes can split them).
    pub featured: bool,
}

impl<'a> Data<'a> {
    pub fn new(wf: &'a Workflow, profile: &Profile) -> Result<Data<'a>, SynthError> {
        profile.check_covers(wf)?;
        let mut entries = Vec::with_capacity(wf.stages().len());
        for st in wf.stages() {
            let mut per = Vec::with_capacity(st.options.len());
            for size in &st.options {
                let s = profile.require(&st.name, size)?;
                per.push(Entry { lat: s.latencies.clone(), feats: s.features.clone() });
            }
            entries.push(per);
        }
        let featured = !wf.features().is_empty() && entries.iter().flatten().all(|e| e.feats.is_some());
        let keyed = profile.keyed_requests(wf)?;
        Ok(Data { wf, entries, keyed, featured })
    }

    /// Mean latency of every option of every stage, on all samples.
    pub fn mean_latency(&self) -> Vec<Vec<f64>> {
        self.entries.iter().map(|per| per.iter().map(|e| crate::stats::mean(&e.lat)).collect()).collect()
    }

    /// Per stage, the option with the lowest mean latency (ties: more CPU).
    pub fn fastest(&self) -> Vec<usize> {
        let means = self.mean_latency();
        self.wf
            .stages()
            .iter()
            .zip(&means)
            .map(|(st, m)| {
                (0..st.options.len())
                    .min_by(|&a, &b| {
                        m[a].total_cmp(&m[b]).then(st.options[b].cpu_millis.cmp(&st.options[a].cpu_millis))
                    })
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Per stage, the option with the least expected cost (ties: faster).
    pub fn cheapest(&self) -> Vec<usize> {
        let means = self.mean_latency();
        let cm = self.wf.cost_model();
        self.wf
            .stages()
            .iter()
            .zip(&means)
            .map(|(st, m)| {
                let cost = |o: usize| cm.rate(&st.options[o]) * m[o];
                (0..st.options.len())
                    .min_by(|&a, &b| cost(a).total_cmp(&cost(b)).then(m[a].total_cmp(&m[b])))
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The models of the requests in class `class` of `classes` (all
    /// requests without classes), on the grid of `buckets` buckets.
    pub fn models(
        &self,
        buckets: usize,
        smoothing: f64,
        classes: Option<(&Classifier, usize)>,
    ) -> Result<Models, SynthError> {
        let dt = self.wf.slo().deadline_ms / buckets as f64;
        let cm = self.wf.cost_model();
        // Stages are independent: their histograms are built in parallel.
        let dists: Vec<Vec<StageDist>> = self
            .wf
            .stages()
            .par_iter()
            .zip(&self.entries)
            .enumerate()
            .map(|(s, (st, per))| {
                let mut row = Vec::with_capacity(per.len());
                for (o, (size, e)) in st.options.iter().zip(per).enumerate() {
                    let Some(sel) = e.in_class(classes) else {
                        return Err(SynthError::Features(format!(
                            "stage '{}' at size {size} has samples without request features",
                            st.name
                        )));
                    };
                    if sel.is_empty() {
                        return Err(SynthError::Features(format!(
                            "stage '{}' at size {size} has no samples in input class {}",
                            st.name,
                            classes.map_or(0, |(_, k)| k)
                        )));
                    }
                    let cost = f64::from(st.fanout) * cm.rate(size) * crate::stats::mean(&sel) / 1000.0;
                    let bins = match self.run_maxima(s, o, st.fanout, classes) {
                        Some(maxima) => histogram(&maxima, dt, buckets, bandwidth(&maxima, smoothing)),
                        None => max_of(&histogram(&sel, dt, buckets, bandwidth(&sel, smoothing)), st.fanout),
                    };
                    row.push(StageDist { bins, cost });
                }
                Ok(row)
            })
            .collect::<Result<_, _>>()?;
        Ok(Models::build(self.wf, &dists, buckets, dt))
    }

    /// A fan-out stage's latency per run, the maximum over its `fanout`
    /// instances, from the keyed requests of `classes` (all without) at
    /// option `o` of stage `s`, as the replay of those requests takes it
    /// (a request's samples round-robin: `KeyedRequests::sample`); None for
    /// one instance or an unkeyed profile. The instances of one request run
    /// on its input, so they are slow together: the maximum of `fanout`
    /// independent draws from all samples (the unkeyed model) puts the tail
    /// too far right (a stage of 7 instances measured missing its deadline
    /// in 0.9 % of runs was modelled at 3.4 %, and called infeasible). A
    /// request measured on fewer instances than `fanout` (`janus profile`
    /// measures one call per request and size) counts its instances as
    /// slow together, as the runtime runs them on the same input.
    fn run_maxima(&self, s: usize, o: usize, fanout: u32, classes: Option<(&Classifier, usize)>) -> Option<Vec<f64>> {
        let r = self.keyed.as_ref().filter(|_| fanout > 1)?;
        let in_class = |i: usize| match (classes, &r.features[i]) {
            (None, _) => true,
            (Some((c, k)), Some(x)) => c.class_of(x) == k,
            (Some(_), None) => false,
        };
        let maxima: Vec<f64> = (0..r.len())
            .filter(|&i| in_class(i))
            .flat_map(|i| {
                (0..r.repetitions(i))
                    .map(move |rep| (0..fanout as usize).map(|j| r.sample(i, s, o, rep, j)).fold(0.0, f64::max))
            })
            .collect();
        (!maxima.is_empty()).then_some(maxima)
    }

    /// Share of the requests in each class: of the keyed requests when there
    /// are, else the mean over (stage, option) of the share of its samples.
    pub fn weights(&self, c: &Classifier) -> Vec<f64> {
        let k = c.count();
        let mut w = vec![0.0; k];
        if let Some(r) = &self.keyed {
            let with: Vec<&Vec<f64>> = r.features.iter().flatten().collect();
            for x in &with {
                w[c.class_of(x)] += 1.0 / with.len().max(1) as f64;
            }
            return w;
        }
        let all: Vec<&Vec<Vec<f64>>> = self.entries.iter().flatten().filter_map(|e| e.feats.as_ref()).collect();
        for f in &all {
            for x in f.iter() {
                w[c.class_of(x)] += 1.0 / (f.len().max(1) * all.len().max(1)) as f64;
            }
        }
        w
    }

    /// The keyed requests as executions on the grid (the empirical check).
    pub fn empirical(&self, buckets: usize) -> Option<Empirical> {
        let r = self.keyed.as_ref()?;
        let dt = self.wf.slo().deadline_ms / buckets as f64;
        let cm = self.wf.cost_model();
        let mut runs = Vec::new();
        for i in 0..r.len() {
            for rep in 0..r.repetitions(i) {
                let mut bins = Vec::with_capacity(self.entries.len());
                let mut cost = Vec::with_capacity(self.entries.len());
                for (s, st) in self.wf.stages().iter().enumerate() {
                    let (mut b_row, mut c_row) = (Vec::new(), Vec::new());
                    for (o, size) in st.options.iter().enumerate() {
                        let (mut lat, mut busy) = (0.0f64, 0.0);
                        for j in 0..st.fanout as usize {
                            let x = r.sample(i, s, o, rep, j);
                            lat = lat.max(x);
                            busy += x;
                        }
                        b_row.push(to_bins(lat, dt, buckets));
                        c_row.push(cm.rate(size) * busy / 1000.0);
                    }
                    bins.push(b_row);
                    cost.push(c_row);
                }
                runs.push(EmpiricalRun { features: r.features[i].clone(), bins, cost });
            }
        }
        Some(Empirical { runs })
    }
}

/// A latency in buckets of `dt`, rounded up; `buckets + 1` is past the deadline.
pub(crate) fn to_bins(lat: f64, dt: f64, buckets: usize) -> u32 {
    let v = lat / dt - 1e-9;
    if v <= 0.0 {
        0
    } else {
        v.ceil().min((buckets + 1) as f64) as u32
    }
}

/// One keyed execution on the grid.
#[derive(Debug, Clone)]
pub(crate) struct EmpiricalRun {
    pub features: Option<Vec<f64>>,
    /// `bins[stage][option]`: the stage's latency in buckets (rounded up; `buckets + 1` = past the deadline).
    bins: Vec<Vec<u32>>,
    /// `cost[stage][option]`: its cost (all fan-out instances).
    cost: Vec<Vec<f64>>,
}

impl EmpiricalRun {
    pub fn new(features: Option<Vec<f64>>, bins: Vec<Vec<u32>>, cost: Vec<Vec<f64>>) -> EmpiricalRun {
        EmpiricalRun { features, bins, cost }
    }

    /// The same run with stage `s` replaced by (`bins`, `cost`) per option.
    pub fn with_stage(&self, s: usize, bins: Vec<u32>, cost: Vec<f64>) -> EmpiricalRun {
        let mut run = self.clone();
        run.bins[s] = bins;
        run.cost[s] = cost;
        run
    }

    /// The class of `c` this run belongs to (class 0 without features).
    pub fn class(&self, c: &Classifier) -> usize {
        self.features.as_ref().map_or(0, |x| c.class_of(x))
    }
}

/// The keyed requests of the profile, replayed exactly on the grid.
#[derive(Debug, Clone)]
pub(crate) struct Empirical {
    pub runs: Vec<EmpiricalRun>,
}

impl Empirical {
    /// Run `r`'s latency (buckets) at joint option `o` of block `i`.
    pub fn block_bins(&self, r: usize, models: &Models, i: usize, o: usize) -> u32 {
        let blk = &models.blocks[i];
        blk.stages.iter().enumerate().map(|(m, &s)| self.runs[r].bins[s][blk.digit(o, m)]).max().unwrap_or(0)
    }

    /// The budget run `r` reaches each block with under `policy` (None once late).
    pub fn reached(&self, r: usize, models: &Models, policy: &Policy) -> Vec<Option<usize>> {
        let mut b = models.b_max as i64;
        let mut out = Vec::with_capacity(models.blocks.len());
        for (i, row) in policy.iter().enumerate().take(models.blocks.len()) {
            if b < 0 {
                out.push(None);
                continue;
            }
            out.push(Some(b as usize));
            b -= i64::from(self.block_bins(r, models, i, row[b as usize] as usize));
        }
        out
    }

    /// (cost, missed) of run `r` under `policy` with the fallbacks of `models`.
    pub fn walk(&self, r: usize, models: &Models, policy: &Policy) -> (f64, bool) {
        let run = &self.runs[r];
        let mut b = models.b_max as i64;
        let mut cost = 0.0;
        let mut missed = false;
        for (i, blk) in models.blocks.iter().enumerate() {
            let o = if missed { blk.fallback } else { policy[i][b as usize] as usize };
            let mut lat = 0u32;
            for (m, &s) in blk.stages.iter().enumerate() {
                let d = blk.digit(o, m);
                lat = lat.max(run.bins[s][d]);
                cost += run.cost[s][d];
            }
            if !missed {
                b -= i64::from(lat);
                missed = b < 0;
            }
        }
        (cost, missed)
    }
}
