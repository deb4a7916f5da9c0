//! The server's one error type.

use std::path::PathBuf;

/// Everything that can go wrong while starting or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `[server]` configuration is invalid; every problem is listed.
    #[error("invalid server configuration:\n  {}", .0.join("\n  "))]
    Config(Vec<String>),
    /// The embedded store (WAL, alerts, snapshots) failed.
    #[error("store {path}: {reason}")]
    Store {
        /// The store's file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A stored record could not be decoded (a corrupt or foreign data directory).
    #[error("store record {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What went wrong.
        reason: String,
    },
    /// The detection engine failed to snapshot or restore its state.
    #[error("detection state: {0}")]
    Engine(String),
    /// A file (TLS certificate, key, dead-letter log) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The listener could not be bound or TLS could not be set up.
    #[error("listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The server's core worker stopped (it crashed or the server is shutting down).
    #[error("the event core has stopped")]
    CoreStopped,
}

impl Error {
    pub(crate) fn store(path: &std::path::Path, err: impl std::fmt::Display) -> Error {
        Error::Store {
            path: path.to_path_buf(),
            reason: err.to_string(),
        }
    }
}
