//! `location_mismatch`: a user who signs in, repeatedly, from somewhere other than where HR
//! says they work.
//!
//! The remote-IT-worker scheme hires someone who "lives in Texas" and works from Shenyang or
//! Vladivostok; most days a US laptop farm hides that, but slips (a phone on the home
//! network, a laptop off the farm's VPN) show through. The roster's `work_country` (or
//! `work_lat`/`work_lon` with `work_radius_km`) is compared with the location of successful
//! sign-ins; IPs of class vpn, tor, proxy, relay, hosting, corporate or satellite say nothing
//! about where the user is and are left out.
//!
//! "Repeatedly": `min_signins` successful sign-ins (default 2) from one other place within
//! `window_days`; one is enough for a recent hire who has never signed in from the work
//! location. A recent hire already seen there is demonstrably where HR says: their trip
//! (outside the high-risk countries) is judged like a long-tenured employee's, whose business trip stays low until it persists
//! over `persistent_days` distinct days (a farm's identities never sign in from the claimed
//! city; one bit per user remembers who did). State is keyed by user
//! and only kept for users with a mismatch. Re-alert policy: one alert per user and place,
//! and another only when its severity rises.

use compact_str::CompactString;
use jetlag_event::{Alert, Country, NetClasses, Outcome, Severity, SignIn};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;
use crate::evidence::Obj;
use crate::geo::haversine_km;
use crate::{CompactId, Context, Detector, Error, StateKey, alert_id};

const NAME: &str = "location_mismatch";

/// `[detect.location_mismatch]`: sign-ins far from the roster's work location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the detector runs. Default true.
    pub enabled: bool,
    /// Successful sign-ins from one other place that make an alert. Default 2 (the issue:
    /// one stray GeoIP answer is not a pattern).
    pub min_signins: u32,
    /// The same for a recent hire. Default 1: a new hire's first sign-ins from abroad are the
    /// tell in the DoJ remote-worker cases.
    pub recent_hire_min_signins: u32,
    /// Recent hire threshold in days. Default 90.
    pub recent_hire_days: i64,
    /// Sign-ins from one place further apart than this (days) do not add up. Default 30.
    pub window_days: u32,
    /// For an employee past `recent_hire_days`, a mismatch stays low (a business trip) until
    /// seen on this many distinct days. Default 5 (a working week).
    pub persistent_days: u32,
    /// With `work_lat`/`work_lon` on the roster: how far (km, beyond the GeoIP accuracy
    /// radius) a sign-in may be from the work location. Default 300 (a long commute plus the
    /// city-level error of free GeoIP databases, ~50–200 km).
    pub work_radius_km: f64,
    /// Countries where a mismatch is worse (ISO alpha-2). Default: the shared high-risk
    /// list (KP, CN, RU, IR, BY, SY, CU; see `impossible_travel`).
    pub high_risk_countries: Vec<Country>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            min_signins: 2,
            recent_hire_min_signins: 1,
            recent_hire_days: 90,
            window_days: 30,
            persistent_days: 5,
            work_radius_km: 300.0,
            high_risk_countries: super::default_high_risk_countries(),
        }
    }
}

impl Config {
    /// Reports every problem under `detect.location_mismatch.`.
    pub fn validate(&self, p: &mut Problems<'_>) {
        if self.min_signins == 0 {
            p.push("min_signins", "must be at least 1");
        }
        if self.recent_hire_min_signins == 0 {
            p.push("recent_hire_min_signins", "must be at least 1");
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
        p.positive("work_radius_km", self.work_radius_km);
    }
}

/// Sign-ins of one user from one place (a country, or `??` when only distance is known).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Place {
    /// `None` when the sign-in's country is unknown (judged by distance alone).
    place: Option<Country>,
    city: Option<CompactString>,
    signins: u32,
    days: u32,
    last_day: i64,
    first_time: i64,
    last_time: i64,
    /// The first few events, for the alert.
    events: Vec<CompactId>,
    reported: Option<Severity>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// By interned user id.
    users: FxHashMap<u32, Vec<Place>>,
}

/// One bit per interned user id: signed in from the work location at least once. Saved
/// after [`State`], so that a snapshot written before it existed still loads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AtWork(Vec<u64>);

impl AtWork {
    fn get(&self, user: u32) -> bool {
        let i = user as usize;
        self.0.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    fn set(&mut self, user: u32) {
        let i = user as usize;
        if i / 64 >= self.0.len() {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1 << (i % 64);
    }
}

/// The `location_mismatch` detector.
#[derive(Debug, Clone)]
pub struct LocationMismatch {
    config: Config,
    state: State,
    at_work: AtWork,
}

impl LocationMismatch {
    /// A detector with the given thresholds and no state.
    pub fn new(config: &Config) -> LocationMismatch {
        LocationMismatch {
            config: config.clone(),
            state: State::default(),
            at_work: AtWork::default(),
        }
    }
}

impl Detector for LocationMismatch {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::User
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if !self.config.enabled
            || ev.outcome != Outcome::Success
            || ev.network.intersects(NetClasses::HIDES_LOCATION)
        {
            return;
        }
        let (Some(emp), Some(geo)) = (ctx.employee, ev.geo.as_ref()) else {
            return;
        };
        // Judge by distance when both points are known, else by country.
        let work_point = emp.work_lat.zip(emp.work_lon);
        let (mismatch, far_km) = match (work_point, geo.point()) {
            (Some(work), Some(at)) => {
                let d = (haversine_km(work.0, work.1, at.0, at.1)
                    - geo.radius_km.unwrap_or(0.0).max(0.0))
                .max(0.0);
                (d > self.config.work_radius_km, Some(d))
            }
            _ => match (emp.work_country, geo.country) {
                (Some(work), Some(at)) => (work != at, None),
                _ => return,
            },
        };
        if !mismatch {
            self.at_work.set(ctx.user.0);
            return;
        }
        let place = geo.country;
        let t = ev.time.as_second();
        let day = t.div_euclid(86_400);
        let window = i64::from(self.config.window_days) * 86_400;
        let places = self.state.users.entry(ctx.user.0).or_default();
        places.retain(|p| t.saturating_sub(p.last_time) <= window);
        let idx = match places.iter().position(|p| p.place == place) {
            Some(i) => i,
            None => {
                // Exact growth: most users show one or two other places (a first push
                // would reserve room for four).
                places.reserve_exact(1);
                places.push(Place {
                    place,
                    city: None,
                    signins: 0,
                    days: 0,
                    last_day: i64::MIN,
                    first_time: t,
                    last_time: t,
                    events: Vec::new(),
                    reported: None,
                });
                places.len() - 1
            }
        };
        let p = &mut places[idx];
        p.signins += 1;
        if day != p.last_day {
            p.days += 1;
            p.last_day = day;
        }
        p.last_time = p.last_time.max(t);
        if geo.city.is_some() && p.city != geo.city {
            p.city.clone_from(&geo.city);
        }
        if p.events.len() < 4 {
            p.events.reserve_exact(1);
            p.events.push(CompactId::new(&ev.event_id));
        }

        let recent = ctx.is_recent_hire(ev.time, self.config.recent_hire_days);
        let seen_at_work = self.at_work.get(ctx.user.0);
        let tenure_known = emp.hire_date.is_some();
        let high_risk = place.is_some_and(|c| self.config.high_risk_countries.contains(&c));
        // A recent hire already seen at the work location is on a trip, not an impostor —
        // unless the trip is to a high-risk country.
        let judged_recent = recent && (!seen_at_work || high_risk);
        let needed = if judged_recent {
            self.config.recent_hire_min_signins
        } else {
            self.config.min_signins
        };
        if p.signins < needed {
            return;
        }
        let mut score: u32 = if judged_recent {
            70
        } else if !tenure_known {
            50
        } else if p.days >= self.config.persistent_days {
            55
        } else {
            30
        };
        if high_risk {
            score += 15;
        }
        let score = score.min(100) as u8;
        let severity = Severity::from_score(score);
        if p.reported.is_some_and(|r| r >= severity) {
            return;
        }
        p.reported = Some(severity);

        let mut event_ids: Vec<String> = p.events.iter().map(|e| e.to_string()).collect();
        if !p.events.iter().any(|e| e.is(&ev.event_id)) {
            event_ids.push(ev.event_id.as_str().to_owned());
        }
        let claimed = match (&emp.work_city, emp.work_region.as_deref(), emp.work_country) {
            (Some(city), _, Some(c)) => format!("{city}, {c}"),
            (None, Some(region), Some(c)) => format!("{region}, {c}"),
            (_, _, Some(c)) => c.to_string(),
            _ => "the roster's work location".to_owned(),
        };
        let seen = match (&p.city, place) {
            (Some(city), Some(c)) => format!("{city}, {c}"),
            (None, Some(c)) => c.to_string(),
            (Some(city), None) => city.to_string(),
            (None, None) => "another place".to_owned(),
        };
        let who = if judged_recent {
            format!("{} (a recent hire)", ev.user)
        } else if recent {
            format!(
                "{} (a recent hire, already seen at the work location)",
                ev.user
            )
        } else {
            ev.user.as_str().to_owned()
        };
        let far = far_km.map_or(String::new(), |d| {
            format!(", {d:.0} km from the work location")
        });
        let summary = format!(
            "{who} signed in {} time{} on {} day{} from {seen}{far} though the roster says they work in {claimed} — confirm where this person really is",
            p.signins,
            if p.signins == 1 { "" } else { "s" },
            p.days,
            if p.days == 1 { "" } else { "s" },
        );
        let code = |c: Option<Country>| c.map(|c| c.as_str().to_owned());
        let text = |t: &Option<CompactString>| t.as_deref().map(str::to_owned);
        let evidence = Obj::new()
            .with(
                "claimed",
                Obj::new()
                    .with("city", text(&emp.work_city))
                    .with("country", code(emp.work_country))
                    .with("lat", emp.work_lat)
                    .with("lon", emp.work_lon)
                    .with("region", text(&emp.work_region))
                    .build(),
            )
            .with("days", p.days)
            .with(
                "first_seen",
                jiff::Timestamp::from_second(p.first_time)
                    .ok()
                    .map(|t| t.to_string()),
            )
            .with("high_risk_country", high_risk)
            .with("recent_hire", recent)
            .with(
                "seen",
                Obj::new()
                    .with("city", text(&p.city))
                    .with("country", code(place))
                    .with("distance_km", far_km.map(|d| d.round()))
                    .with("ip", ev.ip.map(|ip| ip.to_string()))
                    .build(),
            )
            .with("seen_at_work", seen_at_work)
            .with("signins", p.signins)
            .build();
        let place_text = place.as_ref().map_or("??", Country::as_str).to_owned();
        let first_event = p.events.first().map(CompactId::to_string);
        out.push(Alert {
            alert_id: alert_id(
                NAME,
                [ev.user.as_str(), place_text.as_str(), severity.as_str()]
                    .into_iter()
                    .chain(first_event.as_deref()),
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
        postcard::to_allocvec(&(&self.state, &self.at_work)).map_err(|e| Error::encode(NAME, e))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        // Snapshots written before `AtWork` hold the `State` alone.
        match postcard::from_bytes::<(State, AtWork)>(bytes) {
            Ok((state, at_work)) => (self.state, self.at_work) = (state, at_work),
            Err(_) => {
                self.state = postcard::from_bytes(bytes).map_err(|e| Error::decode(NAME, e))?;
                self.at_work = AtWork::default();
            }
        }
        Ok(())
    }
}
