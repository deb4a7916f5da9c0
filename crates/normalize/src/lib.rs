//! jetlag's vendor formats: one raw record in, one normalized [`SignIn`] out.
//!
//! Each vendor has its own module with the vendor's documented field names
//! ([`entra`], [`okta`], [`google`], [`cloudtrail`], [`ocsf`], [`ecs`], [`csv`]). A record is
//! parsed with `serde` straight into borrowed structs (no JSON trees), then mapped to the
//! normalized event.
//!
//! The front door:
//! - [`parse_json`]: one JSON record of a [`Format`] (or [`Format::Auto`], decided per
//!   record by [`sniff()`]) → [`Parsed::Event`], [`Parsed::Skipped`] (a known source's event
//!   that is not a sign-in) or an [`Error`] saying why the record is rejected.
//! - [`Normalizer`]: feeds the raw records of `jetlag-read` through the parsers, keeps
//!   [`Stats`] and the first [`Reject`]s (file:line: reason).
//! - [`parse_body`]: a whole in-memory body (NDJSON, JSON, array, wrappers, possibly gzip)
//!   → events and rejects; for request bodies.
//!
//! Bad *optional* parts (an unparseable IP, an unknown country, an AS number that is not
//! one) are dropped with a [`Warning`] and the event is kept; out-of-range coordinates
//! (a number beyond `f64` included) drop the record's whole location (country and city
//! too), so the event is kept without `geo`; coordinates of exactly (0, 0), a placeholder
//! for "unknown", drop only themselves.
//!
//! A location the record gives without coordinates (a country, region or city alone) is
//! kept with `lat` and `lon` unset: `jetlag-enrich` then gives it a point (the IP's GeoIP
//! location in the same country, or the country's centroid) or drops it, so events that
//! leave jetlag never carry a `geo` without coordinates.
#![deny(missing_docs)]

pub mod cloudtrail;
mod common;
pub mod csv;
pub mod ecs;
pub mod entra;
mod error;
mod format;
pub mod google;
mod lex;
mod normalizer;
mod number;
pub mod ocsf;
pub mod okta;
mod sniff;
mod stats;
mod time;

pub use error::Error;
pub use format::Format;
pub use jetlag_event::{SignIn, Source};
pub use normalizer::{Body, Normalizer, parse_body};
pub use sniff::sniff;
pub use stats::{Counts, Reject, Stats, Warning};

/// What one record turned into.
// Nearly every record is an event: boxing it would cost an allocation per record to save
// stack space on the rare skip.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A sign-in.
    Event(SignIn),
    /// A record of a known source that is not a sign-in (counted, not rejected).
    Skipped(Skip),
}

/// What one record turned into, when parsed into a caller's [`SignIn`]
/// ([`parse_json_into`], [`Normalizer::push_in_place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// A sign-in, written into the caller's event (every field overwritten).
    Event,
    /// A record of a known source that is not a sign-in; the caller's event holds
    /// nothing meaningful.
    Skipped(Skip),
}

impl Filled {
    /// The by-value [`Parsed`], taking the event out of `event` when there is one.
    pub(crate) fn into_parsed(self, event: SignIn) -> Parsed {
        match self {
            Filled::Event => Parsed::Event(event),
            Filled::Skipped(skip) => Parsed::Skipped(skip),
        }
    }
}

/// Why a record was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip {
    /// The source the record belongs to.
    pub source: Source,
    /// Why it is not a sign-in, lower case.
    pub reason: &'static str,
}

/// Parses one JSON record of `format` (bytes, not yet validated as UTF-8).
///
/// Problems with optional parts are pushed to `warnings`; the event is kept.
///
/// # Errors
/// An [`Error`] explaining why the record is rejected: not JSON, not UTF-8, a field of the
/// wrong type, no user, no or an implausible time, an unrecognizable format.
///
/// # Example
/// ```
/// use jetlag_normalize::{Format, Parsed, parse_json};
/// let rec = br#"{"uuid":"u1","published":"2024-05-01T10:00:00.000Z","eventType":"user.session.start",
///   "actor":{"alternateId":"Alice@Example.com","type":"User"},"outcome":{"result":"SUCCESS"},
///   "client":{"ipAddress":"192.0.2.1","geographicalContext":{"country":"United States"}}}"#;
/// let mut warnings = Vec::new();
/// let Ok(Parsed::Event(ev)) = parse_json(rec, Format::Auto, &mut warnings) else { panic!() };
/// assert_eq!(ev.user, "alice@example.com");
/// assert_eq!(ev.geo.unwrap().country.unwrap().as_str(), "US");
/// ```
pub fn parse_json(
    record: &[u8],
    format: Format,
    warnings: &mut Vec<Warning>,
) -> Result<Parsed, Error> {
    let mut event = common::blank();
    parse_json_into(record, format, &mut event, warnings).map(|f| f.into_parsed(event))
}

/// [`parse_json`] into a caller's event: on [`Filled::Event`] every field of `out` is
/// overwritten, and its strings' heap buffers are reused, so parsing a stream of records
/// into one `SignIn` allocates nothing in steady state. On a skip or an error `out` holds
/// nothing meaningful (it may be partly written).
///
/// # Errors
/// As [`parse_json`].
///
/// # Example
/// ```
/// use jetlag_normalize::{Filled, Format, SignIn, parse_json_into};
/// let rec = br#"{"@timestamp":"2024-05-01T10:00:00Z","event":{"category":"authentication",
///   "outcome":"success","id":"e-1"},"user":{"name":"Bob"},"source":{"ip":"192.0.2.9"}}"#;
/// let mut ev = SignIn::new("", "2000-01-01T00:00:00Z".parse().unwrap(),
///     jetlag_normalize::Source::Csv, "", jetlag_event::Outcome::Unknown);
/// let mut warnings = Vec::new();
/// assert_eq!(parse_json_into(rec, Format::Auto, &mut ev, &mut warnings).unwrap(), Filled::Event);
/// assert_eq!((ev.event_id.as_str(), ev.user.as_str()), ("e-1", "bob"));
/// ```
pub fn parse_json_into(
    record: &[u8],
    format: Format,
    out: &mut SignIn,
    warnings: &mut Vec<Warning>,
) -> Result<Filled, Error> {
    let source = match format {
        Format::Auto => {
            // The fast guess is right for every record that is valid JSON, which the
            // vendor parse checks; when it finds the JSON broken, the exact sniff decides
            // how the record is rejected, as it would have without the guess.
            if let Some(source) = sniff::guess(record) {
                let before = warnings.len();
                match parse_as(source, record, out, warnings) {
                    Err(e) if e.is_decode_failure() => warnings.truncate(before),
                    parsed => return parsed,
                }
            }
            sniff(record)?
        }
        Format::Csv => return Err(Error::CsvAsJson),
        other => other.source().ok_or(Error::CsvAsJson)?,
    };
    parse_as(source, record, out, warnings)
}

/// Parses one JSON record as `source`'s into `out`.
fn parse_as(
    source: Source,
    record: &[u8],
    out: &mut SignIn,
    warnings: &mut Vec<Warning>,
) -> Result<Filled, Error> {
    let parsed = match source {
        Source::Entra => entra::parse_into(record, out, warnings),
        Source::Okta => okta::parse_into(record, out, warnings),
        Source::Google => google::parse_into(record, out, warnings),
        Source::Cloudtrail => cloudtrail::parse_into(record, out, warnings),
        Source::Ocsf => ocsf::parse_into(record, out, warnings),
        Source::Ecs => ecs::parse_into(record, out, warnings),
        Source::Csv => Err(Error::CsvAsJson),
    };
    parsed.map_err(|e| e.in_source(source))
}
