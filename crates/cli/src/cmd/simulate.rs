//! `jetlag simulate`: write a realistic, labelled, simulated organisation.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;

/// Arguments of `jetlag simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Employees.
    #[arg(long, default_value_t = 1000)]
    pub users: u32,
    /// Days to simulate.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Tenants; tenant t logs with Entra, Okta, Google for t mod 3 = 0, 1, 2 (plus CloudTrail).
    #[arg(long, default_value_t = 3)]
    pub tenants: u32,
    /// Seed: the same seed writes byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First simulated day (YYYY-MM-DD, UTC).
    #[arg(long, default_value = "2026-09-07")]
    pub start: jiff::civil::Date,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

impl Args {
    /// The simulator configuration these arguments ask for.
    pub fn config(&self) -> jetlag_simulate::Config {
        jetlag_simulate::Config {
            users: self.users,
            days: self.days,
            tenants: self.tenants,
            seed: self.seed,
            start: self.start,
        }
    }
}

/// Runs `jetlag simulate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let t = Instant::now();
    let summary = jetlag_simulate::simulate(&args.config(), &args.out)
        .with_context(|| format!("simulating into {}", args.out.display()))?;
    eprintln!(
        "jetlag simulate: {} employees, {} days, {} tenants (seed {}): {} sign-ins in {} log files, \
         {} attack and {} benign truth lines, in {:.1} s",
        summary.users,
        args.days,
        args.tenants,
        args.seed,
        summary.events,
        summary.log_files.len(),
        summary.attacks,
        summary.benign,
        t.elapsed().as_secs_f64()
    );
    eprintln!(
        "scan it with the command in {}",
        args.out.join("SCAN.txt").display()
    );
    Ok(ExitCode::SUCCESS)
}
