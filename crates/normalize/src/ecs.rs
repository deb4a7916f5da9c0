//! Elastic Common Schema documents with `event.category: authentication`.
//!
//! Fields: `@timestamp`, `event{category, outcome, id}`, `user{email, name}`,
//! `source{ip, geo{location{lat, lon}, city_name, region_name, country_iso_code,
//! country_name}, as{number, organization.name}}`, `user_agent.original`,
//! `host.id` / `device.id`, `organization.id` / `cloud.account.id`, `service.name`.
//!
//! Documents of other categories are skipped. `user` is `user.email`, else `user.name`.
//! `event.outcome` is `success`, `failure` or `unknown` already.

use jetlag_event::{Outcome, SignIn, Source};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};

use crate::common::{self, Draft, Num, Place, Str, Text, s};
use crate::{Error, Filled, Parsed, Skip, Warning};

/// `event.category`: a keyword or an array of keywords — of which only whether
/// `authentication` is one matters, so nothing is kept (no `Vec`). Anything else is
/// rejected with the words serde's `#[serde(untagged)]` enum of the two shapes used, after
/// the whole value is read, as it did.
struct Keywords {
    authentication: bool,
}

impl<'de> Deserialize<'de> for Keywords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const WORD: &str = "authentication";
        fn mismatch<E: de::Error>() -> E {
            E::custom("data did not match any variant of untagged enum Keywords")
        }
        /// One element of the array: a string, or anything else (read whole).
        struct Element(Option<bool>);
        impl<'de> Deserialize<'de> for Element {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Element;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("any JSON value")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<Element, E> {
                        Ok(Element(Some(v == WORD)))
                    }
                    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element, E> {
                        Ok(Element(None))
                    }
                    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element, E> {
                        Ok(Element(None))
                    }
                    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element, E> {
                        Ok(Element(None))
                    }
                    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element, E> {
                        Ok(Element(None))
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
                        Ok(Element(None))
                    }
                    fn visit_seq<A: de::SeqAccess<'de>>(
                        self,
                        mut a: A,
                    ) -> Result<Element, A::Error> {
                        while a.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(Element(None))
                    }
                    fn visit_map<A: de::MapAccess<'de>>(
                        self,
                        mut a: A,
                    ) -> Result<Element, A::Error> {
                        while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                        Ok(Element(None))
                    }
                }
                d.deserialize_any(V)
            }
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keywords;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a keyword or an array of keywords")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Keywords, E> {
                Ok(Keywords {
                    authentication: v == WORD,
                })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Keywords, A::Error> {
                let (mut found, mut bad) = (false, false);
                while let Some(Element(e)) = a.next_element()? {
                    match e {
                        Some(is) => found |= is,
                        None => bad = true,
                    }
                }
                if bad {
                    return Err(mismatch());
                }
                Ok(Keywords {
                    authentication: found,
                })
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Keywords, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Err(mismatch())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Keywords, E> {
                Err(mismatch())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Keywords, E> {
                Err(mismatch())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Keywords, E> {
                Err(mismatch())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Keywords, E> {
                Err(mismatch())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Keywords, E> {
                Err(mismatch())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
struct Event<'a> {
    #[serde(default)]
    category: Option<Keywords>,
    #[serde(borrow, default)]
    outcome: Option<Str<'a>>,
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
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
struct Named<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct As<'a> {
    #[serde(default)]
    number: Option<Num>,
    #[serde(borrow, default)]
    organization: Option<Named<'a>>,
}

#[derive(Deserialize, Default)]
struct SourceField<'a> {
    #[serde(borrow, default)]
    ip: Option<Str<'a>>,
    #[serde(borrow, default)]
    geo: Option<SourceGeo<'a>>,
    #[serde(borrow, default, rename = "as")]
    asys: Option<As<'a>>,
}

#[derive(Deserialize, Default)]
struct Ided<'a> {
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Original<'a> {
    #[serde(borrow, default)]
    original: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Cloud<'a> {
    #[serde(borrow, default)]
    account: Option<Ided<'a>>,
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
    #[serde(borrow, default)]
    user_agent: Option<Original<'a>>,
    #[serde(borrow, default)]
    host: Option<Ided<'a>>,
    #[serde(borrow, default)]
    device: Option<Ided<'a>>,
    #[serde(borrow, default)]
    organization: Option<Ided<'a>>,
    #[serde(borrow, default)]
    cloud: Option<Cloud<'a>>,
    #[serde(borrow, default)]
    service: Option<Named<'a>>,
    #[serde(borrow, default)]
    session: Option<Ided<'a>>,
}

/// `{"id": …}`'s id, when not blank.
fn ided<'b>(x: &'b Option<Ided<'_>>) -> Option<&'b str> {
    common::nonempty(x.as_ref().and_then(|x| s(&x.id)))
}

/// Parses one ECS document.
///
/// # Errors
/// Not JSON / wrong types, no `@timestamp`, no user.
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
    let d: Document<'_> = common::decode(record)?;
    let event = d.event.unwrap_or_default();
    if !event.category.as_ref().is_some_and(|c| c.authentication) {
        return Ok(Filled::Skipped(Skip {
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
    let event_id = match common::nonempty(s(&event.id)) {
        Some(id) => Text::Str(id),
        None => Text::Made(common::hash_id([record])),
    };
    let mut ev = Draft::new(event_id, time, Source::Ecs, Text::Str(user), outcome);
    if let Some(src) = &d.source {
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
        if let Some(asys) = &src.asys {
            ev.asn = asys
                .number
                .and_then(Num::as_i64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n != 0);
            ev.as_org = common::nonempty(asys.organization.as_ref().and_then(|o| s(&o.name)));
        }
    }
    ev.user_agent = common::nonempty(d.user_agent.as_ref().and_then(|u| s(&u.original)));
    ev.device_id = ided(&d.device).or_else(|| ided(&d.host));
    ev.tenant = ided(&d.organization).or_else(|| {
        common::nonempty(
            d.cloud
                .as_ref()
                .and_then(|c| c.account.as_ref())
                .and_then(|x| s(&x.id)),
        )
    });
    ev.app = common::nonempty(d.service.as_ref().and_then(|x| s(&x.name)));
    ev.session_id = ided(&d.session);
    ev.write(out);
    Ok(Filled::Event)
}
