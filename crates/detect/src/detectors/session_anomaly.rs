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

use compact_str::CompactString;
use jetlag_event::{Alert, Country, NetClasses, Outcome, Severity, SignIn};
use jetlag_roster::Roster;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;
use crate::{Context, Detector, Error, StateKey, alert_id};

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

/// The first sighting of a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    user: CompactString,
    event: CompactString,
    time: i64,
    last: i64,
    ip: Option<std::net::IpAddr>,
    asn: Option<u32>,
    country: Option<Country>,
    user_agent: Option<CompactString>,
    reported: Option<Severity>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    sessions: FxHashMap<CompactString, Session>,
    clock: i64,
    next_sweep: i64,
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

    fn observe(&mut self, ev: &SignIn, _ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if !self.config.enabled || ev.outcome == Outcome::Failure {
            return;
        }
        let t = ev.time.as_second();
        self.state.clock = self.state.clock.max(t);
        let now = self.state.clock;
        let lifetime = self.lifetime();
        if now >= self.state.next_sweep {
            let horizon = now.saturating_sub(lifetime);
            self.state.sessions.retain(|_, s| s.last >= horizon);
            self.state.next_sweep = now.saturating_add((lifetime / 8).max(60));
        }
        let Some(sid) = ev.session_id.as_ref().filter(|s| !is_placeholder(s)) else {
            return;
        };
        let country = ev.geo.as_ref().and_then(|g| g.country);
        let Some(s) = self.state.sessions.get_mut(sid.as_str()) else {
            self.state.sessions.insert(
                sid.clone(),
                Session {
                    user: ev.user.clone(),
                    event: ev.event_id.clone(),
                    time: t,
                    last: t,
                    ip: ev.ip,
                    asn: ev.asn,
                    country,
                    user_agent: ev.user_agent.clone(),
                    reported: None,
                },
            );
            return;
        };
        if t.saturating_sub(s.last) > lifetime {
            // Expired but not yet swept: this is a new session with a reused id.
            *s = Session {
                user: ev.user.clone(),
                event: ev.event_id.clone(),
                time: t,
                last: t,
                ip: ev.ip,
                asn: ev.asn,
                country,
                user_agent: ev.user_agent.clone(),
                reported: None,
            };
            return;
        }
        s.last = s.last.max(t);
        let new_country = matches!((s.country, country), (Some(a), Some(b)) if a != b);
        let new_asn = matches!((s.asn, ev.asn), (Some(a), Some(b)) if a != b);
        let new_agent = matches!((&s.user_agent, &ev.user_agent), (Some(a), Some(b)) if a != b);
        if !new_agent || !(new_country || (new_asn && self.config.alert_on_asn_change)) {
            return;
        }
        let other_user = s.user != ev.user;
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
        if s.reported.is_some_and(|r| r >= severity) {
            return;
        }
        s.reported = Some(severity);

        let mut users = vec![s.user.to_string()];
        if other_user {
            users.push(ev.user.to_string());
        }
        let what = if new_country {
            format!(
                "from {} (first seen in {})",
                country.as_ref().map_or("??", Country::as_str),
                s.country.as_ref().map_or("??", Country::as_str)
            )
        } else {
            format!(
                "from AS{} (first seen on AS{})",
                ev.asn.unwrap_or_default(),
                s.asn.unwrap_or_default()
            )
        };
        let summary = format!(
            "session {sid} of {} was used {what} with a different browser — likely a stolen session token: revoke the user's sessions and reset their credentials",
            s.user
        );
        let evidence = serde_json::json!({
            "session_id": sid,
            "first": {
                "event_id": s.event,
                "time": jiff::Timestamp::from_second(s.time).ok(),
                "ip": s.ip,
                "asn": s.asn,
                "country": s.country,
                "user_agent": s.user_agent,
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
            alert_id: alert_id(NAME, [sid.as_str(), s.event.as_str(), ev.event_id.as_str()]),
            detector: NAME.into(),
            severity,
            score,
            user: Some(s.user.to_string()),
            users,
            time: ev.time,
            event_ids: vec![s.event.to_string(), ev.event_id.to_string()],
            summary,
            evidence,
        });
    }

    fn finish(&mut self, _roster: &Roster, _out: &mut Vec<Alert>) {}

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        postcard::to_allocvec(&self.state).map_err(|e| Error::encode(NAME, e))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = postcard::from_bytes(bytes).map_err(|e| Error::decode(NAME, e))?;
        Ok(())
    }
}
