//! JSON numbers as vendors write them, read alike by the fast paths ([`crate::lex`]) and by
//! serde — numbers beyond an `f64`'s range included.
//!
//! sonic-rs, like serde_json, refuses a number too large for an `f64` (`1e400`, an integer
//! of 401 digits) as invalid JSON. The JSON is valid, and such a number in a coordinate or
//! an AS number is one out-of-range field, so it must not cost the record (audit A, B8; the
//! contract: "out-of-range coordinates are discarded, the event is kept"). The types here
//! ask the deserializer for the value's *text* and read it themselves: a number beyond
//! `f64` is ±∞, which the mapping then drops with a warning like any out-of-range value
//! (`common::geo`, `common::asn`); every other number reads exactly as sonic-rs reads it
//! (tested against it below), and a value of another type is the same "invalid type"
//! error as before (DESIGN.md, "Why does a number beyond `f64` lose only its field?").

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};

use crate::Warning;

/// The newtype name under which sonic-rs hands a value over as its JSON text, unparsed
/// (its public `sonic_rs::LazyValue` deserializes through it; its grammar is checked).
/// Other deserializers see an ordinary newtype and get [`serde_json`]'s `RawValue` asked
/// of them instead: serde_json is the only other one a vendor struct meets
/// (`common::embedded`, JSON inside a string).
const SONIC_TEXT: &str = "$sonic_rs::LazyValue";

/// A number that vendors write either as a JSON number or as a string (`"0"`, `"50126"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    /// A number that is not an `i64`: a fraction, an exponent, a bigger integer; ±∞ when it
    /// is beyond `f64`'s range.
    Float(f64),
    /// A string that is not a number (e.g. `"Success"`).
    Text,
}

impl Num {
    pub(crate) fn as_i64(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i),
            Num::Float(f) if f.fract() == 0.0 => Some(f as i64),
            _ => None,
        }
    }

    /// A JSON number's text (in the JSON grammar) as sonic-rs and [`Num`]'s visitor read
    /// it: an integer that fits an `i64` is `Int`, anything else — `-0`, which sonic-rs
    /// reads as a float, included — `Float`.
    #[inline]
    pub(crate) fn of_json(text: &str) -> Num {
        let integer = text != "-0" && !text.contains(['.', 'e', 'E']);
        match text.parse::<i64>() {
            Ok(i) if integer => Num::Int(i),
            _ => Num::Float(json_f64(text)),
        }
    }

    /// A string's content: the number it holds, else `Text`.
    pub(crate) fn of_str(v: &str) -> Num {
        let v = v.trim();
        v.parse::<i64>()
            .map(Num::Int)
            .or_else(|_| v.parse::<f64>().map(Num::Float))
            .unwrap_or(Num::Text)
    }
}

/// An AS number: an integer from 1 to `u32::MAX`. Null, `0` (what vendors write for
/// none) and a string that holds no number are none, silently, as before; any other number
/// — negative, a fraction, too large, beyond `f64` — is dropped with a warning, as the CSV
/// path warns about an AS number that is not a number.
pub(crate) fn asn(n: Option<Num>, field: &'static str, warnings: &mut Vec<Warning>) -> Option<u32> {
    let n = n?;
    let as_u32 = n.as_i64().and_then(|a| u32::try_from(a).ok());
    match (n, as_u32) {
        (_, Some(0)) | (Num::Text, _) => None,
        (_, Some(a)) => Some(a),
        (Num::Int(v), None) => {
            warnings.push(Warning::new(
                field,
                format!("not an AS number: {v}, dropped"),
            ));
            None
        }
        (Num::Float(v), None) => {
            warnings.push(Warning::new(
                field,
                format!("not an AS number: {v}, dropped"),
            ));
            None
        }
    }
}

/// A JSON number's text (in the JSON grammar) as an `f64`, as sonic-rs reads it into one —
/// an integer that fits 64 bits converted from one (`-0` is `0.0`), any other number
/// correctly rounded, as both Rust's parser and sonic-rs's round —, except that a number
/// beyond `f64`'s range is ±∞ where sonic-rs gives up.
#[inline]
pub(crate) fn json_f64(text: &str) -> f64 {
    match (text.parse::<u64>(), text.parse::<i64>()) {
        (Ok(u), _) => u as f64,
        (_, Ok(i)) => i as f64,
        _ => match text.parse::<f64>() {
            Ok(n) if n != 0.0 => n,
            // A zero's sign is sonic-rs's own business (`-0E-5` is `0.0` there).
            _ => sonic_rs::from_str::<f64>(text).unwrap_or(0.0),
        },
    }
}

/// An `f64` read from its JSON text ([`json_f64`]): ±∞ beyond `f64`'s range, where a plain
/// `f64` field fails the whole record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Float(pub f64);

/// An optional coordinate (`#[serde(default, deserialize_with = "number::opt_f64")]`):
/// `null` is `None`, a number is [`Float`]'s, another type the error a plain `f64` gives.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Float>::deserialize(d)?.map(|f| f.0))
}

/// A type read from a JSON value's text.
trait FromJson: Sized {
    /// What the value should be, in "invalid type" errors (the words of the type's former
    /// `Deserialize`, so rejects read the same).
    const EXPECTING: &'static str;
    /// A JSON number (its text in the JSON grammar).
    fn number(text: &str) -> Self;
    /// A JSON string's content; `None` when a string is the wrong type.
    fn string(v: &str) -> Option<Self>;
}

impl FromJson for Float {
    const EXPECTING: &'static str = "f64";
    fn number(text: &str) -> Float {
        Float(json_f64(text))
    }
    fn string(_: &str) -> Option<Float> {
        None
    }
}

impl FromJson for Num {
    const EXPECTING: &'static str = "a number or a string holding one";
    fn number(text: &str) -> Num {
        Num::of_json(text)
    }
    fn string(v: &str) -> Option<Num> {
        Some(Num::of_str(v))
    }
}

/// A value from its JSON text: a number or (when `T` takes one) a string read by `T`,
/// anything else the "invalid type" error.
fn from_json<T: FromJson, E: de::Error>(text: &str) -> Result<T, E> {
    let expected = &T::EXPECTING;
    let unexpected = match text.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => return Ok(T::number(text)),
        Some(b'"') => {
            let content = match text.get(1..text.len() - 1) {
                Some(plain) if !plain.contains('\\') => Cow::Borrowed(plain),
                // Escapes undone by the parser (rare: only strings that need them).
                _ => Cow::Owned(sonic_rs::from_str::<String>(text).map_err(E::custom)?),
            };
            return T::string(&content)
                .ok_or_else(|| E::invalid_type(Unexpected::Str(&content), expected));
        }
        Some(b't') => Unexpected::Bool(true),
        Some(b'f') => Unexpected::Bool(false),
        Some(b'n') => Unexpected::Unit,
        Some(b'[') => Unexpected::Seq,
        Some(b'{') => Unexpected::Map,
        _ => Unexpected::Other("a value that is not JSON"),
    };
    Err(E::invalid_type(unexpected, expected))
}

/// Reads a `T` from the text the deserializer hands over (see [`SONIC_TEXT`]).
struct Text<T>(PhantomData<T>);

impl<'de, T: FromJson> Visitor<'de> for Text<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    /// sonic-rs: the value's JSON text.
    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        from_json(text)
    }

    /// Any other deserializer (serde_json): its raw value's text.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        let raw = <Box<serde_json::value::RawValue>>::deserialize(d)?;
        from_json(raw.get())
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(SONIC_TEXT, Text(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(SONIC_TEXT, Text(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::mutation::Rng;

    /// [`Num`]'s `Deserialize` before it read numbers from their text (a `deserialize_any`
    /// visitor), the reference the new one must agree with.
    struct Before(Num);

    impl<'de> Deserialize<'de> for Before {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Before;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a number or a string holding one")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Before, E> {
                    Ok(Before(Num::Int(v)))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Before, E> {
                    Ok(Before(
                        i64::try_from(v).map_or(Num::Float(v as f64), Num::Int),
                    ))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Before, E> {
                    Ok(Before(Num::Float(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Before, E> {
                    Ok(Before(Num::of_str(v)))
                }
            }
            d.deserialize_any(V)
        }
    }

    #[derive(serde::Deserialize)]
    struct OldRecord {
        #[serde(default)]
        lat: Option<f64>,
        #[serde(default)]
        asn: Option<Before>,
    }

    #[derive(serde::Deserialize)]
    struct NewRecord {
        #[serde(default, deserialize_with = "opt_f64")]
        lat: Option<f64>,
        #[serde(default)]
        asn: Option<Num>,
    }

    /// Random JSON numbers: signs, 1–25 digits, fractions, exponents up to 3 digits (so
    /// some beyond `f64`'s range), and the edges.
    fn numbers() -> Vec<String> {
        let mut rng = Rng(0x6a09_e667_f3bc_c908);
        let digits = |rng: &mut Rng, n: usize| -> String {
            (0..n)
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect()
        };
        let mut out: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "-0E-5",
            "0e400",
            "1e400",
            "-1e400",
            "1E308",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "4.9e-324",
            "1e-400",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
        ]
        .map(String::from)
        .to_vec();
        out.push("9".repeat(401));
        out.push(format!("-{}", "1".repeat(320)));
        for _ in 0..50_000 {
            let mut t = String::new();
            if rng.below(2) == 0 {
                t.push('-');
            }
            let n = 1 + rng.below(25);
            let first = digits(&mut rng, n);
            // No leading zero but a lone one (JSON's grammar).
            t += if first.len() > 1 {
                first.trim_start_matches('0')
            } else {
                &first
            };
            if t.is_empty() || t == "-" {
                t.push('7');
            }
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
            out.push(t);
        }
        out
    }

    /// Audit A, B8: every number sonic-rs reads reads the same (bit for bit); one it
    /// refuses as beyond `f64` is ±∞ (a coordinate) or `Float(±∞)` (an AS number), no
    /// longer an error — in sonic-rs's records and in serde_json's (JSON inside a string).
    #[test]
    fn numbers_read_as_sonic_rs_reads_them_and_beyond_f64_as_infinity() {
        let (mut beyond, mut n) = (0, 0);
        for t in numbers() {
            let record = format!(r#"{{"lat":{t},"asn":{t}}}"#);
            let old = sonic_rs::from_str::<OldRecord>(&record);
            for new in [
                sonic_rs::from_str::<NewRecord>(&record).unwrap(),
                serde_json::from_reader::<_, NewRecord>(record.as_bytes()).unwrap(),
            ] {
                let lat = new.lat.unwrap();
                match &old {
                    Ok(old) => {
                        assert_eq!(old.lat.map(f64::to_bits), Some(lat.to_bits()), "{t}");
                        assert_eq!(old.asn.as_ref().map(|b| b.0), new.asn, "{t}");
                    }
                    Err(e) => {
                        assert!(e.to_string().contains("must be finite"), "{t}: {e}");
                        assert!(lat.is_infinite(), "{t}: {lat}");
                        assert_eq!(lat.is_sign_negative(), t.starts_with('-'), "{t}");
                        assert_eq!(new.asn, Some(Num::Float(lat)), "{t}");
                        beyond += 1;
                    }
                }
            }
            n += 1;
        }
        assert!(
            beyond > 1_000 && beyond * 4 < n,
            "{beyond} of {n} beyond f64"
        );
    }

    /// Values of another type are the same error as before, word for word; strings holding
    /// numbers read as before.
    #[test]
    fn other_types_are_the_same_errors_as_before() {
        for value in [
            r#""40.1""#,
            r#"" 12 ""#,
            r#""x""#,
            r#""\u0034\"2""#,
            "true",
            "false",
            "null",
            "[1,2]",
            "[]",
            r#"{"a":[1e400]}"#,
            "{}",
        ] {
            for (field, other) in [("lat", "asn"), ("asn", "lat")] {
                let record = format!(r#"{{"x":1,"{field}":{value},"{other}":null,"y":2}}"#);
                let old = sonic_rs::from_str::<OldRecord>(&record)
                    .map(|r| (r.lat.map(f64::to_bits), r.asn.map(|b| format!("{:?}", b.0))));
                let new = sonic_rs::from_str::<NewRecord>(&record)
                    .map(|r| (r.lat.map(f64::to_bits), r.asn.map(|n| format!("{n:?}"))));
                // The words; the column now points just past the value (sonic-rs places
                // the error after reading the value's text, no longer inside it).
                let words = |e: sonic_rs::Error| {
                    let e = e.to_string();
                    let (words, at) = e.split_once(" at line 1 column ").unwrap();
                    assert!(at.starts_with(|c: char| c.is_ascii_digit()), "{e}");
                    words.to_owned()
                };
                assert_eq!(old.map_err(words), new.map_err(words), "{record}");
            }
        }
    }

    /// The rest of the record is still checked: broken JSON around or inside the value
    /// stays broken.
    #[test]
    fn broken_numbers_are_still_invalid_json() {
        for value in ["01", "1.", "-", "1e", "+1", ".5", "1e400x", "[1e400"] {
            let record = format!(r#"{{"lat":{value}}}"#);
            assert!(
                sonic_rs::from_str::<NewRecord>(&record).is_err(),
                "{record}"
            );
            assert!(
                serde_json::from_reader::<_, NewRecord>(record.as_bytes()).is_err(),
                "{record}"
            );
        }
    }
}
