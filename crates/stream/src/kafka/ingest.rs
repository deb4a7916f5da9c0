//! Stage 1, first half: input topics → normalize → enrich → the keyed internal topics,
//! followed by each input partition's watermark.
//!
//! At-least-once: input offsets are committed only after everything produced from them is
//! acknowledged. A record ingested twice after a crash yields the same events (same ids and
//! times), which the engines' redelivery filter drops (see DESIGN.md, "exactly once").

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::topic_partition_list::Offset;

use super::state;
use super::{CALL_TIMEOUT, Producer_, consumer, partitions};
use crate::metrics::PartitionFigures;
use crate::wire::{self, Watermark};
use crate::{Error, Key, Setup, Summary};

/// How often watermarks are sent and offsets committed.
const TICK: Duration = Duration::from_millis(250);

impl Default for Input {
    fn default() -> Input {
        Input {
            next: None,
            max_ns: None,
            sent: i64::MIN,
            committed: None,
            figures: PartitionFigures::default(),
        }
    }
}

/// Sends one record, waiting while the producer's queue is full.
pub(crate) fn send(
    producer: &Producer_,
    mut record: BaseRecord<'_, str, [u8]>,
) -> Result<(), Error> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, back)) => return Err(Error::kafka(format!("send to {}", back.topic), e)),
        }
    }
}

struct Input {
    /// Offset of the next record to read.
    next: Option<i64>,
    /// Latest event time seen (ns).
    max_ns: Option<i64>,
    /// Watermark last sent.
    sent: i64,
    committed: Option<i64>,
    figures: PartitionFigures,
}

pub(crate) fn run(
    setup: &Setup,
    producer: &Arc<Producer_>,
    stop: &AtomicBool,
) -> Result<Summary, Error> {
    let k = &setup.kafka;
    let group = format!("{}.ingest", k.group);
    let consumer = consumer(setup, &group, producer)?;
    // Input partitions are numbered across topics in config order, for the watermarks.
    let mut base = HashMap::new();
    let mut total: u32 = 0;
    for t in &k.topics {
        base.insert(t.clone(), total);
        total += u32::try_from(partitions(&consumer, t)?).unwrap_or(0);
    }
    let outputs: Vec<(String, i32)> = Key::ALL
        .iter()
        .map(|key| {
            let t = k.topic(*key);
            partitions(&consumer, &t).map(|n| (t, n))
        })
        .collect::<Result<_, _>>()?;
    let topics: Vec<&str> = k.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|e| Error::kafka(format!("subscribe to {}", k.topics.join(",")), e))?;

    let lateness_ns = i64::try_from(k.lateness_s)
        .unwrap_or(i64::MAX / 2)
        .saturating_mul(1_000_000_000);
    let mut inputs: HashMap<(String, i32), Input> = HashMap::new();
    let mut summary = Summary::default();
    let mut buf = Vec::with_capacity(1024);
    let mut last_tick = Instant::now();
    let mut idle_since: Option<Instant> = None;
    let mut done = state::Finished::default();
    loop {
        if stop.load(Ordering::Acquire) {
            break;
        }
        if consumer.context().take_rebalanced() {
            let owned = consumer
                .assignment()
                .map_err(|e| Error::kafka("assignment", e))?;
            let now: Vec<(String, i32)> = owned
                .elements()
                .iter()
                .map(|e| (e.topic().to_owned(), e.partition()))
                .collect();
            inputs.retain(|key, _| now.contains(key));
            for key in now {
                inputs.entry(key).or_default();
            }
            tracing::info!(partitions = inputs.len(), "ingest: assignment changed");
        }
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(msg)) => {
                idle_since = None;
                let (topic, p, offset) = (msg.topic(), msg.partition(), msg.offset());
                let input = inputs.entry((topic.to_owned(), p)).or_default();
                input.next = Some(offset + 1);
                input.figures.records += 1;
                summary.records += 1;
                let Some(body) = msg.payload() else {
                    continue;
                };
                let name = format!("{topic}/{p}@{offset}");
                let parsed = match jetlag_normalize::parse_body(&name, body, k.format) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(record = %name, error = %e, "input record unreadable");
                        input.figures.rejected += 1;
                        summary.rejected += 1;
                        continue;
                    }
                };
                for r in &parsed.rejects {
                    tracing::warn!(record = %r.file, line = r.line, reason = %r.reason, "input record rejected");
                }
                input.figures.rejected += parsed.rejects.len() as u64;
                summary.rejected += parsed.rejects.len() as u64;
                for mut ev in parsed.events {
                    if let Some(enricher) = &setup.enricher {
                        enricher.enrich(&mut ev);
                    }
                    let t = i64::try_from(ev.time.as_nanosecond()).unwrap_or(i64::MAX - 1);
                    input.max_ns = Some(input.max_ns.map_or(t, |m| m.max(t)));
                    wire::encode_event(&ev, &mut buf)?;
                    for (key, (out, _)) in Key::ALL.iter().zip(&outputs) {
                        if let Some(kv) = key.of(&ev) {
                            send(
                                producer,
                                BaseRecord::to(out).key(kv.as_str()).payload(&buf[..]),
                            )?;
                        }
                    }
                    input.figures.events += 1;
                    summary.events += 1;
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "ingest: consumer error"),
            None => {
                idle_since.get_or_insert_with(Instant::now);
            }
        }
        if last_tick.elapsed() < TICK {
            continue;
        }
        last_tick = Instant::now();
        // Caught up (checked only when idle for a while: it asks the broker).
        let idle = idle_since.is_some_and(|t| t.elapsed() >= Duration::from_millis(500));
        for ((topic, p), input) in &mut inputs {
            let Some(&b) = base.get(topic) else { continue };
            let up = b + u32::try_from(*p).unwrap_or(0);
            let mut until = input
                .max_ns
                .map_or(i64::MIN, |m| m.saturating_sub(lateness_ns));
            if idle && caught_up(&consumer, topic, *p, input)? {
                until = if setup.drain {
                    i64::MAX
                } else {
                    let now = i64::try_from(jiff::Timestamp::now().as_nanosecond())
                        .unwrap_or(i64::MAX - 1);
                    until.max(now.saturating_sub(lateness_ns))
                };
            }
            if until > input.sent {
                let wm = wire::encode_watermark(Watermark {
                    up,
                    of: total,
                    until_ns: until,
                });
                for (out, n) in &outputs {
                    for part in 0..*n {
                        send(
                            producer,
                            BaseRecord::to(out).partition(part).payload(&wm[..]),
                        )?;
                    }
                }
                input.sent = until;
            }
        }
        commit(&consumer, producer, &mut inputs)?;
        setup.metrics.publish(
            "ingest",
            inputs
                .iter()
                .map(|((t, p), i)| {
                    let mut f = i.figures;
                    f.lag = consumer.context().lag(t, *p);
                    (t.clone(), *p, f)
                })
                .collect(),
        );
        if setup.drain && idle && inputs.values().all(|i| i.sent == i64::MAX) {
            // Everything this worker owns has ended; stay in the group (a dead worker's
            // partitions may still come our way) until every partition has finished.
            let finished = done.refresh(setup)?;
            let all = outputs
                .iter()
                .all(|(t, n)| (0..*n).all(|p| finished.contains(&format!("{t}/{p}"))));
            if all {
                break;
            }
        }
    }
    commit(&consumer, producer, &mut inputs)?;
    Ok(summary)
}

/// Whether the partition has been read to its end.
fn caught_up(
    consumer: &rdkafka::consumer::BaseConsumer<super::Ctx>,
    topic: &str,
    p: i32,
    input: &mut Input,
) -> Result<bool, Error> {
    let (low, high) = consumer
        .fetch_watermarks(topic, p, CALL_TIMEOUT)
        .map_err(|e| Error::kafka(format!("watermarks of {topic}/{p}"), e))?;
    if input.next.is_none() {
        // Nothing read since the assignment: where the group left off.
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, p);
        let committed = consumer
            .committed_offsets(tpl, CALL_TIMEOUT)
            .map_err(|e| Error::kafka(format!("committed offset of {topic}/{p}"), e))?;
        let at = committed
            .find_partition(topic, p)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
            .unwrap_or(low);
        return Ok(at >= high);
    }
    Ok(input.next.is_some_and(|n| n >= high))
}

/// Commits the input offsets whose records are all acknowledged.
fn commit(
    consumer: &rdkafka::consumer::BaseConsumer<super::Ctx>,
    producer: &Producer_,
    inputs: &mut HashMap<(String, i32), Input>,
) -> Result<(), Error> {
    let mut tpl = TopicPartitionList::new();
    for ((t, p), i) in inputs.iter() {
        if let Some(n) = i.next
            && i.committed != Some(n)
        {
            tpl.add_partition_offset(t, *p, Offset::Offset(n))
                .map_err(|e| Error::kafka(format!("offset of {t}/{p}"), e))?;
        }
    }
    if tpl.count() == 0 {
        return Ok(());
    }
    producer
        .flush(CALL_TIMEOUT)
        .map_err(|e| Error::kafka("flush before commit", e))?;
    match consumer.commit(&tpl, CommitMode::Sync) {
        Ok(()) => {
            for i in inputs.values_mut() {
                i.committed = i.next;
            }
        }
        // Partitions revoked meanwhile: their next owner re-reads a little; harmless.
        Err(e) => tracing::warn!(error = %e, "ingest: commit failed"),
    }
    Ok(())
}
