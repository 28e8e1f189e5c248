//! Replay throughput: executions per second on 1 and 2 threads.
//!
//! `cargo bench --bench replay` (part of `scripts/bench.sh`; about 10 s).
//! One replay draws `RUNS` executions of the 10-stage workload of
//! `common/mod.rs` (rank coupling across sizes) and runs Janus (the
//! stochastic hint set), the best static sizing and max-size on every one.

mod common;

use common::{pool, workload};
use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use janus::replay::{replay, PolicySpec, ReplayConfig};
use janus::synth::{best_static, synthesize, SynthOptions};
use std::time::Duration;

const RUNS: usize = 20_000;

fn executions(c: &mut Criterion) {
    let (wf, profile) = workload(10, 8, 7);
    let opts = SynthOptions::default();
    let hints = synthesize(&wf, &profile, &opts).expect("the workload synthesizes");
    let plan = best_static(&wf, &profile, &opts).expect("a static plan");
    let policies = vec![
        PolicySpec::Janus { name: "janus".into(), hints: Box::new(hints) },
        PolicySpec::Static { name: "static".into(), sizes: plan.sizes },
        PolicySpec::MaxSize,
    ];
    let cfg = ReplayConfig { runs: RUNS, ..ReplayConfig::default() };
    let mut g = c.benchmark_group("replay");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(RUNS as u64));
    for threads in [1, 2] {
        let p = pool(threads);
        g.bench_function(format!("t{threads}"), |b| {
            b.iter(|| p.install(|| replay(black_box(&wf), &profile, &profile, &policies, &cfg).expect("replays")))
        });
    }
    g.finish();
}

criterion_group!(benches, executions);
criterion_main!(benches);
