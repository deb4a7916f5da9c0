//! `--geoip` and `--intel`: the IP-intelligence flags shared by `normalize`, `scan` and
//! `geoip lookup` (flattened into each one's `Args`).

use std::path::PathBuf;

use anyhow::Context as _;
use jetlag_config::EnrichFile;
use jetlag_enrich::{Enricher, EnricherBuilder};
use jetlag_event::NetClass;

/// IP-intelligence flags: GeoIP databases and intel lists.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EnrichArgs {
    /// GeoIP database (repeatable): a MaxMind-format .mmdb of any vendor (City, Country, ASN,
    /// ISP, Connection-Type, Anonymous-IP; MaxMind, DB-IP, IPinfo, ip-location-db) or a CSV
    /// of ranges (`start,end,country[,region,city,lat,lon]` or `start,end,asn,org`), gz or not.
    #[arg(long = "geoip", value_name = "PATH")]
    pub geoip: Vec<PathBuf>,
    /// Intel list of CLASS (repeatable): tor, vpn, proxy, relay, hosting, corporate, mobile,
    /// satellite, malicious. One IP/CIDR per line with # comments, CSV cidr,label, or the
    /// AWS / Azure / GCP IP-range JSON feeds.
    #[arg(long = "intel", value_name = "CLASS=PATH", value_parser = parse_intel)]
    pub intel: Vec<(NetClass, PathBuf)>,
}

fn parse_intel(arg: &str) -> Result<(NetClass, PathBuf), String> {
    jetlag_enrich::parse_intel_arg(arg).map_err(|e| e.to_string())
}

impl EnrichArgs {
    /// Whether no database or list was given.
    pub fn is_empty(&self) -> bool {
        self.geoip.is_empty() && self.intel.is_empty()
    }

    /// Adds these flags to a builder (which may already hold the config file's
    /// `[enrich]` lists; flags come after them).
    pub fn apply(&self, mut builder: EnricherBuilder) -> EnricherBuilder {
        builder = builder.geoip_paths(self.geoip.iter().cloned());
        for (class, path) in &self.intel {
            builder = builder.intel(*class, path);
        }
        builder
    }

    /// Builds the enricher from these flags alone, for a batch command (`normalize`,
    /// `geoip lookup`): GeoIP databases are memory-mapped (DESIGN.md, "Why map the database
    /// for batch commands only?"). Bad lines inside the files are logged (warn) and
    /// skipped; a file that cannot be used is an error naming it.
    pub fn build(&self) -> anyhow::Result<Enricher> {
        build(self.apply(Enricher::builder()).map_files(true))
    }
}

/// The builder of a config file's `[enrich]` lists (GeoIP databases, then intel lists).
///
/// `scan` and `normalize` add their flags to it; `serve` and `consume` build it as it is.
/// Every command builds an enricher even when the config names no file: it still completes
/// a location the log itself carried (its default radius, a country's centroid), so the
/// commands see the same events.
pub fn from_config(config: &jetlag_config::EnrichConfig) -> EnricherBuilder {
    let mut builder = Enricher::builder().geoip_paths(config.geoip.iter().cloned());
    for (class, path) in &config.intel {
        builder = builder.intel(*class, path.clone());
    }
    builder
}

/// Builds an enricher, reporting skipped lines on stderr through `tracing`.
pub fn build(builder: EnricherBuilder) -> anyhow::Result<Enricher> {
    let enricher = builder.build().context("loading IP intelligence")?;
    for problem in enricher.problems().iter().take(5) {
        tracing::warn!("skipped: {problem}");
    }
    Ok(enricher)
}

/// Loads each file a config's `[enrich]` names, one at a time, with the loaders the commands
/// use (an enricher of that file alone, as [`from_config`] would build it; the roster), and
/// returns every failure with its key path (`enrich.intel.vpn[0]: …: no usable records`).
/// For `jetlag config check`: a file `scan` or `serve` would refuse is reported there too.
pub fn check_files(config: &jetlag_config::EnrichConfig) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, file) in config.files() {
        let failure = match file {
            EnrichFile::Geoip(path) => Enricher::builder()
                .geoip(path)
                .map_files(true)
                .build()
                .err()
                .map(|e| e.to_string()),
            EnrichFile::Intel(class, path) => Enricher::builder()
                .intel(class, path)
                .build()
                .err()
                .map(|e| e.to_string()),
            EnrichFile::Roster(path) => jetlag_roster::Roster::load(path)
                .err()
                .map(|e| e.to_string()),
        };
        if let Some(why) = failure {
            problems.push(format!("{key}: {why}"));
        }
    }
    problems
}
