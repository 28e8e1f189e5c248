//! Errors of the service: `ServeError` for starting and running it (what the
//! `serve` call returns), `ApiError` for one request (a 4xx/5xx with a JSON
//! body naming the problem; never a crash).

use crate::adapter::{AdapterError, LogError};
use crate::hints::HintError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServeError {
    /// A setting out of its range; `why` reads "must be ..., got VALUE".
    #[error("serve: {name} {why}")]
    Config { name: &'static str, why: String },
    #[error("serve: cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("serve: data folder {path}: {why}")]
    DataDir { path: PathBuf, why: String },
    #[error("serve: data folder {path} is in use by another janus serve (its lock is held)")]
    Locked { path: PathBuf },
    #[error("serve: {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("serve: {path} is a symlink: refusing to follow it out of the data folder")]
    Symlink { path: PathBuf },
    #[error("serve: {0}")]
    Hints(#[from] HintError),
    #[error("serve: {path}: not a valid profile: {why}")]
    Profile { path: PathBuf, why: String },
    #[error("serve: {0}")]
    Log(#[from] LogError),
    #[error("serve: no hint set to serve: give --hints with at least one hint-set file (or a folder of them)")]
    NoHints,
    #[error("serve: workflow '{workflow}' is given twice: {first} and {second}")]
    DuplicateWorkflow { workflow: String, first: String, second: String },
    #[error("serve: workflow name '{workflow}' cannot name a file in the data folder: {why}")]
    BadWorkflowName { workflow: String, why: &'static str },
    #[error("serve: the async runtime failed: {0}")]
    Runtime(std::io::Error),
}

/// What went wrong with one request, as the client will read it:
/// `{"error": {"kind": ..., "message": ...}}` with a 4xx (or 5xx) status.
#[derive(Debug, Error)]
pub enum ApiError {
    /// Malformed JSON, a wrong type, a missing or unknown field, a bad value.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the endpoint accepts.
    #[error("{0}")]
    TooLarge(String),
    #[error("unknown workflow '{workflow}' (this service has: {known})")]
    UnknownWorkflow { workflow: String, known: String },
    /// A decide/observe the adapter refused (unknown function, bad time, ...).
    #[error("{0}")]
    Adapter(#[from] AdapterError),
    /// A hint set that does not parse or validate.
    #[error("{0}")]
    Hints(#[from] HintError),
    #[error("no route {method} {path} (see the README's API table)")]
    NotFound { method: String, path: String },
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    /// The request needs something the service does not have (e.g. a profile for drift).
    #[error("{0}")]
    Conflict(String),
    /// The data folder could not record it: nothing was acknowledged.
    #[error("not persisted, retry later: {0}")]
    Unavailable(String),
    /// Item `index` of the batch `list` is wrong (the whole batch is refused).
    #[error("{list}[{index}]: {inner}")]
    InBatch { list: &'static str, index: usize, inner: Box<ApiError> },
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Adapter(_) | ApiError::Hints(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnknownWorkflow { .. } | ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InBatch { inner, .. } => inner.status(),
        }
    }

    /// A stable name for clients (the Python client maps it to an exception
    /// class) and for the `janus_request_errors_total{kind}` metric.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnknownWorkflow { .. } => "unknown_workflow",
            ApiError::Adapter(_) => "adapter",
            ApiError::Hints(_) => "hints",
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::InBatch { inner, .. } => inner.kind(),
        }
    }

    /// Say which item of a batch the problem is in.
    pub fn at(self, list: &'static str, index: usize) -> ApiError {
        ApiError::InBatch { list, index, inner: Box::new(self) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"kind": self.kind(), "message": self.to_string()}});
        let mut r = (self.status(), axum::Json(body)).into_response();
        r.extensions_mut().insert(ErrorKind(self.kind()));
        r
    }
}

/// Marks a response as an error, for the layer that counts errors by kind.
#[derive(Debug, Clone, Copy)]
pub struct ErrorKind(pub &'static str);
