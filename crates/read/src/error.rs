//! The reader's error type: an input that cannot be opened or read.

use std::io;

/// Why an input could not be opened or read. A bad *record* is never an error: it comes
/// through as [`crate::Item::Malformed`] or as bytes the caller rejects.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened.
    #[error("cannot open {name}: {source}")]
    Open {
        /// The input's name.
        name: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Reading failed part-way (I/O error, corrupt gzip stream).
    #[error("cannot read {name} after line {line}: {source}")]
    Read {
        /// The input's name.
        name: String,
        /// The last line read successfully.
        line: u64,
        /// The underlying reason.
        source: io::Error,
    },
    /// The input is not text: its first line, which CSV would take for a header, holds a
    /// NUL byte, and the lines after it are not NDJSON records.
    #[error("cannot read {name}: {what} (a NUL byte on line {line}), not NDJSON, JSON or CSV")]
    NotText {
        /// The input's name.
        name: String,
        /// The line with the NUL byte.
        line: u64,
        /// What the input looks like: `binary data`, or UTF-16 text without its byte
        /// order mark.
        what: &'static str,
    },
    /// The CSV reader failed part-way.
    #[error("cannot read CSV {name}: {source}")]
    Csv {
        /// The input's name.
        name: String,
        /// The underlying reason.
        source: csv::Error,
    },
}
