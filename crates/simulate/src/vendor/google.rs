//! Google Workspace login audit: Admin SDK Reports API `activities` resources
//! (`applicationName=login`), one JSON object per line as log shippers store them.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::Scratch;
use crate::generate::Ev;
use crate::org::{Plan, Tenant, mix};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Activity<'a> {
    kind: &'a str,
    id: Id<'a>,
    etag: &'a str,
    actor: Actor<'a>,
    ip_address: &'a str,
    events: [Event<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Id<'a> {
    time: &'a str,
    unique_qualifier: &'a str,
    application_name: &'a str,
    customer_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Actor<'a> {
    caller_type: &'a str,
    email: &'a str,
    profile_id: &'a str,
}

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    name: &'a str,
    parameters: &'a [Param<'a>],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Param<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multi_value: Option<&'a [&'a str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bool_value: Option<bool>,
}

const fn p<'a>(name: &'a str, value: &'a str) -> Param<'a> {
    Param {
        name,
        value: Some(value),
        multi_value: None,
        bool_value: None,
    }
}

/// Writes one login activity and a newline.
pub fn write(
    w: &mut impl Write,
    ev: &Ev,
    plan: &Plan,
    tenant: &Tenant,
    seed: u64,
    s: &mut Scratch,
) -> io::Result<()> {
    s.fill(ev, plan, seed, true);
    let user = &plan.users[ev.user as usize];
    // uniqueQualifier: a signed 64-bit number; profileId: a 21-digit number; etag: quoted.
    s.id2.clear();
    let _ = write!(s.id2, "{}", mix(ev.seq ^ 0x600) as i64);
    s.uid.clear();
    let _ = write!(s.uid, "1{:020}", user.uid(seed, ev.user));
    s.session.clear();
    let _ = write!(
        s.session,
        "\"{:016x}/{:016x}\"",
        mix(ev.seq),
        mix(ev.seq ^ 1)
    );
    s.device.clear();
    let _ = write!(s.device, "C0{:07x}", tenant.id & 0xfff_ffff);
    let methods: &[&str] = if ev.mfa {
        &["password", "google_authenticator"]
    } else {
        &["password"]
    };
    let success = [
        p("login_type", "google_password"),
        Param {
            name: "login_challenge_method",
            value: None,
            multi_value: Some(methods),
            bool_value: None,
        },
        Param {
            name: "is_suspicious",
            value: None,
            multi_value: None,
            bool_value: Some(false),
        },
    ];
    let failure = [
        p("login_type", "google_password"),
        Param {
            name: "login_challenge_method",
            value: None,
            multi_value: Some(&["password"]),
            bool_value: None,
        },
        p("login_failure_type", "login_failure_invalid_password"),
        Param {
            name: "is_suspicious",
            value: None,
            multi_value: None,
            bool_value: Some(false),
        },
    ];
    let rec = Activity {
        kind: "admin#reports#activity",
        id: Id {
            time: &s.time,
            unique_qualifier: &s.id2,
            application_name: "login",
            customer_id: &s.device,
        },
        etag: &s.session,
        actor: Actor {
            caller_type: "USER",
            email: &user.upn,
            profile_id: &s.uid,
        },
        ip_address: &s.ip,
        events: [Event {
            kind: "login",
            name: if ev.ok {
                "login_success"
            } else {
                "login_failure"
            },
            parameters: if ev.ok { &success } else { &failure },
        }],
    };
    serde_json::to_writer(&mut *w, &rec).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
