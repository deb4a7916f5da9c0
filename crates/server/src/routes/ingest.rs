//! `POST /v1/events`, the Splunk HEC endpoint and `POST /v1/evaluate`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jetlag_event::{Alert, Severity};
use serde::Serialize;
use serde_json::value::RawValue;

use super::error;
use crate::app::Shared;
use crate::pipeline::{self, BodyError, Parsed, Pipeline, Reject};

/// Bodies larger than this are parsed off the async workers.
const INLINE_PARSE_BYTES: usize = 256 << 10;

/// How a body is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Any format `scan` reads.
    Batch,
    /// Splunk HEC event objects.
    Hec,
    /// One sign-in (`/v1/evaluate`).
    One,
}

/// Decodes, parses and enriches a body; an error response when it is unusable as a whole.
async fn prepare(
    state: &Shared,
    headers: &HeaderMap,
    body: Bytes,
    kind: Kind,
) -> Result<Parsed, Response> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").to_owned());
    let limit = state.config.max_decoded_bytes;
    let work = {
        let state = state.clone();
        move || -> Result<Parsed, BodyError> {
            let decoded = pipeline::decode_body(&body, encoding.as_deref(), limit)?;
            match kind {
                Kind::Hec => Ok(parse_hec(&state.pipeline, &decoded)),
                Kind::Batch => state.pipeline.parse(&decoded),
                Kind::One => state.pipeline.parse_one(&decoded),
            }
        }
    };
    let result = if state_len_hint(headers) > INLINE_PARSE_BYTES {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "parser task failed"))?
    } else {
        work()
    };
    match result {
        Ok(parsed) => {
            state
                .metrics
                .events_rejected
                .inc_by(parsed.rejects.len() as u64);
            Ok(parsed)
        }
        Err(BodyError::TooLarge(limit)) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("decoded body exceeds {limit} bytes"),
        )),
        Err(BodyError::BadGzip(e)) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("corrupt gzip body: {e}"),
        )),
        Err(BodyError::NotText(e)) => Err(error(StatusCode::BAD_REQUEST, &e)),
        Err(BodyError::UnsupportedEncoding(e)) => Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("unsupported content-encoding '{e}' (gzip or identity)"),
        )),
    }
}

fn state_len_hint(headers: &HeaderMap) -> usize {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX)
}

/// The answer to an ingest request.
#[derive(Debug, Serialize)]
struct IngestResponse {
    /// Events stored (including late ones).
    accepted: usize,
    /// Records refused by the parser.
    rejected: usize,
    /// Ids of events stored beyond the lateness bound (not run through detection).
    late: Vec<compact_str::CompactString>,
    /// Ids already stored (not stored again).
    duplicates: Vec<compact_str::CompactString>,
    /// Why each refused record was refused.
    rejects: Vec<Reject>,
}

/// `POST /v1/events`: any format `jetlag scan` reads; answers once the batch is durable.
pub(crate) async fn events(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.is_empty() {
        return error(StatusCode::BAD_REQUEST, "empty body");
    }
    let parsed = match prepare(&state, &headers, body, Kind::Batch).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    store(&state, parsed).await
}

async fn store(state: &Shared, parsed: Parsed) -> Response {
    let Parsed { events, rejects } = parsed;
    if events.is_empty() && rejects.is_empty() {
        return error(StatusCode::BAD_REQUEST, "no sign-in records in the body");
    }
    if events.is_empty() {
        let body = IngestResponse {
            accepted: 0,
            rejected: rejects.len(),
            late: Vec::new(),
            duplicates: Vec::new(),
            rejects,
        };
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    match state.ingest(events).await {
        Ok(report) => Json(IngestResponse {
            accepted: report.accepted,
            rejected: rejects.len(),
            late: report.late,
            duplicates: report.duplicates,
            rejects,
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// One Splunk HEC event object.
#[derive(serde::Deserialize)]
struct HecEvent<'a> {
    #[serde(borrow)]
    event: Option<&'a RawValue>,
}

/// Splunk HEC bodies: JSON objects one after another (newlines optional), each with the
/// vendor record in `event` (an object, or a string holding one).
fn parse_hec(pipeline: &Pipeline, body: &[u8]) -> Parsed {
    let mut records: Vec<(usize, Result<Vec<u8>, String>)> = Vec::new();
    let stream = serde_json::Deserializer::from_slice(body).into_iter::<HecEvent<'_>>();
    let mut broken = false;
    for (i, item) in stream.enumerate() {
        match item {
            Ok(h) => records.push((i + 1, hec_record(h))),
            Err(e) => {
                records.push((i + 1, Err(format!("invalid HEC event: {e}"))));
                broken = e.is_syntax() || e.is_eof();
                break;
            }
        }
    }
    if broken && body.contains(&b'\n') {
        // Resynchronise on lines so one bad object does not lose those after it.
        records.clear();
        let mut n = 0;
        for line in body.split(|&b| b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            n += 1;
            let r = serde_json::from_slice::<HecEvent<'_>>(line)
                .map_err(|e| format!("invalid HEC event: {e}"))
                .and_then(hec_record);
            records.push((n, r));
        }
    }
    let mut out = Parsed::default();
    for (n, r) in records {
        match r {
            Ok(raw) => pipeline.parse_record(n, &raw, &mut out),
            Err(reason) => out.rejects.push(Reject {
                line: None,
                event: Some(n),
                reason,
            }),
        }
    }
    out
}

fn hec_record(h: HecEvent<'_>) -> Result<Vec<u8>, String> {
    let raw = h.event.ok_or("event field is required")?.get();
    if raw.starts_with('"') {
        let s: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        if s.trim().is_empty() {
            return Err("event field cannot be blank".into());
        }
        Ok(s.into_bytes())
    } else if raw == "null" || raw == "{}" {
        Err("event field cannot be blank".into())
    } else {
        Ok(raw.as_bytes().to_vec())
    }
}

/// `POST /services/collector/event`: Splunk HEC, answering in Splunk's shape.
pub(crate) async fn hec(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if body.is_empty() {
        return hec_reply(StatusCode::BAD_REQUEST, "No data", 5, None);
    }
    let parsed = match prepare(&state, &headers, body, Kind::Hec).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let first_bad = parsed.rejects.first().and_then(|r| r.event);
    let rejects = parsed.rejects.clone();
    if parsed.events.is_empty() {
        let mut resp = hec_reply(StatusCode::BAD_REQUEST, "Invalid data format", 6, first_bad);
        attach(&mut resp, 0, &rejects);
        return resp;
    }
    match state.ingest(parsed.events).await {
        Ok(report) => {
            let mut resp = match first_bad {
                // Splunk's code 6 tells the shipper which event was bad; the good ones
                // around it are stored.
                Some(n) => hec_reply(StatusCode::BAD_REQUEST, "Invalid data format", 6, Some(n)),
                None => hec_reply(StatusCode::OK, "Success", 0, None),
            };
            attach(&mut resp, report.accepted, &rejects);
            resp
        }
        Err(e) => e.into_response(),
    }
}

fn hec_reply(status: StatusCode, text: &str, code: u32, invalid: Option<usize>) -> Response {
    let mut body = serde_json::json!({ "text": text, "code": code });
    if let Some(n) = invalid {
        // Splunk numbers events from 0.
        body["invalid-event-number"] = serde_json::json!(n.saturating_sub(1));
    }
    (status, Json(body)).into_response()
}

fn attach(resp: &mut Response, accepted: usize, rejects: &[Reject]) {
    resp.headers_mut()
        .insert("x-jetlag-accepted", accepted.into());
    resp.headers_mut()
        .insert("x-jetlag-rejected", rejects.len().into());
}

/// One reason behind a decision.
#[derive(Debug, Serialize)]
struct Reason<'a> {
    detector: &'a str,
    severity: Severity,
    score: u8,
    summary: &'a str,
    alert_id: &'a str,
}

/// The answer to `/v1/evaluate`.
#[derive(Debug, Serialize)]
struct Decision<'a> {
    event_id: &'a str,
    user: &'a str,
    /// 0–100: the highest score among the alerts this sign-in raised.
    risk: u8,
    /// The band of `risk`; `null` when nothing was raised.
    severity: Option<Severity>,
    /// `allow` (risk < 40), `challenge` (step up MFA; risk < 85) or `block`.
    action: &'static str,
    /// Arrived beyond the lateness bound: stored but not evaluated.
    late: bool,
    /// Already stored before: not evaluated again.
    duplicate: bool,
    reasons: Vec<Reason<'a>>,
    alerts: &'a [Alert],
}

/// `POST /v1/evaluate`: one sign-in, decided and recorded synchronously.
pub(crate) async fn evaluate(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.is_empty() {
        return error(StatusCode::BAD_REQUEST, "empty body");
    }
    let mut parsed = match prepare(&state, &headers, body, Kind::One).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if parsed.events.len() != 1 || !parsed.rejects.is_empty() {
        let msg = match (parsed.events.len(), parsed.rejects.first()) {
            (_, Some(r)) => format!("not a sign-in: {}", r.reason),
            (0, None) => "no sign-in in the body".to_owned(),
            (n, None) => format!("evaluate takes one sign-in, got {n}"),
        };
        return error(StatusCode::BAD_REQUEST, &msg);
    }
    let event = parsed.events.remove(0);
    let event_id = event.event_id.clone();
    let user = event.user.clone();
    let verdict = match state.evaluate(event).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let risk = verdict.alerts.iter().map(|a| a.score).max().unwrap_or(0);
    let severity = verdict.alerts.iter().map(|a| a.severity).max();
    let action = match risk {
        0..40 => "allow",
        40..85 => "challenge",
        _ => "block",
    };
    let decision = Decision {
        event_id: &event_id,
        user: &user,
        risk,
        severity,
        action,
        late: verdict.late,
        duplicate: verdict.duplicate,
        reasons: verdict
            .alerts
            .iter()
            .map(|a| Reason {
                detector: &a.detector,
                severity: a.severity,
                score: a.score,
                summary: &a.summary,
                alert_id: &a.alert_id,
            })
            .collect(),
        alerts: &verdict.alerts,
    };
    Json(decision).into_response()
}
