//! `jetlag geoip update`: download the free DB-IP Lite City and ASN databases, verify them,
//! and install them atomically.
//!
//! DB-IP publishes both monthly under `https://download.db-ip.com/free/` as
//! `dbip-city-lite-YYYY-MM.mmdb.gz` and `dbip-asn-lite-YYYY-MM.mmdb.gz`, free and without a
//! key under CC BY 4.0 (attribution: "IP Geolocation by DB-IP", <https://db-ip.com>). Early
//! in a month the new files may not be out yet, so a 404 for this month falls back to the
//! previous one.
//!
//! Each file is streamed through gunzip into a temporary file in the target directory,
//! opened and fully verified (metadata, search tree and data section, the kind of database
//! it claims to be); only when *both* pass are they renamed over
//! `dbip-city-lite.mmdb` and `dbip-asn-lite.mmdb`. A rename within one directory is atomic,
//! so a reader (or a running `jetlag serve`, through [`Enricher::reload`](crate::Enricher::reload))
//! sees the old file or the new one, never half of one.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use jiff::civil::Date;

use crate::mmdb::{MmdbDb, MmdbKind};
use crate::{Error, Result};

/// DB-IP's download directory for the free databases.
pub const DEFAULT_URL: &str = "https://download.db-ip.com/free";

/// The attribution DB-IP's licence requires wherever the data is shown.
pub const ATTRIBUTION: &str = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0";

/// The file name `update` installs the City database as.
pub const CITY_FILE: &str = "dbip-city-lite.mmdb";
/// The file name `update` installs the ASN database as.
pub const ASN_FILE: &str = "dbip-asn-lite.mmdb";

/// One database `update` installed.
#[derive(Debug, Clone)]
pub struct Installed {
    /// `city` or `asn`.
    pub what: &'static str,
    /// Where it was downloaded from.
    pub url: String,
    /// Where it now lives.
    pub path: PathBuf,
    /// Its `database_type` metadata.
    pub database_type: String,
    /// Its size, uncompressed, in bytes.
    pub bytes: u64,
}

/// Downloads, verifies and installs the current DB-IP Lite City and ASN databases into
/// `dir` (created if missing). `base_url` is [`DEFAULT_URL`] or a mirror with the same file
/// names; `today` picks the month.
///
/// # Errors
/// A download that fails (other than a 404 for the current month), or a file that fails
/// verification. Nothing is installed unless both databases pass.
pub fn update(dir: &Path, base_url: &str, today: Date) -> Result<Vec<Installed>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let base = base_url.trim_end_matches('/');
    let wanted = [
        ("city", "dbip-city-lite", MmdbKind::City, CITY_FILE),
        ("asn", "dbip-asn-lite", MmdbKind::Asn, ASN_FILE),
    ];
    let mut staged = Vec::new();
    for (what, stem, kind, file) in wanted {
        let (tmp, url) = download(dir, base, stem, today)?;
        let bytes = std::fs::read(tmp.path()).map_err(|e| Error::io(tmp.path(), e))?;
        let size = bytes.len() as u64;
        let verify = |reason: String| Error::Verify {
            what,
            url: url.clone(),
            reason,
        };
        let db = MmdbDb::from_bytes(Path::new(&url), bytes).map_err(|e| verify(e.to_string()))?;
        if db.kind() != kind {
            return Err(verify(format!(
                "it is a {} database ({}), expected {kind}",
                db.kind(),
                db.database_type()
            )));
        }
        db.verify().map_err(verify)?;
        tracing::info!(what, %url, database_type = db.database_type(), size, "downloaded and verified");
        staged.push((
            tmp,
            Installed {
                what,
                url,
                path: dir.join(file),
                database_type: db.database_type().to_owned(),
                bytes: size,
            },
        ));
    }
    let mut installed = Vec::new();
    for (tmp, info) in staged {
        tmp.persist(&info.path)
            .map_err(|e| Error::io(&info.path, e.error))?;
        installed.push(info);
    }
    let notice = dir.join("DBIP-ATTRIBUTION.txt");
    std::fs::write(&notice, format!("{ATTRIBUTION}\n")).map_err(|e| Error::io(&notice, e))?;
    Ok(installed)
}

/// [`update`] for the current month (UTC).
///
/// # Errors
/// As [`update`].
pub fn update_now(dir: &Path, base_url: &str) -> Result<Vec<Installed>> {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    update(dir, base_url, today)
}

/// Downloads `{base}/{stem}-YYYY-MM.mmdb.gz` for this month, or the previous month on a 404,
/// gunzipping it into a temporary file in `dir`.
fn download(
    dir: &Path,
    base: &str,
    stem: &str,
    today: Date,
) -> Result<(tempfile::NamedTempFile, String)> {
    let this_month = today.first_of_month();
    let last_month = this_month
        .yesterday()
        .unwrap_or(this_month)
        .first_of_month();
    let mut last_err = None;
    for month in [this_month, last_month] {
        let url = format!(
            "{base}/{stem}-{:04}-{:02}.mmdb.gz",
            month.year(),
            month.month()
        );
        let response = match ureq::get(&url).call() {
            Ok(r) => r,
            Err(ureq::Error::StatusCode(404)) => {
                tracing::info!(%url, "not published (404), trying the month before");
                last_err = Some(Error::Download {
                    url,
                    reason: "404 not found".into(),
                });
                continue;
            }
            Err(e) => {
                return Err(Error::Download {
                    url,
                    reason: e.to_string(),
                });
            }
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".jetlag-download-")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        let body = response.into_body().into_reader();
        let mut gunzip = flate2::read::GzDecoder::new(body);
        io::copy(&mut gunzip, tmp.as_file_mut()).map_err(|e| Error::Download {
            url: url.clone(),
            reason: format!("cannot gunzip the download: {e}"),
        })?;
        tmp.as_file_mut()
            .flush()
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io(tmp.path(), e))?;
        return Ok((tmp, url));
    }
    Err(last_err.unwrap_or_else(|| Error::Download {
        url: base.to_owned(),
        reason: "nothing to download".into(),
    }))
}
