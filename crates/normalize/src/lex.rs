//! A strict JSON cursor for a vendor's hand-written fast path.
//!
//! It walks one record's text where it lies: keys and plain strings come back as slices of
//! the record, plain integers, floats and flag strings are read in place, and every other
//! value is skipped — and checked — without being built. The vendors' walks share their
//! field readers here ([`once`], [`by_bit`], [`field`], [`only`], [`flag`], [`lat_lon`]). It is
//! stricter than sonic-rs on purpose: whatever it is not sure of (an escaped key, a `\u`
//! surrogate, nesting deeper than [`MAX_DEPTH`], a control character in a string, a number
//! outside the JSON grammar, any byte that is not JSON whitespace between tokens) makes it
//! answer `None`, and the vendor then decodes the record with serde, whose result — or
//! error, word for word — stands. A record it accepts is therefore one that serde accepts
//! too, and the values it reads are the ones serde reads: a value it does not read itself
//! ([`Cursor::serde`]) is handed to serde (`common::decode`) as its own slice of the record.

use serde::Deserialize;

use crate::Error;
use crate::common::{Flag, Num, Str};
use crate::number::json_f64;

/// How deep [`Cursor::skip`] follows nested arrays and objects before it gives up.
pub(crate) const MAX_DEPTH: u32 = 64;

/// A position in one record's text (valid UTF-8, checked by the caller).
pub(crate) struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

/// Among eight bytes, the quotes and the other bytes a string must stop at (`\\`, below
/// `0x20`), each as the high bit of its byte. Only the lowest flag of the two together is
/// exact (a borrow can flag bytes above it, which are never looked at).
#[inline(always)]
fn specials(x: u64) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    (
        zero(x ^ (ONES * u64::from(b'"'))),
        zero(x ^ (ONES * u64::from(b'\\'))) | (x.wrapping_sub(ONES * 0x20) & !x & HIGH),
    )
}

/// Sixteen bytes at a time with SSE2, which every x86-64 CPU has.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// The position, from `at`, of the first byte a string must stop at (`"`, `\\`,
    /// below `0x20`), or of the first of the last fewer-than-16 bytes if none comes before
    /// them.
    #[inline(always)]
    pub(super) fn plain_run(b: &[u8], mut at: usize) -> usize {
        // SAFETY: the module is compiled only where SSE2 is enabled (every x86-64 target),
        // which is all these intrinsics require; `chunk` has the 16 bytes the unaligned
        // load reads.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let control = _mm_set1_epi8(0x1f);
            while let Some(chunk) = b.get(at..at + 16) {
                let x = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
                let stops = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                    // A byte at most 0x1f is its own minimum with 0x1f.
                    _mm_cmpeq_epi8(_mm_min_epu8(x, control), x),
                );
                let mask = _mm_movemask_epi8(stops) as u32;
                if mask != 0 {
                    return at + mask.trailing_zeros() as usize;
                }
                at += 16;
            }
        }
        at
    }
}

/// The value of four hex digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0u32, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor { text, at: 0 }
    }

    /// A cursor at the start of a vendor's record, if it is UTF-8.
    pub(crate) fn of_record(record: &'a [u8]) -> Option<Self> {
        simdutf8::basic::from_utf8(record).ok().map(Self::new)
    }

    /// The next byte after any JSON whitespace (which is passed over).
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let b = self.text.as_bytes();
        while let Some(&c) = b.get(self.at) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(c);
            }
            self.at += 1;
        }
        None
    }

    /// Passes over `c` (after whitespace); `None` when something else comes.
    #[inline]
    pub(crate) fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? != c {
            return None;
        }
        self.at += 1;
        Some(())
    }

    /// Only whitespace is left (what `sonic_rs::Deserializer::end` accepts).
    pub(crate) fn end(&mut self) -> Option<()> {
        self.peek().is_none().then_some(())
    }

    /// Passes over a string's body from just after its opening quote to just after its
    /// closing one; `Some(true)` when it has escapes.
    #[inline(always)]
    fn string_body(&mut self) -> Option<bool> {
        let b = self.text.as_bytes();
        let mut escaped = false;
        loop {
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            {
                self.at = sse2::plain_run(b, self.at);
                if b.get(self.at) == Some(&b'"') {
                    self.at += 1;
                    return Some(escaped);
                }
            }
            while let Some(chunk) = b.get(self.at..self.at + 8) {
                let (quotes, others) = specials(u64::from_le_bytes(chunk.try_into().ok()?));
                let flags = quotes | others;
                if flags != 0 {
                    self.at += (flags.trailing_zeros() / 8) as usize;
                    // The usual end: a quote before any other special byte.
                    if quotes & flags.wrapping_neg() & flags != 0 {
                        self.at += 1;
                        return Some(escaped);
                    }
                    break;
                }
                self.at += 8;
            }
            match *b.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(escaped);
                }
                b'\\' => {
                    escaped = true;
                    match *b.get(self.at + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                        b'u' => {
                            let code = hex4(b.get(self.at + 2..self.at + 6)?)?;
                            if (0xd800..0xe000).contains(&code) {
                                return None;
                            }
                            self.at += 6;
                        }
                        _ => return None,
                    }
                }
                0..0x20 => return None,
                _ => self.at += 1,
            }
        }
    }

    /// A string without escapes (after whitespace), as the slice of the record between its
    /// quotes; `None` for anything else, an escaped string included.
    #[inline(always)]
    pub(crate) fn plain(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        if self.string_body()? {
            return None;
        }
        self.text.get(start..self.at - 1)
    }

    /// `null` (after whitespace).
    fn null(&mut self) -> Option<()> {
        self.peek()?;
        let lit = self.text.as_bytes().get(self.at..self.at + 4)?;
        (lit == b"null").then(|| self.at += 4)
    }

    /// An object's members (after whitespace): `member` is called with each key and must
    /// pass over its value. Keys with escapes are declined (serde reads them unescaped).
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.plain()?;
            self.eat(b':')?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array's elements (after whitespace): `element` is called at each one and must pass
    /// over it.
    pub(crate) fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An optional struct: an object is walked by `members` into a default `T`, `null` is
    /// `None`, and anything else goes to serde (which may accept an array for a struct).
    pub(crate) fn opt_struct<T: Default + Deserialize<'a>>(
        &mut self,
        members: impl FnOnce(&mut Self, &mut T) -> Option<()>,
    ) -> Option<Option<T>> {
        match self.peek()? {
            b'{' => {
                let mut t = T::default();
                members(self, &mut t)?;
                Some(Some(t))
            }
            b'n' => self.null().map(|()| None),
            _ => self.serde(),
        }
    }

    /// An optional string as serde reads an `Option<Str>`: a plain string borrowed, `null`
    /// as `None`, anything else (an escaped string, a wrong type) through serde.
    #[inline]
    pub(crate) fn opt_str<T: Deserialize<'a>>(
        &mut self,
        borrowed: impl FnOnce(&'a str) -> T,
    ) -> Option<Option<T>> {
        match self.peek()? {
            b'"' => {
                let start = self.at;
                match self.plain() {
                    Some(s) => Some(Some(borrowed(s))),
                    None => {
                        self.at = start;
                        self.serde()
                    }
                }
            }
            b'n' => self.null().map(|()| None),
            _ => self.serde(),
        }
    }

    /// An optional coordinate as serde reads one (`number::opt_f64`): a number is read
    /// where it lies by the same [`json_f64`] (±∞ beyond `f64`'s range), `null` is `None`,
    /// anything else goes to serde.
    pub(crate) fn opt_f64(&mut self) -> Option<Option<f64>> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                self.number()?;
                Some(Some(json_f64(self.text.get(start..self.at)?)))
            }
            b'n' => self.null().map(|()| None),
            _ => self.serde(),
        }
    }

    /// An optional [`Num`] as serde reads an `Option<Num>`: a number is read where it lies
    /// by the same [`Num::of_json`], `null` is `None`, and anything else — a string, a
    /// wrong type — goes to serde.
    pub(crate) fn opt_num(&mut self) -> Option<Option<Num>> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                self.number()?;
                Some(Some(Num::of_json(self.text.get(start..self.at)?)))
            }
            b'n' => self.null().map(|()| None),
            _ => self.serde(),
        }
    }

    /// An optional [`Flag`] as serde reads an `Option<Flag>`: a plain string (`"Yes"`,
    /// `"true"`) read where it lies as `Flag`'s `Deserialize` reads it, `null` as `None`,
    /// anything else (a boolean, a number, an escaped string) through serde.
    pub(crate) fn opt_flag(&mut self) -> Option<Option<Flag>> {
        self.opt_str(|s| Flag(crate::common::parse_bool(s)))
    }

    /// The next value (after whitespace) decoded by serde from its own slice of the record.
    pub(crate) fn serde<T: Deserialize<'a>>(&mut self) -> Option<T> {
        self.peek()?;
        let start = self.at;
        self.skip()?;
        crate::common::decode_walked(self.text.get(start..self.at)?.as_bytes()).ok()
    }

    /// Passes over one value (after whitespace), checking it.
    pub(crate) fn skip(&mut self) -> Option<()> {
        self.skip_at(0)
    }

    fn skip_at(&mut self, depth: u32) -> Option<()> {
        let b = self.text.as_bytes();
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.string_body().map(drop)
            }
            b'{' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.object(|c, _| c.skip_at(depth + 1))
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.at += 1;
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip_at(depth + 1)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            c => {
                let lit: &[u8] = match c {
                    b't' => b"true",
                    b'f' => b"false",
                    b'n' => b"null",
                    _ => return None,
                };
                (b.get(self.at..self.at + lit.len())? == lit).then(|| self.at += lit.len())
            }
        }
    }

    /// A number in the JSON grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    /// What follows is the caller's to check (a `,`, `}`, `]`, whitespace or the end).
    fn number(&mut self) -> Option<()> {
        let b = self.text.as_bytes();
        let digits = |at: &mut usize| {
            let start = *at;
            while b.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            (*at > start).then_some(())
        };
        let mut at = self.at;
        if b.get(at) == Some(&b'-') {
            at += 1;
        }
        if b.get(at) == Some(&b'0') {
            at += 1;
        } else {
            digits(&mut at)?;
        }
        if b.get(at) == Some(&b'.') {
            at += 1;
            digits(&mut at)?;
        }
        if matches!(b.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(b.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            digits(&mut at)?;
        }
        self.at = at;
        Some(())
    }
}

/// Marks `bit` of a struct's `seen` mask; `None` when it was marked already: a field given
/// twice declines the record (the derived visitor's "duplicate field" error is then the
/// answer). Aliases of one field share its bit.
pub(crate) fn once(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

/// The serde path of a record the fast path declined: [`crate::common::decode`], once the
/// record is known to be UTF-8. sonic-rs checks a record's UTF-8 before anything else and
/// rejects it whole, so a record that is not UTF-8 gets that same reject
/// ([`Error::NotUtf8Record`]) without being decoded — and a value sonic-rs hands over as
/// its text, unchecked ([`crate::number`]), is always UTF-8.
pub(crate) fn decode_record<'a, T: Deserialize<'a>>(record: &'a [u8]) -> Result<T, Error> {
    if simdutf8::basic::from_utf8(record).is_err() {
        let valid = std::str::from_utf8(record)
            .err()
            .map_or(0, |e| e.valid_up_to());
        return Err(Error::NotUtf8Record(valid));
    }
    crate::common::decode(record)
}

/// An object whose known keys `bit_of` numbers with one bit each (aliases sharing one):
/// `member` reads the value of each known key, given once ([`once`]); the others are
/// skipped.
#[inline(always)]
pub(crate) fn by_bit<'a>(
    c: &mut Cursor<'a>,
    bit_of: impl Fn(&str) -> Option<u32>,
    mut member: impl FnMut(&mut Cursor<'a>, u32) -> Option<()>,
) -> Option<()> {
    let mut seen = 0u32;
    c.object(|c, key| {
        let Some(bit) = bit_of(key) else {
            return c.skip();
        };
        once(&mut seen, bit)?;
        member(c, bit)
    })
}

/// An `Option<Str>` field, given once (`bit` of `seen`): a plain string borrowed from the
/// record, anything else as [`Cursor::opt_str`] reads it.
pub(crate) fn field<'a>(
    c: &mut Cursor<'a>,
    seen: &mut u32,
    bit: u32,
    to: &mut Option<Str<'a>>,
) -> Option<()> {
    once(seen, bit)?;
    *to = c.opt_str(Str::borrowed)?;
    Some(())
}

/// An object of which one string member, `name`, is read ([`field`]: given once); the
/// others are skipped (`{"id": …}`, `{"result": …}`, `{"rawUserAgent": …}`).
pub(crate) fn only<'a>(c: &mut Cursor<'a>, name: &str, to: &mut Option<Str<'a>>) -> Option<()> {
    let mut seen = 0;
    c.object(|c, key| {
        if key == name {
            field(c, &mut seen, 1, to)
        } else {
            c.skip()
        }
    })
}

/// A `{"lat": …, "lon": …}` object (Okta's `geolocation`, ECS's `location`): each
/// coordinate by [`Cursor::opt_f64`], given once; other members skipped.
pub(crate) fn lat_lon(
    c: &mut Cursor<'_>,
    lat: &mut Option<f64>,
    lon: &mut Option<f64>,
) -> Option<()> {
    let mut seen = 0;
    c.object(|c, key| {
        let (bit, to) = match key {
            "lat" => (1, &mut *lat),
            "lon" => (2, &mut *lon),
            _ => return c.skip(),
        };
        once(&mut seen, bit)?;
        *to = c.opt_f64()?;
        Some(())
    })
}

/// An `Option<Flag>` field, given once (see [`Cursor::opt_flag`]).
pub(crate) fn flag(
    c: &mut Cursor<'_>,
    seen: &mut u32,
    bit: u32,
    to: &mut Option<Flag>,
) -> Option<()> {
    once(seen, bit)?;
    *to = c.opt_flag()?;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the cursor takes `text` as one whole value.
    fn takes(text: &str) -> bool {
        let mut c = Cursor::new(text);
        c.skip().is_some() && c.end().is_some()
    }

    #[test]
    fn takes_valid_json_only() {
        for ok in [
            r#"{"a":[1,-0.5e+3,0,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9y",{}],"b":{"c":[]}}"#,
            " \t\n\r[ 1 , 2 ]\n",
            r#""é ünïcödé 😀 and a longer plain string than eight bytes""#,
            "-0",
            "1E9",
        ] {
            assert!(takes(ok), "{ok}");
        }
        for bad in [
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "nul",
            "True",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "\"unterminated",
            "\"tab\there\"",
            "\"bad \\x escape\"",
            "\"lone \\ud800 surrogate\"",
            "\"short \\u12\"",
            "[1 2]",
            "{\"a\":1}}",
            "\u{a0}1",
        ] {
            assert!(!takes(bad), "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert!(!takes(&deep), "deeper than MAX_DEPTH is declined");
        let shallow = format!("{}{}", "[".repeat(60), "]".repeat(60));
        assert!(takes(&shallow));
    }

    #[test]
    fn finds_the_first_special_byte_in_every_position() {
        // Bodies of ASCII, of bytes above 0x7f (UTF-8's, which are no control bytes) and
        // of DEL (allowed unescaped), long enough to cross 8- and 16-byte blocks.
        for (len, unit) in (0..40).flat_map(|n| [(n, "a"), (n, "é"), (n, "\u{7f}")]) {
            for (special, ok) in [
                ("\"", true),
                ("\\n", true),
                ("\u{1}", false),
                ("\u{1f}", false),
            ] {
                let body = unit.repeat(len);
                let text = format!("\"{body}{special}{body}\"");
                let mut c = Cursor::new(&text);
                assert_eq!(
                    c.skip().is_some() && c.end().is_some(),
                    ok && special != "\""
                );
                let mut c = Cursor::new(&text);
                if special == "\"" {
                    assert_eq!(c.plain(), Some(body.as_str()));
                }
            }
        }
    }

    #[test]
    fn floats_read_as_serde_reads_them() {
        let mut rng = mutation::Rng(0x853c_49e6_748f_ea9b);
        let digits = |rng: &mut mutation::Rng, n: usize| -> String {
            (0..n)
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect()
        };
        let (mut taken, mut tried) = (0, 0);
        for _ in 0..100_000 {
            let mut t = String::new();
            if rng.below(2) == 0 {
                t.push('-');
            }
            let n = 1 + rng.below(22);
            t += &digits(&mut rng, n);
            if rng.below(2) == 0 {
                let n = 1 + rng.below(20);
                t = t + "." + &digits(&mut rng, n);
            }
            if rng.below(3) == 0 {
                t.push(if rng.below(2) == 0 { 'e' } else { 'E' });
                t += ["", "-", "+"][rng.below(3)];
                let n = 1 + rng.below(3);
                t += &digits(&mut rng, n);
            }
            let mut c = Cursor::new(&t);
            let fast = c.opt_f64().filter(|_| c.end().is_some());
            // A plain `f64`, as sonic-rs reads one: an error beyond its range.
            let plain = crate::common::decode::<Option<f64>>(t.as_bytes()).ok();
            tried += 1;
            if let Some(v) = fast {
                taken += 1;
                match plain {
                    Some(p) => assert_eq!(p.map(f64::to_bits), v.map(f64::to_bits), "{t}"),
                    None => assert!(v.is_some_and(f64::is_infinite), "{t}: {v:?}"),
                }
            }
        }
        assert!(taken * 2 > tried, "{taken} of {tried}");
        assert_eq!(Cursor::new("null").opt_f64(), Some(None));
        // Audit A, B8: beyond `f64`'s range is infinite, as serde reads a coordinate.
        assert_eq!(Cursor::new("1e400").opt_f64(), Some(Some(f64::INFINITY)));
        assert_eq!(
            Cursor::new(&format!("-{}", "9".repeat(401))).opt_f64(),
            Some(Some(f64::NEG_INFINITY))
        );
    }

    #[test]
    fn numbers_read_as_serde_reads_them() {
        let mut rng = mutation::Rng(0x2f69_3c3a_91d5_7e0b);
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "7",
            "-7",
            "00",
            "1.0",
            "1e2",
            "-0.0",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "\"12\"",
            "\" 12 \"",
            "\"x\"",
            "null",
            "true",
            "[1]",
            "-",
        ]
        .map(String::from)
        .to_vec();
        for _ in 0..20_000 {
            let sign = if rng.below(2) == 0 { "-" } else { "" };
            let n = 1 + rng.below(21);
            let digits: String = (0..n)
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect();
            texts.push(format!("{sign}{digits}"));
        }
        let mut taken = 0;
        for t in &texts {
            let mut c = Cursor::new(t);
            let fast = c.opt_num().filter(|_| c.end().is_some());
            let serde = crate::common::decode::<Option<Num>>(t.as_bytes()).ok();
            if let Some(v) = fast {
                taken += 1;
                assert_eq!(serde, Some(v), "{t}");
            } else {
                assert_eq!(serde, None, "{t}: serde takes it, so the cursor must");
            }
        }
        assert!(taken * 2 > texts.len(), "{taken} of {}", texts.len());
    }

    #[test]
    fn array_walks_each_element() {
        let mut got = Vec::new();
        let mut c = Cursor::new(r#" [ "a" , "b" ] "#);
        let walked = c.array(|c| {
            got.push(c.plain()?);
            Some(())
        });
        assert!(walked.is_some() && c.end().is_some());
        assert_eq!(got, ["a", "b"]);
        assert_eq!(Cursor::new(" [ ] ").array(|_| None), Some(()));
        for bad in ["[1,]", "[1 2]", "[1", "{}", "1"] {
            assert!(Cursor::new(bad).array(Cursor::skip).is_none(), "{bad}");
        }
    }

    #[test]
    fn plain_declines_escapes() {
        assert_eq!(Cursor::new(r#" "abc" "#).plain(), Some("abc"));
        assert_eq!(Cursor::new(r#""a\"c""#).plain(), None);
        assert_eq!(Cursor::new("1").plain(), None);
    }
}

/// Random edits of records, for the vendors' differential tests of their fast paths.
#[cfg(test)]
pub(crate) mod mutation {
    /// A tiny deterministic generator (xorshift64*), so a failure can be replayed.
    pub(crate) struct Rng(pub u64);

    impl Rng {
        /// A number below `n`.
        pub(crate) fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }
    }

    /// One to three random edits of `record`: a byte deleted, inserted or replaced (JSON
    /// punctuation, escapes, control and non-UTF-8 bytes), or one of `fragments` put where a
    /// member may begin.
    pub(crate) fn mutate(rng: &mut Rng, record: &[u8], fragments: &[&str]) -> Vec<u8> {
        const BYTES: &[u8] = b"\"\\{}[],: \n\t0-.eEnx\x01\xff\xc3";
        let mut r = record.to_vec();
        for _ in 0..=rng.below(3) {
            let at = rng.below(r.len() + 1);
            match rng.below(4) {
                0 if at < r.len() => {
                    r.remove(at);
                }
                1 => r.insert(at, BYTES[rng.below(BYTES.len())]),
                2 if at < r.len() => r[at] = BYTES[rng.below(BYTES.len())],
                _ => {
                    // A fragment after a `{` or `,`, where a member may begin.
                    let starts: Vec<usize> = (0..r.len())
                        .filter(|&i| matches!(r[i], b'{' | b','))
                        .collect();
                    if let Some(&i) = starts.get(rng.below(starts.len().max(1))) {
                        let f = fragments[rng.below(fragments.len())].as_bytes();
                        r.splice(i + 1..i + 1, f.iter().copied());
                    }
                }
            }
        }
        r
    }

    /// The differential test of a vendor's fast path: each base record, then 40,000 random
    /// mutations of them (`fragments` among the edits, `seed` for the generator), go
    /// through both `fast` and the derived `Deserialize` ([`decode_record`], as the vendors
    /// call it).
    /// Whatever the fast path accepts it must read exactly as serde does; a base serde takes
    /// it must take too; and it must take most of what serde takes, so the test is not
    /// vacuous (the rest falls back to serde in production).
    pub(crate) fn fast_path_agrees_with_serde<T>(
        bases: &[Vec<u8>],
        fragments: &[&str],
        seed: u64,
        fast: for<'a> fn(&'a [u8], &mut T::Of<'a>) -> Option<()>,
    ) where
        T: Borrowed,
    {
        let (mut tried, mut accepted, mut derived_ok) = (0, 0, 0);
        let mut check = |record: &[u8]| {
            let mut got = T::Of::default();
            let fast_ok = fast(record, &mut got).is_some();
            let derived = super::decode_record::<T::Of<'_>>(record);
            if fast_ok {
                assert_eq!(
                    derived.as_ref().ok(),
                    Some(&got),
                    "{}",
                    String::from_utf8_lossy(record)
                );
            }
            tried += 1;
            accepted += usize::from(fast_ok);
            derived_ok += usize::from(derived.is_ok());
            (fast_ok, derived.is_ok())
        };
        for base in bases {
            let (fast_ok, derived_ok) = check(base);
            assert_eq!(fast_ok, derived_ok, "{}", String::from_utf8_lossy(base));
        }
        let mut rng = Rng(seed);
        for _ in 0..40_000 {
            let base = &bases[rng.below(bases.len())];
            check(&mutate(&mut rng, base, fragments));
        }
        eprintln!(
            "fast path took {accepted} of the {derived_ok} records serde took ({tried} tried)"
        );
        assert!(
            accepted * 10 > derived_ok * 8,
            "{accepted} of {derived_ok} ({tried})"
        );
    }

    /// The non-blank lines of an NDJSON file, each a base record to mutate.
    pub(crate) fn lines(text: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
        text.split(|&b| b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .map(<[u8]>::to_vec)
    }

    /// A record type that borrows from its input, named without its lifetime.
    pub(crate) trait Borrowed {
        /// The type borrowing from an input of lifetime `'a`.
        type Of<'a>: Default + PartialEq + std::fmt::Debug + serde::Deserialize<'a>;
    }
}
