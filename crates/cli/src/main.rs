//! The `jetlag` binary: argument parsing and glue, nothing else.
//!
//! Each subcommand lives in `cmd/<name>.rs` with its own `Args` and `run`; the stages
//! themselves live in the library crates (`jetlag-read`, `jetlag-normalize`,
//! `jetlag-enrich`, `jetlag-detect`, ...).

mod cmd;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc malloc: the scan path allocates and frees per event (parsed
/// strings, detector state, alerts), and mimalloc's thread-local free lists take about a
/// fifth off its CPU time (docs/DESIGN.md, "Why mimalloc?").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// jetlag — find the accounts that are not who they claim to be.
#[derive(Debug, Parser)]
#[command(name = "jetlag", version, about, long_about = None)]
struct Cli {
    /// Log verbosity for diagnostics on stderr (error, warn, info, debug, trace).
    #[arg(long, global = true, env = "JETLAG_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_target(false)
        .init();
    match cmd::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("jetlag: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
