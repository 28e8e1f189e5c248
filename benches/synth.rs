//! Synthesis time: scaling in buckets, stages, sizes and threads.
//!
//! `cargo bench --bench synth` (part of `scripts/bench.sh`). Every case is
//! a full `synthesize` call on the workload of `common/mod.rs` (unkeyed, no
//! features). Slow cases are timed with flat sampling (10 calls), so the
//! whole group takes about a minute; the ratios that `scripts/bench.sh`
//! prints (doubling the buckets, 2 threads against 1) come from one run.

mod common;

use common::{pool, workload};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use janus::synth::{synthesize, SynthOptions};
use std::time::Duration;

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn group<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    g
}

/// One case: `stages` x `sizes` at `buckets`, on a pool of `threads`.
fn case(g: &mut Group<'_>, group: &str, id: String, shape: Shape) {
    let (wf, profile) = workload(shape.stages, shape.sizes, 7);
    let opts = SynthOptions { buckets: shape.buckets, ..SynthOptions::default() };
    let p = pool(shape.threads);
    // What the timed call produces, for the reader of the bench log.
    let hs = p.install(|| synthesize(&wf, &profile, &opts)).expect("the workload synthesizes");
    eprintln!(
        "CASE {group}/{id}: chosen={} cost={:.4} miss={:.4} rules={} json={}B",
        hs.plan.chosen,
        hs.plan.expected_cost,
        hs.plan.miss_probability,
        hs.hints.iter().map(|h| h.tables.iter().map(|t| t.rules.len()).sum::<usize>()).sum::<usize>(),
        hs.size_bytes()
    );
    g.bench_function(BenchmarkId::from_parameter(id), |b| {
        b.iter(|| p.install(|| synthesize(black_box(&wf), black_box(&profile), &opts).expect("synthesizes")))
    });
}

#[derive(Clone, Copy)]
struct Shape {
    stages: usize,
    sizes: usize,
    buckets: usize,
    threads: usize,
}

const TWO: usize = 2;

fn buckets(c: &mut Criterion) {
    const G: &str = "synth_buckets";
    let mut g = group(c, G);
    for buckets in [400, 800, 1600, 3200] {
        case(&mut g, G, format!("b{buckets}"), Shape { stages: 10, sizes: 8, buckets, threads: TWO });
    }
    g.finish();
}

fn stages(c: &mut Criterion) {
    const G: &str = "synth_stages";
    let mut g = group(c, G);
    for stages in [5, 10, 20, 40] {
        case(&mut g, G, format!("n{stages}"), Shape { stages, sizes: 8, buckets: 400, threads: TWO });
    }
    g.finish();
}

fn sizes(c: &mut Criterion) {
    const G: &str = "synth_sizes";
    let mut g = group(c, G);
    for sizes in [2, 4, 8] {
        case(&mut g, G, format!("s{sizes}"), Shape { stages: 10, sizes, buckets: 400, threads: TWO });
    }
    g.finish();
}

/// 20 stages x 8 sizes x 4000 buckets (the target: under 1 s) on 1 and 2
/// threads, and a control: two independent halves of plain arithmetic on 1
/// and 2 threads, whose ratio is what the machine gives a perfectly
/// parallel job at that moment (2 on an idle 2-core machine, less when
/// other jobs hold the cores).
fn threads(c: &mut Criterion) {
    const G: &str = "synth_threads";
    let mut g = group(c, G);
    for threads in [1, 2] {
        case(&mut g, G, format!("t{threads}"), Shape { stages: 20, sizes: 8, buckets: 4000, threads });
    }
    for threads in [1, 2] {
        let p = pool(threads);
        g.bench_function(BenchmarkId::from_parameter(format!("control_t{threads}")), |b| {
            b.iter(|| p.install(|| rayon::join(|| spin(black_box(1)), || spin(black_box(2)))))
        });
    }
    g.finish();
}

/// About 40 ms of floating-point work (a dependent chain) that the compiler cannot skip.
fn spin(seed: u64) -> f64 {
    let mut x = seed as f64;
    for k in 0..5_000_000u64 {
        x = (x * 1.000_000_1 + (k & 7) as f64).sqrt();
    }
    x
}

criterion_group!(benches, buckets, stages, sizes, threads);
criterion_main!(benches);
