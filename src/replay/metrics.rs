//! Per-run columns and per-policy summaries.

use super::policy::PolicyKind;
use crate::stats::{mean, quantile_sorted, wilson_interval};

/// The oracle share is reported only when the oracle saves at least this
/// share of static's cost.
pub const MIN_ORACLE_SAVING: f64 = 0.01;

/// Every run of one policy, as columns (run `i` is index `i`).
#[derive(Debug, Clone)]
pub struct PolicyRuns {
    pub name: String,
    pub kind: PolicyKind,
    pub latency_ms: Vec<f64>,
    pub cost: Vec<f64>,
    pub core_s: Vec<f64>,
    pub gib_s: Vec<f64>,
    pub met: Vec<bool>,
    /// Wall time spent in `Adapter::decide` over all runs (Janus only).
    pub decide_ns: u64,
    pub decisions: u64,
    /// Size of the hint set's JSON form (Janus only).
    pub hint_bytes: Option<usize>,
}

/// One policy's metrics over the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySummary {
    pub name: String,
    pub kind: PolicyKind,
    pub runs: usize,
    /// Mean per run.
    pub cost: f64,
    pub core_s: f64,
    pub gib_s: f64,
    /// Share of runs that met the deadline.
    pub attainment: f64,
    /// Its sampling error: the Wilson score interval at about 95 %.
    pub attainment_ci: (f64, f64),
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// `Adapter::decide` calls per second of decide time (Janus only).
    pub decisions_per_s: Option<f64>,
    pub hint_bytes: Option<usize>,
    /// `(static - policy) / static`, relative to the first static policy.
    pub saving_vs_static: Option<f64>,
    /// `(static - policy) / (static - oracle)`: the share of the oracle's
    /// saving over static that the policy captures; `None` when the oracle
    /// saves less than [`MIN_ORACLE_SAVING`] of static's cost (the ratio
    /// would be noise over a near-zero denominator) or either is absent.
    pub oracle_share: Option<f64>,
}

pub fn summarize(policies: &[PolicyRuns]) -> Vec<PolicySummary> {
    let mut out: Vec<PolicySummary> = policies
        .iter()
        .map(|p| {
            let mut lat = p.latency_ms.clone();
            lat.sort_by(f64::total_cmp);
            let n = p.met.len();
            let met = p.met.iter().filter(|&&m| m).count();
            PolicySummary {
                name: p.name.clone(),
                kind: p.kind,
                runs: n,
                cost: mean(&p.cost),
                core_s: mean(&p.core_s),
                gib_s: mean(&p.gib_s),
                attainment: if n == 0 { f64::NAN } else { met as f64 / n as f64 },
                attainment_ci: wilson_interval(met, n),
                p50_ms: quantile_sorted(&lat, 0.5),
                p95_ms: quantile_sorted(&lat, 0.95),
                p99_ms: quantile_sorted(&lat, 0.99),
                decisions_per_s: (p.kind == PolicyKind::Janus && p.decide_ns > 0)
                    .then(|| p.decisions as f64 / (p.decide_ns as f64 * 1e-9)),
                hint_bytes: p.hint_bytes,
                saving_vs_static: None,
                oracle_share: None,
            }
        })
        .collect();
    let stat = out.iter().find(|s| s.kind == PolicyKind::Static).map(|s| s.cost);
    let orac = out.iter().find(|s| s.kind == PolicyKind::Oracle).map(|s| s.cost);
    for s in &mut out {
        if let Some(st) = stat {
            s.saving_vs_static = (st > 0.0).then(|| (st - s.cost) / st);
            if let Some(or) = orac {
                s.oracle_share = (st - or > MIN_ORACLE_SAVING * st).then(|| (st - s.cost) / (st - or));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(name: &str, kind: PolicyKind, cost: f64) -> PolicyRuns {
        PolicyRuns {
            name: name.into(),
            kind,
            latency_ms: vec![1.0, 2.0, 3.0, 4.0],
            cost: vec![cost; 4],
            core_s: vec![0.0; 4],
            gib_s: vec![0.0; 4],
            met: vec![true, true, true, false],
            decide_ns: 0,
            decisions: 0,
            hint_bytes: None,
        }
    }

    #[test]
    fn shares_and_quantiles() {
        let s = summarize(&[
            runs("s", PolicyKind::Static, 10.0),
            runs("j", PolicyKind::Janus, 8.0),
            runs("o", PolicyKind::Oracle, 6.0),
        ]);
        assert!((s[1].oracle_share.unwrap() - 0.5).abs() < 1e-12);
        assert!((s[1].saving_vs_static.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!((s[0].p50_ms, s[0].p95_ms, s[0].attainment), (2.0, 4.0, 0.75));
        assert_eq!(s[1].decisions_per_s, None);
    }
}
