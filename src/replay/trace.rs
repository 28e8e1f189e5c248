//! Where replayed latencies come from: held-out samples per (stage, option),
//! drawn per run with a stated coupling across sizes.

use super::ReplayError;
use crate::model::Workflow;
use crate::profile::Profile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt;
use std::str::FromStr;

/// How one execution's latencies at different sizes relate, when the trace
/// measured each size in separate runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coupling {
    /// One uniform quantile `u` per (run, stage, fan-out instance) maps to the
    /// `u`-quantile of every size's samples (comonotone: a slow input is slow
    /// at every size).
    #[default]
    Rank,
    /// An independent draw per size.
    Independent,
}

impl fmt::Display for Coupling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Coupling::Rank => "rank",
            Coupling::Independent => "independent",
        })
    }
}

impl FromStr for Coupling {
    type Err = ReplayError;
    fn from_str(s: &str) -> Result<Self, ReplayError> {
        match s {
            "rank" => Ok(Coupling::Rank),
            "independent" => Ok(Coupling::Independent),
            other => Err(ReplayError::UnknownCoupling(other.to_string())),
        }
    }
}

/// Sorted samples of one (stage, option), with the feature of each sample.
#[derive(Debug, Clone)]
struct Column {
    sorted: Vec<f64>,
    features: Option<Vec<f64>>,
}

impl Column {
    /// Empirical `u`-quantile, `u` in `[0, 1)`: every sample equally likely.
    fn index(&self, u: f64) -> usize {
        ((u * self.sorted.len() as f64) as usize).min(self.sorted.len() - 1)
    }

    /// The `u`-quantile among the samples whose input feature is nearest to
    /// `f` (the nearest eighth of the samples, at least one): the latency of
    /// an input like this run's, at this size. Without it, a run's input
    /// class would be drawn at one size and its latency at another size from
    /// any input.
    fn index_near(&self, u: f64, f: f64) -> usize {
        let Some(feats) = &self.features else { return self.index(u) };
        let dist: Vec<f64> = feats.iter().map(|x| (x - f).abs()).collect();
        let k = (feats.len() / 8).max(1);
        let mut sorted_dist = dist.clone();
        sorted_dist.sort_by(f64::total_cmp);
        let radius = sorted_dist[k - 1];
        // `sorted` is ordered by latency, so the kept indices are too.
        let near: Vec<usize> = (0..feats.len()).filter(|&i| dist[i] <= radius).collect();
        near[((u * near.len() as f64) as usize).min(near.len() - 1)]
    }
}

/// One drawn execution: for every stage and option, the stage latency (max
/// over fan-out instances) and busy time (sum over instances), in ms.
#[derive(Debug, Clone, Default)]
pub struct RunDraw {
    pub latency: Vec<Vec<f64>>,
    pub busy: Vec<Vec<f64>>,
    /// The input feature of each featured stage (`None` elsewhere).
    pub feature: Vec<Option<f64>>,
}

/// Samples of every (stage, option) of a workflow, ready to draw from.
#[derive(Debug, Clone)]
pub struct TraceSource {
    columns: Vec<Vec<Column>>,
    fanout: Vec<u32>,
    coupling: Coupling,
}

/// Check that the profile and the workflow describe the same functions.
pub fn check_profile(wf: &Workflow, profile: &Profile) -> Result<(), ReplayError> {
    for f in profile.functions() {
        if wf.stage_index(f).is_none() {
            let known = wf.stages().iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(ReplayError::StageAbsent { stage: f.to_string(), workflow: wf.name().to_string(), known });
        }
    }
    for st in wf.stages() {
        for s in &st.options {
            if profile.get(&st.name, s).is_none() {
                return Err(ReplayError::MissingSize { function: st.name.clone(), size: s.to_string() });
            }
        }
    }
    Ok(())
}

/// Split a profile in measurement order (first `fraction` for fitting, the
/// rest for replay), with a replay error naming the entry that is too small.
pub fn split_profile(profile: &Profile, fraction: f64) -> Result<(Profile, Profile), ReplayError> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(ReplayError::BadOption { what: "split", why: "in (0, 1)", value: fraction.to_string() });
    }
    for (f, s, v) in profile.iter() {
        let n = v.latencies.len();
        let k = ((n as f64) * fraction).round() as usize;
        if k == 0 || k >= n {
            return Err(ReplayError::TooFewToSplit {
                function: f.to_string(),
                size: s.to_string(),
                count: n,
                fraction,
            });
        }
    }
    profile.split(fraction).map_err(|why| ReplayError::BadOption {
        what: "split",
        why: "possible on this profile",
        value: why,
    })
}

impl TraceSource {
    pub fn new(wf: &Workflow, profile: &Profile, coupling: Coupling) -> Result<Self, ReplayError> {
        check_profile(wf, profile)?;
        let mut columns = Vec::with_capacity(wf.stages().len());
        for st in wf.stages() {
            let mut cols = Vec::with_capacity(st.options.len());
            for s in &st.options {
                let smp = profile.get(&st.name, s).expect("checked above");
                let mut order: Vec<usize> = (0..smp.latencies.len()).collect();
                order.sort_by(|&a, &b| smp.latencies[a].total_cmp(&smp.latencies[b]));
                cols.push(Column {
                    sorted: order.iter().map(|&i| smp.latencies[i]).collect(),
                    features: smp.features.as_ref().map(|f| order.iter().map(|&i| f[i]).collect()),
                });
            }
            columns.push(cols);
        }
        Ok(TraceSource { columns, fanout: wf.stages().iter().map(|s| s.fanout).collect(), coupling })
    }

    pub fn coupling(&self) -> Coupling {
        self.coupling
    }

    /// Draw run number `run`: deterministic in (`seed`, `run`) whatever the
    /// order in which runs are drawn (one ChaCha stream per run).
    pub fn draw(&self, seed: u64, run: u64, feature_stages: &[bool]) -> RunDraw {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(run);
        let mut d = RunDraw {
            latency: Vec::with_capacity(self.columns.len()),
            busy: Vec::with_capacity(self.columns.len()),
            feature: vec![None; self.columns.len()],
        };
        for (i, cols) in self.columns.iter().enumerate() {
            let n = self.fanout[i];
            let mut lat = vec![0.0f64; cols.len()];
            let mut busy = vec![0.0f64; cols.len()];
            // A featured stage's input is drawn once per run (from the first
            // option's samples); every size then draws among inputs like it.
            let featured = feature_stages.get(i).copied().unwrap_or(false);
            let input = if featured {
                let c = &cols[0];
                let u: f64 = rng.gen();
                c.features.as_ref().map(|f| f[c.index(u)])
            } else {
                None
            };
            d.feature[i] = input;
            for _ in 0..n {
                let u: f64 = rng.gen();
                for (j, c) in cols.iter().enumerate() {
                    let uj = match (self.coupling, j) {
                        (Coupling::Rank, _) | (Coupling::Independent, 0) => u,
                        (Coupling::Independent, _) => rng.gen(),
                    };
                    let k = match input {
                        Some(f) => c.index_near(uj, f),
                        None => c.index(uj),
                    };
                    let x = c.sorted[k];
                    lat[j] = lat[j].max(x);
                    busy[j] += x;
                }
            }
            d.latency.push(lat);
            d.busy.push(busy);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostModel, Size, Slo, Stage};

    fn wf() -> Workflow {
        let opts = vec![Size::new(1000, 1024), Size::new(2000, 2048)];
        Workflow::chain(
            "t",
            Slo { deadline_ms: 100.0, percentile: 0.9 },
            CostModel::default(),
            vec![Stage { name: "a".into(), options: opts, fanout: 3, feature: None }],
        )
        .unwrap()
    }

    fn profile() -> Profile {
        let mut p = Profile::new();
        p.add("a", Size::new(1000, 1024), (1..=100).map(f64::from).collect(), None).unwrap();
        p.add("a", Size::new(2000, 2048), (1..=100).map(|x| f64::from(x) / 2.0).collect(), None).unwrap();
        p
    }

    #[test]
    fn rank_coupling_is_comonotone_and_fanout_takes_max_and_sum() {
        let t = TraceSource::new(&wf(), &profile(), Coupling::Rank).unwrap();
        for run in 0..50 {
            let d = t.draw(7, run, &[false]);
            assert!((d.latency[0][0] - 2.0 * d.latency[0][1]).abs() < 1e-9);
            assert!(d.busy[0][0] >= d.latency[0][0] && d.busy[0][0] <= 3.0 * d.latency[0][0]);
        }
    }

    #[test]
    fn a_featured_stage_draws_latencies_of_inputs_like_the_runs_at_every_size() {
        // Small inputs (feature 1) take 10-19 ms at 1000m; large ones (feature
        // 10) 100-190 ms. At 2000m, half that. Independent coupling must still
        // keep each run's input class at both sizes.
        let mut p = Profile::new();
        let feat: Vec<f64> = (0..40).map(|i| if i % 2 == 0 { 1.0 } else { 10.0 }).collect();
        let lat: Vec<f64> = feat.iter().enumerate().map(|(i, f)| f * (10.0 + (i % 10) as f64)).collect();
        p.add("a", Size::new(1000, 1024), lat.clone(), Some(feat.clone())).unwrap();
        p.add("a", Size::new(2000, 2048), lat.iter().map(|x| x / 2.0).collect(), Some(feat)).unwrap();
        let mut w = wf();
        w = Workflow::chain(
            "t",
            w.slo(),
            *w.cost_model(),
            vec![Stage { feature: Some("kb".into()), fanout: 1, ..w.stages()[0].clone() }],
        )
        .unwrap();
        let t = TraceSource::new(&w, &p, Coupling::Independent).unwrap();
        let (mut small, mut large) = (0, 0);
        for run in 0..400 {
            let d = t.draw(3, run, &[true]);
            let f = d.feature[0].expect("featured stage has its input's feature");
            let (lo, hi) = if f < 5.0 { (10.0, 19.0) } else { (100.0, 190.0) };
            assert!((lo..=hi).contains(&d.latency[0][0]), "run {run}: feature {f}, {}", d.latency[0][0]);
            assert!((lo / 2.0..=hi / 2.0).contains(&d.latency[0][1]), "run {run}: feature {f}");
            if f < 5.0 {
                small += 1
            } else {
                large += 1
            }
        }
        assert!(small > 150 && large > 150, "{small} small, {large} large");
    }

    #[test]
    fn draws_are_deterministic_per_run() {
        let t = TraceSource::new(&wf(), &profile(), Coupling::Independent).unwrap();
        let a = t.draw(1, 42, &[false]);
        let _ = t.draw(1, 41, &[false]);
        let b = t.draw(1, 42, &[false]);
        assert_eq!(a.latency, b.latency);
        assert_ne!(t.draw(2, 42, &[false]).latency, a.latency);
    }

    #[test]
    fn bad_profiles_are_named() {
        let mut p = profile();
        p.add("ghost", Size::new(1000, 1024), vec![1.0], None).unwrap();
        let e = TraceSource::new(&wf(), &p, Coupling::Rank).unwrap_err().to_string();
        assert!(e.contains("'ghost'") && e.contains("absent"), "{e}");
        let mut p = Profile::new();
        p.add("a", Size::new(1000, 1024), vec![1.0, 2.0], None).unwrap();
        let e = TraceSource::new(&wf(), &p, Coupling::Rank).unwrap_err().to_string();
        assert!(e.contains("2000m/2048Mi"), "{e}");
        let e = split_profile(&p, 0.5).unwrap(); // 2 samples split 1/1
        assert_eq!(e.0.len(), 1);
        let mut p = Profile::new();
        p.add("a", Size::new(1000, 1024), vec![1.0], None).unwrap();
        let e = split_profile(&p, 0.5).unwrap_err().to_string();
        assert!(e.contains("too few") && e.contains("'a'"), "{e}");
    }
}
