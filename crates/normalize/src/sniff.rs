//! `--format auto`: which vendor wrote this record?
//!
//! One pass over the record's top-level keys, values skipped, nothing built — and the pass
//! stops at the first key that only one vendor writes, so a Graph sign-in is decided at its
//! second key. Deciding keys: `class_uid` → OCSF; `userIdentity`, `eventSource`,
//! `eventVersion`, `awsRegion`, `recipientAccountId` → CloudTrail; `kind:
//! admin#reports#…` → Google; `published`, `uuid` → Okta; `@timestamp` → ECS;
//! `createdDateTime`, `TimeGenerated`, `userPrincipalName` (either case), an Azure log
//! `category` or `operationName: Sign-in activity` → Entra. Without one of those, at the
//! end: `id` + `events` → Google; `eventType` with `actor` or `client` → Okta; `eventName`
//! → CloudTrail; `properties` with `category` / `operationName` → Entra.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::common::Str;
use crate::{Error, Source};

/// Azure diagnostic-settings categories of the Entra ID log families.
const AZURE_CATEGORIES: [&str; 9] = [
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "ADFSSignInLogs",
    "AuditLogs",
    "ProvisioningLogs",
    "RiskyUsers",
    "UserRiskEvents",
];

/// A string value, or `None` for any other JSON value (skipped).
struct Lenient<'a>(Option<Str<'a>>);

impl<'de> de::Deserialize<'de> for Lenient<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Str(Cow::Borrowed(v)))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Str(Cow::Owned(v.to_owned())))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Keys seen that decide nothing alone.
#[derive(Default)]
struct Seen {
    id: bool,
    events: bool,
    event_type: bool,
    actor_or_client: bool,
    event_name: bool,
    properties: bool,
    azure_envelope: bool,
}

/// Walks the top-level keys; on a deciding key, records the source in `decided` and
/// stops the parse with an error the caller ignores.
struct Sniffer<'c> {
    decided: &'c Cell<Option<Source>>,
}

impl<'de> DeserializeSeed<'de> for Sniffer<'_> {
    type Value = Seen;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Seen, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Sniffer<'_> {
    type Value = Seen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seen, A::Error> {
        let mut seen = Seen::default();
        let stop = |source| {
            self.decided.set(Some(source));
            Err(de::Error::custom("format decided"))
        };
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match key.as_ref() {
                "class_uid" => return stop(Source::Ocsf),
                "userIdentity" | "eventSource" | "eventVersion" | "awsRegion"
                | "recipientAccountId" => {
                    return stop(Source::Cloudtrail);
                }
                "published" | "uuid" => return stop(Source::Okta),
                "@timestamp" => return stop(Source::Ecs),
                "createdDateTime" | "CreatedDateTime" | "TimeGenerated" | "userPrincipalName"
                | "UserPrincipalName" => {
                    return stop(Source::Entra);
                }
                "kind" => {
                    if map
                        .next_value::<Lenient<'de>>()?
                        .0
                        .is_some_and(|k| k.starts_with("admin#reports"))
                    {
                        return stop(Source::Google);
                    }
                    continue;
                }
                "category" | "Category" => {
                    if map
                        .next_value::<Lenient<'de>>()?
                        .0
                        .is_some_and(|c| AZURE_CATEGORIES.contains(&c.as_ref()))
                    {
                        return stop(Source::Entra);
                    }
                    seen.azure_envelope = true;
                    continue;
                }
                "operationName" => {
                    if map.next_value::<Lenient<'de>>()?.0.as_deref() == Some("Sign-in activity") {
                        return stop(Source::Entra);
                    }
                    seen.azure_envelope = true;
                    continue;
                }
                "id" => seen.id = true,
                "events" => seen.events = true,
                "eventType" | "eventtype" => seen.event_type = true,
                "actor" | "client" => seen.actor_or_client = true,
                "eventName" => seen.event_name = true,
                "properties" => seen.properties = true,
                _ => {}
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(seen)
    }
}

/// Decides which vendor wrote one JSON record.
///
/// A record nested deeper than sonic-rs may be given (`common::too_deep`) is decided by
/// the byte scan of `guess` instead, which does not recurse; the vendor's parse then
/// rejects it.
///
/// # Errors
/// [`Error::Json`] when the record is not a JSON object, [`Error::Unrecognized`] when no
/// vendor's keys are there, [`Error::TooDeep`] when the record is nested too deeply and
/// its vendor is not told by the keys before the deep part.
///
/// # Example
/// ```
/// use jetlag_normalize::{Source, sniff};
/// assert_eq!(sniff(br#"{"eventVersion":"1.08","eventSource":"signin.amazonaws.com"}"#).unwrap(), Source::Cloudtrail);
/// assert_eq!(sniff(br#"{"metadata":{"uid":"x"},"class_uid":3002,"time":1}"#).unwrap(), Source::Ocsf);
/// assert!(sniff(br#"{"hello":"world"}"#).is_err());
/// ```
pub fn sniff(record: &[u8]) -> Result<Source, Error> {
    if crate::common::too_deep(record) {
        return guess(record).ok_or(Error::TooDeep(crate::common::MAX_NESTING));
    }
    let decided = Cell::new(None);
    let mut de = sonic_rs::Deserializer::from_slice(record);
    let result = Sniffer { decided: &decided }.deserialize(&mut de);
    if let Some(source) = decided.get() {
        return Ok(source);
    }
    let seen = result.map_err(|e| Error::from_json(e, record))?;
    seen.decide().ok_or(Error::Unrecognized)
}

/// A fast guess at the vendor, for [`crate::parse_json`]: the same decision as [`sniff`]
/// for any record that is valid JSON, made by a plain byte scan that builds nothing
/// (`None`: no guess, ask [`sniff`]).
///
/// It is a guess because it does not validate: skipped values are only bracket-matched.
/// The caller parses the record as the guessed vendor, which validates the whole record,
/// and asks [`sniff`] again only when that parse finds the JSON broken, so a broken
/// record is rejected exactly as before. A key or a deciding value with an escape in it
/// is left to [`sniff`] as well.
pub(crate) fn guess(record: &[u8]) -> Option<Source> {
    let mut p = Scan { b: record, i: 0 };
    p.ws();
    p.eat(b'{')?;
    let mut seen = Seen::default();
    p.ws();
    if p.peek()? == b'}' {
        return None;
    }
    loop {
        p.ws();
        let key = p.string()?;
        p.ws();
        p.eat(b':')?;
        p.ws();
        match key {
            b"class_uid" => return Some(Source::Ocsf),
            b"userIdentity"
            | b"eventSource"
            | b"eventVersion"
            | b"awsRegion"
            | b"recipientAccountId" => return Some(Source::Cloudtrail),
            b"published" | b"uuid" => return Some(Source::Okta),
            b"@timestamp" => return Some(Source::Ecs),
            b"createdDateTime" | b"CreatedDateTime" | b"TimeGenerated" | b"userPrincipalName"
            | b"UserPrincipalName" => return Some(Source::Entra),
            b"kind" => {
                if p.value_str()?
                    .is_some_and(|k| k.starts_with(b"admin#reports"))
                {
                    return Some(Source::Google);
                }
            }
            b"category" | b"Category" => {
                if p.value_str()?
                    .is_some_and(|c| AZURE_CATEGORIES.iter().any(|a| a.as_bytes() == c))
                {
                    return Some(Source::Entra);
                }
                seen.azure_envelope = true;
            }
            b"operationName" => {
                if p.value_str()? == Some(b"Sign-in activity") {
                    return Some(Source::Entra);
                }
                seen.azure_envelope = true;
            }
            _ => {
                match key {
                    b"id" => seen.id = true,
                    b"events" => seen.events = true,
                    b"eventType" | b"eventtype" => seen.event_type = true,
                    b"actor" | b"client" => seen.actor_or_client = true,
                    b"eventName" => seen.event_name = true,
                    b"properties" => seen.properties = true,
                    _ => {}
                }
                p.skip_value()?;
            }
        }
        p.ws();
        match p.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    seen.decide()
}

impl Seen {
    /// The decision at the end of a record that had no deciding key.
    fn decide(&self) -> Option<Source> {
        if self.id && self.events {
            Some(Source::Google)
        } else if self.event_type && self.actor_or_client {
            Some(Source::Okta)
        } else if self.event_name {
            Some(Source::Cloudtrail)
        } else if self.properties && self.azure_envelope {
            Some(Source::Entra)
        } else {
            None
        }
    }
}

/// A cursor over the bytes of a record for [`guess`]; every method returns `None` when
/// the bytes do not have the expected shape (the guess is then abandoned).
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

/// Bytes that matter inside a skipped object or array: quotes and brackets.
static STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'[' as usize] = true;
    t[b'}' as usize] = true;
    t[b']' as usize] = true;
    t
};

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// Skips JSON whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// A string without escapes, its quotes removed; `None` for anything else.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let rest = self.b.get(self.i..)?;
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] == b'\\' {
            return None;
        }
        self.i += end + 1;
        Some(&rest[..end])
    }

    /// A value that deciding keys look at: `Some(Some(text))` for a string without
    /// escapes, `Some(None)` for any other value (skipped), `None` to give up.
    fn value_str(&mut self) -> Option<Option<&'a [u8]>> {
        if self.peek()? == b'"' {
            return self.string().map(Some);
        }
        self.skip_value()?;
        Some(None)
    }

    /// Skips past the closing quote of a string whose opening quote was just read.
    fn skip_string_body(&mut self) -> Option<()> {
        loop {
            let end = memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            self.i += end + 1;
            if self.b[self.i - 1] == b'"' {
                return Some(());
            }
            self.i += 1; // the escaped byte
        }
    }

    /// Skips one value: a string, an object or array (bracket-matched, not validated) or
    /// a scalar.
    fn skip_value(&mut self) -> Option<()> {
        match self.next()? {
            b'"' => self.skip_string_body(),
            b'{' | b'[' => {
                let mut depth = 1usize;
                loop {
                    let rest = self.b.get(self.i..)?;
                    let at = rest.iter().position(|&c| STRUCTURAL[c as usize])?;
                    self.i += at + 1;
                    match self.b[self.i - 1] {
                        b'"' => self.skip_string_body()?,
                        b'{' | b'[' => depth += 1,
                        _ => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                    }
                }
            }
            b',' | b'}' | b']' | b':' => None,
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_shape() {
        let cases: [(&str, Source); 12] = [
            (r#"{"id":"1","createdDateTime":"x"}"#, Source::Entra),
            (
                r#"{"TenantId":"w","SourceSystem":"Azure AD","TimeGenerated":"x"}"#,
                Source::Entra,
            ),
            (
                r#"{"time":"x","category":"SignInLogs","properties":{}}"#,
                Source::Entra,
            ),
            (
                r#"{"time":"x","category":"Other","properties":{}}"#,
                Source::Entra,
            ),
            (
                r#"{"actor":{},"client":{},"eventType":"user.session.start"}"#,
                Source::Okta,
            ),
            (
                r#"{"actor":{},"eventtype":"x","published":"y"}"#,
                Source::Okta,
            ),
            (
                r#"{"kind":"admin#reports#activity","id":{}}"#,
                Source::Google,
            ),
            (
                r#"{"id":{"time":"x"},"actor":{},"events":[]}"#,
                Source::Google,
            ),
            (
                r#"{"eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn"}"#,
                Source::Cloudtrail,
            ),
            (
                r#"{"metadata":{"uuid":"nested"},"class_uid":3002}"#,
                Source::Ocsf,
            ),
            (
                r#"{"@timestamp":"x","event":{"category":"authentication"}}"#,
                Source::Ecs,
            ),
            (r#"{"kind":5,"userIdentity":{}}"#, Source::Cloudtrail),
        ];
        for (json, want) in cases {
            assert_eq!(sniff(json.as_bytes()).unwrap(), want, "{json}");
            assert_eq!(guess(json.as_bytes()), Some(want), "guess {json}");
        }
        assert!(matches!(sniff(b"{\"a\":1}"), Err(Error::Unrecognized)));
        assert!(matches!(sniff(b"[1]"), Err(Error::Json(_))));
        assert!(matches!(sniff(b"{\"a\":"), Err(Error::Json(_))));
    }

    #[test]
    fn the_guess_agrees_with_sniff_on_valid_json() {
        let cases = [
            // Deciding keys after values of every kind, with whitespace and escapes in
            // skipped strings.
            r#" { "a" : [1, {"b": "}]\"{["}, -2.5e3, true, null] , "c":{"d":{"e":[]}}, "uuid":"x"}"#,
            r#"{"kind":"admin#reports#activity"}"#,
            r#"{"kind":{"x":1},"category":"Other","properties":{}}"#,
            r#"{"operationName":"Sign-in activity"}"#,
            r#"{"Category":"AuditLogs"}"#,
            r#"{"id":{"time":"x"},"events":[{"name":"login_success"}]}"#,
            r#"{"eventtype":"x","client":{}}"#,
            r#"{"eventName":"x","n":12}"#,
            r#"{"hello":"world"}"#,
            r#"{}"#,
        ];
        for json in cases {
            let exact = sniff(json.as_bytes()).ok();
            assert_eq!(guess(json.as_bytes()), exact, "{json}");
        }
        // Escaped keys and deciding values are left to sniff.
        assert_eq!(guess(br#"{"u\u0075id":"x"}"#), None);
        assert_eq!(sniff(br#"{"u\u0075id":"x"}"#).unwrap(), Source::Okta);
        assert_eq!(guess(br#"{"kind":"admin\u0023reports"}"#), None);
    }

    #[test]
    fn the_guess_never_panics_on_a_cut_or_broken_record() {
        let record = br#"{"actor":{"id":"a\"b","type":"User"},"client":[1,{"x":"y\\"}],"n":-1.5,"eventType":"user.session.start"}"#;
        for end in 0..=record.len() {
            let _ = guess(&record[..end]);
            let mut broken = record.to_vec();
            broken[end.min(record.len() - 1)] = b'\\';
            let _ = guess(&broken);
        }
        assert_eq!(guess(record), Some(Source::Okta));
    }
}
