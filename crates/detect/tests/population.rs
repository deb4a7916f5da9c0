//! The epoch-frozen population: figures as of the start of the epoch, and engines over a
//! partition of the users that exchange their per-epoch contributions give exactly the
//! alerts of one engine over everyone.

mod support;

use std::sync::Arc;

use jetlag_detect::population::epoch_of;
use jetlag_detect::{DetectConfig, Engine, Stages, order};
use jetlag_event::{Alert, SignIn};
use jetlag_roster::Roster;
use support::{B, at, run};

const PLACES: [&str; 8] = [
    "New York",
    "Chicago",
    "Dallas",
    "London",
    "Frankfurt",
    "Lagos",
    "Moscow",
    "Suva",
];
const APPS: [&str; 4] = ["Outlook", "Teams", "SharePoint", "Azure Portal"];
const UAS: [&str; 3] = [
    "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1",
    "python-requests/2.31",
];

/// 120 users over three days: mostly the US with their own app and browser, now and then
/// somewhere else with something else (deterministic pseudo-random).
fn org() -> Vec<SignIn> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n) as usize
    };
    let mut events = Vec::new();
    for i in 0..1500 {
        let u = next(120);
        let minutes = (i as f64) * 2.9 + next(60) as f64;
        let odd = next(20) == 0;
        let place = if odd {
            PLACES[3 + next(5)]
        } else {
            PLACES[u % 3]
        };
        let b: B = at(
            &format!("e{i}"),
            &format!("u{u}@example.com"),
            place,
            minutes,
        )
        .asn(if odd {
            9000 + next(3) as u32
        } else {
            7000 + (u % 4) as u32
        })
        .app(APPS[if odd { next(4) } else { u % 2 }])
        .ua(UAS[if odd { next(3) } else { u % 2 }]);
        events.push(b.0);
    }
    order(&mut events);
    events
}

/// An engine of the per-user detectors (the cross-identity ones are keyed by IP or device,
/// which a split by user would cut).
fn per_user() -> Engine {
    let stages = Stages {
        per_user: true,
        cross_identity: false,
    };
    Engine::with_stages(&DetectConfig::default(), Arc::new(Roster::empty()), stages)
}

fn shard(user: &str, n: usize) -> usize {
    user.bytes().map(usize::from).sum::<usize>() % n
}

/// `n` engines, each with the users of its shard, stepping epoch by epoch: an engine
/// observes an epoch's events only once it holds every engine's contributions of the
/// epochs before (what the Kafka partitions do through the population topic).
fn sharded(events: &[SignIn], n: usize) -> Vec<Alert> {
    let config = DetectConfig::default();
    let epoch_s = config.population.epoch_seconds();
    let mut engines: Vec<Engine> = (0..n)
        .map(|_| {
            let mut e = per_user();
            e.share_population();
            e
        })
        .collect();
    let mut alerts = Vec::new();
    let mut i = 0;
    while i < events.len() {
        let epoch = epoch_of(events[i].time.as_second(), epoch_s);
        while i < events.len() && epoch_of(events[i].time.as_second(), epoch_s) == epoch {
            let ev = &events[i];
            engines[shard(&ev.user, n)].observe(ev, &mut alerts);
            i += 1;
        }
        let mut sealed = Vec::new();
        for e in &mut engines {
            e.close_population(epoch + 1);
            sealed.extend(e.take_sealed_population());
        }
        for e in &mut engines {
            for (ep, fig) in &sealed {
                e.receive_population(*ep, fig);
            }
        }
    }
    for e in &mut engines {
        e.finish(&mut alerts);
    }
    alerts
}

fn by_id(alerts: &[Alert]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = alerts
        .iter()
        .map(|a| (a.alert_id.clone(), serde_json::to_string(a).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn partitioned_engines_exchanging_epochs_equal_one_engine() {
    let events = org();
    let mut whole = per_user();
    let mut want = Vec::new();
    for ev in &events {
        whole.observe(ev, &mut want);
    }
    whole.finish(&mut want);
    for d in ["new_country", "unfamiliar_signin"] {
        assert!(
            want.iter().filter(|a| a.detector == d).count() >= 3,
            "the org should raise {d} alerts: {:?}",
            want.iter().map(|a| &a.detector).collect::<Vec<_>>()
        );
    }
    for n in [2, 3, 5] {
        let (got, want) = (by_id(&sharded(&events, n)), by_id(&want));
        let diff: Vec<_> = got.iter().filter(|a| !want.contains(a)).collect();
        assert!(
            diff.is_empty() && got.len() == want.len(),
            "{n} engines: {} alerts, want {}; first differing: {:?}",
            got.len(),
            want.len(),
            diff.first()
        );
    }
}

/// Without the exchange (each engine its own population) the figures differ: the test
/// above is not passing by accident.
#[test]
fn partitioned_engines_without_the_exchange_differ() {
    let events = org();
    let want = {
        let mut whole = per_user();
        let mut out = Vec::new();
        for ev in &events {
            whole.observe(ev, &mut out);
        }
        out
    };
    let mut engines: Vec<Engine> = (0..3).map(|_| per_user()).collect();
    let mut got = Vec::new();
    for ev in &events {
        engines[shard(&ev.user, 3)].observe(ev, &mut got);
    }
    assert_ne!(by_id(&got), by_id(&want));
}

/// A sign-in is weighed against the org as it stood at the start of its epoch: 25 users
/// in the US in the hour before give new_country its baseline; 3 colleagues in Lagos in the
/// *same* hour do not count yet, so Lagos is still unknown to the org.
#[test]
fn the_org_baseline_is_the_one_at_the_start_of_the_epoch() {
    // T0 is 14:00 UTC; minute -60 is 13:00, the previous hourly epoch.
    let mut evs: Vec<B> = (0..25)
        .map(|i| {
            at(
                &format!("b{i}"),
                &format!("b{i}@example.com"),
                "New York",
                -60.0,
            )
        })
        .collect();
    for i in 0..3 {
        evs.push(at(
            &format!("l{i}"),
            &format!("l{i}@example.com"),
            "Lagos",
            1.0 + f64::from(i),
        ));
    }
    evs.push(at("x", "x@example.com", "Lagos", 30.0));
    evs.push(at("y", "y@example.com", "Lagos", 61.0));
    let alerts = run(&evs);
    let nc: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.detector == "new_country")
        .collect();
    let x = nc
        .iter()
        .find(|a| a.user.as_deref() == Some("x@example.com"));
    let x = x.expect("Lagos is unknown to the org as of 14:00: a newcomer there alerts");
    assert_eq!(x.evidence["org_users"], 25);
    assert_eq!(x.evidence["org_users_in_country"], 0);
    // At 15:01 the next epoch has begun: the four Lagos users now count (4 of 29, common).
    assert!(
        nc.iter()
            .all(|a| a.user.as_deref() != Some("y@example.com")),
        "{nc:#?}"
    );
}
