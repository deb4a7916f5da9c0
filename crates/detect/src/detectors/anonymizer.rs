//! anonymizer: a successful sign-in through Tor, a proxy, a VPN, a hosting provider or a
//! privacy relay.
//!
//! Severity follows the class (tor above proxy above vpn above hosting above relay: Tor and
//! residential proxies are what intruders and the DPRK IT workers use to hide; a consumer VPN
//! is common and iCloud Private Relay is on by default for many iPhones) and rises for recent
//! hires. An IP also listed as the org's own (`corporate`) is not an anonymizer. Each user
//! alerts once per class per `realert_hours`.
//!
//! The class is the most specific one the IP carries: a vendor's generic proxy flag (Okta's
//! `isProxy` is set for VPN and Tor exits too) yields to an intel list that names the service,
//! so a consumer VPN flagged as a proxy is judged as a VPN. Only a proxy nothing else
//! explains is judged as a proxy. Repeats are context: once a user has been reported for a
//! class, later alerts for it (outside Tor) drop the recent-hire bonus, so a new hire's
//! nightly consumer VPN is reported at medium once, then at its class's own severity.

use jetlag_event::{Alert, NetClass, Outcome, Severity, SignIn};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;
use crate::detector::{Context, Detector, StateKey};
use crate::detectors::{decode, default_recent_hire_days, encode};
use crate::evidence::Obj;
use crate::{Error, alert_id};

const NAME: &str = "anonymizer";

/// The anonymizing classes, most severe first (the order of the per-user state).
const CLASSES: [NetClass; 5] = [
    NetClass::Tor,
    NetClass::Proxy,
    NetClass::Vpn,
    NetClass::Hosting,
    NetClass::Relay,
];

/// The order in which a class is chosen for an IP that carries several: the most specific
/// first, the generic proxy flag last (indexes into [`CLASSES`]).
const SPECIFIC_FIRST: [usize; 5] = [0, 2, 3, 4, 1];

/// `[detect.anonymizer]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector. Default `true`.
    pub enabled: bool,
    /// Score of a Tor sign-in. Default 70 (high): Tor has no business use in most orgs.
    pub tor_score: u8,
    /// Score of an open / residential proxy. Default 50 (medium): residential proxies are
    /// how intruders (and the DPRK IT workers) borrow a US address.
    pub proxy_score: u8,
    /// Score of a commercial VPN exit. Default 35 (low; medium for a recent hire): Astrill
    /// and the like are the DPRK IT workers' documented tool, but consumer VPNs are common.
    pub vpn_score: u8,
    /// Score of a hosting-provider IP. Default 30 (low): a person rarely signs in from a
    /// data centre, but cloud desktops and VPNs on rented servers do.
    pub hosting_score: u8,
    /// Score of a privacy relay (iCloud Private Relay). Default 15 (low): on by default for
    /// many iCloud+ subscribers.
    pub relay_score: u8,
    /// Added for a recent hire the first time they are reported for a class (for Tor, every
    /// time). Default 15.
    pub recent_hire_bonus: u8,
    /// Added when the IP is also on a `malicious` list. Default 15.
    pub malicious_bonus: u8,
    /// Hours before the same user alerts again for the same class. Default 24.
    pub realert_hours: u32,
    /// Users hired fewer than this many days before the sign-in count as recent hires.
    /// Default 90.
    pub recent_hire_days: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            tor_score: 70,
            proxy_score: 50,
            vpn_score: 35,
            hosting_score: 30,
            relay_score: 15,
            recent_hire_bonus: 15,
            malicious_bonus: 15,
            realert_hours: 24,
            recent_hire_days: default_recent_hire_days(),
        }
    }
}

impl Config {
    pub(crate) fn validate(&self, p: &mut Problems<'_>) {
        for (field, v) in [
            ("tor_score", self.tor_score),
            ("proxy_score", self.proxy_score),
            ("vpn_score", self.vpn_score),
            ("hosting_score", self.hosting_score),
            ("relay_score", self.relay_score),
            ("recent_hire_bonus", self.recent_hire_bonus),
            ("malicious_bonus", self.malicious_bonus),
        ] {
            p.in_range(field, v, 0, 100);
        }
        p.in_range("recent_hire_days", self.recent_hire_days, 0, 3650);
    }

    fn score(&self, class: NetClass) -> u8 {
        match class {
            NetClass::Tor => self.tor_score,
            NetClass::Proxy => self.proxy_score,
            NetClass::Vpn => self.vpn_score,
            NetClass::Hosting => self.hosting_score,
            _ => self.relay_score,
        }
    }
}

/// Per user: the hour (since the epoch) of the last alert per class in [`CLASSES`] order,
/// 0 for never.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct User {
    last: [u32; 5],
}

/// The anonymizer detector.
#[derive(Debug)]
pub struct Anonymizer {
    config: Config,
    /// Only users who ever signed in through an anonymizer (sparse).
    users: FxHashMap<u32, User>,
}

impl Anonymizer {
    /// A detector with `config`.
    pub fn new(config: &Config) -> Anonymizer {
        Anonymizer {
            config: config.clone(),
            users: FxHashMap::default(),
        }
    }
}

impl Detector for Anonymizer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::User
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if ev.outcome != Outcome::Success || ev.network.contains(NetClass::Corporate) {
            return;
        }
        let Some(i) = SPECIFIC_FIRST
            .into_iter()
            .find(|&i| ev.network.contains(CLASSES[i]))
        else {
            return;
        };
        let class = CLASSES[i];
        // Hours since the epoch, +1 so that 0 means "never".
        let hour = u32::try_from(ev.time.as_second().max(0) / 3600 + 1).unwrap_or(u32::MAX);
        let user = self.users.entry(ctx.user.0).or_default();
        let last = user.last[i];
        if last != 0 && hour.abs_diff(last) < self.config.realert_hours {
            return;
        }
        user.last[i] = hour;
        // Reported before for this class: the habit is known, only Tor stays at full weight.
        let repeat = last != 0 && class != NetClass::Tor;

        let recent_hire = ctx.is_recent_hire(ev.time, self.config.recent_hire_days);
        let malicious = ev.network.contains(NetClass::Malicious);
        let mut score = u32::from(self.config.score(class));
        if recent_hire && !repeat {
            score += u32::from(self.config.recent_hire_bonus);
        }
        if malicious {
            score += u32::from(self.config.malicious_bonus);
        }
        let score = score.min(100) as u8;
        let what = match class {
            NetClass::Tor => "a Tor exit node",
            NetClass::Proxy => "a proxy",
            NetClass::Vpn => "a VPN exit",
            NetClass::Hosting => "a hosting provider",
            _ => "a privacy relay",
        };
        let ip = ev.ip.map(|ip| ip.to_string());
        let mut summary = format!(
            "{} signed in through {what} ({}",
            ev.user,
            ip.as_deref().unwrap_or("unknown IP")
        );
        if let Some(org) = &ev.as_org {
            summary.push_str(&format!(", {org}"));
        }
        summary.push(')');
        if malicious {
            summary.push_str(", an IP on a threat-intelligence list");
        }
        if recent_hire {
            summary.push_str("; the user is a recent hire");
        }
        if repeat {
            summary.push_str("; already reported for this user before");
        }
        summary.push_str(": ask the user why, and check the session if they cannot say.");
        let classes: Vec<&str> = ev.network.iter().map(|c| c.as_str()).collect();
        let evidence = Obj::new()
            .with("as_org", ev.as_org.as_deref())
            .with("asn", ev.asn)
            .with("class", class.as_str())
            .with(
                "country",
                ev.geo
                    .as_ref()
                    .and_then(|g| g.country)
                    .map(|c| c.as_str().to_owned()),
            )
            .with("ip", ip)
            .with("network", classes)
            .with("recent_hire", recent_hire)
            .with("repeat", repeat)
            .build();
        out.push(Alert {
            alert_id: alert_id(NAME, [ev.event_id.as_str()]),
            detector: NAME.to_string(),
            severity: Severity::from_score(score),
            score,
            user: Some(ev.user.as_str().to_owned()),
            users: vec![ev.user.as_str().to_owned()],
            time: ev.time,
            event_ids: vec![ev.event_id.as_str().to_owned()],
            summary,
            evidence,
        });
    }

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        encode(NAME, &self.users)
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.users = decode(NAME, bytes)?;
        Ok(())
    }
}
