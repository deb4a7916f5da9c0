//! Open-loop load test of `POST /v1/evaluate` on loopback: requests are *scheduled* at a
//! fixed rate (default 1,000/s) and each latency is measured from its scheduled start, so a
//! stall is charged to every request it delays (no coordinated omission).
//!
//! ```sh
//! cargo bench -p jetlag-server --bench evaluate_load -- [RATE] [SECONDS]
//! ```
//! Starts the server in-process on 127.0.0.1:0 with a fresh data directory (real redb file,
//! fsync per group commit) and the default detectors, sends Okta sign-ins of 5,000 users
//! moving between six cities (so detectors hold state and alerts are raised), and prints
//! latency percentiles and the achieved rate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jetlag_server::{Pipeline, Role, ServerConfig, TokenConfig};

const CITIES: [(&str, &str, &str, f64, f64); 6] = [
    ("81.2.69.160", "Paris", "France", 48.8566, 2.3522),
    ("202.12.27.33", "Tokyo", "Japan", 35.6762, 139.6503),
    (
        "198.51.100.7",
        "Chicago",
        "United States",
        41.8781,
        -87.6298,
    ),
    ("203.0.113.9", "Sydney", "Australia", -33.8688, 151.2093),
    ("192.0.2.44", "Berlin", "Germany", 52.52, 13.405),
    ("198.18.0.3", "São Paulo", "Brazil", -23.5505, -46.6333),
];

fn body(i: u64) -> String {
    let user = i % 5000;
    // Mostly home, now and then elsewhere: alerts at a realistic trickle.
    let city = if i.is_multiple_of(97) {
        (i / 97) as usize % 6
    } else {
        (user % 6) as usize
    };
    let (ip, name, country, lat, lon) = CITIES[city];
    let t = jiff::Timestamp::from_second(1_740_823_200 + i as i64).unwrap();
    serde_json::json!({
        "uuid": format!("load-{i}"),
        "published": t.to_string(),
        "eventType": "user.session.start",
        "actor": { "id": "00u1", "type": "User", "alternateId": format!("user{user}@example.com") },
        "outcome": { "result": "SUCCESS" },
        "client": { "ipAddress": ip, "userAgent": { "rawUserAgent": "Mozilla/5.0" },
            "geographicalContext": { "city": name, "country": country,
                "geolocation": { "lat": lat, "lon": lon } } }
    })
    .to_string()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rate: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(rate, secs));
}

async fn run(rate: u64, secs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let token = "bench-token-0123456789".to_owned();
    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        tokens: vec![TokenConfig {
            token: token.clone(),
            role: Role::Admin,
        }],
        ..ServerConfig::default()
    };
    let mut config = config;
    if let Some(n) = std::env::var("SNAPSHOT_EVERY_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.snapshot_every_events = n;
        config.snapshot_every_secs = 3600;
    }
    let server = jetlag_server::start(config, Pipeline::default())
        .await
        .unwrap();
    let url = format!("{}/v1/evaluate", server.url());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    // Warm-up: connections, first users.
    for i in 0..200 {
        let r = client
            .post(&url)
            .bearer_auth(&token)
            .body(body(i))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let total = rate * secs;
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let lat = Arc::new(std::sync::Mutex::new(Vec::with_capacity(total as usize)));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + period * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, url, token, lat, errors) = (
            client.clone(),
            url.clone(),
            token.clone(),
            lat.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(&url)
                .bearer_auth(&token)
                .body(body(200 + n))
                .send()
                .await;
            let ok = match r {
                Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            if !ok {
                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            lat.lock().unwrap().push(due.elapsed());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let wall = start.elapsed();
    let mut l = lat.lock().unwrap().clone();
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1];
    println!(
        "evaluate: {} requests scheduled at {rate}/s over {secs} s, achieved {:.0}/s, errors {}",
        l.len(),
        l.len() as f64 / wall.as_secs_f64(),
        errors.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "latency from scheduled start: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(0.999).as_secs_f64() * 1e3,
        l.last().unwrap().as_secs_f64() * 1e3
    );
    let alerts = server
        .store()
        .alerts(&jetlag_server::store::AlertFilter {
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
        .0
        .len();
    println!(
        "events stored {}, alerts (first page) {alerts}",
        server.store().event_count().unwrap()
    );
    // Server-side: time in the core per group commit (WAL + detection + fsync).
    let metrics = client
        .get(format!("{}/metrics", server.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in metrics.lines().filter(|l| {
        l.starts_with("jetlag_commit_duration_seconds")
            || l.starts_with("jetlag_request_duration_seconds_bucket")
    }) {
        println!("  {line}");
    }
    server.shutdown().await.unwrap();
}
