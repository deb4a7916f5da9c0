//! Prometheus metrics (`GET /metrics`, OpenMetrics text).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A label set of one `detector` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DetectorLabel {
    /// The detector name.
    pub detector: String,
}

/// A label set of one `route` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// The route, e.g. `/v1/evaluate`.
    pub route: String,
}

/// A label set of one `outcome` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// The outcome, e.g. `delivered`.
    pub outcome: &'static str,
}

/// Every metric the server exports. Cheap to update (atomics), shared by `Arc`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Events that passed parsing and were made durable.
    pub events_accepted: Counter,
    /// Records refused by the parser (malformed, unknown format).
    pub events_rejected: Counter,
    /// Events that arrived after the lateness bound (stored, not run through detection).
    pub events_late: Counter,
    /// Events that arrived behind newer ones already released to detection (within the
    /// lateness bound) and were run through detection at once, out of order.
    pub events_out_of_order: Counter,
    /// Events whose `event_id` was already stored (shipper retries).
    pub events_duplicate: Counter,
    /// Records of a known source that are not sign-ins (skipped, as `scan` skips them).
    pub events_skipped: Counter,
    /// New alerts by detector.
    pub alerts: Family<DetectorLabel, Counter>,
    /// Events waiting for the core (queued, not yet durable).
    pub queue_depth: Gauge,
    /// Events held in the reorder buffer.
    pub reorder_buffered: Gauge,
    /// Request latency by route.
    pub request_seconds: Family<RouteLabel, Histogram>,
    /// Group-commit latency (WAL append + detection + fsync).
    pub commit_seconds: Histogram,
    /// Webhook deliveries by outcome (`delivered`, `retry`, `dead_letter`).
    pub webhook: Family<OutcomeLabel, Counter>,
    /// Requests refused with 429.
    pub throttled: Counter,
    /// GeoIP/intel reloads by outcome (`ok`, `error`).
    pub reloads: Family<OutcomeLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, registered under the `jetlag_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("jetlag");
        let m = Metrics {
            registry: Registry::default(),
            events_accepted: Counter::default(),
            events_rejected: Counter::default(),
            events_late: Counter::default(),
            events_out_of_order: Counter::default(),
            events_duplicate: Counter::default(),
            events_skipped: Counter::default(),
            alerts: Family::default(),
            queue_depth: Gauge::default(),
            reorder_buffered: Gauge::default(),
            request_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
            }),
            commit_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            webhook: Family::default(),
            throttled: Counter::default(),
            reloads: Family::default(),
        };
        registry.register(
            "events_accepted",
            "Events made durable",
            m.events_accepted.clone(),
        );
        registry.register(
            "events_rejected",
            "Records refused by the parser",
            m.events_rejected.clone(),
        );
        registry.register(
            "events_late",
            "Events beyond the lateness bound",
            m.events_late.clone(),
        );
        registry.register(
            "events_out_of_order",
            "Events run through detection behind newer ones, within the lateness bound",
            m.events_out_of_order.clone(),
        );
        registry.register(
            "events_duplicate",
            "Events whose id was already stored",
            m.events_duplicate.clone(),
        );
        registry.register(
            "events_skipped",
            "Records of a known source that are not sign-ins",
            m.events_skipped.clone(),
        );
        registry.register("alerts", "New alerts by detector", m.alerts.clone());
        registry.register(
            "queue_depth",
            "Events queued for the core",
            m.queue_depth.clone(),
        );
        registry.register(
            "reorder_buffered",
            "Events held for time ordering",
            m.reorder_buffered.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Request latency by route",
            m.request_seconds.clone(),
        );
        registry.register(
            "commit_duration_seconds",
            "Group commit latency",
            m.commit_seconds.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook attempts by outcome",
            m.webhook.clone(),
        );
        registry.register(
            "throttled_requests",
            "Requests refused with 429",
            m.throttled.clone(),
        );
        registry.register(
            "reloads",
            "GeoIP/intel reloads by outcome",
            m.reloads.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
