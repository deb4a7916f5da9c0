//! End-to-end tests, through a real socket, of bugs an audit found in `jetlag serve`: each
//! test is named after the behaviour it pins and fails on the server before the fix.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// A Microsoft Graph `signIn` record with a log-supplied location.
fn graph(id: &str, time: &str, user: &str, place: (&str, &str, &str, f64, f64)) -> Value {
    let (ip, city, country, lat, lon) = place;
    json!({
        "id": id, "createdDateTime": time, "userPrincipalName": user, "ipAddress": ip,
        "appDisplayName": "Office 365", "clientAppUsed": "Browser", "isInteractive": true,
        "status": { "errorCode": 0 },
        "location": { "city": city, "state": null, "countryOrRegion": country,
            "geoCoordinates": { "latitude": lat, "longitude": lon } }
    })
}

const NEW_YORK: (&str, &str, &str, f64, f64) = ("74.125.1.1", "New York", "US", 40.71, -74.0);
const TOKYO: (&str, &str, &str, f64, f64) = ("133.1.1.1", "Tokyo", "JP", 35.68, 139.69);

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

fn reason_alert_ids(decision: &Value) -> Vec<String> {
    let mut ids: Vec<String> = decision["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn has_travel(decision: &Value) -> bool {
    decision["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["detector"] == "impossible_travel")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newest_first_graph_page_is_evaluated_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.lateness_secs = 300; // the default: the page spans two hours
    let server = start(cfg).await;
    let url = server.url();
    let c = client();

    // Newest first, as the Graph API pages: two users, each New York then Tokyo two hours
    // later, and a third user's sign-in in between.
    let page = json!({ "value": [
        graph("g-4", "2025-03-01T12:00:00Z", "alice@example.com", TOKYO),
        graph("g-3", "2025-03-01T11:30:00Z", "bert@example.com", TOKYO),
        graph("g-2", "2025-03-01T11:00:00Z", "carl@example.com", NEW_YORK),
        graph("g-1", "2025-03-01T10:00:00Z", "alice@example.com", NEW_YORK),
        graph("g-0", "2025-03-01T09:30:00Z", "bert@example.com", NEW_YORK),
    ]});
    let (s, v) = post(&c, &url, "/v1/events", Some(INGEST), page.to_string()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["accepted"], 5, "{v}");
    assert_eq!(v["late"], json!([]), "the page is present in full: {v}");
    assert_eq!(v["out_of_order"], json!([]), "{v}");

    let alerts = wait_alerts(&c, &url, "detector=impossible_travel", |a| a.len() == 2).await;
    let mut pairs: Vec<Vec<String>> = alerts.iter().map(|a| ids(&a["event_ids"])).collect();
    pairs.sort();
    assert_eq!(pairs, [["g-0", "g-3"], ["g-1", "g-4"]], "{alerts:?}");
    let (_, user) = get(&c, &url, "/v1/users/alice@example.com", Some(READ)).await;
    for e in user["sign_ins"].as_array().unwrap() {
        assert_eq!(e["late"], false, "{e}");
    }
    server.shutdown().await.unwrap();
}

/// An Okta System Log record that is not a sign-in.
fn okta_user_created(uuid: &str) -> String {
    json!({
        "uuid": uuid, "published": "2025-03-07T10:06:00Z", "eventType": "user.lifecycle.create",
        "actor": { "alternateId": "admin@example.com", "type": "User" },
        "outcome": { "result": "SUCCESS" }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_are_not_sign_ins_are_skipped_and_counted_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();

    // Only a non-sign-in record: valid input.
    let (s, v) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        okta_user_created("k-0"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["accepted"], &v["rejected"], &v["skipped"]),
        (&json!(0), &json!(0), &json!(1)),
        "{v}"
    );
    // Mixed with a sign-in and a broken record: every record is accounted for.
    let body = format!(
        "{}\n{}\n{{\"uuid\": broken\n",
        okta_user_created("k-1"),
        paris("k-2", "lena@example.com", "2025-03-07T10:07:00Z").json()
    );
    let (s, v) = post(&c, &url, "/v1/events", Some(INGEST), body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["accepted"], &v["rejected"], &v["skipped"]),
        (&json!(1), &json!(1), &json!(1)),
        "{v}"
    );

    // Splunk HEC: a non-sign-in is not "Invalid data format".
    let hec = format!(
        "{{\"event\":{}}}\n{{\"event\":{}}}\n",
        okta_user_created("k-3"),
        paris("k-4", "lena@example.com", "2025-03-07T10:08:00Z").json()
    );
    let resp = c
        .post(format!("{url}/services/collector/event"))
        .bearer_auth(INGEST)
        .body(hec)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = |n: &str| resp.headers()[n].to_str().unwrap().to_owned();
    assert_eq!(
        (
            h("x-jetlag-accepted"),
            h("x-jetlag-rejected"),
            h("x-jetlag-skipped")
        ),
        ("1".into(), "0".into(), "1".into())
    );
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v, json!({"text": "Success", "code": 0}));
    let (s, v) = post(
        &c,
        &url,
        "/services/collector/event",
        Some(INGEST),
        format!("{{\"event\":{}}}", okta_user_created("k-5")),
    )
    .await;
    assert_eq!((s, &v["code"]), (200, &json!(0)), "{v}");
    assert!(server.store().has_event("k-2").unwrap() && server.store().has_event("k-4").unwrap());
    assert_eq!(server.store().event_count().unwrap(), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_reasons_name_no_command_line_flag() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();
    let (s, v) = post(&c, &url, "/v1/events", Some(INGEST), "{\"a\":1}").await;
    assert_eq!(s, 400, "{v}");
    let reason = v["rejects"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("unrecognized"), "{v}");
    assert!(!reason.contains("--"), "{v}");
    let (s, v) = post(&c, &url, "/v1/evaluate", Some(INGEST), "{\"a\":1}").await;
    assert_eq!(s, 400, "{v}");
    assert!(!v["error"].as_str().unwrap().contains("--"), "{v}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_never_allows_without_evaluating() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path()); // lateness_secs = 3600
    cfg.max_hold_ms = 60_000; // ingested events stay buffered for this test's length
    let server = start(cfg).await;
    let url = server.url();
    let c = client();
    let evaluate = |body: String| {
        let (c, url) = (c.clone(), url.clone());
        async move { post(&c, &url, "/v1/evaluate", Some(INGEST), body).await }
    };

    let (s, v) = evaluate(paris("v-1", "ivan@example.com", "2025-03-01T10:00:00Z").json()).await;
    assert_eq!((s, &v["evaluated"]), (200, &json!(true)), "{v}");
    // Another user's sign-in, one second newer, decided first (concurrent logins).
    let (s, v) = evaluate(paris("v-2", "judy@example.com", "2025-03-01T11:00:01Z").json()).await;
    assert_eq!(s, 200, "{v}");

    // Ivan from Tokyo an hour after Paris, one second behind Judy: still evaluated.
    let tokyo_1 = tokyo("v-3", "ivan@example.com", "2025-03-01T11:00:00Z").json();
    let (s, first) = evaluate(tokyo_1.clone()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["evaluated"], true, "{first}");
    assert_eq!(first["late"], false, "{first}");
    assert_eq!(first["out_of_order"], true, "{first}");
    assert!(
        has_travel(&first),
        "impossible travel not evaluated: {first}"
    );
    assert_ne!(first["action"], "allow", "{first}");
    assert!(first["risk"].as_u64().unwrap() >= 40, "{first}");

    // A client retry of the same event: the decision recorded for it, not "allow".
    let (s, retry) = evaluate(tokyo_1).await;
    assert_eq!(s, 200, "{retry}");
    assert_eq!(retry["duplicate"], true, "{retry}");
    assert_eq!(retry["evaluated"], true, "{retry}");
    assert_eq!(retry["action"], first["action"], "{retry}");
    assert_eq!(retry["risk"], first["risk"], "{retry}");
    assert_eq!(reason_alert_ids(&retry), reason_alert_ids(&first));
    assert!(!reason_alert_ids(&first).is_empty());

    // Ingested and still waiting in the reorder buffer, then evaluated (a retry through
    // the decision endpoint): decided now, with its own reasons.
    let body = format!(
        "{}\n{}\n",
        paris("v-4", "kim@example.com", "2025-03-01T12:00:00Z").json(),
        tokyo("v-5", "kim@example.com", "2025-03-01T12:30:00Z").json()
    );
    let (s, v) = post(&c, &url, "/v1/events", Some(INGEST), body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["late"], json!([]), "{v}");
    let (s, v) = evaluate(tokyo("v-5", "kim@example.com", "2025-03-01T12:30:00Z").json()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["duplicate"], &v["evaluated"]),
        (&json!(true), &json!(true))
    );
    assert!(has_travel(&v), "{v}");
    assert_ne!(v["action"], "allow", "{v}");

    // Beyond the lateness bound (3600 s behind the newest event): it cannot be evaluated,
    // and the answer says so explicitly, with a status a client cannot take for success.
    for attempt in 0..2 {
        let (s, v) =
            evaluate(tokyo("v-0", "ivan@example.com", "2025-03-01T09:00:00Z").json()).await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(v["action"], "not_evaluated", "{v}");
        assert_eq!(v["evaluated"], false, "{v}");
        assert_eq!(v["risk"], Value::Null, "{v}");
        assert_eq!(v["late"], true, "{v}");
        assert_eq!(v["duplicate"], attempt == 1, "{v}");
        assert!(v["error"].as_str().unwrap().contains("lateness"), "{v}");
    }

    // Concurrent logins of many users a few milliseconds apart: every one is evaluated.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let body = paris(
            &format!("w-{i}"),
            &format!("conc{i}@example.com"),
            &format!("2025-03-01T13:00:00.{:03}Z", i * 10),
        )
        .json();
        tasks.push(tokio::spawn(evaluate(body)));
    }
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["evaluated"], true, "{v}");
        assert_eq!(v["late"], false, "{v}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_order_decision_survives_a_restart_without_repeating_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let c = client();
    let url = server.url();
    for body in [
        paris("o-1", "olga@example.com", "2025-03-01T10:00:00Z").json(),
        paris("o-2", "pia@example.com", "2025-03-01T11:00:01Z").json(),
    ] {
        let (s, v) = post(&c, &url, "/v1/evaluate", Some(INGEST), body).await;
        assert_eq!(s, 200, "{v}");
    }
    let late_tokyo = tokyo("o-3", "olga@example.com", "2025-03-01T11:00:00Z").json();
    let (s, first) = post(&c, &url, "/v1/evaluate", Some(INGEST), late_tokyo.clone()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["out_of_order"], true, "{first}");
    assert!(has_travel(&first), "{first}");
    let before = wait_alerts(&c, &url, "", |a| !a.is_empty()).await;
    server.shutdown().await.unwrap();

    // The write-ahead log says the event was evaluated out of order: a replay repeats it,
    // and the stored alerts are neither lost nor doubled.
    let server = start(config(dir.path())).await;
    let url = server.url();
    let (s, retry) = post(&c, &url, "/v1/evaluate", Some(INGEST), late_tokyo).await;
    assert_eq!(s, 200, "{retry}");
    assert_eq!(retry["duplicate"], true, "{retry}");
    assert_eq!(retry["out_of_order"], true, "{retry}");
    assert_eq!(reason_alert_ids(&retry), reason_alert_ids(&first));
    let (_, after) = get(&c, &url, "/v1/alerts?limit=1000", Some(READ)).await;
    assert_eq!(after["alerts"].as_array().unwrap().len(), before.len());
    // The engine remembers Tokyo: back in Paris an hour later is impossible.
    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        paris("o-4", "olga@example.com", "2025-03-01T12:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(has_travel(&v), "{v}");
    let (_, user) = get(&c, &url, "/v1/users/olga@example.com", Some(READ)).await;
    let o3 = user["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_id"] == "o-3")
        .unwrap()
        .clone();
    assert_eq!(
        (&o3["out_of_order"], &o3["late"]),
        (&json!(true), &json!(false))
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_future_event_cannot_switch_detection_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.lateness_secs = 300;
    let server = start(cfg).await;
    let url = server.url();
    let c = client();

    let future = graph(
        "f-1",
        "2099-12-31T00:00:00Z",
        "mallory@example.com",
        NEW_YORK,
    );
    let (s, v) = post(&c, &url, "/v1/events", Some(INGEST), future.to_string()).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!((&v["accepted"], &v["rejected"]), (&json!(0), &json!(1)));
    assert_eq!(v["rejects"][0]["event_id"], "f-1", "{v}");
    assert!(
        v["rejects"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("max_future_secs"),
        "{v}"
    );
    assert!(!server.store().has_event("f-1").unwrap());
    // Through Splunk HEC, among a good event: Splunk's code 6 names it; the good one is kept.
    let hec = format!(
        "{{\"event\":{}}}\n{{\"event\":{future}}}\n",
        graph("f-0", "2025-03-01T09:00:00Z", "erin@example.com", NEW_YORK)
    );
    let (s, v) = post(&c, &url, "/services/collector/event", Some(INGEST), hec).await;
    assert_eq!(
        (s, &v["code"], &v["invalid-event-number"]),
        (400, &json!(6), &json!(1))
    );
    assert!(server.store().has_event("f-0").unwrap());
    // And to the decision endpoint.
    let (s, v) = post(&c, &url, "/v1/evaluate", Some(INGEST), future.to_string()).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("ahead"), "{v}");

    // Detection is on: the travel pair is evaluated, not late.
    let page = json!({ "value": [
        graph("f-3", "2025-03-01T12:00:00Z", "alice@example.com", TOKYO),
        graph("f-2", "2025-03-01T10:00:00Z", "alice@example.com", NEW_YORK),
    ]});
    let (s, v) = post(&c, &url, "/v1/events", Some(INGEST), page.to_string()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["late"], json!([]), "{v}");
    wait_alerts(&c, &url, "detector=impossible_travel", |a| a.len() == 1).await;
    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        graph("f-4", "2025-03-01T12:10:00Z", "alice@example.com", NEW_YORK).to_string(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(has_travel(&v), "{v}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_poisoned_by_a_future_event_is_repaired_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    // A server that accepted far-future events (as every server did before they were
    // refused), with the 2099 event still in its reorder buffer at shutdown.
    let mut cfg = config(dir.path());
    cfg.max_future_secs = 100 * 365 * 86_400;
    cfg.max_hold_ms = 60_000;
    let server = start(cfg).await;
    let url = server.url();
    let c = client();
    let (s, v) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        paris("p-0", "mallory@example.com", "2099-12-31T00:00:00Z").json(),
    )
    .await;
    assert_eq!((s, &v["accepted"]), (200, &json!(1)), "{v}");
    let (s, v) = post(
        &c,
        &url,
        "/v1/events",
        Some(INGEST),
        paris("p-1", "nina@example.com", "2025-03-01T10:00:00Z").json(),
    )
    .await;
    assert_eq!(v["late"], json!(["p-1"]), "poisoned: {v}");
    assert_eq!(s, 200);
    server.shutdown().await.unwrap();

    // Restarted with the default bound: the saved state forgets the future.
    let server = start(config(dir.path())).await;
    let url = server.url();
    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        tokyo("p-2", "nina@example.com", "2025-03-01T11:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((&v["evaluated"], &v["late"]), (&json!(true), &json!(false)));
    let (s, v) = post(
        &c,
        &url,
        "/v1/evaluate",
        Some(INGEST),
        paris("p-3", "nina@example.com", "2025-03-01T12:00:00Z").json(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(has_travel(&v), "detection is back on: {v}");
    // The buffered 2099 event was dropped and is reported as not evaluated.
    let (_, user) = get(&c, &url, "/v1/users/mallory@example.com", Some(READ)).await;
    assert_eq!(user["sign_ins"][0]["late"], true, "{user}");
    server.shutdown().await.unwrap();
    // And the repair is durable: a second restart is not poisoned again by a replay.
    let server = start(config(dir.path())).await;
    let (s, v) = post(
        &c,
        &server.url(),
        "/v1/events",
        Some(INGEST),
        paris("p-4", "nina@example.com", "2025-03-01T12:05:00Z").json(),
    )
    .await;
    assert_eq!((s, &v["late"]), (200, &json!([])), "{v}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_replays_a_backlog_of_more_than_a_thousand_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let url = server.url();
    let c = client();
    // 1,100 users, each with an impossible-travel pair: more than one page of backlog.
    let mut body = String::new();
    for i in 0..1100 {
        let user = format!("sse{i}@example.com");
        body.push_str(&paris(&format!("sa-{i}"), &user, "2025-03-01T10:00:00Z").json());
        body.push('\n');
        body.push_str(&tokyo(&format!("sb-{i}"), &user, "2025-03-01T11:00:00Z").json());
        body.push('\n');
    }
    let (s, v) = post(&c, &url, "/v1/events", Some(INGEST), body).await;
    assert_eq!(s, 200, "{v}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut total = 0;
    while total < 1100 {
        total = server.store().last_alert_seq().unwrap();
        assert!(tokio::time::Instant::now() < deadline, "alerts not raised");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let detection settle so the count is final.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = server.store().last_alert_seq().unwrap();

    // A client that last saw alert 5 reconnects: it gets every later one, in order.
    let resp = c
        .get(format!("{url}/v1/stream"))
        .bearer_auth(READ)
        .header("last-event-id", "5")
        .send()
        .await
        .unwrap();
    let mut stream = resp.bytes_stream();
    let mut text = String::new();
    let want = format!("\nid: {total}\n");
    while !text.contains(&want) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| {
                let n = text.matches("event: alert").count();
                panic!("only {n} of {} alerts replayed", total - 5)
            });
        text.push_str(std::str::from_utf8(&chunk.unwrap().unwrap()).unwrap());
    }
    let sent: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(sent, (6..=total).collect::<Vec<_>>());
    assert!(!text.contains("event: lagged"), "nothing was missed");
    drop(stream);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_states_the_statuses_the_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.queue_events = 1;
    let server = start(cfg).await;
    let url = server.url();
    let c = client();
    let (s, doc) = get(&c, &url, "/v1/openapi.json", Some(READ)).await;
    assert_eq!(s, 200);
    let events = &doc["paths"]["/v1/events"]["post"]["responses"];
    assert!(
        events["413"]["description"]
            .as_str()
            .unwrap()
            .contains("queue_events"),
        "{events}"
    );
    assert!(events["415"].is_object(), "{events}");
    assert!(doc["paths"]["/v1/evaluate"]["post"]["responses"]["409"].is_object());
    // Routes any valid token may call never answer 403.
    for path in ["/readyz", "/v1/openapi.json"] {
        assert!(
            doc["paths"][path]["get"]["responses"]["403"].is_null(),
            "{path}"
        );
    }
    // A batch larger than the whole queue: 413, as documented (429 is for a full queue).
    let two = format!(
        "{}\n{}\n",
        paris("q-1", "quinn@example.com", "2025-03-01T10:00:00Z").json(),
        paris("q-2", "quinn@example.com", "2025-03-01T10:01:00Z").json()
    );
    let (s, v) = post(&c, &url, "/v1/events", Some(INGEST), two).await;
    assert_eq!(s, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("queue"), "{v}");
    server.shutdown().await.unwrap();
}
