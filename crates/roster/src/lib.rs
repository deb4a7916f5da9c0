//! The HR roster: who works here, since when, and where they say they work.
//!
//! Detectors use it to judge a user from the first sign-in on (no blind learning period):
//! a recent hire is watched more closely, a claimed work country and time zone are compared
//! with where and when the user actually signs in.
#![deny(missing_docs)]

mod load;

pub use load::{Error, RowError};

use compact_str::CompactString;
use jetlag_event::{Country, Timestamp};
use rustc_hash::FxHashMap;

/// One person on the roster. Only `user` is required.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Employee {
    /// Lower-cased login / UPN / e-mail, as in the normalized event's `user`.
    pub user: CompactString,
    /// Display name.
    pub display_name: Option<CompactString>,
    /// First day of work.
    pub hire_date: Option<jiff::civil::Date>,
    /// Claimed work country.
    pub work_country: Option<Country>,
    /// Claimed work region / state.
    pub work_region: Option<CompactString>,
    /// Claimed work city.
    pub work_city: Option<CompactString>,
    /// Claimed work location, latitude.
    pub work_lat: Option<f64>,
    /// Claimed work location, longitude.
    pub work_lon: Option<f64>,
    /// Claimed work time zone (IANA name, e.g. `America/Chicago`).
    pub work_timezone: Option<jiff::tz::TimeZone>,
}

/// The roster: employees by user.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    by_user: FxHashMap<CompactString, Employee>,
}

impl Roster {
    /// An empty roster (every user unknown).
    pub fn empty() -> Roster {
        Roster::default()
    }

    /// A roster of the given employees (later duplicates win).
    pub fn from_employees(employees: impl IntoIterator<Item = Employee>) -> Roster {
        Roster {
            by_user: employees.into_iter().map(|e| (e.user.clone(), e)).collect(),
        }
    }

    /// The employee record of `user` (already lower-cased), if any.
    pub fn get(&self, user: &str) -> Option<&Employee> {
        self.by_user.get(user)
    }

    /// Number of employees.
    pub fn len(&self) -> usize {
        self.by_user.len()
    }

    /// Whether the roster is empty.
    pub fn is_empty(&self) -> bool {
        self.by_user.is_empty()
    }

    /// Days since `user` was hired at time `at`, if the roster knows the hire date.
    /// Negative when `at` is before the hire date.
    pub fn tenure_days(&self, user: &str, at: Timestamp) -> Option<i64> {
        let hired = self.get(user)?.hire_date?;
        let day = jiff::tz::Offset::UTC.to_datetime(at).date();
        let span = hired.until(day).ok()?;
        Some(i64::from(span.get_days()))
    }

    /// Whether `user` was hired fewer than `days` days before `at`.
    pub fn is_recent_hire(&self, user: &str, at: Timestamp, days: i64) -> bool {
        self.tenure_days(user, at).is_some_and(|d| d < days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenure_counts_days_from_hire_date() {
        let roster = Roster::from_employees([Employee {
            user: "kim@example.com".into(),
            hire_date: Some(jiff::civil::date(2025, 3, 1)),
            ..Employee::default()
        }]);
        let at: Timestamp = "2025-03-31T23:00:00Z".parse().unwrap();
        assert_eq!(roster.tenure_days("kim@example.com", at), Some(30));
        assert!(roster.is_recent_hire("kim@example.com", at, 90));
        assert!(!roster.is_recent_hire("kim@example.com", at, 30));
        assert_eq!(roster.tenure_days("nobody@example.com", at), None);
    }
}
