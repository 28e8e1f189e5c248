//! Synthesis: profiles + DAG + SLO -> hint set.
//!
//! Layout:
//! - `data`: the profile as synthesis sees it (samples with request
//!   features, keyed requests);
//! - `classes`: input classes over the request features (a regression tree
//!   with a permutation test);
//! - `grid`: latency histograms on the time grid (kernel-smoothed) and the
//!   block model of parallel stages; `conv`: the convolutions every pass is
//!   made of (direct or FFT);
//! - `dp`: the stochastic DP of one class at one Lagrange multiplier;
//!   `lagrange`: one multiplier shared by all classes, bisected on the miss
//!   probability of all requests together, judged on one reference;
//! - `static_plan`: the best early-binding plan; `percentile`: the
//!   deterministic baseline;
//! - `crossfit`: how much a plan's miss on its own profile flatters it;
//!   `lockstep`: for an unkeyed profile, runs whose stages are slow
//!   together, on which no plan may miss more than static; `beyond`: for
//!   a thin profile, runs one stage slower than any profiled;
//! - `condense`: a policy into rules; `evaluate`: what rules do exactly;
//! - `setup`: what one synthesis plans on (data, classes, reference,
//!   static); `candidate`: one plan as rules, judged and held;
//!   `candidates`: every plan of a setup with cross-fitting's charges;
//!   `choose`: the choice over all requests; `plan`: one synthesis start
//!   to end, and the hint set;
//! - `json_safe`: written numbers as short decimals that every JSON reader
//!   reads back exactly.

mod bands;
mod beyond;
mod candidate;
mod candidates;
mod choose;
mod classes;
mod condense;
mod conv;
mod crossfit;
mod data;
mod dp;
mod error;
mod evaluate;
mod grid;
mod json_safe;
mod lagrange;
mod lockstep;
mod options;
mod percentile;
mod plan;
mod setup;
mod static_plan;
#[cfg(test)]
pub(crate) mod tests;

pub use error::SynthError;
pub use options::{Mode, SynthOptions, MAX_BUCKETS, MAX_CLASSES, MIN_BUCKETS};
pub use plan::samples_needed;

use crate::hints::HintSet;
use crate::model::{Size, Workflow};
use crate::profile::Profile;

/// The best early-binding plan: one size per stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticPlan {
    /// One size per stage, in `wf.stages()` order.
    pub sizes: Vec<Size>,
    /// Expected cost units of one run on the profile's model.
    pub expected_cost: f64,
    pub miss_probability: f64,
    /// False when no static plan meets the percentile (the plan is then all-fastest).
    pub feasible: bool,
}

/// What a hint set does on a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Expected cost units of one run, over all requests.
    pub expected_cost: f64,
    /// Miss probability over all requests: the larger of the model's and,
    /// for a keyed profile, the share of its requests that miss.
    pub miss_probability: f64,
    /// Per input class of the hint set: (share of requests, cost, miss) on the model.
    pub classes: Vec<(f64, f64, f64)>,
}

/// Synthesize the hint set of `wf` from `profile`.
pub fn synthesize(wf: &Workflow, profile: &Profile, opts: &SynthOptions) -> Result<HintSet, SynthError> {
    plan::synthesize(wf, profile, opts)
}

/// The cheapest static sizing (one size per stage) meeting the percentile
/// on the same model synthesis uses (the mixture of input classes and, for
/// a keyed profile, its requests). Exhaustive depth-first search for small
/// option spaces, else a steepest-descent local search.
pub fn best_static(wf: &Workflow, profile: &Profile, opts: &SynthOptions) -> Result<StaticPlan, SynthError> {
    let (sizes, expected_cost, miss_probability, feasible) = plan::best_static(wf, profile, opts)?;
    Ok(StaticPlan { sizes, expected_cost, miss_probability, feasible })
}

/// Exact evaluation of a hint set's primary tables on a profile, read as
/// the adapter reads them with unlimited free capacity: each class's table
/// on its requests (by the hint set's classifier).
pub fn evaluate(hints: &HintSet, profile: &Profile, opts: &SynthOptions) -> Result<Evaluation, SynthError> {
    let a = plan::evaluate(hints, profile, opts)?;
    Ok(Evaluation { expected_cost: a.cost, miss_probability: a.miss, classes: a.classes })
}
