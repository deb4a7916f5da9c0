//! End-to-end throughput of `jetlag consume` with 1, 2 and 3 workers (a bench binary, not
//! criterion: each sample is a whole cluster run).
//!
//! `cargo build --release -p jetlag && cargo bench -p jetlag-stream --bench workers`
//! (`JETLAG_BENCH_USERS`, `JETLAG_BENCH_DAYS` size the simulated org; default 1000 × 14).
//! Each run: a fresh consumer group and internal topics over the same input topic
//! (6 partitions), workers in drain mode, timed from spawn to the last worker's exit —
//! so it includes group joins and the final checkpoints.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

fn env(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo test --benches asks for the list of benches
    }
    let Some(tansu) = support::tansu_bin() else {
        return;
    };
    let broker = support::Broker::start(&tansu);
    let sim = support::simulate(
        env("JETLAG_BENCH_USERS", 1000),
        env("JETLAG_BENCH_DAYS", 14),
    );
    let n = sim.records.len();
    broker.create_topic("signins", 6);
    broker.produce("signins", 6, &sim.records);
    let dir = tempfile::tempdir().unwrap();
    println!("{n} input records (6 partitions), internal topics of 6 partitions");
    for workers in 1..=3 {
        let cfg = dir.path().join(format!("w{workers}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "{}\n[kafka]\nbrokers = {:?}\ntopics = [\"signins\"]\ngroup = \"bench{workers}\"\nprefix = \"bench{workers}\"\npartitions = 6\nlateness_s = 0\n",
                sim.enrich_toml(),
                broker.addr
            ),
        )
        .unwrap();
        let logs: Vec<_> = (0..workers)
            .map(|i| dir.path().join(format!("w{workers}-{i}.log")))
            .collect();
        let start = Instant::now();
        let mut children: Vec<_> = logs.iter().map(|l| support::worker(&cfg, l, &[])).collect();
        for (c, l) in children.iter_mut().zip(&logs) {
            support::wait(c, Duration::from_secs(1800), "worker", l);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{workers} worker{}: {secs:.1} s, {:.0} input records/s",
            if workers == 1 { "" } else { "s" },
            n as f64 / secs
        );
    }
}
