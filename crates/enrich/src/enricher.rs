//! The [`Enricher`]: every loaded database and list behind one lock-free handle.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use jetlag_event::{Geo, GeoSource, NetClass, SignIn};

use crate::csvdb::CsvDb;
use crate::file;
use crate::geo::{LOG_RADIUS_KM, LOG_REGION_RADIUS_KM, Precision, country_centroid};
use crate::info::Acc;
use crate::intel::IntelSet;
use crate::mmdb::{MmdbDb, looks_like_mmdb};
use crate::{Error, IpInfo, Problem, Result};

/// Builds an [`Enricher`] from lists of paths, as given on the command line
/// (`--geoip PATH`, `--intel CLASS=PATH`) or in the `[enrich]` section of the config
/// (`geoip = [paths]`, `intel = { CLASS = [paths] }`).
///
/// # Example
/// ```no_run
/// use jetlag_enrich::Enricher;
/// use jetlag_event::NetClass;
/// let enricher = Enricher::builder()
///     .geoip("GeoLite2-City.mmdb")
///     .geoip("asn-ipv4.csv.gz")
///     .intel(NetClass::Tor, "tor-exit-nodes.lst")
///     .build()?;
/// # Ok::<(), jetlag_enrich::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct EnricherBuilder {
    geoip: Vec<PathBuf>,
    intel: Vec<(NetClass, PathBuf)>,
    map: bool,
}

impl EnricherBuilder {
    /// Adds a GeoIP database: a `.mmdb` of any vendor or a CSV range file (either may be
    /// gzipped). Earlier databases win ties (see [`Enricher`]).
    pub fn geoip(mut self, path: impl Into<PathBuf>) -> Self {
        self.geoip.push(path.into());
        self
    }

    /// Adds several GeoIP databases, in order.
    pub fn geoip_paths<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.geoip.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Adds an intel list whose entries are of class `class`.
    pub fn intel(mut self, class: NetClass, path: impl Into<PathBuf>) -> Self {
        self.intel.push((class, path.into()));
        self
    }

    /// Adds several intel lists of one class (the config's `intel = { vpn = [...] }`).
    pub fn intel_paths<P: Into<PathBuf>>(
        mut self,
        class: NetClass,
        paths: impl IntoIterator<Item = P>,
    ) -> Self {
        self.intel
            .extend(paths.into_iter().map(|p| (class, p.into())));
        self
    }

    /// Memory-maps uncompressed GeoIP databases instead of reading them into the heap
    /// (default: read). A map copies nothing and loads only the pages lookups touch, but the
    /// file must then be replaced by writing a new file and renaming it over the old one (as
    /// geoipupdate and `jetlag geoip update` do), never truncated or rewritten in place:
    /// while mapped, that makes the next lookup touching the lost part kill the process
    /// with SIGBUS. Meant for short batch runs; a long-running server should read.
    pub fn map_files(mut self, map: bool) -> Self {
        self.map = map;
        self
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.geoip.is_empty() && self.intel.is_empty()
    }

    /// Opens every file.
    ///
    /// # Errors
    /// The first file that cannot be read, is not a database or list jetlag recognises, is
    /// corrupt, or holds no usable record. Bad lines inside an otherwise good file are not
    /// errors: they are skipped and listed by [`Enricher::problems`].
    pub fn build(self) -> Result<Enricher> {
        let loaded = load_all(&self, None)?;
        Ok(Enricher {
            spec: self,
            loaded: ArcSwap::from_pointee(loaded),
            lookup_errors: AtomicU64::new(0),
        })
    }
}

/// Parses a command-line `CLASS=PATH` intel argument.
///
/// # Errors
/// [`Error::IntelArg`] when there is no `=`, the class is unknown, or the path is empty.
///
/// # Example
/// ```
/// use jetlag_event::NetClass;
/// let (class, path) = jetlag_enrich::parse_intel_arg("relay=apple-proxy.txt").unwrap();
/// assert_eq!(class, NetClass::Relay);
/// assert_eq!(path.to_str(), Some("apple-proxy.txt"));
/// assert!(jetlag_enrich::parse_intel_arg("cloud=x.txt").is_err());
/// ```
pub fn parse_intel_arg(arg: &str) -> Result<(NetClass, PathBuf)> {
    let bad = |reason: String| Error::IntelArg {
        arg: arg.to_owned(),
        reason,
    };
    let (class, path) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected CLASS=PATH".into()))?;
    let class: NetClass = class.trim().parse().map_err(bad)?;
    if path.is_empty() {
        return Err(bad("the path is empty".into()));
    }
    Ok((class, PathBuf::from(path)))
}

/// One loaded GeoIP database.
#[derive(Debug)]
enum Db {
    Mmdb(MmdbDb),
    Csv(CsvDb),
}

/// A file's identity for change detection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Result<Stamp> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    Ok(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

#[derive(Debug)]
struct Loaded {
    dbs: Vec<(Stamp, Arc<Db>)>,
    intel: Arc<IntelSet>,
    intel_stamps: Vec<Stamp>,
    problems: Vec<Problem>,
}

/// Describes one loaded database or list (for `jetlag geoip` and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// The file.
    pub path: PathBuf,
    /// What it is: `mmdb city (GeoLite2-City)`, `csv asn`, `intel tor`, ...
    pub kind: String,
}

/// IP intelligence for sign-ins: GeoIP location, ASN and network classes.
///
/// Answers merge across databases: the most precise location wins (database coordinates
/// over a country centroid over a bare country code; on a tie, the database given first),
/// the first ASN and organisation win, and network classes from every database and list add
/// up.
///
/// Lookups take no lock: the loaded databases sit behind an [`ArcSwap`], and
/// [`reload`](Enricher::reload) swaps in a new set while lookups in flight finish on the old
/// one. `Enricher` is `Send + Sync`; share it with an `Arc`.
#[derive(Debug)]
pub struct Enricher {
    spec: EnricherBuilder,
    loaded: ArcSwap<Loaded>,
    lookup_errors: AtomicU64,
}

impl Enricher {
    /// A builder; see [`EnricherBuilder`].
    pub fn builder() -> EnricherBuilder {
        EnricherBuilder::default()
    }

    /// Everything known about one IP, intel labels included.
    pub fn lookup(&self, ip: IpAddr) -> IpInfo {
        self.lookup_acc(ip, true).info
    }

    fn lookup_acc(&self, ip: IpAddr, labels: bool) -> Acc {
        self.lookup_loaded(&self.loaded.load(), ip, labels)
    }

    fn lookup_loaded(&self, loaded: &Loaded, ip: IpAddr, labels: bool) -> Acc {
        let ip = ip.to_canonical();
        let mut acc = Acc::default();
        for (_, db) in &loaded.dbs {
            match &**db {
                Db::Mmdb(m) => {
                    if let Err(e) = m.lookup_into(ip, &mut acc) {
                        let n = self.lookup_errors.fetch_add(1, Ordering::Relaxed);
                        if n < 10 {
                            tracing::warn!(path = %m.path().display(), %ip, error = %e, "lookup failed");
                        }
                    }
                }
                Db::Csv(c) => c.lookup_into(ip, &mut acc),
            }
        }
        loaded.intel.lookup_into(ip, &mut acc, labels);
        acc
    }

    /// Fills the event's `geo`, `asn`, `as_org` and `network` from its IP.
    ///
    /// A location the log itself carried wins (the contract's "log-supplied geo wins"):
    ///
    /// - Log coordinates are kept, and given [`LOG_RADIUS_KM`] (or
    ///   [`LOG_REGION_RADIUS_KM`] when it names no city) if the
    ///   record gave no radius.
    /// - A log location with a country but no coordinates takes GeoIP's location only when
    ///   a database gives coordinates (not just a country centroid) in that same country:
    ///   it is more precise and agrees with the log (source `geoip`). Otherwise the log's
    ///   country, region and city are kept, with the country's
    ///   [`country_centroid`] and its covering radius (source
    ///   `log`). A country with no centroid (an unknown code) falls back to GeoIP's location
    ///   if any, else no location.
    /// - A log location with neither coordinates nor a country (a bare city name) is
    ///   replaced by GeoIP's location if any, else dropped.
    ///
    /// With no log location, GeoIP's is used. A GeoIP answer without coordinates (a bare
    /// country code missing from the centroid table) is not used. So after enrichment,
    /// `geo` is either absent or has both `lat` and `lon`, with or without databases
    /// loaded. `asn` and `as_org` already set are kept; network classes are added to those
    /// already there.
    ///
    /// It reads and writes nothing but the event's `ip`, `geo`, `asn`, `as_org` and
    /// `network`, so a caller may enrich once per distinct set of them and copy the result
    /// (`jetlag scan` does).
    pub fn enrich(&self, event: &mut SignIn) {
        self.enrich_loaded(&self.loaded.load(), event);
    }

    /// [`enrich`](Enricher::enrich)es each event of a run, with the same results, faster:
    /// the loaded databases are looked up once for the run, and each event's cached answer
    /// is fetched into the CPU's cache a few events ahead, so its memory latency overlaps
    /// the work on the events before it.
    pub fn enrich_all(&self, events: &mut [SignIn]) {
        /// Events ahead whose cache set, then record, are fetched.
        const SET_AHEAD: usize = 8;
        const RECORD_AHEAD: usize = 4;
        let loaded = self.loaded.load();
        let prefetch = |ev: Option<&SignIn>, record: bool| {
            if let Some(ip) = ev.and_then(|e| e.ip) {
                for (_, db) in &loaded.dbs {
                    if let Db::Mmdb(m) = &**db {
                        m.prefetch(ip.to_canonical(), record);
                    }
                }
            }
        };
        for i in 0..events.len() {
            prefetch(events.get(i + SET_AHEAD), false);
            prefetch(events.get(i + RECORD_AHEAD), true);
            self.enrich_loaded(&loaded, &mut events[i]);
        }
    }

    fn enrich_loaded(&self, loaded: &Loaded, event: &mut SignIn) {
        let Some(ip) = event.ip else {
            event.geo = resolve_geo(event.geo.take(), None);
            debug_assert!(event.geo.as_ref().is_none_or(|g| g.point().is_some()));
            return;
        };
        let acc = self.lookup_loaded(loaded, ip, false);
        let geoip = match acc.precision {
            Precision::Point => acc.info.geo.map(|g| (g, true)),
            Precision::Centroid => acc.info.geo.map(|g| (g, false)),
            Precision::CountryCode | Precision::None => None,
        };
        event.geo = resolve_geo(event.geo.take(), geoip);
        if event.asn.is_none() {
            event.asn = acc.info.asn;
        }
        if event.as_org.is_none() {
            event.as_org = acc.info.as_org;
        }
        event.network = event.network.union(acc.info.network);
        debug_assert!(
            event.geo.as_ref().is_none_or(|g| g.point().is_some()),
            "enrichment left a geo without coordinates: {:?}",
            event.geo
        );
    }

    /// Re-opens every file that changed (modification time or size) since it was loaded,
    /// and swaps the new set in atomically. Returns how many files were re-read.
    ///
    /// # Errors
    /// If any changed file fails to load, nothing is swapped: lookups keep using the
    /// databases loaded before, and the error names the file.
    pub fn reload(&self) -> Result<usize> {
        let current = self.loaded.load_full();
        let mut changed = 0;
        for (path, (old, _)) in self.spec.geoip.iter().zip(&current.dbs) {
            if stamp(path)? != *old {
                changed += 1;
            }
        }
        for ((_, path), old) in self.spec.intel.iter().zip(&current.intel_stamps) {
            if stamp(path)? != *old {
                changed += 1;
            }
        }
        if changed == 0 {
            return Ok(0);
        }
        let loaded = load_all(&self.spec, Some(&current))?;
        tracing::info!(changed, "ip intelligence reloaded");
        self.loaded.store(Arc::new(loaded));
        Ok(changed)
    }

    /// Starts a background thread that calls [`reload`](Enricher::reload) every `interval`
    /// (logging failures; the loaded databases keep answering). The thread ends once the
    /// last other `Arc` to the enricher is dropped.
    pub fn watch(self: &Arc<Self>, interval: std::time::Duration) -> std::thread::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("jetlag-enrich-reload".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    let Some(enricher) = weak.upgrade() else {
                        return;
                    };
                    if let Err(e) = enricher.reload() {
                        tracing::warn!(error = %e, "ip intelligence reload failed; keeping the loaded databases");
                    }
                }
            })
            .expect("spawning a thread only fails when the OS is out of resources")
    }

    /// Bad lines skipped while loading (file, line, reason), in load order.
    pub fn problems(&self) -> Vec<Problem> {
        self.loaded.load().problems.clone()
    }

    /// Lookups that failed inside a database (counted, and the first few logged).
    pub fn lookup_errors(&self) -> u64 {
        self.lookup_errors.load(Ordering::Relaxed)
    }

    /// What is loaded, in order: databases, then intel lists.
    pub fn sources(&self) -> Vec<SourceInfo> {
        let loaded = self.loaded.load();
        let mut out: Vec<SourceInfo> = loaded
            .dbs
            .iter()
            .map(|(_, db)| match &**db {
                Db::Mmdb(m) => SourceInfo {
                    path: m.path().to_owned(),
                    kind: format!("mmdb {} ({})", m.kind(), m.database_type()),
                },
                Db::Csv(c) => SourceInfo {
                    path: c.path().to_owned(),
                    kind: format!("csv {} ({} ranges)", c.layout(), c.len()),
                },
            })
            .collect();
        out.extend(self.spec.intel.iter().map(|(class, path)| SourceInfo {
            path: path.clone(),
            kind: format!("intel {class}"),
        }));
        out
    }

    /// Whether no database or list is loaded (enrichment then only completes log
    /// locations: radii, and country centroids for a log country without coordinates).
    pub fn is_empty(&self) -> bool {
        self.spec.is_empty()
    }
}

/// The event's location after enrichment, from what the log carried (`log`) and GeoIP's
/// answer (`geoip`: a location with coordinates, and whether they are the database's own
/// rather than a country centroid). The rules are [`Enricher::enrich`]'s; the result has
/// both `lat` and `lon` or is `None`.
fn resolve_geo(log: Option<Geo>, geoip: Option<(Geo, bool)>) -> Option<Geo> {
    let Some(mut log) = log else {
        return geoip.map(|(g, _)| g);
    };
    if log.point().is_some() {
        if log.source == GeoSource::Log && log.radius_km.is_none() {
            log.radius_km = Some(if log.city.is_some() {
                LOG_RADIUS_KM
            } else {
                LOG_REGION_RADIUS_KM
            });
        }
        return Some(log);
    }
    let Some(country) = log.country else {
        return geoip.map(|(g, _)| g);
    };
    if let Some((g, true)) = &geoip
        && g.country == Some(country)
    {
        return geoip.map(|(g, _)| g);
    }
    match country_centroid(country) {
        Some((lat, lon, radius)) => Some(Geo {
            lat: Some(lat),
            lon: Some(lon),
            radius_km: Some(radius),
            ..log
        }),
        None => geoip.map(|(g, _)| g),
    }
}

/// Loads everything; with `previous`, files whose stamp did not change are reused.
fn load_all(spec: &EnricherBuilder, previous: Option<&Loaded>) -> Result<Loaded> {
    let mut problems = Vec::new();
    let mut dbs = Vec::with_capacity(spec.geoip.len());
    for (i, path) in spec.geoip.iter().enumerate() {
        let st = stamp(path)?;
        if let Some((old, db)) = previous.and_then(|p| p.dbs.get(i))
            && *old == st
        {
            dbs.push((st, Arc::clone(db)));
            continue;
        }
        let db = open_geoip(path, spec.map, &mut problems)?;
        dbs.push((st, Arc::new(db)));
    }
    let intel_stamps = spec
        .intel
        .iter()
        .map(|(_, p)| stamp(p))
        .collect::<Result<Vec<_>>>()?;
    let intel = match previous {
        Some(p) if p.intel_stamps == intel_stamps => Arc::clone(&p.intel),
        _ => {
            let mut set = IntelSet::default();
            for (class, path) in &spec.intel {
                let bytes = file::load(path, false)?;
                let text = String::from_utf8_lossy(bytes.as_ref());
                set.load(path, *class, &text, &mut problems)?;
            }
            set.finish();
            Arc::new(set)
        }
    };
    if !problems.is_empty() {
        tracing::warn!(
            count = problems.len(),
            first = %problems[0],
            "skipped bad lines in ip intelligence files"
        );
    }
    Ok(Loaded {
        dbs,
        intel,
        intel_stamps,
        problems,
    })
}

fn open_geoip(path: &Path, map: bool, problems: &mut Vec<Problem>) -> Result<Db> {
    let bytes = file::load(path, map)?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let data = bytes.as_ref();
    let binary = data.iter().take(8192).any(|b| *b == 0);
    if looks_like_mmdb(data) || name.ends_with(".mmdb") || binary {
        let mapped = bytes.is_mapped();
        let db = MmdbDb::from_bytes(path, bytes)?;
        tracing::debug!(path = %path.display(), kind = %db.kind(), database_type = db.database_type(), mapped, "mmdb loaded");
        return Ok(Db::Mmdb(db));
    }
    let db = CsvDb::parse(path, data, problems)?;
    tracing::debug!(path = %path.display(), layout = db.layout(), ranges = db.len(), "csv range database loaded");
    Ok(Db::Csv(db))
}
