//! The evaluation report: per-detector scores, as a table or JSON.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use jetlag_event::Severity;
use serde::Serialize;

/// One detector's scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DetectorScore {
    /// Attack cases of this detector in the truth.
    pub expected: u64,
    /// Attack cases matched by at least one alert.
    pub found: u64,
    /// true / (true + false); `None` when the detector raised no scored alert.
    pub precision: Option<f64>,
    /// found / expected; `None` when nothing was expected.
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
    /// False alerts per 1,000 benign users.
    pub false_per_1k_benign: f64,
    /// Scored alerts (at or above the minimum severity).
    #[serde(skip)]
    pub alerts: u64,
    /// Alerts matching an attack case of this detector.
    #[serde(skip)]
    pub true_alerts: u64,
    /// Alerts on another detector's attack.
    #[serde(skip)]
    pub collateral: u64,
    /// Alerts on no attack at all.
    #[serde(skip)]
    pub false_alerts: u64,
    /// Benign hard cases of this detector in the truth.
    #[serde(skip)]
    pub benign_cases: u64,
    /// Alerts falling on a benign hard case of this detector.
    #[serde(skip)]
    pub benign_hits: u64,
}

impl DetectorScore {
    pub(crate) fn finish(&mut self, benign_users: u64) {
        let judged = self.true_alerts + self.false_alerts;
        self.precision = (judged > 0).then(|| self.true_alerts as f64 / judged as f64);
        self.recall = (self.expected > 0).then(|| self.found as f64 / self.expected as f64);
        self.f1 = match (self.precision, self.recall) {
            (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
            (_, Some(_)) => Some(0.0),
            _ => None,
        };
        self.false_per_1k_benign = if benign_users == 0 {
            0.0
        } else {
            self.false_alerts as f64 * 1000.0 / benign_users as f64
        };
    }
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Scores by detector name (every detector in the truth or in the alerts).
    pub detectors: BTreeMap<String, DetectorScore>,
    /// Users no attack touched.
    pub benign_users: u64,
    /// The minimum severity scored.
    pub min_severity: Severity,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    detectors: &'a BTreeMap<String, DetectorScore>,
    benign_users: u64,
    min_severity: Severity,
}

impl Report {
    /// `{"detectors": {NAME: {"expected","found","precision","recall","f1",
    /// "false_per_1k_benign"}}, "benign_users", "min_severity"}`; undefined ratios are `null`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&JsonReport {
            detectors: &self.detectors,
            benign_users: self.benign_users,
            min_severity: self.min_severity,
        })
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Detectors whose recall is below `recall` or whose false alerts per 1,000 benign users
    /// exceed `false_per_1k`, with the reason.
    pub fn failures(&self, recall: f64, false_per_1k: f64) -> Vec<String> {
        let mut out = Vec::new();
        for (name, s) in &self.detectors {
            if let Some(r) = s.recall
                && r < recall
            {
                out.push(format!(
                    "{name}: recall {r:.2} < {recall} ({} of {} found)",
                    s.found, s.expected
                ));
            }
            if s.false_per_1k_benign > false_per_1k {
                out.push(format!(
                    "{name}: {:.1} false alerts per 1,000 benign users > {false_per_1k} ({} false)",
                    s.false_per_1k_benign, s.false_alerts
                ));
            }
        }
        out
    }
}

fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"))
}

impl fmt::Display for Report {
    /// A plain-text table, one row per detector and a total.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<18} {:>8} {:>6} {:>7} {:>9} {:>6} {:>5} {:>11} {:>11}",
            "detector",
            "expected",
            "found",
            "alerts",
            "precision",
            "recall",
            "F1",
            "false/1k",
            "benign hit"
        );
        let mut total = DetectorScore::default();
        for (name, d) in &self.detectors {
            let _ = writeln!(
                s,
                "{:<18} {:>8} {:>6} {:>7} {:>9} {:>6} {:>5} {:>11.2} {:>11}",
                name,
                d.expected,
                d.found,
                d.alerts,
                ratio(d.precision),
                ratio(d.recall),
                ratio(d.f1),
                d.false_per_1k_benign,
                format!("{}/{}", d.benign_hits, d.benign_cases),
            );
            total.expected += d.expected;
            total.found += d.found;
            total.alerts += d.alerts;
            total.true_alerts += d.true_alerts;
            total.false_alerts += d.false_alerts;
            total.benign_cases += d.benign_cases;
            total.benign_hits += d.benign_hits;
        }
        total.finish(self.benign_users);
        let _ = writeln!(
            s,
            "{:<18} {:>8} {:>6} {:>7} {:>9} {:>6} {:>5} {:>11.2} {:>11}",
            "all",
            total.expected,
            total.found,
            total.alerts,
            ratio(total.precision),
            ratio(total.recall),
            ratio(total.f1),
            total.false_per_1k_benign,
            format!("{}/{}", total.benign_hits, total.benign_cases),
        );
        let _ = write!(
            s,
            "alerts at severity >= {}; {} benign users; false = alerts on no injected attack",
            self.min_severity, self.benign_users
        );
        f.write_str(&s)
    }
}
