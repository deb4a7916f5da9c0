//! End-to-end throughput of `jetlag consume` with 1, 2 and 3 workers (a bench binary, not
//! criterion: each sample is a whole cluster run).
//!
//! ```sh
//! cargo build --release -p jetlag
//! cargo bench -p jetlag-stream --bench workers [-- USERS DAYS [WORKERS,...]]
//! ```
//!
//! USERS × DAYS size the simulated organisation (default 1000 × 14, ~41k sign-ins;
//! `JETLAG_BENCH_USERS` / `JETLAG_BENCH_DAYS` / `JETLAG_BENCH_WORKERS` work too);
//! WORKERS is the list of worker counts to run (default `1,2,3`). `JETLAG_BENCH_BROKER=host:port`
//! uses a running Kafka instead of starting tansu. `JETLAG_BENCH_PROPERTIES="k=v,k=v"` adds
//! librdkafka properties to the workers' `[kafka.properties]` and `JETLAG_BENCH_KAFKA="k = v;
//! k = v"` adds `[kafka]` keys, to compare settings without a rebuild.
//!
//! Each run: a fresh consumer group and fresh internal topics over the same input topic
//! (6 partitions), the workers in drain mode, timed from spawn to the last worker's exit —
//! so it includes the group joins and the final checkpoints. Printed per worker count:
//! wall seconds, input records/s and sign-ins/s (wall), the CPU seconds of the workers
//! (exact, from the kernel's accounting of reaped children) and of the broker, and the
//! CPU seconds by stage: each worker thread's CPU time (`/proc/PID/task/*/stat`, sampled
//! every 50 ms until it exits) summed by thread name — `jetlag-ingest`, `jetlag-user`,
//! `jetlag-ip`, `jetlag-device`, librdkafka's `rdk:*` threads, the rest. Alerts are counted
//! on the alert topic (and repeats, which must be 0) beside `scan`'s count of the same data.
//! Linux only for the CPU figures (they print as `-` elsewhere).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

fn env_or(name: &str, arg: Option<&String>, default: u32) -> u32 {
    arg.cloned()
        .or_else(|| std::env::var(name).ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Clock ticks per second of `/proc` CPU times.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// `(comm, utime + stime ticks, cutime + cstime ticks)` of a `/proc/.../stat` file.
fn stat(path: &Path) -> Option<(String, u64, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    // After ") ": state is field 3; utime, stime, cutime, cstime are fields 14–17.
    let rest: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    let num = |i: usize| rest.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Some((comm, num(14)? + num(15)?, num(16)? + num(17)?))
}

/// CPU ticks of reaped children of this process.
fn children_ticks() -> Option<u64> {
    stat(Path::new("/proc/self/stat")).map(|(_, _, c)| c)
}

/// CPU ticks of a live process (all its threads).
fn process_ticks(pid: u32) -> Option<u64> {
    stat(Path::new(&format!("/proc/{pid}/stat"))).map(|(_, t, _)| t)
}

/// The stage a worker thread belongs to, by its name.
fn stage_of(comm: &str) -> &'static str {
    match comm {
        "jetlag-ingest" => "ingest",
        "jetlag-user" => "user",
        "jetlag-ip" => "ip",
        "jetlag-device" => "device",
        c if c.starts_with("rdk:") => "librdkafka",
        _ => "other",
    }
}

const STAGES: [&str; 6] = ["ingest", "user", "ip", "device", "librdkafka", "other"];

/// Latest CPU ticks seen per (pid, tid), with the thread's stage.
#[derive(Default)]
struct Threads(BTreeMap<(u32, u32), (&'static str, u64)>);

impl Threads {
    fn sample(&mut self, pid: u32) {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return;
        };
        for e in dir.flatten() {
            let Some(tid) = e.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some((comm, ticks, _)) = stat(&e.path().join("stat")) {
                self.0.insert((pid, tid), (stage_of(&comm), ticks));
            }
        }
    }

    fn by_stage(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for (stage, ticks) in self.0.values() {
            *out.entry(*stage).or_default() += ticks;
        }
        out
    }
}

struct Run {
    workers: u32,
    wall: f64,
    worker_cpu: Option<f64>,
    broker_cpu: Option<f64>,
    stages: BTreeMap<&'static str, f64>,
    alerts: usize,
    repeats: usize,
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if std::env::args().any(|a| a == "--list") {
        return; // cargo test --benches asks for the list of benches
    }
    let users = env_or("JETLAG_BENCH_USERS", args.first(), 1000);
    let days = env_or("JETLAG_BENCH_DAYS", args.get(1), 14);
    let counts: Vec<u32> = args
        .get(2)
        .cloned()
        .or_else(|| std::env::var("JETLAG_BENCH_WORKERS").ok())
        .unwrap_or_else(|| "1,2,3".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    let external = std::env::var("JETLAG_BENCH_BROKER").ok();
    let broker = match &external {
        Some(addr) => support::Broker::external(addr),
        None => {
            let Some(tansu) = support::tansu_bin() else {
                return;
            };
            support::Broker::start(&tansu)
        }
    };
    let tick = clock_ticks();
    let sim = support::simulate(users, days);
    let n = sim.records.len();
    let events: usize = sim
        .records
        .iter()
        .filter_map(|r| {
            jetlag_normalize::parse_body("r", r.as_bytes(), jetlag_normalize::Format::Auto).ok()
        })
        .map(|b| b.events.len())
        .sum();
    let run_id = std::process::id();
    let input = format!("signins-{run_id}");
    broker.create_topic(&input, 6);
    broker.produce(&input, 6, &sim.records);
    let dir = tempfile::tempdir().unwrap();
    let properties: String = std::env::var("JETLAG_BENCH_PROPERTIES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| format!("{:?} = {:?}\n", k.trim(), v.trim()))
        .collect();
    let extra_kafka: String = std::env::var("JETLAG_BENCH_KAFKA")
        .unwrap_or_default()
        .split(';')
        .filter(|kv| !kv.trim().is_empty())
        .map(|kv| format!("{}\n", kv.trim()))
        .collect();
    let config = |name: &str| {
        let cfg = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "{}\n[kafka]\nbrokers = {:?}\ntopics = [{input:?}]\ngroup = \"{name}\"\nprefix = \"{name}\"\npartitions = 6\nlateness_s = 0\n{extra_kafka}[kafka.properties]\n{properties}",
                sim.enrich_toml(),
                broker.addr
            ),
        )
        .unwrap();
        cfg
    };
    let scan_alerts = sim.scan(&config("scan")).len();
    println!(
        "{users} users x {days} days: {n} input records ({events} sign-ins), input and internal topics of 6 partitions, broker {}",
        external.as_deref().unwrap_or("tansu (SQLite storage)")
    );
    let mut runs = Vec::new();
    for &workers in &counts {
        let name = format!("bench{run_id}w{workers}");
        let cfg = config(&name);
        let logs: Vec<_> = (0..workers)
            .map(|i| dir.path().join(format!("{name}-{i}.log")))
            .collect();
        let broker_pid = broker.pid();
        let broker_before = broker_pid.and_then(process_ticks);
        let children_before = children_ticks();
        let mut threads = Threads::default();
        let start = Instant::now();
        let mut children: Vec<Child> = logs.iter().map(|l| support::worker(&cfg, l, &[])).collect();
        let deadline = start + Duration::from_secs(3600);
        let mut running: Vec<usize> = (0..children.len()).collect();
        while !running.is_empty() {
            for &i in &running {
                threads.sample(children[i].id());
            }
            running.retain(|&i| match children[i].try_wait().unwrap() {
                None => true,
                Some(st) => {
                    assert!(
                        st.success(),
                        "worker {i} failed: {st}\n{}",
                        std::fs::read_to_string(&logs[i]).unwrap_or_default()
                    );
                    false
                }
            });
            if Instant::now() > deadline {
                for c in &mut children {
                    let _ = c.kill();
                }
                panic!("the workers did not finish in an hour");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let wall = start.elapsed().as_secs_f64();
        let worker_cpu = children_ticks()
            .zip(children_before)
            .map(|(a, b)| a.saturating_sub(b) as f64 / tick);
        let broker_cpu = broker_pid
            .and_then(process_ticks)
            .zip(broker_before)
            .map(|(a, b)| a.saturating_sub(b) as f64 / tick);
        let mut stages: BTreeMap<&'static str, f64> = threads
            .by_stage()
            .into_iter()
            .map(|(s, t)| (s, t as f64 / tick))
            .collect();
        if let Some(total) = worker_cpu {
            // Threads that ended between two samples and the processes' own start-up.
            let seen: f64 = stages.values().sum();
            *stages.entry("other").or_default() += (total - seen).max(0.0);
        }
        let alerts = broker.read_all(&format!("{name}.alerts"));
        let ids: HashSet<&str> = alerts.iter().map(|(k, _)| k.as_str()).collect();
        let run = Run {
            workers,
            wall,
            worker_cpu,
            broker_cpu,
            stages,
            alerts: alerts.len(),
            repeats: alerts.len() - ids.len(),
        };
        eprintln!(
            "{workers} worker(s): {wall:.1} s wall, {:.0} records/s",
            n as f64 / wall
        );
        runs.push(run);
    }
    let cpu = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}"));
    println!();
    println!(
        "| workers | wall s | records/s | events/s | worker CPU s | broker CPU s | events/CPU-s | alerts (scan {scan_alerts}) | repeats |"
    );
    println!("|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for r in &runs {
        let per_cpu = r.worker_cpu.zip(r.broker_cpu.or(Some(0.0))).map_or_else(
            || "-".to_owned(),
            |(w, b)| format!("{:.0}", events as f64 / (w + b)),
        );
        println!(
            "| {} | {:.1} | {:.0} | {:.0} | {} | {} | {per_cpu} | {} | {} |",
            r.workers,
            r.wall,
            n as f64 / r.wall,
            events as f64 / r.wall,
            cpu(r.worker_cpu),
            cpu(r.broker_cpu),
            r.alerts,
            r.repeats
        );
    }
    println!();
    println!("CPU seconds by stage (all workers together; events/CPU-s counts worker + broker):");
    println!("| workers | {} |", STAGES.join(" | "));
    println!("|--:|{}", "--:|".repeat(STAGES.len()));
    for r in &runs {
        let cells: Vec<String> = STAGES
            .iter()
            .map(|s| format!("{:.1}", r.stages.get(s).copied().unwrap_or(0.0)))
            .collect();
        println!("| {} | {} |", r.workers, cells.join(" | "));
    }
}
