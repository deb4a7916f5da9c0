//! Generation speed: `cargo bench -p jetlag-simulate --bench generate [-- USERS DAYS]`.
//!
//! Writes a whole simulated organisation to a temporary directory and prints sign-ins per
//! second and bytes written (a bench binary, not a timed test).

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let users = args.first().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let days = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let dir = tempfile::tempdir().expect("temporary directory");
    let cfg = jetlag_simulate::Config {
        users,
        days,
        ..Default::default()
    };
    let t = Instant::now();
    let summary = jetlag_simulate::simulate(&cfg, dir.path()).expect("simulation");
    let secs = t.elapsed().as_secs_f64();
    let bytes: u64 = summary
        .log_files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "simulate: {users} users x {days} days: {} sign-ins, {:.1} MB of logs in {secs:.2} s = {:.0} sign-ins/s ({:.1} s per 10M)",
        summary.events,
        bytes as f64 / 1e6,
        summary.events as f64 / secs,
        secs * 1e7 / summary.events as f64
    );
}
