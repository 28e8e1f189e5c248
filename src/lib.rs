//! Janus: late-binding resource sizing for serverless workflows.
//!
//! The algorithmic core (model, profiles, synthesis, hints, adapter,
//! actuation, replay) is plain Rust; the PyO3 binding lives in [`py`] behind
//! the `python` feature, so `cargo test` exercises the core directly.

pub mod actuate;
pub mod adapter;
pub mod error;
pub mod file_io;
pub mod hints;
pub mod model;
pub mod profile;
pub mod replay;
pub mod stats;
pub mod synth;

#[cfg(feature = "python")]
mod py;

pub use error::Error;
#[cfg(feature = "serve")]
pub mod serve;
