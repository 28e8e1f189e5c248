//! Latency profiles: samples per (function, size), histograms built from them,
//! and importers (CSV, ORION DAG_Profiler traces).

mod dist;
mod error;
mod file;
mod import;
mod store;

pub use dist::LatencyDist;
pub use error::ProfileError;
pub use import::{lambda_size, read_csv, read_orion, OrionTrace};
pub use store::{Profile, Samples};
