//! Trace replay: many workflow executions under several policies.
//!
//! - [`trace`]: the executions: held-out keyed requests replayed exactly,
//!   or samples drawn per run with a stated [`Coupling`] across sizes.
//! - [`policy`]: Janus (adapter on a hint set), static, max size, StepConf-like
//!   ([`stepconf`]) and the clairvoyant [`oracle`].
//! - [`engine::replay`]: every policy on the same draws, in parallel (rayon).
//! - [`plan::simulate`]: split the profile at random, fit, replay (the standard comparison).
//! - [`metrics`]: resource use, SLO attainment, latency quantiles, decision
//!   rate, hint size, and the share of the oracle's saving captured.

mod engine;
mod error;
mod metrics;
mod oracle;
mod outcome;
mod plan;
mod policy;
mod stepconf;
mod trace;

pub use engine::{replay, run_key, ReplayConfig, ReplayOutcome};
pub use error::ReplayError;
pub use metrics::{PolicyRuns, PolicySummary};
pub use oracle::{oracle_run, oracle_select, OracleRun};
pub use outcome::Outcome;
pub use plan::{simulate, standard_policies, SimulateOptions};
pub use policy::{PolicyKind, PolicySpec};
pub use stepconf::StepConf;
pub use trace::{Coupling, Executions, RunDraw};
