//! The contract every detector follows.

use std::cell::OnceCell;

use compact_str::CompactString;
use jetlag_event::{Alert, SignIn, Timestamp};
use jetlag_roster::{Employee, Roster};

use crate::{CompactId, Error};

/// A user interned by the [`Engine`](crate::Engine): dense ids from 0, stable for the
/// engine's life and across [`snapshot`](crate::Engine::snapshot) /
/// [`restore`](crate::Engine::restore). Per-user detectors index a `Vec` with it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UserId(pub u32);

impl UserId {
    /// The id as a `Vec` index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a detector may consult besides the event: read-only, built by the engine per event.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The HR roster (empty when none was given).
    pub roster: &'a Roster,
    /// The event's user, interned.
    pub user: UserId,
    /// The event's user's roster entry, if any (looked up once per event).
    pub employee: Option<&'a Employee>,
    /// Every interned user's name, by [`UserId`].
    pub(crate) names: &'a [CompactString],
    /// The event's id as text, and its compact form once a detector asked for it.
    pub(crate) event_id: (&'a str, &'a OnceCell<CompactId>),
}

impl<'a> Context<'a> {
    /// The name of an interned user (state may keep a [`UserId`] instead of the name).
    pub fn user_name(&self, user: UserId) -> Option<&'a str> {
        self.names.get(user.index()).map(CompactString::as_str)
    }

    /// Every interned user's name, for code that reports without an event at hand.
    pub fn names(&self) -> Names<'a> {
        Names(self.names)
    }

    /// The event's id in compact form (a UUID in 16 bytes), parsed at most once per event
    /// however many detectors keep it.
    pub fn event_id(&self) -> &'a CompactId {
        let (text, cell) = self.event_id;
        cell.get_or_init(|| CompactId::new(text))
    }

    /// Whether the event's user was hired fewer than `days` days before `at`.
    pub fn is_recent_hire(&self, at: Timestamp, days: i64) -> bool {
        let Some(hired) = self.employee.and_then(|e| e.hire_date) else {
            return false;
        };
        let day = jiff::tz::Offset::UTC.to_datetime(at).date();
        hired
            .until(day)
            .is_ok_and(|span| i64::from(span.get_days()) < days)
    }
}

/// The names of the users an [`Engine`](crate::Engine) interned, by [`UserId`]: state keeps
/// the 4-byte id, a report looks the name up.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a>(pub(crate) &'a [CompactString]);

impl<'a> Names<'a> {
    /// The name of `user` (`None` for an id the engine never gave: a corrupt state).
    pub fn get(&self, user: UserId) -> Option<&'a str> {
        self.0.get(user.index()).map(CompactString::as_str)
    }
}

/// What a detector's state is keyed by; decides which stage of a split deployment runs it
/// (see [`Stages`](crate::Stages)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateKey {
    /// Per-user state ([`UserId`]): impossible travel, new country, ...
    User,
    /// Per-IP state across identities: shared IP, password spray.
    Ip,
    /// Per-device (or session) state across identities: shared device.
    Device,
}

/// A detector: sees sign-ins in time order and raises alerts.
///
/// **Invariant:** detectors do no I/O and never panic on any event; they receive events in
/// non-decreasing `time` order (ties broken by `event_id`), each event once
/// ([`same_event`](crate::same_event)). A late event (earlier than one already seen) may
/// still arrive from a stream: it must not panic or divide by a negative time.
pub trait Detector: Send {
    /// The detector's name as written in alerts and config (`impossible_travel`, ...).
    fn name(&self) -> &'static str;

    /// What the detector's state is keyed by.
    fn key(&self) -> StateKey;

    /// A hint, before the event of `user` is observed: a per-user detector may ask the CPU
    /// to fetch the user's state into the cache now (a prefetch instruction, never a wait),
    /// so that the engine's and every detector's cache misses overlap. The engine calls it
    /// for every detector before any of them observes the event. Changes no state and no
    /// output; the default does nothing.
    fn prefetch(&self, _user: UserId) {}

    /// Observes one event, pushing any alerts it triggers onto `out`.
    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>);

    /// The input has ended (batch scans): push alerts still pending (`names` are the
    /// interned users' names).
    fn finish(&mut self, _roster: &Roster, _names: Names<'_>, _out: &mut Vec<Alert>) {}

    /// Encodes all of the detector's state (not its config).
    ///
    /// # Errors
    /// [`Error::Encode`] if the encoder fails.
    fn save_state(&self) -> Result<Vec<u8>, Error>;

    /// Replaces the detector's state with one written by [`Detector::save_state`].
    ///
    /// # Errors
    /// [`Error::Decode`] or [`Error::Inconsistent`] on bytes that are not such a state.
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error>;

    /// Whether the detector reads org-wide population figures (frozen per epoch, see
    /// [`population`](crate::population)); only then are the two methods below called.
    fn uses_population(&self) -> bool {
        false
    }

    /// Moves the detector's contributions to the population figures since the last call
    /// into `into` (the engine calls it when an epoch ends).
    fn take_population(&mut self, _into: &mut crate::population::Figures) {}

    /// Adds `delta` (contributions of finished epochs, possibly other engines') to the
    /// frozen figures the detector reads.
    fn merge_population(&mut self, _delta: &crate::population::Figures) {}
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
    hex32(h)
}

/// `h` as 32 lower-case hex digits, as `format!("{:032x}")` writes it, without the
/// formatter (one call per alert).
fn hex32(h: u128) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for i in (0..32).rev() {
        out.push(char::from(DIGITS[((h >> (i * 4)) & 0xf) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex32_is_the_formatters() {
        for h in [
            0u128,
            1,
            0xf,
            0x10,
            u128::MAX,
            0x6c62272e07bb014262b821756295c58d,
            1 << 127,
            0x0000000001000000000000000000013B,
        ] {
            assert_eq!(hex32(h), format!("{h:032x}"));
        }
        let mut x = 0x9e3779b97f4a7c15f39cc0605cedc834u128;
        for _ in 0..1000 {
            x = x
                .wrapping_mul(0x2545f4914f6cdd1d)
                .wrapping_add(0x14057b7ef767814f);
            assert_eq!(hex32(x), format!("{x:032x}"));
        }
    }

    #[test]
    fn alert_ids_are_stable_and_distinct() {
        let a = alert_id("impossible_travel", ["e1", "e2"]);
        assert_eq!(a, alert_id("impossible_travel", ["e1", "e2"]));
        assert_ne!(a, alert_id("impossible_travel", ["e1e2"]));
        assert_ne!(a, alert_id("new_country", ["e1", "e2"]));
        assert_eq!(a.len(), 32);
    }
}
