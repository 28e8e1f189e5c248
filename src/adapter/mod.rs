//! The provider's side: evaluate hints at invocation time, learn from runs.

mod decide;
mod error;
mod observe;

pub use decide::{Adapter, Decision};
pub use error::AdapterError;
pub use observe::Observations;
