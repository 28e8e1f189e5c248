//! The developer's model of a workflow: sizes, prices, stages and their DAG.

mod error;
mod size;
mod workflow;

pub use error::WorkflowError;
pub use size::{CostModel, Size};
pub(crate) use workflow::check_name;
pub use workflow::{Block, Slo, Stage, Workflow, MAX_JOINT_OPTIONS};
