//! Input arguments and the read → normalize loop shared by `normalize` and `scan`.
//!
//! A subcommand that reads sign-in logs flattens [`InputArgs`] into its own `Args`
//! (`#[command(flatten)] input: InputArgs`), calls [`for_each_event`] with a closure that
//! receives every normalized [`SignIn`] in input order (one event, reused: swap it out to
//! keep it), then prints the returned [`Stats`]
//! with [`print_summary`] and exits non-zero when [`Stats::failed_inputs`] is not empty
//! (an input that could not be opened or read at all). Bad records never fail the run:
//! they are counted and the first ones listed in the summary with file:line and reason.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;

use jetlag_event::SignIn;
use jetlag_normalize::csv::{CsvMap, Field};
use jetlag_normalize::{Format, Normalizer, Stats};
use jetlag_output::terminal_safe;
use jetlag_read::Input;

/// Where sign-ins come from: paths, the record format, CSV column overrides.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InputArgs {
    /// Input files: NDJSON, JSON (document, array, {"value":[…]}, {"records":[…]},
    /// {"Records":[…]}, {"items":[…]}) or CSV with a header row, any of them gzipped. `-` or
    /// none: stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Record format; `auto` decides per record (CSV files are always read as csv).
    #[arg(long, default_value = "auto", value_parser = parse_format, value_name = "FORMAT",
          help = "Record format: auto|entra|okta|google|cloudtrail|ocsf|ecs|csv")]
    pub format: Format,
    /// CSV column for a field, overriding the usual header names (repeatable), e.g.
    /// `--map user="Account Name"`. Fields: time, user, ip, outcome, lat, lon, country,
    /// city, region, app, user_agent, device_id, session_id, tenant, event_id, mfa, asn,
    /// as_org.
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_map)]
    pub map: Vec<(Field, String)>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_map(s: &str) -> Result<(Field, String), String> {
    let (field, column) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FIELD=COLUMN, got '{s}'"))?;
    if column.trim().is_empty() {
        return Err(format!("the column name in '{s}' is empty"));
    }
    Ok((field.parse()?, column.trim().to_owned()))
}

impl InputArgs {
    /// The inputs to read: the paths, or standard input when there are none.
    pub fn inputs(&self) -> Vec<Input> {
        if self.paths.is_empty() {
            vec![Input::Stdin]
        } else {
            self.paths.iter().map(Input::from_arg).collect()
        }
    }

    /// The `--map` overrides.
    pub fn csv_map(&self) -> CsvMap {
        let mut map = CsvMap::default();
        for (field, column) in &self.map {
            map.insert(*field, column.clone());
        }
        map
    }
}

/// Reads every input in turn, normalizes each record and calls `on_event` with each
/// sign-in, in input order. Returns the counts (per format, first rejects and warnings,
/// inputs that could not be read).
///
/// The sign-in is the normalizer's own, reused record after record with its strings'
/// buffers ([`Normalizer::push_in_place`]): `on_event` may change it (enrich it) or
/// `std::mem::swap` it with an event of its own to keep it, which hands that event's
/// buffers to the normalizer for the next record. Either way nothing is allocated per
/// record in steady state.
///
/// An input that cannot be opened or read is recorded in [`Stats::failed_inputs`] (and
/// logged) and the next input is read.
///
/// # Errors
/// Only the first error returned by `on_event`; reading stops there.
pub fn for_each_event(
    args: &InputArgs,
    mut on_event: impl FnMut(&mut SignIn) -> anyhow::Result<()>,
) -> anyhow::Result<Stats> {
    let mut normalizer = Normalizer::new(args.format, args.csv_map());
    let mut failure: Option<anyhow::Error> = None;
    for input in args.inputs() {
        let name = input.to_string();
        let result = jetlag_read::read_input(&input, |raw| {
            normalizer.push_in_place(&name, raw, |ev| {
                if let Err(err) = on_event(ev) {
                    failure = Some(err);
                }
            });
            if failure.is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if let Some(err) = failure.take() {
            return Err(err);
        }
        match result {
            Ok(layout) => tracing::debug!(input = %name, ?layout, "input read"),
            // Reported once, in the summary's list of failed inputs.
            Err(err) => normalizer.input_failed(err.to_string()),
        }
    }
    Ok(normalizer.take_stats())
}

/// Prints the stderr summary: records read / parsed / skipped / rejected per format,
/// the first rejects (file:line: reason), the first warnings and the unreadable inputs.
///
/// # Errors
/// Only when writing to `out` fails.
pub fn print_summary(stats: &Stats, out: &mut impl Write) -> std::io::Result<()> {
    let t = stats.total();
    writeln!(
        out,
        "jetlag: {} records read: {} parsed, {} skipped (not sign-ins), {} rejected, {} warnings",
        t.read, t.parsed, t.skipped, t.rejected, t.warnings
    )?;
    let rows: Vec<_> = stats.rows().collect();
    if !rows.is_empty() {
        writeln!(
            out,
            "  {:<13}{:>10}{:>10}{:>10}{:>10}{:>10}",
            "format", "read", "parsed", "skipped", "rejected", "warnings"
        )?;
        for (name, c) in rows {
            writeln!(
                out,
                "  {:<13}{:>10}{:>10}{:>10}{:>10}{:>10}",
                name, c.read, c.parsed, c.skipped, c.rejected, c.warnings
            )?;
        }
    }
    if !stats.first_rejects.is_empty() {
        let more = t.rejected.saturating_sub(stats.first_rejects.len() as u64);
        writeln!(out, "rejected:")?;
        for r in &stats.first_rejects {
            writeln!(out, "  {}", terminal_safe(&r.to_string()))?;
        }
        if more > 0 {
            writeln!(out, "  … and {more} more")?;
        }
    }
    if !stats.first_warnings.is_empty() {
        let more = t.warnings.saturating_sub(stats.first_warnings.len() as u64);
        writeln!(out, "warnings (optional parts dropped, events kept):")?;
        for w in &stats.first_warnings {
            writeln!(out, "  {}", terminal_safe(&w.to_string()))?;
        }
        if more > 0 {
            writeln!(out, "  … and {more} more")?;
        }
    }
    for failed in &stats.failed_inputs {
        writeln!(out, "error: {}", terminal_safe(&failed.to_string()))?;
    }
    Ok(())
}
