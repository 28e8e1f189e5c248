//! Where replayed executions come from.
//!
//! - **Keyed** (the honest replay): when every sample carries the key of
//!   the request it was measured on, an execution is one held-out request
//!   with its measured latency at every stage and size. Nothing is drawn or
//!   coupled; every held-out request is replayed once per repetition it
//!   was measured with, and its features are the request's own.
//! - **Coupled**: samples measured separately per size (no common keys) are
//!   drawn per run with a stated [`Coupling`] across sizes; deterministic
//!   per (seed, run). A sample's features, when recorded, pair each drawn
//!   latency with requests like the run's (the nearest eighth of the
//!   samples by feature distance): an approximation, said in the notes.

use super::ReplayError;
use crate::model::Workflow;
use crate::profile::{KeyedRequests, Profile};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt;
use std::str::FromStr;

/// How one execution's latencies at different sizes relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Coupling {
    /// Keyed when the profile is keyed (every sample names its request), else rank.
    #[default]
    Auto,
    /// Held-out requests replayed exactly (the profile must be keyed).
    Keyed,
    /// One uniform quantile `u` per (run, stage, fan-out instance) maps to the
    /// `u`-quantile of every size's samples (comonotone: a slow input is slow
    /// at every size).
    Rank,
    /// An independent draw per size.
    Independent,
}

impl fmt::Display for Coupling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Coupling::Auto => "auto",
            Coupling::Keyed => "keyed",
            Coupling::Rank => "rank",
            Coupling::Independent => "independent",
        })
    }
}

impl FromStr for Coupling {
    type Err = ReplayError;
    fn from_str(s: &str) -> Result<Self, ReplayError> {
        match s {
            "auto" => Ok(Coupling::Auto),
            "keyed" => Ok(Coupling::Keyed),
            "rank" => Ok(Coupling::Rank),
            "independent" => Ok(Coupling::Independent),
            other => Err(ReplayError::UnknownCoupling(other.to_string())),
        }
    }
}

/// One execution: for every stage and option, the stage latency (max over
/// fan-out instances) and busy time (sum over instances), in ms.
#[derive(Debug, Clone, Default)]
pub struct RunDraw {
    pub latency: Vec<Vec<f64>>,
    pub busy: Vec<Vec<f64>>,
    /// The request's features (workflow order), when known.
    pub features: Option<Vec<f64>>,
    /// The request key and repetition of a keyed execution.
    pub key: Option<(String, usize)>,
}

/// Sorted samples of one (stage, option), with the feature vector of each sample.
#[derive(Debug, Clone)]
pub struct Column {
    sorted: Vec<f64>,
    features: Option<Vec<Vec<f64>>>,
}

impl Column {
    /// Empirical `u`-quantile, `u` in `[0, 1)`: every sample equally likely.
    fn index(&self, u: f64) -> usize {
        ((u * self.sorted.len() as f64) as usize).min(self.sorted.len() - 1)
    }

    /// The `u`-quantile among the samples whose features are nearest to `f`
    /// (the nearest eighth, at least one), distances scaled per feature.
    fn index_near(&self, u: f64, f: &[f64], scale: &[f64]) -> usize {
        let Some(feats) = &self.features else { return self.index(u) };
        let dist: Vec<f64> = feats
            .iter()
            .map(|x| x.iter().zip(f).zip(scale).map(|((a, b), s)| ((a - b) / s).powi(2)).sum::<f64>())
            .collect();
        let k = (feats.len() / 8).max(1);
        let mut sorted_dist = dist.clone();
        sorted_dist.sort_by(f64::total_cmp);
        let radius = sorted_dist[k - 1];
        // `sorted` is ordered by latency, so the kept indices are too.
        let near: Vec<usize> = (0..feats.len()).filter(|&i| dist[i] <= radius).collect();
        near[((u * near.len() as f64) as usize).min(near.len() - 1)]
    }
}

/// The executions of a replay.
#[derive(Debug, Clone)]
pub enum Executions {
    Keyed { requests: KeyedRequests, runs: Vec<(usize, usize)>, fanout: Vec<u32> },
    Coupled { columns: Vec<Vec<Column>>, fanout: Vec<u32>, coupling: Coupling, runs: usize, seed: u64, scale: Vec<f64> },
}

impl Executions {
    /// The executions of `profile` under `coupling` (see [`Coupling::Auto`]);
    /// `runs` and `seed` apply to coupled draws only. Also returns a note
    /// that says which source was used and why.
    pub fn new(
        wf: &Workflow,
        profile: &Profile,
        coupling: Coupling,
        runs: usize,
        seed: u64,
    ) -> Result<(Executions, String), ReplayError> {
        profile.check_covers(wf)?;
        let fanout: Vec<u32> = wf.stages().iter().map(|s| s.fanout).collect();
        let keyed = match coupling {
            Coupling::Auto | Coupling::Keyed => profile.keyed_requests(wf)?,
            _ => None,
        };
        if let Some(requests) = keyed {
            let runs: Vec<(usize, usize)> =
                (0..requests.len()).flat_map(|r| (0..requests.repetitions(r)).map(move |rep| (r, rep))).collect();
            let note = format!(
                "executions: keyed: {} held-out requests ({} executions with repetitions) replayed with their own measured \
                 latency at every stage and size, no coupling{}",
                requests.len(),
                runs.len(),
                if requests.incomplete > 0 {
                    format!("; {} requests not measured at every stage and size were left out", requests.incomplete)
                } else {
                    String::new()
                }
            );
            return Ok((Executions::Keyed { requests, runs, fanout }, note));
        }
        if coupling == Coupling::Keyed {
            return Err(ReplayError::NotKeyed);
        }
        let c = if coupling == Coupling::Auto { Coupling::Rank } else { coupling };
        let mut columns = Vec::with_capacity(wf.stages().len());
        let mut all_feats: Vec<&Vec<f64>> = Vec::new();
        for st in wf.stages() {
            let mut cols = Vec::with_capacity(st.options.len());
            for s in &st.options {
                let smp = profile.require(&st.name, s)?;
                let mut order: Vec<usize> = (0..smp.latencies.len()).collect();
                order.sort_by(|&a, &b| smp.latencies[a].total_cmp(&smp.latencies[b]));
                if let Some(f) = &smp.features {
                    all_feats.extend(f.iter());
                }
                cols.push(Column {
                    sorted: order.iter().map(|&i| smp.latencies[i]).collect(),
                    features: smp.features.as_ref().map(|f| order.iter().map(|&i| f[i].clone()).collect()),
                });
            }
            columns.push(cols);
        }
        // Feature scales for nearest-neighbour pairing: the spread of each feature.
        let dims = profile.feature_names().len();
        let scale: Vec<f64> = (0..dims)
            .map(|d| {
                let v: Vec<f64> = all_feats.iter().map(|x| x[d]).collect();
                let m = crate::stats::mean(&v);
                let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt();
                if sd > 0.0 {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        let why = match profile.keyed_entries(wf) {
            _ if coupling != Coupling::Auto => format!("{c} coupling was asked for"),
            (0, _) => "the samples carry no request keys".to_string(),
            (k, n) if k < n => format!(
                "only {k} of the workflow's {n} (stage, size) entries carry request keys (samples added without keys \
                 drop an entry's keys)"
            ),
            _ => "the profile is keyed but no request was measured at every stage and size (e.g. each size measured \
                  in separate runs)"
                .to_string(),
        };
        let featured = columns.iter().flatten().all(|c| c.features.is_some()) && dims > 0;
        let note = format!(
            "executions: {runs} drawn with {c} coupling across sizes because {why}{}",
            if featured {
                "; each drawn latency comes from the nearest eighth of the samples by request features (an approximation: keyed profiles replay exactly)"
            } else {
                ""
            }
        );
        Ok((Executions::Coupled { columns, fanout, coupling: c, runs, seed, scale }, note))
    }

    /// Number of executions.
    pub fn len(&self) -> usize {
        match self {
            Executions::Keyed { runs, .. } => runs.len(),
            Executions::Coupled { runs, .. } => *runs,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_keyed(&self) -> bool {
        matches!(self, Executions::Keyed { .. })
    }

    /// The coupling used (`Keyed` for keyed executions).
    pub fn coupling(&self) -> Coupling {
        match self {
            Executions::Keyed { .. } => Coupling::Keyed,
            Executions::Coupled { coupling, .. } => *coupling,
        }
    }

    /// Execution `run`: deterministic whatever the order executions are drawn in.
    pub fn draw(&self, run: usize) -> RunDraw {
        match self {
            Executions::Keyed { requests, runs, fanout } => {
                let (r, rep) = runs[run];
                let mut d = RunDraw {
                    latency: Vec::with_capacity(fanout.len()),
                    busy: Vec::with_capacity(fanout.len()),
                    features: requests.features[r].clone(),
                    key: Some((requests.keys[r].clone(), rep)),
                };
                for (s, &n) in fanout.iter().enumerate() {
                    let nopt = requests.latency[r][s].len();
                    let (mut lat, mut busy) = (vec![0.0f64; nopt], vec![0.0f64; nopt]);
                    for o in 0..nopt {
                        for j in 0..n as usize {
                            let x = requests.sample(r, s, o, rep, j);
                            lat[o] = lat[o].max(x);
                            busy[o] += x;
                        }
                    }
                    d.latency.push(lat);
                    d.busy.push(busy);
                }
                d
            }
            Executions::Coupled { columns, fanout, coupling, seed, scale, .. } => {
                let mut rng = ChaCha8Rng::seed_from_u64(*seed);
                rng.set_stream(run as u64);
                let mut d = RunDraw {
                    latency: Vec::with_capacity(columns.len()),
                    busy: Vec::with_capacity(columns.len()),
                    features: None,
                    key: None,
                };
                // The request's features: those of a random sample of the first stage.
                let first = &columns[0][0];
                let u: f64 = rng.gen();
                d.features = first.features.as_ref().map(|f| f[first.index(u)].clone());
                for (i, cols) in columns.iter().enumerate() {
                    let (mut lat, mut busy) = (vec![0.0f64; cols.len()], vec![0.0f64; cols.len()]);
                    for _ in 0..fanout[i] {
                        let u: f64 = rng.gen();
                        for (j, c) in cols.iter().enumerate() {
                            let uj = match (coupling, j) {
                                (Coupling::Independent, 1..) => rng.gen(),
                                _ => u,
                            };
                            let k = match &d.features {
                                Some(f) => c.index_near(uj, f, scale),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostModel, Size, Slo, Stage};
    use crate::profile::Samples;

    fn wf(fanout: u32) -> Workflow {
        let opts = vec![Size::new(1000, 1024), Size::new(2000, 2048)];
        Workflow::chain(
            "t",
            Slo { deadline_ms: 100.0, percentile: 0.9 },
            CostModel::default(),
            vec![Stage { name: "a".into(), options: opts, fanout }],
        )
        .unwrap()
    }

    fn profile() -> Profile {
        let mut p = Profile::new();
        p.add("a", Size::new(1000, 1024), Samples::new((1..=100).map(f64::from).collect())).unwrap();
        p.add("a", Size::new(2000, 2048), Samples::new((1..=100).map(|x| f64::from(x) / 2.0).collect())).unwrap();
        p
    }

    #[test]
    fn rank_coupling_is_comonotone_and_fanout_takes_max_and_sum() {
        let (t, note) = Executions::new(&wf(3), &profile(), Coupling::Auto, 50, 7).unwrap();
        assert!(note.contains("rank") && note.contains("no request keys"), "{note}");
        for run in 0..50 {
            let d = t.draw(run);
            assert!((d.latency[0][0] - 2.0 * d.latency[0][1]).abs() < 1e-9);
            assert!(d.busy[0][0] >= d.latency[0][0] && d.busy[0][0] <= 3.0 * d.latency[0][0]);
        }
    }

    #[test]
    fn keyed_executions_are_the_requests_themselves() {
        let mut p = Profile::with_features(vec!["kb".into()]);
        for (o, size) in [Size::new(1000, 1024), Size::new(2000, 2048)].into_iter().enumerate() {
            let keys: Vec<String> = (0..4).map(|i| format!("r{i}")).collect();
            let lat: Vec<f64> = (0..4).map(|i| f64::from(10 * (i + 1)) / (o + 1) as f64).collect();
            let feats: Vec<Vec<f64>> = (0..4).map(|i| vec![f64::from(i)]).collect();
            p.add("a", size, Samples::new(lat).with_keys(keys).with_features(feats)).unwrap();
        }
        let (t, note) = Executions::new(&wf(1), &p, Coupling::Auto, 999, 0).unwrap();
        assert!(note.starts_with("executions: keyed: 4 held-out requests"), "{note}");
        assert_eq!(t.len(), 4);
        for run in 0..4 {
            let d = t.draw(run);
            let (key, rep) = d.key.clone().unwrap();
            let i: f64 = key[1..].parse().unwrap();
            assert_eq!(rep, 0);
            assert_eq!(d.features, Some(vec![i]));
            assert_eq!(d.latency[0], vec![10.0 * (i + 1.0), 5.0 * (i + 1.0)]);
        }
        assert!(matches!(Executions::new(&wf(1), &profile(), Coupling::Keyed, 1, 0), Err(ReplayError::NotKeyed)));
    }

    #[test]
    fn draws_are_deterministic_per_run() {
        let (t, _) = Executions::new(&wf(1), &profile(), Coupling::Independent, 100, 1).unwrap();
        let a = t.draw(42);
        let _ = t.draw(41);
        assert_eq!(a.latency, t.draw(42).latency);
        let (t2, _) = Executions::new(&wf(1), &profile(), Coupling::Independent, 100, 2).unwrap();
        assert_ne!(t2.draw(42).latency, a.latency);
    }

    #[test]
    fn bad_profiles_are_named() {
        let mut p = profile();
        p.add("ghost", Size::new(1000, 1024), Samples::new(vec![1.0])).unwrap();
        let e = Executions::new(&wf(1), &p, Coupling::Rank, 1, 0).unwrap_err().to_string();
        assert!(e.contains("'ghost'"), "{e}");
        let mut p = Profile::new();
        p.add("a", Size::new(1000, 1024), Samples::new(vec![1.0, 2.0])).unwrap();
        let e = Executions::new(&wf(1), &p, Coupling::Rank, 1, 0).unwrap_err().to_string();
        assert!(e.contains("2000m/2048Mi"), "{e}");
    }
}
