//! JSONL: one [`Alert`] per line, exactly the contract's JSON.

use std::io::Write;

use jetlag_event::Alert;

use crate::Error;

/// Writes `alert` and a newline, serializing through the reused `buf`.
pub(crate) fn write(out: &mut impl Write, buf: &mut Vec<u8>, alert: &Alert) -> Result<(), Error> {
    buf.clear();
    sonic_rs::to_writer(&mut *buf, alert).map_err(|source| Error::Json {
        alert_id: alert.alert_id.clone(),
        source: serde::ser::Error::custom(source),
    })?;
    buf.push(b'\n');
    out.write_all(buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use jetlag_event::Severity;

    use super::*;
    use crate::testing::alert;

    #[test]
    fn writes_exactly_the_contract_fields_in_order() {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        write(
            &mut out,
            &mut buf,
            &alert("a1", Some("kim@x.com"), Severity::High, 80),
        )
        .unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = [
            "alert_id",
            "detector",
            "severity",
            "score",
            "user",
            "users",
            "time",
            "event_ids",
            "summary",
            "evidence",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert!(line.starts_with(r#"{"alert_id":"a1","detector":"impossible_travel","severity":"high","score":80,"user":"kim@x.com","users":["kim@x.com"],"time":"2025-03-01T12:20:00Z","event_ids":["e1","e2"]"#), "{line}");
        let back: Alert = serde_json::from_str(&line).unwrap();
        assert_eq!(back, alert("a1", Some("kim@x.com"), Severity::High, 80));
    }

    #[test]
    fn ip_centric_alerts_write_a_null_user() {
        let mut out = Vec::new();
        write(
            &mut out,
            &mut Vec::new(),
            &alert("a2", None, Severity::Low, 10),
        )
        .unwrap();
        assert!(String::from_utf8(out).unwrap().contains(r#""user":null"#));
    }
}
