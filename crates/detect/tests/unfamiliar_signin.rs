//! unfamiliar_signin (the Freeman et al. likelihood-ratio model), as data.

mod support;

use jetlag_detect::DetectConfig;
use jetlag_event::NetClass;
use jetlag_roster::Roster;
use support::{B, at, check_with};

const A: &str = "alice@example.com";
const WIN_CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

fn only_unfamiliar() -> DetectConfig {
    let mut c = DetectConfig::default();
    c.impossible_travel.enabled = false;
    c.new_country.enabled = false;
    c.anonymizer.enabled = false;
    c
}

fn usual(id: &str, user: &str, minutes: f64) -> B {
    at(id, user, "New York", minutes)
        .asn(7922)
        .ua(WIN_CHROME)
        .app("Office 365")
}

/// 20 colleagues with 3 ordinary sign-ins each, and alice with 6, all 12:00–14:00 UTC.
fn history() -> Vec<B> {
    let mut evs = Vec::new();
    for u in 0..20 {
        for k in 0..3 {
            evs.push(usual(
                &format!("p{u}-{k}"),
                &format!("u{u}@example.com"),
                -120.0 + f64::from(k) * 5.0 + f64::from(u),
            ));
        }
    }
    for k in 0..6 {
        evs.push(usual(&format!("a{k}"), A, -100.0 + f64::from(k) * 10.0));
    }
    evs
}

fn check(extra: Vec<B>, expect: &[&str]) -> Vec<jetlag_event::Alert> {
    let evs = [history(), extra].concat();
    check_with(&only_unfamiliar(), &Roster::empty(), &evs, expect)
}

#[test]
fn a_sign_in_unlike_the_users_alerts_and_names_the_features() {
    let attacker = at("x1", A, "Pyongyang", 12.0 * 60.0)
        .asn(131_279)
        .ua("python-requests/2.31.0")
        .app("Azure Portal");
    let alerts = check(
        vec![attacker],
        &["unfamiliar_signin high+ alice@example.com"],
    );
    let unfamiliar = alerts[0].evidence["unfamiliar"].as_array().unwrap();
    let names: Vec<&str> = unfamiliar.iter().map(|v| v.as_str().unwrap()).collect();
    for f in [
        "country KP",
        "asn AS131279",
        "user-agent a script on other OS",
        "app Azure Portal",
        "hour 00:00–03:00",
    ] {
        assert!(names.contains(&f), "{f} missing from {names:?}");
    }
    assert!(
        alerts[0].summary.contains("country KP"),
        "{}",
        alerts[0].summary
    );
    assert!(
        alerts[0].evidence["log10_likelihood_ratio"]
            .as_f64()
            .unwrap()
            >= 3.0
    );
}

#[test]
fn a_familiar_sign_in_is_quiet() {
    check(vec![usual("x1", A, -5.0)], &[]);
}

#[test]
fn one_unfamiliar_feature_is_not_enough() {
    // A new app only.
    check(vec![usual("x1", A, -5.0).app("Azure Portal")], &[]);
}

#[test]
fn a_vpn_hop_is_judged_without_its_country() {
    let vpn = at("x1", A, "Amsterdam", -5.0)
        .asn(9009)
        .ua(WIN_CHROME)
        .app("Office 365")
        .net(NetClass::Vpn);
    check(vec![vpn], &[]);
}

#[test]
fn a_new_user_is_judged_by_population_rarity_from_the_first_sign_in() {
    let odd = at("m1", "mallory@example.com", "Pyongyang", 12.0 * 60.0)
        .asn(131_279)
        .ua("python-requests/2.31.0")
        .app("Azure Portal");
    check(
        vec![odd],
        &["unfamiliar_signin medium+ mallory@example.com"],
    );
    check(vec![usual("m1", "mallory@example.com", -5.0)], &[]);
}

#[test]
fn the_score_rises_with_the_number_of_unfamiliar_features() {
    let two = at("x1", A, "London", -5.0)
        .asn(2856)
        .ua(WIN_CHROME)
        .app("Office 365");
    let mut config = only_unfamiliar();
    config.unfamiliar_signin.threshold = 0.5;
    let evs = |x: B| [history(), vec![x]].concat();
    let a2 = check_with(
        &config,
        &Roster::empty(),
        &evs(two),
        &["unfamiliar_signin low+ alice@example.com"],
    );
    let four = at("x1", A, "London", -5.0)
        .asn(2856)
        .ua("curl/8.0")
        .app("Azure Portal");
    let a4 = check_with(
        &config,
        &Roster::empty(),
        &evs(four),
        &["unfamiliar_signin medium+ alice@example.com"],
    );
    let s = |a: &[jetlag_event::Alert]| a[0].evidence["log10_likelihood_ratio"].as_f64().unwrap();
    assert!(s(&a4) > s(&a2) + 1.0, "{} vs {}", s(&a4), s(&a2));
}

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";

/// [`history`] plus three colleagues of the London office with three sign-ins each, so
/// that the UK is a country the population uses.
fn history_with_london_office() -> Vec<B> {
    let mut evs = history();
    for u in 0..3 {
        for k in 0..3 {
            evs.push(
                at(
                    &format!("l{u}-{k}"),
                    &format!("london{u}@example.com"),
                    "London",
                    -110.0 + f64::from(k) * 5.0 + f64::from(u),
                )
                .asn(5089)
                .ua(WIN_CHROME)
                .app("Office 365"),
            );
        }
    }
    evs
}

/// Alice on a business trip to London: a hotel network, 02:00 at home, the UK new for her
/// but used by colleagues — her own laptop and apps.
fn hotel_in_london(id: &str) -> B {
    at(id, A, "London", 12.0 * 60.0)
        .asn(64_512)
        .ua(WIN_CHROME)
        .app("Office 365")
}

fn hire_roster(hired: &str) -> Roster {
    support::roster(&[(A, Some(hired), Some("US"))])
}

/// A traveller's hotel network and jet-lagged hours are explained by ordinary travel: low,
/// and the summary says why. The same sign-in with a new device stays low for a long-tenured
/// user and is medium for a recent hire.
#[test]
fn business_trip_with_hotel_network_and_jet_lagged_hours_stays_low() {
    let mut config = only_unfamiliar();
    config.unfamiliar_signin.threshold = 1.0; // alert on anything, to see the severity
    let tenured = hire_roster("2015-01-01");
    let evs = |x: B| [history_with_london_office(), vec![x]].concat();
    let trip = check_with(
        &config,
        &tenured,
        &evs(hotel_in_london("x1")),
        &["unfamiliar_signin low alice@example.com"],
    );
    assert!(
        trip[0].summary.contains("ordinary travel"),
        "{}",
        trip[0].summary
    );
    assert_eq!(trip[0].evidence["strong"].as_array().unwrap().len(), 0);
    let phone = hotel_in_london("x1").ua(IPHONE);
    check_with(
        &config,
        &tenured,
        &evs(phone.clone()),
        &["unfamiliar_signin low alice@example.com"],
    );
    let recent = check_with(
        &config,
        &hire_roster("2025-02-01"),
        &evs(phone),
        &["unfamiliar_signin medium+ alice@example.com"],
    );
    assert!(
        recent[0].summary.contains("recent hire"),
        "{}",
        recent[0].summary
    );
}

/// A hotel network and odd hours in a high-risk country are not ordinary travel.
#[test]
fn a_high_risk_country_is_medium_even_with_a_familiar_device() {
    let mut config = only_unfamiliar();
    config.unfamiliar_signin.threshold = 1.0;
    let moscow = at("x1", A, "Moscow", 12.0 * 60.0)
        .asn(64_512)
        .ua(WIN_CHROME)
        .app("Office 365");
    let alerts = check_with(
        &config,
        &hire_roster("2015-01-01"),
        &[history_with_london_office(), vec![moscow]].concat(),
        &["unfamiliar_signin medium+ alice@example.com"],
    );
    assert_eq!(alerts[0].evidence["high_risk_country"], true);
}
