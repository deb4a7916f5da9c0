//! `POST /v1/events`, the Splunk HEC endpoint and `POST /v1/evaluate`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jetlag_event::{Alert, Severity, Timestamp};
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
    let max_future = state.config.max_future_secs;
    // Records dated further ahead of the clock than this are refused.
    let not_after = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(
            i64::try_from(max_future).unwrap_or(i64::MAX),
        ))
        .unwrap_or(Timestamp::MAX);
    let work = {
        let state = state.clone();
        move || -> Result<Parsed, BodyError> {
            let decoded = pipeline::decode_body(&body, encoding.as_deref(), limit)?;
            let mut parsed = match kind {
                Kind::Hec => parse_hec(&state.pipeline, &decoded, not_after, max_future),
                Kind::Batch => state.pipeline.parse(&decoded)?,
                Kind::One => state.pipeline.parse_one(&decoded)?,
            };
            parsed.refuse_after(not_after, max_future);
            Ok(parsed)
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
            state.metrics.events_skipped.inc_by(parsed.skipped as u64);
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
    /// Records refused (by the parser, or dated too far ahead of the server's clock).
    rejected: usize,
    /// Records of a known source that are not sign-ins: valid input, skipped.
    skipped: usize,
    /// Ids of events stored beyond the lateness bound (not run through detection).
    late: Vec<compact_str::CompactString>,
    /// Ids of events that arrived behind newer ones already released to detection, within
    /// the lateness bound: run through detection at once, out of order.
    out_of_order: Vec<compact_str::CompactString>,
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
    let Parsed {
        events,
        rejects,
        skipped,
    } = parsed;
    if events.is_empty() && rejects.is_empty() && skipped == 0 {
        return error(StatusCode::BAD_REQUEST, "no sign-in records in the body");
    }
    if events.is_empty() {
        // Only skipped records is valid input (200); anything refused and nothing stored
        // is not (400, each reject listed).
        let status = if rejects.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        let body = IngestResponse {
            accepted: 0,
            rejected: rejects.len(),
            skipped,
            late: Vec::new(),
            out_of_order: Vec::new(),
            duplicates: Vec::new(),
            rejects,
        };
        return (status, Json(body)).into_response();
    }
    match state.ingest(events).await {
        Ok(report) => Json(IngestResponse {
            accepted: report.accepted,
            rejected: rejects.len(),
            skipped,
            late: report.late,
            out_of_order: report.out_of_order,
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
/// vendor record in `event` (an object, or a string holding one). An event dated after
/// `not_after` is refused with its HEC number.
fn parse_hec(pipeline: &Pipeline, body: &[u8], not_after: Timestamp, max_future: u64) -> Parsed {
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
            Ok(raw) => {
                pipeline.parse_record(n, &raw, &mut out);
                if out.events.last().is_some_and(|ev| ev.time > not_after)
                    && let Some(ev) = out.events.pop()
                {
                    out.rejects.push(Reject {
                        line: None,
                        event: Some(n),
                        event_id: Some(ev.event_id.to_string()),
                        reason: pipeline::future_reason(ev.time, max_future),
                    });
                }
            }
            Err(reason) => out.rejects.push(Reject {
                line: None,
                event: Some(n),
                event_id: None,
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

/// `POST /services/collector/event`: Splunk HEC, answering in Splunk's shape. Records of a
/// known source that are not sign-ins are skipped (counted in `x-jetlag-skipped`), not bad
/// data: only a refused record makes the answer Splunk's code 6.
pub(crate) async fn hec(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if body.is_empty() {
        return hec_reply(StatusCode::BAD_REQUEST, "No data", 5, None);
    }
    let parsed = match prepare(&state, &headers, body, Kind::Hec).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let first_bad = parsed.rejects.first().and_then(|r| r.event);
    let rejects = parsed.rejects.len();
    let skipped = parsed.skipped;
    let reply = |accepted: usize| {
        let mut resp = match first_bad {
            // Splunk's code 6 tells the shipper which event was bad; the good ones around
            // it are stored.
            Some(n) => hec_reply(StatusCode::BAD_REQUEST, "Invalid data format", 6, Some(n)),
            None => hec_reply(StatusCode::OK, "Success", 0, None),
        };
        attach(&mut resp, accepted, rejects, skipped);
        resp
    };
    if parsed.events.is_empty() {
        if rejects == 0 && skipped == 0 {
            return hec_reply(StatusCode::BAD_REQUEST, "No data", 5, None);
        }
        return reply(0);
    }
    match state.ingest(parsed.events).await {
        Ok(report) => reply(report.accepted),
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

fn attach(resp: &mut Response, accepted: usize, rejected: usize, skipped: usize) {
    let headers = resp.headers_mut();
    headers.insert("x-jetlag-accepted", accepted.into());
    headers.insert("x-jetlag-rejected", rejected.into());
    headers.insert("x-jetlag-skipped", skipped.into());
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
    /// 0–100: the highest score among the alerts this sign-in raised; `null` when it was
    /// not evaluated.
    risk: Option<u8>,
    /// The band of `risk`; `null` when nothing was raised (or nothing evaluated).
    severity: Option<Severity>,
    /// `allow` (risk < 40), `challenge` (step up MFA; risk < 85), `block`, or
    /// `not_evaluated` (with HTTP 409: decide by your own policy, never as an allow).
    action: &'static str,
    /// The sign-in was run through detection and `risk` is its decision.
    evaluated: bool,
    /// Arrived beyond the lateness bound: stored but not evaluated.
    late: bool,
    /// Arrived behind newer events already released to detection (within the lateness
    /// bound): evaluated at once, out of order.
    out_of_order: bool,
    /// Already stored before: the decision is the one recorded for it, not evaluated again.
    duplicate: bool,
    reasons: Vec<Reason<'a>>,
    alerts: &'a [Alert],
    /// Why it was not evaluated (only then).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
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
            // Parsed, but dated too far ahead of the clock.
            (_, Some(r)) if r.event_id.is_some() => format!("refused: {}", r.reason),
            (_, Some(r)) => format!("not a sign-in: {}", r.reason),
            (0, None) if parsed.skipped > 0 => "not a sign-in: a record of a known source \
                that is not a sign-in (skipped, as scan skips it)"
                .to_owned(),
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
    let risk = verdict
        .evaluated
        .then(|| verdict.alerts.iter().map(|a| a.score).max().unwrap_or(0));
    let severity = verdict.alerts.iter().map(|a| a.severity).max();
    // Never "allow" for a sign-in that was not run through detection.
    let (status, action) = match risk {
        None => (StatusCode::CONFLICT, "not_evaluated"),
        Some(0..40) => (StatusCode::OK, "allow"),
        Some(40..85) => (StatusCode::OK, "challenge"),
        Some(_) => (StatusCode::OK, "block"),
    };
    let decision = Decision {
        event_id: &event_id,
        user: &user,
        risk,
        severity,
        action,
        evaluated: verdict.evaluated,
        late: verdict.late,
        out_of_order: verdict.out_of_order,
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
        error: verdict.not_evaluated,
    };
    (status, Json(decision)).into_response()
}
