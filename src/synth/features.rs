//! Input classes of the workflow's feature.
//!
//! One stage may declare an input feature that predicts its run time. Its
//! runs are split into classes by boundaries on the feature (given by the
//! developer, or quantiles of the profiled values); every class gets its own
//! rule tables, synthesized on that stage's runs of the class only.

use super::blocks::Restriction;
use super::{SynthError, SynthOptions};
use crate::hints::FeatureClasses;
use crate::model::Workflow;
use crate::profile::Profile;

/// The classes and the stage they apply to.
#[derive(Debug, Clone)]
pub(crate) struct Classes {
    pub stage: usize,
    pub fc: FeatureClasses,
}

impl Classes {
    pub fn restriction(&self, class: usize) -> Restriction {
        Restriction { stage: self.stage, class, range: self.fc.range(class) }
    }
}

/// Classes for this workflow, or `None` when no stage declares a feature or
/// no split is asked for. Warnings explain silently dropped requests.
pub(crate) fn classes(
    wf: &Workflow,
    profile: &Profile,
    opts: &SynthOptions,
    warnings: &mut Vec<String>,
) -> Result<Option<Classes>, SynthError> {
    let featured: Vec<usize> =
        wf.stages().iter().enumerate().filter(|(_, s)| s.feature.is_some()).map(|(i, _)| i).collect();
    let stage = match featured.as_slice() {
        [] => {
            if opts.boundaries.is_some() {
                return Err(SynthError::BadOption {
                    name: "boundaries",
                    why: "no stage of the workflow declares an input feature".into(),
                });
            }
            return Ok(None);
        }
        [one] => *one,
        many => {
            let names: Vec<&str> = many.iter().map(|&i| wf.stages()[i].name.as_str()).collect();
            return Err(SynthError::Features(format!(
                "stages {} all declare an input feature; Janus conditions on one feature per workflow \
                 (keep the one that best predicts run time)",
                names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
            )));
        }
    };
    let st = &wf.stages()[stage];
    let feature = st.feature.clone().unwrap_or_default();
    if opts.boundaries.is_none() && opts.feature_classes <= 1 {
        return Ok(None);
    }
    // Every option needs feature values, or its class histograms would silently be unconditioned.
    for size in &st.options {
        let s = profile.require(&st.name, size)?;
        if s.features.is_none() {
            return Err(SynthError::Features(format!(
                "stage '{}' declares feature '{feature}' but its samples at size {size} carry no feature values",
                st.name
            )));
        }
    }
    let boundaries = match &opts.boundaries {
        Some(b) => b.clone(),
        None => {
            let mut v = profile.feature_values(&st.name);
            v.sort_by(f64::total_cmp);
            let k = opts.feature_classes;
            // A boundary at the smallest value would leave class 0 empty: move
            // it to the next larger value (a feature that is mostly one value,
            // e.g. 70 % small inputs, still splits). Equal quantiles collapse.
            let lowest = v.first().copied().unwrap_or(0.0);
            let above_lowest = v.iter().copied().find(|&x| x > lowest);
            let mut b: Vec<f64> = (1..k)
                .filter_map(|j| v.get(j * v.len() / k).copied())
                .filter_map(|x| if x > lowest { Some(x) } else { above_lowest })
                .collect();
            b.dedup();
            if b.is_empty() {
                warnings.push(format!(
                    "feature '{feature}' of stage '{}' takes a single value in the profile: no input classes",
                    st.name
                ));
                return Ok(None);
            }
            if b.len() + 1 < k {
                warnings.push(format!(
                    "feature '{feature}' of stage '{}': only {} distinct classes instead of {k} (repeated values)",
                    st.name,
                    b.len() + 1
                ));
            }
            b
        }
    };
    Ok(Some(Classes { stage, fc: FeatureClasses { function: st.name.clone(), feature, boundaries } }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CostModel, Size, Slo, Stage};

    #[test]
    fn a_mostly_constant_feature_still_splits_where_it_changes() {
        let s = Size::new(1000, 512);
        let wf = Workflow::chain(
            "f",
            Slo { deadline_ms: 1000.0, percentile: 0.9 },
            CostModel::default(),
            vec![Stage { name: "a".into(), options: vec![s], fanout: 1, feature: Some("mib".into()) }],
        )
        .unwrap();
        let mut p = Profile::new();
        let feats: Vec<f64> = (0..10).map(|i| if i < 7 { 1.0 } else { 8.0 }).collect();
        p.add("a", s, vec![10.0; 10], Some(feats)).unwrap();
        let mut warnings = Vec::new();
        let c = classes(&wf, &p, &SynthOptions::default(), &mut warnings).unwrap().expect("classes");
        assert_eq!(c.fc.boundaries, vec![8.0]);
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut p = Profile::new();
        p.add("a", s, vec![10.0; 4], Some(vec![3.0; 4])).unwrap();
        assert!(classes(&wf, &p, &SynthOptions::default(), &mut warnings).unwrap().is_none());
        assert!(warnings[0].contains("single value"));
    }
}
