//! impossible_travel, as data: sign-ins in, alerts expected out.

mod support;

use jetlag_event::NetClass;
use support::{at, check, check_with, quiet, roster, run};

const A: &str = "alice@example.com";

#[test]
fn us_to_moscow_in_20_minutes() {
    let alerts = check(
        &[at("e1", A, "New York", 0.0), at("e2", A, "Moscow", 20.0)],
        &[
            "impossible_travel critical alice@example.com",
            "new_country medium+ alice@example.com",
        ],
    );
    let ev = &alerts[0].evidence;
    assert_eq!(ev["from"]["city"], "New York");
    assert_eq!(ev["to"]["country"], "RU");
    assert_eq!(ev["elapsed_s"], 1200.0);
    let d = ev["distance_km"].as_f64().unwrap();
    assert!((7400.0..7600.0).contains(&d), "{d}");
    let v = ev["speed_kmh"].as_f64().unwrap();
    assert!((v - d * 3.0).abs() < 1.0, "{v}");
    for key in ["ip", "time", "lat", "lon", "country", "city"] {
        assert!(
            ev["from"].get(key).is_some() && ev["to"].get(key).is_some(),
            "{key}"
        );
    }
    assert_eq!(alerts[0].event_ids, ["e1", "e2"]);
    assert!(
        alerts[0].summary.contains("Moscow"),
        "{}",
        alerts[0].summary
    );
}

#[test]
fn dandong_ten_minutes_after_new_york() {
    check(
        &[at("n1", A, "New York", 0.0), at("d1", A, "Dandong", 10.0)],
        &[
            "impossible_travel critical alice@example.com",
            "new_country medium+ alice@example.com",
        ],
    );
}

#[test]
fn a_b_a_token_replay_alerts_both_ways() {
    // The user in New York, a stolen token replayed from Moscow, the user again.
    let alerts = check(
        &[
            at("a1", A, "New York", 0.0),
            at("b1", A, "Moscow", 30.0),
            at("a2", A, "New York", 45.0),
        ],
        &[
            "impossible_travel critical alice@example.com",
            "new_country medium+ alice@example.com",
            "impossible_travel critical alice@example.com",
        ],
    );
    assert_eq!(alerts[2].event_ids, ["b1", "a2"]);
}

#[test]
fn compares_with_every_sign_in_in_the_window_not_just_the_last() {
    // New York, then a VPN exit in Frankfurt (kept low), then Moscow: the Moscow sign-in
    // must be judged against New York, not only against the VPN exit.
    let alerts = check(
        &[
            at("a1", A, "New York", 0.0),
            at("v1", A, "Frankfurt", 5.0).net(NetClass::Vpn),
            at("m1", A, "Moscow", 20.0),
        ],
        &[
            "impossible_travel low alice@example.com",
            "anonymizer low alice@example.com",
            "impossible_travel critical alice@example.com",
            "new_country medium+ alice@example.com",
        ],
    );
    assert_eq!(alerts[2].event_ids, ["a1", "m1"]);
}

#[test]
fn late_event_is_compared_too() {
    // Delivered out of order to the engine directly (no `order()`): Moscow arrives after
    // a later New York sign-in; |Δt| is used, never a negative division.
    use std::sync::Arc;
    let (m, n1, n2) = (
        at("m", A, "Moscow", 30.0),
        at("n1", A, "New York", 0.0),
        at("n2", A, "New York", 60.0),
    );
    let mut engine = jetlag_detect::Engine::new(
        &Default::default(),
        Arc::new(jetlag_roster::Roster::empty()),
    );
    let mut out = Vec::new();
    for ev in [&n1.0, &n2.0, &m.0] {
        engine.observe(ev, &mut out);
    }
    let it: Vec<_> = out
        .iter()
        .filter(|a| a.detector == "impossible_travel")
        .collect();
    assert_eq!(it.len(), 1);
    assert!(it[0].evidence["speed_kmh"].as_f64().unwrap() > 10_000.0);
}

#[test]
fn new_york_to_london_eight_hours_later_is_quiet() {
    let alerts = quiet(&[at("e1", A, "New York", 0.0), at("e2", A, "London", 480.0)]);
    assert!(alerts.iter().all(|a| a.detector != "impossible_travel"));
}

#[test]
fn wifi_to_cellular_in_one_metro_is_quiet() {
    quiet(&[
        at("w1", A, "New York", 0.0).ip("203.0.113.5"),
        at("c1", A, "Newark", 2.0)
            .ip("172.56.1.1")
            .net(NetClass::Mobile),
        at("w2", A, "New York", 4.0).ip("203.0.113.5"),
    ]);
}

#[test]
fn cellular_geolocated_to_a_distant_carrier_gateway_is_widened() {
    // A carrier IP geolocated to its gateway in Cincinnati, 915 km from the user in New York:
    // the mobile radius (500 km) covers it. Without the `mobile` class it would alert.
    let evs = [
        at("w1", A, "New York", 0.0),
        at("c1", A, "Cincinnati", 5.0).net(NetClass::Mobile),
    ];
    let alerts = quiet(&evs);
    assert!(alerts.is_empty(), "{alerts:#?}");
    let not_mobile = [at("w1", A, "New York", 0.0), at("c1", A, "Cincinnati", 5.0)];
    assert_eq!(
        support::lines(&run(&not_mobile)),
        ["impossible_travel medium alice@example.com"]
    );
}

#[test]
fn ipv4_ipv6_flip_in_one_city_is_quiet() {
    // The IPv6 address is geolocated only to the country (no city: the point is the US
    // centroid, 2,080 km away, with MaxMind's 1,000 km radius for such records).
    let alerts = quiet(&[
        at("v4", A, "New York", 0.0).ip("203.0.113.7"),
        at("v6", A, "US centroid", 1.0)
            .ip("2001:db8::7")
            .radius(1000.0)
            .no_city(),
        at("v4b", A, "New York", 2.0).ip("203.0.113.7"),
        at("v6b", A, "New York", 3.0).ip("2001:db8::7"),
    ]);
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn consumer_vpn_hop_is_never_medium_and_says_why() {
    let alerts = quiet(&[
        at("e1", A, "New York", 0.0),
        at("e2", A, "Amsterdam", 10.0).net(NetClass::Vpn),
    ]);
    let it = alerts
        .iter()
        .find(|a| a.detector == "impossible_travel")
        .expect("a low alert");
    assert!(it.summary.contains("vpn"), "{}", it.summary);
}

#[test]
fn corporate_egress_abroad_is_quiet() {
    let alerts = quiet(&[
        at("e1", A, "New York", 0.0),
        at("e2", A, "Frankfurt", 30.0).net(NetClass::Corporate),
        at("e3", A, "New York", 35.0),
    ]);
    assert!(
        alerts.iter().all(|a| a.detector == "impossible_travel"),
        "{alerts:#?}"
    );
}

#[test]
fn two_sign_ins_in_the_same_second() {
    // In one metro: quiet.
    let alerts = quiet(&[at("e1", A, "New York", 0.0), at("e2", A, "Newark", 0.0)]);
    assert!(alerts.is_empty());
    // Across the world in the same second: instantaneous, alerts, and no speed is invented.
    let alerts = check(
        &[at("e1", A, "New York", 0.0), at("e2", A, "London", 0.0)],
        &[
            "impossible_travel high alice@example.com",
            "new_country low alice@example.com",
        ],
    );
    assert!(alerts[0].evidence["speed_kmh"].is_null());
    assert_eq!(alerts[0].evidence["elapsed_s"], 0.0);
}

#[test]
fn antimeridian_fiji_samoa_is_quiet() {
    // 1,150 km apart across the date line, 2 hours: 575 km/h. A naive longitude
    // difference would see 38,000 km.
    quiet(&[
        at("f1", A, "Suva", 0.0),
        at("s1", A, "Apia", 120.0),
        at("f2", A, "Suva", 240.0),
    ]);
}

#[test]
fn high_latitudes_are_quiet_when_flyable() {
    // Tromsø → Longyearbyen (950 km) in 2 h, then Longyearbyen → Alert (1,396 km) in 3 h.
    let alerts = quiet(&[
        at("t1", A, "Tromsø", 0.0),
        at("l1", A, "Longyearbyen", 120.0),
        at("a1", A, "Alert", 300.0),
    ]);
    assert!(
        alerts.iter().all(|a| a.detector != "impossible_travel"),
        "{alerts:#?}"
    );
    // ...but Longyearbyen → Alert in 30 minutes is not.
    let alerts = run(&[at("l1", A, "Longyearbyen", 0.0), at("a1", A, "Alert", 30.0)]);
    assert!(
        alerts.iter().any(|a| a.detector == "impossible_travel"),
        "{alerts:#?}"
    );
}

#[test]
fn the_same_event_twice_alerts_once() {
    let moscow = at("e2", A, "Moscow", 20.0);
    let evs = [at("e1", A, "New York", 0.0), moscow.clone(), moscow.clone()];
    check(
        &evs,
        &[
            "impossible_travel critical alice@example.com",
            "new_country medium+ alice@example.com",
        ],
    );
    // Also when fed to the engine directly, without `order()`.
    use std::sync::Arc;
    let mut engine = jetlag_detect::Engine::new(
        &Default::default(),
        Arc::new(jetlag_roster::Roster::empty()),
    );
    let mut out = Vec::new();
    for b in &evs {
        engine.observe(&b.0, &mut out);
    }
    out.retain(|a| support::MINE.contains(&a.detector.as_str()));
    assert_eq!(out.len(), 2, "{out:#?}");
}

#[test]
fn failures_and_unlocated_sign_ins_are_ignored() {
    check(
        &[
            at("e1", A, "New York", 0.0),
            at("e2", A, "Moscow", 20.0).failed(),
            at("e3", A, "Moscow", 21.0).no_geo(),
        ],
        &[],
    );
}

#[test]
fn out_of_range_coordinates_are_ignored() {
    let mut bad = at("e2", A, "Moscow", 20.0);
    bad.0.geo.as_mut().unwrap().lat = Some(123.0);
    let alerts = run(&[at("e1", A, "New York", 0.0), bad]);
    assert!(
        alerts.iter().all(|a| a.detector != "impossible_travel"),
        "{alerts:#?}"
    );
}

#[test]
fn split_tunnel_flips_stop_after_the_repeat_limit() {
    // A user whose traffic alternates between New York and a London exit every 10 minutes
    // (not listed as VPN): the first 3 alerts fire, the rest are routine.
    let mut evs = Vec::new();
    for i in 0..10 {
        let place = if i % 2 == 0 { "New York" } else { "London" };
        evs.push(at(&format!("e{i}"), A, place, f64::from(i) * 10.0));
    }
    let alerts = run(&evs);
    let it = alerts
        .iter()
        .filter(|a| a.detector == "impossible_travel")
        .count();
    assert_eq!(it, 3, "{:#?}", support::lines(&alerts));
    // High-risk countries never become routine.
    let mut evs = Vec::new();
    for i in 0..10 {
        let place = if i % 2 == 0 { "New York" } else { "Moscow" };
        evs.push(at(&format!("e{i}"), A, place, f64::from(i) * 10.0));
    }
    let it = run(&evs)
        .iter()
        .filter(|a| a.detector == "impossible_travel")
        .count();
    assert_eq!(it, 9);
}

#[test]
fn org_wide_routine_pairs_stop_alerting() {
    // 12 users each flip once New York → London in 10 minutes (a split-tunnel office):
    // after 10 distinct users the pair is routine for everyone.
    let mut evs = Vec::new();
    for u in 0..12 {
        let user = format!("u{u:02}@example.com");
        evs.push(at(&format!("{u}a"), &user, "New York", f64::from(u) * 60.0));
        evs.push(at(
            &format!("{u}b"),
            &user,
            "London",
            f64::from(u) * 60.0 + 10.0,
        ));
    }
    let it = run(&evs)
        .iter()
        .filter(|a| a.detector == "impossible_travel")
        .count();
    assert_eq!(it, 9, "the 10th user makes the pair routine");
}

#[test]
fn severity_rises_for_recent_hires() {
    // Cincinnati → Dallas (1,300 km) in 30 min, without mobile widening: medium; for a
    // new hire, higher.
    let evs = [at("e1", A, "Chicago", 0.0), at("e2", A, "Dallas", 30.0)];
    let plain = run(&evs);
    let hired = support::run_with(
        &Default::default(),
        &roster(&[(A, Some("2025-02-01"), Some("US"))]),
        &evs,
    );
    assert_eq!(plain.len(), 1);
    assert_eq!(hired.len(), 1);
    assert!(
        hired[0].score > plain[0].score,
        "{} vs {}",
        hired[0].score,
        plain[0].score
    );
    assert!(hired[0].summary.contains("recent hire"));
}

#[test]
fn thresholds_come_from_the_config() {
    let mut config = jetlag_detect::DetectConfig::default();
    config.impossible_travel.max_speed_kmh = 20_000.0;
    check_with(
        &config,
        &jetlag_roster::Roster::empty(),
        &[at("e1", A, "New York", 0.0), at("e2", A, "London", 30.0)],
        &["new_country low alice@example.com"],
    );
    config.impossible_travel.enabled = false;
    config.new_country.enabled = false;
    check_with(
        &config,
        &jetlag_roster::Roster::empty(),
        &[at("e1", A, "New York", 0.0), at("e2", A, "Moscow", 1.0)],
        &[],
    );
}
