//! Turns the plan into sign-ins, one simulated day at a time.
//!
//! Each (user, day) pair draws from its own generator ([`rng_for`]), so a day can be generated
//! without replaying the days before it and the output is a pure function of the seed.

use std::net::IpAddr;

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use crate::org::{Attack, Plan, Role, kst_to_epoch, local_to_epoch, mix, rng_for};
use crate::world::{CITIES, NetKind, ipv4, mobile_ipv6};

/// The software a sign-in came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Edge on Windows 11.
    WinEdge,
    /// Chrome on Windows.
    WinChrome,
    /// Chrome on macOS.
    MacChrome,
    /// Safari on macOS.
    MacSafari,
    /// Safari on iPhone.
    IosSafari,
    /// Outlook for iOS.
    IosOutlook,
    /// Chrome on Android.
    AndroidChrome,
    /// Firefox on Linux.
    LinuxFirefox,
    /// Tor Browser.
    TorBrowser,
    /// A scripted HTTP client.
    PythonRequests,
}

impl Client {
    /// The raw User-Agent header.
    pub const fn user_agent(self) -> &'static str {
        match self {
            Client::WinEdge => {
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0"
            }
            Client::WinChrome => {
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"
            }
            Client::MacChrome => {
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
            }
            Client::MacSafari => {
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15"
            }
            Client::IosSafari => {
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
            }
            Client::IosOutlook => "Outlook-iOS/2.0 (iPhone; iOS 18.0) Mobile",
            Client::AndroidChrome => {
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36"
            }
            Client::LinuxFirefox => {
                "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
            }
            Client::TorBrowser => {
                "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"
            }
            Client::PythonRequests => "python-requests/2.32.3",
        }
    }
    /// Operating system as the IdPs name it.
    pub const fn os(self) -> &'static str {
        match self {
            Client::WinEdge | Client::WinChrome | Client::TorBrowser => "Windows 10",
            Client::MacChrome | Client::MacSafari => "MacOs",
            Client::IosSafari | Client::IosOutlook => "Ios",
            Client::AndroidChrome => "Android",
            Client::LinuxFirefox => "Linux",
            Client::PythonRequests => "",
        }
    }
    /// Browser as Entra names it.
    pub const fn browser(self) -> &'static str {
        match self {
            Client::WinEdge => "Edge 130.0.0",
            Client::WinChrome => "Chrome 129.0.0",
            Client::MacChrome | Client::AndroidChrome => "Chrome 130.0.0",
            Client::MacSafari | Client::IosSafari => "Safari 18.0",
            Client::IosOutlook => "Outlook 2.0",
            Client::LinuxFirefox => "Firefox 131.0",
            Client::TorBrowser => "Firefox 128.0",
            Client::PythonRequests => "Python Requests 2.32.3",
        }
    }
    /// Whether it is a phone.
    pub const fn mobile(self) -> bool {
        matches!(
            self,
            Client::IosSafari | Client::IosOutlook | Client::AndroidChrome
        )
    }
}

/// What kind of sign-in record to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An interactive sign-in to the IdP.
    SignIn,
    /// Single sign-on into an app within an existing session (Okta `user.authentication.sso`).
    Sso,
    /// An AWS console sign-in of the user's IAM identity (CloudTrail).
    Aws,
}

/// One simulated sign-in, before it is written in a vendor format.
#[derive(Debug, Clone, Copy)]
pub struct Ev {
    /// Epoch milliseconds.
    pub t_ms: i64,
    /// Unique, stable id seed.
    pub seq: u64,
    /// Employee index.
    pub user: u32,
    /// Source IP.
    pub ip: IpAddr,
    /// Client software.
    pub client: Client,
    /// Succeeded.
    pub ok: bool,
    /// Record kind.
    pub kind: Kind,
    /// Device id seed (0 = no registered device).
    pub device: u64,
    /// Session id seed.
    pub session: u64,
    /// App index (vendor-specific table).
    pub app: u8,
    /// A second factor was used.
    pub mfa: bool,
}

const LAPTOP: u64 = 0x1a;
const PHONE: u64 = 0x2b;

struct Day<'a> {
    plan: &'a Plan,
    seed: u64,
    u: u32,
    d: u32,
    rng: Pcg64Mcg,
    k: u64,
    out: &'a mut Vec<Ev>,
}

impl Day<'_> {
    fn laptop(&self) -> Client {
        if self.plan.users[self.u as usize].laptop_os == 0 {
            Client::WinEdge
        } else if self.u.is_multiple_of(3) {
            Client::MacSafari
        } else {
            Client::MacChrome
        }
    }
    fn phone(&mut self) -> Client {
        if self.plan.users[self.u as usize].phone_os == 1 {
            Client::AndroidChrome
        } else if self.rng.random_bool(0.5) {
            Client::IosOutlook
        } else {
            Client::IosSafari
        }
    }
    fn session(&self, dev: u64) -> u64 {
        mix(self.seed ^ 0x5e55 ^ ((self.u as u64) << 24) ^ ((self.d as u64) << 4) ^ dev)
    }
    /// Pushes one sign-in at epoch second `t`.
    fn push(&mut self, t: i64, ip: IpAddr, client: Client, ok: bool, kind: Kind, dev: u64) {
        let device = if dev == LAPTOP {
            mix(self.seed ^ 0xd0 ^ self.u as u64)
        } else if dev == PHONE || dev == 0 {
            0
        } else {
            dev
        };
        let session = if dev == LAPTOP {
            self.session(dev)
        } else if dev == PHONE {
            // Each phone app keeps its own session.
            self.session(dev ^ ((client as u64) << 8))
        } else {
            mix(self.seed ^ 0xa77 ^ dev ^ t as u64)
        };
        let seq = mix(self.seed ^ ((self.u as u64) << 32) ^ ((self.d as u64) << 12) ^ self.k);
        self.k += 1;
        let app = self.rng.random_range(0..4u8);
        let t_ms = t * 1000 + self.rng.random_range(0..1000);
        self.out.push(Ev {
            t_ms,
            seq,
            user: self.u,
            ip,
            client,
            ok,
            kind,
            device,
            session,
            app,
            mfa: ok && (client.mobile() || self.rng.random_bool(0.3)),
        });
    }
    /// A random local time between minutes `lo` and `hi` of the day in `city`.
    fn at(&mut self, city: u8, lo: i64, hi: i64) -> i64 {
        let m = if lo < hi {
            self.rng.random_range(lo..hi)
        } else {
            lo
        };
        self.local(city, m) + self.rng.random_range(0..60)
    }
    fn local(&self, city: u8, min: i64) -> i64 {
        local_to_epoch(self.plan, city, self.d, min)
    }
    fn mobile_ip(&mut self, city: u8) -> IpAddr {
        if self.rng.random_bool(0.25) {
            mobile_ipv6(city, mix(self.seed ^ 0x6 ^ self.u as u64))
        } else {
            // Carrier-grade NAT: a small pool shared by many subscribers.
            ipv4(NetKind::Mobile, city, self.rng.random_range(0..2000))
        }
    }
    /// A laptop sign-in, preceded by a mistyped password 3 % of the time.
    fn laptop_signin(&mut self, t: i64, ip: IpAddr) {
        let c = self.laptop();
        if self.rng.random_bool(0.03) {
            self.push(t - 40, ip, c, false, Kind::SignIn, LAPTOP);
        }
        self.push(t, ip, c, true, Kind::SignIn, LAPTOP);
    }
    fn phone_signin(&mut self, t: i64, ip: IpAddr) {
        let c = self.phone();
        self.push(t, ip, c, true, Kind::SignIn, PHONE);
    }
}

/// Generates every sign-in of day `d` (employees, farms, rings, attacks) into `out`.
pub fn day(plan: &Plan, seed: u64, d: u32, out: &mut Vec<Ev>) {
    for u in 0..plan.users.len() as u32 {
        let mut day = Day {
            plan,
            seed,
            u,
            d,
            rng: rng_for(seed, 10, u as u64, d as u64),
            k: 0,
            out,
        };
        match plan.users[u as usize].role {
            Role::Normal => normal(&mut day),
            Role::FarmWorker { farm } => farm_worker(&mut day, farm),
            Role::SharedDevice { ring } => ring_member(&mut day, ring),
            Role::Impostor { city } => impostor(&mut day, city),
        }
    }
    for (i, a) in plan.attacks.iter().enumerate() {
        attack(plan, seed, d, i, a, out);
    }
}

fn normal(day: &mut Day<'_>) {
    let plan = day.plan;
    let x = &plan.users[day.u as usize];
    if let Some(trip) = x.trip_on(day.d) {
        travel(day, trip.clone());
        return;
    }
    let home = x.home;
    let home_ip = ipv4(NetKind::Residential, home, x.home_host);
    if !plan.is_weekday(day.d) {
        if day.rng.random_bool(0.35) {
            let t = day.at(home, 9 * 60, 22 * 60);
            let ip = day.mobile_ip(home);
            day.phone_signin(t, ip);
        }
        if day.rng.random_bool(0.08) {
            let t = day.at(home, 10 * 60, 20 * 60);
            day.laptop_signin(t, home_ip);
        }
        return;
    }
    if day.rng.random_bool(0.05) {
        // A day off.
        if day.rng.random_bool(0.5) {
            let t = day.at(home, 10 * 60, 20 * 60);
            let ip = day.mobile_ip(home);
            day.phone_signin(t, ip);
        }
        return;
    }
    let wd = plan.date(day.d).weekday().to_monday_zero_offset() as u8;
    let office = x.office.filter(|_| x.office_days & (1 << wd) != 0);
    let base_ip = match office {
        Some(c) => ipv4(NetKind::Corporate, c, 1 + day.u % 4),
        None => home_ip,
    };
    let vpn_ip = x
        .corp_vpn
        .map(|c| ipv4(NetKind::Corporate, c, 100 + day.u % 50));
    let (start, end) = (x.start_min as i64, x.end_min as i64);
    let pick = |day: &mut Day<'_>| match (office, vpn_ip) {
        // Split tunnel: some traffic through the corporate egress, some straight out.
        (None, Some(v)) if day.rng.random_bool(0.6) => v,
        _ => base_ip,
    };
    let t0 = day.at(home, start - 15, start + 15);
    let ip = pick(day);
    day.laptop_signin(t0, ip);
    for _ in 0..day.rng.random_range(1..4) {
        let t = day.at(home, start + 30, end);
        let ip = pick(day);
        day.laptop_signin(t, ip);
    }
    if x.aws.is_some() && day.rng.random_bool(0.6) {
        let t = day.at(home, start + 10, end);
        let ip = pick(day);
        let c = day.laptop();
        day.push(t, ip, c, true, Kind::Aws, LAPTOP);
    }
    for _ in 0..day.rng.random_range(0..3) {
        let t = day.at(home, start - 60, end + 120);
        let ip = if x.relay && day.rng.random_bool(0.6) {
            ipv4(NetKind::Relay, home, day.rng.random_range(0..60_000))
        } else {
            day.mobile_ip(home)
        };
        day.phone_signin(t, ip);
    }
    if let Some(exit) = x.consumer_vpn
        && day.rng.random_bool(0.4)
    {
        let t = day.at(home, 19 * 60, 23 * 60);
        let ip = ipv4(NetKind::Vpn, exit, day.rng.random_range(0..200));
        day.laptop_signin(t, ip);
    }
}

/// A travel day: sign in at home before the flight, nothing in the air, at the destination
/// from 90 minutes after landing (hotel Wi-Fi or the destination office).
fn travel(day: &mut Day<'_>, trip: crate::org::Trip) {
    let plan = day.plan;
    let x = &plan.users[day.u as usize];
    let (home, dest) = (x.home, trip.dest);
    let home_ip = ipv4(NetKind::Residential, home, x.home_host);
    let domestic = CITIES[home as usize].country == CITIES[dest as usize].country;
    if day.d == trip.depart_day {
        let lo = day.local(home, 6 * 60);
        let hi = trip.out_dep - 2 * 3600;
        if lo < hi {
            let t = day.rng.random_range(lo..hi);
            day.laptop_signin(t, home_ip);
        }
        let ip = day.mobile_ip(home);
        day.phone_signin(trip.out_dep - 3600, ip);
    }
    let lo = day.local(dest, 7 * 60).max(trip.out_arr + 90 * 60);
    let hi = day.local(dest, 22 * 60).min(trip.back_dep - 150 * 60);
    if lo < hi {
        let at_office = CITIES[dest as usize].office && (day.d + day.u).is_multiple_of(2);
        let laptop_ip = if at_office {
            ipv4(NetKind::Corporate, dest, 1 + day.u % 4)
        } else {
            ipv4(NetKind::PublicWifi, dest, trip.hotel_host)
        };
        for _ in 0..day.rng.random_range(1..4) {
            let t = day.rng.random_range(lo..hi);
            day.laptop_signin(t, laptop_ip);
        }
        if day.rng.random_bool(0.7) {
            let t = day.rng.random_range(lo..hi);
            let ip = if domestic {
                day.mobile_ip(dest)
            } else {
                ipv4(NetKind::PublicWifi, dest, trip.hotel_host)
            };
            day.phone_signin(t, ip);
        }
    }
    if day.d >= trip.return_day {
        // Home again: from 90 minutes after landing.
        let lo = (trip.back_arr + 90 * 60).max(day.local(home, 6 * 60));
        let hi = day.local(home, 23 * 60 + 30);
        if lo < hi {
            let t = day.rng.random_range(lo..hi);
            let ip = day.mobile_ip(home);
            day.phone_signin(t, ip);
            if day.d > trip.return_day {
                let t = day.rng.random_range(lo..hi);
                day.laptop_signin(t, home_ip);
            }
        }
    }
}

/// A laptop-farm worker: Korean office hours, on a US residential IP, now and then straight
/// from north-east China when the remote link to the farm laptop drops.
fn farm_worker(day: &mut Day<'_>, farm: u16) {
    let plan = day.plan;
    if !plan.is_weekday(day.d) {
        return;
    }
    let f = &plan.farms[farm as usize];
    let ip = ipv4(NetKind::Residential, f.city, f.host);
    let mut first = i64::MAX;
    for _ in 0..day.rng.random_range(2..5) {
        let t = kst_to_epoch(plan, day.d, day.rng.random_range(9 * 60 + 30..18 * 60 + 30));
        first = first.min(t);
        day.push(t, ip, Client::WinChrome, true, Kind::SignIn, LAPTOP);
    }
    let slot = f.workers.iter().position(|&w| w == day.u);
    if let Some(Some((hd, mins, city))) = slot.and_then(|s| f.china_hops.get(s).copied())
        && hd == day.d
    {
        let host = (mix(day.seed ^ 0xc4 ^ day.u as u64) % 60_000) as u32;
        let cn = ipv4(NetKind::Residential, city, host);
        day.push(
            first + mins as i64 * 60,
            cn,
            Client::WinChrome,
            true,
            Kind::SignIn,
            0,
        );
    }
}

/// One of the accounts a facilitator drives from one device, in the claimed time zone's hours.
fn ring_member(day: &mut Day<'_>, ring: u16) {
    let plan = day.plan;
    if !plan.is_weekday(day.d) {
        return;
    }
    let r = &plan.device_rings[ring as usize];
    let ip = ipv4(NetKind::Residential, r.city, r.host);
    let claimed = plan.users[day.u as usize].roster_city;
    for _ in 0..day.rng.random_range(2..4) {
        let t = day.at(claimed, 9 * 60, 17 * 60);
        day.push(t, ip, Client::WinEdge, true, Kind::SignIn, r.device);
    }
}

/// A new hire who claims a US home and keeps its office hours, from abroad.
fn impostor(day: &mut Day<'_>, city: u8) {
    let plan = day.plan;
    if !plan.is_weekday(day.d) {
        return;
    }
    let claimed = plan.users[day.u as usize].roster_city;
    let host = (mix(day.seed ^ 0x1b ^ day.u as u64) % 60_000) as u32;
    let ip = ipv4(NetKind::Residential, city, host);
    for _ in 0..day.rng.random_range(2..5) {
        let t = day.at(claimed, 9 * 60, 17 * 60 + 30);
        day.push(t, ip, Client::WinChrome, true, Kind::SignIn, LAPTOP);
    }
}

fn mk<'a>(
    plan: &'a Plan,
    seed: u64,
    d: u32,
    i: usize,
    u: u32,
    stream: u64,
    out: &'a mut Vec<Ev>,
) -> Day<'a> {
    Day {
        plan,
        seed,
        u,
        d,
        rng: rng_for(seed, 20 + stream, i as u64, u as u64),
        k: 1000 + stream * 1000,
        out,
    }
}

fn attack(plan: &Plan, seed: u64, d: u32, i: usize, a: &Attack, out: &mut Vec<Ev>) {
    match *a {
        Attack::TravelAto {
            victim,
            day: ad,
            legit,
            at,
            city,
            host,
        } if ad == d => {
            let mut v = mk(plan, seed, d, i, victim, 0, out);
            let home = &plan.users[victim as usize];
            v.push(
                legit,
                ipv4(NetKind::Residential, home.home, home.home_host),
                v.laptop(),
                true,
                Kind::SignIn,
                LAPTOP,
            );
            let ip = ipv4(NetKind::Residential, city, host);
            let attacker = 0xa7_7ac0 ^ i as u64;
            for k in 0..v.rng.random_range(1..3) {
                v.push(
                    at - 60 * (k + 1),
                    ip,
                    Client::LinuxFirefox,
                    false,
                    Kind::SignIn,
                    attacker,
                );
            }
            v.push(at, ip, Client::LinuxFirefox, true, Kind::SignIn, attacker);
            for _ in 0..v.rng.random_range(1..3) {
                let t = at + v.rng.random_range(10 * 60..100 * 60);
                v.push(t, ip, Client::LinuxFirefox, true, Kind::SignIn, attacker);
            }
        }
        Attack::TorAto {
            victim,
            day: ad,
            at,
            city,
            host,
        } if ad == d => {
            let mut v = mk(plan, seed, d, i, victim, 1, out);
            let attacker = 0x70_7000 ^ i as u64;
            v.push(
                at,
                ipv4(NetKind::Tor, city, host),
                Client::TorBrowser,
                true,
                Kind::SignIn,
                attacker,
            );
            v.push(
                at + 900,
                ipv4(NetKind::Tor, city, host + 1),
                Client::TorBrowser,
                true,
                Kind::SignIn,
                attacker,
            );
        }
        Attack::Spray {
            day: ad,
            at,
            city,
            host,
            ref targets,
            success,
            ..
        } if ad == d => {
            let ip = ipv4(NetKind::Hosting, city, host);
            for &u in targets {
                let mut v = mk(plan, seed, d, i, u, 2, out);
                let t = at + v.rng.random_range(0..40 * 60);
                v.push(
                    t,
                    ip,
                    Client::PythonRequests,
                    false,
                    Kind::SignIn,
                    0x5b7a_0000 ^ i as u64,
                );
            }
            if let Some(u) = success {
                let mut v = mk(plan, seed, d, i, u, 3, out);
                v.push(
                    at + 45 * 60,
                    ip,
                    Client::PythonRequests,
                    true,
                    Kind::SignIn,
                    0x5b7a_0000 ^ i as u64,
                );
                v.push(
                    at + 50 * 60,
                    ip,
                    Client::LinuxFirefox,
                    true,
                    Kind::SignIn,
                    0x5b7a_0001 ^ i as u64,
                );
            }
        }
        Attack::Replay {
            victim,
            day: ad,
            legit,
            at,
            city,
            host,
        } if ad == d => {
            let mut v = mk(plan, seed, d, i, victim, 4, out);
            let home = &plan.users[victim as usize];
            let c = v.laptop();
            v.push(
                legit,
                ipv4(NetKind::Residential, home.home, home.home_host),
                c,
                true,
                Kind::SignIn,
                LAPTOP,
            );
            // The stolen session cookie, replayed: same session id, another country, another
            // browser, no new authentication.
            let session = v.session(LAPTOP);
            let seq = mix(seed ^ 0x4e91a7 ^ i as u64);
            out.push(Ev {
                t_ms: at * 1000 + 321,
                seq,
                user: victim,
                ip: ipv4(NetKind::Residential, city, host),
                client: Client::LinuxFirefox,
                ok: true,
                kind: Kind::Sso,
                device: 0,
                session,
                app: 1,
                mfa: false,
            });
        }
        _ => {}
    }
}
