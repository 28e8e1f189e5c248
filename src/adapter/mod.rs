//! The provider's side: evaluate hints at invocation time, learn from runs.

mod batch;
mod decide;
pub mod drift;
pub(crate) mod durable_file;
mod error;
#[cfg(test)]
pub(crate) mod fixture;
mod observation_log;
mod observe;
mod online;
mod run_key;

pub use batch::{Batch, Decisions};
pub use decide::{Adapter, Decision, Query};
pub use error::AdapterError;
pub use observation_log::{LogError, LogRecord, ObservationLog, Replay, WindowKey, LOG_FILE};
pub use observe::{Observations, WindowStats, DEFAULT_WINDOW};
pub use run_key::run_key_of;
