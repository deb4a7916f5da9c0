//! The Kafka backend (cargo feature `kafka`): librdkafka clients, topic set-up and the
//! worker threads — one ingest thread (stage 1) and one detect thread per keyed stream.

mod deliver;
mod detect;
mod ingest;
mod state;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::producer::{DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;

use crate::{Error, Key, Setup, Stage, Summary};

/// How long a blocking client call may take before the worker gives up.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) type Producer_ = ThreadedProducer<DefaultProducerContext>;

/// Consumer context: flushes the producer before partitions are given away (so every
/// alert of a revoked partition is acknowledged before its next owner looks for repeats),
/// notes rebalances, and keeps librdkafka's per-partition consumer lag for `/metrics`.
pub(crate) struct Ctx {
    producer: Arc<Producer_>,
    rebalanced: AtomicBool,
    lag: Mutex<Vec<(String, i32, i64)>>,
}

impl ClientContext for Ctx {
    fn stats(&self, statistics: Statistics) {
        let mut lag = Vec::new();
        for (name, topic) in statistics.topics {
            for (p, part) in topic.partitions {
                if p >= 0 && part.consumer_lag >= 0 {
                    lag.push((name.clone(), p, part.consumer_lag));
                }
            }
        }
        *self.lag.lock().unwrap_or_else(PoisonError::into_inner) = lag;
    }
}

impl ConsumerContext for Ctx {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance
            && let Err(e) = self.producer.flush(CALL_TIMEOUT)
        {
            tracing::error!(error = %e, "cannot flush before a rebalance");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        self.rebalanced.store(true, Ordering::Release);
    }
}

impl Ctx {
    pub(crate) fn take_rebalanced(&self) -> bool {
        self.rebalanced.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn lag(&self, topic: &str, partition: i32) -> i64 {
        self.lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(t, p, _)| t == topic && *p == partition)
            .map_or(-1, |(_, _, l)| *l)
    }
}

/// librdkafka settings shared by every client, then the user's properties.
pub(crate) fn client_config(setup: &Setup) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &setup.kafka.brokers);
    c.set("client.id", "jetlag");
    c.set("log_level", "4");
    for (k, v) in &setup.kafka.properties {
        c.set(k, v);
    }
    c
}

/// A consumer in group `group` (offsets committed only with checkpoints).
pub(crate) fn consumer(
    setup: &Setup,
    group: &str,
    producer: &Arc<Producer_>,
) -> Result<BaseConsumer<Ctx>, Error> {
    let mut c = ClientConfig::new();
    c.set("session.timeout.ms", "10000");
    c.set("heartbeat.interval.ms", "1000");
    c.set("statistics.interval.ms", "1000");
    c.set("partition.assignment.strategy", "range");
    // Latency over batching: records are small and stages wait on each other's watermarks.
    c.set("fetch.wait.max.ms", "20");
    // At most 64 KB (~60 input records) per partition and fetch, so that the input
    // partitions advance in step: librdkafka's default (1 MB each, served partition by
    // partition) let one run days of event time ahead of another, and every internal
    // partition's reorder buffer then held (and checkpointed) thousands of events waiting
    // for the slowest input's watermark — checkpoints of 2.6 MB, the broker's main work.
    c.set("max.partition.fetch.bytes", "65536");
    c.set("fetch.error.backoff.ms", "50");
    for (k, v) in client_config(setup).config_map() {
        c.set(k, v);
    }
    c.set("group.id", group);
    c.set("enable.auto.commit", "false");
    c.set("enable.auto.offset.store", "false");
    c.set("auto.offset.reset", "earliest");
    c.create_with_context(Ctx {
        producer: Arc::clone(producer),
        rebalanced: AtomicBool::new(false),
        lag: Mutex::new(Vec::new()),
    })
    .map_err(|e| Error::kafka(format!("cannot create consumer of group {group}"), e))
}

fn producer(setup: &Setup) -> Result<Producer_, Error> {
    let mut c = ClientConfig::new();
    // One request in flight per partition keeps each partition's records in send order
    // across retries: a watermark never overtakes the events it covers.
    c.set("max.in.flight.requests.per.connection", "1");
    c.set("enable.idempotence", "false");
    c.set("acks", "all");
    c.set("linger.ms", "2");
    c.set("message.max.bytes", "67108864");
    c.set("compression.type", "none");
    for (k, v) in client_config(setup).config_map() {
        c.set(k, v);
    }
    c.create()
        .map_err(|e| Error::kafka("cannot create producer", e))
}

/// Creates the internal topics that do not exist yet.
fn create_topics(setup: &Setup) -> Result<(), Error> {
    let admin: AdminClient<_> = client_config(setup)
        .create()
        .map_err(|e| Error::kafka("cannot create admin client", e))?;
    let k = &setup.kafka;
    let names: Vec<String> = Key::ALL.iter().map(|key| k.topic(*key)).collect();
    let state = k.state_topic();
    let replication = || TopicReplication::Fixed(k.replication);
    let mut topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|n| NewTopic::new(n, k.partitions, replication()))
        .collect();
    topics.push(NewTopic::new(&k.alerts_topic, k.partitions, replication()));
    topics.push(NewTopic::new(&state, 1, replication()).set("cleanup.policy", "compact"));
    // Population figures: tiny, read whole by every worker, in order (one partition).
    let population = k.population_topic();
    topics.push(NewTopic::new(&population, 1, replication()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::kafka("cannot start a runtime for the admin client", e))?;
    let results = runtime
        .block_on(admin.create_topics(&topics, &AdminOptions::new()))
        .map_err(|e| Error::kafka("cannot create topics", e))?;
    for r in results {
        match r {
            Ok(name) => tracing::info!(topic = %name, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(Error::kafka(format!("cannot create topic {name}"), code));
            }
        }
    }
    Ok(())
}

/// Partition count of `topic`.
pub(crate) fn partitions<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
) -> Result<i32, Error> {
    let what = || format!("metadata of topic {topic}");
    // Freshly created topics may take a moment to show up.
    for _ in 0..50 {
        let md = consumer
            .fetch_metadata(Some(topic), CALL_TIMEOUT)
            .map_err(|e| Error::kafka(what(), e))?;
        if let Some(t) = md.topics().first()
            && t.error().is_none()
            && !t.partitions().is_empty()
        {
            return i32::try_from(t.partitions().len()).map_err(|e| Error::kafka(what(), e));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(Error::kafka(what(), "topic does not exist"))
}

/// A failing thread stops the others: the worker leaves the group whole.
fn stop_on_error(stop: &AtomicBool, r: Result<Summary, Error>) -> Result<Summary, Error> {
    if r.is_err() {
        stop.store(true, Ordering::Release);
    }
    r
}

/// Runs the worker until `stop` is set, or — in drain mode — every partition has finished.
pub(crate) fn run(setup: Setup, stop: Arc<AtomicBool>) -> Result<Summary, Error> {
    create_topics(&setup)?;
    let setup = Arc::new(setup);
    let producer = Arc::new(producer(&setup)?);
    if let Some(addr) = &setup.kafka.metrics_listen {
        let bound = setup.metrics.serve(addr)?;
        tracing::info!(%bound, "metrics on /metrics");
    }
    let mut threads = Vec::new();
    let stages = &setup.kafka.stages;
    let mut keys = Vec::new();
    if stages.contains(&Stage::User) {
        keys.push(Key::User);
    }
    if stages.contains(&Stage::Cross) {
        keys.extend([Key::Ip, Key::Device]);
    }
    for key in keys {
        let (setup, producer, stop) =
            (Arc::clone(&setup), Arc::clone(&producer), Arc::clone(&stop));
        threads.push(
            std::thread::Builder::new()
                .name(format!("jetlag-{}", key.name()))
                .spawn(move || stop_on_error(&stop, detect::run(&setup, key, &producer, &stop)))
                .map_err(|e| Error::kafka("cannot start a worker thread", e))?,
        );
    }
    if stages.contains(&Stage::User) {
        let (setup, producer, stop) =
            (Arc::clone(&setup), Arc::clone(&producer), Arc::clone(&stop));
        threads.push(
            std::thread::Builder::new()
                .name("jetlag-ingest".into())
                .spawn(move || stop_on_error(&stop, ingest::run(&setup, &producer, &stop)))
                .map_err(|e| Error::kafka("cannot start a worker thread", e))?,
        );
    }
    if stages.contains(&Stage::Deliver) {
        let (setup, producer, stop) =
            (Arc::clone(&setup), Arc::clone(&producer), Arc::clone(&stop));
        threads.push(
            std::thread::Builder::new()
                .name("jetlag-deliver".into())
                .spawn(move || stop_on_error(&stop, deliver::run(&setup, &producer, &stop)))
                .map_err(|e| Error::kafka("cannot start a worker thread", e))?,
        );
    }
    let mut summary = Summary::default();
    let mut first_error = None;
    for t in threads {
        match t.join() {
            Ok(Ok(s)) => summary.add(&s),
            Ok(Err(e)) => {
                // One stage failing stops the others: the worker leaves the group whole.
                stop.store(true, Ordering::Release);
                tracing::error!(error = %e, "worker thread failed");
                first_error.get_or_insert(e);
            }
            Err(_) => {
                stop.store(true, Ordering::Release);
                first_error.get_or_insert(Error::kafka("worker thread", "panicked"));
            }
        }
    }
    if let Err(e) = producer.flush(CALL_TIMEOUT) {
        first_error.get_or_insert(Error::kafka("final flush", e));
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}
