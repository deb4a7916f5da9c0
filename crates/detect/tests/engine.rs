//! The engine: order independence, duplicates, snapshot → restore, stages, configuration.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use jetlag_detect::{DetectConfig, Engine, Error, Stages, UserId, order};
use jetlag_event::{Alert, NetClass, SignIn};
use jetlag_roster::Roster;
use support::{B, at};

const PLACES: [&str; 8] = [
    "New York",
    "Chicago",
    "London",
    "Frankfurt",
    "Moscow",
    "Dandong",
    "Lagos",
    "Dallas",
];

/// A deterministic mixed stream: 40 users, 600 sign-ins over 3 days, with travel, VPNs,
/// Tor, failures and duplicates.
fn stream() -> Vec<B> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut evs = Vec::new();
    for i in 0..600 {
        let u = next(40);
        let home = PLACES[(u % 3) as usize];
        let place = if next(8) == 0 {
            PLACES[next(8) as usize]
        } else {
            home
        };
        let mut b = at(
            &format!("ev{i:04}"),
            &format!("user{u}@example.com"),
            place,
            (i * 7) as f64,
        )
        .asn(7922 + (u % 5) as u32)
        .app(["Office 365", "Teams", "Azure Portal"][next(3) as usize]);
        match next(30) {
            0 => b = b.net(NetClass::Vpn),
            1 => b = b.net(NetClass::Tor),
            2 => b = b.failed(),
            _ => {}
        }
        if next(25) == 0 {
            evs.push(b.clone()); // a duplicate
        }
        evs.push(b);
    }
    evs
}

fn batch(evs: &[B]) -> Vec<SignIn> {
    let mut v: Vec<SignIn> = evs.iter().map(|b| b.0.clone()).collect();
    order(&mut v);
    v
}

fn feed(engine: &mut Engine, evs: &[SignIn]) -> Vec<Alert> {
    let mut out = Vec::new();
    for ev in evs {
        engine.observe(ev, &mut out);
    }
    out
}

fn engine() -> Engine {
    Engine::new(&DetectConfig::default(), Arc::new(Roster::empty()))
}

#[test]
fn results_do_not_depend_on_input_order() {
    let evs = stream();
    let forward = feed(&mut engine(), &batch(&evs));
    assert!(
        forward.len() > 20,
        "the stream should raise alerts: {}",
        forward.len()
    );
    let mut reversed = evs.clone();
    reversed.reverse();
    assert_eq!(feed(&mut engine(), &batch(&reversed)), forward);
    // An interleaving, as pages of two files would arrive.
    let even = evs.iter().step_by(2).cloned();
    let odd = evs.iter().skip(1).step_by(2).cloned();
    let shuffled: Vec<B> = even.chain(odd).collect();
    assert_eq!(feed(&mut engine(), &batch(&shuffled)), forward);
}

#[test]
fn order_sorts_by_time_then_id_and_drops_repeated_ids() {
    let evs = stream();
    let v = batch(&evs);
    assert!(
        v.windows(2)
            .all(|w| (w[0].time, &w[0].event_id) < (w[1].time, &w[1].event_id))
    );
    let mut ids: Vec<&str> = v.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), v.len());
    assert_eq!(v.len(), 600);
}

#[test]
fn sign_ins_of_other_users_or_tenants_sharing_an_event_id_are_all_kept() {
    // Two CSV exports numbering their rows, or two AWS accounts' trails: one id, four
    // different sign-ins (regression: only the first survived, and shared_ip went quiet).
    let mut evs: Vec<SignIn> = ["amy", "bob", "cy", "dee"]
        .iter()
        .map(|u| {
            at("1", &format!("{u}@example.com"), "Chicago", 0.0)
                .ip("198.51.100.7")
                .0
        })
        .collect();
    evs[3].tenant = Some("other-account".into());
    let mut copy = evs[0].clone();
    copy.tenant = Some("other-account".into());
    evs.push(copy); // amy's id 1 in another account: another sign-in too
    evs.push(evs[1].clone()); // bob's, delivered twice: one event
    order(&mut evs);
    assert_eq!(evs.len(), 5);
    let mut engine = engine();
    let mut alerts = feed(&mut engine, &evs);
    engine.finish(&mut alerts); // a shared IP is reported once its incident settles
    assert!(
        alerts.iter().any(|a| a.detector == "shared_ip"),
        "{:?}",
        alerts.iter().map(|a| &a.detector).collect::<Vec<_>>()
    );
}

#[test]
fn the_copy_kept_of_a_conflicting_duplicate_does_not_depend_on_input_order() {
    // One id, time and user, but the copies disagree on the place (the real Okta sample
    // has such a record): the survivor is chosen by content, so either input order gives
    // the same events and the same alerts.
    let history = at("h", "kim@example.com", "Chicago", 0.0).0;
    let a = at("dup", "kim@example.com", "Chicago", 600.0).0;
    let mut b = at("dup", "kim@example.com", "Moscow", 600.0).0;
    b.ip = a.ip;
    let mut forward = vec![history.clone(), a.clone(), b.clone()];
    let mut backward = vec![b, a, history];
    order(&mut forward);
    order(&mut backward);
    assert_eq!(forward.len(), 2);
    assert_eq!(forward, backward);
    assert_eq!(
        feed(&mut engine(), &forward),
        feed(&mut engine(), &backward)
    );
}

#[test]
fn redelivered_events_never_alert_twice() {
    // Fed straight to the engine (a stream), every event twice in a row.
    let v = batch(&stream());
    let once = feed(&mut engine(), &v);
    let twice: Vec<SignIn> = v.iter().flat_map(|e| [e.clone(), e.clone()]).collect();
    assert_eq!(feed(&mut engine(), &twice), once);
}

#[test]
fn without_the_redelivery_filter_an_ordered_batch_alerts_the_same() {
    // What a batch scan without --state relies on: its batch is ordered, each event once.
    let v = batch(&stream());
    let filtered = feed(&mut engine(), &v);
    let mut unfiltered = engine().without_redelivery_filter();
    let mut out = Vec::new();
    for ev in &v {
        engine_prefetch_then_observe(&mut unfiltered, ev, &mut out);
    }
    assert_eq!(out, filtered);
    // The filter is really off: a snapshot remembers no recent events (each a varint
    // of a 64-bit key, 8 bytes or more), so a restored engine would not drop them.
    let mut with = engine();
    let mut without = engine().without_redelivery_filter();
    feed(&mut with, &v);
    feed(&mut without, &v);
    let (with, without) = (with.snapshot().unwrap(), without.snapshot().unwrap());
    assert!(
        with.len() >= without.len() + 8 * v.len(),
        "{} vs {} bytes",
        with.len(),
        without.len()
    );
}

/// `prefetch` then `observe_as`, as the scan calls them.
fn engine_prefetch_then_observe(engine: &mut Engine, ev: &SignIn, out: &mut Vec<Alert>) {
    engine.prefetch(&ev.event_id, ev.time, None);
    engine.observe_as(ev, &mut None, out);
}

#[test]
fn observe_as_with_remembered_user_ids_is_observe() {
    // The stream with every event twice (redeliveries must not hand out ids) and a
    // restored engine half-way (its users were interned by the first engine).
    let v: Vec<SignIn> = batch(&stream())
        .iter()
        .flat_map(|e| [e.clone(), e.clone()])
        .collect();
    let plain = feed(&mut engine(), &v);
    let mut ids: HashMap<String, Option<UserId>> = HashMap::new();
    let mut remembered = |engine: &mut Engine, evs: &[SignIn], out: &mut Vec<Alert>| {
        for ev in evs {
            let id = ids.entry(ev.user.to_string()).or_default();
            let before = *id;
            engine.observe_as(ev, id, out);
            // An id once given stays; a new one is the next the engine hands out.
            if let Some(b) = before {
                assert_eq!(*id, Some(b));
            }
            assert!(id.is_some(), "{} has no id after its event", ev.user);
            engine.prefetch(&ev.event_id, ev.time, *id);
        }
    };
    let mut first = engine();
    let mut out = Vec::new();
    remembered(&mut first, &v[..500], &mut out);
    let mut second = Engine::restore(
        &DetectConfig::default(),
        Arc::new(Roster::empty()),
        &first.snapshot().unwrap(),
    )
    .unwrap();
    remembered(&mut second, &v[500..], &mut out);
    assert_eq!(out, plain);
    // Ids are the engine's own: distinct users, distinct ids, dense from 0.
    let mut given: Vec<u32> = ids.values().map(|id| id.unwrap().0).collect();
    given.sort_unstable();
    assert_eq!(given, (0..ids.len() as u32).collect::<Vec<_>>());
    assert_eq!(second.user_count(), ids.len());
}

#[test]
fn snapshot_then_restore_continues_identically() {
    let v = batch(&stream());
    let whole = feed(&mut engine(), &v);
    for split in [1, 150, 300, 599] {
        let mut first = engine();
        let mut alerts = feed(&mut first, &v[..split]);
        let bytes = first.snapshot().unwrap();
        let mut second =
            Engine::restore(&DetectConfig::default(), Arc::new(Roster::empty()), &bytes).unwrap();
        assert_eq!(second.user_count(), first.user_count());
        alerts.extend(feed(&mut second, &v[split..]));
        assert_eq!(alerts, whole, "split at {split}");
        // A restored engine snapshots to an equivalent state.
        let again = Engine::restore(
            &DetectConfig::default(),
            Arc::new(Roster::empty()),
            &second.snapshot().unwrap(),
        );
        assert!(again.is_ok());
    }
    // Redelivery across a restart is still dropped.
    let mut first = engine();
    let before = feed(&mut first, &v[..300]);
    let mut second = Engine::restore(
        &DetectConfig::default(),
        Arc::new(Roster::empty()),
        &first.snapshot().unwrap(),
    )
    .unwrap();
    assert!(
        feed(&mut second, &v[..300]).is_empty(),
        "{} alerts before",
        before.len()
    );
}

#[test]
fn restore_rejects_bad_bytes_without_panicking() {
    let mut e = engine();
    feed(&mut e, &batch(&stream())[..100]);
    let bytes = e.snapshot().unwrap();
    let config = DetectConfig::default();
    let roster = || Arc::new(Roster::empty());
    for cut in [0, 1, 7, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            Engine::restore(&config, roster(), &bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut garbage = bytes.clone();
    garbage[0] = 99; // another format version
    match Engine::restore(&config, roster(), &garbage) {
        Err(Error::Version {
            found: 99,
            expected: 6,
        }) => {}
        other => panic!("expected a version error, got {other:?}"),
    }
    let err = Engine::restore(&config, roster(), b"not a snapshot at all").unwrap_err();
    assert!(err.to_string().contains("state"), "{err}");
}

#[test]
fn restore_with_other_detectors_enabled_or_window_size() {
    let v = batch(&stream());
    let mut e = engine();
    feed(&mut e, &v[..300]);
    let bytes = e.snapshot().unwrap();
    let mut config = DetectConfig::default();
    config.anonymizer.enabled = false;
    config.impossible_travel.window_size = 2;
    let restored = Engine::restore(&config, Arc::new(Roster::empty()), &bytes).unwrap();
    assert!(!restored.detector_names().any(|n| n == "anonymizer"));
    config.impossible_travel.window_size = 8;
    Engine::restore(&config, Arc::new(Roster::empty()), &bytes).unwrap();
}

#[test]
fn stages_split_per_user_from_cross_identity_detectors() {
    let config = DetectConfig::default();
    let roster = Arc::new(Roster::empty());
    let per_user = Engine::with_stages(
        &config,
        roster.clone(),
        Stages {
            per_user: true,
            cross_identity: false,
        },
    );
    let cross = Engine::with_stages(
        &config,
        roster.clone(),
        Stages {
            per_user: false,
            cross_identity: true,
        },
    );
    let all = Engine::new(&config, roster);
    let names = |e: &Engine| e.detector_names().collect::<Vec<_>>();
    for d in support::MINE {
        assert!(names(&per_user).contains(&d), "{d}");
        assert!(!names(&cross).contains(&d), "{d}");
    }
    assert_eq!(
        names(&per_user).len() + names(&cross).len(),
        names(&all).len()
    );
}

#[test]
fn config_reports_every_problem_at_once() {
    let mut c = DetectConfig::default();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c.impossible_travel.max_speed_kmh = 0.0;
    c.impossible_travel.window_size = 0;
    c.new_country.rare_share = 2.0;
    c.unfamiliar_signin.attacker_uniform_share = -1.0;
    let problems = c.validate();
    for prefix in [
        "detect.impossible_travel.max_speed_kmh: ",
        "detect.impossible_travel.window_size: ",
        "detect.new_country.rare_share: ",
        "detect.unfamiliar_signin.attacker_uniform_share: ",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(prefix)),
            "{prefix} missing from {problems:#?}"
        );
    }
}

#[test]
fn config_is_strict_and_defaulted() {
    let c: DetectConfig =
        serde_json::from_str(r#"{"impossible_travel": {"max_speed_kmh": 900}}"#).unwrap();
    assert_eq!(c.impossible_travel.max_speed_kmh, 900.0);
    assert_eq!(c.impossible_travel.min_distance_km, 500.0);
    assert!(c.new_country.enabled);
    let err =
        serde_json::from_str::<DetectConfig>(r#"{"impossible_travel": {"max_sped_kmh": 900}}"#)
            .unwrap_err();
    assert!(err.to_string().contains("max_sped_kmh"), "{err}");
    assert!(serde_json::from_str::<DetectConfig>(r#"{"impossible_travl": {}}"#).is_err());
    let hr: DetectConfig =
        serde_json::from_str(r#"{"new_country": {"high_risk_countries": ["kp", "IR"]}}"#).unwrap();
    assert_eq!(hr.new_country.high_risk_countries.len(), 2);
    // The default round-trips.
    let json = serde_json::to_string(&DetectConfig::default()).unwrap();
    assert_eq!(
        serde_json::from_str::<DetectConfig>(&json).unwrap(),
        DetectConfig::default()
    );
}

#[test]
fn alert_ids_are_stable_and_alerts_are_well_formed() {
    let v = batch(&stream());
    let a = feed(&mut engine(), &v);
    let b = feed(&mut engine(), &v);
    assert_eq!(
        a.iter().map(|x| &x.alert_id).collect::<Vec<_>>(),
        b.iter().map(|x| &x.alert_id).collect::<Vec<_>>()
    );
    for alert in &a {
        assert!(!alert.users.is_empty() && !alert.event_ids.is_empty() && alert.score <= 100);
        assert_eq!(
            alert.severity,
            jetlag_event::Severity::from_score(alert.score),
            "{alert:?}"
        );
        assert!(alert.evidence.is_object());
        if support::MINE.contains(&alert.detector.as_str()) {
            assert!(alert.summary.ends_with('.'), "{}", alert.summary);
        }
    }
    let mut ids: Vec<&str> = a.iter().map(|x| x.alert_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), a.len(), "alert ids are unique");
}

#[test]
fn hostile_values_never_panic() {
    let mut evs = Vec::new();
    for (i, (lat, lon, radius)) in [
        (f64::NAN, 0.0, None),
        (0.0, f64::INFINITY, None),
        (95.0, 200.0, None),
        (40.0, -74.0, Some(-5.0)),
        (40.0, -74.0, Some(f64::NAN)),
        (40.0, -74.0, Some(1e300)),
        (-90.0, 180.0, Some(0.0)),
        (90.0, -180.0, Some(0.0)),
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = at(
            &format!("h{i}"),
            "mallory@example.com",
            "New York",
            i as f64,
        );
        let g = b.0.geo.as_mut().unwrap();
        g.lat = Some(lat);
        g.lon = Some(lon);
        g.radius_km = radius;
        evs.push(b);
    }
    // The extremes of time jiff can represent, and an empty user / id.
    for (i, t) in [
        jiff::Timestamp::MIN,
        jiff::Timestamp::MAX,
        jiff::Timestamp::UNIX_EPOCH,
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = at(&format!("t{i}"), "", "Moscow", 0.0).ua("").app("");
        b.0.time = t;
        b.0.event_id = "".into();
        evs.push(b);
    }
    let alerts = feed(&mut engine(), &batch(&evs));
    // (-90, 180) and (90, -180) are 20,000 km apart 1 minute apart: the only alert.
    let it: Vec<_> = alerts
        .iter()
        .filter(|a| a.detector == "impossible_travel")
        .collect();
    assert_eq!(it.len(), 1, "{alerts:#?}");
    assert!(serde_json::to_string(&alerts).is_ok());
}
