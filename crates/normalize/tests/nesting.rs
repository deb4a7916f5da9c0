//! Deeply nested JSON: a record nested deeper than the JSON parser may recurse is rejected
//! at its line with a reason, and the records around it come through, in every layout and
//! format. Before, 100,000 `[` overflowed sonic-rs's recursion and aborted the process.
//!
//! Every case runs on a thread with a 2 MiB stack, the size of the server's tokio worker
//! and blocking threads (`jetlag serve` parses request bodies through `parse_body` and
//! `parse_json`).

use jetlag_normalize::{Format, Parsed, parse_body, parse_json};

const OKTA_1: &str = r#"{"uuid":"o1","published":"2024-05-01T10:00:00Z","eventType":"user.session.start","actor":{"alternateId":"a@x.com","type":"User"},"outcome":{"result":"SUCCESS"}}"#;
const OKTA_3: &str = r#"{"uuid":"o3","published":"2024-05-01T10:00:02Z","eventType":"user.session.start","actor":{"alternateId":"c@x.com","type":"User"},"outcome":{"result":"SUCCESS"}}"#;

/// `levels` nested arrays.
fn nest(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

/// An Okta sign-in whose ignored `debugContext` holds `levels` nested arrays (the record
/// itself is one more level).
fn okta_with_deep_field(levels: usize) -> String {
    format!(
        r#"{{"uuid":"o2","published":"2024-05-01T10:00:01Z","eventType":"user.session.start","debugContext":{},"actor":{{"alternateId":"b@x.com","type":"User"}},"outcome":{{"result":"SUCCESS"}}}}"#,
        nest(levels)
    )
}

/// Runs `f` on a thread with a 2 MiB stack.
fn on_a_server_sized_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// (event ids, rejects as `line: reason`) of a body.
fn outcome(body: String, format: Format) -> (Vec<String>, Vec<String>) {
    on_a_server_sized_stack(move || {
        let out = parse_body("b", body.as_bytes(), format).unwrap();
        (
            out.events.iter().map(|e| e.event_id.to_string()).collect(),
            out.rejects
                .iter()
                .map(|r| format!("{}: {}", r.line, r.reason))
                .collect(),
        )
    })
}

const TOO_DEEP: &str = "JSON nested deeper than 128 levels";

/// What a body is, its text, the format it is read as, the event ids and the rejects
/// (`line: reason`) expected.
type Case<'a> = (&'a str, String, Format, &'a [&'a str], Vec<String>);

#[test]
fn deeply_nested_json_is_rejected_at_its_line_and_the_records_around_it_kept() {
    let deep = nest(100_000);
    let okta_deep = okta_with_deep_field(100_000);
    let cases: Vec<Case<'_>> = vec![
        (
            "ndjson, a deep unknown record",
            format!("{OKTA_1}\n{{\"x\":{deep}}}\n{OKTA_3}\n"),
            Format::Auto,
            &["o1", "o3"],
            vec![format!("2: {TOO_DEEP}")],
        ),
        (
            "ndjson, a sign-in with a deep ignored field",
            format!("{OKTA_1}\n{okta_deep}\n{OKTA_3}\n"),
            Format::Auto,
            &["o1", "o3"],
            vec![format!("2: okta: {TOO_DEEP}")],
        ),
        (
            "ndjson, forced format",
            format!("{OKTA_1}\n{okta_deep}\n{OKTA_3}\n"),
            Format::Okta,
            &["o1", "o3"],
            vec![format!("2: okta: {TOO_DEEP}")],
        ),
        (
            "ndjson, a deep line of arrays",
            format!("{OKTA_1}\n{deep}\n{OKTA_3}\n"),
            Format::Auto,
            &["o1", "o3"],
            vec![format!("2: {TOO_DEEP}")],
        ),
        (
            "a bare deep array",
            deep.clone(),
            Format::Auto,
            &[],
            vec![format!("1: {TOO_DEEP}")],
        ),
        (
            "an array of records",
            format!("[\n{OKTA_1},\n{okta_deep},\n{OKTA_3}\n]\n"),
            Format::Auto,
            &["o1", "o3"],
            vec![format!("3: okta: {TOO_DEEP}")],
        ),
        (
            "a wrapper line",
            format!("{{\"records\":[{OKTA_1},{{\"x\":{deep}}},{OKTA_3}]}}\n"),
            Format::Auto,
            &["o1", "o3"],
            vec![format!("1: {TOO_DEEP}")],
        ),
        (
            "a pretty-printed wrapper",
            format!("{{\n \"value\": [\n  {OKTA_1},\n  {okta_deep},\n  {OKTA_3}\n ]\n}}\n"),
            Format::Auto,
            &["o1", "o3"],
            vec![format!("4: okta: {TOO_DEEP}")],
        ),
        (
            "a pretty-printed document",
            format!("{{\n  \"x\": {deep}\n}}\n"),
            Format::Auto,
            &[],
            vec![format!("1: {TOO_DEEP}")],
        ),
    ];
    for (what, body, format, ids, rejects) in cases {
        let (got_ids, got_rejects) = outcome(body, format);
        assert_eq!(got_ids, ids, "{what}");
        assert_eq!(got_rejects, rejects, "{what}");
    }
}

#[test]
fn every_format_rejects_a_deep_record_instead_of_overflowing() {
    // Every JSON format (CSV has no nesting).
    for format in Format::ALL.into_iter().filter(|f| *f != Format::Csv) {
        let reason = on_a_server_sized_stack(move || {
            let mut warnings = Vec::new();
            let record = okta_with_deep_field(100_000);
            match parse_json(record.as_bytes(), format, &mut warnings) {
                Ok(parsed) => format!("parsed: {parsed:?}"),
                Err(e) => e.to_string(),
            }
        });
        assert!(reason.ends_with(TOO_DEEP), "{format}: {reason}");
    }
}

/// A record at the limit goes through sonic-rs's recursion, whose frames take about
/// 30 KiB a level in an unoptimised (test) build, so this runs on a 16 MiB stack. (In a
/// release build they take under 300 bytes: 30,000 levels went through on the main
/// thread's 8 MiB.)
#[test]
fn the_nesting_limit_is_128_levels_exactly() {
    for (levels, parsed) in [(127, true), (128, false)] {
        let record = okta_with_deep_field(levels);
        let result = std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn(move || {
                let mut warnings = Vec::new();
                matches!(
                    parse_json(record.as_bytes(), Format::Auto, &mut warnings),
                    Ok(Parsed::Event(_))
                )
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(result, parsed, "{} levels", levels + 1);
    }
}
