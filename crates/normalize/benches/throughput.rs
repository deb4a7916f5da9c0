//! Records per CPU-second of each vendor parser (and `--format auto`), on 100 000 distinct
//! records each, measured with the thread's own CPU time (Linux `/proc/thread-self/stat`)
//! so that a busy shared machine does not distort the per-core figure; wall-clock
//! throughput is printed beside it.
//!
//! Run: `cargo bench -p jetlag-normalize --bench throughput` (`-- okta ecs` for some vendors
//! only; `-- okta --file PATH` for the first 100 000 sign-ins of an NDJSON file instead of
//! the built-in records, e.g. the scan bench's `/tmp/jetlag-scan-bench/okta-1000000-50000.jsonl`).

use std::hint::black_box;
use std::time::Instant;

use jetlag_normalize::{Filled, Format, Parsed, SignIn, parse_json, parse_json_into, sniff};

#[path = "records.rs"]
mod records;

/// CPU time of this thread in seconds (utime + stime, clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("Linux /proc needed");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn measure(label: &str, rounds: usize, n: usize, mut f: impl FnMut() -> usize) {
    f(); // warm up
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let mut done = 0;
    for _ in 0..rounds {
        done += f();
    }
    let cpu = cpu_seconds() - cpu0;
    let wall = wall0.elapsed().as_secs_f64();
    assert_eq!(done, rounds * n, "{label}: not every record was handled");
    println!(
        "{label:<22} {:>9.0} records/CPU-s   {:>9.0} records/s wall",
        done as f64 / cpu.max(0.01),
        done as f64 / wall
    );
}

/// The first [`records::N`] lines of an NDJSON file that are sign-ins of `format` (read no
/// further than those).
fn sign_ins(path: &str, format: Format) -> Vec<Vec<u8>> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).expect("the --file to open");
    std::io::BufReader::new(file)
        .split(b'\n')
        .map(|line| line.expect("the --file to read"))
        .filter(|line| {
            matches!(
                parse_json(line, format, &mut Vec::new()),
                Ok(Parsed::Event(_))
            )
        })
        .take(records::N)
        .collect()
}

fn main() {
    let rounds = 5;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = args
        .iter()
        .position(|a| a == "--file")
        .and_then(|i| args.get(i + 1));
    let only: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with('-') && Some(*a) != file)
        .collect();
    for (name, format, template) in records::vendors() {
        if !only.is_empty() && !only.iter().any(|o| *o == name) {
            continue;
        }
        let recs = match file {
            Some(path) => sign_ins(path, format),
            None => records::records(template),
        };
        let avg = recs.iter().map(Vec::len).sum::<usize>() / recs.len();
        println!("{name}: {} records of {avg} bytes on average", recs.len());
        let parse = |format| {
            let recs = &recs;
            move || {
                let mut warnings = Vec::new();
                recs.iter()
                    .filter(|r| matches!(parse_json(r, format, &mut warnings), Ok(Parsed::Event(ev)) if black_box(&ev).time.as_second() > 0))
                    .count()
            }
        };
        measure(&format!("  {name}"), rounds, recs.len(), parse(format));
        // Into one reused event, as `jetlag normalize` and `scan` parse.
        let mut event = SignIn::new(
            "",
            jetlag_event::Timestamp::UNIX_EPOCH,
            jetlag_normalize::Source::Csv,
            "",
            jetlag_event::Outcome::Unknown,
        );
        let mut warnings = Vec::new();
        measure(&format!("  {name} (into)"), rounds, recs.len(), || {
            recs.iter()
                .filter(|r| {
                    matches!(
                        parse_json_into(r, format, &mut event, &mut warnings),
                        Ok(Filled::Event)
                    ) && black_box(&event).time.as_second() > 0
                })
                .count()
        });
        measure(
            &format!("  {name} (auto)"),
            rounds,
            recs.len(),
            parse(Format::Auto),
        );
        measure(
            &format!("  {name} (sniff only)"),
            rounds,
            recs.len(),
            || recs.iter().filter(|r| sniff(r).is_ok()).count(),
        );
    }
}
