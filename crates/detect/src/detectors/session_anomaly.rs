//! `session_anomaly`: one session used from a new network *and* a different browser — a
//! stolen session token replayed elsewhere.
//!
//! Adversary-in-the-middle phishing kits (Evilginx, the Storm-1167 campaigns Microsoft
//! documented in 2023) steal the session cookie and replay it from the attacker's own
//! machine: same session id, new ASN or country, another user agent. Either change alone is
//! ordinary (Wi-Fi to cellular changes the ASN; a browser update changes the user agent), so
//! both must change. The first sighting of a session is its baseline; state is keyed by
//! session id and dropped after `session_hours` without activity. Vendor placeholder ids
//! (empty, all zeros) are ignored.
//!
//! Re-alert policy: one alert per session, another only when its severity rises (e.g. the
//! replay moves from another ASN to another country).

use std::hash::{Hash, Hasher};

use compact_str::CompactString;
use jetlag_event::{Alert, Country, NetClasses, Outcome, Severity, SignIn};
use jetlag_roster::Roster;
use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};

use super::dense::{Dense, Keyed};
use crate::config::Problems;
use crate::{CompactId, Context, Detector, Error, Names, StateKey, UserId, alert_id};

const NAME: &str = "session_anomaly";

/// `[detect.session_anomaly]`: a session replayed from another network with another browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the detector runs. Default true.
    pub enabled: bool,
    /// A session is forgotten after this many hours without activity. Default 24 (Entra's
    /// default sign-in frequency for browser sessions is rolling; a day covers one working
    /// session and a stolen cookie's typical replay delay of minutes to hours).
    pub session_hours: u32,
    /// Alert when only the ASN changed (same country) as well as on a country change.
    /// Default true.
    pub alert_on_asn_change: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            session_hours: 24,
            alert_on_asn_change: true,
        }
    }
}

impl Config {
    /// Reports every problem under `detect.session_anomaly.`.
    pub fn validate(&self, p: &mut Problems<'_>) {
        if self.session_hours == 0 {
            p.push("session_hours", "must be at least 1");
        }
    }
}

fn is_placeholder(id: &str) -> bool {
    let id = id.trim();
    id.is_empty()
        || id
            .bytes()
            .all(|b| b == b'0' || b == b'-' || b == b'{' || b == b'}')
}

/// The first sighting of a session: 64 bytes (a day of sign-ins may each start one).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    /// The session id's first hash (its key in [`State::sessions`]), see [`hashes`].
    key: u64,
    /// Time of the first sighting (seconds).
    time: i64,
    /// The first sighting's event id, a UUID ([`UPPER`] case); an id that is no UUID is in
    /// [`State::wide`] ([`WIDE`]).
    event: [u8; 16],
    /// Where the first sighting came from, and what was reported.
    first: Sighting,
    /// The session id's second hash, see [`hashes`].
    check: u32,
    /// Seconds from `time` to the latest sighting (saturating: 136 years).
    since: u32,
    /// The interned user ([`UserId`]).
    user: u32,
    /// The interned user agent ([`Agents`]), 0 for none.
    agent: u32,
    /// [`WIDE`], [`UPPER`].
    more: u8,
}

/// [`Session::more`]: the event id (and an IPv6 address) are in [`State::wide`].
const WIDE: u8 = 1;
/// [`Session::more`]: the event id's UUID was written in upper case.
const UPPER: u8 = 2;

/// What a [`Session`] has no room for: an event id that is no UUID, an IPv6 address.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Wide {
    event: CompactId,
    ip: Option<[u8; 16]>,
}

/// [`State::wide`]: by the session's two hashes (unique among live sessions, see [`hashes`]).
type WideMap = FxHashMap<(u64, u32), Wide>;

/// [`Sighting::flags`]: `asn` is set.
const HAS_ASN: u8 = 1;
/// [`Sighting::flags`]: `ip` is an IPv4 address.
const IPV4: u8 = 2;
/// [`Sighting::flags`]: the IP is an IPv6 address (in [`State::wide`]).
const IPV6: u8 = 4;
/// [`Sighting::flags`]: `country` is set.
const HAS_COUNTRY: u8 = 8;
/// [`Sighting::flags`]: the reported severity (0: none, else 1 + its rank) is in these bits.
const REPORTED_SHIFT: u32 = 4;

/// A session's first network (IPv4, ASN, country) and the severity reported for it, packed
/// in 12 bytes (an IPv6 address is in [`State::wide`]).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Sighting {
    ip: [u8; 4],
    asn: u32,
    country: [u8; 2],
    flags: u8,
}

const SEVERITIES: [Severity; 4] = [
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

impl Sighting {
    fn new(ev: &SignIn, country: Option<Country>) -> Sighting {
        let mut s = Sighting {
            ip: [0; 4],
            asn: ev.asn.unwrap_or(0),
            country: [0; 2],
            flags: if ev.asn.is_some() { HAS_ASN } else { 0 },
        };
        match ev.ip {
            Some(std::net::IpAddr::V4(v4)) => {
                s.ip = v4.octets();
                s.flags |= IPV4;
            }
            Some(std::net::IpAddr::V6(_)) => s.flags |= IPV6,
            None => {}
        }
        if let Some(c) = country {
            s.country.copy_from_slice(c.as_str().as_bytes());
            s.flags |= HAS_COUNTRY;
        }
        s
    }

    fn asn(&self) -> Option<u32> {
        (self.flags & HAS_ASN != 0).then_some(self.asn)
    }

    fn country(&self) -> Option<Country> {
        if self.flags & HAS_COUNTRY == 0 {
            return None;
        }
        std::str::from_utf8(&self.country)
            .ok()
            .and_then(Country::from_code)
    }

    fn reported(&self) -> Option<Severity> {
        let rank = usize::from(self.flags >> REPORTED_SHIFT);
        rank.checked_sub(1).and_then(|i| SEVERITIES.get(i)).copied()
    }

    fn set_reported(&mut self, severity: Severity) {
        let rank = SEVERITIES.iter().position(|&s| s == severity).unwrap_or(0) as u8 + 1;
        self.flags = (self.flags & ((1 << REPORTED_SHIFT) - 1)) | rank << REPORTED_SHIFT;
    }
}

impl Session {
    /// Makes the sighting of `ev` (event id `event`) the session's first: what does not fit
    /// goes to `wide`, whatever an earlier first sighting had there leaves it.
    fn begin(
        &mut self,
        ev: &SignIn,
        event: &CompactId,
        country: Option<Country>,
        wide: &mut WideMap,
    ) {
        if self.more & WIDE != 0 {
            wide.remove(&(self.key, self.check));
        }
        self.first = Sighting::new(ev, country);
        let v6 = match ev.ip {
            Some(std::net::IpAddr::V6(v6)) => Some(v6.octets()),
            _ => None,
        };
        match (event.uuid(), v6) {
            (Some((bytes, upper)), None) => {
                self.event = bytes;
                self.more = if upper { UPPER } else { 0 };
            }
            _ => {
                self.event = [0; 16];
                self.more = WIDE;
                let w = Wide {
                    event: event.clone(),
                    ip: v6,
                };
                wide.insert((self.key, self.check), w);
            }
        }
    }

    /// The first sighting's event id.
    fn event_id(&self, wide: &WideMap) -> CompactId {
        if self.more & WIDE == 0 {
            CompactId::from_uuid(self.event, self.more & UPPER != 0)
        } else {
            wide.get(&(self.key, self.check))
                .map(|w| w.event.clone())
                .unwrap_or_default()
        }
    }

    /// The first sighting's IP.
    fn ip(&self, wide: &WideMap) -> Option<std::net::IpAddr> {
        let flags = self.first.flags;
        if flags & IPV4 != 0 {
            Some(std::net::IpAddr::from(self.first.ip))
        } else if flags & IPV6 != 0 {
            let w = wide.get(&(self.key, self.check))?;
            w.ip.map(std::net::IpAddr::from)
        } else {
            None
        }
    }

    /// Time of the latest sighting.
    fn last(&self) -> i64 {
        self.time.saturating_add(i64::from(self.since))
    }

    /// A sighting at `t` (never moves the latest one back).
    fn seen(&mut self, t: i64) {
        let since = u32::try_from(t.saturating_sub(self.time).max(0)).unwrap_or(u32::MAX);
        self.since = self.since.max(since);
    }
}

/// Two independent 64-bit hashes of a session id: FxHash (the map key) and FNV-1a (the
/// check, its low 32 bits kept). Sessions are keyed by them instead of by the id's text (a heap allocation per
/// session for ids over 24 bytes, like Okta's); two live sessions whose keys collide are
/// told apart by the check, and the later one is kept under its text in
/// `State::collisions`. Only a collision of both hashes at once (2^-96) could merge two
/// sessions.
fn hashes(sid: &str) -> (u64, u32) {
    let mut h = FxHasher::default();
    sid.hash(&mut h);
    let check = sid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (h.finish(), check as u32)
}

/// User agents of live sessions, interned with a reference count (a few distinct agents
/// serve thousands of sessions): id = index + 1; a slot whose count falls to 0 is reused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Agents {
    texts: Vec<CompactString>,
    refs: Vec<u32>,
    /// FxHash of the text → id; rebuilt on load. A text whose hash is taken by another
    /// text gets a slot of its own, unindexed (never shared, still correct).
    #[serde(skip)]
    index: FxHashMap<u64, u32>,
    #[serde(skip)]
    free: Vec<u32>,
}

impl Agents {
    fn hash(text: &str) -> u64 {
        let mut h = FxHasher::default();
        text.hash(&mut h);
        h.finish()
    }

    /// The id of `text` (0 for none), counting one more reference.
    fn intern(&mut self, text: Option<&str>) -> u32 {
        let Some(text) = text else { return 0 };
        let h = Agents::hash(text);
        if let Some(&id) = self.index.get(&h) {
            let i = id as usize - 1;
            if self.texts[i] == text {
                self.refs[i] = self.refs[i].saturating_add(1);
                return id;
            }
        }
        let id = match self.free.pop() {
            Some(id) => {
                let i = id as usize - 1;
                self.texts[i].clear();
                self.texts[i].push_str(text);
                self.refs[i] = 1;
                id
            }
            None => {
                self.texts.push(CompactString::from(text));
                self.refs.push(1);
                u32::try_from(self.texts.len()).unwrap_or(u32::MAX)
            }
        };
        self.index.entry(h).or_insert(id);
        id
    }

    /// Drops one reference to `id`.
    fn release(&mut self, id: u32) {
        let Some(i) = (id as usize).checked_sub(1) else {
            return;
        };
        let Some(refs) = self.refs.get_mut(i) else {
            return;
        };
        *refs = refs.saturating_sub(1);
        if *refs == 0 {
            let h = Agents::hash(&self.texts[i]);
            if self.index.get(&h) == Some(&id) {
                self.index.remove(&h);
            }
            self.texts[i] = CompactString::default();
            self.free.push(id);
        }
    }

    fn text(&self, id: u32) -> Option<&str> {
        let i = (id as usize).checked_sub(1)?;
        self.texts.get(i).map(CompactString::as_str)
    }

    /// Rebuilds the index and free list after loading.
    fn reindex(&mut self) {
        self.index.clear();
        self.free.clear();
        for (i, (text, &refs)) in self.texts.iter().zip(&self.refs).enumerate() {
            let id = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if refs == 0 {
                self.free.push(id);
            } else {
                self.index.entry(Agents::hash(text)).or_insert(id);
            }
        }
    }
}

impl Keyed for Session {
    type Key = u64;
    fn key(&self) -> &u64 {
        &self.key
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// By the session id's first hash (see [`hashes`]); a dense table (a 4-byte slot per
    /// hash bucket), since every sign-in of a day may be a session of its own.
    sessions: Dense<Session>,
    /// Sessions whose first hash was taken by another live session, by their text.
    collisions: FxHashMap<CompactString, Session>,
    /// What sessions have no room for ([`WIDE`]).
    wide: WideMap,
    agents: Agents,
    clock: i64,
    next_sweep: i64,
}

/// The live session `sid` (hashes `key`, `check`) of [`State::sessions`] or
/// [`State::collisions`], if any.
fn find<'a>(
    sessions: &'a mut Dense<Session>,
    collisions: &'a mut FxHashMap<CompactString, Session>,
    (sid, key, check): (&str, u64, u32),
) -> Option<&'a mut Session> {
    match sessions.get_mut(&key) {
        Some(s) if s.check == check => Some(s),
        _ if collisions.is_empty() => None,
        _ => collisions.get_mut(sid),
    }
}

impl State {
    /// The live session `sid` (hashes `key`, `check`), if any.
    #[cfg(test)]
    fn get_mut(&mut self, sid: &str, key: u64, check: u32) -> Option<&mut Session> {
        find(&mut self.sessions, &mut self.collisions, (sid, key, check))
    }

    /// Adds the session `sid` (hashes `s.key`, `s.check`), which is not live.
    fn insert(&mut self, sid: &str, s: Session) {
        match self.sessions.get(&s.key) {
            Some(_) => {
                self.collisions.insert(CompactString::from(sid), s);
            }
            None => self.sessions.insert_new(s),
        }
    }

    /// Forgets sessions idle since before `horizon`.
    fn sweep(&mut self, horizon: i64) {
        let (agents, wide) = (&mut self.agents, &mut self.wide);
        let mut keep = |s: &Session| {
            let live = s.last() >= horizon;
            if !live {
                agents.release(s.agent);
                if s.more & WIDE != 0 {
                    wide.remove(&(s.key, s.check));
                }
            }
            live
        };
        self.sessions.retain(|s| keep(s));
        self.collisions.retain(|_, s| keep(s));
    }
}

/// The `session_anomaly` detector.
#[derive(Debug, Clone)]
pub struct SessionAnomaly {
    config: Config,
    state: State,
}

impl SessionAnomaly {
    /// A detector with the given thresholds and no state.
    pub fn new(config: &Config) -> SessionAnomaly {
        SessionAnomaly {
            config: config.clone(),
            state: State::default(),
        }
    }

    fn lifetime(&self) -> i64 {
        i64::from(self.config.session_hours) * 3600
    }
}

impl Detector for SessionAnomaly {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::Device
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if !self.config.enabled || ev.outcome == Outcome::Failure {
            return;
        }
        let t = ev.time.as_second();
        self.state.clock = self.state.clock.max(t);
        let now = self.state.clock;
        let lifetime = self.lifetime();
        if now >= self.state.next_sweep {
            let horizon = now.saturating_sub(lifetime);
            self.state.sweep(horizon);
            self.state.next_sweep = now.saturating_add((lifetime / 8).max(60));
        }
        let Some(sid) = ev.session_id.as_ref().filter(|s| !is_placeholder(s)) else {
            return;
        };
        let country = ev.geo.as_ref().and_then(|g| g.country);
        let (key, check) = hashes(sid);
        let state = &mut self.state;
        let Some(s) = find(
            &mut state.sessions,
            &mut state.collisions,
            (sid, key, check),
        ) else {
            let agent = state.agents.intern(ev.user_agent.as_deref());
            let mut s = Session {
                key,
                time: t,
                event: [0; 16],
                first: Sighting::new(ev, country),
                check,
                since: 0,
                user: ctx.user.0,
                agent,
                more: 0,
            };
            s.begin(ev, ctx.event_id(), country, &mut state.wide);
            state.insert(sid, s);
            return;
        };
        if t.saturating_sub(s.last()) > lifetime {
            // Expired but not yet swept: this is a new session with a reused id.
            let old = s.agent;
            (s.time, s.since, s.user) = (t, 0, ctx.user.0);
            s.begin(ev, ctx.event_id(), country, &mut state.wide);
            s.agent = state.agents.intern(ev.user_agent.as_deref());
            state.agents.release(old);
            return;
        }
        s.seen(t);
        let new_country = matches!((s.first.country(), country), (Some(a), Some(b)) if a != b);
        let new_asn = matches!((s.first.asn(), ev.asn), (Some(a), Some(b)) if a != b);
        // Compared only when the network changed: the agent's text is another cache line.
        if !(new_country || (new_asn && self.config.alert_on_asn_change)) {
            return;
        }
        let (first_agent, agent) = (state.agents.text(s.agent), ev.user_agent.as_deref());
        let new_agent = matches!((first_agent, agent), (Some(a), Some(b)) if a != b);
        if !new_agent {
            return;
        }
        let first_agent = first_agent.map(CompactString::from);
        let other_user = s.user != ctx.user.0;
        let anonymizing = ev.network.intersects(NetClasses::ANONYMIZING);
        let mut score: u32 = if new_country { 80 } else { 55 };
        if anonymizing {
            score += 10;
        }
        if other_user {
            score += 10;
        }
        let score = score.min(100) as u8;
        let severity = Severity::from_score(score);
        if s.first.reported().is_some_and(|r| r >= severity) {
            return;
        }
        s.first.set_reported(severity);
        let s = s.clone();
        let first_user = if other_user {
            ctx.user_name(UserId(s.user)).unwrap_or_default()
        } else {
            ev.user.as_str()
        };
        let first_event = s.event_id(&state.wide).to_string();
        let first_ip = s.ip(&state.wide);

        let mut users = vec![first_user.to_string()];
        if other_user {
            users.push(ev.user.as_str().to_owned());
        }
        let what = if new_country {
            format!(
                "from {} (first seen in {})",
                country.as_ref().map_or("??", Country::as_str),
                s.first.country().as_ref().map_or("??", Country::as_str)
            )
        } else {
            format!(
                "from AS{} (first seen on AS{})",
                ev.asn.unwrap_or_default(),
                s.first.asn().unwrap_or_default()
            )
        };
        let summary = format!(
            "session {sid} of {first_user} was used {what} with a different browser — likely a stolen session token: revoke the user's sessions and reset their credentials",
        );
        let evidence = serde_json::json!({
            "session_id": sid,
            "first": {
                "event_id": first_event,
                "time": jiff::Timestamp::from_second(s.time).ok(),
                "ip": first_ip,
                "asn": s.first.asn(),
                "country": s.first.country(),
                "user_agent": first_agent,
            },
            "replay": {
                "event_id": ev.event_id,
                "time": ev.time,
                "ip": ev.ip,
                "asn": ev.asn,
                "country": country,
                "user_agent": ev.user_agent,
                "network": ev.network,
            },
            "new_country": new_country,
            "new_asn": new_asn,
            "other_user": other_user,
        });
        out.push(Alert {
            alert_id: alert_id(
                NAME,
                [sid.as_str(), first_event.as_str(), ev.event_id.as_str()],
            ),
            detector: NAME.into(),
            severity,
            score,
            user: Some(first_user.to_string()),
            users,
            time: ev.time,
            event_ids: vec![first_event, ev.event_id.as_str().to_owned()],
            summary,
            evidence,
        });
    }

    fn finish(&mut self, _roster: &Roster, _names: Names<'_>, _out: &mut Vec<Alert>) {}

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        postcard::to_allocvec(&self.state).map_err(|e| Error::encode(NAME, e))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let mut state: State = postcard::from_bytes(bytes).map_err(|e| Error::decode(NAME, e))?;
        if state.agents.texts.len() != state.agents.refs.len() {
            return Err(Error::Inconsistent {
                detector: NAME,
                reason: "user agents and their counts differ in length".into(),
            });
        }
        state.agents.reindex();
        self.state = state;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jetlag_event::{Geo, GeoSource, SignIn, Source};

    use super::*;
    use crate::{DetectConfig, Engine};

    fn session(key: u64, check: u32, agent: u32, last: i64) -> Session {
        Session {
            key,
            time: last,
            event: [0; 16],
            first: Sighting {
                ip: [0; 4],
                asn: 0,
                country: [0; 2],
                flags: 0,
            },
            check,
            since: 0,
            user: 0,
            agent,
            more: 0,
        }
    }

    /// A session's first event id, network and reported severity come back as they went
    /// in, in 64 bytes a session (what does not fit in the wide table, and only as long as
    /// the session holds it).
    #[test]
    fn sightings_pack_losslessly() {
        let mut e = ev("x", "2025-03-01T10:00:00Z", "a@b.c", "RU", 12389, "curl");
        let ru = Country::from_code("RU");
        let mut wide = WideMap::default();
        let mut s = session(1, 1, 0, 100);
        for id in [
            "0231f922-93fa-4005-bb11-b344eca03c01",
            "0231F922-93FA-4005-BB11-B344ECA03C01",
            "pub2a8sCx9ztg2YMi0h7",
        ] {
            let id = CompactId::new(id);
            for (ip, asn) in [
                (Some("203.0.113.7"), Some(12389)),
                (Some("2001:db8::1"), None),
                (None, Some(0)),
            ] {
                e.ip = ip.map(|s| s.parse().unwrap());
                e.asn = asn;
                for country in [ru, None] {
                    s.begin(&e, &id, country, &mut wide);
                    let narrow = id.uuid().is_some() && !ip.is_some_and(|ip| ip.contains(':'));
                    assert_eq!(wide.len(), usize::from(!narrow), "{id} {ip:?}");
                    assert_eq!(s.event_id(&wide), id);
                    let f = s.first;
                    assert_eq!((s.ip(&wide), f.asn(), f.country()), (e.ip, e.asn, country));
                    assert_eq!(s.first.reported(), None);
                    for severity in SEVERITIES {
                        s.first.set_reported(severity);
                        assert_eq!(s.first.reported(), Some(severity));
                        let f = s.first;
                        assert_eq!((s.ip(&wide), f.asn(), f.country()), (e.ip, e.asn, country));
                    }
                }
            }
        }
        assert_eq!(std::mem::size_of::<Session>(), 64);
        let mut s = session(1, 1, 0, 100);
        s.seen(50);
        assert_eq!(s.last(), 100, "a late sighting never moves the latest back");
        s.seen(160);
        assert_eq!(s.last(), 160);
    }

    #[test]
    fn agents_are_shared_counted_and_reused() {
        let mut a = Agents::default();
        let chrome = a.intern(Some("Chrome"));
        assert_eq!(a.intern(Some("Chrome")), chrome);
        let safari = a.intern(Some("Safari"));
        assert_ne!(safari, chrome);
        assert_eq!(a.intern(None), 0);
        a.release(chrome);
        assert_eq!(a.text(chrome), Some("Chrome"), "one reference left");
        a.release(chrome);
        assert_eq!(
            a.intern(Some("Firefox")),
            chrome,
            "the freed slot is reused"
        );
        assert_eq!(a.text(chrome), Some("Firefox"));
        assert_eq!(a.text(safari), Some("Safari"));
        a.release(0); // none: nothing to release, no panic
        a.release(99);
    }

    #[test]
    fn colliding_keys_keep_both_sessions_and_sweep_releases_agents() {
        let mut st = State::default();
        let ua = st.agents.intern(Some("Chrome"));
        st.agents.intern(Some("Chrome"));
        st.insert("one", session(7, 1, ua, 100));
        // Same first hash, another check: kept under its text.
        st.insert("two", session(7, 2, ua, 200));
        assert_eq!(st.get_mut("one", 7, 1).map(|s| s.time), Some(100));
        assert_eq!(st.get_mut("two", 7, 2).map(|s| s.time), Some(200));
        assert!(st.get_mut("three", 7, 3).is_none());
        st.sweep(150);
        assert!(st.get_mut("one", 7, 1).is_none());
        assert_eq!(st.get_mut("two", 7, 2).map(|s| s.time), Some(200));
        st.sweep(250);
        assert!(st.sessions.len() == 0 && st.collisions.is_empty());
        // A session whose id is no UUID leaves the wide table with it.
        let mut s = session(8, 1, 0, 300);
        let e = ev(
            "not-a-uuid",
            "2025-03-01T10:00:00Z",
            "a@b.c",
            "RU",
            1,
            "curl",
        );
        s.begin(&e, &CompactId::new("not-a-uuid"), None, &mut st.wide);
        st.insert("three", s);
        assert_eq!(st.wide.len(), 1);
        st.sweep(350);
        assert!(st.wide.is_empty());
        assert_eq!(st.agents.free, vec![ua], "both references released");
    }

    fn ev(id: &str, t: &str, user: &str, country: &str, asn: u32, agent: &str) -> SignIn {
        let mut e = SignIn::new(id, t.parse().unwrap(), Source::Okta, user, Outcome::Success);
        e.session_id = Some("102AbCdEfGhIjKlMnOpQrStUv".into());
        e.asn = Some(asn);
        e.user_agent = Some(agent.into());
        e.geo = Some(Geo {
            lat: None,
            lon: None,
            radius_km: None,
            city: None,
            region: None,
            country: Country::from_code(country),
            source: GeoSource::Geoip,
        });
        e
    }

    /// The first user of a session is named in the alert though state keeps only their id,
    /// and a snapshot taken between the two sign-ins gives the same alert.
    #[test]
    fn a_session_replayed_by_another_user_names_the_first_one() {
        let mut config = DetectConfig::default();
        for enabled in [
            &mut config.impossible_travel.enabled,
            &mut config.new_country.enabled,
            &mut config.unfamiliar_signin.enabled,
            &mut config.shared_ip.enabled,
            &mut config.shared_device.enabled,
        ] {
            *enabled = false;
        }
        let roster = Arc::new(Roster::empty());
        let first = ev(
            "0231f922-93fa-4005-bb11-b344eca03c01",
            "2025-03-01T10:00:00Z",
            "alice@acme.com",
            "US",
            7922,
            "Chrome",
        );
        let replay = ev(
            "r2",
            "2025-03-01T10:20:00Z",
            "mallory@acme.com",
            "RU",
            12389,
            "curl",
        );
        let mut engine = Engine::new(&config, roster.clone());
        let mut alerts = Vec::new();
        // Another user's session first: user ids 0 and 1 are not the ones named.
        let mut other = ev("x", "2025-03-01T09:00:00Z", "zed@acme.com", "US", 1, "a");
        other.session_id = Some("another-session".into());
        engine.observe(&other, &mut alerts);
        engine.observe(&first, &mut alerts);
        let snap = engine.snapshot().unwrap();
        engine.observe(&replay, &mut alerts);
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.user.as_deref(), Some("alice@acme.com"));
        assert_eq!(a.users, ["alice@acme.com", "mallory@acme.com"]);
        assert_eq!(a.event_ids, [first.event_id.as_str(), "r2"]);
        assert_eq!(a.evidence["first"]["user_agent"], "Chrome");
        assert_eq!(a.evidence["first"]["event_id"], first.event_id.as_str());
        assert!(
            a.summary.contains("of alice@acme.com was used from RU"),
            "{}",
            a.summary
        );

        let mut restored = Engine::restore(&config, roster, &snap).unwrap();
        let mut again = Vec::new();
        restored.observe(&replay, &mut again);
        assert_eq!(
            serde_json::to_string(&again).unwrap(),
            serde_json::to_string(&alerts).unwrap()
        );
    }
}
