//! `jetlag demo`: simulate a small organisation, scan it and show what jetlag finds.
//!
//! The demo is glue over three subcommands run in-process: `simulate` into a temporary
//! directory, `scan` with exactly the arguments a user would type (so the demo exercises the
//! real `scan` path, flags included), and `eval` against the simulation's truth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args as _, FromArgMatches as _};
use jetlag_event::{Alert, Severity};

use super::scan;

/// Arguments of `jetlag demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Employees in the simulated organisation.
    #[arg(long, default_value_t = 600)]
    pub users: u32,
    /// Days to simulate.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Keep the simulated files in this directory instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// How many alerts and users to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// Runs `jetlag demo`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let t0 = Instant::now();
    let tmp;
    let dir: &Path = match &args.keep {
        Some(p) => p,
        None => {
            tmp = tempfile::Builder::new().prefix("jetlag-demo-").tempdir()?;
            tmp.path()
        }
    };
    let cfg = jetlag_simulate::Config {
        users: args.users,
        days: args.days,
        tenants: 3,
        seed: args.seed,
        ..Default::default()
    };
    println!(
        "== 1. simulating {} employees over {} days in 3 tenants (Entra, Okta, Google + AWS CloudTrail)",
        cfg.users, cfg.days
    );
    let sim = jetlag_simulate::simulate(&cfg, dir).context("simulating the demo organisation")?;
    println!(
        "   {} sign-ins, {} injected attack cases, {} benign hard cases  ({})",
        sim.events,
        sim.attacks,
        sim.benign,
        dir.display()
    );

    let alerts_path = dir.join("alerts.jsonl");
    let users_path = dir.join("users.jsonl");
    let mut argv: Vec<String> = vec!["scan".into()];
    argv.extend(sim.scan_args());
    argv.extend(["-o".into(), alerts_path.display().to_string()]);
    argv.extend(["--output-format".into(), "jsonl".into()]);
    println!(
        "\n== 2. scanning it: jetlag scan <{} log files> --geoip .. --intel .. --roster ..",
        sim.log_files.len()
    );
    run_scan(&argv, &users_path)?;
    let alerts = read_alerts(&alerts_path)?;

    println!("\n== 3. top alerts");
    for a in top_alerts(&alerts, args.top) {
        let mut summary = a.summary.clone();
        if summary.chars().count() > 150 {
            summary = summary.chars().take(149).collect::<String>() + "…";
        }
        println!(
            "   {:<8} {:>3}  {:<17} {}",
            a.severity, a.score, a.detector, summary
        );
    }
    if alerts.is_empty() {
        println!("   (no alerts)");
    }

    println!("\n== 4. riskiest users");
    for line in riskiest(&alerts, &users_path, args.top) {
        println!("   {line}");
    }

    println!("\n== 5. how well did it do? (jetlag eval against the simulation's truth)");
    let truth = jetlag_eval::read_truth(&sim.truth)?;
    let (scored, _) = jetlag_eval::read_alerts(&alerts_path)?;
    let report = jetlag_eval::evaluate(&truth, &scored, jetlag_eval::Options::default());
    for line in report.to_string().lines() {
        println!("   {line}");
    }

    println!(
        "\n== done in {:.1} s. Next: run jetlag on your own sign-in logs:",
        t0.elapsed().as_secs_f64()
    );
    println!(
        "   jetlag scan signins/*.json okta/*.ndjson --geoip dbip-city-lite.mmdb --roster hr.csv"
    );
    println!(
        "   (get free GeoIP databases with `jetlag geoip update --dir geoip`; see `jetlag scan --help`)"
    );
    if args.keep.is_some() {
        println!(
            "   the simulated files stay in {}; SCAN.txt there has the full scan command",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `jetlag scan` in-process with `argv`, asking for the per-user risk file too when the
/// scan command offers it.
fn run_scan(argv: &[String], users_path: &Path) -> anyhow::Result<()> {
    let cmd = scan::Args::augment_args(clap::Command::new("scan"));
    let wants_users = cmd.get_arguments().any(|a| a.get_long() == Some("users"));
    let mut argv = argv.to_vec();
    if wants_users {
        argv.extend(["--users".into(), users_path.display().to_string()]);
    }
    let matches = cmd
        .try_get_matches_from(&argv)
        .context("building the scan command line")?;
    let scan_args = scan::Args::from_arg_matches(&matches)?;
    let code = scan::run(scan_args).context("scanning the simulated logs")?;
    if code != ExitCode::SUCCESS {
        bail!("the scan of the simulated logs failed");
    }
    Ok(())
}

/// The most severe alerts, one per (detector, user) and at most two per detector while
/// others remain, so the listing shows the range of what was found.
fn top_alerts(alerts: &[Alert], n: usize) -> Vec<&Alert> {
    let mut sorted: Vec<&Alert> = alerts.iter().collect();
    sorted.sort_by(|a, b| {
        (b.severity, b.score)
            .cmp(&(a.severity, a.score))
            .then_with(|| a.alert_id.cmp(&b.alert_id))
    });
    let mut seen = std::collections::BTreeSet::new();
    sorted.retain(|a| {
        seen.insert((
            a.detector.clone(),
            a.user.clone().or(a.users.first().cloned()),
        ))
    });
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for a in sorted {
        let c = per.entry(a.detector.as_str()).or_default();
        *c += 1;
        if *c <= 2 { first.push(a) } else { rest.push(a) }
    }
    first.truncate(n);
    let room = n - first.len();
    first.extend(rest.into_iter().take(room));
    first.sort_by_key(|a| std::cmp::Reverse((a.severity, a.score)));
    first
}

fn read_alerts(path: &Path) -> anyhow::Result<Vec<Alert>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the scan's alerts {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let alert = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not an alert", path.display(), i + 1))?;
        out.push(alert);
    }
    Ok(out)
}

/// The riskiest users: from the scan's per-user risk file when it wrote one, else by the
/// alerts themselves (highest severity, then count of medium-or-above alerts).
fn riskiest(alerts: &[Alert], users_path: &Path, top: usize) -> Vec<String> {
    if let Ok(text) = std::fs::read_to_string(users_path) {
        let mut rows: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let risk = |v: &serde_json::Value| v.get("risk").and_then(|r| r.as_f64()).unwrap_or(0.0);
        rows.sort_by(|a, b| risk(b).total_cmp(&risk(a)));
        if !rows.is_empty() {
            return rows
                .iter()
                .take(top)
                .map(|v| {
                    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                    format!(
                        "{:>5.0}  {:<9} {:<40} {}",
                        risk(v),
                        s("level"),
                        s("user"),
                        s("explanation")
                    )
                })
                .collect();
        }
    }
    let mut by_user: BTreeMap<&str, (Severity, u32, u32, Vec<&str>)> = BTreeMap::new();
    for a in alerts {
        for u in a.user.iter().chain(a.users.iter()).map(String::as_str) {
            let e = by_user
                .entry(u)
                .or_insert((Severity::Low, 0, 0, Vec::new()));
            e.0 = e.0.max(a.severity);
            e.1 = e.1.max(a.score as u32);
            e.2 += u32::from(a.severity >= Severity::Medium);
            if !e.3.contains(&a.detector.as_str()) {
                e.3.push(&a.detector);
            }
        }
    }
    let mut rows: Vec<_> = by_user.into_iter().collect();
    rows.sort_by(|a, b| {
        (b.1.0, b.1.2, b.1.1)
            .cmp(&(a.1.0, a.1.2, a.1.1))
            .then(a.0.cmp(b.0))
    });
    rows.into_iter()
        .take(top)
        .map(|(u, (sev, score, n, dets))| {
            format!(
                "{sev:<8} {score:>3}  {u:<40} {n} alerts >= medium: {}",
                dets.join(", ")
            )
        })
        .collect()
}
