//! Layout detection and the streaming readers (NDJSON, CSV).
//!
//! The layout comes from the head of the input. A first line that is a complete JSON value
//! starting with `{` makes NDJSON (the common case, decided on that line alone). Otherwise
//! the next non-blank lines are looked at ([`sampled`]): when most of them are complete
//! JSON objects the input is NDJSON whose first line is damaged (a partial line from
//! `tail -c` or `split -b`, a block of NUL bytes, a comment), and only that line is
//! rejected; if not, an input starting with `{` or `[` is one or more JSON documents and
//! anything else is CSV — or, when its first line holds a NUL byte, not text at all
//! ([`Error::NotText`]). A UTF-16 input with its byte order mark is transcoded to UTF-8
//! first.

use std::io::{self, BufRead, BufReader, Read};

use crate::{Error, Flow, Item, Layout, Raw, go, json, slurp};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The byte order marks of UTF-16, little-endian (what Windows PowerShell 5 writes with
/// `>` and `Out-File`) and big-endian.
const UTF16_BOMS: [&[u8]; 2] = [b"\xFF\xFE", b"\xFE\xFF"];

/// The layout decision looks at up to this many non-blank lines after the first …
const SAMPLE_LINES: usize = 16;
/// … while the lines read hold fewer bytes than this …
const SAMPLE_BYTES: usize = 1 << 20;
/// … and reads no more than this for one line: a longer one is not judged (a binary file
/// can go gigabytes without a line break).
const SAMPLE_MAX: u64 = 16 << 20;

fn read_err(name: &str, line: u64) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Read {
        name: name.to_owned(),
        line,
        source,
    }
}

/// Detects the layout of `reader` and delivers its records.
///
/// Only an input that starts with a UTF-16 byte order mark goes through the transcoder;
/// every other byte is read as it is.
pub(crate) fn read<R: BufRead>(
    name: &str,
    mut reader: R,
    f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    let head = reader.fill_buf().map_err(read_err(name, 0))?;
    if UTF16_BOMS.iter().any(|bom| head.starts_with(bom)) {
        let utf8 = encoding_rs_io::DecodeReaderBytesBuilder::new()
            .strip_bom(true)
            .build(reader);
        return read_utf8(name, BufReader::with_capacity(64 * 1024, utf8), f);
    }
    read_utf8(name, reader, f)
}

/// [`read`] for bytes that are UTF-8 (or meant to be).
fn read_utf8<R: BufRead>(
    name: &str,
    mut reader: R,
    f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    // A byte order mark at the very start is what Windows tools write: drop it.
    let head = reader.fill_buf().map_err(read_err(name, 0))?;
    if head.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    // Skip leading whitespace, counting the lines it spans.
    let mut line = 0u64;
    let first = loop {
        let buf = reader.fill_buf().map_err(read_err(name, line))?;
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
        b'{' => ndjson(name, reader, line, f),
        b'[' => sampled(name, reader, line, Vec::new(), Fallback::Document, f),
        _ => sampled(name, reader, line, Vec::new(), Fallback::Csv, f),
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

/// An input whose first significant byte is `{`: NDJSON when its first line is a complete
/// JSON value, else the next lines decide ([`sampled`]).
fn ndjson<R: BufRead>(
    name: &str,
    mut reader: R,
    line: u64,
    mut f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    let mut buf = Vec::with_capacity(8 * 1024);
    reader
        .read_until(b'\n', &mut buf)
        .map_err(read_err(name, line))?;
    if !is_complete_json(trim_eol(&buf)) {
        return sampled(name, reader, line, buf, Fallback::Document, f);
    }
    if ndjson_line(trim_eol(&buf), line + 1, &mut Vec::new(), &mut f).is_break() {
        return Ok(Layout::Ndjson);
    }
    ndjson_lines(name, reader, line + 1, buf, f)
}

/// Streams the NDJSON lines of `reader`, the first of which is line `line + 1`; `buf` is
/// scratch space for lines that straddle two buffer fills.
fn ndjson_lines<R: BufRead>(
    name: &str,
    mut reader: R,
    mut line: u64,
    mut buf: Vec<u8>,
    mut f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    // Blank lines are reported only when a record follows them (a trailing newline or two
    // at the end of a file is not a record).
    let mut blanks: Vec<u64> = Vec::new();
    loop {
        let flow = with_line(&mut reader, &mut buf, |bytes| {
            ndjson_line(trim_eol(bytes), line + 1, &mut blanks, &mut f)
        })
        .map_err(read_err(name, line))?;
        line += 1;
        match flow {
            None | Some(Flow::Break(())) => return Ok(Layout::Ndjson),
            Some(Flow::Continue(())) => {}
        }
    }
}

/// What an input whose first line does not settle its layout is read as when its next
/// lines are not NDJSON records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fallback {
    /// It starts with `{` or `[`: one or more JSON documents.
    Document,
    /// Anything else: CSV, if it is text.
    Csv,
}

/// Reads an input whose first line does not settle the layout, from its first significant
/// byte; `sample` holds its first line when the caller has read it, and `line` counts the
/// lines before it.
///
/// Up to [`SAMPLE_LINES`] non-blank lines after the first are read (fewer once their
/// verdict cannot change, or once [`SAMPLE_BYTES`] are held) and each is judged: a
/// complete JSON object, or something else. When the objects are more than the others, the
/// input is NDJSON whose first line is damaged: every line, that one included, goes through
/// the NDJSON reader, which hands the damaged ones over as records to reject. Otherwise
/// `fallback` holds: a pretty-printed document has no line that is a whole object but
/// its last element's, and a CSV row is never one. An input starting with `[` whose first
/// line is a complete value is a document even so (an array, then objects, is documents).
///
/// The bytes read to decide are read again by the reader that takes the input.
fn sampled<R: BufRead>(
    name: &str,
    mut reader: R,
    line: u64,
    mut sample: Vec<u8>,
    fallback: Fallback,
    mut f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    if sample.is_empty() {
        (&mut reader)
            .take(SAMPLE_MAX)
            .read_until(b'\n', &mut sample)
            .map_err(read_err(name, line))?;
    }
    let first_len = sample.len();
    // Not a whole line: more than `SAMPLE_MAX` bytes without a line break.
    let mut cut = !sample.ends_with(b"\n") && first_len as u64 >= SAMPLE_MAX;
    let (mut records, mut others) = (0usize, 0usize);
    while !cut && sample.len() - first_len < SAMPLE_BYTES {
        let left = SAMPLE_LINES - records - others;
        if left == 0 || records > others + left || records + left <= others {
            break;
        }
        let start = sample.len();
        let n = (&mut reader)
            .take(SAMPLE_MAX)
            .read_until(b'\n', &mut sample)
            .map_err(read_err(name, line))?;
        if n == 0 {
            break;
        }
        cut = !sample.ends_with(b"\n") && n as u64 >= SAMPLE_MAX;
        let text = trim_eol(&sample[start..]).trim_ascii();
        if cut || text.is_empty() {
            continue;
        }
        if text.starts_with(b"{") && is_complete_json(text) {
            records += 1;
        } else {
            others += 1;
        }
    }
    let ndjson = records > others
        && !(sample.starts_with(b"[") && is_complete_json(trim_eol(&sample[..first_len])));
    if ndjson {
        let reader = io::Cursor::new(sample).chain(reader);
        return ndjson_lines(name, reader, line, Vec::with_capacity(8 * 1024), f);
    }
    match fallback {
        Fallback::Document => {
            slurp(name, line, reader, &mut sample)?;
            let _ = json::documents(&sample, line + 1, &mut f);
            Ok(Layout::Document)
        }
        Fallback::Csv => {
            if let Some(what) = not_text(&sample[..first_len]) {
                return Err(Error::NotText {
                    name: name.to_owned(),
                    line: line + 1,
                    what,
                });
            }
            // Classic Mac OS and Excel's "CSV (Macintosh)" end lines with `\r` alone.
            let eol = if memchr::memchr(b'\n', &sample).is_none()
                && memchr::memchr(b'\r', &sample).is_some()
            {
                b'\r'
            } else {
                b'\n'
            };
            csv(name, reader, sample, line, eol, f)
        }
    }
}

/// What the first line of an input that would be CSV is when it holds a NUL byte, which no
/// text but UTF-16 has: UTF-16 without its byte order mark (ASCII text has every other
/// byte zero), or binary data (an executable, an archive, a database, a file of zeros).
fn not_text(first_line: &[u8]) -> Option<&'static str> {
    memchr::memchr(0, first_line)?;
    let head = &first_line[..first_line.len().min(64) & !1];
    let zero_at = |parity: usize| {
        head.len() >= 4
            && head
                .iter()
                .enumerate()
                .all(|(i, &b)| (b == 0) == (i % 2 == parity))
    };
    Some(if zero_at(0) || zero_at(1) {
        "UTF-16 text without a byte order mark"
    } else {
        "binary data"
    })
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

/// What the CSV reader reads from: the input, after the bytes to read again, keeping a
/// copy of what it hands out from the current record on so that a row broken by an
/// unclosed quote can be read again from its second line.
struct Tee<R> {
    input: R,
    /// Bytes to hand out before reading `input` again.
    replay: Vec<u8>,
    replayed: usize,
    /// A copy of what was handed out from byte `base` (of the current CSV reader) on.
    kept: Vec<u8>,
    base: u64,
}

impl<R: BufRead> std::io::Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = if self.replayed < self.replay.len() {
            let rest = &self.replay[self.replayed..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.replayed += n;
            n
        } else {
            self.input.read(buf)?
        };
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<R> Tee<R> {
    /// Forgets what comes before byte `pos`, now and then (so that the copying stays
    /// linear in the input).
    fn forget_before(&mut self, pos: u64) {
        let drop = usize::try_from(pos.saturating_sub(self.base)).unwrap_or(usize::MAX);
        if drop >= 64 * 1024 && drop <= self.kept.len() {
            self.kept.drain(..drop);
            self.base = pos;
        }
    }
    /// The bytes handed out from byte `from` to byte `to` of the current reader.
    fn kept(&self, from: u64, to: u64) -> &[u8] {
        let from = usize::try_from(from.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let to = usize::try_from(to.saturating_sub(self.base)).unwrap_or(usize::MAX);
        let to = to.min(self.kept.len());
        &self.kept[from.min(to)..to]
    }
    /// Makes everything handed out from byte `from` on come again, for a new reader.
    fn rewind_to(&mut self, from: u64) {
        let from = usize::try_from(from.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.kept.len());
        let mut replay = self.kept.split_off(from);
        replay.extend_from_slice(&self.replay[self.replayed..]);
        self.replay = replay;
        self.replayed = 0;
        self.kept.clear();
        self.base = 0;
    }
}

fn csv_reader<R: BufRead>(tee: Tee<R>) -> csv::Reader<Tee<R>> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(tee)
}

/// Do the quotes of the row `raw` pair up as RFC 4180 has them: a quote opens only at
/// the start of a field, a quoted field ends with its quote (`""` inside is one quote),
/// and a closing quote is followed by a comma, a line break or the end?
///
/// A quote left open swallows the following rows until it meets another quote, most
/// often the opening quote of a later field, which is followed by that field's text.
fn well_quoted(raw: &[u8]) -> bool {
    let mut quoted = false;
    let mut field_start = true;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if quoted {
            if b == b'"' {
                match raw.get(i + 1) {
                    Some(b'"') => i += 1,
                    None | Some(b',' | b'\r' | b'\n') => quoted = false,
                    Some(_) => return false,
                }
            }
        } else {
            quoted = b == b'"' && field_start;
            field_start = matches!(b, b',' | b'\r' | b'\n');
        }
        i += 1;
    }
    !quoted
}

/// Where the second physical line of the row `raw` begins, lines ending with `eol`.
fn second_line(raw: &[u8], eol: u8) -> usize {
    memchr::memchr(eol, raw).map_or(raw.len(), |i| i + 1)
}

/// CSV with a header row, streamed.
///
/// A row whose quote never closes swallows the lines after it into one field: when a
/// row has a field with a line break in it and either its number of fields differs from
/// the header's or its quotes do not pair up ([`well_quoted`]), its first line is
/// rejected and the CSV reader starts again at its second
/// line. A quoted field with line breaks that closes properly is kept. (A row's quotes
/// are only looked at when it has a line break in a field or is the input's last.)
///
/// The rows are read from `head` (bytes already taken from the input), then `reader`;
/// `line` counts the lines before them, and lines end with `eol` (`\n`, which also ends
/// a `\r\n`, or `\r` alone in a file that has no `\n`).
fn csv<R: BufRead>(
    name: &str,
    reader: R,
    head: Vec<u8>,
    line: u64,
    eol: u8,
    mut f: impl FnMut(Raw<'_>) -> Flow,
) -> Result<Layout, Error> {
    let mut csv = csv_reader(Tee {
        input: reader,
        replay: head,
        replayed: 0,
        kept: Vec::new(),
        base: 0,
    });
    let mut record = csv::ByteRecord::new();
    let mut header: Option<csv::ByteRecord> = None;
    // The line of the reader's position. Counted here from the bytes read rather than
    // taken from the reader, whose count stops before the `\n` of a `\r\n` (it ends a
    // row at the `\r`) and starts again at each restart.
    let mut line = line + 1;
    loop {
        let before = csv.position().byte();
        csv.get_mut().forget_before(before);
        let read = csv.read_byte_record(&mut record);
        let raw = csv.get_ref().kept(before, csv.position().byte());
        // Blank lines skipped before the row, or the `\n` of the last one's `\r\n`.
        let blank = raw
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .unwrap_or(raw.len());
        let count = |bytes: &[u8]| memchr::memchr_iter(eol, bytes).count() as u64;
        let at = line + if blank == 0 { 0 } else { count(&raw[..blank]) };
        // A line break before the row's own one is in a quoted field; so is the last one
        // when a quote stayed open to the end of the input.
        let row = &raw[blank..];
        let multi_line = memchr::memchr(eol, trim_eol(row)).is_some()
            || read.as_ref().is_ok_and(|&more| more)
                && record
                    .iter()
                    .next_back()
                    .is_some_and(|field| field.ends_with(&[eol]));
        line = at
            + if multi_line {
                count(row)
            } else {
                u64::from(row.ends_with(&[eol]))
            };
        match read {
            Ok(false) => return Ok(Layout::Csv),
            Ok(true) => {
                if record.len() == 1 && record[0].trim_ascii().is_empty() {
                    continue;
                }
                if let Some(header) = &header {
                    let last = !raw.ends_with(b"\n") && !raw.ends_with(b"\r");
                    if (multi_line || last) && !well_quoted(row)
                        || multi_line && record.len() != header.len()
                    {
                        let reason = "unclosed quote: this CSV row is skipped, reading goes on at the next line";
                        if f(Raw {
                            line: at,
                            item: Item::Malformed(reason),
                        })
                        .is_break()
                        {
                            return Ok(Layout::Csv);
                        }
                        let resume = before + (blank + second_line(row, eol)) as u64;
                        let mut tee = csv.into_inner();
                        tee.rewind_to(resume);
                        csv = csv_reader(tee);
                        line = at + 1;
                        continue;
                    }
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
