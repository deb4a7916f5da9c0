//! What travels on the internal topics: enriched events (the normalized-event JSON of the
//! contract, so `kcat` shows them readably) and watermarks.
//!
//! A record's first byte says which: `E` then the event's JSON, or `W` then a
//! [`Watermark`] (postcard). Watermarks go to every partition of every internal topic, so
//! each partition knows how far in event time every input partition has got.

use jetlag_event::SignIn;
use serde::{Deserialize, Serialize};

use crate::Error;

/// "Input partition `up` of `of` will send nothing earlier than `until_ns`" (nanoseconds
/// since the Unix epoch; `i64::MAX` once it has ended, in drain mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// Index of the input partition across all input topics.
    pub up: u32,
    /// How many input partitions there are.
    pub of: u32,
    /// Event time before which the input partition sends nothing more.
    pub until_ns: i64,
}

/// A decoded internal record.
#[derive(Debug)]
pub enum Record {
    /// An enriched sign-in.
    Event(Box<SignIn>),
    /// An input partition's progress.
    Watermark(Watermark),
}

/// Encodes an event record.
///
/// # Errors
/// [`Error::Encode`] if the event cannot be encoded (never for a well-formed event).
pub fn encode_event(ev: &SignIn, buf: &mut Vec<u8>) -> Result<(), Error> {
    buf.clear();
    buf.push(b'E');
    serde_json::to_writer(&mut *buf, ev).map_err(|e| Error::Encode(e.to_string()))
}

/// Encodes a watermark record.
pub fn encode_watermark(wm: Watermark) -> Vec<u8> {
    let mut v = vec![b'W'];
    // A struct of three integers always encodes.
    v.extend(postcard::to_stdvec(&wm).unwrap_or_default());
    v
}

/// Decodes an internal record.
///
/// # Errors
/// [`Error::Record`] naming what is wrong.
pub fn decode(bytes: &[u8]) -> Result<Record, Error> {
    match bytes.split_first() {
        Some((b'E', json)) => serde_json::from_slice(json)
            .map(|ev| Record::Event(Box::new(ev)))
            .map_err(|e| Error::Record(format!("bad event: {e}"))),
        Some((b'W', bin)) => postcard::from_bytes(bin)
            .map(Record::Watermark)
            .map_err(|e| Error::Record(format!("bad watermark: {e}"))),
        Some((tag, _)) => Err(Error::Record(format!("unknown record tag {tag:#04x}"))),
        None => Err(Error::Record("empty record".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetlag_event::{Outcome, Source};

    #[test]
    fn round_trips() {
        let mut ev = SignIn::new(
            "e1",
            "2025-03-01T12:00:00Z".parse().unwrap(),
            Source::Entra,
            "ann@example.com",
            Outcome::Success,
        );
        ev.ip = Some("198.51.100.7".parse().unwrap());
        let mut buf = Vec::new();
        encode_event(&ev, &mut buf).unwrap();
        match decode(&buf).unwrap() {
            Record::Event(back) => assert_eq!(*back, ev),
            other => panic!("{other:?}"),
        }
        let wm = Watermark {
            up: 3,
            of: 8,
            until_ns: i64::MAX,
        };
        match decode(&encode_watermark(wm)).unwrap() {
            Record::Watermark(back) => assert_eq!(back, wm),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"X", b"E{", b"W\xff\xff\xff\xff\xff\xff"] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
