//! The simulated organisation: tenants, employees, their habits, trips and the planted attacks.
//!
//! Everything here is decided once, up front, from the seed; the day-by-day generator
//! (`generate`) then turns the plan into sign-ins. Every random draw comes from a generator
//! seeded by [`rng_for`], so a plan is a pure function of the configuration.

use jiff::civil::{Date, Weekday};
use rand::Rng;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::Config;
use crate::world::{CITIES, NetKind, city_index, distance_km};

/// A deterministic generator for one purpose, from the seed and up to three coordinates.
pub fn rng_for(seed: u64, stream: u64, a: u64, b: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(mix(mix(mix(
        seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    ) ^ a)
        ^ b))
}

/// SplitMix64's finaliser: a fast, well-mixed 64-bit hash step.
pub const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Which identity provider a tenant logs sign-ins with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idp {
    /// Microsoft Entra ID (Graph `signIns` pages).
    Entra,
    /// Okta (System Log NDJSON).
    Okta,
    /// Google Workspace (Reports API login activities, NDJSON).
    Google,
}

/// One tenant (a company or subsidiary with its own IdP and AWS account).
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Mail domain, also the tenant's folder name.
    pub domain: String,
    /// Its identity provider.
    pub idp: Idp,
    /// Entra tenant id / Okta org id / Google customer id seed.
    pub id: u64,
    /// 12-digit AWS account id.
    pub aws_account: String,
}

/// What an employee really is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An ordinary employee.
    Normal,
    /// A North Korean-style remote worker behind laptop farm `farm`.
    FarmWorker {
        /// Index into [`Plan::farms`].
        farm: u16,
    },
    /// One of several accounts driven from one device by one facilitator.
    SharedDevice {
        /// Index into [`Plan::device_rings`].
        ring: u16,
    },
    /// A new hire who claims a US home but works from `city`.
    Impostor {
        /// Where they really are.
        city: u8,
    },
}

/// A business trip with real flights.
#[derive(Debug, Clone)]
pub struct Trip {
    /// Day index of the outbound flight.
    pub depart_day: u32,
    /// Day index of the return flight.
    pub return_day: u32,
    /// Destination city.
    pub dest: u8,
    /// Outbound departure / arrival, epoch seconds.
    pub out_dep: i64,
    /// Outbound arrival.
    pub out_arr: i64,
    /// Return departure.
    pub back_dep: i64,
    /// Last day the trip shapes (the day after the return flight lands: a long flight can
    /// land after the next morning's usual sign-ins would have been).
    pub home_day: u32,
    /// Return arrival.
    pub back_arr: i64,
    /// Hotel Wi-Fi host number in the destination (shared by a conference group).
    pub hotel_host: u32,
}

/// One employee.
#[derive(Debug, Clone)]
pub struct User {
    /// Lower-case UPN / e-mail.
    pub upn: String,
    /// Display name.
    pub display: String,
    /// Tenant index.
    pub tenant: u16,
    /// Where they really live.
    pub home: u8,
    /// What the roster says (differs from `home` for impostors and farm workers).
    pub roster_city: u8,
    /// Office city, when they have one in their metro.
    pub office: Option<u8>,
    /// Hire date.
    pub hire: Date,
    /// Work start, local minutes after midnight.
    pub start_min: u16,
    /// Work end, local minutes after midnight.
    pub end_min: u16,
    /// Office days, bit 0 = Monday.
    pub office_days: u8,
    /// Residential host number (shared with a household member).
    pub home_host: u32,
    /// 0 Windows, 1 macOS.
    pub laptop_os: u8,
    /// 0 iOS, 1 Android.
    pub phone_os: u8,
    /// Corporate-VPN egress city, for VPN users.
    pub corp_vpn: Option<u8>,
    /// Consumer-VPN exit city, for the privacy-minded.
    pub consumer_vpn: Option<u8>,
    /// Uses iCloud Private Relay on the phone.
    pub relay: bool,
    /// IAM user name, for engineers who sign in to the AWS console.
    pub aws: Option<String>,
    /// What they really are.
    pub role: Role,
    /// Business trips.
    pub trips: Vec<Trip>,
}

impl User {
    /// The trip covering day `d`, if any.
    pub fn trip_on(&self, d: u32) -> Option<&Trip> {
        self.trips
            .iter()
            .find(|t| t.depart_day <= d && d <= t.home_day)
    }
    /// A stable id of the user (Entra object id, Okta user id, Google profile id seed).
    pub fn uid(&self, seed: u64, idx: u32) -> u64 {
        mix(seed ^ 0x5555 ^ idx as u64)
    }
}

/// A laptop farm: one residential IP hosting laptops for several remote "employees".
#[derive(Debug, Clone)]
pub struct Farm {
    /// City of the facilitator's home.
    pub city: u8,
    /// Residential host number of the farm.
    pub host: u32,
    /// Workers (user indexes).
    pub workers: Vec<u32>,
    /// Per worker: a direct sign-in from north-east China, `(day, minutes after the first
    /// farm sign-in, city)`.
    pub china_hops: Vec<Option<(u32, u16, u8)>>,
}

/// Accounts driven from one device by one facilitator.
#[derive(Debug, Clone)]
pub struct DeviceRing {
    /// Facilitator's city.
    pub city: u8,
    /// Residential host.
    pub host: u32,
    /// The shared device id seed.
    pub device: u64,
    /// Accounts.
    pub members: Vec<u32>,
}

/// An attack injected against ordinary employees.
#[derive(Debug, Clone)]
pub enum Attack {
    /// Account takeover from a far-away residential IP, minutes after the victim's own sign-in.
    TravelAto {
        /// Victim.
        victim: u32,
        /// Day index.
        day: u32,
        /// Victim's legitimate sign-in, epoch seconds.
        legit: i64,
        /// Attacker's first success, epoch seconds.
        at: i64,
        /// Attacker's city.
        city: u8,
        /// Attacker's residential host.
        host: u32,
    },
    /// Account takeover through a Tor exit.
    TorAto {
        /// Victim.
        victim: u32,
        /// Day index.
        day: u32,
        /// Epoch seconds.
        at: i64,
        /// Tor exit city and host.
        city: u8,
        /// Tor exit host.
        host: u32,
    },
    /// Password spray from a hosting IP against one tenant.
    Spray {
        /// Day index.
        day: u32,
        /// Start, epoch seconds.
        at: i64,
        /// Hosting city and host.
        city: u8,
        /// Hosting host.
        host: u32,
        /// Targets.
        targets: Vec<u32>,
        /// The target whose password worked, signed in 5 minutes after the spray.
        success: Option<u32>,
    },
    /// A stolen Okta session replayed from another country.
    Replay {
        /// Victim.
        victim: u32,
        /// Day index.
        day: u32,
        /// Victim's sign-in that started the session, epoch seconds.
        legit: i64,
        /// Replay time.
        at: i64,
        /// Attacker city.
        city: u8,
        /// Attacker host.
        host: u32,
    },
}

/// The whole plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Tenants.
    pub tenants: Vec<Tenant>,
    /// Employees.
    pub users: Vec<User>,
    /// Laptop farms.
    pub farms: Vec<Farm>,
    /// Shared-device rings.
    pub device_rings: Vec<DeviceRing>,
    /// Attacks on ordinary employees, by day.
    pub attacks: Vec<Attack>,
    /// Conference groups: (members, city, first day, last day).
    pub conferences: Vec<(Vec<u32>, u8, u32, u32)>,
    /// Households of two sharing one home IP.
    pub households: Vec<(u32, u32)>,
    /// First day.
    pub start: Date,
    /// Epoch seconds of each day's 00:00 UTC.
    pub day_epoch: Vec<i64>,
    /// UTC offset (seconds) of each city at noon of each day: `offsets[city][day]`.
    pub offsets: Vec<Vec<i32>>,
}

const FIRST: &[&str] = &[
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "priya",
    "arjun",
    "wei",
    "mei",
    "hiroshi",
    "yuki",
    "lukas",
    "anna",
    "sophie",
    "liam",
    "emma",
    "noah",
    "olivia",
    "mateo",
    "lucia",
    "aisha",
    "omar",
    "fatima",
    "chen",
    "ravi",
    "ana",
    "ivan",
];
const LAST: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "lee",
    "walker",
    "hall",
    "allen",
    "young",
    "king",
    "wright",
    "scott",
    "green",
    "baker",
    "adams",
    "nelson",
    "patel",
    "sharma",
    "nguyen",
    "kim",
    "tanaka",
    "mueller",
    "schmidt",
    "dubois",
    "rossi",
    "silva",
    "kowalski",
    "novak",
    "obrien",
    "murphy",
    "cohen",
    "singh",
    "wang",
    "zhang",
];
const TENANT_NAMES: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
];

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

fn pick_weighted(rng: &mut Pcg64Mcg, total: u32) -> u8 {
    let mut x = rng.random_range(0..total);
    for (i, c) in CITIES.iter().enumerate() {
        if x < c.weight {
            return i as u8;
        }
        x -= c.weight;
    }
    0
}

/// Epoch seconds of a local wall-clock time `min` minutes after midnight of day `d` in `city`.
pub fn local_to_epoch(plan: &Plan, city: u8, d: u32, min: i64) -> i64 {
    plan.day_epoch[d as usize] + min * 60 - plan.offsets[city as usize][d as usize] as i64
}

/// Epoch seconds of a Korea Standard Time (UTC+9, no DST) wall-clock minute on day `d`.
pub fn kst_to_epoch(plan: &Plan, d: u32, min: i64) -> i64 {
    plan.day_epoch[d as usize] + min * 60 - 9 * 3600
}

impl Plan {
    /// Builds the plan for `cfg`.
    pub fn new(cfg: &Config) -> Plan {
        let days = cfg.days.max(1);
        let start = cfg.start;
        let mut day_epoch = Vec::with_capacity(days as usize);
        let mut offsets = vec![Vec::with_capacity(days as usize); CITIES.len()];
        let zones: Vec<jiff::tz::TimeZone> = CITIES
            .iter()
            .map(|c| jiff::tz::TimeZone::get(c.tz).unwrap_or(jiff::tz::TimeZone::UTC))
            .collect();
        for d in 0..days {
            let date = start
                .checked_add(jiff::Span::new().days(d as i64))
                .unwrap_or(start);
            let midnight = date
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp().as_second())
                .unwrap_or(0);
            day_epoch.push(midnight);
            let noon = jiff::Timestamp::from_second(midnight + 12 * 3600)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            for (c, z) in zones.iter().enumerate() {
                offsets[c].push(z.to_offset(noon).seconds());
            }
        }
        let mut plan = Plan {
            tenants: Vec::new(),
            users: Vec::new(),
            farms: Vec::new(),
            device_rings: Vec::new(),
            attacks: Vec::new(),
            conferences: Vec::new(),
            households: Vec::new(),
            start,
            day_epoch,
            offsets,
        };
        plan.tenants(cfg);
        plan.employees(cfg);
        plan.trips(cfg);
        plan.scenarios(cfg);
        plan
    }

    /// The civil date of day `d`.
    pub fn date(&self, d: u32) -> Date {
        self.start
            .checked_add(jiff::Span::new().days(d as i64))
            .unwrap_or(self.start)
    }

    /// Whether day `d` is a weekday in the user's local calendar (UTC date is close enough).
    pub fn is_weekday(&self, d: u32) -> bool {
        !matches!(self.date(d).weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    fn days(&self) -> u32 {
        self.day_epoch.len() as u32
    }

    fn tenants(&mut self, cfg: &Config) {
        let n = cfg.tenants.max(1);
        for t in 0..n {
            let base = TENANT_NAMES[t as usize % TENANT_NAMES.len()];
            let domain = if (t as usize) < TENANT_NAMES.len() {
                format!("{base}.example")
            } else {
                format!("{base}{t}.example")
            };
            let idp = match t % 3 {
                0 => Idp::Entra,
                1 => Idp::Okta,
                _ => Idp::Google,
            };
            let id = mix(cfg.seed ^ 0x7e7a_0000 ^ t as u64);
            let aws_account = format!("{:012}", 100_000_000_000 + id % 899_999_999_999);
            self.tenants.push(Tenant {
                domain,
                idp,
                id,
                aws_account,
            });
        }
    }

    fn employees(&mut self, cfg: &Config) {
        let total: u32 = CITIES.iter().map(|c| c.weight).sum();
        let mut rng = rng_for(cfg.seed, 1, 0, 0);
        let nt = self.tenants.len() as u32;
        for i in 0..cfg.users {
            let f = FIRST[rng.random_range(0..FIRST.len())];
            let l = LAST[rng.random_range(0..LAST.len())];
            let tenant = (i % nt) as u16;
            let domain = &self.tenants[tenant as usize].domain;
            let upn = format!("{f}.{l}{i}@{domain}");
            let display = format!("{} {}", capital(f), capital(l));
            let home = pick_weighted(&mut rng, total);
            let office = CITIES[home as usize].office.then_some(home);
            // Tenure: mostly years; ~6% hired within the last 90 days (benign new hires).
            let tenure_days: i64 = if rng.random_bool(0.06) {
                rng.random_range(5..90)
            } else {
                rng.random_range(120..4000)
            };
            let hire = self
                .start
                .checked_sub(jiff::Span::new().days(tenure_days))
                .unwrap_or(self.start);
            let start_min = rng.random_range(7 * 60 + 15..9 * 60 + 45) as u16;
            let end_min = start_min + rng.random_range(8 * 60..9 * 60 + 30) as u16;
            let office_days = if office.is_some() {
                match rng.random_range(0..10) {
                    0..=2 => 0b11111,
                    3..=7 => 0b01110,
                    _ => 0b00100,
                }
            } else {
                0
            };
            let laptop_os = rng.random_bool(0.55) as u8;
            let phone_os = rng.random_bool(0.45) as u8;
            let corp_vpn = if rng.random_bool(0.12) {
                // Some users' corporate VPN egresses abroad (the VPN concentrator is in
                // another country's office).
                Some(if rng.random_bool(0.3) {
                    city_index(
                        ["Frankfurt", "London", "Singapore", "New York"][rng.random_range(0..4)],
                    )
                } else {
                    nearest_office(home)
                })
            } else {
                None
            };
            let consumer_vpn = rng.random_bool(0.03).then(|| {
                let exits: Vec<u8> = (0..CITIES.len() as u8)
                    .filter(|c| NetKind::Vpn.present_in_city(*c))
                    .collect();
                exits[rng.random_range(0..exits.len())]
            });
            let relay = phone_os == 0 && rng.random_bool(0.15);
            let aws = rng.random_bool(0.12).then(|| format!("{f}.{l}{i}"));
            self.users.push(User {
                upn,
                display,
                tenant,
                home,
                roster_city: home,
                office,
                hire,
                start_min,
                end_min,
                office_days,
                home_host: rng.random_range(0..60_000),
                laptop_os,
                phone_os,
                corp_vpn,
                consumer_vpn,
                relay,
                aws,
                role: Role::Normal,
                trips: Vec::new(),
            });
        }
        // Households: pairs of employees in the same city sharing one home IP.
        let n = self.users.len() as u32;
        let pairs = (n / 150).max(u32::from(n >= 20));
        for k in 0..pairs {
            let a = rng.random_range(0..n);
            let Some(b) = (0..n)
                .map(|j| (a + 1 + j * 7 + k) % n)
                .find(|&b| b != a && self.users[b as usize].home == self.users[a as usize].home)
            else {
                continue;
            };
            if self
                .households
                .iter()
                .any(|&(x, y)| [x, y].contains(&a) || [x, y].contains(&b))
            {
                continue;
            }
            self.users[b as usize].home_host = self.users[a as usize].home_host;
            self.households.push((a, b));
        }
    }

    fn trips(&mut self, cfg: &Config) {
        let days = self.days();
        if days < 3 {
            return;
        }
        let mut rng = rng_for(cfg.seed, 2, 0, 0);
        let offices: Vec<u8> = (0..CITIES.len() as u8)
            .filter(|&c| CITIES[c as usize].office)
            .collect();
        // Conferences: a few colleagues at one hotel for 2-3 days.
        let n = self.users.len() as u32;
        let conf_count = (n / 400).max(u32::from(n >= 50));
        let mut in_conf = vec![false; n as usize];
        for k in 0..conf_count {
            let city = offices[rng.random_range(0..offices.len())];
            let first = rng.random_range(0..days.saturating_sub(3).max(1));
            let last = (first + 2).min(days - 1);
            let size = rng.random_range(5..9u32);
            let host = 10_000 + k;
            let mut members = Vec::new();
            for _ in 0..size * 4 {
                if members.len() as u32 >= size {
                    break;
                }
                let u = rng.random_range(0..n);
                if in_conf[u as usize] || self.users[u as usize].home == city {
                    continue;
                }
                in_conf[u as usize] = true;
                members.push(u);
                let trip = self.flight_plan(&mut rng, u, city, first, last, host);
                self.users[u as usize].trips.push(trip);
            }
            self.conferences.push((members, city, first, last));
        }
        // Ordinary business trips: ~4 % of employees per week, mostly to other offices.
        let weeks = days.div_ceil(7);
        for u in 0..n {
            if in_conf[u as usize] {
                continue;
            }
            for w in 0..weeks {
                if !rng.random_bool(0.04) {
                    continue;
                }
                let first = w * 7 + rng.random_range(0..4);
                let last = first + rng.random_range(1..4);
                if last >= days {
                    continue;
                }
                let home = self.users[u as usize].home;
                let dest = if rng.random_bool(0.7) {
                    offices[rng.random_range(0..offices.len())]
                } else {
                    // A domestic trip to another city of the same country.
                    let same: Vec<u8> = (0..CITIES.len() as u8)
                        .filter(|&c| {
                            CITIES[c as usize].country == CITIES[home as usize].country
                                && CITIES[c as usize].weight > 0
                        })
                        .collect();
                    same[rng.random_range(0..same.len())]
                };
                if dest == home {
                    continue;
                }
                let host = rng.random_range(0..60_000);
                let trip = self.flight_plan(&mut rng, u, dest, first, last, host);
                self.users[u as usize].trips.push(trip);
                break;
            }
        }
    }

    /// Real flights: leave home in the morning or early afternoon, fly at 800 km/h plus 45
    /// minutes of taxi and climb, come back on `last`.
    fn flight_plan(
        &self,
        rng: &mut Pcg64Mcg,
        u: u32,
        dest: u8,
        first: u32,
        last: u32,
        hotel_host: u32,
    ) -> Trip {
        let home = self.users[u as usize].home;
        let km = distance_km(&CITIES[home as usize], &CITIES[dest as usize]);
        let flight_s = ((km / 800.0 + 0.75) * 3600.0) as i64;
        let out_dep = local_to_epoch(self, home, first, rng.random_range(7 * 60..14 * 60));
        let back_dep = local_to_epoch(self, dest, last, rng.random_range(8 * 60..16 * 60));
        let back_arr = back_dep + flight_s;
        let home_day =
            ((back_arr - self.day_epoch[0]).div_euclid(86_400) + 1).max(last as i64) as u32;
        Trip {
            home_day,
            depart_day: first,
            return_day: last,
            dest,
            out_dep,
            out_arr: out_dep + flight_s,
            back_dep,
            back_arr: back_dep + flight_s,
            hotel_host,
        }
    }

    /// A normal employee suitable as a clean victim: no VPN, relay, trips, household or role.
    fn clean_victim(&self, rng: &mut Pcg64Mcg, tenant: Option<u16>, taken: &[u32]) -> Option<u32> {
        let n = self.users.len() as u32;
        for _ in 0..n.max(64) * 4 {
            let u = rng.random_range(0..n);
            let x = &self.users[u as usize];
            if x.role == Role::Normal
                && x.corp_vpn.is_none()
                && x.consumer_vpn.is_none()
                && !x.relay
                && x.trips.is_empty()
                && x.aws.is_none()
                && tenant.is_none_or(|t| t == x.tenant)
                && !taken.contains(&u)
                && !self.households.iter().any(|&(a, b)| a == u || b == u)
            {
                return Some(u);
            }
        }
        None
    }

    /// A weekday in `lo..hi` (day indexes).
    fn weekday_in(&self, rng: &mut Pcg64Mcg, lo: u32, hi: u32) -> Option<u32> {
        let hi = hi.min(self.days());
        if lo >= hi {
            return None;
        }
        for _ in 0..32 {
            let d = rng.random_range(lo..hi);
            if self.is_weekday(d) {
                return Some(d);
            }
        }
        (lo..hi).find(|&d| self.is_weekday(d))
    }

    fn recruit(
        &mut self,
        rng: &mut Pcg64Mcg,
        tenant: u16,
        role: Role,
        claimed: u8,
        taken: &mut Vec<u32>,
    ) -> Option<u32> {
        let u = self.clean_victim(rng, Some(tenant), taken)?;
        taken.push(u);
        let x = &mut self.users[u as usize];
        x.role = role;
        x.roster_city = claimed;
        x.office = None;
        x.office_days = 0;
        x.hire = self
            .start
            .checked_sub(jiff::Span::new().days(rng.random_range(10..70)))
            .unwrap_or(self.start);
        Some(u)
    }

    fn scenarios(&mut self, cfg: &Config) {
        let mut rng = rng_for(cfg.seed, 3, 0, 0);
        let n = self.users.len() as u32;
        let days = self.days();
        let nt = self.tenants.len() as u16;
        let mut taken: Vec<u32> = Vec::new();
        let us_claims: Vec<u8> = [
            "Dallas", "Austin", "Atlanta", "Chicago", "Denver", "Seattle",
        ]
        .iter()
        .map(|c| city_index(c))
        .collect();

        // Laptop farms: one per ~2,000 employees, 5-13 workers, spread over two tenants.
        if n >= 40 {
            let farms = (n / 2000).max(1);
            for f in 0..farms {
                let size = rng.random_range(5..14u32).min(n / 8);
                let city = us_claims[rng.random_range(0..us_claims.len())];
                let host = 61_000 + f;
                let mut workers = Vec::new();
                let mut hops = Vec::new();
                for k in 0..size {
                    let tenant = ((f + k % 2) % nt as u32) as u16;
                    let claimed = us_claims[rng.random_range(0..us_claims.len())];
                    let Some(u) = self.recruit(
                        &mut rng,
                        tenant,
                        Role::FarmWorker { farm: f as u16 },
                        claimed,
                        &mut taken,
                    ) else {
                        continue;
                    };
                    workers.push(u);
                    let hop = (k % 3 == 0 && days >= 2).then(|| {
                        let d = self.weekday_in(&mut rng, 1, days).unwrap_or(0);
                        let c = if rng.random_bool(0.5) {
                            "Shenyang"
                        } else {
                            "Dandong"
                        };
                        (d, rng.random_range(15..90) as u16, city_index(c))
                    });
                    hops.push(hop);
                }
                self.farms.push(Farm {
                    city,
                    host,
                    workers,
                    china_hops: hops,
                });
            }
        }
        // Shared-device rings: three accounts in an Entra tenant on one facilitator's device.
        if n >= 40 {
            let rings = (n / 3000).max(1);
            for r in 0..rings {
                let city = us_claims[rng.random_range(0..us_claims.len())];
                let mut members = Vec::new();
                for _ in 0..3 {
                    let claimed = us_claims[rng.random_range(0..us_claims.len())];
                    if let Some(u) = self.recruit(
                        &mut rng,
                        0,
                        Role::SharedDevice { ring: r as u16 },
                        claimed,
                        &mut taken,
                    ) {
                        // They keep the claimed time zone's hours: the shared device is the tell.
                        members.push(u);
                    }
                }
                self.device_rings.push(DeviceRing {
                    city,
                    host: 62_000 + r,
                    device: mix(cfg.seed ^ 0xde71_ce00 ^ r as u64),
                    members,
                });
            }
        }
        // Offshore impostors: claim a US city, work its hours from abroad.
        if n >= 40 {
            let count = (n / 2000).max(1);
            let abroad = ["Lagos", "Lahore", "Hanoi"];
            for k in 0..count {
                let city = city_index(abroad[k as usize % abroad.len()]);
                let claimed = us_claims[rng.random_range(0..us_claims.len())];
                let tenant = (k % nt as u32) as u16;
                self.recruit(
                    &mut rng,
                    tenant,
                    Role::Impostor { city },
                    claimed,
                    &mut taken,
                );
            }
        }
        // Account takeovers with impossible travel.
        let ato_cities: Vec<u8> = ["Moscow", "Lagos", "Bucharest", "Hanoi"]
            .iter()
            .map(|c| city_index(c))
            .collect();
        let atos = (n / 500).max(2).min(n / 4);
        for k in 0..atos {
            let Some(victim) = self.clean_victim(&mut rng, None, &taken) else {
                break;
            };
            let Some(day) = self.weekday_in(&mut rng, 1, days) else {
                break;
            };
            taken.push(victim);
            let v = &self.users[victim as usize];
            let legit = local_to_epoch(self, v.home, day, v.start_min as i64 - 20);
            let at = legit + rng.random_range(20 * 60..90 * 60);
            let city = ato_cities[k as usize % ato_cities.len()];
            let host = rng.random_range(0..60_000);
            self.attacks.push(Attack::TravelAto {
                victim,
                day,
                legit,
                at,
                city,
                host,
            });
        }
        // Account takeovers through Tor.
        let tors: Vec<u8> = (0..CITIES.len() as u8)
            .filter(|&c| NetKind::Tor.present_in_city(c) && CITIES[c as usize].country != "US")
            .collect();
        let tor_atos = (n / 1000).max(1).min(n / 4);
        for _ in 0..tor_atos {
            let Some(victim) = self.clean_victim(&mut rng, None, &taken) else {
                break;
            };
            let Some(day) = self.weekday_in(&mut rng, 0, days) else {
                break;
            };
            taken.push(victim);
            let v = &self.users[victim as usize];
            let at = local_to_epoch(self, v.home, day, rng.random_range(0..24 * 60));
            let city = tors[rng.random_range(0..tors.len())];
            let host = rng.random_range(0..40);
            self.attacks.push(Attack::TorAto {
                victim,
                day,
                at,
                city,
                host,
            });
        }
        // Password sprays from a hosting IP.
        let hosting: Vec<u8> = ["Amsterdam", "Frankfurt", "Singapore", "Sao Paulo"]
            .iter()
            .filter_map(|c| CITIES.iter().position(|x| x.name == *c).map(|i| i as u8))
            .collect();
        let sprays = (n / 2000).max(1);
        for k in 0..sprays {
            let tenant = (k % nt as u32) as u16;
            let members: Vec<u32> = (0..n)
                .filter(|&u| self.users[u as usize].tenant == tenant)
                .collect();
            if members.len() < 25 {
                continue;
            }
            let Some(day) = self.weekday_in(&mut rng, 0, days) else {
                break;
            };
            let want = rng.random_range(25..=200usize).min(members.len());
            let mut targets = Vec::with_capacity(want);
            let stride = members.len() / want;
            let off = rng.random_range(0..stride.max(1));
            for j in 0..want {
                targets.push(members[(off + j * stride) % members.len()]);
            }
            targets.sort_unstable();
            targets.dedup();
            let success = rng
                .random_bool(0.5)
                .then(|| self.clean_victim(&mut rng, Some(tenant), &taken))
                .flatten();
            if let Some(s) = success {
                taken.push(s);
                if !targets.contains(&s) {
                    targets.push(s);
                }
            }
            let at = self.day_epoch[day as usize] + rng.random_range(0..22 * 3600);
            let city = hosting[k as usize % hosting.len()];
            let host = 50_000 + k;
            self.attacks.push(Attack::Spray {
                day,
                at,
                city,
                host,
                targets,
                success,
            });
        }
        // Session replay (Okta tenants carry the session id).
        if let Some(okta) = self.tenants.iter().position(|t| t.idp == Idp::Okta) {
            let replays = (n / 2000).max(1);
            for k in 0..replays {
                let Some(victim) = self.clean_victim(&mut rng, Some(okta as u16), &taken) else {
                    break;
                };
                let Some(day) = self.weekday_in(&mut rng, 0, days) else {
                    break;
                };
                taken.push(victim);
                let v = &self.users[victim as usize];
                let legit = local_to_epoch(self, v.home, day, v.start_min as i64 - 20);
                let at = legit + rng.random_range(60 * 60..180 * 60);
                let city = city_index(["Sao Paulo", "Bucharest", "Moscow"][k as usize % 3]);
                let host = rng.random_range(0..60_000);
                self.attacks.push(Attack::Replay {
                    victim,
                    day,
                    legit,
                    at,
                    city,
                    host,
                });
            }
        }
    }
}

fn nearest_office(home: u8) -> u8 {
    let h = &CITIES[home as usize];
    (0..CITIES.len() as u8)
        .filter(|&c| CITIES[c as usize].office)
        .min_by(|&a, &b| {
            distance_km(h, &CITIES[a as usize]).total_cmp(&distance_km(h, &CITIES[b as usize]))
        })
        .unwrap_or(0)
}

impl NetKind {
    /// Whether city `c` has a block of this kind.
    pub fn present_in_city(self, c: u8) -> bool {
        crate::world::present(self, c)
    }
}
