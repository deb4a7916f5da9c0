//! CSV range databases (the ip-location-db layouts), optionally gzipped, IPv4 and IPv6.
//!
//! Each row is an inclusive range `start,end,...`; the columns after the range decide the
//! layout, from the first data row:
//!
//! | columns after `start,end` | layout |
//! |---|---|
//! | `asn,org` (number) | ASN (ip-location-db `asn`) |
//! | `country` | country only: centroid + covering radius |
//! | `country,region,city,lat,lon` | the jetlag contract's city layout |
//! | `continent,country,region,city,lat,lon` | DB-IP Lite City CSV |
//! | `country,state1,state2,city,postcode,lat,lon,timezone` | ip-location-db city |
//!
//! A header row is skipped. A bad row is reported (file, line, reason) and skipped; the
//! rows around it are kept.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use compact_str::CompactString;

use crate::geo::RawGeo;
use crate::info::{Acc, Record};
use crate::{Error, Problem, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Asn,
    Country,
    Contract,
    DbipCity,
    LocationDbCity,
}

impl Layout {
    fn detect(row: &csv::StringRecord) -> Option<Layout> {
        let third = row.get(2).unwrap_or("").trim();
        match row.len() {
            4 if parse_asn(third).is_some() => Some(Layout::Asn),
            3 => Some(Layout::Country),
            7 => Some(Layout::Contract),
            8 => Some(Layout::DbipCity),
            10 => Some(Layout::LocationDbCity),
            _ => None,
        }
    }

    fn columns(self) -> usize {
        match self {
            Layout::Asn => 4,
            Layout::Country => 3,
            Layout::Contract => 7,
            Layout::DbipCity => 8,
            Layout::LocationDbCity => 10,
        }
    }

    /// The record a row describes.
    fn record(self, row: &csv::StringRecord) -> std::result::Result<Record, String> {
        let f = |i: usize| row.get(i).map(str::trim).filter(|s| !s.is_empty());
        let coord = |i: usize| -> std::result::Result<Option<f64>, String> {
            match f(i) {
                None => Ok(None),
                Some(s) => s
                    .parse::<f64>()
                    .map(Some)
                    .map_err(|_| format!("column {}: '{s}' is not a number", i + 1)),
            }
        };
        if self == Layout::Asn {
            let asn = f(2).ok_or("column 3: missing ASN")?;
            let asn = parse_asn(asn).ok_or_else(|| format!("column 3: '{asn}' is not an ASN"))?;
            return Ok(Record {
                asn: Some(asn).filter(|n| *n != 0),
                as_org: f(3).map(CompactString::from),
                ..Record::default()
            });
        }
        let raw = match self {
            Layout::Country => RawGeo {
                country: f(2),
                ..RawGeo::default()
            },
            Layout::Contract => RawGeo {
                country: f(2),
                region: f(3),
                city: f(4),
                lat: coord(5)?,
                lon: coord(6)?,
                radius_km: None,
            },
            Layout::DbipCity => RawGeo {
                country: f(3),
                region: f(4),
                city: f(5),
                lat: coord(6)?,
                lon: coord(7)?,
                radius_km: None,
            },
            Layout::LocationDbCity => RawGeo {
                country: f(2),
                region: f(3),
                city: f(5),
                lat: coord(7)?,
                lon: coord(8)?,
                radius_km: None,
            },
            Layout::Asn => unreachable!("handled above"),
        };
        if let Some(c) = raw.country
            && jetlag_event::Country::from_code(c).is_none()
            && c != "ZZ"
        {
            return Err(format!("country '{c}' is not an ISO 3166-1 alpha-2 code"));
        }
        Ok(Record {
            geo: raw.to_geo(),
            ..Record::default()
        })
    }
}

fn parse_asn(s: &str) -> Option<u32> {
    let s = s
        .strip_prefix("AS")
        .or_else(|| s.strip_prefix("as"))
        .unwrap_or(s);
    s.parse().ok()
}

/// A loaded CSV range database.
#[derive(Debug)]
pub(crate) struct CsvDb {
    path: PathBuf,
    layout: &'static str,
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    records: Vec<Record>,
}

impl CsvDb {
    /// Parses a CSV range database from its (already decompressed) bytes.
    pub(crate) fn parse(
        path: &Path,
        input: impl Read,
        problems: &mut Vec<Problem>,
    ) -> Result<CsvDb> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(input);
        let mut layout = None;
        let mut by_key: HashMap<Box<str>, u32> = HashMap::new();
        let mut db = CsvDb {
            path: path.to_owned(),
            layout: "",
            v4: Ranges::default(),
            v6: Ranges::default(),
            records: Vec::new(),
        };
        let mut row = csv::StringRecord::new();
        let mut first_problem = None;
        let mut rows4: Vec<(u32, u32, u32)> = Vec::new();
        let mut rows6: Vec<(u128, u128, u32)> = Vec::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut row) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    problems.push(Problem::new(path, line, e.to_string()));
                    // An I/O error (a truncated gzip stream) ends the file; a bad row does not.
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            }
            let line = row.position().map_or(line, |p| p.line());
            let (start, end) = match parse_range(&row) {
                Ok(r) => r,
                Err(reason) => {
                    // A header row: a first line whose first field is not an address.
                    if layout.is_none() && db.records.is_empty() && line == 1 {
                        continue;
                    }
                    first_problem.get_or_insert_with(|| reason.clone());
                    problems.push(Problem::new(path, line, reason));
                    continue;
                }
            };
            let lay = match layout {
                Some(l) => l,
                None => {
                    let Some(l) = Layout::detect(&row) else {
                        return Err(Error::Layout {
                            path: path.to_owned(),
                            reason: format!(
                                "line {line}: {} columns; expected start,end,asn,org or \
                                 start,end,country[,region,city,lat,lon]",
                                row.len()
                            ),
                        });
                    };
                    layout = Some(l);
                    db.layout = match l {
                        Layout::Asn => "asn",
                        Layout::Country => "country",
                        _ => "city",
                    };
                    l
                }
            };
            if row.len() != lay.columns() {
                problems.push(Problem::new(
                    path,
                    line,
                    format!("{} columns, expected {}", row.len(), lay.columns()),
                ));
                continue;
            }
            let key: Box<str> = row.iter().skip(2).collect::<Vec<_>>().join("\u{1f}").into();
            let idx = match by_key.get(&key) {
                Some(i) => *i,
                None => match lay.record(&row) {
                    Ok(rec) => {
                        let i = db.records.len() as u32;
                        db.records.push(rec);
                        by_key.insert(key, i);
                        i
                    }
                    Err(reason) => {
                        problems.push(Problem::new(path, line, reason));
                        continue;
                    }
                },
            };
            match (start, end) {
                (IpAddr::V4(s), IpAddr::V4(e)) => rows4.push((s.into(), e.into(), idx)),
                (IpAddr::V6(s), IpAddr::V6(e)) => rows6.push((s.into(), e.into(), idx)),
                _ => unreachable!("parse_range checks families"),
            }
        }
        if rows4.is_empty() && rows6.is_empty() {
            return Err(Error::Empty {
                path: path.to_owned(),
                reason: first_problem.unwrap_or_else(|| "the file has no rows".into()),
            });
        }
        db.v4 = Ranges::new(rows4);
        db.v6 = Ranges::new(rows6);
        Ok(db)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn layout(&self) -> &'static str {
        self.layout
    }

    pub(crate) fn len(&self) -> usize {
        self.v4.starts.len() + self.v6.starts.len()
    }

    fn find(&self, ip: IpAddr) -> Option<&Record> {
        let idx = match ip {
            IpAddr::V4(v4) => self.v4.find(u32::from(v4)),
            IpAddr::V6(v6) => self.v6.find(u128::from(v6)),
        }?;
        self.records.get(idx as usize)
    }

    pub(crate) fn lookup_into(&self, ip: IpAddr, acc: &mut Acc) {
        if let Some(rec) = self.find(ip) {
            acc.merge(rec);
        }
    }
}

/// Inclusive ranges sorted by start, as separate columns: the binary search touches only
/// the dense `starts` array (1.6 MB for 412k IPv4 ranges) until the last step.
#[derive(Debug)]
struct Ranges<T> {
    starts: Vec<T>,
    ends: Vec<T>,
    records: Vec<u32>,
}

impl<T> Default for Ranges<T> {
    fn default() -> Self {
        Ranges {
            starts: Vec::new(),
            ends: Vec::new(),
            records: Vec::new(),
        }
    }
}

impl<T: Ord + Copy> Ranges<T> {
    fn new(mut rows: Vec<(T, T, u32)>) -> Ranges<T> {
        rows.sort_unstable_by_key(|r| r.0);
        Ranges {
            starts: rows.iter().map(|r| r.0).collect(),
            ends: rows.iter().map(|r| r.1).collect(),
            records: rows.iter().map(|r| r.2).collect(),
        }
    }

    fn find(&self, ip: T) -> Option<u32> {
        let i = self.starts.partition_point(|s| *s <= ip).checked_sub(1)?;
        (ip <= self.ends[i]).then(|| self.records[i])
    }
}

fn parse_range(row: &csv::StringRecord) -> std::result::Result<(IpAddr, IpAddr), String> {
    let field = |i: usize| row.get(i).unwrap_or("").trim();
    let start: IpAddr = field(0)
        .parse()
        .map_err(|_| format!("column 1: '{}' is not an IP address", field(0)))?;
    let end: IpAddr = field(1)
        .parse()
        .map_err(|_| format!("column 2: '{}' is not an IP address", field(1)))?;
    match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) if s <= e => Ok((start, end)),
        (IpAddr::V6(s), IpAddr::V6(e)) if s <= e => Ok((start, end)),
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            Err(format!("range {start}..{end} ends before it starts"))
        }
        _ => Err(format!("range {start}..{end} mixes IPv4 and IPv6")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Result<CsvDb>, Vec<Problem>) {
        let mut problems = Vec::new();
        let db = CsvDb::parse(Path::new("t.csv"), text.as_bytes(), &mut problems);
        (db, problems)
    }

    fn lookup(db: &CsvDb, ip: &str) -> crate::IpInfo {
        let mut acc = Acc::default();
        db.lookup_into(ip.parse().unwrap(), &mut acc);
        acc.info
    }

    #[test]
    fn asn_layout_with_quotes_ipv6_and_a_bad_row() {
        let text = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n\
                    1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\n\
                    1.0.9.0,banana,1,x\n\
                    2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n";
        let (db, problems) = parse(text);
        let db = db.unwrap();
        assert_eq!(db.layout(), "asn");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 3);
        assert!(problems[0].reason.contains("banana"), "{}", problems[0]);
        let info = lookup(&db, "1.0.0.7");
        assert_eq!(info.asn, Some(13335));
        assert_eq!(info.as_org.as_deref(), Some("Cloudflare, Inc."));
        assert_eq!(lookup(&db, "1.0.7.255").asn, Some(38803));
        assert_eq!(lookup(&db, "1.0.8.0").asn, None);
        assert_eq!(lookup(&db, "2001:200:1b9::1").asn, Some(2500));
        assert_eq!(lookup(&db, "2001:200:1ba::1").asn, None);
        assert_eq!(lookup(&db, "0.0.0.1").asn, None);
    }

    #[test]
    fn contract_city_layout_with_header() {
        let text = "start,end,country,region,city,lat,lon\n\
                    10.0.0.0,10.0.0.255,DE,Berlin,Berlin,52.52,13.405\n\
                    10.0.1.0,10.0.1.255,FR,,,,\n";
        let (db, problems) = parse(text);
        let db = db.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let geo = lookup(&db, "10.0.0.9").geo.unwrap();
        assert_eq!(geo.city.as_deref(), Some("Berlin"));
        assert_eq!(geo.point(), Some((52.52, 13.405)));
        assert_eq!(geo.radius_km, Some(crate::CITY_RADIUS_KM));
        let geo = lookup(&db, "10.0.1.9").geo.unwrap();
        assert_eq!(geo.country.unwrap().as_str(), "FR");
        assert!(geo.radius_km.unwrap() > 500.0, "country centroid radius");
    }

    #[test]
    fn unknown_layout_fails_with_line() {
        let (db, _) = parse("1.0.0.0,1.0.0.255,a,b,c,d\n");
        let err = db.unwrap_err().to_string();
        assert!(err.contains("t.csv") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn no_rows_is_an_error() {
        let (db, _) = parse("# only a comment\n");
        assert!(matches!(db, Err(Error::Empty { .. })));
    }
}
