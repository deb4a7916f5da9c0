//! `jetlag demo`: simulate, scan in-process, show alerts, users and the eval table.

use assert_cmd::Command;

#[test]
fn demo_shows_alerts_users_scores_and_the_next_step() {
    let keep = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("jetlag")
        .unwrap()
        .args(["demo", "--users", "250", "--days", "8", "--keep"])
        .arg(keep.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "top alerts",
        "riskiest users",
        "precision",
        "recall",
        "jetlag scan ",
    ] {
        assert!(stdout.contains(want), "no '{want}' in:\n{stdout}");
    }
    // The farm shows up: a shared_ip alert in the listing and a critical or high user.
    assert!(
        stdout.contains("shared_ip") || stdout.contains("impossible_travel"),
        "{stdout}"
    );
    // The scan really ran: its alerts are on disk next to the simulation.
    let alerts = std::fs::read_to_string(keep.path().join("alerts.jsonl")).unwrap();
    assert!(alerts.lines().count() > 5, "{alerts}");
    assert!(keep.path().join("truth.jsonl").exists());
}
