//! CSV with a header row: columns found by their common names, or named with
//! `--map FIELD=COLUMN`.
//!
//! Header names are compared ignoring case, spaces, `_`, `-`, `.` and `@`, so `IP Address`,
//! `ip_address` and `ipAddress` are one name. The recognized names per field are in
//! [`FIELDS`]; `--map` wins over them.
//!
//! Values: `time` is RFC 3339, a date-time without offset (UTC) or Unix seconds /
//! milliseconds; `outcome` is `success`/`succeeded`/`ok`/`allow`/`pass`/`true`/`0`-style
//! words or `failure`/`failed`/`deny`/`blocked`/`interrupted`/`false`-style words (anything
//! else is `unknown`); `mfa` is a boolean word; `country` a code or a name.

use std::fmt;
use std::str::FromStr;

use csv::ByteRecord;
use jetlag_event::{Outcome, SignIn, Source};

use crate::common::{self, Draft, Num, Place, Text};
use crate::number;
use crate::{Error, Warning};

/// A field of the normalized event a CSV column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `time` (required).
    Time,
    /// `user` (required).
    User,
    /// `ip`.
    Ip,
    /// `outcome`.
    Outcome,
    /// `lat`.
    Lat,
    /// `lon`.
    Lon,
    /// `country`.
    Country,
    /// `city`.
    City,
    /// `region`.
    Region,
    /// `app`.
    App,
    /// `user_agent`.
    UserAgent,
    /// `device_id`.
    DeviceId,
    /// `session_id`.
    SessionId,
    /// `tenant`.
    Tenant,
    /// `event_id`.
    EventId,
    /// `mfa`.
    Mfa,
    /// `asn`.
    Asn,
    /// `as_org`.
    AsOrg,
}

/// Every field with its name (for `--map`) and the header names recognized for it
/// (already in the compared form: lower case, no separators).
pub const FIELDS: [(Field, &str, &[&str]); 18] = [
    (
        Field::Time,
        "time",
        &[
            "time",
            "timestamp",
            "date",
            "datetime",
            "eventtime",
            "createddatetime",
            "timegenerated",
            "published",
        ],
    ),
    (
        Field::User,
        "user",
        &[
            "user",
            "username",
            "upn",
            "email",
            "userprincipalname",
            "login",
            "account",
            "emailaddress",
            "actor",
        ],
    ),
    (
        Field::Ip,
        "ip",
        &[
            "ip",
            "ipaddress",
            "srcip",
            "clientip",
            "sourceip",
            "sourceipaddress",
            "remoteip",
        ],
    ),
    (
        Field::Outcome,
        "outcome",
        &["outcome", "result", "status", "resulttype"],
    ),
    (Field::Lat, "lat", &["lat", "latitude"]),
    (Field::Lon, "lon", &["lon", "long", "lng", "longitude"]),
    (
        Field::Country,
        "country",
        &["country", "countrycode", "countryorregion", "countryname"],
    ),
    (Field::City, "city", &["city"]),
    (Field::Region, "region", &["region", "state", "province"]),
    (
        Field::App,
        "app",
        &["app", "application", "appdisplayname", "appname"],
    ),
    (Field::UserAgent, "user_agent", &["useragent", "ua"]),
    (Field::DeviceId, "device_id", &["deviceid", "device"]),
    (
        Field::SessionId,
        "session_id",
        &["sessionid", "session", "correlationid"],
    ),
    (
        Field::Tenant,
        "tenant",
        &["tenant", "tenantid", "org", "organization", "accountid"],
    ),
    (
        Field::EventId,
        "event_id",
        &["eventid", "id", "uuid", "requestid"],
    ),
    (Field::Mfa, "mfa", &["mfa", "mfaused", "ismfa"]),
    (
        Field::Asn,
        "asn",
        &["asn", "asnumber", "autonomoussystemnumber"],
    ),
    (Field::AsOrg, "as_org", &["asorg", "asorganization", "isp"]),
];

impl Field {
    fn index(self) -> usize {
        self as usize
    }

    /// The field's name as written in `--map FIELD=COLUMN`.
    pub fn as_str(self) -> &'static str {
        FIELDS[self.index()].1
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FIELDS
            .iter()
            .find(|(_, name, _)| name.eq_ignore_ascii_case(s.trim()))
            .map(|(f, _, _)| *f)
            .ok_or_else(|| {
                let names: Vec<_> = FIELDS.iter().map(|(_, n, _)| *n).collect();
                format!(
                    "unknown field '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// `--map FIELD=COLUMN` overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvMap(Vec<(Field, String)>);

impl CsvMap {
    /// Adds one override.
    pub fn insert(&mut self, field: Field, column: impl Into<String>) {
        self.0.retain(|(f, _)| *f != field);
        self.0.push((field, column.into()));
    }

    /// Parses `FIELD=COLUMN`.
    ///
    /// # Errors
    /// A message naming the problem when there is no `=` or the field is unknown.
    ///
    /// # Example
    /// ```
    /// use jetlag_normalize::csv::CsvMap;
    /// let mut map = CsvMap::default();
    /// map.parse_and_insert("user=Account Name").unwrap();
    /// assert!(map.parse_and_insert("colour=x").is_err());
    /// ```
    pub fn parse_and_insert(&mut self, spec: &str) -> Result<(), String> {
        let (field, column) = spec
            .split_once('=')
            .ok_or_else(|| format!("--map expects FIELD=COLUMN, got '{spec}'"))?;
        if column.trim().is_empty() {
            return Err(format!("--map {spec}: the column name is empty"));
        }
        self.insert(field.parse()?, column.trim());
        Ok(())
    }
}

/// The compared form of a header name.
fn key(name: &[u8]) -> String {
    String::from_utf8_lossy(name)
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '@' | '\u{feff}'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which column holds which field, decided once per header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    index: [Option<usize>; 18],
    header: Vec<String>,
    /// `--map` columns the header lacks.
    missing_mapped: Vec<String>,
}

impl Columns {
    /// Matches a header row against the known names and the overrides.
    pub fn new(header: &ByteRecord, map: &CsvMap) -> Columns {
        let keys: Vec<String> = header.iter().map(key).collect();
        let mut index = [None; 18];
        for (field, _, names) in FIELDS {
            // The first name in the list that occurs wins, so `time` beats `date`.
            index[field.index()] = names.iter().find_map(|n| keys.iter().position(|k| k == n));
        }
        let mut missing_mapped = Vec::new();
        for (field, column) in &map.0 {
            let wanted = key(column.as_bytes());
            match keys.iter().position(|k| *k == wanted) {
                Some(i) => index[field.index()] = Some(i),
                None => {
                    index[field.index()] = None;
                    missing_mapped.push(format!("{field}={column}"));
                }
            }
        }
        Columns {
            index,
            header: header
                .iter()
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .collect(),
            missing_mapped,
        }
    }

    /// The column index of a field, if any.
    pub fn get(&self, field: Field) -> Option<usize> {
        self.index[field.index()]
    }

    fn missing(&self, field: Field) -> Error {
        if let Some(m) = self
            .missing_mapped
            .iter()
            // `user=…`, not `user_agent=…` (audit A, B11).
            .find(|m| {
                m.strip_prefix(field.as_str())
                    .is_some_and(|rest| rest.starts_with('='))
            })
        {
            Error::Malformed(format!("csv: --map {m}: no such column in the header"))
        } else {
            Error::Malformed(format!(
                "csv: no {field} column (header: {}); name it with --map {field}=COLUMN",
                self.header.join(",")
            ))
        }
    }
}

/// Outcome words, any case.
fn outcome(v: &str) -> Outcome {
    match common::ascii_lower(v.trim(), &mut [0; 16]).unwrap_or_default() {
        "success" | "succeeded" | "successful" | "ok" | "allow" | "allowed" | "pass" | "passed"
        | "true" | "0" => Outcome::Success,
        "failure" | "failed" | "fail" | "deny" | "denied" | "blocked" | "error" | "interrupted"
        | "false" | "rejected" => Outcome::Failure,
        _ => Outcome::Unknown,
    }
}

/// Parses one CSV row.
///
/// # Errors
/// No time or user column, an empty or unparseable time, an empty user, a field that is
/// not UTF-8.
pub fn parse(
    row: &ByteRecord,
    cols: &Columns,
    warnings: &mut Vec<Warning>,
) -> Result<SignIn, Error> {
    let mut event = common::blank();
    parse_into(row, cols, &mut event, warnings)?;
    Ok(event)
}

/// [`parse`] into a caller's event: on success every field of `out` is overwritten
/// (reusing its strings' buffers); on an error it holds nothing meaningful.
///
/// # Errors
/// As [`parse`].
pub fn parse_into(
    row: &ByteRecord,
    cols: &Columns,
    out: &mut SignIn,
    warnings: &mut Vec<Warning>,
) -> Result<(), Error> {
    let get = |field: Field| -> Result<Option<&str>, Error> {
        let Some(i) = cols.get(field) else {
            return Ok(None);
        };
        let Some(bytes) = row.get(i) else {
            return Ok(None);
        };
        let v = std::str::from_utf8(bytes).map_err(|_| Error::NotUtf8 {
            column: cols.header.get(i).cloned().unwrap_or_default(),
        })?;
        let v = v.trim();
        Ok((!v.is_empty()).then_some(v))
    };
    let in_csv = |e: Error| e.in_source(Source::Csv);
    if cols.get(Field::Time).is_none() {
        return Err(cols.missing(Field::Time));
    }
    if cols.get(Field::User).is_none() {
        return Err(cols.missing(Field::User));
    }
    let time = common::required_time(get(Field::Time).map_err(in_csv)?, "time").map_err(in_csv)?;
    let user = common::user(get(Field::User).map_err(in_csv)?, "user").map_err(in_csv)?;
    let outcome = get(Field::Outcome)
        .map_err(in_csv)?
        .map_or(Outcome::Unknown, outcome);
    let event_id = match get(Field::EventId).map_err(in_csv)? {
        Some(id) => Text::Str(id),
        None => Text::Made(common::hash_id(row.iter())),
    };
    let mut ev = Draft::new(event_id, time, Source::Csv, Text::Str(user), outcome);
    let num = |field: Field, warnings: &mut Vec<Warning>| -> Result<Option<f64>, Error> {
        Ok(get(field)?.and_then(|v| match v.parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                warnings.push(Warning::new(
                    field.as_str(),
                    format!("not a number: {v:?}, dropped"),
                ));
                None
            }
        }))
    };
    let lat = num(Field::Lat, warnings).map_err(in_csv)?;
    let lon = num(Field::Lon, warnings).map_err(in_csv)?;
    ev.ip = common::ip(get(Field::Ip).map_err(in_csv)?, "ip", warnings);
    ev.geo = common::geo(
        Place {
            lat,
            lon,
            radius_km: None,
            city: get(Field::City).map_err(in_csv)?,
            region: get(Field::Region).map_err(in_csv)?,
            country: get(Field::Country).map_err(in_csv)?,
        },
        "lat/lon/country",
        warnings,
    );
    ev.tenant = common::text(get(Field::Tenant).map_err(in_csv)?);
    ev.app = common::text(get(Field::App).map_err(in_csv)?);
    ev.user_agent = common::text(get(Field::UserAgent).map_err(in_csv)?);
    ev.device_id = common::text(get(Field::DeviceId).map_err(in_csv)?);
    ev.session_id = common::text(get(Field::SessionId).map_err(in_csv)?);
    ev.mfa = get(Field::Mfa)
        .map_err(in_csv)?
        .and_then(common::parse_bool);
    ev.asn = number::asn(
        num(Field::Asn, warnings).map_err(in_csv)?.map(Num::Float),
        "asn",
        warnings,
    );
    ev.as_org = common::text(get(Field::AsOrg).map_err(in_csv)?);
    ev.write(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &[&str]) -> ByteRecord {
        ByteRecord::from(fields.to_vec())
    }

    #[test]
    fn common_names_and_overrides() {
        let header = rec(&[
            "Timestamp",
            "User Name",
            "Client IP",
            "Status",
            "Latitude",
            "Lon",
            "Country",
        ]);
        let cols = Columns::new(&header, &CsvMap::default());
        let mut w = Vec::new();
        let ev = parse(
            &rec(&[
                "2024-01-02 03:04:05",
                "Ann@X.com",
                "203.0.113.9",
                "Failed",
                "48.85",
                "2.35",
                "France",
            ]),
            &cols,
            &mut w,
        )
        .unwrap();
        assert_eq!(ev.time.to_string(), "2024-01-02T03:04:05Z");
        assert_eq!(ev.user, "ann@x.com");
        assert_eq!(ev.outcome, Outcome::Failure);
        let geo = ev.geo.unwrap();
        assert_eq!(
            (geo.lat, geo.lon, geo.country.unwrap().as_str()),
            (Some(48.85), Some(2.35), "FR")
        );
        assert!(w.is_empty());

        let header = rec(&["when", "who"]);
        assert!(
            parse(
                &rec(&["2024-01-02T00:00:00Z", "a"]),
                &Columns::new(&header, &CsvMap::default()),
                &mut w
            )
            .is_err()
        );
        let mut map = CsvMap::default();
        map.parse_and_insert("time=When").unwrap();
        map.parse_and_insert("user=who").unwrap();
        let ev = parse(
            &rec(&["2024-01-02T00:00:00Z", "a"]),
            &Columns::new(&header, &map),
            &mut w,
        )
        .unwrap();
        assert_eq!(ev.user, "a");
    }

    #[test]
    fn a_missing_mapped_column_is_named() {
        let mut map = CsvMap::default();
        map.parse_and_insert("user=Account").unwrap();
        let cols = Columns::new(&rec(&["time", "user"]), &map);
        let err = parse(&rec(&["2024-01-02T00:00:00Z", "a"]), &cols, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "csv: --map user=Account: no such column in the header"
        );
    }

    /// Audit A, B11: `--map user_agent=X` is not `--map user=…`, so a header without a user
    /// column is reported as such, not as the `user_agent` mapping.
    #[test]
    fn a_mapped_field_whose_name_starts_like_another_does_not_hide_it() {
        for (spec, want) in [
            (
                "user_agent=Nope",
                "csv: no user column (header: time,who,ip); name it with --map user=COLUMN",
            ),
            (
                "user=Nope",
                "csv: --map user=Nope: no such column in the header",
            ),
        ] {
            let mut map = CsvMap::default();
            map.parse_and_insert(spec).unwrap();
            let cols = Columns::new(&rec(&["time", "who", "ip"]), &map);
            let err = parse(
                &rec(&["2024-01-02T00:00:00Z", "a", "192.0.2.1"]),
                &cols,
                &mut Vec::new(),
            )
            .unwrap_err();
            assert_eq!(err.to_string(), want, "--map {spec}");
        }
    }
}
