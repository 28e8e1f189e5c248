//! A small synthesized hint set with input classes, shared by the tests of
//! online profiling and of the service (built through the real synthesizer).

use crate::hints::HintSet;
use crate::model::{CostModel, Size, Slo, Stage, Workflow};
use crate::profile::{Profile, Samples};
use crate::synth::{synthesize, SynthOptions};

pub(crate) const SMALL: Size = Size::new(1000, 512);
pub(crate) const BIG: Size = Size::new(8000, 512);

/// Workflow "feat": `a` then `b`, request feature "bytes" (small requests
/// 1-2, large 11-12, half each, 80 requests measured at every stage and
/// size); deadline 1000 ms at p90. Small requests run `a` at SMALL (100 ms),
/// large ones at BIG (300 ms; 950 ms at SMALL): two input classes.
pub(crate) fn classed_hints() -> HintSet {
    classed_hints_and_profile().0
}

/// [`classed_hints`] and the profile it was synthesized from.
pub(crate) fn classed_hints_and_profile() -> (HintSet, Profile) {
    let st = |n: &str| Stage { name: n.into(), options: vec![SMALL, BIG], fanout: 1 };
    let wf = Workflow::chain(
        "feat",
        Slo { deadline_ms: 1000.0, percentile: 0.9 },
        CostModel::default(),
        vec![st("a"), st("b")],
    )
    .and_then(|w| w.with_features(&["bytes"]))
    .expect("valid workflow");
    let n = 80;
    let large = |r: usize| r % 2 == 1;
    let keys: Vec<String> = (0..n).map(|r| format!("r{r}")).collect();
    let feats: Vec<Vec<f64>> =
        (0..n).map(|r| vec![if large(r) { 11.0 + (r % 3) as f64 / 2.0 } else { 1.0 + (r % 3) as f64 / 2.0 }]).collect();
    let mut p = Profile::with_features(vec!["bytes".into()]);
    let mut add = |stage: &str, size: Size, f: &dyn Fn(usize) -> f64| {
        let lat = (0..n).map(f).collect();
        p.add(stage, size, Samples::new(lat).with_keys(keys.clone()).with_features(feats.clone())).unwrap();
    };
    add("a", SMALL, &|r| if large(r) { 950.0 } else { 100.0 });
    add("a", BIG, &|r| if large(r) { 300.0 } else { 50.0 });
    add("b", SMALL, &|_| 400.0);
    add("b", BIG, &|_| 100.0);
    let h = synthesize(&wf, &p, &SynthOptions { buckets: 200, ..SynthOptions::default() }).expect("synthesis");
    assert!(h.classes.is_some(), "the fixture needs input classes: {:?}", h.plan);
    (h, p)
}
