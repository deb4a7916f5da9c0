//! The `jetlag` binary: argument parsing and glue, nothing else.
//!
//! Each subcommand lives in `cmd/<name>.rs` with its own `Args` and `run`; the stages
//! themselves live in the library crates (`jetlag-read`, `jetlag-normalize`,
//! `jetlag-enrich`, `jetlag-detect`, ...).

mod cmd;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc malloc: the scan path allocates and frees per event (parsed
/// strings, detector state, alerts), and mimalloc's thread-local free lists take about a
/// fifth off its CPU time (docs/DESIGN.md, "Why does `order()` work on indices, and why
/// mimalloc in the binary?").
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
        // Colour codes only for a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cmd::run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            // The message may quote input (a header, a line of a list): shown as text.
            eprintln!(
                "jetlag: error: {}",
                jetlag_output::terminal_safe(&report(&err))
            );
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, `: `-separated, each cause left out when the message before
/// it already ends with it (error types that print their source in their own message, as
/// `cannot read roster PATH: No such file or directory`, would otherwise say it twice).
fn report(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    let mut before = out.clone();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !before.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        before = text;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::report;

    /// An error that prints its source in its own message (as thiserror's
    /// `#[error("…: {source}")]` types do) and also returns it as its source.
    #[derive(Debug)]
    struct Embeds {
        source: std::io::Error,
    }

    impl std::fmt::Display for Embeds {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot read roster r.csv: {}", self.source)
        }
    }

    impl std::error::Error for Embeds {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    fn not_found() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
    }

    #[test]
    fn a_cause_the_message_already_says_is_not_repeated() {
        let err = anyhow::Error::new(Embeds {
            source: not_found(),
        });
        assert_eq!(
            report(&err),
            "cannot read roster r.csv: No such file or directory"
        );
    }

    #[test]
    fn causes_the_messages_do_not_say_are_kept_in_order() {
        let err = anyhow::Error::new(not_found())
            .context("cannot open state s.bin")
            .context("scan failed");
        assert_eq!(
            report(&err),
            "scan failed: cannot open state s.bin: No such file or directory"
        );
        let err = anyhow::Error::new(Embeds {
            source: not_found(),
        })
        .context("while loading");
        assert_eq!(
            report(&err),
            "while loading: cannot read roster r.csv: No such file or directory"
        );
    }
}
