//! The contract every detector follows.

use jetlag_event::{Alert, SignIn};
use jetlag_roster::Roster;

/// What a detector may consult besides the event: read-only, shared by all detectors.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The HR roster (empty when none was given).
    pub roster: &'a Roster,
}

/// A detector: sees sign-ins in time order and raises alerts.
///
/// **Invariant:** detectors do no I/O and never panic on any event; they receive events in
/// non-decreasing `time` order (ties broken by `event_id`), each `event_id` once.
pub trait Detector: Send {
    /// The detector's name as written in alerts and config (`impossible_travel`, ...).
    fn name(&self) -> &'static str;

    /// Observes one event, pushing any alerts it triggers onto `out`.
    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>);

    /// The input has ended (batch scans): push alerts still pending.
    fn finish(&mut self, _ctx: &Context<'_>, _out: &mut Vec<Alert>) {}
}

/// A stable alert id: a hex hash of the detector name and the ids of the events (or keys)
/// behind the alert, so the same input always gives the same id.
pub fn alert_id<'a>(detector: &str, parts: impl IntoIterator<Item = &'a str>) -> String {
    // FNV-1a 128-bit: stable across runs, platforms and Rust versions (unlike std's hasher).
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
        // Separator so ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(PRIME);
    };
    feed(detector.as_bytes());
    for p in parts {
        feed(p.as_bytes());
    }
    format!("{:032x}", h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_ids_are_stable_and_distinct() {
        let a = alert_id("impossible_travel", ["e1", "e2"]);
        assert_eq!(a, alert_id("impossible_travel", ["e1", "e2"]));
        assert_ne!(a, alert_id("impossible_travel", ["e1e2"]));
        assert_ne!(a, alert_id("new_country", ["e1", "e2"]));
        assert_eq!(a.len(), 32);
    }
}
