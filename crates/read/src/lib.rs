//! jetlag's readers: turn files, standard input or an in-memory body into raw records.
//!
//! A reader knows nothing about vendors. It opens an [`Input`] (a path or `-` for stdin),
//! unwraps gzip when the first bytes are the gzip magic number (whatever the file is
//! called), decides the *layout* from the head of the input and hands every raw record to
//! a callback as an [`Item`] with its 1-based line number:
//!
//! - **NDJSON** (the first line is a complete JSON value starting with `{`, or most of the
//!   next lines are complete JSON objects, whatever the first line is: a damaged first
//!   line is then rejected like any broken record): one record per line, streamed through
//!   one reused buffer, so memory stays constant however big the file is. A line that is
//!   itself a wrapper (`{"records":[…]}`, as Event Hub captures are) yields the wrapped
//!   records.
//! - **JSON document** (otherwise, when the first significant byte is `[` or `{`): one or
//!   more documents read into memory; a JSON array, a Microsoft Graph page `{"value":[…]}`,
//!   an Azure diagnostic / Event Hub batch `{"records":[…]}`, a CloudTrail file
//!   `{"Records":[…]}` or a Google Reports API page `{"items":[…]}` yields its elements;
//!   any other value is one record.
//! - **CSV** (anything else): a header row, then one row per record, streamed. An input
//!   whose first line holds a NUL byte is not text, and is [`Error::NotText`].
//!
//! An input that starts with a UTF-16 byte order mark (Windows PowerShell 5's `>`) is
//! transcoded to UTF-8 first; any other is read as it is.
//!
//! Records are borrowed from the reader's buffers and only live for the callback call.
//! Problems with one record (an empty line, a byte order mark in mid-stream, a broken
//! document) come through as [`Item::Malformed`] so the caller can reject that record and
//! keep going; only a failure to open or read the input at all is an [`Error`].
#![deny(missing_docs)]

mod error;
mod json;
mod layout;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub use error::Error;

/// What the callback tells the reader: go on, or stop reading this input (the reader
/// then returns `Ok` at once, e.g. when the consumer's output pipe closed).
pub type Flow = std::ops::ControlFlow<()>;

/// Returns early from a reader function when the callback asked to stop.
macro_rules! go {
    ($flow:expr) => {
        if $flow.is_break() {
            return std::ops::ControlFlow::Break(());
        }
    };
}
pub(crate) use go;

/// One input: a file or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-` on the command line).
    Stdin,
    /// A file, plain or gzipped.
    Path(PathBuf),
}

impl Input {
    /// The input a command-line argument names: `-` is standard input.
    ///
    /// # Example
    /// ```
    /// use jetlag_read::Input;
    /// assert_eq!(Input::from_arg("-"), Input::Stdin);
    /// assert_eq!(Input::from_arg("a.jsonl").to_string(), "a.jsonl");
    /// ```
    pub fn from_arg(arg: impl AsRef<Path>) -> Input {
        let arg = arg.as_ref();
        if arg.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::Path(arg.to_path_buf())
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stdin => f.write_str("<stdin>"),
            Input::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The layout a reader found in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// One JSON value per line.
    Ndjson,
    /// One or more JSON documents (arrays and wrappers are unpacked).
    Document,
    /// CSV with a header row.
    Csv,
    /// Nothing but whitespace.
    Empty,
}

/// One raw item handed to the callback.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// The bytes of one JSON record (not yet validated: it may be truncated or not UTF-8).
    Json(&'a [u8]),
    /// The header row of a CSV input; comes once, before its rows.
    CsvHeader(&'a csv::ByteRecord),
    /// One CSV row (fields are bytes, not yet validated as UTF-8).
    CsvRow(&'a csv::ByteRecord),
    /// Something at this line that is not a record; the reason, lower case.
    Malformed(&'a str),
}

/// An [`Item`] and where it was found.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    /// 1-based line number where the record starts.
    pub line: u64,
    /// The record.
    pub item: Item<'a>,
}

/// Opens `input` and calls `f` for every raw record in it, until `f` returns
/// [`Flow::Break`]. Returns the layout found.
///
/// # Errors
/// [`Error::Open`] when the file cannot be opened, [`Error::Read`] / [`Error::Csv`] when
/// reading fails part-way (records before the failure have been delivered),
/// [`Error::NotText`] when the input is binary.
pub fn read_input(input: &Input, f: impl FnMut(Raw<'_>) -> Flow) -> Result<Layout, Error> {
    let name = input.to_string();
    match input {
        Input::Stdin => read_from(&name, io::stdin().lock(), f),
        Input::Path(path) => {
            let file = File::open(path).map_err(|source| Error::Open {
                name: name.clone(),
                source,
            })?;
            read_from(&name, file, f)
        }
    }
}

/// Reads records from any byte stream (gzip detected by its magic bytes). `name` is only
/// used in error messages.
///
/// # Errors
/// [`Error::Read`] / [`Error::Csv`] when reading fails part-way, [`Error::NotText`] when
/// the input is binary.
pub fn read_from<R: Read>(
    name: &str,
    reader: R,
    f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let head = reader.fill_buf().map_err(|source| Error::Read {
        name: name.to_owned(),
        line: 0,
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let decoder = flate2::bufread::MultiGzDecoder::new(reader);
        layout::read(name, BufReader::with_capacity(64 * 1024, decoder), f)
    } else {
        layout::read(name, reader, f)
    }
}

/// Reads records from an in-memory body (an HTTP request, a test fixture); gzip is
/// detected by its magic bytes.
///
/// # Errors
/// [`Error::Read`] when a gzip body is corrupt, [`Error::Csv`] on a CSV read failure,
/// [`Error::NotText`] when the body is binary.
///
/// # Example
/// ```
/// use jetlag_read::{read_slice, Item, Layout};
/// let body = br#"{"value":[{"id":"a"},{"id":"b"}]}"#;
/// let mut seen = Vec::new();
/// let layout = read_slice("body", body, |raw| {
///     if let Item::Json(bytes) = raw.item {
///         seen.push(String::from_utf8_lossy(bytes).into_owned());
///     }
///     std::ops::ControlFlow::Continue(())
/// })
/// .unwrap();
/// assert_eq!(layout, Layout::Ndjson);
/// assert_eq!(seen, [r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
/// ```
pub fn read_slice(
    name: &str,
    body: &[u8],
    f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    read_from(name, body, f)
}

/// Reads everything left in `reader` (used for JSON documents).
fn slurp(name: &str, line: u64, mut reader: impl BufRead, buf: &mut Vec<u8>) -> Result<(), Error> {
    reader.read_to_end(buf).map_err(|source| Error::Read {
        name: name.to_owned(),
        line,
        source,
    })?;
    Ok(())
}
