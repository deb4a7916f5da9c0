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
    // The batch commands touch most of their memory once and keep it to the end; the
    // long-running ones keep the allocator's default.
    if matches!(
        command,
        Command::Normalize(_)
            | Command::Scan(_)
            | Command::Simulate(_)
            | Command::Eval(_)
            | Command::Demo(_)
    ) {
        small_pages();
    }
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

/// Asks the kernel for 4 KiB pages, not transparent huge pages, for this process's memory
/// from now on (the batch commands), unless `MIMALLOC_ALLOW_THP` is set: then the allocator
/// does as it says.
///
/// mimalloc advises its arenas `MADV_HUGEPAGE`, so each first touch of `scan`'s batch
/// clears 2 MiB at once. A scan touches each page of its batch once and keeps it to the
/// end, so huge pages save it nothing measurable; and on a VM whose balloon reports free
/// 2 MiB blocks to its host (virtio `page_reporting`) a huge page allocated a few seconds
/// after the last one was freed is faulted in on the host again, ~1.3–2.4 ms a MiB against
/// ~0.1 when the host still backs it and ~0.4 for 4 KiB pages either way (docs/DESIGN.md,
/// "Why do the batch commands ask for small pages?").
fn small_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: PR_SET_THP_DISABLE takes an integer flag and touches no memory of ours;
        // it fails only on kernels without it, and then nothing changes.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
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
pub mod paths;
pub mod scan;
pub mod serve;
pub mod simulate;

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// Whether transparent huge pages are off for this process.
    fn thp_disabled() -> bool {
        // SAFETY: PR_GET_THP_DISABLE takes no pointer; it returns the flag.
        unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1 }
    }

    #[test]
    fn batch_commands_turn_huge_pages_off_unless_told_not_to() {
        let told = std::env::var_os("MIMALLOC_ALLOW_THP").is_some();
        // SAFETY: as above; this test is the only one that sets the flag.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0) };
        assert!(!thp_disabled());
        super::small_pages();
        assert_eq!(thp_disabled(), !told);
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0) };
    }
}
