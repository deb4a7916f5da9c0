//! The simulated world: cities, the networks in them and the IP plan.
//!
//! Every IP the simulator writes comes from a block allocated here, and every block is written
//! to the GeoIP and ASN CSV range databases and (when it has a class) to an `intel/` list, so
//! the output scans with no external database.
//!
//! The IPv4 plan lives in 240.0.0.0/4 (reserved by RFC 1112 §4, never seen in a real log, so
//! simulated addresses can never collide with a real GeoIP database a user also passes) and
//! the IPv6 plan in the documentation prefix 2001:db8::/32 (RFC 3849). Block `K.c.0.0/16` is
//! network kind `K` in city `c`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A city of the simulated world.
#[derive(Debug, Clone, Copy)]
pub struct City {
    /// City name (ASCII).
    pub name: &'static str,
    /// Region / state / province.
    pub region: &'static str,
    /// ISO 3166-1 alpha-2 country code.
    pub country: &'static str,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// IANA time zone.
    pub tz: &'static str,
    /// Has a company office (and a corporate egress block).
    pub office: bool,
    /// Share of employees who live here (0 for attacker-only cities).
    pub weight: u32,
}

#[allow(clippy::too_many_arguments)] // a table row constructor
const fn city(
    name: &'static str,
    region: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
    tz: &'static str,
    office: bool,
    weight: u32,
) -> City {
    City {
        name,
        region,
        country,
        lat,
        lon,
        tz,
        office,
        weight,
    }
}

/// Every city, indexed by position (the `c` of the IP plan).
pub const CITIES: &[City] = &[
    city(
        "New York",
        "New York",
        "US",
        40.7128,
        -74.0060,
        "America/New_York",
        true,
        140,
    ),
    city(
        "San Francisco",
        "California",
        "US",
        37.7749,
        -122.4194,
        "America/Los_Angeles",
        true,
        90,
    ),
    city(
        "Austin",
        "Texas",
        "US",
        30.2672,
        -97.7431,
        "America/Chicago",
        true,
        70,
    ),
    city(
        "Chicago",
        "Illinois",
        "US",
        41.8781,
        -87.6298,
        "America/Chicago",
        false,
        50,
    ),
    city(
        "Dallas",
        "Texas",
        "US",
        32.7767,
        -96.7970,
        "America/Chicago",
        false,
        40,
    ),
    city(
        "Seattle",
        "Washington",
        "US",
        47.6062,
        -122.3321,
        "America/Los_Angeles",
        false,
        45,
    ),
    city(
        "Boston",
        "Massachusetts",
        "US",
        42.3601,
        -71.0589,
        "America/New_York",
        false,
        40,
    ),
    city(
        "Atlanta",
        "Georgia",
        "US",
        33.7490,
        -84.3880,
        "America/New_York",
        false,
        35,
    ),
    city(
        "Denver",
        "Colorado",
        "US",
        39.7392,
        -104.9903,
        "America/Denver",
        false,
        30,
    ),
    city(
        "Los Angeles",
        "California",
        "US",
        34.0522,
        -118.2437,
        "America/Los_Angeles",
        false,
        40,
    ),
    city(
        "Toronto",
        "Ontario",
        "CA",
        43.6532,
        -79.3832,
        "America/Toronto",
        false,
        25,
    ),
    city(
        "London",
        "England",
        "GB",
        51.5074,
        -0.1278,
        "Europe/London",
        true,
        80,
    ),
    city(
        "Manchester",
        "England",
        "GB",
        53.4808,
        -2.2426,
        "Europe/London",
        false,
        15,
    ),
    city(
        "Dublin",
        "Leinster",
        "IE",
        53.3498,
        -6.2603,
        "Europe/Dublin",
        false,
        20,
    ),
    city(
        "Frankfurt",
        "Hesse",
        "DE",
        50.1109,
        8.6821,
        "Europe/Berlin",
        true,
        35,
    ),
    city(
        "Berlin",
        "Berlin",
        "DE",
        52.5200,
        13.4050,
        "Europe/Berlin",
        false,
        20,
    ),
    city(
        "Paris",
        "Ile-de-France",
        "FR",
        48.8566,
        2.3522,
        "Europe/Paris",
        false,
        20,
    ),
    city(
        "Amsterdam",
        "North Holland",
        "NL",
        52.3676,
        4.9041,
        "Europe/Amsterdam",
        false,
        15,
    ),
    city(
        "Bengaluru",
        "Karnataka",
        "IN",
        12.9716,
        77.5946,
        "Asia/Kolkata",
        true,
        60,
    ),
    city(
        "Singapore",
        "Singapore",
        "SG",
        1.3521,
        103.8198,
        "Asia/Singapore",
        true,
        25,
    ),
    city(
        "Tokyo",
        "Tokyo",
        "JP",
        35.6762,
        139.6503,
        "Asia/Tokyo",
        false,
        15,
    ),
    city(
        "Sydney",
        "New South Wales",
        "AU",
        -33.8688,
        151.2093,
        "Australia/Sydney",
        false,
        15,
    ),
    city(
        "Sao Paulo",
        "Sao Paulo",
        "BR",
        -23.5505,
        -46.6333,
        "America/Sao_Paulo",
        false,
        0,
    ),
    city(
        "Moscow",
        "Moscow",
        "RU",
        55.7558,
        37.6173,
        "Europe/Moscow",
        false,
        0,
    ),
    city(
        "Lagos",
        "Lagos",
        "NG",
        6.5244,
        3.3792,
        "Africa/Lagos",
        false,
        0,
    ),
    city(
        "Bucharest",
        "Bucharest",
        "RO",
        44.4268,
        26.1025,
        "Europe/Bucharest",
        false,
        0,
    ),
    city(
        "Hanoi",
        "Hanoi",
        "VN",
        21.0278,
        105.8342,
        "Asia/Bangkok",
        false,
        0,
    ),
    city(
        "Shenyang",
        "Liaoning",
        "CN",
        41.8057,
        123.4315,
        "Asia/Shanghai",
        false,
        0,
    ),
    city(
        "Dandong",
        "Liaoning",
        "CN",
        40.1245,
        124.3943,
        "Asia/Shanghai",
        false,
        0,
    ),
    city(
        "Lahore",
        "Punjab",
        "PK",
        31.5204,
        74.3587,
        "Asia/Karachi",
        false,
        0,
    ),
    city(
        "Stockholm",
        "Stockholm",
        "SE",
        59.3293,
        18.0686,
        "Europe/Stockholm",
        false,
        0,
    ),
    city(
        "Zurich",
        "Zurich",
        "CH",
        47.3769,
        8.5417,
        "Europe/Zurich",
        false,
        0,
    ),
];

/// Looks a city up by name (panics only on a typo in this crate's own tables).
pub fn city_index(name: &str) -> u8 {
    CITIES
        .iter()
        .position(|c| c.name == name)
        .map(|i| i as u8)
        .unwrap_or_else(|| unreachable!("no simulated city named {name}"))
}

/// The kind of network a block belongs to; its discriminant is the block's first octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum NetKind {
    /// Home broadband.
    Residential = 241,
    /// Mobile carrier (CGNAT: addresses shared by many subscribers).
    Mobile = 242,
    /// Hotel / conference / café Wi-Fi.
    PublicWifi = 243,
    /// iCloud Private Relay egress, geolocated to the user's region.
    Relay = 244,
    /// Consumer VPN exit.
    Vpn = 245,
    /// Cloud / hosting provider.
    Hosting = 246,
    /// Company office and corporate-VPN egress (a /24 per office city).
    Corporate = 247,
    /// Tor exit relays.
    Tor = 248,
}

impl NetKind {
    /// Every kind, in IP-plan order.
    pub const ALL: [NetKind; 8] = [
        NetKind::Residential,
        NetKind::Mobile,
        NetKind::PublicWifi,
        NetKind::Relay,
        NetKind::Vpn,
        NetKind::Hosting,
        NetKind::Corporate,
        NetKind::Tor,
    ];

    /// The `--intel` class this kind is listed under, if any.
    pub const fn intel_class(self) -> Option<&'static str> {
        match self {
            NetKind::Mobile => Some("mobile"),
            NetKind::Relay => Some("relay"),
            NetKind::Vpn => Some("vpn"),
            NetKind::Hosting => Some("hosting"),
            NetKind::Corporate => Some("corporate"),
            NetKind::Tor => Some("tor"),
            NetKind::Residential | NetKind::PublicWifi => None,
        }
    }

    /// Prefix length of one city's block of this kind.
    const fn prefix(self) -> u8 {
        match self {
            NetKind::Corporate | NetKind::Tor => 24,
            _ => 16,
        }
    }

    /// Which cities carry a block of this kind.
    fn present_in(self, c: &City) -> bool {
        match self {
            NetKind::Corporate => c.office,
            NetKind::Tor => matches!(c.country, "DE" | "NL" | "SE" | "CH" | "FR" | "US"),
            NetKind::Vpn => matches!(
                c.country,
                "US" | "GB" | "DE" | "NL" | "SE" | "CH" | "SG" | "JP" | "CA" | "FR"
            ),
            NetKind::Hosting => matches!(
                c.country,
                "US" | "DE" | "NL" | "SG" | "IN" | "GB" | "FR" | "JP" | "AU" | "BR"
            ),
            NetKind::Relay | NetKind::PublicWifi | NetKind::Mobile => c.weight > 0,
            NetKind::Residential => true,
        }
    }

    /// ASN and organisation of this kind's block in city `c`. Private-use ASNs (RFC 6996).
    fn asn(self, c: u8) -> (u32, String) {
        let city = &CITIES[c as usize];
        let cc = city.country;
        match self {
            NetKind::Residential => (
                4_200_000_000 + c as u32,
                format!("Example Broadband {cc} ({})", city.name),
            ),
            NetKind::Mobile => (4_200_001_000 + c as u32, format!("Example Mobile {cc}")),
            NetKind::PublicWifi => (
                4_200_002_000 + c as u32,
                format!("Example Hospitality Networks {cc}"),
            ),
            NetKind::Relay => (4_200_003_000, "Example Private Relay (iCloud-style)".into()),
            NetKind::Vpn => (4_200_004_000, "Example Consumer VPN Ltd".into()),
            NetKind::Hosting => (4_200_005_000, "Example Cloud Hosting Inc".into()),
            NetKind::Corporate => (4_200_006_000, "Jetlag Example Corp".into()),
            NetKind::Tor => (
                4_200_007_000 + c as u32,
                format!("Example Tor Exit Hosting {cc}"),
            ),
        }
    }
}

/// Whether city `c` has a block of `kind`.
pub fn present(kind: NetKind, c: u8) -> bool {
    CITIES
        .get(c as usize)
        .is_some_and(|city| kind.present_in(city))
}

/// An IPv4 address in city `c`'s block of `kind`, host number `host` (wrapped into the block,
/// never the network or broadcast-looking .0 / .255 host).
pub fn ipv4(kind: NetKind, c: u8, host: u32) -> IpAddr {
    let (b, d) = match kind.prefix() {
        24 => (0u8, (host % 253) as u8 + 1),
        _ => {
            let h = host % (256 * 253);
            ((h / 253) as u8, (h % 253) as u8 + 1)
        }
    };
    IpAddr::V4(Ipv4Addr::new(kind as u8, c, b, d))
}

/// An IPv6 address of city `c`'s mobile carrier (2001:db8:c::/48).
pub fn mobile_ipv6(c: u8, host: u64) -> IpAddr {
    let h = host | 1;
    IpAddr::V6(Ipv6Addr::new(
        0x2001,
        0x0db8,
        c as u16,
        (h >> 48) as u16,
        (h >> 32) as u16,
        (h >> 16) as u16,
        h as u16,
        0x1,
    ))
}

/// The block an address falls in: its kind and city, if it is one of ours.
pub fn block_of(ip: IpAddr) -> Option<(NetKind, u8)> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, c, ..] = v4.octets();
            let kind = NetKind::ALL.into_iter().find(|k| *k as u8 == a)?;
            ((c as usize) < CITIES.len()).then_some((kind, c))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            (s[0] == 0x2001 && s[1] == 0x0db8 && (s[2] as usize) < CITIES.len())
                .then_some((NetKind::Mobile, s[2] as u8))
        }
    }
}

/// One row of the simulated IP plan.
struct Block {
    kind: NetKind,
    city: u8,
    start: IpAddr,
    end: IpAddr,
    cidr: String,
}

fn blocks() -> Vec<Block> {
    let mut out = Vec::new();
    for kind in NetKind::ALL {
        for (i, c) in CITIES.iter().enumerate() {
            if !kind.present_in(c) {
                continue;
            }
            let i = i as u8;
            let a = kind as u8;
            let (start, end, cidr) = if kind.prefix() == 24 {
                (
                    Ipv4Addr::new(a, i, 0, 0),
                    Ipv4Addr::new(a, i, 0, 255),
                    format!("{a}.{i}.0.0/24"),
                )
            } else {
                (
                    Ipv4Addr::new(a, i, 0, 0),
                    Ipv4Addr::new(a, i, 255, 255),
                    format!("{a}.{i}.0.0/16"),
                )
            };
            out.push(Block {
                kind,
                city: i,
                start: start.into(),
                end: end.into(),
                cidr,
            });
        }
    }
    for (i, c) in CITIES.iter().enumerate() {
        if NetKind::Mobile.present_in(c) {
            let i16 = i as u16;
            out.push(Block {
                kind: NetKind::Mobile,
                city: i as u8,
                start: Ipv6Addr::new(0x2001, 0x0db8, i16, 0, 0, 0, 0, 0).into(),
                end: Ipv6Addr::new(0x2001, 0x0db8, i16, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff)
                    .into(),
                cidr: format!("2001:db8:{i16:x}::/48"),
            });
        }
    }
    out
}

/// The GeoIP city CSV: `start,end,country,region,city,lat,lon`, one row per block.
pub fn geoip_csv() -> String {
    let mut s = String::new();
    for b in blocks() {
        let c = &CITIES[b.city as usize];
        let _ = writeln!(
            s,
            "{},{},{},{},{},{:.4},{:.4}",
            b.start, b.end, c.country, c.region, c.name, c.lat, c.lon
        );
    }
    s
}

/// The ASN CSV: `start,end,asn,org`, one row per block.
pub fn asn_csv() -> String {
    let mut s = String::new();
    for b in blocks() {
        let (asn, org) = b.kind.asn(b.city);
        let _ = writeln!(s, "{},{},{},\"{}\"", b.start, b.end, asn, org);
    }
    s
}

/// ASN and organisation of an address of ours (what Okta's `securityContext` reports).
pub fn asn_of(ip: IpAddr) -> Option<(u32, String)> {
    let (kind, c) = block_of(ip)?;
    Some(kind.asn(c))
}

/// The `intel/` lists: `(class, file contents)` — one CIDR per line with `#` comments.
/// Tor is listed exit by exit (as the real exit lists are), from `tor_exits`.
pub fn intel_lists(tor_exits: &[IpAddr]) -> Vec<(&'static str, String)> {
    let mut lists: Vec<(&'static str, String)> = Vec::new();
    for kind in NetKind::ALL {
        let Some(class) = kind.intel_class() else {
            continue;
        };
        let mut s = format!(
            "# jetlag simulate: {class} networks of the simulated world (one CIDR or IP per line)\n"
        );
        if kind == NetKind::Tor {
            let mut exits: Vec<IpAddr> = tor_exits.to_vec();
            exits.sort();
            exits.dedup();
            for ip in exits {
                let _ = writeln!(s, "{ip}");
            }
        } else {
            for b in blocks().into_iter().filter(|b| b.kind == kind) {
                let _ = writeln!(s, "{}  # {}", b.cidr, CITIES[b.city as usize].name);
            }
        }
        lists.push((class, s));
    }
    lists
}

/// Great-circle distance in km (haversine, mean Earth radius 6371.0088 km).
pub fn distance_km(a: &City, b: &City) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.lat.to_radians(),
        a.lon.to_radians(),
        b.lat.to_radians(),
        b.lon.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_maps_back_to_its_block() {
        for kind in NetKind::ALL {
            let ip = ipv4(kind, 3, 70_000);
            assert_eq!(block_of(ip), Some((kind, 3)));
        }
        assert_eq!(block_of(mobile_ipv6(7, 42)), Some((NetKind::Mobile, 7)));
        assert_eq!(block_of("8.8.8.8".parse().unwrap()), None);
    }

    #[test]
    fn geoip_rows_cover_every_block_and_parse() {
        let csv = geoip_csv();
        for line in csv.lines() {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 7, "{line}");
            let s: IpAddr = f[0].parse().unwrap();
            let e: IpAddr = f[1].parse().unwrap();
            assert!(s <= e);
            assert_eq!(f[2].len(), 2);
        }
        assert!(csv.contains("241.0.0.0,241.0.255.255,US,New York,New York,40.7128,-74.0060"));
    }

    #[test]
    fn distances_are_plausible() {
        let ny = &CITIES[city_index("New York") as usize];
        let ldn = &CITIES[city_index("London") as usize];
        let d = distance_km(ny, ldn);
        assert!((5550.0..5600.0).contains(&d), "{d}");
    }
}
