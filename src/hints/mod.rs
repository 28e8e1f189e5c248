//! Hint sets: the versioned JSON contract between developer and provider.

mod error;
mod io;
mod types;

pub use error::HintError;
pub use types::{
    CandidateSummary, Classifier, Hint, HintSet, Late, Node, PlanSummary, Provenance, Rule, RuleTable, TableSummary,
    SCHEMA_VERSION,
};
