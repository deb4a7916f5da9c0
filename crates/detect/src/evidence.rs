//! Alert evidence and summaries built directly, without `json!` or intermediate strings.
//!
//! `json!` serializes every value into a fresh [`Value`] (an `Option<String>` is cloned
//! on the way) and the `format!` helpers of a summary each return a `String` that is
//! copied once more. The often-firing detectors (impossible_travel, new_country) build
//! their evidence with [`Obj`] instead: one key allocation and one tree insert per field,
//! values moved in. The JSON is the same: `serde_json`'s map keeps keys sorted whatever
//! the insertion order, and every value converts exactly as `json!` would (a non-finite
//! float becomes `null`).

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// An evidence object under construction.
#[derive(Debug, Default)]
pub(crate) struct Obj(Map<String, Value>);

impl Obj {
    /// An empty object.
    pub(crate) fn new() -> Obj {
        Obj(Map::new())
    }

    /// Adds `key` with `value` (`None` is `null`, a non-finite float is `null`).
    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Obj {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// The finished object.
    pub(crate) fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// Appends `n` rounded to a whole number with thousands separators (`7,512`), as the
/// detectors' `thousands` writes it, without a temporary string.
pub(crate) fn push_thousands(out: &mut String, n: f64) {
    let n = n.round().max(0.0) as u64;
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        out.push(char::from(digits[i]));
        if i > 0 && i % 3 == 0 {
            out.push(',');
        }
    }
}

/// Appends `args` (a `format_args!`) to `out`: writing to a `String` cannot fail.
pub(crate) fn push_fmt(out: &mut String, args: std::fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thousands_as_the_summaries_write_them() {
        for (n, text) in [
            (0.0, "0"),
            (-3.0, "0"),
            (7.4, "7"),
            (999.5, "1,000"),
            (7512.0, "7,512"),
            (123_456.0, "123,456"),
            (1_234_567.0, "1,234,567"),
            (f64::NAN, "0"),
        ] {
            let mut s = String::from("x ");
            push_thousands(&mut s, n);
            assert_eq!(s, format!("x {text}"), "{n}");
            assert_eq!(crate::detectors::thousands(n), text, "{n}");
        }
    }

    #[test]
    fn same_json_as_the_macro() {
        let city: Option<&str> = Some("Zürich");
        let none: Option<String> = None;
        let built = Obj::new()
            .with("zeta", 1u32)
            .with("alpha", city)
            .with("nan", f64::NAN)
            .with("missing", none.clone())
            .with("speed", Some(1234.5))
            .with("list", vec!["a".to_string()])
            .with("classes", vec!["vpn", "proxy"])
            .with("asn", Some(64_500u32))
            .with("no_asn", None::<u32>)
            .with(
                "nested",
                Obj::new().with("b", true).with("a", -3i32).build(),
            )
            .build();
        let macro_made = json!({
            "zeta": 1u32,
            "alpha": city,
            "nan": f64::NAN,
            "missing": none,
            "speed": Some(1234.5),
            "list": ["a"],
            "classes": ["vpn", "proxy"],
            "asn": Some(64_500u32),
            "no_asn": None::<u32>,
            "nested": {"b": true, "a": -3i32},
        });
        assert_eq!(built, macro_made);
        assert_eq!(
            serde_json::to_string(&built).unwrap(),
            serde_json::to_string(&macro_made).unwrap()
        );
    }
}
