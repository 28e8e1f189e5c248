//! Unkeyed profiles: a plan must not lean on independence harder than static does.
//!
//! A profile measured stage by stage holds no request's latencies at every
//! stage, so the DP takes a run's stages as independent (within an input
//! class). Where one request is slow at every stage (its input, a cold
//! cache, a busy machine), the tail of their sum is fatter than that, and a
//! late-binding plan suffers more than static sizing: it spends the budget a
//! fast start leaves and counts on the next stages to be typical, while a
//! static plan keeps whatever slack its sizes leave. On the third family's
//! members, fitted without their keys, Janus missed the SLO in 61 of 240
//! held-out splits and static in 17 (docs/results.md, "Unkeyed profiles").
//!
//! No profile without keys can say how much the stages move together, so
//! every plan is also walked through runs whose stages are slow together:
//! in full lockstep (comonotone: the run at quantile `u` takes the
//! `u`-quantile of every (stage, size)'s samples in its input class) and in
//! half lockstep (normal scores of correlation 0.5 between stages, the run's
//! quantile at a stage its score's rank there).
//! A run takes one quantile per stage at every size of it: slow at one size,
//! slow at all.
//!
//! What a late-binding plan risks there is the runs it loses that static
//! sizing keeps: it started a run small, the run was slow, and the stages
//! it counted on to make up for it were slow too. Those runs (the larger
//! share of the two couplings) are added to static's own modelled miss, and
//! the sum is held to the target like any miss: the plan may lose no more
//! runs to its gambles than static's slack under the target pays for.
//! Static's own misses there are not counted: a run slow at every stage at
//! once is one the user's static sizing loses too (in full lockstep a p95
//! static plan can miss every run above the 87th percentile of every stage
//! together, far more than any real coupling does, which is why only the
//! difference is; half lockstep is there because a real coupling, a hidden
//! cache miss that slows most stages and noise that does not, lets static
//! keep some slow runs that full lockstep says everyone loses). Where the
//! stages are in fact independent this costs part of the saving; where
//! they are not it keeps the plan from missing where static would not.
//! Keyed profiles never get here: their requests are walked as measured.

use super::data::{to_bins, Data, Empirical, EmpiricalRun};
use super::evaluate::constant_policy;
use super::grid::Models;
use crate::hints::Classifier;
use crate::model::Stage;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Runs per coupling, over all classes (split by the classes' weights).
const RUNS: usize = 1000;
/// The couplings: the correlation of a run's stages' normal scores.
const CORRELATIONS: [f64; 2] = [1.0, 0.5];

/// Runs whose stages are slow together, each with its finest class, and
/// what the static plan does on them.
pub(crate) struct Coupled {
    pub runs: Empirical,
    pub class: Vec<usize>,
    /// Per run: the static plan misses it.
    pub static_missed: Vec<bool>,
}

/// The coupled runs of every correlation, and static's modelled miss.
pub(crate) struct Lockstep {
    pub sets: Vec<Coupled>,
    /// The static plan's miss on the model (what its misses cost the target).
    pub static_model_miss: f64,
}

impl Lockstep {
    /// The coupled runs of an unkeyed profile of a workflow with more than
    /// one block in sequence (None otherwise: nothing to stress), for the
    /// finest classes `finest` of shares `weights`; what static does on them
    /// is set once static is chosen.
    pub fn new(data: &Data, finest: &Classifier, weights: &[f64], buckets: usize) -> Option<Lockstep> {
        if data.keyed.is_some() || data.wf.blocks().len() < 2 {
            return None;
        }
        let sets: Vec<Coupled> = CORRELATIONS
            .iter()
            .map(|&rho| {
                let (runs, class) = coupled(data, finest, weights, buckets, rho, RUNS);
                Coupled { runs, class, static_missed: Vec::new() }
            })
            .collect();
        sets.iter().all(|s| !s.runs.runs.is_empty()).then_some(Lockstep { sets, static_model_miss: 0.0 })
    }

    /// Records what the static plan (`choice`, one joint option per block,
    /// missing `model_miss` of the runs on the model) does on these runs.
    pub fn set_static(&mut self, models: &[Models], choice: &[usize], model_miss: f64) {
        let policy = constant_policy(&models[0], choice);
        for s in &mut self.sets {
            s.static_missed = (0..s.runs.runs.len()).map(|r| s.runs.walk(r, &models[s.class[r]], &policy).1).collect();
        }
        self.static_model_miss = model_miss;
    }

    /// What a plan that missed runs `missed[set][run]` is held to: static's
    /// modelled miss and the larger share of runs it loses that static keeps.
    pub fn miss(&self, missed: &[Vec<bool>]) -> f64 {
        let lost = self.sets.iter().zip(missed).map(|(set, m)| {
            let n = m.iter().zip(&set.static_missed).filter(|&(&m, &s)| m && !s).count();
            n as f64 / m.len().max(1) as f64
        });
        self.static_model_miss + lost.fold(0.0, f64::max)
    }

    /// Per coupling, the share of its runs the static plan misses.
    pub fn static_shares(&self) -> Vec<f64> {
        self.sets
            .iter()
            .map(|s| s.static_missed.iter().filter(|&&m| m).count() as f64 / s.static_missed.len().max(1) as f64)
            .collect()
    }
}

/// About `runs` runs (split by the classes' `weights`) whose stages'
/// quantiles are coupled with correlation `rho` (see `quantiles`), each
/// with its finest class; a class some (stage, option) has no sample of
/// gets none. Seeded: the same profile gives the same runs.
pub(crate) fn coupled(
    data: &Data,
    finest: &Classifier,
    weights: &[f64],
    buckets: usize,
    rho: f64,
    runs: usize,
) -> (Empirical, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x1a5e_5eed);
    let (mut out, mut class) = (Vec::new(), Vec::new());
    for (k, w) in weights.iter().enumerate() {
        let Some(per_stage) = class_samples(data, finest, k) else { continue };
        let n = (w * runs as f64).round() as usize;
        for u in quantiles(rho, n, per_stage.len(), &mut rng) {
            let lat = per_stage.iter().zip(&u).map(|(per, &u)| {
                per.iter().map(|v| v[((u * v.len() as f64) as usize).min(v.len() - 1)]).collect::<Vec<f64>>()
            });
            out.push(run_of(data, lat, buckets));
            class.push(k);
        }
    }
    (Empirical { runs: out }, class)
}

/// Class `k`'s samples at every (stage, option), sorted (as `Data::models`
/// selects them); None when some (stage, option) has none in it.
pub(crate) fn class_samples(data: &Data, finest: &Classifier, k: usize) -> Option<Vec<Vec<Vec<f64>>>> {
    data.entries
        .iter()
        .map(|per| {
            per.iter()
                .map(|e| {
                    let mut v = e.in_class((finest.count() > 1).then_some((finest, k)))?;
                    v.sort_by(f64::total_cmp);
                    (!v.is_empty()).then_some(v)
                })
                .collect()
        })
        .collect()
}

/// The quantile of each of `n` runs at each of `stages` stages, coupled
/// with correlation `rho`: run `j`'s normal score at stage `s` is
/// `sqrt(rho) z_j + sqrt(1 - rho) e_js`, and its quantile there is its
/// rank among the runs' scores at that stage, `(rank + 0.5) / n`. Every
/// stage sees every quantile of the grid exactly once, so the runs' share
/// above any quantile of a stage is exact (drawn quantiles would add their
/// own noise to a miss rate); only the pairing is drawn. At `rho = 1` run
/// `j` is at the `j`-th grid point at every stage (full lockstep).
fn quantiles(rho: f64, n: usize, stages: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    let z: Vec<f64> = (0..n).map(|j| if rho >= 1.0 { j as f64 } else { StandardNormal.sample(rng) }).collect();
    // Per stage, every run's quantile.
    let per_stage: Vec<Vec<f64>> = (0..stages)
        .map(|_| {
            let score: Vec<f64> = if rho >= 1.0 {
                z.clone()
            } else {
                z.iter()
                    .map(|&z| {
                        let e: f64 = StandardNormal.sample(rng);
                        rho.sqrt() * z + (1.0 - rho).sqrt() * e
                    })
                    .collect()
            };
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
            let mut u = vec![0.0; n];
            for (rank, &j) in order.iter().enumerate() {
                u[j] = (rank as f64 + 0.5) / n as f64;
            }
            u
        })
        .collect();
    (0..n).map(|j| per_stage.iter().map(|u| u[j]).collect()).collect()
}

/// The run whose stage `s` takes `lat[s][o]` ms at its option `o`.
pub(crate) fn run_of(data: &Data, lat: impl Iterator<Item = Vec<f64>>, buckets: usize) -> EmpiricalRun {
    let (bins, cost) = data.wf.stages().iter().zip(lat).map(|(st, l)| stage_row(data, st, &l, buckets)).unzip();
    EmpiricalRun::new(None, bins, cost)
}

/// One stage of a run on the grid: per option, its latency `lat[o]` in
/// buckets and its cost (every fan-out instance of the run takes as long).
pub(crate) fn stage_row(data: &Data, st: &Stage, lat: &[f64], buckets: usize) -> (Vec<u32>, Vec<f64>) {
    let dt = data.wf.slo().deadline_ms / buckets as f64;
    let cm = data.wf.cost_model();
    st.options
        .iter()
        .zip(lat)
        .map(|(size, &l)| (to_bins(l, dt, buckets), cm.rate(size) * l * f64::from(st.fanout) / 1000.0))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostModel, Size, Slo, Stage, Workflow};
    use crate::profile::{Profile, Samples};

    const SMALL: Size = Size::new(1000, 512);

    fn chain(stages: &[&str]) -> Workflow {
        let st = stages.iter().map(|n| Stage { name: (*n).into(), options: vec![SMALL], fanout: 1 }).collect();
        Workflow::chain("w", Slo { deadline_ms: 1000.0, percentile: 0.9 }, CostModel::default(), st).unwrap()
    }

    /// Run `j` of `n` takes the same quantile of every stage's samples,
    /// whatever order they were measured in: its cost is the sum of those
    /// quantiles' costs, and it is slow everywhere or nowhere.
    #[test]
    fn a_run_in_lockstep_takes_one_quantile_of_every_stage() {
        let wf = chain(&["a", "b"]);
        let a: Vec<f64> = (1..=10).map(|i| f64::from(i) * 10.0).collect(); // 10 .. 100
        let b: Vec<f64> = (1..=10).rev().map(|i| f64::from(i) * 50.0).collect(); // 500 .. 50, measured slow first
        let mut p = Profile::new();
        p.add("a", SMALL, Samples::new(a)).unwrap();
        p.add("b", SMALL, Samples::new(b)).unwrap();
        let data = Data::new(&wf, &p).unwrap();
        let finest = Classifier::single(Vec::new());
        let l = Lockstep::new(&data, &finest, &[1.0], 100).expect("unkeyed chain");
        let l = &l.sets[0];
        assert_eq!(l.runs.runs.len(), RUNS);
        let models = data.models(100, 0.0, None).unwrap();
        let policy = constant_policy(&models, &[0, 0]);
        let rate = CostModel::default().rate(&SMALL);
        for j in [0, 99, 100, 500, 999] {
            // Quantile (j + 0.5) / 400 of ten samples: the sample of rank floor(10 u).
            let rank = ((j as f64 + 0.5) / RUNS as f64 * 10.0) as usize;
            let want = rate * (10.0 + 50.0) * (rank + 1) as f64 / 1000.0;
            let (cost, _) = l.runs.walk(j, &models, &policy);
            assert!((cost - want).abs() < 1e-9, "run {j}: cost {cost}, want {want}");
        }
        // 1000 ms: the slowest tenth (100 + 500 = 600 ms) still meets it; at
        // 500 ms the runs of rank >= 8 (90 + 450) miss, independence would say fewer.
        let tight = Workflow::chain(
            "w",
            Slo { deadline_ms: 500.0, percentile: 0.9 },
            CostModel::default(),
            wf.stages().to_vec(),
        )
        .unwrap();
        let data = Data::new(&tight, &p).unwrap();
        let all = Lockstep::new(&data, &finest, &[1.0], 100).unwrap();
        let l = &all.sets[0];
        let models = data.models(100, 0.0, None).unwrap();
        let missed = (0..RUNS).filter(|&r| l.runs.walk(r, &models, &policy).1).count();
        assert_eq!(missed, RUNS / 5, "ranks 8 and 9 of 10 miss");
    }

    /// Every stage sees every grid quantile once (exact marginals); in half
    /// lockstep the stages' quantiles correlate about as normal scores of
    /// correlation 0.5 rank-correlate (6 / pi asin(0.25) = 0.483).
    #[test]
    fn half_lockstep_pairs_exact_marginals() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let grid: Vec<f64> = (0..RUNS).map(|j| (j as f64 + 0.5) / RUNS as f64).collect();
        let full = quantiles(1.0, RUNS, 3, &mut rng);
        assert!(full.iter().zip(&grid).all(|(u, &g)| u.iter().all(|&x| x == g)));
        let half = quantiles(0.5, RUNS, 3, &mut rng);
        for s in 0..3 {
            let mut col: Vec<f64> = half.iter().map(|u| u[s]).collect();
            col.sort_by(f64::total_cmp);
            assert_eq!(col, grid);
        }
        let mean = 0.5;
        let cov: f64 = half.iter().map(|u| (u[0] - mean) * (u[1] - mean)).sum::<f64>() / RUNS as f64;
        let rank_corr = cov * 12.0; // the variance of a uniform is 1/12
        assert!((rank_corr - 0.483).abs() < 0.06, "{rank_corr}");
    }

    #[test]
    fn keyed_profiles_and_single_blocks_are_not_stressed() {
        let finest = Classifier::single(Vec::new());
        let mut p = Profile::new();
        p.add("a", SMALL, Samples::new(vec![10.0, 20.0])).unwrap();
        let one = chain(&["a"]);
        assert!(Lockstep::new(&Data::new(&one, &p).unwrap(), &finest, &[1.0], 100).is_none());
        let keys: Vec<String> = vec!["r1".into(), "r2".into()];
        let mut k = Profile::new();
        for f in ["a", "b"] {
            k.add(f, SMALL, Samples { latencies: vec![10.0, 20.0], keys: Some(keys.clone()), features: None }).unwrap();
        }
        let two = chain(&["a", "b"]);
        assert!(Lockstep::new(&Data::new(&two, &k).unwrap(), &finest, &[1.0], 100).is_none());
    }
}
