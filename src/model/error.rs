use thiserror::Error;

/// Everything that can be wrong with a workflow definition.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum WorkflowError {
    #[error("workflow name {name:?} is invalid: {why}")]
    BadName { name: String, why: &'static str },
    #[error("workflow '{workflow}': request feature name {name:?} is invalid: {why}")]
    BadFeatureName { workflow: String, name: String, why: &'static str },
    #[error("workflow '{workflow}': request feature '{name}' is declared twice")]
    DuplicateFeature { workflow: String, name: String },
    #[error("workflow '{workflow}': more than {limit} request features")]
    TooManyFeatures { workflow: String, limit: usize },
    #[error("workflow '{workflow}': deadline_ms must be a positive finite number, got {value:?}")]
    BadDeadline { workflow: String, value: f64 },
    #[error("workflow '{workflow}': percentile must be in (0, 1), got {value:?}")]
    BadPercentile { workflow: String, value: f64 },
    #[error("workflow '{workflow}': stage name {name:?} is invalid: {why}")]
    BadStageName { workflow: String, name: String, why: &'static str },
    #[error("workflow '{workflow}': stage '{name}' is defined twice")]
    DuplicateStage { workflow: String, name: String },
    #[error("workflow '{workflow}': stage '{stage}' has no size options")]
    NoOptions { workflow: String, stage: String },
    #[error("workflow '{workflow}': stage '{stage}' lists size {size} twice")]
    DuplicateOption { workflow: String, stage: String, size: String },
    #[error("workflow '{workflow}': stage '{stage}' has an invalid size {size}: {why}")]
    BadSize { workflow: String, stage: String, size: String, why: &'static str },
    #[error("workflow '{workflow}': stage '{stage}' has fanout {value}; it must be in 1..={max}")]
    BadFanout { workflow: String, stage: String, value: u32, max: u32 },
    #[error("workflow '{workflow}': edge {from} -> {to} names unknown stage '{unknown}'")]
    UnknownStage { workflow: String, from: String, to: String, unknown: String },
    #[error("workflow '{workflow}': edge {from} -> {to} is a self-loop")]
    SelfLoop { workflow: String, from: String, to: String },
    #[error("workflow '{workflow}': the edges form a cycle through {cycle}")]
    Cycle { workflow: String, cycle: String },
    #[error("workflow '{workflow}' has no stages")]
    Empty { workflow: String },
    #[error("workflow '{workflow}': {count} joint size options in parallel block [{block}] exceed the limit of {limit}; allow fewer options per stage")]
    BlockTooLarge { workflow: String, block: String, count: usize, limit: usize },
    #[error("workflow '{workflow}': cost model is invalid (prices must be in [0, {max:e}] and not both zero)", max = super::MAX_PRICE)]
    BadCostModel { workflow: String },
}
