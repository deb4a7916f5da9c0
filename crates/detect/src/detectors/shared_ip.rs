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

use super::dense::{Dense, Keyed};
use super::incident::{
    Group, Incidents, Interner, Member, NONE, Reporter, Roll, advance, report_all, validate_hours,
};
use super::{decode, encode};
use crate::config::Problems;
use crate::{CompactId, Context, Detector, Error, Names, StateKey, alert_id};

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

/// What `shared_ip` keeps of a member besides the common [`Member`] fields.
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

impl IpMeta {
    /// Takes in the network facts of `ev` (a fact the event lacks keeps its last value,
    /// except the city, which follows the event's geolocation).
    fn update(&mut self, ev: &SignIn, strings: &mut Interner) {
        if ev.asn.is_some() {
            self.asn = ev.asn;
        }
        if let Some(org) = ev.as_org.as_deref()
            && strings.get(self.as_org) != Some(org)
        {
            self.as_org = strings.id(Some(org));
        }
        if let Some(geo) = &ev.geo {
            self.country = geo.country;
            if strings.get(self.city) != geo.city.as_deref() {
                self.city = strings.id(geo.city.as_deref());
            }
        }
    }
}

/// [`Solo::flags`]: `asn` is set.
const HAS_ASN: u8 = 1;
/// [`Solo::flags`]: `country` is set.
const HAS_COUNTRY: u8 = 2;
/// [`Solo::flags`]: the event id's UUID was written in upper case.
const UPPER: u8 = 4;

/// An IPv4 address behind which one identity signed in within the window — nearly every
/// IP, and one that cannot alert — in 64 bytes instead of a 112-byte [`Group`]: the IP as a
/// `u32`, the first event id as a UUID's 16 bytes, times as offsets back from `last_seen`,
/// the [`IpMeta`] flattened. When a second identity comes (or anything a solo cannot hold:
/// an id that is no UUID, offsets past `u32`) it becomes a group of one and the sign-in
/// takes the group's path, so alerts are what they would be without solos.
///
/// [`Group`]: super::incident::Group
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Solo {
    ip: u32,
    /// The member ([`UserId`](crate::UserId)'s number).
    user: u32,
    /// The latest sign-in time behind the IP (the group's `last_seen`).
    last_seen: i64,
    /// `last_seen` minus the member's first sign-in time.
    first_back: u32,
    /// `last_seen` minus the member's latest sign-in time.
    last_back: u32,
    /// The member's first event id, a UUID (case in [`UPPER`]).
    event: [u8; 16],
    tenant: u32,
    asn: u32,
    as_org: u32,
    city: u32,
    country: [u8; 2],
    tenure: u8,
    flags: u8,
}

impl Keyed for Solo {
    type Key = u32;
    fn key(&self) -> &u32 {
        &self.ip
    }
}

impl Solo {
    /// The solo of `member` behind `ip`; `None` when it does not fit (then a group holds it).
    fn new(ip: u32, member: &Member<IpMember>, last_seen: i64, meta: &IpMeta) -> Option<Solo> {
        let (event, upper) = member.first_event.uuid()?;
        let back = |t: i64| u32::try_from(last_seen.checked_sub(t)?).ok();
        let mut solo = Solo {
            ip,
            user: member.user,
            last_seen,
            first_back: back(member.first_time)?,
            last_back: back(member.last_time)?,
            event,
            tenant: member.extra.tenant,
            asn: meta.asn.unwrap_or(0),
            as_org: meta.as_org,
            city: meta.city,
            country: [0; 2],
            tenure: member.extra.tenure,
            flags: if upper { UPPER } else { 0 },
        };
        if meta.asn.is_some() {
            solo.flags |= HAS_ASN;
        }
        if let Some(c) = meta.country {
            solo.country.copy_from_slice(c.as_str().as_bytes());
            solo.flags |= HAS_COUNTRY;
        }
        Some(solo)
    }

    /// Time of the member's latest sign-in.
    fn last_time(&self) -> i64 {
        self.last_seen - i64::from(self.last_back)
    }

    fn member(&self) -> Member<IpMember> {
        Member {
            first_event: CompactId::from_uuid(self.event, self.flags & UPPER != 0),
            first_time: self.last_seen - i64::from(self.first_back),
            last_time: self.last_time(),
            user: self.user,
            reported: false,
            extra: IpMember {
                tenant: self.tenant,
                tenure: self.tenure,
            },
        }
    }

    fn meta(&self) -> IpMeta {
        IpMeta {
            asn: (self.flags & HAS_ASN != 0).then_some(self.asn),
            as_org: self.as_org,
            city: self.city,
            country: (self.flags & HAS_COUNTRY != 0)
                .then(|| {
                    std::str::from_utf8(&self.country)
                        .ok()
                        .and_then(Country::from_code)
                })
                .flatten(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    ips: Incidents<IpAddr, IpMember, IpMeta>,
    /// IPv4 addresses with one identity (see [`Solo`]); an IP is here or in `ips`, not both.
    solos: Dense<Solo>,
    /// Tenants, AS organisations and cities.
    strings: Interner,
}

/// The `shared_ip` detector.
#[derive(Debug, Clone)]
pub struct SharedIp {
    config: Config,
    /// Whether one-identity IPv4 addresses go to [`State::solos`] (always; a test compares
    /// the alerts with groups alone).
    compact: bool,
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
            compact: true,
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
        let State { ips, strings, .. } = &mut self.state;
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
        let sweeping = self.state.ips.sweep_due(t);
        let now = advance(
            self,
            (t, ctx.names()),
            settle,
            (window, (window / 8).max(60)),
            out,
        );
        let horizon = now.saturating_sub(window);
        if sweeping {
            // Along with the groups' sweep, the same horizon.
            self.state.solos.retain(|s| s.last_seen >= horizon);
        }
        if ev.outcome != Outcome::Success || ev.network.intersects(SHARED_BY_DESIGN) {
            return;
        }
        let Some(ip) = ev.ip else { return };
        let min_users = self.config.min_users;
        let recent_hire_days = self.config.recent_hire_days;
        let State {
            ips,
            solos,
            strings,
        } = &mut self.state;
        let tenure = |ctx: &Context<'_>| {
            if ctx.is_recent_hire(ev.time, recent_hire_days) {
                RECENT_HIRE
            } else if ctx.employee.is_some_and(|e| e.hire_date.is_some()) {
                LONG_TENURED
            } else {
                UNKNOWN_TENURE
            }
        };
        // The sign-in's identity as the only member of its IP.
        let newcomer = |strings: &mut Interner| Member {
            first_event: ctx.event_id().clone(),
            first_time: t,
            last_time: t,
            user: ctx.user.0,
            reported: false,
            extra: IpMember {
                tenant: strings.id(tenant_of(ev)),
                tenure: tenure(ctx),
            },
        };
        // One identity behind an IPv4 address: the compact table (with a threshold of one
        // identity every IP is an incident: groups only).
        if let (IpAddr::V4(v4), 2.., true) = (ip, min_users, self.compact) {
            let key = u32::from(v4);
            match solos.get_mut(&key) {
                Some(solo) => {
                    let mut meta = solo.meta();
                    meta.update(ev, strings);
                    let last_seen = solo.last_seen.max(t);
                    let mut member = solo.member();
                    let fits = if member.last_time < horizon {
                        // Gone from the window: the sign-in's user is the one identity now.
                        member = newcomer(strings);
                        true
                    } else if member.user == ctx.user.0 {
                        member.last_time = member.last_time.max(t);
                        true
                    } else {
                        false
                    };
                    if fits && let Some(next) = Solo::new(key, &member, last_seen, &meta) {
                        *solo = next;
                        return;
                    }
                    // A second identity: a group of one (as before this sign-in), then the
                    // group's path.
                    if let Some(old) = solos.remove(&key) {
                        ips.insert_new(Group::of_one(ip, old.member(), old.last_seen, old.meta()));
                    }
                }
                None if ips.groups.get(&ip).is_none() => {
                    let mut meta = IpMeta::default();
                    meta.update(ev, strings);
                    let member = newcomer(strings);
                    // A new group's `last_seen` starts at 0.
                    let last_seen = t.max(0);
                    // What the group's path would make of a new IP's first sign-in.
                    match Solo::new(key, &member, last_seen, &meta) {
                        Some(solo) => solos.insert_new(solo),
                        None => ips.insert_new(Group::of_one(ip, member, last_seen, meta)),
                    }
                    return;
                }
                None => {}
            }
        }
        ips.update(&ip, |mut entry| {
            let st = &mut *entry.group;
            st.last_seen = st.last_seen.max(t);
            st.extra.update(ev, strings);
            st.prune(horizon);
            if st.members.len() < min_users {
                // Too few identities left: any incident is over.
                st.end_incident();
            }
            entry.sign_in(ctx, t, (min_users, settle), || IpMember {
                tenant: strings.id(tenant_of(ev)),
                tenure: tenure(ctx),
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

#[cfg(test)]
mod tests {
    use std::cell::OnceCell;

    use compact_str::CompactString;
    use jetlag_event::{Geo, GeoSource, Source};

    use super::*;
    use crate::UserId;

    /// Runs `events` (event index, user, ip, time) through a detector and returns its
    /// alerts as JSON; the state goes through a snapshot every `restore_every` events.
    fn run(compact: bool, min_users: usize, events: &[(usize, u32, IpAddr, i64)]) -> String {
        let config = Config {
            min_users,
            window_hours: 2,
            settle_minutes: 10,
            ..Config::default()
        };
        let mut d = SharedIp::new(&config);
        d.compact = compact;
        let names: Vec<CompactString> = (0..8)
            .map(|u| format!("u{u}@t{}.example", u % 3).into())
            .collect();
        let roster = Roster::empty();
        let mut out = Vec::new();
        for (n, &(i, user, ip, t)) in events.iter().enumerate() {
            // Every fifth event id is no UUID (a solo cannot hold it).
            let id = if i % 5 == 0 {
                format!("evt-{i}")
            } else if i % 7 == 0 {
                format!("0231F922-93FA-4005-BB11-{i:012X}")
            } else {
                format!("0231f922-93fa-4005-bb11-{i:012x}")
            };
            let time = jiff::Timestamp::from_second(t).unwrap();
            let mut ev = SignIn::new(
                &id,
                time,
                Source::Okta,
                names[user as usize].as_str(),
                Outcome::Success,
            );
            ev.ip = Some(ip);
            ev.asn = (i % 3 != 0).then_some(64_500 + (i % 2) as u32);
            ev.as_org = (i % 4 != 0).then(|| format!("AS org {}", i % 3).into());
            if i % 6 != 0 {
                ev.geo = Some(Geo {
                    lat: Some(52.5),
                    lon: Some(13.4),
                    radius_km: None,
                    city: (i % 5 != 0).then(|| format!("City {}", i % 4).into()),
                    region: None,
                    country: Country::from_code(if i % 4 == 0 { "DE" } else { "FR" }),
                    source: GeoSource::Geoip,
                });
            }
            let cell = OnceCell::new();
            let ctx = Context {
                roster: &roster,
                user: UserId(user),
                employee: None,
                names: &names,
                event_id: (&id, &cell),
            };
            d.observe(&ev, &ctx, &mut out);
            if n % 17 == 16 {
                let bytes = d.save_state().unwrap();
                d.state = State::default();
                d.load_state(&bytes).unwrap();
            }
        }
        d.finish(&roster, Names(&names), &mut out);
        serde_json::to_string_pretty(&out).unwrap()
    }

    /// One-identity IPs in the compact table change nothing: the alerts of random sign-ins
    /// (IPv4 and IPv6, identities leaving the window and coming back, ids that are no UUID,
    /// late events, snapshots on the way) are those of groups alone.
    #[test]
    fn solos_alert_as_groups_alone_do() {
        let ips: Vec<IpAddr> = [
            "203.0.113.1",
            "203.0.113.2",
            "198.51.100.9",
            "2001:db8::1",
            "203.0.113.3",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut t = 1_740_000_000i64;
        let mut events = Vec::new();
        for i in 0..3_000 {
            // Mostly seconds to minutes apart, sometimes past the window, sometimes late.
            t += match next(20) {
                0 => 3 * 3600,
                1 => -120,
                _ => next(600) as i64,
            };
            events.push((i, next(8) as u32, ips[next(ips.len() as u64) as usize], t));
        }
        for min_users in [2, 3] {
            let want = run(false, min_users, &events);
            let got = run(true, min_users, &events);
            assert!(
                want.matches("alert_id").count() > 20,
                "{min_users}: too few alerts to compare"
            );
            assert_eq!(got, want, "min_users {min_users}");
        }
    }

    /// A solo is 64 bytes and gives back the member and facts it took.
    #[test]
    fn solos_round_trip_members_and_facts() {
        assert_eq!(std::mem::size_of::<Solo>(), 64);
        let member = Member {
            first_event: CompactId::new("0231F922-93FA-4005-BB11-B344ECA03C01"),
            first_time: 100,
            last_time: 150,
            user: 7,
            reported: false,
            extra: IpMember {
                tenant: 3,
                tenure: RECENT_HIRE,
            },
        };
        let meta = IpMeta {
            asn: Some(64_500),
            as_org: 1,
            city: NONE,
            country: Country::from_code("US"),
        };
        let solo = Solo::new(9, &member, 200, &meta).unwrap();
        let back = solo.member();
        assert_eq!(
            back.first_event.to_string(),
            "0231F922-93FA-4005-BB11-B344ECA03C01"
        );
        assert_eq!((back.first_time, back.last_time, back.user), (100, 150, 7));
        assert_eq!((back.extra.tenant, back.extra.tenure), (3, RECENT_HIRE));
        let m = solo.meta();
        assert_eq!(
            (m.asn, m.as_org, m.city, m.country),
            (meta.asn, 1, NONE, meta.country)
        );
        let none = IpMeta::default();
        let m = Solo::new(9, &member, 200, &none).unwrap().meta();
        assert_eq!((m.asn, m.country), (None, None));
        // What a solo cannot hold.
        let text = Member {
            first_event: CompactId::new("evt-1"),
            ..member.clone()
        };
        assert!(Solo::new(9, &text, 200, &meta).is_none());
        assert!(Solo::new(9, &member, i64::MAX, &meta).is_none());
        assert!(
            Solo::new(9, &member, 120, &meta).is_none(),
            "a last time after last_seen"
        );
    }
}
