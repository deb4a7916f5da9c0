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
use crate::lex::{self, Cursor, by_bit, field, once, only};
use crate::number;
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default, Debug, PartialEq)]
struct GeoCoordinates {
    #[serde(default, deserialize_with = "number::opt_f64")]
    latitude: Option<f64>,
    #[serde(default, deserialize_with = "number::opt_f64")]
    longitude: Option<f64>,
}

/// `location` / `LocationDetails`.
#[derive(Deserialize, Default, Debug, PartialEq)]
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
#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct DeviceDetail<'a> {
    #[serde(borrow, default)]
    device_id: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    error_code: Option<Num>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct MfaDetail<'a> {
    #[serde(borrow, default)]
    auth_method: Option<Str<'a>>,
}

/// One record in any of the three shapes (Graph and `properties` camelCase, Log
/// Analytics PascalCase, the Event Hub envelope around `properties`).
#[derive(Deserialize, Default, Debug, PartialEq)]
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
    let mut outer = Record::default();
    if fast(record, &mut outer).is_none() {
        outer = lex::decode_record(record)?;
    }
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
    ev.asn = number::asn(
        inner.asn,
        field(
            "autonomousSystemNumber",
            "AutonomousSystemNumber",
            "properties.autonomousSystemNumber",
        ),
        warnings,
    );
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

/// Reads a record into `r` with a [`Cursor`], as `okta::fast` does (see DESIGN.md, "Why
/// does Okta have a hand-written reader"): the mapped fields where they lie, the rest
/// skipped and checked unbuilt, values it does not read itself decoded by serde from their
/// own slice. `None` declines the record and [`parse_into`] runs the derived
/// `Deserialize`, whose result or error stands.
fn fast<'a>(record: &'a [u8], r: &mut Record<'a>) -> Option<()> {
    let mut c = Cursor::of_record(record)?;
    members(&mut c, r, 0)?;
    c.end()
}

/// Each field's bit (aliases share their field's bit, so a field given under two of its
/// names is a duplicate, as for the derived visitor).
fn record_field(key: &str) -> Option<u32> {
    Some(match key {
        "id" | "Id" => 1,
        "createdDateTime" | "CreatedDateTime" => 1 << 1,
        "TimeGenerated" => 1 << 2,
        "userPrincipalName" | "UserPrincipalName" => 1 << 3,
        "ipAddress" | "IPAddress" => 1 << 4,
        "appDisplayName" | "AppDisplayName" => 1 << 5,
        "userAgent" | "UserAgent" => 1 << 6,
        "correlationId" | "CorrelationId" => 1 << 7,
        "sessionId" | "SessionId" => 1 << 8,
        "status" | "Status" => 1 << 9,
        "ResultType" | "resultType" => 1 << 10,
        "location" | "LocationDetails" => 1 << 11,
        "deviceDetail" | "DeviceDetail" => 1 << 12,
        "mfaDetail" | "MfaDetail" => 1 << 13,
        "authenticationRequirement" | "AuthenticationRequirement" => 1 << 14,
        "autonomousSystemNumber" | "AutonomousSystemNumber" => 1 << 15,
        "AADTenantId" | "homeTenantId" | "HomeTenantId" => 1 << 16,
        "tenantId" => 1 << 17,
        "Type" => 1 << 18,
        "category" | "Category" => 1 << 19,
        "properties" => 1 << 20,
        "time" => 1 << 21,
        "callerIpAddress" => 1 << 22,
        _ => return None,
    })
}

/// A field read through [`common::embedded`] (an object, or a string holding one).
struct Embedded<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Embedded<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        common::embedded(d).map(Embedded)
    }
}

/// An embedded field: an object walked by `walk`, anything else through serde.
fn embedded<'a, T: Default + Deserialize<'a>>(
    c: &mut Cursor<'a>,
    walk: impl FnOnce(&mut Cursor<'a>, &mut T) -> Option<()>,
) -> Option<Option<T>> {
    if c.peek()? == b'{' {
        return c.opt_struct(walk);
    }
    c.serde::<Embedded<T>>().map(|e| e.0)
}

/// How deep `properties` may nest before the fast path declines (the Event Hub envelope
/// has one level).
const MAX_NESTING: u32 = 4;

/// A record's members (an envelope's `properties` is a record too).
fn members<'a>(c: &mut Cursor<'a>, r: &mut Record<'a>, depth: u32) -> Option<()> {
    by_bit(c, record_field, |c, bit| {
        match bit {
            1 => r.id = c.opt_str(Str::borrowed)?,
            2 => r.created = c.opt_str(Str::borrowed)?,
            4 => r.time_generated = c.opt_str(Str::borrowed)?,
            8 => r.upn = c.opt_str(Str::borrowed)?,
            16 => r.ip = c.opt_str(Str::borrowed)?,
            32 => r.app = c.opt_str(Str::borrowed)?,
            64 => r.user_agent = c.opt_str(Str::borrowed)?,
            128 => r.correlation_id = c.opt_str(Str::borrowed)?,
            256 => r.session_id = c.opt_str(Str::borrowed)?,
            512 => {
                r.status = embedded(c, |c, st: &mut Status| {
                    let mut seen = 0;
                    c.object(|c, key| match key {
                        "errorCode" => {
                            once(&mut seen, 1)?;
                            st.error_code = c.opt_num()?;
                            Some(())
                        }
                        _ => c.skip(),
                    })
                })?;
            }
            1024 => r.result_type = c.opt_num()?,
            2048 => {
                r.location = embedded(c, |c, loc: &mut Location<'a>| {
                    let mut seen = 0;
                    c.object(|c, key| match key {
                        "city" => field(c, &mut seen, 1, &mut loc.city),
                        "state" => field(c, &mut seen, 2, &mut loc.state),
                        "countryOrRegion" => field(c, &mut seen, 4, &mut loc.country_or_region),
                        "geoCoordinates" => {
                            once(&mut seen, 8)?;
                            loc.geo_coordinates = c.opt_struct(|c, g: &mut GeoCoordinates| {
                                let mut seen = 0;
                                c.object(|c, key| {
                                    let (bit, to) = match key {
                                        "latitude" => (1, &mut g.latitude),
                                        "longitude" => (2, &mut g.longitude),
                                        _ => return c.skip(),
                                    };
                                    once(&mut seen, bit)?;
                                    *to = c.opt_f64()?;
                                    Some(())
                                })
                            })?;
                            Some(())
                        }
                        _ => c.skip(),
                    })
                })?;
            }
            4096 => {
                r.device = embedded(c, |c, d: &mut DeviceDetail<'a>| {
                    only(c, "deviceId", &mut d.device_id)
                })?;
            }
            8192 => {
                r.mfa_detail = embedded(c, |c, m: &mut MfaDetail<'a>| {
                    only(c, "authMethod", &mut m.auth_method)
                })?;
            }
            16384 => r.auth_requirement = c.opt_str(Str::borrowed)?,
            32768 => r.asn = c.opt_num()?,
            65536 => r.aad_tenant = c.opt_str(Str::borrowed)?,
            131_072 => r.tenant_id = c.opt_str(Str::borrowed)?,
            262_144 => r.table = c.opt_str(Str::borrowed)?,
            524_288 => r.category = c.opt_str(Str::borrowed)?,
            1_048_576 => {
                if depth >= MAX_NESTING {
                    return None;
                }
                r.properties =
                    c.opt_struct(|c, p: &mut Box<Record<'a>>| members(c, p, depth + 1))?;
            }
            2_097_152 => r.time = c.opt_str(Str::borrowed)?,
            _ => r.caller_ip = c.opt_str(Str::borrowed)?,
        }
        Some(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::mutation::{Borrowed, fast_path_agrees_with_serde, lines};

    /// Entra records to mutate: every golden input (the wrapped pages unpacked), the
    /// throughput bench's record, and hand-made ones for each branch of [`fast`].
    fn bases() -> Vec<Vec<u8>> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../cli/tests/data/entra/");
        let mut bases = Vec::new();
        for name in ["msticpy_signinlogs.jsonl", "panther_azure_audit.jsonl"] {
            let text = std::fs::read(format!("{dir}{name}")).unwrap();
            bases.extend(lines(&text));
        }
        for (name, key) in [
            ("graph_signins_page.json", "value"),
            ("eventhub_records.json", "records"),
        ] {
            let page: serde_json::Value =
                serde_json::from_slice(&std::fs::read(format!("{dir}{name}")).unwrap()).unwrap();
            for record in page[key].as_array().unwrap() {
                bases.push(record.to_string().into_bytes());
            }
        }
        bases.extend(
            [
                r#"{"id":"66ea54eb","createdDateTime":"2024-03-13T19:15:41.6195833Z","userPrincipalName":"User1@contoso.com","appDisplayName":"Graph explorer","ipAddress":"131.107.1.2","userAgent":"Mozilla/5.0","correlationId":"d79f5bee","riskEventTypes":[],"authenticationRequirement":"multiFactorAuthentication","status":{"errorCode":0,"failureReason":"Other.","additionalDetails":null},"deviceDetail":{"deviceId":"5c6a8f3e","isCompliant":true},"location":{"city":"Redmond","state":"Washington","countryOrRegion":"US","geoCoordinates":{"altitude":null,"latitude":47.68050003051758,"longitude":-122.12094116210938}},"mfaDetail":{"authMethod":"PhoneAppNotification"}}"#,
                r#"{"TimeGenerated":"2024-01-01T00:00:00Z","Type":"SigninLogs","UserPrincipalName":"a@b.c","IPAddress":"2001:db8::1","ResultType":"50126","LocationDetails":"{\"city\":\"Paris\",\"countryOrRegion\":\"FR\",\"geoCoordinates\":{\"latitude\":48.85,\"longitude\":2.35}}","DeviceDetail":"{\"deviceId\":\"d\"}","Status":"{\"errorCode\":50126}","MfaDetail":"{}","AutonomousSystemNumber":"64500","AADTenantId":"t1","SessionId":"s1"}"#,
                r#"{"time":"2024-01-01T00:00:00Z","category":"NonInteractiveUserSignInLogs","tenantId":"t","resultType":"0","callerIpAddress":"192.0.2.1","correlationId":"c","location":"US","properties":{"id":"x","createdDateTime":"2024-01-01T00:00:01Z","userPrincipalName":"U@X.Y","status":{"errorCode":0},"location":{"countryOrRegion":"DE"},"autonomousSystemNumber":3320,"homeTenantId":"h"}}"#,
                r#" { "Category" : "AuditLogs" , "Id" : null , "status" : null , "location" : null , "deviceDetail" : [ ] } "#,
            ]
            .map(|r| r.as_bytes().to_vec()),
        );
        bases
    }

    /// Fields given twice, in other spellings and types, embedded JSON, escapes, nesting.
    const FRAGMENTS: &[&str] = &[
        r#""ipAddress":"192.0.2.9","#,
        r#""IPAddress":"192.0.2.10","#,
        r#""createdDateTime":1,"#,
        r#""CreatedDateTime":"2024-01-01T00:00:00Z","#,
        r#""TimeGenerated":"2024-02-30T00:00:00Z","#,
        r#""userPrincipalName":"a\u0041@b.c","#,
        r#""status":"{\"errorCode\":1}","#,
        r#""status":"not json","#,
        r#""Status":{"errorCode":"0"},"#,
        r#""ResultType":0,"#,
        r#""resultType":"x","#,
        r#""location":"{\"city\":\"Z\\u00fcrich\"}","#,
        r#""LocationDetails":{"geoCoordinates":{"latitude":1e400}},"#,
        r#""location":{"geoCoordinates":{"latitude":-0,"longitude":1E2,"latitude":3}},"#,
        r#""location":{"geoCoordinates":{"latitude":12345678901234567890,"longitude":4.9e-324}},"#,
        r#""location":{"geoCoordinates":{"latitude":2.2250738585072011e-308,"altitude":1e999}},"#,
        r#""location":{"geoCoordinates":{"latitude":0.1e-400,"longitude":-122.12094116210938}},"#,
        r#""location":{"geoCoordinates":{"latitude":"47","longitude":[]}},"#,
        r#""location":{"countryOrRegion":"\ud83d\ude00"},"#,
        r#""deviceDetail":"{}","#,
        r#""mfaDetail":{"authMethod":7},"#,
        r#""autonomousSystemNumber":18446744073709551616,"#,
        r#""homeTenantId":"h","#,
        r#""category":"SignInLogs","#,
        r#""Type":"AADNonInteractiveUserSignInLogs","#,
        r#""properties":{"properties":{"id":"deep"}},"#,
        r#""properties":null,"#,
        r#""properties":"x","#,
        r#""time":"2024-01-01T00:00:00Z","#,
        r#""callerIpAddress":"[2001:db8::1]:443","#,
        r#""Id":{},"#,
        r#""u\u0073erPrincipalName":"escaped key","#,
        r#""x":[[[[{"y":[]}]]]],"#,
        r#""n":-01,"#,
        r#""n":tru,"#,
        "\"tab\":\"a\tb\",",
    ];

    struct Borrows;
    impl Borrowed for Borrows {
        type Of<'a> = Record<'a>;
    }

    /// Every base serde takes (embedded JSON strings, an array for a struct...) the fast path takes, and all it
    /// accepts of 40,000 mutations it reads exactly as serde does.
    #[test]
    fn the_fast_path_reads_what_the_derived_deserialize_reads() {
        fast_path_agrees_with_serde::<Borrows>(&bases(), FRAGMENTS, 0x2545_f491_4f6c_dd1d, fast);
    }
}
