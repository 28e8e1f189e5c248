//! Trace replay: many workflow executions under several policies.
//!
//! - [`trace`]: held-out samples per (stage, option), drawn per run with a
//!   stated [`Coupling`] across sizes; deterministic per (seed, run).
//! - [`policy`]: Janus (adapter on a hint set), static, max size, StepConf-like
//!   ([`stepconf`]) and the clairvoyant [`oracle`].
//! - [`engine::replay`]: every policy on the same draws, in parallel (rayon).
//! - [`plan::simulate`]: split the profile, fit, replay (the standard comparison).
//! - [`metrics`]: resource use, SLO attainment, latency quantiles, decision
//!   rate, hint size, and the share of the oracle's saving captured.

mod engine;
mod error;
mod joint;
mod metrics;
mod oracle;
mod outcome;
mod plan;
mod policy;
mod stepconf;
mod trace;

pub use engine::{replay, ReplayConfig, ReplayOutcome};
pub use error::ReplayError;
pub use metrics::{PolicyRuns, PolicySummary};
pub use oracle::{oracle_run, oracle_select, OracleRun};
pub use outcome::Outcome;
pub use plan::{mode_name, simulate, standard_policies, SimulateOptions};
pub use policy::{PolicyKind, PolicySpec};
pub use stepconf::StepConf;
pub use trace::{split_profile, Coupling, RunDraw, TraceSource};
