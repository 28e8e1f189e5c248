//! What every candidate of one synthesis is planned and judged on: the
//! profile as data, the input classes to try, the reference model (the
//! yardstick), and the best static plan.

use super::classes;
use super::conv::Conv;
use super::data::Data;
use super::grid::Models;
use super::lagrange::{Level, Reference};
use super::lockstep::Lockstep;
use super::options::{validate, Mode, SynthOptions};
use super::plan::FEASIBILITY_EPS;
use super::{static_plan, SynthError};
use crate::hints::{Classifier, Late};
use crate::model::Workflow;
use crate::profile::Profile;
use rayon::prelude::*;

/// The reference model, the classes to try, and the static plan.
pub(crate) struct Setup<'a> {
    pub data: Data<'a>,
    pub classifiers: Vec<Classifier>,
    pub reference: Reference,
    pub target: f64,
    pub static_plan: static_plan::StaticChoice,
    /// Per stage: the late fallback option.
    pub fallback: Vec<usize>,
    pub fastest: Vec<usize>,
    /// Input classes tried at most: `opts.max_classes`, else as the profile carries.
    pub max_classes: usize,
}

impl<'a> Setup<'a> {
    /// With `margin`, plans are held to the planning target (the percentile
    /// less a margin for the profile's sampling error at `opts.confidence`),
    /// else to the percentile itself.
    pub fn new(
        wf: &'a Workflow,
        profile: &Profile,
        opts: &SynthOptions,
        margin: bool,
    ) -> Result<Setup<'a>, SynthError> {
        validate(opts)?;
        wf.check_joint_options()?;
        let data = Data::new(wf, profile)?;
        let raw = 1.0 - wf.slo().percentile;
        let target =
            if margin { crate::stats::planning_target(raw, runs_behind(&data) as f64, opts.confidence) } else { raw }
                + FEASIBILITY_EPS;
        let max_classes = opts.max_classes.unwrap_or_else(|| classes::auto_max(&data, wf.slo().percentile));
        let classifiers = if opts.mode == Mode::Stochastic && max_classes > 1 {
            classes::candidates(&data, max_classes, opts.min_class_samples)
        } else {
            vec![Classifier::single(wf.features().to_vec())]
        };
        let mut reference = build_reference(&data, classifiers.last().expect("at least one class"), opts)?;
        let fastest = data.fastest();
        let fastest_joint: Vec<usize> = reference.models[0]
            .blocks
            .iter()
            .map(|b| b.compose(&b.stages.iter().map(|&s| fastest[s]).collect::<Vec<_>>()))
            .collect();
        let st = static_plan::search(&reference, reference.empirical.as_ref().map(|e| &e.0), target, &fastest_joint);
        let mut static_stage = vec![0usize; wf.stages().len()];
        for (blk, &o) in reference.models[0].blocks.iter().zip(&st.choice) {
            for (m, &si) in blk.stages.iter().enumerate() {
                static_stage[si] = blk.digit(o, m);
            }
        }
        let fallback = match opts.late {
            Late::Static => static_stage,
            Late::Cheapest => data.cheapest(),
            Late::Fastest => fastest.clone(),
        };
        for m in &mut reference.models {
            m.set_fallback(&fallback);
        }
        // Percentile mode ships its plan whatever it misses: holding it to
        // lockstep runs would only make its `feasible` disagree with `evaluate`.
        if opts.lockstep && opts.mode == Mode::Stochastic {
            let finest = classifiers.last().expect("at least one class");
            reference.lockstep = Lockstep::new(&data, finest, &reference.weights, opts.buckets).map(|mut l| {
                l.set_static(&reference.models, &st.choice, st.miss);
                l
            });
        }
        Ok(Setup { data, classifiers, reference, target, static_plan: st, fallback, fastest, max_classes })
    }

    /// The same synthesis on part of the requests (`part`, a subset of the
    /// profile's): this setup's classes, target, static plan and fallbacks,
    /// and the part's own models and reference. For cross-fitting.
    pub fn on_part<'b>(&self, wf: &'b Workflow, part: &Profile, opts: &SynthOptions) -> Result<Setup<'b>, SynthError> {
        let data = Data::new(wf, part)?;
        let mut reference = build_reference(&data, self.classifiers.last().expect("at least one class"), opts)?;
        for m in &mut reference.models {
            m.set_fallback(&self.fallback);
        }
        Ok(Setup {
            data,
            classifiers: self.classifiers.clone(),
            reference,
            target: self.target,
            static_plan: self.static_plan.clone(),
            fallback: self.fallback.clone(),
            fastest: self.fastest.clone(),
            max_classes: self.max_classes,
        })
    }

    /// A level of classes, with this synthesis's fallbacks.
    pub fn level(&self, c: &Classifier, opts: &SynthOptions) -> Result<Level, SynthError> {
        let mut l = build_level(&self.data, c, opts)?;
        for m in &mut l.models {
            m.set_fallback(&self.fallback);
        }
        // Which class of `c` holds each reference class: classify one of its requests.
        let finest = self.classifiers.last().expect("at least one class");
        l.of_ref =
            (0..finest.count()).map(|j| representative(&self.data, finest, j).map_or(0, |x| c.class_of(&x))).collect();
        // The finest classes are the reference's own models (built the same way, same fallbacks).
        l.is_reference = c == finest && l.of_ref.iter().enumerate().all(|(j, &k)| j == k);
        Ok(l)
    }
}

/// How many runs the profile's estimate of a miss rate rests on: the keyed
/// requests, else the fewest samples of any (stage, size).
pub(crate) fn runs_behind(data: &Data) -> usize {
    match &data.keyed {
        Some(k) => k.len(),
        None => data.entries.iter().flatten().map(|e| e.lat.len()).min().unwrap_or(0),
    }
}

/// Per-class models and weights of classifier `c` (no class split for one class).
pub(super) fn build_level(data: &Data, c: &Classifier, opts: &SynthOptions) -> Result<Level, SynthError> {
    if c.count() == 1 {
        let m = data.models(opts.buckets, opts.smoothing, None)?;
        return Ok(Level {
            models: vec![m],
            weights: vec![1.0],
            of_ref: vec![0],
            is_reference: false,
            own_yardstick: false,
        });
    }
    let models: Vec<Models> = (0..c.count())
        .into_par_iter()
        .map(|k| data.models(opts.buckets, opts.smoothing, Some((c, k))))
        .collect::<Result<_, _>>()?;
    Ok(Level {
        models,
        weights: data.weights(c),
        of_ref: (0..c.count()).collect(),
        is_reference: false,
        own_yardstick: false,
    })
}

/// The yardstick of a synthesis: the finest classes' models and, for a
/// keyed profile, its requests on the grid with the finest class of each.
/// Fallbacks are the caller's to set.
fn build_reference(data: &Data, finest: &Classifier, opts: &SynthOptions) -> Result<Reference, SynthError> {
    let level = build_level(data, finest, opts)?;
    let empirical = data.empirical(opts.buckets).map(|e| {
        let class: Vec<usize> = e.runs.iter().map(|r| r.class(finest)).collect();
        (e, class)
    });
    Ok(Reference {
        models: level.models,
        weights: level.weights,
        empirical,
        lockstep: None,
        beyond: None,
        conv: Conv::new(opts.buckets + 1),
    })
}

/// The feature vector of one sample in class `j` of `c`.
pub(crate) fn representative(data: &Data, c: &Classifier, j: usize) -> Option<Vec<f64>> {
    if let Some(r) = &data.keyed {
        if let Some(x) = r.features.iter().flatten().find(|x| c.class_of(x) == j) {
            return Some(x.clone());
        }
    }
    data.entries.iter().flatten().filter_map(|e| e.feats.as_ref()).flatten().find(|x| c.class_of(x) == j).cloned()
}
