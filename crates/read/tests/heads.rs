//! How the head of an input decides its layout: a damaged first line does not turn NDJSON
//! into CSV or a document, UTF-16 with its byte order mark is read, binary input is one
//! error, and CSV and documents are still told apart.

mod common;

use std::io::Write;

use common::read;
use jetlag_read::Layout;

/// What a body is, the body, its layout and its items.
type Case<'a> = (&'a str, &'a [u8], Layout, &'a [(u64, &'a str)]);

/// Checks each case.
fn check(cases: &[Case<'_>]) {
    for &(what, body, layout, want) in cases {
        let (got_layout, got) = read(body).unwrap_or_else(|e| panic!("{what}: {e}"));
        let want: Vec<(u64, String)> = want.iter().map(|&(l, s)| (l, s.to_owned())).collect();
        assert_eq!((got_layout, got), (layout, want), "{what}");
    }
}

const A1: &str = r#"{"a":1}"#;
const A2: &str = r#"{"a":2}"#;
const A3: &str = r#"{"a":3}"#;

#[test]
fn a_damaged_first_line_does_not_make_ndjson_csv() {
    check(&[
        (
            "the partial line `tail -c` or `split -b` leaves",
            b"tId\": \"XJuhf-Ft\", \"x\": 1}\n{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
            Layout::Ndjson,
            &[
                (1, r#"tId": "XJuhf-Ft", "x": 1}"#),
                (2, A1),
                (3, A2),
                (4, A3),
            ],
        ),
        (
            "a partial line that starts with a quote, as a quoted CSV header does",
            b"\"userAgent\": \"curl\"}}\r\n{\"a\":1}\r\n{\"a\":2}\r\n",
            Layout::Ndjson,
            &[(1, r#""userAgent": "curl"}}"#), (2, A1), (3, A2)],
        ),
        (
            "a partial line that starts with `[`",
            b"[1,2]},\"y\":{\"z\":1}}\n{\"a\":1}\n{\"a\":2}\n",
            Layout::Ndjson,
            &[(1, r#"[1,2]},"y":{"z":1}}"#), (2, A1), (3, A2)],
        ),
        (
            "a block of NUL bytes, as a crash leaves",
            b"\0\0\0\0\0\0\0\0\n{\"a\":1}\n{\"a\":2}\n",
            Layout::Ndjson,
            &[(1, "\0\0\0\0\0\0\0\0"), (2, A1), (3, A2)],
        ),
        (
            "a comment line",
            b"# exported 2024-05-01\n{\"a\":1}\n{\"a\":2}\n",
            Layout::Ndjson,
            &[(1, "# exported 2024-05-01"), (2, A1), (3, A2)],
        ),
        (
            "a header line before JSON records",
            b"\xEF\xBB\xBFmessage\n{\"a\":1}\n\n{\"a\":2}\n",
            Layout::Ndjson,
            &[(1, "message"), (2, A1), (3, "bad:empty line"), (4, A2)],
        ),
        (
            "more damaged lines, but fewer than the records",
            b"x\ny\n{\"a\":1}\nz\n{\"a\":2}\n{\"a\":3}\n",
            Layout::Ndjson,
            &[(1, "x"), (2, "y"), (3, A1), (4, "z"), (5, A2), (6, A3)],
        ),
    ]);
}

#[test]
fn a_broken_first_line_and_a_blank_or_broken_second_do_not_make_a_document() {
    check(&[
        (
            "a truncated line, then a blank one",
            b"{\"a\": {\"b\"\n\n{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
            Layout::Ndjson,
            &[
                (1, r#"{"a": {"b""#),
                (2, "bad:empty line"),
                (3, A1),
                (4, A2),
                (5, A3),
            ],
        ),
        (
            "two truncated lines",
            b"{\"a\": {\"b\"\n{\"c\":\n{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
            Layout::Ndjson,
            &[
                (1, r#"{"a": {"b""#),
                (2, r#"{"c":"#),
                (3, A1),
                (4, A2),
                (5, A3),
            ],
        ),
    ]);
}

#[test]
fn csv_and_documents_are_still_told_apart() {
    check(&[
        (
            "CSV whose fields are quoted",
            b"\"time\",\"user\"\n\"2024-05-01T10:00:00Z\",\"a\"\n",
            Layout::Csv,
            &[(1, "csv:time|user"), (2, "csv:2024-05-01T10:00:00Z|a")],
        ),
        (
            "CSV with a byte order mark and a JSON column",
            b"\xEF\xBB\xBFtime,details\n2024-05-01T10:00:00Z,\"{\"\"a\"\":1}\"\n",
            Layout::Csv,
            &[
                (1, "csv:time|details"),
                (2, r#"csv:2024-05-01T10:00:00Z|{"a":1}"#),
            ],
        ),
        (
            "a line that is not a log",
            b"this is not a log",
            Layout::Csv,
            &[(1, "csv:this is not a log")],
        ),
        (
            "a pretty-printed object",
            b"{\n  \"a\": 1,\n  \"b\": {\"c\": 2}\n}\n",
            Layout::Document,
            &[(1, "{\n  \"a\": 1,\n  \"b\": {\"c\": 2}\n}")],
        ),
        (
            "a page with one element per line: only the last is a whole object",
            b"{\"value\":[\n{\"a\":1},\n{\"a\":2}\n]}\n",
            Layout::Document,
            &[(2, A1), (3, A2)],
        ),
        (
            "a page of one element",
            b"{\"value\":[\n{\"a\":1}\n]}\n",
            Layout::Document,
            &[(2, A1)],
        ),
        (
            "an array on its first line, then objects",
            b"[{\"a\":1}]\n{\"a\":2}\n{\"a\":3}\n",
            Layout::Document,
            &[(1, A1), (2, A2), (3, A3)],
        ),
        (
            "a pretty-printed array",
            b"[\n  {\n    \"a\": 1\n  },\n  {\"a\":2}\n]\n",
            Layout::Document,
            &[(2, "{\n    \"a\": 1\n  }"), (5, A2)],
        ),
    ]);
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut out = if little_endian {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        out.extend(if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    out
}

#[test]
fn a_utf16_file_with_its_byte_order_mark_is_read_as_utf8() {
    // What Windows PowerShell 5 writes with `>`: UTF-16LE, a BOM, CRLF.
    let ndjson = utf16("{\"user\":\"zoë\"}\r\n{\"a\":2}\r\n", true);
    let csv = utf16("time,user\n2024-05-01T10:00:00Z,zoë\n", false);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&ndjson).unwrap();
    let gz = gz.finish().unwrap();
    check(&[
        (
            "UTF-16LE NDJSON",
            &ndjson,
            Layout::Ndjson,
            &[(1, r#"{"user":"zoë"}"#), (2, A2)],
        ),
        (
            "UTF-16BE CSV",
            &csv,
            Layout::Csv,
            &[(1, "csv:time|user"), (2, "csv:2024-05-01T10:00:00Z|zoë")],
        ),
        (
            "gzipped UTF-16LE NDJSON",
            &gz,
            Layout::Ndjson,
            &[(1, r#"{"user":"zoë"}"#), (2, A2)],
        ),
    ]);
}

#[test]
fn a_binary_file_is_one_error_not_a_reject_per_line() {
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0".to_vec();
    for i in 0..2000u32 {
        elf.extend_from_slice(&i.to_le_bytes());
    }
    let utf16_without_bom = &utf16("time,user\n2024-05-01T10:00:00Z,a\n", true)[2..];
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "an executable",
            &elf,
            "cannot read t: binary data (a NUL byte on line 1), not NDJSON, JSON or CSV",
        ),
        (
            "UTF-16 without its byte order mark",
            utf16_without_bom,
            "cannot read t: UTF-16 text without a byte order mark (a NUL byte on line 1), \
             not NDJSON, JSON or CSV",
        ),
        (
            "NUL bytes, then CSV",
            b"\n\0\0\0\0\ntime,user\n2024-05-01T10:00:00Z,a\n",
            "cannot read t: binary data (a NUL byte on line 2), not NDJSON, JSON or CSV",
        ),
    ];
    for (what, body, error) in cases {
        assert_eq!(read(body), Err(error.to_owned()), "{what}");
    }
}

#[test]
fn csv_with_cr_only_line_ends_reports_each_row_at_its_line() {
    // A blank line, and a quoted field over two lines; LF, CRLF, and CR alone (classic Mac
    // OS, Excel's "CSV (Macintosh)") give the same lines.
    let lf = "time,user\n2024-05-01T10:00:00Z,a\n\n2024-05-01T10:01:00Z,\"b\nc\"\n2024-05-01T10:02:00Z,d\n";
    for eol in ["\n", "\r\n", "\r"] {
        let body = lf.replace('\n', eol);
        let multi_line = format!("csv:2024-05-01T10:01:00Z|b{eol}c");
        check(&[(
            &format!("{eol:?}"),
            body.as_bytes(),
            Layout::Csv,
            &[
                (1, "csv:time|user"),
                (2, "csv:2024-05-01T10:00:00Z|a"),
                (4, &multi_line),
                (6, "csv:2024-05-01T10:02:00Z|d"),
            ],
        )]);
    }
    // An unclosed quote is rejected at its line and reading goes on at the next.
    let broken =
        "time,user\r2024-05-01T10:00:00Z,a\r2024-05-01T10:01:00Z,\"b\r2024-05-01T10:02:00Z,d\r";
    check(&[(
        "cr, unclosed quote",
        broken.as_bytes(),
        Layout::Csv,
        &[
            (1, "csv:time|user"),
            (2, "csv:2024-05-01T10:00:00Z|a"),
            (
                3,
                "bad:unclosed quote: this CSV row is skipped, reading goes on at the next line",
            ),
            (4, "csv:2024-05-01T10:02:00Z|d"),
        ],
    )]);
}
