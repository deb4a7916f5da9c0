//! The normalized sign-in event.

use std::fmt;
use std::net::IpAddr;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::{Country, NetClasses, Timestamp};

mod json;

/// Which log format an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Microsoft Entra ID (Graph `signIn`, Log Analytics `SigninLogs`, Event Hub records).
    Entra,
    /// Okta System Log.
    Okta,
    /// Google Workspace login audit (Admin SDK Reports API).
    Google,
    /// AWS CloudTrail `ConsoleLogin`.
    Cloudtrail,
    /// OCSF Authentication (class 3002).
    Ocsf,
    /// Elastic Common Schema authentication documents.
    Ecs,
    /// A CSV file with a header row.
    Csv,
}

impl Source {
    /// The name as written in JSON and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Entra => "entra",
            Source::Okta => "okta",
            Source::Google => "google",
            Source::Cloudtrail => "cloudtrail",
            Source::Ocsf => "ocsf",
            Source::Ecs => "ecs",
            Source::Csv => "csv",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the sign-in succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The user was signed in.
    Success,
    /// The sign-in was refused or interrupted.
    Failure,
    /// The log does not say.
    Unknown,
}

/// Where a [`Geo`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeoSource {
    /// The log record itself carried the location.
    Log,
    /// A GeoIP database lookup of the event's IP.
    Geoip,
}

/// A location with its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Geo {
    /// Latitude in degrees, -90..=90.
    pub lat: Option<f64>,
    /// Longitude in degrees, -180..=180.
    pub lon: Option<f64>,
    /// Radius in km within which the true location lies (accuracy radius).
    pub radius_km: Option<f64>,
    /// City name.
    pub city: Option<CompactString>,
    /// Region / state / subdivision name.
    pub region: Option<CompactString>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<Country>,
    /// Where the location came from.
    pub source: GeoSource,
}

impl Geo {
    /// The coordinates, when both are known.
    pub fn point(&self) -> Option<(f64, f64)> {
        Some((self.lat?, self.lon?))
    }
}

/// One sign-in, in jetlag's normalized shape (see `CONTRACT.md`).
///
/// Field order and names are the JSON that `jetlag normalize` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignIn {
    /// The vendor's id where present, else a stable hash of the record.
    pub event_id: CompactString,
    /// When the sign-in happened (the sign-in's own time, not ingestion time).
    pub time: Timestamp,
    /// The log format it came from.
    pub source: Source,
    /// Lower-cased UPN / e-mail / login (CloudTrail: the ARN).
    pub user: CompactString,
    /// Tenant / organisation / account id.
    pub tenant: Option<CompactString>,
    /// Whether the sign-in succeeded.
    pub outcome: Outcome,
    /// The client IP address.
    pub ip: Option<IpAddr>,
    /// The application signed in to.
    pub app: Option<CompactString>,
    /// The raw user agent.
    pub user_agent: Option<CompactString>,
    /// A device id (or MFA authenticator id).
    pub device_id: Option<CompactString>,
    /// A session / correlation id.
    pub session_id: Option<CompactString>,
    /// Whether MFA was satisfied.
    pub mfa: Option<bool>,
    /// Location, from the log or a GeoIP lookup.
    pub geo: Option<Geo>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Autonomous system organisation.
    pub as_org: Option<CompactString>,
    /// Network classes of the IP.
    pub network: NetClasses,
}

impl SignIn {
    /// A minimal event: everything optional unknown, no network classes.
    ///
    /// # Example
    /// ```
    /// use jetlag_event::{Outcome, SignIn, Source};
    /// let t = "2025-03-01T12:00:00Z".parse().unwrap();
    /// let ev = SignIn::new("e1", t, Source::Csv, "alice@example.com", Outcome::Success);
    /// assert!(ev.geo.is_none() && ev.network.is_empty());
    /// ```
    pub fn new(
        event_id: impl Into<CompactString>,
        time: Timestamp,
        source: Source,
        user: impl Into<CompactString>,
        outcome: Outcome,
    ) -> SignIn {
        SignIn {
            event_id: event_id.into(),
            time,
            source,
            user: user.into(),
            tenant: None,
            outcome,
            ip: None,
            app: None,
            user_agent: None,
            device_id: None,
            session_id: None,
            mfa: None,
            geo: None,
            asn: None,
            as_org: None,
            network: NetClasses::EMPTY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NetClass;

    #[test]
    fn json_shape_matches_the_contract() {
        let mut ev = SignIn::new(
            "abc",
            "2025-03-01T12:00:00Z".parse().unwrap(),
            Source::Okta,
            "alice@example.com",
            Outcome::Success,
        );
        ev.ip = Some("2001:db8::1".parse().unwrap());
        ev.network.insert(NetClass::Proxy);
        ev.geo = Some(Geo {
            lat: Some(40.7),
            lon: Some(-74.0),
            radius_km: Some(20.0),
            city: Some("New York".into()),
            region: None,
            country: Country::from_code("US"),
            source: GeoSource::Log,
        });
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            json,
            r#"{"event_id":"abc","time":"2025-03-01T12:00:00Z","source":"okta","user":"alice@example.com","tenant":null,"outcome":"success","ip":"2001:db8::1","app":null,"user_agent":null,"device_id":null,"session_id":null,"mfa":null,"geo":{"lat":40.7,"lon":-74.0,"radius_km":20.0,"city":"New York","region":null,"country":"US","source":"log"},"asn":null,"as_org":null,"network":["proxy"]}"#
        );
        let back: SignIn = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ev);
    }
}
