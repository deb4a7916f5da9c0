//! Subcommand dispatch: one module per subcommand, each with `Args` and `run`.

use std::process::ExitCode;

use clap::Subcommand;

/// Every subcommand of `jetlag`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one normalized sign-in event (JSON) per input record.
    Normalize(normalize::Args),
}

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Normalize(args) => normalize::run(args),
    }
}

pub mod normalize;
