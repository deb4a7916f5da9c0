//! Okta System Log `LogEvent` (`/api/v1/logs`).
//!
//! Fields: `uuid`, `published`, `eventType`, `actor{alternateId, type}`,
//! `client{ipAddress, geographicalContext{city, state, country, geolocation{lat, lon}},
//! userAgent{rawUserAgent}}`, `device{id}`, `securityContext{asNumber, asOrg, isProxy}`,
//! `outcome{result}`, `authenticationContext{externalSessionId}`, `target[]`. The
//! all-lower-case spellings some pipelines produce (`eventtype`, `securitycontext`) are
//! accepted too.
//!
//! Sign-ins are `user.session.start`, `user.authentication.*` and
//! `policy.evaluate_sign_on`; other event types are skipped. `outcome.result` SUCCESS /
//! ALLOW is success, FAILURE / DENY failure, anything else unknown. When the actor is not a
//! person (a system principal or an app), `user` is the first `User` target. Okta writes
//! country *names*: they become ISO codes. `securityContext.isProxy` puts `proxy` in
//! `network`.

use std::fmt;

use jetlag_event::{NetClass, Outcome, SignIn, Source};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::common::{self, Draft, Flag, Num, Place, Str, Text, s};
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Actor<'a> {
    #[serde(borrow, default)]
    alternate_id: Option<Str<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Str<'a>>,
    #[serde(borrow, default)]
    display_name: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Geolocation {
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    lon: Option<f64>,
}

#[derive(Deserialize, Default)]
struct GeoContext<'a> {
    #[serde(borrow, default)]
    city: Option<Str<'a>>,
    #[serde(borrow, default)]
    state: Option<Str<'a>>,
    #[serde(borrow, default)]
    country: Option<Str<'a>>,
    #[serde(default)]
    geolocation: Option<Geolocation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UserAgent<'a> {
    #[serde(borrow, default)]
    raw_user_agent: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Client<'a> {
    #[serde(borrow, default)]
    ip_address: Option<Str<'a>>,
    #[serde(borrow, default, alias = "geographicalcontext")]
    geographical_context: Option<GeoContext<'a>>,
    #[serde(borrow, default, alias = "useragent")]
    user_agent: Option<UserAgent<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SecurityContext<'a> {
    #[serde(default, alias = "asnumber")]
    as_number: Option<Num>,
    #[serde(borrow, default, alias = "asorg")]
    as_org: Option<Str<'a>>,
    #[serde(default, alias = "isproxy")]
    is_proxy: Option<Flag>,
}

#[derive(Deserialize, Default)]
struct OutcomeField<'a> {
    #[serde(borrow, default)]
    result: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AuthContext<'a> {
    #[serde(borrow, default, alias = "externalsessionid")]
    external_session_id: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Device<'a> {
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LogEvent<'a> {
    #[serde(borrow, default)]
    uuid: Option<Str<'a>>,
    #[serde(borrow, default)]
    published: Option<Str<'a>>,
    #[serde(borrow, default, alias = "eventtype")]
    event_type: Option<Str<'a>>,
    #[serde(borrow, default)]
    actor: Option<Actor<'a>>,
    #[serde(borrow, default)]
    client: Option<Client<'a>>,
    #[serde(borrow, default)]
    device: Option<Device<'a>>,
    #[serde(borrow, default, alias = "securitycontext")]
    security_context: Option<SecurityContext<'a>>,
    #[serde(borrow, default)]
    outcome: Option<OutcomeField<'a>>,
    #[serde(borrow, default, alias = "authenticationcontext")]
    authentication_context: Option<AuthContext<'a>>,
    #[serde(borrow, default)]
    target: Option<Vec<Actor<'a>>>,
}

/// Event types that record a sign-in.
fn is_signin(event_type: &str) -> bool {
    event_type == "user.session.start"
        || event_type == "policy.evaluate_sign_on"
        || event_type.starts_with("user.authentication.")
}

/// Parses one Okta LogEvent.
///
/// # Errors
/// Not JSON / wrong types, no `published`, no user (`actor.alternateId` or a `User`
/// target).
pub fn parse(record: &[u8], warnings: &mut Vec<Warning>) -> Result<Parsed, Error> {
    common::by_value(|out| parse_into(record, out, warnings))
}

/// [`parse`] into a caller's event (see [`crate::parse_json_into`]).
///
/// # Errors
/// As [`parse`].
pub fn parse_into(
    record: &[u8],
    out: &mut SignIn,
    warnings: &mut Vec<Warning>,
) -> Result<Filled, Error> {
    let mut ev = LogEvent::default();
    if !common::fill(record, InPlace(&mut ev)) {
        ev = common::decode(record)?;
    }
    let event_type = s(&ev.event_type).ok_or(Error::Missing("eventType"))?;
    if !is_signin(event_type) {
        return Ok(Filled::Skipped(Skip {
            source: Source::Okta,
            reason: "not a sign-in event type",
        }));
    }
    let time = common::required_time(s(&ev.published), "published")?;
    let actor = ev.actor.as_ref();
    let actor_is_person = actor.is_some_and(|a| {
        s(&a.kind).is_none_or(|k| k.eq_ignore_ascii_case("user"))
            && s(&a.alternate_id).is_some_and(|id| {
                !id.eq_ignore_ascii_case("system@okta.com") && !id.eq_ignore_ascii_case("unknown")
            })
    });
    let user = if actor_is_person {
        common::user(actor.and_then(|a| s(&a.alternate_id)), "actor.alternateId")?
    } else {
        let target = ev
            .target
            .iter()
            .flatten()
            .find(|t| s(&t.kind).is_some_and(|k| k.eq_ignore_ascii_case("user")));
        common::user(target.and_then(|t| s(&t.alternate_id)), "actor.alternateId")?
    };
    let outcome = match ev.outcome.as_ref().and_then(|o| s(&o.result)) {
        Some(r) if r.eq_ignore_ascii_case("success") || r.eq_ignore_ascii_case("allow") => {
            Outcome::Success
        }
        Some(r) if r.eq_ignore_ascii_case("failure") || r.eq_ignore_ascii_case("deny") => {
            Outcome::Failure
        }
        _ => Outcome::Unknown,
    };
    let mut d = Draft::new(
        common::id_or_hash(s(&ev.uuid), record),
        time,
        Source::Okta,
        Text::Str(user),
        outcome,
    );
    if let Some(client) = &ev.client {
        d.ip = common::ip(s(&client.ip_address), "client.ipAddress", warnings);
        d.user_agent = common::nonempty(
            client
                .user_agent
                .as_ref()
                .and_then(|u| s(&u.raw_user_agent)),
        );
        if let Some(g) = &client.geographical_context {
            let point = g.geolocation.as_ref();
            d.geo = common::geo(
                Place {
                    lat: point.and_then(|p| p.lat),
                    lon: point.and_then(|p| p.lon),
                    radius_km: None,
                    city: s(&g.city),
                    region: s(&g.state),
                    country: s(&g.country),
                },
                "client.geographicalContext",
                warnings,
            );
        }
    }
    d.device_id = common::nonempty(ev.device.as_ref().and_then(|d| s(&d.id)));
    d.session_id = common::nonempty(
        ev.authentication_context
            .as_ref()
            .and_then(|a| s(&a.external_session_id))
            .filter(|id| *id != "unknown"),
    );
    d.app = ev
        .target
        .iter()
        .flatten()
        .find(|t| s(&t.kind) == Some("AppInstance"))
        .and_then(|t| common::nonempty(s(&t.display_name)));
    if event_type.contains("mfa") {
        d.mfa = Some(true);
    }
    if let Some(sc) = &ev.security_context {
        d.asn = sc
            .as_number
            .and_then(Num::as_i64)
            .and_then(|a| u32::try_from(a).ok())
            .filter(|a| *a != 0);
        d.as_org = common::nonempty(s(&sc.as_org));
        if sc.is_proxy.and_then(|f| f.0) == Some(true) {
            d.network.insert(NetClass::Proxy);
        }
    }
    d.write(out);
    Ok(Filled::Event)
}

/// Fills a [`LogEvent`] where it lies — the record's fields straight into their places,
/// where the derived `Deserialize` built the event (and its `client`) on the stack and
/// moved them out through every layer of `Result` and `Option` (a tenth of `normalize`'s
/// time was `memmove`).
///
/// It accepts a subset of what the derived one accepts (objects only, no duplicate keys)
/// and fills the same values; on anything else it fails and [`parse_into`] runs the
/// derived one, whose result — or error, word for word — stands.
struct InPlace<'p, 'a>(&'p mut LogEvent<'a>);

/// Each field's bit in the "seen" mask (aliases share their field's bit).
fn log_event_field(key: &str) -> Option<u16> {
    Some(match key {
        "uuid" => 1,
        "published" => 1 << 1,
        "eventType" | "eventtype" => 1 << 2,
        "actor" => 1 << 3,
        "client" => 1 << 4,
        "device" => 1 << 5,
        "securityContext" | "securitycontext" => 1 << 6,
        "outcome" => 1 << 7,
        "authenticationContext" | "authenticationcontext" => 1 << 8,
        "target" => 1 << 9,
        _ => return None,
    })
}

/// A map's next key as its field's bit (`0` for a field the struct does not have), read
/// as the derived field visitors read keys (any JSON string, escapes undone) but matched
/// where it lies instead of first being built into a [`Str`] and dropped again.
fn next_key<'de, A: MapAccess<'de>>(
    map: &mut A,
    field: fn(&str) -> Option<u16>,
) -> Result<Option<u16>, A::Error> {
    map.next_key_seed(Key(field))
}

/// [`next_key`]'s seed: a key's bit by `.0`.
struct Key(fn(&str) -> Option<u16>);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = u16;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u16, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = u16;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u16, E> {
        Ok((self.0)(v).unwrap_or(0))
    }
}

/// `client`'s fields' bits, as [`log_event_field`].
fn client_field(key: &str) -> Option<u16> {
    Some(match key {
        "ipAddress" => 1,
        "geographicalContext" | "geographicalcontext" => 2,
        "userAgent" | "useragent" => 4,
        _ => return None,
    })
}

/// Marks `bit` seen; a field given twice fails (the derived visitor's "duplicate field").
fn first<E: de::Error>(seen: &mut u16, bit: u16) -> Result<(), E> {
    if *seen & bit != 0 {
        return Err(E::custom("duplicate field"));
    }
    *seen |= bit;
    Ok(())
}

impl<'de, 'p> DeserializeSeed<'de> for InPlace<'p, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_struct("LogEvent", &[], self)
    }
}

impl<'de, 'p> Visitor<'de> for InPlace<'p, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct LogEvent")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ev = self.0;
        let mut seen = 0u16;
        while let Some(bit) = next_key(&mut map, log_event_field)? {
            if bit == 0 {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            }
            first(&mut seen, bit)?;
            match bit {
                1 => ev.uuid = map.next_value()?,
                2 => ev.published = map.next_value()?,
                4 => ev.event_type = map.next_value()?,
                8 => ev.actor = map.next_value()?,
                16 => map.next_value_seed(ClientInPlace(&mut ev.client))?,
                32 => ev.device = map.next_value()?,
                64 => ev.security_context = map.next_value()?,
                128 => ev.outcome = map.next_value()?,
                256 => ev.authentication_context = map.next_value()?,
                _ => ev.target = map.next_value()?,
            }
        }
        Ok(())
    }
}

/// `client` (an `Option<Client>`) filled in place, as [`InPlace`].
struct ClientInPlace<'p, 'a>(&'p mut Option<Client<'a>>);

impl<'de, 'p> DeserializeSeed<'de> for ClientInPlace<'p, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, 'p> Visitor<'de> for ClientInPlace<'p, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Client")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_struct("Client", &[], self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let client = self.0.insert(Client::default());
        let mut seen = 0u16;
        while let Some(bit) = next_key(&mut map, client_field)? {
            if bit == 0 {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            }
            first(&mut seen, bit)?;
            match bit {
                1 => client.ip_address = map.next_value()?,
                2 => client.geographical_context = map.next_value()?,
                _ => client.user_agent = map.next_value()?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"{"published":"2025-03-30T23:59:53Z","eventType":"user.session.start","actor":{"type":"User","alternateId":"a@example.com"},"#;

    fn one(rest: &str) -> Result<Parsed, Error> {
        parse(format!("{HEAD}{rest}").as_bytes(), &mut Vec::new())
    }

    #[test]
    fn escaped_keys_read_as_their_field() {
        let Parsed::Event(ev) = one(r#""cli\u0065nt":{"ip\u0041ddress":"192.0.2.7"}}"#).unwrap()
        else {
            panic!("not an event");
        };
        assert_eq!(ev.ip.map(|ip| ip.to_string()).as_deref(), Some("192.0.2.7"));
    }

    #[test]
    fn duplicate_and_unknown_keys_as_the_derived_deserialize() {
        let in_place = one(r#""client":{"ipAddress":"192.0.2.7","ipAddress":"192.0.2.8"}}"#);
        let derived = common::decode::<LogEvent<'_>>(
            format!(r#"{HEAD}"client":{{"ipAddress":"192.0.2.7","ipAddress":"192.0.2.8"}}}}"#)
                .as_bytes(),
        )
        .map(|_| ());
        assert!(in_place.is_err(), "a duplicate field is an error");
        assert_eq!(
            in_place.err().map(|e| e.to_string()),
            derived.err().map(|e| e.to_string())
        );
        let Parsed::Event(ev) =
            one(r#""zzz":[1,{"a":2}],"client":{"x":null,"ipAddress":"192.0.2.9"}}"#).unwrap()
        else {
            panic!("not an event");
        };
        assert_eq!(ev.ip.map(|ip| ip.to_string()).as_deref(), Some("192.0.2.9"));
    }
}
