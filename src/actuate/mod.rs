//! Actuation: apply a size to a target (cgroup v1/v2, dry run).

mod error;
pub use error::ActuateError;
