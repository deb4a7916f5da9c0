//! Criterion bench of the issue-5 path: the engine with the roster-aware and cross-identity
//! detectors (shared_ip, shared_device, password_spray, location_mismatch, off_hours,
//! session_anomaly) over 500k time-ordered sign-ins of 50k rostered users, then per-user
//! risk fusion of the alerts. A laptop farm and a password spray are hidden in the traffic.
//!
//! Run: `cargo bench -p jetlag-score --bench detect_and_score`. Throughput is events/s (or
//! alerts/s for the scorer); state bytes per user are printed once.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jetlag_detect::{DetectConfig, Engine};
use jetlag_event::{Alert, Country, Geo, GeoSource, Outcome, SignIn, Source, Timestamp};
use jetlag_roster::{Employee, Roster};
use jetlag_score::{Config, Scorer};

const EVENTS: usize = 500_000;
const USERS: usize = 50_000;

const PLACES: [(&str, f64, f64, &str); 4] = [
    ("US", 32.78, -96.80, "America/Chicago"),
    ("GB", 51.51, -0.13, "Europe/London"),
    ("DE", 52.52, 13.40, "Europe/Berlin"),
    ("JP", 35.68, 139.69, "Asia/Tokyo"),
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

fn roster() -> Roster {
    let mut rng = Rng(0x51f1_5eed);
    Roster::from_employees((0..USERS).map(|u| {
        let (cc, lat, lon, tz) = PLACES[u % 4];
        Employee {
            user: format!("user{u}@corp.example").into(),
            hire_date: Some(jiff::civil::date(
                2010 + (rng.below(16) as i16),
                1 + rng.below(12) as i8,
                1,
            )),
            work_country: Country::from_code(cc),
            work_lat: Some(lat),
            work_lon: Some(lon),
            work_timezone: jiff::tz::TimeZone::get(tz).ok(),
            ..Employee::default()
        }
    }))
}

fn events() -> Vec<SignIn> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    let mut out = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let t = start + jiff::SignedDuration::from_secs(i as i64);
        let mut ev = if i % 1000 < 30 {
            // A laptop farm (30 identities behind one address) and a spray, interleaved.
            if i % 2 == 0 {
                let u = (i / 1000) % 30;
                let mut ev = SignIn::new(
                    format!("f{i}"),
                    t,
                    Source::Entra,
                    format!("farm{u}@corp.example"),
                    Outcome::Success,
                );
                ev.ip = Some("73.45.12.9".parse().unwrap());
                ev
            } else {
                let mut ev = SignIn::new(
                    format!("s{i}"),
                    t,
                    Source::Entra,
                    format!("user{}@corp.example", rng.below(USERS as u64)),
                    Outcome::Failure,
                );
                ev.ip = Some("203.0.113.50".parse().unwrap());
                ev
            }
        } else {
            // Users sign in during their working day (08:00–18:00 local, June offsets).
            let utc_hour = (i / 3600 % 24) as i64;
            let awake: Vec<usize> = [-5i64, 1, 2, 9]
                .iter()
                .enumerate()
                .filter(|(_, off)| (8..18).contains(&(utc_hour + **off).rem_euclid(24)))
                .map(|(p, _)| p)
                .collect();
            let place = if awake.is_empty() {
                rng.below(4)
            } else {
                awake[rng.below(awake.len() as u64)]
            };
            let u = rng.below((USERS / 4) as u64) * 4 + place;
            let travel = rng.below(50) == 0;
            let (cc, lat, lon, _) = PLACES[if travel { rng.below(4) } else { u % 4 }];
            let outcome = if rng.below(20) == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            let mut ev = SignIn::new(
                format!("e{i}"),
                t,
                Source::Entra,
                format!("user{u}@corp.example"),
                outcome,
            );
            let home = u as u32;
            ev.ip = Some(std::net::IpAddr::V4(std::net::Ipv4Addr::from(
                0x4900_0000 + if travel { 0x0100_0000 + home } else { home },
            )));
            ev.asn = Some(7922 + (u % 4) as u32 + u32::from(travel));
            ev.device_id = Some(format!("dev-{u}").into());
            ev.session_id = Some(format!("sess-{u}-{}", i / 86_400).into());
            ev.user_agent = Some(
                if travel && rng.below(10) == 0 {
                    "Firefox/126"
                } else {
                    "Chrome/125"
                }
                .into(),
            );
            ev.geo = Some(Geo {
                lat: Some(lat),
                lon: Some(lon),
                radius_km: Some(20.0),
                city: None,
                region: None,
                country: Country::from_code(cc),
                source: GeoSource::Geoip,
            });
            ev
        };
        ev.tenant = Some("corp".into());
        out.push(ev);
    }
    out
}

fn issue5_only() -> DetectConfig {
    let mut c = DetectConfig::default();
    c.impossible_travel.enabled = false;
    c.new_country.enabled = false;
    c.anonymizer.enabled = false;
    c.unfamiliar_signin.enabled = false;
    c
}

fn run(config: &DetectConfig, roster: &Arc<Roster>, events: &[SignIn]) -> (Engine, Vec<Alert>) {
    let mut engine = Engine::new(config, roster.clone());
    let mut out = Vec::new();
    for ev in events {
        engine.observe(ev, &mut out);
    }
    engine.finish(&mut out);
    (engine, out)
}

fn bench(c: &mut Criterion) {
    let roster = Arc::new(roster());
    let events = events();
    let issue5 = issue5_only();

    let (engine, alerts) = run(&issue5, &roster, &events);
    let state = engine.snapshot().expect("snapshot").len();
    let mut by_detector = std::collections::BTreeMap::<&str, usize>::new();
    for a in &alerts {
        *by_detector.entry(a.detector.as_str()).or_default() += 1;
    }
    eprintln!(
        "issue-5 detectors: {} events, {} users, {} alerts {by_detector:?}, snapshot {state} bytes = {:.0} bytes/user (incl. interned names)",
        events.len(),
        engine.user_count(),
        alerts.len(),
        state as f64 / engine.user_count() as f64
    );

    let mut g = c.benchmark_group("detect");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("issue5_detectors_500k_events_50k_users", |b| {
        b.iter(|| black_box(run(&issue5, &roster, &events).1.len()))
    });
    g.bench_function("all_detectors_500k_events_50k_users", |b| {
        b.iter(|| black_box(run(&DetectConfig::default(), &roster, &events).1.len()))
    });
    g.finish();

    let (_, all_alerts) = run(&DetectConfig::default(), &roster, &events);
    let mut g = c.benchmark_group("score");
    g.throughput(Throughput::Elements(all_alerts.len() as u64));
    g.bench_function(format!("fuse_{}_alerts", all_alerts.len()), |b| {
        b.iter(|| {
            let mut scorer = Scorer::new(Config::default());
            for a in &all_alerts {
                scorer.add(a);
            }
            black_box(scorer.users(&roster).len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
