//! JSON documents: arrays, wrappers (`value`, `records`, `Records`) and plain records.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Flow, Item, Raw};

/// The wrappers vendors put around a batch of records.
#[derive(Deserialize)]
struct Wrapper<'a> {
    /// Microsoft Graph page.
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    /// Azure diagnostic settings / Event Hub batch.
    #[serde(borrow, default)]
    records: Option<&'a RawValue>,
    /// CloudTrail log file.
    #[serde(borrow, default, rename = "Records")]
    cloudtrail: Option<&'a RawValue>,
    /// Google Admin SDK Reports API page.
    #[serde(borrow, default)]
    items: Option<&'a RawValue>,
}

/// If `bytes` is a wrapper object, the raw array it wraps; `Err` when `bytes` is not one
/// complete JSON value.
fn wrapped(bytes: &[u8]) -> Result<Option<&RawValue>, ()> {
    let w: Wrapper<'_> = serde_json::from_slice(bytes).map_err(|_| ())?;
    Ok([w.value, w.records, w.cloudtrail, w.items]
        .into_iter()
        .flatten()
        .find(|raw| raw.get().starts_with('[')))
}

/// The keys of [`Wrapper`], quoted as they appear in the JSON text.
const WRAPPER_KEYS: [&[u8]; 4] = [b"\"value\"", b"\"records\"", b"\"Records\"", b"\"items\""];

/// Cheap test before trying [`wrapped`]: does a wrapper key followed by an array occur in
/// the first 4 KiB? (A Google parameter's `"value": "x"` does not count.)
///
/// Every `[` in the head is looked at from behind: whitespace, `:`, whitespace, then a
/// wrapper key. One `memchr` pass that builds nothing; a sign-in record has few `[` (many
/// have none), where searching for each of the four keys built a substring finder per
/// key and line (1.6 % of a whole `scan` profile).
fn may_be_wrapper(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    memchr::memchr_iter(b'[', head).any(|at| {
        head[..at]
            .trim_ascii_end()
            .strip_suffix(b":")
            .map(<[u8]>::trim_ascii_end)
            .is_some_and(|before| WRAPPER_KEYS.iter().any(|key| before.ends_with(key)))
    })
}

/// One NDJSON line: a record, or a wrapper whose elements are records.
///
/// A wrapper line with a broken element still yields its good elements: see [`elements`].
pub(crate) fn record_or_wrapper(
    bytes: &[u8],
    line: u64,
    f: &mut impl FnMut(Raw<'_>) -> Flow,
) -> Flow {
    if may_be_wrapper(bytes) {
        let mut lines = Lines::new(bytes, line);
        match wrapped(bytes) {
            Ok(Some(array)) => {
                let open = lines.offset_of(array.get().as_bytes());
                let mut budget = Budget::for_input(bytes.len());
                elements(bytes, open, &mut lines, Context::Wrapper, &mut budget, f)?;
                return Flow::Continue(());
            }
            Ok(None) => {}
            // Not one complete value: if it is a wrapper whose array is broken, recover
            // the elements around the break; otherwise the caller rejects the line.
            Err(()) => {
                if let Some(open) = wrapper_array(bytes, 0) {
                    let mut budget = Budget::for_input(bytes.len());
                    wrapper_from(bytes, open, &mut lines, &mut budget, f)?;
                    return Flow::Continue(());
                }
            }
        }
    }
    f(Raw {
        line,
        item: Item::Json(bytes),
    })
}

/// Counts lines from a base position forward (positions must not go backwards).
struct Lines<'a> {
    base: &'a [u8],
    pos: usize,
    line: u64,
    /// Offset of the first byte of the line `pos` is on.
    line_start: usize,
}

impl<'a> Lines<'a> {
    fn new(base: &'a [u8], line: u64) -> Self {
        Lines {
            base,
            pos: 0,
            line,
            line_start: 0,
        }
    }
    /// The line of the byte at `offset` in `base`.
    fn at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.base.len());
        if offset > self.pos {
            let part = &self.base[self.pos..offset];
            self.line += memchr::memchr_iter(b'\n', part).count() as u64;
            if let Some(nl) = memchr::memrchr(b'\n', part) {
                self.line_start = self.pos + nl + 1;
            }
            self.pos = offset;
        }
        self.line
    }
    /// The 1-based column (in bytes) of the byte at `offset`, which must not be before
    /// the last offset asked for.
    fn column(&mut self, offset: usize) -> u64 {
        self.at(offset);
        (offset.min(self.base.len()).saturating_sub(self.line_start) + 1) as u64
    }
    /// Offset of `part` inside `base` (it must be a sub-slice).
    fn offset_of(&self, part: &[u8]) -> usize {
        (part.as_ptr() as usize).saturating_sub(self.base.as_ptr() as usize)
    }
}

/// The first offset at or after `pos` that is not JSON whitespace (`buf.len()` if none).
fn skip_ws(buf: &[u8], pos: usize) -> usize {
    let pos = pos.min(buf.len());
    buf[pos..]
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .map_or(buf.len(), |i| pos + i)
}

/// Parses the one JSON value that starts at `buf[pos]` (leading whitespace allowed) and
/// returns where it starts and ends; what follows it is not looked at.
fn value_at(buf: &[u8], pos: usize) -> Result<(usize, usize), serde_json::Error> {
    let rest = &buf[pos.min(buf.len())..];
    let mut de = serde_json::Deserializer::from_slice(rest);
    let raw = <&RawValue>::deserialize(&mut de)?;
    let start = (raw.get().as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
    Ok((start, start + raw.get().len()))
}

/// How many bytes serde_json read from `buf[from..]` before it raised `err`.
fn error_offset(buf: &[u8], from: usize, err: &serde_json::Error) -> usize {
    let rest = &buf[from.min(buf.len())..];
    let line_start = match err.line() {
        0 | 1 => 0,
        n => memchr::memchr_iter(b'\n', rest)
            .nth(n - 2)
            .map_or(rest.len(), |i| i + 1),
    };
    (line_start + err.column()).min(rest.len())
}

/// How many more bytes the parser may read in one input: the elements read once cost
/// their length, but a run from a wrong resynchronisation point, or a failed parse, may
/// read far and then be dropped. Past the budget, no more resynchronisation is tried, so
/// the work stays linear in the input however it is broken.
struct Budget(usize);

impl Budget {
    /// Eight times the input, plus a mebibyte.
    fn for_input(len: usize) -> Self {
        Budget(len.saturating_mul(8).saturating_add(1 << 20))
    }
    /// [`value_at`], paying for the bytes read.
    fn value_at(&mut self, buf: &[u8], pos: usize) -> Result<(usize, usize), serde_json::Error> {
        let result = value_at(buf, pos);
        let spent = match &result {
            Ok((_, end)) => end.saturating_sub(pos),
            Err(err) => error_offset(buf, pos, err),
        };
        self.0 = self.0.saturating_sub(spent.max(1));
        result
    }
    fn spent(&self) -> bool {
        self.0 == 0
    }
}

/// A serde_json error raised while parsing `buf[from..]`, with the line and column made
/// absolute (serde_json counts from `from`).
fn describe(err: &serde_json::Error, lines: &mut Lines<'_>, from: usize) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let msg = text.strip_suffix(&suffix).unwrap_or(&text);
    if err.line() == 0 {
        return msg.to_owned();
    }
    let line = lines.at(from) + err.line() as u64 - 1;
    let column = if err.line() == 1 {
        lines.column(from) + (err.column() as u64).saturating_sub(1)
    } else {
        err.column() as u64
    };
    format!("{msg} at line {line} column {column}")
}

/// Where an array sits, which decides what may follow its closing bracket.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// The array is a whole document: after it, the end of the input or another document.
    Document,
    /// The array is the value of a wrapper key: after it, the rest of the wrapper object.
    Wrapper,
}

/// How a run of array elements ended.
enum End {
    /// The array's `]`; the offset after it.
    Closed(usize),
    /// The element starting at `at` is not a JSON value.
    BadValue { at: usize, err: serde_json::Error },
    /// An element was not followed by `,` or `]`; `at` is where one was expected.
    NoSeparator { at: usize },
    /// The callback asked to stop.
    Halt,
}

/// Parses array elements from `pos` (the start of an element, whitespace skipped) until
/// the array closes or something is wrong, handing each element's span to `sink`.
fn run(
    buf: &[u8],
    mut pos: usize,
    budget: &mut Budget,
    sink: &mut impl FnMut(usize, usize) -> Flow,
) -> End {
    loop {
        let (start, end) = match budget.value_at(buf, pos) {
            Ok(span) => span,
            Err(err) => return End::BadValue { at: pos, err },
        };
        if sink(start, end).is_break() {
            return End::Halt;
        }
        let after = skip_ws(buf, end);
        match buf.get(after) {
            Some(b',') => {
                pos = skip_ws(buf, after + 1);
                // A trailing comma loses nothing: the array ends there.
                if buf.get(pos) == Some(&b']') {
                    return End::Closed(pos + 1);
                }
            }
            Some(b']') => return End::Closed(after + 1),
            _ => return End::NoSeparator { at: after },
        }
    }
}

/// Delivers the elements of the JSON array whose `[` is at `buf[open]`. Returns the offset
/// after its `]`, or `None` when the array never closes readably (the rest of `buf` is
/// used up).
///
/// A broken element is reported once, at the line where it starts, and reading goes on
/// at the next element that can be found (see [`resync`]): a break loses only the
/// element it is in.
fn elements(
    buf: &[u8],
    open: usize,
    lines: &mut Lines<'_>,
    context: Context,
    budget: &mut Budget,
    f: &mut impl FnMut(Raw<'_>) -> Flow,
) -> std::ops::ControlFlow<(), Option<usize>> {
    use std::ops::ControlFlow::{Break, Continue};
    fn deliver(
        f: &mut impl FnMut(Raw<'_>) -> Flow,
        lines: &mut Lines<'_>,
        buf: &[u8],
        (start, end): (usize, usize),
    ) -> Flow {
        f(Raw {
            line: lines.at(start),
            item: Item::Json(&buf[start..end]),
        })
    }
    let first = skip_ws(buf, open + 1);
    if buf.get(first) == Some(&b']') {
        return Continue(Some(first + 1));
    }
    let mut end = run(buf, first, budget, &mut |s, e| {
        deliver(f, lines, buf, (s, e))
    });
    loop {
        let (at, reason) = match end {
            End::Halt => return Break(()),
            End::Closed(after) => return Continue(Some(after)),
            End::BadValue { at, err } => (
                at,
                format!("broken JSON array element: {}", describe(&err, lines, at)),
            ),
            End::NoSeparator { at } if at >= buf.len() => {
                (at, "JSON array not closed (truncated input?)".to_owned())
            }
            End::NoSeparator { at } => {
                let where_ = format!("line {} column {}", lines.at(at), lines.column(at));
                (
                    at,
                    format!("broken JSON array: expected `,` or `]` after an element at {where_}"),
                )
            }
        };
        if f(Raw {
            line: lines.at(at),
            item: Item::Malformed(&reason),
        })
        .is_break()
        {
            return Break(());
        }
        let (found, next) = match resync(buf, at, context, budget) {
            Ok(found) => found,
            Err(Lost::NoElement) => return Continue(None),
            Err(Lost::GaveUp) => {
                let reason = "too much broken JSON: the rest of the array is not read";
                if f(Raw {
                    line: lines.at(at),
                    item: Item::Malformed(reason),
                })
                .is_break()
                {
                    return Break(());
                }
                return Continue(None);
            }
        };
        // In a pretty-printed array, the other elements that start in the skipped part
        // at the indentation of the element found are broken too: each is reported.
        let resumed = found.first().map_or(buf.len(), |&(start, _)| start);
        if let Some(indent) = own_line_indent(buf, resumed) {
            let starts: Vec<usize> = memchr::memchr_iter(b',', &buf[at..resumed])
                .map(|i| skip_ws(buf, at + i + 1))
                .filter(|&s| s < resumed && buf[s] == b'{')
                .filter(|&s| own_line_indent(buf, s) == Some(indent))
                .collect();
            for (i, &start) in starts.iter().enumerate() {
                // Parsed no further than the next start, so that each byte is read once.
                let limit = starts.get(i + 1).copied().unwrap_or(resumed);
                let reason = match value_at(&buf[..limit], start) {
                    Err(err) => {
                        format!(
                            "broken JSON array element: {}",
                            describe(&err, lines, start)
                        )
                    }
                    Ok(_) => "broken JSON array element: not followed by `,` or `]`".to_owned(),
                };
                if f(Raw {
                    line: lines.at(start),
                    item: Item::Malformed(&reason),
                })
                .is_break()
                {
                    return Break(());
                }
            }
        }
        for span in found {
            if deliver(f, lines, buf, span).is_break() {
                return Break(());
            }
        }
        end = next;
    }
}

/// Why [`resync`] found no next element.
enum Lost {
    /// There is none.
    NoElement,
    /// The [`Budget`] ran out.
    GaveUp,
}

/// After a break at `from`, finds where the array's next element starts: the elements
/// read from there (delivered by the caller) and how that run ended.
///
/// A candidate is a `{` at or after `from` that is `from` itself or follows a `,`. It is
/// taken when the run of elements read from it holds only objects (records are objects)
/// and ends at a `]` that can close *this* array ([`closes`]), at the end of the input,
/// or at another break that starts with `{` (the next broken record). A `,{` inside a
/// nested array of the broken record parses too, but its run ends at a `]` followed by
/// the rest of that record, or at a `:` when the nested array was not closed. A rejected
/// run is skipped whole (the candidates inside it would end at the same place, or lie
/// deeper), so each byte is parsed a bounded number of times.
fn resync(
    buf: &[u8],
    from: usize,
    context: Context,
    budget: &mut Budget,
) -> Result<(Vec<(usize, usize)>, End), Lost> {
    let mut found = Vec::new();
    let mut here = (buf.get(from) == Some(&b'{')).then_some(from);
    let mut search = from;
    loop {
        if budget.spent() {
            return Err(Lost::GaveUp);
        }
        let candidate = match here.take() {
            Some(at) => at,
            None => {
                let comma = buf
                    .get(search..)
                    .and_then(|rest| memchr::memchr(b',', rest))
                    .ok_or(Lost::NoElement)?
                    + search;
                search = comma + 1;
                let at = skip_ws(buf, comma + 1);
                if buf.get(at) != Some(&b'{') {
                    continue;
                }
                at
            }
        };
        found.clear();
        let end = run(buf, candidate, budget, &mut |s, e| {
            found.push((s, e));
            Flow::Continue(())
        });
        let (ends_well, end_at) = match end {
            End::Closed(after) => (closes(buf, after, context, budget), after),
            End::BadValue { at, .. } | End::NoSeparator { at } => {
                (matches!(buf.get(at), None | Some(b'{')), at)
            }
            End::Halt => (false, candidate + 1),
        };
        if found.is_empty() {
            // The candidate is not a value.
            continue;
        }
        if ends_well && found.iter().all(|&(start, _)| buf[start] == b'{') {
            return Ok((found, end));
        }
        search = search.max(end_at);
    }
}

/// The indentation of `buf[pos]` when only spaces and tabs come before it on its line.
fn own_line_indent(buf: &[u8], pos: usize) -> Option<usize> {
    let before = &buf[..pos.min(buf.len())];
    let indent = before
        .iter()
        .rev()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    match before.len().checked_sub(indent + 1).map(|i| before[i]) {
        None | Some(b'\n' | b'\r') => Some(indent),
        Some(_) => None,
    }
}

/// Can the array whose `]` ends just before `after` be the one being read, judging by
/// what follows it: for a wrapper, the rest of the wrapper object; then the end of the
/// input or another document starting on a later line.
fn closes(buf: &[u8], after: usize, context: Context, budget: &mut Budget) -> bool {
    let after = match context {
        Context::Document => after,
        Context::Wrapper => match object_rest(buf, after, budget) {
            Ok(after) => after,
            Err(_) => return false,
        },
    };
    // The end of the input, or another document on a later line.
    let next = skip_ws(buf, after);
    next == buf.len()
        || matches!(buf[next], b'[' | b'{') && memchr::memchr(b'\n', &buf[after..next]).is_some()
}

/// Reads the members of an object from `pos`, just after one of its values, through its
/// `}`: the offset after the `}`, or where it is broken.
fn object_rest(buf: &[u8], mut pos: usize, budget: &mut Budget) -> Result<usize, usize> {
    loop {
        pos = skip_ws(buf, pos);
        match buf.get(pos) {
            Some(b'}') => return Ok(pos + 1),
            Some(b',') => {
                let key = skip_ws(buf, pos + 1);
                if buf.get(key) != Some(&b'"') {
                    return Err(key);
                }
                let (_, end) = budget.value_at(buf, key).map_err(|_| key)?;
                let colon = skip_ws(buf, end);
                if buf.get(colon) != Some(&b':') {
                    return Err(colon);
                }
                let (_, end) = budget.value_at(buf, colon + 1).map_err(|_| colon + 1)?;
                pos = end;
            }
            _ => return Err(pos),
        }
    }
}

/// If the object starting at `buf[pos]` is a wrapper, the offset of its array's `[`,
/// found by reading its members in order up to that array (what follows it may be
/// broken).
fn wrapper_array(buf: &[u8], pos: usize) -> Option<usize> {
    let mut pos = skip_ws(buf, pos);
    if buf.get(pos) != Some(&b'{') {
        return None;
    }
    pos += 1;
    loop {
        let key = skip_ws(buf, pos);
        if buf.get(key) != Some(&b'"') {
            return None;
        }
        let (_, key_end) = value_at(buf, key).ok()?;
        let colon = skip_ws(buf, key_end);
        if buf.get(colon) != Some(&b':') {
            return None;
        }
        let value = skip_ws(buf, colon + 1);
        if buf.get(value) == Some(&b'[') && WRAPPER_KEYS.contains(&&buf[key..key_end]) {
            return Some(value);
        }
        let (_, end) = value_at(buf, value).ok()?;
        let next = skip_ws(buf, end);
        if buf.get(next) != Some(&b',') {
            return None;
        }
        pos = next + 1;
    }
}

/// Delivers the elements of a wrapper whose array starts at `buf[open]`, then reads the
/// rest of the wrapper object: the offset after it, or `None` when it is broken (reported)
/// or the array never closed.
fn wrapper_from(
    buf: &[u8],
    open: usize,
    lines: &mut Lines<'_>,
    budget: &mut Budget,
    f: &mut impl FnMut(Raw<'_>) -> Flow,
) -> std::ops::ControlFlow<(), Option<usize>> {
    use std::ops::ControlFlow::{Break, Continue};
    let Some(after) = elements(buf, open, lines, Context::Wrapper, budget, f)? else {
        return Continue(None);
    };
    match object_rest(buf, after, budget) {
        Ok(end) => Continue(Some(end)),
        Err(at) => {
            let reason = format!(
                "broken JSON after the wrapped array at column {}, the rest of the input is lost",
                lines.column(at)
            );
            if f(Raw {
                line: lines.at(at),
                item: Item::Malformed(&reason),
            })
            .is_break()
            {
                return Break(());
            }
            Continue(None)
        }
    }
}

/// One or more JSON documents held in memory; the first byte of `buf` is on line `line`.
///
/// Arrays and wrappers yield their elements, parsed one by one, so a broken element
/// loses only itself (see [`elements`]); any other broken document loses the rest of the
/// input, as nothing tells where the next document would start.
pub(crate) fn documents(buf: &[u8], line: u64, f: &mut impl FnMut(Raw<'_>) -> Flow) -> Flow {
    let mut lines = Lines::new(buf, line);
    let mut budget = Budget::for_input(buf.len());
    let mut pos = skip_ws(buf, 0);
    while pos < buf.len() {
        if buf[pos] == b'[' {
            match elements(buf, pos, &mut lines, Context::Document, &mut budget, f)? {
                Some(after) => pos = skip_ws(buf, after),
                None => return Flow::Continue(()),
            }
            continue;
        }
        match value_at(buf, pos) {
            Ok((start, end)) => {
                let bytes = &buf[start..end];
                if bytes.starts_with(b"{")
                    && let Ok(Some(array)) = wrapped(bytes)
                {
                    let open = lines.offset_of(array.get().as_bytes());
                    elements(buf, open, &mut lines, Context::Wrapper, &mut budget, f)?;
                } else {
                    f(Raw {
                        line: lines.at(start),
                        item: Item::Json(bytes),
                    })?;
                }
                pos = skip_ws(buf, end);
            }
            Err(err) => {
                if let Some(open) = wrapper_array(buf, pos) {
                    match wrapper_from(buf, open, &mut lines, &mut budget, f)? {
                        Some(after) => pos = skip_ws(buf, after),
                        None => return Flow::Continue(()),
                    }
                    continue;
                }
                let reason = format!(
                    "broken JSON document, the rest of the input is lost: {}",
                    describe(&err, &mut lines, pos)
                );
                return f(Raw {
                    line: lines.at(pos),
                    item: Item::Malformed(&reason),
                });
            }
        }
    }
    Flow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test as first written: a substring search per key.
    fn reference(bytes: &[u8]) -> bool {
        let head = &bytes[..bytes.len().min(4096)];
        WRAPPER_KEYS.iter().any(|key| {
            memchr::memmem::find_iter(head, key).any(|at| {
                let rest = head[at + key.len()..].trim_ascii_start();
                rest.strip_prefix(b":")
                    .is_some_and(|r| r.trim_ascii_start().starts_with(b"["))
            })
        })
    }

    #[test]
    fn wrapper_test_agrees_with_the_key_search() {
        let cases: &[&[u8]] = &[
            br#"{"value":[{"id":1}]}"#,
            b"{\"records\" \t:\r\n [ ]}",
            br#"{"Records":[]}"#,
            br#"{"items": []}"#,
            br#"{"value":"x","a":[1]}"#,
            br#"{"events":[{"parameters":[{"name":"n","value":"x"}]}]}"#,
            br#"{"xvalue":[1]}"#,
            br#"{"value":{"a":[1]}}"#,
            br#"["value"]"#,
            br#"{"a":"\"value\":[","b":1}"#,
            b"[",
            b"",
            br#":["#,
            br#""value"  :  ["#,
        ];
        for case in cases {
            assert_eq!(
                may_be_wrapper(case),
                reference(case),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        assert!(may_be_wrapper(br#"{"value":[{"id":1}]}"#));
        assert!(!may_be_wrapper(br#"{"value":"x","a":[1]}"#));
        // Only the first 4 KiB are looked at, by both.
        let mut long = vec![b' '; 5000];
        long.extend_from_slice(br#""value":[1]"#);
        assert!(!may_be_wrapper(&long));
        long.drain(..1000);
        assert!(may_be_wrapper(&long) && reference(&long));
    }

    #[test]
    fn wrapper_test_agrees_on_every_cut_of_a_record() {
        let record = br#"{"actor":{"id":"a","type":"User"},"value" : [1, {"records":[]}], "target":[{"items":["x"]}],"items"  :[ ]}"#;
        for end in 0..=record.len() {
            for start in 0..end.min(12) {
                let part = &record[start..end];
                assert_eq!(may_be_wrapper(part), reference(part), "{start}..{end}");
            }
        }
    }
}
