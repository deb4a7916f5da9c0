//! JSON documents: arrays, wrappers (`value`, `records`, `Records`) and plain records.

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::{Flow, Item, Raw, go};

/// The wrappers vendors put around a batch of records.
#[derive(Deserialize)]
struct Wrapper<'a> {
    /// Microsoft Graph page.
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    /// Azure diagnostic settings / Event Hub batch.
    #[serde(borrow, default)]
    records: Option<&'a RawValue>,
    /// CloudTrail log file.
    #[serde(borrow, default, rename = "Records")]
    cloudtrail: Option<&'a RawValue>,
    /// Google Admin SDK Reports API page.
    #[serde(borrow, default)]
    items: Option<&'a RawValue>,
}

/// If `bytes` is a wrapper object, the raw array it wraps.
fn wrapped(bytes: &[u8]) -> Option<&RawValue> {
    let w: Wrapper<'_> = serde_json::from_slice(bytes).ok()?;
    [w.value, w.records, w.cloudtrail, w.items]
        .into_iter()
        .flatten()
        .find(|raw| raw.get().starts_with('['))
}

/// The keys of [`Wrapper`], quoted as they appear in the JSON text.
const WRAPPER_KEYS: [&[u8]; 4] = [b"\"value\"", b"\"records\"", b"\"Records\"", b"\"items\""];

/// Cheap test before trying [`wrapped`]: does a wrapper key followed by an array occur in
/// the first 4 KiB? (A Google parameter's `"value": "x"` does not count.)
///
/// Every `[` in the head is looked at from behind: whitespace, `:`, whitespace, then a
/// wrapper key. One `memchr` pass that builds nothing; a sign-in record has few `[` (many
/// have none), where searching for each of the four keys built a substring finder per
/// key and line (1.6 % of a whole `scan` profile).
fn may_be_wrapper(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    memchr::memchr_iter(b'[', head).any(|at| {
        head[..at]
            .trim_ascii_end()
            .strip_suffix(b":")
            .map(<[u8]>::trim_ascii_end)
            .is_some_and(|before| WRAPPER_KEYS.iter().any(|key| before.ends_with(key)))
    })
}

/// One NDJSON line: a record, or a wrapper whose elements are records.
pub(crate) fn record_or_wrapper(
    bytes: &[u8],
    line: u64,
    f: &mut impl FnMut(Raw<'_>) -> Flow,
) -> Flow {
    if may_be_wrapper(bytes)
        && let Some(array) = wrapped(bytes)
    {
        return elements(array.get().as_bytes(), bytes, line, f);
    }
    f(Raw {
        line,
        item: Item::Json(bytes),
    })
}

/// Collects array elements into a vector it does not own, so that the elements parsed
/// before a syntax error survive the error.
struct Collect<'v, 'a>(&'v mut Vec<&'a RawValue>);

impl<'de, 'v> DeserializeSeed<'de> for Collect<'v, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, 'v> Visitor<'de> for Collect<'v, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            self.0.push(raw);
        }
        Ok(())
    }
}

/// Counts lines from a base position forward (positions must not go backwards).
struct Lines<'a> {
    base: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(base: &'a [u8], line: u64) -> Self {
        Lines { base, pos: 0, line }
    }
    /// The line of the byte at `offset` in `base`.
    fn at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.base.len());
        if offset > self.pos {
            self.line += memchr::memchr_iter(b'\n', &self.base[self.pos..offset]).count() as u64;
            self.pos = offset;
        }
        self.line
    }
    /// Offset of `part` inside `base` (it must be a sub-slice).
    fn offset_of(&self, part: &[u8]) -> usize {
        (part.as_ptr() as usize).saturating_sub(self.base.as_ptr() as usize)
    }
}

/// Delivers the elements of the JSON array `array`, a sub-slice of `base`; the first byte
/// of `base` is on line `line`.
fn elements(array: &[u8], base: &[u8], line: u64, f: &mut impl FnMut(Raw<'_>) -> Flow) -> Flow {
    let mut lines = Lines::new(base, line);
    let mut items = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(array);
    let result = Collect(&mut items).deserialize(&mut de);
    for raw in &items {
        let at = lines.at(lines.offset_of(raw.get().as_bytes()));
        go!(f(Raw {
            line: at,
            item: Item::Json(raw.get().as_bytes()),
        }));
    }
    if let Err(err) = result {
        let start = lines.offset_of(array);
        let err_line = line_of_error(&err, base, start, line);
        let reason = format!("broken JSON array, the rest of it is lost: {err}");
        return f(Raw {
            line: err_line,
            item: Item::Malformed(&reason),
        });
    }
    Flow::Continue(())
}

/// The absolute line of a serde_json error raised while parsing `base[start..]`.
fn line_of_error(err: &serde_json::Error, base: &[u8], start: usize, line: u64) -> u64 {
    let before = memchr::memchr_iter(b'\n', &base[..start.min(base.len())]).count() as u64;
    line + before + (err.line() as u64).saturating_sub(1)
}

/// One or more JSON documents held in memory; the first byte of `buf` is on line `line`.
pub(crate) fn documents(buf: &[u8], line: u64, f: &mut impl FnMut(Raw<'_>) -> Flow) -> Flow {
    let start = buf
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(buf.len());
    if buf[start..].starts_with(b"[") {
        // One array: its elements are parsed one by one, so a broken tail only loses
        // the elements after the break.
        return elements(&buf[start..], buf, line, f);
    }
    let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<&RawValue>();
    let mut lines = Lines::new(buf, line);
    loop {
        match stream.next() {
            None => return Flow::Continue(()),
            Some(Ok(raw)) => {
                let bytes = raw.get().as_bytes();
                let at = lines.at(lines.offset_of(bytes));
                if bytes.starts_with(b"[") {
                    go!(elements(bytes, buf, line, f));
                } else if bytes.starts_with(b"{")
                    && let Some(array) = wrapped(bytes)
                {
                    go!(elements(array.get().as_bytes(), buf, line, f));
                } else {
                    go!(f(Raw {
                        line: at,
                        item: Item::Json(bytes),
                    }));
                }
            }
            Some(Err(err)) => {
                let reason = format!("broken JSON document, the rest of the input is lost: {err}");
                return f(Raw {
                    line: line + (err.line() as u64).saturating_sub(1),
                    item: Item::Malformed(&reason),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test as first written: a substring search per key.
    fn reference(bytes: &[u8]) -> bool {
        let head = &bytes[..bytes.len().min(4096)];
        WRAPPER_KEYS.iter().any(|key| {
            memchr::memmem::find_iter(head, key).any(|at| {
                let rest = head[at + key.len()..].trim_ascii_start();
                rest.strip_prefix(b":")
                    .is_some_and(|r| r.trim_ascii_start().starts_with(b"["))
            })
        })
    }

    #[test]
    fn wrapper_test_agrees_with_the_key_search() {
        let cases: &[&[u8]] = &[
            br#"{"value":[{"id":1}]}"#,
            b"{\"records\" \t:\r\n [ ]}",
            br#"{"Records":[]}"#,
            br#"{"items": []}"#,
            br#"{"value":"x","a":[1]}"#,
            br#"{"events":[{"parameters":[{"name":"n","value":"x"}]}]}"#,
            br#"{"xvalue":[1]}"#,
            br#"{"value":{"a":[1]}}"#,
            br#"["value"]"#,
            br#"{"a":"\"value\":[","b":1}"#,
            b"[",
            b"",
            br#":["#,
            br#""value"  :  ["#,
        ];
        for case in cases {
            assert_eq!(
                may_be_wrapper(case),
                reference(case),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        assert!(may_be_wrapper(br#"{"value":[{"id":1}]}"#));
        assert!(!may_be_wrapper(br#"{"value":"x","a":[1]}"#));
        // Only the first 4 KiB are looked at, by both.
        let mut long = vec![b' '; 5000];
        long.extend_from_slice(br#""value":[1]"#);
        assert!(!may_be_wrapper(&long));
        long.drain(..1000);
        assert!(may_be_wrapper(&long) && reference(&long));
    }

    #[test]
    fn wrapper_test_agrees_on_every_cut_of_a_record() {
        let record = br#"{"actor":{"id":"a","type":"User"},"value" : [1, {"records":[]}], "target":[{"items":["x"]}],"items"  :[ ]}"#;
        for end in 0..=record.len() {
            for start in 0..end.min(12) {
                let part = &record[start..end];
                assert_eq!(may_be_wrapper(part), reference(part), "{start}..{end}");
            }
        }
    }
}
