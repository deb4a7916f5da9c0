//! Records per second of each vendor parser, of `--format auto` (sniffing + parsing), and of
//! the whole read → normalize path over an NDJSON body; 100 000 distinct records each.
//!
//! Run: `cargo bench -p jetlag-normalize --bench parsers` (criterion reports "elem/s" =
//! records/s per core).

use std::hint::black_box;
use std::ops::ControlFlow;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jetlag_normalize::{Format, Normalizer, Parsed, parse_json, sniff};

#[path = "records.rs"]
mod records;

use records::{ENTRA, N, records, vendors};

fn parse_all(recs: &[Vec<u8>], format: Format) -> usize {
    let mut warnings = Vec::new();
    let mut n = 0;
    for r in recs {
        if let Ok(Parsed::Event(ev)) = parse_json(r, format, &mut warnings) {
            n += usize::from(black_box(&ev).mfa.is_some()) + 1;
        }
    }
    assert!(n >= recs.len(), "records did not parse");
    n
}

fn parsers(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    for (name, format, template) in vendors() {
        let recs = records(template);
        let bytes: usize = recs.iter().map(Vec::len).sum();
        eprintln!("{name}: {N} records, {} bytes each on average", bytes / N);
        group.bench_function(name, |b| b.iter(|| parse_all(&recs, format)));
        group.bench_function(format!("{name}/auto"), |b| {
            b.iter(|| parse_all(&recs, Format::Auto))
        });
        group.bench_function(format!("{name}/sniff-only"), |b| {
            b.iter(|| recs.iter().filter(|r| sniff(r).is_ok()).count())
        });
    }
    group.finish();
}

fn csv_and_pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("read+normalize");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    let mut ndjson = Vec::new();
    for r in records(ENTRA) {
        ndjson.extend_from_slice(&r);
        ndjson.push(b'\n');
    }
    group.bench_function("entra-ndjson/auto", |b| b.iter(|| run(&ndjson)));
    let mut csv = b"time,user,ip,result,latitude,longitude,country,app\n".to_vec();
    for i in 0..N {
        csv.extend_from_slice(
            format!(
                "2024-04-01T09:{:02}:{:02}Z,user{i}@example.com,198.51.{}.{},success,40.7128,-74.006,US,Workday\n",
                i / 60 % 60,
                i % 60,
                i / 256 % 256,
                i % 256
            )
            .as_bytes(),
        );
    }
    group.bench_function("csv", |b| b.iter(|| run(&csv)));
    group.finish();
}

fn run(body: &[u8]) -> u64 {
    let mut n = Normalizer::new(Format::Auto, Default::default());
    let mut events = 0u64;
    jetlag_read::read_slice("bench", body, |raw| {
        n.push("bench", raw, |ev| {
            black_box(&ev);
            events += 1;
        });
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(events, N as u64, "{:?}", n.stats().first_rejects);
    events
}

criterion_group!(benches, parsers, csv_and_pipeline);
criterion_main!(benches);
