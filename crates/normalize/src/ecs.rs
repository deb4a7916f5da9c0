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
use crate::lex::{self, Cursor, field, lat_lon, once, only};
use crate::number;
use crate::{Error, Filled, Parsed, Skip, Warning};

/// `event.category`: a keyword or an array of keywords — of which only whether
/// `authentication` is one matters, so nothing is kept (no `Vec`). Anything else is
/// rejected with the words serde's `#[serde(untagged)]` enum of the two shapes used, after
/// the whole value is read, as it did.
#[derive(Debug, PartialEq)]
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

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Event<'a> {
    #[serde(default)]
    category: Option<Keywords>,
    #[serde(borrow, default)]
    outcome: Option<Str<'a>>,
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct User<'a> {
    #[serde(borrow, default)]
    email: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Point {
    #[serde(default, deserialize_with = "number::opt_f64")]
    lat: Option<f64>,
    #[serde(default, deserialize_with = "number::opt_f64")]
    lon: Option<f64>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
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

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Named<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct As<'a> {
    #[serde(default)]
    number: Option<Num>,
    #[serde(borrow, default)]
    organization: Option<Named<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct SourceField<'a> {
    #[serde(borrow, default)]
    ip: Option<Str<'a>>,
    #[serde(borrow, default)]
    geo: Option<SourceGeo<'a>>,
    #[serde(borrow, default, rename = "as")]
    asys: Option<As<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Ided<'a> {
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Original<'a> {
    #[serde(borrow, default)]
    original: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Cloud<'a> {
    #[serde(borrow, default)]
    account: Option<Ided<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
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
    let mut d = Document::default();
    if fast(record, &mut d).is_none() {
        d = lex::decode_record(record)?;
    }
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
            ev.asn = number::asn(asys.number, "source.as.number", warnings);
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

/// Reads a document into `d` with a [`Cursor`], as `okta::fast` does an Okta record: the
/// fields mapped are read where they lie, everything else is skipped (and checked) unbuilt,
/// and `None` — not UTF-8, an escaped key, a field given twice, anything the cursor is
/// unsure of — leaves the document to the derived `Deserialize`, whose result or error
/// stands. Values the cursor does not read itself (an `as.number` other than a plain
/// integer, a `category` array, escaped strings, wrong types) are decoded by serde from
/// their own slice, so an accepted document reads to the same [`Document`] as serde gives.
fn fast<'a>(record: &'a [u8], d: &mut Document<'a>) -> Option<()> {
    let mut c = Cursor::of_record(record)?;
    let mut seen = 0;
    c.object(|c, key| {
        let bit = match key {
            "@timestamp" => 1,
            "event" => 1 << 1,
            "user" => 1 << 2,
            "source" => 1 << 3,
            "user_agent" => 1 << 4,
            "host" => 1 << 5,
            "device" => 1 << 6,
            "organization" => 1 << 7,
            "cloud" => 1 << 8,
            "service" => 1 << 9,
            "session" => 1 << 10,
            _ => return c.skip(),
        };
        once(&mut seen, bit)?;
        match bit {
            1 => d.timestamp = c.opt_str(Str::borrowed)?,
            2 => d.event = c.opt_struct(event)?,
            4 => {
                d.user = c.opt_struct(|c, u: &mut User<'a>| {
                    let mut seen = 0;
                    c.object(|c, key| match key {
                        "email" => field(c, &mut seen, 1, &mut u.email),
                        "name" => field(c, &mut seen, 2, &mut u.name),
                        _ => c.skip(),
                    })
                })?;
            }
            8 => d.source = c.opt_struct(source)?,
            16 => {
                d.user_agent =
                    c.opt_struct(|c, o: &mut Original<'a>| only(c, "original", &mut o.original))?;
            }
            32 => d.host = c.opt_struct(ided_struct)?,
            64 => d.device = c.opt_struct(ided_struct)?,
            128 => d.organization = c.opt_struct(ided_struct)?,
            256 => {
                d.cloud = c.opt_struct(|c, cl: &mut Cloud<'a>| {
                    let mut seen = 0;
                    c.object(|c, key| match key {
                        "account" => {
                            once(&mut seen, 1)?;
                            cl.account = c.opt_struct(ided_struct)?;
                            Some(())
                        }
                        _ => c.skip(),
                    })
                })?;
            }
            512 => d.service = c.opt_struct(named)?,
            _ => d.session = c.opt_struct(ided_struct)?,
        }
        Some(())
    })?;
    c.end()
}

/// `event`: a plain `category` keyword read where it lies, an array (or anything else)
/// through serde.
fn event<'a>(c: &mut Cursor<'a>, e: &mut Event<'a>) -> Option<()> {
    let mut seen = 0;
    c.object(|c, key| match key {
        "category" => {
            once(&mut seen, 1)?;
            e.category = c.opt_str(|v| Keywords {
                authentication: v == "authentication",
            })?;
            Some(())
        }
        "outcome" => field(c, &mut seen, 2, &mut e.outcome),
        "id" => field(c, &mut seen, 4, &mut e.id),
        _ => c.skip(),
    })
}

/// `source`, its `geo` and `as` walked too.
fn source<'a>(c: &mut Cursor<'a>, src: &mut SourceField<'a>) -> Option<()> {
    let mut seen = 0;
    c.object(|c, key| match key {
        "ip" => field(c, &mut seen, 1, &mut src.ip),
        "geo" => {
            once(&mut seen, 2)?;
            src.geo = c.opt_struct(|c, g: &mut SourceGeo<'a>| {
                let mut seen = 0;
                c.object(|c, key| match key {
                    "city_name" => field(c, &mut seen, 1, &mut g.city_name),
                    "region_name" => field(c, &mut seen, 2, &mut g.region_name),
                    "country_iso_code" => field(c, &mut seen, 4, &mut g.country_iso_code),
                    "country_name" => field(c, &mut seen, 8, &mut g.country_name),
                    "location" => {
                        once(&mut seen, 16)?;
                        g.location =
                            c.opt_struct(|c, p: &mut Point| lat_lon(c, &mut p.lat, &mut p.lon))?;
                        Some(())
                    }
                    _ => c.skip(),
                })
            })?;
            Some(())
        }
        "as" => {
            once(&mut seen, 4)?;
            src.asys = c.opt_struct(|c, a: &mut As<'a>| {
                let mut seen = 0;
                c.object(|c, key| match key {
                    "number" => {
                        once(&mut seen, 1)?;
                        a.number = c.opt_num()?;
                        Some(())
                    }
                    "organization" => {
                        once(&mut seen, 2)?;
                        a.organization = c.opt_struct(named)?;
                        Some(())
                    }
                    _ => c.skip(),
                })
            })?;
            Some(())
        }
        _ => c.skip(),
    })
}

/// `{"id": …}` (`host`, `device`, `organization`, `session`, `cloud.account`).
fn ided_struct<'a>(c: &mut Cursor<'a>, x: &mut Ided<'a>) -> Option<()> {
    only(c, "id", &mut x.id)
}

/// `{"name": …}` (`service`, `as.organization`).
fn named<'a>(c: &mut Cursor<'a>, x: &mut Named<'a>) -> Option<()> {
    only(c, "name", &mut x.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::mutation::{Borrowed, fast_path_agrees_with_serde, lines};

    /// ECS documents to mutate: the golden input and hand-made ones for each branch of
    /// [`fast`].
    fn bases() -> Vec<Vec<u8>> {
        let golden: &[u8] = include_bytes!("../../cli/tests/data/ecs/authentication_events.jsonl");
        let mut bases: Vec<Vec<u8>> = lines(golden).collect();
        bases.extend(
            [
                r#"{"@timestamp":"2024-02-10T08:15:00.123Z","event":{"kind":"event","category":["authentication"],"type":["start"],"outcome":"success","action":"ssh_login","dataset":"system.auth","id":"evt-1"},"user":{"name":"user1"},"source":{"ip":"198.51.0.1","port":51122,"geo":{"city_name":"Berlin","country_iso_code":"DE","country_name":"Germany","location":{"lat":52.52,"lon":13.405},"region_name":"Land Berlin"},"as":{"number":3320,"organization":{"name":"Deutsche Telekom AG"}}},"host":{"id":"8b1c2d3e4f5a6b7c","name":"bastion-1"},"service":{"name":"sshd"}}"#,
                r#"{"@timestamp":"2024-02-10T08:16:30+01:00","event":{"category":"authentication","outcome":"failure"},"user":{"email":"b@x.org","name":"b"},"source":{"ip":"[2001:db8::1]:22","geo":{"country_name":"Côte d'Ivoire","location":{"lat":5.3,"lon":-4.0}},"as":{"number":"64500","organization":null}},"device":{"id":"dev-1"},"cloud":{"account":{"id":"123456789012"},"provider":"aws"},"session":{"id":"s-1"},"user_agent":{"original":"Mozilla/5.0 \"quoted\""}}"#,
                r#" { "@timestamp" : "2024-02-10T08:17:00Z" , "event" : { "category" : [ "iam" , "authentication" ] , "outcome" : null , "id" : null } , "user" : { "name" : "\u0061lice" } , "source" : null , "host" : null , "organization" : { "id" : "org" } , "service" : { "name" : null } } "#,
                r#"{"@timestamp":"2024-02-10T08:17:00Z","event":{"category":["authentication",7]},"user":{"name":"x"}}"#,
                r#"{"@timestamp":"2024-02-10T08:17:00Z","event":{"category":{"a":1}},"user":{"name":"x"}}"#,
                r#"{"@timestamp":"2024-02-10T08:17:00Z","event":["authentication"],"user":["x"],"source":{"ip":"192.0.2.1","geo":{"location":{"lat":91,"lon":"x"}}},"labels":{"a":[1,2,{"b":[true,false,null,-0.0e-1]}],"c":"\"\\\/\b\f\n\r\t"}}"#,
            ]
            .map(|r| r.as_bytes().to_vec()),
        );
        bases
    }

    /// Bits of JSON a mutation inserts: fields given twice, in other types, escapes, deep
    /// and odd values, broken tokens.
    const FRAGMENTS: &[&str] = &[
        r#""ip":"192.0.2.9","#,
        r#""user":null,"#,
        r#""source":[],"#,
        r#""@timestamp":1,"#,
        r#""@timestamp":"2024-13-01T00:00:00Z","#,
        r#""category":"authentication","#,
        r#""category":["process","authentication"],"#,
        r#""category":[null],"#,
        r#""category":"auth\u0065ntication","#,
        r#""outcome":"success","#,
        r#""id":"e\u0041","#,
        r#""location":{"lat":1e400,"lon":"x"},"#,
        r#""location":{"lat":-0,"lon":1E2,"lat":3},"#,
        r#""location":{"lat":12345678901234567890,"lon":4.9e-324},"#,
        r#""location":{"lat":"40.1","lon":null},"#,
        r#""number":"3320","#,
        r#""number":18446744073709551616,"#,
        r#""number":-1,"#,
        r#""organization":{"name":"Org"},"#,
        r#""account":{"id":7},"#,
        r#""email":"","#,
        r#""name":7,"#,
        r#""x":[[[[{"y":[]}]]]],"#,
        r#""city_name":"Z\u00fcrich","#,
        r#""country_iso_code":"\ud83d\ude00","#,
        r#""us\u0065r":{"name":"escaped key"},"#,
        "\"original\":\"caf\u{e9} \\\"ua\\\"\",",
        r#""n":-01,"#,
        r#""n":1.,"#,
        r#""n":tru,"#,
        "\"tab\":\"a\tb\",",
    ];

    struct Borrows;
    impl Borrowed for Borrows {
        type Of<'a> = Document<'a>;
    }

    /// Every base serde takes the fast path takes, and all it accepts of 40,000 mutations
    /// it reads exactly as serde does.
    #[test]
    fn the_fast_path_reads_what_the_derived_deserialize_reads() {
        fast_path_agrees_with_serde::<Borrows>(&bases(), FRAGMENTS, 0x2545_f491_4f6c_dd1d, fast);
    }
}
