//! The durability promise, tested on the real binary: `kill -9` of `jetlag serve` in the
//! middle of ingest loses no acknowledged event, repeats no alert, and detection continues
//! after the restart.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// The `jetlag` binary of this workspace, built if missing or stale.
fn jetlag() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "jetlag", "--bin", "jetlag"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building jetlag failed");
    // target/debug/deps/crash-<hash> → target/debug/jetlag
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join(format!("jetlag{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} missing", bin.display());
    bin
}

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("jetlag.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\nlateness_secs = 3600\nmax_hold_ms = 100\n\
             snapshot_every_events = 150\n\
             [[server.tokens]]\ntoken = \"{INGEST}\"\nrole = \"ingest\"\n\
             [[server.tokens]]\ntoken = \"{READ}\"\nrole = \"read\"\n\
             [[server.tokens]]\ntoken = \"{ADMIN}\"\nrole = \"admin\"\n"
        ),
    )
    .unwrap();
    path
}

/// A child process killed when dropped (a failing assertion never leaves a server behind).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Server {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Starts `jetlag serve`; returns the child and its URL (read from its one stdout line).
fn spawn(bin: &Path, config: &Path) -> (Server, String) {
    let mut child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let child = Server(child);
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

/// 2025-03-01T10:00:00Z.
const BASE: i64 = 1_740_823_200;

/// Batch `n` of the stream: ten users each signing in from Paris and, 30 s later, Tokyo,
/// `n` minutes after the first batch (a live stream moves forward). Batch 0 also holds one
/// sign-in of `anchor@example.com` in Sydney, from an address nobody else uses.
fn batch(n: i64) -> (String, Vec<String>) {
    let t = jiff::Timestamp::from_second(BASE + 60 * n).unwrap();
    let (ta, tb) = (
        t.to_string(),
        (t + jiff::SignedDuration::from_secs(30)).to_string(),
    );
    let mut body = String::new();
    let mut ids = Vec::new();
    for i in 0..10 {
        let user = format!("crash{n}x{i}@example.com");
        let (a, b) = (format!("c{n}-{i}-a"), format!("c{n}-{i}-b"));
        body.push_str(&paris(&a, &user, &ta).json());
        body.push('\n');
        body.push_str(&tokyo(&b, &user, &tb).json());
        body.push('\n');
        ids.push(a);
        ids.push(b);
    }
    if n == 0 {
        let sydney = Okta {
            uuid: "anchor-1",
            user: "anchor@example.com",
            time: &tb,
            ip: "203.0.113.77",
            city: "Sydney",
            country: "Australia",
            lat: -33.8688,
            lon: 151.2093,
        };
        body.push_str(&sydney.json());
        body.push('\n');
        ids.push("anchor-1".to_owned());
    }
    (body, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_ingest_loses_nothing_acknowledged_and_repeats_no_alert() {
    let bin = tokio::task::spawn_blocking(jetlag).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = write_config(dir.path());
    let (mut child, url) = spawn(&bin, &config_path);
    let c = client();

    // Ingest batches as fast as the server acknowledges them, each with an impossible-travel
    // pair (so alerts are raised all along); remember every acknowledged id.
    let acked = Arc::new(Mutex::new(Vec::<(i64, Vec<String>)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (c, url, acked, stop) = (c.clone(), url.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut batch_no = 0;
            while !stop.load(Ordering::SeqCst) {
                let (body, ids) = batch(batch_no);
                batch_no += 1;
                let resp = c
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(INGEST)
                    .body(body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().push((batch_no - 1, ids)),
                    _ => break, // the server died mid-request: not acknowledged
                }
            }
        })
    };
    // Let it run, then kill -9 while requests are in flight.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 30 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    let _ = sender.await;
    let acked_batches = acked.lock().unwrap().clone();
    assert!(
        acked_batches.len() >= 10,
        "only {} batches acknowledged before the kill",
        acked_batches.len()
    );
    let acked: Vec<String> = acked_batches
        .iter()
        .flat_map(|(_, ids)| ids.iter().cloned())
        .collect();

    // Restart on the same data directory.
    let (mut child, url) = spawn(&bin, &config_path);
    // Alerts as recovered (the replay may add those whose events were acknowledged but not
    // yet released when the process died).
    let before = all_alerts(&c, &url).await;

    // Detection continues: a user seen once before the crash, in Sydney, is in Berlin six
    // hours later: impossible.
    let later = jiff::Timestamp::from_second(BASE + 6 * 3600)
        .unwrap()
        .to_string();
    let berlin = Okta {
        uuid: "after-1",
        user: "anchor@example.com",
        time: &later,
        ip: "192.0.2.77",
        city: "Berlin",
        country: "Germany",
        lat: 52.52,
        lon: 13.405,
    };
    let (s, v) = post(&c, &url, "/v1/evaluate", Some(INGEST), berlin.json()).await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["detector"] == "impossible_travel"),
        "state from before the crash is used: {v}"
    );

    let after = all_alerts(&c, &url).await;
    let mut ids: Vec<&str> = after
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "an alert id stored twice");
    assert!(after.len() > before.len());

    // A server that never crashed, fed the same acknowledged batches, gives the same alerts:
    // every one of them is here. The one batch in flight at the kill (the sender waits for
    // each answer) may have been stored without its acknowledgement reaching the client;
    // then the recovered server has seen it too, and a cross-identity incident (a shared IP)
    // rightly lists its users, which changes that alert's id. So the reference is the
    // acknowledged batches, plus the in-flight one when that is what the crashed server
    // saw; anything else extra must come from that unacknowledged batch.
    let acked_nos: Vec<i64> = acked_batches.iter().map(|(n, _)| *n).collect();
    let in_flight = acked_nos.last().map_or(0, |n| n + 1);
    let missing_from = |reference: &[serde_json::Value]| -> Option<serde_json::Value> {
        reference
            .iter()
            .find(|a| ids.binary_search(&a["alert_id"].as_str().unwrap()).is_err())
            .cloned()
    };
    let mut reference = reference_alerts(&c, &acked_nos, berlin.json()).await;
    assert!(!reference.is_empty());
    if let Some(lost) = missing_from(&reference) {
        let with_in_flight: Vec<i64> = acked_nos.iter().copied().chain([in_flight]).collect();
        reference = reference_alerts(&c, &with_in_flight, berlin.json()).await;
        if let Some(still) = missing_from(&reference) {
            panic!(
                "alert lost in the crash: {lost}\n(and with the in-flight batch {in_flight} too: {still})"
            );
        }
    }
    for a in &after {
        if !reference.iter().any(|r| r["alert_id"] == a["alert_id"]) {
            let events: Vec<&str> = a["event_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap())
                .collect();
            assert!(
                events.iter().any(|e| !acked.iter().any(|x| x == e)),
                "alert {a} is neither in the reference nor about an unacknowledged event"
            );
        }
    }

    // Stop it gracefully, then look into the store itself.
    stop_gracefully(&mut child);
    let store = jetlag_server::store::Store::open(&dir.path().join("data")).unwrap();
    for id in &acked {
        assert!(store.has_event(id).unwrap(), "acknowledged event {id} lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_an_out_of_order_decision_replays_it_once() {
    let bin = tokio::task::spawn_blocking(jetlag).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = write_config(dir.path());
    let (mut child, url) = spawn(&bin, &config_path);
    let c = client();
    for body in [
        paris("x-1", "olga@example.com", "2025-03-01T10:00:00Z").json(),
        // Another user's newer sign-in is decided first.
        paris("x-2", "pia@example.com", "2025-03-01T11:00:01Z").json(),
    ] {
        let (s, v) = post(&c, &url, "/v1/evaluate", Some(INGEST), body).await;
        assert_eq!(s, 200, "{v}");
    }
    let tokyo_1 = tokyo("x-3", "olga@example.com", "2025-03-01T11:00:00Z").json();
    let (s, first) = post(&c, &url, "/v1/evaluate", Some(INGEST), tokyo_1.clone()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["out_of_order"], true, "{first}");
    let travel = |v: &serde_json::Value| {
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["detector"] == "impossible_travel")
            .map(|r| r["alert_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(travel(&first).len(), 1, "{first}");
    let before = all_alerts(&c, &url).await;
    // Within the snapshot interval: the restart replays the write-ahead log.
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, url) = spawn(&bin, &config_path);
    let recovered = all_alerts(&c, &url).await;
    assert_eq!(
        recovered.len(),
        before.len(),
        "replay stored no alert twice"
    );
    let (s, retry) = post(&c, &url, "/v1/evaluate", Some(INGEST), tokyo_1).await;
    assert_eq!(s, 200, "{retry}");
    assert_eq!(retry["duplicate"], true, "{retry}");
    assert_eq!(travel(&retry), travel(&first));
    // The replay ran the out-of-order event through the engine again: back in Paris an
    // hour after Tokyo is impossible travel.
    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        paris("x-4", "olga@example.com", "2025-03-01T12:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(travel(&v).len(), 1, "the engine remembers Tokyo: {v}");
    stop_gracefully(&mut child);
}

/// The alerts of a server that never crashed, fed `batches` and then `evaluate_body`.
async fn reference_alerts(
    c: &reqwest::Client,
    batches: &[i64],
    evaluate_body: String,
) -> Vec<serde_json::Value> {
    let rdir = tempfile::tempdir().unwrap();
    let server = start(config(rdir.path())).await;
    for n in batches {
        let (s, _) = post(c, &server.url(), "/v1/events", Some(INGEST), batch(*n).0).await;
        assert_eq!(s, 200);
    }
    let (s, _) = post(
        c,
        &server.url(),
        "/v1/evaluate",
        Some(INGEST),
        evaluate_body,
    )
    .await;
    assert_eq!(s, 200);
    let alerts = all_alerts(c, &server.url()).await;
    server.shutdown().await.unwrap();
    alerts
}

async fn all_alerts(c: &reqwest::Client, url: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut cursor = 0;
    loop {
        let (s, page) = get(
            c,
            url,
            &format!("/v1/alerts?limit=1000&cursor={cursor}"),
            Some(READ),
        )
        .await;
        assert_eq!(s, 200);
        out.extend(page["alerts"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_u64() {
            Some(n) => cursor = n,
            None => return out,
        }
    }
}

fn stop_gracefully(child: &mut Server) {
    // SIGTERM: drain and exit.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "jetlag serve exited with {st}");
            return;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
