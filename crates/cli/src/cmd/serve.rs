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
    // Always built, as in `scan`: without any file it still gives log geo its radius.
    let enricher = Some(Arc::new(super::enrich_args::build(
        super::enrich_args::from_config(&config.enrich),
    )?));
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

#[cfg(test)]
mod tests {
    use jetlag_event::{Geo, GeoSource, Outcome, SignIn, Source};

    use super::*;

    /// A location the log carried, without a radius, gets the same default as in `scan`
    /// even when the config names no GeoIP database or intel list.
    #[test]
    fn log_geo_gets_scans_default_radius_without_any_database() {
        let pipeline = pipeline(&Config::default()).unwrap();
        let mut events = Vec::new();
        for city in [Some("Seoul"), None] {
            let mut ev = SignIn::new(
                "e1",
                "2025-03-01T12:00:00Z".parse().unwrap(),
                Source::Entra,
                "a@example.com",
                Outcome::Success,
            );
            ev.geo = Some(Geo {
                lat: Some(37.56),
                lon: Some(126.97),
                radius_km: None,
                city: city.map(Into::into),
                region: Some("Seoul".into()),
                country: jetlag_event::Country::from_code("KR"),
                source: GeoSource::Log,
            });
            events.push(ev);
        }
        let mut scanned = events.clone();
        let scan_enricher = crate::cmd::enrich_args::build(crate::cmd::enrich_args::from_config(
            &Config::default().enrich,
        ))
        .unwrap();
        for ev in &mut scanned {
            scan_enricher.enrich(ev);
        }
        pipeline.enrich(&mut events);
        let radii: Vec<_> = events
            .iter()
            .map(|e| e.geo.as_ref().unwrap().radius_km)
            .collect();
        assert_eq!(radii[0], Some(jetlag_enrich::LOG_RADIUS_KM));
        assert_eq!(radii[1], Some(jetlag_enrich::LOG_REGION_RADIUS_KM));
        assert_eq!(events, scanned);
    }
}
