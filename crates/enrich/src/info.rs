//! What is known about one IP address, merged across every database and list.

use compact_str::CompactString;
use jetlag_event::{Geo, NetClasses};
use serde::Serialize;

use crate::geo::Precision;

/// Everything the loaded databases and intel lists say about one IP address.
///
/// The field names are those of the normalized event (`geo`, `asn`, `as_org`, `network`),
/// so `jetlag geoip lookup --json` and `jetlag normalize` agree.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IpInfo {
    /// The most precise GeoIP location any database gave (`source: "geoip"`).
    pub geo: Option<Geo>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Autonomous system organisation (or the ISP's name where only an ISP database has one).
    pub as_org: Option<CompactString>,
    /// Network classes from intel lists and Anonymous-IP / Connection-Type databases.
    pub network: NetClasses,
    /// Labels of the intel-list entries that matched (`aws:us-east-1`, a CSV label, ...).
    /// Only [`Enricher::lookup`](crate::Enricher::lookup) fills this; enrichment does not.
    pub labels: Vec<CompactString>,
}

/// One database's answer, as cached: the same shape as [`IpInfo`] without labels.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    pub geo: Option<(Geo, Precision)>,
    pub asn: Option<u32>,
    pub as_org: Option<CompactString>,
    pub network: NetClasses,
}

/// Merges answers: the most precise geo wins (ties: the database named first), the first
/// ASN and organisation win, network classes add up.
#[derive(Debug, Default)]
pub(crate) struct Acc {
    pub info: IpInfo,
    pub precision: Precision,
}

impl Acc {
    pub(crate) fn merge(&mut self, rec: &Record) {
        if let Some((geo, precision)) = &rec.geo {
            if *precision > self.precision {
                // Keep a country we already had if the more precise answer lacks one.
                let country = self.info.geo.as_ref().and_then(|g| g.country);
                let mut geo = geo.clone();
                if geo.country.is_none() {
                    geo.country = country;
                }
                self.info.geo = Some(geo);
                self.precision = *precision;
            } else if let Some(have) = &mut self.info.geo
                && have.country.is_none()
            {
                have.country = geo.country;
            }
        }
        if self.info.asn.is_none() {
            self.info.asn = rec.asn;
        }
        if self.info.as_org.is_none() {
            self.info.as_org.clone_from(&rec.as_org);
        }
        self.info.network = self.info.network.union(rec.network);
    }
}
