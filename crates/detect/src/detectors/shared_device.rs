//! `shared_device`: one device (or MFA authenticator) completing sign-ins for several
//! identities.
//!
//! Microsoft Threat Intelligence ("Jasper Sleet: North Korean remote IT workers", June 2025)
//! saw one authenticator approving sign-ins for several worker accounts: a facilitator or a
//! worker holding many identities on one device. Honest people do not share a registered
//! device or a YubiKey. The signal is one `device_id` used in successful sign-ins by at least
//! `min_users` distinct users within `window_hours`.
//!
//! State is keyed by device. Placeholder ids that vendors write for unregistered devices
//! (empty, all zeros as in Entra's `00000000-0000-0000-0000-000000000000`) are ignored.
//! Re-alert policy as `shared_ip`: reported once no new identity has joined for
//! `settle_minutes` (or at the end of a batch), listing every identity; later joiners start
//! another report; identities already reported never re-alert.

use compact_str::CompactString;
use jetlag_event::{Alert, Outcome, Severity, SignIn};
use jetlag_roster::Roster;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;
use crate::{Context, Detector, Error, StateKey, alert_id};

const NAME: &str = "shared_device";

/// `[detect.shared_device]`: one device used by several identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the detector runs. Default true.
    pub enabled: bool,
    /// Distinct users on one device that make an incident. Default 2 (the issue: a device
    /// or authenticator is personal).
    pub min_users: usize,
    /// How far apart those sign-ins may be, in hours. Default 168 (one week: a worker
    /// juggling identities uses each at least weekly).
    pub window_hours: u32,
    /// Report once no new identity has joined for this long, in minutes. Default 60.
    pub settle_minutes: u32,
    /// Recent hire threshold in days (raises severity). Default 90.
    pub recent_hire_days: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            min_users: 2,
            window_hours: 168,
            settle_minutes: 60,
            recent_hire_days: 90,
        }
    }
}

impl Config {
    /// Reports every problem under `detect.shared_device.`.
    pub fn validate(&self, p: &mut Problems<'_>) {
        if self.min_users < 2 {
            p.push(
                "min_users",
                format_args!("must be 2 or more, got {}", self.min_users),
            );
        }
        if self.window_hours == 0 {
            p.push("window_hours", "must be at least 1");
        }
        if u64::from(self.settle_minutes) > u64::from(self.window_hours) * 60 {
            p.push(
                "settle_minutes",
                format_args!(
                    "must not exceed the window ({} h), got {}",
                    self.window_hours, self.settle_minutes
                ),
            );
        }
        if self.recent_hire_days < 0 {
            p.push(
                "recent_hire_days",
                format_args!("must be zero or more, got {}", self.recent_hire_days),
            );
        }
    }
}

/// Whether a device id is a vendor placeholder rather than a real device.
fn is_placeholder(id: &str) -> bool {
    let id = id.trim();
    id.is_empty()
        || id
            .bytes()
            .all(|b| b == b'0' || b == b'-' || b == b'{' || b == b'}')
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    user: CompactString,
    tenant: Option<CompactString>,
    first_event: CompactString,
    first_time: i64,
    last_time: i64,
    recent_hire: bool,
    reported: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DeviceState {
    members: Vec<Member>,
    /// A lower bound of the members' `last_time`: pruning is skipped while it is in the
    /// window (no scan of the members on every event).
    oldest: i64,
    incident_join: Option<i64>,
    pending: bool,
    last_seen: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    devices: FxHashMap<CompactString, DeviceState>,
    clock: i64,
    next_sweep: i64,
    pending: Vec<CompactString>,
    next_due: i64,
}

/// The `shared_device` detector.
#[derive(Debug, Clone)]
pub struct SharedDevice {
    config: Config,
    state: State,
}

impl SharedDevice {
    /// A detector with the given thresholds and no state.
    pub fn new(config: &Config) -> SharedDevice {
        SharedDevice {
            config: config.clone(),
            state: State {
                next_due: i64::MAX,
                ..State::default()
            },
        }
    }

    fn window(&self) -> i64 {
        i64::from(self.config.window_hours) * 3600
    }

    fn settle(&self) -> i64 {
        i64::from(self.config.settle_minutes) * 60
    }

    fn flush_due(&mut self, now: i64, out: &mut Vec<Alert>) {
        if now < self.state.next_due {
            return;
        }
        let settle = self.settle();
        let mut due = Vec::new();
        let mut next_due = i64::MAX;
        let devices = &self.state.devices;
        self.state.pending.retain(|d| {
            let Some(join) = devices
                .get(d)
                .filter(|st| st.pending)
                .and_then(|st| st.incident_join)
            else {
                return false;
            };
            let at = join.saturating_add(settle);
            if at <= now {
                due.push(d.clone());
                false
            } else {
                next_due = next_due.min(at);
                true
            }
        });
        self.state.next_due = next_due;
        due.sort_unstable();
        for d in due {
            self.report(&d, out);
        }
    }

    fn report(&mut self, device: &str, out: &mut Vec<Alert>) {
        let min_users = self.config.min_users;
        let recent_days = self.config.recent_hire_days;
        let Some(st) = self.state.devices.get_mut(device) else {
            return;
        };
        st.pending = false;
        let mut members: Vec<&Member> = st.members.iter().collect();
        members.sort_by(|a, b| a.user.cmp(&b.user));
        let users: Vec<String> = members.iter().map(|m| m.user.to_string()).collect();
        let new_users: Vec<&str> = members
            .iter()
            .filter(|m| !m.reported)
            .map(|m| m.user.as_str())
            .collect();
        let recent: Vec<&str> = members
            .iter()
            .filter(|m| m.recent_hire)
            .map(|m| m.user.as_str())
            .collect();
        let mut tenants: Vec<&str> = members.iter().filter_map(|m| m.tenant.as_deref()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let mut by_time = members.clone();
        by_time.sort_by(|a, b| {
            (a.first_time, a.first_event.as_str()).cmp(&(b.first_time, b.first_event.as_str()))
        });
        let event_ids: Vec<String> = by_time.iter().map(|m| m.first_event.to_string()).collect();
        let first = by_time.first().map_or(0, |m| m.first_time);

        let n = members.len();
        let extra = (n.saturating_sub(min_users).min(2) as u32) * 10;
        let hires = if recent.is_empty() { 0 } else { 10 };
        let cross_tenant = if tenants.len() >= 2 { 10 } else { 0 };
        let score = (50 + extra + hires + cross_tenant).min(100) as u8;

        let id = alert_id(
            NAME,
            std::iter::once(device).chain(event_ids.iter().map(String::as_str)),
        );
        let hire_note = if recent.is_empty() {
            String::new()
        } else {
            format!(
                ", {} of them hired in the last {recent_days} days",
                recent.len()
            )
        };
        let summary = format!(
            "one device {device} completed successful sign-ins for {n} different accounts ({}){hire_note} — devices and authenticators are personal: find out who holds it",
            users.join(", ")
        );
        let evidence = serde_json::json!({
            "device_id": device,
            "distinct_users": n,
            "new_users": new_users,
            "recent_hires": recent,
            "tenants": tenants,
            "window_hours": self.config.window_hours,
            "first_seen": jiff::Timestamp::from_second(first).ok(),
            "last_seen": jiff::Timestamp::from_second(st.last_seen).ok(),
        });
        let time =
            jiff::Timestamp::from_second(st.incident_join.unwrap_or(first)).unwrap_or_default();
        for m in &mut st.members {
            m.reported = true;
        }
        out.push(Alert {
            alert_id: id,
            detector: NAME.into(),
            severity: Severity::from_score(score),
            score,
            user: None,
            users,
            time,
            event_ids,
            summary,
            evidence,
        });
    }

    fn sweep(&mut self, now: i64) {
        let horizon = now.saturating_sub(self.window());
        self.state
            .devices
            .retain(|_, st| st.last_seen >= horizon || st.pending);
        self.state.next_sweep = now.saturating_add((self.window() / 8).max(60));
    }
}

impl Detector for SharedDevice {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::Device
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if !self.config.enabled {
            return;
        }
        let t = ev.time.as_second();
        self.state.clock = self.state.clock.max(t);
        let now = self.state.clock;
        self.flush_due(now, out);
        if now >= self.state.next_sweep {
            self.sweep(now);
        }
        if ev.outcome != Outcome::Success {
            return;
        }
        let Some(device) = ev.device_id.as_ref().filter(|d| !is_placeholder(d)) else {
            return;
        };
        let horizon = now.saturating_sub(self.window());
        let min_users = self.config.min_users;
        let recent_hire_days = self.config.recent_hire_days;
        let st = match self.state.devices.get_mut(device.as_str()) {
            Some(st) => st,
            None => self.state.devices.entry(device.clone()).or_default(),
        };
        st.last_seen = st.last_seen.max(t);
        if st.oldest < horizon {
            st.members.retain(|m| m.last_time >= horizon);
            st.oldest = st.members.iter().map(|m| m.last_time).min().unwrap_or(t);
        }
        if st.members.len() < min_users {
            st.incident_join = None;
            st.pending = false;
            for m in &mut st.members {
                m.reported = false;
            }
        }
        let joined = match st.members.iter_mut().find(|m| m.user == ev.user) {
            Some(m) => {
                m.last_time = m.last_time.max(t);
                false
            }
            None => {
                st.oldest = st.oldest.min(t);
                st.members.push(Member {
                    user: ev.user.clone(),
                    tenant: ev.tenant.clone(),
                    first_event: ev.event_id.clone(),
                    first_time: t,
                    last_time: t,
                    // Judged when the user joins: no date arithmetic per event.
                    recent_hire: ctx.is_recent_hire(ev.time, recent_hire_days),
                    reported: false,
                });
                true
            }
        };
        if st.members.len() >= min_users && (joined || st.incident_join.is_none()) {
            st.incident_join = Some(st.incident_join.map_or(t, |j| j.max(t)));
            if !st.pending {
                st.pending = true;
                self.state.pending.push(device.clone());
            }
            self.state.next_due = self.state.next_due.min(t.saturating_add(self.settle()));
        }
    }

    fn finish(&mut self, _roster: &Roster, out: &mut Vec<Alert>) {
        if self.config.enabled {
            self.state.next_due = i64::MIN;
            self.flush_due(i64::MAX, out);
        }
    }

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        postcard::to_allocvec(&self.state).map_err(|e| Error::encode(NAME, e))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = postcard::from_bytes(bytes).map_err(|e| Error::decode(NAME, e))?;
        Ok(())
    }
}
