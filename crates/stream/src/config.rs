//! The `[kafka]` table of the config file: read raw (serde, `deny_unknown_fields`), then
//! checked in one step that reports every problem at once (STYLE.md rule 6).
//!
//! ```toml
//! [kafka]
//! brokers = "127.0.0.1:9092"          # bootstrap.servers
//! topics = ["signins"]                # input topics, any format `scan` reads
//! group = "jetlag"                    # consumer-group prefix
//! stages = ["user", "cross"]          # what this worker runs
//! [kafka.properties]                  # passed to librdkafka as they are (SASL, TLS, ...)
//! "security.protocol" = "SASL_SSL"
//! ```

use std::collections::BTreeMap;

use jetlag_normalize::Format;
use serde::{Deserialize, Serialize};

/// Which half of the work a worker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Stage 1: read the input topics, normalize and enrich, re-key every event by user,
    /// IP and device into the internal topics; run the per-user detectors on the user topic.
    User,
    /// Stage 2: run the cross-identity detectors on the IP and device topics.
    Cross,
    /// Deliver the alert topic to the webhooks (`[[kafka.webhooks]]`).
    Deliver,
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Stage, String> {
        match s {
            "user" => Ok(Stage::User),
            "cross" => Ok(Stage::Cross),
            "deliver" => Ok(Stage::Deliver),
            other => Err(format!(
                "unknown stage '{other}' (expected user, cross or deliver)"
            )),
        }
    }
}

impl Stage {
    /// The stage's name, as `kafka.stages` and `--stage` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::User => "user",
            Stage::Cross => "cross",
            Stage::Deliver => "deliver",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Command-line settings that replace the table's (`jetlag consume --stage`,
/// `--metrics-listen`). [`KafkaConfig::from_table_with`] checks them with the rest of the
/// table, as it would check the same settings in the file, and names them by their flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaOverrides {
    /// The stages to run instead of `kafka.stages` (`--stage`, repeatable); empty: the
    /// table's.
    pub stages: Vec<Stage>,
    /// Where `/metrics` is served instead of `kafka.metrics_listen` (`--metrics-listen`).
    pub metrics_listen: Option<String>,
}

/// The validated `[kafka]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaConfig {
    /// Bootstrap brokers (`host:port,host:port`), librdkafka's `bootstrap.servers`.
    pub brokers: String,
    /// Input topics.
    pub topics: Vec<String>,
    /// Input format (`auto` decides per record).
    pub format: Format,
    /// Consumer-group prefix: stages join `<group>.ingest`, `<group>.user`, `<group>.ip`
    /// and `<group>.device`.
    pub group: String,
    /// Prefix of the internal topics: `<prefix>.by-user`, `.by-ip`, `.by-device`,
    /// `.state` and (unless `alerts_topic` is set) `.alerts`.
    pub prefix: String,
    /// The alert topic (alert JSON, keyed by alert id).
    pub alerts_topic: String,
    /// Partitions of the internal topics when jetlag creates them.
    pub partitions: i32,
    /// Replication factor of the topics jetlag creates.
    pub replication: i32,
    /// The stages this worker runs.
    pub stages: Vec<Stage>,
    /// How far (seconds of event time) an input partition may be out of order.
    pub lateness_s: u64,
    /// How often (milliseconds) each partition's detector state is checkpointed (and the
    /// stage's offsets committed). Longer means fewer, cheaper writes to the broker and a
    /// longer replay after a crash; the alerts are the same either way.
    pub checkpoint_interval_ms: u64,
    /// Where `/metrics` is served (`None`: not served).
    pub metrics_listen: Option<String>,
    /// librdkafka properties for every client (security, SASL, TLS, timeouts).
    pub properties: BTreeMap<String, String>,
    /// Webhooks the `deliver` stage POSTs every alert to.
    pub webhooks: Vec<Webhook>,
    /// Attempts per alert and webhook before it goes to `<prefix>.dead-letter`.
    pub webhook_attempts: u32,
    /// Back-off before the first retry, doubled each time (milliseconds).
    pub webhook_backoff_ms: u64,
}

/// A webhook: alerts are POSTed as JSON, signed `X-Jetlag-Signature: sha256=<hex HMAC>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `http://` or `https://` URL.
    pub url: String,
    /// HMAC-SHA256 key of the signature.
    pub secret: String,
}

/// The `[kafka]` table: the brokers and topics `jetlag consume` reads, and what each worker
/// runs. Only `jetlag consume` reads it, and it cannot run without it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Raw {
    /// Bootstrap brokers (`host:port,host:port`), librdkafka's `bootstrap.servers`.
    /// Default "127.0.0.1:9092".
    brokers: String,
    /// Input topics, in any format `jetlag scan` reads. Required: at least one (no default).
    /// Example: `topics = ["signins"]`
    topics: Vec<String>,
    /// Input format: auto, entra, okta, google, cloudtrail, ocsf, ecs, csv. Default auto.
    format: String,
    /// Consumer-group prefix: the stages join `<group>.ingest`, `<group>.user`, `<group>.ip`
    /// and `<group>.device`. Default "jetlag".
    group: String,
    /// Prefix of the internal topics (`<prefix>.by-user`, `.by-ip`, `.by-device`, `.state`,
    /// `.population`, `.dead-letter`). Default "jetlag".
    prefix: String,
    /// The alert topic (alert JSON, keyed by alert id). Default `<prefix>.alerts`.
    /// Example: `alerts_topic = "jetlag.alerts"`
    alerts_topic: Option<String>,
    /// Partitions of the internal topics jetlag creates. Default 6.
    partitions: i32,
    /// Replication factor of the topics jetlag creates. Default 1.
    replication: i32,
    /// Stages this worker runs: "user" (normalize, enrich, re-key, per-user detectors),
    /// "cross" (cross-identity detectors), "deliver" (POST the alert topic to the webhooks;
    /// needs `webhooks`). Default ["user", "cross"].
    stages: Vec<String>,
    /// Out-of-order tolerance of an input partition, seconds. Default 60.
    lateness_s: u64,
    /// Checkpoint interval, milliseconds: how much a partition's new owner replays after a
    /// crash, against how often every partition's whole state (engine snapshot and reorder
    /// buffer) is written to the `.state` topic. Default 10000 (at 1000 the checkpoint
    /// writes dominated the broker's work; DESIGN.md, "What bounds `jetlag consume`").
    checkpoint_interval_ms: u64,
    /// Where Prometheus `/metrics` is served. Default: none (not served).
    /// Example: `metrics_listen = "127.0.0.1:9464"`
    metrics_listen: Option<String>,
    /// librdkafka properties for every client (security, SASL, TLS, timeouts), passed
    /// through; jetlag sets `group.id` and the offset and isolation settings itself.
    /// Example: `properties = { "security.protocol" = "SASL_SSL" }`
    properties: BTreeMap<String, String>,
    /// Webhooks the `deliver` stage POSTs every alert to (`[[kafka.webhooks]]`), each an
    /// http(s) `url` and the HMAC-SHA256 `secret` of its `X-Jetlag-Signature` header.
    /// Example: `webhooks = [{ url = "https://soar.example/hook", secret = "…" }]`
    webhooks: Vec<Webhook>,
    /// Attempts per alert and webhook before it goes to `<prefix>.dead-letter`. Default 5.
    webhook_attempts: u32,
    /// First retry back-off, ms, doubled each time. Default 500.
    webhook_backoff_ms: u64,
}

impl Default for Raw {
    fn default() -> Raw {
        Raw {
            brokers: "127.0.0.1:9092".into(),
            topics: Vec::new(),
            format: "auto".into(),
            group: "jetlag".into(),
            prefix: "jetlag".into(),
            alerts_topic: None,
            partitions: 6,
            replication: 1,
            stages: vec!["user".into(), "cross".into()],
            lateness_s: 60,
            checkpoint_interval_ms: 10_000,
            metrics_listen: None,
            properties: BTreeMap::new(),
            webhooks: Vec::new(),
            webhook_attempts: 5,
            webhook_backoff_ms: 500,
        }
    }
}

/// Properties jetlag sets itself: overriding them would break the exactly-once argument.
const RESERVED: [&str; 5] = [
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "isolation.level",
];

impl KafkaConfig {
    /// The on-disk `[kafka]` table with every default (`alerts_topic` and `metrics_listen`,
    /// which default to none, are absent; `topics` is empty), as `jetlag config default`
    /// prints it. Not valid alone: `topics` needs at least one topic.
    pub fn default_table() -> toml::Table {
        toml::Table::try_from(Raw::default()).unwrap_or_default()
    }

    /// Reads the raw `[kafka]` table (`None`: no table) and checks it.
    ///
    /// # Errors
    /// Every problem, each starting with its key path (`kafka.partitions: ...`).
    ///
    /// # Example
    /// ```
    /// let table: toml::Table = toml::from_str("topics = [\"signins\"]\npartitions = 0").unwrap();
    /// let problems = jetlag_stream::KafkaConfig::from_table(Some(table)).unwrap_err();
    /// assert_eq!(problems, ["kafka.partitions: must be at least 1 (got 0)"]);
    /// ```
    pub fn from_table(table: Option<toml::Table>) -> Result<KafkaConfig, Vec<String>> {
        KafkaConfig::from_table_with(table, &KafkaOverrides::default())
    }

    /// Reads the raw `[kafka]` table (`None`: no table), replaces the settings the command
    /// line gives (`overrides`), then checks the result: one path, so that a setting is
    /// checked the same whether it comes from the file or a flag. A replaced setting of the
    /// file is not checked; a problem of a flag's is named by the flag (`--stage: …`).
    ///
    /// # Errors
    /// Every problem, each starting with its key path or flag.
    ///
    /// # Example
    /// ```
    /// use jetlag_stream::{KafkaConfig, KafkaOverrides, Stage};
    /// let table: toml::Table = toml::from_str("topics = [\"signins\"]").unwrap();
    /// let flags = KafkaOverrides { stages: vec![Stage::Deliver], metrics_listen: None };
    /// let problems = KafkaConfig::from_table_with(Some(table), &flags).unwrap_err();
    /// assert_eq!(problems, ["--stage: 'deliver' needs at least one [[kafka.webhooks]]"]);
    /// ```
    pub fn from_table_with(
        table: Option<toml::Table>,
        overrides: &KafkaOverrides,
    ) -> Result<KafkaConfig, Vec<String>> {
        let mut unread = Vec::new();
        let (raw, unreadable): (Raw, _) = match &table {
            None => (Raw::default(), Default::default()),
            Some(t) => jetlag_config::deserialize_by_key(t, "kafka", &mut unread),
        };
        let mut problems = Vec::new();
        if raw.brokers.trim().is_empty() {
            problems.push("kafka.brokers: must not be empty".to_owned());
        }
        if raw.topics.is_empty() {
            problems.push("kafka.topics: at least one input topic is needed".to_owned());
        }
        for t in &raw.topics {
            if let Err(why) = check_topic(t) {
                problems.push(format!("kafka.topics: '{t}' {why}"));
            }
        }
        let format = raw.format.parse::<Format>().unwrap_or_else(|e| {
            problems.push(format!("kafka.format: {e}"));
            Format::Auto
        });
        if raw.group.trim().is_empty() {
            problems.push("kafka.group: must not be empty".to_owned());
        }
        if let Err(why) = check_topic(&raw.prefix) {
            problems.push(format!("kafka.prefix: '{}' {why}", raw.prefix));
        }
        let alerts_topic = raw
            .alerts_topic
            .unwrap_or_else(|| format!("{}.alerts", raw.prefix));
        if let Err(why) = check_topic(&alerts_topic) {
            problems.push(format!("kafka.alerts_topic: '{alerts_topic}' {why}"));
        }
        if raw.partitions < 1 {
            problems.push(format!(
                "kafka.partitions: must be at least 1 (got {})",
                raw.partitions
            ));
        }
        if raw.replication < 1 {
            problems.push(format!(
                "kafka.replication: must be at least 1 (got {})",
                raw.replication
            ));
        }
        let mut stages = Vec::new();
        let stages_key = if overrides.stages.is_empty() {
            for s in &raw.stages {
                match s.parse::<Stage>() {
                    Ok(stage) if !stages.contains(&stage) => stages.push(stage),
                    Ok(_) => problems.push(format!("kafka.stages: '{s}' given twice")),
                    Err(why) => problems.push(format!("kafka.stages: {why}")),
                }
            }
            if raw.stages.is_empty() {
                problems.push("kafka.stages: at least one of user, cross".to_owned());
            }
            "kafka.stages"
        } else {
            for &stage in &overrides.stages {
                if stages.contains(&stage) {
                    problems.push(format!("--stage: '{stage}' given twice"));
                } else {
                    stages.push(stage);
                }
            }
            "--stage"
        };
        if raw.checkpoint_interval_ms == 0 {
            problems.push("kafka.checkpoint_interval_ms: must be at least 1".to_owned());
        }
        let (metrics_key, metrics_listen) = match &overrides.metrics_listen {
            Some(addr) => ("--metrics-listen", Some(addr.clone())),
            None => ("kafka.metrics_listen", raw.metrics_listen.clone()),
        };
        if let Some(addr) = &metrics_listen
            && addr.parse::<std::net::SocketAddr>().is_err()
        {
            problems.push(format!(
                "{metrics_key}: '{addr}' is not an address like 127.0.0.1:9464"
            ));
        }
        for key in raw.properties.keys() {
            if RESERVED.contains(&key.as_str()) {
                problems.push(format!(
                    "kafka.properties.{key}: set by jetlag itself (offsets are committed with the checkpoints)"
                ));
            }
        }
        for (i, w) in raw.webhooks.iter().enumerate() {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                problems.push(format!(
                    "kafka.webhooks[{i}].url: '{}' is not an http(s) URL",
                    w.url
                ));
            }
            if w.secret.is_empty() {
                problems.push(format!("kafka.webhooks[{i}].secret: must not be empty"));
            }
        }
        if stages.contains(&Stage::Deliver) && raw.webhooks.is_empty() {
            problems.push(format!(
                "{stages_key}: 'deliver' needs at least one [[kafka.webhooks]]"
            ));
        }
        if raw.webhook_attempts == 0 {
            problems.push("kafka.webhook_attempts: must be at least 1".to_owned());
        }
        // The defaults that stood in for unreadable keys are not checked.
        unread.extend(unreadable.filter(problems));
        if !unread.is_empty() {
            return Err(unread);
        }
        Ok(KafkaConfig {
            brokers: raw.brokers,
            topics: raw.topics,
            format,
            group: raw.group,
            prefix: raw.prefix,
            alerts_topic,
            partitions: raw.partitions,
            replication: raw.replication,
            stages,
            lateness_s: raw.lateness_s,
            checkpoint_interval_ms: raw.checkpoint_interval_ms,
            metrics_listen,
            properties: raw.properties,
            webhooks: raw.webhooks,
            webhook_attempts: raw.webhook_attempts,
            webhook_backoff_ms: raw.webhook_backoff_ms,
        })
    }

    /// The internal topic of a keyed stage.
    pub fn topic(&self, key: crate::Key) -> String {
        format!("{}.{}", self.prefix, key.topic_suffix())
    }

    /// The checkpoint topic (compacted; one record per stage partition).
    pub fn state_topic(&self) -> String {
        format!("{}.state", self.prefix)
    }

    /// The population topic (one partition; each `by-user` partition's population figures
    /// per finished epoch, read whole by every worker).
    pub fn population_topic(&self) -> String {
        format!("{}.population", self.prefix)
    }
}

/// Kafka topic names: 1–249 of `[a-zA-Z0-9._-]`.
fn check_topic(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 249 {
        return Err("must be 1 to 249 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("may hold only letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KafkaConfig, Vec<String>> {
        KafkaConfig::from_table(Some(toml::from_str(text).unwrap()))
    }

    #[test]
    fn defaults_with_a_topic() {
        let c = parse("topics = [\"signins\"]").unwrap();
        assert_eq!(c.brokers, "127.0.0.1:9092");
        assert_eq!(c.alerts_topic, "jetlag.alerts");
        assert_eq!(c.stages, [Stage::User, Stage::Cross]);
        assert_eq!(c.topic(crate::Key::Ip), "jetlag.by-ip");
        assert_eq!(c.checkpoint_interval_ms, 10_000);
    }

    #[test]
    fn every_problem_at_once() {
        let problems = parse(
            "topics = [\"bad topic\"]\nformat = \"xml\"\npartitions = -1\nstages = [\"both\"]\nmetrics_listen = \"nowhere\"\n[properties]\n\"group.id\" = \"x\"",
        )
        .unwrap_err();
        assert_eq!(problems.len(), 6, "{problems:#?}");
        assert!(problems[0].starts_with("kafka.topics: 'bad topic'"));
        assert!(problems.iter().any(|p| p.starts_with("kafka.format: ")));
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("kafka.properties.group.id: "))
        );
    }

    #[test]
    fn webhooks_are_checked() {
        let c = parse("topics = [\"a\"]\nstages = [\"deliver\"]\n[[webhooks]]\nurl = \"https://soar.example/hook\"\nsecret = \"s\"").unwrap();
        assert_eq!(c.stages, [Stage::Deliver]);
        assert_eq!(c.webhooks[0].url, "https://soar.example/hook");
        let problems =
            parse("topics = [\"a\"]\nstages = [\"deliver\"]\nwebhook_attempts = 0").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        let problems =
            parse("topics = [\"a\"]\n[[webhooks]]\nurl = \"ftp://x\"\nsecret = \"\"").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    /// Audit A7: `consume --stage deliver` and `--metrics-listen` were applied after the
    /// table was checked, so a deliver stage without webhooks (which commits every alert
    /// away, delivered to no one) and a bad address went through.
    #[test]
    fn a7_flags_are_checked_like_the_settings_they_replace() {
        let table: toml::Table = toml::from_str("topics = [\"a\"]").unwrap();
        let flags = KafkaOverrides {
            stages: vec![Stage::Deliver, Stage::User, Stage::Deliver],
            metrics_listen: Some("nope".into()),
        };
        let problems = KafkaConfig::from_table_with(Some(table.clone()), &flags).unwrap_err();
        assert_eq!(
            problems,
            [
                "--stage: 'deliver' given twice",
                "--metrics-listen: 'nope' is not an address like 127.0.0.1:9464",
                "--stage: 'deliver' needs at least one [[kafka.webhooks]]",
            ]
        );
        // Good flags replace the table's settings, whose own problems no longer count.
        let bad: toml::Table =
            toml::from_str("topics = [\"a\"]\nstages = [\"both\"]\nmetrics_listen = \"x\"")
                .unwrap();
        let flags = KafkaOverrides {
            stages: vec![Stage::Cross],
            metrics_listen: Some("127.0.0.1:9464".into()),
        };
        let c = KafkaConfig::from_table_with(Some(bad), &flags).unwrap();
        assert_eq!(c.stages, [Stage::Cross]);
        assert_eq!(c.metrics_listen.as_deref(), Some("127.0.0.1:9464"));
        // No flags: the table as it is.
        let c = KafkaConfig::from_table_with(Some(table), &KafkaOverrides::default()).unwrap();
        assert_eq!(c.stages, [Stage::User, Stage::Cross]);
        assert_eq!(c.metrics_listen, None);
    }

    /// Audit A5: a value serde could not read hid the table's other problems and had no
    /// key path.
    #[test]
    fn a5_a_bad_value_hides_nothing_and_names_its_key() {
        let problems = parse(
            "topics = [\"a\", 5]\npartitions = 0\n[[webhooks]]\nurl = \"https://x\"\nsecret = 1",
        )
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems[0].starts_with("kafka.topics[1]: invalid type"),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with("kafka.webhooks[0].secret: invalid type"),
            "{problems:#?}"
        );
        assert!(
            problems[2].starts_with("kafka.partitions: must be at least 1"),
            "{problems:#?}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let problems = parse("topics = [\"a\"]\nbrokerz = \"x\"").unwrap_err();
        assert!(problems[0].contains("brokerz"), "{problems:?}");
    }
}
