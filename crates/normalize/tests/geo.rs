//! Tests as data: the `geo` a record's location becomes, before enrichment, one case a
//! line in `tests/data/geo_cases.jsonl` (`body`: a whole input, CSV or one JSON record;
//! `geo`: the one event's location; `warning`: text one warning must contain, or null for
//! none). A location without coordinates is kept here for enrichment to place or drop.

use jetlag_normalize::{Format, parse_body};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    case: String,
    body: String,
    geo: serde_json::Value,
    warning: Option<String>,
}

#[test]
fn record_locations_become_geo_as_the_cases_say() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/geo_cases.jsonl"
    ))
    .unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let out = parse_body("case", case.body.as_bytes(), Format::Auto).unwrap();
        assert!(out.rejects.is_empty(), "{}: {:?}", case.case, out.rejects);
        assert_eq!(out.events.len(), 1, "{}", case.case);
        let got = serde_json::to_value(&out.events[0].geo).unwrap();
        assert_eq!(got, case.geo, "{}", case.case);
        let warnings: Vec<String> = out
            .stats
            .first_warnings
            .iter()
            .map(ToString::to_string)
            .collect();
        match &case.warning {
            Some(w) => assert!(
                warnings.len() == 1 && warnings[0].contains(w.as_str()),
                "{}: want a warning with {w:?}, got {warnings:?}",
                case.case
            ),
            None => assert!(warnings.is_empty(), "{}: {warnings:?}", case.case),
        }
        n += 1;
    }
    assert!(n >= 8, "only {n} cases");
}
