//! `GET /v1/alerts`, `GET /v1/users/{user}`, `GET /v1/stream`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt, stream};
use jetlag_event::Severity;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::error;
use crate::app::Shared;
use crate::store::{AlertFilter, StoredAlert};

/// `GET /v1/alerts?since=&detector=&severity=&user=&cursor=&limit=`.
pub(crate) async fn alerts(
    State(state): State<Shared>,
    query: Result<Query<AlertFilter>, QueryRejection>,
) -> Response {
    let Query(mut filter) = match query {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    if let Some(u) = &mut filter.user {
        *u = u.to_lowercase();
    }
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || store.alerts(&filter)).await;
    match result {
        Ok(Ok((alerts, next_cursor))) => Json(serde_json::json!({
            "alerts": alerts,
            "next_cursor": next_cursor,
        }))
        .into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "alerts query failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the store could not be read",
            )
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "query task failed"),
    }
}

/// How many sign-ins and alerts `GET /v1/users/{user}` returns.
const USER_RECENT: usize = 50;

/// `GET /v1/users/{user}`: current risk, recent sign-ins with locations, alerts.
pub(crate) async fn user(State(state): State<Shared>, Path(user): Path<String>) -> Response {
    let user = user.to_lowercase();
    let store = state.store.clone();
    let key = user.clone();
    let result = tokio::task::spawn_blocking(move || store.user(&key, USER_RECENT)).await;
    let (events, alerts) = match result {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "user query failed");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the store could not be read",
            );
        }
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "query task failed"),
    };
    if events.is_empty() && alerts.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            &format!("no sign-ins or alerts for '{user}'"),
        );
    }
    // Risk: the highest alert score within 24 h before the user's latest activity.
    let latest = events
        .iter()
        .map(|e| e.event.time)
        .chain(alerts.iter().map(|a| a.alert.time))
        .max();
    let window_start =
        latest.and_then(|t| t.checked_sub(jiff::SignedDuration::from_hours(24)).ok());
    let risk = alerts
        .iter()
        .filter(|a| window_start.is_none_or(|w| a.alert.time >= w))
        .map(|a| a.alert.score)
        .max()
        .unwrap_or(0);
    let severity = (risk > 0).then(|| Severity::from_score(risk));
    let sign_ins: Vec<_> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "event_id": e.event.event_id,
                "time": e.event.time,
                "outcome": e.event.outcome,
                "ip": e.event.ip,
                "app": e.event.app,
                "geo": e.event.geo,
                "asn": e.event.asn,
                "as_org": e.event.as_org,
                "network": e.event.network,
                "late": e.late,
                "out_of_order": e.out_of_order,
            })
        })
        .collect();
    Json(serde_json::json!({
        "user": user,
        "risk": risk,
        "severity": severity,
        "last_seen": latest,
        "sign_ins": sign_ins,
        "alerts": alerts,
    }))
    .into_response()
}

fn sse_event(a: &StoredAlert) -> Event {
    let data = serde_json::to_string(&a.alert).unwrap_or_else(|_| "{}".to_owned());
    Event::default()
        .event("alert")
        .id(a.seq.to_string())
        .data(data)
}

/// `GET /v1/stream`: new alerts as Server-Sent Events (`event: alert`, `id:` the alert
/// sequence). With `Last-Event-ID`, alerts stored after that id are sent first.
pub(crate) async fn stream(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before reading the backlog so nothing falls between the two.
    let live = BroadcastStream::new(state.alerts_tx.subscribe());
    let last: Option<u64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let mut backlog = Vec::new();
    if let Some(last) = last {
        let filter = AlertFilter {
            cursor: last + 1,
            limit: 1000,
            ..AlertFilter::default()
        };
        match state.store.alerts(&filter) {
            Ok((alerts, _)) => backlog = alerts,
            Err(e) => tracing::error!(error = %e, "stream backlog unreadable"),
        }
    }
    let mut seen = backlog.last().map_or(last.unwrap_or(0), |a| a.seq);
    let backlog = stream::iter(backlog.into_iter().map(|a| Ok(sse_event(&a))));
    let live = live.filter_map(
        move |item: Result<Arc<StoredAlert>, BroadcastStreamRecvError>| {
            let out = match item {
                Ok(a) if a.seq > seen => {
                    seen = a.seq;
                    Some(Ok(sse_event(&a)))
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(n)) => Some(Ok(Event::default()
                    .event("lagged")
                    .data(format!("{n} alerts skipped; fetch them from /v1/alerts")))),
            };
            std::future::ready(out)
        },
    );
    let mut shutdown = state.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    Sse::new(backlog.chain(live).take_until(stop)).keep_alive(KeepAlive::default())
}
