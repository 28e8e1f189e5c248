//! A small synthesized hint set with input classes, shared by the tests of
//! online profiling and of the service (built through the real synthesizer).

use crate::hints::HintSet;
use crate::model::{CostModel, Size, Slo, Stage, Workflow};
use crate::profile::Profile;
use crate::synth::{synthesize, SynthOptions};

pub(crate) const SMALL: Size = Size::new(1000, 512);
pub(crate) const BIG: Size = Size::new(8000, 512);

/// Workflow "feat": `a` (feature "bytes": small inputs 1-2, large 11-12) then
/// `b`; deadline 1000 ms at p90. Classes split the feature at 11.
pub(crate) fn classed_hints() -> HintSet {
    classed_hints_and_profile().0
}

/// [`classed_hints`] and the profile it was synthesized from.
pub(crate) fn classed_hints_and_profile() -> (HintSet, Profile) {
    let a = Stage { name: "a".into(), options: vec![SMALL, BIG], fanout: 1, feature: Some("bytes".into()) };
    let b = Stage { name: "b".into(), options: vec![SMALL, BIG], fanout: 1, feature: None };
    let wf = Workflow::chain("feat", Slo { deadline_ms: 1000.0, percentile: 0.9 }, CostModel::default(), vec![a, b])
        .expect("valid workflow");
    let mut p = Profile::new();
    let feats = vec![1.0, 2.0, 11.0, 12.0];
    p.add("a", SMALL, vec![100.0, 100.0, 950.0, 950.0], Some(feats.clone())).unwrap();
    p.add("a", BIG, vec![50.0, 50.0, 300.0, 300.0], Some(feats)).unwrap();
    p.add("b", SMALL, vec![400.0; 4], None).unwrap();
    p.add("b", BIG, vec![100.0; 4], None).unwrap();
    let h = synthesize(&wf, &p, &SynthOptions { buckets: 200, ..SynthOptions::default() }).expect("synthesis");
    (h, p)
}
