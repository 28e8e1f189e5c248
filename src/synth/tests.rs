//! Unit tests with answers worked out by hand (costs with the default cost
//! model: 1.0 per core-second + 0.104 per GiB-second). Plans are held to
//! the percentile itself (`confidence: 0.5`, no margin for sampling error),
//! so the hand computations are exact.

use super::conv::Conv;
use super::data::Data;
use super::dp;
use super::evaluate::forward;
use super::grid::{Models, StageDist};
use super::*;
use crate::adapter::{Adapter, Query};
use crate::hints::{HintSet, Late};
use crate::model::{CostModel, Slo, Stage};
use crate::profile::{ProfileError, Samples};

const SMALL: Size = Size::new(1000, 512); // rate 1.052 / s
const BIG: Size = Size::new(8000, 512); // rate 8.052 / s
const MID: Size = Size::new(4000, 512); // rate 4.052 / s

fn stage(name: &str, options: &[Size]) -> Stage {
    Stage { name: name.into(), options: options.to_vec(), fanout: 1 }
}

fn slo(deadline_ms: f64, percentile: f64) -> Slo {
    Slo { deadline_ms, percentile }
}

fn profile(entries: &[(&str, Size, Vec<f64>)]) -> Profile {
    let mut p = Profile::new();
    for (f, s, l) in entries {
        p.add(f, *s, Samples::new(l.clone())).unwrap();
    }
    p
}

fn opts(buckets: usize) -> SynthOptions {
    SynthOptions { buckets, smoothing: 0.0, confidence: 0.5, ..SynthOptions::default() }
}

fn rules_of(hs: &HintSet, f: &str, table: usize) -> Vec<(f64, Vec<Size>)> {
    hs.hint(f).unwrap().tables[table].rules.iter().map(|r| (r.min_remaining_ms, r.sizes.clone())).collect()
}

fn rules_of_alt(hs: &HintSet, f: &str, table: usize) -> Vec<(f64, Vec<Size>)> {
    hs.hint(f).unwrap().alt_tables[table].rules.iter().map(|r| (r.min_remaining_ms, r.sizes.clone())).collect()
}

fn decide(ad: &Adapter, f: &str, elapsed_ms: f64) -> Size {
    ad.decide(f, &Query { elapsed_ms, ..Query::default() }).unwrap().size
}

/// Three blocks of 3, 2 and 4 options with spread-out histograms (for the
/// convolution-vs-direct checks).
pub(crate) fn toy_models(b_max: usize) -> Models {
    let sizes = |n: u32| (1..=n).map(|c| Size::new(c * 500, 512)).collect::<Vec<_>>();
    let wf = Workflow::chain(
        "toy",
        slo(b_max as f64, 0.9),
        CostModel::default(),
        vec![
            Stage { name: "a".into(), options: sizes(3), fanout: 1 },
            Stage { name: "b".into(), options: sizes(2), fanout: 2 },
            Stage { name: "c".into(), options: sizes(4), fanout: 1 },
        ],
    )
    .unwrap();
    let dists: Vec<Vec<StageDist>> = wf
        .stages()
        .iter()
        .enumerate()
        .map(|(s, st)| {
            (0..st.options.len())
                .map(|o| {
                    let centre = (b_max as f64) * (0.5 - 0.08 * o as f64) / (1.0 + s as f64 * 0.3);
                    let samples: Vec<f64> = (0..60).map(|i| centre * (0.6 + 0.015 * f64::from(i))).collect();
                    let h = super::grid::bandwidth(&samples, 1.0);
                    StageDist {
                        bins: super::grid::max_of(&super::grid::histogram(&samples, 1.0, b_max, h), st.fanout),
                        cost: (o + 1) as f64 * 0.1,
                    }
                })
                .collect()
        })
        .collect();
    let mut m = Models::build(&wf, &dists, b_max, 1.0);
    m.set_fallback(&[2, 1, 3]);
    m
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
    // Below 500 ms left small cannot make it (below 150 ms nothing can: the late fallback, big).
    assert_eq!(rules_of(&hs, "b", 0), vec![(0.0, vec![BIG]), (500.0, vec![SMALL])]);
    assert_eq!(rules_of(&hs, "a", 0), vec![(0.0, vec![SMALL])]);
    let ad = Adapter::new(hs.clone());
    assert_eq!(decide(&ad, "b", 100.0), SMALL);
    assert_eq!(decide(&ad, "b", 600.0), BIG);
    let s = &hs.summary[0];
    let cost_a = 1.052 * 0.35;
    let expected = cost_a + 0.5 * 1.052 * 0.5 + 0.5 * 8.052 * 0.15;
    assert_eq!((s.source.as_str(), hs.plan.chosen.as_str()), ("dp", "unconditioned"));
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
    assert!((hs.plan.expected_cost - s.expected_cost).abs() < 1e-12);
    // The alternative gives up on a slow `a`: small for `b` with 400 ms left.
    let at = |rules: Vec<(f64, Vec<Size>)>, left: f64| rules.iter().rev().find(|r| r.0 <= left).unwrap().1[0];
    assert_eq!(at(rules_of_alt(&hs, "b", 0), 400.0), SMALL);
    assert_eq!(at(rules_of(&hs, "b", 0), 400.0), BIG);
    // The static alternative has to take big always.
    let st = best_static(&wf, &p, &opts(100)).unwrap();
    assert_eq!(st.sizes, vec![SMALL, BIG]);
    assert!((st.expected_cost - (cost_a + 8.052 * 0.15)).abs() < 1e-9);
    // evaluate() agrees with the summary of the primary tables.
    let e = evaluate(&plain, &p, &opts(100)).unwrap();
    assert!((e.expected_cost - expected).abs() < 1e-12 && e.miss_probability < 1e-12, "{e:?}");
}

#[test]
fn loose_percentile_takes_the_risk_and_static_wins_the_tie() {
    // At p40 the miss allowance (0.6) covers the slow half: small always.
    let (wf, p) = bimodal_chain();
    let wf = wf.with_slo(slo(1000.0, 0.4)).unwrap();
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    assert!((hs.plan.miss_probability - 0.5).abs() < 1e-12, "{:?}", hs.plan);
    assert!(hs.feasible());
    assert_eq!(hs.plan.chosen, "static", "{:?}", hs.plan);
    assert_eq!(rules_of(&hs, "b", 0), vec![(0.0, vec![SMALL])]);
    // Late runs get the static size, never a dearer one.
    assert_eq!(hs.hint("b").unwrap().fallback, SMALL);
}

#[test]
fn late_runs_follow_the_late_policy() {
    let (wf, p) = bimodal_chain();
    for (late, want) in [(Late::Static, BIG), (Late::Fastest, BIG), (Late::Cheapest, SMALL)] {
        let hs = synthesize(&wf, &p, &SynthOptions { late, ..opts(100) }).unwrap();
        assert_eq!((hs.late, hs.hint("b").unwrap().fallback), (late, want));
        let ad = Adapter::new(hs);
        let d = ad.decide("b", &Query { elapsed_ms: 2000.0, ..Query::default() }).unwrap();
        assert_eq!((d.size, d.late), (want, true));
    }
}

#[test]
fn dp_values_match_forward_evaluation_and_the_direct_dp() {
    let (wf, p) = bimodal_chain();
    let data = Data::new(&wf, &p).unwrap();
    let mut models = data.models(100, 0.0, None).unwrap();
    models.set_fallback(&[0, 1]);
    let conv = Conv::new(101);
    for lambda in [0.0, 0.1, 10.0, 1e6] {
        let pass = dp::backward(&models, &conv, lambda, None, None);
        let e = forward(&models, &conv, &pass.policy);
        let (c, m) = (pass.cost_from[0][100], pass.miss_from[0][100]);
        assert!((e.cost - c).abs() < 1e-9 && (e.miss - m).abs() < 1e-12, "lambda {lambda}");
    }
    // Long histograms (FFT) and the direct DP choose alike, up to near-ties.
    let models = toy_models(900);
    let conv = Conv::new(901);
    for lambda in [0.0, 0.05, 0.5, 5.0, 1e4] {
        let fast = dp::backward(&models, &conv, lambda, None, None);
        let (slow, values) = dp::reference::backward(&models, lambda);
        for i in 0..models.blocks.len() {
            for b in 0..=models.b_max {
                let (f, s) = (fast.policy[i][b], slow[i][b]);
                if f != s {
                    // A different choice must be worth the same (within 1e-9 relative).
                    let v = fast.cost_from[i][b] + lambda * fast.miss_from[i][b];
                    let w = values[i][b];
                    assert!((v - w).abs() <= 1e-9 * w.abs().max(1.0), "block {i} budget {b}: {f} ({v}) vs {s} ({w})");
                }
            }
        }
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
    let m = Data::new(&wf, &p).unwrap().models(25, 0.0, None).unwrap();
    let h = &m.blocks[0].options[0].hist;
    assert_eq!((h.off, h.p.len()), (10, 1));
    assert!((h.p[0] - 0.81).abs() < 1e-12);
    let hs = synthesize(&wf, &p, &opts(25)).unwrap();
    assert!(hs.feasible() && hs.plan.miss_probability <= 0.15 + 1e-9);
    assert_eq!(hs.hint("f").unwrap().tables[0].rules.last().unwrap().sizes[0], MID);
}

#[test]
fn keyed_fanout_instances_of_one_request_are_slow_together() {
    // The same latencies as above, measured on 10 requests of two instances
    // each: nine requests run both at 100 ms, one both at 300 ms. Per run the
    // maximum is late with probability 0.1, so SMALL meets p85 at 250 ms;
    // taken as independent draws (the unkeyed model) it would be 0.19.
    let keys: Vec<String> = (0..10).flat_map(|r| [format!("r{r}"), format!("r{r}")]).collect();
    let small: Vec<f64> = (0..10).flat_map(|r| if r == 9 { [300.0, 300.0] } else { [100.0, 100.0] }).collect();
    let mut p = Profile::new();
    p.add("f", SMALL, Samples { latencies: small, keys: Some(keys.clone()), features: None }).unwrap();
    p.add("f", MID, Samples { latencies: vec![100.0; 20], keys: Some(keys), features: None }).unwrap();
    let mut st = stage("f", &[SMALL, MID]);
    st.fanout = 2;
    let wf = Workflow::chain("fan", slo(250.0, 0.85), CostModel::default(), vec![st]).unwrap();
    let m = Data::new(&wf, &p).unwrap().models(25, 0.0, None).unwrap();
    let h = &m.blocks[0].options[0].hist;
    assert_eq!((h.off, h.p.len()), (10, 1));
    assert!((h.p[0] - 0.9).abs() < 1e-12, "{:?}", h.p);
    let st = best_static(&wf, &p, &opts(25)).unwrap();
    assert_eq!(st.sizes, vec![SMALL]);
    assert!((st.miss_probability - 0.1).abs() < 1e-9);
    assert!((st.expected_cost - 2.0 * 1.052 * 0.12).abs() < 1e-9, "every instance is paid");
    // Measured once per request (as `janus profile` does), the instances run
    // on the request's input as the replay takes them: slow together.
    let once: Vec<String> = (0..10).map(|r| format!("r{r}")).collect();
    let mut p1 = Profile::new();
    let lat: Vec<f64> = (0..10).map(|r| if r == 9 { 300.0 } else { 100.0 }).collect();
    p1.add("f", SMALL, Samples { latencies: lat, keys: Some(once.clone()), features: None }).unwrap();
    p1.add("f", MID, Samples { latencies: vec![100.0; 10], keys: Some(once), features: None }).unwrap();
    assert_eq!(best_static(&wf, &p1, &opts(25)).unwrap().sizes, vec![SMALL]);
    // Unkeyed, the same samples are independent draws: 0.81 on time, MID.
    let loose = profile(&[("f", SMALL, p.get("f", &SMALL).unwrap().latencies.clone()), ("f", MID, vec![100.0; 20])]);
    assert_eq!(best_static(&wf, &loose, &opts(25)).unwrap().sizes, vec![MID]);
}

#[test]
fn parallel_block_is_one_stage_of_joint_sizes() {
    // Stages `b` and `c` start together (no edges: one block). b: small 300 ms
    // or mid 100 ms; c: small 100/400 ms (50/50) or mid 100/200 ms.
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
    assert_eq!(wf.blocks().len(), 1);
    let data = Data::new(&wf, &p).unwrap();
    assert_eq!(data.fastest(), vec![1, 1]);
    let m = data.models(35, 0.0, None).unwrap();
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
    assert!((hs.plan.miss_probability - 0.5).abs() < 1e-12);
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
    // Below 200 ms left nothing fits: the late fallback (static's small).
    assert_eq!(rules_of(&hs, "s2", 0), vec![(0.0, vec![SMALL]), (200.0, vec![MID]), (500.0, vec![SMALL])]);
    let expected = 4.052 * 0.2 + 1.052 * 0.5;
    assert!((hs.plan.expected_cost - expected).abs() < 1e-9);
    assert_eq!(hs.plan.miss_probability, 0.0);
    // The stochastic DP finds the same plan; mixed per run with (s, s) for
    // 5 % of runs (1100 ms, cost 1.157) it beats the static (m, s).
    let dp = synthesize(&wf, &p, &SynthOptions { mix: true, ..opts(100) }).unwrap();
    assert_eq!(dp.plan.chosen, "unconditioned", "{:?}", dp.plan);
    let (pc, pm) = dp.summary[0].primary.expect("mixed");
    assert!((pc - expected).abs() < 1e-9 && pm == 0.0);
    let q = dp.summary[0].mix.unwrap();
    assert!((q - 0.05).abs() < 2e-6);
    assert!((dp.summary[0].expected_cost - (q * 1.052 * 1.1 + (1.0 - q) * expected)).abs() < 1e-9);
    // Without mixing the DP only ties static: static is kept (simpler).
    let plain = synthesize(&wf, &p, &opts(100)).unwrap();
    assert_eq!(plain.plan.chosen, "static");
    assert_eq!(rules_of(&plain, "s1", 0), vec![(0.0, vec![MID])]);
}

#[test]
fn ranked_lists_keep_close_alternatives() {
    // a: 100 or 600 ms. b: small 500 ms (0.526), mid 250 ms (1.013 + memory),
    // big 150 ms (1.2078). After a slow a (400 ms left) mid or big; big is
    // within 25 % of mid and as safe, so it is ranked second.
    let mid = Size::new(4000, 2048); // rate 4.208
    let wf = Workflow::chain(
        "ranked",
        slo(1000.0, 0.9),
        CostModel::default(),
        vec![stage("a", &[SMALL]), stage("b", &[SMALL, mid, BIG])],
    )
    .unwrap();
    let p = profile(&[
        ("a", SMALL, vec![100.0, 600.0, 100.0, 600.0]),
        ("b", SMALL, vec![500.0]),
        ("b", mid, vec![250.0]),
        ("b", BIG, vec![150.0]),
    ]);
    let hs = synthesize(&wf, &p, &SynthOptions { tolerance: 0.25, ..opts(100) }).unwrap();
    assert_eq!(hs.plan.chosen, "unconditioned");
    let r = rules_of(&hs, "b", 0);
    let at = |left: f64| r.iter().rev().find(|x| x.0 <= left).unwrap().1.clone();
    assert_eq!(at(400.0), vec![mid, BIG], "{r:?}");
    assert_eq!(at(900.0), vec![SMALL], "{r:?}");
    // The provider takes the alternative when mid does not fit the node's memory.
    let ad = Adapter::new(hs);
    let q = Query { elapsed_ms: 600.0, free: Some(Size::new(8000, 1024)), ..Query::default() };
    let d = ad.decide("b", &q).unwrap();
    assert_eq!((d.size, d.fits), (BIG, true));
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
    assert!(two.feasible());
    let want = 1.052 * 0.45 + (1.052 * 0.6 + 2.0 * 8.052 * 0.15) / 3.0;
    assert!((two.plan.expected_cost - want).abs() < 1e-9, "{:?}", two.plan);
    // Cap 1: only the fastest size is safe everywhere (and equals static).
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
    // Everything misses: b runs its late fallback everywhere (static is all-fastest here).
    assert_eq!(rules_of(&hs, "b", 0), vec![(0.0, vec![BIG])]);
    assert!(!best_static(&wf, &p, &opts(100)).unwrap().feasible);
    let pct = synthesize(&wf, &p, &SynthOptions { mode: Mode::Percentile, ..opts(100) }).unwrap();
    assert!(!pct.feasible());
}

#[test]
fn approximation_note_and_thin_profile_are_warnings() {
    // a -> b -> c and a -> c -> d: c waits for b's whole level.
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
    assert!(hs.warnings.iter().any(|w| w.contains("skips a level")), "{:?}", hs.warnings);
    // 1 sample where p90 needs 36.
    assert!(hs.warnings.iter().any(|w| w.contains("thin profile: 1 samples") && w.contains("36")), "{:?}", hs.warnings);
    assert_eq!(samples_needed(0.95), 76);
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
    assert_eq!(name_of(SynthOptions { max_classes: Some(0), ..opts(100) }), "max_classes");
    assert_eq!(name_of(SynthOptions { max_classes: Some(1000), ..opts(100) }), "max_classes");
    assert_eq!(name_of(SynthOptions { min_class_samples: 0, ..opts(100) }), "min_class_samples");
    assert_eq!(name_of(SynthOptions { smoothing: f64::NAN, ..opts(100) }), "smoothing");
    assert_eq!(name_of(SynthOptions { min_gain: 1.0, ..opts(100) }), "min_gain");
    let msg = synthesize(&wf, &p, &opts(5)).unwrap_err().to_string();
    assert!(msg.contains("buckets") && msg.contains('5'), "{msg}");
}

#[test]
fn provenance_names_the_synthesis() {
    let (wf, p) = bimodal_chain();
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    assert_eq!(hs.provenance.profile_digest, p.digest());
    assert_eq!(hs.provenance.workflow_digest, wf.digest());
    assert_eq!(hs.provenance.janus_version, env!("CARGO_PKG_VERSION"));
    let s = &hs.provenance.synthesis;
    assert!(s.contains("mode=stochastic") && s.contains("buckets=100") && s.contains("lambda="), "{s}");
    assert!(hs.provenance.created_unix_s > 0);
    assert_eq!(hs.plan.candidates.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["static", "unconditioned"]);
    assert!(hs.plan.reason.contains("cheapest"), "{}", hs.plan.reason);
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
        ("a", SMALL, vec![100.0, 650.0]),
        ("b", SMALL, vec![300.0]),
        ("b", MID, vec![100.0]),
        ("c", SMALL, vec![200.0]),
        ("c", MID, vec![100.0]),
        ("d", SMALL, vec![100.0]),
    ]);
    let hs = synthesize(&wf, &p, &opts(100)).unwrap();
    // Tiny and unkeyed: thin, and its stages taken as independent; nothing else.
    assert!(
        hs.warnings.iter().all(|w| w.contains("thin profile") || w.contains("stages are planned as independent")),
        "{:?}",
        hs.warnings
    );
    assert!(hs.warnings.iter().any(|w| w.contains("stages are planned as independent")), "{:?}", hs.warnings);
    // Static must run b mid for the slow a; late binding only then.
    assert_eq!(hs.plan.chosen, "unconditioned");
    let ad = Adapter::new(hs.clone());
    // After a fast a (900 ms left) both run small: max(300, 200) + 100 fits.
    assert_eq!(decide(&ad, "b", 100.0), SMALL);
    assert_eq!(decide(&ad, "c", 100.0), SMALL);
    // With 500 ms left b small (300) + d (100) still fits.
    assert_eq!(decide(&ad, "b", 500.0), SMALL);
    // With 350 ms left b must go mid (100 + 100), c may stay small (200 + 100).
    assert_eq!(decide(&ad, "b", 650.0), MID);
    assert_eq!(decide(&ad, "c", 650.0), SMALL);
    // No run misses (up to FFT rounding: the histogram of `a` is long enough to be convolved by FFT).
    assert!(hs.feasible() && hs.plan.miss_probability < 1e-12, "{:?}", hs.plan);
}

#[test]
fn huge_outliers_are_misses_not_allocations() {
    // A timeout sample 1e12 ms against a 1 s deadline at 20000 buckets: past the deadline, not a million bins.
    let (wf, _) = bimodal_chain();
    let p = profile(&[
        ("a", SMALL, vec![100.0, 1e12, 100.0, 100.0]),
        ("b", SMALL, vec![500.0; 3]),
        ("b", BIG, vec![150.0; 3]),
    ]);
    let wf = wf.with_slo(slo(1000.0, 0.7)).unwrap();
    let hs = synthesize(&wf, &p, &opts(20_000)).unwrap();
    assert!((hs.plan.miss_probability - 0.25).abs() < 1e-12 && hs.feasible(), "{:?}", hs.plan);
    // The cost still counts the real (huge) mean of stage a.
    assert!(hs.plan.expected_cost > 1e8);
}

#[test]
fn fastest_breaks_ties_towards_more_cpu() {
    let wf =
        Workflow::chain("tie", slo(1000.0, 0.9), CostModel::default(), vec![stage("f", &[SMALL, MID, BIG])]).unwrap();
    let p = profile(&[("f", SMALL, vec![100.0]), ("f", MID, vec![50.0]), ("f", BIG, vec![50.0])]);
    assert_eq!(Data::new(&wf, &p).unwrap().fastest(), vec![2]);
    assert_eq!(synthesize(&wf, &p, &opts(100)).unwrap().hint("f").unwrap().fastest, BIG);
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
    assert!(hs.feasible() && (hs.plan.miss_probability - 0.1).abs() < 1e-12);
}

#[test]
fn one_profile_one_synthesis_whatever_the_thread_count() {
    // A keyed profile (cross-fitted, walked request by request) with a
    // request trait shared by both stages, latencies with no short binary
    // expansion: sums of them depend on the order they are added in.
    let wf = Workflow::chain(
        "threads",
        slo(900.0, 0.9),
        CostModel::default(),
        vec![stage("a", &[SMALL, BIG]), stage("b", &[SMALL, MID, BIG])],
    )
    .unwrap();
    let n = 2000;
    let keys: Vec<String> = (0..n).map(|r| format!("r{r}")).collect();
    let slow = |r: usize| (((r * 7919) % 997) as f64 / 331.0).exp();
    // I/O wait plus CPU work: a larger size pays for its idle cores, so sizes trade cost for time.
    let lat = |io: f64, rate: f64| (0..n).map(|r| io + 300.0 * slow(r) / rate).collect::<Vec<f64>>();
    let mut p = Profile::new();
    for (f, s, io) in
        [("a", SMALL, 201.3), ("a", BIG, 203.1), ("b", SMALL, 151.7), ("b", MID, 149.3), ("b", BIG, 152.9)]
    {
        let rate = f64::from(s.cpu_millis) / 1000.0;
        p.add(f, s, Samples::new(lat(io, rate)).with_keys(keys.clone())).unwrap();
    }
    let o = SynthOptions { confidence: 0.9, ..SynthOptions::default() };
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut hs = pool.install(|| synthesize(&wf, &p, &o)).unwrap();
        hs.provenance.created_unix_s = 0;
        hs
    };
    let one = on(1);
    assert!(one.provenance.synthesis.contains("cross-fit over"), "{}", one.provenance.synthesis);
    for threads in [2, 3, 7] {
        assert_eq!(on(threads), one, "{threads} threads");
    }
}
