use crate::file_io::FileError;
use thiserror::Error;

/// Everything that can be wrong with a hint set or its file.
#[derive(Debug, Error)]
pub enum HintError {
    #[error("{origin}: not a valid hint set at {json_path}: {message}")]
    Parse { origin: String, json_path: String, message: String },
    #[error("{origin}: the file is truncated ({message})")]
    Truncated { origin: String, message: String },
    #[error("{origin}: schema_version {found} is not supported (this Janus reads versions 2 to {supported})")]
    Version { origin: String, found: u64, supported: u32 },
    #[error("{origin}: invalid hint set at {json_path}: {message}")]
    Invalid { origin: String, json_path: String, message: String },
    /// The file could not be saved or read (not a regular file, too large, I/O).
    #[error(transparent)]
    File(#[from] FileError),
}
