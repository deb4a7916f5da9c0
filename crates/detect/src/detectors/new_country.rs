//! new_country: a successful sign-in from a country this user has never used, weighted by
//! how rare that country is in the org.
//!
//! Sign-ins through networks that hide the user's location (VPN, Tor, proxy, relay, hosting,
//! corporate egress, satellite) say nothing about the user's country and are left out. A
//! user with no history yet is judged from the first event against the roster's
//! `work_country` and the org's baseline: there is no blind learning period.
//!
//! The org figures (users per country, users with a located sign-in) are the ones frozen at
//! the start of the current population epoch ([`crate::population`]): a sign-in is compared
//! with the organisation as it stood then, so that `scan` and a partitioned stream agree.
//!
//! Severity is the country's rarity in the org: a country 5 % or more of the users sign in
//! from (an office country, the usual business trip) is `low` context even for a recent
//! hire; under `rare_share` it is medium, under a tenth of it more; high-risk countries,
//! a roster mismatch on a first sign-in and recent hires add to that.

use jetlag_event::{Alert, Country, NetClasses, Outcome, Severity, SignIn};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;
use crate::detector::{Context, Detector, StateKey, UserId};
use crate::detectors::{
    decode, default_high_risk_countries, default_recent_hire_days, encode, per_user,
};
use crate::evidence::{Obj, push_fmt};
use crate::population::Figures;
use crate::{Error, alert_id};

const NAME: &str = "new_country";

/// Countries remembered per user (the least recently used is forgotten beyond this).
const HISTORY: usize = 6;

/// `[detect.new_country]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector. Default `true`.
    pub enabled: bool,
    /// A country used by fewer than this share of the org's users is rare. Default 0.01
    /// (1 %): in a typical org a handful of countries cover 99 % of users.
    pub rare_share: f64,
    /// Users with a located sign-in the org must have before its baseline is trusted to
    /// judge a newcomer without a roster country. Default 20.
    pub min_org_users: u32,
    /// Countries (ISO alpha-2) that raise severity. Default KP, CN, RU, IR, BY, SY, CU.
    pub high_risk_countries: Vec<Country>,
    /// Users hired fewer than this many days before the sign-in get a higher score.
    /// Default 90.
    pub recent_hire_days: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            rare_share: 0.01,
            min_org_users: 20,
            high_risk_countries: default_high_risk_countries(),
            recent_hire_days: default_recent_hire_days(),
        }
    }
}

impl Config {
    pub(crate) fn validate(&self, p: &mut Problems<'_>) {
        p.in_range("rare_share", self.rare_share, 0.0, 1.0);
        p.in_range("recent_hire_days", self.recent_hire_days, 0, 3650);
    }
}

/// A user's countries as two ASCII letters each (`[0, 0]` = empty), most recently used
/// last: 12 bytes a user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Countries {
    items: [[u8; 2]; HISTORY],
}

fn pack(c: Country) -> [u8; 2] {
    let b = c.as_str().as_bytes();
    [b[0], b[1]]
}

impl Countries {
    fn len(&self) -> usize {
        self.items.iter().take_while(|c| **c != [0, 0]).count()
    }

    /// Marks `c` as just used; `false` if it was not known.
    fn touch(&mut self, c: Country) -> bool {
        let c = pack(c);
        let len = self.len();
        match self.items[..len].iter().position(|x| *x == c) {
            Some(i) => {
                self.items[i..len].rotate_left(1);
                true
            }
            None => {
                if len == HISTORY {
                    self.items.rotate_left(1);
                    self.items[HISTORY - 1] = c;
                } else {
                    self.items[len] = c;
                }
                false
            }
        }
    }

    fn list(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.items[..self.len()]
            .iter()
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        v.sort_unstable();
        v
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    users: Vec<Countries>,
    /// Country → users who signed in from it, frozen at the start of the epoch.
    org: FxHashMap<Country, u32>,
    /// Users with at least one located sign-in, frozen at the start of the epoch.
    org_users: u32,
    /// This engine's contributions since the epoch began.
    pending: Figures,
}

/// The new-country detector.
#[derive(Debug)]
pub struct NewCountry {
    config: Config,
    state: State,
}

impl NewCountry {
    /// A detector with `config`.
    pub fn new(config: &Config) -> NewCountry {
        NewCountry {
            config: config.clone(),
            state: State::default(),
        }
    }
}

impl Detector for NewCountry {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::User
    }

    fn prefetch(&self, user: UserId) {
        if let Some(known) = self.state.users.get(user.index()) {
            jetlag_event::hint::prefetch(known);
        }
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if ev.outcome != Outcome::Success || ev.network.intersects(NetClasses::HIDES_LOCATION) {
            return;
        }
        let Some(country) = ev.geo.as_ref().and_then(|g| g.country) else {
            return;
        };
        let state = &mut self.state;
        let known = per_user(&mut state.users, ctx.user);
        if known.touch(country) {
            return; // known: the common case, no allocation
        }
        let first = known.len() == 1;
        let previous: Vec<&str> = known
            .list()
            .into_iter()
            .filter(|c| *c != country.as_str())
            .collect();
        // The org baseline as of the start of the epoch; this sign-in counts from the next.
        let in_country = state.org.get(&country).copied().unwrap_or(0);
        let org_users = state.org_users;
        let pending = state.pending.country_users.entry(country).or_insert(0);
        *pending = pending.saturating_add(1);
        if first {
            state.pending.located_users = state.pending.located_users.saturating_add(1);
        }

        let work = ctx.employee.and_then(|e| e.work_country);
        let high_risk = self.config.high_risk_countries.contains(&country);
        let baseline = org_users >= self.config.min_org_users;
        let share = f64::from(in_country) / f64::from(org_users.max(1));
        let rare = baseline && share < self.config.rare_share;
        let alert = if work == Some(country) {
            false // new for the user, but where HR says they work
        } else if !first {
            true
        } else {
            // No history: judge against the roster, then the org's baseline.
            work.is_some() || rare || high_risk
        };
        if !alert {
            return;
        }

        let recent_hire = ctx.is_recent_hire(ev.time, self.config.recent_hire_days);
        let mut summary = String::with_capacity(192);
        summary.push_str(&ev.user);
        summary.push_str(" signed in from ");
        summary.push_str(country.as_str());
        summary.push_str(" for the first time");
        if !previous.is_empty() {
            summary.push_str(" (before: ");
            for (i, c) in previous.iter().enumerate() {
                if i > 0 {
                    summary.push_str(", ");
                }
                summary.push_str(c);
            }
            summary.push(')');
        } else if let Some(w) = work {
            summary.push_str(", though the roster says they work in ");
            summary.push_str(w.as_str());
        }
        summary.push_str("; ");
        // Low (20) for a country many colleagues use — a business trip to an office
        // country; medium from rarity (under `rare_share`), a high-risk country, or a
        // roster mismatch on a newcomer or a recent hire in a country the org barely knows.
        let mut score = 20.0;
        if !baseline {
            score += 10.0;
            summary.push_str("the org has too few users yet to say how rare it is");
        } else if share < self.config.rare_share / 10.0 {
            score += 35.0;
            push_fmt(
                &mut summary,
                format_args!("{in_country} of {org_users} users have used it before"),
            );
        } else if share < self.config.rare_share {
            score += 25.0;
            push_fmt(
                &mut summary,
                format_args!("only {in_country} of {org_users} users have used it before"),
            );
        } else if share < self.config.rare_share * 5.0 {
            score += 10.0;
            push_fmt(
                &mut summary,
                format_args!("{in_country} of {org_users} users have used it before"),
            );
        } else {
            push_fmt(
                &mut summary,
                format_args!("it is common in the org ({in_country} of {org_users} users)"),
            );
        }
        if high_risk {
            score += 30.0;
        }
        if first && work.is_some() {
            score += 10.0;
        }
        if recent_hire {
            score += 10.0;
        }
        let score = (score as u8).min(100);
        if high_risk {
            summary.push_str("; a high-risk country");
        }
        if recent_hire {
            summary.push_str("; the user is a recent hire");
        }
        summary.push_str(": confirm the trip with the user.");
        let evidence = Obj::new()
            .with("country", country.as_str())
            .with("high_risk", high_risk)
            .with("org_share", (share * 1e4).round() / 1e4)
            .with("org_users", org_users)
            .with("org_users_in_country", in_country)
            .with(
                "previous_countries",
                previous.into_iter().map(str::to_owned).collect::<Vec<_>>(),
            )
            .with("recent_hire", recent_hire)
            .with("work_country", work.map(|w| w.as_str().to_owned()))
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
        encode(NAME, &self.state)
    }

    fn uses_population(&self) -> bool {
        true
    }

    fn take_population(&mut self, into: &mut Figures) {
        let p = std::mem::take(&mut self.state.pending);
        for (c, n) in p.country_users {
            let e = into.country_users.entry(c).or_insert(0);
            *e = e.saturating_add(n);
        }
        into.located_users = into.located_users.saturating_add(p.located_users);
    }

    fn merge_population(&mut self, delta: &Figures) {
        for (c, n) in &delta.country_users {
            let e = self.state.org.entry(*c).or_insert(0);
            *e = e.saturating_add(*n);
        }
        self.state.org_users = self.state.org_users.saturating_add(delta.located_users);
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = decode(NAME, bytes)?;
        Ok(())
    }
}
