//! Test support: a tiny sign-in builder and the one `check` helper (tests as data).

#![allow(dead_code)]

use std::sync::Arc;

use jetlag_detect::{DetectConfig, Engine, order};
use jetlag_event::{
    Alert, Country, Geo, GeoSource, NetClass, Outcome, Severity, SignIn, Source, Timestamp,
};
use jetlag_roster::{Employee, Roster};

/// Known places: name, lat, lon, country.
const PLACES: &[(&str, f64, f64, &str)] = &[
    ("New York", 40.7128, -74.0060, "US"),
    ("Newark", 40.7357, -74.1724, "US"),
    ("Cincinnati", 39.1031, -84.5120, "US"),
    ("US centroid", 39.8283, -98.5795, "US"),
    ("Chicago", 41.8781, -87.6298, "US"),
    ("Dallas", 32.7767, -96.7970, "US"),
    ("Moscow", 55.7558, 37.6173, "RU"),
    ("Dandong", 40.1292, 124.3947, "CN"),
    ("Pyongyang", 39.0392, 125.7625, "KP"),
    ("London", 51.5074, -0.1278, "GB"),
    ("Frankfurt", 50.1109, 8.6821, "DE"),
    ("Amsterdam", 52.3676, 4.9041, "NL"),
    ("Lagos", 6.5244, 3.3792, "NG"),
    ("Suva", -18.1416, 178.4419, "FJ"),
    ("Apia", -13.8333, -171.7667, "WS"),
    ("Tromsø", 69.6496, 18.9560, "NO"),
    ("Longyearbyen", 78.2232, 15.6267, "SJ"),
    ("Alert", 82.5018, -62.3481, "CA"),
];

/// The detectors of issue 4, which `check` looks at (issue 5's have their own tests).
pub const MINE: [&str; 4] = [
    "impossible_travel",
    "new_country",
    "anonymizer",
    "unfamiliar_signin",
];

/// Base time of every test: minutes are counted from here.
pub const T0: &str = "2025-03-03T14:00:00Z";

/// A sign-in under construction.
#[derive(Clone)]
pub struct B(pub SignIn);

/// A successful sign-in of `user` at `place`, `minutes` after [`T0`], with event id `id`.
pub fn at(id: &str, user: &str, place: &str, minutes: f64) -> B {
    let t: Timestamp = T0.parse().unwrap();
    let t = t + jiff::SignedDuration::from_secs_f64(minutes * 60.0);
    let mut ev = SignIn::new(id, t, Source::Entra, user, Outcome::Success);
    let &(name, lat, lon, cc) = PLACES
        .iter()
        .find(|p| p.0 == place)
        .unwrap_or_else(|| panic!("unknown place {place}"));
    ev.geo = Some(Geo {
        lat: Some(lat),
        lon: Some(lon),
        radius_km: None,
        city: Some(name.into()),
        region: None,
        country: Country::from_code(cc),
        source: GeoSource::Geoip,
    });
    ev.ip = Some(std::net::IpAddr::from([
        198,
        51,
        100,
        (lat.abs() as u8).wrapping_add(lon.abs() as u8),
    ]));
    B(ev)
}

impl B {
    pub fn ip(mut self, ip: &str) -> B {
        self.0.ip = Some(ip.parse().unwrap());
        self
    }
    pub fn net(mut self, class: NetClass) -> B {
        self.0.network.insert(class);
        self
    }
    pub fn radius(mut self, km: f64) -> B {
        self.0.geo.as_mut().unwrap().radius_km = Some(km);
        self
    }
    pub fn failed(mut self) -> B {
        self.0.outcome = Outcome::Failure;
        self
    }
    pub fn asn(mut self, asn: u32) -> B {
        self.0.asn = Some(asn);
        self
    }
    pub fn app(mut self, app: &str) -> B {
        self.0.app = Some(app.into());
        self
    }
    pub fn ua(mut self, ua: &str) -> B {
        self.0.user_agent = Some(ua.into());
        self
    }
    pub fn no_city(mut self) -> B {
        self.0.geo.as_mut().unwrap().city = None;
        self
    }
    pub fn no_geo(mut self) -> B {
        self.0.geo = None;
        self
    }
}

/// Runs a batch through [`order`] and a default engine; returns every alert.
pub fn run_with(config: &DetectConfig, roster: &Roster, events: &[B]) -> Vec<Alert> {
    let mut batch: Vec<SignIn> = events.iter().map(|b| b.0.clone()).collect();
    order(&mut batch);
    let mut engine = Engine::new(config, Arc::new(roster.clone()));
    let mut out = Vec::new();
    for ev in &batch {
        engine.observe(ev, &mut out);
    }
    engine.finish(&mut out);
    out
}

/// Runs with the default config and an empty roster.
pub fn run(events: &[B]) -> Vec<Alert> {
    run_with(&DetectConfig::default(), &Roster::empty(), events)
}

/// One line per alert: `detector severity user`.
pub fn lines(alerts: &[Alert]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| format!("{} {} {}", a.detector, a.severity, a.users.join(",")))
        .collect()
}

fn matches(line: &str, want: &str) -> bool {
    let (got, want): (Vec<&str>, Vec<&str>) =
        (line.split(' ').collect(), want.split(' ').collect());
    if got.len() != 3 || want.len() != 3 || got[0] != want[0] || got[2] != want[2] {
        return false;
    }
    let sev: Severity = got[1].parse().unwrap();
    match want[1].strip_suffix('+') {
        Some(min) => sev >= min.parse().unwrap(),
        None => match want[1].strip_suffix('-') {
            Some(max) => sev <= max.parse().unwrap(),
            None => sev == want[1].parse().unwrap(),
        },
    }
}

/// The one helper: runs `events` (see [`run_with`]) and requires the alerts, in order, to be
/// exactly `expect`, each `detector severity users` where severity may be `high+` (at least)
/// or `low-`... `medium-` (at most). Also requires the reversed input to give identical
/// alerts. Returns the alerts for further checks.
pub fn check_with(
    config: &DetectConfig,
    roster: &Roster,
    events: &[B],
    expect: &[&str],
) -> Vec<Alert> {
    let alerts: Vec<Alert> = run_with(config, roster, events)
        .into_iter()
        .filter(|a| MINE.contains(&a.detector.as_str()))
        .collect();
    let got = lines(&alerts);
    let ok = got.len() == expect.len() && got.iter().zip(expect).all(|(g, w)| matches(g, w));
    assert!(
        ok,
        "alerts differ\n  expected: {expect:#?}\n  got: {got:#?}\n  summaries: {:#?}",
        alerts.iter().map(|a| &a.summary).collect::<Vec<_>>()
    );
    let mut reversed = events.to_vec();
    reversed.reverse();
    let again: Vec<Alert> = run_with(config, roster, &reversed)
        .into_iter()
        .filter(|a| MINE.contains(&a.detector.as_str()))
        .collect();
    assert_eq!(again, alerts, "the reversed input gave other alerts");
    alerts
}

/// [`check_with`] with the default config and an empty roster.
pub fn check(events: &[B], expect: &[&str]) -> Vec<Alert> {
    check_with(&DetectConfig::default(), &Roster::empty(), events, expect)
}

/// Requires no alert of medium or above; returns all alerts (low ones included).
pub fn quiet(events: &[B]) -> Vec<Alert> {
    let alerts = run(events);
    let loud: Vec<String> = alerts
        .iter()
        .filter(|a| a.severity >= Severity::Medium)
        .map(|a| format!("{} {}: {}", a.detector, a.severity, a.summary))
        .collect();
    assert!(loud.is_empty(), "expected no medium+ alert, got {loud:#?}");
    alerts
}

/// A roster of `(user, hire_date, work_country)`.
pub fn roster(rows: &[(&str, Option<&str>, Option<&str>)]) -> Roster {
    Roster::from_employees(rows.iter().map(|(user, hired, country)| Employee {
        user: (*user).into(),
        hire_date: hired.map(|d| d.parse().unwrap()),
        work_country: country.and_then(Country::from_code),
        ..Employee::default()
    }))
}
