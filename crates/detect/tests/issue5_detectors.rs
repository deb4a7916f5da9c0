//! Issue 5 detectors as data: a roster, a sequence of sign-ins, and the alerts expected.
//!
//! Every case goes through [`check`], which runs the real [`Engine`] with the default
//! configuration three ways — in order, with the input reversed, and split in two with a
//! snapshot/restore between the halves — and requires identical alerts each time.
//!
//! Events are written one per line: `TIME USER OUTCOME key=value...` with keys `id`, `ip`,
//! `tenant`, `dev`, `sess`, `ua`, `asn`, `org`, `cc`, `city`, `lat`, `lon`, `r` (accuracy
//! radius, km) and `net` (comma-separated network classes); `_` in a value stands for a
//! space.

use std::sync::Arc;

use jetlag_detect::{DetectConfig, Engine, order};
use jetlag_event::{Alert, Country, Geo, GeoSource, NetClass, Outcome, SignIn, Source};
use jetlag_roster::Roster;

fn parse_events(text: &str) -> Vec<SignIn> {
    let mut out = Vec::new();
    for (n, line) in text.lines().map(str::trim).enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(time), Some(user), Some(outcome)) = (words.next(), words.next(), words.next())
        else {
            panic!("line {}: want TIME USER OUTCOME: {line}", n + 1);
        };
        let outcome = match outcome {
            "success" => Outcome::Success,
            "failure" => Outcome::Failure,
            "unknown" => Outcome::Unknown,
            other => panic!("line {}: bad outcome {other}", n + 1),
        };
        let time = time
            .parse()
            .unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let mut ev = SignIn::new(format!("e{n:05}"), time, Source::Entra, user, outcome);
        let mut geo = Geo {
            lat: None,
            lon: None,
            radius_km: None,
            city: None,
            region: None,
            country: None,
            source: GeoSource::Geoip,
        };
        let mut has_geo = false;
        for kv in words {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("line {}: {kv}", n + 1));
            let v = v.replace('_', " ");
            match k {
                "id" => ev.event_id = v.into(),
                "ip" => ev.ip = Some(v.parse().unwrap()),
                "tenant" => ev.tenant = Some(v.into()),
                "dev" => ev.device_id = Some(v.into()),
                "sess" => ev.session_id = Some(v.into()),
                "ua" => ev.user_agent = Some(v.into()),
                "asn" => ev.asn = Some(v.parse().unwrap()),
                "org" => ev.as_org = Some(v.into()),
                "net" => {
                    for c in v.split(',') {
                        ev.network.insert(c.parse::<NetClass>().unwrap());
                    }
                }
                "cc" => (geo.country, has_geo) = (Country::from_code(&v), true),
                "city" => (geo.city, has_geo) = (Some(v.into()), true),
                "lat" => (geo.lat, has_geo) = (Some(v.parse().unwrap()), true),
                "lon" => (geo.lon, has_geo) = (Some(v.parse().unwrap()), true),
                "r" => geo.radius_km = Some(v.parse().unwrap()),
                other => panic!("line {}: unknown key {other}", n + 1),
            }
        }
        if has_geo {
            ev.geo = Some(geo);
        }
        out.push(ev);
    }
    out
}

fn run(roster: &Arc<Roster>, events: &[SignIn]) -> Vec<Alert> {
    let config = DetectConfig::default();
    let mut engine = Engine::new(&config, roster.clone());
    let mut out = Vec::new();
    for ev in events {
        engine.observe(ev, &mut out);
    }
    engine.finish(&mut out);
    out
}

fn run_split(roster: &Arc<Roster>, events: &[SignIn]) -> Vec<Alert> {
    let config = DetectConfig::default();
    let (a, b) = events.split_at(events.len() / 2);
    let mut engine = Engine::new(&config, roster.clone());
    let mut out = Vec::new();
    for ev in a {
        engine.observe(ev, &mut out);
    }
    let bytes = engine.snapshot().expect("snapshot");
    let mut engine = Engine::restore(&config, roster.clone(), &bytes).expect("restore");
    for ev in b {
        engine.observe(ev, &mut out);
    }
    engine.finish(&mut out);
    out
}

/// One line per alert of the named detectors: `detector severity user=U users=N [a,b,..]`
/// (the list only when it has at most four names).
fn render(alerts: &[Alert], detectors: &[&str]) -> Vec<String> {
    alerts
        .iter()
        .filter(|a| detectors.contains(&a.detector.as_str()))
        .map(|a| {
            let mut s = format!(
                "{} {} user={} users={}",
                a.detector,
                a.severity,
                a.user.as_deref().unwrap_or("-"),
                a.users.len()
            );
            if a.users.len() <= 4 {
                s.push_str(&format!(" [{}]", a.users.join(",")));
            }
            s
        })
        .collect()
}

/// Runs the case and compares the alerts of `detectors` with `expect`; returns them all.
fn check(roster_csv: &str, events: &str, detectors: &[&str], expect: &[&str]) -> Vec<Alert> {
    let (roster, rejected) = Roster::from_reader(roster_csv.as_bytes(), "roster.csv").unwrap();
    assert!(rejected.is_empty(), "roster rows rejected: {rejected:?}");
    let roster = Arc::new(roster);
    let mut events = parse_events(events);
    let mut reversed: Vec<SignIn> = events.iter().rev().cloned().collect();
    order(&mut events);
    order(&mut reversed);
    let alerts = run(&roster, &events);
    assert_eq!(
        alerts,
        run(&roster, &reversed),
        "alerts depend on input order"
    );
    assert_eq!(
        alerts,
        run_split(&roster, &events),
        "snapshot/restore changed the alerts"
    );
    for a in &alerts {
        assert!(!a.users.is_empty(), "{a:?}");
        assert!(!a.summary.is_empty() && a.evidence.is_object(), "{a:?}");
        assert_eq!(a.alert_id.len(), 32);
    }
    let ids: std::collections::HashSet<&str> = alerts.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(ids.len(), alerts.len(), "alert ids repeat");
    let got = render(&alerts, detectors);
    assert_eq!(got, expect, "\nall alerts: {alerts:#?}");
    alerts
        .into_iter()
        .filter(|a| detectors.contains(&a.detector.as_str()))
        .collect()
}

const ROSTER_HEADER: &str = "user,display_name,hire_date,work_country,work_region,work_city,work_lat,work_lon,work_timezone\n";

// ---------------------------------------------------------------------------------------
// shared_ip

/// 13 identities of two employers, all hired in the last two months, sign in from one
/// Comcast address in Dallas every working morning for a week.
#[test]
fn laptop_farm_of_13_identities_across_two_tenants_is_one_critical_alert() {
    let mut roster = ROSTER_HEADER.to_owned();
    let mut events = String::new();
    for i in 0..13 {
        let (user, tenant) = if i < 7 {
            (format!("dev{i}@acme.com"), "acme")
        } else {
            (format!("eng{i}@globex.io"), "globex")
        };
        roster.push_str(&format!(
            "{user},,2025-05-{:02},US,Texas,Dallas,,,America/Chicago\n",
            1 + i
        ));
        for day in 2..=6 {
            events.push_str(&format!(
                "2025-06-{day:02}T13:{:02}:00Z {user} success ip=73.45.12.9 tenant={tenant} asn=7922 org=Comcast_Cable_Communications cc=US city=Dallas lat=32.78 lon=-96.8 r=20 dev=laptop-{i}\n",
                2 * i
            ));
        }
    }
    let alerts = check(
        &roster,
        &events,
        &["shared_ip"],
        &["shared_ip critical user=- users=13"],
    );
    let ev = &alerts[0].evidence;
    assert_eq!(ev["tenants"], serde_json::json!(["acme", "globex"]));
    assert_eq!(ev["residential"], true);
    assert_eq!(ev["recent_hires"].as_array().unwrap().len(), 13);
    assert_eq!(alerts[0].event_ids.len(), 13);
    assert!(
        alerts[0].summary.contains("73.45.12.9"),
        "{}",
        alerts[0].summary
    );
}

/// Graph `signIn` and Okta records carry no tenant id: the farm's two employers still show
/// as two organisations through the users' e-mail domains, and with a recent hire among
/// them that is a farm's shape, not a hotel's. The same staff all long-tenured (a trade
/// fair's Wi-Fi) stays low.
#[test]
fn laptop_farm_without_tenant_ids_is_cross_tenant_by_email_domain() {
    let case = |hired_recently: &[usize]| {
        let mut roster = ROSTER_HEADER.to_owned();
        let mut events = String::new();
        for i in 0..6 {
            let user = if i < 3 {
                format!("dev{i}@acme.com")
            } else {
                format!("eng{i}@globex.io")
            };
            let hired = if hired_recently.contains(&i) {
                "2025-05-20"
            } else {
                "2016-01-04"
            };
            roster.push_str(&format!(
                "{user},,{hired},US,Texas,Dallas,,,America/Chicago\n"
            ));
            events.push_str(&format!(
                "2025-06-02T13:{:02}:00Z {user} success ip=73.45.12.9 asn=7922 org=Some_ISP cc=US city=Dallas dev=laptop-{i}\n",
                2 * i
            ));
        }
        (roster, events)
    };
    let (roster, events) = case(&[0]);
    let alerts = check(
        &roster,
        &events,
        &["shared_ip"],
        &["shared_ip high user=- users=6"],
    );
    assert_eq!(
        alerts[0].evidence["tenants"],
        serde_json::json!(["acme.com", "globex.io"])
    );
    let (roster, events) = case(&[]);
    let alerts = check(
        &roster,
        &events,
        &["shared_ip"],
        &["shared_ip low user=- users=6"],
    );
    assert_eq!(alerts[0].evidence["long_tenured_staff"], true);
}

/// Two people of one household, on one home IP for a fortnight: never an alert.
#[test]
fn household_of_two_is_quiet() {
    let roster = format!(
        "{ROSTER_HEADER}ann@acme.com,,2025-05-20,US,,,,,America/New_York\nbob@acme.com,,2016-01-04,US,,,,,America/New_York\n"
    );
    let mut events = String::new();
    for day in 1..=14 {
        for (user, dev, hour) in [
            ("ann@acme.com", "pc-ann", 13),
            ("bob@acme.com", "pc-bob", 14),
        ] {
            events.push_str(&format!(
                "2025-06-{day:02}T{hour}:05:00Z {user} success ip=24.60.1.15 asn=7922 org=Comcast cc=US city=Boston dev={dev}\n"
            ));
        }
    }
    check(&roster, &events, &["shared_ip", "shared_device"], &[]);
    // The same household on one family PC: a shared device, but not high.
    let family = events
        .replace("pc-ann", "family-pc")
        .replace("pc-bob", "family-pc");
    check(
        &roster,
        &family,
        &["shared_ip", "shared_device"],
        &["shared_device medium user=- users=2 [ann@acme.com,bob@acme.com]"],
    );
}

/// Thirty long-tenured staff behind the office egress listed as `corporate`: quiet. The
/// same thirty behind an unlisted coworking address: one alert, but not high.
#[test]
fn coworking_space_of_30_tenured_staff() {
    let mut roster = ROSTER_HEADER.to_owned();
    let mut listed = String::new();
    let mut unlisted = String::new();
    for i in 0..30 {
        let user = format!("staff{i:02}@acme.com");
        roster.push_str(&format!("{user},,2014-03-01,US,,,,,\n"));
        let line = |ip: &str, net: &str| {
            format!(
                "2025-06-03T14:{i:02}:00Z {user} success ip={ip} tenant=acme org=WeWork cc=US{net}\n"
            )
        };
        listed.push_str(&line("198.51.100.7", " net=corporate"));
        unlisted.push_str(&line("198.51.100.8", ""));
    }
    check(&roster, &listed, &["shared_ip"], &[]);
    check(
        &roster,
        &unlisted,
        &["shared_ip"],
        &["shared_ip medium user=- users=30"],
    );
}

/// Carrier-grade NAT, VPN exits and failures never make a farm.
#[test]
fn mobile_vpn_and_failed_sign_ins_do_not_count() {
    let mut events = String::new();
    for i in 0..10 {
        events.push_str(&format!(
            "2025-06-03T14:{i:02}:00Z m{i}@acme.com success ip=100.64.0.1 net=mobile\n"
        ));
        events.push_str(&format!(
            "2025-06-03T14:{i:02}:10Z v{i}@acme.com success ip=185.1.1.1 net=vpn\n"
        ));
        events.push_str(&format!(
            "2025-06-03T14:{i:02}:20Z f{i}@acme.com failure ip=73.1.1.1\n"
        ));
    }
    check(ROSTER_HEADER, &events, &["shared_ip"], &[]);
}

/// Four identities on day one; the incident ends after a quiet window; four new identities
/// days later are a second incident. Later joiners of a reported incident get their own
/// report listing everyone.
#[test]
fn shared_ip_reports_per_incident_and_per_burst_of_new_identities() {
    let mut events = String::new();
    for i in 0..4 {
        events.push_str(&format!(
            "2025-06-02T14:0{i}:00Z a{i}@x.com success ip=73.9.9.9\n"
        ));
    }
    // Two more join the same incident three hours later: a second report, six users.
    for i in 4..6 {
        events.push_str(&format!(
            "2025-06-02T17:0{i}:00Z a{i}@x.com success ip=73.9.9.9\n"
        ));
    }
    // The first six sign in again: nothing new.
    for i in 0..6 {
        events.push_str(&format!(
            "2025-06-02T20:0{i}:00Z a{i}@x.com success ip=73.9.9.9\n"
        ));
    }
    // A week later, a new crew.
    for i in 0..4 {
        events.push_str(&format!(
            "2025-06-09T14:0{i}:00Z b{i}@x.com success ip=73.9.9.9\n"
        ));
    }
    check(
        ROSTER_HEADER,
        &events,
        &["shared_ip"],
        &[
            "shared_ip medium user=- users=4 [a0@x.com,a1@x.com,a2@x.com,a3@x.com]",
            "shared_ip medium user=- users=6",
            "shared_ip medium user=- users=4 [b0@x.com,b1@x.com,b2@x.com,b3@x.com]",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// password_spray

/// 200 failures against 200 accounts from one Tor-free hosting address within 50 minutes,
/// then one success: one critical alert naming the compromised account.
#[test]
fn spray_of_200_failures_then_one_success_is_critical() {
    let mut events = String::new();
    for i in 0..200 {
        let (m, s) = (i * 15 / 60, i * 15 % 60);
        events.push_str(&format!(
            "2025-06-03T02:{m:02}:{s:02}Z u{i:03}@acme.com failure ip=203.0.113.50\n"
        ));
    }
    events.push_str("2025-06-03T02:52:00Z u137@acme.com success ip=203.0.113.50\n");
    let alerts = check(
        ROSTER_HEADER,
        &events,
        &["password_spray"],
        &["password_spray critical user=- users=200"],
    );
    assert_eq!(
        alerts[0].evidence["compromised"],
        serde_json::json!(["u137@acme.com"])
    );
    assert_eq!(alerts[0].evidence["failures"], 200);
    assert_eq!(alerts[0].event_ids.len(), 201);
}

/// A spray that breaks nothing is reported once it stops, below critical.
#[test]
fn spray_without_success_is_reported_once_and_19_targets_are_quiet() {
    let mut events = String::new();
    for i in 0..25 {
        // Two passwords per account.
        events.push_str(&format!(
            "2025-06-03T02:{i:02}:00Z t{i:02}@acme.com failure ip=203.0.113.60\n"
        ));
        events.push_str(&format!(
            "2025-06-03T02:{i:02}:30Z t{i:02}@acme.com failure ip=203.0.113.60\n"
        ));
    }
    for i in 0..19 {
        events.push_str(&format!(
            "2025-06-03T03:{i:02}:00Z s{i:02}@acme.com failure ip=203.0.113.61\n"
        ));
    }
    // A success long after the spray ended is not tied to it.
    events.push_str("2025-06-03T06:00:00Z t03@acme.com success ip=203.0.113.60\n");
    let alerts = check(
        ROSTER_HEADER,
        &events,
        &["password_spray"],
        &["password_spray medium user=- users=25"],
    );
    assert_eq!(alerts[0].evidence["failures"], 50);
}

/// An office NAT where many people mistype their passwords is not a spray.
#[test]
fn failures_behind_the_corporate_egress_are_not_a_spray() {
    let mut events = String::new();
    for i in 0..40 {
        events.push_str(&format!(
            "2025-06-03T09:{i:02}:00Z p{i:02}@acme.com failure ip=198.51.100.7 net=corporate\n"
        ));
    }
    check(ROSTER_HEADER, &events, &["password_spray"], &[]);
}

// ---------------------------------------------------------------------------------------
// off_hours

/// A new hire who "works in Texas" signs in 21:00–05:00 Central on ten days: one high alert,
/// which says the hours fit a day far east of Texas.
#[test]
fn texas_worker_signing_in_21_to_05_central_on_10_days() {
    let roster = format!(
        "{ROSTER_HEADER}jdoe@acme.com,John Doe,2025-05-19,US,Texas,Austin,30.27,-97.74,America/Chicago\n"
    );
    let mut events = String::new();
    // June: Central Daylight Time, UTC-5. 21:10 CDT = 02:10Z next day; 04:40 CDT = 09:40Z.
    for day in 2..=11 {
        for (h, m) in [(2, 10), (4, 30), (7, 0), (9, 40)] {
            events.push_str(&format!(
                "2025-06-{day:02}T{h:02}:{m:02}:00Z jdoe@acme.com success ip=73.45.12.9 asn=7922 org=Comcast cc=US city=Dallas lat=32.78 lon=-96.8 r=20\n"
            ));
        }
    }
    let alerts = check(
        &roster,
        &events,
        &["off_hours", "location_mismatch"],
        &["off_hours high user=jdoe@acme.com users=1 [jdoe@acme.com]"],
    );
    let ev = &alerts[0].evidence;
    assert_eq!(ev["share"], 1.0);
    assert_eq!(ev["timezone"], "America/Chicago");
    // Sign-ins centred on ~06:00 UTC fit a 13:30 midday at about UTC+7/+8: East Asia.
    let fits = ev["fits_utc_offset_hours"].as_i64().unwrap();
    assert!((7..=9).contains(&fits), "{fits}");
}

/// A long-tenured employee with two late nights in ten working days: quiet; and fewer than
/// five days of sign-ins never alert however late.
#[test]
fn occasional_late_nights_are_quiet() {
    let roster = format!(
        "{ROSTER_HEADER}pat@acme.com,,2011-09-01,US,,,,,America/Chicago\nowl@acme.com,,2011-09-01,US,,,,,America/Chicago\n"
    );
    let mut events = String::new();
    for day in 2..=11 {
        events.push_str(&format!(
            "2025-06-{day:02}T14:00:00Z pat@acme.com success ip=73.1.1.1\n"
        ));
        events.push_str(&format!(
            "2025-06-{day:02}T19:00:00Z pat@acme.com success ip=73.1.1.1\n"
        ));
    }
    events.push_str("2025-06-04T04:00:00Z pat@acme.com success ip=73.1.1.1\n");
    events.push_str("2025-06-08T05:00:00Z pat@acme.com success ip=73.1.1.1\n");
    for day in 2..=5 {
        events.push_str(&format!(
            "2025-06-{day:02}T06:00:00Z owl@acme.com success ip=73.1.1.2\n"
        ));
    }
    check(&roster, &events, &["off_hours"], &[]);
}

// ---------------------------------------------------------------------------------------
// shared_device

/// One YubiKey completes sign-ins for three accounts (one a recent hire) within a week.
#[test]
fn shared_yubikey_among_three_accounts() {
    let roster = format!(
        "{ROSTER_HEADER}a@acme.com,,2019-01-01,US,,,,,\nb@acme.com,,2025-05-01,US,,,,,\nc@acme.com,,2020-01-01,US,,,,,\n"
    );
    let events = "
        2025-06-02T14:00:00Z a@acme.com success ip=73.1.1.1 dev=yubikey-5c-0012345
        2025-06-03T15:00:00Z b@acme.com success ip=73.1.1.2 dev=yubikey-5c-0012345
        2025-06-05T16:00:00Z c@acme.com success ip=73.1.1.3 dev=yubikey-5c-0012345
        2025-06-05T16:30:00Z c@acme.com success ip=73.1.1.3 dev=yubikey-5c-0012345
        # Entra's placeholder for an unregistered device is not a device.
        2025-06-05T17:00:00Z d@acme.com success dev=00000000-0000-0000-0000-000000000000
        2025-06-05T17:01:00Z e@acme.com success dev=00000000-0000-0000-0000-000000000000
        # A failure on someone else's device proves nothing.
        2025-06-06T17:00:00Z f@acme.com failure dev=laptop-a
        2025-06-06T17:01:00Z a@acme.com success dev=laptop-a
    ";
    // a and b are a day apart, more than the hour-long settle time: the pair is reported
    // first (medium), and c joining two days later is a second report of all three (high).
    let alerts = check(
        &roster,
        events,
        &["shared_device"],
        &[
            "shared_device medium user=- users=2 [a@acme.com,b@acme.com]",
            "shared_device high user=- users=3 [a@acme.com,b@acme.com,c@acme.com]",
        ],
    );
    assert_eq!(
        alerts[1].evidence["new_users"],
        serde_json::json!(["c@acme.com"])
    );
    assert_eq!(alerts[1].evidence["device_id"], "yubikey-5c-0012345");
}

// ---------------------------------------------------------------------------------------
// session_anomaly

/// A session cookie stolen by an AiTM kit and replayed from another country, another ASN
/// and another browser.
#[test]
fn stolen_session_replayed_from_another_country() {
    let events = "
        2025-06-03T14:00:00Z alice@acme.com success ip=73.1.1.1 sess=sid-7f3a asn=7922 cc=US ua=Mozilla/5.0_(Windows_NT_10.0)_Chrome/125
        2025-06-03T14:05:00Z alice@acme.com success ip=73.1.1.1 sess=sid-7f3a asn=7922 cc=US ua=Mozilla/5.0_(Windows_NT_10.0)_Chrome/125
        2025-06-03T14:25:00Z alice@acme.com success ip=45.8.1.2 sess=sid-7f3a asn=9009 cc=NL ua=Mozilla/5.0_(X11;_Linux_x86_64)_Firefox/126 net=hosting
        2025-06-03T14:26:00Z alice@acme.com success ip=45.8.1.2 sess=sid-7f3a asn=9009 cc=NL ua=Mozilla/5.0_(X11;_Linux_x86_64)_Firefox/126 net=hosting
    ";
    let alerts = check(
        ROSTER_HEADER,
        events,
        &["session_anomaly"],
        &["session_anomaly critical user=alice@acme.com users=1 [alice@acme.com]"],
    );
    assert_eq!(alerts[0].evidence["first"]["country"], "US");
    assert_eq!(alerts[0].evidence["replay"]["country"], "NL");
}

/// Wi-Fi to cellular with the same browser, and a browser update on the same network: quiet.
#[test]
fn network_or_browser_change_alone_is_quiet() {
    let events = "
        2025-06-03T14:00:00Z bob@acme.com success ip=73.1.1.1 sess=s1 asn=7922 cc=US ua=Chrome/125
        2025-06-03T14:10:00Z bob@acme.com success ip=172.58.1.1 sess=s1 asn=21928 cc=US ua=Chrome/125 net=mobile
        2025-06-03T15:00:00Z bob@acme.com success ip=73.1.1.1 sess=s2 asn=7922 cc=US ua=Chrome/125
        2025-06-03T15:10:00Z bob@acme.com success ip=73.1.1.1 sess=s2 asn=7922 cc=US ua=Chrome/126
    ";
    check(ROSTER_HEADER, events, &["session_anomaly"], &[]);
}

// ---------------------------------------------------------------------------------------
// location_mismatch

/// A recent hire "in Texas" signs in once from Shenyang: one alert, at once.
#[test]
fn new_hire_claiming_texas_signs_in_from_china() {
    let roster =
        format!("{ROSTER_HEADER}kim@acme.com,,2025-05-19,US,Texas,Austin,,,America/Chicago\n");
    let events = "
        2025-06-03T14:00:00Z kim@acme.com success ip=73.1.1.1 cc=US city=Austin
        2025-06-04T01:00:00Z kim@acme.com success ip=175.16.1.1 cc=CN city=Shenyang
        2025-06-04T02:00:00Z kim@acme.com success ip=175.16.1.1 cc=CN city=Shenyang
    ";
    let alerts = check(
        &roster,
        events,
        &["location_mismatch"],
        &["location_mismatch critical user=kim@acme.com users=1 [kim@acme.com]"],
    );
    assert_eq!(alerts[0].evidence["seen"]["country"], "CN");
    assert_eq!(alerts[0].evidence["claimed"]["country"], "US");
}

/// A ten-year employee's three-day trip to London stays low; a mismatch that persists a
/// working week rises to medium; VPN exits abroad never count.
#[test]
fn business_trip_of_a_tenured_employee_stays_low() {
    let roster = format!(
        "{ROSTER_HEADER}lee@acme.com,,2014-02-03,US,,,,,\nmoe@acme.com,,2014-02-03,US,,,,,\nvpn@acme.com,,2025-05-30,US,,,,,\n"
    );
    let mut events = String::new();
    for day in 2..=4 {
        for h in [9, 13, 16] {
            events.push_str(&format!("2025-06-{day:02}T{h:02}:00:00Z lee@acme.com success ip=81.2.69.1 cc=GB city=London\n"));
        }
    }
    for day in 2..=8 {
        events.push_str(&format!(
            "2025-06-{day:02}T09:00:00Z moe@acme.com success ip=2.30.1.1 cc=GB city=Leeds\n"
        ));
        events.push_str(&format!(
            "2025-06-{day:02}T10:00:00Z vpn@acme.com success ip=185.2.2.2 cc=DE net=vpn\n"
        ));
    }
    check(
        &roster,
        &events,
        &["location_mismatch"],
        &[
            "location_mismatch low user=lee@acme.com users=1 [lee@acme.com]",
            "location_mismatch low user=moe@acme.com users=1 [moe@acme.com]",
            "location_mismatch medium user=moe@acme.com users=1 [moe@acme.com]",
        ],
    );
}

/// With work coordinates, distance decides (beyond the GeoIP radius): Dallas is far from
/// Austin, Round Rock is not.
#[test]
fn work_coordinates_judge_by_distance() {
    let roster = format!("{ROSTER_HEADER}ray@acme.com,,,US,Texas,Austin,30.27,-97.74,\n");
    let events = "
        2025-06-02T14:00:00Z ray@acme.com success ip=73.1.1.1 cc=US lat=30.51 lon=-97.68 r=10
        2025-06-03T14:00:00Z ray@acme.com success ip=73.1.1.1 cc=US lat=30.51 lon=-97.68 r=10
        2025-06-04T14:00:00Z ray@acme.com success ip=73.2.2.2 cc=US lat=40.71 lon=-74.0 r=20
        2025-06-05T14:00:00Z ray@acme.com success ip=73.2.2.2 cc=US lat=40.71 lon=-74.0 r=20
    ";
    let alerts = check(
        &roster,
        events,
        &["location_mismatch"],
        &["location_mismatch medium user=ray@acme.com users=1 [ray@acme.com]"],
    );
    assert!(alerts[0].evidence["seen"]["distance_km"].as_f64().unwrap() > 2000.0);
}

// ---------------------------------------------------------------------------------------
// robustness and configuration

/// A stream may deliver late events (earlier than ones already seen): no panic, and every
/// detector still produces sane alerts.
#[test]
fn late_and_shuffled_events_never_panic() {
    let mut events = String::new();
    for i in 0..30 {
        events.push_str(&format!(
            "2025-06-03T0{}:{:02}:00Z u{}@x.com {} ip=73.9.9.{} dev=d{} sess=s{} ua=ua{} asn={} cc={}\n",
            i % 10,
            (i * 7) % 60,
            i % 6,
            if i % 3 == 0 { "failure" } else { "success" },
            i % 2,
            i % 2,
            i % 3,
            i % 4,
            7922 + i % 3,
            ["US", "CN", "GB"][i % 3],
        ));
    }
    let roster = format!("{ROSTER_HEADER}u1@x.com,,2025-05-30,US,,,,,America/Chicago\n");
    let (roster, _) = Roster::from_reader(roster.as_bytes(), "roster.csv").unwrap();
    let roster = Arc::new(roster);
    let events = parse_events(&events);
    // Deliberately unordered, as a stream may deliver them.
    let mut out = Vec::new();
    let mut engine = Engine::new(&DetectConfig::default(), roster);
    for ev in events.iter().rev().chain(events.iter().step_by(3)) {
        engine.observe(ev, &mut out);
    }
    engine.finish(&mut out);
    for a in &out {
        assert!(a.score <= 100 && !a.users.is_empty(), "{a:?}");
    }
}

#[test]
fn issue5_config_problems_are_all_reported_with_their_path() {
    let mut c = DetectConfig::default();
    c.shared_ip.min_users = 1;
    c.shared_ip.settle_minutes = 24 * 60 + 1;
    c.shared_device.window_hours = 0;
    c.password_spray.min_users = 0;
    c.location_mismatch.work_radius_km = -5.0;
    c.off_hours.start_hour = 21;
    c.off_hours.min_share = 1.5;
    c.session_anomaly.session_hours = 0;
    let problems = c.validate();
    for prefix in [
        "detect.shared_ip.min_users: ",
        "detect.shared_ip.settle_minutes: ",
        "detect.shared_device.window_hours: ",
        "detect.password_spray.min_users: ",
        "detect.location_mismatch.work_radius_km: ",
        "detect.off_hours.end_hour: ",
        "detect.off_hours.min_share: ",
        "detect.session_anomaly.session_hours: ",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(prefix)),
            "no {prefix} in {problems:#?}"
        );
    }
    assert!(DetectConfig::default().validate().is_empty());
}

#[test]
fn issue5_config_tables_reject_unknown_keys_and_default_the_rest() {
    let c: DetectConfig =
        serde_json::from_str(r#"{"shared_ip": {"min_users": 6}, "off_hours": {"enabled": false}}"#)
            .unwrap();
    assert_eq!(c.shared_ip.min_users, 6);
    assert_eq!(c.shared_ip.window_hours, 24);
    assert!(!c.off_hours.enabled);
    let err =
        serde_json::from_str::<DetectConfig>(r#"{"shared_ip": {"min_user": 6}}"#).unwrap_err();
    assert!(err.to_string().contains("min_user"), "{err}");
    // A disabled detector raises nothing.
    let mut cfg = DetectConfig::default();
    cfg.password_spray.enabled = false;
    let mut engine = Engine::new(&cfg, Arc::new(Roster::empty()));
    assert!(!engine.detector_names().any(|n| n == "password_spray"));
    let mut out = Vec::new();
    for ev in parse_events(
        &(0..30)
            .map(|i| format!("2025-06-03T02:{i:02}:00Z t{i}@x.com failure ip=203.0.113.9\n"))
            .collect::<String>(),
    ) {
        engine.observe(&ev, &mut out);
    }
    engine.finish(&mut out);
    assert!(out.iter().all(|a| a.detector != "password_spray"));
}

/// Local hours follow the time zone's rules across a DST change: 12:30 UTC is 07:30 in
/// Chicago until 2 November 2025 and 06:30 after, so the same UTC habit turns off-hours.
#[test]
fn off_hours_follows_daylight_saving_changes() {
    let roster = format!("{ROSTER_HEADER}dst@acme.com,,2015-01-05,US,,,,,America/Chicago\n");
    let mut events = String::new();
    for (month, day) in (28..=31).map(|d| (10, d)).chain((1..=10).map(|d| (11, d))) {
        events.push_str(&format!(
            "2025-{month:02}-{day:02}T12:30:00Z dst@acme.com success ip=73.1.1.1\n"
        ));
    }
    let alerts = check(
        &roster,
        &events,
        &["off_hours"],
        &["off_hours medium user=dst@acme.com users=1 [dst@acme.com]"],
    );
    // Alerted on 9 November: 8 of 13 sign-ins (1–9 Nov at 06:30 CST) off-hours.
    assert_eq!(alerts[0].evidence["off_hours_signins"], 8);
    assert_eq!(alerts[0].evidence["signins"], 13);
}

/// Six long-tenured colleagues of one tenant and one new hire on a conference hotel's IP:
/// low context, not a farm. The same crowd from two tenants, or with a second new hire, is
/// a farm pattern again (high).
#[test]
fn conference_hotel_of_long_tenured_colleagues_is_low() {
    let mut roster = ROSTER_HEADER.to_owned();
    let hotel = |tenant_of: &dyn Fn(usize) -> &'static str| {
        let mut events = String::new();
        for i in 0..7 {
            events.push_str(&format!(
                "2025-06-03T15:{:02}:00Z c{i}@acme.com success ip=203.0.113.40 tenant={} org=Example_Hospitality_Networks cc=GB city=London\n",
                i * 3,
                tenant_of(i)
            ));
        }
        events
    };
    for i in 0..7 {
        let hired = if i == 0 { "2025-05-01" } else { "2016-09-01" };
        roster.push_str(&format!("c{i}@acme.com,,{hired},US,,,,,\n"));
    }
    let one_tenant = hotel(&|_| "acme");
    let alerts = check(
        &roster,
        &one_tenant,
        &["shared_ip"],
        &["shared_ip low user=- users=7"],
    );
    assert_eq!(alerts[0].evidence["long_tenured_staff"], true);
    assert!(
        alerts[0].summary.contains("conference"),
        "{}",
        alerts[0].summary
    );
    check(
        &roster,
        &hotel(&|i| if i < 4 { "acme" } else { "globex" }),
        &["shared_ip"],
        &["shared_ip high user=- users=7"],
    );
    let second_hire = roster.replace("c1@acme.com,,2016-09-01", "c1@acme.com,,2025-05-20");
    check(
        &second_hire,
        &one_tenant,
        &["shared_ip"],
        &["shared_ip high user=- users=7"],
    );
}

/// A recent hire already seen at the claimed Austin office flies to New York for three
/// days: a business trip, low (before: high on the first sign-in). A new hire never seen in
/// Austin who signs in from New York is still high at once.
#[test]
fn recent_hire_on_one_domestic_trip_after_signing_in_at_work_is_low() {
    let roster = format!(
        "{ROSTER_HEADER}ann@acme.com,,2025-05-19,US,Texas,Austin,30.27,-97.74,America/Chicago\nbob@acme.com,,2025-05-19,US,Texas,Austin,30.27,-97.74,America/Chicago\n"
    );
    let mut events = String::from(
        "2025-06-02T14:00:00Z ann@acme.com success ip=73.1.1.1 cc=US city=Austin lat=30.27 lon=-97.74 r=20\n",
    );
    for day in 3..=5 {
        for h in [13, 17] {
            events.push_str(&format!(
                "2025-06-{day:02}T{h}:00:00Z ann@acme.com success ip=96.2.2.2 cc=US city=New_York lat=40.71 lon=-74.0 r=20\n"
            ));
        }
    }
    events.push_str(
        "2025-06-03T13:30:00Z bob@acme.com success ip=96.2.2.3 cc=US city=New_York lat=40.71 lon=-74.0 r=20\n",
    );
    let alerts = check(
        &roster,
        &events,
        &["location_mismatch"],
        &[
            "location_mismatch high user=bob@acme.com users=1 [bob@acme.com]",
            "location_mismatch low user=ann@acme.com users=1 [ann@acme.com]",
        ],
    );
    assert_eq!(alerts[1].evidence["seen_at_work"], true);
    assert_eq!(alerts[0].evidence["seen_at_work"], false);
}
