//! `jetlag config`: print the commented default configuration, or check a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

/// Arguments of `jetlag config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Print the full default configuration (TOML): every setting of `[enrich]`, `[detect.*]`,
    /// `[score]`, `[server]` (serve) and `[kafka]` (consume) with its default and, in a
    /// comment, what it means and where the figure comes from. `[kafka]` is printed commented
    /// out, as its `topics` have no default.
    Default,
    /// Check a configuration file; list every problem, each with its key path (exit status 1
    /// when there are any). The files it names (GeoIP databases, intel lists, the roster,
    /// the TLS certificate and key) are loaded as `scan` and `serve` load them.
    Check {
        /// The TOML file.
        path: PathBuf,
    },
}

/// The printed default configuration, with the `[server]` and `[kafka]` defaults of the
/// crates that own those tables.
fn default_toml() -> String {
    jetlag_config::default_toml(&jetlag_config::RawDefaults {
        server: jetlag_server::ServerConfig::default_table(),
        kafka: jetlag_stream::KafkaConfig::default_table(),
    })
}

/// Runs `jetlag config`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        Action::Default => {
            let mut out = std::io::stdout().lock();
            out.write_all(default_toml().as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Action::Check { path } => check(&path),
    }
}

/// `jetlag config check`: every problem of the file at once, each with its key path. Past
/// what `jetlag-config` finds, the raw `[server]` and `[kafka]` tables are checked by their
/// owners even when other tables have problems, and the files the config names are loaded
/// as `scan`, `serve` and `consume` load them (GeoIP databases, intel lists, the roster,
/// the TLS certificate and key), so that a file they would refuse is reported here too.
fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let (config, mut problems) = jetlag_config::Config::load_partial(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    problems.extend(super::enrich_args::check_files(&config.enrich));
    if config.server.is_some() {
        let (server, found) =
            jetlag_server::ServerConfig::from_table_partial(config.server.clone(), base);
        problems.extend(found);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        problems.extend(runtime.block_on(server.check_tls()));
    }
    if config.kafka.is_some()
        && let Err(found) = jetlag_stream::KafkaConfig::from_table(config.kafka.clone())
    {
        problems.extend(found);
    }
    if !problems.is_empty() {
        eprintln!(
            "{}",
            jetlag_config::Error::Invalid {
                path: path.to_owned(),
                problems
            }
        );
        return Ok(ExitCode::from(1));
    }
    let detectors = jetlag_detect::Engine::new(
        &config.detect,
        std::sync::Arc::new(jetlag_roster::Roster::empty()),
    )
    .detector_names()
    .collect::<Vec<_>>()
    .join(", ");
    println!(
        "{}: ok ({} GeoIP databases, {} intel lists, roster: {}; detectors enabled: {})",
        path.display(),
        config.enrich.geoip.len(),
        config.enrich.intel.len(),
        config
            .enrich
            .roster
            .as_ref()
            .map_or_else(|| "none".to_owned(), |p| p.display().to_string()),
        if detectors.is_empty() {
            "none"
        } else {
            &detectors
        },
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use jetlag_config::Config;
    use jetlag_server::ServerConfig;
    use jetlag_stream::KafkaConfig;

    use super::default_toml;

    /// The commented-out `[kafka]` table as a user would enable it: the header and the
    /// `# key = value` lines uncommented, the other comments left out.
    fn uncommented_kafka(text: &str) -> String {
        let mut out = String::from("[kafka]\n");
        for line in text.lines().skip_while(|l| *l != "# [kafka]").skip(1) {
            if let Some(l) = line.strip_prefix("# ")
                && let Some((key, _)) = l.split_once(" = ")
                && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn every_server_and_kafka_key_is_printed_with_its_default_and_a_comment() {
        let text = default_toml();
        for (header, defaults, doc_only) in [
            (
                "[server]",
                ServerConfig::default_table(),
                &["tls_cert", "tls_key"][..],
            ),
            (
                "# [kafka]",
                KafkaConfig::default_table(),
                &["alerts_topic", "metrics_listen"][..],
            ),
        ] {
            let prefix = if header.starts_with('#') { "# " } else { "" };
            assert!(text.contains(&format!("\n{header}\n")), "{header} missing");
            assert!(defaults.len() > 5, "{header}: {defaults:?}");
            let body: Vec<&str> = text
                .lines()
                .skip_while(|l| *l != header)
                .skip(1)
                .take_while(|l| !l.starts_with('[') && !l.starts_with("# ["))
                .collect();
            for (key, value) in &defaults {
                let line = format!("{prefix}{key} = {value}");
                let at = body
                    .iter()
                    .position(|l| *l == line)
                    .unwrap_or_else(|| panic!("{header}: `{line}` not printed"));
                // Above it a comment, not another (commented-out) key.
                let above = at.checked_sub(1).map(|i| body[i]).unwrap_or_default();
                assert!(
                    above.starts_with("# ")
                        && !defaults
                            .iter()
                            .any(|(k, v)| above == format!("{prefix}{k} = {v}")),
                    "{header}: {key} has no comment above it"
                );
            }
            // Keys that default to none: shown by the `Example:` line of their comment.
            for key in doc_only {
                assert!(!defaults.contains_key(*key), "{key} has a default now");
                assert!(
                    body.iter()
                        .any(|l| l.starts_with(&format!("# Example: `{key} = "))),
                    "{header}: {key} not shown"
                );
            }
        }
    }

    #[test]
    fn the_printed_server_table_is_the_default_and_kafka_needs_only_topics() {
        let text = default_toml();
        let base = Path::new("/etc/jetlag");
        let config = Config::parse(&text, base).unwrap();
        assert_eq!(
            ServerConfig::from_table(config.server, base).unwrap(),
            ServerConfig::from_table(None, base).unwrap()
        );
        // Commented out, so serve, scan and `config check` never see it.
        assert!(config.kafka.is_none());

        // Uncommented, the `[kafka]` table is the defaults, and valid once it has topics.
        let kafka = uncommented_kafka(&text);
        let table = Config::parse(&kafka, base).unwrap().kafka.unwrap();
        assert_eq!(table, KafkaConfig::default_table());
        assert_eq!(
            KafkaConfig::from_table(Some(table)).unwrap_err(),
            ["kafka.topics: at least one input topic is needed"]
        );
        assert!(kafka.contains("\ntopics = []\n"), "{kafka}");
        let kafka = kafka.replace("\ntopics = []\n", "\ntopics = [\"signins\"]\n");
        let table = Config::parse(&kafka, base).unwrap().kafka;
        let minimal = Config::parse("[kafka]\ntopics = [\"signins\"]\n", base)
            .unwrap()
            .kafka;
        assert_eq!(
            KafkaConfig::from_table(table).unwrap(),
            KafkaConfig::from_table(minimal).unwrap()
        );
    }
}
