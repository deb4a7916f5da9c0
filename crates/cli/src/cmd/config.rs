//! `jetlag config`: print the commented default configuration, or check a file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `jetlag config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Print the full default configuration (TOML): every setting with its default and, in
    /// a comment, what it means and where the figure comes from.
    Default,
    /// Check a configuration file; list every problem (exit status 1 when there are any).
    Check {
        /// The TOML file.
        path: PathBuf,
    },
}

/// Runs `jetlag config`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        Action::Default => {
            let mut out = std::io::stdout().lock();
            out.write_all(jetlag_config::default_toml().as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Action::Check { path } => match jetlag_config::Config::load(&path) {
            Ok(config) => {
                // The tables kept raw for other crates are checked by them, here too.
                let base = path.parent().unwrap_or(std::path::Path::new("."));
                let mut problems = Vec::new();
                if config.server.is_some()
                    && let Err(p) =
                        jetlag_server::ServerConfig::from_table(config.server.clone(), base)
                {
                    problems.extend(p);
                }
                if config.kafka.is_some()
                    && let Err(p) = jetlag_stream::KafkaConfig::from_table(config.kafka.clone())
                {
                    problems.extend(p);
                }
                if !problems.is_empty() {
                    eprintln!(
                        "{}",
                        jetlag_config::Error::Invalid {
                            path: path.clone(),
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
            Err(err @ jetlag_config::Error::Invalid { .. }) => {
                eprintln!("{err}");
                Ok(ExitCode::from(1))
            }
            Err(err) => Err(err.into()),
        },
    }
}
