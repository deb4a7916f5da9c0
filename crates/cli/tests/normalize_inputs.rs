//! `jetlag normalize` on bad records and on every input shape: the real binary, real files.
//! A broken record is rejected at its line and every other record still comes out (also
//! in the real 86-row Entra export from `../shared/data` with broken rows, and in a CSV
//! with an unclosed quote).

use std::io::Write;
use std::path::Path;

use assert_cmd::Command;

fn jetlag() -> Command {
    Command::cargo_bin("jetlag").unwrap()
}

fn event_ids(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// One record of each malformed kind the issue lists, between good ones: the good records
/// and the ones with a bad *optional* part come out, each bad one is rejected with
/// file:line and its reason, and the exit status is 0.
#[test]
fn bad_records_are_rejected_with_file_line_and_reason_and_the_rest_come_through() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bad/okta_bad_records.jsonl"
    );
    let out = jetlag().args(["normalize", path]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        event_ids(&out.stdout),
        ["good-1", "bad-lat", "bad-ip", "good-2"]
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expect = [
        (2, "okta: truncated JSON"),
        (
            3,
            "okta: wrong type: invalid type: integer `42`, expected a string",
        ),
        (4, "okta: not valid UTF-8 (at byte 113)"),
        (5, "byte order mark in the middle of the input"),
        (6, "empty line"),
        (
            7,
            "okta: implausible time in published: 9999-12-31T23:59:59Z",
        ),
        (8, "okta: missing actor.alternateId"),
    ];
    for (line, reason) in expect {
        let needle = format!("{path}:{line}: {reason}");
        assert!(stderr.contains(&needle), "missing {needle:?} in:\n{stderr}");
    }
    assert!(
        stderr.contains(
            "11 records read: 4 parsed, 0 skipped (not sign-ins), 7 rejected, 2 warnings"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{path}:9: client.geographicalContext: out-of-range coordinates (123.4, 2.35): location dropped"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{path}:10: client.ipAddress: unparseable IP \"not-an-ip\" dropped"
        )),
        "{stderr}"
    );
    // The event whose coordinates were out of range loses its whole location (contract).
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[1]["geo"].is_null(), "{}", lines[1]);
    assert!(lines[1]["geo"]["lat"].is_null());
    assert!(lines[2]["ip"].is_null());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const OKTA_1: &str = r#"{"uuid":"o1","published":"2024-05-01T10:00:00Z","eventType":"user.session.start","actor":{"alternateId":"a@x.com","type":"User"},"outcome":{"result":"SUCCESS"}}"#;
const OKTA_2: &str = r#"{"uuid":"o2","published":"2024-05-01T11:00:00Z","eventType":"user.session.start","actor":{"alternateId":"b@x.com","type":"User"},"outcome":{"result":"FAILURE"}}"#;

/// Gzip is found by its magic bytes (whatever the name), stdin is `-`, several inputs are
/// read in order, and an input that cannot be opened makes the exit status non-zero
/// without losing the others.
#[test]
fn gzip_stdin_many_files_and_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("okta.log");
    std::fs::write(&gz, gzip(format!("{OKTA_1}\n").as_bytes())).unwrap();
    let missing = dir.path().join("nope.jsonl");
    let out = jetlag()
        .arg("normalize")
        .arg(&gz)
        .arg("-")
        .arg(&missing)
        .write_stdin(format!("{OKTA_2}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(event_ids(&out.stdout), ["o1", "o2"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cannot open") && stderr.contains("nope.jsonl"),
        "{stderr}"
    );
}

/// No path at all reads stdin; a corrupt gzip stream is an input read failure.
#[test]
fn no_path_is_stdin_and_corrupt_gzip_fails_the_input() {
    let out = jetlag()
        .arg("normalize")
        .write_stdin(format!("{OKTA_1}\n{OKTA_2}"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(event_ids(&out.stdout), ["o1", "o2"]);

    let mut bad = gzip(format!("{OKTA_1}\n{OKTA_2}\n").repeat(50).as_bytes());
    let n = bad.len();
    bad.truncate(n / 2);
    let out = jetlag()
        .args(["normalize", "-"])
        .write_stdin(bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read <stdin>"));
}

/// JSON documents: a pretty-printed array broken half-way keeps the elements before the
/// break; wrappers of each vendor are unpacked; line numbers point into the document.
#[test]
fn documents_arrays_and_wrappers() {
    let dir = tempfile::tempdir().unwrap();
    let array = dir.path().join("array.json");
    std::fs::write(
        &array,
        format!("[\n  {OKTA_1},\n  {OKTA_2},\n  {{\"uuid\": \"o3\", \"publ"),
    )
    .unwrap();
    let pretty = dir.path().join("pretty.json");
    let doc = serde_json::json!({"records": [
        serde_json::from_str::<serde_json::Value>(OKTA_2).unwrap(),
        {"time": "2024-05-01T12:00:00Z", "category": "SignInLogs", "properties": {"id": "e1"}}
    ]});
    std::fs::write(&pretty, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = jetlag()
        .arg("normalize")
        .arg(&array)
        .arg(&pretty)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(event_ids(&out.stdout), ["o1", "o2", "o2"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let array_name = array.display().to_string();
    assert!(
        stderr.contains(&format!("{array_name}:4: broken JSON array")),
        "{stderr}"
    );
    // The Entra record without a user is reported at the line its object starts on.
    let pretty_text = std::fs::read_to_string(&pretty).unwrap();
    let line = pretty_text
        .lines()
        .position(|l| l.contains("\"category\""))
        .unwrap();
    let before: Vec<&str> = pretty_text.lines().take(line).collect();
    let start = before.iter().rposition(|l| l.trim() == "{").unwrap() + 1;
    assert!(
        stderr.contains(&format!(
            "{}:{start}: entra: missing properties.userPrincipalName",
            pretty.display()
        )),
        "{stderr}"
    );
}

/// Non-sign-in events of known sources are skipped and counted, not rejected.
#[test]
fn other_events_of_known_sources_are_skipped() {
    let input = r#"{"uuid":"x","published":"2024-05-01T10:00:00Z","eventType":"user.lifecycle.create","actor":{"alternateId":"a@x.com"}}
{"eventVersion":"1.08","eventTime":"2024-05-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}
"#;
    let out = jetlag()
        .arg("normalize")
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("2 records read: 0 parsed, 2 skipped (not sign-ins), 0 rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains("okta") && stderr.contains("cloudtrail"),
        "{stderr}"
    );
}

/// `--format` forces a vendor; CSV needs a time and a user column, `--map` names them.
#[test]
fn format_and_map_flags() {
    let out = jetlag()
        .args(["normalize", "--format", "entra"])
        .write_stdin(format!("{OKTA_1}\n"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("<stdin>:1: entra: missing"));

    let csv = "When,Who\n2024-05-01T10:00:00Z,Zed@X.com\n";
    let out = jetlag().arg("normalize").write_stdin(csv).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "<stdin>:2: csv: no time column (header: When,Who); name it with --map time=COLUMN"
    ));
    let out = jetlag()
        .args(["normalize", "--map", "time=When", "--map", "user=who"])
        .write_stdin(csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(r#""user":"zed@x.com""#), "{stdout}");

    let out = jetlag()
        .args(["normalize", "--map", "colour=x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field 'colour'"));
    let out = jetlag()
        .args(["normalize", "--format", "syslog"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// A large NDJSON input streams: the events come out in order and the counts add up.
#[test]
fn many_records_stream_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl.gz");
    let mut body = String::new();
    for i in 0..20_000 {
        body.push_str(&OKTA_1.replace("\"o1\"", &format!("\"o{i}\"")));
        body.push('\n');
    }
    std::fs::write(&path, gzip(body.as_bytes())).unwrap();
    let out = jetlag().arg("normalize").arg(&path).output().unwrap();
    assert!(out.status.success());
    let ids = event_ids(&out.stdout);
    assert_eq!(ids.len(), 20_000);
    assert_eq!(ids[19_999], "o19999");
    assert!(Path::new(&path).exists());
}

// A broken record in an array or an unclosed CSV quote loses only that record.
fn entra_rows() -> Vec<serde_json::Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/samples/entra-signinlogs-msticpy/aad_signinlogs.jsonl"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (tests need ../shared/data)"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Deletes the closing quote of the `UserPrincipalName` value of row `row`.
fn break_row(text: &mut String, row: usize) {
    let key = "\"UserPrincipalName\":";
    let at = text.match_indices(key).nth(row).unwrap().0 + key.len();
    let open = at + text[at..].find('"').unwrap();
    let close = open + 1 + text[open + 1..].find('"').unwrap();
    text.remove(close);
}

#[test]
fn a_broken_row_in_an_entra_array_or_page_loses_only_itself() {
    let rows = entra_rows();
    assert_eq!(rows.len(), 86);
    let dir = tempfile::tempdir().unwrap();
    let intact = dir.path().join("intact.json");
    std::fs::write(&intact, serde_json::to_string_pretty(&rows).unwrap()).unwrap();
    let out = jetlag().arg("normalize").arg(&intact).output().unwrap();
    assert!(out.status.success());
    let all = event_ids(&out.stdout);
    assert_eq!(all.len(), 86);

    // Pretty-printed array, row 40 broken.
    let mut text = serde_json::to_string_pretty(&rows).unwrap();
    break_row(&mut text, 40);
    let start = 1 + text[..text.match_indices("\n  {").nth(40).unwrap().0 + 1]
        .matches('\n')
        .count();
    let array = dir.path().join("array.json");
    std::fs::write(&array, &text).unwrap();
    // A Graph page on one line, rows 0, 10 and 85 broken.
    let mut page = serde_json::to_string(&serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": rows,
    }))
    .unwrap();
    for row in [85, 10, 0] {
        break_row(&mut page, row);
    }
    let page_path = dir.path().join("page.json");
    std::fs::write(&page_path, &page).unwrap();

    let out = jetlag()
        .arg("normalize")
        .arg(&array)
        .arg(&page_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let got = event_ids(&out.stdout);
    let mut want: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 40)
        .map(|(_, id)| id.clone())
        .collect();
    want.extend(
        all.iter()
            .enumerate()
            .filter(|&(i, _)| ![0, 10, 85].contains(&i))
            .map(|(_, id)| id.clone()),
    );
    assert_eq!(got, want);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let array_reject = format!("{}:{start}: broken JSON array element: ", array.display());
    assert!(stderr.contains(&array_reject), "{array_reject}\n{stderr}");
    let page_rejects = stderr
        .matches(&format!(
            "{}:1: broken JSON array element: ",
            page_path.display()
        ))
        .count();
    assert_eq!(page_rejects, 3, "{stderr}");
    assert!(stderr.contains("4 rejected"), "{stderr}");
}

#[test]
fn an_unclosed_quote_in_a_csv_row_loses_only_that_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "time,user,ip,outcome\n\
         2026-01-05T09:00:00Z,a@x.com,1.1.1.1,success\n\
         2026-01-05T10:00:00Z,\"b@x.com,1.1.1.2,success\n\
         2026-01-05T11:00:00Z,c@x.com,1.1.1.3,success\n\
         2026-01-05T12:00:00Z,d@x.com,1.1.1.4,failure\n",
    )
    .unwrap();
    let out = jetlag().arg("normalize").arg(&csv).output().unwrap();
    assert!(out.status.success());
    let users: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["user"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(users, ["a@x.com", "c@x.com", "d@x.com"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{}:3: unclosed quote", csv.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 parsed") && stderr.contains("1 rejected"),
        "{stderr}"
    );
}

/// `--config`: the file's `[enrich]` lists are used (paths against its folder), then the
/// flags'; a bad file is an error naming the key.
#[test]
fn config_enrich_lists_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "time,user,ip,outcome\n2026-01-05T10:00:00Z,a@x.com,198.51.100.7,success\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("vpn.txt"), "198.51.100.0/24\n").unwrap();
    std::fs::write(dir.path().join("tor.txt"), "198.51.100.7\n").unwrap();
    let config = dir.path().join("jetlag.toml");
    std::fs::write(&config, "[enrich]\nintel = { vpn = [\"vpn.txt\"] }\n").unwrap();
    let network = |extra: &[&std::ffi::OsStr]| {
        let out = jetlag()
            .arg("normalize")
            .arg(&input)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["network"].clone()
    };
    assert_eq!(network(&[]), serde_json::json!([]));
    assert_eq!(
        network(&["-c".as_ref(), config.as_os_str()]),
        serde_json::json!(["vpn"])
    );
    let tor = format!("tor={}", dir.path().join("tor.txt").display());
    assert_eq!(
        network(&[
            "--config".as_ref(),
            config.as_os_str(),
            "--intel".as_ref(),
            tor.as_ref()
        ]),
        serde_json::json!(["tor", "vpn"])
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[enrich]\nintel = { warp = [\"vpn.txt\"] }\n").unwrap();
    let out = jetlag()
        .args(["normalize", "--config"])
        .arg(&bad)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("enrich.intel") && stderr.contains("warp"),
        "{stderr}"
    );
}

#[test]
fn escape_sequences_in_rejected_input_never_reach_the_terminal() {
    // A CSV header (quoted in the reject reason) and an --intel list line (quoted in the
    // fatal error) holding terminal escapes: shown as text on stderr, never as bytes.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("evil.csv");
    std::fs::write(
        &csv,
        "wh\u{1b}[31mo,when\u{1b}]0;OWNED\u{7}\nkim,2025-03-01T00:00:00Z\n",
    )
    .unwrap();
    let out = jetlag().args(["normalize"]).arg(&csv).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("rejected:"), "{stderr}");
    assert!(stderr.contains("wh\\u{1b}[31mo"), "{stderr}");
    assert!(!stderr.contains(['\u{1b}', '\u{7}']), "{stderr:?}");

    let list = dir.path().join("vpn.txt");
    std::fs::write(&list, "\u{1b}[2Knot an address\n").unwrap();
    let out = jetlag()
        .args(["normalize", "--intel"])
        .arg(format!("vpn={}", list.display()))
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("jetlag: error:"), "{stderr}");
    assert!(stderr.contains("\\u{1b}[2Knot"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

/// Audit A's judgement call 4: `normalize X -o X` emptied X before reading it.
#[test]
fn j4_normalize_refuses_an_output_that_is_one_of_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/okta/okta_docs_logevents.jsonl"
    );
    let same = dir.path().join("same.ndjson");
    std::fs::copy(src, &same).unwrap();
    let before = std::fs::read(&same).unwrap();
    let symlink = dir.path().join("other-name.ndjson");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&same, &symlink).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(&same, &symlink).unwrap();
    for out in [&same, &symlink] {
        let res = jetlag()
            .arg("normalize")
            .arg(src)
            .arg(&same)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&res.stderr);
        if cfg!(not(unix)) && out == &symlink {
            continue;
        }
        assert_eq!(res.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("-o ") && stderr.contains("is the input"),
            "{stderr}"
        );
        assert!(res.stdout.is_empty());
        assert_eq!(std::fs::read(&same).unwrap(), before, "the input is intact");
    }
    // Another file is fine.
    let other = dir.path().join("events.jsonl");
    jetlag()
        .arg("normalize")
        .arg(&same)
        .arg("-o")
        .arg(&other)
        .assert()
        .success();
    assert!(std::fs::metadata(&other).unwrap().len() > 0);
}

/// The real Okta sample with its first line damaged as logs are: cut mid-record (`tail -c`,
/// `split -b`), a block of NUL bytes, a comment, a truncated line followed by a blank one.
/// Each is read as NDJSON: the damaged lines are rejected at their lines and every other
/// record comes out exactly as from the sample without its first line.
#[test]
fn a_damaged_first_line_does_not_make_ndjson_csv() {
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/okta/panther_okta_systemlog.jsonl"
    ))
    .unwrap();
    let (first, rest) = sample.split_once('\n').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, body: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        jetlag().arg("normalize").arg(&path).output().unwrap()
    };
    let want = run("rest.jsonl", rest.as_bytes());
    assert!(want.status.success());
    assert!(!want.stdout.is_empty());
    // The sample has rejects of its own.
    let rejected_in = |stderr: &[u8]| -> usize {
        let stderr = String::from_utf8_lossy(stderr);
        let (before, _) = stderr.split_once(" rejected").unwrap();
        before.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let rest_rejected = rejected_in(&want.stderr);
    // (file, its damaged head, the lines rejected)
    let cases: [(&str, String, &[u64]); 4] = [
        (
            "tail.jsonl",
            format!("{}\n", &first[first.len() / 2..]),
            &[1],
        ),
        ("nul.jsonl", format!("{}\n", "\0".repeat(4096)), &[1]),
        ("comment.jsonl", "# exported by hand\n".into(), &[1]),
        (
            "truncated.jsonl",
            format!("{}\n\n", &first[..first.len() / 2]),
            &[1, 2],
        ),
    ];
    for (name, head, rejected) in cases {
        let out = run(name, format!("{head}{rest}").as_bytes());
        assert!(out.status.success(), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{name}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in rejected {
            assert!(
                stderr.contains(&format!("{name}:{line}: ")),
                "{name}: {stderr}"
            );
        }
        assert_eq!(
            rejected_in(&out.stderr),
            rest_rejected + rejected.len(),
            "{name}: {stderr}"
        );
    }
}

/// What Windows PowerShell 5 writes with `>` (UTF-16LE, a byte order mark, CRLF) reads as
/// the UTF-8 file does; a binary file is one error for the file (exit status 1, the other
/// inputs read), not a reject per line.
#[test]
fn a_utf16_file_is_read_and_a_binary_file_is_one_error() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/okta/panther_okta_systemlog.jsonl"
    );
    let sample = std::fs::read_to_string(path).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in sample.replace('\n', "\r\n").encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let mut binary = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0".to_vec();
    for i in 0..3000u32 {
        binary.extend_from_slice(&(i * 7919).to_le_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let (u, b) = (dir.path().join("utf16.json"), dir.path().join("a.out"));
    std::fs::write(&u, utf16).unwrap();
    std::fs::write(&b, binary).unwrap();
    let want = jetlag().args(["normalize", path]).output().unwrap();
    let out = jetlag().arg("normalize").arg(&u).arg(&b).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, want.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = format!(
        "cannot read {}: binary data (a NUL byte on line 1), not NDJSON, JSON or CSV",
        b.display()
    );
    assert_eq!(stderr.matches(&error).count(), 1, "{stderr}");
    let per_line = stderr
        .split("a.out:")
        .skip(1)
        .any(|after| after.starts_with(|c: char| c.is_ascii_digit()));
    assert!(!per_line, "no reject per line: {stderr}");
}
