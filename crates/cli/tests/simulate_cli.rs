//! `jetlag simulate` through the binary: every simulated file normalizes with zero rejects,
//! the same seed writes the same bytes, and `jetlag eval` reads what `simulate` wrote.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn jetlag() -> Command {
    Command::cargo_bin("jetlag").unwrap()
}

fn simulate(dir: &Path, seed: u64) {
    jetlag()
        .args([
            "simulate",
            "--users",
            "300",
            "--days",
            "8",
            "--tenants",
            "3",
            "--seed",
        ])
        .arg(seed.to_string())
        .arg("--out")
        .arg(dir)
        .assert()
        .success();
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("logs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_simulated_file_normalizes_with_zero_rejects() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), 4);
    let files = log_files(dir.path());
    let mut formats = std::collections::BTreeSet::new();
    for f in &files {
        let out = jetlag().arg("normalize").arg(f).output().unwrap();
        assert!(out.status.success(), "{}", f.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(" 0 rejected"), "{}: {stderr}", f.display());
        assert!(stderr.contains(" 0 skipped"), "{}: {stderr}", f.display());
        let stdout = String::from_utf8_lossy(&out.stdout);
        let n = stdout.lines().count();
        assert!(n > 0, "{}: no events", f.display());
        for line in stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            formats.insert(v["source"].as_str().unwrap().to_string());
            assert!(v["ip"].is_string() && v["user"].is_string(), "{line}");
        }
    }
    assert_eq!(
        formats.into_iter().collect::<Vec<_>>(),
        ["cloudtrail", "entra", "google", "okta"]
    );
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    simulate(a.path(), 9);
    simulate(b.path(), 9);
    let (fa, fb) = (log_files(a.path()), log_files(b.path()));
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{}",
            x.display()
        );
    }
    for f in [
        "truth.jsonl",
        "roster.csv",
        "geoip/city.csv",
        "geoip/asn.csv",
        "intel/tor.txt",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn eval_prints_the_contract_json() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), 2);
    // Alerts that name exactly the attacks of the truth: perfect recall and precision.
    let truth = std::fs::read_to_string(dir.path().join("truth.jsonl")).unwrap();
    let mut alerts = String::new();
    let mut expected = std::collections::BTreeMap::<String, u64>::new();
    for line in truth.lines().skip(1) {
        let c: serde_json::Value = serde_json::from_str(line).unwrap();
        if c["kind"] != "attack" {
            continue;
        }
        *expected
            .entry(c["detector"].as_str().unwrap().to_string())
            .or_default() += 1;
        let a = serde_json::json!({
            "alert_id": "a", "detector": c["detector"], "severity": "high", "score": 80,
            "user": c["users"][0], "users": c["users"], "time": c["start"],
            "event_ids": [], "summary": "s", "evidence": {}
        });
        alerts.push_str(&a.to_string());
        alerts.push('\n');
    }
    let alerts_path = dir.path().join("alerts.jsonl");
    std::fs::write(&alerts_path, alerts).unwrap();
    let out = jetlag()
        .args(["eval", "--json", "--truth"])
        .arg(dir.path().join("truth.jsonl"))
        .arg(&alerts_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (det, n) in expected {
        let d = &v["detectors"][&det];
        assert_eq!(d["expected"], n, "{det}: {d}");
        assert_eq!(d["found"], n, "{det}: {d}");
        assert_eq!(d["recall"], 1.0, "{det}: {d}");
        assert_eq!(d["precision"], 1.0, "{det}: {d}");
        assert_eq!(d["false_per_1k_benign"], 0.0, "{det}: {d}");
    }
    // The table names every detector too.
    let out = jetlag()
        .args(["eval", "--truth"])
        .arg(dir.path().join("truth.jsonl"))
        .arg(&alerts_path)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("password_spray") && table.contains("precision"),
        "{table}"
    );
}

#[test]
fn eval_refuses_a_missing_truth_file() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("a.jsonl");
    std::fs::write(&alerts, "").unwrap();
    jetlag()
        .args(["eval", "--truth"])
        .arg(dir.path().join("nope.jsonl"))
        .arg(&alerts)
        .assert()
        .failure()
        .stderr(predicates::str::contains("nope.jsonl"));
}

/// Audit A8: `simulate --start` took dates whose simulated sign-ins jetlag's own
/// normalizer rejects (before 1990, or spilling into 2100); the boundaries it accepts
/// normalize with zero rejects.
#[test]
fn a8_simulate_refuses_a_start_whose_days_leave_1990_to_2099() {
    let dir = tempfile::tempdir().unwrap();
    for (start, days) in [
        ("1980-01-01", "1"),
        ("2099-12-31", "1"),
        ("2099-12-20", "15"),
    ] {
        let out = dir.path().join(start);
        let res = jetlag()
            .args([
                "simulate", "--users", "5", "--days", days, "--start", start, "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(res.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("start {start} and {days} day"))
                && stderr.contains("1990–2099"),
            "{stderr}"
        );
        assert!(!out.exists(), "nothing written");
    }
    for start in ["1990-01-02", "2099-12-30"] {
        let out = dir.path().join(start);
        jetlag()
            .args([
                "simulate", "--users", "60", "--days", "1", "--start", start, "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        for f in log_files(&out) {
            let res = jetlag().arg("normalize").arg(&f).output().unwrap();
            let stderr = String::from_utf8_lossy(&res.stderr);
            assert!(res.status.success(), "{}: {stderr}", f.display());
            assert!(
                stderr.contains(" 0 rejected"),
                "{start} {}: {stderr}",
                f.display()
            );
        }
    }
}
