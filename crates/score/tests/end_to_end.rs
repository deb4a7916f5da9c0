//! User risk from real detector output: sign-ins → `jetlag_detect::Engine` → `Scorer`.

use std::sync::Arc;

use jetlag_detect::{DetectConfig, Engine, order};
use jetlag_event::{Alert, Country, Geo, GeoSource, Outcome, SignIn, Source};
use jetlag_roster::Roster;
use jetlag_score::{Config, Scorer};

const ROSTER: &str = "\
user,hire_date,work_country,work_region,work_timezone
nh@acme.com,2025-05-20,US,Texas,America/Chicago
buddy@acme.com,2019-04-01,US,Texas,America/Chicago
vet@acme.com,2012-01-09,US,New York,America/New_York
";

#[allow(clippy::too_many_arguments)]
fn signin(
    id: &str,
    time: &str,
    user: &str,
    ip: &str,
    cc: &str,
    lat: f64,
    lon: f64,
    dev: Option<&str>,
) -> SignIn {
    let mut ev = SignIn::new(
        id,
        time.parse().unwrap(),
        Source::Entra,
        user,
        Outcome::Success,
    );
    ev.ip = Some(ip.parse().unwrap());
    ev.device_id = dev.map(Into::into);
    ev.geo = Some(Geo {
        lat: Some(lat),
        lon: Some(lon),
        radius_km: Some(20.0),
        city: None,
        region: None,
        country: Country::from_code(cc),
        source: GeoSource::Geoip,
    });
    ev
}

fn alerts(events: &mut Vec<SignIn>, roster: &Arc<Roster>) -> Vec<Alert> {
    order(events);
    let mut engine = Engine::new(&DetectConfig::default(), roster.clone());
    let mut out = Vec::new();
    for ev in events.iter() {
        engine.observe(ev, &mut out);
    }
    engine.finish(&mut out);
    out
}

/// A new hire who works Korean hours from a Dallas IP and shares a laptop with a colleague
/// (several modest signals) outranks a 13-year employee with one impossible trip.
#[test]
fn new_hire_with_several_signals_outranks_veteran_with_one_strong_signal() {
    let (roster, rejected) = Roster::from_reader(ROSTER.as_bytes(), "roster.csv").unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    let roster = Arc::new(roster);
    let mut events = Vec::new();
    // nh: 21:00–05:00 Central (02:00–10:00Z) on six days from one Dallas address, one laptop.
    for day in 2..=7 {
        for (n, hour) in [2, 6, 9].into_iter().enumerate() {
            events.push(signin(
                &format!("nh-{day}-{n}"),
                &format!("2025-06-{day:02}T{hour:02}:15:00Z"),
                "nh@acme.com",
                "73.45.12.9",
                "US",
                32.78,
                -96.8,
                Some("laptop-7781"),
            ));
        }
    }
    // buddy, a long-tenured colleague, uses the same laptop once during the day.
    events.push(signin(
        "b-1",
        "2025-06-04T15:00:00Z",
        "buddy@acme.com",
        "73.1.1.1",
        "US",
        32.78,
        -96.8,
        Some("laptop-7781"),
    ));
    // vet: New York, then Moscow 20 minutes later.
    events.push(signin(
        "v-1",
        "2025-06-03T14:00:00Z",
        "vet@acme.com",
        "24.1.1.1",
        "US",
        40.71,
        -74.0,
        None,
    ));
    events.push(signin(
        "v-2",
        "2025-06-03T14:20:00Z",
        "vet@acme.com",
        "95.1.1.1",
        "RU",
        55.75,
        37.62,
        None,
    ));

    let alerts = alerts(&mut events, &roster);
    let mut scorer = Scorer::new(Config::default());
    for a in alerts.iter().rev() {
        scorer.add(a);
    }
    let risks = scorer.users(&roster);
    let nh = risks
        .iter()
        .find(|r| r.user == "nh@acme.com")
        .expect("nh has alerts");
    let vet = risks
        .iter()
        .find(|r| r.user == "vet@acme.com")
        .expect("vet has alerts");
    fn detectors(r: &jetlag_score::UserRisk) -> Vec<&str> {
        let mut d: Vec<&str> = r.alerts.iter().map(|a| a.detector.as_str()).collect();
        d.sort_unstable();
        d.dedup();
        d
    }
    assert!(detectors(vet).contains(&"impossible_travel"), "{vet:#?}");
    assert!(
        detectors(nh).contains(&"off_hours") && detectors(nh).contains(&"shared_device"),
        "{nh:#?}"
    );
    // No single alert of nh is as strong as vet's impossible trip...
    let strongest = |r: &jetlag_score::UserRisk| r.alerts.iter().map(|a| a.score).max().unwrap();
    assert!(strongest(nh) < strongest(vet), "nh {nh:#?}\nvet {vet:#?}");
    // ...yet nh ranks above vet.
    assert!(nh.risk > vet.risk, "nh {nh:#?}\nvet {vet:#?}");
    let pos = |u: &str| risks.iter().position(|r| r.user == u).unwrap();
    assert!(pos("nh@acme.com") < pos("vet@acme.com"));
    assert!(nh.explanation.contains("new hire"), "{}", nh.explanation);
}
