//! `jetlag serve`: run the real-time server (ingest, login-time decisions, alerts).

use std::process::ExitCode;

/// Arguments of `jetlag serve`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `jetlag serve`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`jetlag serve` is not built yet (issue 7)")
}
