//! Okta System Log `LogEvent`s (`GET /api/v1/logs`), one JSON object per line.
//!
//! Interactive sign-ins are `user.session.start`; a session used to reach an app is
//! `user.authentication.sso` carrying the same `authenticationContext.externalSessionId`.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::{Scratch, country_name};
use crate::generate::{Ev, Kind};
use crate::org::{Plan, mix};
use crate::world::NetKind;

/// `(displayName, app name)` of the apps behind Okta SSO.
const APPS: [(&str, &str, &str); 4] = [
    ("Salesforce.com", "salesforce", "0oa1sfdc7x2Qm9Lp4d7"),
    ("Slack", "slack", "0oa1slck3k8Wn2Rt5d7"),
    ("Zoom", "zoomus", "0oa1zoom9j4Hs6Vb1d7"),
    (
        "GitHub Enterprise Cloud - Organization",
        "githubcloud",
        "0oa1gith5f7Kd3Xy8d7",
    ),
];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogEvent<'a> {
    uuid: &'a str,
    published: &'a str,
    event_type: &'a str,
    version: &'a str,
    severity: &'a str,
    legacy_event_type: &'a str,
    display_message: &'a str,
    actor: Actor<'a>,
    client: ClientInfo<'a>,
    authentication_context: AuthContext<'a>,
    outcome: Outcome<'a>,
    security_context: SecurityContext<'a>,
    debug_context: DebugContext<'a>,
    transaction: Transaction<'a>,
    request: Request<'a>,
    target: Option<[Target<'a>; 1]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Actor<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    alternate_id: &'a str,
    display_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientInfo<'a> {
    user_agent: UserAgent<'a>,
    zone: &'a str,
    device: &'a str,
    id: Option<&'a str>,
    ip_address: &'a str,
    geographical_context: Option<GeoContext<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserAgent<'a> {
    raw_user_agent: &'a str,
    os: &'a str,
    browser: &'a str,
}

#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct GeoContext<'a> {
    city: &'a str,
    state: &'a str,
    country: &'a str,
    postal_code: Option<&'a str>,
    geolocation: GeoLocation,
}

#[derive(Serialize, Clone, Copy)]
struct GeoLocation {
    lat: f64,
    lon: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthContext<'a> {
    authentication_provider: Option<&'a str>,
    credential_provider: Option<&'a str>,
    credential_type: Option<&'a str>,
    issuer: Option<&'a str>,
    interface: Option<&'a str>,
    authentication_step: u32,
    external_session_id: &'a str,
}

#[derive(Serialize)]
struct Outcome<'a> {
    result: &'a str,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecurityContext<'a> {
    as_number: Option<u32>,
    as_org: Option<&'a str>,
    isp: Option<&'a str>,
    domain: Option<&'a str>,
    is_proxy: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugContext<'a> {
    debug_data: DebugData<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugData<'a> {
    request_id: &'a str,
    request_uri: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct Transaction<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    detail: Empty,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    ip_chain: [IpChain<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IpChain<'a> {
    ip: &'a str,
    geographical_context: Option<GeoContext<'a>>,
    version: &'a str,
    source: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Target<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    alternate_id: &'a str,
    display_name: &'a str,
}

/// Okta's id shape: `00u` + 17 base-62-ish characters.
fn okta_id(buf: &mut String, prefix: &str, seed: u64) {
    const A: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    buf.clear();
    buf.push_str(prefix);
    let mut x = mix(seed);
    for i in 0..17 {
        if i == 10 {
            x = mix(x);
        }
        buf.push(A[(x % 62) as usize] as char);
        x /= 62;
    }
}

/// Writes one System Log event and a newline.
pub fn write(
    w: &mut impl Write,
    ev: &Ev,
    plan: &Plan,
    seed: u64,
    s: &mut Scratch,
) -> io::Result<()> {
    s.fill(ev, plan, seed, true);
    let user = &plan.users[ev.user as usize];
    // Okta's ids are not UUIDs: reuse the buffers with Okta's shapes.
    okta_id(&mut s.uid, "00u", user.uid(seed, ev.user));
    okta_id(&mut s.session, "102", ev.session);
    okta_id(&mut s.id2, "", ev.seq ^ 0x7e9);
    s.id2.truncate(13);
    let _ = write!(s.id2, "{:x}", ev.seq & 0xff);
    let info = s.info(ev.ip);
    let geo = info.as_ref().map(|i| GeoContext {
        city: i.city.name,
        state: i.city.region,
        country: country_name(i.city.country),
        postal_code: None,
        geolocation: GeoLocation {
            lat: i.city.lat,
            lon: i.city.lon,
        },
    });
    let sso = ev.kind == Kind::Sso;
    let (app_name, app_key, app_id) = APPS[ev.app as usize % APPS.len()];
    let is_proxy = info
        .as_ref()
        .is_some_and(|i| matches!(i.kind, NetKind::Vpn | NetKind::Tor));
    let rec = LogEvent {
        uuid: &s.id,
        published: &s.time,
        event_type: if sso {
            "user.authentication.sso"
        } else {
            "user.session.start"
        },
        version: "0",
        severity: if ev.ok { "INFO" } else { "WARN" },
        legacy_event_type: match (sso, ev.ok) {
            (true, _) => "app.auth.sso",
            (false, true) => "core.user_auth.login_success",
            (false, false) => "core.user_auth.login_failed",
        },
        display_message: if sso {
            "User single sign on to app"
        } else {
            "User login to Okta"
        },
        actor: Actor {
            id: &s.uid,
            kind: "User",
            alternate_id: &user.upn,
            display_name: &user.display,
        },
        client: ClientInfo {
            user_agent: UserAgent {
                raw_user_agent: ev.client.user_agent(),
                os: ev.client.os(),
                browser: ev.client.browser(),
            },
            zone: "null",
            device: if ev.client.mobile() {
                "Mobile"
            } else {
                "Computer"
            },
            id: None,
            ip_address: &s.ip,
            geographical_context: geo,
        },
        authentication_context: AuthContext {
            authentication_provider: (!sso).then_some("OKTA_AUTHENTICATION_PROVIDER"),
            credential_provider: None,
            credential_type: None,
            issuer: None,
            interface: None,
            authentication_step: 0,
            external_session_id: &s.session,
        },
        outcome: Outcome {
            result: if ev.ok { "SUCCESS" } else { "FAILURE" },
            reason: (!ev.ok).then_some("INVALID_CREDENTIALS"),
        },
        security_context: SecurityContext {
            as_number: info.as_ref().map(|i| i.asn),
            as_org: info.as_ref().map(|i| i.org),
            isp: info.as_ref().map(|i| i.org),
            domain: None,
            is_proxy,
        },
        debug_context: DebugContext {
            debug_data: DebugData {
                request_id: &s.id2,
                request_uri: if sso {
                    "/app/sso/saml"
                } else {
                    "/api/v1/authn"
                },
                url: if sso {
                    "/app/sso/saml?"
                } else {
                    "/api/v1/authn?"
                },
            },
        },
        transaction: Transaction {
            kind: "WEB",
            id: &s.id2,
            detail: Empty {},
        },
        request: Request {
            ip_chain: [IpChain {
                ip: &s.ip,
                geographical_context: geo,
                version: if ev.ip.is_ipv4() { "V4" } else { "V6" },
                source: None,
            }],
        },
        target: sso.then_some([Target {
            id: app_id,
            kind: "AppInstance",
            alternate_id: app_key,
            display_name: app_name,
        }]),
    };
    serde_json::to_writer(&mut *w, &rec).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
