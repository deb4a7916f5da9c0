//! The one error type of `jetlag-enrich`.

use std::path::PathBuf;

/// Everything that can go wrong while loading, reloading or updating IP intelligence.
///
/// Messages are lowercase, carry the file (and line where there is one) and never end with
/// a period, so that a caller can prefix them (`jetlag: error: ...`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a MaxMind-format database, or is corrupt.
    #[error("{path}: not a valid MaxMind DB (.mmdb) file: {reason}")]
    Mmdb {
        /// The file.
        path: PathBuf,
        /// What the reader or the load-time probe found.
        reason: String,
    },
    /// A database or list whose layout is not one jetlag knows.
    #[error("{path}: unrecognised layout: {reason}")]
    Layout {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        reason: String,
    },
    /// A file in which no usable record was found at all.
    #[error("{path}: no usable records ({reason})")]
    Empty {
        /// The file.
        path: PathBuf,
        /// The first problem seen, or why the file is empty.
        reason: String,
    },
    /// An `--intel CLASS=PATH` argument that does not parse.
    #[error("bad intel list argument '{arg}': {reason}")]
    IntelArg {
        /// The argument as given.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A download in `geoip update` failed.
    #[error("cannot download {url}: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// The HTTP status or transport error.
        reason: String,
    },
    /// A downloaded database failed verification; nothing was installed.
    #[error("downloaded {what} from {url} failed verification: {reason}")]
    Verify {
        /// Which database (`city` or `asn`).
        what: &'static str,
        /// Where it came from.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
