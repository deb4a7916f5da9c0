//! Detection alone over a file of normalized events: CPU time, heap per user and snapshot
//! size, for all detectors together and for each one alone, plus a digest of the alerts.
//!
//! ```sh
//! cargo bench -p jetlag --bench scan_throughput          # writes the enriched events once
//! cargo bench -p jetlag-detect --bench detectors         # all, then each detector alone
//! cargo bench -p jetlag-detect --bench detectors -- --roster --only impossible_travel
//! ```
//!
//! `--file PATH` (default `/tmp/jetlag-scan-bench/enriched.jsonl`, what `scan_throughput`
//! writes): one normalized event per line. `--roster` gives every user a roster entry (work
//! country US, time zone America/New_York, one in ten hired within the last 90 days), so
//! the roster-aware detectors (`location_mismatch`, `off_hours`) have work to do on every
//! user. `--only NAME` measures one detector (and not all of them together); `--only all`
//! measures all of them together and no detector alone. `--runs N`
//! repeats each measurement. With `SNAPSHOT_TIMES=1` in the environment, each measurement
//! also prints the CPU time of encoding the engine's snapshot and of restoring it.
//!
//! Events per CPU second of the measuring thread is events per second per core. The heap
//! is counted exactly by a counting global allocator: what the engine holds after the run
//! (the engine's own user table and 1 MB redelivery filter are the `(engine)` line; "own" is
//! the heap beyond it, i.e. the detectors' state). The
//! digest is an FNV-1a hash of every alert's JSON in order: equal digests mean identical
//! alerts, ids, JSON and order.

mod support;

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use jetlag_detect::{DetectConfig, Engine};
use jetlag_event::{Alert, Country, SignIn};
use jetlag_roster::{Employee, Roster};
use support::cpu_seconds;

struct Opts {
    file: PathBuf,
    roster: bool,
    only: Option<String>,
    runs: usize,
}

fn opts() -> Opts {
    let mut o = Opts {
        file: std::env::temp_dir().join("jetlag-scan-bench/enriched.jsonl"),
        roster: false,
        only: None,
        runs: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--file" => o.file = args.next().map(PathBuf::from).expect("--file PATH"),
            "--roster" => o.roster = true,
            "--only" => o.only = Some(args.next().expect("--only NAME")),
            "--runs" => o.runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            _ => {} // cargo bench passes --bench
        }
    }
    o
}

/// A roster entry for every user of `events`.
fn roster_for(events: &[SignIn]) -> Roster {
    let mut users: Vec<&str> = events.iter().map(|e| e.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    let tz = jiff::tz::TimeZone::get("America/New_York").expect("bundled tzdb");
    let first = events.first().map(|e| e.time).unwrap_or_default();
    let day = jiff::tz::Offset::UTC.to_datetime(first).date();
    Roster::from_employees(users.into_iter().enumerate().map(|(i, u)| Employee {
        user: u.into(),
        hire_date: Some(if i % 10 == 0 {
            day.checked_sub(jiff::Span::new().days(30)).unwrap_or(day)
        } else {
            day.checked_sub(jiff::Span::new().days(900)).unwrap_or(day)
        }),
        work_country: Country::from_code("US"),
        work_timezone: Some(tz.clone()),
        ..Employee::default()
    }))
}

/// A config with only `name` enabled (all when `None`, none for `Some("")`).
fn config_only(name: Option<&str>) -> DetectConfig {
    let mut c = DetectConfig::default();
    if let Some(n) = name {
        c.impossible_travel.enabled = n == "impossible_travel";
        c.new_country.enabled = n == "new_country";
        c.anonymizer.enabled = n == "anonymizer";
        c.unfamiliar_signin.enabled = n == "unfamiliar_signin";
        c.shared_ip.enabled = n == "shared_ip";
        c.shared_device.enabled = n == "shared_device";
        c.password_spray.enabled = n == "password_spray";
        c.location_mismatch.enabled = n == "location_mismatch";
        c.off_hours.enabled = n == "off_hours";
        c.session_anomaly.enabled = n == "session_anomaly";
    }
    c
}

struct Measured {
    cpu_s: f64,
    heap: isize,
    snapshot: usize,
    users: usize,
    alerts: usize,
    digest: u64,
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn measure(events: &[SignIn], config: &DetectConfig, roster: &Arc<Roster>) -> Measured {
    let before = support::live();
    let mut engine = Engine::new(config, roster.clone());
    let mut alerts: Vec<Alert> = Vec::new();
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    let mut count = 0;
    let mut json = Vec::new();
    let mut flush = |alerts: &mut Vec<Alert>, digest: &mut u64| {
        for a in alerts.drain(..) {
            json.clear();
            serde_json::to_writer(&mut json, &a).expect("alert JSON");
            *digest = fnv(*digest, &json);
            count += 1;
        }
    };
    let mut cpu = 0.0;
    for chunk in events.chunks(4096) {
        // Only detection is timed, not the digest.
        let t = cpu_seconds();
        for ev in chunk {
            engine.observe(ev, &mut alerts);
        }
        cpu += cpu_seconds() - t;
        flush(&mut alerts, &mut digest);
    }
    let t = cpu_seconds();
    engine.finish(&mut alerts);
    cpu += cpu_seconds() - t;
    flush(&mut alerts, &mut digest);
    drop(alerts);
    let heap = support::live() - before;
    let t = cpu_seconds();
    let bytes = engine.snapshot().unwrap_or_default();
    let snapshot_s = cpu_seconds() - t;
    let t = cpu_seconds();
    let restored = Engine::restore(config, roster.clone(), &bytes).is_ok();
    let restore_s = cpu_seconds() - t;
    if std::env::var_os("SNAPSHOT_TIMES").is_some() {
        eprintln!(
            "snapshot {} bytes: encode {snapshot_s:.3} CPU-s, restore {restore_s:.3} CPU-s (ok: {restored})",
            bytes.len()
        );
    }
    let snapshot = bytes.len();
    Measured {
        cpu_s: cpu,
        heap,
        snapshot,
        users: engine.user_count().max(1),
        alerts: count,
        digest,
    }
}

const NAMES: [&str; 10] = [
    "impossible_travel",
    "new_country",
    "anonymizer",
    "unfamiliar_signin",
    "shared_ip",
    "shared_device",
    "password_spray",
    "location_mismatch",
    "off_hours",
    "session_anomaly",
];

fn main() {
    let o = opts();
    let file = match std::fs::File::open(&o.file) {
        Ok(f) => std::io::BufReader::with_capacity(1 << 20, f),
        Err(e) => {
            eprintln!(
                "cannot open {} ({e}): run `cargo bench -p jetlag --bench scan_throughput` first, or pass --file",
                o.file.display()
            );
            return;
        }
    };
    let mut events: Vec<SignIn> = file
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
    jetlag_detect::order(&mut events);
    let roster = Arc::new(if o.roster {
        roster_for(&events)
    } else {
        Roster::empty()
    });
    println!(
        "{} events from {}{}",
        events.len(),
        o.file.display(),
        if o.roster {
            format!(", a roster entry for each of {} users", roster.len())
        } else {
            String::new()
        }
    );
    println!(
        "\n{:<20}{:>8}{:>14}{:>12}{:>12}{:>14}{:>9}{:>18}",
        "detectors",
        "cpu s",
        "events/s/core",
        "heap B/user",
        "own B/user",
        "snapshot B/u",
        "alerts",
        "digest"
    );
    let mut engine_heap = 0;
    // The engine alone first: the "own" column subtracts its heap.
    let mut which: Vec<Option<&str>> = vec![Some("")];
    match o.only.as_deref() {
        Some("all") => which.push(None),
        Some(n) => which.push(Some(n)),
        None => {
            which.push(None);
            which.extend(NAMES.iter().map(|n| Some(*n)));
        }
    }
    for name in which {
        let config = config_only(name);
        for _ in 0..o.runs {
            let m = measure(&events, &config, &roster);
            if name == Some("") {
                engine_heap = m.heap;
            }
            println!(
                "{:<20}{:>8.2}{:>14.0}{:>12}{:>12}{:>14}{:>9}{:>18x}",
                match name {
                    None => "all",
                    Some("") => "(engine)",
                    Some(n) => n,
                },
                m.cpu_s,
                events.len() as f64 / m.cpu_s.max(0.01),
                m.heap / m.users as isize,
                (m.heap - engine_heap) / m.users as isize,
                m.snapshot / m.users,
                m.alerts,
                m.digest
            );
        }
    }
}
