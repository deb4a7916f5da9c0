//! Tests as data: how enrichment merges a log-supplied location with GeoIP's, one case a
//! line in `tests/data/geo/resolution.jsonl` (`dbs` are files under `tests/data/maxmind`;
//! `geo` is the event's location before enrichment, `want` after). Every case is run twice
//! (enriching is idempotent) and through both `enrich` and `enrich_all`.

use std::path::PathBuf;

use jetlag_enrich::Enricher;
use jetlag_event::{Geo, Outcome, SignIn, Source};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    case: String,
    dbs: Vec<String>,
    ip: Option<std::net::IpAddr>,
    geo: Option<Geo>,
    want: Option<Geo>,
}

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

#[test]
fn log_and_geoip_locations_merge_as_the_cases_say() {
    let text = std::fs::read_to_string(dir().join("geo/resolution.jsonl")).unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let enricher = Enricher::builder()
            .geoip_paths(case.dbs.iter().map(|d| dir().join("maxmind").join(d)))
            .build()
            .unwrap();
        let t = "2025-03-01T12:00:00Z".parse().unwrap();
        let mut ev = SignIn::new("e", t, Source::Csv, "a@example.com", Outcome::Success);
        ev.ip = case.ip;
        ev.geo = case.geo.clone();
        let mut batch = vec![ev.clone()];
        enricher.enrich(&mut ev);
        assert_eq!(ev.geo, case.want, "{}", case.case);
        enricher.enrich(&mut ev);
        assert_eq!(ev.geo, case.want, "{} (enriched twice)", case.case);
        enricher.enrich_all(&mut batch);
        assert_eq!(batch[0].geo, case.want, "{} (enrich_all)", case.case);
        n += 1;
    }
    assert!(n >= 10, "only {n} cases");
}
