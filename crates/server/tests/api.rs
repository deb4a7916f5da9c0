//! End-to-end tests of `jetlag serve` through a real socket on 127.0.0.1 (ephemeral ports):
//! ingest in every format, ordering, decisions, alerts, SSE, webhooks, auth and limits.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures_util::StreamExt;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The distinct event ids the normalizer finds in `body` (what the server must store),
/// and how many events it finds in all.
fn expected_ids(body: &[u8]) -> (Vec<String>, usize) {
    let out = jetlag_normalize::parse_body("t", body, jetlag_normalize::Format::Auto).unwrap();
    let mut ids: Vec<String> = out.events.iter().map(|e| e.event_id.to_string()).collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    (ids, all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_accepts_every_format_and_stores_each_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();

    let okta = sample("panther-events/Okta_SystemLog.jsonl");
    let lines: Vec<&str> = std::str::from_utf8(&okta)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let csv = "user,time,ip,outcome,country\n\
               carol@example.com,2025-03-01T08:00:00Z,198.51.100.7,success,US\n\
               dave@example.com,2025-03-01T08:05:00Z,198.51.100.8,failure,DE\n";
    let wrapper = r#"{"records":[{"time":"2025-03-01T09:00:05Z","category":"SignInLogs","properties":{"id":"entra-1",
            "createdDateTime":"2025-03-01T09:00:00Z","userPrincipalName":"Erin@Contoso.com",
            "ipAddress":"198.51.100.4","status":{"errorCode":0}}}]}"#;
    let google = r#"{"kind":"admin#reports#activity","id":{"time":"2025-03-01T09:30:00.000Z",
        "uniqueQualifier":"-4242","applicationName":"login","customerId":"C0abc"},
        "actor":{"email":"Jo@Example.com","profileId":"1"},"ipAddress":"198.51.100.9",
        "events":[{"type":"login","name":"login_success","parameters":[
        {"name":"login_type","value":"google_password"}]}]}"#;
    let array = format!(
        "[{}]",
        paris("arr-1", "frank@example.com", "2025-03-01T10:00:00Z").json()
    );
    let single = paris("one-1", "gina@example.com", "2025-03-01T10:00:00Z").json();

    let mut stored = 0;
    for (what, body, gz) in [
        ("okta ndjson", okta.clone(), false),
        ("okta ndjson gzip", okta.clone(), true),
        (
            "entra signinlogs (log analytics)",
            sample("entra-signinlogs-msticpy/aad_signinlogs.jsonl"),
            false,
        ),
        (
            "cloudtrail",
            sample("panther-events/AWS_CloudTrail.jsonl"),
            false,
        ),
        ("google workspace login", google.as_bytes().to_vec(), false),
        ("csv", csv.as_bytes().to_vec(), false),
        ("entra records wrapper", wrapper.as_bytes().to_vec(), false),
        ("json array", array.as_bytes().to_vec(), false),
        ("one json document", single.as_bytes().to_vec(), false),
    ] {
        let (ids, all) = expected_ids(&body);
        assert!(!ids.is_empty(), "{what}: the sample has sign-ins");
        let mut req = c.post(format!("{url}/v1/events")).bearer_auth(INGEST);
        req = if gz {
            req.header("content-encoding", "gzip").body(gzip(&body))
        } else {
            req.body(body.clone())
        };
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "{what}");
        let v: serde_json::Value = resp.json().await.unwrap();
        if gz {
            // Same events again: every one is a duplicate, nothing stored twice.
            assert_eq!(v["accepted"], 0, "{what}: {v}");
            assert_eq!(
                v["duplicates"].as_array().unwrap().len(),
                all,
                "{what}: {v}"
            );
        } else {
            // Repeated ids inside a batch (shipper retries) are stored once.
            assert_eq!(v["accepted"], ids.len(), "{what}: {v}");
            assert_eq!(
                v["duplicates"].as_array().unwrap().len(),
                all - ids.len(),
                "{what}: {v}"
            );
            stored += ids.len();
        }
        for id in &ids {
            assert!(server.store().has_event(id).unwrap(), "{what}: {id} stored");
        }
    }
    assert!(lines.len() >= expected_ids(&okta).1);

    // Splunk HEC: concatenated event objects, Splunk's answer shape.
    let hec = format!(
        "{{\"event\":{}, \"sourcetype\":\"okta\"}}{{\"time\":1,\"event\":{}}}",
        paris("hec-1", "hank@example.com", "2025-03-02T10:00:00Z").json(),
        serde_json::to_string(&paris("hec-2", "hank@example.com", "2025-03-02T10:01:00Z").json())
            .unwrap(),
    );
    let resp = c
        .post(format!("{url}/services/collector/event"))
        .header("authorization", format!("Splunk {INGEST}"))
        .body(hec)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v, serde_json::json!({"text": "Success", "code": 0}));
    assert!(
        server.store().has_event("hec-1").unwrap() && server.store().has_event("hec-2").unwrap()
    );
    stored += 2;

    // A bad HEC event among good ones (newline separated): the good ones are stored and
    // Splunk's code 6 names the bad one (numbered from 0).
    let hec = format!(
        "{{\"event\":{}}}\n{{\"event\": {{\"nonsense\": tru\n{{\"event\":{}}}\n",
        paris("hec-3", "hank@example.com", "2025-03-02T10:02:00Z").json(),
        paris("hec-4", "hank@example.com", "2025-03-02T10:03:00Z").json(),
    );
    let (status, v) = post(&c, &url, "/services/collector", Some(INGEST), hec).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["code"], 6);
    assert_eq!(v["invalid-event-number"], 1);
    assert!(
        server.store().has_event("hec-3").unwrap() && server.store().has_event("hec-4").unwrap()
    );
    stored += 2;

    assert_eq!(server.store().event_count().unwrap() as usize, stored);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_refused_with_reasons_and_good_records_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();

    let (status, v) = post(&c, &url, "/v1/events", Some(INGEST), "{\"uuid\": broken").await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["accepted"], 0);
    assert_eq!(v["rejects"][0]["line"], 1);
    assert!(!v["rejects"][0]["reason"].as_str().unwrap().is_empty());
    let (status, v) = post(&c, &url, "/v1/events", Some(INGEST), "this is not a log").await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no sign-in"), "{v}");

    let (status, _) = post(&c, &url, "/v1/events", Some(INGEST), "").await;
    assert_eq!(status, 400);

    let mixed = format!(
        "{}\n{{\"uuid\": broken\n{}\n",
        paris("m-1", "ivy@example.com", "2025-03-01T10:00:00Z").json(),
        paris("m-2", "ivy@example.com", "2025-03-01T10:05:00Z").json()
    );
    let (status, v) = post(&c, &url, "/v1/events", Some(INGEST), mixed).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], 2);
    assert_eq!(v["rejected"], 1);
    assert_eq!(v["rejects"][0]["line"], 2, "{v}");

    // Corrupt gzip.
    let resp = c
        .post(format!("{url}/v1/events"))
        .bearer_auth(INGEST)
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 8, 0, 1, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Unknown encoding.
    let resp = c
        .post(format!("{url}/v1/events"))
        .bearer_auth(INGEST)
        .header("content-encoding", "br")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);

    assert_eq!(server.store().event_count().unwrap(), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_travel_pair_arriving_out_of_order_is_detected_and_late_events_reported() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();

    // Tokyo (later) arrives first, Paris (an hour earlier) second.
    let (s, v) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        tokyo("t-2", "alice@example.com", "2025-03-01T11:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        paris("t-1", "alice@example.com", "2025-03-01T10:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["late"],
        serde_json::json!([]),
        "within the lateness bound: {v}"
    );

    let alerts = wait_alerts(&c, &url, "detector=impossible_travel", |a| !a.is_empty()).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["user"], "alice@example.com");
    assert_eq!(
        a["event_ids"],
        serde_json::json!(["t-1", "t-2"]),
        "in time order: {a}"
    );
    assert_eq!(a["evidence"]["from"]["city"], "Paris");
    assert_eq!(a["evidence"]["to"]["city"], "Tokyo");

    // Three hours behind the newest event, beyond lateness_secs = 3600: stored, reported late,
    // not run through detection.
    let (s, v) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        paris("t-0", "alice@example.com", "2025-03-01T08:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["accepted"], 1);
    assert_eq!(v["late"], serde_json::json!(["t-0"]));

    let (s, user) = get(&c, &url, "/v1/users/Alice@Example.com", Some(READ)).await;
    assert_eq!(s, 200, "{user}");
    let sign_ins = user["sign_ins"].as_array().unwrap();
    assert_eq!(sign_ins.len(), 3);
    let late = sign_ins.iter().find(|e| e["event_id"] == "t-0").unwrap();
    assert_eq!(late["late"], true);
    assert_eq!(
        sign_ins.iter().find(|e| e["event_id"] == "t-2").unwrap()["geo"]["city"],
        "Tokyo"
    );
    assert!(
        user["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["detector"] == "impossible_travel")
    );
    assert!(user["risk"].as_u64().unwrap() > 0);
    let (s, _) = get(&c, &url, "/v1/users/nobody@example.com", Some(READ)).await;
    assert_eq!(s, 404);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_decides_synchronously_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();

    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        paris("e-1", "bob@example.com", "2025-03-01T10:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["event_id"], "e-1");
    assert_eq!(v["user"], "bob@example.com");
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["detector"] != "impossible_travel")
    );

    // An hour later from Tokyo: the answer itself carries the impossible-travel reason.
    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        tokyo("e-2", "bob@example.com", "2025-03-01T11:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let reasons = v["reasons"].as_array().unwrap();
    let travel = reasons
        .iter()
        .find(|r| r["detector"] == "impossible_travel")
        .expect("travel reason");
    let max = reasons
        .iter()
        .map(|r| r["score"].as_u64().unwrap())
        .max()
        .unwrap();
    assert_eq!(v["risk"].as_u64().unwrap(), max);
    assert!(v["risk"].as_u64().unwrap() >= travel["score"].as_u64().unwrap());
    let expected_action = match max {
        0..40 => "allow",
        40..85 => "challenge",
        _ => "block",
    };
    assert_eq!(v["action"], expected_action);
    assert_eq!(v["late"], false);
    // Recorded: the alert is listed and the event stored.
    assert!(server.store().has_event("e-2").unwrap());
    let alerts = wait_alerts(
        &c,
        &url,
        "user=bob@example.com&detector=impossible_travel",
        |a| !a.is_empty(),
    )
    .await;
    assert_eq!(alerts[0]["alert_id"], travel["alert_id"]);

    // The same event again (a client retry): a duplicate, not evaluated twice, answered
    // with the decision recorded for it.
    let first = v;
    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        tokyo("e-2", "bob@example.com", "2025-03-01T11:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["duplicate"], true);
    assert_eq!(v["reasons"], first["reasons"]);
    assert_eq!(v["action"], first["action"]);

    // Not exactly one sign-in.
    let two = format!(
        "{}\n{}",
        paris("e-3", "bob@example.com", "2025-03-01T12:00:00Z").json(),
        paris("e-4", "bob@example.com", "2025-03-01T12:01:00Z").json()
    );
    let (s, v) = post(&c, &url, "/v1/evaluate", Some(INGEST), two).await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = post(&c, &url, "/v1/evaluate", Some(INGEST), "{}").await;
    assert_eq!(s, 400);
    assert!(!server.store().has_event("e-3").unwrap());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_filter_and_page_with_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();
    // Five users, each with an impossible-travel pair.
    let mut body = String::new();
    for i in 0..5 {
        let user = format!("u{i}@example.com");
        let (a, b) = (format!("p-{i}"), format!("q-{i}"));
        body.push_str(&paris(&a, &user, "2025-03-01T10:00:00Z").json());
        body.push('\n');
        body.push_str(&tokyo(&b, &user, "2025-03-01T11:00:00Z").json());
        body.push('\n');
    }
    let (s, _) = post(&c, &url, "/v1/events", Some(INGEST), body).await;
    assert_eq!(s, 200);
    let all = wait_alerts(&c, &url, "detector=impossible_travel&limit=1000", |a| {
        a.len() == 5
    })
    .await;
    let mut seen = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (s, page) = get(
            &c,
            &url,
            &format!("/v1/alerts?detector=impossible_travel&limit=2&cursor={cursor}"),
            Some(READ),
        )
        .await;
        assert_eq!(s, 200);
        let alerts = page["alerts"].as_array().unwrap();
        assert!(alerts.len() <= 2);
        seen.extend(
            alerts
                .iter()
                .map(|a| a["alert_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_u64() {
            Some(n) => cursor = n,
            None => break,
        }
    }
    let ids: Vec<String> = all
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, ids);
    let (_, v) = get(
        &c,
        &url,
        "/v1/alerts?user=U3@example.com&detector=impossible_travel",
        Some(READ),
    )
    .await;
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(v["alerts"][0]["user"], "u3@example.com");
    let (_, v) = get(
        &c,
        &url,
        "/v1/alerts?since=2025-03-01T11:00:01Z",
        Some(READ),
    )
    .await;
    assert_eq!(v["alerts"], serde_json::json!([]));
    let (_, v) = get(
        &c,
        &url,
        "/v1/alerts?severity=low&detector=impossible_travel",
        Some(READ),
    )
    .await;
    assert_eq!(v["alerts"].as_array().unwrap().len(), 5);
    let (s, _) = get(&c, &url, "/v1/alerts?severity=extreme", Some(READ)).await;
    assert_eq!(s, 400);
    let (s, _) = get(&c, &url, "/v1/alerts?colour=red", Some(READ)).await;
    assert_eq!(s, 400);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_streams_new_alerts_and_replays_after_last_event_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();
    let resp = c
        .get(format!("{url}/v1/stream"))
        .bearer_auth(READ)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = resp.bytes_stream();

    let body = format!(
        "{}\n{}\n",
        paris("s-1", "sam@example.com", "2025-03-01T10:00:00Z").json(),
        tokyo("s-2", "sam@example.com", "2025-03-01T11:00:00Z").json()
    );
    let (s, _) = post(&c, &url, "/v1/events", Some(INGEST), body).await;
    assert_eq!(s, 200);

    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("impossible_travel") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("an alert within 10 s");
        text.push_str(std::str::from_utf8(&chunk.unwrap().unwrap()).unwrap());
    }
    assert!(text.contains("event: alert"), "{text}");
    let alerts = wait_alerts(&c, &url, "detector=impossible_travel", |a| !a.is_empty()).await;
    let alert_id = alerts[0]["alert_id"].as_str().unwrap();
    assert!(text.contains(alert_id), "{text}");

    // Reconnecting with Last-Event-ID 0 replays everything stored since.
    let resp = c
        .get(format!("{url}/v1/stream"))
        .bearer_auth(READ)
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    let mut stream = resp.bytes_stream();
    let mut text = String::new();
    while !text.contains(alert_id) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("the replay");
        text.push_str(std::str::from_utf8(&chunk.unwrap().unwrap()).unwrap());
    }
    drop(stream);
    // Draining ends open streams rather than waiting for them.
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("drains")
        .unwrap();
}

#[derive(Default)]
struct Receiver {
    calls: Vec<(u16, String, String, String, Vec<u8>)>,
}

/// A webhook receiver on loopback that answers 500 to the first `fail` calls for each alert.
async fn receiver(fail: usize) -> (String, Arc<Mutex<Receiver>>) {
    use axum::http::{HeaderMap, StatusCode};
    let state = Arc::new(Mutex::new(Receiver::default()));
    let s = state.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let s = s.clone();
            async move {
                let mut r = s.lock().unwrap();
                let h = |n: &str| {
                    headers
                        .get(n)
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default()
                };
                let id = h("x-jetlag-alert-id");
                let status = if r.calls.iter().filter(|c| c.2 == id).count() < fail {
                    500
                } else {
                    200
                };
                r.calls.push((
                    status,
                    h("x-jetlag-signature"),
                    h("x-jetlag-alert-id"),
                    h("x-jetlag-delivery-attempt"),
                    body.to_vec(),
                ));
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_with_backoff_and_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let (flaky_url, flaky) = receiver(2).await;
    let (dead_url, dead) = receiver(usize::MAX).await;
    let mut cfg = config(dir.path());
    cfg.webhooks = vec![
        jetlag_server::WebhookConfig {
            url: flaky_url,
            secret: "s3cret".into(),
        },
        jetlag_server::WebhookConfig {
            url: dead_url.clone(),
            secret: "other".into(),
        },
    ];
    cfg.webhook_backoff_ms = 50;
    cfg.webhook_max_attempts = 3;
    let server = start(cfg).await;
    let url = server.url();
    let c = client();
    let body = format!(
        "{}\n{}\n",
        paris("w-1", "wes@example.com", "2025-03-01T10:00:00Z").json(),
        tokyo("w-2", "wes@example.com", "2025-03-01T11:00:00Z").json()
    );
    let (s, _) = post(&c, &url, "/v1/events", Some(INGEST), body).await;
    assert_eq!(s, 200);
    let alerts = wait_alerts(&c, &url, "", |a| !a.is_empty()).await;
    let n_alerts = alerts.len();

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let dead_letter = dir.path().join("data/dead-letter.jsonl");
    loop {
        let ok = flaky
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.0 == 200)
            .count();
        let dl = std::fs::read_to_string(&dead_letter)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if ok == n_alerts && dl == n_alerts {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries: ok {ok}, dead-lettered {dl} of {n_alerts}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls = flaky.lock().unwrap().calls.clone();
    // Two failures, then one success per alert; nothing delivered twice.
    assert_eq!(calls.iter().filter(|c| c.0 == 500).count(), 2 * n_alerts);
    let mut delivered: Vec<&str> = calls
        .iter()
        .filter(|c| c.0 == 200)
        .map(|c| c.2.as_str())
        .collect();
    delivered.sort();
    delivered.dedup();
    assert_eq!(delivered.len(), n_alerts);
    for ok in calls.iter().filter(|c| c.0 == 200) {
        assert_eq!(ok.3, "3", "delivered on the third attempt");
    }
    for (_, sig, id, _, body) in calls.iter() {
        assert_eq!(
            *sig,
            jetlag_server::webhook::signature(b"s3cret", body),
            "signature"
        );
        let alert: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(alert["alert_id"], *id.as_str());
    }
    assert_eq!(
        dead.lock().unwrap().calls.len(),
        3 * n_alerts,
        "max attempts each"
    );
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&dead_letter)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["url"], dead_url);
    assert_eq!(line["attempts"], 3);
    assert!(line["alert"]["alert_id"].is_string());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_refuses_with_401_and_403_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();
    let ev = paris("a-1", "amy@example.com", "2025-03-01T10:00:00Z").json();
    for (token, want) in [
        (None, 401),
        (Some("wrong-token-000000000"), 401),
        (Some(READ), 403),
    ] {
        for path in ["/v1/events", "/v1/evaluate", "/services/collector/event"] {
            let body = if path.starts_with("/services") {
                format!("{{\"event\":{ev}}}")
            } else {
                ev.clone()
            };
            let (s, v) = post(&c, &url, path, token, body).await;
            assert_eq!(s, want, "{path} with {token:?}: {v}");
            assert!(v["error"].is_string());
        }
    }
    assert_eq!(server.store().event_count().unwrap(), 0, "nothing stored");
    let resp = c
        .post(format!("{url}/v1/events"))
        .body(ev.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");

    for (path, token, want) in [
        ("/v1/alerts", Some(INGEST), 403),
        ("/v1/alerts", None, 401),
        ("/v1/alerts", Some(READ), 200),
        ("/v1/alerts", Some(ADMIN), 200),
        ("/metrics", Some(INGEST), 403),
        ("/readyz", Some(INGEST), 200),
        ("/readyz", None, 401),
        ("/healthz", None, 200),
        ("/v1/users/amy@example.com", Some(INGEST), 403),
    ] {
        let (s, _) = get(&c, &url, path, token).await;
        assert_eq!(s, want, "{path} {token:?}");
    }
    let (s, _) = post(&c, &url, "/v1/admin/reload", Some(READ), "").await;
    assert_eq!(s, 403);
    let (s, v) = post(&c, &url, "/v1/admin/reload", Some(ADMIN), "").await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = post(&c, &url, "/v1/events", Some(ADMIN), ev).await;
    assert_eq!(s, 200, "admin may ingest");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_and_a_full_queue_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_body_bytes = 4096;
    cfg.max_decoded_bytes = 8192;
    cfg.queue_events = 1;
    cfg.retry_after_secs = 2;
    let server = start(cfg).await;
    let url = server.url();
    let c = client();

    let big = format!(
        "{}\n",
        paris("b-1", "bo@example.com", "2025-03-01T10:00:00Z").json()
    )
    .repeat(20);
    assert!(big.len() > 4096);
    let (s, _) = post(&c, &url, "/v1/events", Some(INGEST), big.clone()).await;
    assert_eq!(s, 413);
    // Small compressed, large decoded: refused without inflating it all.
    let bomb = gzip(&vec![b' '; 1 << 20]);
    assert!(bomb.len() < 4096);
    let resp = c
        .post(format!("{url}/v1/events"))
        .bearer_auth(INGEST)
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Two events never fit a queue of one.
    let two = format!(
        "{}\n{}\n",
        paris("b-2", "bo@example.com", "2025-03-01T10:00:00Z").json(),
        paris("b-3", "bo@example.com", "2025-03-01T10:01:00Z").json()
    );
    let (s, _) = post(&c, &url, "/v1/events", Some(INGEST), two).await;
    assert_eq!(s, 413);
    assert_eq!(server.store().event_count().unwrap(), 0);

    // Bursts of concurrent single events against a queue of one: some wait their turn
    // (429 + Retry-After), every acknowledged one is stored, no refused one is.
    let mut throttled = 0;
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for round in 0..20 {
        let mut tasks = Vec::new();
        for i in 0..32 {
            let c = c.clone();
            let url = url.clone();
            let id = format!("burst-{round}-{i}");
            let user = format!("burst{i}@example.com");
            let body = paris(&id, &user, "2025-03-01T12:00:00Z").json();
            tasks.push(tokio::spawn(async move {
                let resp = c
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(INGEST)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let retry = resp
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                (id, resp.status().as_u16(), retry)
            }));
        }
        for t in tasks {
            let (id, status, retry) = t.await.unwrap();
            match status {
                200 => acked.push(id),
                429 => {
                    assert_eq!(retry.as_deref(), Some("2"));
                    throttled += 1;
                    refused.push(id);
                }
                other => panic!("unexpected status {other}"),
            }
        }
        if throttled > 0 && !acked.is_empty() {
            break;
        }
    }
    assert!(
        throttled > 0,
        "a queue of one must refuse some concurrent requests"
    );
    for id in &acked {
        assert!(
            server.store().has_event(id).unwrap(),
            "{id} acknowledged but not stored"
        );
    }
    for id in &refused {
        assert!(
            !server.store().has_event(id).unwrap(),
            "{id} refused but stored"
        );
    }
    let (_, metrics) = {
        let resp = c
            .get(format!("{url}/metrics"))
            .bearer_auth(READ)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    };
    assert!(
        metrics.contains("jetlag_throttled_requests_total"),
        "{metrics}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_exactly_the_served_routes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();
    let (s, doc) = get(&c, &url, "/v1/openapi.json", Some(READ)).await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented += 1;
            let concrete = path.replace("{user}", "someone@example.com");
            let req = c.request(
                method.to_uppercase().parse().unwrap(),
                format!("{url}{concrete}"),
            );
            let status = req.send().await.unwrap().status().as_u16();
            // Without a token every route answers 401, except /healthz: never 404/405.
            let open = op["security"].as_array().unwrap().is_empty();
            assert_eq!(status, if open { 200 } else { 401 }, "{method} {path}");
            assert!(
                jetlag_server::route_table()
                    .iter()
                    .any(|r| r.method == method && r.path == path)
            );
        }
    }
    assert_eq!(documented, jetlag_server::route_table().len());
    let (s, _) = get(&c, &url, "/v1/nothing-here", Some(READ)).await;
    assert_eq!(s, 404);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_events_and_alerts_and_detection_continues() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let c = client();
    let (s, _) = post(
        &c,
        &server.url(),
        "/v1/events",
        Some(INGEST),
        format!(
            "{}\n{}\n",
            paris("r-1", "rita@example.com", "2025-03-01T10:00:00Z").json(),
            tokyo("r-2", "rita@example.com", "2025-03-01T11:00:00Z").json()
        ),
    )
    .await;
    assert_eq!(s, 200);
    let before = wait_alerts(&c, &server.url(), "", |a| {
        a.iter().any(|x| x["detector"] == "impossible_travel")
    })
    .await;
    server.shutdown().await.unwrap();

    let server = start(config(dir.path())).await;
    let url = server.url();
    // Back in Paris two hours later: travel from Tokyo is impossible again; the engine
    // remembers Tokyo from before the restart.
    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        paris("r-3", "rita@example.com", "2025-03-01T13:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200);
    let travel: Vec<_> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["detector"] == "impossible_travel")
        .collect();
    assert_eq!(travel.len(), 1, "{v}");
    let after = wait_alerts(&c, &url, "", |a| a.len() > before.len()).await;
    let mut ids: Vec<&str> = after
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        &ids[..before.len()],
        &before
            .iter()
            .map(|a| a["alert_id"].as_str().unwrap())
            .collect::<Vec<_>>()[..]
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), after.len(), "no alert stored twice");
    assert_eq!(server.store().event_count().unwrap(), 3);
    let (s, ready) = get(&c, &url, "/readyz", Some(READ)).await;
    assert_eq!(s, 200, "{ready}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_served_with_rustls_when_a_certificate_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut cfg = config(dir.path());
    cfg.tls_cert = Some(cert_path);
    cfg.tls_key = Some(key_path);
    let server = start(cfg).await;
    assert!(server.url().starts_with("https://"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let resp = c
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Plain HTTP on the TLS port does not get an answer.
    let plain = client()
        .get(format!("http://{}/healthz", server.addr()))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intel_lists_reload_on_admin_request_and_enrich_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("vpn.txt");
    std::fs::write(&list, "# VPN exits\n192.0.2.0/24\n").unwrap();
    let enricher = jetlag_enrich::Enricher::builder()
        .intel(jetlag_event::NetClass::Vpn, &list)
        .build()
        .unwrap();
    let pipeline = jetlag_server::Pipeline {
        enricher: Some(Arc::new(enricher)),
        ..jetlag_server::Pipeline::default()
    };
    let mut cfg = config(dir.path());
    cfg.reload_poll_secs = 0; // only the explicit reload below
    let server = jetlag_server::start(cfg, pipeline).await.unwrap();
    let url = server.url();
    let c = client();
    let at = |uuid: &'static str, time: &'static str| Okta {
        uuid,
        user: "rex@example.com",
        time,
        ip: "198.51.100.23",
        city: "Paris",
        country: "France",
        lat: 48.8566,
        lon: 2.3522,
    };
    let (s, _) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        at("i-1", "2025-03-01T10:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200);
    // The list now names the user's address as a VPN exit too.
    std::fs::write(&list, "# VPN exits\n192.0.2.0/24\n198.51.100.0/24\n").unwrap();
    let (s, v) = post(&c, &url, "/v1/admin/reload", Some(ADMIN), "").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["files_reloaded"], 1);
    let (s, _) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        at("i-2", "2025-03-01T10:05:00Z").json(),
    )
    .await;
    assert_eq!(s, 200);
    let (_, user) = get(&c, &url, "/v1/users/rex@example.com", Some(READ)).await;
    let net = |id: &str| {
        user["sign_ins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event_id"] == id)
            .unwrap()["network"]
            .clone()
    };
    assert_eq!(
        net("i-1"),
        serde_json::json!([]),
        "stored as enriched at the time"
    );
    assert_eq!(net("i-2"), serde_json::json!(["vpn"]));
    // A list that no longer loads keeps the previous data.
    std::fs::remove_file(&list).unwrap();
    let (s, v) = post(&c, &url, "/v1/admin/reload", Some(ADMIN), "").await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        at("i-3", "2025-03-01T10:10:00Z").json(),
    )
    .await;
    assert_eq!(s, 200);
    let (_, user) = get(&c, &url, "/v1/users/rex@example.com", Some(READ)).await;
    let i3 = user["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_id"] == "i-3")
        .unwrap()
        .clone();
    assert_eq!(i3["network"], serde_json::json!(["vpn"]));
    server.shutdown().await.unwrap();
}
