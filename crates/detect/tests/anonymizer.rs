//! anonymizer, as data.

mod support;

use jetlag_event::NetClass;
use support::{at, check, check_with, roster};

const A: &str = "alice@example.com";

fn via(class: NetClass) -> Vec<support::B> {
    vec![at("e1", A, "New York", 0.0).net(class)]
}

#[test]
fn severity_follows_the_class() {
    let tor = check(&via(NetClass::Tor), &["anonymizer high alice@example.com"]);
    let proxy = check(
        &via(NetClass::Proxy),
        &["anonymizer medium alice@example.com"],
    );
    let vpn = check(&via(NetClass::Vpn), &["anonymizer low alice@example.com"]);
    let hosting = check(
        &via(NetClass::Hosting),
        &["anonymizer low alice@example.com"],
    );
    let relay = check(&via(NetClass::Relay), &["anonymizer low alice@example.com"]);
    let scores = [&tor, &proxy, &vpn, &hosting, &relay].map(|a| a[0].score);
    assert!(scores.windows(2).all(|w| w[0] > w[1]), "{scores:?}");
    assert_eq!(tor[0].evidence["class"], "tor");
    assert!(tor[0].summary.contains("Tor"), "{}", tor[0].summary);
}

#[test]
fn higher_for_recent_hires() {
    let r = roster(&[(A, Some("2025-02-01"), Some("US"))]);
    let alerts = check_with(
        &Default::default(),
        &r,
        &via(NetClass::Vpn),
        &["anonymizer medium alice@example.com"],
    );
    assert!(alerts[0].summary.contains("recent hire"));
    check_with(
        &Default::default(),
        &r,
        &via(NetClass::Tor),
        &["anonymizer critical alice@example.com"],
    );
}

#[test]
fn the_orgs_own_egress_and_plain_networks_are_not_anonymizers() {
    let corp_on_cloud = at("e1", A, "New York", 0.0)
        .net(NetClass::Hosting)
        .net(NetClass::Corporate);
    check(&[corp_on_cloud], &[]);
    check(&[at("e1", A, "New York", 0.0).net(NetClass::Mobile)], &[]);
    check(&[at("e1", A, "New York", 0.0)], &[]);
    check(
        &[at("e1", A, "New York", 0.0).net(NetClass::Tor).failed()],
        &[],
    );
}

#[test]
fn one_alert_per_class_per_day() {
    check(
        &[
            at("e1", A, "New York", 0.0).net(NetClass::Vpn),
            at("e2", A, "New York", 60.0).net(NetClass::Vpn),
            at("e3", A, "New York", 90.0).net(NetClass::Tor),
            at("e4", A, "New York", 25.0 * 60.0).net(NetClass::Vpn),
        ],
        &[
            "anonymizer low alice@example.com",
            "anonymizer high alice@example.com",
            "anonymizer low alice@example.com",
        ],
    );
}

#[test]
fn malicious_listing_raises_the_score() {
    let plain = check(&via(NetClass::Vpn), &["anonymizer low alice@example.com"]);
    let bad = check(
        &[at("e1", A, "New York", 0.0)
            .net(NetClass::Vpn)
            .net(NetClass::Malicious)],
        &["anonymizer medium alice@example.com"],
    );
    assert!(bad[0].score > plain[0].score);
}

/// Okta's `isProxy` is set for VPN and Tor exits too: a consumer VPN the intel lists name
/// is judged as a VPN (low), not as an open proxy (medium). A proxy nothing else explains
/// is still a proxy.
#[test]
fn consumer_vpn_flagged_as_proxy_by_okta_is_a_vpn() {
    let okta_vpn = at("e1", A, "Amsterdam", 0.0)
        .net(NetClass::Vpn)
        .net(NetClass::Proxy);
    let alerts = check(&[okta_vpn], &["anonymizer low alice@example.com"]);
    assert_eq!(alerts[0].evidence["class"], "vpn");
    let okta_tor = at("e1", A, "Amsterdam", 0.0)
        .net(NetClass::Tor)
        .net(NetClass::Proxy);
    check(&[okta_tor], &["anonymizer high alice@example.com"]);
    let bare_proxy = at("e1", A, "Amsterdam", 0.0).net(NetClass::Proxy);
    check(&[bare_proxy], &["anonymizer medium alice@example.com"]);
}

/// A recent hire who streams through a consumer VPN every evening: reported at medium the
/// first evening, then as low context; Tor keeps its full weight every time.
#[test]
fn recent_hires_nightly_consumer_vpn_is_medium_once_then_low() {
    let r = roster(&[(A, Some("2025-02-01"), Some("IN"))]);
    let evenings: Vec<support::B> = (0..4)
        .map(|d| at(&format!("v{d}"), A, "Amsterdam", f64::from(d) * 1440.0).net(NetClass::Vpn))
        .collect();
    let alerts = check_with(
        &Default::default(),
        &r,
        &evenings,
        &[
            "anonymizer medium alice@example.com",
            "anonymizer low alice@example.com",
            "anonymizer low alice@example.com",
            "anonymizer low alice@example.com",
        ],
    );
    assert_eq!(alerts[1].evidence["repeat"], true);
    assert!(
        alerts[1].summary.contains("already reported"),
        "{}",
        alerts[1].summary
    );
    let tor: Vec<support::B> = (0..2)
        .map(|d| at(&format!("t{d}"), A, "Amsterdam", f64::from(d) * 1440.0).net(NetClass::Tor))
        .collect();
    check_with(
        &Default::default(),
        &r,
        &tor,
        &[
            "anonymizer critical alice@example.com",
            "anonymizer critical alice@example.com",
        ],
    );
}
