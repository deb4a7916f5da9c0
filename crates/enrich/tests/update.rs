//! `update`: download from a local HTTP server on 127.0.0.1 serving fixtures (no internet).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jetlag_enrich::update::{ASN_FILE, CITY_FILE, update};
use jetlag_enrich::{Enricher, Error};

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/maxmind")).join(name)
}

fn gz(path: PathBuf) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(path).unwrap()).unwrap();
    enc.finish().unwrap()
}

/// A minimal HTTP/1.1 server: GET of a known path gives its bytes, anything else 404.
/// Returns the base URL and the log of requested paths.
fn serve(files: HashMap<String, Vec<u8>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/free", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header == "\r\n" => break,
                    Ok(_) => {}
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
            seen.lock().unwrap().push(path.clone());
            let (status, body) = match files.get(&path) {
                Some(b) => ("200 OK", b.clone()),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (base, log)
}

#[test]
fn downloads_verifies_and_installs_falling_back_to_last_month() {
    // November 2026 is "not published yet"; October is.
    let files = HashMap::from([
        (
            "/free/dbip-city-lite-2026-10.mmdb.gz".to_owned(),
            gz(data("GeoIP2-City-Test.mmdb")),
        ),
        (
            "/free/dbip-asn-lite-2026-10.mmdb.gz".to_owned(),
            gz(data("GeoLite2-ASN-Test.mmdb")),
        ),
    ]);
    let (base, log) = serve(files);
    let dir = tempfile::tempdir().unwrap();
    let today = jiff::civil::date(2026, 11, 2);
    let installed = update(dir.path(), &base, today).unwrap();
    assert_eq!(installed.len(), 2);
    assert_eq!(installed[0].database_type, "GeoIP2-City");
    assert!(installed[0].url.ends_with("dbip-city-lite-2026-10.mmdb.gz"));
    let requested = log.lock().unwrap().clone();
    assert_eq!(requested[0], "/free/dbip-city-lite-2026-11.mmdb.gz");

    // The installed files are what the enricher loads.
    let e = Enricher::builder()
        .geoip(dir.path().join(CITY_FILE))
        .geoip(dir.path().join(ASN_FILE))
        .build()
        .unwrap();
    let info = e.lookup("81.2.69.142".parse().unwrap());
    assert_eq!(info.geo.unwrap().city.as_deref(), Some("London"));
    assert_eq!(e.lookup("1.128.0.1".parse().unwrap()).asn, Some(1221));
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".jetlag-download")),
        "{names:?}"
    );
}

#[test]
fn a_bad_download_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CITY_FILE), b"old city").unwrap();
    // The "City" file is really an ASN database; the ASN file is gzipped garbage.
    let mut garbage = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    garbage.write_all(b"<html>maintenance</html>").unwrap();
    let files = HashMap::from([
        (
            "/free/dbip-city-lite-2026-11.mmdb.gz".to_owned(),
            gz(data("GeoLite2-ASN-Test.mmdb")),
        ),
        (
            "/free/dbip-asn-lite-2026-11.mmdb.gz".to_owned(),
            garbage.finish().unwrap(),
        ),
    ]);
    let (base, _) = serve(files);
    let err = update(dir.path(), &base, jiff::civil::date(2026, 11, 20)).unwrap_err();
    assert!(matches!(err, Error::Verify { what: "city", .. }), "{err}");
    assert!(err.to_string().contains("expected city"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(CITY_FILE)).unwrap(),
        b"old city"
    );
    assert!(!dir.path().join(ASN_FILE).exists());
}

#[test]
fn nothing_published_is_a_download_error() {
    let (base, _) = serve(HashMap::new());
    let dir = tempfile::tempdir().unwrap();
    let err = update(dir.path(), &base, jiff::civil::date(2026, 1, 5)).unwrap_err();
    // January falls back to December of the year before.
    assert!(
        err.to_string().contains("dbip-city-lite-2025-12.mmdb.gz"),
        "{err}"
    );
    assert!(err.to_string().contains("404"), "{err}");
}
