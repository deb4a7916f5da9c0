//! `jetlag config default`: the complete default configuration, commented.
//!
//! The values are the defaults themselves (`DetectConfig::default()` serialized, and the
//! `[server]` and `[kafka]` defaults as `jetlag-server` and `jetlag-stream` serialize them,
//! see [`RawDefaults`]), and the comments are the doc comments of the config structs' fields
//! (extracted from their sources by `build.rs`), so the printed file can never drift from
//! the code: each threshold with its default and where the figure comes from.

use jetlag_detect::DetectConfig;
use jetlag_score::Config as ScoreConfig;

/// The doc comments of one detector's `Config`: the struct's and each field's, in order.
pub(crate) struct DetectorDocs {
    /// The detector (its module's name), or the table (`score`, `server`, `kafka`).
    pub(crate) name: &'static str,
    /// The doc comment of `pub struct Config`.
    pub(crate) doc: &'static str,
    /// `(field, doc comment)` in declaration order.
    pub(crate) fields: &'static [(&'static str, &'static str)],
}

include!(concat!(env!("OUT_DIR"), "/detector_docs.rs"));

const HEADER: &str = "\
# jetlag configuration (TOML).
#
# `jetlag config default` prints this file: every setting with its default value
# (`[kafka]` commented out, as its topics have no default).
# `jetlag config check PATH` validates a file and lists every problem at once.
# Use it with `jetlag scan --config PATH`, `jetlag serve --config PATH` and
# `jetlag consume --config PATH`; each reads the tables it needs and ignores the others.
# Relative paths are resolved against the folder of this file. Command-line flags add to
# what is here (--geoip, --intel) or override it (--roster). Leave out any key or table to
# keep its default.

[enrich]
# GeoIP databases: MaxMind-format .mmdb files of any vendor (MaxMind, DB-IP, IPinfo,
# ip-location-db) - City, Country, ASN, Anonymous-IP - or CSV range files
# (`start,end,country[,region,city,lat,lon]` or `start,end,asn,org`).
# Default: none (events keep only the location their log carries).
# Example: geoip = [\"dbip-city-lite.mmdb\", \"asn-ipv4.csv.gz\"]
geoip = []
# Network-class lists, CLASS = [files]: one IP or CIDR per line (`#` comments) or CSV
# `cidr,label`. CLASS is one of tor, vpn, proxy, relay, hosting, corporate, mobile,
# satellite, malicious. List your own egress IPs as `corporate` so that a sign-in through
# an office abroad is not taken for travel. Default: none.
# Example: intel = { vpn = [\"x4bnet-vpn.txt\"], corporate = [\"our-egress.txt\"] }
intel = {}
# The HR roster CSV (header row; only `user` required):
# user,display_name,hire_date,work_country,work_region,work_city,work_lat,work_lon,work_timezone
# Default: none (no user is a known recent hire; no claimed work location).
# Example: roster = \"roster.csv\"
";

/// The defaults of the tables this crate keeps raw, serialized by the crates that own them
/// (`jetlag_server::ServerConfig::default_table()`,
/// `jetlag_stream::KafkaConfig::default_table()`): this crate cannot depend on them
/// (`jetlag-stream` depends on it), so the binary hands them over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawDefaults {
    /// Every key of `[server]` that has a default, with it.
    pub server: toml::Table,
    /// Every key of `[kafka]` that has a default, with it.
    pub kafka: toml::Table,
}

/// Printed above the commented-out `[kafka]` table.
const KAFKA_NOTE: &str = "\
Commented out because `topics` has no default: uncomment `[kafka]`, `topics` and the keys
you change to use `jetlag consume`. A `[kafka]` table without topics fails `jetlag config
check`.";

/// The full default configuration as commented TOML: `[enrich]`, every `[detect.<detector>]`,
/// `[score]`, `[server]` and, commented out, `[kafka]` (its `topics` have no default). A key
/// that defaults to none is shown by the `Example:` line of its comment.
///
/// # Example
/// ```
/// // The binary passes jetlag-server's and jetlag-stream's defaults here.
/// let text = jetlag_config::default_toml(&jetlag_config::RawDefaults::default());
/// let config = jetlag_config::Config::parse(&text, std::path::Path::new(".")).unwrap();
/// assert_eq!(config.detect, jetlag_config::Config::default().detect);
/// assert!(config.kafka.is_none()); // printed commented out
/// ```
pub fn default_toml(raw: &RawDefaults) -> String {
    let mut out = String::from(HEADER);
    // toml writes the tables in the struct's field order.
    let detect = toml::to_string(&DetectConfig::default())
        .unwrap_or_else(|e| format!("# cannot render the detector defaults: {e}\n"));
    let mut docs: Option<&DetectorDocs> = None;
    for line in detect.lines() {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let array = header.starts_with('[');
            let header = header.trim_matches(|c| c == '[' || c == ']');
            let detector = header.split('.').next().unwrap_or(header);
            out.push('\n');
            if !header.contains('.') {
                docs = DETECTOR_DOCS.iter().find(|d| d.name == detector);
                // The detector's description (its `DetectConfig` field), else its `Config` doc.
                let described = DETECTOR_DOCS
                    .iter()
                    .find(|d| d.name == "DetectConfig")
                    .and_then(|d| d.fields.iter().find(|(f, _)| *f == detector))
                    .map(|(_, doc)| *doc)
                    .filter(|doc| !doc.trim().is_empty());
                if let Some(doc) = described.or(docs.map(|d| d.doc)) {
                    comment(&mut out, doc);
                }
            }
            if array {
                out.push_str(&format!("[[detect.{header}]]\n"));
            } else {
                out.push_str(&format!("[detect.{header}]\n"));
            }
            continue;
        }
        if let Some((key, _)) = line.split_once(" = ")
            && !key.starts_with(' ')
            && let Some(d) = docs
            && let Some((_, doc)) = d.fields.iter().find(|(f, _)| *f == key.trim())
        {
            comment(&mut out, doc);
        }
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    render_score(&mut out);
    render_raw(&mut out, "server", &raw.server, None);
    render_raw(&mut out, "kafka", &raw.kafka, Some(KAFKA_NOTE));
    out
}

/// A table kept raw (`[server]`, `[kafka]`): its keys in declaration order, each with its doc
/// comment and default (none: the doc's `` Example: `key = …` `` line shows it). With a `note`, the table
/// is printed commented out, below the note.
fn render_raw(out: &mut String, name: &str, defaults: &toml::Table, note: Option<&str>) {
    let docs = DETECTOR_DOCS.iter().find(|d| d.name == name);
    let prefix = if note.is_some() { "# " } else { "" };
    out.push('\n');
    if let Some(d) = docs {
        comment(out, d.doc);
    }
    if let Some(note) = note {
        comment(out, note);
    }
    out.push_str(&format!("{prefix}[{name}]\n"));
    let fields = docs.map_or(&[][..], |d| d.fields);
    for (key, doc) in fields {
        comment(out, doc);
        if let Some(value) = defaults.get(*key) {
            out.push_str(&format!("{prefix}{key} = {value}\n"));
        }
    }
    // A default the docs do not name (they could not be read): printed all the same.
    for (key, value) in defaults {
        if !fields.iter().any(|(f, _)| f == key) {
            out.push_str(&format!("{prefix}{key} = {value}\n"));
        }
    }
}

/// The `[score]` table: its keys, then its sub-tables (`[score.weights]`).
fn render_score(out: &mut String) {
    let docs = DETECTOR_DOCS.iter().find(|d| d.name == "score");
    let field_doc = |key: &str| {
        docs.and_then(|d| d.fields.iter().find(|(f, _)| *f == key))
            .map(|(_, doc)| *doc)
    };
    out.push('\n');
    if let Some(d) = docs {
        comment(out, d.doc);
    }
    out.push_str("[score]\n");
    let text = toml::to_string(&ScoreConfig::default())
        .unwrap_or_else(|e| format!("# cannot render the score defaults: {e}\n"));
    let mut in_subtable = false;
    for line in text.lines() {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_subtable = true;
            out.push('\n');
            if let Some(doc) = field_doc(header) {
                comment(out, doc);
            }
            out.push_str(&format!("[score.{header}]\n"));
            continue;
        }
        if !in_subtable
            && let Some((key, _)) = line.split_once(" = ")
            && !key.starts_with(' ')
            && let Some(doc) = field_doc(key.trim())
        {
            comment(out, doc);
        }
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
}

fn comment(out: &mut String, doc: &str) {
    for line in doc.lines() {
        let line = unlink(line);
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(&line);
            out.push('\n');
        }
    }
}

/// A rustdoc link ``[`Name`]`` as `` `Name` `` (it reads fine as plain text without the
/// brackets); other brackets, as in ``tokens = [{ … }]``, are kept.
fn unlink(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("[`")
        && let Some(len) = rest[start + 2..].find("`]")
    {
        out.push_str(&rest[..start]);
        // From the opening backtick to the closing one.
        out.push_str(&rest[start + 1..start + len + 3]);
        rest = &rest[start + len + 4..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::Config;

    #[test]
    fn the_printed_default_parses_back_to_the_defaults() {
        let text = default_toml(&RawDefaults::default());
        let config = Config::parse(&text, Path::new("."))
            .unwrap_or_else(|p| panic!("default config does not parse: {p:#?}\n{text}"));
        // No raw defaults handed over: an empty `[server]`, and `[kafka]` commented out.
        assert_eq!(
            config,
            Config {
                server: Some(toml::Table::new()),
                ..Config::default()
            }
        );
        assert_eq!(config.detect, DetectConfig::default());
        assert_eq!(config.score, ScoreConfig::default());
        assert!(
            text.contains("\n[score]\n") && text.contains("\n[score.weights]\n"),
            "{text}"
        );
    }

    #[test]
    fn every_detector_and_threshold_is_documented() {
        let text = default_toml(&RawDefaults::default());
        let detect = toml::Table::try_from(DetectConfig::default()).unwrap();
        assert!(!detect.is_empty());
        for (detector, fields) in &detect {
            let DetectorDocs {
                doc,
                fields: field_docs,
                ..
            } = DETECTOR_DOCS
                .iter()
                .find(|d| d.name == detector)
                .unwrap_or_else(|| panic!("no `pub struct Config` docs found for {detector}"));
            assert!(
                !doc.trim().is_empty(),
                "{detector}: Config has no doc comment"
            );
            assert!(
                text.contains(&format!("[detect.{detector}]")),
                "{detector} missing"
            );
            for field in fields.as_table().unwrap().keys() {
                let fdoc = field_docs
                    .iter()
                    .find(|(f, _)| f == field)
                    .map(|(_, d)| *d)
                    .unwrap_or_default();
                assert!(
                    !fdoc.trim().is_empty(),
                    "detect.{detector}.{field} has no doc comment"
                );
                let first = unlink(fdoc.lines().next().unwrap());
                assert!(
                    text.contains(&format!("# {first}")),
                    "detect.{detector}.{field}: doc not printed"
                );
            }
        }
    }

    #[test]
    fn every_score_setting_is_documented() {
        let text = default_toml(&RawDefaults::default());
        let score = toml::Table::try_from(ScoreConfig::default()).unwrap();
        let docs = DETECTOR_DOCS
            .iter()
            .find(|d| d.name == "score")
            .expect("docs of jetlag-score's Config");
        for key in score.keys() {
            let doc = docs.fields.iter().find(|(f, _)| f == key).map(|(_, d)| *d);
            let first = doc
                .and_then(|d| d.lines().next())
                .unwrap_or_else(|| panic!("score.{key} has no doc comment"));
            assert!(
                text.contains(&format!("# {first}")),
                "score.{key}: doc not printed"
            );
        }
    }

    #[test]
    fn server_and_kafka_are_printed_from_the_defaults_handed_over_with_their_docs() {
        let mut raw = RawDefaults::default();
        raw.server
            .insert("listen".into(), toml::Value::from("127.0.0.1:1"));
        raw.server
            .insert("undocumented".into(), toml::Value::from(3));
        raw.kafka.insert("group".into(), toml::Value::from("g"));
        let text = default_toml(&raw);
        assert!(text.contains("\n[server]\n"), "{text}");
        assert!(text.contains("\nlisten = \"127.0.0.1:1\"\n"), "{text}");
        // A default the docs miss is printed all the same.
        assert!(text.contains("\nundocumented = 3\n"), "{text}");
        // `[kafka]` is commented out, keys and all, and the file still parses without it.
        assert!(text.contains("\n# [kafka]\n") && !text.contains("\n[kafka]"));
        assert!(text.contains("\n# group = \"g\"\n"), "{text}");
        let config = Config::parse(&text, Path::new(".")).unwrap();
        assert!(config.kafka.is_none());
        assert_eq!(
            config.server.unwrap().get("listen"),
            Some(&toml::Value::from("127.0.0.1:1"))
        );
        // build.rs found both structs and a doc for every field.
        for (table, some_fields) in [
            (
                "server",
                &["listen", "data_dir", "tls_key", "reload_poll_secs"][..],
            ),
            (
                "kafka",
                &["brokers", "topics", "stages", "webhook_backoff_ms"][..],
            ),
        ] {
            let docs = DETECTOR_DOCS
                .iter()
                .find(|d| d.name == table)
                .unwrap_or_else(|| panic!("no docs for [{table}]"));
            assert!(!docs.doc.trim().is_empty(), "[{table}] has no doc");
            for f in some_fields {
                assert!(docs.fields.iter().any(|(k, _)| k == f), "{table}.{f}");
            }
            for (f, doc) in docs.fields {
                assert!(!doc.trim().is_empty(), "{table}.{f} has no doc comment");
            }
        }
    }

    #[test]
    fn rustdoc_links_lose_their_brackets_and_toml_examples_keep_theirs() {
        assert_eq!(
            unlink("see [`Config`] and [`Severity::High`]."),
            "see `Config` and `Severity::High`."
        );
        assert_eq!(
            unlink("Example: `topics = [\"signins\"]`"),
            "Example: `topics = [\"signins\"]`"
        );
        assert_eq!(unlink("[`open"), "[`open");
    }

    #[test]
    fn the_enrich_section_documents_every_key() {
        let text = default_toml(&RawDefaults::default());
        for key in ["geoip = []", "intel = {}", "# Example: roster = "] {
            assert!(text.contains(key), "{key} missing");
        }
    }
}
