//! jetlag's configuration file (TOML), shared by `scan`, `serve` and the stream workers.
//!
//! Read in two stages (STYLE.md rule 6): the file is parsed into raw serde types with
//! `deny_unknown_fields`, one table (and within a table one key: [`deserialize_by_key`]) at a
//! time so that a mistake in one place does not hide the others; then every table is checked
//! ([`Config::parse`]). All problems are reported at once, each named by its key path
//! (`detect.impossible_travel.max_speed_kmh`). [`Config::parse_partial`] keeps going past
//! problems, so that `jetlag config check` can also hand the raw `[server]` and `[kafka]`
//! tables to their owners and load the files `[enrich]` names ([`EnrichConfig::files`]).
//!
//! Shape:
//! ```toml
//! [enrich]
//! geoip = ["dbip-city-lite.mmdb"]        # relative paths: against the config file's folder
//! intel = { vpn = ["vpn.txt"], corporate = ["egress.txt"] }
//! roster = "roster.csv"
//!
//! [detect.impossible_travel]               # one table per detector: jetlag_detect::DetectConfig
//! max_speed_kmh = 900.0
//!
//! [score]                                  # user risk fusion: jetlag_score::Config
//! recent_hire_factor = 2.0
//!
//! [server]                                 # kept raw for `jetlag serve` (see Config::server)
//!
//! [kafka]                                  # kept raw for `jetlag consume` (see Config::kafka)
//! ```
//! Command-line flags add to (`--geoip`, `--intel`) or override (`--roster`) the file; the
//! binary applies them to the public fields of [`Config`] before the files are checked
//! ([`Config::load_with`]), so a file a flag replaced is never opened.
#![deny(missing_docs)]

mod default_toml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use jetlag_detect::DetectConfig;
use jetlag_event::NetClass;
use jetlag_score::Config as ScoreConfig;
use serde::Deserialize;

pub use default_toml::{RawDefaults, default_toml};

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Io {
        /// The config file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file was read but has problems; every one is listed.
    #[error("{}", Problems { path, problems })]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Every problem, each starting with its key path.
        problems: Vec<String>,
    },
}

struct Problems<'a> {
    path: &'a Path,
    problems: &'a [String],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "config {} has {n} problem{}:",
            self.path.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in self.problems {
            write!(f, "\n  - {}", p.replace('\n', "\n    "))?;
        }
        Ok(())
    }
}

/// The `[enrich]` table, validated: where GeoIP, intel lists and the roster come from.
/// Paths are absolute or relative to the working directory (config-relative paths have been
/// resolved against the config file's folder).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnrichConfig {
    /// GeoIP databases (MaxMind-format `.mmdb` of any vendor, or CSV range files).
    pub geoip: Vec<PathBuf>,
    /// Network-class lists: each file lists IPs/CIDRs of its class.
    pub intel: Vec<(NetClass, PathBuf)>,
    /// The HR roster CSV.
    pub roster: Option<PathBuf>,
}

/// A validated configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The file it was read from (`None` for the defaults).
    pub path: Option<PathBuf>,
    /// Enrichment sources.
    pub enrich: EnrichConfig,
    /// Every detector's thresholds (`[detect.<detector>]`).
    pub detect: DetectConfig,
    /// How alerts are fused into per-user risk (`[score]`).
    pub score: ScoreConfig,
    /// The `[server]` table, kept raw: `jetlag serve` deserializes and validates it with its
    /// own types (`jetlag-server`), so this crate need not depend on the server. `None` when
    /// the file has no `[server]` table.
    pub server: Option<toml::Table>,
    /// The `[kafka]` table, kept raw like `[server]`: `jetlag consume` checks it with
    /// `jetlag_stream::KafkaConfig`. `None` when the file has no `[kafka]` table.
    pub kafka: Option<toml::Table>,
}

/// The on-disk `[enrich]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawEnrich {
    geoip: Vec<PathBuf>,
    intel: BTreeMap<String, Vec<PathBuf>>,
    roster: Option<PathBuf>,
}

/// The top-level tables a config file may have.
const TABLES: [&str; 5] = ["enrich", "detect", "score", "server", "kafka"];

impl Config {
    /// Reads and validates a config file. Relative paths in it are resolved against the
    /// file's folder.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Invalid`] with every problem
    /// otherwise.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Error> {
        Config::load_with(path, |_| {})
    }

    /// Reads a config file, lets the command line change it (`apply`), then checks it: the
    /// one path for a setting whether it comes from the file or a flag. A file the flags
    /// replaced (`--roster` over `enrich.roster`: `apply` sets it to `None` and the command
    /// loads its own) is neither opened nor checked.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn load_with(
        path: impl AsRef<Path>,
        apply: impl FnOnce(&mut Config),
    ) -> Result<Config, Error> {
        let path = path.as_ref();
        let (mut config, mut problems) = Config::load_partial(path)?;
        apply(&mut config);
        problems.extend(config.enrich.probe_files());
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(Error::Invalid {
                path: path.to_owned(),
                problems,
            })
        }
    }

    /// Reads a config file as far as it can be read, for `jetlag config check`: the config,
    /// with the defaults in place of whatever could not be read, and every problem except
    /// those of the files `[enrich]` names, which are not opened ([`EnrichConfig::files`]
    /// lists them for a caller that loads them). The raw `[server]` and `[kafka]` tables
    /// are kept even when other tables have problems, so that their owners can check them
    /// too.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub fn load_partial(path: impl AsRef<Path>) -> Result<(Config, Vec<String>), Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let (mut config, problems) = Config::parse_partial(&text, base);
        config.path = Some(path.to_owned());
        Ok((config, problems))
    }

    /// Parses and validates config text; relative paths are resolved against `base`.
    ///
    /// # Errors
    /// Every problem found, each starting with its key path.
    ///
    /// # Example
    /// ```
    /// use std::path::Path;
    /// let text = "[enrich]\nroster = \"hr/roster.csv\"\n[detect.impossible_travel]\nmax_speed_kmh = -5.0\n[detect.bogus]\n";
    /// let problems = jetlag_config::Config::parse(text, Path::new("/etc/jetlag")).unwrap_err();
    /// assert_eq!(problems.len(), 3); // missing roster, negative speed, unknown detector
    /// ```
    pub fn parse(text: &str, base: &Path) -> Result<Config, Vec<String>> {
        let (config, mut problems) = Config::parse_partial(text, base);
        problems.extend(config.enrich.probe_files());
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// Parses config text as far as it can be read, opening no file: the config (defaults
    /// in place of what could not be read; the raw `[server]` and `[kafka]` tables as they
    /// are) and every problem, each starting with its key path. Parsing never fails; the
    /// config is usable only when the problems are none and its files load.
    ///
    /// # Example
    /// ```
    /// use std::path::Path;
    /// let text = "[detect.impossible_travel]\nmax_speed_kmh = -5.0\n[server]\nlisten = 5\n";
    /// let (config, problems) = jetlag_config::Config::parse_partial(text, Path::new("."));
    /// assert_eq!(problems.len(), 1, "{problems:?}");
    /// assert!(config.server.is_some(), "kept for jetlag-server to check");
    /// ```
    pub fn parse_partial(text: &str, base: &Path) -> (Config, Vec<String>) {
        let table: toml::Table = match toml::from_str(text) {
            Ok(table) => table,
            Err(e) => return (Config::default(), vec![e.to_string()]),
        };
        let mut problems = Vec::new();
        for key in table.keys() {
            if !TABLES.contains(&key.as_str()) {
                problems.push(format!(
                    "{key}: unknown table (expected one of: {})",
                    TABLES.join(", ")
                ));
            }
        }

        let raw_enrich = match table.get("enrich") {
            None => RawEnrich::default(),
            // What stands in for an unreadable key (no file, no list) is never a problem.
            Some(toml::Value::Table(t)) => deserialize_by_key(t, "enrich", &mut problems).0,
            Some(_) => {
                problems.push("enrich: must be a table ([enrich])".to_owned());
                RawEnrich::default()
            }
        };
        let detect = parse_detect(table.get("detect"), &mut problems);
        let score = match table.get("score") {
            None => ScoreConfig::default(),
            Some(toml::Value::Table(t)) => deserialize_by_key(t, "score", &mut problems).0,
            Some(_) => {
                problems.push("score: must be a table ([score])".to_owned());
                ScoreConfig::default()
            }
        };
        let server = match table.get("server") {
            None => None,
            Some(toml::Value::Table(t)) => Some(t.clone()),
            Some(_) => {
                problems.push("server: must be a table ([server])".to_owned());
                None
            }
        };

        let kafka = match table.get("kafka") {
            None => None,
            Some(toml::Value::Table(t)) => Some(t.clone()),
            Some(_) => {
                problems.push("kafka: must be a table ([kafka])".to_owned());
                None
            }
        };

        let enrich = check_enrich(raw_enrich, base, &mut problems);
        problems.extend(detect.validate());
        problems.extend(score.validate());
        let config = Config {
            path: None,
            enrich,
            detect,
            score,
            server,
            kafka,
        };
        (config, problems)
    }
}

/// Deserializes a config table one key at a time, so that every key serde cannot read is
/// reported, each with its key path under `path` (`server.tokens[0].role: unknown variant
/// `root`, …`), then the readable keys together; `T`'s defaults stand in for the others.
/// `T` must default every field (`#[serde(default)]`), as every jetlag config table does.
/// serde stops at a value's first error, so one key's problem hides only the rest of that
/// key (DESIGN.md, "Why parse the config one table at a time?"). The keys it could not read
/// come back too: [`Unreadable::filter`] drops the checks of the defaults that stood in for
/// them (an unreadable `topics` is not also "missing").
///
/// # Example
/// ```
/// #[derive(Debug, Default, serde::Deserialize)]
/// #[serde(deny_unknown_fields, default)]
/// struct Table { port: u16, hosts: Vec<String> }
///
/// let table: toml::Table = toml::from_str("port = \"x\"\nhosts = [\"a\", 5]\nbogus = 1").unwrap();
/// let mut problems = Vec::new();
/// let (t, unreadable): (Table, _) = jetlag_config::deserialize_by_key(&table, "net", &mut problems);
/// assert_eq!(problems.len(), 3);
/// assert!(problems[0].starts_with("net.bogus: unknown field"), "{problems:?}");
/// assert!(problems[1].starts_with("net.hosts[1]: invalid type"), "{problems:?}");
/// assert!(problems[2].starts_with("net.port: invalid type"), "{problems:?}");
/// assert_eq!(t.port, 0);
/// let checks = vec!["net.hosts: at least one host".to_owned(), "net.timeout: too long".to_owned()];
/// assert_eq!(unreadable.filter(checks), ["net.timeout: too long"]);
/// ```
pub fn deserialize_by_key<T>(
    table: &toml::Table,
    path: &str,
    problems: &mut Vec<String>,
) -> (T, Unreadable)
where
    T: serde::de::DeserializeOwned + Default,
{
    let mut good = toml::Table::new();
    let mut unreadable = Unreadable::default();
    for (key, value) in table {
        let mut one = toml::Table::new();
        one.insert(key.clone(), value.clone());
        match serde_path_to_error::deserialize::<_, T>(toml::Value::Table(one)) {
            Ok(_) => {
                good.insert(key.clone(), value.clone());
            }
            Err(e) => {
                // The path inside the one-key table starts with the key, unless the key
                // itself was refused (an unknown field): then it is empty.
                let inner = e.path().to_string();
                let at = if inner.is_empty() || inner == "." {
                    key.clone()
                } else {
                    inner
                };
                problems.push(format!("{path}.{at}: {}", message(e.inner())));
                unreadable.0.push(format!("{path}.{key}"));
            }
        }
    }
    let value = toml::Value::Table(good)
        .try_into::<T>()
        .unwrap_or_else(|e| {
            problems.push(format!("{path}: {}", message(&e)));
            T::default()
        });
    (value, unreadable)
}

/// The keys [`deserialize_by_key`] could not read, by key path (`kafka.topics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unreadable(Vec<String>);

impl Unreadable {
    /// Whether `problem` is about one of these keys: its key path is one of them or lies
    /// inside one (`kafka.topics: …`, `server.tokens[0].token: …`).
    pub fn covers(&self, problem: &str) -> bool {
        self.0.iter().any(|key| {
            problem
                .strip_prefix(key.as_str())
                .is_some_and(|rest| rest.starts_with([':', '[', '.']))
        })
    }

    /// `problems` without those about these keys (the checks of the defaults that stood in
    /// for them).
    pub fn filter(&self, problems: Vec<String>) -> Vec<String> {
        problems.into_iter().filter(|p| !self.covers(p)).collect()
    }
}

/// A serde error's message without toml's "TOML parse error" framing for value errors.
fn message(e: &toml::de::Error) -> String {
    e.message().trim().to_owned()
}

/// Deserializes `[detect]` one detector table at a time, so each bad table is reported.
fn parse_detect(value: Option<&toml::Value>, problems: &mut Vec<String>) -> DetectConfig {
    let Some(value) = value else {
        return DetectConfig::default();
    };
    let Some(detect) = value.as_table() else {
        problems.push("detect: must be a table of detector tables ([detect.<detector>])".into());
        return DetectConfig::default();
    };
    let mut good = toml::Table::new();
    for (name, v) in detect {
        let mut one = toml::Table::new();
        one.insert(name.clone(), v.clone());
        match toml::Value::Table(one).try_into::<DetectConfig>() {
            Ok(_) => {
                good.insert(name.clone(), v.clone());
            }
            Err(e) => {
                let msg = message(&e);
                if msg.starts_with(&format!("unknown field `{name}`")) {
                    problems.push(format!("detect.{name}: unknown detector ({msg})"));
                } else {
                    problems.push(format!("detect.{name}: {msg}"));
                }
            }
        }
    }
    toml::Value::Table(good)
        .try_into::<DetectConfig>()
        .unwrap_or_else(|e| {
            problems.push(format!("detect: {}", message(&e)));
            DetectConfig::default()
        })
}

fn resolve(base: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() { p } else { base.join(p) }
}

/// A file named in `[enrich]`, as [`EnrichConfig::files`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrichFile<'a> {
    /// A GeoIP database (`enrich.geoip`).
    Geoip(&'a Path),
    /// An intel list of a network class (`enrich.intel.<class>`).
    Intel(NetClass, &'a Path),
    /// The HR roster (`enrich.roster`).
    Roster(&'a Path),
}

impl EnrichFile<'_> {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            EnrichFile::Geoip(p) | EnrichFile::Intel(_, p) | EnrichFile::Roster(p) => p,
        }
    }
}

impl EnrichConfig {
    /// Every file of the table with its key path (`enrich.geoip[0]`, `enrich.intel.vpn[1]`,
    /// `enrich.roster`), in order: GeoIP databases, intel lists, the roster.
    ///
    /// # Example
    /// ```
    /// use std::path::PathBuf;
    /// use jetlag_config::{EnrichConfig, EnrichFile};
    /// use jetlag_event::NetClass;
    /// let enrich = EnrichConfig {
    ///     geoip: vec![PathBuf::from("city.mmdb")],
    ///     intel: vec![(NetClass::Vpn, "a.txt".into()), (NetClass::Vpn, "b.txt".into())],
    ///     roster: None,
    /// };
    /// let keys: Vec<String> = enrich.files().into_iter().map(|(key, _)| key).collect();
    /// assert_eq!(keys, ["enrich.geoip[0]", "enrich.intel.vpn[0]", "enrich.intel.vpn[1]"]);
    /// ```
    pub fn files(&self) -> Vec<(String, EnrichFile<'_>)> {
        let mut out = Vec::new();
        for (i, p) in self.geoip.iter().enumerate() {
            out.push((format!("enrich.geoip[{i}]"), EnrichFile::Geoip(p)));
        }
        for (n, (class, p)) in self.intel.iter().enumerate() {
            let i = self.intel[..n].iter().filter(|(c, _)| c == class).count();
            out.push((
                format!("enrich.intel.{class}[{i}]"),
                EnrichFile::Intel(*class, p),
            ));
        }
        if let Some(p) = &self.roster {
            out.push(("enrich.roster".to_owned(), EnrichFile::Roster(p)));
        }
        out
    }

    /// Whether each file exists and is a file (a cheap probe, so that a missing file is
    /// reported with the config's other problems; the commands load them afterwards).
    fn probe_files(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, file) in self.files() {
            let path = file.path();
            match std::fs::metadata(path) {
                Ok(m) if m.is_file() => {}
                Ok(_) => problems.push(format!("{key}: {} is not a file", path.display())),
                Err(e) => problems.push(format!("{key}: cannot read {}: {e}", path.display())),
            }
        }
        problems
    }
}

/// Resolves `[enrich]`'s paths against `base` and checks its intel classes (its files are
/// probed later, once the command line had its say: [`Config::load_with`]).
fn check_enrich(raw: RawEnrich, base: &Path, problems: &mut Vec<String>) -> EnrichConfig {
    let mut out = EnrichConfig::default();
    for p in raw.geoip {
        out.geoip.push(resolve(base, p));
    }
    for (class, paths) in raw.intel {
        match class.parse::<NetClass>() {
            Ok(c) => {
                for p in paths {
                    out.intel.push((c, resolve(base, p)));
                }
            }
            Err(e) => problems.push(format!("enrich.intel.{class}: {e}")),
        }
    }
    out.roster = raw.roster.map(|p| resolve(base, p));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_default() {
        let c = Config::parse("", Path::new("/nowhere")).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("hr")).unwrap();
        for f in ["city.mmdb", "vpn.txt", "hr/roster.csv"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let abs = dir.path().join("vpn.txt");
        let text = format!(
            "[enrich]\ngeoip = [\"city.mmdb\"]\nroster = \"hr/roster.csv\"\n\
             intel = {{ vpn = [\"vpn.txt\", {abs:?}], Corporate = [] }}\n\
             [detect.impossible_travel]\nmax_speed_kmh = 900.0\n\
             [score]\nrecent_hire_factor = 3.0\n[score.weights]\noff_hours = 0.5\n\
             [server]\nlisten = \"127.0.0.1:8080\"\n"
        );
        let path = dir.path().join("jetlag.toml");
        std::fs::write(&path, text).unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.path.as_deref(), Some(path.as_path()));
        assert_eq!(c.enrich.geoip, [dir.path().join("city.mmdb")]);
        assert_eq!(c.enrich.roster, Some(dir.path().join("hr/roster.csv")));
        assert_eq!(
            c.enrich.intel,
            [
                (NetClass::Vpn, dir.path().join("vpn.txt")),
                (NetClass::Vpn, abs)
            ]
        );
        assert_eq!(c.detect.impossible_travel.max_speed_kmh, 900.0);
        assert_eq!(
            c.detect.new_country,
            DetectConfig::default().new_country,
            "untouched detectors keep their defaults"
        );
        assert_eq!(c.score.recent_hire_factor, 3.0);
        assert_eq!(c.score.weights.get("off_hours"), Some(&0.5));
        assert_eq!(c.server.unwrap()["listen"].as_str(), Some("127.0.0.1:8080"));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_key_path() {
        let text = "bogus = 1\n\
                    [enrich]\ngeoip = [\"missing.mmdb\"]\nintel = { darknet = [\"x.txt\"] }\n\
                    [detect.impossible_travel]\nmax_speed_kmh = -1.0\n\
                    [detect.new_country]\nenabledd = true\n\
                    [detect.teleport]\nenabled = true\n\
                    [score]\nrepeat_factor = 2.0\n";
        let problems = Config::parse(text, Path::new("/nowhere")).unwrap_err();
        let has = |prefix: &str| problems.iter().any(|p| p.starts_with(prefix));
        assert!(has("bogus: unknown table"), "{problems:#?}");
        assert!(
            has("enrich.geoip[0]: cannot read /nowhere/missing.mmdb"),
            "{problems:#?}"
        );
        assert!(
            has("enrich.intel.darknet: unknown network class"),
            "{problems:#?}"
        );
        assert!(
            has("detect.new_country: unknown field `enabledd`"),
            "{problems:#?}"
        );
        assert!(has("detect.teleport: unknown detector"), "{problems:#?}");
        assert!(
            has("detect.impossible_travel.max_speed_kmh: "),
            "{problems:#?}"
        );
        assert!(has("score.repeat_factor: "), "{problems:#?}");
        assert_eq!(problems.len(), 7, "{problems:#?}");
    }

    #[test]
    fn syntax_errors_name_the_line_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[enrich]\ngeoip = [\"a.mmdb\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");
        let wrong_type = Config::parse("[enrich]\nroster = 5\n", Path::new(".")).unwrap_err();
        assert!(
            wrong_type[0].starts_with("enrich.roster: invalid type"),
            "{wrong_type:?}"
        );
    }

    /// Audit A5: a table with a problem hid the `[server]` and `[kafka]` tables from the
    /// owners that check them, and a value serde cannot read hid its table's other keys.
    #[test]
    fn a5_raw_tables_and_other_keys_survive_a_problem_elsewhere() {
        let text = "[enrich]\nroster = 5\ngeoip = [1]\n\
                    [score]\nrecent_hire_factor = \"x\"\nbogus = 1\n\
                    [detect.impossible_travel]\nmax_speed_kmh = -5\n\
                    [server]\nlisten = \"nowhere\"\n[kafka]\nbrokers = \"x\"\n";
        let (config, problems) = Config::parse_partial(text, Path::new("/nowhere"));
        let has = |prefix: &str| problems.iter().any(|p| p.starts_with(prefix));
        for key in [
            "enrich.roster: invalid type",
            "enrich.geoip[0]: invalid type",
            "score.recent_hire_factor: invalid type",
            "score.bogus: unknown field",
            "detect.impossible_travel.max_speed_kmh: ",
        ] {
            assert!(has(key), "{key} missing in {problems:#?}");
        }
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert_eq!(config.server.unwrap()["listen"].as_str(), Some("nowhere"));
        assert_eq!(config.kafka.unwrap()["brokers"].as_str(), Some("x"));
    }

    /// Audit B13: `--roster` did not override a config whose `enrich.roster` is missing:
    /// the file's path was checked before the flag replaced it.
    #[test]
    fn b13_a_roster_the_flags_replace_is_not_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jetlag.toml");
        std::fs::write(&path, "[enrich]\nroster = \"missing.csv\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("enrich.roster: cannot read"), "{err}");
        let config = Config::load_with(&path, |c| c.enrich.roster = None).unwrap();
        assert_eq!(config.enrich.roster, None);
        assert_eq!(config.path.as_deref(), Some(path.as_path()));
        // The flags cannot hide the file's other problems.
        std::fs::write(
            &path,
            "[enrich]\nroster = \"missing.csv\"\ngeoip = [\"nope.mmdb\"]\n",
        )
        .unwrap();
        let err = Config::load_with(&path, |c| c.enrich.roster = None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1 problem:") && err.contains("enrich.geoip[0]: cannot read"),
            "{err}"
        );
    }

    #[test]
    fn files_are_listed_with_their_key_paths() {
        let text = "[enrich]\ngeoip = [\"a.mmdb\", \"b.csv\"]\nroster = \"r.csv\"\n\
                    intel = { vpn = [\"v1\", \"v2\"], tor = [\"t\"] }\n";
        let (config, problems) = Config::parse_partial(text, Path::new("/etc/jetlag"));
        assert!(problems.is_empty(), "{problems:?}");
        let files: Vec<(String, PathBuf)> = config
            .enrich
            .files()
            .into_iter()
            .map(|(key, f)| (key, f.path().to_owned()))
            .collect();
        let keys: Vec<&str> = files.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "enrich.geoip[0]",
                "enrich.geoip[1]",
                "enrich.intel.tor[0]",
                "enrich.intel.vpn[0]",
                "enrich.intel.vpn[1]",
                "enrich.roster"
            ]
        );
        assert_eq!(files[4].1, Path::new("/etc/jetlag/v2"));
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let err = Config::load("/nonexistent/jetlag.toml").unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/jetlag.toml"));
    }
}
