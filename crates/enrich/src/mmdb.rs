//! MaxMind-format (`.mmdb`) databases of any vendor, recognised by their metadata.
//!
//! One decoder reads every schema jetlag knows — GeoIP2/GeoLite2 City, Country, Enterprise,
//! ASN, ISP, Connection-Type, Anonymous-IP, Anonymous-Plus, IP-Risk, Residential-Proxy, and
//! the flat schemas of DB-IP Lite and ip-location-db (`city`, `country_code`, `latitude`,
//! `longitude`, `state1`, `autonomous_system_*`) — borrowing strings from the database.
//! `database_type` decides only what the bare presence of a record means (a Residential-Proxy
//! record marks a proxy) and how the database is described.
//!
//! Caches per thread and database, so that threads never share, lock or even synchronise
//! on them: the search-tree walk's answer by IP (sign-ins repeat their users' IPs, and the
//! walk — a chain of dependent reads through a tree of tens of MB — is most of a lookup's
//! cost; IPv4 answers take 8 bytes, a set of them one cache line), and each data-section
//! record decoded once, by offset (many IPs share one record). A repeated lookup neither
//! walks the tree, nor decodes, nor allocates, and reads two cache lines.

use std::collections::HashMap;
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

/// Entries in each thread's IPv4 cache of a database (a power of two): 262,144 × 8 bytes
/// (2 MB), in sets of [`V4_WAYS`] that each fill one 64-byte cache line. The scan bench's 1M
/// sign-ins touch 120k IPs, which it keeps.
const V4_SLOTS: usize = 1 << 18;

/// Entries in one set of the IPv4 cache: one cache line of `u64`s, the newest first.
const V4_WAYS: usize = 8;

/// Entries in each thread's IPv6 cache of a database (a power of two): 65,536 × 24 bytes,
/// in sets of [`V6_WAYS`]; made on the first IPv6 lookup.
const V6_SLOTS: usize = 1 << 16;

/// Entries in one set of the IPv6 cache (a power of two), the newest first.
const V6_WAYS: usize = 4;

/// Decoded records a thread keeps per database before it starts its caches of that
/// database afresh (bounds a long-running server's memory: ~160 bytes a record).
const MAX_RECORDS: usize = 1 << 17;

/// Databases a thread keeps caches for; a reload makes a new database (a new id), and the
/// oldest caches go first.
const MAX_DBS: usize = 8;

/// An IP's cached answer: 0 for an empty entry, [`NO_RECORD`] for "not in the database",
/// else the record's index in [`DbCache::records`] + 1.
const NO_RECORD: u32 = u32::MAX;

/// Distinguishes databases (and reloads of one) in the per-thread caches.
static NEXT_DB_ID: AtomicU64 = AtomicU64::new(1);

/// One set of the IPv4 cache: `ip << 32 | answer` per entry, aligned to a cache line so a
/// probe reads one line.
#[derive(Default, Clone, Copy)]
#[repr(align(64))]
struct V4Set([u64; V4_WAYS]);

/// One cached IPv6 tree walk; `answer == 0` marks an empty entry.
#[derive(Default, Clone, Copy)]
struct V6Entry {
    hi: u64,
    lo: u64,
    answer: u32,
}

/// A thread's caches of one database: the tree walk's answer by IP (sign-ins repeat their
/// users' IPs, and the walk — a chain of dependent reads through a tree of tens of MB — is
/// most of a lookup's cost), and each data-section record decoded once (many IPs and
/// networks share one record), kept densely by index.
struct DbCache {
    id: u64,
    v4: Vec<V4Set>,
    v6: Vec<V6Entry>,
    records: Vec<Record>,
    by_offset: HashMap<usize, u32>,
}

impl DbCache {
    fn new(id: u64) -> DbCache {
        DbCache {
            id,
            v4: Vec::new(),
            v6: Vec::new(),
            records: Vec::new(),
            by_offset: HashMap::new(),
        }
    }

    /// The cached answer for an IPv4 address (see [`NO_RECORD`]).
    #[inline]
    fn v4(&self, ip: u32) -> Option<u32> {
        let set = self.v4.get(v4_index(ip))?;
        set.0.iter().find_map(|e| {
            let answer = *e as u32;
            (answer != 0 && (*e >> 32) as u32 == ip).then_some(answer)
        })
    }

    fn put_v4(&mut self, ip: u32, answer: u32) {
        if self.v4.is_empty() {
            self.v4.resize(V4_SLOTS / V4_WAYS, V4Set::default());
        }
        let set = &mut self.v4[v4_index(ip)].0;
        // The IP's own slot if it is there, else the oldest goes; the rest move down one.
        let at = set
            .iter()
            .position(|e| (*e >> 32) as u32 == ip && *e as u32 != 0)
            .unwrap_or(V4_WAYS - 1);
        set[..=at].rotate_right(1);
        set[0] = u64::from(ip) << 32 | u64::from(answer);
    }

    /// The cached answer for an IPv6 address.
    fn v6(&self, hi: u64, lo: u64) -> Option<u32> {
        let i = v6_index(hi, lo);
        self.v6
            .get(i..i + V6_WAYS)?
            .iter()
            .find_map(|e| (e.answer != 0 && e.hi == hi && e.lo == lo).then_some(e.answer))
    }

    fn put_v6(&mut self, hi: u64, lo: u64, answer: u32) {
        if self.v6.is_empty() {
            self.v6.resize(V6_SLOTS, V6Entry::default());
        }
        let i = v6_index(hi, lo);
        let set = &mut self.v6[i..i + V6_WAYS];
        let at = set
            .iter()
            .position(|e| e.answer != 0 && e.hi == hi && e.lo == lo)
            .unwrap_or(V6_WAYS - 1);
        set[..=at].rotate_right(1);
        set[0] = V6Entry { hi, lo, answer };
    }

    /// Forgets everything (keeping the tables' memory).
    fn clear(&mut self) {
        self.v4.fill(V4Set::default());
        self.v6.fill(V6Entry::default());
        self.records.clear();
        self.by_offset.clear();
    }
}

/// A thread's caches, one per database it looked up in (the latest last).
#[derive(Default)]
struct Caches {
    dbs: Vec<DbCache>,
}

impl Caches {
    fn db(&mut self, id: u64) -> &mut DbCache {
        let i = match self.dbs.iter().position(|d| d.id == id) {
            Some(i) => i,
            None => {
                if self.dbs.len() == MAX_DBS {
                    self.dbs.remove(0);
                }
                self.dbs.push(DbCache::new(id));
                self.dbs.len() - 1
            }
        };
        &mut self.dbs[i]
    }
}

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
        CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => self.lookup_cached(cache.db(self.id), ip, acc),
            // Only re-entered from inside a lookup, which never happens; stay correct anyway.
            Err(_) => self.lookup_uncached(ip, acc),
        })
    }

    /// Fetches what a coming lookup of `ip` reads into the CPU's cache: its IPv4 cache set,
    /// or (`record`) the record that set names. Never blocks or changes the caches.
    pub(crate) fn prefetch(&self, ip: IpAddr, record: bool) {
        let IpAddr::V4(v4) = ip else { return };
        let ip = u32::from(v4);
        CACHE.with(|cache| {
            let Ok(cache) = cache.try_borrow() else {
                return;
            };
            let Some(db) = cache.dbs.iter().find(|d| d.id == self.id) else {
                return;
            };
            if !record {
                if let Some(set) = db.v4.get(v4_index(ip)) {
                    jetlag_event::hint::prefetch(set);
                }
            } else if let Some(answer) = db.v4(ip)
                && answer != NO_RECORD
                && let Some(r) = db.records.get(answer as usize - 1)
            {
                jetlag_event::hint::prefetch(r);
            }
        });
    }

    fn lookup_cached(&self, cache: &mut DbCache, ip: IpAddr, acc: &mut Acc) -> Result<(), String> {
        let cached = match ip {
            IpAddr::V4(v4) => cache.v4(u32::from(v4)),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                cache.v6((bits >> 64) as u64, bits as u64)
            }
        };
        let answer = match cached {
            Some(answer) => answer,
            None => {
                let found = self.reader.lookup(ip).map_err(|e| e.to_string())?;
                let answer = match found.offset() {
                    None => NO_RECORD,
                    Some(offset) => match cache.by_offset.get(&offset) {
                        Some(i) => i + 1,
                        None => {
                            let record = decode(self.kind, &found).map_err(|e| e.to_string())?;
                            if cache.records.len() >= MAX_RECORDS {
                                cache.clear();
                            }
                            let i = cache.records.len() as u32;
                            cache.records.push(record);
                            cache.by_offset.insert(offset, i);
                            i + 1
                        }
                    },
                };
                match ip {
                    IpAddr::V4(v4) => cache.put_v4(u32::from(v4), answer),
                    IpAddr::V6(v6) => {
                        let bits = u128::from(v6);
                        cache.put_v6((bits >> 64) as u64, bits as u64, answer);
                    }
                }
                answer
            }
        };
        if answer != NO_RECORD
            && let Some(record) = cache.records.get(answer as usize - 1)
        {
            acc.merge(record);
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

/// The set of an IPv4 address in the IPv4 cache.
#[inline]
fn v4_index(ip: u32) -> usize {
    // Fibonacci hashing spreads neighbouring addresses over the table.
    (u64::from(ip).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> (64 - (V4_SLOTS / V4_WAYS).trailing_zeros())) as usize
}

/// The first slot of an IPv6 address's set in the IPv6 cache.
fn v6_index(hi: u64, lo: u64) -> usize {
    let h = lo.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ hi;
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - V6_SLOTS.trailing_zeros())) as usize
        & !(V6_WAYS - 1)
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
    fn cache_sets_spread() {
        assert_ne!(v4_index(0x0a00_0001), v4_index(0x0a00_0002));
        assert!(v4_index(u32::MAX) < V4_SLOTS / V4_WAYS);
        assert_ne!(v6_index(0, 1), v6_index(0, 2));
        assert!(v6_index(u64::MAX, u64::MAX) + V6_WAYS <= V6_SLOTS);
        assert_eq!(std::mem::size_of::<V4Set>(), 64, "one cache line a set");
    }

    /// The IP caches tell IPs and address families apart, keep the latest of a set, and
    /// keep "no record" as an answer.
    #[test]
    fn ip_cache_keys() {
        let mut c = DbCache::new(1);
        assert_eq!(c.v4(7), None);
        c.put_v4(7, 100);
        assert_eq!(c.v4(7), Some(100));
        assert_eq!(c.v6(0, 7), None, "IPv6 ::7 is not IPv4 0.0.0.7");
        c.put_v6(0, 7, 5);
        assert_eq!((c.v4(7), c.v6(0, 7)), (Some(100), Some(5)));
        assert_eq!(c.v6(1, 7), None);
        c.put_v4(8, NO_RECORD);
        assert_eq!(c.v4(8), Some(NO_RECORD), "no record is an answer too");
        c.put_v4(0, 3);
        assert_eq!(c.v4(0), Some(3), "0.0.0.0 is an address like any other");
        // V4_WAYS + 1 IPs in one set: the oldest goes, the others stay.
        let i = v4_index(7);
        let same: Vec<u32> = (9..)
            .filter(|ip| v4_index(*ip) == i)
            .take(V4_WAYS)
            .collect();
        for (n, ip) in same.iter().enumerate() {
            assert_eq!(c.v4(7), Some(100), "7 stays while the set has room");
            c.put_v4(*ip, 200 + n as u32);
        }
        assert_eq!(c.v4(7), None, "the oldest went");
        for (n, ip) in same.iter().enumerate() {
            assert_eq!(c.v4(*ip), Some(200 + n as u32));
        }
        // Putting an IP already there updates it in place, evicting nobody.
        c.put_v4(same[0], 300);
        for (n, ip) in same.iter().enumerate() {
            assert_eq!(c.v4(*ip), Some(if n == 0 { 300 } else { 200 + n as u32 }));
        }
        // The same for IPv6.
        let i = v6_index(0, 7);
        let same: Vec<u64> = (9..)
            .filter(|lo| v6_index(0, *lo) == i)
            .take(V6_WAYS)
            .collect();
        for (n, lo) in same.iter().enumerate() {
            assert_eq!(c.v6(0, 7), Some(5));
            c.put_v6(0, *lo, 200 + n as u32);
        }
        assert_eq!(c.v6(0, 7), None, "the oldest went");
        c.clear();
        assert_eq!(
            (c.v4(same[0] as u32), c.v4(8), c.v6(0, same[1])),
            (None, None, None)
        );
    }

    /// Caches are per database: a database's answers never leak into another's, and a
    /// thread keeps at most [`MAX_DBS`] databases' caches.
    #[test]
    fn caches_per_database() {
        let mut c = Caches::default();
        c.db(1).put_v4(7, 1);
        assert_eq!(c.db(2).v4(7), None);
        assert_eq!(c.db(1).v4(7), Some(1));
        for id in 3..3 + MAX_DBS as u64 {
            c.db(id);
        }
        assert_eq!(c.dbs.len(), MAX_DBS);
        assert_eq!(c.db(1).v4(7), None, "the oldest database's caches went");
    }
}
