//! jetlag's configuration file (TOML), shared by `scan`, `serve` and the stream workers.
//!
//! Read in two stages (STYLE.md rule 6): the file is parsed into raw serde types with
//! `deny_unknown_fields`, one section at a time so that a mistake in one table does not hide
//! the others; then every table is checked ([`Config::parse`]). All problems are
//! reported at once, each named by its key path (`detect.impossible_travel.max_speed_kmh`).
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
//! binary applies them to the public fields of [`Config`].
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
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config = Config::parse(&text, base).map_err(|problems| Error::Invalid {
            path: path.to_owned(),
            problems,
        })?;
        config.path = Some(path.to_owned());
        Ok(config)
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
        let table: toml::Table = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
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
            Some(v) => v.clone().try_into::<RawEnrich>().unwrap_or_else(|e| {
                problems.push(format!("enrich: {}", message(&e)));
                RawEnrich::default()
            }),
        };
        let detect = parse_detect(table.get("detect"), &mut problems);
        let score = match table.get("score") {
            None => ScoreConfig::default(),
            Some(v) => v.clone().try_into::<ScoreConfig>().unwrap_or_else(|e| {
                problems.push(format!("score: {}", message(&e)));
                ScoreConfig::default()
            }),
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
        if problems.is_empty() {
            Ok(Config {
                path: None,
                enrich,
                detect,
                score,
                server,
                kafka,
            })
        } else {
            Err(problems)
        }
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

fn check_file(key: &str, path: &Path, problems: &mut Vec<String>) {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => problems.push(format!("{key}: {} is not a file", path.display())),
        Err(e) => problems.push(format!("{key}: cannot read {}: {e}", path.display())),
    }
}

fn check_enrich(raw: RawEnrich, base: &Path, problems: &mut Vec<String>) -> EnrichConfig {
    let mut out = EnrichConfig::default();
    for (i, p) in raw.geoip.into_iter().enumerate() {
        let p = resolve(base, p);
        check_file(&format!("enrich.geoip[{i}]"), &p, problems);
        out.geoip.push(p);
    }
    for (class, paths) in raw.intel {
        match class.parse::<NetClass>() {
            Ok(c) => {
                for (i, p) in paths.into_iter().enumerate() {
                    let p = resolve(base, p);
                    check_file(&format!("enrich.intel.{class}[{i}]"), &p, problems);
                    out.intel.push((c, p));
                }
            }
            Err(e) => problems.push(format!("enrich.intel.{class}: {e}")),
        }
    }
    if let Some(p) = raw.roster {
        let p = resolve(base, p);
        check_file("enrich.roster", &p, problems);
        out.roster = Some(p);
    }
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
            wrong_type[0].starts_with("enrich: invalid type"),
            "{wrong_type:?}"
        );
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let err = Config::load("/nonexistent/jetlag.toml").unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/jetlag.toml"));
    }
}
