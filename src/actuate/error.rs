use thiserror::Error;

#[derive(Debug, Error)]
pub enum ActuateError {
    #[error("actuation: {0}")]
    Other(String),
}
