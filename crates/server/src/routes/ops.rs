//! `/healthz`, `/readyz`, `/metrics`, `/v1/openapi.json`, `/v1/admin/reload`.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error;
use crate::app::Shared;
use crate::metrics::OutcomeLabel;

/// Liveness: the process answers. No token needed.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the core runs, its store commits, the server is not draining.
pub(crate) async fn readyz(State(state): State<Shared>) -> Response {
    let healthy = state.status.healthy.load(Ordering::SeqCst);
    let draining = *state.shutdown.borrow();
    let body = serde_json::json!({
        "ready": healthy && !draining,
        "core": if healthy { "running" } else { "failed" },
        "draining": draining,
        "queue_available": state.permits.available_permits(),
    });
    let status = if healthy && !draining {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus / OpenMetrics exposition.
pub(crate) async fn metrics(State(state): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// The OpenAPI 3.1 document of every route.
pub(crate) async fn openapi(State(state): State<Shared>) -> Response {
    Json(crate::openapi::document(&state.routes)).into_response()
}

/// Re-reads the GeoIP databases and intel lists now.
pub(crate) async fn reload(State(state): State<Shared>) -> Response {
    let pipeline = state.pipeline.clone();
    match tokio::task::spawn_blocking(move || pipeline.reload()).await {
        Ok(Ok(changed)) => {
            state
                .metrics
                .reloads
                .get_or_create(&OutcomeLabel { outcome: "ok" })
                .inc();
            Json(serde_json::json!({ "files_reloaded": changed })).into_response()
        }
        Ok(Err(e)) => {
            state
                .metrics
                .reloads
                .get_or_create(&OutcomeLabel { outcome: "error" })
                .inc();
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("reload failed, previous data kept: {e}"),
            )
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "reload task failed"),
    }
}
