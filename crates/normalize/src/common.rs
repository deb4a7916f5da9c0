//! Helpers every vendor module shares: times, users, IPs, locations, ids, lenient numbers.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;

use compact_str::CompactString;
use jetlag_event::{Country, Geo, GeoSource, NetClasses, Outcome, SignIn, Source, Timestamp};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

pub(crate) use crate::number::Num;
use crate::{Error, Warning};

/// Earliest accepted event time (1990-01-01T00:00:00Z).
const MIN_SECOND: i64 = 631_152_000;
/// First rejected event time (2100-01-01T00:00:00Z).
const MAX_SECOND: i64 = 4_102_444_800;

fn shorten(s: &str) -> String {
    s.chars().take(64).collect()
}

fn check_range(ts: Timestamp, field: &'static str, value: &str) -> Result<Timestamp, Error> {
    if (MIN_SECOND..MAX_SECOND).contains(&ts.as_second()) {
        Ok(ts)
    } else {
        Err(Error::TimeOutOfRange {
            field,
            value: shorten(value),
        })
    }
}

/// Parses a time as vendors write it: RFC 3339 with any offset; a date-time without an
/// offset (Log Analytics exports, Panther) is UTC; a space may replace the `T`; a bare run
/// of digits is Unix seconds (≤ 11 digits) or milliseconds.
pub(crate) fn time(value: &str, field: &'static str) -> Result<Timestamp, Error> {
    let s = value.trim();
    let bad = || Error::BadTime {
        field,
        value: shorten(value),
    };
    if s.is_empty() {
        return Err(Error::Missing(field));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().map_err(|_| bad())?;
        return epoch(n, s.len() > 11, field);
    }
    if let Some(ts) = crate::time::rfc3339(s) {
        return check_range(ts, field, value);
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return check_range(ts, field, value);
    }
    let Ok(dt) = s.parse::<jiff::civil::DateTime>() else {
        // jiff stops at 9999-12-30: a year-9999 placeholder is implausible, not garbled.
        let year = s.get(..4).and_then(|y| y.parse::<i32>().ok());
        if year.is_some_and(|y| !(1990..2100).contains(&y)) && s.as_bytes().get(4) == Some(&b'-') {
            return Err(Error::TimeOutOfRange {
                field,
                value: shorten(value),
            });
        }
        return Err(bad());
    };
    let ts = jiff::tz::Offset::UTC.to_timestamp(dt).map_err(|_| bad())?;
    check_range(ts, field, value)
}

/// A Unix time in seconds or milliseconds.
pub(crate) fn epoch(n: i64, millis: bool, field: &'static str) -> Result<Timestamp, Error> {
    let out = || Error::TimeOutOfRange {
        field,
        value: n.to_string(),
    };
    let ts = if millis {
        Timestamp::from_millisecond(n)
    } else {
        Timestamp::from_second(n)
    }
    .map_err(|_| out())?;
    if (MIN_SECOND..MAX_SECOND).contains(&ts.as_second()) {
        Ok(ts)
    } else {
        Err(out())
    }
}

/// The required time field: present and plausible.
pub(crate) fn required_time(value: Option<&str>, field: &'static str) -> Result<Timestamp, Error> {
    time(value.ok_or(Error::Missing(field))?, field)
}

/// `s.trim()`, at once when both ends are ASCII and not whitespace, as nearly every value
/// is (Unicode's white space in ASCII is at most 0x20): `str::trim` decodes a character at
/// each end to ask Unicode, a few times per record.
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    let plain = |b: &u8| (0x21..0x80).contains(b);
    let b = s.as_bytes();
    if b.first().is_some_and(plain) && b.last().is_some_and(plain) {
        return s;
    }
    s.trim()
}

/// The trimmed user name (lower-cased when written out by [`Draft::write`]); `Missing`
/// when empty.
pub(crate) fn user<'a>(value: Option<&'a str>, field: &'static str) -> Result<&'a str, Error> {
    let v = value.map(trim).unwrap_or_default();
    if v.is_empty() {
        return Err(Error::Missing(field));
    }
    Ok(v)
}

/// A non-empty string, trimmed.
pub(crate) fn text(value: Option<&str>) -> Option<&str> {
    let v = trim(value?);
    (!v.is_empty()).then_some(v)
}

/// A non-empty string, kept as written (not trimmed).
pub(crate) fn nonempty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !trim(v).is_empty())
}

/// Text of the event that is either borrowed from the record or made by the parser (a
/// hash id, an ARN built from its parts).
pub(crate) enum Text<'a> {
    /// Borrowed from the record.
    Str(&'a str),
    /// Made by the parser (short: inline, no heap).
    Made(CompactString),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Text::Str(s) => s,
            Text::Made(s) => s,
        }
    }
}

/// A sign-in as a vendor parser finds it, borrowing its text from the decoded record:
/// [`write`](Draft::write) then overwrites *every* field of a caller's [`SignIn`], reusing
/// its strings' heap buffers, so a parser can never leave a previous record's value behind
/// and a stream of records allocates nothing once the buffers are long enough.
pub(crate) struct Draft<'a> {
    pub event_id: Text<'a>,
    pub time: Timestamp,
    pub source: Source,
    /// Trimmed, not yet lower-cased.
    pub user: Text<'a>,
    pub tenant: Option<&'a str>,
    pub outcome: Outcome,
    pub ip: Option<IpAddr>,
    pub app: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub mfa: Option<bool>,
    pub geo: Option<Geo>,
    pub asn: Option<u32>,
    pub as_org: Option<&'a str>,
    pub network: NetClasses,
}

impl<'a> Draft<'a> {
    /// A draft with everything optional unknown (as [`SignIn::new`]).
    pub(crate) fn new(
        event_id: Text<'a>,
        time: Timestamp,
        source: Source,
        user: Text<'a>,
        outcome: Outcome,
    ) -> Draft<'a> {
        Draft {
            event_id,
            time,
            source,
            user,
            tenant: None,
            outcome,
            ip: None,
            app: None,
            user_agent: None,
            device_id: None,
            session_id: None,
            mfa: None,
            geo: None,
            asn: None,
            as_org: None,
            network: NetClasses::EMPTY,
        }
    }

    /// Overwrites every field of `out` with this sign-in (the user lower-cased).
    pub(crate) fn write(self, out: &mut SignIn) {
        put(&mut out.event_id, self.event_id.as_str());
        out.time = self.time;
        out.source = self.source;
        let user = self.user.as_str();
        if user.is_ascii() {
            put(&mut out.user, user);
            out.user.make_ascii_lowercase();
        } else {
            put(&mut out.user, &user.to_lowercase());
        }
        put_opt(&mut out.tenant, self.tenant);
        out.outcome = self.outcome;
        out.ip = self.ip;
        put_opt(&mut out.app, self.app);
        put_opt(&mut out.user_agent, self.user_agent);
        put_opt(&mut out.device_id, self.device_id);
        put_opt(&mut out.session_id, self.session_id);
        out.mfa = self.mfa;
        out.geo = self.geo;
        out.asn = self.asn;
        put_opt(&mut out.as_org, self.as_org);
        out.network = self.network;
    }
}

/// Overwrites `dst` with `src`, keeping its heap buffer when it has one.
fn put(dst: &mut CompactString, src: &str) {
    dst.clear();
    dst.push_str(src);
}

/// Overwrites `dst` with `src`, keeping a heap buffer while the field stays present.
fn put_opt(dst: &mut Option<CompactString>, src: Option<&str>) {
    match (dst.as_mut(), src) {
        (Some(d), Some(s)) => put(d, s),
        (None, Some(s)) => *dst = Some(CompactString::from(s)),
        (_, None) => *dst = None,
    }
}

/// A vendor's by-value `parse`: its `parse_into` on a fresh event.
pub(crate) fn by_value(
    parse_into: impl FnOnce(&mut SignIn) -> Result<crate::Filled, Error>,
) -> Result<crate::Parsed, Error> {
    let mut event = blank();
    parse_into(&mut event).map(|f| f.into_parsed(event))
}

/// A blank event for [`Draft::write`] to fill.
pub(crate) fn blank() -> SignIn {
    SignIn::new("", Timestamp::UNIX_EPOCH, Source::Csv, "", Outcome::Unknown)
}

/// An IP address; an unparseable one is dropped with a warning. Accepts the bracketed and
/// port-suffixed forms some logs write (`[2001:db8::1]:443`, `192.0.2.1:52311`). An
/// IPv4-mapped IPv6 address (`::ffff:192.0.2.50`, as some identity providers and proxies
/// log IPv4) is its IPv4 address ([`IpAddr::to_canonical`]), so the IP-keyed detectors see
/// one egress IP, not two.
pub(crate) fn ip(
    value: Option<&str>,
    field: &'static str,
    warnings: &mut Vec<Warning>,
) -> Option<IpAddr> {
    let v = trim(value?);
    if v.is_empty() {
        return None;
    }
    if let Some(ip) = ipv4(v) {
        return Some(IpAddr::V4(ip));
    }
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let stripped = v
        .strip_prefix('[')
        .and_then(|r| r.split_once(']').map(|(ip, _)| ip))
        .or_else(|| {
            v.rsplit_once(':')
                .filter(|(h, _)| !h.contains(':'))
                .map(|(h, _)| h)
        });
    if let Some(ip) = stripped.and_then(|s| s.parse::<IpAddr>().ok()) {
        return Some(ip.to_canonical());
    }
    warnings.push(Warning::new(
        field,
        format!("unparseable IP {:?} dropped", shorten(v)),
    ));
    None
}

/// A dotted-quad IPv4 address exactly as the standard library accepts it (one to three
/// digits per part, no leading zero, at most 255), read in one pass; `None` for anything
/// else, which the standard parser then decides.
fn ipv4(v: &str) -> Option<std::net::Ipv4Addr> {
    let b = v.as_bytes();
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let (mut octets, mut i) = ([0u8; 4], 0);
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            value = value * 10 + u32::from(d);
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 3 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *octet = u8::try_from(value).ok()?;
    }
    (i == b.len()).then(|| std::net::Ipv4Addr::from(octets))
}

/// Raw location parts as a record carries them.
#[derive(Default)]
pub(crate) struct Place<'a> {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub radius_km: Option<f64>,
    pub city: Option<&'a str>,
    pub region: Option<&'a str>,
    /// An ISO code or a country name.
    pub country: Option<&'a str>,
}

/// Builds the event's `geo` from what the record carries (`None` when it carries nothing).
///
/// Out-of-range coordinates drop the whole location with a warning (the contract: "the
/// event is kept, without geo"), since a place whose coordinates are wrong is not to be
/// trusted for its names either; enrichment may then locate the IP. Half-given
/// coordinates are dropped with a warning, the rest kept; so is a country that is neither
/// a code nor a known name. Exactly (0, 0), "Null Island" in the Gulf of Guinea, is what
/// several vendors write for "unknown": those coordinates are dropped with a warning and
/// the rest kept, so a country or city still stands and enrichment places it (DESIGN.md,
/// "Why are coordinates of exactly (0, 0) dropped?").
///
/// The result may lack coordinates (a country, region or city alone): enrichment
/// (`jetlag_enrich::Enricher::enrich`, which every command runs) gives such a location a
/// point, the IP's GeoIP one or the country's centroid, or drops it, so no emitted event
/// has a `geo` without `lat` and `lon`.
pub(crate) fn geo(
    place: Place<'_>,
    field: &'static str,
    warnings: &mut Vec<Warning>,
) -> Option<Geo> {
    let (mut lat, mut lon) = (place.lat, place.lon);
    match (lat, lon) {
        (Some(la), Some(lo)) => {
            let ok = la.is_finite()
                && lo.is_finite()
                && (-90.0..=90.0).contains(&la)
                && (-180.0..=180.0).contains(&lo);
            if !ok {
                warnings.push(Warning::new(
                    field,
                    format!("out-of-range coordinates ({la}, {lo}): location dropped"),
                ));
                return None;
            }
            if la == 0.0 && lo == 0.0 {
                warnings.push(Warning::new(
                    field,
                    "placeholder coordinates (0, 0) dropped".into(),
                ));
                (lat, lon) = (None, None);
            }
        }
        (None, None) => {}
        _ => {
            warnings.push(Warning::new(
                field,
                "latitude without longitude (or the reverse) dropped".into(),
            ));
            (lat, lon) = (None, None);
        }
    }
    let country = place
        .country
        .map(trim)
        .filter(|c| !c.is_empty())
        .and_then(|c| {
            let found = country(c);
            if found.is_none() {
                warnings.push(Warning::new(
                    field,
                    format!("unknown country {:?} dropped", shorten(c)),
                ));
            }
            found
        });
    let radius_km = place.radius_km.filter(|r| r.is_finite() && *r >= 0.0);
    let city = text(place.city).map(CompactString::from);
    let region = text(place.region).map(CompactString::from);
    if lat.is_none() && country.is_none() && city.is_none() && region.is_none() {
        return None;
    }
    Some(Geo {
        lat,
        lon,
        radius_km: if lat.is_some() { radius_km } else { None },
        city,
        region,
        country,
        source: GeoSource::Log,
    })
}

/// [`Country::from_name`], remembered per thread for the last few hundred names: vendors
/// write the same few country names over and over, and the lookup builds a key string.
fn country(name: &str) -> Option<Country> {
    use std::cell::RefCell;
    const SLOTS: usize = 256;
    thread_local! {
        static NAMES: RefCell<Vec<(CompactString, Option<Country>)>> = const { RefCell::new(Vec::new()) };
    }
    // FNV-1a of the name picks the slot.
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let slot = (h % SLOTS as u64) as usize;
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if names.is_empty() {
            names.resize(SLOTS, (CompactString::default(), None));
        }
        let (key, value) = &mut names[slot];
        if key != name || key.is_empty() {
            *key = CompactString::from(name);
            *value = Country::from_name(name);
        }
        *value
    })
}

/// A stable id for a record without a vendor id: 64-bit FNV-1a of its parts, in hex.
pub(crate) fn hash_id<'p>(parts: impl IntoIterator<Item = &'p [u8]>) -> CompactString {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator so that ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    compact_str::format_compact!("{h:016x}")
}

/// The vendor id (trimmed), or a hash of the whole record.
pub(crate) fn id_or_hash<'a>(id: Option<&'a str>, record: &[u8]) -> Text<'a> {
    match text(id) {
        Some(id) => Text::Str(id),
        None => Text::Made(hash_id([record])),
    }
}

/// A boolean that vendors write as `true`, `"true"`, `"Yes"`, `1`...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub Option<bool>);

impl<'de> serde::Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or a string holding one")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Flag, E> {
                Ok(Flag(Some(v != 0)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Flag, E> {
                Ok(Flag(Some(v != 0)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                Ok(Flag(parse_bool(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Flag, E> {
                Ok(Flag(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `v` with ASCII letters lower-cased, in `buf`; `None` when longer than `buf` (callers
/// compare with words shorter than that, so a longer `v` matches none of them).
pub(crate) fn ascii_lower<'b, const N: usize>(v: &str, buf: &'b mut [u8; N]) -> Option<&'b str> {
    let out = buf.get_mut(..v.len())?;
    out.copy_from_slice(v.as_bytes());
    out.make_ascii_lowercase();
    // Lower-casing ASCII bytes keeps UTF-8 valid.
    std::str::from_utf8(out).ok()
}

/// `true/yes/1/y` and `false/no/0/n`, any case.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match ascii_lower(trim(v), &mut [0; 16]).unwrap_or_default() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Deserializes a `T` written either as a JSON object or as a string holding JSON (Log
/// Analytics exports `LocationDetails` and `DeviceDetail` both ways). Null, an empty
/// object or a string that is not a JSON object is `None`.
///
/// An object's strings are borrowed from the record when they can be; a string holding
/// JSON is read through an `io::Read`, which never lends its text, so `T`'s borrowed
/// strings (`Cow`) come out owned there.
pub(crate) fn embedded<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or a string holding a JSON object")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let v = v.trim();
            // Not JSON at all (the Event Hub envelope's `"location": "US"`): nothing here.
            if !v.starts_with('{') || v == "{}" {
                return Ok(None);
            }
            let mut de = serde_json::Deserializer::from_reader(v.as_bytes());
            let t = T::deserialize(&mut de).map_err(E::custom)?;
            de.end().map_err(E::custom)?;
            Ok(Some(t))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(V(PhantomData))
}

/// How deep arrays and objects may nest in a record that is handed to sonic-rs (the
/// default limit of serde_json too). Sign-in records nest a handful of levels.
pub(crate) const MAX_NESTING: usize = 128;

// What `decode_walked` relies on.
const _: () = assert!(crate::lex::MAX_DEPTH as usize <= MAX_NESTING);

/// Is `json` nested deeper than [`MAX_NESTING`]?
///
/// sonic-rs skips the values a struct does not name by recursion, one stack frame per
/// level and with no limit of its own, so 100,000 `[` in an ignored field overflowed the
/// stack and aborted the process. A value cannot nest deeper than it has `[` and `{`, and
/// nearly every record has fewer than the limit, which one `memchr2` pass shows; only a
/// record with more is walked byte by byte, strings skipped, as the parser would walk it
/// (on the part that is valid JSON, which is all the parser reads, the depth is exact).
pub(crate) fn too_deep(json: &[u8]) -> bool {
    if memchr::memchr2_iter(b'[', b'{', json)
        .nth(MAX_NESTING)
        .is_none()
    {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Decodes one JSON record into a borrowed vendor struct: the single place the JSON
/// library is chosen (sonic-rs: 25–30 % more records per CPU-second than serde_json on the
/// vendor benches; see DESIGN.md).
///
/// A record nested deeper than [`MAX_NESTING`] is [`Error::TooDeep`], found before
/// sonic-rs sees it ([`too_deep`]). This is the slow path (a vendor's fast path declined
/// the record), so the check costs nothing on the records the fast paths read.
pub(crate) fn decode<'a, T: serde::Deserialize<'a>>(record: &'a [u8]) -> Result<T, Error> {
    if too_deep(record) {
        return Err(Error::TooDeep(MAX_NESTING));
    }
    decode_walked(record)
}

/// [`decode`] without the depth check, for a value a [`crate::lex::Cursor`] has just
/// walked: the cursor declines anything nested deeper than [`crate::lex::MAX_DEPTH`],
/// which is below [`MAX_NESTING`].
pub(crate) fn decode_walked<'a, T: serde::Deserialize<'a>>(value: &'a [u8]) -> Result<T, Error> {
    sonic_rs::from_slice(value).map_err(|e| Error::from_json(e, value))
}

/// A string borrowed from the record when the JSON has no escapes, owned otherwise.
///
/// Not `Cow<str>` itself: serde borrows a `Cow` only when it is a struct's field as such;
/// inside an `Option`, as a map key or anywhere else its `Deserialize` copies the text
/// (serde-rs/serde#1497) — an allocation per string per record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl<'a> Str<'a> {
    /// A string borrowed from the record (what the fast paths read where it lies).
    pub(crate) fn borrowed(s: &'a str) -> Str<'a> {
        Str(Cow::Borrowed(s))
    }
}

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Str<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Str<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            // The words of serde's own `String` / `Cow<str>`, so errors read the same.
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Str<'de>, E> {
                match std::str::from_utf8(v) {
                    Ok(s) => Ok(Str(Cow::Owned(s.to_owned()))),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(v), &self)),
                }
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Str<'de>, E> {
                match std::str::from_utf8(v) {
                    Ok(s) => Ok(Str(Cow::Borrowed(s))),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(v), &self)),
                }
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Str<'de>, E> {
                match String::from_utf8(v) {
                    Ok(s) => Ok(Str(Cow::Owned(s))),
                    Err(e) => Err(E::invalid_value(
                        de::Unexpected::Bytes(&e.into_bytes()),
                        &self,
                    )),
                }
            }
        }
        d.deserialize_str(V)
    }
}

/// `Option<Cow<str>>` as `Option<&str>`.
pub(crate) fn s<'b>(v: &'b Option<Str<'_>>) -> Option<&'b str> {
    v.as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_deep_counts_nesting_not_brackets_in_strings() {
        let n = MAX_NESTING;
        let open = |k: usize| "[".repeat(k);
        let close = |k: usize| "]".repeat(k);
        let cases: Vec<(String, bool)> = vec![
            (format!("{}{}", open(n), close(n)), false),
            (format!("{}{}", open(n + 1), close(n + 1)), true),
            // Truncated: what the parser would read is already too deep.
            (open(n + 1), true),
            // Many brackets side by side, never deep.
            (format!("[{}]", "[],{},".repeat(n) + "0"), false),
            // Brackets inside strings, with escaped quotes and backslashes before them.
            (format!(r#"{{"a":"{}"}}"#, open(n + 1)), false),
            (format!(r#"{{"a":"\"{}\\","b":1}}"#, open(n + 1)), false),
            (format!(r#"{{"a":"\\"}}{}"#, open(n + 1)), true),
            (format!("{{\"k\":{}{}}}", open(n), close(n)), true),
            // Stray closers do not hide the depth that follows.
            (format!("{}{}", close(5), open(n + 1)), true),
        ];
        for (json, deep) in cases {
            assert_eq!(too_deep(json.as_bytes()), deep, "{json}");
        }
    }

    #[test]
    fn trim_is_str_trim() {
        // Every string of up to three characters from ASCII edges, ASCII and Unicode white
        // space (NEL, NBSP, ideographic space, line separator) and other non-ASCII text.
        let chars = [
            'a',
            '~',
            '!',
            ' ',
            '\t',
            '\n',
            '\u{b}',
            '\u{c}',
            '\r',
            '\u{7f}',
            '\u{85}',
            '\u{a0}',
            '\u{3000}',
            '\u{2028}',
            'é',
            '日',
            '\u{1f600}',
        ];
        let mut n = 0;
        for a in chars {
            for b in chars {
                for c in chars {
                    for s in [
                        String::new(),
                        a.to_string(),
                        format!("{a}{b}"),
                        format!("{a}{b}{c}"),
                        format!("{a}user@example.com{c}"),
                    ] {
                        assert_eq!(trim(&s), s.trim(), "{s:?}");
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 20_000);
    }

    #[test]
    fn times_in_every_vendor_spelling() {
        let t = |s| time(s, "t").map(|t| t.to_string());
        assert_eq!(
            t("2020-05-20T18:19:04.423Z").unwrap(),
            "2020-05-20T18:19:04.423Z"
        );
        assert_eq!(
            t("2020-05-20T18:19:04.423").unwrap(),
            "2020-05-20T18:19:04.423Z"
        );
        assert_eq!(
            t("2022-06-22 18:18:29.015").unwrap(),
            "2022-06-22T18:18:29.015Z"
        );
        assert_eq!(
            t("2024-01-01T10:00:00+02:00").unwrap(),
            "2024-01-01T08:00:00Z"
        );
        assert_eq!(
            t("2025-01-15T14:20:35.4567890Z").unwrap(),
            "2025-01-15T14:20:35.456789Z"
        );
        assert_eq!(t("1700000000").unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(t("1700000000123").unwrap(), "2023-11-14T22:13:20.123Z");
        assert!(matches!(
            time("9999-12-31T23:59:59Z", "t"),
            Err(Error::TimeOutOfRange { .. })
        ));
        assert!(matches!(time("0", "t"), Err(Error::TimeOutOfRange { .. })));
        assert!(matches!(time("yesterday", "t"), Err(Error::BadTime { .. })));
        assert!(matches!(time(" ", "t"), Err(Error::Missing("t"))));
    }

    #[test]
    fn geo_drops_bad_parts_and_keeps_the_rest() {
        let mut w = Vec::new();
        // Out-of-range coordinates: the whole location goes, country and all.
        let out_of_range = Place {
            lat: Some(95.0),
            lon: Some(10.0),
            city: Some("Berlin"),
            country: Some("Germany"),
            ..Place::default()
        };
        assert!(geo(out_of_range, "loc", &mut w).is_none());
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].to_string(),
            "loc: out-of-range coordinates (95, 10): location dropped"
        );
        // Half-given coordinates: they go, the country stays.
        let g = geo(
            Place {
                lat: Some(45.0),
                country: Some("Germany"),
                ..Place::default()
            },
            "loc",
            &mut w,
        )
        .unwrap();
        assert_eq!((g.lat, g.lon), (None, None));
        assert_eq!(g.country.unwrap().as_str(), "DE");
        w.clear();
        assert!(geo(Place::default(), "loc", &mut w).is_none());
        assert!(
            geo(
                Place {
                    country: Some("Narnia"),
                    ..Place::default()
                },
                "loc",
                &mut w
            )
            .is_none()
        );
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn ips_with_ports_and_brackets() {
        let mut w = Vec::new();
        assert_eq!(
            ip(Some("192.0.2.1:5000"), "ip", &mut w),
            "192.0.2.1".parse().ok()
        );
        assert_eq!(
            ip(Some("[2001:db8::1]:443"), "ip", &mut w),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(
            ip(Some("2001:db8::1"), "ip", &mut w),
            "2001:db8::1".parse().ok()
        );
        assert!(w.is_empty());
        assert_eq!(ip(Some("999.1.1.1"), "ip", &mut w), None);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn ipv4_fast_path_agrees_with_the_standard_parser() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut below = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut fast = 0;
        for _ in 0..200_000 {
            let mut s = String::new();
            for part in 0..(3 + below(3)) {
                if part > 0 {
                    s.push(if below(30) == 0 { ':' } else { '.' });
                }
                match below(6) {
                    0 => s.push_str(&format!("{:03}", below(300))),
                    1 => s.push_str(&format!("{}", below(1000))),
                    2 if below(4) == 0 => {}
                    _ => s.push_str(&format!("{}", below(256))),
                }
            }
            if below(20) == 0 {
                s.push(['x', ' ', '0', '.'][below(4) as usize]);
            }
            let std = s.parse::<IpAddr>().ok();
            if let Some(ip) = ipv4(&s) {
                fast += 1;
                assert_eq!(Some(IpAddr::V4(ip)), std, "{s:?}");
            } else {
                assert!(!matches!(std, Some(IpAddr::V4(_))), "{s:?} missed");
            }
        }
        assert!(fast > 10_000, "{fast}");
    }

    #[test]
    fn hash_ids_are_stable() {
        assert_eq!(hash_id([&b"abc"[..]]), hash_id([&b"abc"[..]]));
        assert_ne!(hash_id([&b"ab"[..], b"c"]), hash_id([&b"a"[..], b"bc"]));
        assert_eq!(hash_id([&b""[..]]).len(), 16);
    }
}
