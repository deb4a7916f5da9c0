//! Every MaxMind database kind, checked against MaxMind's own source data.
//!
//! `tests/data/maxmind/*.mmdb` are MaxMind's official test databases and
//! `source-data/*.json` the records they were built from (Apache-2.0 OR MIT). For every
//! network in the JSON, the network's first address is looked up and the answer compared
//! with the record of the last JSON network containing it (the writer's insertion order).

use std::net::IpAddr;
use std::path::PathBuf;

use ip_network::IpNetwork;
use jetlag_enrich::{CITY_RADIUS_KM, Enricher, IpInfo, REGION_RADIUS_KM, country_centroid};
use jetlag_event::{Country, NetClass, NetClasses};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/maxmind")).join(name)
}

/// (network, record) pairs of a source-data JSON file.
fn source(name: &str) -> Vec<(IpNetwork, Value)> {
    let text = std::fs::read_to_string(data(&format!("source-data/{name}.json"))).unwrap();
    let doc: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&text).unwrap();
    doc.into_iter()
        .flat_map(|m| m.into_iter())
        .map(|(net, rec)| (IpNetwork::from_str_truncate(&net).unwrap(), rec))
        .collect()
}

/// Looks up the first address of every network; calls `check(expected, got)` for each.
fn each(name: &str, mut check: impl FnMut(&str, &Value, &IpInfo)) -> usize {
    let enricher = Enricher::builder()
        .geoip(data(&format!("{name}.mmdb")))
        .build()
        .unwrap();
    let entries = source(name);
    let mut n = 0;
    for (net, _) in &entries {
        let ip: IpAddr = net.network_address();
        // The database writer inserts networks in file order and a later network replaces
        // what it covers, so the answer is the last network in the file that holds the IP.
        let (_, expected) = entries
            .iter()
            .rev()
            .find(|(other, _)| other.contains(ip))
            .unwrap();
        let got = enricher.lookup(ip);
        check(&format!("{name} {ip} ({net})"), expected, &got);
        n += 1;
    }
    assert!(n > 0);
    n
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn check_location(ctx: &str, expected: &Value, got: &IpInfo) {
    let country = str_at(expected, "/country/iso_code");
    let lat = expected
        .pointer("/location/latitude")
        .and_then(Value::as_f64);
    let lon = expected
        .pointer("/location/longitude")
        .and_then(Value::as_f64);
    if country.is_none() && lat.is_none() {
        assert!(
            got.geo.is_none(),
            "{ctx}: expected no geo, got {:?}",
            got.geo
        );
        return;
    }
    let geo = got.geo.as_ref().unwrap_or_else(|| panic!("{ctx}: no geo"));
    assert_eq!(
        geo.country.map(|c| c.to_string()).as_deref(),
        country,
        "{ctx}"
    );
    assert_eq!(
        geo.city.as_deref(),
        str_at(expected, "/city/names/en"),
        "{ctx}"
    );
    assert_eq!(
        geo.region.as_deref(),
        str_at(expected, "/subdivisions/0/names/en"),
        "{ctx}"
    );
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            let (glat, glon) = geo.point().unwrap();
            assert!(
                (glat - lat).abs() < 1e-6 && (glon - lon).abs() < 1e-6,
                "{ctx}"
            );
            let radius = expected
                .pointer("/location/accuracy_radius")
                .and_then(Value::as_f64)
                .unwrap_or(if geo.city.is_some() {
                    CITY_RADIUS_KM
                } else {
                    REGION_RADIUS_KM
                });
            assert_eq!(geo.radius_km, Some(radius), "{ctx}");
        }
        _ => {
            // Country only: the centroid with its covering radius.
            let c = Country::from_code(country.unwrap()).unwrap();
            let (clat, clon, r) = country_centroid(c).unwrap();
            assert_eq!(geo.point(), Some((clat, clon)), "{ctx}");
            assert_eq!(geo.radius_km, Some(r), "{ctx}");
        }
    }
}

#[test]
fn city_databases_match_source_data() {
    let n = each("GeoIP2-City-Test", check_location);
    assert!(n > 100, "{n}");
}

#[test]
fn country_database_gives_centroids() {
    let n = each("GeoIP2-Country-Test", check_location);
    assert!(n > 100, "{n}");
}

#[test]
fn asn_database_matches_source_data() {
    each("GeoLite2-ASN-Test", |ctx, expected, got| {
        let asn = expected
            .get("autonomous_system_number")
            .and_then(Value::as_u64);
        assert_eq!(got.asn.map(u64::from), asn, "{ctx}");
        assert_eq!(
            got.as_org.as_deref(),
            str_at(expected, "/autonomous_system_organization"),
            "{ctx}"
        );
        assert!(got.geo.is_none() && got.network.is_empty(), "{ctx}");
    });
}

#[test]
fn isp_database_gives_asn_and_organisation() {
    let mut mobile = 0;
    each("GeoIP2-ISP-Test", |ctx, expected, got| {
        let asn = expected
            .get("autonomous_system_number")
            .and_then(Value::as_u64);
        assert_eq!(got.asn.map(u64::from), asn, "{ctx}");
        let org = str_at(expected, "/autonomous_system_organization")
            .or(str_at(expected, "/isp"))
            .or(str_at(expected, "/organization"));
        assert_eq!(got.as_org.as_deref(), org, "{ctx}");
        let is_mobile = expected.get("mobile_country_code").is_some();
        mobile += usize::from(is_mobile);
        assert_eq!(got.network.contains(NetClass::Mobile), is_mobile, "{ctx}");
    });
    assert!(mobile > 0, "the ISP test data has a mobile network");
}

#[test]
fn connection_type_cellular_is_mobile() {
    let mut cellular = 0;
    each("GeoIP2-Connection-Type-Test", |ctx, expected, got| {
        let t = str_at(expected, "/connection_type");
        let mut want = NetClasses::EMPTY;
        match t {
            Some("Cellular") => {
                want.insert(NetClass::Mobile);
                cellular += 1;
            }
            Some("Satellite") => want.insert(NetClass::Satellite),
            _ => {}
        }
        assert_eq!(got.network, want, "{ctx}: {t:?}");
    });
    assert!(cellular > 0);
}

fn anonymizer_classes(expected: &Value) -> NetClasses {
    let flag = |k: &str| expected.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut want = NetClasses::EMPTY;
    for (k, class) in [
        ("is_anonymous_vpn", NetClass::Vpn),
        ("is_tor_exit_node", NetClass::Tor),
        ("is_public_proxy", NetClass::Proxy),
        ("is_residential_proxy", NetClass::Proxy),
        ("is_hosting_provider", NetClass::Hosting),
    ] {
        if flag(k) {
            want.insert(class);
        }
    }
    want
}

#[test]
fn anonymous_ip_flags_become_classes() {
    let mut seen = NetClasses::EMPTY;
    each("GeoIP2-Anonymous-IP-Test", |ctx, expected, got| {
        assert_eq!(got.network, anonymizer_classes(expected), "{ctx}");
        seen = seen.union(got.network);
    });
    for class in [
        NetClass::Vpn,
        NetClass::Tor,
        NetClass::Proxy,
        NetClass::Hosting,
    ] {
        assert!(seen.contains(class), "{class} never seen");
    }
}

#[test]
fn anonymous_plus_flags_become_classes() {
    each("GeoIP-Anonymous-Plus-Test", |ctx, expected, got| {
        assert_eq!(got.network, anonymizer_classes(expected), "{ctx}");
    });
}

#[test]
fn ip_risk_flags_become_classes() {
    each("GeoIP2-IP-Risk-Test", |ctx, expected, got| {
        assert_eq!(got.network, anonymizer_classes(expected), "{ctx}");
    });
}

#[test]
fn residential_proxy_records_are_proxies() {
    each("GeoIP-Residential-Proxy-Test", |ctx, _, got| {
        assert_eq!(got.network, NetClasses::of(&[NetClass::Proxy]), "{ctx}");
    });
}

#[test]
fn ipv6_lookups() {
    let enricher = Enricher::builder()
        .geoip(data("GeoIP2-City-Test.mmdb"))
        .build()
        .unwrap();
    // 2001:218::/32 is Japan in the City test data.
    let info = enricher.lookup("2001:218::1".parse().unwrap());
    assert_eq!(info.geo.unwrap().country.unwrap().as_str(), "JP");
    // An IPv4-mapped IPv6 address is looked up as IPv4.
    let mapped = enricher.lookup("::ffff:81.2.69.142".parse().unwrap());
    assert_eq!(mapped.geo.unwrap().city.as_deref(), Some("London"));
}

#[test]
fn databases_merge_most_precise_geo_first_asn_and_all_classes() {
    let enricher = Enricher::builder()
        .geoip(data("GeoIP2-Country-Test.mmdb"))
        .geoip(data("GeoIP2-City-Test.mmdb"))
        .geoip(data("GeoLite2-ASN-Test.mmdb"))
        .geoip(data("GeoIP2-Anonymous-IP-Test.mmdb"))
        .build()
        .unwrap();
    // In the City data 81.2.69.142 is London; the Country DB only says GB. The City
    // coordinates win although the Country DB was named first.
    let info = enricher.lookup("81.2.69.142".parse().unwrap());
    let geo = info.geo.unwrap();
    assert_eq!(geo.city.as_deref(), Some("London"));
    assert_eq!(geo.radius_km, Some(10.0));
    // 81.2.69.142 is flagged by every anonymizer flag in the Anonymous-IP data.
    for class in [
        NetClass::Vpn,
        NetClass::Tor,
        NetClass::Proxy,
        NetClass::Hosting,
    ] {
        assert!(info.network.contains(class), "{class}");
    }
    // 1.128.0.0/11 is Telstra in the ASN data.
    assert_eq!(
        enricher.lookup("1.128.0.1".parse().unwrap()).asn,
        Some(1221)
    );
    assert_eq!(enricher.sources().len(), 4);
}
