//! `jetlag eval`: score alerts against a simulation's truth: precision, recall, F1.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use jetlag_event::Severity;

/// Arguments of `jetlag eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The simulation's truth (`DIR/truth.jsonl` written by `jetlag simulate`).
    #[arg(long)]
    pub truth: PathBuf,
    /// Alerts as `jetlag scan` prints them (JSONL).
    pub alerts: PathBuf,
    /// Print `{"detectors": {NAME: {expected, found, precision, recall, f1,
    /// false_per_1k_benign}}}` instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Ignore alerts below this severity (low, medium, high, critical).
    #[arg(long, default_value = "medium")]
    pub min_severity: Severity,
}

/// Runs `jetlag eval`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let truth = jetlag_eval::read_truth(&args.truth).context("reading the truth")?;
    let (alerts, rejects) = jetlag_eval::read_alerts(&args.alerts).context("reading the alerts")?;
    for r in rejects.iter().take(5) {
        eprintln!(
            "jetlag eval: {}:{}: not an alert: {}",
            args.alerts.display(),
            r.line,
            jetlag_output::terminal_safe(&r.reason)
        );
    }
    if rejects.len() > 5 {
        eprintln!(
            "jetlag eval: ... and {} more lines that are not alerts",
            rejects.len() - 5
        );
    }
    let report = jetlag_eval::evaluate(
        &truth,
        &alerts,
        jetlag_eval::Options {
            min_severity: args.min_severity,
        },
    );
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
