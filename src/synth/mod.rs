//! Synthesis: profiles + DAG + SLO -> hint set (see DESIGN.md, "Synthesis").
//!
//! Layout: `blocks` builds the grid histograms of every parallel block,
//! `dp` is the stochastic DP with a Lagrange multiplier, `percentile` the
//! deterministic baseline, `static_plan` the best early-binding plan,
//! `condense` turns a policy into rules, `evaluate` computes exactly what a
//! set of rules does on the histograms, `features` splits runs into input
//! classes, `json_safe` keeps written numbers exact through JSON, and
//! `table` ties one table together (DP or percentile policy vs. static plan).

mod blocks;
mod condense;
mod dp;
mod error;
mod evaluate;
mod features;
mod json_safe;
mod options;
mod percentile;
mod static_plan;
mod table;
#[cfg(test)]
mod tests;

pub use error::SynthError;
pub use options::{MAX_BUCKETS, MAX_FEATURE_CLASSES, MIN_BUCKETS};

use crate::hints::{Hint, Provenance};
use crate::hints::{HintSet, RuleTable, SCHEMA_VERSION};
use crate::model::{Size, Workflow};
use crate::profile::Profile;
use blocks::Restriction;

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
    /// Mix per run with the policy just below the target when the chosen one
    /// over-achieves (see `dp.rs`): cheaper at exactly the target on the
    /// profile, for providers that pass run keys. Off by default: it spends
    /// the whole miss allowance on the profile, leaving no margin for a
    /// profile that differs from production (measured in docs/results.md).
    pub mix: bool,
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
            mix: false,
        }
    }
}

/// The best early-binding plan: one size per stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticPlan {
    /// One size per stage, in `wf.stages()` order.
    pub sizes: Vec<Size>,
    /// Expected cost units of one run on the profile's histograms.
    pub expected_cost: f64,
    pub miss_probability: f64,
    /// False when no static plan meets the percentile (the plan is then all-fastest).
    pub feasible: bool,
}

/// Synthesize the hint set of `wf` from `profile`.
pub fn synthesize(wf: &Workflow, profile: &Profile, opts: &SynthOptions) -> Result<HintSet, SynthError> {
    options::validate(opts)?;
    wf.check_joint_options()?;
    profile.check_covers(wf)?;
    let fastest = blocks::fastest(wf, profile)?;
    let mut warnings = Vec::new();
    let classes = features::classes(wf, profile, opts, &mut warnings)?;
    // Tables for every class, then the unconditioned one (the adapter's "class unknown").
    let mut restrictions: Vec<Option<Restriction>> = match &classes {
        Some(c) => (0..c.fc.count()).map(|k| Some(c.restriction(k))).collect(),
        None => Vec::new(),
    };
    restrictions.push(None);
    let n = wf.stages().len();
    let ntables = restrictions.len();
    let mut tables: Vec<Vec<RuleTable>> = vec![Vec::with_capacity(ntables); n];
    // Mixed tables only; filled with empty tables below if any table is mixed.
    let mut alt: Vec<Vec<RuleTable>> = vec![Vec::with_capacity(ntables); n];
    let mut summary = Vec::with_capacity(ntables);
    let mut notes = Vec::with_capacity(ntables);
    for r in restrictions {
        let t = table::synthesize_table(wf, profile, opts, &fastest, r)?;
        for (per_stage, rt) in tables.iter_mut().zip(t.rules) {
            per_stage.push(rt);
        }
        let alt_rules = t.alt_rules.unwrap_or_else(|| vec![RuleTable::default(); n]);
        for (per_stage, rt) in alt.iter_mut().zip(alt_rules) {
            per_stage.push(rt);
        }
        summary.push(t.summary);
        warnings.extend(t.warning);
        notes.push(t.note);
    }
    if let Some(a) = wf.approximation() {
        warnings.push(format!("workflow '{}': {a}", wf.name()));
    }
    let mixed = summary.iter().any(|s: &crate::hints::TableSummary| s.mix.is_some());
    let hints = wf
        .stages()
        .iter()
        .zip(tables)
        .zip(alt)
        .zip(&fastest)
        .map(|(((st, tables), alt_tables), &f)| Hint {
            function: st.name.clone(),
            options: st.options.clone(),
            fastest: st.options[f],
            tables,
            alt_tables: if mixed { alt_tables } else { Vec::new() },
        })
        .collect();
    let dt = wf.slo().deadline_ms / opts.buckets as f64;
    let synthesis = format!(
        "mode={:?} buckets={} dt_ms={dt:.6} tolerance={} max_rules={} {}",
        opts.mode,
        opts.buckets,
        opts.tolerance,
        opts.max_rules.map_or("none".to_string(), |m| m.to_string()),
        notes.join(" ")
    );
    let created_unix_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let hs = HintSet {
        schema_version: SCHEMA_VERSION,
        workflow: wf.clone(),
        classes: classes.map(|c| c.fc),
        hints,
        summary,
        provenance: Provenance {
            profile_digest: profile.digest(),
            created_unix_s,
            janus_version: env!("CARGO_PKG_VERSION").to_string(),
            synthesis,
        },
        warnings,
    };
    // A hint set the loader would refuse is a bug here, not the user's: say so rather than hand it out.
    hs.validate("<synthesized>").map_err(|e| SynthError::Hints(format!("internal error, please report: {e}")))?;
    Ok(hs)
}

/// The cheapest static sizing (one size per stage) meeting the percentile on
/// the unconditioned histograms. The search is exhaustive (depth-first with
/// pruning) when combinations x budgets x histogram support <= 5e7, else a
/// steepest-descent local search from the all-fastest plan.
pub fn best_static(wf: &Workflow, profile: &Profile, opts: &SynthOptions) -> Result<StaticPlan, SynthError> {
    options::validate(opts)?;
    wf.check_joint_options()?;
    profile.check_covers(wf)?;
    let fastest = blocks::fastest(wf, profile)?;
    let models = blocks::build(wf, profile, opts.buckets, &fastest, None)?;
    let st = static_plan::search(&models, 1.0 - wf.slo().percentile + table::FEASIBILITY_EPS);
    let mut sizes = vec![Size::new(0, 0); wf.stages().len()];
    for (blk, &o) in models.blocks.iter().zip(&st.choice) {
        for (m, &si) in blk.stages.iter().enumerate() {
            sizes[si] = wf.stages()[si].options[blk.digit(o, m)];
        }
    }
    Ok(StaticPlan { sizes, expected_cost: st.cost, miss_probability: st.miss, feasible: st.feasible })
}

/// Exact forward evaluation of a hint table set on histograms: (expected
/// cost per run, miss probability). `class` selects the table of an input
/// class (the featured stage's runs of that class only); `None` the
/// unconditioned table on all runs. The hints are read as the adapter reads
/// them with unlimited free capacity (first ranked size) and a run key: a
/// mixed table gives the mixture's cost and miss.
pub fn evaluate(
    hints: &HintSet,
    profile: &Profile,
    opts: &SynthOptions,
    class: Option<usize>,
) -> Result<(f64, f64), SynthError> {
    options::validate(opts)?;
    hints.validate("<evaluate>").map_err(|e| SynthError::Hints(e.to_string()))?;
    let wf = &hints.workflow;
    wf.check_joint_options()?;
    profile.check_covers(wf)?;
    let (table, restrict) = match (class, &hints.classes) {
        (None, _) => (hints.tables_per_hint() - 1, None),
        (Some(c), Some(fc)) if c < fc.count() => {
            let stage = wf
                .stage_index(&fc.function)
                .ok_or_else(|| SynthError::Hints(format!("classes.function '{}' is not a stage", fc.function)))?;
            (c, Some(Restriction { stage, class: c, range: fc.range(c) }))
        }
        (Some(c), Some(fc)) => {
            return Err(SynthError::BadOption {
                name: "class",
                why: format!("{c} is out of range: the hint set has {} input classes", fc.count()),
            })
        }
        (Some(c), None) => {
            return Err(SynthError::BadOption {
                name: "class",
                why: format!("{c} given but the hint set has no input classes"),
            })
        }
    };
    // Validation guarantees every fastest is one of the options.
    let fallback: Vec<usize> =
        hints.hints.iter().map(|h| h.options.iter().position(|s| *s == h.fastest).unwrap_or(0)).collect();
    let models = blocks::build(wf, profile, opts.buckets, &fallback, restrict)?;
    let run = |pick: &dyn Fn(&Hint) -> &RuleTable| -> Result<(f64, f64), SynthError> {
        let refs: Vec<&RuleTable> = hints.hints.iter().map(pick).collect();
        let e = evaluate::forward(&models, &evaluate::policy_from_tables(wf, &models, &refs)?);
        Ok((e.cost, e.miss))
    };
    let (cost, miss) = run(&|h| &h.tables[table])?;
    match hints.summary[table].mix {
        // Runs with a key follow the alternative tables in this share (validated: present).
        Some(q) => {
            let (ac, am) = run(&|h| &h.alt_tables[table])?;
            Ok((q * ac + (1.0 - q) * cost, q * am + (1.0 - q) * miss))
        }
        None => Ok((cost, miss)),
    }
}
