//! jetlag's real-time server (`jetlag serve`): streaming ingest, login-time decisions,
//! alert delivery and durable state.
//!
//! The front door is [`start`]: give it the `[server]` table ([`ServerConfig`]) and the
//! stages of the scan config ([`Pipeline`]: detection thresholds, roster, enrichment) and
//! it recovers state from `data_dir`, then serves until [`Running::shutdown`].
//!
//! Inside: request handlers (`routes/`) parse and enrich on the request's task
//! ([`pipeline`]), then hand the events to the single core thread (`core`), which makes
//! them durable in the embedded store ([`store`], redb) with one group commit, puts them in
//! time order and runs the detection engine; new alerts go to the store, the SSE stream and
//! the webhook outbox ([`webhook`]).
#![deny(missing_docs)]

mod app;
mod auth;
mod config;
mod core;
mod error;
mod metrics;
mod openapi;
pub mod pipeline;
mod routes;
mod server;
pub mod store;
pub mod webhook;

pub use app::{RouteInfo, route_table};
pub use auth::{Access, Role};
pub use config::{ServerConfig, TokenConfig, WebhookConfig};
pub use core::{IngestReport, Verdict};
pub use error::Error;
pub use metrics::Metrics;
pub use pipeline::Pipeline;
pub use server::{Running, start};
