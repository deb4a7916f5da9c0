//! `parse_body`, as the HTTP server calls it: every shape, gzip, every reject kept.

use std::io::Write;

use jetlag_normalize::{Format, Parsed, Source, parse_body, parse_json};

const OKTA: &str = r#"{"uuid":"o1","published":"2024-05-01T10:00:00Z","eventType":"user.session.start","actor":{"alternateId":"A@X.com","type":"User"},"outcome":{"result":"SUCCESS"}}"#;
const CT: &str = r#"{"eventVersion":"1.08","eventTime":"2024-05-01T10:00:01Z","eventName":"ConsoleLogin","eventID":"c1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/Bob"},"responseElements":{"ConsoleLogin":"Failure"}}"#;

#[test]
fn gzipped_ndjson_with_rejects_and_skips() {
    let body = format!(
        "{OKTA}\nnot json\n{CT}\n{{\"eventVersion\":\"1.08\",\"eventName\":\"PutObject\"}}\n"
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body.as_bytes()).unwrap();
    let out = parse_body("req", &enc.finish().unwrap(), Format::Auto).unwrap();
    let ids: Vec<_> = out.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["o1", "c1"]);
    assert_eq!(out.events[1].user, "arn:aws:iam::1:user/bob");
    assert_eq!(out.rejects.len(), 1);
    assert_eq!(out.rejects[0].line, 2);
    assert!(
        out.rejects[0].reason.starts_with("invalid JSON"),
        "{}",
        out.rejects[0]
    );
    let t = out.stats.total();
    assert_eq!((t.read, t.parsed, t.skipped, t.rejected), (4, 2, 1, 1));
    assert_eq!(out.stats.counts(Some(Source::Cloudtrail)).skipped, 1);
}

#[test]
fn every_reject_is_kept_not_only_the_first_ten() {
    let body = "{\"a\":1}\n".repeat(25);
    let out = parse_body("req", body.as_bytes(), Format::Auto).unwrap();
    assert_eq!(out.rejects.len(), 25);
    assert_eq!(out.stats.first_rejects.len(), 10);
    assert_eq!(
        out.rejects[24].to_string(),
        "req:25: unrecognized record: not a sign-in format jetlag knows (try --format)"
    );
}

#[test]
fn arrays_wrappers_and_csv_bodies() {
    let array = format!("[{OKTA},{CT}]");
    assert_eq!(
        parse_body("a", array.as_bytes(), Format::Auto)
            .unwrap()
            .events
            .len(),
        2
    );
    let wrapped = format!("{{\"Records\":[{CT}]}}");
    assert_eq!(
        parse_body("w", wrapped.as_bytes(), Format::Cloudtrail)
            .unwrap()
            .events
            .len(),
        1
    );
    let csv = "time,user,ip\n2024-05-01T10:00:00Z,c@x.com,192.0.2.1\n";
    let out = parse_body("c", csv.as_bytes(), Format::Auto).unwrap();
    assert_eq!(out.events[0].source, Source::Csv);
    assert!(parse_body("bad-gzip", &[0x1f, 0x8b, 0, 1, 2], Format::Auto).is_err());
}

#[test]
fn a_forced_format_skips_or_rejects_other_vendors() {
    let mut w = Vec::new();
    assert!(matches!(
        parse_json(OKTA.as_bytes(), Format::Okta, &mut w),
        Ok(Parsed::Event(_))
    ));
    let err = parse_json(CT.as_bytes(), Format::Okta, &mut w).unwrap_err();
    assert_eq!(err.to_string(), "okta: missing eventType");
    assert!(parse_json(OKTA.as_bytes(), Format::Csv, &mut w).is_err());
}

/// `--format auto` guesses the vendor with a scan that does not validate; a record broken
/// before its deciding key must still be rejected as broken JSON by the exact sniff
/// (no vendor named), and one broken after it by that vendor's parser.
#[test]
fn auto_rejects_broken_json_as_the_exact_sniff_does() {
    let mut w = Vec::new();
    let before = br#"{"actor":{"type" "User"},"uuid":"o1","published":"2024-05-01T10:00:00Z"}"#;
    let err = parse_json(before, Format::Auto, &mut w).unwrap_err();
    assert!(err.to_string().starts_with("invalid JSON"), "{err}");
    assert_eq!(err.source(), None);
    let after = br#"{"uuid":"o1","actor":{"type" "User"}}"#;
    let err = parse_json(after, Format::Auto, &mut w).unwrap_err();
    assert!(err.to_string().starts_with("okta: invalid JSON"), "{err}");
    let not_utf8 = b"{\"actor\":{\"type\":\"\xff\"},\"uuid\":\"o1\"}";
    let err = parse_json(not_utf8, Format::Auto, &mut w).unwrap_err();
    assert_eq!(err.to_string(), "not valid UTF-8 (at byte 18)");
    assert!(w.is_empty());
}
