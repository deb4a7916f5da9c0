//! Criterion bench of the cross-identity detectors alone (`shared_ip`, `shared_device`,
//! `password_spray`: an [`Engine`] with only the cross-identity [`Stages`]) on data shaped
//! like the scan bench's (`crates/cli/benches/scan_throughput.rs`): every user has two random
//! public home IPs (72 % / 28 % of their sign-ins) and 2 % of sign-ins come from a random
//! public IP, so there are about two distinct IPs per user; 5 % of sign-ins fail; events are
//! spread over 30 days; event ids are 36-byte UUIDs as in Okta. Geo is a city and country per
//! IP, as DB-IP Lite City gives. Unlike the scan bench, a quarter of each user's sign-ins
//! carry the user's device id, so that `shared_device` has work too, and there are alerts to
//! compare before and after a change: five users in 500 share a home IP and a device (laptop
//! farms), and one IP sprays 300 accounts on day 15, then signs in.
//!
//! Run: `cargo bench -p jetlag-detect --bench cross_identity`. Besides the criterion timing
//! (200k events of 10k users), it prints one line for 1M events of 50k users: CPU seconds of
//! this thread (per core, even on a loaded machine), the heap the detectors hold at the end
//! per user, and the alerts per detector with a digest of their JSON (equal digests before
//! and after a change: identical alerts).

mod support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jetlag_detect::{DetectConfig, Engine, Stages};
use jetlag_event::{Country, Geo, GeoSource, Outcome, SignIn, Source, Timestamp};
use jetlag_roster::Roster;
use support::cpu_seconds;

const CROSS: Stages = Stages {
    per_user: false,
    cross_identity: true,
};

const PLACES: [(&str, &str); 8] = [
    ("New York", "US"),
    ("Chicago", "US"),
    ("London", "GB"),
    ("Berlin", "DE"),
    ("Tokyo", "JP"),
    ("Sydney", "AU"),
    ("São Paulo", "BR"),
    ("Saint Petersburg (Sankt-Peterburg)", "RU"),
];

/// splitmix64, as the scan bench: the same data every run, no `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn public_ip(&mut self) -> [u8; 4] {
        loop {
            let [a, b, c, d] = (self.next() as u32).to_be_bytes();
            if a != 0 && a != 10 && a != 127 && a < 224 && !(a == 192 && b == 168) && d != 0 {
                return [a, b, c, d];
            }
        }
    }
}

fn events(n: usize, users: usize) -> Vec<SignIn> {
    let mut rng = Rng(0x6a65_746c_6167);
    let homes: Vec<([u8; 4], [u8; 4])> = (0..users)
        .map(|_| (rng.public_ip(), rng.public_ip()))
        .collect();
    let start: i64 = 1_740_787_200; // 2025-03-01T00:00:00Z
    let mut rows: Vec<(i64, usize, [u8; 4], bool, bool)> = (0..n)
        .map(|i| {
            let u = if i < users {
                i
            } else {
                rng.below(users as u64) as usize
            };
            let t = start + rng.below(30 * 86_400) as i64;
            let ip = match rng.below(1000) {
                0..20 => rng.public_ip(),
                20..300 => homes[u].1,
                // A laptop farm: five users in 500 share their home IP (and their device).
                _ if u % 500 < 5 => homes[u - u % 500].0,
                _ => homes[u].0,
            };
            (t, u, ip, rng.below(100) < 5, rng.below(4) == 0)
        })
        .collect();
    // A password spray on day 15: 300 failures against random accounts, then a success.
    let sprayer = rng.public_ip();
    for k in 0..=300 {
        let u = rng.below(users as u64) as usize;
        rows.push((start + 15 * 86_400 + k * 10, u, sprayer, k < 300, false));
    }
    rows.sort_unstable_by_key(|r| r.0);
    rows.into_iter()
        .enumerate()
        .map(|(i, (t, u, ip, failed, device))| {
            let h = rng.next();
            let mut ev = SignIn::new(
                format!(
                    "{:08x}-{:04x}-4{:03x}-a{:03x}-{i:012x}",
                    h >> 32,
                    h >> 16 & 0xffff,
                    h & 0xfff,
                    h >> 4 & 0xfff
                ),
                Timestamp::from_second(t).expect("in range"),
                Source::Okta,
                format!("user{u}@example.com"),
                if failed {
                    Outcome::Failure
                } else {
                    Outcome::Success
                },
            );
            ev.ip = Some(std::net::IpAddr::from(ip));
            let (city, cc) = PLACES[usize::from(ip[0] ^ ip[3]) % PLACES.len()];
            ev.geo = Some(Geo {
                lat: Some(40.0),
                lon: Some(-74.0),
                radius_km: Some(20.0),
                city: Some(city.into()),
                region: None,
                country: Country::from_code(cc),
                source: GeoSource::Geoip,
            });
            if device {
                let d = if u % 500 < 5 { u - u % 500 } else { u };
                ev.device_id = Some(format!("{:08x}-0000-4000-8000-{d:012x}", d * 7919).into());
            }
            ev
        })
        .collect()
}

fn observe(c: &mut Criterion) {
    let evs = events(200_000, 10_000);
    let config = DetectConfig::default();
    let roster = Arc::new(Roster::empty());
    let mut group = c.benchmark_group("cross_identity");
    group.throughput(Throughput::Elements(evs.len() as u64));
    group.sample_size(10);
    group.bench_function("observe_200k_events_10k_users", |b| {
        b.iter(|| {
            let mut engine = Engine::with_stages(&config, roster.clone(), CROSS);
            let mut alerts = Vec::new();
            for ev in &evs {
                engine.observe(black_box(ev), &mut alerts);
                alerts.clear();
            }
            engine.finish(&mut alerts);
            black_box(alerts.len())
        })
    });
    group.finish();
}

/// Not a timing: CPU seconds, state per user and alerts for 1M events of 50k users.
fn state_memory(_c: &mut Criterion) {
    let evs = events(1_000_000, 50_000);
    let config = DetectConfig::default();
    let before = support::live();
    let mut engine = Engine::with_stages(&config, Arc::new(Roster::empty()), CROSS);
    // The engine's own share (user names, the redelivery filter) is not the detectors'.
    let mut alerts = Vec::new();
    let cpu = cpu_seconds();
    for ev in &evs {
        engine.observe(ev, &mut alerts);
    }
    let cpu = cpu_seconds() - cpu;
    let held = support::held_since(before);
    engine.finish(&mut alerts);
    let mut by: Vec<(String, usize)> = Vec::new();
    // FNV-1a of every alert's JSON in order: equal digests, identical alerts.
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    for a in &alerts {
        for &b in serde_json::to_string(a).unwrap_or_default().as_bytes() {
            digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        match by.iter_mut().find(|(d, _)| *d == a.detector) {
            Some((_, n)) => *n += 1,
            None => by.push((a.detector.to_string(), 1)),
        }
    }
    let users = engine.user_count().max(1);
    // The same events through an engine with no detectors: its heap (interned user names,
    // the redelivery filter) is not the detectors' state.
    let before_bare = support::live();
    let mut bare = Engine::with_stages(
        &config,
        Arc::new(Roster::empty()),
        Stages {
            per_user: false,
            cross_identity: false,
        },
    );
    for ev in &evs {
        bare.observe(ev, &mut Vec::new());
    }
    let bare_held = support::held_since(before_bare);
    let detectors = held.saturating_sub(bare_held);
    let snapshot = engine.snapshot().map(|s| s.len()).unwrap_or(0);
    eprintln!(
        "cross-identity: {users} users, 1M events in {cpu:.2} s CPU ({:.2} M events/s per core); \
         detector state {:.1} MB = {} bytes/user (engine heap {:.1} MB less {:.1} MB of an \
         engine with no detectors); snapshot {} bytes/user; alerts {by:?}, digest {digest:x}",
        evs.len() as f64 / cpu.max(0.01) / 1e6,
        detectors as f64 / 1e6,
        detectors / users,
        held as f64 / 1e6,
        bare_held as f64 / 1e6,
        snapshot / users,
    );
    black_box((engine, bare));
}

criterion_group!(benches, observe, state_memory);
criterion_main!(benches);
