//! Evaluation on hand-made truth and alerts: matching rules, ratios, rejects.

use std::io::Cursor;
use std::path::Path;

use jetlag_eval::{Options, evaluate, parse_alerts, parse_truth};
use jetlag_event::Severity;

const TRUTH: &str = r#"{"kind":"org","users":1000,"identities":1000,"tenants":1,"days":7,"seed":1,"start":"2026-09-07T00:00:00Z","end":"2026-09-13T23:59:59Z","events":5000}
{"kind":"attack","scenario":"ato-1","detector":"impossible_travel","users":["a@x"],"start":"2026-09-08T09:00:00Z","end":"2026-09-08T12:00:00Z","description":"ato"}
{"kind":"attack","scenario":"ato-2","detector":"impossible_travel","users":["b@x"],"start":"2026-09-09T09:00:00Z","end":"2026-09-09T12:00:00Z","description":"ato"}
{"kind":"attack","scenario":"ato-1","detector":"new_country","users":["a@x"],"start":"2026-09-08T09:00:00Z","end":"2026-09-08T12:00:00Z","description":"ato"}
{"kind":"attack","scenario":"spray-1","detector":"password_spray","users":["t1@x","t2@x","t3@x"],"start":"2026-09-10T00:00:00Z","end":"2026-09-10T01:00:00Z","description":"spray"}
{"kind":"benign","scenario":"trip-9","detector":"impossible_travel","users":["c@x"],"start":"2026-09-07T00:00:00Z","end":"2026-09-13T00:00:00Z","description":"trip"}
"#;

fn alert(detector: &str, severity: &str, user: Option<&str>, users: &[&str], time: &str) -> String {
    serde_json::json!({
        "alert_id": "x", "detector": detector, "severity": severity, "score": 70,
        "user": user, "users": users, "time": time, "event_ids": [], "summary": "s", "evidence": {}
    })
    .to_string()
}

fn run(alerts: &[String], min: Severity) -> jetlag_eval::Report {
    let truth = parse_truth(Cursor::new(TRUTH), Path::new("truth.jsonl")).unwrap();
    let (alerts, rejects) =
        parse_alerts(Cursor::new(alerts.join("\n")), Path::new("alerts.jsonl")).unwrap();
    assert!(rejects.is_empty(), "{rejects:?}");
    evaluate(&truth, &alerts, Options { min_severity: min })
}

#[test]
fn matching_needs_same_detector_overlapping_user_and_window() {
    let alerts = [
        // finds ato-1
        alert(
            "impossible_travel",
            "high",
            Some("a@x"),
            &["a@x"],
            "2026-09-08T10:00:00Z",
        ),
        // right user, outside the window: false
        alert(
            "impossible_travel",
            "high",
            Some("b@x"),
            &["b@x"],
            "2026-09-10T10:00:00Z",
        ),
        // benign trip: false, and a benign hit
        alert(
            "impossible_travel",
            "medium",
            Some("c@x"),
            &["c@x"],
            "2026-09-08T10:00:00Z",
        ),
        // an unrelated user: false
        alert(
            "impossible_travel",
            "critical",
            Some("z@x"),
            &["z@x"],
            "2026-09-08T10:00:00Z",
        ),
    ];
    let r = run(&alerts, Severity::Medium);
    let it = &r.detectors["impossible_travel"];
    assert_eq!((it.expected, it.found, it.alerts), (2, 1, 4));
    assert_eq!(it.recall, Some(0.5));
    assert_eq!(it.precision, Some(0.25));
    let f1 = it.f1.unwrap();
    assert!((f1 - 2.0 * 0.25 * 0.5 / 0.75).abs() < 1e-9, "{f1}");
    assert_eq!(it.false_alerts, 3);
    assert_eq!(it.benign_hits, 1);
    // 1000 users, attacked: a, b, t1..t3 -> 995 benign.
    assert_eq!(r.benign_users, 995);
    assert!((it.false_per_1k_benign - 3000.0 / 995.0).abs() < 1e-9);
    // new_country expected but never alerted: recall 0, precision undefined.
    let nc = &r.detectors["new_country"];
    assert_eq!(
        (nc.expected, nc.found, nc.recall, nc.precision, nc.f1),
        (1, 0, Some(0.0), None, Some(0.0))
    );
}

#[test]
fn ip_centric_alerts_match_by_target_set_and_low_severity_is_ignored() {
    let alerts = [
        alert(
            "password_spray",
            "high",
            None,
            &["t9@x", "t3@x"],
            "2026-09-10T00:30:00Z",
        ),
        alert(
            "password_spray",
            "low",
            None,
            &["q@x"],
            "2026-09-10T00:30:00Z",
        ),
    ];
    let r = run(&alerts, Severity::Medium);
    let ps = &r.detectors["password_spray"];
    assert_eq!(
        (ps.expected, ps.found, ps.alerts, ps.false_alerts),
        (1, 1, 1, 0)
    );
    assert_eq!(ps.recall, Some(1.0));
    assert_eq!(ps.precision, Some(1.0));
    // With low included, the stray low alert is a false alert.
    let r = run(&alerts, Severity::Low);
    assert_eq!(r.detectors["password_spray"].false_alerts, 1);
}

#[test]
fn another_detectors_attack_is_collateral_not_false() {
    let alerts = [alert(
        "unfamiliar_signin",
        "high",
        Some("a@x"),
        &["a@x"],
        "2026-09-08T11:00:00Z",
    )];
    let r = run(&alerts, Severity::Medium);
    let u = &r.detectors["unfamiliar_signin"];
    assert_eq!(
        (u.expected, u.alerts, u.collateral, u.false_alerts),
        (0, 1, 1, 0)
    );
    assert_eq!(u.precision, None);
    assert_eq!(u.recall, None);
}

#[test]
fn json_report_has_the_contract_keys() {
    let alerts = [alert(
        "impossible_travel",
        "high",
        Some("a@x"),
        &["a@x"],
        "2026-09-08T10:00:00Z",
    )];
    let r = run(&alerts, Severity::Medium);
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    let it = &v["detectors"]["impossible_travel"];
    for k in [
        "expected",
        "found",
        "precision",
        "recall",
        "f1",
        "false_per_1k_benign",
    ] {
        assert!(it.get(k).is_some(), "missing {k} in {it}");
    }
    assert_eq!(it["expected"], 2);
    assert_eq!(it["recall"], 0.5);
    assert!(v["detectors"]["new_country"]["precision"].is_null());
    let table = r.to_string();
    assert!(table.contains("impossible_travel"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("all")), "{table}");
}

#[test]
fn bad_alert_lines_are_rejected_with_their_line_and_the_rest_kept() {
    let text = format!(
        "{}\nnot json\n\n{{\"detector\":\"x\"}}\n{}\n",
        alert(
            "impossible_travel",
            "high",
            Some("a@x"),
            &["a@x"],
            "2026-09-08T10:00:00Z"
        ),
        alert(
            "impossible_travel",
            "high",
            Some("b@x"),
            &["b@x"],
            "2026-09-09T10:00:00Z"
        ),
    );
    let (alerts, rejects) = parse_alerts(Cursor::new(text), Path::new("a.jsonl")).unwrap();
    assert_eq!(alerts.len(), 2);
    assert_eq!(
        rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![2, 4]
    );
}

#[test]
fn damaged_truth_names_the_line() {
    let bad = TRUTH.replace(r#""users":["b@x"]"#, r#""users":[]"#);
    let err = parse_truth(Cursor::new(bad), Path::new("t.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("t.jsonl:3:"), "{err}");
    let no_org: String = TRUTH.lines().skip(1).collect::<Vec<_>>().join("\n");
    let err = parse_truth(Cursor::new(no_org), Path::new("t.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no organisation line"), "{err}");
}
