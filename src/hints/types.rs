//! The data in a hint set.

use crate::model::{Size, Workflow};
use serde::{Deserialize, Serialize};

/// Version of the JSON layout. Bump on any incompatible change; loading
/// refuses other versions rather than guessing.
pub const SCHEMA_VERSION: u32 = 1;

/// One rule: when at least `min_remaining_ms` of the deadline is left, use
/// the first of `sizes` that fits the node (ranked, best first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub min_remaining_ms: f64,
    pub sizes: Vec<Size>,
}

/// A step function of the remaining budget; rules sorted by ascending
/// `min_remaining_ms`. Below the first rule the budget is infeasible.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleTable {
    pub rules: Vec<Rule>,
}

/// The hint of one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hint {
    pub function: String,
    /// Sizes the developer allows (copied from the workflow).
    pub options: Vec<Size>,
    /// The option with the lowest latency on the profile: the best-effort fallback.
    pub fastest: Size,
    /// One table per input class, then one for "class unknown" (see
    /// [`FeatureClasses`]); exactly one table when the workflow has no feature.
    pub tables: Vec<RuleTable>,
    /// The cheaper policy of a per-run mixture, table by table: empty, or as
    /// many as `tables`. A run uses `alt_tables[t]` instead of `tables[t]`
    /// with probability `summary[t].mix` (drawn once per run from its run
    /// key, so all its stages agree); runs without a key use `tables`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alt_tables: Vec<RuleTable>,
}

/// Input classes of the workflow's feature: class `i` holds feature values
/// in `[boundaries[i-1], boundaries[i])` (open at both ends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureClasses {
    /// The function whose input carries the feature.
    pub function: String,
    pub feature: String,
    pub boundaries: Vec<f64>,
}

impl FeatureClasses {
    pub fn count(&self) -> usize {
        self.boundaries.len() + 1
    }
    /// The class of a feature value (no allocation).
    pub fn class_of(&self, value: f64) -> usize {
        self.boundaries.partition_point(|&b| b <= value)
    }
    /// The half-open feature range of class `c`.
    pub fn range(&self, c: usize) -> (f64, f64) {
        let lo = if c == 0 { f64::NEG_INFINITY } else { self.boundaries[c - 1] };
        let hi = self.boundaries.get(c).copied().unwrap_or(f64::INFINITY);
        (lo, hi)
    }
}

/// What synthesis predicted for one table (one input class, or all inputs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSummary {
    /// Input class, `None` for the unconditioned table.
    pub class: Option<usize>,
    /// Expected cost units of one workflow run, on the profile's histograms.
    pub expected_cost: f64,
    /// Probability of missing the deadline, on the profile's histograms.
    pub miss_probability: f64,
    /// False when no policy meets the percentile: hints then do their best.
    pub feasible: bool,
    /// Which candidate won: "dp", "percentile", or "static" (see DESIGN.md).
    pub source: String,
    /// The Lagrange multiplier of the DP policy, when there is one.
    #[serde(default)]
    pub lambda: Option<f64>,
    /// Share of runs (with a run key) that use the hints' `alt_tables` for
    /// this table; `None` when the table is not mixed. `expected_cost` and
    /// `miss_probability` are then those of the mixture, and `primary` those
    /// of `tables` alone (what runs without a key get).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<f64>,
    /// (expected cost, miss probability) of the primary tables alone, when mixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<(f64, f64)>,
}

/// Where a hint set came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// SHA-256 of the profile the hints were synthesized from.
    pub profile_digest: String,
    /// Seconds since the Unix epoch.
    pub created_unix_s: u64,
    pub janus_version: String,
    /// Synthesis mode and parameters, free text for humans.
    pub synthesis: String,
}

/// Everything the adapter needs, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HintSet {
    pub schema_version: u32,
    /// The workflow with its SLO and cost model.
    pub workflow: Workflow,
    #[serde(default)]
    pub classes: Option<FeatureClasses>,
    /// One hint per stage, in the workflow's stage order.
    pub hints: Vec<Hint>,
    pub summary: Vec<TableSummary>,
    pub provenance: Provenance,
    /// Human-readable warnings: infeasible deadlines, DAG approximations.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl HintSet {
    pub fn feasible(&self) -> bool {
        self.summary.iter().all(|s| s.feasible)
    }
    pub fn hint(&self, function: &str) -> Option<&Hint> {
        self.hints.iter().find(|h| h.function == function)
    }
    pub fn tables_per_hint(&self) -> usize {
        self.classes.as_ref().map_or(1, |c| c.count() + 1)
    }
}
