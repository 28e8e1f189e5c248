//! The developer's model of a workflow: sizes, prices, stages, request
//! features and their DAG.

mod builder;
mod error;
mod levels;
mod size;
mod workflow;

pub(crate) use builder::check_name;
pub use builder::{check_size, WorkflowBuilder, MAX_FANOUT, MAX_FEATURES, MIN_CPU_MILLIS};
pub use error::WorkflowError;
pub use size::{is_latency_ms, CostModel, Size, MAX_LATENCY_MS, MAX_PRICE};
pub use workflow::{Block, Slo, Stage, Workflow, WorkflowSpec, MAX_JOINT_OPTIONS};
