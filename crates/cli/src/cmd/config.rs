//! `jetlag config`: print or check jetlag configuration.

use std::process::ExitCode;

/// Arguments of `jetlag config`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `jetlag config`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`jetlag config` is not built yet (issue 4)")
}
