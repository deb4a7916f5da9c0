//! `off_hours`: a user whose working day does not fit the time zone HR has for them.
//!
//! A remote IT worker "in Texas" who actually sits in Pyongyang or Shenyang works a Korean
//! or Chinese day: 21:00–05:00 Central. One night shift means nothing; most sign-ins at night
//! over a week of working days does. The signal: over the last `window_days`, at least
//! `min_days` distinct local days with successful sign-ins and at least `min_share` of those
//! sign-ins outside `start_hour`–`end_hour` of the roster's `work_timezone`. The alert says
//! which UTC offset the sign-ins would fit.
//!
//! State is keyed by user (only users with a roster time zone) and is one small bucket per
//! local day. Re-alert policy: one alert when the pattern appears, another only when its
//! severity rises; after the share falls 10 points below `min_share` (hysteresis, so a share
//! hovering at the threshold does not flap) the pattern may alert afresh.

use jetlag_event::{Alert, Outcome, Severity, SignIn};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;
use crate::evidence::Obj;
use crate::{CompactId, Context, Detector, Error, StateKey, alert_id};

const NAME: &str = "off_hours";

/// `[detect.off_hours]`: sign-ins mostly outside the claimed time zone's working day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the detector runs. Default true.
    pub enabled: bool,
    /// First local working hour, 0–23. Default 7 (07:00).
    pub start_hour: u8,
    /// Local hour the working day ends, 1–24. Default 20 (20:00): 07:00–20:00 leaves room
    /// for early starts and evening e-mail of honest employees.
    pub end_hour: u8,
    /// Share of sign-ins outside working hours that makes the pattern. Default 0.6 (the issue).
    pub min_share: f64,
    /// Distinct local days with sign-ins needed. Default 5 (a working week, the issue).
    pub min_days: u32,
    /// Only the last this-many days count. Default 30.
    pub window_days: u32,
    /// Recent hire threshold in days (raises severity). Default 90.
    pub recent_hire_days: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            start_hour: 7,
            end_hour: 20,
            min_share: 0.6,
            min_days: 5,
            window_days: 30,
            recent_hire_days: 90,
        }
    }
}

impl Config {
    /// Reports every problem under `detect.off_hours.`.
    pub fn validate(&self, p: &mut Problems<'_>) {
        p.in_range("start_hour", self.start_hour, 0, 23);
        p.in_range("end_hour", self.end_hour, 1, 24);
        if self.start_hour >= self.end_hour {
            p.push(
                "end_hour",
                format_args!(
                    "must be after start_hour ({}), got {}",
                    self.start_hour, self.end_hour
                ),
            );
        }
        if !(self.min_share > 0.0 && self.min_share <= 1.0) {
            p.push(
                "min_share",
                format_args!("must be in (0, 1], got {}", self.min_share),
            );
        }
        if self.min_days == 0 {
            p.push("min_days", "must be at least 1");
        }
        if self.window_days == 0 {
            p.push("window_days", "must be at least 1");
        }
        if self.recent_hire_days < 0 {
            p.push(
                "recent_hire_days",
                format_args!("must be zero or more, got {}", self.recent_hire_days),
            );
        }
    }
}

/// Sign-ins of one local day.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Day {
    /// The local date as days since 1970-01-01.
    date: i32,
    /// Latest sign-in of the day, UTC seconds after `date` 00:00 UTC (within ±2 days:
    /// the local day is at most 26 h off UTC's); see [`Day::last`].
    last: i32,
    total: u32,
    off: u32,
    /// The first off-hours event of the day, for the alert.
    event: Option<CompactId>,
    /// Sums of sin/cos of the UTC hour angle, for the circular mean.
    sx: f32,
    sy: f32,
}

impl Day {
    /// The latest sign-in of the day, UTC seconds.
    fn last(&self) -> i64 {
        i64::from(self.date) * 86_400 + i64::from(self.last)
    }

    /// `t` as seconds after `date` 00:00 UTC (saturating; a sign-in of local day `date` is
    /// within two days of it).
    fn offset(date: i32, t: i64) -> i32 {
        let rel = t.saturating_sub(i64::from(date) * 86_400);
        i32::try_from(rel).unwrap_or(if rel < 0 { i32::MIN } else { i32::MAX })
    }
}

/// A time zone's UTC offset and the span it holds for: the time zone rules (POSIX rules
/// for recent years in "slim" TZif files) are evaluated once per transition, not per event.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct OffsetCache {
    offset: i32,
    from: i64,
    until: i64,
}

impl OffsetCache {
    /// The offset of `tz` at `at`, in seconds.
    fn at(&mut self, tz: &jiff::tz::TimeZone, at: jiff::Timestamp) -> i64 {
        let t = at.as_second();
        if !(self.from <= t && t < self.until) {
            let until = tz
                .following(at)
                .next()
                .map_or(i64::MAX, |tr| tr.timestamp().as_second());
            *self = OffsetCache {
                offset: tz.to_offset(at).seconds(),
                from: t,
                until,
            };
        }
        i64::from(self.offset)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct UserState {
    /// The user's time zone offset, cached until its next transition.
    offset: OffsetCache,
    /// One bucket per local day, oldest first.
    days: Vec<Day>,
    /// Sums over `days`, kept so that an event costs no scan of the buckets.
    total: u32,
    off: u32,
    reported: Option<Severity>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    users: FxHashMap<u32, UserState>,
}

/// The `off_hours` detector.
#[derive(Debug, Clone)]
pub struct OffHours {
    config: Config,
    state: State,
}

impl OffHours {
    /// A detector with the given thresholds and no state.
    pub fn new(config: &Config) -> OffHours {
        OffHours {
            config: config.clone(),
            state: State::default(),
        }
    }
}

/// The UTC offset (whole hours, −11..=12) at which the mean sign-in hour would fall at
/// `midday` local time.
fn fitting_offset(sx: f64, sy: f64, midday: f64) -> i32 {
    let mean_utc = sy.atan2(sx).to_degrees().rem_euclid(360.0) / 15.0;
    let mut off = (midday - mean_utc).round() as i32;
    while off > 12 {
        off -= 24;
    }
    while off < -11 {
        off += 24;
    }
    off
}

impl Detector for OffHours {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::User
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if !self.config.enabled || ev.outcome != Outcome::Success {
            return;
        }
        let Some(emp) = ctx.employee else { return };
        let Some(tz) = emp.work_timezone.as_ref() else {
            return;
        };
        let t = ev.time.as_second();
        let window = i64::from(self.config.window_days) * 86_400;
        let st = self.state.users.entry(ctx.user.0).or_default();
        let local = t + st.offset.at(tz, ev.time);
        let hour = local.rem_euclid(86_400) / 3600;
        // Days since the epoch, local: ordered like the local date.
        let date = local.div_euclid(86_400) as i32;
        let off =
            hour < i64::from(self.config.start_hour) || hour >= i64::from(self.config.end_hour);
        let utc_hour = t.rem_euclid(86_400) as f64 / 3600.0;
        let angle = (utc_hour * 15.0).to_radians();
        // Drop days that left the window (oldest first; a late event may leave one behind
        // until the next prune, which only makes the window a little longer).
        while st
            .days
            .first()
            .is_some_and(|d| t.saturating_sub(d.last()) > window)
        {
            let d = st.days.remove(0);
            st.total = st.total.saturating_sub(d.total);
            st.off = st.off.saturating_sub(d.off);
        }
        let day = match st.days.iter_mut().rev().find(|d| d.date == date) {
            Some(d) => d,
            None => {
                // One day at a time, not doubling: a month of days is most of the state.
                st.days.reserve_exact(1);
                st.days.push(Day {
                    date,
                    last: Day::offset(date, t),
                    total: 0,
                    off: 0,
                    event: None,
                    sx: 0.0,
                    sy: 0.0,
                });
                let n = st.days.len();
                &mut st.days[n - 1]
            }
        };
        day.last = day.last.max(Day::offset(date, t));
        day.total += 1;
        st.total += 1;
        day.sx += angle.cos() as f32;
        day.sy += angle.sin() as f32;
        if off {
            day.off += 1;
            st.off += 1;
            if day.event.is_none() {
                day.event = Some(CompactId::new(&ev.event_id));
            }
        }

        let days = st.days.len() as u32;
        let (total, off_total) = (st.total, st.off);
        let share = f64::from(off_total) / f64::from(total.max(1));
        if share < self.config.min_share - 0.1 || days < self.config.min_days {
            // The pattern is gone (or not there yet): a later one may alert afresh.
            if share < self.config.min_share - 0.1 {
                st.reported = None;
            }
            return;
        }
        if share < self.config.min_share {
            return;
        }
        let recent = ctx.is_recent_hire(ev.time, self.config.recent_hire_days);
        let mut score: u32 = if share >= 0.8 { 60 } else { 50 };
        if recent {
            score += 15;
        }
        if days >= 2 * self.config.min_days {
            score += 5;
        }
        let score = score.min(100) as u8;
        let severity = Severity::from_score(score);
        if st.reported.is_some_and(|r| r >= severity) {
            return;
        }
        st.reported = Some(severity);

        let mut ordered: Vec<&Day> = st.days.iter().collect();
        ordered.sort_by_key(|d| d.date);
        let event_ids: Vec<String> = ordered
            .iter()
            .filter_map(|d| d.event.as_ref().map(|e| e.to_string()))
            .collect();
        let (sx, sy) = st.days.iter().fold((0.0f64, 0.0f64), |(x, y), d| {
            (x + f64::from(d.sx), y + f64::from(d.sy))
        });
        let midday = (f64::from(self.config.start_hour) + f64::from(self.config.end_hour)) / 2.0;
        let fits = fitting_offset(sx, sy, midday);
        let tz_name = tz.iana_name().unwrap_or("the roster time zone");
        let pct = (share * 100.0).round();
        let who = if recent {
            format!("{} (a recent hire)", ev.user)
        } else {
            ev.user.as_str().to_owned()
        };
        let summary = format!(
            "{who} made {off_total} of {total} successful sign-ins ({pct}%) outside {:02}:00–{:02}:00 {tz_name} over {days} days; the hours fit a working day at about UTC{fits:+03} — check where this person really works",
            self.config.start_hour, self.config.end_hour
        );
        let evidence = Obj::new()
            .with("days", days)
            .with("fits_utc_offset_hours", fits)
            .with("off_hours_signins", off_total)
            .with("recent_hire", recent)
            .with("share", (share * 1000.0).round() / 1000.0)
            .with("signins", total)
            .with("timezone", tz_name)
            .with(
                "working_hours",
                format!(
                    "{:02}:00-{:02}:00",
                    self.config.start_hour, self.config.end_hour
                ),
            )
            .build();
        let first = event_ids.first().map_or("", String::as_str);
        out.push(Alert {
            alert_id: alert_id(
                NAME,
                [
                    ev.user.as_str(),
                    severity.as_str(),
                    first,
                    ev.event_id.as_str(),
                ],
            ),
            detector: NAME.into(),
            severity,
            score,
            user: Some(ev.user.as_str().to_owned()),
            users: vec![ev.user.as_str().to_owned()],
            time: ev.time,
            event_ids,
            summary,
            evidence,
        });
    }

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        postcard::to_allocvec(&self.state).map_err(|e| Error::encode(NAME, e))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = postcard::from_bytes(bytes).map_err(|e| Error::decode(NAME, e))?;
        Ok(())
    }
}
