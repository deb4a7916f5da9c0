//! Broken records lose only themselves: a syntax error inside a JSON array, or an
//! unclosed quote in a CSV row, is reported at its line and the records after it still
//! come out.

use std::ops::ControlFlow;

use jetlag_read::{Item, read_slice};

/// (line, what) for every item: a JSON record's `id`, `csv:` + fields, or `bad:` + reason.
fn items(body: &[u8]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    read_slice("t", body, |raw| {
        let what = match raw.item {
            Item::Json(b) => match serde_json::from_slice::<serde_json::Value>(b) {
                Ok(v) => v["id"].as_str().unwrap_or("?").to_owned(),
                Err(_) => format!("json:{}", String::from_utf8_lossy(b)),
            },
            Item::CsvHeader(r) | Item::CsvRow(r) => {
                let fields: Vec<_> = r
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                format!("csv:{}", fields.join("|"))
            }
            Item::Malformed(reason) => format!("bad:{reason}"),
        };
        out.push((raw.line, what));
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

/// Checks `body` against `want`: (line, id) for records, (line, "bad:" + the start of
/// the reason) for rejects.
fn check(body: &str, want: &[(u64, &str)]) {
    let got = items(body.as_bytes());
    let ok = got.len() == want.len()
        && got.iter().zip(want).all(|((gl, g), (wl, w))| {
            gl == wl
                && if w.starts_with("bad:") {
                    g.starts_with(w)
                } else {
                    g == w
                }
        });
    assert!(ok, "input:\n{body}\ngot:  {got:?}\nwant: {want:?}");
}

const BAD: &str = "bad:broken JSON array element: ";

/// Five records in a pretty-printed array, each with a nested array of objects; `broken`
/// replaces the given records' text.
fn pretty(broken: &[(usize, &str)]) -> String {
    let mut records: Vec<String> = (1..=5)
        .map(|i| {
            format!(
                "  {{\n    \"id\": \"r{i}\",\n    \"policies\": [\n      {{\"p\": \"a\"}},\n      {{\"p\": \"b\"}}\n    ],\n    \"user\": \"u{i}\"\n  }}"
            )
        })
        .collect();
    for &(i, text) in broken {
        records[i - 1] = text.to_owned();
    }
    format!("[\n{}\n]\n", records.join(",\n"))
}

// Record k (1-based) starts on line 2 + 8 * (k - 1).

/// Record 1 with its `user` value's closing quote deleted.
const R1_NO_QUOTE: &str = "  {\n    \"id\": \"r1\",\n    \"policies\": [\n      {\"p\": \"a\"},\n      {\"p\": \"b\"}\n    ],\n    \"user\": \"u1\n  }";

#[test]
fn pretty_array_break_in_the_first_element() {
    check(
        &pretty(&[(1, R1_NO_QUOTE)]),
        &[
            (
                2,
                "bad:broken JSON array element: control character (\\u0000-\\u001F) found while parsing a string at line 8 column 15",
            ),
            (10, "r2"),
            (18, "r3"),
            (26, "r4"),
            (34, "r5"),
        ],
    );
}

#[test]
fn pretty_array_break_in_the_last_element() {
    let r5 = "  {\n    \"id\": \"r5\",\n    \"policies\": [\n      {\"p\": \"a\"},\n      {\"p\": \"b\"}\n    ],\n    \"user\" \"u5\"\n  }";
    check(
        &pretty(&[(5, r5)]),
        &[
            (2, "r1"),
            (10, "r2"),
            (18, "r3"),
            (26, "r4"),
            (
                34,
                "bad:broken JSON array element: expected `:` at line 40 column 12",
            ),
        ],
    );
}

#[test]
fn pretty_array_two_breaks_and_two_neighbours_broken() {
    let r2 = "  {\n    \"id\": \"r2\",#\n    \"policies\": []\n  }";
    let r4 = "  {\n    \"id\": \"r4\",\n    \"policies\": [\n      {\"p\": \"a},\n      {\"p\": \"b\"}\n    ],\n    \"user\": \"u4\"\n  }";
    check(
        &pretty(&[(2, r2), (4, r4)]),
        &[
            (2, "r1"),
            (
                10,
                "bad:broken JSON array element: key must be a string at line 11 column 16",
            ),
            (14, "r3"),
            (22, "bad:broken JSON array element: control character"),
            (30, "r5"),
        ],
    );
    // Neighbours: each broken element is reported at its own line.
    let r3 = "  {\n    \"id\": \"r3\",\n    \"policies\": [\n      {\"p\": \"a\"},\n      {\"p\": \"b\"}\n    ],\n    \"user\": \"u3\n  }";
    check(
        &pretty(&[(2, r2), (3, r3)]),
        &[(2, "r1"), (10, BAD), (14, BAD), (22, "r4"), (30, "r5")],
    );
}

#[test]
fn break_inside_a_nested_array_does_not_deliver_its_objects() {
    // The quote after `a` is gone: the nested `{"p": "b"}` parses and is followed by
    // `]`, but that bracket cannot close the outer array, so it is not taken for a
    // record; reading resumes at r3.
    let r2 = "  {\n    \"id\": \"r2\",\n    \"policies\": [\n      {\"p\": \"a},\n      {\"p\": \"b\"}\n    ],\n    \"user\": \"u2\"\n  }";
    check(
        &pretty(&[(2, r2)]),
        &[(2, "r1"), (10, BAD), (18, "r3"), (26, "r4"), (34, "r5")],
    );
    // The same on one line, where no indentation helps.
    let body = r#"[{"id":"r1","n":[{"p":1},{"p":2}]},{"id":"r2","n":[{"p":"x},{"p":2},{"p":3}],"u":"v"},{"id":"r3","n":[{"p":1},{"p":2}]}]"#;
    check(body, &[(1, "r1"), (1, BAD), (1, "r3")]);
    let body = r#"[{"id":"r1"},{"id":"r2","n":[{"p":1},{"p":2}],"u":"v},{"id":"r3"},{"id":"r4"}]"#;
    check(body, &[(1, "r1"), (1, BAD), (1, "r3"), (1, "r4")]);
}

#[test]
fn minified_array() {
    // Closing quote deleted in r2, a stray byte in r4.
    let body =
        r#"[{"id":"r1","n":[]},{"id":"r2,"n":[{"a":1}]},{"id":"r3"},{"id":"r4"x},{"id":"r5"}]"#;
    check(
        body,
        &[
            (1, "r1"),
            (
                1,
                "bad:broken JSON array element: expected `,` or `}` at line 1 column 32",
            ),
            (1, "r3"),
            (
                1,
                "bad:broken JSON array element: expected `,` or `}` at line 1 column 68",
            ),
            (1, "r5"),
        ],
    );
    // A closing quote deleted at the end of a record: the string swallows the boundary,
    // which is still found.
    check(
        r#"[{"id":"r1","u":"a},{"id":"r2"},{"id":"r3"}]"#,
        &[(1, BAD), (1, "r2"), (1, "r3")],
    );
}

#[test]
fn missing_comma_and_trailing_comma() {
    check(
        "[\n{\"id\":\"r1\"}\n{\"id\":\"r2\"},\n{\"id\":\"r3\"},\n]",
        &[
            (2, "r1"),
            (
                3,
                "bad:broken JSON array: expected `,` or `]` after an element at line 3 column 1",
            ),
            (3, "r2"),
            (4, "r3"),
        ],
    );
}

#[test]
fn wrappers_pretty_and_on_one_ndjson_line() {
    let body = "{\n  \"@odata.context\": \"x\",\n  \"value\": [\n    {\"id\": \"r1\"},\n    {\"id\": \"r2\", \"n\": [{\"a\": 1}, {\"a\": 2}], \"u\": \"x},\n    {\"id\": \"r3\"}\n  ],\n  \"@odata.nextLink\": \"y\"\n}\n[{\"id\": \"r4\"}]\n";
    check(body, &[(4, "r1"), (5, BAD), (6, "r3"), (10, "r4")]);
    let body = concat!(
        "{\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\",\"n\":[{\"a\":1},{\"a\":2}],\"u\":\"x},{\"id\":\"r3\"}]}\n",
        "{\"id\":\"r4\"}\n",
        "{\"value\":[{\"id\":\"r5\"},{\"id\":\"r6\" \"x\":1},{\"id\":\"r7\"}],\"@odata.nextLink\":\"y\"}\n",
    );
    check(
        body,
        &[
            (1, "r1"),
            (1, BAD),
            (1, "r3"),
            (2, "r4"),
            (3, "r5"),
            (3, BAD),
            (3, "r7"),
        ],
    );
    // The wrapper itself broken after its array: the records are kept, the break reported.
    check(
        "{\n\"value\": [\n{\"id\": \"r1\"}\n],\n\"next\": x\n}\n",
        &[(3, "r1"), (5, "bad:broken JSON after the wrapped array")],
    );
}

#[test]
fn a_broken_plain_record_with_a_nested_wrapper_key_stays_one_record() {
    // Not a wrapper (its `value` array is nested): the whole line goes to the caller.
    let got = items(b"{\"id\":\"r1\",\"e\":{\"value\":[1,2]},\"u\":\"x}\n{\"id\":\"r2\"}\n");
    assert_eq!(got.len(), 2);
    assert!(got[0].1.starts_with("json:"), "{got:?}");
    assert_eq!(got[1], (2, "r2".into()));
}

#[test]
fn truncated_array_reports_once() {
    check(
        "[\n{\"id\":\"r1\"},\n{\"id\":\"r2\"",
        &[
            (2, "r1"),
            (3, "bad:broken JSON array element: EOF while parsing"),
        ],
    );
    check(
        "[\n{\"id\":\"r1\"},\n{\"id\":\"r2\"}",
        &[(2, "r1"), (3, "r2"), (3, "bad:JSON array not closed")],
    );
}

/// Every single-byte deletion inside one record of an array, and every stray `"` or `#`
/// put into it, loses at most that record:
/// all the others come out, exactly, and at most one more item (the damaged record
/// itself, or its reject), whatever the layout.
#[test]
fn any_deletion_inside_a_record_loses_only_that_record() {
    let records: Vec<String> = (1..=4)
        .map(|i| {
            format!(
                r#"{{"id": "r{i}", "n": [{{"p": "a", "q": [1, {{"z": "}}]"}}]}}, {{"p": "b"}}], "u": "v{i}"}}"#
            )
        })
        .collect();
    let forms: [(&str, &str, &str); 4] = [
        ("[", ",", "]"),
        ("[\n  ", ",\n  ", "\n]\n"),
        ("{\"value\": [", ", ", "], \"next\": \"x\"}\n"),
        ("{\"x\": 1,\n \"records\": [\n  ", ",\n  ", "\n ]\n}\n"),
    ];
    for (open, sep, close) in forms {
        for broken in 0..records.len() {
            let offset = open.len()
                + records[..broken]
                    .iter()
                    .map(|r| r.len() + sep.len())
                    .sum::<usize>();
            for (cut, insert) in (1..records[broken].len() - 1)
                .flat_map(|cut| [(cut, None), (cut, Some('"')), (cut, Some('#'))])
            {
                let mut body = format!("{open}{}{close}", records.join(sep));
                match insert {
                    None => drop(body.remove(offset + cut)),
                    Some(c) => body.insert(offset + cut, c),
                }
                let mut delivered = Vec::new();
                let mut others = 0;
                read_slice("t", body.as_bytes(), |raw| {
                    match raw.item {
                        Item::Json(b) if records.iter().any(|r| r.as_bytes() == b) => {
                            delivered.push(String::from_utf8_lossy(b).into_owned());
                        }
                        _ => others += 1,
                    }
                    ControlFlow::Continue(())
                })
                .unwrap();
                let mut want = records.clone();
                want.remove(broken);
                assert_eq!(delivered, want, "{body}");
                assert!(others <= 1, "{body}: {others} other items");
            }
        }
    }
}

#[test]
fn csv_unclosed_quote_in_the_middle() {
    let body = "time,user,ip,outcome\n\
        2026-01-05T09:00:00Z,a@x.com,1.1.1.1,success\n\
        2026-01-05T10:00:00Z,\"b@x.com,1.1.1.2,success\n\
        2026-01-05T11:00:00Z,c@x.com,1.1.1.3,success\n\
        \n\
        2026-01-05T12:00:00Z,d@x.com,1.1.1.4,failure\n";
    check(
        body,
        &[
            (1, "csv:time|user|ip|outcome"),
            (2, "csv:2026-01-05T09:00:00Z|a@x.com|1.1.1.1|success"),
            (3, "bad:unclosed quote"),
            (4, "csv:2026-01-05T11:00:00Z|c@x.com|1.1.1.3|success"),
            (6, "csv:2026-01-05T12:00:00Z|d@x.com|1.1.1.4|failure"),
        ],
    );
}

#[test]
fn csv_unclosed_quote_on_the_last_line() {
    let rows = "time,user,ip,outcome\n\
        2026-01-05T09:00:00Z,a@x.com,1.1.1.1,success\n\
        2026-01-05T10:00:00Z,b@x.com,1.1.1.2,\"success";
    for end in ["", "\n", "\r\n"] {
        check(
            &format!("{rows}{end}"),
            &[
                (1, "csv:time|user|ip|outcome"),
                (2, "csv:2026-01-05T09:00:00Z|a@x.com|1.1.1.1|success"),
                (3, "bad:unclosed quote"),
            ],
        );
    }
}

#[test]
fn csv_quote_closed_by_a_later_quote_and_two_breaks() {
    // Row 2's quote is closed by row 3's opening quote: the row has too many fields.
    let body = "time,user,ip,outcome\r\n\
        2026-01-05T09:00:00Z,\"a@x.com,1.1.1.1,success\r\n\
        2026-01-05T10:00:00Z,\"b@x.com\",1.1.1.2,success\r\n\
        2026-01-05T11:00:00Z,c@x.com,\"1.1.1.3,success\r\n\
        2026-01-05T12:00:00Z,d@x.com,1.1.1.4,failure\r\n";
    check(
        body,
        &[
            (1, "csv:time|user|ip|outcome"),
            (2, "bad:unclosed quote"),
            (3, "csv:2026-01-05T10:00:00Z|b@x.com|1.1.1.2|success"),
            (4, "bad:unclosed quote"),
            (5, "csv:2026-01-05T12:00:00Z|d@x.com|1.1.1.4|failure"),
        ],
    );
}

#[test]
fn csv_multi_line_quoted_field_that_closes_is_kept() {
    let body = "time,user,ip,note\n\
        2026-01-05T09:00:00Z,a@x.com,1.1.1.1,\"two\nlines, \"\"quoted\"\"\"\n\
        2026-01-05T10:00:00Z,b@x.com,1.1.1.2,plain\n\
        2026-01-05T11:00:00Z,\"c@x.com,1.1.1.3,x\n\
        2026-01-05T12:00:00Z,d@x.com,1.1.1.4,\"three\n\nlines\"\n\
        2026-01-05T13:00:00Z,e@x.com,1.1.1.5,last\n";
    check(
        body,
        &[
            (1, "csv:time|user|ip|note"),
            (
                2,
                "csv:2026-01-05T09:00:00Z|a@x.com|1.1.1.1|two\nlines, \"quoted\"",
            ),
            (4, "csv:2026-01-05T10:00:00Z|b@x.com|1.1.1.2|plain"),
            (5, "bad:unclosed quote"),
            (6, "csv:2026-01-05T12:00:00Z|d@x.com|1.1.1.4|three\n\nlines"),
            (9, "csv:2026-01-05T13:00:00Z|e@x.com|1.1.1.5|last"),
        ],
    );
}

/// Line numbers stay exact after restarts far into a file (past the reader's buffers).
#[test]
fn csv_lines_stay_exact_after_many_restarts() {
    let mut body = String::from("time,user\n");
    let mut want = vec![(1, "csv:time|user".to_owned())];
    let mut line = 1u64;
    for i in 0..5000u64 {
        line += 1;
        if i % 97 == 5 {
            body.push_str(&format!("2026-01-05T00:00:00Z,\"u{i}\n"));
            want.push((line, "bad:unclosed quote".to_owned()));
        } else if i % 101 == 7 {
            body.push_str(&format!("2026-01-05T00:00:00Z,\"u{i}\nx\"\n"));
            want.push((line, format!("csv:2026-01-05T00:00:00Z|u{i}\nx")));
            line += 1;
        } else {
            body.push_str(&format!("2026-01-05T00:00:00Z,u{i}\n"));
            want.push((line, format!("csv:2026-01-05T00:00:00Z|u{i}")));
        }
    }
    let got = items(body.as_bytes());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        if w.1.starts_with("bad:") {
            assert!(g.0 == w.0 && g.1.starts_with(&w.1), "{g:?} {w:?}");
        } else {
            assert_eq!(g, w);
        }
    }
}
