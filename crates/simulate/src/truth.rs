//! The ground truth a simulation writes to `truth.jsonl`, and reads back for `jetlag eval`.
//!
//! The first line describes the organisation (`"kind": "org"`), then one line per injected
//! attack and per planted benign hard case. An attack line names the detector expected to
//! fire, the identities it must name (at least one) and the time window its alert falls in; a
//! benign line names a detector that a naive engine would fire on and must not (at medium or
//! above).

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Whether a truth line is an attack to find or a benign case to stay quiet on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// An injected attack: the named detector should raise an alert.
    Attack,
    /// A planted benign hard case: the named detector should stay below medium.
    Benign,
}

/// One labelled case of `truth.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthCase {
    /// `attack` or `benign`.
    pub kind: Label,
    /// Scenario id shared by every line of one injected story (`ato-3`, `farm-1`, ...).
    pub scenario: String,
    /// Detector name, as in the alert's `detector` field.
    pub detector: String,
    /// Identities involved (the alert's `users` must overlap them).
    pub users: Vec<String>,
    /// Window start (inclusive).
    pub start: Timestamp,
    /// Window end (inclusive).
    pub end: Timestamp,
    /// One sentence saying what was planted.
    pub description: String,
}

/// The first line of `truth.jsonl`: what was simulated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthOrg {
    /// Always `org`.
    pub kind: String,
    /// Employees in the roster.
    pub users: u64,
    /// Distinct identities that signed in (employees plus AWS IAM users).
    pub identities: u64,
    /// Tenants.
    pub tenants: u32,
    /// Days simulated.
    pub days: u32,
    /// The seed.
    pub seed: u64,
    /// First simulated instant.
    pub start: Timestamp,
    /// Last simulated instant.
    pub end: Timestamp,
    /// Sign-in records written.
    pub events: u64,
}

/// One line of `truth.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TruthLine {
    /// The organisation line.
    Org(TruthOrg),
    /// An attack or benign case.
    Case(TruthCase),
}
