//! Temporary: signatures of the synthesizer being written on branch `synth`.
//! Replaced by the real implementation when that branch merges.
use super::{SynthError, SynthOptions};
use crate::hints::HintSet;
use crate::model::{Size, Workflow};
use crate::profile::Profile;

pub struct StaticPlan {
    pub sizes: Vec<Size>,
    pub expected_cost: f64,
    pub miss_probability: f64,
    pub feasible: bool,
}

fn pending() -> SynthError {
    SynthError::BadOption { name: "mode", why: "synthesis is not built yet on this branch".into() }
}

pub fn synthesize(_wf: &Workflow, _profile: &Profile, _opts: &SynthOptions) -> Result<HintSet, SynthError> {
    Err(pending())
}

pub fn best_static(_wf: &Workflow, _profile: &Profile, _opts: &SynthOptions) -> Result<StaticPlan, SynthError> {
    Err(pending())
}

pub fn evaluate(
    _hints: &HintSet,
    _profile: &Profile,
    _opts: &SynthOptions,
    _class: Option<usize>,
) -> Result<(f64, f64), SynthError> {
    Err(pending())
}
