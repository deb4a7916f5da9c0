//! `jetlag normalize`: read identity logs, print normalized sign-in events (JSONL).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::enrich_args::{self, EnrichArgs};
use super::input::{self, InputArgs};

/// Output is written in blocks of this many bytes (or a little more).
const BLOCK: usize = 64 * 1024;

/// Arguments of `jetlag normalize`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub enrich: EnrichArgs,
    /// Configuration file (TOML, as `scan` takes it): its `[enrich]` GeoIP databases and
    /// intel lists are used, then those of --geoip and --intel. Its other tables are
    /// checked but play no part in normalizing.
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Write events here instead of standard output (not one of the inputs).
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// Runs `jetlag normalize`: one JSON sign-in per line on stdout (or `--output`), the
/// summary on stderr. Exit status 1 when an input could not be opened or read.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Creating the output empties it: it must not be one of the inputs.
    let inputs: Vec<(&str, &Path)> = args
        .input
        .paths
        .iter()
        .map(|p| ("the input", p.as_path()))
        .collect();
    super::paths::refuse_overwriting(&[("-o", args.output.as_deref())], &inputs)?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    // With no database or list the enricher still completes log-supplied locations.
    let enricher = match &args.config {
        Some(path) => {
            let config = jetlag_config::Config::load(path)?;
            enrich_args::build(
                args.enrich
                    .apply(enrich_args::from_config(&config.enrich))
                    .map_files(true),
            )?
        }
        None => args.enrich.build()?,
    };
    // Events are written into one reused buffer, out in blocks of about `BLOCK` bytes, by
    // `SignIn::write_json` (serde_json's very bytes, without a call per JSON token).
    // The event itself is the normalizer's, reused record after record.
    let mut buf = Vec::with_capacity(BLOCK + 4096);
    let result = input::for_each_event(&args.input, |ev| {
        enricher.enrich(ev);
        ev.write_json(&mut buf);
        buf.push(b'\n');
        if buf.len() >= BLOCK {
            out.write_all(&buf)?;
            buf.clear();
        }
        Ok(())
    });
    let flushed = result.and_then(|stats| {
        out.write_all(&buf)?;
        out.flush()?;
        Ok(stats)
    });
    let stats = match flushed {
        Ok(stats) => stats,
        // The reader of our output went away (`| head`): not an error of ours.
        Err(err) if is_broken_pipe(&err) => return Ok(ExitCode::SUCCESS),
        Err(err) => return Err(err),
    };
    input::print_summary(&stats, &mut io::stderr().lock())?;
    Ok(if stats.failed_inputs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe)
    })
}
