//! The drift check, every `drift_every`: per workflow with a baseline
//! profile, the observed/profiled latency ratio per function goes to the
//! metrics; with re-synthesis on, a function beyond the threshold starts a
//! synthesis from the corrected profile on a blocking thread, and the result
//! is installed like any hint set (persisted, logged, swapped atomically).
//! Decisions never wait for it.

use super::state::{Served, State};
use crate::adapter::drift::{beyond, corrected_profile, drift_by_function};
use crate::hints::HintSet;
use crate::profile::Profile;
use crate::synth::{synthesize, SynthError, SynthOptions};
use std::sync::Arc;

/// Check every workflow's drift until `stop` resolves.
pub async fn drift_loop(st: Arc<State>, stop: impl std::future::Future<Output = ()>) {
    let mut tick = tokio::time::interval(st.config.drift_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut stop => return,
        }
        let all: Vec<Arc<Served>> = st.workflows.load().values().cloned().collect();
        for s in all {
            if let Err(e) = check(&st, &s).await {
                eprintln!("janus serve: {}: re-synthesis failed, the hints in force stay: {e}", s.name);
            }
        }
    }
}

/// One drift check of one workflow; re-synthesise and install if it drifted.
pub async fn check(st: &State, s: &Served) -> Result<bool, String> {
    let Some(baseline) = s.baseline.load_full() else { return Ok(false) };
    let min = st.config.resynth.as_ref().map_or(5, |r| r.min_samples);
    let ratios = drift_by_function(s.adapter.observations(), &baseline, min);
    for (f, r) in &ratios {
        st.metrics.set_drift(&s.name, f, *r);
    }
    let Some(rc) = &st.config.resynth else { return Ok(false) };
    let drifted = beyond(&ratios, rc.threshold);
    if drifted.is_empty() {
        return Ok(false);
    }
    eprintln!("janus serve: {}: drift {drifted:?}: re-synthesising in the background", s.name);
    let corrected = corrected_profile(&baseline, &drifted).map_err(|e| e.to_string())?;
    let hints = s.adapter.hints();
    let p = corrected.clone();
    let new = tokio::task::spawn_blocking(move || resynthesize(&hints, &p))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let (_, _) = st.install(new, "resynth", Some(corrected)).await.map_err(|e| e.to_string())?;
    eprintln!("janus serve: {}: re-synthesised hints are in force", s.name);
    Ok(true)
}

/// THE call into the synthesizer: the same late policy and mixing as the
/// hint set in force, default knobs otherwise (input classes are learned
/// again from the corrected profile).
fn resynthesize(h: &HintSet, p: &Profile) -> Result<HintSet, SynthError> {
    let opts = SynthOptions { late: h.late, mix: h.summary.iter().any(|s| s.mix.is_some()), ..SynthOptions::default() };
    synthesize(&h.workflow, p, &opts)
}
