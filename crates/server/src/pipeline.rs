//! The one place the server meets the other stages: body → records → normalized sign-ins
//! (`jetlag-normalize`) → enriched sign-ins (`jetlag-enrich`), plus what the detection
//! engine is built from (`jetlag-detect`, `jetlag-roster`).
//!
//! Everything here is synchronous and runs on the request's task; the core only ever sees
//! enriched [`SignIn`]s, and the write-ahead log stores them enriched, so a replay after a
//! GeoIP reload gives the same results as the first run.

use std::io::Read;
use std::sync::Arc;

use jetlag_detect::DetectConfig;
use jetlag_enrich::Enricher;
use jetlag_event::{SignIn, Timestamp};
use jetlag_normalize::Format;
use jetlag_roster::Roster;
use serde::Serialize;

/// A record the server could not turn into an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    /// 1-based line of the (decoded) body where the record starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based number of the Splunk HEC event, for the HEC endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<usize>,
    /// The event id, for a record that parsed but was refused as a whole (dated too far
    /// ahead of the server's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Why it was refused, naming the field at fault.
    pub reason: String,
}

/// The sign-ins of one body and the records refused.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Events, in body order.
    pub events: Vec<SignIn>,
    /// Refused records.
    pub rejects: Vec<Reject>,
    /// Records of a known source that are not sign-ins (an Okta `user.lifecycle.create`, a
    /// CloudTrail `PutObject`): valid input, skipped and counted as `scan` does.
    pub skipped: usize,
}

impl Parsed {
    /// Moves every event dated after `not_after` to the rejects (see
    /// [`future_reason`]). `max_future_secs` is only quoted in the reason.
    pub fn refuse_after(&mut self, not_after: Timestamp, max_future_secs: u64) {
        if self.events.iter().all(|e| e.time <= not_after) {
            return;
        }
        let (keep, refuse): (Vec<SignIn>, Vec<SignIn>) = std::mem::take(&mut self.events)
            .into_iter()
            .partition(|e| e.time <= not_after);
        self.events = keep;
        for ev in refuse {
            self.rejects.push(Reject {
                line: None,
                event: None,
                event_id: Some(ev.event_id.to_string()),
                reason: future_reason(ev.time, max_future_secs),
            });
        }
    }
}

/// Why an event dated `time`, ahead of the server's clock by more than `max_future_secs`,
/// is refused.
pub fn future_reason(time: Timestamp, max_future_secs: u64) -> String {
    format!(
        "time {time} is more than {max_future_secs} s ahead of the server's clock \
         (server.max_future_secs): refused, as it would make every real sign-in late"
    )
}

/// The normalizer's reasons speak to the command line; over HTTP there is no `--format`.
fn http_reason(reason: String) -> String {
    const CLI_HINT: &str = " (try --format)";
    match reason.strip_suffix(CLI_HINT) {
        Some(r) => {
            format!("{r} (entra, okta, google, cloudtrail, ocsf, ecs, or csv with a header row)")
        }
        None => reason,
    }
}

/// Why a body was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Decoded, it would exceed the limit (bytes).
    TooLarge(usize),
    /// The gzip stream is corrupt.
    BadGzip(String),
    /// The (decoded) body is not text: binary data, or UTF-16 without its byte order mark.
    NotText(String),
    /// An unsupported `Content-Encoding`.
    UnsupportedEncoding(String),
}

/// Undoes `Content-Encoding: gzip` (also recognised by its magic bytes), never producing
/// more than `limit` bytes: a gzip bomb is refused, not inflated.
///
/// # Errors
/// [`BodyError`] when the result would exceed `limit`, the stream is corrupt or the
/// encoding is unsupported.
pub fn decode_body<'a>(
    body: &'a [u8],
    encoding: Option<&str>,
    limit: usize,
) -> Result<std::borrow::Cow<'a, [u8]>, BodyError> {
    let gzip = match encoding.map(str::trim) {
        None | Some("") | Some("identity") => body.starts_with(&[0x1f, 0x8b]),
        Some(e) if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") => true,
        Some(e) => return Err(BodyError::UnsupportedEncoding(e.to_owned())),
    };
    if !gzip {
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let mut decoder = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| BodyError::BadGzip(e.to_string()))?;
    if out.len() > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// What the server needs from the scan config: detection thresholds, roster, enrichment.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    /// Detection thresholds (`[detect.*]`).
    pub detect: DetectConfig,
    /// The HR roster (empty when none is configured).
    pub roster: Arc<Roster>,
    /// GeoIP / ASN / intel enrichment (`[enrich]`); `None` when nothing is configured.
    pub enricher: Option<Arc<Enricher>>,
}

impl Pipeline {
    /// Parses a decoded body in any format `jetlag scan` reads (NDJSON, one JSON document,
    /// an array, `records`/`value` wrappers, CSV) and enriches the events.
    ///
    /// # Errors
    /// When the body cannot be read at all (corrupt gzip inside, binary data).
    pub fn parse(&self, body: &[u8]) -> Result<Parsed, BodyError> {
        let out =
            jetlag_normalize::parse_body("body", body, Format::Auto).map_err(|e| match e {
                jetlag_read::Error::NotText { .. } => BodyError::NotText(e.to_string()),
                e => BodyError::BadGzip(e.to_string()),
            })?;
        let mut parsed = Parsed {
            events: out.events,
            rejects: out
                .rejects
                .into_iter()
                .map(|r| Reject {
                    line: Some(r.line),
                    event: None,
                    event_id: None,
                    reason: http_reason(r.reason),
                })
                .collect(),
            skipped: usize::try_from(out.stats.total().skipped).unwrap_or(usize::MAX),
        };
        self.enrich(&mut parsed.events);
        Ok(parsed)
    }

    /// Parses a body expected to hold one sign-in (`/v1/evaluate`): a lone JSON record goes
    /// straight to its vendor parser; anything else (a wrapper, NDJSON, CSV) through
    /// [`Pipeline::parse`].
    ///
    /// # Errors
    /// As [`Pipeline::parse`].
    pub fn parse_one(&self, body: &[u8]) -> Result<Parsed, BodyError> {
        if body.trim_ascii_start().starts_with(b"{") {
            let mut warnings = Vec::new();
            if let Ok(jetlag_normalize::Parsed::Event(mut ev)) =
                jetlag_normalize::parse_json(body.trim_ascii(), Format::Auto, &mut warnings)
            {
                if let Some(e) = &self.enricher {
                    e.enrich(&mut ev);
                }
                return Ok(Parsed {
                    events: vec![ev],
                    ..Parsed::default()
                });
            }
        }
        self.parse(body)
    }

    /// Parses one vendor record (a Splunk HEC `event`), numbered `n` in its request: an
    /// event, a reject, or a skipped record of a known source that is not a sign-in.
    pub fn parse_record(&self, n: usize, record: &[u8], out: &mut Parsed) {
        let mut warnings = Vec::new();
        match jetlag_normalize::parse_json(record, Format::Auto, &mut warnings) {
            Ok(jetlag_normalize::Parsed::Event(mut ev)) => {
                if let Some(e) = &self.enricher {
                    e.enrich(&mut ev);
                }
                out.events.push(ev);
            }
            Ok(jetlag_normalize::Parsed::Skipped(_)) => out.skipped += 1,
            Err(e) => out.rejects.push(Reject {
                line: None,
                event: Some(n),
                event_id: None,
                reason: http_reason(e.to_string()),
            }),
        }
    }

    /// Fills geo, ASN and network classes (the GeoIP cache fetched a few events ahead).
    pub fn enrich(&self, events: &mut [SignIn]) {
        if let Some(e) = &self.enricher {
            e.enrich_all(events);
        }
    }

    /// Re-reads the GeoIP databases and intel lists that changed on disk; returns how many
    /// files were re-read (0 without enrichment).
    ///
    /// # Errors
    /// What could not be loaded; the data loaded before stays in use.
    pub fn reload(&self) -> Result<usize, String> {
        match &self.enricher {
            Some(e) => e.reload().map_err(|e| e.to_string()),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// A request body is parsed on one of tokio's threads, whose stacks are 2 MiB: deeply
    /// nested JSON, as a batch line, a lone `/v1/evaluate` record or a HEC event, is
    /// rejected with its line, not a stack overflow that aborts the server.
    #[test]
    fn deeply_nested_json_in_a_body_is_rejected_not_a_crash() {
        const OKTA: &str = r#"{"uuid":"o1","published":"2024-05-01T10:00:00Z","eventType":"user.session.start","actor":{"alternateId":"a@x.com","type":"User"},"outcome":{"result":"SUCCESS"}}"#;
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let got = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let p = Pipeline::default();
                let batch = p.parse(format!("{OKTA}\n{deep}\n{OKTA}\n").as_bytes());
                let one = p.parse_one(deep.as_bytes());
                let mut hec = Parsed::default();
                p.parse_record(1, deep.as_bytes(), &mut hec);
                [batch.unwrap(), one.unwrap(), hec]
                    .map(|parsed| (parsed.events.len(), parsed.rejects))
            })
            .unwrap()
            .join()
            .unwrap();
        let reject = |line, event| Reject {
            line,
            event,
            event_id: None,
            reason: "JSON nested deeper than 128 levels".into(),
        };
        assert_eq!(
            got,
            [
                (2, vec![reject(Some(2), None)]),
                (0, vec![reject(Some(1), None)]),
                (0, vec![reject(None, Some(1))]),
            ]
        );
    }

    /// A binary body is refused whole with what it is, not read as CSV rows nor called a
    /// corrupt gzip stream; UTF-16 with its byte order mark is read.
    #[test]
    fn a_binary_body_is_refused_as_not_text_and_utf16_is_read() {
        let p = Pipeline::default();
        let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\n\x01\0\n".repeat(20);
        assert_eq!(
            p.parse(&elf).unwrap_err(),
            BodyError::NotText(
                "cannot read body: binary data (a NUL byte on line 1), not NDJSON, JSON or CSV"
                    .into()
            )
        );
        let okta = r#"{"uuid":"o1","published":"2024-05-01T10:00:00Z","eventType":"user.session.start","actor":{"alternateId":"a@x.com","type":"User"},"outcome":{"result":"SUCCESS"}}"#;
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in format!("{okta}\r\n").encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        let parsed = p.parse(&utf16).unwrap();
        assert_eq!((parsed.events.len(), parsed.rejects.len()), (1, 0));
    }

    #[test]
    fn gzip_is_decoded_within_the_limit_and_bombs_are_refused() {
        let plain = b"{\"a\":1}\n".repeat(100);
        let gz = gzip(&plain);
        assert_eq!(
            decode_body(&gz, Some("gzip"), 1 << 20).unwrap().as_ref(),
            &plain[..]
        );
        // Recognised by magic bytes without the header, too.
        assert_eq!(
            decode_body(&gz, None, 1 << 20).unwrap().as_ref(),
            &plain[..]
        );
        assert_eq!(
            decode_body(&gz, Some("gzip"), 100),
            Err(BodyError::TooLarge(100))
        );
        assert!(matches!(
            decode_body(&gz[..10], Some("gzip"), 1 << 20),
            Err(BodyError::BadGzip(_))
        ));
        assert!(matches!(
            decode_body(b"x", Some("br"), 10),
            Err(BodyError::UnsupportedEncoding(_))
        ));
        assert_eq!(decode_body(b"plain", None, 1).unwrap().as_ref(), b"plain");
    }
}
