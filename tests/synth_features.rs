//! Request features and one miss budget: known answers worked out by hand,
//! and properties on random input-driven workflows.
//!
//! Costs: S = 1000m/512Mi (1.052 per s), B = 4000m/512Mi (4.052 per s).

use janus::adapter::{Adapter, Query};
use janus::model::{CostModel, Size, Slo, Stage, Workflow};
use janus::profile::{Profile, Samples};
use janus::synth::{best_static, evaluate, synthesize, SynthOptions};
use proptest::prelude::*;

const S: Size = Size::new(1000, 512);
const B: Size = Size::new(4000, 512);

fn chain(name: &str, stages: &[&str], deadline_ms: f64, percentile: f64) -> Workflow {
    let st = stages.iter().map(|n| Stage { name: n.to_string(), options: vec![S, B], fanout: 1 }).collect();
    Workflow::chain(name, Slo { deadline_ms, percentile }, CostModel::default(), st)
        .unwrap()
        .with_features(&["kb"])
        .unwrap()
}

/// A keyed profile: request `r` has feature `feat(r)` and latency
/// `lat(r, stage, size)` at every stage and size.
fn keyed(stages: &[&str], n: usize, feat: impl Fn(usize) -> f64, lat: impl Fn(usize, usize, Size) -> f64) -> Profile {
    let mut p = Profile::with_features(vec!["kb".into()]);
    for (s, name) in stages.iter().enumerate() {
        for size in [S, B] {
            let keys: Vec<String> = (0..n).map(|r| format!("req{r}")).collect();
            let l: Vec<f64> = (0..n).map(|r| lat(r, s, size)).collect();
            let f: Vec<Vec<f64>> = (0..n).map(|r| vec![feat(r)]).collect();
            p.add(name, size, Samples::new(l).with_keys(keys).with_features(f)).unwrap();
        }
    }
    p
}

fn opts() -> SynthOptions {
    SynthOptions { buckets: 200, smoothing: 0.0, confidence: 0.5, ..SynthOptions::default() }
}

/// Every stage is driven by the request size. Small requests (kb 1-2): each
/// stage 100 ms at S, 50 ms at B. Large (kb 10-20): stage a 600 / 200 ms,
/// b and c 350 / 150 ms. Deadline 1000 ms at p90, half the requests large.
///
/// - A large request that starts a at S (600 ms) must run b and c at B
///   (cost 0.631 + 2 * 0.608 = 1.847); starting a at B (200 ms) it can run
///   b and c at S (0.810 + 2 * 0.368 = 1.547).
/// - A small request is cheapest all S (0.316); a at B costs 0.413.
/// - Without the feature, a's size is chosen before the request's size
///   shows: B for everyone is best, (0.413 + 1.547) / 2 = 0.980, and that is
///   also the best static plan (B, S, S). With the feature: S for small, B
///   for large: (0.316 + 1.547) / 2 = 0.931, 5 % less.
#[test]
fn a_request_that_drives_every_stage_is_worth_conditioning_on() {
    let stages = ["a", "b", "c"];
    let wf = chain("driven", &stages, 1000.0, 0.9);
    let large = |r: usize| r % 2 == 1;
    let p = keyed(
        &stages,
        160,
        |r| if large(r) { 10.0 + (r % 11) as f64 } else { 1.0 + (r % 7) as f64 / 7.0 },
        |r, s, size| match (large(r), s, size == B) {
            (false, _, false) => 100.0,
            (false, _, true) => 50.0,
            (true, 0, false) => 600.0,
            (true, 0, true) => 200.0,
            (true, _, false) => 350.0,
            (true, _, true) => 150.0,
        },
    );
    let hs = synthesize(&wf, &p, &opts()).unwrap();
    assert_eq!(hs.plan.chosen, "2 classes", "{:?}", hs.plan);
    let c = hs.classes.as_ref().expect("classes");
    assert_eq!(c.count(), 2);
    let cost = |ms: f64, size: Size| CostModel::default().cost(&size, ms);
    let small = 3.0 * cost(100.0, S);
    let big = cost(200.0, B) + 2.0 * cost(350.0, S);
    let want = 0.5 * small + 0.5 * big;
    assert!((hs.plan.expected_cost - want).abs() < 1e-9, "{} vs {want}", hs.plan.expected_cost);
    assert!(hs.plan.miss_probability < 1e-12);
    let st = best_static(&wf, &p, &opts()).unwrap();
    assert_eq!(st.sizes, vec![B, S, S]);
    assert!(hs.plan.expected_cost < st.expected_cost * 0.96);
    // Without the feature and without budget bands, the DP plans as if the
    // stages were independent: it starts a at S hoping b and c are fast, and
    // large requests then pay 1.847. Judged on the requests themselves it
    // loses to static.
    let unc = |hs: &janus::hints::HintSet| {
        hs.plan.candidates.iter().find(|c| c.name == "unconditioned").unwrap().expected_cost
    };
    let plain = synthesize(&wf, &p, &SynthOptions { bands: false, ..opts() }).unwrap();
    assert!(unc(&plain) > st.expected_cost, "{:?}", plain.plan);
    // Budget bands see that a run reaching b with 400 ms left (a at S took
    // 600) is a large one, slow at b and c too; replanned on them, the
    // unconditioned plan is the best one without the feature: B for
    // everyone, 0.980, a tie with static.
    assert!((unc(&hs) - 0.5 * (cost(50.0, B) + 2.0 * cost(100.0, S)) - 0.5 * big).abs() < 1e-9, "{:?}", hs.plan);
    // Runs whose features are unknown get the static plan (the tie goes to the simpler).
    let unknown = hs.summary.last().unwrap();
    assert_eq!((unknown.class, unknown.source.as_str()), (None, "static"));
    assert!((unknown.expected_cost - (0.5 * (cost(50.0, B) + 2.0 * cost(100.0, S)) + 0.5 * big)).abs() < 1e-9);
    // The adapter: features at every stage pick the class.
    let ad = Adapter::new(hs.clone());
    let size_of = |f: f64| ad.decide("a", &Query { features: Some(&[f]), ..Query::default() }).unwrap().size;
    assert_eq!((size_of(1.5), size_of(15.0)), (S, B));
    // evaluate() agrees.
    let e = evaluate(&hs, &p, &opts()).unwrap();
    assert!((e.expected_cost - want).abs() < 1e-9);
}

/// 8 % of requests (large) cannot make a 700 ms deadline at any size (two
/// stages of 500 ms at B). The workflow is still feasible at p90: the small
/// requests must then miss at most (10 - 8) / 92 of the time, and the
/// large class gets what is cheapest for a lost run.
#[test]
fn a_class_that_cannot_make_it_is_paid_for_by_the_others() {
    let stages = ["a", "b"];
    let wf = chain("lost", &stages, 700.0, 0.9);
    let n = 250;
    let large = |r: usize| r % 25 < 2; // 20 of 250 = 8 %
                                       // Small requests: a spread of 200-395 ms at S, half at B.
    let p = keyed(
        &stages,
        n,
        |r| if large(r) { 50.0 } else { 1.0 + (r % 13) as f64 },
        |r, s, size| {
            let base = if large(r) { 1000.0 } else { 200.0 + ((r * 7 + s * 13) % 40) as f64 * 5.0 };
            if size == B {
                base / 2.0
            } else {
                base
            }
        },
    );
    let hs = synthesize(&wf, &p, &opts()).unwrap();
    assert!(hs.feasible(), "{:?}", hs.plan);
    assert!(hs.plan.miss_probability <= 0.1 + 1e-9, "{:?}", hs.plan);
    let c = hs.classes.as_ref().expect("classes");
    assert_eq!(c.count(), 2, "{c:?}");
    let large_class = c.class_of(&[50.0]);
    let small_class = c.class_of(&[3.0]);
    let (wl, _, ml) = (hs.summary[large_class].weight, 0.0, hs.summary[large_class].miss_probability);
    assert!((wl - 0.08).abs() < 1e-9 && (ml - 1.0).abs() < 1e-9, "{:?}", hs.summary[large_class]);
    assert!(hs.summary[small_class].miss_probability <= 0.02 / 0.92 + 1e-9, "{:?}", hs.summary[small_class]);
    // Each class on its own at p90 would let the small class miss 10 %: more than the workflow may.
    // A lost run costs the least: S everywhere (the late fallback is static's S or cheaper).
    let ad = Adapter::new(hs.clone());
    let d = ad.decide("a", &Query { features: Some(&[50.0]), ..Query::default() }).unwrap();
    assert_eq!(d.size, S, "{d:?}");
}

/// A feature that predicts nothing gives no classes: the result is the
/// unconditioned synthesis, table for table.
#[test]
fn a_feature_that_predicts_nothing_changes_nothing() {
    let stages = ["a", "b"];
    let wf = chain("noise", &stages, 900.0, 0.9);
    // Latency varies with the request, the feature is unrelated to it.
    let p = keyed(
        &stages,
        200,
        |r| ((r * 7919) % 101) as f64,
        |r, s, size| {
            let base = 150.0 + ((r * 31 + s * 17) % 50) as f64 * 6.0;
            if size == B {
                base / 2.5
            } else {
                base
            }
        },
    );
    let hs = synthesize(&wf, &p, &opts()).unwrap();
    assert!(hs.classes.is_none(), "{:?}", hs.classes);
    let plain = synthesize(&wf, &p, &SynthOptions { max_classes: Some(1), ..opts() }).unwrap();
    assert_eq!(hs.hints, plain.hints);
    assert_eq!(hs.summary, plain.summary);
    // A feature that does predict latency but where the deadline is loose: every
    // class runs the cheapest sizes, conditioning saves nothing, no classes either.
    let loose = chain("loose", &stages, 5000.0, 0.9);
    let q = keyed(
        &stages,
        100,
        |r| (r % 10) as f64,
        |r, _, size| if size == B { 20.0 + (r % 10) as f64 * 30.0 } else { 50.0 + (r % 10) as f64 * 80.0 },
    );
    let hs = synthesize(&loose, &q, &opts()).unwrap();
    assert!(hs.classes.is_none(), "{:?}", hs.plan);
    assert_eq!(hs.plan.chosen, "static");
}

/// Random input-driven chains: 2-3 stages whose latency scales with a
/// log-normal request size (with a per-stage exponent) and per-request noise.
#[derive(Debug, Clone)]
struct Driven {
    wf: Workflow,
    profile: Profile,
}

fn driven() -> impl Strategy<Value = Driven> {
    let stage = (50.0f64..400.0, 0.0f64..1.2, 1.2f64..3.5);
    (prop::collection::vec(stage, 2..=3), 1.2f64..3.0, prop::sample::select(vec![0.8, 0.9, 0.95]), any::<u64>())
        .prop_map(|(stages, slack, percentile, seed)| {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let n = 120;
            let kb: Vec<f64> = (0..n).map(|_| (rng.gen::<f64>() * 2.0 - 1.0).exp() * 10.0).collect();
            let noise: Vec<Vec<f64>> =
                (0..n).map(|_| stages.iter().map(|_| 0.8 + 0.4 * rng.gen::<f64>()).collect()).collect();
            let names: Vec<String> = (0..stages.len()).map(|i| format!("s{i}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let lat = |r: usize, s: usize, size: Size| {
                let (base, exp, speedup) = stages[s];
                let t = base * (kb[r] / 10.0).powf(exp) * noise[r][s];
                if size == B {
                    t / speedup
                } else {
                    t
                }
            };
            let profile = keyed(&refs, n, |r| kb[r], lat);
            // Deadline: a multiple of the median all-B end-to-end latency.
            let mut e2e: Vec<f64> = (0..n).map(|r| (0..stages.len()).map(|s| lat(r, s, B)).sum()).collect();
            e2e.sort_by(f64::total_cmp);
            let wf = chain("driven", &refs, (e2e[n / 2] * slack).round(), percentile);
            Driven { wf, profile }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(24), ..ProptestConfig::default() })]

    /// One miss budget: when static sizing can meet the percentile, so does
    /// the plan over all requests, at no more cost.
    #[test]
    fn the_aggregate_meets_the_percentile_for_no_more_than_static(d in driven()) {
        let o = SynthOptions { buckets: 150, ..SynthOptions::default() };
        let hs = synthesize(&d.wf, &d.profile, &o).unwrap();
        let st = best_static(&d.wf, &d.profile, &o).unwrap();
        let target = 1.0 - d.wf.slo().percentile;
        if st.feasible {
            prop_assert!(hs.feasible(), "{:?}", hs.plan);
            prop_assert!(hs.plan.miss_probability <= target + 1e-9, "{:?}", hs.plan);
            prop_assert!(hs.plan.expected_cost <= st.expected_cost * (1.0 + 1e-9), "{} > static {}", hs.plan.expected_cost, st.expected_cost);
        }
        let back = janus::hints::HintSet::from_json(&hs.to_json(), "prop").unwrap();
        prop_assert_eq!(&back, &hs);
    }
}

/// The number of cases: `n`, or `PROPTEST_CASES` to search harder (CI keeps `n`).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
}
