//! The HTTP application: shared state, the route table, authentication and request metrics.

use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use jetlag_event::SignIn;
use tokio::sync::{Semaphore, TryAcquireError, broadcast, oneshot, watch};

use crate::auth::{Access, Tokens};
use crate::core::{CoreStatus, IngestReport, Job, Verdict};
use crate::metrics::{Metrics, RouteLabel};
use crate::pipeline::Pipeline;
use crate::routes;
use crate::store::{Store, StoredAlert};
use crate::{Error, ServerConfig};

/// Everything a handler can reach.
pub(crate) struct AppState {
    pub config: Arc<ServerConfig>,
    pub tokens: Tokens,
    pub store: Store,
    pub jobs: SyncSender<Job>,
    pub permits: Arc<Semaphore>,
    pub pipeline: Pipeline,
    pub alerts_tx: broadcast::Sender<Arc<StoredAlert>>,
    pub metrics: Arc<Metrics>,
    pub status: Arc<CoreStatus>,
    pub shutdown: watch::Receiver<bool>,
    pub routes: Vec<RouteInfo>,
}

pub(crate) type Shared = Arc<AppState>;

/// One route, as the router serves it and the OpenAPI document lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// HTTP method.
    pub method: &'static str,
    /// Path template (`{user}` for a parameter).
    pub path: &'static str,
    /// The token role it needs (`None`: no token).
    pub access: Option<Access>,
}

/// Why a job could not be handed to the core.
pub(crate) enum SubmitError {
    /// The queue is full: 429.
    Busy,
    /// The batch alone exceeds the queue: 413.
    TooLarge(usize),
    /// The core has stopped or failed: 503.
    Stopped,
}

impl IntoResponse for SubmitError {
    fn into_response(self) -> Response {
        match self {
            SubmitError::Busy => routes::error(
                StatusCode::TOO_MANY_REQUESTS,
                "the ingest queue is full; retry after the delay in Retry-After",
            ),
            SubmitError::TooLarge(cap) => routes::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the batch exceeds the ingest queue ({cap} events); send smaller batches"),
            ),
            SubmitError::Stopped => routes::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down or its store failed; retry later",
            ),
        }
    }
}

impl AppState {
    fn permit(&self, n: usize) -> Result<tokio::sync::OwnedSemaphorePermit, SubmitError> {
        let cap = self.config.queue_events;
        if n > cap {
            return Err(SubmitError::TooLarge(cap));
        }
        let n32 = u32::try_from(n).map_err(|_| SubmitError::TooLarge(cap))?;
        match self.permits.clone().try_acquire_many_owned(n32) {
            Ok(p) => Ok(p),
            Err(TryAcquireError::NoPermits) => {
                self.metrics.throttled.inc();
                Err(SubmitError::Busy)
            }
            Err(TryAcquireError::Closed) => Err(SubmitError::Stopped),
        }
    }

    fn send(&self, job: Job, n: usize) -> Result<(), SubmitError> {
        if !self
            .status
            .healthy
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(SubmitError::Stopped);
        }
        match self.jobs.try_send(job) {
            Ok(()) => {
                self.metrics.queue_depth.inc_by(n as i64);
                Ok(())
            }
            Err(TrySendError::Full(_)) => {
                self.metrics.throttled.inc();
                Err(SubmitError::Busy)
            }
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Stopped),
        }
    }

    /// Hands a batch to the core; resolves once it is durable.
    ///
    /// The batch is present in full, so it is first put in `(time, event_id)` order (on the
    /// request's task, not the core's): the order of records in a body (a Graph page is
    /// newest first) never decides which of them are late.
    pub(crate) async fn ingest(
        &self,
        mut events: Vec<SignIn>,
    ) -> Result<IngestReport, SubmitError> {
        if !events.is_sorted_by(|a, b| (a.time, &a.event_id) <= (b.time, &b.event_id)) {
            events.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        }
        let n = events.len();
        let permit = self.permit(n.max(1))?;
        let (reply, rx) = oneshot::channel();
        self.send(
            Job::Ingest {
                events,
                reply,
                _permit: permit,
            },
            n,
        )?;
        rx.await
            .map_err(|_| SubmitError::Stopped)?
            .map_err(|_: Error| SubmitError::Stopped)
    }

    /// Hands one sign-in to the core for an immediate decision.
    pub(crate) async fn evaluate(&self, event: SignIn) -> Result<Verdict, SubmitError> {
        let permit = self.permit(1)?;
        let (reply, rx) = oneshot::channel();
        self.send(
            Job::Evaluate {
                event: Box::new(event),
                reply,
                _permit: permit,
            },
            1,
        )?;
        rx.await
            .map_err(|_| SubmitError::Stopped)?
            .map_err(|_: Error| SubmitError::Stopped)
    }
}

/// Collects routes and their access rules while building the router.
struct Table {
    router: Router<Shared>,
    routes: Vec<RouteInfo>,
}

impl Table {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        access: Option<Access>,
        handler: MethodRouter<Shared>,
        state: &Shared,
    ) -> Table {
        self.routes.push(RouteInfo {
            method,
            path,
            access,
        });
        let handler = match access {
            Some(access) => handler.route_layer(middleware::from_fn_with_state(
                (state.clone(), access),
                authorize,
            )),
            None => handler,
        };
        self.router = self.router.route(path, handler);
        self
    }
}

/// Every route the server serves: (method, path, access). The OpenAPI document is checked
/// against this list by the tests.
pub fn route_table() -> Vec<RouteInfo> {
    build_table(None).1
}

fn build_table(state: Option<&Shared>) -> (Router<Shared>, Vec<RouteInfo>) {
    // Without a state (listing only), routes are recorded but the auth layer needs one:
    // build with a placeholder that is never served.
    let table = Table {
        router: Router::new(),
        routes: Vec::new(),
    };
    macro_rules! routes {
        ($table:ident; $( $method:literal $path:literal $access:expr => $handler:expr ;)*) => {{
            let mut t = $table;
            $(
                t = match state {
                    Some(s) => t.add($method, $path, $access, $handler, s),
                    None => {
                        t.routes.push(RouteInfo { method: $method, path: $path, access: $access });
                        t
                    }
                };
            )*
            t
        }};
    }
    let t = routes! { table;
        "get"  "/healthz"                   None                        => get(routes::ops::healthz);
        "get"  "/readyz"                    Some(Access::Any)           => get(routes::ops::readyz);
        "get"  "/metrics"                   Some(Access::Read)          => get(routes::ops::metrics);
        "get"  "/v1/openapi.json"           Some(Access::Any)           => get(routes::ops::openapi);
        "post" "/v1/events"                 Some(Access::Ingest)        => post(routes::ingest::events);
        "post" "/services/collector/event"  Some(Access::Ingest)        => post(routes::ingest::hec);
        "post" "/services/collector"        Some(Access::Ingest)        => post(routes::ingest::hec);
        "post" "/v1/evaluate"               Some(Access::Ingest)        => post(routes::ingest::evaluate);
        "get"  "/v1/alerts"                 Some(Access::Read)          => get(routes::query::alerts);
        "get"  "/v1/users/{user}"           Some(Access::Read)          => get(routes::query::user);
        "get"  "/v1/stream"                 Some(Access::Read)          => get(routes::query::stream);
        "post" "/v1/admin/reload"           Some(Access::Admin)         => post(routes::ops::reload);
    };
    (t.router, t.routes)
}

/// The application router over `state`.
pub(crate) fn router(state: AppState) -> Router {
    let mut state = state;
    state.routes = route_table();
    let shared = Arc::new(state);
    let (router, _) = build_table(Some(&shared));
    let limit = shared.config.max_body_bytes;
    router
        .fallback(routes::not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), track))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

async fn authorize(
    State((state, access)): State<(Shared, Access)>,
    req: Request,
    next: Next,
) -> Response {
    match state.tokens.check(req.headers(), access) {
        Ok(role) => {
            tracing::trace!(%role, path = req.uri().path(), "authorized");
            next.run(req).await
        }
        Err(denied) => {
            tracing::info!(status = denied.status.as_u16(), path = req.uri().path(), reason = %denied.message, "request refused");
            let mut resp = routes::error(denied.status, &denied.message);
            if denied.status == StatusCode::UNAUTHORIZED {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            resp
        }
    }
}

/// Records each request's latency by route and adds `Retry-After` to 429s.
async fn track(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let mut resp = next.run(req).await;
    let elapsed = started.elapsed();
    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(state.config.retry_after_secs),
        );
    }
    if route != "/v1/stream" {
        state
            .metrics
            .request_seconds
            .get_or_create(&RouteLabel {
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
    }
    if method != Method::GET || resp.status().is_server_error() {
        tracing::debug!(%method, route, status = resp.status().as_u16(), micros = elapsed.as_micros() as u64, "request");
    }
    resp
}
