//! One module per detector, and the registration list [`build`].
//!
//! Each module holds its `Config` (the `[detect.<name>]` table, every field documented with
//! its default and where the figure comes from) and the detector itself. To add one: create
//! the module, add a field to [`DetectConfig`], a line to its
//! `validate`, and a line to [`build`].

use jetlag_event::Country;

use crate::DetectConfig;
use crate::detector::{Detector, UserId};

pub mod anonymizer;
mod dense;
pub mod impossible_travel;
mod incident;
pub mod location_mismatch;
pub mod new_country;
pub mod off_hours;
pub mod password_spray;
pub mod session_anomaly;
pub mod shared_device;
pub mod shared_ip;
pub mod unfamiliar_signin;

/// Every detector enabled in `config`, in a fixed order (the order alerts of one event are
/// pushed in). The one registration list of the crate.
pub fn build(config: &DetectConfig) -> Vec<Box<dyn Detector>> {
    let mut all: Vec<Box<dyn Detector>> = Vec::new();
    if config.impossible_travel.enabled {
        all.push(Box::new(impossible_travel::ImpossibleTravel::new(
            &config.impossible_travel,
        )));
    }
    if config.new_country.enabled {
        all.push(Box::new(new_country::NewCountry::new(&config.new_country)));
    }
    if config.anonymizer.enabled {
        all.push(Box::new(anonymizer::Anonymizer::new(&config.anonymizer)));
    }
    if config.unfamiliar_signin.enabled {
        all.push(Box::new(unfamiliar_signin::UnfamiliarSignin::new(
            &config.unfamiliar_signin,
        )));
    }
    // Issue 5: cross-identity and roster-aware detectors.
    if config.shared_ip.enabled {
        all.push(Box::new(shared_ip::SharedIp::new(&config.shared_ip)));
    }
    if config.shared_device.enabled {
        all.push(Box::new(shared_device::SharedDevice::new(
            &config.shared_device,
        )));
    }
    if config.password_spray.enabled {
        all.push(Box::new(password_spray::PasswordSpray::new(
            &config.password_spray,
        )));
    }
    if config.location_mismatch.enabled {
        all.push(Box::new(location_mismatch::LocationMismatch::new(
            &config.location_mismatch,
        )));
    }
    if config.off_hours.enabled {
        all.push(Box::new(off_hours::OffHours::new(&config.off_hours)));
    }
    if config.session_anomaly.enabled {
        all.push(Box::new(session_anomaly::SessionAnomaly::new(
            &config.session_anomaly,
        )));
    }
    all
}

/// The default list of high-risk countries: North Korea, China, Russia, Iran, Belarus,
/// Syria, Cuba — the countries under comprehensive or broad US sanctions (OFAC programmes)
/// and the ones the DPRK IT-worker advisories (FBI/State/Treasury, May 2022 and Oct 2023)
/// name as where the workers sit or launder through (China, Russia).
pub fn default_high_risk_countries() -> Vec<Country> {
    ["KP", "CN", "RU", "IR", "BY", "SY", "CU"]
        .into_iter()
        .filter_map(Country::from_code)
        .collect()
}

/// The recent-hire window in days: 90, the usual probation period and the figure the
/// issue's laptop-farm advisory analysis uses ("hired fewer than 90 days ago").
pub const fn default_recent_hire_days() -> i64 {
    90
}

/// The per-user entry of `user` in a dense per-user table, growing the table as needed.
pub(crate) fn per_user<T: Default>(table: &mut Vec<T>, user: UserId) -> &mut T {
    let i = user.index();
    if i >= table.len() {
        if i >= table.capacity() {
            // Grow by a quarter rather than double: per-user tables are the bulk of the
            // memory, and users arrive one at a time (amortised O(1) all the same).
            table.reserve_exact((i + 1 - table.len()).max(table.len() / 4 + 16));
        }
        table.resize_with(i + 1, T::default);
    }
    &mut table[i]
}

/// Encodes a detector's state with postcard.
pub(crate) fn encode<T: serde::Serialize>(
    detector: &'static str,
    state: &T,
) -> Result<Vec<u8>, crate::Error> {
    postcard::to_stdvec(state).map_err(|e| crate::Error::encode(detector, e))
}

/// Decodes a detector's state written by [`encode`].
pub(crate) fn decode<'a, T: serde::Deserialize<'a>>(
    detector: &'static str,
    bytes: &'a [u8],
) -> Result<T, crate::Error> {
    postcard::from_bytes(bytes).map_err(|e| crate::Error::decode(detector, e))
}

/// `n` formatted with thousands separators (`7,512`), for summaries.
pub(crate) fn thousands(n: f64) -> String {
    let n = n.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
