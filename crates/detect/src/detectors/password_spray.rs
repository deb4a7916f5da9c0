//! `password_spray`: one IP failing against many accounts, and the success that may follow.
//!
//! A spray tries one or two common passwords against many accounts from one address, slowly
//! enough to stay under per-account lockout (MITRE ATT&CK T1110.003; Microsoft's Entra ID
//! Protection raises "password spray" on the same shape). The signal is one IP with failed
//! sign-ins against at least `min_users` distinct users within `window_minutes`; `user` is
//! null and `users` lists the targets. A successful sign-in from that IP while the spray is
//! live is critical: evidence `compromised` names the account that was broken into.
//!
//! State is keyed by IP. Re-alert policy: the spray is reported once no new target has been
//! tried for `settle_minutes` (or at the end of a batch), listing every target; while it
//! stays live it is reported again only when its targets have doubled or its severity rose,
//! so a slow spray running for days is a handful of alerts. Each success from the spraying
//! IP is reported at once, one critical alert per compromised account. Corporate egress IPs
//! are left out (hundreds of colleagues mistyping behind one office NAT look like a spray).

use std::net::IpAddr;

use jetlag_event::{Alert, NetClass, Outcome, Severity, SignIn};
use jetlag_roster::Roster;
use serde::{Deserialize, Serialize};

use super::incident::{Incidents, Reporter, Roll, advance, report_all, validate_min_users};
use super::{decode, encode};
use crate::config::Problems;
use crate::{Context, Detector, Error, Names, StateKey, UserId, alert_id};

const NAME: &str = "password_spray";

/// `[detect.password_spray]`: one IP failing against many accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the detector runs. Default true.
    pub enabled: bool,
    /// Distinct users with failed sign-ins from one IP that make a spray. Default 20 (the
    /// issue; Microsoft's spray guidance looks at tens of accounts per source).
    pub min_users: usize,
    /// How far apart those failures may be, in minutes. Default 60.
    pub window_minutes: u32,
    /// Report once no new target has been tried for this long, in minutes. Default 10.
    pub settle_minutes: u32,
    /// A success from the spraying IP up to this many minutes after its last failure is a
    /// compromise (critical). Default 60.
    pub success_window_minutes: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            min_users: 20,
            window_minutes: 60,
            settle_minutes: 10,
            success_window_minutes: 60,
        }
    }
}

impl Config {
    /// Reports every problem under `detect.password_spray.`.
    pub fn validate(&self, p: &mut Problems<'_>) {
        validate_min_users(p, self.min_users);
        if self.window_minutes == 0 {
            p.push("window_minutes", "must be at least 1");
        }
        if self.settle_minutes > self.window_minutes {
            p.push(
                "settle_minutes",
                format_args!(
                    "must not exceed window_minutes ({}), got {}",
                    self.window_minutes, self.settle_minutes
                ),
            );
        }
    }
}

/// What `password_spray` keeps per IP besides its targets (the group's members; the group's
/// `last_seen` is the time of the IP's latest failure).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Spray {
    /// Failed sign-ins in the live spray.
    failures: u64,
    /// Accounts already reported as broken into from this IP ([`UserId`] numbers).
    compromised: Vec<u32>,
    /// Distinct targets and score of the last report of the live spray (0: none yet).
    reported_targets: usize,
    reported_score: u8,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    ips: Incidents<IpAddr, (), Spray>,
}

/// The `password_spray` detector.
#[derive(Debug, Clone)]
pub struct PasswordSpray {
    config: Config,
    state: State,
}

/// What a report is about.
enum Trigger<'a> {
    /// The spray itself (failures only).
    Spray,
    /// A success from the spraying IP, of the given user.
    Success(&'a SignIn, UserId),
}

impl PasswordSpray {
    /// A detector with the given thresholds and no state.
    pub fn new(config: &Config) -> PasswordSpray {
        PasswordSpray {
            config: config.clone(),
            state: State::default(),
        }
    }

    fn window(&self) -> i64 {
        i64::from(self.config.window_minutes) * 60
    }

    fn settle(&self) -> i64 {
        i64::from(self.config.settle_minutes) * 60
    }

    fn success_window(&self) -> i64 {
        i64::from(self.config.success_window_minutes) * 60
    }

    fn report(&mut self, ip: IpAddr, trigger: Trigger<'_>, names: Names<'_>, out: &mut Vec<Alert>) {
        let window_minutes = self.config.window_minutes;
        let min_users = self.config.min_users;
        let ips = &mut self.state.ips;
        let Some(st) = ips.groups.get_mut(&ip) else {
            return;
        };
        st.pending = false;
        let n = st.members.len();
        let spray_score = (50 + (n.saturating_sub(min_users) / 10).min(20)) as u8;
        if matches!(trigger, Trigger::Spray) {
            // A live spray is re-reported only when its targets have doubled or its score
            // band rose: a slow spray running for days is one alert, not one per burst.
            if st.extra.reported_targets > 0
                && n < 2 * st.extra.reported_targets
                && Severity::from_score(spray_score)
                    <= Severity::from_score(st.extra.reported_score)
            {
                return;
            }
            st.extra.reported_score = spray_score;
        }
        st.extra.reported_targets = st.extra.reported_targets.max(n);
        let (last_failure, join) = (st.last_seen, st.join());
        let failures = st.extra.failures;
        let Roll {
            mut users,
            new_users,
            mut event_ids,
            first,
            by_name,
            ..
        } = Roll::take(st, names);
        let new_targets = new_users.len();
        let ip_text = ip.to_string();
        let (severity, score, time, compromised, summary) = match trigger {
            Trigger::Spray => {
                let score = spray_score;
                let time = join.unwrap_or(last_failure);
                let summary = format!(
                    "{ip_text} failed to sign in to {n} different accounts ({failures} attempts) within {window_minutes} min — a password spray: block the IP and check these accounts for weak passwords",
                );
                (Severity::from_score(score), score, time, None, summary)
            }
            Trigger::Success(ev, user) => {
                let was_target = by_name.iter().any(|t| t.user == user.0);
                let score = if was_target { 95 } else { 90 };
                event_ids.push(ev.event_id.as_str().to_owned());
                if !was_target {
                    users.push(ev.user.as_str().to_owned());
                }
                let summary = format!(
                    "{} signed in successfully from {ip_text} right after it sprayed passwords at {n} accounts — treat the account as compromised: reset its password and revoke its sessions",
                    ev.user
                );
                (
                    Severity::Critical,
                    score,
                    ev.time.as_second(),
                    Some(ev.user.as_str().to_owned()),
                    summary,
                )
            }
        };
        users.sort_unstable();
        users.dedup();
        let id = alert_id(
            NAME,
            std::iter::once(ip_text.as_str()).chain(event_ids.iter().map(String::as_str)),
        );
        let evidence = serde_json::json!({
            "ip": ip_text,
            "distinct_targets": n,
            "new_targets": new_targets,
            "failures": failures,
            "window_minutes": window_minutes,
            "first_failure": (n > 0).then(|| jiff::Timestamp::from_second(first).ok()).flatten(),
            "last_failure": jiff::Timestamp::from_second(last_failure).ok(),
            "compromised": compromised.as_slice(),
        });
        out.push(Alert {
            alert_id: id,
            detector: NAME.into(),
            severity,
            score,
            user: None,
            users,
            time: jiff::Timestamp::from_second(time).unwrap_or_default(),
            event_ids,
            summary,
            evidence,
        });
    }
}

impl Reporter for PasswordSpray {
    type Key = IpAddr;
    type Member = ();
    type Extra = Spray;

    fn incidents(&mut self) -> &mut Incidents<IpAddr, (), Spray> {
        &mut self.state.ips
    }

    fn report(&mut self, ip: IpAddr, names: Names<'_>, out: &mut Vec<Alert>) {
        PasswordSpray::report(self, ip, Trigger::Spray, names, out);
    }
}

impl Detector for PasswordSpray {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::Ip
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if !self.config.enabled {
            return;
        }
        let t = ev.time.as_second();
        let (window, settle) = (self.window(), self.settle());
        let keep = window.max(self.success_window());
        let now = advance(
            self,
            (t, ctx.names()),
            settle,
            (keep, (window / 4).max(60)),
            out,
        );
        let Some(ip) = ev.ip else { return };
        if ev.network.contains(NetClass::Corporate) {
            return;
        }
        match ev.outcome {
            Outcome::Failure => {
                let horizon = now.saturating_sub(window);
                let min_users = self.config.min_users;
                self.state.ips.update(&ip, |mut entry| {
                    let st = &mut *entry.group;
                    st.prune(horizon);
                    let live = st.join().is_some() && now.saturating_sub(st.last_seen) <= keep;
                    if st.join().is_some() && !live && st.members.len() < min_users {
                        // The spray is over: a later one is a new incident.
                        st.end_incident();
                        st.extra.compromised.clear();
                        st.extra.reported_targets = 0;
                        st.extra.reported_score = 0;
                    }
                    if st.members.is_empty() {
                        st.extra.failures = 0;
                    }
                    st.extra.failures += 1;
                    st.last_seen = st.last_seen.max(t);
                    entry.sign_in(ctx, t, (min_users, settle), || ());
                });
            }
            Outcome::Success => {
                let success_window = self.success_window();
                let Some(st) = self.state.ips.groups.get_mut(&ip) else {
                    return;
                };
                let live = st.join().is_some() && t.saturating_sub(st.last_seen) <= success_window;
                if !live || st.extra.compromised.contains(&ctx.user.0) {
                    return;
                }
                st.extra.compromised.push(ctx.user.0);
                self.report(ip, Trigger::Success(ev, ctx.user), ctx.names(), out);
            }
            Outcome::Unknown => {}
        }
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
