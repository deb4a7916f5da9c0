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
use serde::{Deserialize, Serialize};

use super::incident::{Incidents, Interner, Reporter, Roll, advance, report_all, validate_hours};
use super::{decode, encode};
use crate::config::Problems;
use crate::{Context, Detector, Error, Names, StateKey, alert_id};

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
        validate_hours(
            p,
            self.min_users,
            self.window_hours,
            self.settle_minutes,
            self.recent_hire_days,
        );
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

/// What `shared_device` keeps of a member besides the common [`Member`](super::incident::Member) fields.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct DeviceMember {
    /// The record's tenant, interned in [`State::tenants`].
    tenant: u32,
    /// Judged when the user joins: no date arithmetic per event.
    recent_hire: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    devices: Incidents<CompactString, DeviceMember, ()>,
    tenants: Interner,
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
            state: State::default(),
        }
    }

    fn window(&self) -> i64 {
        i64::from(self.config.window_hours) * 3600
    }

    fn settle(&self) -> i64 {
        i64::from(self.config.settle_minutes) * 60
    }

    fn report(&mut self, device: &str, names: Names<'_>, out: &mut Vec<Alert>) {
        let min_users = self.config.min_users;
        let recent_days = self.config.recent_hire_days;
        let State { devices, tenants } = &mut self.state;
        let Some(st) = devices.groups.get_mut(device) else {
            return;
        };
        let (last_seen, join) = (st.last_seen, st.join());
        let roll = Roll::take(st, names);
        let recent = roll.names(|m| m.recent_hire);
        let tenants = roll.distinct(tenants, |m| m.tenant);

        let n = roll.by_name.len();
        let extra = (n.saturating_sub(min_users).min(2) as u32) * 10;
        let hires = if recent.is_empty() { 0 } else { 10 };
        let cross_tenant = if tenants.len() >= 2 { 10 } else { 0 };
        let score = (50 + extra + hires + cross_tenant).min(100) as u8;

        let id = alert_id(
            NAME,
            std::iter::once(device).chain(roll.event_ids.iter().map(String::as_str)),
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
            roll.users.join(", ")
        );
        let evidence = serde_json::json!({
            "device_id": device,
            "distinct_users": n,
            "new_users": roll.new_users,
            "recent_hires": recent,
            "tenants": tenants,
            "window_hours": self.config.window_hours,
            "first_seen": jiff::Timestamp::from_second(roll.first).ok(),
            "last_seen": jiff::Timestamp::from_second(last_seen).ok(),
        });
        let time = jiff::Timestamp::from_second(join.unwrap_or(roll.first)).unwrap_or_default();
        let Roll {
            users, event_ids, ..
        } = roll;
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
}

impl Reporter for SharedDevice {
    type Key = CompactString;
    type Member = DeviceMember;
    type Extra = ();

    fn incidents(&mut self) -> &mut Incidents<CompactString, DeviceMember, ()> {
        &mut self.state.devices
    }

    fn report(&mut self, device: CompactString, names: Names<'_>, out: &mut Vec<Alert>) {
        SharedDevice::report(self, &device, names, out);
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
        let (window, settle) = (self.window(), self.settle());
        let now = advance(
            self,
            (t, ctx.names()),
            settle,
            (window, (window / 8).max(60)),
            out,
        );
        if ev.outcome != Outcome::Success {
            return;
        }
        let Some(device) = ev.device_id.as_ref().filter(|d| !is_placeholder(d)) else {
            return;
        };
        let horizon = now.saturating_sub(window);
        let min_users = self.config.min_users;
        let recent_hire_days = self.config.recent_hire_days;
        let State { devices, tenants } = &mut self.state;
        devices.update(device, |mut entry| {
            let st = &mut *entry.group;
            st.last_seen = st.last_seen.max(t);
            st.prune(horizon);
            if st.members.len() < min_users {
                st.end_incident();
            }
            entry.sign_in(ctx, t, (min_users, settle), || {
                DeviceMember {
                    tenant: tenants.id(ev.tenant.as_deref()),
                    // Judged when the user joins: no date arithmetic per event.
                    recent_hire: ctx.is_recent_hire(ev.time, recent_hire_days),
                }
            });
        });
    }

    fn finish(&mut self, _roster: &Roster, names: Names<'_>, out: &mut Vec<Alert>) {
        if self.config.enabled {
            report_all(self, self.settle(), names, out);
        }
    }

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        encode(NAME, &self.state)
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = decode(NAME, bytes)?;
        Ok(())
    }
}
