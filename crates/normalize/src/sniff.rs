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
                Ok(Lenient(Some(Str::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Str::Owned(v.to_owned()))))
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
/// # Errors
/// [`Error::Json`] when the record is not a JSON object, [`Error::Unrecognized`] when no
/// vendor's keys are there.
///
/// # Example
/// ```
/// use jetlag_normalize::{Source, sniff};
/// assert_eq!(sniff(br#"{"eventVersion":"1.08","eventSource":"signin.amazonaws.com"}"#).unwrap(), Source::Cloudtrail);
/// assert_eq!(sniff(br#"{"metadata":{"uid":"x"},"class_uid":3002,"time":1}"#).unwrap(), Source::Ocsf);
/// assert!(sniff(br#"{"hello":"world"}"#).is_err());
/// ```
pub fn sniff(record: &[u8]) -> Result<Source, Error> {
    let decided = Cell::new(None);
    let mut de = sonic_rs::Deserializer::from_slice(record);
    let result = Sniffer { decided: &decided }.deserialize(&mut de);
    if let Some(source) = decided.get() {
        return Ok(source);
    }
    let seen = result.map_err(|e| Error::from_json(e, record))?;
    Ok(if seen.id && seen.events {
        Source::Google
    } else if seen.event_type && seen.actor_or_client {
        Source::Okta
    } else if seen.event_name {
        Source::Cloudtrail
    } else if seen.properties && seen.azure_envelope {
        Source::Entra
    } else {
        return Err(Error::Unrecognized);
    })
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
        }
        assert!(matches!(sniff(b"{\"a\":1}"), Err(Error::Unrecognized)));
        assert!(matches!(sniff(b"[1]"), Err(Error::Json(_))));
        assert!(matches!(sniff(b"{\"a\":"), Err(Error::Json(_))));
    }
}
