//! Reading the two topics a partition's new owner consults: the checkpoint topic (the
//! latest checkpoint per partition) and the tail of the alert topic (alerts its previous
//! owner sent after that checkpoint, which a replay must not send again).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::topic_partition_list::Offset;

use super::{CALL_TIMEOUT, client_config};
use crate::{Error, Setup};

/// The header naming the partition an alert or checkpoint belongs to.
pub(crate) const SOURCE: &str = "jetlag-source";
/// The header of a finished partition's checkpoint (drain mode).
pub(crate) const FINISHED: &str = "jetlag-finished";

/// The latest checkpoint of each partition.
#[derive(Debug, Default)]
pub(crate) struct States {
    /// Partition key (`topic/partition`) → checkpoint bytes.
    pub bytes: HashMap<String, Vec<u8>>,
    /// Partition keys whose latest checkpoint is finished.
    pub finished: HashSet<String>,
}

fn reader(setup: &Setup) -> Result<BaseConsumer, Error> {
    let mut c = client_config(setup);
    c.set("group.id", format!("{}.reader", setup.kafka.group));
    c.set("enable.auto.commit", "false");
    c.set("enable.auto.offset.store", "false");
    c.create()
        .map_err(|e| Error::kafka("cannot create a topic reader", e))
}

/// A reader of the whole population topic (assigned, not in a group), from its beginning.
pub(crate) fn population_reader(setup: &Setup) -> Result<BaseConsumer, Error> {
    let mut c = client_config(setup);
    c.set("group.id", format!("{}.population", setup.kafka.group));
    c.set("enable.auto.commit", "false");
    c.set("enable.auto.offset.store", "false");
    // Latency over batching: a partition may be waiting for these figures.
    c.set("fetch.wait.max.ms", "10");
    c.set("fetch.error.backoff.ms", "50");
    let consumer: BaseConsumer = c
        .create()
        .map_err(|e| Error::kafka("cannot create the population reader", e))?;
    rewind(&consumer, setup)?;
    Ok(consumer)
}

/// Makes the population reader start again from the topic's beginning (a partition just
/// restored needs the records after its checkpoint; the others skip what they hold).
pub(crate) fn rewind(consumer: &BaseConsumer, setup: &Setup) -> Result<(), Error> {
    let topic = setup.kafka.population_topic();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Beginning)
        .map_err(|e| Error::kafka(format!("assign {topic}"), e))?;
    consumer
        .assign(&tpl)
        .map_err(|e| Error::kafka(format!("assign {topic}"), e))
}

/// Reads `topic`'s partitions from the given offsets to their current end, calling `f` on
/// every record.
fn read_to_end(
    setup: &Setup,
    topic: &str,
    from: &[(i32, Option<i64>)],
    mut f: impl FnMut(&rdkafka::message::BorrowedMessage<'_>),
) -> Result<(), Error> {
    let consumer = reader(setup)?;
    let mut tpl = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for &(p, start) in from {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, CALL_TIMEOUT)
            .map_err(|e| Error::kafka(format!("watermarks of {topic}/{p}"), e))?;
        let start = start.unwrap_or(low).max(low);
        if start < high {
            tpl.add_partition_offset(topic, p, Offset::Offset(start))
                .map_err(|e| Error::kafka(format!("assign {topic}/{p}"), e))?;
            ends.insert(p, high);
        }
    }
    if ends.is_empty() {
        return Ok(());
    }
    consumer
        .assign(&tpl)
        .map_err(|e| Error::kafka(format!("assign {topic}"), e))?;
    let deadline = Instant::now() + CALL_TIMEOUT * 4;
    // librdkafka reports connection trouble (a broker restarting, `AllBrokersDown` while
    // it reconnects) as consumption errors and recovers by itself: keep reading until the
    // deadline, and name the last error if it comes.
    let mut last_error: Option<rdkafka::error::KafkaError> = None;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(match last_error {
                Some(e) => Error::kafka(format!("read {topic} to its end (timed out)"), e),
                None => Error::kafka(format!("read {topic} to its end"), "timed out"),
            });
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(msg)) => {
                f(&msg);
                if ends
                    .get(&msg.partition())
                    .is_some_and(|&end| msg.offset() + 1 >= end)
                {
                    ends.remove(&msg.partition());
                }
            }
            Some(Err(e)) => {
                tracing::warn!(topic, error = %e, "reading to the end: consumer error, retrying");
                last_error = Some(e);
            }
            None => {}
        }
    }
    Ok(())
}

fn header<'m>(msg: &'m rdkafka::message::BorrowedMessage<'_>, name: &str) -> Option<&'m [u8]> {
    msg.headers()?
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
}

/// The latest checkpoint of every partition.
pub(crate) fn read_states(setup: &Setup) -> Result<States, Error> {
    let mut states = States::default();
    read_to_end(setup, &setup.kafka.state_topic(), &[(0, None)], |msg| {
        let (Some(key), Some(value)) = (msg.key(), msg.payload()) else {
            return;
        };
        let key = String::from_utf8_lossy(key).into_owned();
        if header(msg, FINISHED).is_some() {
            states.finished.insert(key.clone());
        } else {
            states.finished.remove(&key);
        }
        states.bytes.insert(key, value.to_vec());
    })?;
    Ok(states)
}

/// The drain checks' view of the checkpoint topic: which partitions' latest checkpoint is
/// finished, read incrementally (each refresh reads only the checkpoints written since the
/// last one). Re-reading the whole topic on every check made the broker serve the topic
/// again and again (tansu never compacts it): with 3 workers and hour epochs it reached
/// 265 MB and a backfill stalled behind the reads.
#[derive(Debug, Default)]
pub(crate) struct Finished {
    /// The next offset to read (`None`: from the beginning).
    next: Option<i64>,
    /// Partition keys whose latest checkpoint read so far is finished.
    keys: HashSet<String>,
}

impl Finished {
    /// Reads the checkpoints written since the last refresh.
    pub(crate) fn refresh(&mut self, setup: &Setup) -> Result<&HashSet<String>, Error> {
        let mut next = self.next;
        let keys = &mut self.keys;
        read_to_end(
            setup,
            &setup.kafka.state_topic(),
            &[(0, self.next)],
            |msg| {
                next = Some(msg.offset() + 1);
                let Some(key) = msg.key() else { return };
                let key = String::from_utf8_lossy(key);
                if header(msg, FINISHED).is_some() {
                    keys.insert(key.into_owned());
                } else {
                    keys.remove(key.as_ref());
                }
            },
        )?;
        self.next = next;
        Ok(&self.keys)
    }
}

/// Ids of the alerts of each source partition in `sources` sent at or after `from`
/// (per alert-topic partition; `None`: from the beginning).
pub(crate) fn read_sent_alerts(
    setup: &Setup,
    from: &[(i32, Option<i64>)],
    sources: &HashSet<String>,
) -> Result<HashMap<String, HashSet<String>>, Error> {
    let mut sent: HashMap<String, HashSet<String>> = HashMap::new();
    read_to_end(setup, &setup.kafka.alerts_topic, from, |msg| {
        let Some(src) = header(msg, SOURCE).and_then(|s| std::str::from_utf8(s).ok()) else {
            return;
        };
        if !sources.contains(src) {
            return;
        }
        if let Some(id) = msg.key().and_then(|k| std::str::from_utf8(k).ok()) {
            sent.entry(src.to_owned())
                .or_default()
                .insert(id.to_owned());
        }
    })?;
    Ok(sent)
}
