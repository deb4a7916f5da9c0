//! Alert writers: how `jetlag scan` (and the server) hand alerts to people and machines.
//!
//! Three formats, one [`Writer`]:
//! - [`Format::Jsonl`] — one [`Alert`] per line, exactly the contract's JSON (for scripts);
//! - [`Format::Ocsf`] — one OCSF *Detection Finding* (class 2004) per line (for SIEMs);
//! - [`Format::Table`] — a readable, optionally coloured summary (for people at a terminal),
//!   with the riskiest users first when [`UserRisk`]s are given.
//!
//! JSONL and OCSF stream (each alert is written as it comes); the table is sorted, so it is
//! written by [`Writer::finish`].
#![deny(missing_docs)]

mod jsonl;
mod ocsf;
mod table;
mod text;

use std::fmt;
use std::io::Write;

use jetlag_event::{Alert, Severity};

pub use ocsf::{DetectionFinding, OCSF_VERSION};
pub use text::terminal_safe;

/// Why alerts could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The destination refused the bytes (disk full, closed pipe, ...).
    #[error("cannot write alerts: {0}")]
    Io(#[from] std::io::Error),
    /// An alert could not be serialized (a non-finite number in its evidence, ...).
    #[error("cannot serialize alert {alert_id}: {source}")]
    Json {
        /// The alert concerned.
        alert_id: String,
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// An output format, as named by `--output-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One alert JSON object per line.
    Jsonl,
    /// One OCSF Detection Finding (class 2004) JSON object per line.
    Ocsf,
    /// A readable table.
    Table,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::Jsonl, Format::Ocsf, Format::Table];

    /// The name as written on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Ocsf => "ocsf",
            Format::Table => "table",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown output format '{s}' (expected jsonl, ocsf or table)"))
    }
}

/// One user's combined risk, for the table's "top users" section.
///
/// Deliberately plain so that any risk model (`jetlag-score`) can fill it in.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRisk {
    /// The user.
    pub user: String,
    /// Combined risk 0–100.
    pub risk: u8,
    /// The risk's band.
    pub level: Severity,
    /// One line saying why.
    pub explanation: String,
}

/// Options of a [`Writer`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Colour the table with ANSI escapes (decide with "is a terminal" and `NO_COLOR`).
    pub color: bool,
    /// Users by risk; the table lists them first and orders alerts by them.
    pub user_risks: Vec<UserRisk>,
}

/// Writes alerts in one [`Format`].
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    options: Options,
    /// Table only: alerts kept until `finish` sorts them.
    held: Vec<Alert>,
    /// Reused serialization buffer.
    buf: Vec<u8>,
    written: u64,
}

impl<W: Write> Writer<W> {
    /// A writer of `format` onto `out` (wrap files and stdout in a `BufWriter`).
    pub fn new(out: W, format: Format, options: Options) -> Writer<W> {
        Writer {
            out,
            format,
            options,
            held: Vec::new(),
            buf: Vec::with_capacity(1024),
            written: 0,
        }
    }

    /// Sets the user risks shown by the table (before [`Writer::finish`]).
    pub fn set_user_risks(&mut self, risks: Vec<UserRisk>) {
        self.options.user_risks = risks;
    }

    /// Writes (or, for the table, holds) one alert.
    ///
    /// # Errors
    /// When the destination fails or the alert cannot be serialized.
    pub fn write(&mut self, alert: &Alert) -> Result<(), Error> {
        self.written += 1;
        match self.format {
            Format::Jsonl => jsonl::write(&mut self.out, &mut self.buf, alert),
            Format::Ocsf => ocsf::write(&mut self.out, &mut self.buf, alert),
            Format::Table => {
                self.held.push(alert.clone());
                Ok(())
            }
        }
    }

    /// Number of alerts given to [`Writer::write`].
    pub fn count(&self) -> u64 {
        self.written
    }

    /// Writes what is held (the table), flushes and returns the destination.
    ///
    /// # Errors
    /// When the destination fails.
    pub fn finish(mut self) -> Result<W, Error> {
        if self.format == Format::Table {
            table::write(&mut self.out, &mut self.held, &self.options)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use jetlag_event::{Alert, Severity};

    /// An impossible-travel alert shaped as the detector writes it.
    pub fn alert(id: &str, user: Option<&str>, severity: Severity, score: u8) -> Alert {
        Alert {
            alert_id: id.to_owned(),
            detector: "impossible_travel".to_owned(),
            severity,
            score,
            user: user.map(str::to_owned),
            users: user.into_iter().map(str::to_owned).collect(),
            time: "2025-03-01T12:20:00Z".parse().unwrap(),
            event_ids: vec!["e1".to_owned(), "e2".to_owned()],
            summary: "kim signed in from Moscow 20 minutes after New York (7510 km, 22530 km/h)"
                .to_owned(),
            evidence: serde_json::json!({
                "from": {"ip": "198.51.100.7", "time": "2025-03-01T12:00:00Z", "lat": 40.71,
                         "lon": -74.0, "country": "US", "city": "New York"},
                "to": {"ip": "203.0.113.9", "time": "2025-03-01T12:20:00Z", "lat": 55.75,
                       "lon": 37.62, "country": "RU", "city": "Moscow"},
                "distance_km": 7510.0, "elapsed_s": 1200, "speed_kmh": 22530.0
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert!(
            "xml"
                .parse::<Format>()
                .unwrap_err()
                .contains("jsonl, ocsf or table")
        );
    }

    #[test]
    fn writer_streams_jsonl_and_counts() {
        let mut w = Writer::new(Vec::new(), Format::Jsonl, Options::default());
        let a = testing::alert("a1", Some("kim@x.com"), Severity::High, 80);
        w.write(&a).unwrap();
        w.write(&a).unwrap();
        assert_eq!(w.count(), 2);
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(out.lines().count(), 2);
    }
}
