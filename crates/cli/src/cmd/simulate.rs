//! `jetlag simulate`: write a realistic, labelled, simulated organisation.

use std::process::ExitCode;

/// Arguments of `jetlag simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `jetlag simulate`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`jetlag simulate` is not built yet (issue 6)")
}
