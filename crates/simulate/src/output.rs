//! Writes a simulation to disk: logs per tenant, roster, GeoIP/ASN CSVs, intel lists, truth.
//!
//! Days are generated in order and merged through a small pending buffer so every tenant's
//! stream is written in exact time order with buffered writers; Entra pages are held one page
//! at a time and written newest-first, as Graph returns them. Memory stays bounded by about
//! two days of one organisation's sign-ins.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::generate::{self, Ev, Kind};
use crate::org::{Attack, Idp, Plan, Tenant};
use crate::truth::{Label, TruthCase, TruthLine, TruthOrg};
use crate::vendor::{self, Scratch};
use crate::world::{self, CITIES, NetKind};
use crate::{Config, Error, Timestamp};

/// Graph returns at most 1,000 sign-ins per page; the simulator writes bigger pages to keep
/// the file count sane at scale. Each page is a complete Graph response body.
const ENTRA_PAGE: usize = 5000;

/// What a simulation wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Sign-in records written (every format).
    pub events: u64,
    /// Employees in the roster.
    pub users: u64,
    /// Attack lines in `truth.jsonl`.
    pub attacks: u64,
    /// Benign hard-case lines in `truth.jsonl`.
    pub benign: u64,
    /// Every log file written, in a stable order.
    pub log_files: Vec<PathBuf>,
    /// `roster.csv`.
    pub roster: PathBuf,
    /// `geoip/city.csv` and `geoip/asn.csv`.
    pub geoip: Vec<PathBuf>,
    /// `(class, path)` of every `intel/` list.
    pub intel: Vec<(String, PathBuf)>,
    /// `truth.jsonl`.
    pub truth: PathBuf,
}

impl Summary {
    /// The arguments of `jetlag scan` that read this simulation (files, `--geoip`,
    /// `--intel`, `--roster`).
    pub fn scan_args(&self) -> Vec<String> {
        let mut args: Vec<String> = self
            .log_files
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        for g in &self.geoip {
            args.push("--geoip".into());
            args.push(g.display().to_string());
        }
        for (class, p) in &self.intel {
            args.push("--intel".into());
            args.push(format!("{class}={}", p.display()));
        }
        args.push("--roster".into());
        args.push(self.roster.display().to_string());
        args
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create(path: &Path) -> Result<BufWriter<File>, Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(io_err(path))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut w = create(path)?;
    w.write_all(bytes).map_err(io_err(path))?;
    w.flush().map_err(io_err(path))
}

/// One tenant's output streams.
struct Sink {
    dir: PathBuf,
    idp: Idp,
    ndjson: Option<(PathBuf, BufWriter<File>)>,
    page: Vec<Ev>,
    pages: u64,
    ct_path: PathBuf,
    ct: Option<BufWriter<File>>,
    ct_count: u64,
}

impl Sink {
    fn new(root: &Path, t: &Tenant) -> Result<Sink, Error> {
        let dir = root.join("logs").join(&t.domain);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let ndjson = match t.idp {
            Idp::Okta => Some(dir.join("okta-systemlog.ndjson")),
            Idp::Google => Some(dir.join("google-login.ndjson")),
            Idp::Entra => None,
        }
        .map(|p| create(&p).map(|w| (p, w)))
        .transpose()?;
        Ok(Sink {
            ct_path: dir.join("cloudtrail-consolelogin.json"),
            dir,
            idp: t.idp,
            ndjson,
            page: Vec::with_capacity(ENTRA_PAGE),
            pages: 0,
            ct: None,
            ct_count: 0,
        })
    }

    fn page_path(&self, k: u64) -> PathBuf {
        self.dir.join("entra").join(format!(".page-{k}.tmp"))
    }

    fn flush_page(
        &mut self,
        plan: &Plan,
        t: &Tenant,
        seed: u64,
        s: &mut Scratch,
    ) -> Result<(), Error> {
        if self.page.is_empty() {
            return Ok(());
        }
        let path = self.page_path(self.pages);
        let mut w = create(&path)?;
        let e = io_err(&path);
        let res = (|| {
            vendor::entra::page_open(&mut w)?;
            for (i, ev) in self.page.iter().rev().enumerate() {
                if i > 0 {
                    w.write_all(b",\n")?;
                }
                vendor::entra::write(&mut w, ev, plan, seed, s)?;
            }
            let next = self.pages.checked_sub(1);
            vendor::entra::page_close(&mut w, t, next)?;
            w.flush()
        })();
        res.map_err(e)?;
        self.pages += 1;
        self.page.clear();
        Ok(())
    }

    fn write(
        &mut self,
        ev: &Ev,
        plan: &Plan,
        t: &Tenant,
        seed: u64,
        s: &mut Scratch,
    ) -> Result<(), Error> {
        if ev.kind == Kind::Aws {
            if self.ct.is_none() {
                let mut w = create(&self.ct_path)?;
                w.write_all(b"{\"Records\":[\n")
                    .map_err(io_err(&self.ct_path))?;
                self.ct = Some(w);
            }
            if let Some(w) = self.ct.as_mut() {
                let path = &self.ct_path;
                if self.ct_count > 0 {
                    w.write_all(b",\n").map_err(io_err(path))?;
                }
                vendor::cloudtrail::write(w, ev, plan, t, seed, s).map_err(io_err(path))?;
                self.ct_count += 1;
            }
            return Ok(());
        }
        match self.idp {
            Idp::Entra => {
                self.page.push(*ev);
                if self.page.len() == ENTRA_PAGE {
                    self.flush_page(plan, t, seed, s)?;
                }
                Ok(())
            }
            Idp::Okta | Idp::Google => {
                let Some((path, w)) = self.ndjson.as_mut() else {
                    return Ok(());
                };
                let r = if self.idp == Idp::Okta {
                    vendor::okta::write(w, ev, plan, seed, s)
                } else {
                    vendor::google::write(w, ev, plan, t, seed, s)
                };
                r.map_err(io_err(path))
            }
        }
    }

    /// Closes every stream and returns the files written.
    fn finish(
        mut self,
        plan: &Plan,
        t: &Tenant,
        seed: u64,
        s: &mut Scratch,
    ) -> Result<Vec<PathBuf>, Error> {
        let mut files = Vec::new();
        if self.idp == Idp::Entra {
            self.flush_page(plan, t, seed, s)?;
            for k in 0..self.pages {
                let from = self.page_path(k);
                let to = self
                    .dir
                    .join("entra")
                    .join(format!("signins-{:05}.json", self.pages - k));
                fs::rename(&from, &to).map_err(io_err(&to))?;
            }
            for k in 1..=self.pages {
                files.push(self.dir.join("entra").join(format!("signins-{k:05}.json")));
            }
        }
        if let Some((path, mut w)) = self.ndjson.take() {
            w.flush().map_err(io_err(&path))?;
            files.push(path);
        }
        if let Some(mut w) = self.ct.take() {
            let path = &self.ct_path;
            w.write_all(b"\n]}\n").map_err(io_err(path))?;
            w.flush().map_err(io_err(path))?;
            files.push(self.ct_path.clone());
        }
        Ok(files)
    }
}

/// The first day a simulation may start on and the last it may end on: its sign-ins fall
/// from the day before its first day (a local morning east of UTC) to two days after its
/// last (a trip's flight home; the truth's windows span the same), and jetlag accepts times
/// of 1990 to 2099 only (DESIGN.md, "Why are only years 1990–2099 accepted?"), so the days
/// must leave one day before and two after inside those years.
const FIRST_START: jiff::civil::Date = jiff::civil::date(1990, 1, 2);
const LAST_DAY: jiff::civil::Date = jiff::civil::date(2099, 12, 30);

/// Refuses a start whose simulated days would put sign-ins outside 1990–2099, which
/// jetlag's own normalizer would reject.
fn check_years(cfg: &Config) -> Result<(), Error> {
    let last = cfg
        .start
        .checked_add(jiff::Span::new().days(i64::from(cfg.days) - 1))
        .ok();
    if cfg.start < FIRST_START || last.is_none_or(|last| last > LAST_DAY) {
        return Err(Error::Config(format!(
            "start {} and {} day{} put sign-ins outside 1990–2099, the years jetlag accepts: \
             start on {FIRST_START} or later and end (start + days − 1) on {LAST_DAY} or earlier",
            cfg.start,
            cfg.days,
            if cfg.days == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Writes the simulation of `cfg` under `out` (created if missing; existing files of the
/// same names are replaced).
///
/// # Errors
/// [`Error::Config`] for zero users, days or tenants, or days whose sign-ins would fall
/// outside 1990–2099 (which jetlag rejects); [`Error::Io`] naming the file that could not be
/// written.
pub fn simulate(cfg: &Config, out: &Path) -> Result<Summary, Error> {
    if cfg.users == 0 || cfg.days == 0 || cfg.tenants == 0 {
        return Err(Error::Config(
            "users, days and tenants must all be at least 1".into(),
        ));
    }
    if cfg.days > 3660 {
        return Err(Error::Config(format!(
            "{} days is more than ten years",
            cfg.days
        )));
    }
    check_years(cfg)?;
    fs::create_dir_all(out).map_err(io_err(out))?;
    let plan = Plan::new(cfg);
    let (events, tor_exits, log_files) = write_logs(cfg, &plan, out)?;
    let mut log_files = log_files;
    log_files.sort();

    let roster = out.join("roster.csv");
    write_roster(&plan, &roster)?;
    let geoip = vec![
        out.join("geoip").join("city.csv"),
        out.join("geoip").join("asn.csv"),
    ];
    write_file(&geoip[0], world::geoip_csv().as_bytes())?;
    write_file(&geoip[1], world::asn_csv().as_bytes())?;
    let mut intel = Vec::new();
    for (class, body) in world::intel_lists(&tor_exits) {
        let path = out.join("intel").join(format!("{class}.txt"));
        write_file(&path, body.as_bytes())?;
        intel.push((class.to_string(), path));
    }
    let truth = out.join("truth.jsonl");
    let (attacks, benign) = write_truth(cfg, &plan, events, &truth)?;
    let summary = Summary {
        events,
        users: plan.users.len() as u64,
        attacks,
        benign,
        log_files,
        roster,
        geoip,
        intel,
        truth,
    };
    let cmd = format!(
        "# Scan this simulation, then score the alerts against the truth:\n\
         jetlag scan {} -o alerts.jsonl\njetlag eval --truth {} alerts.jsonl\n",
        summary.scan_args().join(" "),
        summary.truth.display()
    );
    write_file(&out.join("SCAN.txt"), cmd.as_bytes())?;
    Ok(summary)
}

/// Generates every day and writes each tenant's logs on its own thread (serialization and
/// writing are the cost; generation is cheap). Each tenant's stream stays in time order: one
/// bounded channel per tenant, fed in order.
fn write_logs(
    cfg: &Config,
    plan: &Plan,
    out: &Path,
) -> Result<(u64, Vec<IpAddr>, Vec<PathBuf>), Error> {
    let seed = cfg.seed;
    std::thread::scope(|scope| {
        let mut txs = Vec::new();
        let mut workers = Vec::new();
        for tenant in &plan.tenants {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Ev>>(4);
            let mut sink = Sink::new(out, tenant)?;
            workers.push(scope.spawn(move || -> Result<Vec<PathBuf>, Error> {
                let mut scratch = Scratch::new();
                for batch in rx {
                    for ev in &batch {
                        sink.write(ev, plan, tenant, seed, &mut scratch)?;
                    }
                }
                sink.finish(plan, tenant, seed, &mut scratch)
            }));
            txs.push(tx);
        }
        let mut pending: Vec<Ev> = Vec::new();
        let mut events = 0u64;
        let mut tor_exits: Vec<IpAddr> = Vec::new();
        let mut alive = true;
        for d in 0..=cfg.days {
            if d < cfg.days {
                generate::day(plan, seed, d, &mut pending);
            }
            // A day's sign-ins span about 14 h either side of its UTC date (time zones,
            // trips): everything 36 h before this day's midnight is final.
            let upto = match plan.day_epoch.get(d as usize) {
                Some(&e) => (e - 36 * 3600) * 1000,
                None => i64::MAX,
            };
            pending.sort_unstable_by_key(|e| (e.t_ms, e.seq));
            let cut = pending.partition_point(|e| e.t_ms < upto);
            let mut batches: Vec<Vec<Ev>> = vec![Vec::new(); txs.len()];
            for ev in pending.drain(..cut) {
                if let Some((NetKind::Tor, _)) = world::block_of(ev.ip) {
                    tor_exits.push(ev.ip);
                }
                batches[plan.users[ev.user as usize].tenant as usize].push(ev);
            }
            events += cut as u64;
            for (tx, batch) in txs.iter().zip(batches) {
                // A closed channel means that writer failed: stop and report its error.
                alive &= batch.is_empty() || tx.send(batch).is_ok();
            }
            if !alive {
                break;
            }
        }
        drop(txs);
        let mut files = Vec::new();
        for w in workers {
            match w.join() {
                Ok(r) => files.extend(r?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok((events, tor_exits, files))
    })
}

fn write_roster(plan: &Plan, path: &Path) -> Result<(), Error> {
    let w = create(path)?;
    let mut csv = csv::Writer::from_writer(w);
    let e = |err: csv::Error| Error::Io {
        path: path.to_path_buf(),
        source: err.into(),
    };
    csv.write_record([
        "user",
        "display_name",
        "hire_date",
        "work_country",
        "work_region",
        "work_city",
        "work_lat",
        "work_lon",
        "work_timezone",
    ])
    .map_err(e)?;
    for u in &plan.users {
        let c = &CITIES[u.roster_city as usize];
        csv.write_record([
            u.upn.as_str(),
            &u.display,
            &u.hire.to_string(),
            c.country,
            c.region,
            c.name,
            &format!("{:.4}", c.lat),
            &format!("{:.4}", c.lon),
            c.tz,
        ])
        .map_err(e)?;
    }
    csv.flush().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn write_truth(cfg: &Config, plan: &Plan, events: u64, path: &Path) -> Result<(u64, u64), Error> {
    let days = plan.day_epoch.len();
    let first = plan.day_epoch[0] - 14 * 3600;
    let last = plan.day_epoch[days - 1] + 48 * 3600;
    let upn = |u: u32| plan.users[u as usize].upn.clone();
    let mut cases: Vec<TruthCase> = Vec::new();
    let mut case = |kind: Label,
                    scenario: &str,
                    detector: &str,
                    users: Vec<String>,
                    start: i64,
                    end: i64,
                    description: String| {
        cases.push(TruthCase {
            kind,
            scenario: scenario.to_string(),
            detector: detector.to_string(),
            users,
            start: ts(start),
            end: ts(end),
            description,
        });
    };
    let weekdays = (0..days as u32).filter(|&d| plan.is_weekday(d)).count();
    for (f, farm) in plan.farms.iter().enumerate() {
        let id = format!("farm-{}", f + 1);
        let city = CITIES[farm.city as usize].name;
        let users: Vec<String> = farm.workers.iter().map(|&u| upn(u)).collect();
        if weekdays >= 1 && users.len() >= 4 {
            case(
                Label::Attack,
                &id,
                "shared_ip",
                users.clone(),
                first,
                last,
                format!(
                    "laptop farm: {} new hires in {} tenants sign in from one residential IP in {city}",
                    users.len(),
                    farm.workers
                        .iter()
                        .map(|&u| plan.users[u as usize].tenant)
                        .collect::<std::collections::BTreeSet<_>>()
                        .len()
                ),
            );
        }
        for (k, &w) in farm.workers.iter().enumerate() {
            if weekdays >= 5 {
                case(Label::Attack, &id, "off_hours", vec![upn(w)], first, last,
                    "farm worker signs in on Korean office hours, the middle of the night in the claimed US time zone".into());
            }
            if let Some(Some((d, _, c))) = farm.china_hops.get(k) {
                let s = plan.day_epoch[*d as usize] - 3600;
                let e = plan.day_epoch[*d as usize] + 24 * 3600;
                let cn = CITIES[*c as usize].name;
                let desc = format!(
                    "farm worker signs in directly from {cn}, China, minutes after a sign-in from the US farm IP"
                );
                for det in ["impossible_travel", "new_country", "location_mismatch"] {
                    case(Label::Attack, &id, det, vec![upn(w)], s, e, desc.clone());
                }
            }
        }
    }
    for (r, ring) in plan.device_rings.iter().enumerate() {
        if weekdays >= 1 && ring.members.len() >= 2 {
            case(
                Label::Attack,
                &format!("device-ring-{}", r + 1),
                "shared_device",
                ring.members.iter().map(|&u| upn(u)).collect(),
                first,
                last,
                format!(
                    "{} new-hire accounts all sign in from one device",
                    ring.members.len()
                ),
            );
        }
    }
    for (u, x) in plan.users.iter().enumerate() {
        if let crate::org::Role::Impostor { city } = x.role
            && weekdays >= 1
        {
            let c = &CITIES[city as usize];
            let desc = format!(
                "new hire claims {} ({}) but works every day from {}, {}",
                CITIES[x.roster_city as usize].name,
                CITIES[x.roster_city as usize].country,
                c.name,
                c.country
            );
            for det in ["location_mismatch", "new_country"] {
                case(
                    Label::Attack,
                    &format!("impostor-{u}"),
                    det,
                    vec![upn(u as u32)],
                    first,
                    last,
                    desc.clone(),
                );
            }
        }
    }
    for (i, a) in plan.attacks.iter().enumerate() {
        match a {
            Attack::TravelAto {
                victim,
                legit,
                at,
                city,
                ..
            } => {
                let c = &CITIES[*city as usize];
                let desc = format!(
                    "account takeover: sign-in from {}, {} {} minutes after the victim's own sign-in",
                    c.name,
                    c.country,
                    (at - legit) / 60
                );
                for det in ["impossible_travel", "new_country"] {
                    case(
                        Label::Attack,
                        &format!("ato-{}", i + 1),
                        det,
                        vec![upn(*victim)],
                        legit - 60,
                        at + 14 * 3600,
                        desc.clone(),
                    );
                }
            }
            Attack::TorAto { victim, at, .. } => case(
                Label::Attack,
                &format!("tor-ato-{}", i + 1),
                "anonymizer",
                vec![upn(*victim)],
                at - 60,
                at + 3600,
                "account takeover through Tor exit relays".into(),
            ),
            Attack::Spray {
                targets,
                at,
                success,
                ..
            } => case(
                Label::Attack,
                &format!("spray-{}", i + 1),
                "password_spray",
                targets.iter().map(|&u| upn(u)).collect(),
                *at,
                at + 3600,
                format!(
                    "password spray from a hosting IP against {} accounts{}",
                    targets.len(),
                    if success.is_some() {
                        ", one password works"
                    } else {
                        ""
                    }
                ),
            ),
            Attack::Replay {
                victim,
                legit,
                at,
                city,
                ..
            } => {
                let c = &CITIES[*city as usize];
                let desc = format!(
                    "stolen Okta session replayed from {}, {} with another browser",
                    c.name, c.country
                );
                for det in ["session_anomaly", "impossible_travel", "new_country"] {
                    case(
                        Label::Attack,
                        &format!("replay-{}", i + 1),
                        det,
                        vec![upn(*victim)],
                        legit - 60,
                        at + 14 * 3600,
                        desc.clone(),
                    );
                }
            }
        }
    }
    // Benign hard cases.
    for (u, x) in plan.users.iter().enumerate() {
        let home = &CITIES[x.home as usize];
        for (k, t) in x.trips.iter().enumerate() {
            let dest = &CITIES[t.dest as usize];
            let id = format!("trip-{u}-{}", k + 1);
            let desc = format!(
                "business trip {} -> {} on real flights ({:.0} km)",
                home.name,
                dest.name,
                world::distance_km(home, dest)
            );
            let dets: &[&str] = if dest.country == home.country {
                &[
                    "impossible_travel",
                    "location_mismatch",
                    "unfamiliar_signin",
                ]
            } else {
                &[
                    "impossible_travel",
                    "new_country",
                    "location_mismatch",
                    "off_hours",
                    "unfamiliar_signin",
                ]
            };
            for det in dets {
                case(
                    Label::Benign,
                    &id,
                    det,
                    vec![upn(u as u32)],
                    t.out_dep - 86_400,
                    t.back_arr + 86_400,
                    desc.clone(),
                );
            }
        }
        if let Some(c) = x.corp_vpn
            && CITIES[c as usize].country != home.country
        {
            let desc = format!(
                "corporate VPN egress in {} for a user at home in {} (split tunnel)",
                CITIES[c as usize].name, home.name
            );
            for det in ["impossible_travel", "new_country", "location_mismatch"] {
                case(
                    Label::Benign,
                    &format!("corp-vpn-{u}"),
                    det,
                    vec![upn(u as u32)],
                    first,
                    last,
                    desc.clone(),
                );
            }
        }
        if let Some(c) = x.consumer_vpn {
            let desc = format!(
                "consumer VPN exit in {} in the evenings, at home in {}",
                CITIES[c as usize].name, home.name
            );
            for det in [
                "impossible_travel",
                "new_country",
                "location_mismatch",
                "anonymizer",
            ] {
                case(
                    Label::Benign,
                    &format!("consumer-vpn-{u}"),
                    det,
                    vec![upn(u as u32)],
                    first,
                    last,
                    desc.clone(),
                );
            }
        }
        if x.relay {
            case(
                Label::Benign,
                &format!("relay-{u}"),
                "anonymizer",
                vec![upn(u as u32)],
                first,
                last,
                "iCloud Private Relay on the phone".into(),
            );
        }
    }
    for (k, (a, b)) in plan.households.iter().enumerate() {
        case(
            Label::Benign,
            &format!("household-{}", k + 1),
            "shared_ip",
            vec![upn(*a), upn(*b)],
            first,
            last,
            "two employees living together share one home IP".into(),
        );
    }
    for (k, (members, city, f, l)) in plan.conferences.iter().enumerate() {
        if members.len() >= 2 {
            case(
                Label::Benign,
                &format!("conference-{}", k + 1),
                "shared_ip",
                members.iter().map(|&u| upn(u)).collect(),
                plan.day_epoch[*f as usize] - 86_400,
                plan.day_epoch[*l as usize] + 2 * 86_400,
                format!(
                    "{} long-tenured colleagues at one conference hotel in {}",
                    members.len(),
                    CITIES[*city as usize].name
                ),
            );
        }
    }

    let identities =
        plan.users.len() as u64 + plan.users.iter().filter(|u| u.aws.is_some()).count() as u64;
    let mut w = create(path)?;
    let org = TruthLine::Org(TruthOrg {
        kind: "org".into(),
        users: plan.users.len() as u64,
        identities,
        tenants: cfg.tenants,
        days: cfg.days,
        seed: cfg.seed,
        start: ts(plan.day_epoch[0]),
        end: ts(plan.day_epoch[days - 1] + 86_399),
        events,
    });
    let e = io_err(path);
    let res = (|| {
        serde_json::to_writer(&mut w, &org)?;
        w.write_all(b"\n")?;
        for c in &cases {
            serde_json::to_writer(&mut w, c)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    })();
    res.map_err(e)?;
    let attacks = cases.iter().filter(|c| c.kind == Label::Attack).count() as u64;
    Ok((attacks, cases.len() as u64 - attacks))
}
