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

use compact_str::CompactString;
use jetlag_event::{Outcome, SignIn, Source};
use serde::Deserialize;

use crate::common::{self, Num, Place, Str, s};
use crate::{Error, Parsed, Skip, Warning};

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
struct Location {
    #[serde(default)]
    city: Option<CompactString>,
    #[serde(default)]
    state: Option<CompactString>,
    #[serde(default)]
    country_or_region: Option<CompactString>,
    #[serde(default)]
    geo_coordinates: Option<GeoCoordinates>,
}

/// `deviceDetail` / `DeviceDetail`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DeviceDetail {
    #[serde(default)]
    device_id: Option<CompactString>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    error_code: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MfaDetail {
    #[serde(default)]
    auth_method: Option<CompactString>,
}

/// One record in any of the three shapes (Graph and `properties` camelCase, Log
/// Analytics PascalCase, the Event Hub envelope around `properties`).
#[derive(Deserialize, Default)]
struct Record<'a> {
    #[serde(default, alias = "Id")]
    id: Option<CompactString>,
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
    #[serde(default, rename = "appDisplayName", alias = "AppDisplayName")]
    app: Option<CompactString>,
    #[serde(default, rename = "userAgent", alias = "UserAgent")]
    user_agent: Option<CompactString>,
    #[serde(default, rename = "correlationId", alias = "CorrelationId")]
    correlation_id: Option<CompactString>,
    #[serde(default, rename = "sessionId", alias = "SessionId")]
    session_id: Option<CompactString>,
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
        default,
        rename = "location",
        alias = "LocationDetails",
        deserialize_with = "common::embedded"
    )]
    location: Option<Location>,
    #[serde(
        default,
        rename = "deviceDetail",
        alias = "DeviceDetail",
        deserialize_with = "common::embedded"
    )]
    device: Option<DeviceDetail>,
    #[serde(
        default,
        rename = "mfaDetail",
        alias = "MfaDetail",
        deserialize_with = "common::embedded"
    )]
    mfa_detail: Option<MfaDetail>,
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
        default,
        rename = "AADTenantId",
        alias = "homeTenantId",
        alias = "HomeTenantId"
    )]
    aad_tenant: Option<CompactString>,
    #[serde(default, rename = "tenantId")]
    tenant_id: Option<CompactString>,
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
    let outer: Record<'_> = common::decode(record)?;
    for kind in [s(&outer.category), s(&outer.table)].into_iter().flatten() {
        if !kind.is_empty() && !is_user_signin(kind) {
            return Ok(Parsed::Skipped(Skip {
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
    let id = inner.id.clone().filter(|i| !i.is_empty());
    let event_id = id.unwrap_or_else(|| common::hash_id([record]));
    let mut ev = SignIn::new(event_id, time, Source::Entra, user, outcome);
    let ip_field = field("ipAddress", "IPAddress", "properties.ipAddress");
    ev.ip = common::ip(s(&inner.ip), ip_field, warnings).or_else(|| {
        common::ip(
            envelope.and_then(|e| s(&e.caller_ip)),
            "callerIpAddress",
            warnings,
        )
    });
    ev.app = common::nonempty(inner.app.clone());
    ev.user_agent = common::nonempty(inner.user_agent.clone());
    ev.device_id = common::nonempty(inner.device.as_ref().and_then(|d| d.device_id.clone()));
    ev.session_id = common::nonempty(inner.session_id.clone())
        .or_else(|| common::nonempty(inner.correlation_id.clone()))
        .or_else(|| common::nonempty(envelope.and_then(|e| e.correlation_id.clone())));
    ev.tenant = common::nonempty(inner.aad_tenant.clone())
        .or_else(|| common::nonempty(inner.tenant_id.clone()))
        .or_else(|| common::nonempty(envelope.and_then(|e| e.tenant_id.clone())));
    let method = inner
        .mfa_detail
        .as_ref()
        .and_then(|m| m.auth_method.as_deref())
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
                city: loc.city.as_deref(),
                region: loc.state.as_deref(),
                country: loc.country_or_region.as_deref(),
            },
            field("location", "LocationDetails", "properties.location"),
            warnings,
        );
    }
    Ok(Parsed::Event(ev))
}
