//! The driver: raw records from `jetlag-read` in, sign-ins and statistics out.

use jetlag_event::{SignIn, Source};
use jetlag_read::{Item, Raw};

use crate::csv::{Columns, CsvMap};
use crate::{Error, Filled, Format, Reject, Stats, Warning, parse_json_into};

/// Turns raw records into sign-ins, counting everything in [`Stats`].
///
/// One `Normalizer` can read many inputs in turn; it remembers the current CSV header
/// between [`Item::CsvHeader`] and the rows that follow it.
///
/// # Example
/// ```
/// use jetlag_normalize::{Format, Normalizer};
/// let body = b"time,user,ip,result\n2024-05-01T10:00:00Z,Bob@Example.com,192.0.2.7,success\n";
/// let mut n = Normalizer::new(Format::Auto, Default::default());
/// let mut users = Vec::new();
/// jetlag_read::read_slice("login.csv", body, |raw| {
///     n.push("login.csv", raw, |ev| users.push(ev.user.to_string()));
///     std::ops::ControlFlow::Continue(())
/// })
/// .unwrap();
/// assert_eq!(users, ["bob@example.com"]);
/// assert_eq!(n.stats().total().parsed, 1);
/// ```
#[derive(Debug)]
pub struct Normalizer {
    format: Format,
    map: CsvMap,
    columns: Option<Columns>,
    stats: Stats,
    warnings: Vec<Warning>,
    /// Every reject, when the caller wants them all ([`parse_body`]).
    all_rejects: Option<Vec<Reject>>,
    /// The event each record is parsed into (its string buffers reused record after
    /// record).
    event: SignIn,
}

impl Default for Normalizer {
    fn default() -> Normalizer {
        Normalizer {
            format: Format::default(),
            map: CsvMap::default(),
            columns: None,
            stats: Stats::default(),
            warnings: Vec::new(),
            all_rejects: None,
            event: crate::common::blank(),
        }
    }
}

impl Normalizer {
    /// A normalizer for `format`, with `--map FIELD=COLUMN` overrides for CSV inputs.
    pub fn new(format: Format, map: CsvMap) -> Normalizer {
        Normalizer {
            format,
            map,
            ..Normalizer::default()
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The counts, taken out (the normalizer starts counting afresh).
    pub fn take_stats(&mut self) -> Stats {
        std::mem::take(&mut self.stats)
    }

    /// Records that an input could not be opened or read.
    pub fn input_failed(&mut self, reason: String) {
        self.stats.failed_inputs.push(reason);
    }

    /// Handles one raw record of input `file`; calls `on_event` with each sign-in.
    ///
    /// [`push_in_place`](Normalizer::push_in_place) is the cheaper form: this one hands
    /// over a new `SignIn` each time.
    pub fn push(&mut self, file: &str, raw: Raw<'_>, on_event: impl FnOnce(SignIn)) {
        self.push_in_place(file, raw, |ev| {
            on_event(std::mem::replace(ev, crate::common::blank()));
        });
    }

    /// Handles one raw record of input `file`; calls `on_event` with each sign-in, parsed
    /// into an event the normalizer keeps and reuses for the next record (its strings'
    /// heap buffers too), so that normalizing allocates nothing per record in steady
    /// state. The caller may modify the event (enrich it) or swap it with one of its own
    /// (`std::mem::swap`, which also hands the normalizer that event's buffers): every
    /// field is overwritten by the next record's.
    pub fn push_in_place(&mut self, file: &str, raw: Raw<'_>, on_event: impl FnOnce(&mut SignIn)) {
        let line = raw.line;
        let event = &mut self.event;
        let result = match raw.item {
            Item::Json(bytes) => {
                if self.format == Format::Csv {
                    Err(Error::CsvAsJson)
                } else {
                    parse_json_into(bytes, self.format, event, &mut self.warnings)
                }
            }
            Item::CsvHeader(header) => {
                self.columns = Some(Columns::new(header, &self.map));
                return;
            }
            Item::CsvRow(row) => match (&self.columns, self.format) {
                (Some(columns), Format::Auto | Format::Csv) => {
                    crate::csv::parse_into(row, columns, event, &mut self.warnings)
                        .map(|()| Filled::Event)
                }
                (None, _) => Err(Error::Malformed("CSV row before any header".into())),
                (Some(_), format) => Err(Error::Malformed(format!(
                    "a CSV file cannot be read as --format {format} (use --format csv or auto)"
                ))),
            },
            Item::Malformed(reason) => Err(Error::Malformed(reason.to_owned())),
        };
        let source = match &result {
            Ok(Filled::Event) => Some(event.source),
            Ok(Filled::Skipped(skip)) => Some(skip.source),
            Err(e) => e.source().or(self.format.source()).or(match raw.item {
                Item::CsvRow(_) => Some(Source::Csv),
                _ => None,
            }),
        };
        match result {
            Ok(Filled::Event) => {
                let c = self.stats.counts_mut(source);
                c.read += 1;
                c.parsed += 1;
                c.warnings += self.warnings.len() as u64;
                for w in self.warnings.drain(..) {
                    if self.stats.first_warnings.len() < Stats::KEEP {
                        self.stats.first_warnings.push(Reject {
                            file: file.to_owned(),
                            line,
                            reason: w.to_string(),
                        });
                    }
                }
                on_event(event);
            }
            Ok(Filled::Skipped(_)) => {
                self.warnings.clear();
                let c = self.stats.counts_mut(source);
                c.read += 1;
                c.skipped += 1;
            }
            Err(err) => {
                self.warnings.clear();
                let reject = || Reject {
                    file: file.to_owned(),
                    line,
                    reason: err.to_string(),
                };
                if let Some(all) = &mut self.all_rejects {
                    all.push(reject());
                }
                self.stats.reject(source, reject);
            }
        }
    }
}

/// The outcome of [`parse_body`].
#[derive(Debug, Default)]
pub struct Body {
    /// The sign-ins, in body order.
    pub events: Vec<SignIn>,
    /// Every rejected record, in body order.
    pub rejects: Vec<Reject>,
    /// Counts per format (its `first_rejects` holds only the first few).
    pub stats: Stats,
}

/// Parses a whole in-memory body: NDJSON, one JSON document, an array, a `value` /
/// `records` / `Records` wrapper or CSV, possibly gzipped. `name` labels the rejects.
///
/// # Errors
/// [`jetlag_read::Error`] when the body cannot be read at all (corrupt gzip, binary
/// data). Records before the corruption are lost in that case; bad records are never an
/// error.
///
/// # Example
/// ```
/// use jetlag_normalize::{Format, parse_body};
/// let body = br#"{"records":[
///   {"time":"2024-05-01T10:00:05Z","category":"SignInLogs","properties":{"id":"a1",
///    "createdDateTime":"2024-05-01T10:00:00Z","userPrincipalName":"Ann@contoso.com",
///    "ipAddress":"198.51.100.4","status":{"errorCode":50126}}},
///   {"time":"2024-05-01T10:00:06Z","category":"SignInLogs","properties":{"id":"a2"}}
/// ]}"#;
/// let out = parse_body("request", body, Format::Auto).unwrap();
/// assert_eq!(out.events.len(), 1);
/// assert_eq!(out.events[0].time.to_string(), "2024-05-01T10:00:00Z");
/// assert_eq!(out.rejects.len(), 1);
/// assert_eq!(out.rejects[0].to_string(), "request:5: entra: missing properties.userPrincipalName");
/// ```
pub fn parse_body(name: &str, body: &[u8], format: Format) -> Result<Body, jetlag_read::Error> {
    let mut n = Normalizer::new(format, CsvMap::default());
    n.all_rejects = Some(Vec::new());
    let mut events = Vec::new();
    jetlag_read::read_slice(name, body, |raw| {
        n.push(name, raw, |ev| events.push(ev));
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(Body {
        events,
        rejects: n.all_rejects.take().unwrap_or_default(),
        stats: n.take_stats(),
    })
}
