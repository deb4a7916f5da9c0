//! The detection configuration: one table per detector, `[detect.<detector>]` in TOML.
//!
//! Two stages (STYLE.md rule 6): [`DetectConfig`] is the on-disk form, read with serde
//! (`deny_unknown_fields`, every field defaulted), and [`DetectConfig::validate`] reports
//! every problem at once. The doc comments on the fields are the user documentation.

use serde::{Deserialize, Serialize};

use crate::detectors::{
    anonymizer, impossible_travel, location_mismatch, new_country, off_hours, password_spray,
    session_anomaly, shared_device, shared_ip, unfamiliar_signin,
};

/// Thresholds of every detector. One field per detector, named exactly as the detector.
///
/// To add a detector: add its field here, one line in [`DetectConfig::validate`], and one
/// line in `detectors::build` (the registration list).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Two successful sign-ins of one user too far apart for the time between them.
    pub impossible_travel: impossible_travel::Config,
    /// A successful sign-in from a country the user has never used.
    pub new_country: new_country::Config,
    /// A successful sign-in through Tor, a VPN, a proxy, a relay or a hosting provider.
    pub anonymizer: anonymizer::Config,
    /// A sign-in whose features (country, ASN, browser, app, hour) are unlike the user's.
    pub unfamiliar_signin: unfamiliar_signin::Config,
    /// One non-corporate, non-anonymizing IP behind which many identities sign in (laptop farm).
    pub shared_ip: shared_ip::Config,
    /// One device or authenticator completing sign-ins for several identities.
    pub shared_device: shared_device::Config,
    /// One IP failing against many accounts, and the success that may follow.
    pub password_spray: password_spray::Config,
    /// Repeated sign-ins far from the roster's work country or location.
    pub location_mismatch: location_mismatch::Config,
    /// Sign-ins mostly outside working hours of the roster's time zone.
    pub off_hours: off_hours::Config,
    /// One session used from a new network with a different browser (stolen token).
    pub session_anomaly: session_anomaly::Config,
    /// The org-wide figures new_country and unfamiliar_signin weigh sign-ins against, frozen per epoch.
    pub population: crate::population::Config,
}

impl DetectConfig {
    /// Every problem in the configuration, each prefixed `detect.<detector>.<field>: `.
    /// Empty when the configuration is usable.
    ///
    /// # Example
    /// ```
    /// let mut config = jetlag_detect::DetectConfig::default();
    /// assert!(config.validate().is_empty());
    /// config.impossible_travel.max_speed_kmh = -1.0;
    /// assert!(config.validate()[0].starts_with("detect.impossible_travel.max_speed_kmh: "));
    /// ```
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        self.impossible_travel
            .validate(&mut Problems::new("impossible_travel", &mut problems));
        self.new_country
            .validate(&mut Problems::new("new_country", &mut problems));
        self.anonymizer
            .validate(&mut Problems::new("anonymizer", &mut problems));
        self.unfamiliar_signin
            .validate(&mut Problems::new("unfamiliar_signin", &mut problems));
        self.shared_ip
            .validate(&mut Problems::new("shared_ip", &mut problems));
        self.shared_device
            .validate(&mut Problems::new("shared_device", &mut problems));
        self.password_spray
            .validate(&mut Problems::new("password_spray", &mut problems));
        self.location_mismatch
            .validate(&mut Problems::new("location_mismatch", &mut problems));
        self.off_hours
            .validate(&mut Problems::new("off_hours", &mut problems));
        self.session_anomaly
            .validate(&mut Problems::new("session_anomaly", &mut problems));
        self.population
            .validate(&mut Problems::new("population", &mut problems));
        problems
    }
}

/// Collects a detector's configuration problems under its `detect.<detector>.` prefix.
pub struct Problems<'a> {
    detector: &'static str,
    out: &'a mut Vec<String>,
}

impl<'a> Problems<'a> {
    /// Problems of `detector`, appended to `out`.
    pub fn new(detector: &'static str, out: &'a mut Vec<String>) -> Problems<'a> {
        Problems { detector, out }
    }

    /// Records a problem with `field`.
    pub fn push(&mut self, field: &str, message: impl std::fmt::Display) {
        self.out
            .push(format!("detect.{}.{field}: {message}", self.detector));
    }

    /// Requires `value` to be finite and strictly positive.
    pub fn positive(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && value > 0.0) {
            self.push(
                field,
                format_args!("must be a positive number, got {value}"),
            );
        }
    }

    /// Requires `value` to be finite and zero or more.
    pub fn non_negative(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && value >= 0.0) {
            self.push(field, format_args!("must be zero or more, got {value}"));
        }
    }

    /// Requires `lo <= value <= hi`.
    pub fn in_range<T: PartialOrd + std::fmt::Display>(
        &mut self,
        field: &str,
        value: T,
        lo: T,
        hi: T,
    ) {
        if !(lo <= value && value <= hi) {
            self.push(
                field,
                format_args!("must be between {lo} and {hi}, got {value}"),
            );
        }
    }
}
