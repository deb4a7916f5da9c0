//! `jetlag eval`: score alerts against a simulation's truth: precision, recall, F1.

use std::process::ExitCode;

/// Arguments of `jetlag eval`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `jetlag eval`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`jetlag eval` is not built yet (issue 6)")
}
