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
use crate::lex::{self, Cursor, field, once, only};
use crate::number::{self, Float};
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default, Debug, PartialEq)]
struct User<'a> {
    #[serde(borrow, default)]
    email_addr: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Location<'a> {
    #[serde(default, deserialize_with = "number::opt_f64")]
    lat: Option<f64>,
    #[serde(default, deserialize_with = "number::opt_f64")]
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
/// element by element as `f64`s ([`Float`]: ±∞ beyond `f64`'s range), as a `Vec<f64>` was,
/// so a bad element is the same error.
#[derive(Default, Debug, PartialEq)]
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
                while let Some(Float(x)) = a.next_element::<Float>()? {
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

#[derive(Deserialize, Default, Debug, PartialEq)]
struct AutonomousSystem<'a> {
    #[serde(default)]
    number: Option<Num>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
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

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Uid<'a> {
    #[serde(borrow, default)]
    uid: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Metadata<'a> {
    #[serde(borrow, default)]
    uid: Option<Str<'a>>,
    #[serde(borrow, default)]
    tenant_uid: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct HttpRequest<'a> {
    #[serde(borrow, default)]
    user_agent: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Cloud<'a> {
    #[serde(borrow, default)]
    account: Option<Uid<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
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
    let mut a = Authentication::default();
    if fast(record, &mut a).is_none() {
        a = lex::decode_record(record)?;
    }
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
            ev.asn = number::asn(
                asys.number,
                "src_endpoint.autonomous_system.number",
                warnings,
            );
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

/// Reads an event into `a` with a [`Cursor`], as `okta::fast` does an Okta record: the
/// fields mapped are read where they lie, everything else is skipped (and checked) unbuilt,
/// and `None` — not UTF-8, an escaped key, a field given twice, anything the cursor is
/// unsure of — leaves the event to the derived `Deserialize`, whose result or error stands.
/// Values the cursor does not read itself (numbers other than plain integers, `is_mfa`
/// other than a plain string, escaped strings, wrong types) are decoded by serde from their
/// own slice, so an accepted event reads to the same [`Authentication`] as serde gives.
fn fast<'a>(record: &'a [u8], a: &mut Authentication<'a>) -> Option<()> {
    let mut c = Cursor::of_record(record)?;
    let mut seen = 0;
    c.object(|c, key| {
        let bit = match key {
            "class_uid" => 1,
            "activity_id" => 1 << 1,
            "time" => 1 << 2,
            "time_dt" => 1 << 3,
            "status_id" => 1 << 4,
            "user" => 1 << 5,
            "src_endpoint" => 1 << 6,
            "dst_endpoint" => 1 << 7,
            "session" => 1 << 8,
            "device" => 1 << 9,
            "service" => 1 << 10,
            "is_mfa" => 1 << 11,
            "http_request" => 1 << 12,
            "metadata" => 1 << 13,
            "cloud" => 1 << 14,
            _ => return c.skip(),
        };
        once(&mut seen, bit)?;
        match bit {
            1 => a.class_uid = c.opt_num()?,
            2 => a.activity_id = c.opt_num()?,
            4 => a.time = c.opt_num()?,
            8 => a.time_dt = c.opt_str(Str::borrowed)?,
            16 => a.status_id = c.opt_num()?,
            32 => {
                a.user = c.opt_struct(|c, u: &mut User<'a>| {
                    let mut seen = 0;
                    c.object(|c, key| match key {
                        "email_addr" => field(c, &mut seen, 1, &mut u.email_addr),
                        "name" => field(c, &mut seen, 2, &mut u.name),
                        _ => c.skip(),
                    })
                })?;
            }
            64 => a.src_endpoint = c.opt_struct(endpoint)?,
            128 => a.dst_endpoint = c.opt_struct(endpoint)?,
            256 => a.session = c.opt_struct(uid)?,
            512 => a.device = c.opt_struct(uid)?,
            1024 => a.service = c.opt_struct(uid)?,
            2048 => a.is_mfa = c.opt_flag()?,
            4096 => {
                a.http_request = c.opt_struct(|c, h: &mut HttpRequest<'a>| {
                    only(c, "user_agent", &mut h.user_agent)
                })?;
            }
            8192 => {
                a.metadata = c.opt_struct(|c, m: &mut Metadata<'a>| {
                    let mut seen = 0;
                    c.object(|c, key| match key {
                        "uid" => field(c, &mut seen, 1, &mut m.uid),
                        "tenant_uid" => field(c, &mut seen, 2, &mut m.tenant_uid),
                        _ => c.skip(),
                    })
                })?;
            }
            _ => {
                a.cloud = c.opt_struct(|c, cl: &mut Cloud<'a>| {
                    let mut seen = 0;
                    c.object(|c, key| match key {
                        "account" => {
                            once(&mut seen, 1)?;
                            cl.account = c.opt_struct(uid)?;
                            Some(())
                        }
                        _ => c.skip(),
                    })
                })?;
            }
        }
        Some(())
    })?;
    c.end()
}

/// `src_endpoint` / `dst_endpoint`, `location` and `autonomous_system` walked too.
fn endpoint<'a>(c: &mut Cursor<'a>, e: &mut Endpoint<'a>) -> Option<()> {
    let mut seen = 0;
    c.object(|c, key| match key {
        "ip" => field(c, &mut seen, 1, &mut e.ip),
        "svc_name" => field(c, &mut seen, 2, &mut e.svc_name),
        "location" => {
            once(&mut seen, 4)?;
            e.location = c.opt_struct(|c, l: &mut Location<'a>| {
                let mut seen = 0;
                c.object(|c, key| match key {
                    "city" => field(c, &mut seen, 1, &mut l.city),
                    "region" => field(c, &mut seen, 2, &mut l.region),
                    "country" => field(c, &mut seen, 4, &mut l.country),
                    "lat" => {
                        once(&mut seen, 8)?;
                        l.lat = c.opt_f64()?;
                        Some(())
                    }
                    "long" => {
                        once(&mut seen, 16)?;
                        l.long = c.opt_f64()?;
                        Some(())
                    }
                    "coordinates" => {
                        once(&mut seen, 32)?;
                        l.coordinates = coordinates(c)?;
                        Some(())
                    }
                    _ => c.skip(),
                })
            })?;
            Some(())
        }
        "autonomous_system" => {
            once(&mut seen, 8)?;
            e.autonomous_system = c.opt_struct(|c, x: &mut AutonomousSystem<'a>| {
                let mut seen = 0;
                c.object(|c, key| match key {
                    "number" => {
                        once(&mut seen, 1)?;
                        x.number = c.opt_num()?;
                        Some(())
                    }
                    "name" => field(c, &mut seen, 2, &mut x.name),
                    _ => c.skip(),
                })
            })?;
            Some(())
        }
        _ => c.skip(),
    })
}

/// `coordinates` as serde reads an `Option<Pair>`: an array of plain numbers is walked
/// (kept when it holds exactly two), `null` is `None`; an array with anything else in it —
/// serde's error, or a value the cursor leaves to serde — declines the record, and any
/// other value goes to serde.
fn coordinates(c: &mut Cursor<'_>) -> Option<Option<Pair>> {
    if c.peek()? != b'[' {
        return c.serde();
    }
    let (mut pair, mut n) = ([0.0; 2], 0usize);
    c.array(|c| {
        if !matches!(c.peek()?, b'-' | b'0'..=b'9') {
            return None;
        }
        let x = c.opt_f64()??;
        if let Some(slot) = pair.get_mut(n) {
            *slot = x;
        }
        n += 1;
        Some(())
    })?;
    Some(Some(Pair((n == 2).then_some(pair))))
}

/// `{"uid": …, "name": …}` (`session`, `device`, `service`, `cloud.account`).
fn uid<'a>(c: &mut Cursor<'a>, x: &mut Uid<'a>) -> Option<()> {
    let mut seen = 0;
    c.object(|c, key| match key {
        "uid" => field(c, &mut seen, 1, &mut x.uid),
        "name" => field(c, &mut seen, 2, &mut x.name),
        _ => c.skip(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::mutation::{Borrowed, fast_path_agrees_with_serde, lines};

    /// OCSF events to mutate: the golden input and hand-made ones for each branch of
    /// [`fast`].
    fn bases() -> Vec<Vec<u8>> {
        let golden: &[u8] = include_bytes!("../../cli/tests/data/ocsf/authentication_3002.jsonl");
        let mut bases: Vec<Vec<u8>> = lines(golden).collect();
        bases.extend(
            [
                r#"{"class_uid":3002,"activity_id":1,"time":1553705967245,"status_id":1,"user":{"email_addr":"a@b.c","name":"a"},"src_endpoint":{"ip":"203.0.113.10","location":{"lat":40.7,"long":-74.0,"city":"New York","region":"US-NY","country":"US"},"autonomous_system":{"number":64500,"name":"Example"}},"dst_endpoint":{"svc_name":"portal"},"session":{"uid":"s1"},"device":{"uid":"d1","name":"laptop"},"service":{"name":"Mail"},"is_mfa":"true","http_request":{"user_agent":"Mozilla/5.0 \"q\""},"metadata":{"uid":"m1","tenant_uid":"t1"},"cloud":{"account":{"uid":"123"}}}"#,
                r#"{"class_uid":"3002","activity_id":2.0,"time":1553705967245.5,"time_dt":"2019-03-27T16:59:27Z","status_id":null,"user":{"name":"\u0061"},"src_endpoint":{"ip":"[2001:db8::1]:443","location":{"coordinates":[8.54,47.37,400],"country":"Switzerland"},"autonomous_system":{"number":"64500","name":null}},"is_mfa":1,"cloud":{"account":null,"region":"x"}}"#,
                r#" { "class_uid" : 3002 , "time_dt" : "2019-03-27T16:59:27.5+01:00" , "user" : { "email_addr" : " " , "name" : "b" } , "src_endpoint" : { "location" : { "coordinates" : [ -74.01 , 40.3157 ] } } , "metadata" : null } "#,
                r#"{"class_uid":3002,"time":-0,"user":["a@b.c","a"],"src_endpoint":{"ip":"192.0.2.1","location":{"lat":91,"long":"x","coordinates":[1,null]}},"unmapped":{"a":[1,2,{"b":[true,false,null,-0.0e-1]}],"c":"\"\\\/\b\f\n\r\t"}}"#,
                r#"{"class_uid":4001,"time":1}"#,
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
        r#""src_endpoint":[],"#,
        r#""class_uid":3002,"#,
        r#""class_uid":"3002","#,
        r#""activity_id":2,"#,
        r#""time":1553705967245,"#,
        r#""time":-0,"#,
        r#""time":1e3,"#,
        r#""time":9223372036854775808,"#,
        r#""time_dt":"2024-13-01T00:00:00Z","#,
        r#""status_id":"1","#,
        r#""status_id":2,"#,
        r#""is_mfa":"Yes","#,
        r#""is_mfa":null,"#,
        r#""coordinates":[1,2],"#,
        r#""coordinates":[1,"x"],"#,
        r#""coordinates":{},"#,
        r#""coordinates":[],"#,
        r#""coordinates":[ 1 ],"#,
        r#""coordinates":[1,2,],"#,
        r#""coordinates":[-0.0,1e400],"#,
        r#""coordinates":null,"#,
        r#""lat":1e400,"#,
        r#""long":-0,"#,
        r#""number":"3320","#,
        r#""number":18446744073709551616,"#,
        r#""uid":7,"#,
        r#""email_addr":"","#,
        r#""x":[[[[{"y":[]}]]]],"#,
        r#""city":"Z\u00fcrich","#,
        r#""country":"\ud83d\ude00","#,
        r#""us\u0065r":{"name":"escaped key"},"#,
        "\"user_agent\":\"caf\u{e9} \\\"ua\\\"\",",
        r#""n":-01,"#,
        r#""n":1.,"#,
        r#""n":tru,"#,
        "\"tab\":\"a\tb\",",
    ];

    struct Borrows;
    impl Borrowed for Borrows {
        type Of<'a> = Authentication<'a>;
    }

    /// Every base serde takes the fast path takes, and all it accepts of 40,000 mutations
    /// it reads exactly as serde does.
    #[test]
    fn the_fast_path_reads_what_the_derived_deserialize_reads() {
        fast_path_agrees_with_serde::<Borrows>(&bases(), FRAGMENTS, 0x9fb2_1c65_1e98_df25, fast);
    }
}
