//! `shared_ip`: one egress IP behind which many identities sign in — a laptop farm.
//!
//! The North-Korean remote-IT-worker scheme runs company laptops from a facilitator's house
//! in the US: one residential IP, five to ninety "employees", often of several client
//! companies (US Department of Justice, "DPRK RevGen" indictments, 2024–2025). The signal is
//! an IP that is *not* an office, cloud, VPN, Tor, proxy, relay, mobile-carrier or satellite
//! egress (all of which legitimately put many people behind one address) with successful
//! sign-ins of at least `min_users` distinct users — tenants pooled, since a farm serves
//! several employers — within `window_hours`.
//!
//! State is keyed by IP. Re-alert policy: an incident opens when the threshold is reached
//! and is reported once no new identity has joined for `settle_minutes` (or at the end of a
//! batch), listing every identity behind the IP; identities joining later start another
//! report, identities already reported never re-alert. The incident ends when fewer than
//! `min_users` identities remain active within the window.
//!
//! Severity: medium and above only when something points at a farm — at least two members
//! who are recent hires or unknown to the roster, several tenants, a residential IP, or a
//! crowd of `3 × min_users`; colleagues of one tenant who are (all but one) long-tenured
//! on a hotel or offsite IP are reported as `low` context.

use std::net::IpAddr;

use compact_str::CompactString;
use jetlag_event::{Alert, NetClass, NetClasses, Outcome, Severity, SignIn};
use jetlag_roster::Roster;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Problems;
use crate::{Context, Detector, Error, StateKey, alert_id};

const NAME: &str = "shared_ip";

/// Classes whose IPs legitimately carry many users at once.
const SHARED_BY_DESIGN: NetClasses = NetClasses::of(&[
    NetClass::Corporate,
    NetClass::Hosting,
    NetClass::Vpn,
    NetClass::Tor,
    NetClass::Proxy,
    NetClass::Relay,
    NetClass::Mobile,
    NetClass::Satellite,
]);

/// `[detect.shared_ip]`: many identities behind one non-corporate, non-anonymizing IP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Whether the detector runs. Default true.
    pub enabled: bool,
    /// Distinct users with successful sign-ins from one IP that make an incident. Default 4:
    /// a household rarely has four colleagues of the monitored organisations; the farms in
    /// the DoJ indictments ran 5–90 laptops per house.
    pub min_users: usize,
    /// How far apart those sign-ins may be, in hours. Default 24 (one working day of a farm).
    pub window_hours: u32,
    /// An incident is reported once no new identity has joined for this long, in minutes,
    /// so that one alert lists the whole farm. Default 60 (a farm's laptops come online at
    /// shift start).
    pub settle_minutes: u32,
    /// A user hired fewer than this many days before the sign-in counts as a recent hire
    /// (raises severity). Default 90, as the issue and the roster docs.
    pub recent_hire_days: i64,
    /// Case-insensitive fragments of AS organisation names of residential broadband ISPs;
    /// an unclassified IP of such an AS counts as residential (raises severity). Default: the
    /// largest fixed-broadband providers of the US, Canada and the UK (FCC and Ofcom market
    /// reports), where the farms in the indictments were.
    pub residential_as_orgs: Vec<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            min_users: 4,
            window_hours: 24,
            settle_minutes: 60,
            recent_hire_days: 90,
            residential_as_orgs: [
                "comcast",
                "charter",
                "spectrum",
                "cox communications",
                "verizon",
                "at&t",
                "centurylink",
                "lumen",
                "frontier",
                "windstream",
                "mediacom",
                "optimum",
                "altice",
                "cable one",
                "wideopenwest",
                "rcn",
                "google fiber",
                "rogers",
                "shaw",
                "bell canada",
                "videotron",
                "british telecommunications",
                "virgin media",
                "sky uk",
                "talktalk",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl Config {
    /// Reports every problem under `detect.shared_ip.`.
    pub fn validate(&self, p: &mut Problems<'_>) {
        if self.min_users < 2 {
            p.push(
                "min_users",
                format_args!("must be 2 or more, got {}", self.min_users),
            );
        }
        if self.window_hours == 0 {
            p.push("window_hours", "must be at least 1");
        }
        if u64::from(self.settle_minutes) > u64::from(self.window_hours) * 60 {
            p.push(
                "settle_minutes",
                format_args!(
                    "must not exceed the window ({} h), got {}",
                    self.window_hours, self.settle_minutes
                ),
            );
        }
        if self.recent_hire_days < 0 {
            p.push(
                "recent_hire_days",
                format_args!("must be zero or more, got {}", self.recent_hire_days),
            );
        }
    }
}

/// One identity seen behind an IP.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    user: CompactString,
    tenant: Option<CompactString>,
    /// The first successful sign-in of this user from the IP within the incident.
    first_event: CompactString,
    first_time: i64,
    last_time: i64,
    /// [`LONG_TENURED`], [`RECENT_HIRE`] or [`UNKNOWN_TENURE`], judged when the user joins
    /// (a `u8` that reads the `bool` this field once was: `false` → long-tenured).
    tenure: u8,
    reported: bool,
}

/// [`Member::tenure`]: in the roster, hired `recent_hire_days` or more before the sign-in.
const LONG_TENURED: u8 = 0;
/// [`Member::tenure`]: hired fewer than `recent_hire_days` before the sign-in.
const RECENT_HIRE: u8 = 1;
/// [`Member::tenure`]: not in the roster, or no hire date.
const UNKNOWN_TENURE: u8 = 2;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IpState {
    members: Vec<Member>,
    /// A lower bound of the members' `last_time`: pruning is skipped while it is in the
    /// window (no scan of the members on every event).
    oldest: i64,
    /// Time of the newest identity to join an open incident; `None` when no incident.
    incident_join: Option<i64>,
    /// Whether the open incident has identities not yet reported.
    pending: bool,
    last_seen: i64,
    asn: Option<u32>,
    as_org: Option<CompactString>,
    country: Option<CompactString>,
    city: Option<CompactString>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    ips: FxHashMap<IpAddr, IpState>,
    /// The latest event time seen (a late event never moves time backwards).
    clock: i64,
    next_sweep: i64,
    /// IPs with a pending report, and the earliest time one is due.
    pending: Vec<IpAddr>,
    next_due: i64,
}

/// The `shared_ip` detector.
#[derive(Debug, Clone)]
pub struct SharedIp {
    config: Config,
    residential: Vec<String>,
    state: State,
}

impl SharedIp {
    /// A detector with the given thresholds and no state.
    pub fn new(config: &Config) -> SharedIp {
        SharedIp {
            residential: config
                .residential_as_orgs
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            config: config.clone(),
            state: State {
                next_due: i64::MAX,
                ..State::default()
            },
        }
    }

    fn window(&self) -> i64 {
        i64::from(self.config.window_hours) * 3600
    }

    fn settle(&self) -> i64 {
        i64::from(self.config.settle_minutes) * 60
    }

    fn is_residential(&self, as_org: Option<&str>) -> bool {
        as_org.is_some_and(|org| {
            let org = org.to_ascii_lowercase();
            self.residential.iter().any(|r| org.contains(r.as_str()))
        })
    }

    /// Reports every pending incident due at `now` (all of them when `now` is `i64::MAX`).
    fn flush_due(&mut self, now: i64, out: &mut Vec<Alert>) {
        if now < self.state.next_due {
            return;
        }
        let settle = self.settle();
        let mut due: Vec<IpAddr> = Vec::new();
        let mut next_due = i64::MAX;
        self.state.pending.retain(|ip| {
            let Some(st) = self.state.ips.get(ip) else {
                return false;
            };
            let Some(join) = st.incident_join.filter(|_| st.pending) else {
                return false;
            };
            let at = join.saturating_add(settle);
            if at <= now {
                due.push(*ip);
                false
            } else {
                next_due = next_due.min(at);
                true
            }
        });
        self.state.next_due = next_due;
        // Report in a fixed order so output never depends on hash order.
        due.sort_unstable();
        for ip in due {
            self.report(ip, out);
        }
    }

    fn report(&mut self, ip: IpAddr, out: &mut Vec<Alert>) {
        let residential_flag;
        let min_users = self.config.min_users;
        let window_hours = self.config.window_hours;
        {
            let Some(st) = self.state.ips.get(&ip) else {
                return;
            };
            residential_flag = self.is_residential(st.as_org.as_deref());
        }
        let Some(st) = self.state.ips.get_mut(&ip) else {
            return;
        };
        st.pending = false;
        let mut members: Vec<&Member> = st.members.iter().collect();
        members.sort_by(|a, b| a.user.cmp(&b.user));
        let users: Vec<String> = members.iter().map(|m| m.user.to_string()).collect();
        let new_users: Vec<&str> = members
            .iter()
            .filter(|m| !m.reported)
            .map(|m| m.user.as_str())
            .collect();
        let recent: Vec<&str> = members
            .iter()
            .filter(|m| m.tenure == RECENT_HIRE)
            .map(|m| m.user.as_str())
            .collect();
        let mut tenants: Vec<&str> = members.iter().filter_map(|m| m.tenant.as_deref()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let mut by_time: Vec<&Member> = members.clone();
        by_time.sort_by(|a, b| {
            (a.first_time, a.first_event.as_str()).cmp(&(b.first_time, b.first_event.as_str()))
        });
        let event_ids: Vec<String> = by_time.iter().map(|m| m.first_event.to_string()).collect();
        let first = by_time.first().map_or(0, |m| m.first_time);
        let last_join = st.incident_join.unwrap_or(first);

        let n = members.len();
        let extra = n.saturating_sub(min_users).min(5) as u32 * 3;
        let hires = (recent.len().min(3) as u32) * 8;
        let cross_tenant = if tenants.len() >= 2 { 15 } else { 0 };
        let residential = if residential_flag { 10 } else { 0 };
        // Staff all but at most one known to the roster as long-tenured, on an IP that is
        // neither residential nor a crowd: a conference hotel or a team offsite — of one
        // employer or, at a trade fair, several — reported as `low` context. A farm needs new
        // or unknown identities (several, or one among several tenants), a home connection or
        // a crowd (then: name the IP `corporate` if it is yours).
        let not_tenured = members.iter().filter(|m| m.tenure != LONG_TENURED).count();
        let crowd = n >= 3 * min_users;
        let suspicious = not_tenured >= 2
            || (tenants.len() >= 2 && not_tenured >= 1)
            || residential_flag
            || crowd;
        let score = if suspicious {
            (40 + extra + hires + cross_tenant + residential).min(100) as u8
        } else {
            (25 + extra + hires + cross_tenant).min(39) as u8
        };
        let severity = Severity::from_score(score);

        let ip_text = ip.to_string();
        let id = alert_id(
            NAME,
            std::iter::once(ip_text.as_str()).chain(event_ids.iter().map(String::as_str)),
        );
        let place = match (&st.city, &st.country) {
            (Some(city), Some(cc)) => format!(", {city} {cc}"),
            (None, Some(cc)) => format!(", {cc}"),
            _ => String::new(),
        };
        let org = st
            .as_org
            .as_deref()
            .map(|o| format!(" ({o}{place})"))
            .unwrap_or_else(|| {
                if place.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", &place[2..])
                }
            });
        let mut traits = Vec::new();
        if !suspicious {
            traits.push("long-tenured staff".to_string());
        }
        if !recent.is_empty() {
            traits.push(format!(
                "{} hired in the last {} days",
                recent.len(),
                self.config.recent_hire_days
            ));
        }
        if tenants.len() >= 2 {
            traits.push(format!("{} tenants", tenants.len()));
        }
        let traits = if traits.is_empty() {
            String::new()
        } else {
            format!(" ({})", traits.join(", "))
        };
        let kind = if residential_flag {
            "residential IP"
        } else {
            "IP"
        };
        let verdict = if suspicious {
            "a laptop-farm pattern: find out who physically holds these devices"
        } else {
            "likely a conference hotel or an offsite: confirm the event, list the IP as `corporate` if it is the org's"
        };
        let summary = format!(
            "{n} accounts{traits} signed in successfully from one {kind} {ip_text}{org} within {window_hours} h — {verdict}"
        );
        let evidence = serde_json::json!({
            "ip": ip_text,
            "distinct_users": n,
            "new_users": new_users,
            "recent_hires": recent,
            "tenants": tenants,
            "residential": residential_flag,
            "long_tenured_staff": !suspicious,
            "asn": st.asn,
            "as_org": st.as_org,
            "country": st.country,
            "city": st.city,
            "window_hours": window_hours,
            "first_seen": jiff::Timestamp::from_second(first).ok(),
            "last_seen": jiff::Timestamp::from_second(st.last_seen).ok(),
        });
        let time = jiff::Timestamp::from_second(last_join).unwrap_or_default();
        for m in &mut st.members {
            m.reported = true;
        }
        out.push(Alert {
            alert_id: id,
            detector: NAME.into(),
            severity,
            score,
            user: None,
            users,
            time,
            event_ids,
            summary,
            evidence,
        });
    }

    fn sweep(&mut self, now: i64) {
        let horizon = now.saturating_sub(self.window());
        self.state
            .ips
            .retain(|_, st| st.last_seen >= horizon || st.pending);
        self.state.next_sweep = now.saturating_add((self.window() / 8).max(60));
    }
}

impl Detector for SharedIp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::Ip
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if !self.config.enabled {
            return;
        }
        let t = ev.time.as_second();
        self.state.clock = self.state.clock.max(t);
        let now = self.state.clock;
        self.flush_due(now, out);
        if now >= self.state.next_sweep {
            self.sweep(now);
        }
        if ev.outcome != Outcome::Success || ev.network.intersects(SHARED_BY_DESIGN) {
            return;
        }
        let Some(ip) = ev.ip else { return };
        let horizon = now.saturating_sub(self.window());
        let min_users = self.config.min_users;
        let recent_hire_days = self.config.recent_hire_days;
        let st = self.state.ips.entry(ip).or_default();
        st.last_seen = st.last_seen.max(t);
        if ev.asn.is_some() {
            st.asn = ev.asn;
        }
        // Compare before copying: names longer than 24 bytes live on the heap.
        if ev.as_org.is_some() && st.as_org != ev.as_org {
            st.as_org.clone_from(&ev.as_org);
        }
        if let Some(geo) = &ev.geo {
            st.country = geo.country.map(|c| CompactString::from(c.as_str()));
            if st.city != geo.city {
                st.city.clone_from(&geo.city);
            }
        }
        if st.oldest < horizon {
            st.members.retain(|m| m.last_time >= horizon);
            st.oldest = st.members.iter().map(|m| m.last_time).min().unwrap_or(t);
        }
        if st.members.len() < min_users {
            // Too few identities left: any incident is over.
            st.incident_join = None;
            st.pending = false;
            for m in &mut st.members {
                m.reported = false;
            }
        }
        let joined = match st.members.iter_mut().find(|m| m.user == ev.user) {
            Some(m) => {
                m.last_time = m.last_time.max(t);
                false
            }
            None => {
                st.oldest = st.oldest.min(t);
                st.members.push(Member {
                    user: ev.user.clone(),
                    tenant: tenant_of(ev),
                    first_event: ev.event_id.clone(),
                    first_time: t,
                    last_time: t,
                    // Judged when the user joins: no date arithmetic per event.
                    tenure: if ctx.is_recent_hire(ev.time, recent_hire_days) {
                        RECENT_HIRE
                    } else if ctx.employee.is_some_and(|e| e.hire_date.is_some()) {
                        LONG_TENURED
                    } else {
                        UNKNOWN_TENURE
                    },
                    reported: false,
                });
                true
            }
        };
        if st.members.len() >= min_users && (joined || st.incident_join.is_none()) {
            st.incident_join = Some(st.incident_join.map_or(t, |j| j.max(t)));
            if !st.pending {
                st.pending = true;
                self.state.pending.push(ip);
            }
            let due = t.saturating_add(self.settle());
            self.state.next_due = self.state.next_due.min(due);
        }
    }

    fn finish(&mut self, _roster: &Roster, out: &mut Vec<Alert>) {
        if self.config.enabled {
            self.state.next_due = i64::MIN;
            self.flush_due(i64::MAX, out);
        }
    }

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        postcard::to_allocvec(&self.state).map_err(|e| Error::encode(NAME, e))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = postcard::from_bytes(bytes).map_err(|e| Error::decode(NAME, e))?;
        Ok(())
    }
}

/// The organisation a sign-in belongs to: the record's tenant, else the domain of an e-mail
/// style user. Graph `signIn` and Okta System Log records carry no tenant id, yet a farm that
/// serves two employers shows as two domains; without this the cross-tenant signal would be
/// blind for those sources.
fn tenant_of(ev: &SignIn) -> Option<CompactString> {
    if let Some(t) = &ev.tenant {
        return Some(t.clone());
    }
    let (_, domain) = ev.user.rsplit_once('@')?;
    (!domain.is_empty()).then(|| CompactString::from(domain))
}
