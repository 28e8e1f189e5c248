//! Unit tests with answers worked out by hand (costs with the default cost
//! model: 1.0 per core-second + 0.104 per GiB-second).

use super::blocks::{build, fastest};
use super::evaluate::forward;
use super::*;
use crate::adapter::Adapter;
use crate::hints::HintSet;
use crate::model::{CostModel, Slo, Stage};
use crate::profile::ProfileError;

const SMALL: Size = Size::new(1000, 512); // rate 1.052 / s
const BIG: Size = Size::new(8000, 512); // rate 8.052 / s
const MID: Size = Size::new(4000, 512); // rate 4.052 / s

fn stage(name: &str, options: &[Size]) -> Stage {
    Stage { name: name.into(), options: options.to_vec(), fanout: 1, feature: None }
}

fn slo(deadline_ms: f64, percentile: f64) -> Slo {
    Slo { deadline_ms, percentile }
}

fn profile(entries: &[(&str, Size, Vec<f64>)]) -> Profile {
    let mut p = Profile::new();
    for (f, s, l) in entries {
        p.add(f, *s, l.clone(), None).unwrap();
    }
    p
}

fn opts(buckets: usize) -> SynthOptions {
    SynthOptions { buckets, ..SynthOptions::default() }
}

fn rules_of_alt(hs: &HintSet, f: &str, table: usize) -> Vec<(f64, Vec<Size>)> {
    let h = hs.hint(f).unwrap();
    h.alt_tables[table].rules.iter().map(|r| (r.min_remaining_ms, r.sizes.clone())).collect()
}

fn rules_of<'a>(hs: &'a HintSet, f: &str, table: usize) -> Vec<(f64, Vec<Size>)> {
    let h: &'a Hint = hs.hint(f).unwrap();
    h.tables[table].rules.iter().map(|r| (r.min_remaining_ms, r.sizes.clone())).collect()
}

/// Stage `a` takes 100 ms or 600 ms (50/50); stage `b` takes 500 ms small
/// (cost 0.526) or 150 ms big (cost 1.2078). Deadline 1000 ms at p90.
/// After a fast `a` (900 ms left) small fits; after a slow one (400 ms left)
/// only big does, and risking small would miss half of the runs.
fn bimodal_chain() -> (Workflow, Profile) {
    let wf = Workflow::chain(
        "bimodal",
        slo(1000.0, 0.9),
        CostModel::default(),
        vec![stage("a", &[SMALL]), stage("b", &[SMALL, BIG])],
    )
    .unwrap();
    let p = profile(&[
        ("a", SMALL, vec![100.0, 600.0, 100.0, 600.0]),
        ("b", SMALL, vec![500.0; 3]),
        ("b", BIG, vec![150.0; 3]),
    ]);
    (wf, p)
}

#[test]
fn stage_two_size_depends_on_stage_one_time() {
    let (wf, p) = bimodal_chain();
    let plain = synthesize(&wf, &p, &opts(100)).unwrap();
    assert!(plain.summary[0].mix.is_none() && plain.hints.iter().all(|h| h.alt_tables.is_empty()));
    let hs = synthesize(&wf, &p, &SynthOptions { mix: true, ..opts(100) }).unwrap();
    assert_eq!(
        plain.hints.iter().map(|h| &h.tables).collect::<Vec<_>>(),
        hs.hints.iter().map(|h| &h.tables).collect::<Vec<_>>()
    );
    // Below 500 ms left small cannot make it (below 150 ms nothing can: fastest = big).
    assert_eq!(rules_of(&hs, "b", 0), vec![(0.0, vec![BIG]), (500.0, vec![SMALL])]);
    assert_eq!(rules_of(&hs, "a", 0), vec![(0.0, vec![SMALL])]);
    let ad = Adapter::new(hs.clone());
    assert_eq!(ad.decide("b", 100.0, None, None).unwrap().size, SMALL);
    assert_eq!(ad.decide("b", 600.0, None, None).unwrap().size, BIG);
    let s = &hs.summary[0];
    let cost_a = 1.052 * 0.35;
    let expected = cost_a + 0.5 * 1.052 * 0.5 + 0.5 * 8.052 * 0.15;
    assert_eq!(s.source, "dp");
    // The rules above (the primary policy) never miss.
    let (pc, pm) = s.primary.expect("this table is mixed");
    assert!(pm < 1e-12, "{s:?}");
    assert!((pc - expected).abs() < 1e-9, "{pc} vs {expected}");
    // Mixed per run with the policy just below the target: small for `b`
    // always (cost_a + 0.526, misses the slow half). A share q = 0.1 / 0.5 of
    // runs on it spends the 10 % miss allowance exactly.
    let below = cost_a + 1.052 * 0.5;
    let q = s.mix.unwrap();
    assert!((q - 0.2).abs() < 2e-6, "{q}");
    assert!(s.feasible && (s.miss_probability - 0.5 * q).abs() < 1e-9 && s.miss_probability <= 0.1, "{s:?}");
    assert!((s.expected_cost - (q * below + (1.0 - q) * expected)).abs() < 1e-9, "{s:?}");
    // The alternative gives up on a slow `a`: small for `b` with 400 ms left.
    let at = |rules: Vec<(f64, Vec<Size>)>, left: f64| rules.iter().rev().find(|r| r.0 <= left).unwrap().1[0];
    assert_eq!(at(rules_of_alt(&hs, "b", 0), 400.0), SMALL);
    assert_eq!(at(rules_of(&hs, "b", 0), 400.0), BIG);
    assert_eq!(at(rules_of_alt(&hs, "b", 0), 900.0), SMALL);
    // The static alternative has to take big always.
    let st = best_static(&wf, &p, &opts(100)).unwrap();
    assert_eq!(st.sizes, vec![SMALL, BIG]);
    assert!((st.expected_cost - (cost_a + 8.052 * 0.15)).abs() < 1e-9);
    // evaluate() agrees with the summary.
    let (c, m) = evaluate(&hs, &p, &opts(100), None).unwrap();
    assert!((c - s.expected_cost).abs() < 1e-12 && (m - s.miss_probability).abs() < 1e-12);
}

#[test]
fn loose_percentile_takes_the_risk() {
    // At p40 the miss allowance (0.6) covers the slow half: small always, and static wins the tie.
    let (wf, p) = bimodal_chain();
    let wf = wf.with_slo(slo(1000.0, 0.4)).unwrap();
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    let s = &hs.summary[0];
    assert!((s.miss_probability - 0.5).abs() < 1e-12, "{s:?}");
    assert!(s.feasible);
    // (Below 150 ms left nothing fits: the fastest size, as the adapter's best effort.)
    assert_eq!(hs.hint("b").unwrap().tables[0].rules.last().unwrap().sizes[0], SMALL);
}

#[test]
fn dp_backward_values_match_forward_evaluation() {
    let (wf, p) = bimodal_chain();
    let fb = fastest(&wf, &p).unwrap();
    let models = build(&wf, &p, 100, &fb, None).unwrap();
    for lambda in [0.0, 0.1, 10.0, 1e6] {
        let pass = dp::backward(&models, lambda, None);
        let e = forward(&models, &pass.policy);
        assert!((e.cost - pass.cost).abs() < 1e-9 && (e.miss - pass.miss).abs() < 1e-12, "lambda {lambda}");
    }
}

#[test]
fn fanout_takes_the_max_and_pays_every_instance() {
    // Small: 9 runs of 100 ms, one of 300 ms. Alone it is on time at 250 ms
    // with probability 0.9; two instances both are with 0.81 < 0.85.
    let mut lat = vec![100.0; 9];
    lat.push(300.0);
    let p = profile(&[("f", SMALL, lat), ("f", MID, vec![100.0; 4])]);
    let mk = |fanout| {
        let mut st = stage("f", &[SMALL, MID]);
        st.fanout = fanout;
        Workflow::chain("fan", slo(250.0, 0.85), CostModel::default(), vec![st]).unwrap()
    };
    let one = best_static(&mk(1), &p, &opts(25)).unwrap();
    assert_eq!(one.sizes, vec![SMALL]);
    assert!((one.expected_cost - 1.052 * 0.12).abs() < 1e-9);
    let two = best_static(&mk(2), &p, &opts(25)).unwrap();
    assert_eq!(two.sizes, vec![MID]);
    assert!((two.expected_cost - 2.0 * 4.052 * 0.1).abs() < 1e-9);
    // The fan-out histogram itself: dt = 10 ms, P(max <= 100 ms) = 0.81; the
    // rest (300 ms) is past the deadline and only implicit.
    let wf = mk(2);
    let m = build(&wf, &p, 25, &[1], None).unwrap();
    let h = &m.blocks[0].options[0].hist;
    assert_eq!((h.off, h.p.len()), (10, 1));
    assert!((h.p[0] - 0.81).abs() < 1e-12);
    let hs = synthesize(&wf, &p, &opts(25)).unwrap();
    assert!(hs.summary[0].feasible && hs.summary[0].miss_probability <= 0.15 + 1e-9);
    assert_eq!(hs.hint("f").unwrap().tables[0].rules.last().unwrap().sizes[0], MID);
}

/// Stages `b` and `c` start together (no edges: one block). b: small 300 ms
/// or mid 100 ms; c: small 100/400 ms (50/50) or mid 100/200 ms.
fn parallel_block() -> (Workflow, Profile) {
    let wf = Workflow::new(
        "par",
        slo(350.0, 0.9),
        CostModel::default(),
        vec![stage("b", &[SMALL, MID]), stage("c", &[SMALL, MID])],
        &[],
    )
    .unwrap();
    let p = profile(&[
        ("b", SMALL, vec![300.0, 300.0]),
        ("b", MID, vec![100.0, 100.0]),
        ("c", SMALL, vec![100.0, 400.0]),
        ("c", MID, vec![100.0, 200.0]),
    ]);
    (wf, p)
}

#[test]
fn parallel_block_is_one_stage_of_joint_sizes() {
    let (wf, p) = parallel_block();
    assert_eq!(wf.blocks().len(), 1);
    let fb = fastest(&wf, &p).unwrap();
    assert_eq!(fb, vec![1, 1]);
    let m = build(&wf, &p, 35, &fb, None).unwrap();
    let blk = &m.blocks[0];
    assert_eq!(blk.options.len(), 4);
    // (b small, c small): max(300, {100, 400}) = 300 or 400 (past the deadline: dropped).
    let j = blk.compose(&[0, 0]);
    assert_eq!((blk.options[j].hist.off, blk.options[j].hist.p.clone()), (30, vec![0.5]));
    assert!((blk.options[j].cost - (1.052 * 0.3 + 1.052 * 0.25)).abs() < 1e-12);
    // p90 needs c mid (always <= 200 ms); b small is cheaper and fits (300 ms).
    let hs = synthesize(&wf, &p, &opts(35)).unwrap();
    assert_eq!(rules_of(&hs, "b", 0).last().unwrap().1[0], SMALL);
    assert_eq!(rules_of(&hs, "c", 0).last().unwrap().1[0], MID);
    assert_eq!(best_static(&wf, &p, &opts(35)).unwrap().sizes, vec![SMALL, MID]);
    // p40: c small may miss half the time.
    let wf40 = wf.with_slo(slo(350.0, 0.4)).unwrap();
    assert_eq!(best_static(&wf40, &p, &opts(35)).unwrap().sizes, vec![SMALL, SMALL]);
    let hs = synthesize(&wf40, &p, &opts(35)).unwrap();
    assert!((hs.summary[0].miss_probability - 0.5).abs() < 1e-12);
}

/// Deterministic latencies: stage 1 small 600 / mid 200 ms, stage 2 small
/// 500 / mid 200 ms, deadline 1000 ms. Plans: (s,m) 800 ms cost 1.4416,
/// (m,s) 700 ms cost 1.3364, (m,m) 400 ms cost 1.6208: (m,s) is optimal.
fn deterministic_chain() -> (Workflow, Profile) {
    let wf = Workflow::chain(
        "det",
        slo(1000.0, 0.95),
        CostModel::default(),
        vec![stage("s1", &[SMALL, MID]), stage("s2", &[SMALL, MID])],
    )
    .unwrap();
    let p = profile(&[
        ("s1", SMALL, vec![600.0]),
        ("s1", MID, vec![200.0]),
        ("s2", SMALL, vec![500.0]),
        ("s2", MID, vec![200.0]),
    ]);
    (wf, p)
}

#[test]
fn percentile_mode_on_a_deterministic_chain() {
    let (wf, p) = deterministic_chain();
    let o = SynthOptions { mode: Mode::Percentile, ..opts(100) };
    let hs = synthesize(&wf, &p, &o).unwrap();
    assert_eq!(hs.summary[0].source, "percentile");
    assert_eq!(rules_of(&hs, "s1", 0), vec![(0.0, vec![MID])]);
    assert_eq!(rules_of(&hs, "s2", 0), vec![(0.0, vec![MID]), (500.0, vec![SMALL])]);
    let expected = 4.052 * 0.2 + 1.052 * 0.5;
    assert!((hs.summary[0].expected_cost - expected).abs() < 1e-9);
    assert_eq!(hs.summary[0].miss_probability, 0.0);
    // The stochastic DP agrees on deterministic latencies (its primary
    // policy; it also mixes in 5 % of runs at (s, s), 1100 ms, cost 1.157).
    let dp = synthesize(&wf, &p, &SynthOptions { mix: true, ..opts(100) }).unwrap();
    let (pc, pm) = dp.summary[0].primary.expect("mixed");
    assert!((pc - expected).abs() < 1e-9 && pm == 0.0);
    let q = dp.summary[0].mix.unwrap();
    assert!((q - 0.05).abs() < 2e-6);
    assert!((dp.summary[0].expected_cost - (q * 1.052 * 1.1 + (1.0 - q) * expected)).abs() < 1e-9);
    assert_eq!(rules_of(&dp, "s2", 0), rules_of(&hs, "s2", 0));
}

#[test]
fn ranked_lists_keep_close_alternatives() {
    let (wf, p) = deterministic_chain();
    // At 10 % tolerance, small for s1 (1.4416 vs 1.3364, +7.9 %) qualifies
    // wherever it still makes the deadline: from 800 ms left (600 + 200).
    let hs = synthesize(&wf, &p, &SynthOptions { tolerance: 0.10, ..opts(100) }).unwrap();
    let r = rules_of(&hs, "s1", 0);
    assert_eq!(r.last().unwrap(), &(800.0, vec![MID, SMALL]), "{r:?}");
    assert_eq!(r.first().unwrap().1, vec![MID], "{r:?}");
    // The provider takes the alternative when mid does not fit the node.
    let ad = Adapter::new(hs);
    let d = ad.decide("s1", 0.0, None, Some(Size::new(2000, 4096))).unwrap();
    assert_eq!((d.size, d.fits), (SMALL, true));
}

#[test]
fn max_rules_merges_conservatively() {
    // s1 takes 100, 450 or 800 ms; s2 small 600 ms (cost 0.6312), mid 250 ms
    // (1.013), big 150 ms (1.2078). At p90 every branch must be protected:
    // s2 has three steps, big below 250 ms left, mid below 600 ms, small above.
    let wf = Workflow::chain(
        "cap",
        slo(1000.0, 0.9),
        CostModel::default(),
        vec![stage("s1", &[SMALL]), stage("s2", &[SMALL, MID, BIG])],
    )
    .unwrap();
    let p = profile(&[
        ("s1", SMALL, vec![100.0, 450.0, 800.0]),
        ("s2", SMALL, vec![600.0]),
        ("s2", MID, vec![250.0]),
        ("s2", BIG, vec![150.0]),
    ]);
    let full = synthesize(&wf, &p, &opts(100)).unwrap();
    let steps = |hs: &HintSet| rules_of(hs, "s2", 0).into_iter().map(|(ms, s)| (ms, s[0])).collect::<Vec<_>>();
    assert_eq!(steps(&full), vec![(0.0, BIG), (250.0, MID), (600.0, SMALL)]);
    // Cap 2: merging big+mid costs (1.2078 - 1.013) / 3, mid+small more: the faster size stays.
    let two = synthesize(&wf, &p, &SynthOptions { max_rules: Some(2), ..opts(100) }).unwrap();
    assert_eq!(steps(&two), vec![(0.0, BIG), (600.0, SMALL)]);
    assert!(two.summary[0].feasible);
    let want = 1.052 * 0.45 + (1.052 * 0.6 + 2.0 * 8.052 * 0.15) / 3.0;
    assert!((two.summary[0].expected_cost - want).abs() < 1e-9, "{:?}", two.summary[0]);
    // Cap 1: only the fastest size is safe everywhere.
    let one = synthesize(&wf, &p, &SynthOptions { max_rules: Some(1), ..opts(100) }).unwrap();
    assert_eq!(steps(&one), vec![(0.0, BIG)]);
    assert!(one.hints.iter().all(|h| h.tables[0].rules.len() == 1));
}

#[test]
fn infeasible_deadline_still_gives_hints() {
    let (wf, p) = bimodal_chain();
    // 200 ms: a alone takes 100 or 600 ms, then b at least 150 ms.
    let wf = wf.with_slo(slo(200.0, 0.9)).unwrap();
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    assert!(!hs.feasible() && !hs.summary[0].feasible);
    assert!(hs.warnings.iter().any(|w| w.contains("infeasible")), "{:?}", hs.warnings);
    // Everything misses: b falls back to its fastest size everywhere.
    assert_eq!(rules_of(&hs, "b", 0), vec![(0.0, vec![BIG])]);
    assert!(!best_static(&wf, &p, &opts(100)).unwrap().feasible);
    let pct = synthesize(&wf, &p, &SynthOptions { mode: Mode::Percentile, ..opts(100) }).unwrap();
    assert!(!pct.feasible());
}

#[test]
fn approximation_note_is_a_warning() {
    // a -> b -> c and a -> d -> ... d does not depend on b but waits for it.
    let st = |n: &str| stage(n, &[SMALL]);
    let e = |a: &str, b: &str| (a.to_string(), b.to_string());
    let wf = Workflow::new(
        "approx",
        slo(1000.0, 0.9),
        CostModel::default(),
        vec![st("a"), st("b"), st("c"), st("d")],
        &[e("a", "b"), e("b", "c"), e("a", "c"), e("c", "d")],
    )
    .unwrap();
    let p = profile(&[
        ("a", SMALL, vec![10.0]),
        ("b", SMALL, vec![10.0]),
        ("c", SMALL, vec![10.0]),
        ("d", SMALL, vec![10.0]),
    ]);
    assert!(wf.approximation().is_some());
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    assert!(hs.warnings.iter().any(|w| w.contains("approx")), "{:?}", hs.warnings);
}

#[test]
fn missing_profile_entry_is_named() {
    let (wf, _) = bimodal_chain();
    let p = profile(&[("a", SMALL, vec![1.0]), ("b", SMALL, vec![1.0])]);
    match synthesize(&wf, &p, &opts(100)) {
        Err(SynthError::Profile(ProfileError::Missing { function, size })) => {
            assert_eq!((function.as_str(), size), ("b", BIG.to_string()))
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    assert!(matches!(best_static(&wf, &p, &opts(100)), Err(SynthError::Profile(ProfileError::Missing { .. }))));
}

#[test]
fn bad_options_are_named() {
    let (wf, p) = bimodal_chain();
    let name_of = |o: SynthOptions| match synthesize(&wf, &p, &o) {
        Err(SynthError::BadOption { name, .. }) => name,
        other => panic!("expected BadOption, got {other:?}"),
    };
    assert_eq!(name_of(opts(5)), "buckets");
    assert_eq!(name_of(opts(20_001)), "buckets");
    assert_eq!(name_of(SynthOptions { tolerance: f64::NAN, ..opts(100) }), "tolerance");
    assert_eq!(name_of(SynthOptions { tolerance: -0.1, ..opts(100) }), "tolerance");
    assert_eq!(name_of(SynthOptions { max_rules: Some(0), ..opts(100) }), "max_rules");
    assert_eq!(name_of(SynthOptions { boundaries: Some(vec![2.0, 1.0]), ..opts(100) }), "boundaries");
    assert_eq!(name_of(SynthOptions { boundaries: Some(vec![f64::INFINITY]), ..opts(100) }), "boundaries");
    // Boundaries with no featured stage.
    assert_eq!(name_of(SynthOptions { boundaries: Some(vec![1.0]), ..opts(100) }), "boundaries");
    assert_eq!(name_of(SynthOptions { feature_classes: 1000, ..opts(100) }), "feature_classes");
    let msg = synthesize(&wf, &p, &opts(5)).unwrap_err().to_string();
    assert!(msg.contains("buckets") && msg.contains('5'), "{msg}");
}

fn featured_profile() -> Profile {
    let mut p = Profile::new();
    // Feature < 10: 100 ms; feature >= 10: 600 ms.
    p.add("a", SMALL, vec![100.0, 100.0, 600.0, 600.0], Some(vec![1.0, 2.0, 20.0, 30.0])).unwrap();
    p.add("b", SMALL, vec![500.0], None).unwrap();
    p.add("b", BIG, vec![150.0], None).unwrap();
    p
}

fn featured_chain(feature_on_b: bool) -> Workflow {
    let mut a = stage("a", &[SMALL]);
    a.feature = Some("n".into());
    let mut b = stage("b", &[SMALL, BIG]);
    if feature_on_b {
        b.feature = Some("m".into());
    }
    Workflow::chain("feat", slo(1000.0, 0.9), CostModel::default(), vec![a, b]).unwrap()
}

#[test]
fn feature_classes_from_quantiles() {
    let hs = synthesize(&featured_chain(false), &featured_profile(), &opts(100)).unwrap();
    let c = hs.classes.as_ref().unwrap();
    assert_eq!((c.function.as_str(), c.feature.as_str(), c.boundaries.clone()), ("a", "n", vec![20.0]));
    assert_eq!(hs.tables_per_hint(), 3);
    assert_eq!(hs.summary.iter().map(|s| s.class).collect::<Vec<_>>(), vec![Some(0), Some(1), None]);
    // Class 0 (fast a): small for b at the top budget; class 1: big at 400 ms left.
    assert_eq!(rules_of(&hs, "b", 0).last().unwrap().1[0], SMALL);
    let ad = Adapter::new(hs.clone());
    assert_eq!(ad.decide("b", 600.0, Some(25.0), None).unwrap().size, BIG);
    assert_eq!(ad.decide("b", 100.0, Some(1.0), None).unwrap().size, SMALL);
    HintSet::from_json(&hs.to_json(), "t").unwrap();
}

#[test]
fn two_featured_stages_are_refused() {
    let mut p = featured_profile();
    p.add("b", SMALL, vec![1.0], Some(vec![1.0])).unwrap();
    match synthesize(&featured_chain(true), &p, &opts(100)) {
        Err(SynthError::Features(m)) => assert!(m.contains("'a'") && m.contains("'b'"), "{m}"),
        other => panic!("expected Features, got {other:?}"),
    }
}

#[test]
fn empty_class_is_named() {
    let o = SynthOptions { boundaries: Some(vec![5.0, 8.0]), ..opts(100) };
    match synthesize(&featured_chain(false), &featured_profile(), &o) {
        Err(SynthError::Profile(ProfileError::EmptyClass { function, class, .. })) => {
            assert_eq!((function.as_str(), class), ("a", 1))
        }
        other => panic!("expected EmptyClass, got {other:?}"),
    }
}

#[test]
fn featured_stage_without_feature_values_is_refused() {
    let p = profile(&[("a", SMALL, vec![100.0]), ("b", SMALL, vec![500.0]), ("b", BIG, vec![150.0])]);
    let e = synthesize(&featured_chain(false), &p, &opts(100)).unwrap_err();
    assert!(matches!(e, SynthError::Features(ref m) if m.contains("no feature values")), "{e}");
    // One class asked for: no split, no need for values.
    let hs = synthesize(&featured_chain(false), &p, &SynthOptions { feature_classes: 1, ..opts(100) }).unwrap();
    assert!(hs.classes.is_none());
}

#[test]
fn evaluate_checks_the_class() {
    let (wf, p) = bimodal_chain();
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    assert!(matches!(evaluate(&hs, &p, &opts(100), Some(0)), Err(SynthError::BadOption { name: "class", .. })));
    let fhs = synthesize(&featured_chain(false), &featured_profile(), &opts(100)).unwrap();
    assert!(matches!(
        evaluate(&fhs, &featured_profile(), &opts(100), Some(2)),
        Err(SynthError::BadOption { name: "class", .. })
    ));
    let (c0, m0) = evaluate(&fhs, &featured_profile(), &opts(100), Some(0)).unwrap();
    assert!((c0 - fhs.summary[0].expected_cost).abs() < 1e-12 && (m0 - fhs.summary[0].miss_probability).abs() < 1e-12);
}

#[test]
fn provenance_names_the_synthesis() {
    let (wf, p) = bimodal_chain();
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    assert_eq!(hs.provenance.profile_digest, p.digest());
    assert_eq!(hs.provenance.janus_version, env!("CARGO_PKG_VERSION"));
    let s = &hs.provenance.synthesis;
    assert!(s.contains("mode=Stochastic") && s.contains("buckets=100") && s.contains("lambda="), "{s}");
    assert!(hs.provenance.created_unix_s > 0);
}

#[test]
fn diamond_dag_projects_joint_choices() {
    // a -> {b, c} -> d: b and c form one block; each gets its own rules.
    let e = |x: &str, y: &str| (x.to_string(), y.to_string());
    let wf = Workflow::new(
        "diamond",
        slo(1000.0, 0.9),
        CostModel::default(),
        vec![stage("a", &[SMALL]), stage("b", &[SMALL, MID]), stage("c", &[SMALL, MID]), stage("d", &[SMALL])],
        &[e("a", "b"), e("a", "c"), e("b", "d"), e("c", "d")],
    )
    .unwrap();
    let p = profile(&[
        ("a", SMALL, vec![100.0, 500.0]),
        ("b", SMALL, vec![300.0]),
        ("b", MID, vec![100.0]),
        ("c", SMALL, vec![200.0]),
        ("c", MID, vec![100.0]),
        ("d", SMALL, vec![100.0]),
    ]);
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    assert!(hs.warnings.is_empty(), "{:?}", hs.warnings);
    let ad = Adapter::new(hs.clone());
    // After a fast a (900 ms left) both run small: max(300, 200) + 100 fits.
    assert_eq!(ad.decide("b", 100.0, None, None).unwrap().size, SMALL);
    assert_eq!(ad.decide("c", 100.0, None, None).unwrap().size, SMALL);
    // After a slow a (500 ms left): b small (300) + d (100) still fits, so both stay small.
    assert_eq!(ad.decide("b", 500.0, None, None).unwrap().size, SMALL);
    // With 350 ms left b must go mid (100 + 100), c may stay small (200 + 100).
    assert_eq!(ad.decide("b", 650.0, None, None).unwrap().size, MID);
    assert_eq!(ad.decide("c", 650.0, None, None).unwrap().size, SMALL);
    assert!(hs.summary[0].feasible && hs.summary[0].miss_probability == 0.0);
}

#[test]
fn huge_outliers_are_misses_not_allocations() {
    // A timeout sample 1e12 ms against a 1 s deadline at 20000 buckets: one bin past the deadline.
    let (wf, _) = bimodal_chain();
    let p = profile(&[
        ("a", SMALL, vec![100.0, 1e12, 100.0, 100.0]),
        ("b", SMALL, vec![500.0; 3]),
        ("b", BIG, vec![150.0; 3]),
    ]);
    let wf = wf.with_slo(slo(1000.0, 0.7)).unwrap();
    let hs = synthesize(&wf, &p, &opts(20_000)).unwrap();
    let s = &hs.summary[0];
    assert!((s.miss_probability - 0.25).abs() < 1e-12 && s.feasible, "{s:?}");
    // The cost still counts the real (huge) mean of stage a.
    assert!(s.expected_cost > 1e8);
}

#[test]
fn fastest_breaks_ties_towards_more_cpu() {
    let wf =
        Workflow::chain("tie", slo(1000.0, 0.9), CostModel::default(), vec![stage("f", &[SMALL, MID, BIG])]).unwrap();
    let p = profile(&[("f", SMALL, vec![100.0]), ("f", MID, vec![50.0]), ("f", BIG, vec![50.0])]);
    assert_eq!(fastest(&wf, &p).unwrap(), vec![2]);
    assert_eq!(synthesize(&wf, &p, &opts(100)).unwrap().hint("f").unwrap().fastest, BIG);
}

#[test]
fn evaluate_needs_feature_values_for_class_tables() {
    let hs = synthesize(&featured_chain(false), &featured_profile(), &opts(100)).unwrap();
    let plain = profile(&[("a", SMALL, vec![100.0]), ("b", SMALL, vec![500.0]), ("b", BIG, vec![150.0])]);
    assert!(matches!(evaluate(&hs, &plain, &opts(100), Some(0)), Err(SynthError::Features(_))));
    assert!(evaluate(&hs, &plain, &opts(100), None).is_ok());
}

#[test]
fn exactly_one_miss_in_ten_meets_p90() {
    // 1 - 0.9 is 0.09999999999999998 in floating point; a plan missing 10 % must still count.
    let mut lat = vec![100.0; 9];
    lat.push(900.0);
    let wf = Workflow::chain("edge", slo(500.0, 0.9), CostModel::default(), vec![stage("f", &[SMALL, MID])]).unwrap();
    let p = profile(&[("f", SMALL, lat), ("f", MID, vec![100.0])]);
    let st = best_static(&wf, &p, &opts(50)).unwrap();
    assert_eq!((st.sizes[0], st.feasible), (SMALL, true));
    let hs = synthesize(&wf, &p, &opts(50)).unwrap();
    assert!(hs.feasible() && (hs.summary[0].miss_probability - 0.1).abs() < 1e-12);
}
