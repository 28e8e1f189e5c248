//! Keyed profiles seen request by request, and random held-apart splits.
//!
//! When every sample carries the key of the request it was measured on, a
//! request measured at every (stage, option) is a complete execution: a
//! replay walks it through the workflow with its own measured latency at
//! whatever size a policy picks, and synthesis can check a policy on the
//! requests' real joint latencies instead of assuming that stages are
//! independent. Splits are random (seeded) and by request, never in
//! measurement order: a profile measured request after request would
//! otherwise hold different inputs in its two halves.

use super::{Profile, ProfileError, Samples};
use crate::model::Workflow;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

/// The requests measured at every (stage, option) of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedRequests {
    /// Request keys, sorted.
    pub keys: Vec<String>,
    /// The request's feature vector, when the samples carry features.
    pub features: Vec<Option<Vec<f64>>>,
    /// `latency[r][stage][option]`: request `r`'s samples (repetitions, in
    /// measurement order) at that stage (`wf.stages()` order) and option.
    pub latency: Vec<Vec<Vec<Vec<f64>>>>,
    /// Keys seen on some but not every (stage, option): left out.
    pub incomplete: usize,
}

impl KeyedRequests {
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
    /// Repetitions of request `r` that every (stage, option) has.
    pub fn repetitions(&self, r: usize) -> usize {
        self.latency[r].iter().flatten().map(Vec::len).min().unwrap_or(0)
    }
    /// Latency of instance `j` of stage `s` at option `o` in repetition `rep`
    /// of request `r`: the samples are used round-robin, so a fan-out of `n`
    /// instances of one request uses `n` different measurements when there are.
    pub fn sample(&self, r: usize, s: usize, o: usize, rep: usize, j: usize) -> f64 {
        let v = &self.latency[r][s][o];
        v[(rep + j) % v.len()]
    }
}

impl Profile {
    /// True when every entry's samples carry request keys.
    pub fn is_keyed(&self) -> bool {
        !self.is_empty() && self.iter().all(|(_, _, s)| s.keys.is_some())
    }

    /// Of `wf`'s (stage, option) entries in the profile: how many carry
    /// request keys, and how many there are. Samples added without keys drop
    /// their entry's keys (what they were measured on is unknown), so one
    /// such add leaves a profile partly keyed, which is used as unkeyed.
    pub fn keyed_entries(&self, wf: &Workflow) -> (usize, usize) {
        let present: Vec<&Samples> =
            wf.stages().iter().flat_map(|st| st.options.iter().filter_map(|size| self.get(&st.name, size))).collect();
        (present.iter().filter(|s| s.keys.is_some()).count(), present.len())
    }

    /// The requests measured at every (stage, option) of `wf`, or `None`
    /// when `wf`'s entries are not all keyed (or no request is complete). A
    /// request whose feature vector differs between samples is an error:
    /// features belong to the request.
    pub fn keyed_requests(&self, wf: &Workflow) -> Result<Option<KeyedRequests>, ProfileError> {
        let (keyed, entries) = self.keyed_entries(wf);
        if keyed == 0 || keyed < entries {
            return Ok(None);
        }
        self.check_covers(wf)?;
        let stages = wf.stages();
        // key -> (features, latency[stage][option])
        type Acc = (Option<Vec<f64>>, Vec<Vec<Vec<f64>>>);
        let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
        let mut all_keys: BTreeSet<&str> = BTreeSet::new();
        for (si, st) in stages.iter().enumerate() {
            for (oi, size) in st.options.iter().enumerate() {
                let s = self.require(&st.name, size)?;
                let keys = s.keys.as_ref().expect("keyed_entries checked");
                for (i, k) in keys.iter().enumerate() {
                    all_keys.insert(k);
                    let slot = acc.entry(k).or_insert_with(|| {
                        (None, stages.iter().map(|st| vec![Vec::new(); st.options.len()]).collect())
                    });
                    if let Some(f) = s.features.as_ref().map(|f| &f[i]) {
                        match &slot.0 {
                            None => slot.0 = Some(f.clone()),
                            Some(prev) if prev != f => {
                                return Err(ProfileError::InconsistentFeatures {
                                    key: k.clone(),
                                    function: st.name.clone(),
                                    size: size.to_string(),
                                    first: prev.clone(),
                                    here: f.clone(),
                                })
                            }
                            Some(_) => {}
                        }
                    }
                    slot.1[si][oi].push(s.latencies[i]);
                }
            }
        }
        let mut out = KeyedRequests { keys: Vec::new(), features: Vec::new(), latency: Vec::new(), incomplete: 0 };
        for (k, (f, lat)) in acc {
            if lat.iter().flatten().any(Vec::is_empty) {
                out.incomplete += 1;
                continue;
            }
            out.keys.push(k.to_string());
            out.features.push(f);
            out.latency.push(lat);
        }
        Ok((!out.is_empty()).then_some(out))
    }

    /// The samples whose key is in `keep` (a keyed profile's subset of requests).
    pub fn with_keys(&self, keep: &BTreeSet<String>) -> Profile {
        let mut p = Profile::with_features(self.feature_names().to_vec());
        for (f, s, v) in self.iter() {
            let Some(keys) = &v.keys else { continue };
            let idx: Vec<usize> = (0..keys.len()).filter(|&i| keep.contains(&keys[i])).collect();
            if !idx.is_empty() {
                p.entries_mut().insert((f.to_string(), *s), v.select(&idx));
            }
        }
        p
    }

    /// Every distinct request key, sorted.
    pub fn keys(&self) -> BTreeSet<String> {
        self.iter().filter_map(|(_, _, s)| s.keys.as_ref()).flatten().cloned().collect()
    }

    /// Split at random into (`fraction` for fitting, the rest held out),
    /// reproducibly from `seed`. A keyed profile is split by request (all
    /// samples of one request on the same side); otherwise every (function,
    /// size)'s samples are shuffled and split on their own. Each part must
    /// get at least one sample of every entry.
    pub fn split_random(&self, fraction: f64, seed: u64) -> Result<(Profile, Profile), ProfileError> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(ProfileError::BadSplit { fraction });
        }
        if self.is_keyed() {
            let mut keys: Vec<String> = self.keys().into_iter().collect();
            keys.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            let k = ((keys.len() as f64) * fraction).round() as usize;
            let fit: BTreeSet<String> = keys[..k].iter().cloned().collect();
            let held: BTreeSet<String> = keys[k..].iter().cloned().collect();
            let (a, b) = (self.with_keys(&fit), self.with_keys(&held));
            for (f, s, v) in self.iter() {
                if a.get(f, s).is_none() || b.get(f, s).is_none() {
                    return Err(ProfileError::TooFewToSplit {
                        function: f.to_string(),
                        size: s.to_string(),
                        count: v.keys.as_ref().map_or(0, |k| k.iter().collect::<BTreeSet<_>>().len()),
                        unit: "requests",
                        fraction,
                    });
                }
            }
            return Ok((a, b));
        }
        let mut a = Profile::with_features(self.feature_names().to_vec());
        let mut b = Profile::with_features(self.feature_names().to_vec());
        for (stream, (f, s, v)) in self.iter().enumerate() {
            let n = v.len();
            let k = ((n as f64) * fraction).round() as usize;
            if k == 0 || k >= n {
                return Err(ProfileError::TooFewToSplit {
                    function: f.to_string(),
                    size: s.to_string(),
                    count: n,
                    unit: "samples",
                    fraction,
                });
            }
            let idx = shuffled(n, seed, stream);
            let (mut fit, mut held) = (idx[..k].to_vec(), idx[k..].to_vec());
            fit.sort_unstable();
            held.sort_unstable();
            a.entries_mut().insert((f.to_string(), *s), v.select(&fit));
            b.entries_mut().insert((f.to_string(), *s), v.select(&held));
        }
        Ok((a, b))
    }

    /// Part `part` of `parts` of every (function, size)'s samples, drawn
    /// apart per entry (seeded, as [`Profile::split_random`] draws an
    /// unkeyed profile), and the rest: `(rest, part)`. Every sample is in
    /// exactly one part; an entry's parts differ in size by at most one.
    /// For cross-fitting a profile with no requests to part (unkeyed).
    /// None where some entry has fewer samples than `parts` (a part would
    /// hold none of it) or `part` is not below `parts`.
    pub fn sample_part(&self, parts: usize, part: usize, seed: u64) -> Option<(Profile, Profile)> {
        if part >= parts || self.iter().any(|(_, _, v)| v.len() < parts) {
            return None;
        }
        let mut rest = Profile::with_features(self.feature_names().to_vec());
        let mut held = Profile::with_features(self.feature_names().to_vec());
        for (stream, (f, s, v)) in self.iter().enumerate() {
            let (mut out, mut kept): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
            for (pos, i) in shuffled(v.len(), seed, stream).into_iter().enumerate() {
                if pos % parts == part {
                    out.push(i)
                } else {
                    kept.push(i)
                }
            }
            out.sort_unstable();
            kept.sort_unstable();
            rest.entries_mut().insert((f.to_string(), *s), v.select(&kept));
            held.entries_mut().insert((f.to_string(), *s), v.select(&out));
        }
        Some((rest, held))
    }
}

/// `0..n` shuffled by a generator of `seed` on stream `stream` (one per
/// entry, so that entries of one profile are drawn apart).
fn shuffled(n: usize, seed: u64, stream: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    idx.shuffle(&mut rng);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostModel, Size, Slo, Stage};
    use crate::profile::Samples;

    fn wf() -> Workflow {
        let o = vec![Size::new(500, 512), Size::new(1000, 512)];
        Workflow::chain(
            "k",
            Slo { deadline_ms: 100.0, percentile: 0.9 },
            CostModel::default(),
            vec![
                Stage { name: "a".into(), options: o.clone(), fanout: 1 },
                Stage { name: "b".into(), options: o, fanout: 1 },
            ],
        )
        .unwrap()
    }

    fn keyed(n: usize) -> Profile {
        let mut p = Profile::with_features(vec!["kb".into()]);
        for st in ["a", "b"] {
            for (j, size) in [Size::new(500, 512), Size::new(1000, 512)].into_iter().enumerate() {
                let keys: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
                let lat: Vec<f64> = (0..n).map(|i| (i as f64 + 1.0) * (2.0 - j as f64)).collect();
                let feat: Vec<Vec<f64>> = (0..n).map(|i| vec![i as f64]).collect();
                p.add(st, size, Samples::new(lat).with_keys(keys).with_features(feat)).unwrap();
            }
        }
        p
    }

    #[test]
    fn requests_hold_every_stage_and_size_of_one_key() {
        let r = keyed(5).keyed_requests(&wf()).unwrap().expect("keyed");
        assert_eq!(r.len(), 5);
        let i = r.keys.iter().position(|k| k == "r3").unwrap();
        assert_eq!(r.features[i], Some(vec![3.0]));
        assert_eq!(r.latency[i][1][0], vec![8.0]);
        assert_eq!(r.latency[i][1][1], vec![4.0]);
        assert_eq!(r.incomplete, 0);
    }

    #[test]
    fn a_request_missing_somewhere_is_left_out_and_counted() {
        let mut p = keyed(3);
        p.add(
            "a",
            Size::new(500, 512),
            Samples::new(vec![1.0]).with_keys(vec!["lonely".into()]).with_features(vec![vec![0.0]]),
        )
        .unwrap();
        let r = p.keyed_requests(&wf()).unwrap().unwrap();
        assert_eq!((r.len(), r.incomplete), (3, 1));
    }

    #[test]
    fn features_must_agree_across_a_requests_samples() {
        let mut p = keyed(2);
        p.add(
            "b",
            Size::new(500, 512),
            Samples::new(vec![1.0]).with_keys(vec!["r0".into()]).with_features(vec![vec![9.0]]),
        )
        .unwrap();
        let e = p.keyed_requests(&wf()).unwrap_err().to_string();
        assert!(e.contains("'r0'"), "{e}");
    }

    #[test]
    fn keyed_split_keeps_requests_whole_and_is_seeded() {
        let p = keyed(40);
        let (a, b) = p.split_random(0.5, 7).unwrap();
        let (ka, kb) = (a.keys(), b.keys());
        assert_eq!(ka.len() + kb.len(), 40);
        assert!(ka.is_disjoint(&kb));
        // Not measurement order: the fit half is not r0..r19.
        assert_ne!(ka, (0..20).map(|i| format!("r{i}")).collect());
        assert_eq!(p.split_random(0.5, 7).unwrap().0, a);
        assert_ne!(p.split_random(0.5, 8).unwrap().0, a);
    }

    #[test]
    fn unkeyed_split_shuffles_each_entry() {
        let mut p = Profile::new();
        p.add("a", Size::new(500, 512), Samples::new((0..10).map(f64::from).collect())).unwrap();
        let (a, b) = p.split_random(0.5, 1).unwrap();
        let la = &a.get("a", &Size::new(500, 512)).unwrap().latencies;
        assert_eq!(la.len() + b.get("a", &Size::new(500, 512)).unwrap().len(), 10);
        assert_ne!(la, &vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        let mut tiny = Profile::new();
        tiny.add("a", Size::new(500, 512), Samples::new(vec![1.0])).unwrap();
        assert!(matches!(tiny.split_random(0.5, 1), Err(ProfileError::TooFewToSplit { .. })));
    }

    /// The parts of an entry's samples cover it once (every sample held out
    /// by exactly one part, kept by the others), sizes within one, seeded.
    #[test]
    fn sample_parts_hold_each_sample_out_once() {
        let (s1, s2) = (Size::new(500, 512), Size::new(1000, 512));
        let mut p = Profile::with_features(vec!["kb".into()]);
        let feat = |n: usize| (0..n).map(|i| vec![i as f64 * 10.0]).collect::<Vec<_>>();
        p.add("a", s1, Samples::new((0..23).map(f64::from).collect()).with_features(feat(23))).unwrap();
        p.add("a", s2, Samples::new((100..111).map(f64::from).collect()).with_features(feat(11))).unwrap();
        let mut seen: BTreeMap<(usize, i64), usize> = BTreeMap::new();
        for part in 0..5 {
            let (rest, held) = p.sample_part(5, part, 3).unwrap();
            for (j, size) in [s1, s2].iter().enumerate() {
                let (r, h) = (rest.get("a", size).unwrap(), held.get("a", size).unwrap());
                let n = [23, 11][j];
                assert_eq!(r.len() + h.len(), n);
                assert!(h.len() == n / 5 || h.len() == n / 5 + 1, "part {part}: {}", h.len());
                // Features travel with their latency.
                for (x, f) in h.latencies.iter().zip(h.features.as_ref().unwrap()) {
                    assert_eq!(f[0], (x - [0.0, 100.0][j]) * 10.0);
                    *seen.entry((j, *x as i64)).or_default() += 1;
                }
            }
        }
        assert_eq!(seen.len(), 23 + 11);
        assert!(seen.values().all(|&c| c == 1));
        assert_eq!(p.sample_part(5, 2, 3), p.sample_part(5, 2, 3));
        assert_ne!(p.sample_part(5, 2, 3), p.sample_part(5, 2, 4));
        assert!(p.sample_part(12, 0, 3).is_none(), "11 samples cannot fill 12 parts");
        assert!(p.sample_part(5, 5, 3).is_none());
    }
}
