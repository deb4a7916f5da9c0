//! User-risk fusion cases, as data: a roster, some alerts, the expected ranking and levels.

use jetlag_event::{Alert, Severity};
use jetlag_roster::{Employee, Roster};
use jetlag_score::{Config, UserRisk, score_users};

/// `(detector, score, user or None, users)`.
type A<'a> = (&'a str, u8, Option<&'a str>, &'a [&'a str]);

fn alert(i: usize, (detector, score, user, users): A<'_>) -> Alert {
    Alert {
        alert_id: format!("{detector}-{i}"),
        detector: detector.into(),
        severity: Severity::from_score(score),
        score,
        user: user.map(Into::into),
        users: users.iter().map(|u| u.to_string()).collect(),
        time: "2025-06-01T12:00:00Z".parse().unwrap(),
        event_ids: vec![format!("e{i}")],
        summary: String::new(),
        evidence: serde_json::json!({}),
    }
}

fn roster(hires: &[(&str, (i16, i8, i8))]) -> Roster {
    Roster::from_employees(hires.iter().map(|&(u, (y, m, d))| Employee {
        user: u.into(),
        hire_date: Some(jiff::civil::date(y, m, d)),
        ..Employee::default()
    }))
}

/// Scores the alerts; also checks that reversing the input changes nothing.
fn check(hires: &[(&str, (i16, i8, i8))], alerts: &[A<'_>]) -> Vec<UserRisk> {
    let roster = roster(hires);
    let alerts: Vec<Alert> = alerts
        .iter()
        .enumerate()
        .map(|(i, a)| alert(i, *a))
        .collect();
    let forward = score_users(&alerts, &roster, Config::default());
    let backward = score_users(alerts.iter().rev(), &roster, Config::default());
    assert_eq!(forward, backward, "fusion depends on alert order");
    forward
}

fn get<'a>(risks: &'a [UserRisk], user: &str) -> &'a UserRisk {
    risks
        .iter()
        .find(|r| r.user == user)
        .unwrap_or_else(|| panic!("no risk for {user}"))
}

#[test]
fn several_weak_signals_on_a_new_hire_outrank_one_strong_signal_on_a_veteran() {
    let risks = check(
        &[("new@x.com", (2025, 5, 10)), ("vet@x.com", (2012, 1, 9))],
        &[
            ("off_hours", 40, Some("new@x.com"), &["new@x.com"]),
            ("location_mismatch", 45, Some("new@x.com"), &["new@x.com"]),
            ("shared_device", 40, None, &["new@x.com", "other@x.com"]),
            ("impossible_travel", 80, Some("vet@x.com"), &["vet@x.com"]),
        ],
    );
    assert_eq!(risks[0].user, "new@x.com", "{risks:#?}");
    let new = get(&risks, "new@x.com");
    let vet = get(&risks, "vet@x.com");
    assert!(
        new.risk > vet.risk + 20,
        "new {} vet {}",
        new.risk,
        vet.risk
    );
    assert!(new.level >= Severity::High, "{new:?}");
    assert_eq!(vet.level, Severity::Medium, "{vet:?}");
    assert_eq!(new.alerts.len(), 3);
    assert!(new.explanation.contains("new hire"), "{}", new.explanation);
    assert!(
        new.explanation.contains("3 independent signals"),
        "{}",
        new.explanation
    );
    assert!(
        vet.explanation.contains("employed 13 years"),
        "{}",
        vet.explanation
    );
}

#[test]
fn fusion_is_not_a_sum_and_stays_within_0_to_100() {
    let many: Vec<A<'_>> = (0..50)
        .map(|_| ("impossible_travel", 100, Some("u@x.com"), &["u@x.com"][..]))
        .collect();
    let risks = check(&[], &many);
    assert_eq!(risks.len(), 1);
    assert!(risks[0].risk <= 100);
    // Fifty repeats of one detector are one witness: no more than twice its hazard.
    let one = check(&[], &many[..1]);
    let two_witness = 100.0 * (1.0 - (1.0f64 - 0.9).powi(2));
    assert!(
        f64::from(risks[0].risk) <= two_witness.round(),
        "{}",
        risks[0].risk
    );
    assert!(risks[0].risk > one[0].risk);
}

#[test]
fn spray_targets_count_little_and_the_compromised_account_counts_fully() {
    let roster = Roster::empty();
    let mut spray = alert(0, ("password_spray", 95, None, &["a@x.com", "b@x.com"]));
    spray.evidence = serde_json::json!({ "compromised": ["b@x.com"] });
    let risks = score_users([&spray], &roster, Config::default());
    assert_eq!(risks[0].user, "b@x.com");
    assert!(get(&risks, "b@x.com").risk >= 85);
    assert!(get(&risks, "a@x.com").risk < 20);
    let a = &get(&risks, "a@x.com").explanation;
    assert!(a.contains("password_spray (targeted only)"), "{a}");
    let b = &get(&risks, "b@x.com").explanation;
    assert!(b.contains("password_spray (critical)"), "{b}");
}

#[test]
fn a_duplicate_alert_counts_once() {
    let a = ("anonymizer", 60, Some("u@x.com"), &["u@x.com"][..]);
    let roster = Roster::empty();
    let one = alert(0, a);
    let once = score_users([&one], &roster, Config::default());
    let twice = score_users([&one, &one], &roster, Config::default());
    assert_eq!(once, twice);
}

#[test]
fn invalid_config_reports_every_problem() {
    let mut c = Config {
        default_weight: 2.0,
        tenured_factor: -1.0,
        ..Config::default()
    };
    c.weights.insert("shared_ip".into(), -0.1);
    let problems = c.validate();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("score.weights.shared_ip: "))
    );
    assert!(Config::default().validate().is_empty());
}
