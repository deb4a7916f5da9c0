//! jetlag's simulator: a realistic, labelled, deterministic organisation on demand.
//!
//! [`simulate`] writes, under one directory:
//!
//! - `logs/<tenant>/…` — sign-ins in the vendors' real formats, one identity provider per
//!   tenant (Entra Graph pages newest-first, Okta System Log NDJSON, Google Workspace login
//!   activities NDJSON) plus each tenant's AWS CloudTrail `ConsoleLogin` records;
//! - `roster.csv` — the HR roster `jetlag scan --roster` reads;
//! - `geoip/city.csv`, `geoip/asn.csv` — CSV range databases for every IP used;
//! - `intel/<class>.txt` — corporate egress, VPN, Tor, relay, hosting and mobile networks;
//! - `truth.jsonl` — the organisation, every injected attack and every planted benign hard
//!   case ([`truth`]);
//! - `SCAN.txt` — the `jetlag scan` command line that reads it all.
//!
//! The output is a pure function of [`Config`]: the same seed gives byte-identical files.
//!
//! ```no_run
//! let cfg = jetlag_simulate::Config { users: 200, ..Default::default() };
//! let summary = jetlag_simulate::simulate(&cfg, std::path::Path::new("org"))?;
//! println!("{} sign-ins", summary.events);
//! # Ok::<(), jetlag_simulate::Error>(())
//! ```
#![deny(missing_docs)]

mod error;
mod generate;
mod org;
mod output;
pub mod truth;
mod vendor;
mod world;

pub use error::Error;
pub use output::{Summary, simulate};
pub use truth::{Label, TruthCase, TruthLine, TruthOrg};

/// A point in time, UTC.
pub type Timestamp = jiff::Timestamp;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Employees.
    pub users: u32,
    /// Days.
    pub days: u32,
    /// Tenants (tenant `t` logs with Entra, Okta, Google for `t % 3` = 0, 1, 2).
    pub tenants: u32,
    /// The seed: same seed, same bytes.
    pub seed: u64,
    /// First simulated day (a date, UTC).
    pub start: jiff::civil::Date,
}

impl Default for Config {
    /// 1,000 employees, 14 days, 3 tenants, seed 1, from Monday 2026-09-07.
    fn default() -> Self {
        Config {
            users: 1000,
            days: 14,
            tenants: 3,
            seed: 1,
            start: jiff::civil::date(2026, 9, 7),
        }
    }
}
