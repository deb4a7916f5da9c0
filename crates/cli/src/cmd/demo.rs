//! `jetlag demo`: simulate a small organisation, scan it and show what jetlag finds.

use std::process::ExitCode;

/// Arguments of `jetlag demo`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `jetlag demo`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`jetlag demo` is not built yet (issue 6)")
}
