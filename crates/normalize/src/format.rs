//! The `--format` choice.

use std::fmt;
use std::str::FromStr;

use jetlag_event::Source;

/// Which format to parse records as: one vendor, or `auto` (decided per record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Decide per record (CSV inputs are always `csv`).
    #[default]
    Auto,
    /// Microsoft Entra ID sign-in logs (Graph, Log Analytics, Event Hub).
    Entra,
    /// Okta System Log.
    Okta,
    /// Google Workspace login activities (Admin SDK Reports API).
    Google,
    /// AWS CloudTrail `ConsoleLogin`.
    Cloudtrail,
    /// OCSF Authentication (class 3002).
    Ocsf,
    /// Elastic Common Schema authentication documents.
    Ecs,
    /// CSV with a header row.
    Csv,
}

impl Format {
    /// Every format, as listed in `--help`.
    pub const ALL: [Format; 8] = [
        Format::Auto,
        Format::Entra,
        Format::Okta,
        Format::Google,
        Format::Cloudtrail,
        Format::Ocsf,
        Format::Ecs,
        Format::Csv,
    ];

    /// The name on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Entra => "entra",
            Format::Okta => "okta",
            Format::Google => "google",
            Format::Cloudtrail => "cloudtrail",
            Format::Ocsf => "ocsf",
            Format::Ecs => "ecs",
            Format::Csv => "csv",
        }
    }

    /// The event source this format produces (`None` for `auto`).
    pub const fn source(self) -> Option<Source> {
        Some(match self {
            Format::Auto => return None,
            Format::Entra => Source::Entra,
            Format::Okta => Source::Okta,
            Format::Google => Source::Google,
            Format::Cloudtrail => Source::Cloudtrail,
            Format::Ocsf => Source::Ocsf,
            Format::Ecs => Source::Ecs,
            Format::Csv => Source::Csv,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown format '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}
