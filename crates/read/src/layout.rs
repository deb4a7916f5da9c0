//! Layout detection and the streaming readers (NDJSON, CSV).

use std::io::BufRead;

use crate::{Error, Flow, Item, Layout, Raw, go, json, slurp};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Detects the layout of `reader` and delivers its records.
pub(crate) fn read<R: BufRead>(
    name: &str,
    mut reader: R,
    mut f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    let read_err = |line: u64| {
        move |source| Error::Read {
            name: name.to_owned(),
            line,
            source,
        }
    };
    // A byte order mark at the very start is what Windows tools write: drop it.
    let head = reader.fill_buf().map_err(read_err(0))?;
    if head.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    // Skip leading whitespace, counting the lines it spans.
    let mut line = 0u64;
    let first = loop {
        let buf = reader.fill_buf().map_err(read_err(line))?;
        if buf.is_empty() {
            return Ok(Layout::Empty);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                line += memchr::memchr_iter(b'\n', &buf[..i]).count() as u64;
                let first = buf[i];
                reader.consume(i);
                break first;
            }
            None => {
                let n = buf.len();
                line += memchr::memchr_iter(b'\n', buf).count() as u64;
                reader.consume(n);
            }
        }
    };
    match first {
        b'[' => {
            let mut buf = Vec::new();
            slurp(name, line, reader, &mut buf)?;
            let _ = json::documents(&buf, line + 1, &mut f);
            Ok(Layout::Document)
        }
        b'{' => ndjson(name, reader, line, f),
        _ => csv(name, reader, line, f),
    }
}

/// Trims a trailing `\n` / `\r\n`.
fn trim_eol(mut bytes: &[u8]) -> &[u8] {
    if let [rest @ .., b'\n'] = bytes {
        bytes = rest;
    }
    if let [rest @ .., b'\r'] = bytes {
        bytes = rest;
    }
    bytes
}

fn is_complete_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// NDJSON, unless the first line shows a pretty-printed document.
fn ndjson<R: BufRead>(
    name: &str,
    mut reader: R,
    mut line: u64,
    mut f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    let read_err = |line: u64| {
        move |source| Error::Read {
            name: name.to_owned(),
            line,
            source,
        }
    };
    let mut buf = Vec::with_capacity(8 * 1024);
    reader.read_until(b'\n', &mut buf).map_err(read_err(line))?;
    let first_line = line + 1;
    if !is_complete_json(trim_eol(&buf)) {
        // A pretty-printed document, or NDJSON whose first record is broken: NDJSON's
        // second line is a complete record, a document's is not.
        let first_len = buf.len();
        reader
            .read_until(b'\n', &mut buf)
            .map_err(read_err(line + 1))?;
        let second = trim_eol(&buf[first_len..]).trim_ascii();
        if !(second.starts_with(b"{") && is_complete_json(second)) {
            slurp(name, line + 2, reader, &mut buf)?;
            let _ = json::documents(&buf, first_line, &mut f);
            return Ok(Layout::Document);
        }
        line += 1;
        let first = json::record_or_wrapper(trim_eol(&buf[..first_len]), line, &mut f);
        if first.is_break() {
            return Ok(Layout::Ndjson);
        }
        buf.drain(..first_len);
    }
    line += 1;
    if ndjson_line(trim_eol(&buf), line, &mut Vec::new(), &mut f).is_break() {
        return Ok(Layout::Ndjson);
    }
    // Blank lines are reported only when a record follows them (a trailing newline or two
    // at the end of a file is not a record).
    let mut blanks: Vec<u64> = Vec::new();
    loop {
        let flow = with_line(&mut reader, &mut buf, |bytes| {
            ndjson_line(trim_eol(bytes), line + 1, &mut blanks, &mut f)
        })
        .map_err(read_err(line))?;
        line += 1;
        match flow {
            None | Some(Flow::Break(())) => return Ok(Layout::Ndjson),
            Some(Flow::Continue(())) => {}
        }
    }
}

/// Calls `f` with the next line of `reader` (its `\n` included, when there is one);
/// `None` at the end of the input.
///
/// A line that lies whole in the reader's buffer is handed over in place, not copied;
/// only a line that straddles two buffer fills is gathered in `carry`.
fn with_line<R: BufRead, T>(
    reader: &mut R,
    carry: &mut Vec<u8>,
    f: impl FnOnce(&[u8]) -> T,
) -> std::io::Result<Option<T>> {
    carry.clear();
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok((!carry.is_empty()).then(|| f(carry)));
        }
        match memchr::memchr(b'\n', available) {
            Some(end) if carry.is_empty() => {
                let out = f(&available[..=end]);
                reader.consume(end + 1);
                return Ok(Some(out));
            }
            Some(end) => {
                carry.extend_from_slice(&available[..=end]);
                reader.consume(end + 1);
                return Ok(Some(f(carry)));
            }
            None => {
                let n = available.len();
                carry.extend_from_slice(available);
                reader.consume(n);
            }
        }
    }
}

fn ndjson_line(
    bytes: &[u8],
    line: u64,
    blanks: &mut Vec<u64>,
    f: &mut impl FnMut(Raw<'_>) -> Flow,
) -> Flow {
    if bytes.trim_ascii().is_empty() {
        blanks.push(line);
        return Flow::Continue(());
    }
    for blank in blanks.drain(..) {
        go!(f(Raw {
            line: blank,
            item: Item::Malformed("empty line"),
        }));
    }
    if bytes.starts_with(BOM) {
        return f(Raw {
            line,
            item: Item::Malformed(
                "byte order mark in the middle of the input (concatenated files?)",
            ),
        });
    }
    json::record_or_wrapper(bytes, line, f)
}

/// CSV with a header row, streamed.
fn csv<R: BufRead>(
    name: &str,
    reader: R,
    line: u64,
    mut f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<csv::ByteRecord> = None;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => return Ok(Layout::Csv),
            Ok(true) => {
                // The reader's start position counts the blank lines it skipped before
                // the record; its position after the record is the next line. So the
                // record's first line is the line after it, less the newlines in quoted
                // fields, less one (never before the start position).
                let start = record.position().map_or(1, |p| p.line());
                let inner: u64 = record
                    .iter()
                    .map(|f| memchr::memchr_iter(b'\n', f).count() as u64)
                    .sum();
                let after = csv.position().line();
                let at = line + after.saturating_sub(1 + inner).max(start);
                if record.len() == 1 && record[0].trim_ascii().is_empty() {
                    continue;
                }
                let flow = match &header {
                    None => {
                        header = Some(record.clone());
                        f(Raw {
                            line: at,
                            item: Item::CsvHeader(&record),
                        })
                    }
                    Some(_) => f(Raw {
                        line: at,
                        item: Item::CsvRow(&record),
                    }),
                };
                if flow.is_break() {
                    return Ok(Layout::Csv);
                }
            }
            Err(err) => {
                if matches!(err.kind(), csv::ErrorKind::Io(_)) {
                    return Err(Error::Csv {
                        name: name.to_owned(),
                        source: err,
                    });
                }
                let at = line + err.position().map_or(0, |p| p.line());
                let reason = format!("unreadable CSV row: {err}");
                let flow = f(Raw {
                    line: at,
                    item: Item::Malformed(&reason),
                });
                if flow.is_break() {
                    return Ok(Layout::Csv);
                }
            }
        }
    }
}
