//! `jetlag scan`: detect risky sign-ins in log files and print alerts.
//!
//! Pipeline: read → normalize (`input::for_each_event`) → enrich (GeoIP, intel; on a second
//! thread, in chunks, once per distinct source; always, so that log-supplied locations get
//! their default radius as in `normalize`) → hold the batch in compact form
//! (`batch::Batch`) → order it by index (time, event id; duplicates dropped;
//! `jetlag_detect::order`'s semantics) → `Engine` → alert writer (`jetlag-output`), with
//! the per-user risk of `jetlag-score` for `--users` and the table. The whole batch is held
//! in memory so that the result never depends on the order of the input records or files.
//! Alerts stream out as the engine emits them (counted for the summary as they go), unless
//! the table or `--users` needs them all at the end.
//!
//! `--state PATH` carries detector state between runs: when PATH exists the engine is
//! restored from it before the scan, and the state after the scan is written back
//! (atomically: a temporary file renamed over PATH). Feed consecutive runs consecutive
//! stretches of logs; events already seen in the state's recent window are dropped.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use jetlag_config::Config;
use jetlag_detect::{Engine, UserId};
use jetlag_event::{Alert, SignIn};
use jetlag_output::{Format, Options, UserRisk, Writer};
use jetlag_roster::Roster;

use super::enrich_args::{self, EnrichArgs};
use super::input::{self, InputArgs};

mod batch;
mod slots;

use batch::{Batch, CHUNK};

/// Arguments of `jetlag scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub enrich: EnrichArgs,
    /// HR roster CSV (header row; only `user` required): user, display_name, hire_date,
    /// work_country, work_region, work_city, work_lat, work_lon, work_timezone. Overrides
    /// the config file's `enrich.roster`.
    #[arg(long, value_name = "PATH")]
    pub roster: Option<PathBuf>,
    /// Configuration file (TOML; `jetlag config default` prints every setting). Flags add
    /// to its `[enrich]` lists (--geoip, --intel) or override it (--roster).
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Write alerts here instead of standard output (not one of the inputs).
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Alert format: jsonl (the alert JSON, one per line), ocsf (OCSF Detection Finding,
    /// class 2004, one per line) or table. Default: table when writing to a terminal,
    /// else jsonl.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub output_format: Option<Format>,
    /// Detector state file: restored before the scan when it exists, written after it, so
    /// that users' history carries over between runs. Its folder must exist and take a file
    /// (checked before anything is read).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Write one JSON line per user with alerts: combined risk 0–100, level, the
    /// contributing alerts and a one-line explanation, riskiest first.
    #[arg(long, value_name = "PATH")]
    pub users: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Runs `jetlag scan`. Exit status 1 when an input could not be opened or read (the others
/// are still scanned), 2 on a fatal error (bad config, unreadable database or state).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Before anything is read or created: no output may be a file the scan reads, and the
    // state must be writable now, not after the whole scan.
    let mut reads: Vec<(&str, &Path)> = args
        .input
        .paths
        .iter()
        .map(|p| ("the input", p.as_path()))
        .collect();
    reads.extend(args.state.as_deref().map(|p| ("--state", p)));
    super::paths::refuse_overwriting(
        &[
            ("-o", args.output.as_deref()),
            ("--users", args.users.as_deref()),
        ],
        &reads,
    )?;
    if let Some(path) = &args.state {
        super::paths::check_state_writable(path)?;
    }
    // `--roster` replaces the file's roster, which is then neither opened nor checked.
    let config = match &args.config {
        Some(path) => Config::load_with(path, |c| {
            if args.roster.is_some() {
                c.enrich.roster = None;
            }
        })?,
        None => Config::default(),
    };
    let stderr_tty = io::stderr().is_terminal();

    // Enrichment: the config file's lists first, then the flags.
    let builder = enrich_args::from_config(&config.enrich);
    // Built even with no database or list: it still gives log-supplied geo its radius.
    // Mapped, not read: a short batch run (DESIGN.md, "Why map the database for batch
    // commands only?").
    let enricher = enrich_args::build(args.enrich.apply(builder).map_files(true))?;

    let roster = Arc::new(load_roster(
        args.roster.as_deref().or(config.enrich.roster.as_deref()),
    )?);

    let mut engine = match &args.state {
        Some(path) if path.exists() => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read state {}", path.display()))?;
            Engine::restore(&config.detect, Arc::clone(&roster), &bytes).with_context(|| {
                format!(
                    "cannot restore state {} (written by another jetlag version? remove it to start afresh)",
                    path.display()
                )
            })?
        }
        Some(_) => Engine::new(&config.detect, Arc::clone(&roster)),
        // No state is kept and the batch drops repeated events itself (`Batch::order`):
        // the engine's redelivery filter would only cost a hash and a memory access each.
        None => Engine::new(&config.detect, Arc::clone(&roster)).without_redelivery_filter(),
    };

    // Read, normalize, enrich: the whole batch.
    let progress = progress_bar(stderr_tty);
    let (batch, stats) = read_and_enrich(&args.input, &enricher, &progress)?;
    drop(enricher);
    progress.set_position(batch.len() as u64);

    // The alert format. Alerts stream out as the engine emits them unless something needs
    // them all at the end: the table (sorted, with user risk) or `--users`.
    let format =
        args.output_format
            .unwrap_or(if args.output.is_none() && io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Jsonl
            });
    let mut sink = if args.users.is_none() && format != Format::Table {
        Sink::Stream(Some(open_writer(&args, format, Vec::new())?))
    } else {
        Sink::Hold(Vec::new())
    };

    // Detect, in (time, event_id) order, each event written back into one reused SignIn.
    let order = batch.order();
    progress.set_message("detecting");
    progress.set_position(0);
    progress.set_length(order.len() as u64);
    let mut counts = AlertCounts::default();
    let mut emitted: Vec<Alert> = Vec::new();
    let mut event = batch::scratch();
    // The engine's id of each of the batch's users, once the engine has given one: the
    // engine then looks no name up, and a user's detector state can be asked for ahead.
    let mut user_ids: Vec<Option<UserId>> = vec![None; batch.symbols()];
    for (i, &index) in order.iter().enumerate() {
        // Each event's row is fetched while the engine works on the thirty-two events
        // before it; its text, place and engine user id while the engine works on
        // the sixteen before it; its place's strings, user name, redelivery slot and
        // detector state (which take those to find) while it works on the eight before it.
        if let Some(&row) = order.get(i + 32) {
            batch.prefetch_row(row);
        }
        if let Some(&far) = order.get(i + 16) {
            batch.prefetch_far(far);
            if let Some(id) = user_ids.get(batch.user(far)) {
                jetlag_event::hint::prefetch(id);
            }
        }
        if let Some(&ahead) = order.get(i + 8) {
            batch.prefetch_near(ahead);
            let (id, time) = batch.id_and_time(ahead);
            let user = user_ids.get(batch.user(ahead)).copied().flatten();
            engine.prefetch(id, time, user);
        }
        batch.fill(index, &mut event);
        engine.observe_as(&event, &mut user_ids[batch.user(index)], &mut emitted);
        if !emitted.is_empty() {
            sink.take(&mut emitted, &mut counts)?;
        }
        if i.is_multiple_of(8192) {
            progress.set_position(i as u64);
        }
    }
    engine.finish(&mut emitted);
    sink.take(&mut emitted, &mut counts)?;
    progress.finish_and_clear();
    let unique_events = order.len();
    drop(order);
    drop(batch);

    match sink {
        Sink::Stream(writer) => {
            if let Some(writer) = writer
                && let Err(err) = writer.finish()
                && !is_broken_pipe_output(&err)
            {
                return Err(err.into());
            }
        }
        Sink::Hold(alerts) => {
            // User risk, for --users and the table.
            let risks = jetlag_score::score_users(&alerts, &roster, config.score.clone());
            if let Some(path) = &args.users {
                write_users(path, &risks)?;
            }
            if let Err(err) = write_alerts(&args, format, &alerts, &risks)
                && !is_broken_pipe(&err)
            {
                return Err(err);
            }
        }
    }
    if let Some(path) = &args.state {
        save_state(path, &engine)?;
    }

    let mut err = io::stderr().lock();
    input::print_summary(&stats, &mut err)?;
    counts.print(&mut err, unique_events)?;
    Ok(if stats.failed_inputs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Reads and normalizes every input on this thread, interning each event's context here
/// ([`batch::Contexts`]); a second one moves the events, in chunks of [`CHUNK`] with their
/// context indices, into the compact [`Batch`], which enriches each distinct source once.
/// Chunk buffers go back to the reader for reuse, so the reading path allocates no more
/// memory as it goes. The batch is put in order afterwards, so the split never shows in
/// the results.
fn read_and_enrich(
    input: &InputArgs,
    enricher: &jetlag_enrich::Enricher,
    progress: &ProgressBar,
) -> anyhow::Result<(Batch, jetlag_normalize::Stats)> {
    std::thread::scope(|scope| {
        // A chunk of events and their context indices.
        type Chunk = (Vec<SignIn>, Vec<u32>);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
        let (give_back, spare) = std::sync::mpsc::sync_channel::<Chunk>(8);
        let worker = std::thread::Builder::new()
            .name("enrich".into())
            .spawn_scoped(scope, move || -> anyhow::Result<Batch> {
                let mut batch = Batch::default();
                for chunk in rx {
                    batch.push(&chunk.0, &chunk.1, |ev| enricher.enrich(ev))?;
                    // The reader may have gone; then the buffer is simply dropped.
                    let _ = give_back.try_send(chunk);
                    progress.set_position(batch.len() as u64);
                }
                batch.end_of_input();
                Ok(batch)
            })
            .context("cannot start the enrichment thread")?;
        // A chunk that comes back still holds its events: each new one is swapped into
        // the next slot, which hands the slot's old event (and its strings' buffers) to
        // the normalizer for the next record, so reading allocates nothing in steady state.
        // Each event's context (tenant, app, user agent, device) is interned here, while
        // its strings are still in this core's cache; the batch's thread never reads them.
        let mut chunk: Chunk = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
        let mut contexts = batch::Contexts::default();
        let mut filled = 0;
        let read = input::for_each_event(input, |ev| {
            let (events, ids) = &mut chunk;
            match events.get_mut(filled) {
                Some(slot) => std::mem::swap(slot, ev),
                None => events.push(std::mem::replace(ev, batch::scratch())),
            }
            ids.push(contexts.intern(&events[filled])?);
            filled += 1;
            if filled == CHUNK {
                let mut next = spare
                    .try_recv()
                    .unwrap_or_else(|_| (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK)));
                next.1.clear();
                tx.send(std::mem::replace(&mut chunk, next))
                    .map_err(|_| anyhow::anyhow!("the enrichment thread stopped"))?;
                filled = 0;
            }
            Ok(())
        });
        if read.is_ok() && filled > 0 {
            // The ids were cleared with the chunk and hold one per event already.
            chunk.0.truncate(filled);
            // A failed send means the worker stopped: reported by join below.
            let _ = tx.send(chunk);
        }
        drop(tx);
        let mut batch = worker
            .join()
            .map_err(|_| anyhow::anyhow!("the enrichment thread panicked"))??;
        batch.set_contexts(contexts);
        Ok((batch, read?))
    })
}

/// The roster at `path`, rejected rows reported on stderr; the empty roster without a path.
fn load_roster(path: Option<&Path>) -> anyhow::Result<Roster> {
    let Some(path) = path else {
        return Ok(Roster::empty());
    };
    let (roster, rejected) = Roster::load(path)?;
    if !rejected.is_empty() {
        eprintln!(
            "jetlag: roster {}: {} employees loaded, {} rows rejected:",
            path.display(),
            roster.len(),
            rejected.len()
        );
        for r in rejected.iter().take(5) {
            eprintln!("  {}", jetlag_output::terminal_safe(&r.to_string()));
        }
        if rejected.len() > 5 {
            eprintln!("  … and {} more", rejected.len() - 5);
        }
    }
    Ok(roster)
}

/// A progress bar on a terminal; a hidden one otherwise (every call is then a no-op).
fn progress_bar(tty: bool) -> ProgressBar {
    if !tty {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {human_pos} events ({rate}) {wide_bar}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            // Whole events per second with thousands separators (`{per_sec}` prints four
            // decimals).
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", HumanCount(s.per_sec() as u64));
            }),
    );
    bar.set_message("reading");
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        64 * 1024,
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    ))
}

/// Where the engine's alerts go: written as they come, or held for the table and `--users`.
enum Sink {
    /// Written at once; `None` once the reader went away (a closed pipe: `jetlag scan |
    /// head`), after which detection still runs to its end for `--state` and the summary.
    Stream(Option<Writer<Box<dyn Write>>>),
    /// Held until the scan ends.
    Hold(Vec<Alert>),
}

impl Sink {
    /// Counts and delivers `alerts`, leaving the vector empty with its capacity.
    fn take(&mut self, alerts: &mut Vec<Alert>, counts: &mut AlertCounts) -> anyhow::Result<()> {
        for alert in alerts.iter() {
            counts.add(alert);
        }
        match self {
            Sink::Hold(held) => held.append(alerts),
            Sink::Stream(writer) => {
                if let Some(w) = writer {
                    for alert in alerts.iter() {
                        match w.write(alert) {
                            Ok(()) => {}
                            Err(err) if is_broken_pipe_output(&err) => {
                                *writer = None;
                                break;
                            }
                            Err(err) => return Err(err.into()),
                        }
                    }
                }
                alerts.clear();
            }
        }
        Ok(())
    }
}

/// The alert writer on `-o PATH` or standard output.
fn open_writer(
    args: &Args,
    format: Format,
    risks: Vec<UserRisk>,
) -> anyhow::Result<Writer<Box<dyn Write>>> {
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    let options = Options {
        color: format == Format::Table
            && to_terminal
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        user_risks: risks,
    };
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(create(path)?),
        None => Box::new(BufWriter::with_capacity(64 * 1024, io::stdout().lock())),
    };
    Ok(Writer::new(out, format, options))
}

fn write_alerts(
    args: &Args,
    format: Format,
    alerts: &[Alert],
    risks: &[jetlag_score::UserRisk],
) -> anyhow::Result<()> {
    let risks = risks
        .iter()
        .map(|r| UserRisk {
            user: r.user.clone(),
            risk: r.risk,
            level: r.level,
            explanation: r.explanation.clone(),
        })
        .collect();
    let mut writer = open_writer(args, format, risks)?;
    for alert in alerts {
        writer.write(alert)?;
    }
    writer.finish()?;
    Ok(())
}

fn write_users(path: &Path, risks: &[jetlag_score::UserRisk]) -> anyhow::Result<()> {
    let mut out = create(path)?;
    for r in risks {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes the engine's state next to `path` and renames it over `path`, so that a crash
/// never leaves a half-written state.
fn save_state(path: &Path, engine: &Engine) -> anyhow::Result<()> {
    let bytes = engine
        .snapshot()
        .context("cannot snapshot detector state")?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot replace state {}", path.display()))?;
    tracing::info!(path = %path.display(), bytes = bytes.len(), "state saved");
    Ok(())
}

/// Alerts by detector and severity, counted as they are emitted, for the summary.
#[derive(Debug, Default)]
struct AlertCounts {
    total: usize,
    /// Per detector: low, medium, high, critical (`Severity as usize`).
    by_detector: BTreeMap<String, [usize; 4]>,
}

impl AlertCounts {
    fn add(&mut self, alert: &Alert) {
        self.total += 1;
        let n = match self.by_detector.get_mut(alert.detector.as_str()) {
            Some(n) => n,
            None => self.by_detector.entry(alert.detector.clone()).or_default(),
        };
        n[alert.severity as usize] += 1;
    }

    /// "jetlag: 1,204 unique events → 7 alerts" and a detector × severity table.
    fn print(&self, out: &mut impl Write, events: usize) -> io::Result<()> {
        writeln!(
            out,
            "jetlag: {events} unique events scanned, {} alerts",
            self.total
        )?;
        if self.total == 0 {
            return Ok(());
        }
        writeln!(
            out,
            "  {:<20}{:>9}{:>9}{:>9}{:>9}{:>9}",
            "detector", "critical", "high", "medium", "low", "total"
        )?;
        for (detector, n) in &self.by_detector {
            writeln!(
                out,
                "  {:<20}{:>9}{:>9}{:>9}{:>9}{:>9}",
                detector,
                n[3],
                n[2],
                n[1],
                n[0],
                n.iter().sum::<usize>()
            )?;
        }
        Ok(())
    }
}

fn is_broken_pipe_output(err: &jetlag_output::Error) -> bool {
    matches!(err, jetlag_output::Error::Io(io) if io.kind() == io::ErrorKind::BrokenPipe)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<jetlag_output::Error>()
                .is_some_and(is_broken_pipe_output)
    })
}
