//! OCSF: each alert as an OCSF *Detection Finding* (class 2004, category 2 "Findings").
//!
//! The mapping (OCSF 1.3): `finding_info.uid` is the alert id, `finding_info.analytic.name`
//! the detector, `finding_info.related_events` the event ids, `severity_id` and `risk_level_id`
//! follow the alert's severity, `risk_score` its score, `time` the triggering event (epoch
//! milliseconds), `message` the summary. Every identity becomes a `User Name` observable;
//! every `ip` and `country` in the evidence an `IP Address` / `Country` observable (named by
//! its path in the evidence). The alert's own fields that OCSF has no place for (`users`, the
//! detector's `evidence`) go to `unmapped`, so nothing is lost.

use std::borrow::Cow;
use std::io::Write;

use jetlag_event::{Alert, Severity};
use serde::Serialize;

use crate::Error;

/// The OCSF schema version the findings follow.
pub const OCSF_VERSION: &str = "1.3.0";

const CLASS_UID: u32 = 2004;
const CATEGORY_UID: u32 = 2;
const ACTIVITY_CREATE: u32 = 1;

/// An OCSF Detection Finding (class 2004) borrowing from an [`Alert`]; serialize it with serde.
///
/// # Example
/// ```
/// # let alert: jetlag_event::Alert = serde_json::from_str(r#"{"alert_id":"a1","detector":"anonymizer","severity":"medium","score":50,"user":"kim@x.com","users":["kim@x.com"],"time":"2025-03-01T12:00:00Z","event_ids":["e1"],"summary":"kim signed in through Tor","evidence":{"ip":"192.0.2.1"}}"#).unwrap();
/// let finding = jetlag_output::DetectionFinding::from_alert(&alert);
/// let json = serde_json::to_value(&finding).unwrap();
/// assert_eq!(json["class_uid"], 2004);
/// assert_eq!(json["finding_info"]["uid"], "a1");
/// ```
#[derive(Debug, Serialize)]
pub struct DetectionFinding<'a> {
    activity_id: u32,
    activity_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    time: i64,
    message: &'a str,
    risk_score: u8,
    risk_level_id: u8,
    risk_level: &'static str,
    finding_info: FindingInfo<'a>,
    metadata: Metadata,
    observables: Vec<Observable<'a>>,
    unmapped: Unmapped<'a>,
}

#[derive(Debug, Serialize)]
struct FindingInfo<'a> {
    uid: &'a str,
    title: String,
    desc: &'a str,
    types: [&'a str; 1],
    analytic: Analytic<'a>,
    created_time: i64,
    related_events: Vec<RelatedEvent<'a>>,
}

#[derive(Debug, Serialize)]
struct Analytic<'a> {
    name: &'a str,
    uid: &'a str,
    type_id: u8,
    #[serde(rename = "type")]
    type_name: &'static str,
}

#[derive(Debug, Serialize)]
struct RelatedEvent<'a> {
    uid: &'a str,
}

#[derive(Debug, Serialize)]
struct Metadata {
    version: &'static str,
    product: Product,
}

#[derive(Debug, Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Debug, Serialize, PartialEq)]
struct Observable<'a> {
    name: Cow<'a, str>,
    type_id: u8,
    #[serde(rename = "type")]
    type_name: &'static str,
    value: &'a str,
}

#[derive(Debug, Serialize)]
struct Unmapped<'a> {
    user: Option<&'a str>,
    users: &'a [String],
    evidence: &'a serde_json::Value,
}

impl<'a> DetectionFinding<'a> {
    /// The finding for `alert`.
    pub fn from_alert(alert: &'a Alert) -> DetectionFinding<'a> {
        let time = alert.time.as_millisecond();
        let (severity_id, severity, risk_level_id) = match alert.severity {
            Severity::Low => (2, "Low", 1),
            Severity::Medium => (3, "Medium", 2),
            Severity::High => (4, "High", 3),
            Severity::Critical => (5, "Critical", 4),
        };
        let mut observables: Vec<Observable<'a>> = alert
            .users
            .iter()
            .map(|u| Observable {
                name: Cow::Borrowed("user"),
                type_id: 4,
                type_name: "User Name",
                value: u,
            })
            .collect();
        collect_observables(
            &alert.evidence,
            &mut String::from("evidence"),
            0,
            &mut observables,
        );
        DetectionFinding {
            activity_id: ACTIVITY_CREATE,
            activity_name: "Create",
            category_uid: CATEGORY_UID,
            category_name: "Findings",
            class_uid: CLASS_UID,
            class_name: "Detection Finding",
            type_uid: CLASS_UID * 100 + ACTIVITY_CREATE,
            type_name: "Detection Finding: Create",
            severity_id,
            severity,
            status_id: 1,
            status: "New",
            time,
            message: &alert.summary,
            risk_score: alert.score.min(100),
            risk_level_id,
            risk_level: severity,
            finding_info: FindingInfo {
                uid: &alert.alert_id,
                title: title(&alert.detector),
                desc: &alert.summary,
                types: [&alert.detector],
                analytic: Analytic {
                    name: &alert.detector,
                    uid: &alert.detector,
                    type_id: analytic_type(&alert.detector).0,
                    type_name: analytic_type(&alert.detector).1,
                },
                created_time: time,
                related_events: alert
                    .event_ids
                    .iter()
                    .map(|uid| RelatedEvent { uid })
                    .collect(),
            },
            metadata: Metadata {
                version: OCSF_VERSION,
                product: Product {
                    name: "jetlag",
                    vendor_name: "jetlag",
                    version: env!("CARGO_PKG_VERSION"),
                },
            },
            observables,
            unmapped: Unmapped {
                user: alert.user.as_deref(),
                users: &alert.users,
                evidence: &alert.evidence,
            },
        }
    }
}

/// "impossible_travel" → "Impossible travel".
fn title(detector: &str) -> String {
    let mut t = detector.replace('_', " ");
    if let Some(first) = t.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    t
}

/// OCSF analytic type: 1 Rule, 2 Behavioral, 3 Statistical.
fn analytic_type(detector: &str) -> (u8, &'static str) {
    match detector {
        "unfamiliar_signin" => (3, "Statistical"),
        "new_country" | "off_hours" | "location_mismatch" | "session_anomaly" => (2, "Behavioral"),
        _ => (1, "Rule"),
    }
}

/// Every `ip` / `country` string in the evidence (depth-limited), named by its path.
fn collect_observables<'a>(
    v: &'a serde_json::Value,
    path: &mut String,
    depth: usize,
    out: &mut Vec<Observable<'a>>,
) {
    if depth > 4 {
        return;
    }
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                match (k.as_str(), v) {
                    ("ip", serde_json::Value::String(s)) => out.push(Observable {
                        name: Cow::Owned(path.clone()),
                        type_id: 2,
                        type_name: "IP Address",
                        value: s,
                    }),
                    ("country", serde_json::Value::String(s)) => out.push(Observable {
                        name: Cow::Owned(path.clone()),
                        type_id: 14,
                        type_name: "Country",
                        value: s,
                    }),
                    ("ips", serde_json::Value::Array(items)) => {
                        out.extend(items.iter().filter_map(|i| i.as_str()).map(|s| Observable {
                            name: Cow::Owned(path.clone()),
                            type_id: 2,
                            type_name: "IP Address",
                            value: s,
                        }))
                    }
                    _ => collect_observables(v, path, depth + 1, out),
                }
                path.truncate(len);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_observables(item, path, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Writes the finding of `alert` and a newline.
pub(crate) fn write(out: &mut impl Write, buf: &mut Vec<u8>, alert: &Alert) -> Result<(), Error> {
    buf.clear();
    serde_json::to_writer(&mut *buf, &DetectionFinding::from_alert(alert)).map_err(|source| {
        Error::Json {
            alert_id: alert.alert_id.clone(),
            source,
        }
    })?;
    buf.push(b'\n');
    out.write_all(buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::alert;

    fn finding(a: &Alert) -> serde_json::Value {
        let mut out = Vec::new();
        write(&mut out, &mut Vec::new(), a).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn maps_an_alert_to_a_detection_finding() {
        let a = alert("a1", Some("kim@x.com"), Severity::Critical, 92);
        let f = finding(&a);
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["category_uid"], 2);
        assert_eq!(f["activity_id"], 1);
        assert_eq!(f["type_uid"], 200401);
        assert_eq!(f["severity_id"], 5);
        assert_eq!(f["severity"], "Critical");
        assert_eq!(f["risk_score"], 92);
        assert_eq!(f["risk_level_id"], 4);
        assert_eq!(f["time"], 1_740_831_600_000_i64);
        assert_eq!(f["message"], a.summary.as_str());
        assert_eq!(f["metadata"]["version"], OCSF_VERSION);
        assert_eq!(f["metadata"]["product"]["name"], "jetlag");
        let info = &f["finding_info"];
        assert_eq!(info["uid"], "a1");
        assert_eq!(info["title"], "Impossible travel");
        assert_eq!(info["analytic"]["name"], "impossible_travel");
        assert_eq!(info["analytic"]["type_id"], 1);
        assert_eq!(info["related_events"][1]["uid"], "e2");
        assert_eq!(f["unmapped"]["evidence"]["distance_km"], 7510.0);
    }

    #[test]
    fn users_ips_and_countries_become_observables() {
        let a = alert("a1", Some("kim@x.com"), Severity::High, 80);
        let f = finding(&a);
        let obs: Vec<(String, u64, String)> = f["observables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap().to_owned(),
                    o["type_id"].as_u64().unwrap(),
                    o["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for expected in [
            ("user".to_owned(), 4, "kim@x.com".to_owned()),
            ("evidence.from.ip".to_owned(), 2, "198.51.100.7".to_owned()),
            ("evidence.to.ip".to_owned(), 2, "203.0.113.9".to_owned()),
            ("evidence.to.country".to_owned(), 14, "RU".to_owned()),
        ] {
            assert!(obs.contains(&expected), "{expected:?} missing from {obs:?}");
        }
        assert_eq!(obs.len(), 5);
    }

    #[test]
    fn severity_ids_follow_the_ocsf_enum() {
        for (sev, id, level) in [
            (Severity::Low, 2, 1),
            (Severity::Medium, 3, 2),
            (Severity::High, 4, 3),
        ] {
            let f = finding(&alert("x", None, sev, 10));
            assert_eq!(
                (f["severity_id"].as_u64(), f["risk_level_id"].as_u64()),
                (Some(id), Some(level))
            );
            assert_eq!(f["unmapped"]["user"], serde_json::Value::Null);
        }
    }
}
