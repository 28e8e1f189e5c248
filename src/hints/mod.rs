//! Hint sets: the versioned JSON contract between developer and provider.

mod error;
mod io;
mod types;
mod wire;

pub use error::HintError;
pub use types::{
    CandidateSummary, Classifier, Hint, HintSet, Late, Node, PlanSummary, Provenance, Rule, RuleTable, TableSummary,
    SCHEMA_VERSION,
};
