//! Helpers shared by the server's end-to-end tests: a server on an ephemeral loopback
//! port, tokens of each role, and Okta System Log records (the vendor's real schema).
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use jetlag_server::{Pipeline, Role, Running, ServerConfig, TokenConfig};

pub const INGEST: &str = "ingest-token-0123456789";
pub const READ: &str = "read-token-0123456789ab";
pub const ADMIN: &str = "admin-token-0123456789a";

/// A config listening on 127.0.0.1:0 with one token per role and a short hold.
pub fn config(dir: &Path) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.join("data"),
        tokens: vec![
            TokenConfig {
                token: INGEST.into(),
                role: Role::Ingest,
            },
            TokenConfig {
                token: READ.into(),
                role: Role::Read,
            },
            TokenConfig {
                token: ADMIN.into(),
                role: Role::Admin,
            },
        ],
        lateness_secs: 3600,
        max_hold_ms: 150,
        shutdown_grace_secs: 5,
        ..ServerConfig::default()
    }
}

pub async fn start(config: ServerConfig) -> Running {
    // `RUST_LOG=info cargo test` shows the server's logs.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    jetlag_server::start(config, Pipeline::default())
        .await
        .expect("server starts")
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// One Okta System Log `user.session.start` event.
pub struct Okta<'a> {
    pub uuid: &'a str,
    pub user: &'a str,
    pub time: &'a str,
    pub ip: &'a str,
    pub city: &'a str,
    pub country: &'a str,
    pub lat: f64,
    pub lon: f64,
}

impl Okta<'_> {
    pub fn json(&self) -> String {
        serde_json::json!({
            "uuid": self.uuid,
            "published": self.time,
            "eventType": "user.session.start",
            "displayMessage": "User login to Okta",
            "actor": { "id": "00u1", "type": "User", "alternateId": self.user, "displayName": self.user },
            "outcome": { "result": "SUCCESS" },
            "client": {
                "ipAddress": self.ip,
                "userAgent": { "rawUserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" },
                "geographicalContext": {
                    "city": self.city, "country": self.country,
                    "geolocation": { "lat": self.lat, "lon": self.lon }
                }
            },
            "authenticationContext": { "externalSessionId": format!("s-{}", self.uuid) }
        })
        .to_string()
    }
}

pub fn paris<'a>(uuid: &'a str, user: &'a str, time: &'a str) -> Okta<'a> {
    Okta {
        uuid,
        user,
        time,
        ip: "81.2.69.160",
        city: "Paris",
        country: "France",
        lat: 48.8566,
        lon: 2.3522,
    }
}

pub fn tokyo<'a>(uuid: &'a str, user: &'a str, time: &'a str) -> Okta<'a> {
    Okta {
        uuid,
        user,
        time,
        ip: "202.12.27.33",
        city: "Tokyo",
        country: "Japan",
        lat: 35.6762,
        lon: 139.6503,
    }
}

/// POSTs `body` to `path` with `token`; returns status and JSON (Null if not JSON).
pub async fn post(
    c: &reqwest::Client,
    url: &str,
    path: &str,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, serde_json::Value) {
    let mut req = c.post(format!("{url}{path}")).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

pub async fn get(
    c: &reqwest::Client,
    url: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = c.get(format!("{url}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// Polls `/v1/alerts?{query}` until `pred` holds for the list, or panics after 10 s.
pub async fn wait_alerts(
    c: &reqwest::Client,
    url: &str,
    query: &str,
    pred: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let (status, body) = get(c, url, &format!("/v1/alerts?{query}"), Some(READ)).await;
        assert_eq!(status, 200, "{body}");
        let alerts = body["alerts"].as_array().cloned().unwrap_or_default();
        if pred(&alerts) {
            return alerts;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for alerts; last: {alerts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The sample logs shipped in ../shared/data (fails loudly when absent).
pub fn sample(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/samples/");
    let path = format!("{path}{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("sample {path} missing: {e}"))
}
