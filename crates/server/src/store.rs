//! The embedded store (redb): write-ahead log, alerts, detector snapshots, webhook outbox.
//!
//! One file, `<data_dir>/jetlag.redb`. Every batch the core processes is one write
//! transaction committed with `Durability::Immediate` (fsync) *before* any caller is
//! answered: the events (write-ahead log), the alerts they raised, their webhook outbox
//! entries and, periodically, a snapshot of detector state all land together or not at all.
//!
//! **Invariant:** an alert id is stored at most once; only a newly stored alert is streamed
//! and queued for webhooks, so replaying the log after a crash never delivers an alert twice.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jetlag_event::{Alert, SignIn, Timestamp};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Write-ahead log: sequence number → [`WalRecord`] (JSON).
pub(crate) const WAL: TableDefinition<u64, &[u8]> = TableDefinition::new("wal");
/// Stored event ids → WAL sequence number (duplicate detection).
pub(crate) const EVENT_IDS: TableDefinition<&str, u64> = TableDefinition::new("event_ids");
/// (user, WAL sequence) of every stored event.
pub(crate) const USER_EVENTS: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("user_events");
/// Alert sequence → [`StoredAlert`] (JSON).
pub(crate) const ALERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");
/// Alert id → alert sequence.
pub(crate) const ALERT_IDS: TableDefinition<&str, u64> = TableDefinition::new("alert_ids");
/// (user, alert sequence) for every user an alert involves.
pub(crate) const USER_ALERTS: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("user_alerts");
/// (event id, alert sequence) of each alert an event raised when it was run through
/// detection (and that names it): the decision recorded for the event, which a retried
/// `/v1/evaluate` of the same event answers with.
pub(crate) const EVENT_ALERTS: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("event_alerts");
/// Webhook outbox: (alert sequence, webhook index) → (attempts so far, next attempt, unix ms).
pub(crate) const OUTBOX: TableDefinition<(u64, u32), (u32, u64)> = TableDefinition::new("outbox");
/// Snapshots: `"engine"` → detector state, `"core"` → [`CoreSnapshot`] (JSON);
/// `"decisions_from"` → the first WAL sequence whose decision [`EVENT_ALERTS`] records
/// (big-endian `u64`; a store older than that table has events decided before it).
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// One write-ahead log record. Replaying the records in sequence order repeats exactly what
/// the core did, including the releases a wall-clock timer decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Decoded one at a time during replay; boxing the event would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum WalRecord {
    /// An accepted event (enriched, as detection saw it).
    Event {
        /// The event.
        event: SignIn,
        /// Sent to `/v1/evaluate`: detection ran up to it at once.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        evaluate: bool,
        /// Arrived beyond the lateness bound: stored, not run through detection.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        late: bool,
        /// Arrived behind an event already released to detection, within the lateness
        /// bound: run through detection at once, out of order (never buffered).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        out_of_order: bool,
    },
    /// The reorder buffer released every event up to this (time, event id) because it had
    /// waited `max_hold_ms`.
    Release {
        /// Time of the newest released event.
        time: Timestamp,
        /// Its event id.
        event_id: String,
    },
}

/// An alert as stored and served: the contract's alert plus its sequence number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAlert {
    /// Position in the alert log; the paging cursor and the SSE event id.
    pub seq: u64,
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
}

/// The core's own state, saved beside the engine snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct CoreSnapshot {
    /// Last WAL sequence reflected in this snapshot.
    pub applied_seq: u64,
    /// Newest event time seen.
    pub max_time: Option<Timestamp>,
    /// (time, event id) of the last event released to detection.
    pub released: Option<(Timestamp, String)>,
    /// Events still waiting in the reorder buffer, with their WAL sequence.
    pub buffer: Vec<(u64, SignIn)>,
}

/// The store: a redb database shared by the core (the only event writer), the webhook
/// deliverer and the readers (MVCC: reads never wait for writes).
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Arc<Database>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) `<data_dir>/jetlag.redb`, creating `data_dir` as needed.
    ///
    /// # Errors
    /// When the directory cannot be created or the database cannot be opened (another
    /// server holds it, or it is corrupt).
    pub fn open(data_dir: &Path) -> Result<Store, Error> {
        std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join("jetlag.redb");
        let db = Database::create(&path).map_err(|e| Error::store(&path, e))?;
        let store = Store {
            db: Arc::new(db),
            path,
        };
        // Create every table so readers never see "table does not exist".
        let txn = store.db.begin_write().map_err(|e| store.err(e))?;
        {
            txn.open_table(WAL).map_err(|e| store.err(e))?;
            txn.open_table(EVENT_IDS).map_err(|e| store.err(e))?;
            txn.open_table(USER_EVENTS).map_err(|e| store.err(e))?;
            txn.open_table(ALERTS).map_err(|e| store.err(e))?;
            txn.open_table(ALERT_IDS).map_err(|e| store.err(e))?;
            txn.open_table(USER_ALERTS).map_err(|e| store.err(e))?;
            txn.open_table(OUTBOX).map_err(|e| store.err(e))?;
            txn.open_table(EVENT_ALERTS).map_err(|e| store.err(e))?;
            let mut meta = txn.open_table(META).map_err(|e| store.err(e))?;
            if meta
                .get("decisions_from")
                .map_err(|e| store.err(e))?
                .is_none()
            {
                // From the next event on, decisions are recorded in EVENT_ALERTS.
                let wal = txn.open_table(WAL).map_err(|e| store.err(e))?;
                let next = wal
                    .last()
                    .map_err(|e| store.err(e))?
                    .map_or(1, |(k, _)| k.value() + 1);
                meta.insert("decisions_from", next.to_be_bytes().as_slice())
                    .map_err(|e| store.err(e))?;
            }
        }
        txn.commit().map_err(|e| store.err(e))?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::store(&self.path, e)
    }

    /// The alerts matching `filter`, oldest first, starting at sequence `filter.cursor`;
    /// with the cursor of the next page when there is more.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<(Vec<StoredAlert>, Option<u64>), Error> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let alerts = txn.open_table(ALERTS).map_err(|e| self.err(e))?;
        let limit = filter.limit.clamp(1, 1000);
        let mut out = Vec::new();
        let keep = |a: StoredAlert, out: &mut Vec<StoredAlert>| -> bool {
            if filter.matches(&a.alert) {
                out.push(a);
            }
            out.len() <= limit
        };
        if let Some(user) = &filter.user {
            let index = txn.open_table(USER_ALERTS).map_err(|e| self.err(e))?;
            let range = index
                .range((user.as_str(), filter.cursor)..=(user.as_str(), u64::MAX))
                .map_err(|e| self.err(e))?;
            for entry in range {
                let (key, _) = entry.map_err(|e| self.err(e))?;
                let seq = key.value().1;
                if let Some(a) = alerts.get(seq).map_err(|e| self.err(e))?
                    && !keep(decode_alert(a.value())?, &mut out)
                {
                    break;
                }
            }
        } else {
            for entry in alerts.range(filter.cursor..).map_err(|e| self.err(e))? {
                let (_, v) = entry.map_err(|e| self.err(e))?;
                if !keep(decode_alert(v.value())?, &mut out) {
                    break;
                }
            }
        }
        let next = if out.len() > limit {
            out.truncate(limit);
            out.last().map(|a| a.seq + 1)
        } else {
            None
        };
        Ok((out, next))
    }

    /// The alert with this sequence number.
    pub(crate) fn alert(&self, seq: u64) -> Result<Option<StoredAlert>, Error> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let alerts = txn.open_table(ALERTS).map_err(|e| self.err(e))?;
        match alerts.get(seq).map_err(|e| self.err(e))? {
            Some(v) => Ok(Some(decode_alert(v.value())?)),
            None => Ok(None),
        }
    }

    /// The newest `limit` events and alerts of `user`, newest first.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn user(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<(Vec<StoredEvent>, Vec<StoredAlert>), Error> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let wal = txn.open_table(WAL).map_err(|e| self.err(e))?;
        let index = txn.open_table(USER_EVENTS).map_err(|e| self.err(e))?;
        let mut events = Vec::new();
        let range = index
            .range((user, 0)..=(user, u64::MAX))
            .map_err(|e| self.err(e))?;
        for entry in range.rev().take(limit) {
            let (key, _) = entry.map_err(|e| self.err(e))?;
            let seq = key.value().1;
            if let Some(v) = wal.get(seq).map_err(|e| self.err(e))?
                && let WalRecord::Event {
                    event,
                    late,
                    out_of_order,
                    ..
                } = decode_wal(seq, v.value())?
            {
                events.push(StoredEvent {
                    seq,
                    late,
                    out_of_order,
                    event,
                });
            }
        }
        let alerts_t = txn.open_table(ALERTS).map_err(|e| self.err(e))?;
        let index = txn.open_table(USER_ALERTS).map_err(|e| self.err(e))?;
        let mut alerts = Vec::new();
        let range = index
            .range((user, 0)..=(user, u64::MAX))
            .map_err(|e| self.err(e))?;
        for entry in range.rev().take(limit) {
            let (key, _) = entry.map_err(|e| self.err(e))?;
            if let Some(v) = alerts_t.get(key.value().1).map_err(|e| self.err(e))? {
                alerts.push(decode_alert(v.value())?);
            }
        }
        Ok((events, alerts))
    }

    /// The sequence of the newest stored alert (0 when there is none).
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn last_alert_seq(&self) -> Result<u64, Error> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let alerts = txn.open_table(ALERTS).map_err(|e| self.err(e))?;
        Ok(alerts
            .last()
            .map_err(|e| self.err(e))?
            .map_or(0, |(k, _)| k.value()))
    }

    /// Number of stored events (WAL records of kind `event`) — for tests and `/readyz`.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn event_count(&self) -> Result<u64, Error> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let ids = txn.open_table(EVENT_IDS).map_err(|e| self.err(e))?;
        ids.len().map_err(|e| self.err(e))
    }

    /// Whether an event id is stored.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn has_event(&self, event_id: &str) -> Result<bool, Error> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let ids = txn.open_table(EVENT_IDS).map_err(|e| self.err(e))?;
        Ok(ids.get(event_id).map_err(|e| self.err(e))?.is_some())
    }
}

/// A stored event with its WAL sequence.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    /// WAL sequence.
    pub seq: u64,
    /// Arrived beyond the lateness bound (not run through detection).
    pub late: bool,
    /// Arrived behind newer events, within the lateness bound: run through detection
    /// at once, out of order.
    pub out_of_order: bool,
    /// The event.
    #[serde(flatten)]
    pub event: SignIn,
}

/// Filters of `GET /v1/alerts`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFilter {
    /// Only alerts whose time is at or after this.
    pub since: Option<Timestamp>,
    /// Only this detector's alerts.
    pub detector: Option<String>,
    /// Only alerts of this severity or above.
    pub severity: Option<jetlag_event::Severity>,
    /// Only alerts involving this user.
    pub user: Option<String>,
    /// Start at this alert sequence (from the previous page's `next_cursor`).
    #[serde(default)]
    pub cursor: u64,
    /// Page size, 1..=1000 (default 100).
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_limit() -> usize {
    100
}

impl AlertFilter {
    fn matches(&self, a: &Alert) -> bool {
        self.since.is_none_or(|s| a.time >= s)
            && self.detector.as_deref().is_none_or(|d| a.detector == d)
            && self.severity.is_none_or(|s| a.severity >= s)
            && self
                .user
                .as_deref()
                .is_none_or(|u| a.users.iter().any(|x| x == u))
    }
}

pub(crate) fn decode_alert(bytes: &[u8]) -> Result<StoredAlert, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        what: "alert".into(),
        reason: e.to_string(),
    })
}

pub(crate) fn decode_wal(seq: u64, bytes: &[u8]) -> Result<WalRecord, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        what: format!("wal #{seq}"),
        reason: e.to_string(),
    })
}
