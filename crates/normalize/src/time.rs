//! The fast path for event times: the RFC 3339 shape nearly every record carries
//! (`2024-05-01T10:00:00.123Z`, `…+02:00`, or no offset for UTC), hand-parsed into a
//! [`Timestamp`] without going through jiff's general parser.
//!
//! [`rfc3339`] answers only for strings it is sure of and returns `None` for anything else
//! (a space for the `T`, a comma before the fraction, a lower-case `z`, an offset without a
//! colon or with seconds, a leap second, a year outside 1900–2999, …), which the caller then
//! gives to jiff: every answer it gives is the one jiff would give (tested against jiff on
//! generated strings, valid and broken, in this module's tests).

use jetlag_event::Timestamp;

/// Two ASCII digits at `b[i..i + 2]` as a number.
#[inline]
fn two(b: &[u8], i: usize) -> Option<u32> {
    let (h, l) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (h < 10 && l < 10).then(|| u32::from(h) * 10 + u32::from(l))
}

/// Days in `month` (1–12) of `year`.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|±HH:MM]` (no offset: UTC), already trimmed; `None` when
/// the string has any other shape or an out-of-range part (then jiff decides).
pub(crate) fn rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = i64::from(two(b, 0)? * 100 + two(b, 2)?);
    let (month, day) = (two(b, 5)?, two(b, 8)?);
    let (hour, minute, second) = (two(b, 11)?, two(b, 14)?, two(b, 17)?);
    if !(1900..3000).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            if i - start == 9 {
                return None;
            }
            nanos = nanos * 10 + u32::from(d);
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        nanos *= 10u32.pow(9 - digits as u32);
    }
    let offset = match &b[i..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (two(b, i + 1)?, two(b, i + 4)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let second = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    Timestamp::new(second, nanos as i32).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What jiff makes of a trimmed string in `common::time`'s slow path (an offset: a
    /// timestamp; none: a civil date-time in UTC).
    fn jiff(s: &str) -> Option<Timestamp> {
        if let Ok(ts) = s.parse::<Timestamp>() {
            return Some(ts);
        }
        let dt = s.parse::<jiff::civil::DateTime>().ok()?;
        jiff::tz::Offset::UTC.to_timestamp(dt).ok()
    }

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len() as u64) as usize]
        }
    }

    /// A time string in a vendor-ish spelling, often valid, often subtly not.
    fn generate(r: &mut Rng) -> String {
        let year = match r.below(4) {
            0 => r.below(10_000),
            _ => 1890 + r.below(220),
        };
        // Mostly in range, now and then one past (or before) the end.
        let mut part = |lo: u64, n: u64| match r.below(6) {
            0 => r.below(n + 3),
            _ => lo + r.below(n),
        };
        let (month, day, hour) = (part(1, 12), part(1, 31), part(0, 24));
        let (minute, second) = (part(0, 60), part(0, 60));
        let mut s = format!(
            "{year:04}-{month:02}-{day:02}{}{hour:02}:{minute:02}:{second:02}",
            r.pick(&["T", "T", "T", "T", " ", "t", "x"]),
        );
        match r.below(5) {
            0 => {}
            1 => s.push_str(r.pick(&[".", ","])),
            _ => {
                s.push('.');
                for _ in 0..r.below(12) {
                    s.push(char::from(b'0' + r.below(10) as u8));
                }
            }
        }
        match r.below(8) {
            0 => {}
            1..=3 => s.push('Z'),
            4 => s.push_str(r.pick(&["z", "+00:00", "-00:00", "+0200", "+02", "+02:00:00"])),
            _ => s.push_str(&format!(
                "{}{:02}:{:02}",
                r.pick(&["+", "-", "−"]),
                r.below(27),
                r.below(62)
            )),
        }
        // Now and then a mangled byte, a cut or a digit where a separator was.
        match r.below(10) {
            0 if !s.is_empty() => {
                let at = r.below(s.len() as u64) as usize;
                if s.is_char_boundary(at) && s.is_char_boundary(at + 1) {
                    let c = char::from(b" 0-:.TZ+9a"[r.below(10) as usize]);
                    s.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
                }
            }
            1 => {
                let at = r.below(s.len() as u64) as usize;
                if s.is_char_boundary(at) {
                    s.truncate(at);
                }
            }
            _ => {}
        }
        s
    }

    #[test]
    fn every_answer_is_jiffs_on_generated_strings() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut fast, mut valid) = (0, 0);
        for _ in 0..300_000 {
            let s = generate(&mut r);
            let slow = jiff(&s);
            valid += usize::from(slow.is_some());
            if let Some(ts) = rfc3339(&s) {
                fast += 1;
                assert_eq!(Some(ts), slow, "{s:?}");
            }
        }
        // The generator must exercise both paths heavily.
        assert!(fast > 40_000, "only {fast} strings took the fast path");
        assert!(valid > fast, "{valid} valid, {fast} fast");
    }

    #[test]
    fn the_usual_shapes_take_the_fast_path() {
        for s in [
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.1Z",
            "2024-05-01T10:00:00.123Z",
            "2025-01-15T14:20:35.456789012Z",
            "2020-05-20T18:19:04.423",
            "2024-01-01T10:00:00+02:00",
            "2024-01-01T00:30:00-05:30",
            "2000-02-29T23:59:59Z",
        ] {
            assert_eq!(rfc3339(s), jiff(s), "{s}");
            assert!(rfc3339(s).is_some(), "{s}");
        }
        for s in [
            "2023-02-29T00:00:00Z",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00.1234567890Z",
            "2024-05-01T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2024-05-01 10:00:00Z",
            "2024-05-01T10:00:00+0200",
            "9999-12-31T23:59:59Z",
        ] {
            assert!(rfc3339(s).is_none(), "{s}");
        }
    }
}
