//! Criterion bench of `Engine::observe` alone: 200k pre-built, time-ordered sign-ins of 20k
//! users (mostly routine, some travel, some VPN), every default detector enabled.
//!
//! Run: `cargo bench -p jetlag-detect --bench observe`. Throughput is reported in events/s.

mod support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jetlag_detect::{DetectConfig, Engine};
use jetlag_event::{Country, Geo, GeoSource, NetClass, Outcome, SignIn, Source, Timestamp};
use jetlag_roster::Roster;
use support::cpu_seconds;

const CITIES: [(&str, &str, f64, f64, u32); 8] = [
    ("New York", "US", 40.71, -74.01, 7922),
    ("Chicago", "US", 41.88, -87.63, 7018),
    ("London", "GB", 51.51, -0.13, 2856),
    ("Berlin", "DE", 52.52, 13.40, 3320),
    ("Tokyo", "JP", 35.68, 139.69, 2516),
    ("Sydney", "AU", -33.87, 151.21, 1221),
    ("Moscow", "RU", 55.76, 37.62, 12389),
    ("Dandong", "CN", 40.12, 124.39, 4837),
];
const APPS: [&str; 4] = ["Office 365", "Outlook", "Teams", "Azure Portal"];
const UAS: [&str; 3] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
];

/// A small deterministic generator (xorshift), so the bench needs no `rand`.
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

fn events(n: usize, users: usize) -> Vec<SignIn> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start: Timestamp = "2025-03-01T00:00:00Z".parse().unwrap();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let u = rng.below(users as u64);
        // Each user has a home city; 2 % of sign-ins come from elsewhere.
        let home = u % 6;
        let city = if rng.below(50) == 0 {
            rng.below(8)
        } else {
            home
        };
        let (name, cc, lat, lon, asn) = CITIES[city];
        let t = start + jiff::SignedDuration::from_secs(i as i64 * 2);
        let mut ev = SignIn::new(
            format!("{:08x}-4c1e-4b7a-9d1e-{i:012x}", u),
            t,
            Source::Entra,
            format!("user{u}@example.com"),
            if rng.below(20) == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            },
        );
        ev.ip = Some(std::net::IpAddr::from([
            10,
            (u >> 8) as u8,
            u as u8,
            city as u8,
        ]));
        ev.app = Some(APPS[rng.below(4)].into());
        ev.user_agent = Some(UAS[u % 3].into());
        ev.asn = Some(asn);
        ev.geo = Some(Geo {
            lat: Some(lat),
            lon: Some(lon),
            radius_km: None,
            city: Some(name.into()),
            region: None,
            country: Country::from_code(cc),
            source: GeoSource::Geoip,
        });
        if rng.below(100) == 0 {
            ev.network.insert(NetClass::Vpn);
        }
        out.push(ev);
    }
    out
}

fn observe(c: &mut Criterion) {
    let evs = events(200_000, 20_000);
    let config = DetectConfig::default();
    let roster = Arc::new(Roster::empty());
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(evs.len() as u64));
    group.sample_size(10);
    group.bench_function("observe_200k_events_20k_users", |b| {
        b.iter(|| {
            let mut engine = Engine::new(&config, roster.clone());
            let mut alerts = Vec::new();
            for ev in &evs {
                engine.observe(black_box(ev), &mut alerts);
                alerts.clear();
            }
            black_box(engine.user_count())
        })
    });
    group.finish();
}

/// Not a timing: prints the detector state per user after 1M events of 50k users, and the
/// CPU time they took (events/s per core).
fn state_memory(_c: &mut Criterion) {
    let evs = events(1_000_000, 50_000);
    let config = DetectConfig::default();
    let before = support::live();
    let mut engine = Engine::new(&config, Arc::new(Roster::empty()));
    let mut alerts = Vec::new();
    let start = std::time::Instant::now();
    let cpu = cpu_seconds();
    for ev in &evs {
        engine.observe(ev, &mut alerts);
        alerts.clear();
    }
    let cpu = cpu_seconds() - cpu;
    let elapsed = start.elapsed();
    let held = support::held_since(before);
    let users = engine.user_count();
    eprintln!(
        "state: {users} users, {:.1} MB allocated by the engine, {} bytes/user \
         (incl. the 1 MB redelivery filter); 1M events in {:.2?} wall, {cpu:.2} s CPU \
         ({:.2} M events/s per core)",
        held as f64 / 1e6,
        held / users.max(1),
        elapsed,
        evs.len() as f64 / cpu.max(0.01) / 1e6,
    );
    black_box(engine);
}

criterion_group!(benches, observe, state_memory);
criterion_main!(benches);
