//! The data in a hint set.

use crate::model::{Size, Workflow};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the JSON layout. Bump on any incompatible change; loading
/// refuses other versions rather than guessing.
///
/// Version 2: request features and a classifier over them (instead of one
/// featured stage), the late-run fallback per function, the aggregate plan.
/// Version 3: sizes written as indices in the function's options, rules as
/// `[min_remaining_ms, [sizes]]` pairs, no copy of the options per hint
/// (see `wire.rs`; version 2 files are still read).
pub const SCHEMA_VERSION: u32 = 3;

/// One rule: when at least `min_remaining_ms` of the deadline is left, use
/// the first of `sizes` that fits the node (ranked, best first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub min_remaining_ms: f64,
    pub sizes: Vec<Size>,
}

/// A step function of the remaining budget; rules sorted by ascending
/// `min_remaining_ms`. Below the first rule the run is late.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleTable {
    pub rules: Vec<Rule>,
}

/// What a run that can no longer meet its deadline runs at: more resources
/// buy nothing for the SLO once it is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Late {
    /// The size the best static sizing gives the function (default): a late
    /// run never costs more than it would under static sizing.
    #[default]
    Static,
    /// The option with the least expected cost.
    Cheapest,
    /// The option with the lowest mean latency (finish as soon as possible).
    Fastest,
}

impl fmt::Display for Late {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Late::Static => "static",
            Late::Cheapest => "cheapest",
            Late::Fastest => "fastest",
        })
    }
}

impl std::str::FromStr for Late {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "static" => Ok(Late::Static),
            "cheapest" => Ok(Late::Cheapest),
            "fastest" => Ok(Late::Fastest),
            other => Err(format!("late must be 'static', 'cheapest' or 'fastest', got {other:?}")),
        }
    }
}

/// The hint of one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hint {
    pub function: String,
    /// Sizes the developer allows (copied from the workflow).
    pub options: Vec<Size>,
    /// The option with the lowest mean latency on the profile.
    pub fastest: Size,
    /// What a late run gets (below every rule): see [`HintSet::late`].
    pub fallback: Size,
    /// One table per input class, then one for "class unknown" (see
    /// [`Classifier`]); exactly one table when the hint set has no classes.
    pub tables: Vec<RuleTable>,
    /// The cheaper policy of a per-run mixture, table by table: empty, or as
    /// many as `tables`. A run uses `alt_tables[t]` instead of `tables[t]`
    /// with probability `summary[t].mix` (drawn once per run from its run
    /// key, so all its stages agree); runs without a key use `tables`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alt_tables: Vec<RuleTable>,
}

/// One node of a [`Classifier`] tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Node {
    /// Requests with `features[feature] < threshold` go to node `below`, the others to `above`.
    Split { feature: usize, threshold: f64, below: usize, above: usize },
    /// An input class.
    Leaf { class: usize },
}

/// Input classes over the request features: a binary tree of thresholds
/// (node 0 is the root, children come after their parent). Every request
/// falls in exactly one leaf; each leaf is one class with its own rule tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classifier {
    /// The request features the tree reads, in feature-vector order (the workflow's).
    pub features: Vec<String>,
    pub nodes: Vec<Node>,
}

impl Classifier {
    /// One class for every request.
    pub fn single(features: Vec<String>) -> Self {
        Classifier { features, nodes: vec![Node::Leaf { class: 0 }] }
    }

    /// Number of classes (leaves).
    pub fn count(&self) -> usize {
        self.nodes.iter().filter(|n| matches!(n, Node::Leaf { .. })).count()
    }

    /// The class of a feature vector (validated trees only; no allocation).
    /// A NaN feature goes `above` every threshold.
    pub fn class_of(&self, x: &[f64]) -> usize {
        let mut i = 0;
        // Validation guarantees children come after their parent: at most `nodes.len()` steps.
        for _ in 0..self.nodes.len() {
            match self.nodes[i] {
                Node::Leaf { class } => return class,
                Node::Split { feature, threshold, below, above } => {
                    i = if x.get(feature).is_some_and(|&v| v < threshold) { below } else { above };
                }
            }
        }
        0
    }

    /// The box of feature ranges of each class: `ranges[class][feature] = (lo, hi)`, half-open.
    pub fn ranges(&self) -> Vec<Vec<(f64, f64)>> {
        let mut out = vec![vec![(f64::NEG_INFINITY, f64::INFINITY); self.features.len()]; self.count()];
        let mut stack = vec![(0usize, vec![(f64::NEG_INFINITY, f64::INFINITY); self.features.len()])];
        while let Some((i, bx)) = stack.pop() {
            match self.nodes.get(i) {
                Some(Node::Leaf { class }) => {
                    if let Some(slot) = out.get_mut(*class) {
                        *slot = bx;
                    }
                }
                Some(&Node::Split { feature, threshold, below, above }) if feature < bx.len() => {
                    let (mut lo_box, mut hi_box) = (bx.clone(), bx);
                    lo_box[feature].1 = lo_box[feature].1.min(threshold);
                    hi_box[feature].0 = hi_box[feature].0.max(threshold);
                    stack.push((below, lo_box));
                    stack.push((above, hi_box));
                }
                _ => {}
            }
        }
        out
    }

    /// A class described for people: `kb < 6000, items >= 3`.
    pub fn describe(&self, class: usize) -> String {
        let Some(bx) = self.ranges().get(class).cloned() else { return format!("class {class}?") };
        let parts: Vec<String> = bx
            .iter()
            .zip(&self.features)
            .filter_map(|(&(lo, hi), name)| match (lo.is_finite(), hi.is_finite()) {
                (false, false) => None,
                (true, false) => Some(format!("{name} >= {lo}")),
                (false, true) => Some(format!("{name} < {hi}")),
                (true, true) => Some(format!("{lo} <= {name} < {hi}")),
            })
            .collect();
        if parts.is_empty() {
            "all requests".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// What synthesis predicted for one table (one input class, or all inputs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSummary {
    /// Input class, `None` for the unconditioned table.
    pub class: Option<usize>,
    /// Share of the profiled requests in this class (1 for the unconditioned table).
    pub weight: f64,
    /// Expected cost units of one workflow run, on the profile's model.
    pub expected_cost: f64,
    /// Probability of missing the deadline, on the profile's model.
    pub miss_probability: f64,
    /// The unconditioned table: whether it meets the percentile on its own.
    /// A class table: whether the whole plan does (classes share one miss
    /// budget, so one class may miss more often than the percentile allows).
    pub feasible: bool,
    /// Which candidate the table comes from: "dp", "percentile", or "static".
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

/// One plan synthesis compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateSummary {
    /// "conditioned" (class tables, one shared miss budget), "unconditioned"
    /// (one table for every request) or "static" (one size per function).
    pub name: String,
    pub expected_cost: f64,
    /// The miss it was judged on: its predicted miss (or, from an unkeyed
    /// profile, the lockstep check's term where larger: `lockstep.rs`),
    /// plus the optimism cross-fitting found.
    pub miss_probability: f64,
    pub feasible: bool,
}

/// What the hint set promises over all requests, and why this plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Expected cost per run over all requests (the classes weighted by their share).
    pub expected_cost: f64,
    /// Miss probability over all requests, predicted (on the model, or the
    /// keyed requests where larger): what `evaluate` computes of the hints.
    pub miss_probability: f64,
    pub feasible: bool,
    /// The candidate chosen (see [`CandidateSummary::name`]).
    pub chosen: String,
    /// Every candidate compared, the chosen one included.
    pub candidates: Vec<CandidateSummary>,
    /// The miss probability the plan was held to: `1 - percentile`, less a
    /// margin for the sampling error of a small profile.
    pub miss_target: f64,
    /// Why the chosen candidate won, for people.
    pub reason: String,
}

/// Where a hint set came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// SHA-256 of the profile the hints were synthesized from.
    pub profile_digest: String,
    /// SHA-256 of the workflow (see [`Workflow::digest`]).
    pub workflow_digest: String,
    /// Seconds since the Unix epoch.
    pub created_unix_s: u64,
    pub janus_version: String,
    /// Synthesis mode and parameters, free text for humans.
    pub synthesis: String,
}

/// Everything the adapter needs, and where it came from. Serialized as
/// schema version 3 (`wire.rs`); read with [`HintSet::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct HintSet {
    pub schema_version: u32,
    /// The workflow with its SLO, cost model and request features.
    pub workflow: Workflow,
    /// What late runs get (each hint's `fallback` is this policy's size).
    pub late: Late,
    pub classes: Option<Classifier>,
    /// One hint per stage, in the workflow's stage order.
    pub hints: Vec<Hint>,
    /// One per table: the classes' in class order, then the unconditioned one.
    pub summary: Vec<TableSummary>,
    pub plan: PlanSummary,
    pub provenance: Provenance,
    /// Human-readable warnings: infeasible deadlines, thin profiles, DAG approximations.
    pub warnings: Vec<String>,
}

impl HintSet {
    /// Whether the plan meets the percentile over all requests (on the profile).
    pub fn feasible(&self) -> bool {
        self.plan.feasible
    }
    pub fn hint(&self, function: &str) -> Option<&Hint> {
        self.hints.iter().find(|h| h.function == function)
    }
    pub fn tables_per_hint(&self) -> usize {
        self.classes.as_ref().map_or(1, |c| c.count() + 1)
    }
}
