//! Microsoft Entra ID sign-in logs, in all three shapes Microsoft ships them:
//!
//! - the Microsoft Graph `signIn` resource (`/auditLogs/signIns`): `id`, `createdDateTime`,
//!   `userPrincipalName`, `ipAddress`, `status.errorCode`, `location{city, state,
//!   countryOrRegion, geoCoordinates{latitude, longitude}}`, `deviceDetail`, `clientAppUsed`,
//!   `isInteractive`, `correlationId`, …;
//! - Log Analytics rows of `SigninLogs` / `AADNonInteractiveUserSignInLogs`: the same names
//!   in PascalCase (`TimeGenerated`, `CreatedDateTime`, `UserPrincipalName`, `IPAddress`,
//!   `ResultType`, `LocationDetails` — an object or a JSON string —, `DeviceDetail`, …);
//! - diagnostic-settings / Event Hub records: `time`, `category` (`SignInLogs`,
//!   `NonInteractiveUserSignInLogs`), `tenantId`, `resultType`, `callerIpAddress` and the
//!   Graph-shaped sign-in in `properties`.
//!
//! Decisions: the event time is the sign-in's own (`createdDateTime`; for Log Analytics
//! `CreatedDateTime`, else `TimeGenerated`), never the envelope `time`. `errorCode` /
//! `ResultType` 0 is success, any other number failure (interrupts such as 50140
//! included); absent, unknown. Records of other categories (`AuditLogs`,
//! `ServicePrincipalSignInLogs`, `ManagedIdentitySignInLogs`, …) are skipped. `mfa` is true
//! when the record names an MFA method or says `multiFactorAuthentication` was required of
//! a successful sign-in, false when only a single factor was required.

use jetlag_event::{Outcome, SignIn, Source};
use serde::Deserialize;

use crate::common::{self, Draft, Num, Place, Str, Text, s};
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default)]
struct GeoCoordinates {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

/// `location` / `LocationDetails`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(borrow, default)]
    city: Option<Str<'a>>,
    #[serde(borrow, default)]
    state: Option<Str<'a>>,
    #[serde(borrow, default)]
    country_or_region: Option<Str<'a>>,
    #[serde(default)]
    geo_coordinates: Option<GeoCoordinates>,
}

/// `deviceDetail` / `DeviceDetail`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DeviceDetail<'a> {
    #[serde(borrow, default)]
    device_id: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    error_code: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MfaDetail<'a> {
    #[serde(borrow, default)]
    auth_method: Option<Str<'a>>,
}

/// One record in any of the three shapes (Graph and `properties` camelCase, Log
/// Analytics PascalCase, the Event Hub envelope around `properties`).
#[derive(Deserialize, Default)]
struct Record<'a> {
    #[serde(borrow, default, alias = "Id")]
    id: Option<Str<'a>>,
    #[serde(borrow, default, rename = "createdDateTime", alias = "CreatedDateTime")]
    created: Option<Str<'a>>,
    #[serde(borrow, default, rename = "TimeGenerated")]
    time_generated: Option<Str<'a>>,
    #[serde(
        borrow,
        default,
        rename = "userPrincipalName",
        alias = "UserPrincipalName"
    )]
    upn: Option<Str<'a>>,
    #[serde(borrow, default, rename = "ipAddress", alias = "IPAddress")]
    ip: Option<Str<'a>>,
    #[serde(borrow, default, rename = "appDisplayName", alias = "AppDisplayName")]
    app: Option<Str<'a>>,
    #[serde(borrow, default, rename = "userAgent", alias = "UserAgent")]
    user_agent: Option<Str<'a>>,
    #[serde(borrow, default, rename = "correlationId", alias = "CorrelationId")]
    correlation_id: Option<Str<'a>>,
    #[serde(borrow, default, rename = "sessionId", alias = "SessionId")]
    session_id: Option<Str<'a>>,
    #[serde(
        default,
        rename = "status",
        alias = "Status",
        deserialize_with = "common::embedded"
    )]
    status: Option<Status>,
    #[serde(default, rename = "ResultType", alias = "resultType")]
    result_type: Option<Num>,
    #[serde(
        borrow,
        default,
        rename = "location",
        alias = "LocationDetails",
        deserialize_with = "common::embedded"
    )]
    location: Option<Location<'a>>,
    #[serde(
        borrow,
        default,
        rename = "deviceDetail",
        alias = "DeviceDetail",
        deserialize_with = "common::embedded"
    )]
    device: Option<DeviceDetail<'a>>,
    #[serde(
        borrow,
        default,
        rename = "mfaDetail",
        alias = "MfaDetail",
        deserialize_with = "common::embedded"
    )]
    mfa_detail: Option<MfaDetail<'a>>,
    #[serde(
        borrow,
        default,
        rename = "authenticationRequirement",
        alias = "AuthenticationRequirement"
    )]
    auth_requirement: Option<Str<'a>>,
    #[serde(
        default,
        rename = "autonomousSystemNumber",
        alias = "AutonomousSystemNumber"
    )]
    asn: Option<Num>,
    #[serde(
        borrow,
        default,
        rename = "AADTenantId",
        alias = "homeTenantId",
        alias = "HomeTenantId"
    )]
    aad_tenant: Option<Str<'a>>,
    #[serde(borrow, default, rename = "tenantId")]
    tenant_id: Option<Str<'a>>,
    /// Log Analytics table name.
    #[serde(borrow, default, rename = "Type")]
    table: Option<Str<'a>>,
    /// Event Hub / diagnostic category (`Category` in Log Analytics).
    #[serde(borrow, default, alias = "Category")]
    category: Option<Str<'a>>,
    /// Event Hub envelope: the sign-in itself.
    #[serde(borrow, default)]
    properties: Option<Box<Record<'a>>>,
    /// Event Hub envelope time (ingestion; only a last resort).
    #[serde(borrow, default)]
    time: Option<Str<'a>>,
    #[serde(borrow, default, rename = "callerIpAddress")]
    caller_ip: Option<Str<'a>>,
}

/// Categories / tables that hold user sign-ins.
fn is_user_signin(name: &str) -> bool {
    matches!(
        name,
        "SignInLogs"
            | "SigninLogs"
            | "NonInteractiveUserSignInLogs"
            | "AADNonInteractiveUserSignInLogs"
    )
}

/// Parses one Entra record.
///
/// # Errors
/// Not JSON / wrong types, no time, no `userPrincipalName`.
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
    let outer: Record<'_> = common::decode(record)?;
    for kind in [s(&outer.category), s(&outer.table)].into_iter().flatten() {
        if !kind.is_empty() && !is_user_signin(kind) {
            return Ok(Filled::Skipped(Skip {
                source: Source::Entra,
                reason: "not a user sign-in (other log category)",
            }));
        }
    }
    let enveloped = outer.properties.is_some();
    let (envelope, inner) = match outer.properties {
        Some(ref p) => (Some(&outer), &**p),
        None => (None, &outer),
    };
    let field = |graph: &'static str, la: &'static str, env: &'static str| {
        if enveloped {
            env
        } else if inner.table.is_some() || inner.time_generated.is_some() {
            la
        } else {
            graph
        }
    };
    let time = match (s(&inner.created), s(&inner.time_generated)) {
        (Some(c), _) => common::time(
            c,
            field(
                "createdDateTime",
                "CreatedDateTime",
                "properties.createdDateTime",
            ),
        )?,
        (None, Some(t)) => common::time(t, "TimeGenerated")?,
        (None, None) => match envelope.and_then(|e| s(&e.time)) {
            Some(t) => common::time(t, "time")?,
            None => {
                return Err(Error::Missing(field(
                    "createdDateTime",
                    "TimeGenerated",
                    "properties.createdDateTime",
                )));
            }
        },
    };
    let user = common::user(
        s(&inner.upn),
        field(
            "userPrincipalName",
            "UserPrincipalName",
            "properties.userPrincipalName",
        ),
    )?;
    let code = inner
        .status
        .as_ref()
        .and_then(|st| st.error_code)
        .or(inner.result_type)
        .or(envelope.and_then(|e| e.result_type));
    let outcome = match code {
        Some(n) => match n.as_i64() {
            Some(0) => Outcome::Success,
            Some(_) => Outcome::Failure,
            None => Outcome::Unknown,
        },
        None => Outcome::Unknown,
    };
    let event_id = match s(&inner.id).filter(|i| !i.is_empty()) {
        Some(id) => Text::Str(id),
        None => Text::Made(common::hash_id([record])),
    };
    let mut ev = Draft::new(event_id, time, Source::Entra, Text::Str(user), outcome);
    let ip_field = field("ipAddress", "IPAddress", "properties.ipAddress");
    ev.ip = common::ip(s(&inner.ip), ip_field, warnings).or_else(|| {
        common::ip(
            envelope.and_then(|e| s(&e.caller_ip)),
            "callerIpAddress",
            warnings,
        )
    });
    ev.app = common::nonempty(s(&inner.app));
    ev.user_agent = common::nonempty(s(&inner.user_agent));
    ev.device_id = common::nonempty(inner.device.as_ref().and_then(|d| s(&d.device_id)));
    ev.session_id = common::nonempty(s(&inner.session_id))
        .or_else(|| common::nonempty(s(&inner.correlation_id)))
        .or_else(|| common::nonempty(envelope.and_then(|e| s(&e.correlation_id))));
    ev.tenant = common::nonempty(s(&inner.aad_tenant))
        .or_else(|| common::nonempty(s(&inner.tenant_id)))
        .or_else(|| common::nonempty(envelope.and_then(|e| s(&e.tenant_id))));
    let method = inner
        .mfa_detail
        .as_ref()
        .and_then(|m| s(&m.auth_method))
        .is_some_and(|m| !m.trim().is_empty());
    ev.mfa = match s(&inner.auth_requirement) {
        _ if method => Some(true),
        Some("multiFactorAuthentication") if outcome == Outcome::Success => Some(true),
        Some("singleFactorAuthentication") => Some(false),
        _ => None,
    };
    ev.asn = inner
        .asn
        .and_then(Num::as_i64)
        .and_then(|a| u32::try_from(a).ok())
        .filter(|a| *a != 0);
    if let Some(loc) = &inner.location {
        let coords = loc.geo_coordinates.as_ref();
        ev.geo = common::geo(
            Place {
                lat: coords.and_then(|c| c.latitude),
                lon: coords.and_then(|c| c.longitude),
                radius_km: None,
                city: s(&loc.city),
                region: s(&loc.state),
                country: s(&loc.country_or_region),
            },
            field("location", "LocationDetails", "properties.location"),
            warnings,
        );
    }
    ev.write(out);
    Ok(Filled::Event)
}
