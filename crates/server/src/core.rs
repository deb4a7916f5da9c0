//! The core: the one thread that owns the detection engine and writes the store.
//!
//! Request handlers hand it [`Job`]s through a bounded queue. It drains whatever is queued,
//! and for the whole group opens one write transaction: each event is checked for a repeated
//! `event_id`, appended to the write-ahead log, put in time order by the reorder buffer and,
//! once released, run through the engine; the alerts raised are stored (insert-if-absent by
//! alert id) with their webhook outbox entries; every so often the engine's snapshot joins
//! the same transaction. Only after the commit (fsync) are the callers answered, the new
//! alerts streamed and the webhook deliverer woken: group commit, one fsync for many requests.
//!
//! **Invariant:** an event within `lateness_secs` of the newest event is run through
//! detection exactly once: in `(time, event_id)` order through the reorder buffer, or, when
//! an event after it was already released, at once and out of order (the engine tolerates
//! late events: see the `Detector` contract). Only an event more than `lateness_secs` behind
//! the newest event is stored and reported `late` without detection.
//!
//! **Invariant:** replaying the write-ahead log from the last snapshot repeats exactly what
//! the core did before a crash (timer-driven releases are themselves logged).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use compact_str::CompactString;
use jetlag_detect::{DetectConfig, Engine};
use jetlag_event::{Alert, SignIn, Timestamp};
use jetlag_roster::Roster;
use redb::{ReadableTable, Table, WriteTransaction};
use serde::Serialize;
use tokio::sync::{Notify, OwnedSemaphorePermit, broadcast, oneshot};

use crate::metrics::{DetectorLabel, Metrics};
use crate::store::{
    ALERT_IDS, ALERTS, CoreSnapshot, EVENT_ALERTS, EVENT_IDS, META, OUTBOX, Store, StoredAlert,
    USER_ALERTS, USER_EVENTS, WAL, WalRecord, decode_alert, decode_wal,
};
use crate::{Error, ServerConfig};

/// Work for the core.
pub(crate) enum Job {
    /// A parsed, enriched batch from `/v1/events` or the HEC endpoint, in `(time,
    /// event_id)` order.
    Ingest {
        events: Vec<SignIn>,
        reply: oneshot::Sender<Result<IngestReport, Error>>,
        _permit: OwnedSemaphorePermit,
    },
    /// One sign-in from `/v1/evaluate`: decided at once.
    Evaluate {
        event: Box<SignIn>,
        reply: oneshot::Sender<Result<Verdict, Error>>,
        _permit: OwnedSemaphorePermit,
    },
    /// Stop after the jobs queued before this one, with a final snapshot.
    Shutdown,
}

/// What happened to each event of an ingested batch (rejects are the parser's business).
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestReport {
    /// Events stored (including late ones).
    pub accepted: usize,
    /// Ids of events stored beyond the lateness bound (not run through detection).
    pub late: Vec<CompactString>,
    /// Ids of events that arrived behind newer ones already released to detection, within
    /// the lateness bound: run through detection at once, out of order.
    pub out_of_order: Vec<CompactString>,
    /// Ids already stored before (not stored again).
    pub duplicates: Vec<CompactString>,
}

/// The core's answer to `/v1/evaluate`.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The event was run through detection (now, or before for a duplicate) and `alerts`
    /// is its decision. False only when it was not, and cannot be: never read as "allow".
    pub evaluated: bool,
    /// The event is (or, for a duplicate, was) beyond the lateness bound: stored, not
    /// evaluated.
    pub late: bool,
    /// The event was run through detection behind newer events already released, at once
    /// rather than in time order (within the lateness bound).
    pub out_of_order: bool,
    /// The event id was already stored: the decision is the one recorded for it.
    pub duplicate: bool,
    /// Alerts the event itself triggered (that name it).
    pub alerts: Vec<Alert>,
    /// Why the event was not evaluated, when it was not.
    pub not_evaluated: Option<&'static str>,
}

impl Verdict {
    fn decided(alerts: Vec<Alert>, out_of_order: bool, duplicate: bool) -> Verdict {
        Verdict {
            evaluated: true,
            late: false,
            out_of_order,
            duplicate,
            alerts,
            not_evaluated: None,
        }
    }

    fn refused(late: bool, duplicate: bool, why: &'static str) -> Verdict {
        Verdict {
            evaluated: false,
            late,
            out_of_order: false,
            duplicate,
            alerts: Vec::new(),
            not_evaluated: Some(why),
        }
    }
}

/// Why a late event is not evaluated.
const LATE_REASON: &str = "the sign-in is more than lateness_secs older than the newest event \
    the server has seen: it is stored but cannot be run through detection";

/// What the core shares with the rest of the server.
#[derive(Debug, Default)]
pub(crate) struct CoreStatus {
    /// False once a commit failed: memory and disk may disagree, restart to recover.
    pub healthy: std::sync::atomic::AtomicBool,
}

struct Buffered {
    seq: u64,
    event: SignIn,
    arrived: Instant,
}

type Key = (Timestamp, CompactString);

/// The core's state; lives on its own thread.
pub(crate) struct Core {
    store: Store,
    engine: Engine,
    buffer: BTreeMap<Key, Buffered>,
    max_time: Option<Timestamp>,
    released: Option<Key>,
    /// The first WAL sequence whose decision `EVENT_ALERTS` records.
    decisions_from: u64,
    next_seq: u64,
    next_alert_seq: u64,
    lateness: jiff::SignedDuration,
    max_future: jiff::SignedDuration,
    max_hold: Duration,
    snapshot_every: Duration,
    snapshot_every_events: u64,
    last_snapshot: Instant,
    events_since_snapshot: u64,
    webhooks: u32,
    alerts_tx: broadcast::Sender<Arc<StoredAlert>>,
    webhook_wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    status: Arc<CoreStatus>,
}

/// The tables of one write transaction.
struct Tables<'t> {
    wal: Table<'t, u64, &'static [u8]>,
    event_ids: Table<'t, &'static str, u64>,
    user_events: Table<'t, (&'static str, u64), ()>,
    alerts: Table<'t, u64, &'static [u8]>,
    alert_ids: Table<'t, &'static str, u64>,
    user_alerts: Table<'t, (&'static str, u64), ()>,
    event_alerts: Table<'t, (&'static str, u64), ()>,
    outbox: Table<'t, (u64, u32), (u32, u64)>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction, store: &Store) -> Result<Tables<'t>, Error> {
        Ok(Tables {
            wal: txn.open_table(WAL).map_err(|e| store.err(e))?,
            event_ids: txn.open_table(EVENT_IDS).map_err(|e| store.err(e))?,
            user_events: txn.open_table(USER_EVENTS).map_err(|e| store.err(e))?,
            alerts: txn.open_table(ALERTS).map_err(|e| store.err(e))?,
            alert_ids: txn.open_table(ALERT_IDS).map_err(|e| store.err(e))?,
            user_alerts: txn.open_table(USER_ALERTS).map_err(|e| store.err(e))?,
            event_alerts: txn.open_table(EVENT_ALERTS).map_err(|e| store.err(e))?,
            outbox: txn.open_table(OUTBOX).map_err(|e| store.err(e))?,
        })
    }
}

/// A WAL record borrowing its event (serialized like [`WalRecord`]).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WalRef<'a> {
    Event {
        event: &'a SignIn,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        evaluate: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        late: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        out_of_order: bool,
    },
    Release {
        time: Timestamp,
        event_id: &'a str,
    },
}

/// Alerts produced while processing, split by who needs them.
#[derive(Default)]
struct Produced {
    /// Newly stored alerts (to stream and deliver).
    new: Vec<Arc<StoredAlert>>,
    /// The alerts of the event being evaluated (that name it), new or stored before.
    scratch: Vec<Alert>,
}

/// Everything the core needs to start.
pub(crate) struct CoreParts {
    pub store: Store,
    pub detect: DetectConfig,
    pub roster: Arc<Roster>,
    pub config: ServerConfig,
    pub alerts_tx: broadcast::Sender<Arc<StoredAlert>>,
    pub webhook_wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    pub status: Arc<CoreStatus>,
}

impl Core {
    /// Restores the engine from the last snapshot and replays the write-ahead log after it.
    pub(crate) fn recover(parts: CoreParts) -> Result<Core, Error> {
        let CoreParts {
            store,
            detect,
            roster,
            config,
            alerts_tx,
            webhook_wake,
            metrics,
            status,
        } = parts;
        let txn = store.db.begin_write().map_err(|e| store.err(e))?;
        let (engine, snap, decisions_from) = {
            let meta = txn.open_table(META).map_err(|e| store.err(e))?;
            let engine = match meta.get("engine").map_err(|e| store.err(e))? {
                Some(bytes) => Engine::restore(&detect, roster, bytes.value())
                    .map_err(|e| Error::Engine(e.to_string()))?,
                None => Engine::new(&detect, roster),
            };
            let decisions_from = match meta.get("decisions_from").map_err(|e| store.err(e))? {
                Some(bytes) => bytes
                    .value()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| Error::Corrupt {
                        what: "decisions_from".into(),
                        reason: "not 8 bytes".into(),
                    })?,
                None => 1,
            };
            let snap: CoreSnapshot = match meta.get("core").map_err(|e| store.err(e))? {
                Some(bytes) => {
                    serde_json::from_slice(bytes.value()).map_err(|e| Error::Corrupt {
                        what: "core snapshot".into(),
                        reason: e.to_string(),
                    })?
                }
                None => CoreSnapshot::default(),
            };
            (engine, snap, decisions_from)
        };
        let now = Instant::now();
        let mut core = Core {
            engine,
            buffer: snap
                .buffer
                .into_iter()
                .map(|(seq, event)| {
                    let key = (event.time, event.event_id.clone());
                    (
                        key,
                        Buffered {
                            seq,
                            event,
                            arrived: now,
                        },
                    )
                })
                .collect(),
            max_time: snap.max_time,
            released: snap.released.map(|(t, id)| (t, CompactString::from(id))),
            decisions_from,
            next_seq: 1,
            next_alert_seq: 1,
            lateness: jiff::SignedDuration::from_secs(
                i64::try_from(config.lateness_secs).unwrap_or(i64::MAX),
            ),
            max_future: jiff::SignedDuration::from_secs(
                i64::try_from(config.max_future_secs).unwrap_or(i64::MAX),
            ),
            max_hold: Duration::from_millis(config.max_hold_ms),
            snapshot_every: Duration::from_secs(config.snapshot_every_secs),
            snapshot_every_events: config.snapshot_every_events,
            last_snapshot: now,
            events_since_snapshot: 0,
            webhooks: u32::try_from(config.webhooks.len()).unwrap_or(u32::MAX),
            alerts_tx,
            webhook_wake,
            metrics,
            status,
            store,
        };
        let mut replayed = 0u64;
        {
            let mut t = Tables::open(&txn, &core.store)?;
            if let Some((k, _)) = t.wal.last().map_err(|e| core.store.err(e))? {
                core.next_seq = k.value() + 1;
            }
            if let Some((k, _)) = t.alerts.last().map_err(|e| core.store.err(e))? {
                core.next_alert_seq = k.value() + 1;
            }
            let mut produced = Produced::default();
            let records: Vec<(u64, Vec<u8>)> = t
                .wal
                .range(snap.applied_seq + 1..)
                .map_err(|e| core.store.err(e))?
                .map(|r| r.map(|(k, v)| (k.value(), v.value().to_vec())))
                .collect::<Result<_, _>>()
                .map_err(|e| core.store.err(e))?;
            for (seq, bytes) in records {
                replayed += 1;
                match decode_wal(seq, &bytes)? {
                    WalRecord::Event { late: true, .. } => {}
                    WalRecord::Event {
                        event,
                        out_of_order: true,
                        ..
                    } => {
                        core.observe_now(&mut t, &event, false, &mut produced)?;
                    }
                    WalRecord::Event {
                        event, evaluate, ..
                    } => {
                        core.apply(&mut t, seq, event, evaluate, &mut produced)?;
                    }
                    WalRecord::Release { time, event_id } => {
                        core.release_upto(&mut t, &(time, event_id.into()), None, &mut produced)?;
                    }
                }
            }
            // Alerts first raised during replay were never streamed nor queued: they are
            // new (their events were acknowledged, their release was not yet committed).
            core.publish_later(produced.new);
            core.forget_the_future(&mut t)?;
        }
        core.write_snapshot(&txn)?;
        txn.commit().map_err(|e| core.store.err(e))?;
        core.status
            .healthy
            .store(true, std::sync::atomic::Ordering::SeqCst);
        core.metrics.reorder_buffered.set(core.buffer.len() as i64);
        tracing::info!(
            replayed,
            buffered = core.buffer.len(),
            next_seq = core.next_seq,
            alerts = core.next_alert_seq - 1,
            "state recovered"
        );
        Ok(core)
    }

    fn publish_later(&self, alerts: Vec<Arc<StoredAlert>>) {
        if !alerts.is_empty() {
            self.webhook_wake.notify_one();
        }
        for a in alerts {
            // Nobody may be listening yet; that is fine.
            let _ = self.alerts_tx.send(a);
        }
    }

    /// The core's loop: runs until a [`Job::Shutdown`] or until every sender is gone.
    pub(crate) fn run(mut self, jobs: Receiver<Job>) {
        let tick = (self.max_hold / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
        let mut batch = Vec::new();
        let mut stop = false;
        while !stop {
            match jobs.recv_timeout(tick) {
                Ok(job) => batch.push(job),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
            while batch.len() < 512 {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if let Some(pos) = batch.iter().position(|j| matches!(j, Job::Shutdown)) {
                // Jobs queued after the shutdown request are refused (their senders see
                // the core stopped).
                batch.truncate(pos);
                stop = true;
            }
            let due = self.hold_due();
            if batch.is_empty() && due.is_none() && !stop {
                continue;
            }
            self.process(&mut batch, due, stop);
        }
        tracing::info!("core stopped");
    }

    /// The newest buffered key whose event has waited `max_hold`, if any.
    fn hold_due(&self) -> Option<Key> {
        let now = Instant::now();
        self.buffer
            .iter()
            .rev()
            .find(|(_, b)| now.duration_since(b.arrived) >= self.max_hold)
            .map(|(k, _)| k.clone())
    }

    fn process(&mut self, batch: &mut Vec<Job>, due: Option<Key>, final_snapshot: bool) {
        let started = Instant::now();
        if !self
            .status
            .healthy
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            // A commit failed before: refuse, never answer from a state the disk lacks.
            batch.clear();
            return;
        }
        let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
        let mut produced = Produced::default();
        let mut queued_events = 0i64;
        let result = (|| -> Result<(), Error> {
            let txn = self.store.db.begin_write().map_err(|e| self.store.err(e))?;
            {
                let mut t = Tables::open(&txn, &self.store)?;
                for job in batch.drain(..) {
                    match job {
                        Job::Ingest {
                            events,
                            reply,
                            _permit,
                        } => {
                            queued_events += events.len() as i64;
                            let mut report = IngestReport::default();
                            for ev in events {
                                match self.accept(&mut t, ev, false, &mut produced)? {
                                    Accepted::Fresh => report.accepted += 1,
                                    Accepted::OutOfOrder(id) => {
                                        report.accepted += 1;
                                        report.out_of_order.push(id);
                                    }
                                    Accepted::Late(id) => {
                                        report.accepted += 1;
                                        report.late.push(id);
                                    }
                                    Accepted::Duplicate(id, _) => report.duplicates.push(id),
                                }
                            }
                            replies.push(Reply::Ingest(reply, report));
                        }
                        Job::Evaluate {
                            event,
                            reply,
                            _permit,
                        } => {
                            queued_events += 1;
                            produced.scratch.clear();
                            let verdict = match self.accept(&mut t, *event, true, &mut produced)? {
                                Accepted::Fresh => Verdict::decided(
                                    std::mem::take(&mut produced.scratch),
                                    false,
                                    false,
                                ),
                                Accepted::OutOfOrder(_) => Verdict::decided(
                                    std::mem::take(&mut produced.scratch),
                                    true,
                                    false,
                                ),
                                Accepted::Late(_) => Verdict::refused(true, false, LATE_REASON),
                                Accepted::Duplicate(id, seq) => {
                                    self.recall(&mut t, seq, &id, &mut produced)?
                                }
                            };
                            replies.push(Reply::Evaluate(reply, verdict));
                        }
                        Job::Shutdown => {}
                    }
                }
                if let Some(key) = due {
                    // Log the timer's decision so a replay releases at the same point.
                    self.log_release(&mut t, &key)?;
                    self.release_upto(&mut t, &key, None, &mut produced)?;
                }
            }
            if final_snapshot
                || self.events_since_snapshot >= self.snapshot_every_events
                || (self.events_since_snapshot > 0
                    && self.last_snapshot.elapsed() >= self.snapshot_every)
            {
                self.write_snapshot(&txn)?;
            }
            txn.commit().map_err(|e| self.store.err(e))?;
            Ok(())
        })();
        self.metrics.queue_depth.dec_by(queued_events);
        self.metrics.reorder_buffered.set(self.buffer.len() as i64);
        match result {
            Ok(()) => {
                self.metrics
                    .commit_seconds
                    .observe(started.elapsed().as_secs_f64());
                for r in replies {
                    match r {
                        Reply::Ingest(tx, report) => {
                            self.metrics.events_accepted.inc_by(report.accepted as u64);
                            self.metrics.events_late.inc_by(report.late.len() as u64);
                            self.metrics
                                .events_out_of_order
                                .inc_by(report.out_of_order.len() as u64);
                            self.metrics
                                .events_duplicate
                                .inc_by(report.duplicates.len() as u64);
                            let _ = tx.send(Ok(report));
                        }
                        Reply::Evaluate(tx, verdict) => {
                            if verdict.duplicate {
                                self.metrics.events_duplicate.inc();
                            } else {
                                self.metrics.events_accepted.inc();
                                if verdict.late {
                                    self.metrics.events_late.inc();
                                }
                                if verdict.out_of_order {
                                    self.metrics.events_out_of_order.inc();
                                }
                            }
                            let _ = tx.send(Ok(verdict));
                        }
                    }
                }
                for a in &produced.new {
                    self.metrics
                        .alerts
                        .get_or_create(&DetectorLabel {
                            detector: a.alert.detector.clone(),
                        })
                        .inc();
                }
                self.publish_later(produced.new);
            }
            Err(err) => {
                tracing::error!(error = %err, "commit failed; refusing further events until restart");
                self.status
                    .healthy
                    .store(false, std::sync::atomic::Ordering::SeqCst);
                for r in replies {
                    match r {
                        Reply::Ingest(tx, _) => {
                            let _ = tx.send(Err(Error::CoreStopped));
                        }
                        Reply::Evaluate(tx, _) => {
                            let _ = tx.send(Err(Error::CoreStopped));
                        }
                    }
                }
            }
        }
    }

    /// Stores one new event and runs it through ordering and detection. When `evaluate`,
    /// the alerts the event raised are left in `produced.scratch`.
    fn accept(
        &mut self,
        t: &mut Tables<'_>,
        event: SignIn,
        evaluate: bool,
        produced: &mut Produced,
    ) -> Result<Accepted, Error> {
        let id = event.event_id.clone();
        if let Some(seq) = t
            .event_ids
            .get(id.as_str())
            .map_err(|e| self.store.err(e))?
        {
            return Ok(Accepted::Duplicate(id, seq.value()));
        }
        let key: Key = (event.time, id.clone());
        let watermark = self
            .max_time
            .map(|m| m.checked_sub(self.lateness).unwrap_or(Timestamp::MIN));
        let late = watermark.is_some_and(|w| event.time < w);
        let out_of_order = !late && self.released.as_ref().is_some_and(|r| key <= *r);
        let seq = self.next_seq;
        let rec = serde_json::to_vec(&WalRef::Event {
            event: &event,
            evaluate,
            late,
            out_of_order,
        })
        .map_err(|e| self.store.err(e))?;
        t.wal
            .insert(seq, rec.as_slice())
            .map_err(|e| self.store.err(e))?;
        t.event_ids
            .insert(id.as_str(), seq)
            .map_err(|e| self.store.err(e))?;
        t.user_events
            .insert((event.user.as_str(), seq), ())
            .map_err(|e| self.store.err(e))?;
        self.next_seq += 1;
        self.events_since_snapshot += 1;
        if late {
            tracing::debug!(event_id = %id, time = %event.time, "late event stored, not evaluated");
            return Ok(Accepted::Late(id));
        }
        if out_of_order {
            tracing::debug!(event_id = %id, time = %event.time, "event behind the release point, evaluated out of order");
            self.observe_now(t, &event, evaluate, produced)?;
            return Ok(Accepted::OutOfOrder(id));
        }
        self.apply(t, seq, event, evaluate, produced)?;
        Ok(Accepted::Fresh)
    }

    /// Runs an event that arrived behind the release point (within the lateness bound)
    /// through the engine at once, out of order. When `collect`, the alerts it raised are
    /// left in `produced.scratch`.
    fn observe_now(
        &mut self,
        t: &mut Tables<'_>,
        event: &SignIn,
        collect: bool,
        produced: &mut Produced,
    ) -> Result<(), Error> {
        let mut out = Vec::new();
        self.engine.observe(event, &mut out);
        for alert in out {
            self.record_raised(t, &event.event_id, alert, collect, produced)?;
        }
        Ok(())
    }

    /// Stores an alert that observing event `id` raised and, when it names the event,
    /// records it as (part of) the event's decision.
    fn record_raised(
        &mut self,
        t: &mut Tables<'_>,
        id: &str,
        alert: Alert,
        collect: bool,
        produced: &mut Produced,
    ) -> Result<(), Error> {
        let seq = self.record_alert(t, &alert, produced)?;
        if alert.event_ids.iter().any(|e| e == id) {
            t.event_alerts
                .insert((id, seq), ())
                .map_err(|e| self.store.err(e))?;
            if collect {
                produced.scratch.push(alert);
            }
        }
        Ok(())
    }

    /// The decision for an event already stored (WAL sequence `seq`), for a retried
    /// `/v1/evaluate`: the alerts recorded for it; or, when it still waits in the reorder
    /// buffer (ingested before), the buffer released up to it now, as for a new event.
    fn recall(
        &mut self,
        t: &mut Tables<'_>,
        seq: u64,
        id: &str,
        produced: &mut Produced,
    ) -> Result<Verdict, Error> {
        let record = match t.wal.get(seq).map_err(|e| self.store.err(e))? {
            Some(v) => decode_wal(seq, v.value())?,
            None => {
                return Ok(Verdict::refused(
                    false,
                    true,
                    "the event id is stored but its record is missing",
                ));
            }
        };
        let WalRecord::Event {
            event,
            late,
            out_of_order,
            ..
        } = record
        else {
            return Ok(Verdict::refused(
                false,
                true,
                "the event id is stored but its record is not an event",
            ));
        };
        if late {
            return Ok(Verdict::refused(true, true, LATE_REASON));
        }
        let key: Key = (event.time, event.event_id);
        if self.buffer.contains_key(&key) {
            // Ingested earlier, still waiting for stragglers: decide it now. Logged like a
            // timer's release so that a replay releases at the same point.
            self.log_release(t, &key)?;
            produced.scratch.clear();
            self.release_upto(t, &key, Some(&key), produced)?;
            return Ok(Verdict::decided(
                std::mem::take(&mut produced.scratch),
                false,
                true,
            ));
        }
        if seq < self.decisions_from {
            return Ok(Verdict::refused(
                false,
                true,
                "the event was decided before this server recorded decisions; its alerts \
                 are in /v1/alerts",
            ));
        }
        let mut alerts = Vec::new();
        for entry in t
            .event_alerts
            .range((id, 0)..=(id, u64::MAX))
            .map_err(|e| self.store.err(e))?
        {
            let (k, _) = entry.map_err(|e| self.store.err(e))?;
            let alert_seq = k.value().1;
            if let Some(v) = t.alerts.get(alert_seq).map_err(|e| self.store.err(e))? {
                alerts.push(decode_alert(v.value())?.alert);
            }
        }
        Ok(Verdict::decided(alerts, out_of_order, true))
    }

    /// Writes a `release` record: the buffer is released up to `key` by a decision that a
    /// replay of the event records alone would not repeat (a timer, a retried evaluate).
    fn log_release(&mut self, t: &mut Tables<'_>, key: &Key) -> Result<(), Error> {
        let seq = self.next_seq;
        let rec = serde_json::to_vec(&WalRef::Release {
            time: key.0,
            event_id: &key.1,
        })
        .map_err(|e| self.store.err(e))?;
        t.wal
            .insert(seq, rec.as_slice())
            .map_err(|e| self.store.err(e))?;
        self.next_seq += 1;
        Ok(())
    }

    /// After recovery: a state that an event dated more than `max_future_secs` ahead of the
    /// wall clock moved forward (accepted before such events were refused) would make every
    /// later event late. Such events still buffered are dropped (their WAL records marked
    /// late, so `/v1/users` says they were not evaluated), and the newest event time and
    /// the release point forget them. The result is committed with the recovery snapshot.
    fn forget_the_future(&mut self, t: &mut Tables<'_>) -> Result<(), Error> {
        let Ok(limit) = Timestamp::now().checked_add(self.max_future) else {
            return Ok(());
        };
        let poisoned = self.max_time.is_some_and(|m| m > limit)
            || self.released.as_ref().is_some_and(|r| r.0 > limit);
        if !poisoned {
            return Ok(());
        }
        let future: Vec<Key> = self
            .buffer
            .range((limit, CompactString::default())..)
            .filter(|(k, _)| k.0 > limit)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &future {
            if let Some(b) = self.buffer.remove(key) {
                let rec = serde_json::to_vec(&WalRef::Event {
                    event: &b.event,
                    evaluate: false,
                    late: true,
                    out_of_order: false,
                })
                .map_err(|e| self.store.err(e))?;
                t.wal
                    .insert(b.seq, rec.as_slice())
                    .map_err(|e| self.store.err(e))?;
            }
        }
        let released = self.released.take().filter(|r| r.0 <= limit);
        self.released = released;
        self.max_time = self
            .buffer
            .keys()
            .next_back()
            .map(|k| k.0)
            .into_iter()
            .chain(self.released.as_ref().map(|r| r.0))
            .max();
        tracing::warn!(
            dropped = future.len(),
            limit = %limit,
            "the saved state was ahead of the clock (an event dated in the future was accepted \
             before such events were refused); its newest event time and release point were reset"
        );
        Ok(())
    }

    /// Puts an in-order event into the buffer and releases what the watermark allows
    /// (everything up to the event itself when it is evaluated now).
    fn apply(
        &mut self,
        t: &mut Tables<'_>,
        seq: u64,
        event: SignIn,
        evaluate: bool,
        produced: &mut Produced,
    ) -> Result<(), Error> {
        let key: Key = (event.time, event.event_id.clone());
        self.max_time = Some(self.max_time.map_or(event.time, |m| m.max(event.time)));
        self.buffer.insert(
            key.clone(),
            Buffered {
                seq,
                event,
                arrived: Instant::now(),
            },
        );
        if evaluate {
            self.release_upto(t, &key, Some(&key), produced)?;
        }
        if let Some(w) = self
            .max_time
            .and_then(|m| m.checked_sub(self.lateness).ok())
        {
            // Everything strictly older than the watermark can no longer be preceded.
            while let Some(first) = self.buffer.first_key_value().map(|(k, _)| k.clone()) {
                if first.0 >= w {
                    break;
                }
                self.release_upto(t, &first, None, produced)?;
            }
        }
        Ok(())
    }

    /// Runs every buffered event up to `bound` (inclusive) through the engine, in order.
    /// Alerts raised by the event `collect_for` (and naming it) are also left in
    /// `produced.scratch`.
    fn release_upto(
        &mut self,
        t: &mut Tables<'_>,
        bound: &Key,
        collect_for: Option<&Key>,
        produced: &mut Produced,
    ) -> Result<(), Error> {
        let mut out = Vec::new();
        while let Some(entry) = self.buffer.first_entry() {
            if entry.key() > bound {
                break;
            }
            let (key, b) = entry.remove_entry();
            out.clear();
            self.engine.observe(&b.event, &mut out);
            let collect = collect_for == Some(&key);
            for alert in out.drain(..) {
                self.record_raised(t, &key.1, alert, collect, produced)?;
            }
            self.released = Some(key);
        }
        if self.released.as_ref().is_none_or(|r| r < bound) {
            self.released = Some(bound.clone());
        }
        Ok(())
    }

    /// Stores an alert unless its id is already stored; its alert sequence either way.
    fn record_alert(
        &mut self,
        t: &mut Tables<'_>,
        alert: &Alert,
        produced: &mut Produced,
    ) -> Result<u64, Error> {
        if let Some(seq) = t
            .alert_ids
            .get(alert.alert_id.as_str())
            .map_err(|e| self.store.err(e))?
        {
            return Ok(seq.value());
        }
        let seq = self.next_alert_seq;
        self.next_alert_seq += 1;
        let stored = StoredAlert {
            seq,
            alert: alert.clone(),
        };
        let bytes = serde_json::to_vec(&stored).map_err(|e| self.store.err(e))?;
        t.alerts
            .insert(seq, bytes.as_slice())
            .map_err(|e| self.store.err(e))?;
        t.alert_ids
            .insert(alert.alert_id.as_str(), seq)
            .map_err(|e| self.store.err(e))?;
        for user in &alert.users {
            t.user_alerts
                .insert((user.as_str(), seq), ())
                .map_err(|e| self.store.err(e))?;
        }
        let now_ms = u64::try_from(Timestamp::now().as_millisecond()).unwrap_or(0);
        for hook in 0..self.webhooks {
            t.outbox
                .insert((seq, hook), (0u32, now_ms))
                .map_err(|e| self.store.err(e))?;
        }
        tracing::info!(
            alert_id = %alert.alert_id,
            detector = %alert.detector,
            severity = %alert.severity,
            user = alert.user.as_deref().unwrap_or(""),
            "alert"
        );
        produced.new.push(Arc::new(stored));
        Ok(seq)
    }

    fn write_snapshot(&mut self, txn: &WriteTransaction) -> Result<(), Error> {
        let engine = self
            .engine
            .snapshot()
            .map_err(|e| Error::Engine(e.to_string()))?;
        let core = CoreSnapshot {
            applied_seq: self.next_seq - 1,
            max_time: self.max_time,
            released: self.released.as_ref().map(|(t, id)| (*t, id.to_string())),
            buffer: self
                .buffer
                .values()
                .map(|b| (b.seq, b.event.clone()))
                .collect(),
        };
        let core = serde_json::to_vec(&core).map_err(|e| self.store.err(e))?;
        let mut meta = txn.open_table(META).map_err(|e| self.store.err(e))?;
        meta.insert("engine", engine.as_slice())
            .map_err(|e| self.store.err(e))?;
        meta.insert("core", core.as_slice())
            .map_err(|e| self.store.err(e))?;
        self.last_snapshot = Instant::now();
        self.events_since_snapshot = 0;
        tracing::debug!(
            bytes = engine.len(),
            applied_seq = self.next_seq - 1,
            "snapshot"
        );
        Ok(())
    }
}

enum Accepted {
    /// In order: buffered (and, when evaluated, released up to it).
    Fresh,
    /// Behind the release point, within the lateness bound: run through detection at once.
    OutOfOrder(CompactString),
    /// Beyond the lateness bound: stored only.
    Late(CompactString),
    /// Already stored, at this WAL sequence.
    Duplicate(CompactString, u64),
}

enum Reply {
    Ingest(oneshot::Sender<Result<IngestReport, Error>>, IngestReport),
    Evaluate(oneshot::Sender<Result<Verdict, Error>>, Verdict),
}
