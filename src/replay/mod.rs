//! Trace replay: many workflow executions under several policies.

mod error;
pub use error::ReplayError;
