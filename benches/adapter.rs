//! Decision time: one `decide` by name and by index, and `decide_many`
//! (a batch of decisions from one snapshot, written as columns: the loop
//! behind Python's `decide_many`).
//!
//! `cargo bench --bench adapter` (part of `scripts/bench.sh`; about 15 s).
//! The hint set is synthesized from the 10-stage workload of `common/mod.rs`.

mod common;

use common::workload;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use janus::adapter::{Adapter, Batch, Query};
use janus::model::Size;
use janus::synth::{synthesize, SynthOptions};
use std::time::Duration;

/// Decisions per batch.
const BATCH: usize = 10_000;

fn decide(c: &mut Criterion) {
    let (wf, profile) = workload(10, 8, 7);
    let hs = synthesize(&wf, &profile, &SynthOptions::default()).expect("the workload synthesizes");
    let deadline = wf.slo().deadline_ms;
    let ad = Adapter::new(hs);
    let free = Some(Size::new(1000, 2048));
    // Elapsed times spread over the whole budget (and a little past it).
    let elapsed: Vec<f64> = (0..BATCH).map(|k| (k as f64 * 0.618_033_988_7).fract() * deadline * 1.05).collect();
    let mut g = c.benchmark_group("adapter");
    g.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    let mut k = 0usize;
    let mut next = move || {
        k = (k + 1) % BATCH;
        k
    };
    g.bench_function("decide", |b| {
        b.iter(|| {
            let q = Query { elapsed_ms: elapsed[next()], ..Query::default() };
            ad.decide(black_box("f5"), &q).expect("decides")
        })
    });
    g.bench_function("decide_free", |b| {
        b.iter(|| {
            let q = Query { elapsed_ms: elapsed[next()], free, ..Query::default() };
            ad.decide(black_box("f5"), &q).expect("decides")
        })
    });
    let f5 = ad.function_index("f5").expect("a stage");
    g.bench_function("decide_at", |b| {
        b.iter(|| {
            let q = Query { elapsed_ms: elapsed[next()], ..Query::default() };
            ad.decide_at(black_box(f5), &q).expect("decides")
        })
    });
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("decide_many", |b| {
        b.iter(|| {
            ad.decide_many(black_box("f5"), &Batch { elapsed_ms: &elapsed, ..Batch::default() }).expect("decides")
        })
    });
    g.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
