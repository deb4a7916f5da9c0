//! MaxMind-format (`.mmdb`) databases of any vendor, recognised by their metadata.
//!
//! One decoder reads every schema jetlag knows — GeoIP2/GeoLite2 City, Country, Enterprise,
//! ASN, ISP, Connection-Type, Anonymous-IP, Anonymous-Plus, IP-Risk, Residential-Proxy, and
//! the flat schemas of DB-IP Lite and ip-location-db (`city`, `country_code`, `latitude`,
//! `longitude`, `state1`, `autonomous_system_*`) — borrowing strings from the database.
//! `database_type` decides only what the bare presence of a record means (a Residential-Proxy
//! record marks a proxy) and how the database is described.
//!
//! Two caches per thread, so that threads never share, lock or even synchronise on them:
//! the search-tree walk's answer by IP (sign-ins repeat their users' IPs, and the walk —
//! a chain of dependent reads through a tree of tens of MB — is most of a lookup's cost),
//! and decoded records by database and data-section offset (many IPs share one record). A
//! repeated lookup neither walks the tree, nor decodes, nor allocates.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use compact_str::CompactString;
use jetlag_event::{NetClass, NetClasses};
use maxminddb::{Reader, WithinOptions};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::file::Bytes;
use crate::geo::RawGeo;
use crate::info::{Acc, Record};
use crate::{Error, Result};

/// What kind of MaxMind-format database a file is, from its `database_type` metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MmdbKind {
    /// City-level location (GeoIP2/GeoLite2 City, Enterprise, DB-IP / ip-location-db city).
    City,
    /// Country only (GeoIP2/GeoLite2 Country, ip-location-db country): centroid + radius.
    Country,
    /// Autonomous system number and organisation.
    Asn,
    /// ISP and organisation (GeoIP2-ISP), with ASN.
    Isp,
    /// Connection type (`Cellular` → mobile, `Satellite` → satellite).
    ConnectionType,
    /// Anonymizer flags (GeoIP2 Anonymous-IP, GeoIP Anonymous-Plus, GeoIP2 IP-Risk).
    Anonymous,
    /// Residential proxies (GeoIP Residential-Proxy): any record marks a proxy.
    ResidentialProxy,
    /// Another type: whatever fields jetlag knows are still read.
    Other,
}

impl MmdbKind {
    /// Classifies a `database_type` string, e.g. `GeoLite2-City`, `DBIP-ASN-Lite`,
    /// `city ipv4`, `country ipvAll`.
    pub fn from_database_type(t: &str) -> MmdbKind {
        let t = t.to_ascii_lowercase();
        if t.contains("residential-proxy") {
            MmdbKind::ResidentialProxy
        } else if t.contains("anonymous") || t.contains("ip-risk") {
            MmdbKind::Anonymous
        } else if t.contains("connection-type") {
            MmdbKind::ConnectionType
        } else if t.contains("isp") {
            MmdbKind::Isp
        } else if t.contains("asn") {
            MmdbKind::Asn
        } else if t.contains("city") || t.contains("enterprise") {
            MmdbKind::City
        } else if t.contains("country") {
            MmdbKind::Country
        } else {
            MmdbKind::Other
        }
    }

    /// A short name for display.
    pub const fn as_str(self) -> &'static str {
        match self {
            MmdbKind::City => "city",
            MmdbKind::Country => "country",
            MmdbKind::Asn => "asn",
            MmdbKind::Isp => "isp",
            MmdbKind::ConnectionType => "connection-type",
            MmdbKind::Anonymous => "anonymous-ip",
            MmdbKind::ResidentialProxy => "residential-proxy",
            MmdbKind::Other => "other",
        }
    }
}

impl fmt::Display for MmdbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Entries in each thread's decoded-record cache (a power of two): 32,768 × ~160 bytes.
/// The scan bench's 120k IPs spread over the world have ~25k distinct records.
const CACHE_SLOTS: usize = 1 << 15;

/// Entries in each thread's IP cache (a power of two): 262,144 × 24 bytes, in sets of
/// [`IP_WAYS`]. The scan bench's 1M sign-ins touch 120k IPs: 131,072 two-way slots hit
/// 73 % of lookups (simulated over the bench's IP sequence), 262,144 four-way ones 87 %,
/// against 88 % for a cache that never evicts.
const IP_SLOTS: usize = 1 << 18;

/// Entries in one set of the IP cache (a power of two), the newest first.
const IP_WAYS: usize = 4;

/// Distinguishes databases (and reloads of one) in the shared per-thread cache.
static NEXT_DB_ID: AtomicU64 = AtomicU64::new(1);

/// One cached record: `key` is `db_id << 40 | (offset + 1)`; 0 marks an empty entry.
#[derive(Default)]
struct Entry {
    key: u64,
    record: Record,
}

/// One cached tree walk: the IP (IPv4 in `lo`) and `meta` = `db_id << 41 | is_v4 << 40 |
/// (offset + 1)`, offset + 1 = 0 for "no record"; `meta == 0` marks an empty entry.
#[derive(Default, Clone, Copy)]
struct IpEntry {
    hi: u64,
    lo: u64,
    meta: u64,
}

/// A thread's caches, set-associative (the IP cache's sets of [`IP_WAYS`] slots, the record
/// cache's pairs; the newest first), sized on first use.
#[derive(Default)]
struct Caches {
    ips: Vec<IpEntry>,
    records: Vec<Entry>,
}

impl Caches {
    /// The cached tree walk of an IP: `Some(offset + 1)`, `Some(0)` for "no record".
    fn ip(&self, hi: u64, lo: u64, tag: u64) -> Option<u64> {
        let i = ip_index(hi, lo, tag);
        self.ips.get(i..i + IP_WAYS)?.iter().find_map(|e| {
            (e.meta != 0 && e.meta & !OFFSET_MASK == tag && e.hi == hi && e.lo == lo)
                .then_some(e.meta & OFFSET_MASK)
        })
    }

    fn put_ip(&mut self, hi: u64, lo: u64, tag: u64, offset1: u64) {
        if self.ips.is_empty() {
            self.ips.resize(IP_SLOTS, IpEntry::default());
        }
        let i = ip_index(hi, lo, tag);
        let set = &mut self.ips[i..i + IP_WAYS];
        // The IP's own slot if it is there, else the oldest goes; the rest move down one.
        let at = set
            .iter()
            .position(|e| e.meta & !OFFSET_MASK == tag && e.hi == hi && e.lo == lo)
            .unwrap_or(IP_WAYS - 1);
        set[..=at].rotate_right(1);
        set[0] = IpEntry {
            hi,
            lo,
            meta: tag | offset1,
        };
    }

    fn record(&self, key: u64) -> Option<&Record> {
        let i = slot_index(key);
        self.records
            .get(i..i + 2)?
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.record)
    }

    fn put_record(&mut self, key: u64, record: Record) {
        if self.records.is_empty() {
            self.records.resize_with(CACHE_SLOTS, Entry::default);
        }
        let i = slot_index(key);
        self.records.swap(i, i + 1);
        self.records[i] = Entry { key, record };
    }
}

/// The offset + 1 part of a key or `IpEntry::meta` (data sections are far below 2^40 bytes).
const OFFSET_MASK: u64 = (1 << 40) - 1;

thread_local! {
    static CACHE: RefCell<Caches> = RefCell::new(Caches::default());
}

/// An open `.mmdb` file.
pub(crate) struct MmdbDb {
    path: PathBuf,
    reader: Reader<Bytes>,
    kind: MmdbKind,
    id: u64,
}

impl fmt::Debug for MmdbDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmdbDb")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

/// Whether the bytes end like an mmdb file (the metadata marker within the last 128 KiB).
pub(crate) fn looks_like_mmdb(bytes: &[u8]) -> bool {
    const MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";
    let tail = &bytes[bytes.len().saturating_sub(128 * 1024)..];
    tail.windows(MARKER.len()).any(|w| w == MARKER)
}

impl MmdbDb {
    /// Opens a database from its bytes (read or mapped) and probes it: the first records
    /// of the tree must decode, so a corrupt data section fails here rather than on the
    /// first sign-in.
    pub(crate) fn from_bytes(path: &Path, bytes: impl Into<Bytes>) -> Result<MmdbDb> {
        let bad = |reason: String| Error::Mmdb {
            path: path.to_owned(),
            reason,
        };
        let reader = Reader::from_source(bytes.into()).map_err(|e| bad(e.to_string()))?;
        let kind = MmdbKind::from_database_type(&reader.metadata().database_type);
        let db = MmdbDb {
            path: path.to_owned(),
            reader,
            kind,
            id: NEXT_DB_ID.fetch_add(1, Ordering::Relaxed),
        };
        db.probe().map_err(bad)?;
        Ok(db)
    }

    fn probe(&self) -> std::result::Result<(), String> {
        let mut decoded = 0;
        let networks = self
            .reader
            .networks(WithinOptions::default())
            .map_err(|e| e.to_string())?;
        for item in networks.take(64) {
            let item = item.map_err(|e| e.to_string())?;
            if item.has_data() {
                decode(self.kind, &item).map_err(|e| format!("probe decode failed: {e}"))?;
                decoded += 1;
            }
        }
        if decoded == 0 {
            return Err("no record could be read from the search tree".into());
        }
        Ok(())
    }

    /// Walks the whole search tree and data section (slow: for `geoip update` only).
    #[cfg(feature = "update")]
    pub(crate) fn verify(&self) -> std::result::Result<(), String> {
        self.reader.verify().map_err(|e| e.to_string())
    }

    pub(crate) fn kind(&self) -> MmdbKind {
        self.kind
    }

    pub(crate) fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Looks an IP up and merges its record into `acc`. A lookup error (an IPv6 address in
    /// an IPv4-only database, a corrupt record) counts as "not in this database".
    pub(crate) fn lookup_into(&self, ip: IpAddr, acc: &mut Acc) -> Result<(), String> {
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return Ok(());
        }
        let (hi, lo, v4) = match ip {
            IpAddr::V4(v4) => (0, u64::from(u32::from(v4)), 1),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                ((bits >> 64) as u64, bits as u64, 0)
            }
        };
        // Ids stay far below 2^23.
        let tag = (self.id << 41) | (v4 << 40);
        let cached = CACHE.with(|cache| {
            let Ok(cache) = cache.try_borrow() else {
                return None;
            };
            let offset1 = cache.ip(hi, lo, tag)?;
            if offset1 == 0 {
                return Some(());
            }
            let record = cache.record((self.id << 40) | offset1)?;
            acc.merge(record);
            Some(())
        });
        if cached.is_some() {
            return Ok(());
        }
        let found = self.reader.lookup(ip).map_err(|e| e.to_string())?;
        let offset1 = found.offset().map_or(0, |o| o as u64 + 1).min(OFFSET_MASK);
        let key = (self.id << 40) | offset1;
        let hit = CACHE.with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return false;
            };
            if offset1 != OFFSET_MASK {
                cache.put_ip(hi, lo, tag, offset1);
            }
            match cache.record(key) {
                Some(record) if offset1 != 0 => {
                    acc.merge(record);
                    true
                }
                _ => offset1 == 0,
            }
        });
        if hit || !found.has_data() {
            return Ok(());
        }
        let record = decode(self.kind, &found).map_err(|e| e.to_string())?;
        acc.merge(&record);
        if offset1 != OFFSET_MASK {
            CACHE.with(|cache| {
                if let Ok(mut cache) = cache.try_borrow_mut() {
                    cache.put_record(key, record);
                }
            });
        }
        Ok(())
    }

    /// Whether the IP has a record (the tree walk alone; for benchmarks).
    pub(crate) fn has_record(&self, ip: IpAddr) -> bool {
        self.reader.lookup(ip).is_ok_and(|r| r.has_data())
    }

    /// Looks an IP up without the cache (for benchmarks and tests of the cache).
    pub(crate) fn lookup_uncached(&self, ip: IpAddr, acc: &mut Acc) -> Result<(), String> {
        let found = self.reader.lookup(ip).map_err(|e| e.to_string())?;
        if found.has_data() {
            acc.merge(&decode(self.kind, &found).map_err(|e| e.to_string())?);
        }
        Ok(())
    }
}

/// The first slot of a key's pair in the record cache.
fn slot_index(key: u64) -> usize {
    // Fibonacci hashing spreads neighbouring offsets over the table.
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - CACHE_SLOTS.trailing_zeros())) as usize & !1
}

/// The first slot of an IP's set in the IP cache.
fn ip_index(hi: u64, lo: u64, tag: u64) -> usize {
    let h = (lo ^ tag)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(29)
        ^ hi;
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - IP_SLOTS.trailing_zeros())) as usize
        & !(IP_WAYS - 1)
}

fn decode<S: AsRef<[u8]>>(
    kind: MmdbKind,
    found: &maxminddb::LookupResult<'_, S>,
) -> std::result::Result<Record, maxminddb::MaxMindDbError> {
    let Some(raw) = found.decode::<Raw<'_>>()? else {
        return Ok(Record::default());
    };
    Ok(raw.into_record(kind))
}

/// Every field jetlag reads, from every schema it knows. Unknown fields are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Raw<'a> {
    // GeoIP2 City / Country / Enterprise
    #[serde(borrow)]
    city: Name<'a>,
    #[serde(borrow)]
    country: IsoCode<'a>,
    #[serde(borrow)]
    subdivisions: FirstName<'a>,
    location: Location,
    // DB-IP Lite / ip-location-db flat schema
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
    latitude: Num,
    longitude: Num,
    // ASN / ISP
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
    #[serde(borrow)]
    isp: Option<&'a str>,
    #[serde(borrow)]
    organization: Option<&'a str>,
    #[serde(borrow)]
    mobile_country_code: Option<&'a str>,
    // Connection-Type
    #[serde(borrow)]
    connection_type: Option<&'a str>,
    // Anonymous-IP / Anonymous-Plus / IP-Risk
    is_anonymous_vpn: bool,
    is_tor_exit_node: bool,
    is_public_proxy: bool,
    is_residential_proxy: bool,
    is_hosting_provider: bool,
}

impl Raw<'_> {
    fn into_record(self, kind: MmdbKind) -> Record {
        let geo = RawGeo {
            lat: self.location.latitude.0.or(self.latitude.0),
            lon: self.location.longitude.0.or(self.longitude.0),
            radius_km: self.location.accuracy_radius.0,
            city: self.city.0,
            region: self.subdivisions.0.or(self.state1),
            country: self.country.0.or(self.country_code),
        }
        .to_geo();
        let mut network = NetClasses::EMPTY;
        let flags = [
            (self.is_anonymous_vpn, NetClass::Vpn),
            (self.is_tor_exit_node, NetClass::Tor),
            (self.is_public_proxy, NetClass::Proxy),
            (self.is_residential_proxy, NetClass::Proxy),
            (self.is_hosting_provider, NetClass::Hosting),
        ];
        for (flag, class) in flags {
            if flag {
                network.insert(class);
            }
        }
        match self.connection_type {
            Some("Cellular") => network.insert(NetClass::Mobile),
            Some("Satellite") => network.insert(NetClass::Satellite),
            _ => {}
        }
        if self.mobile_country_code.is_some_and(|m| !m.is_empty()) {
            network.insert(NetClass::Mobile);
        }
        if kind == MmdbKind::ResidentialProxy {
            network.insert(NetClass::Proxy);
        }
        let as_org = self
            .autonomous_system_organization
            .or(self.isp)
            .or(self.organization)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(CompactString::from);
        Record {
            geo,
            asn: self.autonomous_system_number.filter(|n| *n != 0),
            as_org,
            network,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Location {
    latitude: Num,
    longitude: Num,
    accuracy_radius: Num,
}

/// A number stored as a double, a float (DB-IP Lite stores coordinates as 32-bit floats)
/// or an integer.
#[derive(Debug, Default, Clone, Copy)]
struct Num(Option<f64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f32<E: de::Error>(self, v: f32) -> Result<Num, E> {
                // A float holds ~7 significant digits: rounded to 1e-5 degrees (~1 m),
                // 37.422000885009766 (f32) reads back as 37.422.
                Ok(Num(Some((f64::from(v) * 1e5).round() / 1e5)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A place name: a plain string (flat schemas) or GeoIP2's `{"names": {"en": ...}}`.
#[derive(Debug, Default)]
struct Name<'a>(Option<&'a str>);

/// GeoIP2's `{"iso_code": ...}`.
#[derive(Debug, Default)]
struct IsoCode<'a>(Option<&'a str>);

/// The first element's name of a GeoIP2 list such as `subdivisions`.
#[derive(Debug, Default)]
struct FirstName<'a>(Option<&'a str>);

struct NameVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for NameVisitor<'a> {
    type Value = Name<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a name or a map with names")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'a>, E> {
        Ok(Name(Some(v)))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Name<'a>, E> {
        Ok(Name(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Name<'a>, A::Error> {
        let mut name = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            if key == "names" {
                name = map.next_value::<English<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Name(name))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Name<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NameVisitor(std::marker::PhantomData))
    }
}

/// The English entry of a `names` map.
struct English<'a>(Option<&'a str>);

impl<'de> Deserialize<'de> for English<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = English<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of names by language")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<English<'de>, A::Error> {
                let mut en = None;
                while let Some(key) = map.next_key::<&'de str>()? {
                    if key == "en" {
                        en = Some(map.next_value::<&'de str>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(English(en))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for IsoCode<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = IsoCode<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a country map or code")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<IsoCode<'a>, E> {
                Ok(IsoCode(Some(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IsoCode<'a>, A::Error> {
                let mut code = None;
                while let Some(key) = map.next_key::<&'de str>()? {
                    if key == "iso_code" {
                        code = Some(map.next_value::<&'de str>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(IsoCode(code))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FirstName<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = FirstName<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of named places")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstName<'a>, A::Error> {
                let first = seq.next_element::<Name<'a>>()?.and_then(|n| n.0);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstName(first))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_database_type() {
        let cases = [
            ("GeoIP2-City", MmdbKind::City),
            ("GeoLite2-City", MmdbKind::City),
            ("GeoIP2-Enterprise", MmdbKind::City),
            ("city ipv4", MmdbKind::City),
            ("DBIP-City-Lite", MmdbKind::City),
            ("GeoIP2-Country", MmdbKind::Country),
            ("country ipvAll", MmdbKind::Country),
            ("GeoLite2-ASN", MmdbKind::Asn),
            ("DBIP-ASN-Lite (compat=GeoLite2-ASN)", MmdbKind::Asn),
            ("GeoIP2-ISP", MmdbKind::Isp),
            ("GeoIP2-Connection-Type", MmdbKind::ConnectionType),
            ("GeoIP2-Anonymous-IP", MmdbKind::Anonymous),
            ("GeoIP-Anonymous-Plus", MmdbKind::Anonymous),
            ("GeoIP2-IP-Risk", MmdbKind::Anonymous),
            ("GeoIP-Residential-Proxy", MmdbKind::ResidentialProxy),
            ("something else", MmdbKind::Other),
        ];
        for (t, kind) in cases {
            assert_eq!(MmdbKind::from_database_type(t), kind, "{t}");
        }
    }

    #[test]
    fn cache_slots_spread() {
        let a = slot_index(1000);
        let b = slot_index(1001);
        assert_ne!(a, b);
        assert!(slot_index(u64::MAX) + 1 < CACHE_SLOTS);
        assert_ne!(
            ip_index(0, 0x0a00_0001, 1 << 41),
            ip_index(0, 0x0a00_0002, 1 << 41)
        );
        assert!(ip_index(u64::MAX, u64::MAX, u64::MAX) + IP_WAYS <= IP_SLOTS);
    }

    /// The IP cache tells IPs, address families and databases apart, and keeps the
    /// [`IP_WAYS`] latest of a set.
    #[test]
    fn ip_cache_keys() {
        let mut c = Caches::default();
        let (db1, db2) = (1 << 41, 2 << 41);
        assert_eq!(c.ip(0, 7, db1), None);
        c.put_ip(0, 7, db1 | 1 << 40, 100);
        assert_eq!(c.ip(0, 7, db1 | 1 << 40), Some(100));
        assert_eq!(c.ip(0, 7, db1), None, "IPv6 ::7 is not IPv4 0.0.0.7");
        assert_eq!(c.ip(0, 7, db2 | 1 << 40), None, "another database");
        assert_eq!(c.ip(1, 7, db1 | 1 << 40), None);
        c.put_ip(0, 8, db1, 0);
        assert_eq!(c.ip(0, 8, db1), Some(0), "no record is an answer too");
        // IP_WAYS + 1 IPs in one set: the oldest goes, the others stay.
        let v4 = db1 | 1 << 40;
        let i = ip_index(0, 7, v4);
        let same: Vec<u64> = (9..)
            .filter(|lo| ip_index(0, *lo, v4) == i)
            .take(IP_WAYS)
            .collect();
        for (n, lo) in same.iter().enumerate() {
            assert_eq!(c.ip(0, 7, v4), Some(100), "7 stays while the set has room");
            c.put_ip(0, *lo, v4, 200 + n as u64);
        }
        assert_eq!(c.ip(0, 7, v4), None, "the oldest went");
        for (n, lo) in same.iter().enumerate() {
            assert_eq!(c.ip(0, *lo, v4), Some(200 + n as u64));
        }
        // Putting an IP already there updates it in place, evicting nobody.
        c.put_ip(0, same[0], v4, 300);
        for (n, lo) in same.iter().enumerate() {
            assert_eq!(
                c.ip(0, *lo, v4),
                Some(if n == 0 { 300 } else { 200 + n as u64 })
            );
        }
    }
}
