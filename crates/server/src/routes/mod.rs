//! Request handlers, one file per concern: `ingest` (events, Splunk HEC, decisions),
//! `query` (alerts, users, the alert stream), `ops` (health, metrics, OpenAPI, reload).

pub(crate) mod ingest;
pub(crate) mod ops;
pub(crate) mod query;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A JSON error body: `{"error": "..."}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

pub(crate) async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint (see /v1/openapi.json)",
    )
}
