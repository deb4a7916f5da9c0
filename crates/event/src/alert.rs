//! The alert a detector raises.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// How urgent an alert is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look in aggregate; never pages anyone.
    Low,
    /// Investigate.
    Medium,
    /// Investigate now.
    High,
    /// Act now (block, revoke sessions).
    Critical,
}

impl Severity {
    /// The name as written in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The band a 0–100 score falls in: <40 low, <65 medium, <85 high, else critical.
    pub const fn from_score(score: u8) -> Severity {
        match score {
            0..40 => Severity::Low,
            40..65 => Severity::Medium,
            65..85 => Severity::High,
            _ => Severity::Critical,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity '{s}' (expected low, medium, high or critical)"
            )),
        }
    }
}

/// One alert, in the JSONL shape `jetlag scan` prints (see `CONTRACT.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable id: the same input gives the same id.
    pub alert_id: String,
    /// The detector's name (`impossible_travel`, `shared_ip`, ...).
    pub detector: String,
    /// Severity band.
    pub severity: Severity,
    /// Score 0–100.
    pub score: u8,
    /// The user concerned; `None` for IP-centric alerts.
    pub user: Option<String>,
    /// Every identity involved (at least one).
    pub users: Vec<String>,
    /// The time of the triggering event.
    pub time: Timestamp,
    /// Ids of the events behind the alert.
    pub event_ids: Vec<String>,
    /// One sentence an analyst can act on.
    pub summary: String,
    /// Detector-specific evidence.
    pub evidence: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bands_and_order() {
        assert_eq!(Severity::from_score(0), Severity::Low);
        assert_eq!(Severity::from_score(40), Severity::Medium);
        assert_eq!(Severity::from_score(84), Severity::High);
        assert_eq!(Severity::from_score(100), Severity::Critical);
        assert!(Severity::Low < Severity::Critical);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
    }
}
