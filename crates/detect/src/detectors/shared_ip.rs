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

use jetlag_event::{Alert, Country, NetClass, NetClasses, Outcome, Severity, SignIn};
use jetlag_roster::Roster;
use serde::{Deserialize, Serialize};

use super::incident::{
    Incidents, Interner, NONE, Reporter, Roll, advance, report_all, validate_hours,
};
use super::{decode, encode};
use crate::config::Problems;
use crate::{Context, Detector, Error, Names, StateKey, alert_id};

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
        validate_hours(
            p,
            self.min_users,
            self.window_hours,
            self.settle_minutes,
            self.recent_hire_days,
        );
    }
}

/// What `shared_ip` keeps of a member besides the common [`Member`](super::incident::Member) fields.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct IpMember {
    /// The member's organisation ([`tenant_of`]), interned in [`State::strings`].
    tenant: u32,
    /// [`LONG_TENURED`], [`RECENT_HIRE`] or [`UNKNOWN_TENURE`], judged when the user joins.
    tenure: u8,
}

/// [`IpMember::tenure`]: in the roster, hired `recent_hire_days` or more before the sign-in.
const LONG_TENURED: u8 = 0;
/// [`IpMember::tenure`]: hired fewer than `recent_hire_days` before the sign-in.
const RECENT_HIRE: u8 = 1;
/// [`IpMember::tenure`]: not in the roster, or no hire date.
const UNKNOWN_TENURE: u8 = 2;

/// The latest network facts seen for an IP (strings interned in [`State::strings`]).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct IpMeta {
    asn: Option<u32>,
    as_org: u32,
    city: u32,
    country: Option<Country>,
}

impl Default for IpMeta {
    fn default() -> IpMeta {
        IpMeta {
            asn: None,
            as_org: NONE,
            city: NONE,
            country: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    ips: Incidents<IpAddr, IpMember, IpMeta>,
    /// Tenants, AS organisations and cities.
    strings: Interner,
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
            state: State::default(),
        }
    }

    fn window(&self) -> i64 {
        i64::from(self.config.window_hours) * 3600
    }

    fn settle(&self) -> i64 {
        i64::from(self.config.settle_minutes) * 60
    }

    fn report(&mut self, ip: IpAddr, names: Names<'_>, out: &mut Vec<Alert>) {
        let min_users = self.config.min_users;
        let window_hours = self.config.window_hours;
        let State { ips, strings } = &mut self.state;
        let Some(st) = ips.groups.get_mut(&ip) else {
            return;
        };
        let meta = st.extra;
        let (last_seen, join) = (st.last_seen, st.join());
        let as_org = strings.get(meta.as_org);
        let city = strings.get(meta.city);
        let country = meta.country.as_ref().map(Country::as_str);
        let residential_flag = as_org.is_some_and(|org| {
            let org = org.to_ascii_lowercase();
            self.residential.iter().any(|r| org.contains(r.as_str()))
        });
        let roll = Roll::take(st, names);
        let recent = roll.names(|m| m.tenure == RECENT_HIRE);
        let tenants = roll.distinct(strings, |m| m.tenant);
        let last_join = join.unwrap_or(roll.first);

        let n = roll.by_name.len();
        let extra = n.saturating_sub(min_users).min(5) as u32 * 3;
        let hires = (recent.len().min(3) as u32) * 8;
        let cross_tenant = if tenants.len() >= 2 { 15 } else { 0 };
        let residential = if residential_flag { 10 } else { 0 };
        // Staff all but at most one known to the roster as long-tenured, on an IP that is
        // neither residential nor a crowd: a conference hotel or a team offsite — of one
        // employer or, at a trade fair, several — reported as `low` context. A farm needs new
        // or unknown identities (several, or one among several tenants), a home connection or
        // a crowd (then: name the IP `corporate` if it is yours).
        let not_tenured = roll
            .by_name
            .iter()
            .filter(|m| m.extra.tenure != LONG_TENURED)
            .count();
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
            std::iter::once(ip_text.as_str()).chain(roll.event_ids.iter().map(String::as_str)),
        );
        let place = match (city, country) {
            (Some(city), Some(cc)) => format!(", {city} {cc}"),
            (None, Some(cc)) => format!(", {cc}"),
            _ => String::new(),
        };
        let org = as_org.map(|o| format!(" ({o}{place})")).unwrap_or_else(|| {
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
            "new_users": roll.new_users,
            "recent_hires": recent,
            "tenants": tenants,
            "residential": residential_flag,
            "long_tenured_staff": !suspicious,
            "asn": meta.asn,
            "as_org": as_org,
            "country": country,
            "city": city,
            "window_hours": window_hours,
            "first_seen": jiff::Timestamp::from_second(roll.first).ok(),
            "last_seen": jiff::Timestamp::from_second(last_seen).ok(),
        });
        let time = jiff::Timestamp::from_second(last_join).unwrap_or_default();
        let Roll {
            users, event_ids, ..
        } = roll;
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
}

impl Reporter for SharedIp {
    type Key = IpAddr;
    type Member = IpMember;
    type Extra = IpMeta;

    fn incidents(&mut self) -> &mut Incidents<IpAddr, IpMember, IpMeta> {
        &mut self.state.ips
    }

    fn report(&mut self, ip: IpAddr, names: Names<'_>, out: &mut Vec<Alert>) {
        SharedIp::report(self, ip, names, out);
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
        let (window, settle) = (self.window(), self.settle());
        let now = advance(
            self,
            (t, ctx.names()),
            settle,
            (window, (window / 8).max(60)),
            out,
        );
        if ev.outcome != Outcome::Success || ev.network.intersects(SHARED_BY_DESIGN) {
            return;
        }
        let Some(ip) = ev.ip else { return };
        let horizon = now.saturating_sub(window);
        let min_users = self.config.min_users;
        let recent_hire_days = self.config.recent_hire_days;
        let State { ips, strings } = &mut self.state;
        ips.update(&ip, |mut entry| {
            let st = &mut *entry.group;
            st.last_seen = st.last_seen.max(t);
            let meta = &mut st.extra;
            if ev.asn.is_some() {
                meta.asn = ev.asn;
            }
            if let Some(org) = ev.as_org.as_deref()
                && strings.get(meta.as_org) != Some(org)
            {
                meta.as_org = strings.id(Some(org));
            }
            if let Some(geo) = &ev.geo {
                meta.country = geo.country;
                if strings.get(meta.city) != geo.city.as_deref() {
                    meta.city = strings.id(geo.city.as_deref());
                }
            }
            st.prune(horizon);
            if st.members.len() < min_users {
                // Too few identities left: any incident is over.
                st.end_incident();
            }
            entry.sign_in(ctx, t, (min_users, settle), || IpMember {
                tenant: strings.id(tenant_of(ev)),
                // Judged when the user joins: no date arithmetic per event.
                tenure: if ctx.is_recent_hire(ev.time, recent_hire_days) {
                    RECENT_HIRE
                } else if ctx.employee.is_some_and(|e| e.hire_date.is_some()) {
                    LONG_TENURED
                } else {
                    UNKNOWN_TENURE
                },
            });
        });
    }

    fn finish(&mut self, _roster: &Roster, names: Names<'_>, out: &mut Vec<Alert>) {
        if self.config.enabled {
            report_all(self, self.settle(), names, out);
        }
    }

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        encode(NAME, &self.state)
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = decode(NAME, bytes)?;
        Ok(())
    }
}

/// The organisation a sign-in belongs to: the record's tenant, else the domain of an e-mail
/// style user. Graph `signIn` and Okta System Log records carry no tenant id, yet a farm that
/// serves two employers shows as two domains; without this the cross-tenant signal would be
/// blind for those sources.
fn tenant_of(ev: &SignIn) -> Option<&str> {
    if let Some(t) = &ev.tenant {
        return Some(t.as_str());
    }
    let (_, domain) = ev.user.rsplit_once('@')?;
    (!domain.is_empty()).then_some(domain)
}
