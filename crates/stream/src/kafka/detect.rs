//! Stage 1 second half and stage 2: one keyed internal topic → its partitions' engines →
//! the alert topic, with checkpoints.
//!
//! Per partition: records before the checkpoint's offset are skipped; alerts are sent
//! keyed by alert id with a header naming their partition; every checkpoint interval the
//! producer is flushed (every alert so far acknowledged), the alert topic's end offsets
//! noted, and the checkpoint written; then the offset is committed (for lag only — the
//! checkpoint is the truth). A new owner restores the checkpoint and drops the alerts of
//! its replay that the alert topic already holds after the noted offsets.
//!
//! On `by-user`, the thread also reads the whole population topic and hands every record to
//! every partition it owns, and publishes its partitions' own population records (see
//! [`Partition`]); a partition the thread takes over makes it read the topic again from
//! the beginning (each partition skips what it already holds).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jetlag_event::Alert;
use rdkafka::Message;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::topic_partition_list::Offset;

use super::ingest::send;
use super::state::{self, FINISHED, SOURCE};
use super::{CALL_TIMEOUT, Ctx, Producer_, consumer, partitions};
use crate::metrics::PartitionFigures;
use crate::partition::Partition;
use crate::wire::PopulationRecord;
use crate::wire::{self, Record};
use crate::{Error, Key, Setup, Summary};

struct Owned {
    part: Partition,
    /// Offset of the next record to process.
    next: i64,
    /// Offset in the last checkpoint.
    checkpointed: i64,
    /// Alert ids already in the alert topic that a replay must not send again.
    suppress: HashSet<String>,
    figures: PartitionFigures,
    /// State changed without a record of the partition (population records arrived).
    dirty: bool,
}

/// Where a thread sends alerts and population records.
struct Out<'a> {
    setup: &'a Setup,
    producer: &'a Producer_,
    topic: &'a str,
    buf: Vec<u8>,
}

impl Out<'_> {
    /// Sends the alerts of partition `p` (but those its previous owner already sent).
    fn alerts(
        &mut self,
        p: i32,
        o: &mut Owned,
        alerts: &mut Vec<Alert>,
        summary: &mut Summary,
    ) -> Result<(), Error> {
        if alerts.is_empty() {
            return Ok(());
        }
        let k = &self.setup.kafka;
        let src = format!("{}/{p}", self.topic);
        let mut sent = Vec::new();
        let mut suppressed = 0;
        for a in alerts.drain(..) {
            if o.suppress.remove(&a.alert_id) {
                suppressed += 1;
                continue;
            }
            self.buf.clear();
            serde_json::to_writer(&mut self.buf, &a).map_err(|e| Error::Encode(e.to_string()))?;
            let headers = OwnedHeaders::new().insert(Header {
                key: SOURCE,
                value: Some(src.as_str()),
            });
            send(
                self.producer,
                BaseRecord::to(&k.alerts_topic)
                    .key(a.alert_id.as_str())
                    .payload(&self.buf[..])
                    .headers(headers),
            )?;
            summary.alerts += 1;
            sent.push(a.detector);
        }
        self.setup
            .metrics
            .add_alerts(sent.iter().map(|d| &**d), suppressed);
        Ok(())
    }

    /// Publishes partition `p`'s population records.
    fn population(&mut self, p: i32, o: &mut Owned) -> Result<(), Error> {
        let topic = self.setup.kafka.population_topic();
        let key = p.to_string();
        for rec in o.part.take_population() {
            let bytes = crate::wire::encode_population(&rec)?;
            send(
                self.producer,
                BaseRecord::to(&topic)
                    .partition(0)
                    .key(key.as_str())
                    .payload(&bytes[..]),
            )?;
        }
        Ok(())
    }
}

pub(crate) fn run(
    setup: &Setup,
    key: Key,
    producer: &Arc<Producer_>,
    stop: &AtomicBool,
) -> Result<Summary, Error> {
    let k = &setup.kafka;
    let topic = k.topic(key);
    let consumer = consumer(setup, &format!("{}.{}", k.group, key.name()), producer)?;
    let topic_partitions = partitions(&consumer, &topic)?;
    let alert_partitions = partitions(&consumer, &k.alerts_topic)?;
    consumer
        .subscribe(&[&topic])
        .map_err(|e| Error::kafka(format!("subscribe to {topic}"), e))?;
    let detect = key.detect_config(&setup.detect);
    let interval = Duration::from_millis(k.checkpoint_interval_ms);
    // by-user partitions exchange population figures (when a detector reads them).
    let sources = (key == Key::User).then(|| u32::try_from(topic_partitions).unwrap_or(0));
    let population = match sources {
        Some(_) => Some(state::population_reader(setup)?),
        None => None,
    };
    let mut sender = Out {
        setup,
        producer,
        topic: &topic,
        buf: Vec::with_capacity(1024),
    };

    let mut owned: HashMap<i32, Owned> = HashMap::new();
    let mut alerts: Vec<Alert> = Vec::new();
    let mut summary = Summary::default();
    let mut last_checkpoint = Instant::now();
    let mut last_done_check = Instant::now();
    let mut done = state::Finished::default();
    let mut idle = false;
    loop {
        if stop.load(Ordering::Acquire) {
            break;
        }
        if consumer.context().take_rebalanced() {
            let assigned: Vec<i32> = consumer
                .assignment()
                .map_err(|e| Error::kafka("assignment", e))?
                .elements_for_topic(&topic)
                .iter()
                .map(|e| e.partition())
                .collect();
            owned.retain(|p, _| assigned.contains(p));
            let new: Vec<i32> = assigned
                .into_iter()
                .filter(|p| !owned.contains_key(p))
                .collect();
            if !new.is_empty() {
                owned.extend(restore(
                    setup,
                    &detect,
                    &topic,
                    sources,
                    alert_partitions,
                    &new,
                )?);
                if let Some(c) = &population {
                    state::rewind(c, setup)?;
                }
            }
            tracing::info!(stream = key.name(), partitions = ?owned.keys().collect::<Vec<_>>(), "assignment changed");
        }
        if let Some(c) = &population {
            // Everything the population topic has now, to every partition owned.
            while let Some(polled) = c.poll(Duration::ZERO) {
                let msg = match polled {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "population reader error");
                        break;
                    }
                };
                let rec: PopulationRecord = match msg.payload().map(crate::wire::decode_population)
                {
                    Some(Ok(rec)) => rec,
                    Some(Err(e)) => {
                        tracing::warn!(record = %format!("{}@{}", k.population_topic(), msg.offset()), error = %e, "population record skipped");
                        continue;
                    }
                    None => continue,
                };
                for (p, o) in owned.iter_mut() {
                    let was = o.part.finished();
                    if !o.part.population(&rec, setup.drain, &mut alerts) {
                        continue;
                    }
                    o.dirty = true;
                    sender.alerts(*p, o, &mut alerts, &mut summary)?;
                    sender.population(*p, o)?;
                    if !was && o.part.finished() {
                        last_checkpoint = Instant::now() - interval;
                    }
                }
            }
        }
        // Idle and waiting for population figures: poll briefly so they are taken in at
        // once (checked only when idle: a busy poll returns at once anyway).
        let wait = if idle && owned.values().any(|o| o.part.waits_for_population()) {
            Duration::from_millis(5)
        } else {
            Duration::from_millis(50)
        };
        let polled = consumer.poll(wait);
        idle = polled.is_none();
        if let Some(polled) = polled {
            let msg = match polled {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "consumer error");
                    continue;
                }
            };
            let p = msg.partition();
            if !owned.contains_key(&p) {
                // A record of a partition whose assignment we have not seen yet.
                owned.extend(restore(
                    setup,
                    &detect,
                    &topic,
                    sources,
                    alert_partitions,
                    &[p],
                )?);
                if let Some(c) = &population {
                    state::rewind(c, setup)?;
                }
            }
            let Some(o) = owned.get_mut(&p) else { continue };
            if msg.offset() < o.next {
                continue; // already in the checkpoint
            }
            o.next = msg.offset() + 1;
            o.figures.records += 1;
            summary.records += 1;
            match msg.payload().map(wire::decode) {
                Some(Ok(Record::Event(ev))) => {
                    o.figures.events += 1;
                    summary.events += 1;
                    o.part.event(*ev, &mut alerts);
                }
                Some(Ok(Record::Watermark(wm))) => {
                    let was = o.part.finished();
                    o.part.watermark(wm, setup.drain, &mut alerts);
                    if !was && o.part.finished() {
                        // Make the end durable at once.
                        last_checkpoint = Instant::now() - interval;
                    }
                }
                Some(Err(e)) => {
                    o.figures.rejected += 1;
                    summary.rejected += 1;
                    tracing::warn!(record = %format!("{topic}/{p}@{}", msg.offset()), error = %e, "internal record skipped");
                }
                None => {}
            }
            sender.alerts(p, o, &mut alerts, &mut summary)?;
            if o.part.shares_population() {
                sender.population(p, o)?;
            }
        }
        if last_checkpoint.elapsed() >= interval {
            last_checkpoint = Instant::now();
            checkpoint(
                setup,
                &consumer,
                producer,
                &topic,
                alert_partitions,
                &mut owned,
            )?;
            setup.metrics.publish(
                key.name(),
                owned
                    .iter()
                    .map(|(p, o)| {
                        let mut f = o.figures;
                        f.lag = consumer.context().lag(&topic, *p);
                        f.buffered = o.part.buffered() as u64;
                        (topic.clone(), *p, f)
                    })
                    .collect(),
            );
        }
        if setup.drain
            && owned
                .values()
                .all(|o| o.part.finished() && o.checkpointed == o.next && !o.dirty)
            && last_done_check.elapsed() >= Duration::from_secs(1)
        {
            last_done_check = Instant::now();
            let finished = done.refresh(setup)?;
            if (0..topic_partitions).all(|p| finished.contains(&format!("{topic}/{p}"))) {
                break;
            }
        }
    }
    checkpoint(
        setup,
        &consumer,
        producer,
        &topic,
        alert_partitions,
        &mut owned,
    )?;
    Ok(summary)
}

/// Restores partitions from their latest checkpoints (fresh when they have none) and
/// collects the alerts their previous owners sent after them.
fn restore(
    setup: &Setup,
    detect: &jetlag_detect::DetectConfig,
    topic: &str,
    sources: Option<u32>,
    alert_partitions: i32,
    parts: &[i32],
) -> Result<Vec<(i32, Owned)>, Error> {
    let states = state::read_states(setup)?;
    let mut restored = Vec::new();
    // Where to look for repeats: from the earliest checkpoint's alert-topic offsets.
    let mut from: Vec<Option<i64>> = vec![None; usize::try_from(alert_partitions).unwrap_or(0)];
    let mut first = true;
    for &p in parts {
        let name = format!("{topic}/{p}");
        let (part, next, ends) = match states.bytes.get(&name) {
            Some(bytes) => {
                let cp = Partition::decode_checkpoint(bytes)
                    .map_err(|e| Error::Checkpoint(format!("{name}: {e}")))?;
                let part = Partition::restore(detect, Arc::clone(&setup.roster), &cp)
                    .map_err(|e| Error::Checkpoint(format!("{name}: {e}")))?;
                (part, cp.next_offset, Some(cp.alerts_end))
            }
            None => {
                let roster = Arc::clone(&setup.roster);
                let part = match sources {
                    Some(of) => Partition::with_population(
                        detect,
                        roster,
                        u32::try_from(p).unwrap_or(0),
                        of,
                    ),
                    None => Partition::new(detect, roster),
                };
                (part, 0, None)
            }
        };
        for (i, slot) in from.iter_mut().enumerate() {
            let end = ends.as_ref().and_then(|e| e.get(i).copied());
            *slot = match (first, *slot, end) {
                (true, _, e) => e,
                (false, Some(a), Some(b)) => Some(a.min(b)),
                _ => None,
            };
        }
        first = false;
        tracing::info!(partition = %name, offset = next, buffered = part.buffered(), "partition restored");
        restored.push((
            p,
            Owned {
                part,
                next,
                checkpointed: next,
                suppress: HashSet::new(),
                figures: PartitionFigures::default(),
                dirty: false,
            },
        ));
    }
    let sources: HashSet<String> = parts.iter().map(|p| format!("{topic}/{p}")).collect();
    let from: Vec<(i32, Option<i64>)> = (0..alert_partitions).zip(from).collect();
    let mut sent = state::read_sent_alerts(setup, &from, &sources)?;
    for (p, o) in &mut restored {
        if let Some(ids) = sent.remove(&format!("{topic}/{p}")) {
            tracing::info!(partition = %format!("{topic}/{p}"), alerts = ids.len(), "alerts already sent after the checkpoint");
            o.suppress = ids;
        }
    }
    Ok(restored)
}

/// Checkpoints every partition that moved since its last checkpoint.
fn checkpoint(
    setup: &Setup,
    consumer: &BaseConsumer<Ctx>,
    producer: &Producer_,
    topic: &str,
    alert_partitions: i32,
    owned: &mut HashMap<i32, Owned>,
) -> Result<(), Error> {
    if owned.values().all(|o| o.checkpointed == o.next && !o.dirty) {
        return Ok(());
    }
    // Every alert so far acknowledged, then the alert topic's end: alerts after it were
    // sent after this checkpoint.
    producer
        .flush(CALL_TIMEOUT)
        .map_err(|e| Error::kafka("flush alerts before a checkpoint", e))?;
    let alerts_end = (0..alert_partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(&setup.kafka.alerts_topic, p, CALL_TIMEOUT)
                .map(|(_, high)| high)
                .map_err(|e| Error::kafka(format!("end of {}/{p}", setup.kafka.alerts_topic), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let state_topic = setup.kafka.state_topic();
    let mut tpl = TopicPartitionList::new();
    let mut n = 0;
    for (p, o) in owned.iter_mut() {
        if o.checkpointed == o.next && !o.dirty {
            continue;
        }
        let bytes = o.part.checkpoint(o.next, alerts_end.clone())?;
        let name = format!("{topic}/{p}");
        let mut headers = OwnedHeaders::new();
        if o.part.finished() {
            headers = headers.insert(Header {
                key: FINISHED,
                value: Some("1"),
            });
        }
        send(
            producer,
            BaseRecord::to(&state_topic)
                .key(name.as_str())
                .payload(&bytes[..])
                .headers(headers),
        )?;
        tpl.add_partition_offset(topic, *p, Offset::Offset(o.next))
            .map_err(|e| Error::kafka(format!("offset of {name}"), e))?;
        o.checkpointed = o.next;
        o.dirty = false;
        n += 1;
    }
    producer
        .flush(CALL_TIMEOUT)
        .map_err(|e| Error::kafka("flush checkpoints", e))?;
    setup.metrics.add_checkpoints(n);
    if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
        tracing::warn!(error = %e, "commit failed (the checkpoint holds the offset)");
    }
    Ok(())
}
