//! Per-user risk: fuse every alert that names a user into one 0–100 risk, a level, the
//! contributing alerts and a one-line explanation.
//!
//! The model (see `docs/DESIGN.md`, "Why noisy-OR with a tenure prior?") treats each
//! detector as an independent witness. An alert of detector `d` with score `s` says the
//! account is bad with probability `p = weight_d · s / 100`; independent witnesses combine by
//! noisy-OR, `risk = 1 − Π (1 − p_d)`, written as a sum of hazards `λ_d = −ln(1 − p_d)` so
//! that the roster's tenure can scale the total: `risk = 1 − exp(−m · Σ λ_d)`, with `m` above
//! 1 for a recent hire and below 1 for a long-tenured employee. Several weak, independent
//! signals on a new hire therefore outrank one strong signal on a ten-year employee, and
//! repeats of one detector count for little (they are one witness saying the same thing).
//!
//! ```
//! use jetlag_event::{Alert, Severity};
//! use jetlag_roster::Roster;
//! use jetlag_score::{Config, Scorer};
//!
//! let alert = Alert {
//!     alert_id: "a1".into(),
//!     detector: "impossible_travel".into(),
//!     severity: Severity::High,
//!     score: 80,
//!     user: Some("kim@example.com".into()),
//!     users: vec!["kim@example.com".into()],
//!     time: "2025-03-01T12:00:00Z".parse().unwrap(),
//!     event_ids: vec!["e1".into(), "e2".into()],
//!     summary: "kim signed in from New York then Moscow 20 minutes later".into(),
//!     evidence: serde_json::json!({}),
//! };
//! let mut scorer = Scorer::new(Config::default());
//! scorer.add(&alert);
//! let users = scorer.users(&Roster::empty());
//! assert_eq!(users[0].user, "kim@example.com");
//! assert!(users[0].risk > 50);
//! ```
#![deny(missing_docs)]

use std::collections::BTreeMap;

use compact_str::CompactString;
use jetlag_event::{Alert, Severity, Timestamp};
use jetlag_roster::Roster;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// How alerts are fused into a user's risk. Every figure is a default that the `[score]`
/// table of the configuration file may override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How much an alert of each detector, at score 100, says the account is bad (0–1).
    /// Detectors not listed use `default_weight`. Defaults: 0.9 for signals that are hard to
    /// explain innocently (impossible_travel, shared_ip, shared_device, session_anomaly),
    /// 0.8 for location_mismatch, 0.7 for unfamiliar_signin, 0.6 for new_country, anonymizer
    /// and off_hours (common among honest travellers, VPN users and night owls) — judgement
    /// figures, tuned so that the fusion cases in the tests hold.
    pub weights: BTreeMap<String, f64>,
    /// Weight of detectors missing from `weights`. Default 0.7.
    pub default_weight: f64,
    /// Weight of a password-spray alert for a user who was only targeted (no success from
    /// the spraying IP). Being sprayed is not the user's doing. Default 0.15.
    pub spray_target_weight: f64,
    /// How much each further alert of the same detector adds, as a share of its own hazard
    /// (repeats are one witness repeating itself, not new evidence). Default 0.25.
    pub repeat_factor: f64,
    /// Hazard multiplier for a user hired fewer than `recent_hire_days` days before the
    /// alert. Default 2.0: the North-Korean IT-worker scheme and most account fraud hit new
    /// accounts (Microsoft Threat Intelligence, "Jasper Sleet", June 2025).
    pub recent_hire_factor: f64,
    /// What "recent hire" means, in days. Default 90 (as the detectors).
    pub recent_hire_days: i64,
    /// Multiplier for a tenure under one year (past `recent_hire_days`). Default 1.3.
    pub first_year_factor: f64,
    /// Multiplier for a tenure of five to ten years. Default 0.75.
    pub tenured_factor: f64,
    /// Multiplier for a tenure of ten years or more. Default 0.5.
    pub long_tenured_factor: f64,
}

impl Default for Config {
    fn default() -> Config {
        let weights = [
            ("impossible_travel", 0.9),
            ("shared_ip", 0.9),
            ("shared_device", 0.9),
            ("session_anomaly", 0.9),
            ("password_spray", 1.0),
            ("location_mismatch", 0.8),
            ("unfamiliar_signin", 0.7),
            ("new_country", 0.6),
            ("anonymizer", 0.6),
            ("off_hours", 0.6),
        ]
        .into_iter()
        .map(|(d, w)| (d.to_owned(), w))
        .collect();
        Config {
            weights,
            default_weight: 0.7,
            spray_target_weight: 0.15,
            repeat_factor: 0.25,
            recent_hire_factor: 2.0,
            recent_hire_days: 90,
            first_year_factor: 1.3,
            tenured_factor: 0.75,
            long_tenured_factor: 0.5,
        }
    }
}

impl Config {
    /// Every problem with the configuration, each prefixed `score.<field>: `; empty when valid.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut unit = |name: &str, v: f64| {
            if !(0.0..=1.0).contains(&v) {
                problems.push(format!("score.{name}: {v} is not between 0 and 1"));
            }
        };
        for (detector, &w) in &self.weights {
            unit(&format!("weights.{detector}"), w);
        }
        unit("default_weight", self.default_weight);
        unit("spray_target_weight", self.spray_target_weight);
        unit("repeat_factor", self.repeat_factor);
        for (name, v) in [
            ("recent_hire_factor", self.recent_hire_factor),
            ("first_year_factor", self.first_year_factor),
            ("tenured_factor", self.tenured_factor),
            ("long_tenured_factor", self.long_tenured_factor),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 10.0) {
                problems.push(format!("score.{name}: {v} is not in (0, 10]"));
            }
        }
        if self.recent_hire_days < 0 {
            problems.push(format!(
                "score.recent_hire_days: {} is negative",
                self.recent_hire_days
            ));
        }
        problems
    }

    fn weight(&self, detector: &str) -> f64 {
        self.weights
            .get(detector)
            .copied()
            .unwrap_or(self.default_weight)
    }

    /// The hazard multiplier for a tenure, in days (`None`: not on the roster or no hire date).
    fn tenure_factor(&self, tenure_days: Option<i64>) -> f64 {
        match tenure_days {
            None => 1.0,
            Some(d) if d < self.recent_hire_days => self.recent_hire_factor,
            Some(d) if d < 365 => self.first_year_factor,
            Some(d) if d < 5 * 365 => 1.0,
            Some(d) if d < 10 * 365 => self.tenured_factor,
            Some(_) => self.long_tenured_factor,
        }
    }
}

/// One alert as it contributes to a user's risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The alert's id.
    pub alert_id: String,
    /// The detector that raised it.
    pub detector: String,
    /// Its severity.
    pub severity: Severity,
    /// Its score, 0–100.
    pub score: u8,
    /// Its time.
    pub time: Timestamp,
}

/// A user's fused risk: one JSON line of `jetlag scan --users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRisk {
    /// The user (lower-cased login).
    pub user: String,
    /// Combined risk, 0–100.
    pub risk: u8,
    /// The risk's band (same bands as alert severities: <40 low, <65 medium, <85 high).
    pub level: Severity,
    /// Days from the roster hire date to the user's latest alert; `null` when unknown.
    pub tenure_days: Option<i64>,
    /// The alerts that name this user, highest score first.
    pub alerts: Vec<Contribution>,
    /// One line saying why.
    pub explanation: String,
}

/// Collects alerts and fuses them per user. Add alerts in any order: the result does not
/// depend on it.
#[derive(Debug, Clone)]
pub struct Scorer {
    config: Config,
    by_user: FxHashMap<CompactString, Vec<Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    contribution: Contribution,
    /// Probability that this alert alone means the account is bad, for this user.
    p: f64,
    /// A password-spray alert that only targeted this user (no success for them).
    targeted: bool,
}

impl Scorer {
    /// A scorer with no alerts yet.
    pub fn new(config: Config) -> Scorer {
        Scorer {
            config,
            by_user: FxHashMap::default(),
        }
    }

    /// Adds an alert: it counts for `user` and for every identity in `users`.
    pub fn add(&mut self, alert: &Alert) {
        let names = alert.user.iter().chain(&alert.users);
        // A spray alert may name thousands of targets: dedupe with a set, not a scan.
        let mut seen: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
        seen.reserve(alert.users.len() + 1);
        for name in names {
            if !seen.insert(name.as_str()) {
                continue;
            }
            let targeted = alert.detector == "password_spray" && !compromised(alert, name);
            let weight = if targeted {
                self.config.spray_target_weight
            } else {
                self.config.weight(&alert.detector)
            };
            let p = (weight * f64::from(alert.score.min(100)) / 100.0).clamp(0.0, 0.99);
            self.by_user
                .entry(CompactString::from(name.as_str()))
                .or_default()
                .push(Entry {
                    contribution: Contribution {
                        alert_id: alert.alert_id.clone(),
                        detector: alert.detector.clone(),
                        severity: alert.severity,
                        score: alert.score,
                        time: alert.time,
                    },
                    p,
                    targeted,
                });
        }
    }

    /// Every user with at least one alert, riskiest first (ties by user name).
    pub fn users(&self, roster: &Roster) -> Vec<UserRisk> {
        let mut out: Vec<UserRisk> = self
            .by_user
            .iter()
            .map(|(user, entries)| self.fuse(user, entries, roster))
            .collect();
        out.sort_by(|a, b| b.risk.cmp(&a.risk).then_with(|| a.user.cmp(&b.user)));
        out
    }

    fn fuse(&self, user: &str, entries: &[Entry], roster: &Roster) -> UserRisk {
        let mut entries: Vec<&Entry> = entries.iter().collect();
        // Highest evidence first; ties broken by id so the order never depends on input.
        entries.sort_by(|a, b| {
            b.p.total_cmp(&a.p)
                .then_with(|| b.contribution.score.cmp(&a.contribution.score))
                .then_with(|| a.contribution.alert_id.cmp(&b.contribution.alert_id))
        });
        entries.dedup_by(|a, b| a.contribution.alert_id == b.contribution.alert_id);

        // Hazard per detector: the strongest alert, plus a fraction of the repeats, capped at
        // twice the strongest.
        // Entries are strongest first, so the first of each detector is its strongest.
        let mut per_detector: BTreeMap<&str, (f64, f64, &Entry)> = BTreeMap::new();
        for e in &entries {
            let hazard = -(1.0 - e.p).ln();
            per_detector
                .entry(e.contribution.detector.as_str())
                .and_modify(|slot| slot.1 += hazard)
                .or_insert((hazard, 0.0, e));
        }
        let hazard: f64 = per_detector
            .values()
            .map(|&(first, rest, _)| first + (self.config.repeat_factor * rest).min(first))
            .sum();

        let latest = entries.iter().map(|e| e.contribution.time).max();
        let tenure_days = latest.and_then(|t| roster.tenure_days(user, t));
        let factor = self.config.tenure_factor(tenure_days);
        let risk = (100.0 * (1.0 - (-factor * hazard).exp()))
            .round()
            .clamp(0.0, 100.0) as u8;
        let level = Severity::from_score(risk);

        // The strongest alert of each detector, strongest detector first.
        let mut signals: Vec<(&str, &'static str, f64)> = per_detector
            .iter()
            .map(|(&d, &(first, _, e))| {
                let how = if e.targeted {
                    "targeted only"
                } else {
                    e.contribution.severity.as_str()
                };
                (d, how, first)
            })
            .collect();
        signals.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(b.0)));
        let explanation = explain(
            risk,
            level,
            &signals,
            tenure_days,
            factor,
            &self.config,
            entries.len(),
        );

        UserRisk {
            user: user.to_owned(),
            risk,
            level,
            tenure_days,
            alerts: entries
                .into_iter()
                .map(|e| e.contribution.clone())
                .collect(),
            explanation,
        }
    }
}

/// Whether a password-spray alert says `user` was signed in to from the spraying IP
/// (evidence `compromised`: a list of users).
fn compromised(alert: &Alert, user: &str) -> bool {
    alert
        .evidence
        .get("compromised")
        .and_then(|v| v.as_array())
        .is_some_and(|list| list.iter().any(|u| u.as_str() == Some(user)))
}

fn explain(
    risk: u8,
    level: Severity,
    signals: &[(&str, &str, f64)],
    tenure_days: Option<i64>,
    factor: f64,
    config: &Config,
    alerts: usize,
) -> String {
    let list = signals
        .iter()
        .map(|(d, sev, _)| format!("{d} ({sev})"))
        .collect::<Vec<_>>()
        .join(", ");
    let n = signals.len();
    let signals_text = if n == 1 {
        format!("1 signal: {list}")
    } else {
        format!("{n} independent signals: {list}")
    };
    let repeats = if alerts > n {
        format!(" over {alerts} alerts")
    } else {
        String::new()
    };
    let tenure = match tenure_days {
        None => "tenure unknown".to_owned(),
        Some(d) if d < config.recent_hire_days => {
            format!("new hire ({d} days), risk weighted ×{factor}")
        }
        Some(d) if d >= 365 => {
            let years = d / 365;
            if factor < 1.0 {
                format!("employed {years} years, risk weighted ×{factor}")
            } else {
                format!("employed {years} years")
            }
        }
        Some(d) => format!("employed {d} days, risk weighted ×{factor}"),
    };
    format!("risk {risk} ({level}): {signals_text}{repeats}; {tenure}")
}

/// Fuses a batch of alerts: [`Scorer::add`] each, then [`Scorer::users`].
pub fn score_users<'a>(
    alerts: impl IntoIterator<Item = &'a Alert>,
    roster: &Roster,
    config: Config,
) -> Vec<UserRisk> {
    let mut scorer = Scorer::new(config);
    for a in alerts {
        scorer.add(a);
    }
    scorer.users(roster)
}
