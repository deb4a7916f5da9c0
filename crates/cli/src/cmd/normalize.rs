//! `jetlag normalize`: read identity logs, print normalized sign-in events.

use std::process::ExitCode;

/// Arguments of `jetlag normalize`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files (`-` or none: standard input).
    pub paths: Vec<std::path::PathBuf>,
}

/// Runs `jetlag normalize`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("normalize is being built (issue 2)")
}
