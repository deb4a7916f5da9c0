//! `jetlag geoip`: look up IPs in GeoIP / intel databases, or update the free databases.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use jetlag_enrich::{Enricher, IpInfo};

use super::enrich_args::EnrichArgs;

/// Arguments of `jetlag geoip`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: GeoipCommand,
}

#[derive(Debug, clap::Subcommand)]
enum GeoipCommand {
    /// Print everything the databases and intel lists know about each IP.
    Lookup(LookupArgs),
    /// Download the current free DB-IP Lite City and ASN databases (monthly, no key;
    /// CC BY 4.0, "IP Geolocation by DB-IP"), verify them and swap them in atomically.
    Update(UpdateArgs),
}

#[derive(Debug, clap::Args)]
struct LookupArgs {
    /// IP addresses (IPv4 or IPv6). None: one per line from standard input.
    #[arg(value_name = "IP")]
    ips: Vec<String>,
    #[command(flatten)]
    enrich: EnrichArgs,
    /// One JSON object per IP per line (ip, geo, asn, as_org, network, labels), named as in
    /// the normalized event. Default: a table on a terminal, JSON lines otherwise.
    #[arg(long, conflicts_with = "table")]
    json: bool,
    /// A table even when standard output is not a terminal.
    #[arg(long)]
    table: bool,
}

#[derive(Debug, clap::Args)]
struct UpdateArgs {
    /// Directory to install dbip-city-lite.mmdb and dbip-asn-lite.mmdb into.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Download directory (a mirror holding DB-IP's file names).
    #[arg(long, value_name = "URL", default_value = jetlag_enrich::update::DEFAULT_URL)]
    url: String,
}

/// Runs `jetlag geoip`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        GeoipCommand::Lookup(a) => lookup(a),
        GeoipCommand::Update(a) => update(a),
    }
}

/// Writes one line of `geoip lookup --json`: `{"ip": ..., <the IpInfo fields>}`.
fn write_line(out: &mut impl Write, ip: IpAddr, info: &IpInfo) -> anyhow::Result<()> {
    let fields = serde_json::to_string(info)?;
    // `fields` is a non-empty JSON object; splice "ip" in as its first member.
    writeln!(out, "{{\"ip\":\"{ip}\",{}", &fields[1..])?;
    Ok(())
}

fn lookup(args: LookupArgs) -> anyhow::Result<ExitCode> {
    if args.enrich.is_empty() {
        anyhow::bail!(
            "nothing to look up in: give at least one --geoip PATH or --intel CLASS=PATH"
        );
    }
    let enricher = args.enrich.build()?;
    let inputs: Vec<String> = if args.ips.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .map(|l| l.map(|l| l.trim().to_owned()))
            .filter(|l| {
                l.as_ref()
                    .map_or(true, |l| !l.is_empty() && !l.starts_with('#'))
            })
            .collect::<Result<_, _>>()
            .context("reading IPs from standard input")?
    } else {
        args.ips
    };
    let stdout = std::io::stdout();
    let as_table = args.table || (!args.json && stdout.is_terminal());
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut bad = 0;
    let mut rows = Vec::new();
    for input in &inputs {
        let Ok(ip) = input.parse::<IpAddr>() else {
            eprintln!(
                "jetlag geoip: '{}' is not an IP address",
                jetlag_output::terminal_safe(input)
            );
            bad += 1;
            continue;
        };
        let info = enricher.lookup(ip);
        if as_table {
            rows.push((ip, info));
        } else {
            write_line(&mut out, ip, &info)?;
        }
    }
    if as_table {
        out.write_all(table(&rows).as_bytes())?;
        print_sources(&enricher);
    }
    out.flush()?;
    Ok(if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_sources(enricher: &Enricher) {
    for s in enricher.sources() {
        eprintln!("  {}  {}", s.kind, s.path.display());
    }
}

fn table(rows: &[(IpAddr, IpInfo)]) -> String {
    let header = [
        "IP", "COUNTRY", "PLACE", "LAT,LON", "±KM", "ASN", "AS ORG", "NETWORK",
    ];
    let mut cells: Vec<[String; 8]> = Vec::with_capacity(rows.len());
    for (ip, info) in rows {
        let geo = info.geo.as_ref();
        let place = geo
            .map(|g| {
                [g.city.as_deref(), g.region.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let mut network: Vec<String> = info.network.iter().map(|c| c.to_string()).collect();
        network.extend(info.labels.iter().map(|l| format!("({l})")));
        cells.push([
            ip.to_string(),
            geo.and_then(|g| g.country)
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            if place.is_empty() { "-".into() } else { place },
            geo.and_then(|g| g.point())
                .map(|(lat, lon)| format!("{lat:.4},{lon:.4}"))
                .unwrap_or_else(|| "-".into()),
            geo.and_then(|g| g.radius_km)
                .map(|r| format!("{r:.0}"))
                .unwrap_or_else(|| "-".into()),
            info.asn
                .map(|a| format!("AS{a}"))
                .unwrap_or_else(|| "-".into()),
            info.as_org.as_deref().unwrap_or("-").to_owned(),
            if network.is_empty() {
                "-".into()
            } else {
                network.join(" ")
            },
        ]);
    }
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut s = String::new();
    let mut line = |row: &[&str]| {
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                let _ = write!(s, "{c}");
            } else {
                let _ = write!(s, "{c:<w$}  ");
            }
        }
        s.push('\n');
    };
    line(&header);
    for row in &cells {
        line(&row.each_ref().map(String::as_str));
    }
    s
}

fn update(args: UpdateArgs) -> anyhow::Result<ExitCode> {
    let installed = jetlag_enrich::update::update_now(&args.dir, &args.url).with_context(|| {
        format!(
            "updating the DB-IP Lite databases in {}",
            args.dir.display()
        )
    })?;
    for db in &installed {
        eprintln!(
            "jetlag geoip update: installed {} ({}, {:.1} MB) from {}",
            db.path.display(),
            db.database_type,
            db.bytes as f64 / 1e6,
            db.url
        );
    }
    eprintln!("{}", jetlag_enrich::update::ATTRIBUTION);
    Ok(ExitCode::SUCCESS)
}
