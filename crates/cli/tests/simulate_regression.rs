//! Detection quality on fixed simulated organisations: simulate → scan → eval.
//!
//! Recall: every injected attack type is found (recall ≥ 0.95 per detector).
//! Noise: at most 5 false alerts (severity ≥ medium) per 1,000 benign users per detector.

use std::path::Path;

use assert_cmd::Command;

const SEEDS: [u64; 2] = [11, 23];

/// Simulates 1,000 employees over 14 days with `seed`, scans it, and returns `eval --json`.
fn evaluate(dir: &Path, seed: u64) -> serde_json::Value {
    Command::cargo_bin("jetlag")
        .unwrap()
        .args([
            "simulate",
            "--users",
            "1000",
            "--days",
            "14",
            "--tenants",
            "3",
            "--seed",
        ])
        .arg(seed.to_string())
        .arg("--out")
        .arg(dir)
        .assert()
        .success();
    let scan_line = std::fs::read_to_string(dir.join("SCAN.txt"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("jetlag scan "))
        .unwrap()
        .to_string();
    // SCAN.txt's paths carry no spaces (a temporary directory): split on whitespace.
    let args: Vec<&str> = scan_line.split_whitespace().skip(1).collect();
    let alerts = dir.join("alerts.jsonl");
    let args: Vec<&str> = args.into_iter().take_while(|a| *a != "-o").collect();
    Command::cargo_bin("jetlag")
        .unwrap()
        .args(&args)
        .arg("-o")
        .arg(&alerts)
        .args(["--output-format", "jsonl"])
        .assert()
        .success();
    // An alert id names one alert: the same id twice is a report repeated.
    let text = std::fs::read_to_string(&alerts).unwrap();
    let mut ids = std::collections::HashSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["alert_id"].as_str().unwrap().to_owned();
        assert!(ids.insert(id), "seed {seed}: alert repeated: {line}");
    }
    let out = Command::cargo_bin("jetlag")
        .unwrap()
        .args(["eval", "--json", "--truth"])
        .arg(dir.join("truth.jsonl"))
        .arg(&alerts)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn detectors(v: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    v["detectors"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn every_injected_attack_type_is_found() {
    let mut misses = Vec::new();
    for seed in SEEDS {
        let dir = tempfile::tempdir().unwrap();
        let v = evaluate(dir.path(), seed);
        let mut types = 0;
        for (name, d) in detectors(&v) {
            if d["expected"].as_u64().unwrap_or(0) == 0 {
                continue;
            }
            types += 1;
            let recall = d["recall"].as_f64().unwrap();
            if recall < 0.95 {
                misses.push(format!("seed {seed}: {name} recall {recall:.2} ({d})"));
            }
        }
        assert!(
            types >= 9,
            "seed {seed}: only {types} attack types in the truth: {v}"
        );
    }
    assert!(misses.is_empty(), "attacks missed:\n{}", misses.join("\n"));
}

#[test]
fn benign_users_raise_at_most_5_false_alerts_per_1000() {
    let mut noisy = Vec::new();
    for seed in SEEDS {
        let dir = tempfile::tempdir().unwrap();
        let v = evaluate(dir.path(), seed);
        for (name, d) in detectors(&v) {
            let f = d["false_per_1k_benign"].as_f64().unwrap();
            if f > 5.0 {
                noisy.push(format!(
                    "seed {seed}: {name} {f:.1} false alerts per 1,000 benign users"
                ));
            }
        }
    }
    assert!(noisy.is_empty(), "too noisy:\n{}", noisy.join("\n"));
}
