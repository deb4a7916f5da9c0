//! `GET /v1/alerts`, `GET /v1/users/{user}`, `GET /v1/stream`.

use std::collections::VecDeque;
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
use tokio::sync::broadcast;

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

/// Alerts read from the store per page while a stream catches up.
const STREAM_PAGE: usize = 1000;

/// `GET /v1/stream`: new alerts as Server-Sent Events (`event: alert`, `id:` the alert
/// sequence). With `Last-Event-ID`, every alert stored after that id is sent first, read
/// from the store a page at a time however many there are; so is whatever the live feed
/// dropped when this client fell behind it. Only a store that cannot be read ends in a
/// `lagged` event telling the client where to resume from `/v1/alerts`.
pub(crate) async fn stream(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last: Option<u64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    // Without Last-Event-ID the stream starts after the newest alert stored now. Read
    // before subscribing; the catch-up read after subscribing covers anything stored in
    // between, so nothing falls between the store and the live feed.
    let seen = match last {
        Some(last) => last,
        None => state.store.last_alert_seq().unwrap_or_else(|e| {
            tracing::error!(error = %e, "stream: the store is unreadable");
            0
        }),
    };
    let follow = Follow {
        live: state.alerts_tx.subscribe(),
        state: state.clone(),
        seen,
        catching_up: true,
        pending: VecDeque::new(),
    };
    let events = stream::unfold(follow, |mut f| async move {
        let event = f.next().await?;
        Some((Ok(event), f))
    });
    let mut shutdown = state.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    Sse::new(events.take_until(stop)).keep_alive(KeepAlive::default())
}

/// One client's position in the alert log.
struct Follow {
    state: Shared,
    live: broadcast::Receiver<Arc<StoredAlert>>,
    /// The last alert sequence sent (or skipped as older than the stream's start).
    seen: u64,
    /// Reading from the store (the backlog, or after the live feed dropped alerts).
    catching_up: bool,
    /// A page read from the store, not yet sent.
    pending: VecDeque<StoredAlert>,
}

impl Follow {
    /// The next SSE event; `None` once the server stops publishing.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(a) = self.pending.pop_front() {
                self.seen = a.seq;
                return Some(sse_event(&a));
            }
            if self.catching_up {
                let filter = AlertFilter {
                    cursor: self.seen + 1,
                    limit: STREAM_PAGE,
                    ..AlertFilter::default()
                };
                let store = self.state.store.clone();
                match tokio::task::spawn_blocking(move || store.alerts(&filter)).await {
                    Ok(Ok((page, _))) if page.is_empty() => self.catching_up = false,
                    Ok(Ok((page, _))) => self.pending.extend(page),
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "stream backlog unreadable");
                        self.catching_up = false;
                        return Some(self.lagged());
                    }
                    Err(_) => {
                        self.catching_up = false;
                        return Some(self.lagged());
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(a) if a.seq > self.seen => {
                    self.seen = a.seq;
                    return Some(sse_event(&a));
                }
                Ok(_) => {}
                // Fell behind the live feed: what it dropped is in the store.
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Tells the client that alerts after `seen` may be missing from the stream.
    fn lagged(&self) -> Event {
        Event::default().event("lagged").data(format!(
            "alerts after {} could not be read; fetch them from /v1/alerts?cursor={}",
            self.seen,
            self.seen + 1
        ))
    }
}
