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
use serde::Deserialize;

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
    #[serde(borrow, default)]
    multi_value: Option<Vec<Str<'a>>>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    parameters: Vec<Parameter<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NetworkInfo<'a> {
    #[serde(default)]
    ip_asn: Vec<Num>,
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
    events: Vec<Event<'a>>,
}

impl<'a> Event<'a> {
    fn param(&self, name: &str) -> Option<&Parameter<'a>> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

fn challenge_outcome(event: &Event<'_>) -> Outcome {
    let status = event
        .param("login_challenge_status")
        .and_then(|p| s(&p.value));
    match status.map(str::to_ascii_lowercase).as_deref() {
        Some(v) if v.contains("pass") || v.contains("success") => Outcome::Success,
        Some(v) if v.contains("fail") => Outcome::Failure,
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
    let found = act.events.iter().find_map(|e| {
        let outcome = match s(&e.name)? {
            "login_success" => Outcome::Success,
            "login_failure" => Outcome::Failure,
            "login_challenge" | "login_verification" => challenge_outcome(e),
            _ => return None,
        };
        Some((e, outcome))
    });
    let Some((event, outcome)) = found else {
        return skip("no sign-in event in the activity");
    };
    let time = common::required_time(s(&id.time), "id.time")?;
    let user = common::user(act.actor.as_ref().and_then(|a| s(&a.email)), "actor.email")?;
    let qualifier = match id.unique_qualifier {
        Some(Num::Int(q)) => q.to_string(),
        Some(Num::Float(q)) => q.to_string(),
        Some(Num::Text) | None => String::new(),
    };
    let name = s(&event.name).unwrap_or_default();
    let event_id = common::hash_id([
        s(&id.time).unwrap_or_default().as_bytes(),
        qualifier.as_bytes(),
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
    let methods = act
        .events
        .iter()
        .filter_map(|e| e.param("login_challenge_method"))
        .flat_map(|p| p.value.iter().chain(p.multi_value.iter().flatten()))
        .map(|m| m.to_ascii_lowercase())
        .collect::<Vec<_>>();
    if methods
        .iter()
        .any(|m| m != "password" && m != "none" && !m.is_empty())
    {
        ev.mfa = Some(true);
    }
    if let Some(net) = &act.network_info {
        ev.asn = net
            .ip_asn
            .first()
            .and_then(|a| a.as_i64())
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
