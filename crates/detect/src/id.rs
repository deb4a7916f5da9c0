//! Event ids held compactly in detector state.
//!
//! Most vendors' event ids are UUIDs (Entra `id`, Okta `uuid`, CloudTrail `eventID`): 36
//! characters, too long for a [`CompactString`]'s 24 inline bytes, so each one kept in
//! state costs a heap allocation. [`CompactId`] holds a canonical UUID as its 16 bytes
//! (and remembers the case it was written in), anything else as a `CompactString`: 24
//! bytes, no allocation for UUIDs and ids up to 24 bytes, and the exact text back.

use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// An event id: a UUID in 16 bytes, any other id as text. Always gives back the exact
/// text it was made from ([`CompactId::text`], `Display`).
///
/// # Example
/// ```
/// use jetlag_detect::CompactId;
/// let id = CompactId::new("0231f922-93fa-4005-bb11-b344eca03c01");
/// assert!(id.is("0231f922-93fa-4005-bb11-b344eca03c01"));
/// assert!(!id.is("0231F922-93FA-4005-BB11-B344ECA03C01"));
/// assert_eq!(id.to_string(), "0231f922-93fa-4005-bb11-b344eca03c01");
/// assert_eq!(CompactId::new("AbC-123").to_string(), "AbC-123");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CompactId(Repr);

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum Repr {
    /// A UUID written in lower-case hex, 8-4-4-4-12.
    Lower([u8; 16]),
    /// A UUID written in upper-case hex, 8-4-4-4-12.
    Upper([u8; 16]),
    /// Anything else.
    Text(CompactString),
}

impl Default for CompactId {
    fn default() -> CompactId {
        CompactId(Repr::Text(CompactString::default()))
    }
}

/// Where the dashes of a canonical UUID are.
const DASHES: [usize; 4] = [8, 13, 18, 23];

fn nibble(b: u8) -> Option<(u8, Option<bool>)> {
    match b {
        b'0'..=b'9' => Some((b - b'0', None)),
        b'a'..=b'f' => Some((b - b'a' + 10, Some(false))),
        b'A'..=b'F' => Some((b - b'A' + 10, Some(true))),
        _ => None,
    }
}

/// The bytes of a canonical UUID and whether its letters are upper case; `None` for
/// anything else (including mixed case, which would not come back the same).
fn parse_uuid(s: &str) -> Option<([u8; 16], bool)> {
    let s = s.as_bytes();
    if s.len() != 36 || DASHES.iter().any(|&i| s[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut upper: Option<bool> = None;
    let mut n = 0;
    for (i, &b) in s.iter().enumerate() {
        if DASHES.contains(&i) {
            continue;
        }
        let (v, case) = nibble(b)?;
        if let Some(c) = case {
            if upper.is_some_and(|u| u != c) {
                return None;
            }
            upper = Some(c);
        }
        out[n / 2] |= if n % 2 == 0 { v << 4 } else { v };
        n += 1;
    }
    Some((out, upper.unwrap_or(false)))
}

/// Writes a UUID's text into `buf`.
fn format_uuid<'a>(bytes: &[u8; 16], upper: bool, buf: &'a mut [u8; 36]) -> &'a str {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut n = 0;
    for (i, slot) in buf.iter_mut().enumerate() {
        if DASHES.contains(&i) {
            *slot = b'-';
            continue;
        }
        let b = bytes[n / 2];
        *slot = digits[usize::from(if n % 2 == 0 { b >> 4 } else { b & 15 })];
        n += 1;
    }
    // Only ASCII hex digits and dashes were written.
    std::str::from_utf8(buf).unwrap_or_default()
}

impl CompactId {
    /// The compact form of `id`.
    pub fn new(id: &str) -> CompactId {
        match parse_uuid(id) {
            Some((b, false)) => CompactId(Repr::Lower(b)),
            Some((b, true)) => CompactId(Repr::Upper(b)),
            None => CompactId(Repr::Text(CompactString::from(id))),
        }
    }

    /// Makes this the id `id`, reusing a text buffer it already has.
    pub fn set(&mut self, id: &str) {
        match (parse_uuid(id), &mut self.0) {
            (Some((b, false)), r) => *r = Repr::Lower(b),
            (Some((b, true)), r) => *r = Repr::Upper(b),
            (None, Repr::Text(t)) => {
                t.clear();
                t.push_str(id);
            }
            (None, r) => *r = Repr::Text(CompactString::from(id)),
        }
    }

    /// Whether this is the id `id` (no allocation).
    pub fn is(&self, id: &str) -> bool {
        let mut buf = [0u8; 36];
        self.text(&mut buf) == id
    }

    /// The id's text, written into `buf` when it is a UUID.
    pub fn text<'a>(&'a self, buf: &'a mut [u8; 36]) -> &'a str {
        match &self.0 {
            Repr::Lower(b) => format_uuid(b, false, buf),
            Repr::Upper(b) => format_uuid(b, true, buf),
            Repr::Text(t) => t.as_str(),
        }
    }
}

impl fmt::Display for CompactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 36];
        f.write_str(self.text(&mut buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_comes_back_exactly() {
        for id in [
            "0231f922-93fa-4005-bb11-b344eca03c01",
            "0231F922-93FA-4005-BB11-B344ECA03C01",
            "0231f922-93FA-4005-bb11-b344eca03c01", // mixed case: kept as text
            "00000000-0000-0000-0000-000000000000",
            "0231f922-93fa-4005-bb11-b344eca03c0g", // not hex
            "0231f92293fa-4005-bb11-b344eca03c01-",
            "0e8ba3997bc0b940",
            "AbC-123-XyZ",
            "",
            "ünïcödé-ïd-thät-ïs-löngér-thän-24-bytés",
        ] {
            let c = CompactId::new(id);
            assert_eq!(c.to_string(), id);
            assert!(c.is(id), "{id}");
            let mut reused = CompactId::new("a-much-longer-text-id-that-is-on-the-heap");
            reused.set(id);
            assert_eq!(reused, c, "{id}");
            let bytes = postcard::to_stdvec(&c).unwrap();
            assert_eq!(postcard::from_bytes::<CompactId>(&bytes).unwrap(), c);
        }
        assert!(!CompactId::new("0231f922-93fa-4005-bb11-b344eca03c01").is("0231f922"));
        assert_eq!(std::mem::size_of::<CompactId>(), 24);
    }
}
