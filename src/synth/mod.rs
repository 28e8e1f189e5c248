//! Synthesis: profiles + DAG + SLO -> hint set (see DESIGN.md).

mod error;

pub use error::SynthError;

/// Which optimisation builds the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Stochastic DP with a Lagrange multiplier on the miss probability (default).
    #[default]
    Stochastic,
    /// Each stage's latency replaced by its per-stage quantile; deterministic DP.
    Percentile,
}

/// Knobs of the synthesizer, with defaults that suit most workflows.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    pub mode: Mode,
    /// Number of time buckets the deadline is cut into (`dt = deadline / buckets`).
    pub buckets: usize,
    /// Ranked alternatives: keep sizes whose expected cost is within this
    /// relative tolerance of the best one (0.05 = 5 %) and meet the risk bound.
    pub tolerance: f64,
    /// Cap on rules per function and table (merging with the least added cost).
    pub max_rules: Option<usize>,
    /// Number of input classes for a stage with a feature (quantile boundaries
    /// of the profile's feature values); ignored when `boundaries` is given.
    pub feature_classes: usize,
    /// Explicit class boundaries for the feature (ascending).
    pub boundaries: Option<Vec<f64>>,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            mode: Mode::Stochastic,
            buckets: 400,
            tolerance: 0.05,
            max_rules: None,
            feature_classes: 2,
            boundaries: None,
        }
    }
}

mod api_pending;
pub use api_pending::{best_static, evaluate, synthesize, StaticPlan};
