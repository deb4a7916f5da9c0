//! Network classes: what kind of network an IP belongs to.
//!
//! The class decides whether a location jump means anything: a VPN exit says nothing about
//! where the user is, a mobile carrier's geolocation is coarse. Stored as a bit set so that
//! an event carries them without allocating; serialized as a JSON list of names.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One class of network, as named on the command line (`--intel CLASS=PATH`) and in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum NetClass {
    /// A Tor exit node.
    Tor = 0,
    /// A commercial or consumer VPN exit (Astrill, NordVPN, ...).
    Vpn = 1,
    /// An open or residential proxy.
    Proxy = 2,
    /// A privacy relay such as iCloud Private Relay.
    Relay = 3,
    /// A hosting / cloud provider's address space.
    Hosting = 4,
    /// The organisation's own egress (office, corporate VPN concentrators, proxies).
    Corporate = 5,
    /// A mobile carrier (often carrier-grade NAT with coarse geolocation).
    Mobile = 6,
    /// Satellite or in-flight connectivity (Starlink, aircraft Wi-Fi).
    Satellite = 7,
    /// Known-bad infrastructure from a threat-intelligence list.
    Malicious = 8,
}

impl NetClass {
    /// Every class, in the order they are serialized.
    pub const ALL: [NetClass; 9] = [
        NetClass::Tor,
        NetClass::Vpn,
        NetClass::Proxy,
        NetClass::Relay,
        NetClass::Hosting,
        NetClass::Corporate,
        NetClass::Mobile,
        NetClass::Satellite,
        NetClass::Malicious,
    ];

    /// The class's name as written on the command line and in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            NetClass::Tor => "tor",
            NetClass::Vpn => "vpn",
            NetClass::Proxy => "proxy",
            NetClass::Relay => "relay",
            NetClass::Hosting => "hosting",
            NetClass::Corporate => "corporate",
            NetClass::Mobile => "mobile",
            NetClass::Satellite => "satellite",
            NetClass::Malicious => "malicious",
        }
    }
}

impl fmt::Display for NetClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NetClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NetClass::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown network class '{s}' (expected one of: {})",
                    NetClass::ALL.map(|c| c.as_str()).join(", ")
                )
            })
    }
}

/// A set of [`NetClass`]es, stored as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetClasses(u16);

impl NetClasses {
    /// The empty set.
    pub const EMPTY: NetClasses = NetClasses(0);

    /// Classes whose IP location says nothing about where the user physically is:
    /// vpn, tor, proxy, relay, hosting, corporate, satellite.
    pub const HIDES_LOCATION: NetClasses = NetClasses::of(&[
        NetClass::Vpn,
        NetClass::Tor,
        NetClass::Proxy,
        NetClass::Relay,
        NetClass::Hosting,
        NetClass::Corporate,
        NetClass::Satellite,
    ]);

    /// Anonymizing classes: tor, vpn, proxy, relay, hosting.
    pub const ANONYMIZING: NetClasses = NetClasses::of(&[
        NetClass::Tor,
        NetClass::Vpn,
        NetClass::Proxy,
        NetClass::Relay,
        NetClass::Hosting,
    ]);

    /// A set of the given classes.
    pub const fn of(classes: &[NetClass]) -> NetClasses {
        let mut bits = 0u16;
        let mut i = 0;
        while i < classes.len() {
            bits |= 1 << classes[i] as u8;
            i += 1;
        }
        NetClasses(bits)
    }

    /// Adds a class.
    pub fn insert(&mut self, class: NetClass) {
        self.0 |= 1 << class as u8;
    }

    /// Whether the class is in the set.
    pub const fn contains(self, class: NetClass) -> bool {
        self.0 & (1 << class as u8) != 0
    }

    /// Whether any class of `other` is in the set.
    pub const fn intersects(self, other: NetClasses) -> bool {
        self.0 & other.0 != 0
    }

    /// The union of two sets.
    pub const fn union(self, other: NetClasses) -> NetClasses {
        NetClasses(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bits (stable: bit `n` is the class with discriminant `n`).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// The classes in the set, in [`NetClass::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = NetClass> {
        NetClass::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<NetClass> for NetClasses {
    fn from_iter<I: IntoIterator<Item = NetClass>>(iter: I) -> Self {
        let mut set = NetClasses::EMPTY;
        for c in iter {
            set.insert(c);
        }
        set
    }
}

impl Serialize for NetClasses {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.count_ones() as usize))?;
        for c in self.iter() {
            seq.serialize_element(c.as_str())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for NetClasses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NetClasses;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of network class names")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NetClasses, A::Error> {
                let mut set = NetClasses::EMPTY;
                while let Some(name) = seq.next_element::<&str>()? {
                    set.insert(name.parse().map_err(de::Error::custom)?);
                }
                Ok(set)
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_sorted_names() {
        let set: NetClasses = [NetClass::Mobile, NetClass::Tor].into_iter().collect();
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["tor","mobile"]"#);
        assert_eq!(serde_json::to_string(&NetClasses::EMPTY).unwrap(), "[]");
        let back: NetClasses = serde_json::from_str(r#"["mobile","tor"]"#).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_str::<NetClasses>(r#"["wifi"]"#).is_err());
    }

    #[test]
    fn location_hiding_classes_exclude_mobile() {
        assert!(NetClasses::of(&[NetClass::Corporate]).intersects(NetClasses::HIDES_LOCATION));
        assert!(!NetClasses::of(&[NetClass::Mobile]).intersects(NetClasses::HIDES_LOCATION));
        assert!(!NetClasses::of(&[NetClass::Corporate]).intersects(NetClasses::ANONYMIZING));
    }
}
