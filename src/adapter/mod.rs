//! The provider's side: evaluate hints at invocation time, learn from runs.

mod decide;
mod error;
mod observe;

pub use decide::{run_key_of, Adapter, Decision, Query};
pub use error::AdapterError;
pub use observe::Observations;
