//! Writes simulated sign-ins in the vendors' own record shapes, one format per file.
//!
//! Records are serialized straight from borrowed structs (`serde`), never through a JSON
//! tree; the few strings each record needs (time, IP, ids) are formatted into buffers reused
//! from record to record.

pub mod cloudtrail;
pub mod entra;
pub mod google;
pub mod okta;

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::generate::Ev;
use crate::org::{Plan, mix};
use crate::world::{CITIES, City, NetKind, block_of};

/// The location and network an IP of ours resolves to.
pub struct IpInfo<'a> {
    /// The city its block is in.
    pub city: &'static City,
    /// Autonomous system number.
    pub asn: u32,
    /// Autonomous system organisation.
    pub org: &'a str,
    /// Its kind of network.
    pub kind: NetKind,
}

/// Shared lookups and scratch buffers of every vendor writer.
pub struct Scratch {
    /// Epoch-ms → RFC 3339 text.
    pub time: String,
    /// The IP as text.
    pub ip: String,
    /// Record id.
    pub id: String,
    /// Second id (correlation, request).
    pub id2: String,
    /// Session id.
    pub session: String,
    /// Device id.
    pub device: String,
    /// User id.
    pub uid: String,
    asn: Vec<Vec<(u32, String)>>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    /// New buffers and the ASN table of the simulated world.
    pub fn new() -> Scratch {
        let mut asn = Vec::new();
        for kind in NetKind::ALL {
            let mut row = Vec::new();
            for c in 0..CITIES.len() as u8 {
                row.push(
                    crate::world::asn_of(crate::world::ipv4(kind, c, 1))
                        .unwrap_or((0, String::new())),
                );
            }
            asn.push(row);
        }
        Scratch {
            time: String::with_capacity(32),
            ip: String::with_capacity(48),
            id: String::with_capacity(40),
            id2: String::with_capacity(40),
            session: String::with_capacity(40),
            device: String::with_capacity(40),
            uid: String::with_capacity(40),
            asn,
        }
    }

    /// Location and network of `ip`.
    pub fn info(&self, ip: IpAddr) -> Option<IpInfo<'_>> {
        let (kind, c) = block_of(ip)?;
        let k = NetKind::ALL.iter().position(|x| *x == kind)?;
        let (asn, org) = self.asn.get(k)?.get(c as usize)?;
        Some(IpInfo {
            city: &CITIES[c as usize],
            asn: *asn,
            org,
            kind,
        })
    }

    /// Fills `time` (RFC 3339 UTC; `millis` adds three fractional digits), `ip`, and the ids.
    pub fn fill(&mut self, ev: &Ev, plan: &Plan, seed: u64, millis: bool) {
        self.time.clear();
        let ts = jiff::Timestamp::from_millisecond(ev.t_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        if millis {
            let _ = write!(self.time, "{ts:.3}");
        } else {
            let _ = write!(self.time, "{:.0}", ts);
        }
        self.ip.clear();
        let _ = write!(self.ip, "{}", ev.ip);
        uuid(&mut self.id, ev.seq);
        uuid(&mut self.id2, mix(ev.seq ^ 0xc0));
        self.device.clear();
        if ev.device != 0 {
            uuid(&mut self.device, ev.device);
        }
        uuid(
            &mut self.uid,
            plan.users[ev.user as usize].uid(seed, ev.user),
        );
    }
}

/// Writes a version-4-shaped UUID derived from `seed` into `buf`.
pub fn uuid(buf: &mut String, seed: u64) {
    let a = mix(seed);
    let b = mix(a ^ seed);
    buf.clear();
    let _ = write!(
        buf,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a as u16) & 0x0fff,
        0x8000 | ((b >> 48) as u16 & 0x3fff),
        b & 0xffff_ffff_ffff
    );
}

/// English short name of a country code, as Okta writes it.
pub fn country_name(cc: &str) -> &'static str {
    match cc {
        "US" => "United States",
        "CA" => "Canada",
        "GB" => "United Kingdom",
        "IE" => "Ireland",
        "DE" => "Germany",
        "FR" => "France",
        "NL" => "Netherlands",
        "IN" => "India",
        "SG" => "Singapore",
        "JP" => "Japan",
        "AU" => "Australia",
        "BR" => "Brazil",
        "RU" => "Russia",
        "NG" => "Nigeria",
        "RO" => "Romania",
        "VN" => "Vietnam",
        "CN" => "China",
        "PK" => "Pakistan",
        "SE" => "Sweden",
        "CH" => "Switzerland",
        _ => "",
    }
}
