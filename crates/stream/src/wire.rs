//! What travels on the internal topics: enriched events (the normalized-event JSON of the
//! contract, so `kcat` shows them readably) and watermarks; and on the population topic,
//! each `by-user` partition's population figures per finished epoch.
//!
//! A record's first byte says which: `E` then the event's JSON, or `W` then a
//! [`Watermark`] (postcard). Watermarks go to every partition of every internal topic, so
//! each partition knows how far in event time every input partition has got. A population
//! record is `P` then a [`PopulationRecord`] (postcard).

use jetlag_detect::population::Figures;
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

/// "`by-user` partition `source` of `of` has published all its population contributions
/// of the epochs before `to`; here are those of the epochs from `from`": the records of one
/// source tile its epochs, so a reader that holds the source's epochs up to some frontier
/// takes from a record only the epochs at or after it (a replay after a takeover may cut
/// the same epochs into other records, never change an epoch's figures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationRecord {
    /// The publishing `by-user` partition.
    pub source: u32,
    /// How many `by-user` partitions there are.
    pub of: u32,
    /// First epoch the record covers (the source's previous frontier).
    pub from: i64,
    /// The source's new frontier: every contribution of epochs before it is published.
    pub to: i64,
    /// Contributions by epoch (epochs without any are left out).
    pub epochs: Vec<(i64, Figures)>,
}

/// Encodes a population record.
///
/// # Errors
/// [`Error::Encode`] if the encoder fails.
pub fn encode_population(rec: &PopulationRecord) -> Result<Vec<u8>, Error> {
    let mut v = vec![b'P'];
    v.extend(postcard::to_stdvec(rec).map_err(|e| Error::Encode(e.to_string()))?);
    Ok(v)
}

/// Decodes a population record.
///
/// # Errors
/// [`Error::Record`] naming what is wrong.
pub fn decode_population(bytes: &[u8]) -> Result<PopulationRecord, Error> {
    match bytes.split_first() {
        Some((b'P', bin)) => postcard::from_bytes(bin)
            .map_err(|e| Error::Record(format!("bad population record: {e}"))),
        Some((tag, _)) => Err(Error::Record(format!(
            "unknown population record tag {tag:#04x}"
        ))),
        None => Err(Error::Record("empty record".to_owned())),
    }
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
        for bad in [
            &b""[..],
            b"E",
            b"P",
            b"P\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        ] {
            assert!(decode_population(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn population_records_round_trip() {
        let mut f = Figures {
            signins: 7,
            ..Figures::default()
        };
        f.feature_counts[1].insert(64_500, 7);
        let rec = PopulationRecord {
            source: 2,
            of: 4,
            from: i64::MIN,
            to: 483_000,
            epochs: vec![(482_999, f)],
        };
        assert_eq!(
            decode_population(&encode_population(&rec).unwrap()).unwrap(),
            rec
        );
    }
}
