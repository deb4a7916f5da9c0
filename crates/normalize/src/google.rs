//! Google Workspace login audit: Admin SDK Reports API `activities`
//! (`applicationName=login`).
//!
//! Fields: `id{time, uniqueQualifier, applicationName, customerId}`, `actor{email}`,
//! `ipAddress`, `networkInfo{ipAsn[], regionCode}`, `events[{name, parameters[{name, value,
//! boolValue, multiValue}]}]`.
//!
//! One normalized event per activity, from its first sign-in event: `login_success`
//! (success), `login_failure` (failure), `login_challenge` / `login_verification` (outcome
//! from `login_challenge_status` — passed / failed —, else unknown). Activities with no
//! such event (`logout`, `account_disabled_*`, other applications) are skipped. Google
//! gives no activity id, so `event_id` is a stable hash of `id.time`,
//! `id.uniqueQualifier` and the event name. `mfa` is true when a `login_challenge_method`
//! other than a password was used.

use jetlag_event::{Outcome, SignIn, Source};
use std::fmt;
use std::io::Write;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use crate::common::{self, Draft, Num, Place, Str, Text, s};
use crate::lex::{self, Cursor, field, once, only};
use crate::number;
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Id<'a> {
    #[serde(borrow, default)]
    time: Option<Str<'a>>,
    #[serde(default)]
    unique_qualifier: Option<Num>,
    #[serde(borrow, default)]
    application_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    customer_id: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Actor<'a> {
    #[serde(borrow, default)]
    email: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parameter<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
    #[serde(default)]
    multi_value: Option<Methods>,
}

/// Whether a challenge method other than a password (or none) was used.
fn is_mfa_method(m: &str) -> bool {
    !m.eq_ignore_ascii_case("password") && !m.eq_ignore_ascii_case("none") && !m.is_empty()
}

/// `multiValue`: strings, of which only "is one an MFA method" is kept (no `Vec`).
struct Methods {
    mfa: bool,
}

impl<'de> Deserialize<'de> for Methods {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Methods;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Methods, A::Error> {
                let mut mfa = false;
                while let Some(m) = a.next_element::<Str<'de>>()? {
                    mfa |= is_mfa_method(&m);
                }
                Ok(Methods { mfa })
            }
        }
        d.deserialize_seq(V)
    }
}

/// An event's `parameters`, folded as they are read (no `Vec`): the value of the first
/// `login_challenge_status` and whether the first `login_challenge_method` names an MFA
/// method.
#[derive(Default)]
struct Params<'a> {
    status: Option<Option<Str<'a>>>,
    mfa: Option<bool>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Params<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Params<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Params<'de>, A::Error> {
                let mut out = Params::default();
                while let Some(p) = a.next_element::<Parameter<'de>>()? {
                    out.add(p);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'a> Params<'a> {
    /// Folds in one parameter: the one rule of the derived visitor and of [`fast`].
    fn add(&mut self, p: Parameter<'a>) {
        if self.status.is_none() && p.name == "login_challenge_status" {
            self.status = Some(p.value);
        } else if self.mfa.is_none() && p.name == "login_challenge_method" {
            self.mfa = Some(
                p.value.as_deref().is_some_and(is_mfa_method)
                    || p.multi_value.is_some_and(|m| m.mfa),
            );
        }
    }
}

#[derive(Deserialize, Default)]
struct Event<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    parameters: Params<'a>,
}

/// The activity's `events`, folded as they are read (no `Vec`): the first sign-in event's
/// name and outcome, and whether any event names an MFA challenge method.
#[derive(Default, Debug, PartialEq)]
struct Events<'a> {
    first: Option<(Str<'a>, Outcome)>,
    mfa: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for Events<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Events<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Events<'de>, A::Error> {
                let mut out = Events::default();
                while let Some(e) = a.next_element::<Event<'de>>()? {
                    out.add(e);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'a> Events<'a> {
    /// Folds in one event: the one rule of the derived visitor and of [`fast`].
    fn add(&mut self, e: Event<'a>) {
        self.mfa |= e.parameters.mfa == Some(true);
        if self.first.is_none() {
            let outcome = match s(&e.name) {
                Some("login_success") => Some(Outcome::Success),
                Some("login_failure") => Some(Outcome::Failure),
                Some("login_challenge" | "login_verification") => {
                    Some(challenge_outcome(&e.parameters))
                }
                _ => None,
            };
            if let (Some(outcome), Some(name)) = (outcome, e.name) {
                self.first = Some((name, outcome));
            }
        }
    }
}

/// The first element of `ipAsn` (read as numbers, no `Vec`).
#[derive(Default, Debug, PartialEq)]
struct FirstAsn(Option<Num>);

impl<'de> Deserialize<'de> for FirstAsn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstAsn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<FirstAsn, A::Error> {
                let mut first = None;
                while let Some(n) = a.next_element::<Num>()? {
                    first = first.or(Some(n));
                }
                Ok(FirstAsn(first))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct NetworkInfo<'a> {
    #[serde(default)]
    ip_asn: FirstAsn,
    #[serde(borrow, default)]
    region_code: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Activity<'a> {
    #[serde(borrow, default)]
    id: Option<Id<'a>>,
    #[serde(borrow, default)]
    actor: Option<Actor<'a>>,
    #[serde(borrow, default)]
    ip_address: Option<Str<'a>>,
    #[serde(borrow, default)]
    network_info: Option<NetworkInfo<'a>>,
    #[serde(borrow, default)]
    events: Events<'a>,
}

fn challenge_outcome(params: &Params<'_>) -> Outcome {
    let status = params.status.as_ref().and_then(s);
    let has = |v: &str, word: &str| {
        v.as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    };
    match status {
        Some(v) if has(v, "pass") || has(v, "success") => Outcome::Success,
        Some(v) if has(v, "fail") => Outcome::Failure,
        _ => Outcome::Unknown,
    }
}

/// Parses one Reports API activity.
///
/// # Errors
/// Not JSON / wrong types, no `id.time`, no `actor.email`.
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
    let mut act = Activity::default();
    if fast(record, &mut act).is_none() {
        act = lex::decode_record(record)?;
    }
    let skip = |reason| {
        Ok(Filled::Skipped(Skip {
            source: Source::Google,
            reason,
        }))
    };
    let id = act.id.unwrap_or_default();
    if s(&id.application_name).is_some_and(|a| a != "login") {
        return skip("not a login activity");
    }
    let Some((name, outcome)) = &act.events.first else {
        return skip("no sign-in event in the activity");
    };
    let outcome = *outcome;
    let time = common::required_time(s(&id.time), "id.time")?;
    let user = common::user(act.actor.as_ref().and_then(|a| s(&a.email)), "actor.email")?;
    // The qualifier as `Display` writes it, on the stack when it fits.
    let mut digits = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut digits[..]);
    let written = match id.unique_qualifier {
        Some(Num::Int(q)) => write!(cursor, "{q}").is_ok(),
        Some(Num::Float(q)) => write!(cursor, "{q}").is_ok(),
        Some(Num::Text) | None => true,
    };
    let long;
    let qualifier: &[u8] = if written {
        let n = cursor.position() as usize;
        &digits[..n]
    } else {
        long = match id.unique_qualifier {
            Some(Num::Float(q)) => q.to_string(),
            _ => String::new(),
        };
        long.as_bytes()
    };
    let event_id = common::hash_id([
        s(&id.time).unwrap_or_default().as_bytes(),
        qualifier,
        name.as_bytes(),
    ]);
    let mut ev = Draft::new(
        Text::Made(event_id),
        time,
        Source::Google,
        Text::Str(user),
        outcome,
    );
    ev.ip = common::ip(s(&act.ip_address), "ipAddress", warnings);
    ev.tenant = common::nonempty(s(&id.customer_id));
    ev.app = Some("google workspace");
    if act.events.mfa {
        ev.mfa = Some(true);
    }
    if let Some(net) = &act.network_info {
        ev.asn = number::asn(net.ip_asn.0, "networkInfo.ipAsn", warnings);
        ev.geo = common::geo(
            Place {
                country: s(&net.region_code),
                ..Place::default()
            },
            "networkInfo.regionCode",
            warnings,
        );
    }
    ev.write(out);
    Ok(Filled::Event)
}

/// Reads a record into `act` with a [`Cursor`], as [`crate::okta`]'s reader does: the
/// fields mapped are read where they lie — `events[].parameters[]` walked too, each
/// parameter folded by the same [`Params::add`] and each event by the same [`Events::add`]
/// as the derived visitors — and everything else is skipped unbuilt but checked. `None`
/// declines the record — not UTF-8, escaped keys, a field given twice, a parameter without
/// its `name`, anything the cursor is unsure of — and [`parse_into`] then runs the derived
/// `Deserialize`, whose result or error stands. Values the cursor does not read itself
/// (numbers, `ipAsn`, escaped strings, wrong types, an event or parameter that is not an
/// object) are decoded by serde from their own slice of the record, so an accepted record
/// reads to the same [`Activity`] as the derived `Deserialize` gives.
fn fast<'a>(record: &'a [u8], act: &mut Activity<'a>) -> Option<()> {
    let mut c = Cursor::of_record(record)?;
    let mut seen = 0;
    c.object(|c, key| match key {
        "id" => {
            once(&mut seen, 1)?;
            act.id = c.opt_struct(id_members)?;
            Some(())
        }
        "actor" => {
            once(&mut seen, 2)?;
            act.actor = c.opt_struct(|c, a: &mut Actor<'a>| only(c, "email", &mut a.email))?;
            Some(())
        }
        "ipAddress" => field(c, &mut seen, 4, &mut act.ip_address),
        "networkInfo" => {
            once(&mut seen, 8)?;
            act.network_info = c.opt_struct(|c, n: &mut NetworkInfo<'a>| {
                let mut seen = 0;
                c.object(|c, key| match key {
                    "ipAsn" => {
                        once(&mut seen, 1)?;
                        n.ip_asn = c.serde()?;
                        Some(())
                    }
                    "regionCode" => field(c, &mut seen, 2, &mut n.region_code),
                    _ => c.skip(),
                })
            })?;
            Some(())
        }
        "events" => {
            once(&mut seen, 16)?;
            act.events = events(c)?;
            Some(())
        }
        _ => c.skip(),
    })?;
    c.end()
}

/// `id`: its strings where they lie, `uniqueQualifier` (a number or a string holding one)
/// by [`qualifier`].
fn id_members<'a>(c: &mut Cursor<'a>, id: &mut Id<'a>) -> Option<()> {
    let mut seen = 0;
    c.object(|c, key| match key {
        "time" => field(c, &mut seen, 1, &mut id.time),
        "uniqueQualifier" => {
            once(&mut seen, 2)?;
            id.unique_qualifier = qualifier(c)?;
            Some(())
        }
        "applicationName" => field(c, &mut seen, 4, &mut id.application_name),
        "customerId" => field(c, &mut seen, 8, &mut id.customer_id),
        _ => c.skip(),
    })
}

/// `uniqueQualifier`: a plain string (Google's usual form) read where it lies by
/// [`Num::of_str`], as [`Num`]'s own `Deserialize` reads a string, anything else by
/// [`Cursor::opt_num`].
fn qualifier(c: &mut Cursor<'_>) -> Option<Option<Num>> {
    if c.peek()? != b'"' {
        return c.opt_num();
    }
    let text = c.opt_str(Str::borrowed)??;
    Some(Some(Num::of_str(&text)))
}

/// `events`: an array walked event by event into [`Events::add`], anything else through
/// serde (whose error declines the record).
fn events<'a>(c: &mut Cursor<'a>) -> Option<Events<'a>> {
    if c.peek()? != b'[' {
        return c.serde();
    }
    let mut out = Events::default();
    c.array(|c| {
        let e = if c.peek()? == b'{' {
            event(c)?
        } else {
            c.serde()?
        };
        out.add(e);
        Some(())
    })?;
    Some(out)
}

/// One event object: `name` and `parameters`.
fn event<'a>(c: &mut Cursor<'a>) -> Option<Event<'a>> {
    let mut e = Event::default();
    let mut seen = 0;
    c.object(|c, key| match key {
        "name" => field(c, &mut seen, 1, &mut e.name),
        "parameters" => {
            once(&mut seen, 2)?;
            e.parameters = params(c)?;
            Some(())
        }
        _ => c.skip(),
    })?;
    Some(e)
}

/// `parameters`: an array walked parameter by parameter into [`Params::add`], anything
/// else through serde.
fn params<'a>(c: &mut Cursor<'a>) -> Option<Params<'a>> {
    if c.peek()? != b'[' {
        return c.serde();
    }
    let mut out = Params::default();
    c.array(|c| {
        let p = if c.peek()? == b'{' {
            parameter(c)?
        } else {
            c.serde()?
        };
        out.add(p);
        Some(())
    })?;
    Some(out)
}

/// One parameter object: `name` (required: a missing or null name declines the record, as
/// the derived visitor rejects it), `value`, and `multiValue` walked as an array of strings
/// (anything else through serde).
fn parameter<'a>(c: &mut Cursor<'a>) -> Option<Parameter<'a>> {
    let (mut name, mut value, mut multi_value) = (None, None, None);
    let mut seen = 0;
    c.object(|c, key| match key {
        "name" => field(c, &mut seen, 1, &mut name),
        "value" => field(c, &mut seen, 2, &mut value),
        "multiValue" => {
            once(&mut seen, 4)?;
            multi_value = if c.peek()? == b'[' {
                let mut mfa = false;
                c.array(|c| {
                    // A string (`null` or another type is serde's error: decline).
                    let m = c.opt_str(Str::borrowed)??;
                    mfa |= is_mfa_method(&m);
                    Some(())
                })?;
                Some(Methods { mfa })
            } else {
                c.serde()?
            };
            Some(())
        }
        _ => c.skip(),
    })?;
    Some(Parameter {
        name: name?,
        value,
        multi_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::mutation::{Borrowed, fast_path_agrees_with_serde};

    /// Google records to mutate: every golden input (the page's `items` unpacked), the
    /// simulator's and the bench's shapes, and hand-made ones for each branch of [`fast`].
    /// (`tests/data/bad/` holds no Google record.)
    fn bases() -> Vec<Vec<u8>> {
        let page: serde_json::Value = serde_json::from_slice(include_bytes!(
            "../../cli/tests/data/google/reports_api_login_activities.json"
        ))
        .unwrap();
        let mut bases: Vec<Vec<u8>> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.to_string().into_bytes())
            .collect();
        bases.extend(
            [
                // The simulator's success and failure.
                r#"{"kind":"admin#reports#activity","id":{"time":"2024-04-01T09:00:00Z","uniqueQualifier":"-5124316719823411235","applicationName":"login","customerId":"C0000002"},"etag":"\"1d0e3f4a5b6c7d8e/9f0a1b2c3d4e5f60\"","actor":{"callerType":"USER","email":"user17@t2.example.com","profileId":"100000000000012345678"},"ipAddress":"241.3.0.17","events":[{"type":"login","name":"login_success","parameters":[{"name":"login_type","value":"google_password"},{"name":"login_challenge_method","multiValue":["password","google_authenticator"]},{"name":"is_suspicious","boolValue":false}]}]}"#,
                r#"{"kind":"admin#reports#activity","id":{"time":"2024-04-01T09:00:00Z","uniqueQualifier":"42","applicationName":"login","customerId":"C0000002"},"etag":"\"a/b\"","actor":{"callerType":"USER","email":"user17@t2.example.com","profileId":"1"},"ipAddress":"2001:db8::17","events":[{"type":"login","name":"login_failure","parameters":[{"name":"login_type","value":"google_password"},{"name":"login_challenge_method","multiValue":["password"]},{"name":"login_failure_type","value":"login_failure_invalid_password"},{"name":"is_suspicious","boolValue":false}]}]}"#,
                // Several events, the first not a sign-in; a challenge's status; numbers.
                r#"{"id":{"time":"2024-03-05T14:21:40.000Z","uniqueQualifier":1122334455,"applicationName":"login","customerId":"C03az79cb"},"actor":{"email":"liz@example.com"},"ipAddress":"203.0.113.42","networkInfo":{"ipAsn":[15169,36040],"regionCode":"US","subdivisionCode":"US-CA"},"events":[{"type":"login","name":"logout"},{"name":"login_challenge","parameters":[{"name":"login_challenge_status","value":"Challenge Failed"},{"name":"login_challenge_status","value":"passed"},{"name":"login_challenge_method","value":"idv_preregistered_phone"},{"name":"login_challenge_method","value":"password"}]},{"name":"login_success","parameters":[{"name":"login_challenge_method","multiValue":["none","security_key"]}]}]}"#,
                // Other types serde accepts: arrays for structs, nulls, escaped strings,
                // strings for numbers, whitespace everywhere.
                r#" { "id" : [ "2024-03-05T14:21:40Z" , 1.5e3 , "login" , null ] , "actor" : null , "ipAddress" : null , "networkInfo" : { "ipAsn" : [ "64500" , 1 ] , "regionCode" : null } , "events" : [ [ "login_verification" , [ [ "login_challenge_method" , null , [ "sms" ] ] ] ] ] } "#,
                r#"{"id":{"time":"2024-03-05T14:21:40Z","uniqueQualifier":"x","applicationName":"login"},"actor":{"email":"a\u0040b.c"},"ipAddress":"192.0.2.\u0031","networkInfo":null,"events":[{"name":"login_ch\u0061llenge","parameters":[{"name":"login_challenge_st\u0061tus","value":"\u0050assed","multiValue":null},{"name":"login_challenge_method","value":null,"multiValue":["p\u0061ssword","\u0070asskey"]}]}]}"#,
                r#"{"id":{"time":"2024-03-05T16:00:00Z","uniqueQualifier":18446744073709551616,"applicationName":"drive"},"actor":{"email":"bob@example.com"},"events":[],"networkInfo":{"ipAsn":[]}}"#,
                r#"{"id":null,"events":[{"name":null,"parameters":[]},{"parameters":[{"name":"x","boolValue":true,"intValue":"3","multiIntValue":[1,2]}]}],"etag":{"a":[1,{"b":[true,false,null,-0.0e-1]}],"c":"\"\\\/\b\f\n\r\t"}}"#,
                "{}",
            ]
            .map(|r| r.as_bytes().to_vec()),
        );
        bases
    }

    /// Bits of JSON a mutation inserts: fields given twice, in other types, escapes, deep
    /// and odd values, broken tokens — at the top, in `id`, in an event or a parameter.
    const FRAGMENTS: &[&str] = &[
        r#""ipAddress":"192.0.2.9","#,
        r#""ipAddress":7,"#,
        r#""id":null,"#,
        r#""id":[],"#,
        r#""time":"2024-13-01T00:00:00Z","#,
        r#""time":1,"#,
        r#""uniqueQualifier":"-1","#,
        r#""uniqueQualifier":-0.0,"#,
        r#""uniqueQualifier":1e400,"#,
        r#""uniqueQualifier":"1\u0032","#,
        r#""applicationName":"token","#,
        r#""customerId":"C\/1","#,
        r#""email":"a@b.c","#,
        r#""email":null,"#,
        r#""actor":{"email":"\ud83d\ude00@b.c"},"#,
        r#""networkInfo":{"ipAsn":[18446744073709551616],"regionCode":"GB"},"#,
        r#""networkInfo":{"ipAsn":null},"#,
        r#""ipAsn":["x",2.5],"#,
        r#""regionCode":"\u0044E","#,
        r#""events":null,"#,
        r#""events":[{"name":"login_success"}],"#,
        r#""events":{"name":"login_success"},"#,
        r#""name":"login_failure","#,
        r#""name":"login_challenge","#,
        r#""name":"login_challenge_status","value":"passed","#,
        r#""name":"login_challenge_method","multiValue":["sms"],"#,
        r#""name":null,"#,
        r#""name":["x"],"#,
        r#""value":"Challenge Passed","#,
        r#""value":1,"#,
        r#""multiValue":["password",null],"#,
        r#""multiValue":["s\u006ds",7],"#,
        r#""multiValue":"sms","#,
        r#""multiValue":null,"#,
        r#""parameters":null,"#,
        r#""parameters":[["login_challenge_method","u2f"]],"#,
        r#""parameters":[{"value":"x"}],"#,
        r#""boolValue":"yes","#,
        r#""n\u0061me":"escaped key","#,
        r#""x":[[[[{"y":[]}]]]],"#,
        r#""n":-01,"#,
        r#""n":1.,"#,
        r#""n":tru,"#,
        "\"tab\":\"a\tb\",",
    ];

    struct Borrows;
    impl Borrowed for Borrows {
        type Of<'a> = Activity<'a>;
    }

    /// Every base serde takes (arrays for structs, escaped values, strings for numbers...)
    /// the fast path takes, and all it accepts of 40,000 mutations it reads exactly as serde
    /// does.
    #[test]
    fn the_fast_path_reads_what_the_derived_deserialize_reads() {
        fast_path_agrees_with_serde::<Borrows>(&bases(), FRAGMENTS, 0x6a09_e667_f3bc_c908, fast);
    }
}
