//! The contract's `geo` has non-null `lat` and `lon`: after enrichment, which every
//! command runs, no event has a location without coordinates, with or without GeoIP
//! databases. Checked over every vendor golden input and its expected output
//! (`crates/cli/tests/data`), the shared vendor samples (`../shared/data/samples`) and a
//! simulated organisation with its own GeoIP databases.

use std::path::{Path, PathBuf};

use jetlag_enrich::Enricher;
use jetlag_normalize::{Format, SignIn, parse_body};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` (recursively) whose name ends with one of `exts`.
fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            files(&p, exts, out);
        } else if exts.iter().any(|x| name.ends_with(x)) {
            out.push(p);
        }
    }
}

fn normalize(path: &Path) -> Vec<SignIn> {
    let bytes = std::fs::read(path).unwrap();
    parse_body(&path.to_string_lossy(), &bytes, Format::Auto)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .events
}

/// Enriches `events` with `enricher` and checks every location; returns how many log
/// locations lacked coordinates before.
fn check(what: &str, enricher: &Enricher, mut events: Vec<SignIn>) -> usize {
    let pointless = events
        .iter()
        .filter(|e| e.geo.as_ref().is_some_and(|g| g.point().is_none()))
        .count();
    let half = events.len() / 2;
    for ev in &mut events[..half] {
        enricher.enrich(ev);
    }
    enricher.enrich_all(&mut events[half..]);
    for ev in &events {
        if let Some(g) = &ev.geo {
            let (lat, lon) = g
                .point()
                .unwrap_or_else(|| panic!("{what}: event {} has geo {g:?}", ev.event_id));
            assert!(
                (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon),
                "{what}: event {}: {g:?}",
                ev.event_id
            );
            assert!(
                g.radius_km.is_some_and(|r| r >= 0.0),
                "{what}: event {}: {g:?}",
                ev.event_id
            );
        }
    }
    pointless
}

fn maxmind() -> Enricher {
    let dir = manifest().join("tests/data/maxmind");
    Enricher::builder()
        .geoip(dir.join("GeoIP2-City-Test.mmdb"))
        .geoip(dir.join("GeoIP2-Country-Test.mmdb"))
        .build()
        .unwrap()
}

#[test]
fn vendor_samples_have_no_geo_without_coordinates_after_enrichment() {
    let none = Enricher::builder().build().unwrap();
    let maxmind = maxmind();
    let mut inputs = Vec::new();
    let golden = manifest().join("../cli/tests/data");
    files(&golden, &[".json", ".jsonl", ".csv", ".gz"], &mut inputs);
    inputs.retain(|p| !p.to_string_lossy().ends_with(".expected.jsonl"));
    let shared = manifest().join("../../../shared/data/samples");
    assert!(
        shared.exists(),
        "{} is missing: tests need ../shared/data",
        shared.display()
    );
    files(&shared, &[".json", ".jsonl"], &mut inputs);
    assert!(inputs.len() >= 20, "only {} inputs", inputs.len());
    let (mut events, mut pointless) = (0, 0);
    for input in &inputs {
        let evs = normalize(input);
        events += evs.len();
        let what = input.display().to_string();
        pointless += check(&what, &none, evs.clone());
        check(&format!("{what} (maxmind)"), &maxmind, evs);
    }
    assert!(events > 150, "only {events} events");
    // The samples do carry log locations without coordinates (Azure audit's country-only
    // locations): the check above is not vacuous.
    assert!(pointless > 0);

    // The golden outputs `jetlag normalize` must print agree.
    let mut expected = Vec::new();
    files(&golden, &[".expected.jsonl"], &mut expected);
    assert!(expected.len() >= 12);
    for path in expected {
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let ev: serde_json::Value = serde_json::from_str(line).unwrap();
            let geo = &ev["geo"];
            assert!(
                geo.is_null() || (geo["lat"].is_f64() && geo["lon"].is_f64()),
                "{}: {line}",
                path.display()
            );
        }
    }
}

#[test]
fn a_simulated_organisation_has_no_geo_without_coordinates_after_enrichment() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = jetlag_simulate::Config {
        users: 150,
        days: 7,
        seed: 5,
        ..Default::default()
    };
    jetlag_simulate::simulate(&cfg, dir.path()).unwrap();
    let none = Enricher::builder().build().unwrap();
    let own = Enricher::builder()
        .geoip(dir.path().join("geoip/city.csv"))
        .geoip(dir.path().join("geoip/asn.csv"))
        .build()
        .unwrap();
    let mut logs = Vec::new();
    files(&dir.path().join("logs"), &[""], &mut logs);
    assert!(!logs.is_empty());
    let mut events = 0;
    for log in logs {
        let evs = normalize(&log);
        events += evs.len();
        let what = log.display().to_string();
        check(&what, &none, evs.clone());
        check(&format!("{what} (own geoip)"), &own, evs);
    }
    assert!(events > 1000, "only {events} events");
}
