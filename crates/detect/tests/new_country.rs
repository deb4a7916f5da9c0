//! new_country, as data.

mod support;

use jetlag_event::NetClass;
use support::{B, at, check, check_with, roster};

const A: &str = "alice@example.com";

/// `n` users with one sign-in each from `place`, an hour before everything else.
fn org(n: usize, place: &str, prefix: &str) -> Vec<B> {
    (0..n)
        .map(|i| {
            at(
                &format!("{prefix}{i}"),
                &format!("{prefix}{i}@example.com"),
                place,
                -60.0,
            )
        })
        .collect()
}

#[test]
fn a_new_country_for_a_user_with_history_alerts_once() {
    check(
        &[
            at("e1", A, "New York", 0.0),
            at("e2", A, "London", 600.0),
            at("e3", A, "London", 700.0),
            at("e4", A, "New York", 1400.0),
        ],
        &["new_country low alice@example.com"],
    );
}

#[test]
fn weighted_by_how_rare_the_country_is_in_the_org() {
    // 10 users in Germany, then 25 in the US (first sign-ins: quiet, the baseline is
    // being built, then the countries are common).
    let mut evs: Vec<B> = (0..10)
        .map(|i| {
            at(
                &format!("de{i}"),
                &format!("de{i}@example.com"),
                "Frankfurt",
                -20_000.0,
            )
        })
        .collect();
    evs.extend(org(25, "New York", "us"));
    evs.push(at("e1", A, "New York", 0.0));
    let common = [evs.clone(), vec![at("e2", A, "Frankfurt", 1440.0)]].concat();
    let rare = [evs.clone(), vec![at("e2", A, "Lagos", 1440.0)]].concat();
    let risky = [evs, vec![at("e2", A, "Pyongyang", 1440.0)]].concat();
    let common = check(&common, &["new_country low alice@example.com"]);
    let rare = check(&rare, &["new_country medium alice@example.com"]);
    let risky = check(&risky, &["new_country critical alice@example.com"]);
    assert!(common[0].score < rare[0].score && rare[0].score < risky[0].score);
    assert_eq!(rare[0].evidence["org_users_in_country"], 0);
    assert_eq!(rare[0].evidence["previous_countries"][0], "US");
}

#[test]
fn location_hiding_networks_are_left_out() {
    for class in [
        NetClass::Vpn,
        NetClass::Tor,
        NetClass::Proxy,
        NetClass::Relay,
        NetClass::Hosting,
        NetClass::Corporate,
        NetClass::Satellite,
    ] {
        let alerts = support::run(&[
            at("e1", A, "New York", 0.0),
            at("e2", A, "Frankfurt", 1440.0).net(class),
        ]);
        assert!(
            alerts.iter().all(|a| a.detector != "new_country"),
            "{class}: {alerts:#?}"
        );
    }
    // A mobile carrier does show the country.
    let alerts = support::run(&[
        at("e1", A, "New York", 0.0),
        at("e2", A, "Frankfurt", 1440.0).net(NetClass::Mobile),
    ]);
    assert!(alerts.iter().any(|a| a.detector == "new_country"));
}

#[test]
fn a_first_sign_in_is_judged_against_the_roster_without_a_learning_period() {
    let r = roster(&[
        ("kim@example.com", Some("2025-02-20"), Some("US")),
        ("lee@example.com", Some("2015-01-01"), Some("US")),
        (A, Some("2015-01-01"), Some("US")),
    ]);
    let config = Default::default();
    // Where HR says: nothing.
    check_with(&config, &r, &[at("e1", A, "New York", 0.0)], &[]);
    // The very first sign-in from elsewhere: alerts, more for a recent hire and a
    // high-risk country.
    let lee = check_with(
        &config,
        &r,
        &[at("e1", "lee@example.com", "Lagos", 0.0)],
        &["new_country medium lee@example.com"],
    );
    let kim = check_with(
        &config,
        &r,
        &[at("e1", "kim@example.com", "Dandong", 0.0)],
        &["new_country high+ kim@example.com"],
    );
    assert!(kim[0].score > lee[0].score);
    assert!(
        lee[0].summary.contains("roster says they work in US"),
        "{}",
        lee[0].summary
    );
    assert!(kim[0].summary.contains("recent hire"));
}

#[test]
fn a_first_sign_in_without_roster_is_judged_against_the_org_baseline() {
    let mut evs = org(25, "New York", "us");
    evs.push(at("e1", A, "New York", 0.0));
    check(&evs, &[]);
    let mut evs = org(25, "New York", "us");
    evs.push(at("e1", A, "Lagos", 0.0));
    check(&evs, &["new_country medium alice@example.com"]);
    // Too few users for a baseline: a first sign-in from an ordinary country stays quiet,
    // a high-risk one does not.
    check(&[at("e1", A, "Lagos", 0.0)], &[]);
    check(
        &[at("e1", A, "Moscow", 0.0)],
        &["new_country medium alice@example.com"],
    );
}

#[test]
fn the_roster_work_country_is_never_new() {
    let r = roster(&[(A, Some("2015-01-01"), Some("GB"))]);
    check_with(
        &Default::default(),
        &r,
        &[at("e1", A, "New York", 0.0), at("e2", A, "London", 600.0)],
        &["new_country medium alice@example.com"],
    );
}

/// A business trip to a country where the company has an office (here 3 of 29 users sign
/// in from the UK) is low context, for a recent hire too; the same trip to a country no
/// colleague uses stays medium or above.
#[test]
fn business_trip_to_an_office_country_many_colleagues_use_is_low() {
    let r = roster(&[(A, Some("2025-02-01"), Some("US"))]);
    let mut evs = org(25, "New York", "us");
    evs.extend(org(3, "London", "gb"));
    evs.push(at("e1", A, "New York", 0.0));
    let trip = [evs.clone(), vec![at("e2", A, "London", 24.0 * 60.0)]].concat();
    let alerts = check_with(
        &Default::default(),
        &r,
        &trip,
        &["new_country low alice@example.com"],
    );
    assert!(
        alerts[0].summary.contains("common in the org"),
        "{}",
        alerts[0].summary
    );
    let rare = [evs, vec![at("e2", A, "Lagos", 24.0 * 60.0)]].concat();
    check_with(
        &Default::default(),
        &r,
        &rare,
        &["new_country medium+ alice@example.com"],
    );
}
