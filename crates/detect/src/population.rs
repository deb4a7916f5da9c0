//! Org-wide population figures, frozen per epoch.
//!
//! Two detectors weigh a sign-in against the whole organisation: `new_country` (how many
//! users have used a country) and `unfamiliar_signin` (how often each country, ASN,
//! user-agent family, app and hour occurs). A detector reads these figures **as they stood
//! at the start of the current epoch** (`[detect.population] epoch_s`, event time, aligned
//! on the Unix epoch) and adds its own contributions to a pending [`Figures`] that joins the
//! frozen ones when the next epoch begins.
//!
//! Freezing is what lets a partitioned deployment give exactly `jetlag scan`'s results: a
//! `by-user` Kafka partition sees only its own users, but the figures are sums, so the
//! figures frozen at the start of epoch *e* are the sum over every partition of its
//! contributions of the epochs before *e*. Each partition publishes its [`Figures`] per
//! finished epoch and merges everyone's ([`Engine::share_population`](crate::Engine::share_population)).
//! A user's own history (is this country new *for them*?) stays with the user's detector
//! state; only the counts travel.

use jetlag_event::Country;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;

/// The population features of `unfamiliar_signin`, in order.
pub const FEATURES: usize = 5;

/// `[detect.population]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Length in seconds of the epoch the org-wide figures of `new_country` and
    /// `unfamiliar_signin` are frozen for: a sign-in is weighed against the population as
    /// it stood at the start of its epoch (event time, epochs aligned on 1970-01-01 UTC).
    /// Default 3600 (one hour): the first hour of a fresh deployment has no baseline (the
    /// detectors' `min_org_users` / `min_population` keep it quiet), after that the
    /// figures lag by at most an hour — org-wide shares move over days, not minutes — and
    /// a Kafka deployment exchanges one small record per partition per hour of event time.
    /// On the simulated organisations (seeds 11 and 23, `jetlag eval`) an hour costs one
    /// false medium new_country alert per 882 benign users on one seed and no recall; 900
    /// gives exactly the live figures' results, a day 44–64 false per 1,000 (DESIGN.md).
    /// Every worker of a deployment, and any `scan` it is compared with, must use the
    /// same value. Between 60 and 604800 (a week).
    pub epoch_s: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config { epoch_s: 3600 }
    }
}

impl Config {
    pub(crate) fn validate(&self, p: &mut Problems<'_>) {
        p.in_range("epoch_s", self.epoch_s, 60, 604_800);
    }

    /// The epoch length in seconds, clamped to the valid range (never zero).
    pub fn epoch_seconds(&self) -> i64 {
        self.epoch_s.clamp(60, 604_800) as i64
    }
}

/// Additive population figures: one epoch's contributions of one engine (a *delta*), or
/// the sum of many (the frozen figures a detector reads). Values are keyed by what they
/// are, never by an engine's local ids, so deltas of different engines add up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// `new_country`: country → users for whom it was new (a user counts again only
    /// after forgetting the country).
    pub country_users: FxHashMap<Country, u32>,
    /// `new_country`: users who got their first located sign-in.
    pub located_users: u32,
    /// `unfamiliar_signin`: per feature (country, ASN, user-agent family, app, hour), value
    /// key → successful sign-ins with it.
    pub feature_counts: [FxHashMap<u64, u32>; FEATURES],
    /// `unfamiliar_signin`: successful sign-ins.
    pub signins: u64,
}

impl Figures {
    /// No contribution at all.
    pub fn is_empty(&self) -> bool {
        self.country_users.is_empty()
            && self.located_users == 0
            && self.signins == 0
            && self.feature_counts.iter().all(|m| m.is_empty())
    }

    /// Adds `other` (saturating).
    ///
    /// # Example
    /// ```
    /// use jetlag_detect::population::Figures;
    /// let mut a = Figures::default();
    /// a.signins = 2;
    /// a.feature_counts[4].insert(3, 2);
    /// let mut b = Figures::default();
    /// b.signins = 1;
    /// b.feature_counts[4].insert(3, 1);
    /// a.add(&b);
    /// assert_eq!((a.signins, a.feature_counts[4][&3]), (3, 3));
    /// ```
    pub fn add(&mut self, other: &Figures) {
        for (c, n) in &other.country_users {
            let e = self.country_users.entry(*c).or_insert(0);
            *e = e.saturating_add(*n);
        }
        self.located_users = self.located_users.saturating_add(other.located_users);
        for (mine, theirs) in self.feature_counts.iter_mut().zip(&other.feature_counts) {
            for (k, n) in theirs {
                let e = mine.entry(*k).or_insert(0);
                *e = e.saturating_add(*n);
            }
        }
        self.signins = self.signins.saturating_add(other.signins);
    }
}

/// The epoch of a time in seconds since the Unix epoch.
pub fn epoch_of(seconds: i64, epoch_s: i64) -> i64 {
    seconds.div_euclid(epoch_s.max(1))
}

/// The engine's side of the epochs: which epoch the frozen figures are for, and in a
/// shared deployment the deltas received and the ones to publish.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Clock {
    /// Epoch length (seconds).
    pub epoch_s: i64,
    /// The epoch the frozen figures are for (every contribution of earlier epochs is in).
    pub current: i64,
    /// Contributions of epochs before this have been sealed (shared mode).
    pub closed: i64,
    /// Shared mode: deltas come from [`Clock::inbox`] instead of the engine's own.
    pub shared: bool,
    /// Received deltas by epoch, not merged yet.
    pub inbox: std::collections::BTreeMap<i64, Figures>,
    /// Own sealed deltas by epoch, to publish.
    pub outbox: Vec<(i64, Figures)>,
}

impl Clock {
    pub(crate) fn new(epoch_s: i64) -> Clock {
        Clock {
            epoch_s,
            current: i64::MIN,
            closed: i64::MIN,
            shared: false,
            inbox: Default::default(),
            outbox: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_aligned_and_floor_negative_times() {
        assert_eq!(epoch_of(0, 3600), 0);
        assert_eq!(epoch_of(3599, 3600), 0);
        assert_eq!(epoch_of(3600, 3600), 1);
        assert_eq!(epoch_of(-1, 3600), -1);
        assert_eq!(epoch_of(5, 0), 5, "a zero length never divides by zero");
    }

    #[test]
    fn figures_add_up_and_saturate() {
        let mut a = Figures::default();
        assert!(a.is_empty());
        let fr = Country::from_code("FR").unwrap();
        a.country_users.insert(fr, u32::MAX);
        let mut b = Figures::default();
        b.country_users.insert(fr, 2);
        b.located_users = 1;
        a.add(&b);
        assert_eq!(a.country_users[&fr], u32::MAX);
        assert_eq!(a.located_users, 1);
        assert!(!a.is_empty());
    }
}
