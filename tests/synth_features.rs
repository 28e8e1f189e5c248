//! Input features pay: conditioning the first stage on its input class
//! costs less than one table for all inputs, at the same attainment.

use janus::model::{CostModel, Size, Slo, Stage, Workflow};
use janus::profile::Profile;
use janus::synth::{evaluate, synthesize, SynthOptions};

const SMALL: Size = Size::new(1000, 512);
const BIG: Size = Size::new(8000, 512);

/// Stage `a` handles small inputs (feature 1-2) in 100 ms small / 50 ms big
/// and large inputs (feature 11-12) in 950 ms small / 300 ms big; `b` takes
/// 400 ms small or 100 ms big. Deadline 1000 ms at p90.
///
/// Without the feature, `a` must run big for every input (small would miss
/// half the runs): about 1.83 cost units. With it, small inputs run small:
/// class 0 costs 0.526, class 1 2.836, 1.681 on average.
fn setup() -> (Workflow, Profile) {
    let mut a = Stage { name: "a".into(), options: vec![SMALL, BIG], fanout: 1, feature: Some("bytes".into()) };
    a.fanout = 1;
    let b = Stage { name: "b".into(), options: vec![SMALL, BIG], fanout: 1, feature: None };
    let wf = Workflow::chain("feat", Slo { deadline_ms: 1000.0, percentile: 0.9 }, CostModel::default(), vec![a, b])
        .unwrap();
    let mut p = Profile::new();
    let feats = vec![1.0, 2.0, 11.0, 12.0];
    p.add("a", SMALL, vec![100.0, 100.0, 950.0, 950.0], Some(feats.clone())).unwrap();
    p.add("a", BIG, vec![50.0, 50.0, 300.0, 300.0], Some(feats)).unwrap();
    p.add("b", SMALL, vec![400.0; 4], None).unwrap();
    p.add("b", BIG, vec![100.0; 4], None).unwrap();
    (wf, p)
}

#[test]
fn conditioned_hints_cost_less_at_the_same_attainment() {
    let (wf, p) = setup();
    let opts = SynthOptions { buckets: 200, ..SynthOptions::default() };
    let hs = synthesize(&wf, &p, &opts).unwrap();
    let classes = hs.classes.as_ref().expect("classes");
    assert_eq!(classes.boundaries, vec![11.0]);
    assert_eq!(hs.summary.len(), 3);
    assert!(hs.feasible());
    // Weight of each class: its share of the profiled runs.
    let values = p.feature_values("a");
    let weight = |c: usize| values.iter().filter(|&&v| classes.class_of(v) == c).count() as f64 / values.len() as f64;
    // `evaluate` gives what runs with a run key get (a mixed table's
    // mixture); `primary` what runs without one get (the tables alone).
    let primary =
        |t: usize, c: Option<usize>| hs.summary[t].primary.unwrap_or_else(|| evaluate(&hs, &p, &opts, c).unwrap());
    let (mut cond_cost, mut cond_miss, mut cond_primary) = (0.0, 0.0, 0.0);
    for c in 0..classes.count() {
        let (cost, miss) = evaluate(&hs, &p, &opts, Some(c)).unwrap();
        cond_cost += weight(c) * cost;
        cond_miss += weight(c) * miss;
        cond_primary += weight(c) * primary(c, Some(c)).0;
    }
    let (plain_cost, plain_miss) = evaluate(&hs, &p, &opts, None).unwrap();
    let plain_primary = primary(2, None).0;
    assert!(cond_miss <= 0.1 + 1e-9 && plain_miss <= 0.1 + 1e-9, "{cond_miss} {plain_miss}");
    assert!((plain_primary - (8.052 * 0.175 + 1.052 * 0.4)).abs() < 1e-9, "{plain_primary}");
    assert!((cond_primary - (0.526 + 8.052 * 0.3 + 0.4208) / 2.0).abs() < 1e-9, "{cond_primary}");
    assert!(cond_primary < plain_primary * 0.95, "conditioned {cond_primary} vs unconditioned {plain_primary}");
    assert!(cond_cost < plain_cost, "with run keys: conditioned {cond_cost} vs unconditioned {plain_cost}");
    // The rules say it: small inputs run `a` small, large ones big.
    let a = hs.hint("a").unwrap();
    assert_eq!(a.tables[0].rules.last().unwrap().sizes[0], SMALL);
    assert_eq!(a.tables[1].rules.last().unwrap().sizes[0], BIG);
    assert_eq!(a.tables[2].rules.last().unwrap().sizes[0], BIG);
}
