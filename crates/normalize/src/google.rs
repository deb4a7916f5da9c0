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
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default)]
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

#[derive(Deserialize, Default)]
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
                    if out.status.is_none() && p.name == "login_challenge_status" {
                        out.status = Some(p.value);
                    } else if out.mfa.is_none() && p.name == "login_challenge_method" {
                        out.mfa = Some(
                            p.value.as_deref().is_some_and(is_mfa_method)
                                || p.multi_value.is_some_and(|m| m.mfa),
                        );
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    parameters: Params<'a>,
}

/// The activity's `events`, folded as they are read (no `Vec`): the first sign-in event's
/// name and outcome, and whether any event names an MFA challenge method.
#[derive(Default)]
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
                    out.mfa |= e.parameters.mfa == Some(true);
                    if out.first.is_none() {
                        let outcome = match s(&e.name) {
                            Some("login_success") => Some(Outcome::Success),
                            Some("login_failure") => Some(Outcome::Failure),
                            Some("login_challenge" | "login_verification") => {
                                Some(challenge_outcome(&e.parameters))
                            }
                            _ => None,
                        };
                        if let (Some(outcome), Some(name)) = (outcome, e.name) {
                            out.first = Some((name, outcome));
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

/// The first element of `ipAsn` (read as numbers, no `Vec`).
#[derive(Default)]
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

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NetworkInfo<'a> {
    #[serde(default)]
    ip_asn: FirstAsn,
    #[serde(borrow, default)]
    region_code: Option<Str<'a>>,
}

#[derive(Deserialize)]
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
    let act: Activity<'_> = common::decode(record)?;
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
        ev.asn = net
            .ip_asn
            .0
            .and_then(Num::as_i64)
            .and_then(|a| u32::try_from(a).ok())
            .filter(|a| *a != 0);
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
