//! [`SignIn::write_json`]: the contract's JSON line of a sign-in, written straight into a
//! byte buffer — the same bytes as `serde_json::to_writer(&mut buf, &sign_in)`, without
//! serde's per-field calls: keys are literals, strings that need no escaping are copied
//! whole, times are formatted by hand.

use std::io::Write;
use std::net::IpAddr;

use compact_str::CompactString;

use super::{Geo, GeoSource, SignIn};
use crate::Timestamp;

impl SignIn {
    /// Appends this sign-in as one JSON object (no newline) to `out`: the very bytes
    /// `serde_json::to_writer(out, self)` writes, faster.
    ///
    /// # Example
    /// ```
    /// use jetlag_event::{Outcome, SignIn, Source};
    /// let t = "2025-03-01T12:00:00.5Z".parse().unwrap();
    /// let ev = SignIn::new("e1", t, Source::Csv, "alice@example.com", Outcome::Success);
    /// let mut out = Vec::new();
    /// ev.write_json(&mut out);
    /// assert_eq!(out, serde_json::to_vec(&ev).unwrap());
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"event_id\":");
        string(out, &self.event_id);
        out.extend_from_slice(b",\"time\":\"");
        time(out, self.time);
        out.extend_from_slice(b"\",\"source\":\"");
        out.extend_from_slice(self.source.as_str().as_bytes());
        out.extend_from_slice(b"\",\"user\":");
        string(out, &self.user);
        out.extend_from_slice(b",\"tenant\":");
        opt_string(out, self.tenant.as_ref());
        out.extend_from_slice(b",\"outcome\":");
        out.extend_from_slice(match self.outcome {
            super::Outcome::Success => b"\"success\"",
            super::Outcome::Failure => b"\"failure\"",
            super::Outcome::Unknown => b"\"unknown\"",
        });
        out.extend_from_slice(b",\"ip\":");
        match self.ip {
            Some(ip) => {
                out.push(b'"');
                ip_text(out, ip);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"app\":");
        opt_string(out, self.app.as_ref());
        out.extend_from_slice(b",\"user_agent\":");
        opt_string(out, self.user_agent.as_ref());
        out.extend_from_slice(b",\"device_id\":");
        opt_string(out, self.device_id.as_ref());
        out.extend_from_slice(b",\"session_id\":");
        opt_string(out, self.session_id.as_ref());
        out.extend_from_slice(b",\"mfa\":");
        out.extend_from_slice(match self.mfa {
            Some(true) => b"true",
            Some(false) => b"false",
            None => b"null",
        });
        out.extend_from_slice(b",\"geo\":");
        match &self.geo {
            Some(geo) => geo_json(out, geo),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"asn\":");
        match self.asn {
            Some(asn) => {
                let _ = write!(out, "{asn}");
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"as_org\":");
        opt_string(out, self.as_org.as_ref());
        out.extend_from_slice(b",\"network\":[");
        for (i, class) in self.network.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(class.as_str().as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b"]}");
    }
}

fn geo_json(out: &mut Vec<u8>, geo: &Geo) {
    out.extend_from_slice(b"{\"lat\":");
    number(out, geo.lat);
    out.extend_from_slice(b",\"lon\":");
    number(out, geo.lon);
    out.extend_from_slice(b",\"radius_km\":");
    number(out, geo.radius_km);
    out.extend_from_slice(b",\"city\":");
    opt_string(out, geo.city.as_ref());
    out.extend_from_slice(b",\"region\":");
    opt_string(out, geo.region.as_ref());
    out.extend_from_slice(b",\"country\":");
    match geo.country {
        Some(c) => string(out, c.as_str()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(match geo.source {
        GeoSource::Log => b",\"source\":\"log\"}",
        GeoSource::Geoip => b",\"source\":\"geoip\"}",
    });
}

/// A float exactly as serde_json writes it (shortest round-trip; non-finite is null).
fn number(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        // Writing into a Vec cannot fail.
        Some(v) => {
            let _ = serde_json::to_writer(&mut *out, &v);
        }
        None => out.extend_from_slice(b"null"),
    }
}

fn opt_string(out: &mut Vec<u8>, s: Option<&CompactString>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Whether `s` holds a byte JSON escapes: a control character, `"` or `\`. Eight bytes
/// at a time with the usual bit tricks, which are exact for "is there any such byte".
fn needs_escape(s: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let mut words = s.as_bytes().chunks_exact(8);
    for word in &mut words {
        let x = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if control
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// A JSON string: copied whole when nothing in it needs escaping, else serde_json's
/// escaping.
fn string(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

fn ip_text(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if octet >= 100 {
                    out.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.push(b'0' + octet / 10 % 10);
                }
                out.push(b'0' + octet % 10);
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Two digits.
fn two(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` as jiff's `Display` writes it (the fraction without
/// trailing zeros); jiff itself for times before 1970 or after 9999.
fn time(out: &mut Vec<u8>, t: Timestamp) {
    let (secs, nanos) = (t.as_second(), t.subsec_nanosecond());
    if !(0..253_402_300_800).contains(&secs) || nanos < 0 {
        // Outside what the fast path handles: jiff's own text (without the quotes).
        let _ = write!(out, "{t}");
        return;
    }
    let (days, rem) = (secs / 86_400, (secs % 86_400) as u32);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
    two(out, year / 100);
    two(out, year % 100);
    out.push(b'-');
    two(out, month);
    out.push(b'-');
    two(out, day);
    out.push(b'T');
    two(out, rem / 3600);
    out.push(b':');
    two(out, rem / 60 % 60);
    out.push(b':');
    two(out, rem % 60);
    if nanos != 0 {
        let mut digits = [0u8; 9];
        let mut n = nanos as u32;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let len = 9 - digits.iter().rev().take_while(|d| **d == b'0').count();
        out.push(b'.');
        out.extend_from_slice(&digits[..len]);
    }
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::{Country, NetClass, NetClasses, Outcome, Source};

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn text(&mut self) -> CompactString {
            const PARTS: [&str; 12] = [
                "alice@example.com",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
                "a\"b",
                "back\\slash",
                "tab\there",
                "\u{1}\u{1f}",
                "\u{7f}del",
                "Zürich",
                "東京",
                "😀",
                "",
                "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            ];
            let mut s = CompactString::default();
            for _ in 0..self.below(3) + 1 {
                s.push_str(PARTS[self.below(PARTS.len() as u64) as usize]);
            }
            s
        }
        fn opt_text(&mut self) -> Option<CompactString> {
            (self.below(4) > 0).then(|| self.text())
        }
        fn float(&mut self) -> Option<f64> {
            const F: [f64; 8] = [0.0, -0.0, 40.7, -74.0, 1e-7, 123456.789, f64::NAN, 1e300];
            (self.below(4) > 0).then(|| match self.below(3) {
                0 => F[self.below(8) as usize],
                _ => (self.below(360_000_000) as f64 - 180_000_000.0) / 1e6,
            })
        }
    }

    fn random(r: &mut Rng) -> SignIn {
        // Seconds from 1960 to 10,100 and any nanoseconds, often round ones.
        let secs = r.below(255_000_000_000) as i64 - 315_619_200;
        let nanos = match r.below(4) {
            0 => 0,
            1 => r.below(1000) as i32 * 1_000_000,
            _ => r.below(1_000_000_000) as i32,
        };
        let nanos = if secs < 0 && nanos > 0 { -nanos } else { nanos };
        let time = Timestamp::new(secs, nanos).unwrap_or(Timestamp::UNIX_EPOCH);
        let source = [Source::Entra, Source::Okta, Source::Csv][r.below(3) as usize];
        let outcome = [Outcome::Success, Outcome::Failure, Outcome::Unknown][r.below(3) as usize];
        let mut ev = SignIn::new(r.text(), time, source, r.text(), outcome);
        ev.tenant = r.opt_text();
        ev.ip = match r.below(3) {
            0 => None,
            1 => Some(IpAddr::V4(Ipv4Addr::from(r.below(1 << 32) as u32))),
            _ => Some(IpAddr::V6(Ipv6Addr::from(
                u128::from(r.below(u64::MAX)) << r.below(64),
            ))),
        };
        ev.app = r.opt_text();
        ev.user_agent = r.opt_text();
        ev.device_id = r.opt_text();
        ev.session_id = r.opt_text();
        ev.mfa = [None, Some(true), Some(false)][r.below(3) as usize];
        ev.geo = (r.below(3) > 0).then(|| Geo {
            lat: r.float(),
            lon: r.float(),
            radius_km: r.float(),
            city: r.opt_text(),
            region: r.opt_text(),
            country: [None, Country::from_code("US"), Country::from_code("JP")]
                [r.below(3) as usize],
            source: [GeoSource::Log, GeoSource::Geoip][r.below(2) as usize],
        });
        ev.asn = (r.below(2) > 0).then(|| r.below(1 << 32) as u32);
        ev.as_org = r.opt_text();
        ev.network = NetClass::ALL
            .into_iter()
            .filter(|_| r.below(4) == 0)
            .collect::<NetClasses>();
        ev
    }

    #[test]
    fn escapes_are_found_wherever_they_are() {
        let mut r = Rng(0x05ee_de5c);
        let mut both = [0; 2];
        for _ in 0..20_000 {
            let len = r.below(40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| match r.below(60) {
                    0 => r.below(0x20) as u8,
                    1 => b'"',
                    2 => b'\\',
                    3 => 0x7f,
                    _ => b' ' + r.below(0x5e) as u8,
                })
                .collect();
            let s = std::str::from_utf8(&bytes).unwrap();
            let slow = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            assert_eq!(needs_escape(s), slow, "{s:?}");
            both[usize::from(slow)] += 1;
        }
        assert!(both[0] > 5_000 && both[1] > 5_000, "{both:?}");
    }

    #[test]
    fn the_same_bytes_as_serde_json() {
        let mut r = Rng(0x5eed_600d);
        let mut out = Vec::new();
        for i in 0..50_000 {
            let ev = random(&mut r);
            out.clear();
            ev.write_json(&mut out);
            let expected = serde_json::to_vec(&ev).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&expected),
                "event {i}"
            );
        }
    }
}
