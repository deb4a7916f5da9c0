//! jetlag on Kafka: `jetlag consume` workers that scale out as a consumer group.
//!
//! Two stages, each keyed where its state is (see [`Key`]):
//! - **stage 1** ([`Stage::User`]) reads the input topics (any format `scan` reads),
//!   normalizes and enriches each record and re-keys the events by user, IP and device into
//!   the internal topics `<prefix>.by-user`, `.by-ip`, `.by-device`, each input partition
//!   following its events with a watermark; it then runs the per-user detectors on
//!   `by-user`;
//! - **stage 2** ([`Stage::Cross`]) runs the cross-identity detectors (`shared_ip`,
//!   `password_spray` on `by-ip`; `shared_device` on `by-device`).
//!
//! Each partition's detector state ([`partition::Partition`]: the engine behind a reorder
//! buffer) is checkpointed to the compacted `<prefix>.state` topic with its offset and the
//! alert topic's end, so that whichever worker owns the partition next — after a rebalance
//! or a `kill -9` — resumes from there, and drops the repeats of alerts already sent. Alerts
//! go to the alert topic as alert JSON keyed by alert id.
//!
//! The org-wide figures of `new_country` and `unfamiliar_signin` are frozen per population
//! epoch (`jetlag_detect::population`): every `by-user` partition publishes its figures of
//! each finished epoch to `<prefix>.population` and reads everyone's before it releases
//! the next epoch's events, so the workers' alerts equal `jetlag scan`'s, every detector.
//!
//! - **deliver** ([`Stage::Deliver`]) posts the alert topic to the `[[kafka.webhooks]]`
//!   (HMAC-signed, retried, dead-lettered to `<prefix>.dead-letter`).
//!
//! The front door is [`run`], given a [`Setup`]. Without the `kafka` cargo feature the same
//! API exists and [`run`] returns [`Error::Disabled`] (STYLE.md rule 5).
#![deny(missing_docs)]

mod config;
mod error;
mod key;
pub mod metrics;
pub mod partition;
pub mod wire;

#[cfg(feature = "kafka")]
mod kafka;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use config::{KafkaConfig, KafkaOverrides, Stage, Webhook};
pub use error::Error;
pub use key::Key;
pub use metrics::Metrics;

use jetlag_detect::DetectConfig;
use jetlag_enrich::Enricher;
use jetlag_roster::Roster;

/// Everything a worker needs.
#[derive(Debug)]
pub struct Setup {
    /// The `[kafka]` table.
    pub kafka: KafkaConfig,
    /// Detector thresholds (`[detect.*]`).
    pub detect: DetectConfig,
    /// The HR roster.
    pub roster: Arc<Roster>,
    /// GeoIP and intel enrichment (stage 1), if any.
    pub enricher: Option<Arc<Enricher>>,
    /// Drain mode: end once every input partition has been read to its end and every
    /// partition's detectors have finished (backfills, tests); otherwise run until stopped.
    pub drain: bool,
    /// Where the worker publishes its figures (served on `kafka.metrics_listen`).
    pub metrics: Metrics,
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records consumed (input and internal).
    pub records: u64,
    /// Sign-ins processed (ingested, and observed per stream).
    pub events: u64,
    /// Records refused (with a warning naming topic, partition, offset and reason).
    pub rejected: u64,
    /// Alerts sent.
    pub alerts: u64,
}

impl Summary {
    /// Adds another thread's figures.
    pub fn add(&mut self, other: &Summary) {
        self.records += other.records;
        self.events += other.events;
        self.rejected += other.rejected;
        self.alerts += other.alerts;
    }
}

/// Runs a worker until `stop` is set (then it checkpoints and leaves the group), or in
/// drain mode until every partition has finished.
///
/// # Errors
/// [`Error::Kafka`] when the brokers cannot be used, [`Error::Checkpoint`] on a checkpoint
/// this jetlag cannot read, [`Error::Metrics`] when the metrics address cannot be bound,
/// [`Error::Disabled`] without the `kafka` feature.
pub fn run(setup: Setup, stop: Arc<AtomicBool>) -> Result<Summary, Error> {
    #[cfg(feature = "kafka")]
    {
        kafka::run(setup, stop)
    }
    #[cfg(not(feature = "kafka"))]
    {
        let _ = (setup, stop);
        Err(Error::Disabled)
    }
}

/// Whether this build has the Kafka backend.
pub const ENABLED: bool = cfg!(feature = "kafka");
