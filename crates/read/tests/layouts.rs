//! Every layout the reader knows, with the line numbers it reports.

mod common;

use std::io::Write;
use std::ops::ControlFlow;

use jetlag_read::{Item, Layout, read_input};

/// (line, what) for every item of an input that reads without error.
fn items(body: &[u8]) -> (Layout, Vec<(u64, String)>) {
    common::read(body).unwrap()
}

fn lines(v: &[(u64, String)]) -> Vec<u64> {
    v.iter().map(|(l, _)| *l).collect()
}

#[test]
fn ndjson_with_blank_lines_bom_and_crlf() {
    let (layout, got) =
        items(b"\xEF\xBB\xBF{\"a\":1}\r\n\n{\"a\":2}\n\xEF\xBB\xBF{\"a\":3}\n{\"a\":4}\n\n\n");
    assert_eq!(layout, Layout::Ndjson);
    assert_eq!(lines(&got), [1, 2, 3, 4, 5]);
    assert_eq!(got[0].1, r#"{"a":1}"#);
    assert_eq!(got[1].1, "bad:empty line");
    assert!(got[3].1.starts_with("bad:byte order mark"));
    assert_eq!(got[4].1, r#"{"a":4}"#); // trailing blank lines are not records
}

#[test]
fn ndjson_whose_first_record_is_truncated_stays_ndjson() {
    let (layout, got) = items(b"{\"a\":\n{\"a\":2}\n{\"a\":3}\n");
    assert_eq!(layout, Layout::Ndjson);
    assert_eq!(
        got,
        [
            (1, "{\"a\":".into()),
            (2, r#"{"a":2}"#.into()),
            (3, r#"{"a":3}"#.into())
        ]
    );
}

#[test]
fn wrappers_on_one_line_and_pretty_printed() {
    let (layout, got) = items(
        b"{\"@odata.context\":\"x\",\"value\":[{\"a\":1},{\"a\":2}]}\n{\"records\":[{\"a\":3}]}\n",
    );
    assert_eq!(layout, Layout::Ndjson);
    assert_eq!(
        got.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
        [r#"{"a":1}"#, r#"{"a":2}"#, r#"{"a":3}"#]
    );
    assert_eq!(lines(&got), [1, 1, 2]);

    let pretty = b"\n{\n  \"Records\": [\n    {\"a\": 1},\n    {\n      \"a\": 2\n    }\n  ]\n}\n";
    let (layout, got) = items(pretty);
    assert_eq!(layout, Layout::Document);
    assert_eq!(lines(&got), [4, 5]);
    let (_, got) = items(b"{\"items\":[{\"a\":1}], \"kind\":\"admin#reports#activities\"}");
    assert_eq!(got, [(1, r#"{"a":1}"#.into())]);
}

#[test]
fn a_plain_object_with_a_value_field_is_one_record() {
    let (_, got) = items(b"{\"name\":\"x\",\"value\":\"y\"}\n");
    assert_eq!(got, [(1, r#"{"name":"x","value":"y"}"#.into())]);
}

#[test]
fn arrays_keep_the_elements_before_a_break() {
    let (layout, got) = items(b"[\n {\"a\":1},\n {\"a\":2},\n {\"a\"");
    assert_eq!(layout, Layout::Document);
    assert_eq!(lines(&got), [2, 3, 4]);
    assert!(got[2].1.starts_with("bad:broken JSON array"), "{got:?}");
    let (_, got) = items(b"[]");
    assert!(got.is_empty());
}

#[test]
fn csv_with_header_and_quoted_fields() {
    let (layout, got) =
        items(b"\xEF\xBB\xBFtime,user\n\n2024-01-01T00:00:00Z,\"a, b\"\n2024-01-02T00:00:00Z,c\n");
    assert_eq!(layout, Layout::Csv);
    assert_eq!(
        got,
        [
            (1, "csv:time|user".into()),
            (3, "csv:2024-01-01T00:00:00Z|a, b".into()),
            (4, "csv:2024-01-02T00:00:00Z|c".into())
        ]
    );
}

#[test]
fn csv_lines_count_quoted_newlines() {
    let (_, got) = items(b"time,user\n2024-01-01T00:00:00Z,\"a\nb\"\n2024-01-02T00:00:00Z,c\n");
    assert_eq!(lines(&got), [1, 2, 4]);
}

#[test]
fn empty_and_whitespace_inputs() {
    assert_eq!(items(b"").0, Layout::Empty);
    assert_eq!(items(b"  \n\n ").0, Layout::Empty);
}

#[test]
fn gzip_by_magic_bytes_and_stop_on_request() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..1000 {
        writeln!(enc, "{{\"i\":{i}}}").unwrap();
    }
    let gz = enc.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain-name.json");
    std::fs::write(&path, &gz).unwrap();
    let mut seen = 0;
    let layout = read_input(&jetlag_read::Input::Path(path), |raw| {
        seen += 1;
        assert_eq!(raw.line, seen);
        if seen == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!((layout, seen), (Layout::Ndjson, 10));
    let err = read_input(
        &jetlag_read::Input::Path(dir.path().join("missing")),
        |_| ControlFlow::Continue(()),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("cannot open"), "{err}");
}

/// A reader that hands out at most `chunk` bytes per call, so that lines straddle the
/// reader's buffer fills.
struct Trickle<'a> {
    rest: &'a [u8],
    chunk: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.len().min(self.chunk).min(buf.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

#[test]
fn ndjson_lines_across_buffer_fills_and_longer_than_the_buffer() {
    let long = format!("{{\"ua\":\"{}\"}}", "x".repeat(200_000));
    let mut body = String::new();
    let mut want = Vec::new();
    for i in 0..50 {
        let rec = if i % 10 == 3 {
            long.clone()
        } else {
            format!("{{\"i\":{i}}}")
        };
        body.push_str(&rec);
        body.push_str(if i % 2 == 0 { "\n" } else { "\r\n" });
        want.push((i + 1, rec));
    }
    body.push_str("{\"last\":true}"); // no newline at the end
    want.push((51, "{\"last\":true}".into()));
    let (layout, got) = items(body.as_bytes());
    assert_eq!(layout, Layout::Ndjson);
    assert_eq!(got, want);
    for chunk in [1, 7, 64, 4096] {
        let mut got = Vec::new();
        let trickle = Trickle {
            rest: body.as_bytes(),
            chunk,
        };
        jetlag_read::read_from("t", trickle, |raw| {
            if let Item::Json(b) = raw.item {
                got.push((raw.line, String::from_utf8_lossy(b).into_owned()));
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(got, want, "chunk {chunk}");
    }
}

/// Deeply nested JSON is split into records without recursion (serde_json skips values
/// with a stack on the heap), so it cannot overflow the stack here: each layout, on a
/// 256 KiB stack, hands over the deep record whole, between the records around it.
#[test]
fn deeply_nested_json_is_split_into_records_without_recursion() {
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let cases = [
        (
            "ndjson",
            format!("{{\"a\":1}}\n{deep}\n{{\"a\":3}}\n"),
            [1, 2, 3],
        ),
        (
            "array",
            format!("[\n{{\"a\":1}},\n{deep},\n{{\"a\":3}}\n]"),
            [2, 3, 4],
        ),
        (
            "wrapper line",
            format!("{{\"records\":[{{\"a\":1}},{deep},{{\"a\":3}}]}}\n"),
            [1, 1, 1],
        ),
        (
            "pretty wrapper",
            format!("{{\n\"value\": [\n{{\"a\":1}},\n{deep},\n{{\"a\":3}}\n]\n}}\n"),
            [3, 4, 5],
        ),
    ];
    for (what, body, want_lines) in cases {
        let deep = deep.clone();
        let got = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || items(body.as_bytes()).1)
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(lines(&got), want_lines, "{what}");
        assert_eq!(got[0].1, r#"{"a":1}"#, "{what}");
        assert_eq!(got[1].1, deep, "{what}");
        assert_eq!(got[2].1, r#"{"a":3}"#, "{what}");
    }
    let bare = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let got = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || items(bare.as_bytes()).1)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.len(), 199_998, "the bare array's one element");
}
