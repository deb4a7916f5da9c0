//! jetlag's evaluation: scores a run's alerts against a simulation's truth.
//!
//! [`read_truth`] loads `truth.jsonl` (written by `jetlag simulate`), [`read_alerts`] the
//! alerts `jetlag scan` printed (JSONL; bad lines are reported, not fatal), and [`evaluate`]
//! matches them:
//!
//! - an alert **matches** a truth case when it has the same detector, names at least one of
//!   the case's users (in `user` or `users`, so IP-centric detectors match by their target
//!   set), and its time falls in the case's window;
//! - **expected** counts a detector's attack cases, **found** those matched by at least one
//!   alert, **recall** = found / expected;
//! - an alert is **true** when it matches an attack case of its detector, **collateral** when
//!   it matches none but names a user of an attack of another detector inside that attack's
//!   window (a takeover also trips `unfamiliar_signin`: not a false alarm, not this
//!   detector's finding), and **false** otherwise; **precision** = true / (true + false);
//! - **false_per_1k_benign** = false alerts per 1,000 users that no attack touched.
//!
//! Only alerts at or above [`Options::min_severity`] (default medium) take part.
#![deny(missing_docs)]

mod error;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use jetlag_event::{Severity, Timestamp};
use jetlag_simulate::{Label, TruthCase, TruthLine, TruthOrg};
use serde::Deserialize;

pub use error::Error;
pub use report::{DetectorScore, Report};

/// A simulation's truth: the organisation line and every case.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// The organisation line.
    pub org: TruthOrg,
    /// Attack and benign cases.
    pub cases: Vec<TruthCase>,
}

/// The fields of an alert the evaluation reads (any other fields are ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScoredAlert {
    /// Detector name.
    pub detector: String,
    /// Severity.
    pub severity: Severity,
    /// The user, for user-centric alerts.
    #[serde(default)]
    pub user: Option<String>,
    /// Every identity involved.
    #[serde(default)]
    pub users: Vec<String>,
    /// Time of the triggering event.
    pub time: Timestamp,
}

/// A line of the alerts file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line number.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// Evaluation options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Alerts below this severity are ignored.
    pub min_severity: Severity,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_severity: Severity::Medium,
        }
    }
}

/// Reads `truth.jsonl`.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Truth`] naming the line of a malformed
/// truth line or a missing organisation line (a truth file is machine-written: any damage
/// makes the whole evaluation meaningless, so it is not skipped).
pub fn read_truth(path: &Path) -> Result<Truth, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    parse_truth(std::io::BufReader::new(file), path)
}

/// Parses truth lines from any reader; `path` only names the source in errors.
///
/// # Errors
/// As [`read_truth`].
pub fn parse_truth(reader: impl BufRead, path: &Path) -> Result<Truth, Error> {
    let mut org = None;
    let mut cases = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Truth {
            path: path.into(),
            line: i as u64 + 1,
            reason,
        };
        match serde_json::from_str::<TruthLine>(&line) {
            Ok(TruthLine::Org(o)) if o.kind == "org" => org = Some(o),
            Ok(TruthLine::Org(o)) => return Err(bad(format!("unknown line kind '{}'", o.kind))),
            Ok(TruthLine::Case(c)) => {
                if c.users.is_empty() {
                    return Err(bad("a case with no users".into()));
                }
                if c.end < c.start {
                    return Err(bad("a case whose window ends before it starts".into()));
                }
                cases.push(c);
            }
            Err(e) => return Err(bad(format!("not a truth line: {e}"))),
        }
    }
    let org = org.ok_or_else(|| Error::Truth {
        path: path.into(),
        line: 0,
        reason: "no organisation line ({\"kind\":\"org\",...})".into(),
    })?;
    Ok(Truth { org, cases })
}

/// Reads alerts (JSONL, as `jetlag scan` prints them). Lines that are not alerts are returned
/// as rejects with their line number; the rest are read.
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened or read.
pub fn read_alerts(path: &Path) -> Result<(Vec<ScoredAlert>, Vec<Reject>), Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    parse_alerts(std::io::BufReader::new(file), path)
}

/// Parses alerts from any reader; `path` only names the source in errors.
///
/// # Errors
/// As [`read_alerts`].
pub fn parse_alerts(
    reader: impl BufRead,
    path: &Path,
) -> Result<(Vec<ScoredAlert>, Vec<Reject>), Error> {
    let mut alerts = Vec::new();
    let mut rejects = Vec::new();
    for (i, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<ScoredAlert>(text) {
            Ok(a) => alerts.push(a),
            Err(e) => rejects.push(Reject {
                line: i as u64 + 1,
                reason: e.to_string(),
            }),
        }
    }
    Ok((alerts, rejects))
}

fn names(a: &ScoredAlert) -> impl Iterator<Item = &str> {
    a.user
        .iter()
        .map(String::as_str)
        .chain(a.users.iter().map(String::as_str))
}

/// Scores `alerts` against `truth`.
pub fn evaluate(truth: &Truth, alerts: &[ScoredAlert], opts: Options) -> Report {
    let attacked: HashSet<&str> = truth
        .cases
        .iter()
        .filter(|c| c.kind == Label::Attack)
        .flat_map(|c| c.users.iter().map(String::as_str))
        .collect();
    let benign_users = truth.org.users.saturating_sub(attacked.len() as u64);
    let mut scores: BTreeMap<String, DetectorScore> = BTreeMap::new();
    // Cases indexed by user, so an alert only looks at the cases naming one of its users.
    let mut by_user: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in truth.cases.iter().enumerate() {
        for u in &c.users {
            by_user.entry(u.as_str()).or_default().push(i);
        }
        let s = scores.entry(c.detector.clone()).or_default();
        match c.kind {
            Label::Attack => s.expected += 1,
            Label::Benign => s.benign_cases += 1,
        }
    }
    let mut found: HashSet<usize> = HashSet::new();
    let mut candidates: Vec<usize> = Vec::new();
    for a in alerts.iter().filter(|a| a.severity >= opts.min_severity) {
        candidates.clear();
        for n in names(a) {
            candidates.extend(by_user.get(n).map(Vec::as_slice).unwrap_or(&[]));
        }
        candidates.sort_unstable();
        candidates.dedup();
        let s = scores.entry(a.detector.clone()).or_default();
        s.alerts += 1;
        let (mut own_attack, mut other_attack) = (false, false);
        for &i in &candidates {
            let c = &truth.cases[i];
            if !(c.start <= a.time && a.time <= c.end) {
                continue;
            }
            match (c.kind, c.detector == a.detector) {
                (Label::Attack, true) => {
                    own_attack = true;
                    found.insert(i);
                }
                (Label::Attack, false) => other_attack = true,
                (Label::Benign, true) => s.benign_hits += 1,
                (Label::Benign, false) => {}
            }
        }
        if own_attack {
            s.true_alerts += 1;
        } else if other_attack {
            s.collateral += 1;
        } else {
            s.false_alerts += 1;
        }
    }
    for idx in found {
        if let Some(s) = scores.get_mut(&truth.cases[idx].detector) {
            s.found += 1;
        }
    }
    for s in scores.values_mut() {
        s.finish(benign_users);
    }
    Report {
        detectors: scores,
        benign_users,
        min_severity: opts.min_severity,
    }
}
