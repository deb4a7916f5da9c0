//! `jetlag serve`: run the real-time server (ingest, login-time decisions, alerts).
//!
//! Glue only: read the config (`[enrich]`, `[detect.*]`, `[server]`), load the roster and
//! the GeoIP/intel data, then hand everything to `jetlag_server::start` and wait for
//! Ctrl-C / SIGTERM to drain.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use jetlag_config::Config;
use jetlag_server::{Pipeline, ServerConfig};

/// Arguments of `jetlag serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML): `[enrich]`, `[detect.*]` and the `[server]` table.
    #[arg(long, short = 'c', value_name = "PATH")]
    config: Option<PathBuf>,
    /// Listen on this address instead of `server.listen` (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Keep state in this directory instead of `server.data_dir`.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Runs `jetlag serve`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let base = args
        .config
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut server =
        ServerConfig::from_table(config.server.clone(), &base).map_err(|problems| {
            anyhow::anyhow!(
                "config {} has {} problem{}:\n  - {}",
                args.config
                    .as_deref()
                    .unwrap_or(Path::new("<defaults>"))
                    .display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                problems.join("\n  - ")
            )
        })?;
    if let Some(listen) = args.listen {
        server.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        server.data_dir = dir;
    }
    if server.tokens.is_empty() {
        tracing::warn!(
            "no [[server.tokens]] configured: every request but /healthz will be refused"
        );
    }
    let pipeline = pipeline(&config)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("jetlag-http")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let running = jetlag_server::start(server, pipeline).await?;
        // The one line on stdout: scripts and tests read the address from it.
        let mut out = std::io::stdout().lock();
        writeln!(out, "jetlag serve: listening on {}", running.url())?;
        out.flush()?;
        drop(out);
        wait_for_stop().await;
        running.shutdown().await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The scan stages the server runs: detection thresholds, roster, enrichment.
fn pipeline(config: &Config) -> anyhow::Result<Pipeline> {
    let roster = match &config.enrich.roster {
        Some(path) => {
            let (roster, problems) = jetlag_roster::Roster::load(path)?;
            for p in problems.iter().take(10) {
                tracing::warn!(%p, "roster row skipped");
            }
            roster
        }
        None => jetlag_roster::Roster::empty(),
    };
    let enricher = if config.enrich.geoip.is_empty() && config.enrich.intel.is_empty() {
        None
    } else {
        let mut builder =
            jetlag_enrich::Enricher::builder().geoip_paths(config.enrich.geoip.iter().cloned());
        for (class, path) in &config.enrich.intel {
            builder = builder.intel(*class, path.clone());
        }
        let enricher = builder.build()?;
        for p in enricher.problems().iter().take(10) {
            tracing::warn!(path = %p.path.display(), line = p.line, reason = %p.reason, "intel/geoip line skipped");
        }
        Some(Arc::new(enricher))
    };
    Ok(Pipeline {
        detect: config.detect.clone(),
        roster: Arc::new(roster),
        enricher,
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
