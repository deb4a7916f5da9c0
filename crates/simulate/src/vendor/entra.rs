//! Microsoft Entra ID sign-ins as Microsoft Graph returns them (`GET /auditLogs/signIns`):
//! pages of `{"@odata.context", "value": [signIn…], "@odata.nextLink"}`, newest first.

use std::io::{self, Write};

use serde::Serialize;

use super::Scratch;
use crate::generate::{Client, Ev};
use crate::org::{Plan, Tenant};

/// `(appDisplayName, appId)` of the first-party apps employees sign in to.
const APPS: [(&str, &str); 4] = [
    (
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
    ),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
    (
        "Office365 Shell WCSS-Client",
        "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7",
    ),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignIn<'a> {
    id: &'a str,
    created_date_time: &'a str,
    user_display_name: &'a str,
    user_principal_name: &'a str,
    user_id: &'a str,
    app_id: &'a str,
    app_display_name: &'a str,
    ip_address: &'a str,
    client_app_used: &'a str,
    correlation_id: &'a str,
    conditional_access_status: &'a str,
    is_interactive: bool,
    risk_detail: &'a str,
    risk_level_aggregated: &'a str,
    risk_level_during_sign_in: &'a str,
    risk_state: &'a str,
    #[serde(rename = "riskEventTypes_v2")]
    risk_event_types_v2: [&'a str; 0],
    resource_display_name: &'a str,
    resource_id: &'a str,
    status: Status<'a>,
    device_detail: DeviceDetail<'a>,
    location: Option<Location<'a>>,
    applied_conditional_access_policies: [&'a str; 0],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    error_code: u32,
    failure_reason: &'a str,
    additional_details: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceDetail<'a> {
    device_id: &'a str,
    display_name: &'a str,
    operating_system: &'a str,
    browser: &'a str,
    is_compliant: bool,
    is_managed: bool,
    trust_type: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    city: &'a str,
    state: &'a str,
    country_or_region: &'a str,
    geo_coordinates: Coordinates,
}

#[derive(Serialize)]
struct Coordinates {
    altitude: Option<f64>,
    latitude: f64,
    longitude: f64,
}

/// Writes one Graph `signIn` object (no trailing separator).
pub fn write(
    w: &mut impl Write,
    ev: &Ev,
    plan: &Plan,
    seed: u64,
    s: &mut Scratch,
) -> io::Result<()> {
    s.fill(ev, plan, seed, false);
    let user = &plan.users[ev.user as usize];
    let (app, app_id) = APPS[ev.app as usize % APPS.len()];
    let info = s.info(ev.ip);
    let location = info.as_ref().map(|i| Location {
        city: i.city.name,
        state: i.city.region,
        country_or_region: i.city.country,
        geo_coordinates: Coordinates {
            altitude: None,
            latitude: i.city.lat,
            longitude: i.city.lon,
        },
    });
    let scripted = ev.client == Client::PythonRequests;
    let rec = SignIn {
        id: &s.id,
        created_date_time: &s.time,
        user_display_name: &user.display,
        user_principal_name: &user.upn,
        user_id: &s.uid,
        app_id,
        app_display_name: app,
        ip_address: &s.ip,
        client_app_used: if scripted || ev.client.mobile() {
            "Mobile Apps and Desktop clients"
        } else {
            "Browser"
        },
        correlation_id: &s.id2,
        conditional_access_status: if ev.ok { "success" } else { "notApplied" },
        is_interactive: true,
        risk_detail: "none",
        risk_level_aggregated: "none",
        risk_level_during_sign_in: "none",
        risk_state: "none",
        risk_event_types_v2: [],
        resource_display_name: app,
        resource_id: app_id,
        status: if ev.ok {
            Status {
                error_code: 0,
                failure_reason: "Other.",
                additional_details: None,
            }
        } else {
            Status {
                error_code: 50126,
                failure_reason: "Error validating credentials due to invalid username or password.",
                additional_details: Some("The user didn't enter the right credentials."),
            }
        },
        device_detail: DeviceDetail {
            device_id: &s.device,
            display_name: if s.device.is_empty() {
                ""
            } else {
                &user.display
            },
            operating_system: ev.client.os(),
            browser: ev.client.browser(),
            is_compliant: !s.device.is_empty(),
            is_managed: !s.device.is_empty(),
            trust_type: if s.device.is_empty() {
                ""
            } else {
                "Azure AD joined"
            },
        },
        location,
        applied_conditional_access_policies: [],
    };
    serde_json::to_writer(&mut *w, &rec).map_err(io::Error::other)
}

/// The page envelope's opening, up to and including `"value":[`.
pub fn page_open(w: &mut impl Write) -> io::Result<()> {
    w.write_all(
        b"{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns\",\"value\":[\n",
    )
}

/// The page envelope's close, with a `@odata.nextLink` to the next (older) page if any.
pub fn page_close(w: &mut impl Write, tenant: &Tenant, next: Option<u64>) -> io::Result<()> {
    match next {
        Some(token) => write!(
            w,
            "\n],\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken={:016x}{:016x}\"}}\n",
            tenant.id, token
        ),
        None => w.write_all(b"\n]}\n"),
    }
}
