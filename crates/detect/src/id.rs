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

/// Positions of the 32 hex digits of a canonical UUID, two per byte.
const DIGITS: [usize; 32] = {
    let mut out = [0; 32];
    let (mut i, mut n) = (0, 0);
    while i < 36 {
        if i != 8 && i != 13 && i != 18 && i != 23 {
            out[n] = i;
            n += 1;
        }
        i += 1;
    }
    out
};

/// [`HEX`] flag: a lower-case letter.
const LOWER: u8 = 0x20;
/// [`HEX`] flag: an upper-case letter.
const UPPER: u8 = 0x40;
/// [`HEX`] flag: not a hex digit.
const BAD: u8 = 0x80;

/// Each byte's hex value (low 4 bits) with [`LOWER`], [`UPPER`] or [`BAD`].
static HEX: [u8; 256] = {
    let mut t = [BAD; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = (10 + i as u8) | LOWER;
        t[b'A' as usize + i] = (10 + i as u8) | UPPER;
        i += 1;
    }
    t
};

/// The bytes of a canonical UUID and whether its letters are upper case; `None` for
/// anything else (including mixed case, which would not come back the same). One table
/// look-up per digit, no branch per digit: this runs for most events.
fn parse_uuid(s: &str) -> Option<([u8; 16], bool)> {
    let s: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if s[8] != b'-' || s[13] != b'-' || s[18] != b'-' || s[23] != b'-' {
        return None;
    }
    let mut out = [0u8; 16];
    let mut flags = 0u8;
    for (k, byte) in out.iter_mut().enumerate() {
        let hi = HEX[usize::from(s[DIGITS[2 * k]])];
        let lo = HEX[usize::from(s[DIGITS[2 * k + 1]])];
        flags |= hi | lo;
        *byte = (hi << 4) | (lo & 15);
    }
    if flags & BAD != 0 || flags & (LOWER | UPPER) == LOWER | UPPER {
        return None;
    }
    Some((out, flags & UPPER != 0))
}

/// Writes a UUID's text into `buf`.
fn format_uuid<'a>(bytes: &[u8; 16], upper: bool, buf: &'a mut [u8; 36]) -> &'a str {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    for i in DASHES {
        buf[i] = b'-';
    }
    for (k, &b) in bytes.iter().enumerate() {
        buf[DIGITS[2 * k]] = digits[usize::from(b >> 4)];
        buf[DIGITS[2 * k + 1]] = digits[usize::from(b & 15)];
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

    /// A UUID's 16 bytes and whether it is written in upper case; `None` for any other id
    /// (for state that keeps UUIDs in 16 bytes and other ids elsewhere).
    pub fn uuid(&self) -> Option<([u8; 16], bool)> {
        match &self.0 {
            Repr::Lower(b) => Some((*b, false)),
            Repr::Upper(b) => Some((*b, true)),
            Repr::Text(_) => None,
        }
    }

    /// The id of a UUID given as its 16 bytes, written in upper case if `upper` (what
    /// [`CompactId::new`] makes of its text).
    pub fn from_uuid(bytes: [u8; 16], upper: bool) -> CompactId {
        CompactId(if upper {
            Repr::Upper(bytes)
        } else {
            Repr::Lower(bytes)
        })
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
            if let Some((b, upper)) = c.uuid() {
                assert_eq!(CompactId::from_uuid(b, upper), c, "{id}");
            }
            let bytes = postcard::to_stdvec(&c).unwrap();
            assert_eq!(postcard::from_bytes::<CompactId>(&bytes).unwrap(), c);
        }
        assert!(!CompactId::new("0231f922-93fa-4005-bb11-b344eca03c01").is("0231f922"));
        assert_eq!(std::mem::size_of::<CompactId>(), 24);
    }
}
