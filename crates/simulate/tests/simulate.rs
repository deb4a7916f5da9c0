//! The simulator's output: determinism, vendor shapes, coverage of the IP plan, truth, and
//! the physics of benign users (no benign employee ever moves faster than an airliner).

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use jetlag_simulate::{Config, Label, TruthLine, simulate};

fn small(seed: u64) -> Config {
    Config {
        users: 400,
        days: 10,
        tenants: 3,
        seed,
        ..Default::default()
    }
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn same_seed_gives_byte_identical_output_and_another_seed_does_not() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    simulate(&small(5), a.path()).unwrap();
    simulate(&small(5), b.path()).unwrap();
    simulate(&small(6), c.path()).unwrap();
    let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
    assert!(ta.len() > 10, "{:?}", ta.keys());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        // SCAN.txt names the directory, which differs between the two runs.
        if k != Path::new("SCAN.txt") {
            assert!(
                v == &tb[k],
                "{} differs between two runs of one seed",
                k.display()
            );
        }
    }
    let roster = Path::new("roster.csv");
    assert_ne!(ta[roster], tc[roster], "another seed, same roster");
}

/// One sign-in pulled back out of any of the four vendor formats.
#[derive(Debug, Clone)]
struct Seen {
    user: String,
    time: jiff::Timestamp,
    ip: IpAddr,
    ok: bool,
}

fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    if path.extension().is_some_and(|e| e == "ndjson") {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    } else {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let arr = v
            .get("value")
            .or_else(|| v.get("Records"))
            .expect("a value or Records wrapper");
        arr.as_array().unwrap().clone()
    }
}

fn seen(r: &serde_json::Value) -> Seen {
    let s = |p: &str| r.pointer(p).and_then(|v| v.as_str()).map(str::to_string);
    let (user, time, ip, ok) = if let Some(upn) = s("/userPrincipalName") {
        (
            upn,
            s("/createdDateTime"),
            s("/ipAddress"),
            r["status"]["errorCode"] == 0,
        )
    } else if let Some(okta) = s("/actor/alternateId") {
        (
            okta,
            s("/published"),
            s("/client/ipAddress"),
            r["outcome"]["result"] == "SUCCESS",
        )
    } else if let Some(g) = s("/actor/email") {
        (
            g,
            s("/id/time"),
            s("/ipAddress"),
            r["events"][0]["name"] == "login_success",
        )
    } else {
        let arn = s("/userIdentity/arn")
            .or(s("/userIdentity/userName"))
            .unwrap();
        (
            arn,
            s("/eventTime"),
            s("/sourceIPAddress"),
            r["responseElements"]["ConsoleLogin"] == "Success",
        )
    };
    Seen {
        user,
        time: time.unwrap().parse().unwrap(),
        ip: ip.unwrap().parse().unwrap(),
        ok,
    }
}

struct Ranges(Vec<(IpAddr, IpAddr, Vec<String>)>);

impl Ranges {
    fn load(path: &Path) -> Ranges {
        let mut rows = Vec::new();
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(path)
            .unwrap();
        for rec in rd.records() {
            let rec = rec.unwrap();
            let f: Vec<String> = rec.iter().map(str::to_string).collect();
            rows.push((
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2..].to_vec(),
            ));
        }
        Ranges(rows)
    }
    fn get(&self, ip: IpAddr) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(s, e, _)| *s <= ip && ip <= *e && s.is_ipv4() == ip.is_ipv4())
            .map(|r| r.2.as_slice())
    }
}

fn listed(intel_dir: &Path, ip: IpAddr) -> Vec<String> {
    let mut classes = Vec::new();
    for e in std::fs::read_dir(intel_dir).unwrap() {
        let p = e.unwrap().path();
        let class = p.file_stem().unwrap().to_string_lossy().to_string();
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            let entry = line.split('#').next().unwrap().trim();
            if entry.is_empty() {
                continue;
            }
            let hit = match entry.split_once('/') {
                None => entry.parse::<IpAddr>().unwrap() == ip,
                Some((net, len)) => {
                    let (net, len): (IpAddr, u32) = (net.parse().unwrap(), len.parse().unwrap());
                    match (net, ip) {
                        (IpAddr::V4(n), IpAddr::V4(i)) => {
                            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                            u32::from(n) & m == u32::from(i) & m
                        }
                        (IpAddr::V6(n), IpAddr::V6(i)) => {
                            let m = if len == 0 {
                                0
                            } else {
                                u128::MAX << (128 - len)
                            };
                            u128::from(n) & m == u128::from(i) & m
                        }
                        _ => false,
                    }
                }
            };
            if hit {
                classes.push(class.clone());
                break;
            }
        }
    }
    classes
}

fn haversine(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[test]
fn output_is_well_formed_covered_by_its_databases_and_benign_users_obey_physics() {
    let dir = tempfile::tempdir().unwrap();
    let sum = simulate(&small(3), dir.path()).unwrap();
    let root = dir.path();

    // Every format is present.
    let names: Vec<String> = sum
        .log_files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    for want in [
        "entra/signins-00001.json",
        "okta-systemlog.ndjson",
        "google-login.ndjson",
        "cloudtrail-consolelogin.json",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(want)),
            "no {want} in {names:?}"
        );
    }

    // Roster header and rows.
    let roster = std::fs::read_to_string(root.join("roster.csv")).unwrap();
    assert_eq!(
        roster.lines().next().unwrap(),
        "user,display_name,hire_date,work_country,work_region,work_city,work_lat,work_lon,work_timezone"
    );
    let roster_users: HashSet<String> = roster
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(roster_users.len(), 400);

    // Truth: the org line, then cases naming roster users, covering every attack type.
    let truth_text = std::fs::read_to_string(root.join("truth.jsonl")).unwrap();
    let lines: Vec<TruthLine> = truth_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let TruthLine::Org(org) = &lines[0] else {
        panic!(
            "first line is not the org: {}",
            truth_text.lines().next().unwrap()
        )
    };
    assert_eq!(org.users, 400);
    let mut attack_users = HashSet::new();
    let mut detectors = HashSet::new();
    let mut cases = Vec::new();
    for l in &lines[1..] {
        let TruthLine::Case(c) = l else {
            panic!("second org line")
        };
        for u in &c.users {
            assert!(
                roster_users.contains(u),
                "truth names {u}, not in the roster"
            );
        }
        if c.kind == Label::Attack {
            detectors.insert(c.detector.clone());
            attack_users.extend(c.users.iter().cloned());
        }
        cases.push(c.clone());
    }
    for d in [
        "impossible_travel",
        "new_country",
        "anonymizer",
        "shared_ip",
        "shared_device",
        "password_spray",
        "location_mismatch",
        "off_hours",
        "session_anomaly",
    ] {
        assert!(
            detectors.contains(d),
            "no injected {d} attack; have {detectors:?}"
        );
    }

    // Every record parses; every IP is in both CSV databases; Entra is newest-first.
    let city = Ranges::load(&root.join("geoip/city.csv"));
    let asn = Ranges::load(&root.join("geoip/asn.csv"));
    let mut all = Vec::new();
    let mut pages: Vec<&PathBuf> = sum
        .log_files
        .iter()
        .filter(|p| p.to_string_lossy().contains("/entra/"))
        .collect();
    pages.sort();
    let mut last_entra: Option<jiff::Timestamp> = None;
    for f in &sum.log_files {
        for r in records(f) {
            let s = seen(&r);
            assert!(
                city.get(s.ip).is_some(),
                "{} not in geoip/city.csv ({})",
                s.ip,
                f.display()
            );
            assert!(asn.get(s.ip).is_some(), "{} not in geoip/asn.csv", s.ip);
            all.push(s);
        }
    }
    for p in pages {
        for r in records(p) {
            let t = seen(&r).time;
            if let Some(prev) = last_entra {
                assert!(
                    t <= prev,
                    "Entra pages are not newest-first at {t} after {prev}"
                );
            }
            last_entra = Some(t);
        }
    }
    assert_eq!(all.len() as u64, sum.events);
    assert_eq!(org.events, sum.events);

    // Every attack leaves sign-ins of its users inside its window.
    for c in cases.iter().filter(|c| c.kind == Label::Attack) {
        assert!(
            all.iter()
                .any(|s| c.users.contains(&s.user) && c.start <= s.time && s.time <= c.end),
            "attack {} / {} left no sign-in in its window",
            c.scenario,
            c.detector
        );
    }

    // Physics: a benign user's consecutive successful sign-ins from located, unlisted
    // networks never need more than 1,000 km/h over more than 500 km.
    let intel = root.join("intel");
    type Track = Vec<(jiff::Timestamp, (f64, f64))>;
    let mut by_user: BTreeMap<&str, Track> = BTreeMap::new();
    let mut class_cache: BTreeMap<IpAddr, bool> = BTreeMap::new();
    for s in all
        .iter()
        .filter(|s| s.ok && !attack_users.contains(&s.user))
    {
        let anonymous = *class_cache.entry(s.ip).or_insert_with(|| {
            listed(&intel, s.ip)
                .iter()
                .any(|c| ["vpn", "tor", "relay", "hosting", "corporate"].contains(&c.as_str()))
        });
        if anonymous {
            continue;
        }
        let row = city.get(s.ip).unwrap();
        let (lat, lon) = (row[3].parse().unwrap(), row[4].parse().unwrap());
        by_user
            .entry(&s.user)
            .or_default()
            .push((s.time, (lat, lon)));
    }
    let mut pairs = 0;
    for (user, mut evs) in by_user {
        evs.sort_by_key(|e| e.0);
        for w in evs.windows(2) {
            let km = haversine(w[0].1, w[1].1);
            let hours = (w[1].0.as_second() - w[0].0.as_second()) as f64 / 3600.0;
            pairs += 1;
            assert!(
                km < 500.0 || km / hours.max(1e-9) <= 1000.0,
                "benign {user} moved {km:.0} km in {hours:.2} h at {}",
                w[1].0
            );
        }
    }
    assert!(pairs > 1000, "only {pairs} pairs checked");
}

#[test]
fn intel_lists_name_the_classes_scan_takes() {
    let dir = tempfile::tempdir().unwrap();
    let sum = simulate(
        &Config {
            users: 60,
            days: 3,
            ..Default::default()
        },
        dir.path(),
    )
    .unwrap();
    let classes: Vec<&str> = sum.intel.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        classes,
        ["mobile", "relay", "vpn", "hosting", "corporate", "tor"]
    );
    let args = sum.scan_args();
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--roster" && w[1].ends_with("roster.csv"))
    );
    assert_eq!(args.iter().filter(|a| *a == "--geoip").count(), 2);
}

#[test]
fn impossible_configurations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = simulate(
        &Config {
            users: 0,
            ..Default::default()
        },
        dir.path(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("at least 1"), "{err}");
}

/// Audit A8: a start whose days leave 1990–2099 wrote files jetlag's own normalizer
/// rejects (all of them from 1980-01-01; 6 of 25 from 2099-12-31, spilling into 2100).
#[test]
fn a8_a_start_whose_days_leave_1990_to_2099_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = |start: jiff::civil::Date, days: u32| {
        simulate(
            &Config {
                users: 5,
                days,
                tenants: 1,
                start,
                ..Default::default()
            },
            dir.path(),
        )
    };
    for (start, days) in [
        (jiff::civil::date(1980, 1, 1), 1),
        (jiff::civil::date(1990, 1, 1), 1),
        (jiff::civil::date(2099, 12, 31), 1),
        (jiff::civil::date(2099, 12, 2), 30),
        (jiff::civil::date(9999, 12, 31), 3660),
    ] {
        let err = run(start, days).unwrap_err().to_string();
        assert!(
            err.contains(&format!("start {start} and {days} day")) && err.contains("1990–2099"),
            "{err}"
        );
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
    run(jiff::civil::date(1990, 1, 2), 1).unwrap();
    run(jiff::civil::date(2099, 12, 1), 30).unwrap();
}
