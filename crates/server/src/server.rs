//! Starting, running and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, broadcast, watch};

use crate::app::{self, AppState};
use crate::auth::Tokens;
use crate::core::{Core, CoreParts, CoreStatus, Job};
use crate::metrics::{Metrics, OutcomeLabel};
use crate::pipeline::Pipeline;
use crate::store::Store;
use crate::webhook::Deliverer;
use crate::{Error, ServerConfig};

/// A running server. Stop it with [`Running::shutdown`].
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    tls: bool,
    stop: watch::Sender<bool>,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    handle: axum_server::Handle<SocketAddr>,
    jobs: std::sync::mpsc::SyncSender<Job>,
    core: Option<std::thread::JoinHandle<()>>,
    grace: Duration,
    store: Store,
}

impl Running {
    /// The address it listens on (the real port when the config said `:0`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr` or `https://addr`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// The store (for inspection in tests and tools).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Drains and stops: no new connections; in-flight requests finish (up to
    /// `shutdown_grace_secs`); streams end; the core processes what was queued, snapshots
    /// and stops.
    ///
    /// # Errors
    /// When the HTTP server failed while running.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        tracing::info!("draining");
        let _ = self.stop.send(true);
        self.handle.graceful_shutdown(Some(self.grace));
        let served = (&mut self.http).await;
        let jobs = self.jobs.clone();
        let core = self.core.take();
        tokio::task::spawn_blocking(move || {
            let _ = jobs.send(Job::Shutdown);
            if let Some(core) = core {
                let _ = core.join();
            }
        })
        .await
        .map_err(|_| Error::CoreStopped)?;
        tracing::info!("stopped");
        match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Listen {
                addr: self.addr.to_string(),
                reason: e.to_string(),
            }),
            Err(e) => Err(Error::Listen {
                addr: self.addr.to_string(),
                reason: e.to_string(),
            }),
        }
    }
}

/// Validates the config, recovers state from `data_dir` (snapshot + write-ahead log
/// replay), and starts listening.
///
/// # Errors
/// [`Error::Config`] with every problem of the `[server]` table; store, TLS and bind
/// failures.
pub async fn start(config: ServerConfig, pipeline: Pipeline) -> Result<Running, Error> {
    let problems = config.validate();
    if !problems.is_empty() {
        return Err(Error::Config(problems));
    }
    // One process-wide crypto provider for TLS and webhook HTTPS; a second install fails
    // harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = Arc::new(config);
    let store = Store::open(&config.data_dir)?;
    let metrics = Arc::new(Metrics::new());
    let status = Arc::new(CoreStatus::default());
    let (alerts_tx, _) = broadcast::channel(4096);
    let webhook_wake = Arc::new(Notify::new());
    let parts = CoreParts {
        store: store.clone(),
        detect: pipeline.detect.clone(),
        roster: pipeline.roster.clone(),
        config: (*config).clone(),
        alerts_tx: alerts_tx.clone(),
        webhook_wake: webhook_wake.clone(),
        metrics: metrics.clone(),
        status: status.clone(),
    };
    let core = tokio::task::spawn_blocking(move || Core::recover(parts))
        .await
        .map_err(|_| Error::CoreStopped)??;
    let (jobs, jobs_rx) = std::sync::mpsc::sync_channel(config.queue_events.min(1 << 16));
    let core = std::thread::Builder::new()
        .name("jetlag-core".into())
        .spawn(move || core.run(jobs_rx))
        .map_err(|source| Error::Io {
            path: "jetlag-core thread".into(),
            source,
        })?;
    let (stop, stop_rx) = watch::channel(false);

    if !config.webhooks.is_empty() {
        let deliverer = Deliverer {
            store: store.clone(),
            hooks: config.webhooks.clone().into(),
            max_attempts: config.webhook_max_attempts,
            backoff: Duration::from_millis(config.webhook_backoff_ms),
            timeout: Duration::from_millis(config.webhook_timeout_ms),
            dead_letter: config.data_dir.join("dead-letter.jsonl"),
            metrics: metrics.clone(),
        };
        tokio::spawn(deliverer.run(webhook_wake.clone(), stop_rx.clone()));
    }
    spawn_reloader(&pipeline, &config, &metrics, stop_rx.clone());

    let state = AppState {
        config: config.clone(),
        tokens: Tokens::new(&config.tokens),
        store: store.clone(),
        jobs: jobs.clone(),
        permits: Arc::new(Semaphore::new(config.queue_events)),
        pipeline,
        alerts_tx,
        metrics,
        status: status.clone(),
        shutdown: stop_rx,
        routes: Vec::new(),
    };
    let router = app::router(state);

    let listen_err = |reason: String| Error::Listen {
        addr: config.listen.clone(),
        reason,
    };
    let listener =
        std::net::TcpListener::bind(&config.listen).map_err(|e| listen_err(e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| listen_err(e.to_string()))?;
    let handle = axum_server::Handle::new();
    let service = router.into_make_service();
    let tls = config.tls_cert.is_some();
    let http = match config
        .load_tls()
        .await
        .map_err(|problems| listen_err(problems.join("; ")))?
    {
        Some(tls) => {
            let server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(|e| listen_err(e.to_string()))?
                .handle(handle.clone());
            tokio::spawn(server.serve(service))
        }
        None => {
            let server = axum_server::from_tcp(listener)
                .map_err(|e| listen_err(e.to_string()))?
                .handle(handle.clone());
            tokio::spawn(server.serve(service))
        }
    };
    let _ = status.healthy.load(Ordering::SeqCst);
    tracing::info!(%addr, tls, data_dir = %config.data_dir.display(), "listening");
    Ok(Running {
        addr,
        tls,
        stop,
        http,
        handle,
        jobs,
        core: Some(core),
        grace: Duration::from_secs(config.shutdown_grace_secs),
        store,
    })
}

/// Reloads GeoIP/intel data on SIGHUP and when the files change (polled).
fn spawn_reloader(
    pipeline: &Pipeline,
    config: &ServerConfig,
    metrics: &Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let pipeline = pipeline.clone();
    let metrics = metrics.clone();
    let poll = config.reload_poll_secs;
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "SIGHUP handler unavailable; reload by polling only");
                None
            }
        };
        let mut interval = tokio::time::interval(Duration::from_secs(poll.max(1)));
        interval.tick().await;
        loop {
            #[cfg(unix)]
            let hup_recv = async {
                match hup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hup_recv = std::future::pending::<()>();
            let force = tokio::select! {
                _ = hup_recv => true,
                _ = interval.tick(), if poll > 0 => false,
                _ = stop.changed() => return,
            };
            let p = pipeline.clone();
            match tokio::task::spawn_blocking(move || p.reload()).await {
                Ok(Ok(0)) => {}
                Ok(Ok(files)) => {
                    tracing::info!(files, on_signal = force, "geoip/intel data reloaded");
                    metrics
                        .reloads
                        .get_or_create(&OutcomeLabel { outcome: "ok" })
                        .inc();
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "geoip/intel reload failed; previous data kept");
                    metrics
                        .reloads
                        .get_or_create(&OutcomeLabel { outcome: "error" })
                        .inc();
                }
                Err(_) => tracing::error!("reload task failed"),
            }
        }
    });
}
