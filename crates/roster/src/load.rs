//! Loading the roster from an HR export (CSV with a header row).
//!
//! Columns may come in any order and only `user` is required; unknown columns (HR exports
//! carry many) are ignored. A bad row is rejected with its line and the reason and the rest
//! still load: one typo in a 10 000-row export must not blind the detectors.

use std::collections::hash_map::Entry;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use compact_str::CompactString;
use jetlag_event::Country;
use rustc_hash::FxHashMap;

use crate::{Employee, Roster};

/// Why the roster could not be loaded at all (bad rows are [`RowError`]s instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot read roster {path}: {source}")]
    Io {
        /// The roster file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The header row could not be read (empty file, invalid CSV, not UTF-8).
    #[error("roster {path}: cannot read the header row: {reason}")]
    Header {
        /// The roster file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The header has no `user` column.
    #[error(
        "roster {path}: the header has no 'user' column (found: {found}; expected any of: {expected})"
    )]
    NoUserColumn {
        /// The roster file.
        path: PathBuf,
        /// The column names found.
        found: String,
        /// The columns jetlag understands.
        expected: &'static str,
    },
}

/// One rejected roster row: the line it started on and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The roster file (`-` for a reader).
    pub path: PathBuf,
    /// 1-based line number of the row.
    pub line: u64,
    /// What was wrong with it.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
    }
}

impl std::error::Error for RowError {}

/// The columns the roster understands, in their documented order.
const COLUMNS: [&str; 9] = [
    "user",
    "display_name",
    "hire_date",
    "work_country",
    "work_region",
    "work_city",
    "work_lat",
    "work_lon",
    "work_timezone",
];
const COLUMNS_LIST: &str = "user, display_name, hire_date, work_country, work_region, work_city, work_lat, work_lon, work_timezone";

impl Roster {
    /// Loads a roster CSV file.
    ///
    /// Returns the roster of every good row and the rejected rows (line and reason).
    /// Users are lower-cased and trimmed, as in normalized events. A user listed twice keeps
    /// the first row; the second is rejected.
    ///
    /// # Errors
    /// When the file cannot be read, or its header is unreadable or lacks a `user` column.
    pub fn load(path: impl AsRef<Path>) -> Result<(Roster, Vec<RowError>), Error> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Roster::from_reader(std::io::BufReader::new(file), path)
    }

    /// Loads a roster CSV from any reader; `path` names it in errors.
    ///
    /// # Errors
    /// As [`Roster::load`].
    ///
    /// # Example
    /// ```
    /// use jetlag_roster::Roster;
    /// let csv = "work_country,user,hire_date\nUS,Kim@Example.com,2025-03-01\nXX1,bob@example.com,\n";
    /// let (roster, rejected) = Roster::from_reader(csv.as_bytes(), "roster.csv").unwrap();
    /// assert_eq!(roster.get("kim@example.com").unwrap().work_country.unwrap().as_str(), "US");
    /// assert_eq!(rejected[0].line, 3);
    /// ```
    pub fn from_reader(
        reader: impl Read,
        path: impl AsRef<Path>,
    ) -> Result<(Roster, Vec<RowError>), Error> {
        let path = path.as_ref();
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let header = csv
            .headers()
            .map_err(|e| Error::Header {
                path: path.to_owned(),
                reason: e.to_string(),
            })?
            .clone();
        let mut index: [Option<usize>; 9] = [None; 9];
        for (i, name) in header.iter().enumerate() {
            let name = name.trim_start_matches('\u{feff}').trim();
            if let Some(c) = COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
                // The first column of a name wins; a repeated header is ignored.
                index[c].get_or_insert(i);
            }
        }
        if index[0].is_none() {
            return Err(Error::NoUserColumn {
                path: path.to_owned(),
                found: header.iter().collect::<Vec<_>>().join(", "),
                expected: COLUMNS_LIST,
            });
        }

        let mut employees: Vec<Employee> = Vec::new();
        let mut seen: FxHashMap<CompactString, u64> = FxHashMap::default();
        let mut rejected = Vec::new();
        let mut record = csv::ByteRecord::new();
        let mut reject = |line: u64, reason: String| {
            rejected.push(RowError {
                path: path.to_owned(),
                line,
                reason,
            })
        };
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    let unrecoverable = !matches!(
                        e.kind(),
                        csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                    );
                    reject(line, format!("unreadable row: {e}"));
                    if unrecoverable {
                        break;
                    }
                    continue;
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(|f| f.is_empty()) {
                continue; // a blank line
            }
            if record.len() > header.len() {
                reject(
                    line,
                    format!(
                        "{} fields but the header has {} (an unquoted comma?)",
                        record.len(),
                        header.len()
                    ),
                );
                continue;
            }
            match parse_row(&record, &index) {
                Ok(employee) => match seen.entry(employee.user.clone()) {
                    Entry::Occupied(first) => reject(
                        line,
                        format!(
                            "user '{}' is already listed on line {}",
                            employee.user,
                            first.get()
                        ),
                    ),
                    Entry::Vacant(slot) => {
                        slot.insert(line);
                        employees.push(employee);
                    }
                },
                Err(reason) => reject(line, reason),
            }
        }
        Ok((Roster::from_employees(employees), rejected))
    }
}

/// Parses one row; the error is every problem of the row, joined.
fn parse_row(record: &csv::ByteRecord, index: &[Option<usize>; 9]) -> Result<Employee, String> {
    let mut problems: Vec<String> = Vec::new();
    let mut field = |c: usize| -> Option<&str> {
        let bytes = record.get(index[c]?)?;
        match std::str::from_utf8(bytes) {
            Ok("") => None,
            Ok(s) => Some(s),
            Err(_) => {
                problems.push(format!("{} is not valid UTF-8", COLUMNS[c]));
                None
            }
        }
    };
    let user = field(0);
    let display_name = field(1);
    let hire_date = field(2);
    let work_country = field(3);
    let work_region = field(4);
    let work_city = field(5);
    let work_lat = field(6);
    let work_lon = field(7);
    let work_timezone = field(8);

    let mut e = Employee::default();
    match user {
        Some(u) if !u.chars().any(char::is_whitespace) => e.user = u.to_lowercase().into(),
        Some(u) => problems.push(format!("user '{u}' contains white space")),
        None => problems.push("user is empty".to_owned()),
    }
    e.display_name = display_name.map(Into::into);
    if let Some(d) = hire_date {
        match d.parse::<jiff::civil::Date>() {
            Ok(d) => e.hire_date = Some(d),
            Err(_) => problems.push(format!("hire_date '{d}' is not a date like 2025-03-01")),
        }
    }
    if let Some(c) = work_country {
        match Country::from_code(c) {
            Some(c) => e.work_country = Some(c),
            None => problems.push(format!(
                "work_country '{c}' is not an ISO 3166-1 alpha-2 code like US"
            )),
        }
    }
    e.work_region = work_region.map(Into::into);
    e.work_city = work_city.map(Into::into);
    let lat = coordinate(work_lat, "work_lat", 90.0, &mut problems);
    let lon = coordinate(work_lon, "work_lon", 180.0, &mut problems);
    match (work_lat, work_lon) {
        (Some(_), None) => problems.push("work_lat is given without work_lon".to_owned()),
        (None, Some(_)) => problems.push("work_lon is given without work_lat".to_owned()),
        _ => {
            e.work_lat = lat;
            e.work_lon = lon;
        }
    }
    if let Some(tz) = work_timezone {
        match jiff::tz::TimeZone::get(tz) {
            Ok(zone) => e.work_timezone = Some(zone),
            Err(_) => problems.push(format!(
                "work_timezone '{tz}' is not an IANA time zone like America/Chicago"
            )),
        }
    }
    if problems.is_empty() {
        Ok(e)
    } else {
        Err(problems.join("; "))
    }
}

fn coordinate(
    value: Option<&str>,
    name: &str,
    max: f64,
    problems: &mut Vec<String>,
) -> Option<f64> {
    let v = value?;
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x.abs() <= max => Some(x),
        _ => {
            problems.push(format!("{name} '{v}' is not a number in -{max}..={max}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(csv: &str) -> (Roster, Vec<RowError>) {
        Roster::from_reader(csv.as_bytes(), "r.csv").expect("header is fine")
    }

    #[test]
    fn columns_in_any_order_and_only_user_required() {
        let (r, bad) = load(
            "work_timezone,Hire_Date,USER,work_lat,work_lon,work_country,badge\n\
             America/Chicago,2025-03-01,Kim.Lee@Example.COM,30.27,-97.74,us,x\n\
             ,,bob@example.com,,,,\n",
        );
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(r.len(), 2);
        let kim = r.get("kim.lee@example.com").expect("lower-cased");
        assert_eq!(kim.hire_date, Some(jiff::civil::date(2025, 3, 1)));
        assert_eq!(
            kim.work_country.map(|c| c.to_string()).as_deref(),
            Some("US")
        );
        assert_eq!((kim.work_lat, kim.work_lon), (Some(30.27), Some(-97.74)));
        assert_eq!(
            kim.work_timezone.as_ref().and_then(|t| t.iana_name()),
            Some("America/Chicago")
        );
        let bob = r.get("bob@example.com").unwrap();
        assert_eq!(bob.hire_date, None);
        assert_eq!(bob.work_timezone, None);
    }

    #[test]
    fn bad_rows_are_rejected_with_line_and_reason_and_the_rest_load() {
        let (r, bad) = load(
            "user,hire_date,work_country,work_lat,work_lon,work_timezone\n\
             a@x.com,2025-13-01,US,,,\n\
             b@x.com,2025-01-01,USA,,,\n\
             c@x.com,,,95,10,\n\
             d@x.com,,,10,,\n\
             e@x.com,,,,,Mars/Olympus\n\
             ,2025-01-01,US,,,\n\
             f@x.com,2024-02-29,DE,52.52,13.40,Europe/Berlin\n\
             F@X.com,,,,,\n\
             g@x.com,,,,,,extra\n",
        );
        let lines: Vec<u64> = bad.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 9, 10], "{bad:#?}");
        assert!(bad[0].reason.contains("hire_date '2025-13-01'"));
        assert!(bad[1].reason.contains("work_country 'USA'"));
        assert!(bad[2].reason.contains("work_lat '95'"));
        assert!(bad[3].reason.contains("without work_lon"));
        assert!(bad[4].reason.contains("Mars/Olympus"));
        assert!(bad[5].reason.contains("user is empty"));
        assert!(bad[6].reason.contains("already listed on line 8"));
        assert!(bad[7].reason.contains("3 fields") || bad[7].reason.contains("7 fields"));
        assert_eq!(bad[0].to_string(), format!("r.csv:2: {}", bad[0].reason));
        assert_eq!(r.len(), 1);
        assert!(r.get("f@x.com").is_some());
    }

    #[test]
    fn quoted_fields_bom_blank_lines_and_crlf() {
        let (r, bad) = load(
            "\u{feff}user,display_name,work_city\r\n\"kim@x.com\",\"Lee, Kim\",\"Austin\"\r\n\r\nlee@x.com,Lee,\r\n",
        );
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(
            r.get("kim@x.com").unwrap().display_name.as_deref(),
            Some("Lee, Kim")
        );
        assert_eq!(r.get("lee@x.com").unwrap().work_city, None);
    }

    #[test]
    fn a_header_without_user_is_an_error() {
        let err = Roster::from_reader("name,hire_date\nkim,2025-01-01\n".as_bytes(), "r.csv")
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("r.csv") && msg.contains("no 'user' column"),
            "{msg}"
        );
        assert!(matches!(
            Roster::from_reader("".as_bytes(), "e.csv"),
            Err(Error::NoUserColumn { .. } | Error::Header { .. })
        ));
    }

    #[test]
    fn invalid_utf8_rejects_only_that_row() {
        let mut bytes = b"user,display_name\na@x.com,ok\nb@x.com,".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b"\nc@x.com,fine\n");
        let (r, bad) = Roster::from_reader(&bytes[..], "r.csv").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 3);
        assert!(bad[0].reason.contains("UTF-8"));
    }

    #[test]
    fn load_reads_a_file_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.csv");
        std::fs::write(&path, "user\nkim@x.com\n").unwrap();
        let (r, bad) = Roster::load(&path).unwrap();
        assert_eq!((r.len(), bad.len()), (1, 0));
        let err = Roster::load(dir.path().join("nope.csv")).unwrap_err();
        assert!(err.to_string().contains("nope.csv"), "{err}");
    }
}
