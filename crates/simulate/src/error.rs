//! The simulator's error type.

use std::path::PathBuf;

/// Why a simulation could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory of the output could not be created or written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The configuration asks for something impossible.
    #[error("invalid simulation: {0}")]
    Config(String),
}
