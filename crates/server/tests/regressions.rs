//! End-to-end tests, through a real socket, of bugs an audit found in `jetlag serve`: each
//! test is named after the behaviour it pins and fails on the server before the fix.

mod common;

use common::*;
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
