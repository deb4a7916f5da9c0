//! impossible_travel: two successful sign-ins of one user too far apart for the time
//! between them.
//!
//! Each user keeps a small window of recent located sign-ins (one per distinct place). A new
//! sign-in is compared with *every* sign-in in the window, not just the last, so A→B→A token
//! replay and late events are caught. The distance that counts is the *minimum feasible*
//! one: the great-circle distance minus both locations' accuracy radii. Pairs that touch a
//! network hiding the user's location (VPN, Tor, proxy, relay, hosting, corporate egress,
//! satellite) are kept low; pairs of places a user (or the org) flips between routinely
//! (split-tunnel VPN) stop alerting after a few repeats.

use std::net::IpAddr;

use compact_str::CompactString;
use jetlag_event::{
    Alert, Country, GeoSource, NetClass, NetClasses, Outcome, Severity, SignIn, Timestamp,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;
use crate::detector::{Context, Detector, StateKey, UserId};
use crate::detectors::{decode, default_high_risk_countries, default_recent_hire_days, encode};
use crate::evidence::{Obj, push_fmt, push_thousands};
use crate::geo::{self, MAX_DISTANCE_KM};
use crate::{CompactId, Error, alert_id};

mod window;

use window::{Probe, Saved, Windows};

const NAME: &str = "impossible_travel";

/// `[detect.impossible_travel]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector. Default `true`.
    pub enabled: bool,
    /// Speed in km/h above which travel is impossible. Default 1000: a commercial jet
    /// cruises at 850–950 km/h ground speed; the margin absorbs tail winds.
    pub max_speed_kmh: f64,
    /// Minimum feasible distance in km below which nothing alerts. Default 500: below this,
    /// GeoIP error (city-level accuracy is tens to hundreds of km) dominates.
    pub min_distance_km: f64,
    /// Located sign-ins kept per user (one per distinct place; the oldest is dropped).
    /// Default 4, range 1–32. More catches longer replay chains at 40 bytes per user each.
    pub window_size: usize,
    /// Accuracy radius assumed for a GeoIP location without one, km. Default 50: MaxMind
    /// states its City accuracy as "within 50 km" and DB-IP Lite reports no radius.
    pub geoip_radius_km: f64,
    /// Accuracy radius assumed for a log-supplied location without one, km. Default 100:
    /// vendors (Entra, Okta) geolocate the IP themselves with undisclosed accuracy.
    pub log_radius_km: f64,
    /// Smallest radius for a mobile-carrier IP, km. Default 500: carrier-grade NAT exits
    /// serve whole regions and MaxMind often reports 500–1000 km for them.
    pub mobile_radius_km: f64,
    /// Alerts for the same pair of places (1° cells) one user raises before the pair counts
    /// as routine and stops alerting. Default 3 (a split-tunnel VPN flips every day).
    /// Pairs touching a high-risk country never become routine.
    pub repeat_limit: u32,
    /// Distinct users of the org flipping between the same pair of places before the pair
    /// counts as routine for everyone. Default 10. 0 disables org-wide suppression.
    pub org_repeat_users: u32,
    /// Countries (ISO alpha-2) that raise severity. Default KP, CN, RU, IR, BY, SY, CU
    /// (broad US sanctions; named in the DPRK IT-worker advisories).
    pub high_risk_countries: Vec<Country>,
    /// Users hired fewer than this many days before the sign-in get a higher score.
    /// Default 90.
    pub recent_hire_days: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            max_speed_kmh: 1000.0,
            min_distance_km: 500.0,
            window_size: 4,
            geoip_radius_km: 50.0,
            log_radius_km: 100.0,
            mobile_radius_km: 500.0,
            repeat_limit: 3,
            org_repeat_users: 10,
            high_risk_countries: default_high_risk_countries(),
            recent_hire_days: default_recent_hire_days(),
        }
    }
}

impl Config {
    pub(crate) fn validate(&self, p: &mut Problems<'_>) {
        p.positive("max_speed_kmh", self.max_speed_kmh);
        p.non_negative("min_distance_km", self.min_distance_km);
        p.in_range("window_size", self.window_size, 1, 32);
        p.non_negative("geoip_radius_km", self.geoip_radius_km);
        p.non_negative("log_radius_km", self.log_radius_km);
        p.non_negative("mobile_radius_km", self.mobile_radius_km);
        p.in_range("recent_hire_days", self.recent_hire_days, 0, 3650);
    }
}

/// A pair of places and how often this user alerted on it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Pair {
    key: u32,
    count: u16,
}

const PAIRS: usize = 3;

/// Windows swept every [`SWEEP_EVERY`] sign-ins (see `Windows::sweep`): two per sign-in,
/// 50,000 users every 25,000 sign-ins. In bulk, the lookups of one sweep overlap.
const SWEEP_USERS: usize = 128;

/// Sign-ins between two sweeps.
const SWEEP_EVERY: u32 = 64;

#[derive(Debug)]
struct State {
    /// Per user, located sign-ins oldest first, one per place and network, at most
    /// `window_size`, none so old that any distance on Earth was flyable since (20 h at
    /// 1,000 km/h). Most users sign in from one or two places.
    windows: Windows,
    /// Per user that has alerted: the pairs of places alerted on (sparse: most never do).
    pairs: FxHashMap<u32, [Pair; PAIRS]>,
    /// Pair of places → distinct users who alerted on it.
    org_pairs: FxHashMap<u32, u32>,
    /// The latest sign-in time seen (ns), for the sweep; not saved (a restored detector
    /// sweeps from its first sign-in on).
    latest: i64,
    /// Sign-ins since the last sweep.
    since_sweep: u32,
}

impl Default for State {
    fn default() -> State {
        State {
            windows: Windows::default(),
            pairs: FxHashMap::default(),
            org_pairs: FxHashMap::default(),
            latest: i64::MIN,
            since_sweep: 0,
        }
    }
}

/// The earlier end of the worst pair, copied out of the window for the alert.
struct From {
    event_id: CompactId,
    time_ns: i64,
    ip: Option<IpAddr>,
    lat: f32,
    lon: f32,
    country: Option<Country>,
    city: Option<CompactString>,
    net: NetClasses,
    place: u16,
}

/// The impossible-travel detector.
#[derive(Debug)]
pub struct ImpossibleTravel {
    config: Config,
    state: State,
}

/// The worst pair found for one new sign-in.
struct Finding {
    slot: u32,
    /// The pair touches a network that hides the user's location.
    hides: bool,
    distance_km: f64,
    min_distance_km: f64,
    elapsed_s: f64,
    /// Minimum feasible speed; `None` when both sign-ins fall in the same instant.
    min_speed_kmh: Option<f64>,
}

impl ImpossibleTravel {
    /// A detector with `config` (values out of range are clamped).
    pub fn new(config: &Config) -> ImpossibleTravel {
        let mut config = config.clone();
        config.window_size = config.window_size.clamp(1, 32);
        ImpossibleTravel {
            config,
            state: State::default(),
        }
    }

    /// The accuracy radius to assume for `ev`'s location.
    fn radius_km(&self, ev: &SignIn, reported: Option<f64>, source: GeoSource) -> f64 {
        let default = match source {
            GeoSource::Log => self.config.log_radius_km,
            GeoSource::Geoip => self.config.geoip_radius_km,
        };
        let mut r = reported
            .filter(|r| r.is_finite() && *r >= 0.0)
            .unwrap_or(default);
        if ev.network.contains(NetClass::Mobile) {
            r = r.max(self.config.mobile_radius_km);
        }
        r
    }

    fn high_risk(&self, c: Option<Country>) -> bool {
        c.is_some_and(|c| self.config.high_risk_countries.contains(&c))
    }
}

/// The 1° cell of a point, as a number below 64,800.
fn place(lat: f64, lon: f64) -> u16 {
    let row = (lat + 90.0).floor().clamp(0.0, 179.0) as u16;
    let col = (lon + 180.0).floor().clamp(0.0, 359.0) as u16;
    row * 360 + col
}

fn pair_key(a: u16, b: u16) -> u32 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (u32::from(lo) << 16) | u32::from(hi)
}

/// Nanoseconds since the epoch, saturating to `i64`.
fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.as_nanosecond()).unwrap_or(if t.as_second() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The time of a slot.
fn time_of(ns: i64) -> Timestamp {
    Timestamp::from_nanosecond(i128::from(ns)).unwrap_or_default()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Appends "Paris, FR", "Paris", "FR" or "an unknown place".
fn describe(out: &mut String, city: Option<&str>, country: Option<Country>) {
    match (city, country) {
        (Some(city), Some(c)) => {
            out.push_str(city);
            out.push_str(", ");
            out.push_str(c.as_str());
        }
        (Some(city), None) => out.push_str(city),
        (None, Some(c)) => out.push_str(c.as_str()),
        (None, None) => out.push_str("an unknown place"),
    }
}

/// Appends "in the same second as", "20 min after", "3.5 h after".
fn when(out: &mut String, s: f64) {
    if s < 1.0 {
        out.push_str("in the same second as");
    } else if s < 3600.0 {
        push_fmt(
            out,
            format_args!("{} min after", (s / 60.0).round().max(1.0)),
        );
    } else {
        push_fmt(out, format_args!("{:.1} h after", s / 3600.0));
    }
}

/// `ip` as text, as `Display` writes it: an IPv4 address digit by digit into a string of
/// the right size (`to_string` goes through the formatter, some 1,700 instructions and a
/// reallocation; two per alert), an IPv6 address through `Display`.
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(a) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, b) in a.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if b >= 100 {
            out.push(char::from(b'0' + b / 100));
        }
        if b >= 10 {
            out.push(char::from(b'0' + b / 10 % 10));
        }
        out.push(char::from(b'0' + b % 10));
    }
    out
}

/// `time` as text, as `Display` writes it, into a string allocated once.
fn time_text(time: Timestamp) -> String {
    let mut out = String::with_capacity(40);
    push_fmt(&mut out, format_args!("{time}"));
    out
}

/// One end of the pair, as the evidence shows it.
fn point(
    ip: Option<IpAddr>,
    time: Timestamp,
    lat: f64,
    lon: f64,
    country: Option<Country>,
    city: Option<String>,
) -> serde_json::Value {
    Obj::new()
        .with("city", city)
        .with("country", country.map(|c| c.as_str().to_owned()))
        .with("ip", ip.map(ip_text))
        .with("lat", (lat * 1e4).round() / 1e4)
        .with("lon", (lon * 1e4).round() / 1e4)
        .with("time", time_text(time))
        .build()
}

impl Detector for ImpossibleTravel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::User
    }

    fn prefetch(&self, user: UserId) {
        self.state.windows.prefetch(user.index());
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if ev.outcome != Outcome::Success {
            return;
        }
        let Some(g) = &ev.geo else { return };
        let Some((lat, lon)) = g.point() else { return };
        if !geo::valid(lat, lon) {
            return;
        }
        let radius = self.radius_km(ev, g.radius_km, g.source);
        let country_level = g.city.is_none() && g.country.is_some();
        let now = nanos(ev.time);
        let user = ctx.user.index();
        let event_id = ctx.event_id();
        let windows = &mut self.state.windows;
        if windows
            .iter(user)
            .any(|(_, s)| s.time_ns == now && windows.is_event(s, event_id))
        {
            return; // the same event again
        }
        // Sign-ins so old that any distance on Earth was flyable since can never pair.
        let stale = (MAX_DISTANCE_KM / self.config.max_speed_kmh * 3600.0 * 1e9) as i64;
        windows.drop_oldest_while(user, |s| now.saturating_sub(s.time_ns) > stale);
        // And those of users who no longer sign in, as time goes on: stale before the
        // latest sign-in seen, they are stale for every sign-in still to come in order
        // (a sign-in that far late finds less to pair with, as it would after the user's
        // own next sign-in).
        let latest = self.state.latest.max(now);
        self.state.latest = latest;
        self.state.since_sweep += 1;
        if self.state.since_sweep >= SWEEP_EVERY {
            self.state.since_sweep = 0;
            windows.sweep(SWEEP_USERS, |s| latest.saturating_sub(s.time_ns) > stale);
        }

        // Compare with every sign-in in the window; keep the worst pair. On the way, note
        // a slot at the same place and network (this sign-in replaces it) and one whose
        // place is exactly this one (no lookup to intern it).
        let here = place(lat, lon);
        let probe = Probe {
            lat: lat as f32,
            lon: lon as f32,
            radius_km: radius as f32,
            place: here,
            country: g.country,
            country_level,
            city: g.city.as_deref(),
        };
        let net = ev.network;
        // A 1° cell is at most 157 km corner to corner: same-cell pairs cannot alert.
        let cells_matter = self.config.min_distance_km < 160.0;
        let mut worst: Option<Finding> = None;
        let mut replace: Option<u32> = None;
        let mut same_loc: Option<u32> = None;
        for (i, s) in windows.iter(user) {
            let Some(loc) = windows.loc(s) else { continue };
            if loc.place == here {
                if replace.is_none() && s.net == net {
                    replace = Some(i);
                }
                if same_loc.is_none() && loc.is(&probe) {
                    same_loc = Some(s.loc);
                }
                if !cells_matter {
                    continue;
                }
            }
            if (loc.country_level || country_level) && loc.country == g.country {
                continue; // a country-level location only says "somewhere in this country"
            }
            let distance = geo::haversine_km(f64::from(loc.lat), f64::from(loc.lon), lat, lon);
            let min_distance = (distance - f64::from(loc.radius_km) - radius).max(0.0);
            if min_distance <= self.config.min_distance_km {
                continue;
            }
            let elapsed = now.abs_diff(s.time_ns) as f64 / 1e9;
            let min_speed = if elapsed > 0.0 {
                let v = min_distance / (elapsed / 3600.0);
                if v <= self.config.max_speed_kmh {
                    continue;
                }
                Some(v)
            } else {
                None // same instant: any distance above the minimum is impossible
            };
            // Prefer pairs whose both ends show where the user is: New York → VPN exit in
            // Frankfurt → Moscow must be judged on New York → Moscow, not kept low.
            let hides = s.net.union(net).intersects(NetClasses::HIDES_LOCATION);
            let worse = match &worst {
                None => true,
                Some(f) if f.hides != hides => f.hides,
                Some(f) => match (min_speed, f.min_speed_kmh) {
                    (None, Some(_)) => true,
                    (Some(_), None) => false,
                    (None, None) => min_distance > f.min_distance_km,
                    (Some(a), Some(b)) => a > b,
                },
            };
            if worse {
                worst = Some(Finding {
                    slot: i,
                    hides,
                    distance_km: distance,
                    min_distance_km: min_distance,
                    elapsed_s: elapsed,
                    min_speed_kmh: min_speed,
                });
            }
        }

        if let Some(f) = worst {
            let s = windows.slot(f.slot);
            let loc = windows.loc(s).cloned().unwrap_or_default();
            let from = From {
                event_id: windows.event_id(s),
                time_ns: s.time_ns,
                ip: windows.ip(s),
                lat: loc.lat,
                lon: loc.lon,
                country: loc.country,
                city: loc.city,
                net: s.net,
                place: loc.place,
            };
            self.alert(ev, ctx, &from, here, f, out);
        }

        // Remember this sign-in: it replaces an older one at the same place and network
        // (the newest one is what later sign-ins must be compared with), else the oldest
        // when the window is full.
        self.state.windows.remember(
            user,
            replace,
            self.config.window_size,
            event_id,
            now,
            ev.ip,
            net,
            probe,
            same_loc,
        );
    }

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        let st = &self.state;
        encode(NAME, &(st.windows.save(), &st.pairs, &st.org_pairs))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        type SavedState = (Saved, FxHashMap<u32, [Pair; PAIRS]>, FxHashMap<u32, u32>);
        let (saved, pairs, org_pairs): SavedState = decode(NAME, bytes)?;
        let mut windows = Windows::load(saved).map_err(|reason| Error::Inconsistent {
            detector: NAME,
            reason,
        })?;
        // The window size may have changed since: keep the newest sign-ins.
        windows.truncate(self.config.window_size);
        self.state = State {
            windows,
            pairs,
            org_pairs,
            ..State::default()
        };
        Ok(())
    }
}

impl ImpossibleTravel {
    fn alert(
        &mut self,
        ev: &SignIn,
        ctx: &Context<'_>,
        from: &From,
        here: u16,
        f: Finding,
        out: &mut Vec<Alert>,
    ) {
        let to_country = ev.geo.as_ref().and_then(|g| g.country);
        let high_risk = self.high_risk(from.country) || self.high_risk(to_country);

        // Routine flips between the same two places stop alerting, unless high-risk.
        let key = pair_key(from.place, here);
        if from.place != here && !high_risk {
            let pairs = self.state.pairs.entry(ctx.user.0).or_default();
            let slot = match pairs.iter().position(|p| p.key == key && p.count > 0) {
                Some(i) => i,
                None => {
                    // Evict the least-seen pair.
                    let i = (0..PAIRS).min_by_key(|&i| pairs[i].count).unwrap_or(0);
                    pairs[i] = Pair { key, count: 0 };
                    i
                }
            };
            let p = &mut pairs[slot];
            p.count = p.count.saturating_add(1);
            let first_time = p.count == 1;
            let user_count = p.count;
            let org = self.state.org_pairs.entry(key).or_insert(0);
            if first_time {
                *org = org.saturating_add(1);
            }
            let org_routine =
                self.config.org_repeat_users > 0 && *org >= self.config.org_repeat_users;
            if u32::from(user_count) > self.config.repeat_limit || org_routine {
                return;
            }
        }

        let hides = f.hides;
        let recent_hire = ctx.is_recent_hire(ev.time, self.config.recent_hire_days);
        // 40 at the thresholds; up to +10 for speed (saturating at 4× max_speed_kmh), up to
        // +30 for distance (saturating at 6,000 km: GeoIP errors rarely exceed 1,000 km, an
        // intercontinental jump is no error).
        let speed_term = match f.min_speed_kmh {
            None => 10.0,
            Some(v) => (5.0 * (v / self.config.max_speed_kmh).log2()).clamp(0.0, 10.0),
        };
        let distance_term = 30.0 * (f.min_distance_km / 6000.0).clamp(0.0, 1.0);
        let mut score = 40.0 + speed_term + distance_term;
        if high_risk {
            score += 20.0;
        }
        if recent_hire {
            score += 10.0;
        }
        let mut score = score.round().clamp(0.0, 100.0) as u8;
        if hides {
            score = score.min(35); // never medium or above
        }
        let severity = Severity::from_score(score);

        let (lat, lon) = ev.geo.as_ref().and_then(|g| g.point()).unwrap_or_default();
        let to_city = ev.geo.as_ref().and_then(|g| g.city.as_deref());
        let speed = (f.elapsed_s > 0.0).then(|| f.distance_km / (f.elapsed_s / 3600.0));
        let mut summary = String::with_capacity(256);
        summary.push_str(&ev.user);
        summary.push_str(" signed in from ");
        describe(&mut summary, to_city, to_country);
        summary.push(' ');
        when(&mut summary, f.elapsed_s);
        summary.push_str(" a sign-in from ");
        describe(&mut summary, from.city.as_deref(), from.country);
        summary.push_str(": ");
        push_thousands(&mut summary, f.distance_km);
        summary.push_str(" km apart (at least ");
        push_thousands(&mut summary, f.min_distance_km);
        summary.push_str(" km allowing for location accuracy)");
        if let Some(v) = speed {
            summary.push_str(", ");
            push_thousands(&mut summary, v);
            summary.push_str(" km/h, faster than any airliner");
        }
        if hides {
            summary.push_str("; kept low because a ");
            let classes = from.net.union(ev.network);
            let hidden = classes
                .iter()
                .filter(|c| NetClasses::HIDES_LOCATION.contains(*c));
            for (i, c) in hidden.enumerate() {
                if i > 0 {
                    summary.push('/');
                }
                summary.push_str(c.as_str());
            }
            summary.push_str(" IP does not show where the user is");
        } else if high_risk {
            summary.push_str("; a high-risk country is involved");
        }
        if recent_hire {
            summary.push_str("; the user is a recent hire");
        }
        summary.push_str(": check whether the session was stolen and revoke it if so.");

        // Ids and the user copied as text: `to_string` would go through the formatter.
        let mut buf = [0u8; 36];
        let from_id = String::from(from.event_id.text(&mut buf));
        let evidence = Obj::new()
            .with(
                "from",
                point(
                    from.ip,
                    time_of(from.time_ns),
                    f64::from(from.lat),
                    f64::from(from.lon),
                    from.country,
                    from.city.as_deref().map(str::to_owned),
                ),
            )
            .with(
                "to",
                point(
                    ev.ip,
                    ev.time,
                    lat,
                    lon,
                    to_country,
                    to_city.map(str::to_owned),
                ),
            )
            .with("distance_km", round1(f.distance_km))
            .with("elapsed_s", round1(f.elapsed_s))
            .with("speed_kmh", speed.map(round1))
            .build();
        out.push(Alert {
            alert_id: alert_id(NAME, [from_id.as_str(), ev.event_id.as_str()]),
            detector: NAME.to_string(),
            severity,
            score,
            user: Some(String::from(ev.user.as_str())),
            users: vec![String::from(ev.user.as_str())],
            time: ev.time,
            event_ids: vec![from_id, String::from(ev.event_id.as_str())],
            summary,
            evidence,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written IPv4 text is `Display`'s, for every octet value in every position.
    #[test]
    fn ip_and_time_text_are_display() {
        for b in 0..=255u8 {
            for ip in [
                IpAddr::from([b, 0, 10, 255]),
                IpAddr::from([1, b, 99, 100]),
                IpAddr::from([255, 9, b, 1]),
                IpAddr::from([100, 10, 0, b]),
            ] {
                assert_eq!(ip_text(ip), ip.to_string());
            }
        }
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(ip_text(v6), "2001:db8::1");
        for t in [
            "2025-03-30T23:59:53Z",
            "2025-03-30T23:59:53.5Z",
            "1970-01-01T00:00:00.000000001Z",
        ] {
            let t: Timestamp = t.parse().unwrap();
            assert_eq!(time_text(t), t.to_string());
        }
    }
}
