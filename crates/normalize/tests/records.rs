//! Tests as data: what one record becomes, one case a line in
//! `tests/data/record_cases.jsonl` — `body`: a whole input (CSV or one JSON record);
//! `format`: a forced `--format` (default `auto`); then one of `event` (the fields the one
//! event must have, as `normalize` prints them), `skipped: true` (a known source's event that
//! is not a sign-in) or `rejected` (text the reject reason must contain); `warning`: text
//! the one warning must contain, or null for none.
//!
//! Each vendor's case comes twice where it matters: as written, read by the vendor's
//! hand-written fast path, and with an escaped key first (`"\u0078":1`), which the fast
//! paths decline, so that serde reads the record.

use jetlag_normalize::{Format, parse_body};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    case: String,
    body: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    event: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    skipped: bool,
    #[serde(default)]
    rejected: Option<String>,
    warning: Option<String>,
}

#[test]
fn records_become_what_the_cases_say() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/record_cases.jsonl"
    ))
    .unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let name = &case.case;
        let format: Format = case.format.as_deref().unwrap_or("auto").parse().unwrap();
        let out = parse_body("case", case.body.as_bytes(), format).unwrap();
        let total = out.stats.total();
        assert_eq!(total.read, 1, "{name}");
        match (&case.event, case.skipped, &case.rejected) {
            (Some(want), false, None) => {
                assert!(out.rejects.is_empty(), "{name}: {:?}", out.rejects);
                assert_eq!(out.events.len(), 1, "{name}");
                let got = serde_json::to_value(&out.events[0]).unwrap();
                for (field, value) in want {
                    assert_eq!(&got[field], value, "{name}: {field} of {got}");
                }
            }
            (None, true, None) => {
                assert_eq!(
                    (total.skipped, total.rejected),
                    (1, 0),
                    "{name}: {:?}",
                    out.rejects
                );
            }
            (None, false, Some(reason)) => {
                assert_eq!(out.rejects.len(), 1, "{name}");
                let got = out.rejects[0].reason.to_string();
                assert!(got.contains(reason.as_str()), "{name}: {got}");
            }
            _ => panic!("{name}: give one of event, skipped or rejected"),
        }
        let warnings: Vec<String> = out
            .stats
            .first_warnings
            .iter()
            .map(ToString::to_string)
            .collect();
        match &case.warning {
            Some(w) => assert!(
                warnings.len() == 1 && warnings[0].contains(w.as_str()),
                "{name}: want a warning with {w:?}, got {warnings:?}"
            ),
            None => assert!(warnings.is_empty(), "{name}: {warnings:?}"),
        }
        n += 1;
    }
    assert!(n >= 40, "only {n} cases");
}
