//! `jetlag scan`: detect risky sign-ins in log files and print alerts.

use std::process::ExitCode;

/// Arguments of `jetlag scan`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `jetlag scan`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`jetlag scan` is not built yet (issue 4)")
}
