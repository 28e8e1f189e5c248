//! Latency profiles: samples per (function, size), optionally keyed by the
//! request they were measured on and tagged with its features; importers
//! (CSV, ORION DAG_Profiler traces); random held-apart splits.

mod error;
mod file;
mod import;
mod requests;
mod store;
mod summary;

pub use error::ProfileError;
pub use import::{lambda_size, read_csv, read_orion, OrionTrace};
pub use requests::KeyedRequests;
pub use store::{Profile, Samples, MAX_KEY_LEN};
pub use summary::SummaryRow;
