//! `jetlag consume`: a stream worker on Kafka (consumer groups, keyed stages,
//! checkpointed detector state). Glue only: read the config (`[enrich]`, `[detect.*]`,
//! `[kafka]`), load the roster and GeoIP/intel data, and hand them to `jetlag_stream::run`;
//! Ctrl-C / SIGTERM stop it after a last checkpoint.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use jetlag_config::Config;
use jetlag_stream::{KafkaConfig, KafkaOverrides, Metrics, Setup, Stage};

/// Arguments of `jetlag consume`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file (TOML): `[enrich]`, `[detect.*]` and the `[kafka]` table.
    #[arg(long, short = 'c', value_name = "PATH")]
    config: PathBuf,
    /// Run these stages instead of `kafka.stages` (repeatable): user (ingest and per-user
    /// detectors), cross (shared IP, password spray, shared device), deliver (POST the alert
    /// topic to `[[kafka.webhooks]]`). Checked as `kafka.stages` would be.
    #[arg(long = "stage", value_name = "STAGE")]
    stages: Vec<Stage>,
    /// Serve Prometheus /metrics here instead of `kafka.metrics_listen` (checked alike).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// Drain mode: exit once every input partition has been read to its end and every
    /// partition has finished (end-of-input alerts included). For backfills and tests.
    #[arg(long)]
    drain: bool,
}

/// Runs `jetlag consume`. Exit status 2 on a fatal error.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !jetlag_stream::ENABLED {
        anyhow::bail!("this jetlag was built without Kafka support (cargo feature `kafka`)");
    }
    let config = Config::load(&args.config)?;
    // The flags replace the table's settings before the check, so they are checked alike.
    let flags = KafkaOverrides {
        stages: args.stages,
        metrics_listen: args.metrics_listen,
    };
    let kafka = KafkaConfig::from_table_with(config.kafka.clone(), &flags).map_err(|problems| {
        anyhow::anyhow!(
            "config {} has {} problem{}:\n  - {}",
            args.config.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("\n  - ")
        )
    })?;
    let roster = match &config.enrich.roster {
        Some(path) => load_roster(path)?,
        None => jetlag_roster::Roster::empty(),
    };
    // Always built, as in `scan`: without any file it still gives log geo its radius.
    let enricher = Some(Arc::new(super::enrich_args::build(
        super::enrich_args::from_config(&config.enrich),
    )?));
    let setup = Setup {
        kafka,
        detect: config.detect.clone(),
        roster: Arc::new(roster),
        enricher,
        drain: args.drain,
        metrics: Metrics::default(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signal(Arc::clone(&stop))?;
    let summary = jetlag_stream::run(setup, stop)?;
    eprintln!(
        "jetlag consume: {} records, {} events, {} rejected, {} alerts sent",
        summary.records, summary.events, summary.rejected, summary.alerts
    );
    Ok(ExitCode::SUCCESS)
}

fn load_roster(path: &Path) -> anyhow::Result<jetlag_roster::Roster> {
    let (roster, problems) = jetlag_roster::Roster::load(path)?;
    for p in problems.iter().take(10) {
        tracing::warn!(%p, "roster row skipped");
    }
    Ok(roster)
}

/// Sets `stop` on Ctrl-C or SIGTERM (watched from a small background thread).
fn stop_on_signal(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal watcher")?;
    std::thread::Builder::new()
        .name("jetlag-signals".into())
        .spawn(move || {
            runtime.block_on(async {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{SignalKind, signal};
                    match signal(SignalKind::terminate()) {
                        Ok(mut term) => {
                            tokio::select! {
                                _ = tokio::signal::ctrl_c() => {}
                                _ = term.recv() => {}
                            }
                        }
                        Err(_) => {
                            let _ = tokio::signal::ctrl_c().await;
                        }
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = tokio::signal::ctrl_c().await;
                }
            });
            tracing::info!("stopping: last checkpoint, then leaving the group");
            stop.store(true, Ordering::Release);
        })
        .context("cannot start the signal watcher")?;
    Ok(())
}
