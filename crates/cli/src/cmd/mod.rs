//! Subcommand dispatch: one module per subcommand, each with `Args` and `run`.

use std::process::ExitCode;

use clap::Subcommand;

/// Every subcommand of `jetlag`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one normalized sign-in event (JSON) per input record.
    Normalize(normalize::Args),
    /// Detect risky sign-ins in log files and print alerts.
    Scan(scan::Args),
    /// Look up IPs in GeoIP / intel databases, or update the free databases.
    Geoip(geoip::Args),
    /// Print or check jetlag configuration.
    Config(config::Args),
    /// Write a realistic, labelled, simulated organisation.
    Simulate(simulate::Args),
    /// Score alerts against a simulation's truth: precision, recall, F1.
    Eval(eval::Args),
    /// Simulate a small organisation, scan it and show what jetlag finds.
    Demo(demo::Args),
    /// Run the real-time server (ingest, login-time decisions, alerts).
    Serve(serve::Args),
    /// Run a stream worker on Kafka (consumer groups, checkpointed detector state).
    Consume(consume::Args),
}

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Normalize(args) => normalize::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Geoip(args) => geoip::run(args),
        Command::Config(args) => config::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Consume(args) => consume::run(args),
    }
}

pub mod config;
pub mod consume;
pub mod demo;
pub mod enrich_args;
pub mod eval;
pub mod geoip;
pub mod input;
pub mod normalize;
pub mod scan;
pub mod serve;
pub mod simulate;
