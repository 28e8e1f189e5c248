//! Drift of observed latencies from the profile, per function, and the
//! corrected profile to re-synthesise from (used by `janus serve` and by
//! Python's `Resynthesizer`).
//!
//! The correction is multiplicative per function: the median, over the sizes
//! observed often enough, of observed mean / profiled mean scales every
//! size's samples of that function (feature values kept). A noisy
//! neighbour, a slower dependency or bigger inputs usually slow a function at
//! every size alike; a size that was never observed is assumed to drift like
//! the others.

use super::Observations;
use crate::model::Workflow;
use crate::profile::{Profile, ProfileError};
use std::collections::BTreeMap;

/// A profile drift can be measured against for `wf`: one naming only the
/// workflow's functions (another workflow's profile shares no function with
/// the observations, and would read as "no drift").
pub fn check_comparable(wf: &Workflow, profile: &Profile) -> Result<(), ProfileError> {
    match profile.functions().into_iter().find(|f| wf.stage_index(f).is_none()) {
        Some(f) => Err(ProfileError::UnknownFunction {
            function: f.to_string(),
            known: wf.stages().iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
        }),
        None => Ok(()),
    }
}

/// Per function: the median over its sizes (with at least `min_samples`
/// observations in the current windows) of observed mean / profiled mean.
pub fn drift_by_function(obs: &Observations, profile: &Profile, min_samples: usize) -> BTreeMap<String, f64> {
    let mut ratios: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (f, _size, r) in obs.drift(profile, min_samples) {
        ratios.entry(f).or_default().push(r);
    }
    ratios.into_iter().map(|(f, rs)| (f, median(rs))).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The functions whose drift is beyond `threshold` (> 1), either way.
pub fn beyond(ratios: &BTreeMap<String, f64>, threshold: f64) -> BTreeMap<String, f64> {
    ratios.iter().filter(|(_, &r)| r > threshold || r < 1.0 / threshold).map(|(f, r)| (f.clone(), *r)).collect()
}

/// `profile` with every sample of each function in `ratios` scaled by its ratio.
pub fn corrected_profile(profile: &Profile, ratios: &BTreeMap<String, f64>) -> Result<Profile, ProfileError> {
    // A ratio for a function the profile lacks is a typo, not a no-op.
    let known = profile.functions();
    if let Some(f) = ratios.keys().find(|f| !known.contains(&f.as_str())) {
        return Err(ProfileError::NotProfiled { function: f.clone(), known: known.join(", ") });
    }
    let mut out = Profile::with_features(profile.feature_names().to_vec());
    for (f, size, samples) in profile.iter() {
        let r = ratios.get(f).copied().unwrap_or(1.0);
        let mut s = samples.clone();
        s.latencies.iter_mut().for_each(|x| *x *= r);
        out.add(f, *size, s)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Size;

    #[test]
    fn median_ratio_per_function_and_a_scaled_profile() {
        let (s1, s2, s3) = (Size::new(500, 256), Size::new(1000, 256), Size::new(2000, 256));
        let mut p = Profile::new();
        for s in [s1, s2, s3] {
            p.add("f", s, crate::profile::Samples::new(vec![100.0, 100.0]).with_features(vec![vec![1.0], vec![2.0]]))
                .unwrap();
        }
        p.add("g", s1, crate::profile::Samples::new(vec![10.0])).unwrap();
        let o = Observations::default();
        for (s, x) in [(s1, 150.0), (s2, 130.0), (s3, 110.0)] {
            o.record("f", s, None, x);
        }
        o.record("g", s1, None, 10.5);
        let r = drift_by_function(&o, &p, 1);
        assert_eq!(r["f"], 1.3);
        assert_eq!(r["g"], 1.05);
        assert_eq!(beyond(&r, 1.2).keys().collect::<Vec<_>>(), vec!["f"]);
        let c = corrected_profile(&p, &beyond(&r, 1.2)).unwrap();
        assert_eq!(c.get("f", &s1).unwrap().latencies, vec![130.0, 130.0]);
        assert_eq!(c.get("f", &s1).unwrap().features, Some(vec![vec![1.0], vec![2.0]]), "features kept");
        assert_eq!(c.get("g", &s1).unwrap().latencies, vec![10.0], "within the threshold: unchanged");
        assert_eq!(median(vec![1.0, 4.0, 2.0, 3.0]), 2.5);
    }
}
