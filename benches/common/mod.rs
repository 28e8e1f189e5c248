// Each bench binary uses a part of this module.
#![allow(dead_code)]

//! The benchmark workload, shared by the criterion benches (and defined the
//! same way in `benches/bench.py` for the Python-side figures).
//!
//! A chain of `stages` functions `f0, f1, ...`, each with `sizes` CPU sizes
//! (250m, 500m, ...; memory 512 MiB + 256 MiB per step) and `SAMPLES`
//! latency samples per size. Stage `i` takes `base_i * (1000 / cpu)^a_i`
//! milliseconds (`base_i` in 50-300 ms, `a_i` in 0.5-0.9: how well it uses
//! more CPU) times log-normal noise (sigma 0.25), and one run in ten is
//! twice as slow (a tail). The deadline is 1.3x the 95th percentile of the
//! whole chain at the largest sizes, percentile 0.95, so the DP has real
//! choices to make at every stage.

use janus::model::{CostModel, Size, Slo, Stage, Workflow};
use janus::profile::{Profile, Samples};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Latency samples per (stage, size).
pub const SAMPLES: usize = 300;

/// The workflow and its profile (no request keys, no features).
pub fn workload(stages: usize, sizes: usize, seed: u64) -> (Workflow, Profile) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let options: Vec<Size> = (0..sizes as u32).map(|k| Size::new(250 * (k + 1), 512 + 256 * k)).collect();
    let mut profile = Profile::new();
    let mut chain_at_largest = vec![0.0f64; SAMPLES];
    let mut st = Vec::with_capacity(stages);
    for i in 0..stages {
        let name = format!("f{i}");
        let base = rng.gen_range(50.0..300.0);
        let a = rng.gen_range(0.5..0.9);
        // The request's own noise, shared by its sizes (a slow request is slow everywhere).
        let noise: Vec<f64> = (0..SAMPLES).map(|_| lognormal(&mut rng, 0.25) * tail(&mut rng)).collect();
        for (k, size) in options.iter().enumerate() {
            let scale = base * (1000.0 / f64::from(size.cpu_millis)).powf(a);
            let lat: Vec<f64> = noise.iter().map(|x| scale * x * lognormal(&mut rng, 0.05)).collect();
            if k + 1 == sizes {
                chain_at_largest.iter_mut().zip(&lat).for_each(|(c, l)| *c += l);
            }
            profile.add(&name, *size, Samples::new(lat)).expect("valid samples");
        }
        st.push(Stage { name, options: options.clone(), fanout: 1 });
    }
    chain_at_largest.sort_by(f64::total_cmp);
    let p95 = chain_at_largest[(0.95 * (SAMPLES - 1) as f64).round() as usize];
    let slo = Slo { deadline_ms: (1.3 * p95).round(), percentile: 0.95 };
    (Workflow::chain("bench", slo, CostModel::default(), st).expect("a valid chain"), profile)
}

fn lognormal(rng: &mut ChaCha8Rng, sigma: f64) -> f64 {
    // Box-Muller: one standard normal draw.
    let (u1, u2): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
    (sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()).exp()
}

fn tail(rng: &mut ChaCha8Rng) -> f64 {
    if rng.gen_bool(0.1) {
        2.0
    } else {
        1.0
    }
}

/// A small rayon pool: `pool(1).install(|| ...)` runs on one thread.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool")
}
