//! Cross-fitting: how much a plan's miss rate on its own profile flatters it.
//!
//! The bisection holds a plan to the target on the very requests it was
//! fitted on. A late-binding plan (rules per remaining budget, per input
//! class) spends its miss allowance where the profile happens to show it is
//! cheap, and part of that is the profile's noise: on new requests it misses
//! more than it did on the profile. The Wilson margin (`confidence`) covers
//! the sampling error of a miss rate measured on `n` runs, not this
//! selection, which grows with the number of classes and shrinks with the
//! profile. Measured on two random DAG families (docs/results.md, "By
//! profile size"): plans fitted on up to `samples_needed(p)` requests MISSED
//! the SLO in 5 % of held-out splits, on 1-2 times that in 3 %; static plans
//! with the same margin in under 1 %; above 4 times, Janus in under 0.5 %.
//!
//! So, where a keyed profile is thin (fewer than [`THIN`] times
//! `samples_needed(p)` requests), every level of classes is also planned on
//! `FOLDS - 1` of `FOLDS` random parts of the requests (the same classes,
//! target and fallbacks) and walked on the part it did not see. The
//! *optimism* of the level is how much more its plans missed on the unseen
//! parts than on their own, `max(0, out-of-fold - in-sample)`. The level is
//! then planned on all requests to the target less its optimism, and a
//! candidate is feasible only when its miss plus its optimism meets the
//! target. On two sets of DAG workloads it halved the MISSED splits (13 to
//! 6, 14 to 6) for about 3 points of cost (0.88 to 0.91 of static's); above
//! `THIN` it bought nothing measurable and cost a little
//! (the out-of-fold miss is itself noisy), so it is not done there. The
//! static plan has one size per stage and no rules to fit: it is the
//! baseline and is left as it is.

use super::data::Data;
use super::lagrange::solve;
use super::plan::{samples_needed, Setup};
use super::{SynthError, SynthOptions};
use crate::model::Workflow;
use crate::profile::Profile;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeSet;

/// Parts the requests are cut into; each plan is fitted on all but one.
pub(crate) const FOLDS: usize = 5;
/// Cross-fit below this many times `samples_needed(p)` keyed requests.
pub const THIN: usize = 2;
/// Fewer keyed requests than this per part and cross-fitting is skipped:
/// an unseen part would not hold a single miss at any usual percentile.
const MIN_PER_FOLD: usize = 8;
/// The parts are drawn from a fixed seed: one profile, one synthesis.
const SEED: u64 = 0x004a_616e_7573;

/// One level's cross-fitted miss rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Check {
    /// Mean over the parts of the miss rate each plan had on the requests it was fitted on.
    pub in_sample: f64,
    /// Share of all requests that missed under the plan that did not see them.
    pub out_of_fold: f64,
}

impl Check {
    /// How much the profile flatters the level's plans (never negative: a
    /// pessimistic estimate does not loosen the target).
    pub fn optimism(&self) -> f64 {
        (self.out_of_fold - self.in_sample).max(0.0)
    }
}

/// Whether this synthesis cross-fits: asked for, with a margin (confidence
/// above 0.5: 0.5 plans on the profile as it is), on a keyed profile that
/// is thin but can be cut into parts.
pub(crate) fn applies(setup: &Setup, opts: &SynthOptions) -> bool {
    let Some(keyed) = &setup.data.keyed else { return false };
    let n = keyed.len();
    opts.crossfit
        && opts.confidence > 0.5
        && n >= FOLDS * MIN_PER_FOLD
        && n < THIN * samples_needed(setup.data.wf.slo().percentile)
}

/// Per level of `setup.classifiers` (in order), its check; `None` for a
/// level some part cannot plan (a class without samples there). For a
/// setup [`applies`] accepts; an unkeyed profile has no requests to part.
pub(crate) fn check(
    wf: &Workflow,
    profile: &Profile,
    setup: &Setup,
    opts: &SynthOptions,
) -> Result<Vec<Option<Check>>, SynthError> {
    let mut keys = setup.data.keyed.as_ref().map_or_else(Vec::new, |k| k.keys.clone());
    keys.shuffle(&mut ChaCha8Rng::seed_from_u64(SEED));
    let levels = setup.classifiers.len();
    // Per part, per level: (in-sample miss, held-out misses, held-out runs).
    type PartResult = Vec<Option<(f64, usize, usize)>>;
    let parts: Vec<PartResult> = (0..FOLDS)
        .into_par_iter()
        .map(|f| -> Result<PartResult, SynthError> {
            let (held, fit): (Vec<_>, Vec<_>) = keys.iter().enumerate().partition(|(i, _)| i % FOLDS == f);
            let set = |v: Vec<(usize, &String)>| v.into_iter().map(|(_, k)| k.clone()).collect::<BTreeSet<_>>();
            let (fit, held) = (profile.with_keys(&set(fit)), profile.with_keys(&set(held)));
            // A part whose finest classes lack samples somewhere cannot plan any level.
            let Ok(part) = setup.on_part(wf, &fit, opts) else { return Ok(vec![None; levels]) };
            let Some(runs) = Data::new(wf, &held)?.empirical(opts.buckets) else {
                return Ok(vec![None; levels]);
            };
            Ok(setup
                .classifiers
                .par_iter()
                .map(|c| {
                    let level = part.level(c, opts).ok()?;
                    let solved = solve(&level, &part.reference, setup.target, opts.tolerance);
                    let missed = (0..runs.runs.len())
                        .filter(|&r| {
                            let k = runs.runs[r].features.as_ref().map_or(0, |x| c.class_of(x));
                            runs.walk(r, &level.models[k], &solved.passes[k].policy).1
                        })
                        .count();
                    Some((solved.aggregate.miss, missed, runs.runs.len()))
                })
                .collect())
        })
        .collect::<Result<_, _>>()?;
    Ok((0..levels)
        .map(|i| {
            let per: Vec<(f64, usize, usize)> = parts.iter().map(|p| p[i]).collect::<Option<_>>()?;
            let in_sample = per.iter().map(|p| p.0).sum::<f64>() / per.len() as f64;
            let (missed, runs) = per.iter().fold((0, 0), |a, p| (a.0 + p.1, a.1 + p.2));
            Some(Check { in_sample, out_of_fold: missed as f64 / runs.max(1) as f64 })
        })
        .collect())
}
