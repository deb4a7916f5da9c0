//! OCSF Authentication events (`class_uid` 3002, OCSF 1.x).
//!
//! Fields: `time` (epoch milliseconds), `activity_id` (1 logon, 2 logoff, …), `status_id`
//! (1 success, 2 failure), `user{email_addr, name, uid}`, `src_endpoint{ip, location{lat,
//! long | coordinates[lon, lat], city, region, country}, autonomous_system{number, name}}`,
//! `session{uid}`, `device{uid}`, `is_mfa`, `http_request{user_agent}`, `service{name}`,
//! `dst_endpoint{svc_name}`, `metadata{uid, tenant_uid}`, `cloud{account{uid}}`.
//!
//! Other classes and logoffs are skipped. `user` is `user.email_addr`, else `user.name`.

use jetlag_event::{Outcome, SignIn, Source};
use serde::{Deserialize, de};

use crate::common::{self, Draft, Flag, Num, Place, Str, Text, s};
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default)]
struct User<'a> {
    #[serde(borrow, default)]
    email_addr: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Location<'a> {
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    long: Option<f64>,
    #[serde(default)]
    coordinates: Option<Pair>,
    #[serde(borrow, default)]
    city: Option<Str<'a>>,
    #[serde(borrow, default)]
    region: Option<Str<'a>>,
    #[serde(borrow, default)]
    country: Option<Str<'a>>,
}

/// `coordinates`: an array of numbers, kept when it holds exactly two (no `Vec`); read
/// element by element as `f64`s, as a `Vec<f64>` was, so a bad element is the same error.
#[derive(Default)]
struct Pair(Option<[f64; 2]>);

impl<'de> Deserialize<'de> for Pair {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Pair;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Pair, A::Error> {
                let (mut pair, mut n) = ([0.0; 2], 0usize);
                while let Some(x) = a.next_element::<f64>()? {
                    if let Some(slot) = pair.get_mut(n) {
                        *slot = x;
                    }
                    n += 1;
                }
                Ok(Pair((n == 2).then_some(pair)))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize, Default)]
struct AutonomousSystem<'a> {
    #[serde(default)]
    number: Option<Num>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Endpoint<'a> {
    #[serde(borrow, default)]
    ip: Option<Str<'a>>,
    #[serde(borrow, default)]
    location: Option<Location<'a>>,
    #[serde(borrow, default)]
    autonomous_system: Option<AutonomousSystem<'a>>,
    #[serde(borrow, default)]
    svc_name: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Uid<'a> {
    #[serde(borrow, default)]
    uid: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Metadata<'a> {
    #[serde(borrow, default)]
    uid: Option<Str<'a>>,
    #[serde(borrow, default)]
    tenant_uid: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct HttpRequest<'a> {
    #[serde(borrow, default)]
    user_agent: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Cloud<'a> {
    #[serde(borrow, default)]
    account: Option<Uid<'a>>,
}

#[derive(Deserialize)]
struct Authentication<'a> {
    #[serde(default)]
    class_uid: Option<Num>,
    #[serde(default)]
    activity_id: Option<Num>,
    #[serde(default)]
    time: Option<Num>,
    #[serde(borrow, default)]
    time_dt: Option<Str<'a>>,
    #[serde(default)]
    status_id: Option<Num>,
    #[serde(borrow, default)]
    user: Option<User<'a>>,
    #[serde(borrow, default)]
    src_endpoint: Option<Endpoint<'a>>,
    #[serde(borrow, default)]
    dst_endpoint: Option<Endpoint<'a>>,
    #[serde(borrow, default)]
    session: Option<Uid<'a>>,
    #[serde(borrow, default)]
    device: Option<Uid<'a>>,
    #[serde(borrow, default)]
    service: Option<Uid<'a>>,
    #[serde(default)]
    is_mfa: Option<Flag>,
    #[serde(borrow, default)]
    http_request: Option<HttpRequest<'a>>,
    #[serde(borrow, default)]
    metadata: Option<Metadata<'a>>,
    #[serde(borrow, default)]
    cloud: Option<Cloud<'a>>,
}

/// Parses one OCSF Authentication event.
///
/// # Errors
/// Not JSON / wrong types, no `time`, no user.
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
    let a: Authentication<'_> = common::decode(record)?;
    let skip = |reason| {
        Ok(Filled::Skipped(Skip {
            source: Source::Ocsf,
            reason,
        }))
    };
    if a.class_uid.and_then(Num::as_i64) != Some(3002) {
        return skip("not an authentication event (class_uid 3002)");
    }
    if a.activity_id.and_then(Num::as_i64) == Some(2) {
        return skip("a logoff");
    }
    let time = match (a.time, s(&a.time_dt)) {
        (Some(Num::Int(ms)), _) => common::epoch(ms, true, "time")?,
        (Some(Num::Float(ms)), _) => common::epoch(ms as i64, true, "time")?,
        (_, Some(dt)) => common::time(dt, "time_dt")?,
        _ => return Err(Error::Missing("time")),
    };
    let user = a.user.as_ref();
    let user = common::user(
        user.and_then(|u| {
            s(&u.email_addr)
                .filter(|e| !e.trim().is_empty())
                .or(s(&u.name))
        }),
        "user.email_addr",
    )?;
    let outcome = match a.status_id.and_then(Num::as_i64) {
        Some(1) => Outcome::Success,
        Some(2) => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    let event_id = match a
        .metadata
        .as_ref()
        .and_then(|m| common::nonempty(s(&m.uid)))
    {
        Some(id) => Text::Str(id),
        None => Text::Made(common::hash_id([record])),
    };
    let mut ev = Draft::new(event_id, time, Source::Ocsf, Text::Str(user), outcome);
    if let Some(src) = &a.src_endpoint {
        ev.ip = common::ip(s(&src.ip), "src_endpoint.ip", warnings);
        if let Some(loc) = &src.location {
            let (mut lat, mut lon) = (loc.lat, loc.long);
            if let Some(Pair(Some([lo, la]))) = &loc.coordinates {
                (lat, lon) = (lat.or(Some(*la)), lon.or(Some(*lo)));
            }
            ev.geo = common::geo(
                Place {
                    lat,
                    lon,
                    radius_km: None,
                    city: s(&loc.city),
                    region: s(&loc.region),
                    country: s(&loc.country),
                },
                "src_endpoint.location",
                warnings,
            );
        }
        if let Some(asys) = &src.autonomous_system {
            ev.asn = asys
                .number
                .and_then(Num::as_i64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n != 0);
            ev.as_org = common::nonempty(s(&asys.name));
        }
    }
    ev.session_id = common::nonempty(a.session.as_ref().and_then(|x| s(&x.uid)));
    ev.device_id = common::nonempty(a.device.as_ref().and_then(|x| s(&x.uid)));
    ev.mfa = a.is_mfa.and_then(|f| f.0);
    ev.user_agent = common::nonempty(a.http_request.as_ref().and_then(|h| s(&h.user_agent)));
    ev.app = common::nonempty(a.service.as_ref().and_then(|x| s(&x.name)))
        .or_else(|| common::nonempty(a.dst_endpoint.as_ref().and_then(|d| s(&d.svc_name))));
    ev.tenant =
        common::nonempty(a.metadata.as_ref().and_then(|m| s(&m.tenant_uid))).or_else(|| {
            common::nonempty(
                a.cloud
                    .as_ref()
                    .and_then(|c| c.account.as_ref())
                    .and_then(|x| s(&x.uid)),
            )
        });
    ev.write(out);
    Ok(Filled::Event)
}
