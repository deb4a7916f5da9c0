//! Prometheus `/metrics` of a worker: per-partition throughput and consumer lag, alerts by
//! detector. Workers publish their counters here about once a second (never per event), so
//! the lock is uncontended.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use crate::Error;

/// One partition's figures as last published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionFigures {
    /// Records consumed since the worker started.
    pub records: u64,
    /// Sign-ins processed (ingest: normalized; detect: observed or buffered).
    pub events: u64,
    /// Records the stage could not use (rejected input records, undecodable records).
    pub rejected: u64,
    /// High watermark minus the consumer position (`-1`: unknown yet).
    pub lag: i64,
    /// Events waiting in the reorder buffer.
    pub buffered: u64,
}

/// The shared metrics of a worker.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (stage, topic, partition) → figures.
    partitions: BTreeMap<(&'static str, String, i32), PartitionFigures>,
    alerts: BTreeMap<String, u64>,
    suppressed: u64,
    checkpoints: u64,
}

impl Metrics {
    /// Replaces the figures of a stage's partitions (those no longer owned disappear).
    pub fn publish(&self, stage: &'static str, figures: Vec<(String, i32, PartitionFigures)>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.partitions.retain(|(s, _, _), _| *s != stage);
        for (topic, partition, f) in figures {
            inner.partitions.insert((stage, topic, partition), f);
        }
    }

    /// Counts alerts sent, by detector, and repeats suppressed after a takeover.
    pub fn add_alerts<'a>(&self, detectors: impl IntoIterator<Item = &'a str>, suppressed: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for d in detectors {
            *inner.alerts.entry(d.to_owned()).or_default() += 1;
        }
        inner.suppressed += suppressed;
    }

    /// Counts checkpoints written.
    pub fn add_checkpoints(&self, n: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.checkpoints += n;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut s = String::new();
        type Pick = fn(&PartitionFigures) -> i64;
        let series: [(&str, &str, &str, Pick); 5] = [
            (
                "jetlag_stream_records_total",
                "counter",
                "Records consumed per partition.",
                |f| f.records as i64,
            ),
            (
                "jetlag_stream_events_total",
                "counter",
                "Sign-ins processed per partition.",
                |f| f.events as i64,
            ),
            (
                "jetlag_stream_rejected_total",
                "counter",
                "Records refused per partition.",
                |f| f.rejected as i64,
            ),
            (
                "jetlag_stream_consumer_lag",
                "gauge",
                "High watermark minus position (-1 unknown).",
                |f| f.lag,
            ),
            (
                "jetlag_stream_buffered_events",
                "gauge",
                "Events waiting for the watermark.",
                |f| f.buffered as i64,
            ),
        ];
        for (name, kind, help, pick) in series {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((stage, topic, p), f) in &inner.partitions {
                let _ = writeln!(
                    s,
                    "{name}{{stage=\"{stage}\",topic=\"{topic}\",partition=\"{p}\"}} {}",
                    pick(f)
                );
            }
        }
        let _ = writeln!(
            s,
            "# HELP jetlag_stream_alerts_total Alerts sent, by detector.\n# TYPE jetlag_stream_alerts_total counter"
        );
        for (d, n) in &inner.alerts {
            let _ = writeln!(s, "jetlag_stream_alerts_total{{detector=\"{d}\"}} {n}");
        }
        let _ = writeln!(
            s,
            "# HELP jetlag_stream_alerts_suppressed_total Repeats of alerts already sent, dropped after a takeover.\n# TYPE jetlag_stream_alerts_suppressed_total counter\njetlag_stream_alerts_suppressed_total {}",
            inner.suppressed
        );
        let _ = writeln!(
            s,
            "# HELP jetlag_stream_checkpoints_total Partition checkpoints written.\n# TYPE jetlag_stream_checkpoints_total counter\njetlag_stream_checkpoints_total {}",
            inner.checkpoints
        );
        s
    }

    /// Serves `GET /metrics` on `addr` from a background thread; returns the bound address.
    ///
    /// # Errors
    /// [`Error::Metrics`] when the address cannot be bound.
    pub fn serve(&self, addr: &str) -> Result<std::net::SocketAddr, Error> {
        let err = |source| Error::Metrics {
            addr: addr.to_owned(),
            source,
        };
        let listener = std::net::TcpListener::bind(addr).map_err(err)?;
        listener.set_nonblocking(true).map_err(err)?;
        let local = listener.local_addr().map_err(err)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(err)?;
        let metrics = self.clone();
        std::thread::Builder::new()
            .name("jetlag-metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app =
                        axum::Router::new().route(
                            "/metrics",
                            axum::routing::get(move || {
                                let m = metrics.clone();
                                async move {
                                    ([("content-type", "text/plain; version=0.0.4")], m.render())
                                }
                            }),
                        );
                    if let Err(e) = axum::serve(listener, app).await {
                        tracing::error!(error = %e, "metrics endpoint stopped");
                    }
                });
            })
            .map_err(err)?;
        Ok(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_partitions_and_alerts() {
        let m = Metrics::default();
        let f = PartitionFigures {
            records: 10,
            events: 9,
            rejected: 1,
            lag: 5,
            buffered: 2,
        };
        m.publish("user", vec![("jetlag.by-user".into(), 3, f)]);
        m.add_alerts(["shared_ip", "shared_ip"], 1);
        let text = m.render();
        assert!(text.contains("jetlag_stream_consumer_lag{stage=\"user\",topic=\"jetlag.by-user\",partition=\"3\"} 5"), "{text}");
        assert!(text.contains("jetlag_stream_alerts_total{detector=\"shared_ip\"} 2"));
        assert!(text.contains("jetlag_stream_alerts_suppressed_total 1"));
        m.publish("user", Vec::new());
        assert!(!m.render().contains("partition=\"3\""));
    }
}
