use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("replay: {0}")]
    Other(String),
}
