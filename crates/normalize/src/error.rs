//! Why a record is rejected.

use jetlag_event::Source;

/// Why one record was rejected. Messages are lower case and name the field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record is not valid JSON or a field has the wrong type (the message says which:
    /// `truncated JSON: …`, `invalid JSON: …`, `wrong type: …`).
    #[error("{0}")]
    Json(String),
    /// The record's arrays and objects nest deeper than the limit (the number), which
    /// keeps the JSON parser's recursion within the stack.
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),
    /// The record is not valid UTF-8.
    #[error("not valid UTF-8 (at byte {0})")]
    NotUtf8Record(usize),
    /// A required field is absent or empty.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A time that does not parse.
    #[error("unparseable time in {field}: {value:?}")]
    BadTime {
        /// The vendor's field name.
        field: &'static str,
        /// The value as found (shortened).
        value: String,
    },
    /// A time outside 1990..2100 (a year-9999 placeholder, an epoch-zero default).
    #[error("implausible time in {field}: {value} (accepted: 1990 to 2099)")]
    TimeOutOfRange {
        /// The vendor's field name.
        field: &'static str,
        /// The value as found.
        value: String,
    },
    /// `--format auto` could not tell which vendor wrote the record.
    #[error("unrecognized record: not a sign-in format jetlag knows (try --format)")]
    Unrecognized,
    /// A JSON record was given to the CSV format (or the reverse).
    #[error("the csv format reads CSV files with a header row, not JSON records")]
    CsvAsJson,
    /// A CSV field that is not UTF-8.
    #[error("column {column} is not valid UTF-8")]
    NotUtf8 {
        /// The column's header.
        column: String,
    },
    /// Something the reader could not make into a record (empty line, broken document).
    #[error("{0}")]
    Malformed(String),
    /// An error while parsing a record of a known source.
    #[error("{vendor}: {error}")]
    InSource {
        /// The format the record was parsed as.
        vendor: Source,
        /// What went wrong.
        error: Box<Error>,
    },
}

fn json_message(e: &sonic_rs::Error) -> String {
    use sonic_rs::error::Category;
    // sonic-rs appends a multi-line excerpt with a caret: keep the one-line message.
    let full = e.to_string();
    let message = full.lines().next().unwrap_or_default().trim_end();
    match e.classify() {
        Category::TypeUnmatched | Category::NotFound => format!("wrong type: {message}"),
        Category::Eof => format!("truncated JSON: {message}"),
        _ => format!("invalid JSON: {message}"),
    }
}

impl Error {
    /// A JSON error, or the clearer [`Error::NotUtf8Record`] when the bytes are not UTF-8.
    pub(crate) fn from_json(e: sonic_rs::Error, record: &[u8]) -> Error {
        match std::str::from_utf8(record) {
            Err(u) => Error::NotUtf8Record(u.valid_up_to()),
            Ok(_) => Error::Json(json_message(&e)),
        }
    }

    /// Adds the source the record was parsed as (once).
    pub(crate) fn in_source(self, source: Source) -> Error {
        match self {
            Error::InSource { .. } | Error::Unrecognized | Error::CsvAsJson => self,
            error => Error::InSource {
                vendor: source,
                error: Box::new(error),
            },
        }
    }

    /// Whether decoding the record failed: broken JSON, not UTF-8, a field of the wrong
    /// type (as opposed to a record that decoded but lacks or garbles a field).
    pub(crate) fn is_decode_failure(&self) -> bool {
        match self {
            Error::Json(_) | Error::NotUtf8Record(_) => true,
            Error::InSource { error, .. } => error.is_decode_failure(),
            _ => false,
        }
    }

    /// The source the record was parsed as, when known.
    pub fn source(&self) -> Option<Source> {
        match self {
            Error::InSource { vendor, .. } => Some(*vendor),
            _ => None,
        }
    }
}
