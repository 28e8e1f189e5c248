//! Prometheus metrics (OpenMetrics text at `GET /metrics`). Label sets are
//! created when a hint set is installed, for its functions and sizes only,
//! so a hostile client cannot grow them, and the hot path increments
//! cached handles without building labels.

use crate::hints::HintSet;
use crate::model::Size;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FnLabels {
    workflow: String,
    function: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SizeLabels {
    workflow: String,
    function: String,
    size: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WfLabels {
    workflow: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SwapLabels {
    workflow: String,
    origin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

fn observed_histogram() -> Histogram {
    // 1 ms .. ~9 min in x2 steps.
    Histogram::new(exponential_buckets(1.0, 2.0, 20))
}

fn decision_histogram() -> Histogram {
    // 1 us .. ~0.5 s in x2 steps: the service's own time per decide request.
    Histogram::new(exponential_buckets(1e-6, 2.0, 20))
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every metric of one service.
pub struct Metrics {
    registry: Registry,
    decisions: Family<FnLabels, Counter>,
    late: Family<FnLabels, Counter>,
    overdue: Family<FnLabels, Counter>,
    observations: Family<FnLabels, Counter>,
    observed_ms: Family<SizeLabels, Histogram, fn() -> Histogram>,
    decision_seconds: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    drift: Family<FnLabels, FloatGauge>,
    generation: Family<WfLabels, Gauge>,
    swaps: Family<SwapLabels, Counter>,
    errors: Family<KindLabels, Counter>,
    log_bytes: Gauge,
}

/// The cached handles of one function under one installed hint set.
#[derive(Clone)]
pub struct FnMetrics {
    pub decisions: Counter,
    pub late: Counter,
    pub overdue: Counter,
    pub observations: Counter,
    pub observed_ms: HashMap<Size, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("janus");
        let m = Metrics {
            decisions: Family::default(),
            late: Family::default(),
            overdue: Family::default(),
            observations: Family::default(),
            observed_ms: Family::new_with_constructor(observed_histogram as fn() -> Histogram),
            decision_seconds: Family::new_with_constructor(decision_histogram as fn() -> Histogram),
            drift: Family::default(),
            generation: Family::default(),
            swaps: Family::default(),
            errors: Family::default(),
            log_bytes: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("decisions", "Decisions made", m.decisions.clone());
        registry.register(
            "late_decisions",
            "Decisions for runs that can no longer meet the deadline (the hint set's late policy applies)",
            m.late.clone(),
        );
        registry.register("overdue_decisions", "Decisions asked after the deadline had passed", m.overdue.clone());
        registry.register("observations", "Observed latencies acknowledged (persisted)", m.observations.clone());
        registry.register("observed_latency_ms", "Observed latency per function and size", m.observed_ms.clone());
        registry.register(
            "decision_seconds",
            "Time the service spends on one decide request (parse to response)",
            m.decision_seconds.clone(),
        );
        registry.register(
            "drift_ratio",
            "Observed over profiled mean latency, median over sizes, at the last drift check",
            m.drift.clone(),
        );
        registry.register("hint_generation", "Generation of the hint set in force", m.generation.clone());
        registry.register("hint_swaps", "Hint sets installed, by origin", m.swaps.clone());
        registry.register("request_errors", "Requests refused, by error kind", m.errors.clone());
        registry.register("observation_log_bytes", "Size of the observation log", m.log_bytes.clone());
        Metrics { registry, ..m }
    }

    /// Handles for every function and size of a hint set.
    pub fn for_hints(&self, h: &HintSet) -> HashMap<String, FnMetrics> {
        let wf = h.workflow.name().to_string();
        let fl = |f: &str| FnLabels { workflow: wf.clone(), function: f.to_string() };
        h.hints
            .iter()
            .map(|hint| {
                let l = fl(&hint.function);
                let observed_ms = hint
                    .options
                    .iter()
                    .map(|s| {
                        let sl =
                            SizeLabels { workflow: wf.clone(), function: hint.function.clone(), size: s.to_string() };
                        (*s, self.observed_ms.get_or_create_owned(&sl))
                    })
                    .collect();
                let m = FnMetrics {
                    decisions: self.decisions.get_or_create_owned(&l),
                    late: self.late.get_or_create_owned(&l),
                    overdue: self.overdue.get_or_create_owned(&l),
                    observations: self.observations.get_or_create_owned(&l),
                    observed_ms,
                };
                (hint.function.clone(), m)
            })
            .collect()
    }

    pub fn decision_timer(&self, endpoint: &str) -> Histogram {
        self.decision_seconds.get_or_create_owned(&EndpointLabels { endpoint: endpoint.to_string() })
    }

    pub fn installed(&self, workflow: &str, generation: u64, origin: &str) {
        let w = WfLabels { workflow: workflow.to_string() };
        self.generation.get_or_create(&w).set(i64::try_from(generation).unwrap_or(i64::MAX));
        self.swaps.get_or_create(&SwapLabels { workflow: workflow.to_string(), origin: origin.to_string() }).inc();
    }

    pub fn set_drift(&self, workflow: &str, function: &str, ratio: f64) {
        let l = FnLabels { workflow: workflow.to_string(), function: function.to_string() };
        self.drift.get_or_create(&l).set(ratio);
    }

    /// Error kinds are a fixed set of names (`ApiError::kind`).
    pub fn error(&self, kind: &str) {
        self.errors.get_or_create(&KindLabels { kind: kind.to_string() }).inc();
    }

    pub fn set_log_bytes(&self, n: u64) {
        self.log_bytes.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::fixture::{classed_hints, SMALL};

    #[test]
    fn handles_feed_the_exposition() {
        let m = Metrics::new();
        let h = m.for_hints(&classed_hints());
        h["a"].decisions.inc();
        h["a"].observed_ms[&SMALL].observe(120.0);
        m.error("bad_request");
        m.installed("feat", 3, "file");
        let text = m.encode();
        assert!(text.contains(r#"janus_decisions_total{workflow="feat",function="a"} 1"#), "{text}");
        assert!(text.contains(r#"janus_observed_latency_ms_count{workflow="feat",function="a",size="1000m/512Mi"} 1"#));
        assert!(text.contains(r#"janus_request_errors_total{kind="bad_request"} 1"#));
        assert!(text.contains(r#"janus_hint_generation{workflow="feat"} 3"#));
        assert!(text.ends_with("# EOF\n"));
    }
}
