//! Elastic Common Schema documents with `event.category: authentication`.
//!
//! Fields: `@timestamp`, `event{category, outcome, id}`, `user{email, name}`,
//! `source{ip, geo{location{lat, lon}, city_name, region_name, country_iso_code,
//! country_name}, as{number, organization.name}}`, `user_agent.original`,
//! `host.id` / `device.id`, `organization.id` / `cloud.account.id`, `service.name`.
//!
//! Documents of other categories are skipped. `user` is `user.email`, else `user.name`.
//! `event.outcome` is `success`, `failure` or `unknown` already.

use compact_str::CompactString;
use jetlag_event::{Outcome, SignIn, Source};
use serde::Deserialize;

use crate::common::{self, Num, Place, Str, s};
use crate::{Error, Parsed, Skip, Warning};

/// `event.category`: a keyword or an array of keywords.
#[derive(Deserialize)]
#[serde(untagged)]
enum Keywords<'a> {
    One(#[serde(borrow)] Str<'a>),
    Many(#[serde(borrow)] Vec<Str<'a>>),
}

impl Keywords<'_> {
    fn contains(&self, word: &str) -> bool {
        match self {
            Keywords::One(k) => k == word,
            Keywords::Many(ks) => ks.iter().any(|k| k == word),
        }
    }
}

#[derive(Deserialize, Default)]
struct Event<'a> {
    #[serde(borrow, default)]
    category: Option<Keywords<'a>>,
    #[serde(borrow, default)]
    outcome: Option<Str<'a>>,
    #[serde(default)]
    id: Option<CompactString>,
}

#[derive(Deserialize, Default)]
struct User<'a> {
    #[serde(borrow, default)]
    email: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Point {
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    lon: Option<f64>,
}

#[derive(Deserialize, Default)]
struct SourceGeo<'a> {
    #[serde(default)]
    location: Option<Point>,
    #[serde(borrow, default)]
    city_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    region_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    country_iso_code: Option<Str<'a>>,
    #[serde(borrow, default)]
    country_name: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Named {
    #[serde(default)]
    name: Option<CompactString>,
}

#[derive(Deserialize, Default)]
struct As {
    #[serde(default)]
    number: Option<Num>,
    #[serde(default)]
    organization: Option<Named>,
}

#[derive(Deserialize, Default)]
struct SourceField<'a> {
    #[serde(borrow, default)]
    ip: Option<Str<'a>>,
    #[serde(borrow, default)]
    geo: Option<SourceGeo<'a>>,
    #[serde(default, rename = "as")]
    asys: Option<As>,
}

#[derive(Deserialize, Default)]
struct Ided {
    #[serde(default)]
    id: Option<CompactString>,
}

#[derive(Deserialize, Default)]
struct Original {
    #[serde(default)]
    original: Option<CompactString>,
}

#[derive(Deserialize, Default)]
struct Cloud {
    #[serde(default)]
    account: Option<Ided>,
}

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow, default, rename = "@timestamp")]
    timestamp: Option<Str<'a>>,
    #[serde(borrow, default)]
    event: Option<Event<'a>>,
    #[serde(borrow, default)]
    user: Option<User<'a>>,
    #[serde(borrow, default)]
    source: Option<SourceField<'a>>,
    #[serde(default)]
    user_agent: Option<Original>,
    #[serde(default)]
    host: Option<Ided>,
    #[serde(default)]
    device: Option<Ided>,
    #[serde(default)]
    organization: Option<Ided>,
    #[serde(default)]
    cloud: Option<Cloud>,
    #[serde(default)]
    service: Option<Named>,
    #[serde(default)]
    session: Option<Ided>,
}

/// Parses one ECS document.
///
/// # Errors
/// Not JSON / wrong types, no `@timestamp`, no user.
pub fn parse(record: &[u8], warnings: &mut Vec<Warning>) -> Result<Parsed, Error> {
    let d: Document<'_> = common::decode(record)?;
    let event = d.event.unwrap_or_default();
    if !event
        .category
        .as_ref()
        .is_some_and(|c| c.contains("authentication"))
    {
        return Ok(Parsed::Skipped(Skip {
            source: Source::Ecs,
            reason: "event.category is not authentication",
        }));
    }
    let time = common::required_time(s(&d.timestamp), "@timestamp")?;
    let user = d.user.as_ref();
    let user = common::user(
        user.and_then(|u| s(&u.email).filter(|e| !e.trim().is_empty()).or(s(&u.name))),
        "user.name",
    )?;
    let outcome = match s(&event.outcome) {
        Some("success") => Outcome::Success,
        Some("failure") => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    let event_id = match common::nonempty(event.id) {
        Some(id) => id,
        None => common::hash_id([record]),
    };
    let mut ev = SignIn::new(event_id, time, Source::Ecs, user, outcome);
    if let Some(src) = d.source {
        ev.ip = common::ip(s(&src.ip), "source.ip", warnings);
        if let Some(g) = &src.geo {
            let point = g.location.as_ref();
            ev.geo = common::geo(
                Place {
                    lat: point.and_then(|p| p.lat),
                    lon: point.and_then(|p| p.lon),
                    radius_km: None,
                    city: s(&g.city_name),
                    region: s(&g.region_name),
                    country: s(&g.country_iso_code).or(s(&g.country_name)),
                },
                "source.geo",
                warnings,
            );
        }
        if let Some(asys) = src.asys {
            ev.asn = asys
                .number
                .and_then(Num::as_i64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n != 0);
            ev.as_org = common::nonempty(asys.organization.and_then(|o| o.name));
        }
    }
    ev.user_agent = common::nonempty(d.user_agent.and_then(|u| u.original));
    ev.device_id = common::nonempty(d.device.and_then(|x| x.id))
        .or_else(|| common::nonempty(d.host.and_then(|x| x.id)));
    ev.tenant = common::nonempty(d.organization.and_then(|x| x.id))
        .or_else(|| common::nonempty(d.cloud.and_then(|c| c.account).and_then(|x| x.id)));
    ev.app = common::nonempty(d.service.and_then(|x| x.name));
    ev.session_id = common::nonempty(d.session.and_then(|x| x.id));
    Ok(Parsed::Event(ev))
}
