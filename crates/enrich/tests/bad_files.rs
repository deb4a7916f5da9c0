//! Corrupt and foreign files fail at load with a message naming the file; reload swaps in
//! changed files and keeps the old ones when the new ones are bad.

use std::path::{Path, PathBuf};

use jetlag_enrich::{Enricher, Error};
use jetlag_event::NetClass;

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/maxmind")).join(name)
}

fn load_err(path: &Path) -> Error {
    Enricher::builder().geoip(path).build().unwrap_err()
}

#[test]
fn truncated_mmdb_fails_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(data("GeoIP2-City-Test.mmdb")).unwrap();
    let path = dir.path().join("truncated.mmdb");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_err(&path);
    assert!(matches!(err, Error::Mmdb { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated.mmdb"), "{err}");
}

#[test]
fn corrupt_data_section_fails_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(data("GeoIP2-City-Test.mmdb")).unwrap();
    // The data section follows the search tree (node_count * record_size/4 bytes) and a
    // 16-byte separator; scribble over the whole of it, keeping the metadata.
    let marker = b"\xAB\xCD\xEFMaxMind.com";
    let meta = bytes
        .windows(marker.len())
        .rposition(|w| w == marker)
        .unwrap();
    let tree = 1547 * 28 / 4; // node_count and record_size of this database
    for b in &mut bytes[tree + 16..meta] {
        *b = 0xFF;
    }
    let path = dir.path().join("corrupt.mmdb");
    std::fs::write(&path, &bytes).unwrap();
    let err = load_err(&path);
    assert!(matches!(err, Error::Mmdb { .. }), "{err:?}");
    assert!(err.to_string().contains("corrupt.mmdb"), "{err}");
}

#[test]
fn a_text_file_named_mmdb_is_not_an_mmdb() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("GeoLite2-City.mmdb");
    std::fs::write(&path, "<html>404 not found</html>\n").unwrap();
    let err = load_err(&path);
    assert!(err.to_string().contains("not a valid MaxMind DB"), "{err}");
}

#[test]
fn an_image_is_not_a_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ranges.csv");
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    assert!(matches!(load_err(&path), Error::Mmdb { .. }));
}

#[test]
fn bad_csv_rows_are_reported_and_good_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("asn.csv");
    std::fs::write(
        &path,
        "1.0.0.0,1.0.0.255,13335,Cloudflare\n1.0.1.0,1.0.0.0,1,backwards\n1.0.4.0,1.0.7.255,38803,Gtelecom\n",
    )
    .unwrap();
    let e = Enricher::builder().geoip(&path).build().unwrap();
    let problems = e.problems();
    assert_eq!(problems.len(), 1);
    let shown = problems[0].to_string();
    assert!(
        shown.contains("asn.csv:2:") && shown.contains("ends before it starts"),
        "{shown}"
    );
    assert_eq!(e.lookup("1.0.5.1".parse().unwrap()).asn, Some(38803));
}

#[test]
fn gzipped_csv_is_read_transparently() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("country.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,NZ\n")
        .unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let e = Enricher::builder().geoip(&path).build().unwrap();
    let geo = e.lookup("2001:db8:1::1".parse().unwrap()).geo.unwrap();
    assert_eq!(geo.country.unwrap().as_str(), "NZ");
}

#[test]
fn reload_swaps_changed_files_and_keeps_old_ones_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("geo.mmdb");
    let list = dir.path().join("tor.txt");
    std::fs::copy(data("GeoIP2-Country-Test.mmdb"), &db).unwrap();
    std::fs::write(&list, "203.0.113.7\n").unwrap();
    let e = Enricher::builder()
        .geoip(&db)
        .intel(NetClass::Tor, &list)
        .build()
        .unwrap();
    let london = "81.2.69.142".parse().unwrap();
    assert_eq!(
        e.lookup(london).geo.unwrap().city,
        None,
        "country DB: no city"
    );
    assert_eq!(e.reload().unwrap(), 0, "nothing changed");

    // Replace the database atomically (as `geoip update` does) and the list in place.
    let tmp = dir.path().join("geo.mmdb.new");
    std::fs::copy(data("GeoIP2-City-Test.mmdb"), &tmp).unwrap();
    std::fs::rename(&tmp, &db).unwrap();
    std::fs::write(&list, "203.0.113.7\n203.0.113.8\n").unwrap();
    assert_eq!(e.reload().unwrap(), 2);
    assert_eq!(
        e.lookup(london).geo.unwrap().city.as_deref(),
        Some("London")
    );
    assert!(
        e.lookup("203.0.113.8".parse().unwrap())
            .network
            .contains(NetClass::Tor)
    );

    // A broken replacement: reload fails, the loaded databases keep answering.
    std::fs::write(&db, b"garbage, not a database at all").unwrap();
    let err = e.reload().unwrap_err();
    assert!(err.to_string().contains("geo.mmdb"), "{err}");
    assert_eq!(
        e.lookup(london).geo.unwrap().city.as_deref(),
        Some("London")
    );
}

#[test]
fn lookups_during_reloads_always_see_a_whole_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("geo.mmdb");
    std::fs::copy(data("GeoIP2-Country-Test.mmdb"), &db).unwrap();
    let e = std::sync::Arc::new(Enricher::builder().geoip(&db).build().unwrap());
    let london: std::net::IpAddr = "81.2.69.142".parse().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (e, stop) = (e.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // Old database (country only) or new (city): always GB, never nothing.
                    let geo = e
                        .lookup(london)
                        .geo
                        .expect("a lookup during reload lost its answer");
                    assert_eq!(geo.country.unwrap().as_str(), "GB");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let sources = ["GeoIP2-City-Test.mmdb", "GeoIP2-Country-Test.mmdb"];
    for i in 0..20 {
        let tmp = dir.path().join("geo.mmdb.new");
        std::fs::copy(data(sources[i % 2]), &tmp).unwrap();
        std::fs::rename(&tmp, &db).unwrap();
        // Size differs between the two files, so every swap is seen as a change.
        assert_eq!(e.reload().unwrap(), 1);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(total > 0);
    assert_eq!(
        e.lookup(london).geo.unwrap().city,
        None,
        "the last swap installed Country"
    );
}

#[test]
fn watch_reloads_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("vpn.txt");
    std::fs::write(&list, "198.51.100.1\n").unwrap();
    let e = std::sync::Arc::new(
        Enricher::builder()
            .intel(NetClass::Vpn, &list)
            .build()
            .unwrap(),
    );
    let handle = e.watch(std::time::Duration::from_millis(20));
    std::fs::write(&list, "198.51.100.1\n198.51.100.2\n").unwrap();
    let ip = "198.51.100.2".parse().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !e.lookup(ip).network.contains(NetClass::Vpn) {
        assert!(
            std::time::Instant::now() < deadline,
            "the watcher never reloaded"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(e);
    handle.join().unwrap();
}
