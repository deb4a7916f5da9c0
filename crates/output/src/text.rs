//! Text from logs made safe for a terminal.
//!
//! User names, cities, summaries and reject reasons come from the logs, and the logs from
//! whoever typed into a sign-in form: a password spray's user names are the attacker's.
//! Written raw, an escape sequence in one could set the terminal's title, erase the line
//! before it or hide the rows around it from the analyst reading the table. Every
//! human-facing output (the table, the summary on stderr, error messages) passes such text
//! through [`terminal_safe`]; the JSON formats escape control characters already.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` may change what a terminal shows beyond itself: a control character (C0,
/// DEL, C1; `char::is_control`) or a bidirectional formatting character, which reorders
/// the text around it ("Trojan Source", CVE-2021-42574).
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control and bidirectional formatting character written as `\u{…}`
/// (its code point in hex), so that it shows as text and does nothing; `s` itself, not a
/// copy, when it holds none (the common case).
///
/// # Example
/// ```
/// use jetlag_output::terminal_safe;
/// assert_eq!(terminal_safe("kim@example.com"), "kim@example.com");
/// assert_eq!(terminal_safe("mallory\u{1b}]0;OWNED\u{7}@x.com"), "mallory\\u{1b}]0;OWNED\\u{7}@x.com");
/// ```
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_control_and_bidi_character_and_nothing_else() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = c.to_string();
            let safe = terminal_safe(&s);
            if c.is_control()
                || ('\u{202A}'..='\u{202E}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
            {
                assert_eq!(safe, format!("\\u{{{:x}}}", u32::from(c)), "{c:?}");
            } else {
                assert!(matches!(safe, Cow::Borrowed(_)), "{c:?}");
            }
            assert!(!safe.chars().any(is_unsafe));
        }
        assert_eq!(terminal_safe("a\u{1b}[2Kb\tc"), "a\\u{1b}[2Kb\\u{9}c");
        assert_eq!(terminal_safe("Zürich — 東京"), "Zürich — 東京");
    }
}
