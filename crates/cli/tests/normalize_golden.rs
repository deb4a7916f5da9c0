//! Golden files: every vendor sample under `tests/data/<vendor>/` goes through the real
//! `jetlag normalize` binary and must print exactly `<name>.expected.jsonl`.
//!
//! Inputs are the files with extension `.json`, `.jsonl`, `.csv` or `.gz` (not
//! `*.expected.jsonl`); extra command-line arguments, one per line, may sit in
//! `<name>.args`. To re-create the expected files after a deliberate change, run
//! `JETLAG_BLESS=1 cargo test -p jetlag --test normalize_golden` and review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const VENDORS: [&str; 7] = [
    "entra",
    "okta",
    "google",
    "cloudtrail",
    "ocsf",
    "ecs",
    "csv",
];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn inputs(vendor: &str) -> Vec<PathBuf> {
    let dir = data_dir().join(vendor);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.ends_with(".expected.jsonl")
                && [".json", ".jsonl", ".csv", ".gz"]
                    .iter()
                    .any(|ext| name.ends_with(ext))
        })
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    name.split('.').next().unwrap().to_owned()
}

fn normalize(input: &Path) -> (String, String) {
    let args_file = input.with_file_name(format!("{}.args", stem(input)));
    let extra: Vec<String> = fs::read_to_string(&args_file)
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let out = Command::cargo_bin("jetlag")
        .unwrap()
        .arg("normalize")
        .args(&extra)
        .arg(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jetlag normalize {} failed: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn every_vendor_sample_matches_its_expected_output() {
    let bless = std::env::var_os("JETLAG_BLESS").is_some();
    let mut checked = 0;
    for vendor in VENDORS {
        let files = inputs(vendor);
        assert!(!files.is_empty(), "no golden inputs for {vendor}");
        for input in files {
            let expected_path = input.with_file_name(format!("{}.expected.jsonl", stem(&input)));
            let (stdout, stderr) = normalize(&input);
            if bless {
                fs::write(&expected_path, &stdout).unwrap();
                continue;
            }
            let expected = fs::read_to_string(&expected_path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (bless with JETLAG_BLESS=1)",
                    expected_path.display()
                )
            });
            assert!(
                !expected.trim().is_empty(),
                "{}: expected no events at all?",
                expected_path.display()
            );
            for (i, (got, want)) in stdout.lines().zip(expected.lines()).enumerate() {
                assert_eq!(
                    got,
                    want,
                    "{} event {} differs\nstderr:\n{stderr}",
                    input.display(),
                    i + 1
                );
            }
            assert_eq!(
                stdout.lines().count(),
                expected.lines().count(),
                "{}: number of events differs\nstderr:\n{stderr}",
                input.display()
            );
            // Every event is of the vendor's source.
            let source = format!("\"source\":\"{vendor}\"");
            assert!(
                stdout.lines().all(|l| l.contains(&source)),
                "{}",
                input.display()
            );
            checked += 1;
        }
    }
    if !bless {
        assert!(checked >= 12, "only {checked} golden files checked");
    }
}

/// The full real Entra `SigninLogs` export (86 rows) from ../shared/data: every row
/// parses, and the location is LocationDetails' (the flat Latitude/Longitude columns of
/// that fixture were shifted by +1°).
#[test]
fn the_real_msticpy_signinlogs_export_parses_completely() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/samples/entra-signinlogs-msticpy/aad_signinlogs.jsonl"
    );
    assert!(
        Path::new(path).exists(),
        "{path} is missing: tests need ../shared/data"
    );
    let (stdout, stderr) = normalize(Path::new(path));
    assert_eq!(stdout.lines().count(), 86, "{stderr}");
    assert!(
        stderr.contains("86 records read: 86 parsed, 0 skipped (not sign-ins), 0 rejected"),
        "{stderr}"
    );
    let raw = fs::read_to_string(path).unwrap();
    for (line, event) in raw.lines().zip(stdout.lines()) {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let ev: serde_json::Value = serde_json::from_str(event).unwrap();
        assert_eq!(ev["event_id"], row["Id"]);
        assert_eq!(
            ev["user"],
            row["UserPrincipalName"].as_str().unwrap().to_lowercase()
        );
        let want = if row["ResultType"] == "0" {
            "success"
        } else {
            "failure"
        };
        assert_eq!(ev["outcome"], want, "{}", row["Id"]);
        let coords = &row["LocationDetails"]["geoCoordinates"];
        if let Some(lat) = coords["latitude"].as_f64() {
            assert_eq!(ev["geo"]["lat"].as_f64(), Some(lat));
            assert_ne!(ev["geo"]["lat"].as_f64(), row["Latitude"].as_f64());
        }
    }
}
