//! Webhook delivery: every new alert is POSTed as JSON to each configured URL, signed with
//! HMAC-SHA256, retried with exponential back-off, and written to the dead-letter log
//! (`<data_dir>/dead-letter.jsonl`) after the last attempt.
//!
//! Pending deliveries live in the store's outbox (written in the same transaction as the
//! alert), so a restart resumes them. A delivery is removed from the outbox only after the
//! receiver answered 2xx; a crash between the two makes that one delivery repeat, with the
//! same `X-Jetlag-Alert-Id` for the receiver to recognise.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jetlag_event::Timestamp;
use redb::{ReadableDatabase, ReadableTable};
use sha2::Sha256;
use tokio::sync::{Notify, watch};

use crate::config::WebhookConfig;
use crate::metrics::{Metrics, OutcomeLabel};
use crate::store::{OUTBOX, Store};

/// The `X-Jetlag-Signature` value for `body`: `sha256=` and the hex HMAC-SHA256 under
/// `secret`.
///
/// # Example
/// ```
/// let sig = jetlag_server::webhook::signature(b"secret", b"{}");
/// assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
/// ```
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivery settings.
#[derive(Debug, Clone)]
pub(crate) struct Deliverer {
    pub store: Store,
    pub hooks: Arc<[WebhookConfig]>,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub timeout: Duration,
    pub dead_letter: PathBuf,
    pub metrics: Arc<Metrics>,
}

struct Due {
    alert_seq: u64,
    hook: u32,
    attempts: u32,
}

impl Deliverer {
    /// Delivers until `stop` turns true.
    pub(crate) async fn run(self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let client = match reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("jetlag/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook client could not start; alerts stay in the outbox");
                return;
            }
        };
        loop {
            let wait = match self.due() {
                Ok((due, _)) if !due.is_empty() => {
                    for d in due {
                        if *stop.borrow() {
                            return;
                        }
                        self.deliver(&client, d).await;
                    }
                    // Look again at once: retries may be due, more may have been queued.
                    continue;
                }
                Ok((_, next)) => next.unwrap_or(60_000),
                Err(e) => {
                    tracing::error!(error = %e, "webhook outbox unreadable");
                    1000
                }
            };
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait.clamp(5, 60_000))) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Deliveries due now (at most 64), and milliseconds until the next one after them.
    fn due(&self) -> Result<(Vec<Due>, Option<u64>), crate::Error> {
        let now = now_ms();
        let txn = self.store.db.begin_read().map_err(|e| self.store.err(e))?;
        let outbox = txn.open_table(OUTBOX).map_err(|e| self.store.err(e))?;
        let mut due = Vec::new();
        let mut next: Option<u64> = None;
        for entry in outbox.iter().map_err(|e| self.store.err(e))? {
            let (k, v) = entry.map_err(|e| self.store.err(e))?;
            let (alert_seq, hook) = k.value();
            let (attempts, at) = v.value();
            if at <= now && due.len() < 64 {
                due.push(Due {
                    alert_seq,
                    hook,
                    attempts,
                });
            } else {
                let wait = at.saturating_sub(now);
                next = Some(next.map_or(wait, |n| n.min(wait)));
            }
        }
        if due.len() == 64 {
            next = Some(0);
        }
        Ok((due, next))
    }

    async fn deliver(&self, client: &reqwest::Client, d: Due) {
        let Some(hook) = self.hooks.get(d.hook as usize) else {
            // The webhook was removed from the config since: drop the entry.
            self.finish(&d, None);
            return;
        };
        let alert = match self.store.alert(d.alert_seq) {
            Ok(Some(a)) => a,
            Ok(None) => {
                self.finish(&d, None);
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "webhook: alert unreadable");
                return;
            }
        };
        let body = match serde_json::to_vec(&alert.alert) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "webhook: alert not serializable");
                return;
            }
        };
        let attempt = d.attempts + 1;
        let result = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(
                "x-jetlag-signature",
                signature(hook.secret.as_bytes(), &body),
            )
            .header("x-jetlag-alert-id", &alert.alert.alert_id)
            .header("x-jetlag-delivery-attempt", attempt.to_string())
            .body(body)
            .send()
            .await;
        let error = match result {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("http status {}", r.status().as_u16())),
            Err(e) => Some(format!("request failed: {e}")),
        };
        match error {
            None => {
                tracing::info!(url = %hook.url, alert_id = %alert.alert.alert_id, attempt, "webhook delivered");
                self.metrics
                    .webhook
                    .get_or_create(&OutcomeLabel {
                        outcome: "delivered",
                    })
                    .inc();
                self.finish(&d, None);
            }
            Some(err) if attempt >= self.max_attempts => {
                tracing::warn!(url = %hook.url, alert_id = %alert.alert.alert_id, attempt, error = %err, "webhook failed for good; dead-lettered");
                self.metrics
                    .webhook
                    .get_or_create(&OutcomeLabel {
                        outcome: "dead_letter",
                    })
                    .inc();
                let line = serde_json::json!({
                    "time": Timestamp::now(),
                    "url": hook.url,
                    "attempts": attempt,
                    "error": err,
                    "alert": alert.alert,
                });
                if let Err(e) = self.dead_letter_append(&line) {
                    tracing::error!(error = %e, path = %self.dead_letter.display(), "dead-letter log unwritable; keeping the delivery queued");
                    return;
                }
                self.finish(&d, None);
            }
            Some(err) => {
                let delay = self.backoff.saturating_mul(1u32 << (attempt - 1).min(16));
                tracing::warn!(url = %hook.url, alert_id = %alert.alert.alert_id, attempt, error = %err, retry_in_ms = delay.as_millis() as u64, "webhook failed; will retry");
                self.metrics
                    .webhook
                    .get_or_create(&OutcomeLabel { outcome: "retry" })
                    .inc();
                let at = now_ms() + u64::try_from(delay.as_millis()).unwrap_or(u64::MAX / 2);
                self.finish(&d, Some((attempt, at)));
            }
        }
    }

    fn dead_letter_append(&self, line: &serde_json::Value) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.dead_letter)?;
        let mut bytes = serde_json::to_vec(line)?;
        bytes.push(b'\n');
        f.write_all(&bytes)?;
        f.sync_data()
    }

    /// Removes the outbox entry, or reschedules it.
    fn finish(&self, d: &Due, retry: Option<(u32, u64)>) {
        let r = (|| -> Result<(), redb::Error> {
            let txn = self.store.db.begin_write()?;
            {
                let mut outbox = txn.open_table(OUTBOX)?;
                match retry {
                    Some(v) => outbox.insert((d.alert_seq, d.hook), v)?,
                    None => outbox.remove((d.alert_seq, d.hook))?,
                };
            }
            txn.commit()?;
            Ok(())
        })();
        if let Err(e) = r {
            tracing::error!(error = %e, "webhook outbox update failed");
        }
    }
}

fn now_ms() -> u64 {
    u64::try_from(Timestamp::now().as_millisecond()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
