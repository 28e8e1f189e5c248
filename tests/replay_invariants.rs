//! Invariants of the trace replay (not numbers): on synthetic workflows with
//! a fan-out and a parallel block, keyed and unkeyed, and on the real ORION
//! traces when present.

use janus::adapter::{run_key_of, Adapter, Query};
use janus::model::{CostModel, Size, Slo, Stage, Workflow};
use janus::profile::{lambda_size, read_orion, Profile, ProfileError, Samples};
use janus::replay::{
    oracle_run, replay, simulate, Coupling, Executions, PolicyKind, PolicySpec, ReplayConfig, ReplayError,
    ReplayOutcome, SimulateOptions,
};
use janus::synth::{best_static, synthesize, SynthOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

fn sizes() -> Vec<Size> {
    vec![Size::new(500, 512), Size::new(1000, 1024), Size::new(2000, 2048)]
}

/// A -> {B (fanout 2), C} -> D; latency ~ work * (kb / 10)^0.7 / cores^0.8
/// with per-request noise. Keyed (every request measured at every stage and
/// size, with its feature `kb`) or not (each size drawn on its own).
fn synthetic(deadline_ms: f64, keyed: bool) -> (Workflow, Profile) {
    let st = |n: &str, fanout| Stage { name: n.into(), options: sizes(), fanout };
    let wf = Workflow::new(
        "synthetic",
        Slo { deadline_ms, percentile: 0.9 },
        CostModel::default(),
        vec![st("A", 1), st("B", 2), st("C", 1), st("D", 1)],
        &[("A".into(), "B".into()), ("A".into(), "C".into()), ("B".into(), "D".into()), ("C".into(), "D".into())],
    )
    .unwrap()
    .with_features(&["kb"])
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 400;
    let kb: Vec<f64> = (0..n).map(|_| (rng.gen::<f64>() * 2.0 - 1.0).exp() * 10.0).collect();
    let noise: Vec<f64> = (0..n).map(|_| (0.3 * ((0..4).map(|_| rng.gen::<f64>()).sum::<f64>() - 2.0)).exp()).collect();
    let mut p = Profile::with_features(vec!["kb".into()]);
    for (name, work) in [("A", 400.0), ("B", 900.0), ("C", 600.0), ("D", 300.0)] {
        for s in sizes() {
            let lat: Vec<f64> = (0..n)
                .map(|r| {
                    let own = if keyed { noise[r] } else { (0.3 * (rng.gen::<f64>() - 0.5)).exp() };
                    work * (kb[r] / 10.0).powf(0.7) / s.cores().powf(0.8) * own
                })
                .collect();
            let mut smp = Samples::new(lat).with_features(kb.iter().map(|&k| vec![k]).collect());
            if keyed {
                smp = smp.with_keys((0..n).map(|r| format!("r{r}")).collect());
            }
            p.add(name, s, smp).unwrap();
        }
    }
    (wf, p)
}

fn opts(runs: usize, coupling: Coupling) -> SimulateOptions {
    SimulateOptions {
        replay: ReplayConfig { runs, seed: 3, coupling },
        synth: SynthOptions { buckets: 200, ..SynthOptions::default() },
        ..SimulateOptions::default()
    }
}

fn orion_dir(name: &str) -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let base =
        std::env::var_os("JANUS_ORION_DIR").map(PathBuf::from).unwrap_or_else(|| repo.join("../shared/data/orion"));
    if base.join(name).is_dir() {
        return Some(base.join(name));
    }
    eprintln!("SKIPPED: ORION traces not found at {} (set JANUS_ORION_DIR)", base.display());
    None
}

fn orion(name: &str, order: &[&str], factor: f64) -> Option<(Workflow, Profile)> {
    let t = read_orion(&orion_dir(name)?).unwrap();
    let chain = |d: f64| {
        let stages = order.iter().map(|n| Stage { name: n.to_string(), options: t.sizes.clone(), fanout: 1 });
        Workflow::chain(name, Slo { deadline_ms: d, percentile: 0.95 }, CostModel::memory_only(), stages.collect())
            .unwrap()
    };
    // Deadline: a factor of the p95 end-to-end latency at the largest size.
    let wf = chain(1e9);
    let max = replay(&wf, &t.profile, &t.profile, &[PolicySpec::MaxSize], &ReplayConfig::default()).unwrap();
    assert_eq!(t.sizes.last(), Some(&lambda_size(10240)));
    Some((chain(factor * max.summary[0].p95_ms), t.profile))
}

/// The clairvoyant oracle: it attains the percentile whenever the runs
/// allow it, and on every run it pays no more than a policy that met the
/// deadline (its cheapest feasible assignment), nor more than any policy
/// on a run it lets miss (its cheapest assignment overall).
fn check_against_oracle(out: &ReplayOutcome) {
    let oi = out.summary.iter().position(|s| s.kind == PolicyKind::Oracle).expect("oracle replayed");
    let oracle = &out.policies[oi];
    let n = oracle.met.len();
    let need = (out.percentile * n as f64 - 1e-9).ceil() as usize;
    let met = oracle.met.iter().filter(|&&m| m).count();
    let best_met = out.policies.iter().map(|p| p.met.iter().filter(|&&m| m).count()).max().unwrap();
    assert!(met >= need.min(best_met), "oracle meets {met} runs, needs {need} (a policy met {best_met})");
    for p in &out.policies {
        for r in 0..n {
            if p.met[r] || !oracle.met[r] {
                assert!(
                    oracle.cost[r] <= p.cost[r] * (1.0 + 1e-9),
                    "run {r}: oracle pays {} > {} of {} (met: oracle {}, policy {})",
                    oracle.cost[r],
                    p.cost[r],
                    p.name,
                    oracle.met[r],
                    p.met[r]
                );
            }
        }
    }
}

#[test]
fn no_policy_beats_the_oracle_keyed_or_coupled() {
    for (keyed, coupling, want) in [
        (true, Coupling::Auto, Coupling::Keyed),
        (false, Coupling::Auto, Coupling::Rank),
        (false, Coupling::Independent, Coupling::Independent),
    ] {
        let (wf, p) = synthetic(3200.0, keyed);
        let out = simulate(&wf, &p, &opts(3000, coupling)).unwrap();
        assert_eq!(out.coupling, want);
        let names: Vec<&str> = out.summary.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["janus-stochastic", "janus-percentile", "static", "maxsize", "stepconf", "oracle"]);
        check_against_oracle(&out);
        let j = &out.summary[0];
        assert!(j.decisions_per_s.is_some_and(|d| d > 0.0) && j.hint_bytes.is_some_and(|b| b > 0));
        assert!(out.summary[2].decisions_per_s.is_none());
        assert!(
            out.notes[0].starts_with(if keyed { "executions: keyed" } else { "executions: 3000 drawn" }),
            "{:?}",
            out.notes
        );
        if keyed {
            // Every held-out request once: 200 of 400.
            assert_eq!(out.policies[0].met.len(), 200);
            assert!(out.keys.iter().all(Option::is_some));
        }
    }
}

/// A replay of hints over keyed samples is exactly a walk of the Adapter
/// along the held-out requests: same sizes, same latencies, same costs.
#[test]
fn keyed_replay_is_a_walk_of_the_adapter() {
    let (wf, p) = synthetic(3000.0, true);
    let (fit, held) = p.split_random(0.5, 5).unwrap();
    let hints = synthesize(&wf, &fit, &SynthOptions { buckets: 200, ..SynthOptions::default() }).unwrap();
    let cfg = ReplayConfig { runs: 1, seed: 0, coupling: Coupling::Keyed };
    let spec = PolicySpec::Janus { name: "janus".into(), hints: Box::new(hints.clone()) };
    let out = replay(&wf, &fit, &held, &[spec], &cfg).unwrap();
    let (ex, _) = Executions::new(&wf, &held, Coupling::Keyed, 1, 0).unwrap();
    let adapter = Adapter::new(hints);
    let cm = wf.cost_model();
    assert_eq!(ex.len(), out.policies[0].cost.len());
    for run in 0..ex.len() {
        let d = ex.draw(run);
        let (key, rep) = d.key.clone().unwrap();
        let run_key = run_key_of(&format!("{key}#{rep}"));
        assert_eq!(out.run_keys[run], run_key);
        let (mut elapsed, mut cost) = (0.0f64, 0.0f64);
        for block in wf.blocks() {
            let mut lat = 0.0f64;
            for &s in block {
                let st = &wf.stages()[s];
                let q =
                    Query { elapsed_ms: elapsed, features: d.features.as_deref(), free: None, run_key: Some(run_key) };
                let size = adapter.decide(&st.name, &q).unwrap().size;
                let o = st.options.iter().position(|x| *x == size).unwrap();
                lat = lat.max(d.latency[s][o]);
                cost += cm.rate(&size) * d.busy[s][o] / 1000.0;
            }
            elapsed += lat;
        }
        assert_eq!(out.policies[0].latency_ms[run], elapsed, "run {run} ({key})");
        assert!((out.policies[0].cost[run] - cost).abs() <= 1e-12 * cost, "run {run}");
        assert_eq!(out.policies[0].met[run], elapsed <= wf.slo().deadline_ms);
    }
}

#[test]
fn replay_is_deterministic_for_a_seed() {
    let (wf, p) = synthetic(3000.0, false);
    let a = simulate(&wf, &p, &opts(2000, Coupling::Rank)).unwrap();
    let b = simulate(&wf, &p, &opts(2000, Coupling::Rank)).unwrap();
    for (x, y) in a.policies.iter().zip(&b.policies) {
        assert_eq!((&x.latency_ms, &x.cost, &x.met), (&y.latency_ms, &y.cost, &y.met), "{}", x.name);
    }
    let mut o = opts(2000, Coupling::Rank);
    o.replay.seed = 4;
    let c = simulate(&wf, &p, &o).unwrap();
    assert_ne!(a.policies[2].latency_ms, c.policies[2].latency_ms);
    // Keyed: the seed picks which requests are held out.
    let (wf, p) = synthetic(3000.0, true);
    let k1 = simulate(&wf, &p, &opts(1, Coupling::Auto)).unwrap();
    let mut o = opts(1, Coupling::Auto);
    o.replay.seed = 8;
    let k2 = simulate(&wf, &p, &o).unwrap();
    assert_ne!(k1.keys, k2.keys);
}

/// Static sizing fitted on keyed requests meets its own prediction on them
/// exactly (its miss probability is at least the share of those requests
/// that miss). On unkeyed ORION traces, drawn per stage, up to Monte-Carlo
/// noise (4 binomial standard deviations).
#[test]
fn static_meets_its_percentile_on_the_data_it_was_fitted_on() {
    for (wf, p) in [synthetic(3000.0, true), synthetic(4000.0, true)] {
        let (fit, _) = p.split_random(0.5, 1).unwrap();
        let plan = best_static(&wf, &fit, &SynthOptions::default()).unwrap();
        assert!(plan.feasible, "{}: static infeasible at {}", wf.name(), wf.slo().deadline_ms);
        let cfg = ReplayConfig { runs: 1, seed: 9, coupling: Coupling::Keyed };
        let spec = PolicySpec::Static { name: "static".into(), sizes: plan.sizes.clone() };
        let out = replay(&wf, &fit, &fit, &[spec], &cfg).unwrap();
        assert!(out.summary[0].attainment >= 1.0 - plan.miss_probability - 1e-12, "{:?} vs {plan:?}", out.summary[0]);
    }
    let mut cases = Vec::new();
    cases.extend(orion("ml_pipeline", &["PCA", "ParamTune", "CombineModels"], 1.1));
    cases.extend(orion("chatbot", &["SplitChatBot", "TrainIntentClassifier"], 1.1));
    for (wf, p) in cases {
        let (fit, _) = p.split_random(0.5, 1).unwrap();
        let plan = best_static(&wf, &fit, &SynthOptions::default()).unwrap();
        assert!(plan.feasible, "{}: static infeasible at {}", wf.name(), wf.slo().deadline_ms);
        let runs = 20_000;
        let cfg = ReplayConfig { runs, seed: 9, coupling: Coupling::Independent };
        let spec = PolicySpec::Static { name: "static".into(), sizes: plan.sizes.clone() };
        let out = replay(&wf, &fit, &fit, &[spec], &cfg).unwrap();
        let q = wf.slo().percentile;
        let slack = 4.0 * (q * (1.0 - q) / runs as f64).sqrt();
        let att = out.summary[0].attainment;
        assert!(att >= q - slack, "{}: static attains {att} < {q} - {slack} on its fit data", wf.name());
    }
}

#[test]
fn orion_traces_replay_under_every_policy() {
    for (name, order) in [
        ("ml_pipeline", &["PCA", "ParamTune", "CombineModels"][..]),
        ("chatbot", &["SplitChatBot", "TrainIntentClassifier"][..]),
    ] {
        let Some((wf, p)) = orion(name, order, 1.2) else { return };
        // Each size was measured in separate runs: keyed per size only, so coupled.
        let out = simulate(&wf, &p, &opts(5000, Coupling::Auto)).unwrap();
        assert_eq!(out.coupling, Coupling::Rank);
        assert!(out.notes[0].contains("no request was measured at every stage and size"), "{:?}", out.notes);
        check_against_oracle(&out);
        let stat = out.summary.iter().find(|s| s.kind == PolicyKind::Static).unwrap();
        assert!(stat.attainment > 0.8, "{name}: static attains {}", stat.attainment);
        let (lo, hi) = stat.attainment_ci;
        assert!(lo < stat.attainment && stat.attainment < hi && hi - lo < 0.02);
    }
}

#[test]
fn the_oracle_of_one_run_is_the_cheapest_feasible_assignment() {
    // Every run at a loose deadline and at tight ones, where runs are lost
    // in their first blocks: a lost run still pays for every block.
    let mut lost = 0;
    for deadline in [3000.0, 400.0, 150.0] {
        let (wf, p) = synthetic(deadline, true);
        lost += oracle_matches_brute_force(&wf, &p);
    }
    assert!(lost > 0, "no run was lost: the tight deadlines test nothing of lost runs");
}

/// Checks the oracle of every keyed run against brute force; returns how
/// many runs no assignment saves.
fn oracle_matches_brute_force(wf: &Workflow, p: &Profile) -> usize {
    let (ex, _) = Executions::new(wf, p, Coupling::Keyed, 1, 0).unwrap();
    let joint: Vec<Vec<Vec<usize>>> = wf.blocks().iter().map(|b| wf.joint_options(b)).collect();
    let deadline = wf.slo().deadline_ms;
    let mut lost = 0;
    for run in 0..ex.len() {
        let d = ex.draw(run);
        let o = oracle_run(wf, &joint, &d);
        // Brute force over every assignment of the 3 blocks.
        let (mut best_ok, mut best_any) = (f64::INFINITY, f64::INFINITY);
        for a in &joint[0] {
            for b in &joint[1] {
                for c in &joint[2] {
                    let mut lat = 0.0f64;
                    let mut cost = 0.0;
                    for (blk, choice) in wf.blocks().iter().zip([a, b, c]) {
                        let mut l = 0.0f64;
                        for (&s, &opt) in blk.iter().zip(choice) {
                            l = l.max(d.latency[s][opt]);
                            cost += wf.cost_model().rate(&wf.stages()[s].options[opt]) * d.busy[s][opt] / 1000.0;
                        }
                        lat += l;
                    }
                    best_any = best_any.min(cost);
                    if lat <= deadline {
                        best_ok = best_ok.min(cost);
                    }
                }
            }
        }
        assert!((o.cheapest.cost - best_any).abs() < 1e-9, "run {run} at {deadline} ms");
        match o.feasible {
            Some(f) => assert!((f.cost - best_ok).abs() < 1e-9 && f.latency_ms <= deadline),
            None => {
                assert!(best_ok.is_infinite());
                lost += 1;
            }
        }
    }
    lost
}

#[test]
fn bad_inputs_are_named() {
    let (wf, p) = synthetic(2600.0, false);
    let mut extra = p.clone();
    extra.add("Z", sizes()[0], Samples::new(vec![1.0, 2.0]).with_features(vec![vec![1.0], vec![2.0]])).unwrap();
    let e = simulate(&wf, &extra, &opts(10, Coupling::Rank)).unwrap_err();
    assert!(
        matches!(e, ReplayError::Profile(ProfileError::UnknownFunction { .. })) && e.to_string().contains("'Z'"),
        "{e}"
    );

    let mut missing = Profile::new();
    for (f, s, v) in p.iter().filter(|(f, s, _)| !(*f == "C" && **s == sizes()[2])) {
        missing.add(f, *s, Samples::new(v.latencies.clone())).unwrap();
    }
    let e = simulate(&wf, &missing, &opts(10, Coupling::Rank)).unwrap_err().to_string();
    assert!(e.contains("'C'") && e.contains("2000m/2048Mi"), "{e}");

    let mut tiny = Profile::new();
    for (f, s, v) in p.iter() {
        tiny.add(f, *s, Samples::new(v.latencies[..if f == "D" { 1 } else { 10 }].to_vec())).unwrap();
    }
    let e = simulate(&wf, &tiny, &opts(10, Coupling::Rank)).unwrap_err().to_string();
    assert!(e.contains("too few") && e.contains("'D'"), "{e}");

    let e = simulate(&wf, &p, &opts(10, Coupling::Keyed)).unwrap_err();
    assert!(matches!(e, ReplayError::NotKeyed), "{e}");

    let bad = PolicySpec::Static { name: "s".into(), sizes: vec![Size::new(7, 7); 4] };
    let e = replay(&wf, &p, &p, &[bad], &ReplayConfig::default()).unwrap_err().to_string();
    assert!(e.contains("7m/7Mi") && e.contains("'A'"), "{e}");
    assert!("nope".parse::<Coupling>().is_err());
}
