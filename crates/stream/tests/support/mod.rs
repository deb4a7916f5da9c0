//! Test and bench harness: a throw-away Kafka-protocol broker (tansu) on a free loopback
//! port with its storage in a temporary directory, the simulator's data split into single
//! records, and readers for the alert topic.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// The `jetlag` binary of this build (`cargo test --workspace` builds it first), or
/// `$JETLAG_BIN` (benches compare builds with it).
pub fn jetlag_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("JETLAG_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/jetlag
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("jetlag");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p jetlag`; `cargo test --workspace` does)",
        bin.display()
    );
    bin
}

/// The tansu binary: `$TANSU`, then `tansu` on PATH, then `~/.cargo/bin/tansu`. `None`
/// only outside CI; under `CI=true` a missing broker fails the test.
pub fn tansu_bin() -> Option<PathBuf> {
    let found = std::env::var_os("TANSU")
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("tansu"))
                    .find(|p| p.exists())
            })
        })
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cargo/bin/tansu"))
                .filter(|p| p.exists())
        });
    if found.is_none() {
        let msg = "tansu (the Kafka-protocol broker these tests run) is not installed: \
                   cargo install tansu --features dynostore,libsql --locked";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("\n!!!!! SKIPPED: {msg} !!!!!\n");
    }
    found
}

/// A running broker; stopped (killed) on drop, its storage deleted.
pub struct Broker {
    child: Option<Child>,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Broker {
    /// Starts tansu on a free loopback port with SQLite storage in a temporary directory.
    pub fn start(tansu: &Path) -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().unwrap().port()
        };
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("tansu.log")).unwrap();
        let child = Command::new(tansu)
            .current_dir(dir.path())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://tansu.db",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tansu");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Broker {
            child: Some(child),
            addr,
            _dir: dir,
        }
    }

    /// A broker someone else runs.
    pub fn external(addr: &str) -> Broker {
        Broker {
            child: None,
            addr: addr.to_owned(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The broker's process id (`None` for an external broker).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.addr);
        c.set("log_level", "3");
        c
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<_> = self.config().create().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let res = rt
            .block_on(admin.create_topics(
                &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            ))
            .unwrap();
        for r in res {
            r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
    }

    /// Sends `records` (raw input records) to `topic`, record i to partition i mod n.
    pub fn produce(&self, topic: &str, partitions: i32, records: &[String]) {
        let producer: BaseProducer = self
            .config()
            .set("linger.ms", "5")
            .set("max.in.flight.requests.per.connection", "1")
            .create()
            .unwrap();
        for (i, r) in records.iter().enumerate() {
            let p = i32::try_from(i).unwrap() % partitions;
            let mut rec = BaseRecord::<(), str>::to(topic)
                .partition(p)
                .payload(r.as_str());
            loop {
                match producer.send(rec) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        rec = back;
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
            producer.poll(Duration::ZERO);
        }
        producer.flush(Duration::from_secs(60)).unwrap();
    }

    /// Every record of `topic` (all partitions) as (key, payload).
    pub fn read_all(&self, topic: &str) -> Vec<(String, String)> {
        let consumer: BaseConsumer = self
            .config()
            .set("group.id", "jetlag-test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let md = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap();
        let n = md.topics()[0].partitions().len() as i32;
        let mut tpl = TopicPartitionList::new();
        let mut remaining = 0;
        let mut ends = Vec::new();
        for p in 0..n {
            let (low, high) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .unwrap();
            ends.push(high);
            if high > low {
                tpl.add_partition_offset(topic, p, Offset::Offset(low))
                    .unwrap();
                remaining += 1;
            }
        }
        let mut out = Vec::new();
        if remaining == 0 {
            return out;
        }
        consumer.assign(&tpl).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut done = vec![false; n as usize];
        while remaining > 0 {
            assert!(Instant::now() < deadline, "reading {topic} timed out");
            if let Some(m) = consumer.poll(Duration::from_millis(200)) {
                let m = m.unwrap();
                let key = m
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
                    .unwrap_or_default();
                let val = m
                    .payload()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                out.push((key, val));
                let p = m.partition() as usize;
                if m.offset() + 1 >= ends[p] && !done[p] {
                    done[p] = true;
                    remaining -= 1;
                }
            }
        }
        out
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A simulated organisation: its directory, `scan` flags and its input records (each a
/// single JSON record as a vendor would ship it), in event-time order.
pub struct Sim {
    pub dir: tempfile::TempDir,
    pub logs: Vec<PathBuf>,
    pub records: Vec<String>,
}

/// `jetlag simulate` a small org and split its logs into single records sorted by time.
pub fn simulate(users: u32, days: u32) -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new(jetlag_bin())
        .args([
            "simulate",
            "--users",
            &users.to_string(),
            "--days",
            &days.to_string(),
            "--out",
        ])
        .arg(dir.path())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let mut logs = Vec::new();
    collect_files(&dir.path().join("logs"), &mut logs);
    logs.sort();
    let mut timed: Vec<(i128, String)> = Vec::new();
    for path in &logs {
        let text = std::fs::read_to_string(path).unwrap();
        let mut records = Vec::new();
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(mut o)) => {
                let arr = o
                    .remove("value")
                    .or_else(|| o.remove("Records"))
                    .or_else(|| o.remove("records"));
                match arr {
                    Some(serde_json::Value::Array(a)) => {
                        records.extend(a.iter().map(|v| v.to_string()))
                    }
                    _ => records.push(text.clone()),
                }
            }
            Ok(serde_json::Value::Array(a)) => records.extend(a.iter().map(|v| v.to_string())),
            _ => records.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned),
            ),
        }
        for r in records {
            let t = jetlag_normalize::parse_body("t", r.as_bytes(), jetlag_normalize::Format::Auto)
                .ok()
                .and_then(|b| b.events.first().map(|e| e.time.as_nanosecond()))
                .unwrap_or(i128::MAX);
            timed.push((t, r));
        }
    }
    timed.sort();
    Sim {
        records: timed.into_iter().map(|(_, r)| r).collect(),
        logs,
        dir,
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

impl Sim {
    /// The `[enrich]` table for this simulation (its GeoIP CSVs, intel lists, roster).
    pub fn enrich_toml(&self) -> String {
        let d = self.dir.path();
        let mut intel = Vec::new();
        for e in std::fs::read_dir(d.join("intel")).unwrap() {
            let p = e.unwrap().path();
            let class = p.file_stem().unwrap().to_string_lossy().into_owned();
            intel.push(format!("{class} = [{:?}]", p.display().to_string()));
        }
        intel.sort();
        format!(
            "[enrich]\ngeoip = [{:?}, {:?}]\nroster = {:?}\nintel = {{ {} }}\n",
            d.join("geoip/city.csv").display().to_string(),
            d.join("geoip/asn.csv").display().to_string(),
            d.join("roster.csv").display().to_string(),
            intel.join(", ")
        )
    }

    /// `jetlag scan` of the same logs with the same config: the alerts, one JSON per line.
    pub fn scan(&self, config: &Path) -> Vec<String> {
        let out = Command::new(jetlag_bin())
            .arg("scan")
            .args(&self.logs)
            .arg("--config")
            .arg(config)
            .args(["--output-format", "jsonl"])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "scan failed");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Spawns `jetlag consume --drain` with `config`, logs to `log`.
pub fn worker(config: &Path, log: &Path, extra: &[&str]) -> Child {
    Command::new(jetlag_bin())
        .args(["consume", "--drain", "--config"])
        .arg(config)
        .args(extra)
        .env("JETLAG_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Waits for a child up to `timeout`; kills it and panics past it.
pub fn wait(child: &mut Child, timeout: Duration, what: &str, log: &Path) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(
                st.success(),
                "{what} failed: {st}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{what} did not finish in {timeout:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
