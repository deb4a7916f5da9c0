//! The evaluation's error type.

use std::path::PathBuf;

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The truth file is damaged.
    #[error("{}:{line}: {reason}", path.display())]
    Truth {
        /// The truth file.
        path: PathBuf,
        /// 1-based line (0: the file as a whole).
        line: u64,
        /// What is wrong.
        reason: String,
    },
}
