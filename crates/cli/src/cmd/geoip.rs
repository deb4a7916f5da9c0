//! `jetlag geoip`: look up IPs in GeoIP / intel databases, or update the free databases.

use std::process::ExitCode;

/// Arguments of `jetlag geoip`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `jetlag geoip`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`jetlag geoip` is not built yet (issue 3)")
}
