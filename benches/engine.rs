//! Synthesis and adapter speed.
//!
//! `cargo bench --bench engine` (about a minute). Synthetic chains: stage
//! `i` has a base latency that shrinks with CPU (`~ cpu^-0.7`) and noisy
//! samples; the deadline is the sum of the stages' median latencies at the
//! middle size, so the DP has real choices to make.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use janus::adapter::{Adapter, Query};
use janus::model::{CostModel, Size, Slo, Stage, Workflow};
use janus::profile::{Profile, Samples};
use janus::synth::{synthesize, SynthOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const SAMPLES: usize = 60;

fn setup(stages: usize, sizes: usize) -> (Workflow, Profile) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let options: Vec<Size> = (0..sizes).map(|k| Size::new(250 * (k as u32 + 1), 512 + 256 * k as u32)).collect();
    let mut profile = Profile::new();
    let mut st = Vec::new();
    let mut deadline = 0.0;
    for i in 0..stages {
        let name = format!("f{i}");
        let base = rng.gen_range(50.0..300.0);
        for (k, size) in options.iter().enumerate() {
            let scale = base * (1000.0 / f64::from(size.cpu_millis)).powf(0.7);
            // A slow tail: one run in five takes about twice as long.
            let lat: Vec<f64> = (0..SAMPLES)
                .map(|_| scale * rng.gen_range(0.8..1.2) * if rng.gen_bool(0.2) { 2.0 } else { 1.0 })
                .collect();
            if k == sizes / 2 {
                deadline += scale * 1.8;
            }
            profile.add(&name, *size, Samples::new(lat)).unwrap();
        }
        st.push(Stage { name, options: options.clone(), fanout: 1 });
    }
    let slo = Slo { deadline_ms: deadline.round(), percentile: 0.95 };
    (Workflow::chain("bench", slo, CostModel::default(), st).unwrap(), profile)
}

fn synth(c: &mut Criterion) {
    let mut g = c.benchmark_group("synthesize");
    g.sample_size(10).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(300));
    let cases: &[(&str, usize, usize, usize)] = &[
        ("stages", 2, 400, 4),
        ("stages", 5, 400, 4),
        ("stages", 10, 400, 4),
        ("buckets", 5, 100, 4),
        ("buckets", 5, 1600, 4),
        ("sizes", 5, 400, 2),
        ("sizes", 5, 400, 8),
    ];
    for &(axis, stages, buckets, sizes) in cases {
        let (wf, p) = setup(stages, sizes);
        let opts = SynthOptions { buckets, ..SynthOptions::default() };
        let id = BenchmarkId::new(axis, format!("n{stages}_b{buckets}_s{sizes}"));
        // What the timed call produces, for docs/benchmarks.md.
        let hs = synthesize(&wf, &p, &opts).unwrap();
        let rules: usize = hs.hints.iter().map(|h| h.tables.iter().map(|t| t.rules.len()).sum::<usize>()).sum();
        let s = &hs.plan;
        eprintln!(
            "CASE {axis}/n{stages}_b{buckets}_s{sizes}: chosen={} cost={:.4} miss={:.4} rules={rules} json={}B | {}",
            s.chosen,
            s.expected_cost,
            s.miss_probability,
            hs.size_bytes(),
            hs.provenance.synthesis
        );
        let capped = SynthOptions { max_rules: Some(4), ..opts.clone() };
        let hc = synthesize(&wf, &p, &capped).unwrap();
        eprintln!(
            "CAPPED {axis}/n{stages}_b{buckets}_s{sizes}: max_rules=4 chosen={} cost={:.4} miss={:.4} json={}B",
            hc.plan.chosen,
            hc.plan.expected_cost,
            hc.plan.miss_probability,
            hc.size_bytes()
        );
        g.bench_with_input(id, &(), |b, _| b.iter(|| synthesize(black_box(&wf), black_box(&p), &opts).unwrap()));
    }
    g.finish();
}

fn decide(c: &mut Criterion) {
    let (wf, p) = setup(10, 4);
    let hs = synthesize(&wf, &p, &SynthOptions::default()).unwrap();
    let ad = Adapter::new(hs);
    let free = Some(Size::new(600, 2048));
    let mut g = c.benchmark_group("adapter");
    g.sample_size(20).measurement_time(Duration::from_secs(1)).warm_up_time(Duration::from_millis(300));
    let deadline = wf.slo().deadline_ms;
    g.bench_function("decide_free_capacity", |b| {
        let mut t = 0.0;
        b.iter(|| {
            t = (t + 37.0) % deadline;
            ad.decide(black_box("f5"), &Query { elapsed_ms: black_box(t), free, ..Query::default() }).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, synth, decide);
criterion_main!(benches);
