//! The `deliver` stage: the alert topic → webhooks. Each alert is POSTed as its JSON to
//! every `[[kafka.webhooks]]` URL with `X-Jetlag-Alert-Id` and `X-Jetlag-Signature:
//! sha256=<hex HMAC-SHA256 of the body>` (the server's scheme), retried with doubling
//! back-off; after the last attempt it goes to `<prefix>.dead-letter` with the URL and the
//! reason in headers. The offset is committed once every webhook has had it, so delivery is
//! at-least-once: a receiver recognises a repeat by its alert id.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hmac::{Hmac, Mac};
use rdkafka::Message;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use rdkafka::topic_partition_list::Offset;
use sha2::Sha256;

use super::ingest::send;
use super::{Producer_, consumer};
use crate::config::Webhook;
use crate::{Error, Setup, Summary};

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
fn signature(secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return String::new(); // HMAC takes keys of any length: unreachable
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(crate) fn run(
    setup: &Setup,
    producer: &Arc<Producer_>,
    stop: &AtomicBool,
) -> Result<Summary, Error> {
    let k = &setup.kafka;
    let consumer = consumer(setup, &format!("{}.deliver", k.group), producer)?;
    consumer
        .subscribe(&[&k.alerts_topic])
        .map_err(|e| Error::kafka(format!("subscribe to {}", k.alerts_topic), e))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::kafka("cannot start the webhook runtime", e))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Error::kafka("cannot build the webhook client", e))?;
    let dead_letter = format!("{}.dead-letter", k.prefix);
    let mut summary = Summary::default();
    let mut idle_since = std::time::Instant::now();
    let mut done = super::state::Finished::default();
    while !stop.load(Ordering::Acquire) {
        let Some(polled) = consumer.poll(Duration::from_millis(100)) else {
            // Drain mode: done once every partition has finished and the alert topic has
            // been quiet for a while.
            if setup.drain && idle_since.elapsed() >= Duration::from_secs(2) {
                idle_since = std::time::Instant::now();
                if all_finished(setup, &mut done)? {
                    break;
                }
            }
            continue;
        };
        idle_since = std::time::Instant::now();
        let msg = match polled {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "deliver: consumer error");
                continue;
            }
        };
        let body = msg.payload().unwrap_or_default();
        let id = msg
            .key()
            .and_then(|k| std::str::from_utf8(k).ok())
            .unwrap_or_default();
        summary.records += 1;
        for hook in &k.webhooks {
            let outcome = runtime.block_on(deliver(&client, hook, id, body, k, stop));
            if let Err(reason) = outcome {
                tracing::error!(alert_id = id, url = %hook.url, %reason, "webhook gave up: dead-lettered");
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: "jetlag-url",
                        value: Some(hook.url.as_str()),
                    })
                    .insert(Header {
                        key: "jetlag-reason",
                        value: Some(reason.as_str()),
                    });
                send(
                    producer,
                    BaseRecord::to(&dead_letter)
                        .key(id)
                        .payload(body)
                        .headers(headers),
                )?;
            } else {
                summary.alerts += 1;
            }
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(
            msg.topic(),
            msg.partition(),
            Offset::Offset(msg.offset() + 1),
        )
        .map_err(|e| Error::kafka("offset", e))?;
        if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
            tracing::warn!(error = %e, "deliver: commit failed (the alert may be delivered again)");
        }
    }
    Ok(summary)
}

fn all_finished(setup: &Setup, done: &mut super::state::Finished) -> Result<bool, Error> {
    let finished = done.refresh(setup)?;
    let k = &setup.kafka;
    let consumer: rdkafka::consumer::BaseConsumer = super::client_config(setup)
        .create()
        .map_err(|e| Error::kafka("cannot create a metadata client", e))?;
    for key in crate::Key::ALL {
        let topic = k.topic(key);
        let n = super::partitions(&consumer, &topic)?;
        if !(0..n).all(|p| finished.contains(&format!("{topic}/{p}"))) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// POSTs one alert to one webhook, retrying; the last failure's reason on giving up.
async fn deliver(
    client: &reqwest::Client,
    hook: &Webhook,
    id: &str,
    body: &[u8],
    k: &crate::KafkaConfig,
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut backoff = Duration::from_millis(k.webhook_backoff_ms);
    let mut reason = String::new();
    for attempt in 1..=k.webhook_attempts {
        let res = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("x-jetlag-alert-id", id)
            .header(
                "x-jetlag-signature",
                signature(hook.secret.as_bytes(), body),
            )
            .body(body.to_vec())
            .send()
            .await;
        match res {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => reason = format!("HTTP {}", r.status().as_u16()),
            Err(e) => reason = e.to_string(),
        }
        tracing::warn!(alert_id = id, url = %hook.url, attempt, %reason, "webhook failed");
        if attempt < k.webhook_attempts && !stop.load(Ordering::Acquire) {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
    Err(reason)
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_the_servers_scheme() {
        // RFC 4231 test case 2: key "Jefe".
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
