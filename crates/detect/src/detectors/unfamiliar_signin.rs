//! unfamiliar_signin: a per-user statistical model of sign-in features, smoothed with the
//! population's frequencies, after Freeman et al., "Who Are You? A Statistical Approach to
//! Measuring User Authenticity" (NDSS 2016).
//!
//! Five features: country, ASN, user-agent family (OS × browser), app and local hour of day
//! (3-hour bins, in the roster's work time zone, else UTC); the country is left out for IPs
//! that hide the user's location (VPN, proxy, corporate egress, ...). For each, the risk is the ratio
//! of how likely the value is for an attacker to how likely it is for this user:
//!
//! ```text
//! p_pop(v)  = (c_pop(v) + 1) / (N + D + 1)                   population, Laplace-smoothed
//! p_user(v) = (c_user(v) + μ·p_pop(v)) / (n_user + μ)        user, backed off to population
//! p_att(v)  = (1 − β)·p_pop(v) + β / (D + 1)                 attacker: a random member of
//!                                                            the population, or any value
//! score     = Σ_features log10(p_att(v) / p_user(v))         (each term clamped to [−1, 3])
//! ```
//!
//! A feature the user has never shown scores about `log10((n_user + μ) / μ)`, more when the
//! value is rare in the population; a brand-new user is judged by population rarity alone (no
//! blind learning period). It alerts when the score reaches `threshold` and names the
//! unfamiliar features. Only successful sign-ins are scored and learned from.
//!
//! The population figures are the ones frozen at the start of the current population epoch
//! ([`crate::population`]), so that `scan` and a partitioned stream agree; population values
//! are keyed by what they are (country letters, ASN, family, a stable hash of the app name,
//! hour bin), the per-user tables by small local ids.
//!
//! Severity is not the score alone: a business trip changes the network (a hotel's ASN) and
//! the hours (jet lag, counted in the home time zone) and often the country, all at once,
//! and the likelihood ratio multiplies them as if they were independent evidence. So the
//! ASN and the hour are *context*, and so is a country that at least `common_share` of the
//! population's sign-ins come from; the *strong* features are a new user agent, a new app
//! and a new country that is rare in the population or on the high-risk list. An alert is
//! `low` (it says the unfamiliarity fits ordinary travel) unless it has two strong features,
//! or one with a recent hire or a high-risk country; those are medium or above.

use compact_str::CompactString;
use jetlag_event::{Alert, Country, NetClasses, Outcome, Severity, SignIn};
use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::Problems;
use crate::detector::{Context, Detector, StateKey, UserId};
use crate::detectors::{
    decode, default_high_risk_countries, default_recent_hire_days, encode, per_user,
};
use crate::population::Figures;
use crate::{Error, alert_id};

const NAME: &str = "unfamiliar_signin";

/// Distinct values remembered per user and feature (the least used is forgotten).
const K: usize = 3;

/// The features, in the order `State::features` returns them.
const FEATURES: [&str; 5] = ["country", "asn", "user_agent", "app", "hour"];

/// `[detect.unfamiliar_signin]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector. Default `true`.
    pub enabled: bool,
    /// Alert when the summed log10 likelihood ratio reaches this. Default 3.0: the sign-in
    /// is 1,000 times likelier from an attacker than from the user — in practice two or
    /// three features the user has never shown, or one very rare one.
    pub threshold: f64,
    /// μ, the weight of the population prior in the user model, in sign-ins. Default 2.0:
    /// after a handful of sign-ins the user's own history dominates (Freeman et al. smooth
    /// with the global distribution the same way).
    pub user_prior_weight: f64,
    /// β, the share of the attacker model spread evenly over all values seen. Default 0.3:
    /// attackers come from unusual places more often than the population does.
    pub attacker_uniform_share: f64,
    /// Successful sign-ins the population must have before anything alerts. Default 50:
    /// with fewer, every value looks rare.
    pub min_population: u32,
    /// A country at least this share of the population's sign-ins come from is an ordinary
    /// travel destination: new for the user, it is context, not a strong feature. Default
    /// 0.01 (1 %): the office countries and the usual business trips of an org.
    pub common_share: f64,
    /// Countries (ISO alpha-2) that, new for the user, make an alert medium or above.
    /// Default KP, CN, RU, IR, BY, SY, CU.
    pub high_risk_countries: Vec<Country>,
    /// Users hired fewer than this many days before the sign-in are recent hires: one
    /// strong feature makes their alert medium. Default 90.
    pub recent_hire_days: i64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            threshold: 3.0,
            user_prior_weight: 2.0,
            attacker_uniform_share: 0.3,
            min_population: 50,
            common_share: 0.01,
            high_risk_countries: default_high_risk_countries(),
            recent_hire_days: default_recent_hire_days(),
        }
    }
}

impl Config {
    pub(crate) fn validate(&self, p: &mut Problems<'_>) {
        p.positive("threshold", self.threshold);
        p.positive("user_prior_weight", self.user_prior_weight);
        p.in_range(
            "attacker_uniform_share",
            self.attacker_uniform_share,
            0.0,
            1.0,
        );
        p.in_range("common_share", self.common_share, 0.0, 1.0);
        p.in_range("recent_hire_days", self.recent_hire_days, 0, 3650);
    }
}

/// A user's top values of one feature with their counts (count 0 = empty slot).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Table {
    vals: [u16; K],
    counts: [u16; K],
}

impl Table {
    fn count(&self, v: u16) -> u32 {
        (0..K)
            .find(|&i| self.counts[i] > 0 && self.vals[i] == v)
            .map_or(0, |i| u32::from(self.counts[i]))
    }

    fn total(&self) -> u32 {
        self.counts.iter().map(|&c| u32::from(c)).sum()
    }

    fn learn(&mut self, v: u16) {
        if let Some(i) = (0..K).find(|&i| self.counts[i] > 0 && self.vals[i] == v) {
            if self.counts[i] == u16::MAX {
                // Halve everything: keeps proportions, forgets slowly.
                self.counts.iter_mut().for_each(|c| *c = (*c).div_ceil(2));
            }
            self.counts[i] += 1;
            return;
        }
        let i = (0..K).min_by_key(|&i| self.counts[i]).unwrap_or(0);
        self.vals[i] = v;
        self.counts[i] = 1;
    }
}

/// A user's five [`Table`]s in 40 bytes instead of 60: country, ASN and app values as
/// `u16`, user-agent family and hour bin as `u8`, counts as `u8`. Tables that do not fit
/// (a count above 255, after some 255 sign-ins with one value) live whole in
/// [`State::spilled`] instead, so packing never changes a figure.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Packed {
    /// Values of the country, ASN and app tables.
    wide: [[u16; K]; 3],
    /// Values of the user-agent and hour tables.
    narrow: [[u8; K]; 2],
    /// Counts of the five tables, in feature order.
    counts: [[u8; K]; 5],
    /// Whether the tables are in [`State::spilled`] (this one is then unused).
    spilled: bool,
}

/// Where each feature's values are in a [`Packed`]: `(wide?, row)`.
const LAYOUT: [(bool, usize); 5] = [(true, 0), (true, 1), (false, 0), (true, 2), (false, 1)];

impl Packed {
    fn unpack(&self) -> [Table; 5] {
        let mut t = [Table::default(); 5];
        for (f, table) in t.iter_mut().enumerate() {
            let (wide, row) = LAYOUT[f];
            for i in 0..K {
                table.vals[i] = if wide {
                    self.wide[row][i]
                } else {
                    u16::from(self.narrow[row][i])
                };
                table.counts[i] = u16::from(self.counts[f][i]);
            }
        }
        t
    }

    /// The packed form of `t`; `None` when a count or a narrow value exceeds a byte.
    fn pack(t: &[Table; 5]) -> Option<Packed> {
        let mut p = Packed::default();
        for (f, table) in t.iter().enumerate() {
            let (wide, row) = LAYOUT[f];
            for i in 0..K {
                if wide {
                    p.wide[row][i] = table.vals[i];
                } else {
                    p.narrow[row][i] = u8::try_from(table.vals[i]).ok()?;
                }
                p.counts[f][i] = u8::try_from(table.counts[i]).ok()?;
            }
        }
        Some(p)
    }
}

/// One feature's population counts (frozen at the start of the epoch), by value key.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Population {
    counts: FxHashMap<u64, u32>,
    total: u64,
    /// Values with a non-zero count.
    distinct: u32,
}

impl Population {
    fn count(&self, key: u64) -> u32 {
        self.counts.get(&key).copied().unwrap_or(0)
    }

    fn merge(&mut self, delta: &FxHashMap<u64, u32>) {
        for (k, n) in delta {
            let c = self.counts.entry(*k).or_insert(0);
            if *c == 0 && *n > 0 {
                self.distinct += 1;
            }
            *c = c.saturating_add(*n);
            self.total = self.total.saturating_add(u64::from(*n));
        }
    }
}

/// A feature value's population figures, found by a small dense index instead of hashing
/// its key: the value's count as of the epoch's start (copied from [`Population`] on
/// first use, `UNKNOWN` until then) and this engine's sign-ins with it since (moved to
/// [`State::pending`] when the population is taken or saved). Not saved.
#[derive(Debug, Clone, Copy)]
struct Cell {
    key: u64,
    pop: u32,
    pending: u32,
}

const UNKNOWN: u32 = u32::MAX;

impl Default for Cell {
    fn default() -> Cell {
        Cell {
            key: 0,
            pop: UNKNOWN,
            pending: 0,
        }
    }
}

/// The dense index of value `v` of feature `f`, `None` for a value that has none and
/// goes through the hash maps: a country not in two capital letters, and the shared last
/// id of ASNs or apps beyond 65,535 (several keys under one id).
fn dense(f: usize, v: u16) -> Option<usize> {
    match f {
        0 => {
            let [a, b] = v.to_be_bytes();
            (a.is_ascii_uppercase() && b.is_ascii_uppercase())
                .then(|| usize::from(a - b'A') * 26 + usize::from(b - b'A'))
        }
        1 | 3 => (v != u16::MAX).then_some(usize::from(v)),
        _ => Some(usize::from(v)),
    }
}

/// A stable 64-bit hash of an app name (FNV-1a): the same in every engine and version.
fn app_key(app: &str) -> u64 {
    app.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// Each user's tables, by [`UserId`].
    users: Vec<Packed>,
    /// The tables of users whose tables do not pack, by user id.
    spilled: FxHashMap<u32, [Table; 5]>,
    /// The population as of the start of the epoch.
    population: [Population; 5],
    /// This engine's contributions since the epoch began.
    pending: Figures,
    /// App name → (value id, population key) (beyond 65,535 apps, the rest share the last id).
    apps: FxHashMap<CompactString, (u16, u64)>,
    /// ASN → value id (beyond 65,535 ASNs, the rest share the last id).
    asns: FxHashMap<u32, u16>,
    /// Successful sign-ins in the population, as of the start of the epoch.
    events: u64,
    /// User-agent string hash → family: a handful of distinct strings cover most sign-ins,
    /// so each is parsed once. Not saved; cleared when it grows past 65,536 entries.
    #[serde(skip)]
    ua_cache: FxHashMap<u64, u32>,
    /// Per feature, by [`dense`] index.
    #[serde(skip)]
    cells: [Vec<Cell>; 5],
}

/// [`State`] as saved, `pending` with the cells' counts added (same layout).
#[derive(Serialize)]
struct SavedState<'a> {
    users: &'a Vec<Packed>,
    spilled: &'a FxHashMap<u32, [Table; 5]>,
    population: &'a [Population; 5],
    pending: &'a Figures,
    apps: &'a FxHashMap<CompactString, (u16, u64)>,
    asns: &'a FxHashMap<u32, u16>,
    events: u64,
}

/// The unfamiliar-sign-in detector.
#[derive(Debug)]
pub struct UnfamiliarSignin {
    config: Config,
    state: State,
    /// A product of likelihood ratios below this scores under `threshold` (see `observe`).
    floor: f64,
}

/// The largest product of likelihood ratios whose log10 is surely below `threshold`:
/// 10^threshold less a relative 1e-9 (a million times log10's and powf's error), 0 when
/// the threshold is not finite (then every sign-in takes the log10, as before).
fn floor_of(threshold: f64) -> f64 {
    let f = 10f64.powf(threshold) * (1.0 - 1e-9);
    if f.is_finite() { f } else { 0.0 }
}

impl UnfamiliarSignin {
    /// A detector with `config`.
    pub fn new(config: &Config) -> UnfamiliarSignin {
        UnfamiliarSignin {
            config: config.clone(),
            state: State::default(),
            floor: floor_of(config.threshold),
        }
    }
}

/// The user-agent family: OS × browser (or client), as a small number; 0 = none.
pub fn ua_family(ua: &str) -> u32 {
    let os = if ua.contains("Windows") {
        1
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        2
    } else if ua.contains("Android") {
        3
    } else if ua.contains("Macintosh") || ua.contains("Mac OS X") {
        4
    } else if ua.contains("CrOS") {
        5
    } else if ua.contains("Linux") {
        6
    } else {
        0
    };
    let lower_has = |needle: &str| {
        ua.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    let client = if ua.contains("Edg/") || ua.contains("EdgA/") || ua.contains("EdgiOS/") {
        1
    } else if ua.contains("OPR/") {
        2
    } else if ua.contains("Firefox/") || ua.contains("FxiOS/") {
        3
    } else if ua.contains("Chrome/") || ua.contains("CriOS/") {
        4
    } else if ua.contains("Safari/") {
        5
    } else if [
        "python",
        "curl",
        "go-http-client",
        "okhttp",
        "axios",
        "powershell",
        "wget",
        "java/",
    ]
    .iter()
    .any(|n| lower_has(n))
    {
        6
    } else if ["msal", "microsoft office", "outlook", "teams"]
        .iter()
        .any(|n| lower_has(n))
    {
        7
    } else {
        0
    };
    os * 16 + client + 1
}

/// A readable name of a [`ua_family`] value.
fn ua_family_name(v: u32) -> String {
    let v = v.saturating_sub(1);
    let os = [
        "other OS", "Windows", "iOS", "Android", "macOS", "ChromeOS", "Linux",
    ]
    .get((v / 16) as usize)
    .copied()
    .unwrap_or("other OS");
    let client = [
        "other client",
        "Edge",
        "Opera",
        "Firefox",
        "Chrome",
        "Safari",
        "a script",
        "an Office app",
    ]
    .get((v % 16) as usize)
    .copied()
    .unwrap_or("other client");
    format!("{client} on {os}")
}

impl State {
    /// The cell of value `v` (key `key`) of feature `f`, if it has a dense index.
    fn cell(&mut self, f: usize, v: u16, key: u64) -> Option<&mut Cell> {
        let i = dense(f, v)?;
        let cells = &mut self.cells[f];
        if i >= cells.len() {
            cells.resize(i + 1, Cell::default());
        }
        let c = &mut cells[i];
        c.key = key;
        Some(c)
    }

    /// Adds the cells' pending counts to `pending` (`into`), leaving the cells' at 0 if
    /// `clear`.
    fn add_cells(cells: &mut [Vec<Cell>; 5], into: &mut Figures, clear: bool) {
        for (cells, counts) in cells.iter_mut().zip(into.feature_counts.iter_mut()) {
            for c in cells.iter_mut().filter(|c| c.pending > 0) {
                let n = counts.entry(c.key).or_insert(0);
                *n = n.saturating_add(c.pending);
                if clear {
                    c.pending = 0;
                }
            }
        }
    }

    /// The tables of `user`.
    fn tables(&mut self, user: UserId) -> [Table; 5] {
        let p = per_user(&mut self.users, user);
        if p.spilled {
            self.spilled.get(&user.0).copied().unwrap_or_default()
        } else {
            p.unpack()
        }
    }

    /// Stores the tables of `user`.
    fn store(&mut self, user: UserId, tables: &[Table; 5]) {
        let p = per_user(&mut self.users, user);
        match Packed::pack(tables) {
            Some(packed) => {
                if p.spilled {
                    self.spilled.remove(&user.0);
                }
                *p = packed;
            }
            None => {
                *p = Packed {
                    spilled: true,
                    ..Packed::default()
                };
                self.spilled.insert(user.0, *tables);
            }
        }
    }

    /// The feature values of `ev`; `None` where the event does not say.
    /// Each value is a small id (u16) so that the per-user tables stay 12 bytes a feature:
    /// a country is its two letters, a user agent its family, an hour its 3-hour bin, an app
    /// or ASN its interned id. With them, each value's population key (`keys`): the id
    /// itself, except the ASN (its number) and the app (a stable hash of its name).
    fn features(
        &mut self,
        ev: &SignIn,
        ctx: &Context<'_>,
        keys: &mut [u64; 5],
    ) -> [Option<u16>; 5] {
        // A VPN / proxy / corporate exit's country says nothing about the user.
        let country = ev
            .geo
            .as_ref()
            .filter(|_| !ev.network.intersects(NetClasses::HIDES_LOCATION))
            .and_then(|g| g.country)
            .map(|c| c.as_str().bytes().fold(0u16, |a, b| a << 8 | u16::from(b)));
        let ua = ev.user_agent.as_deref().map(|ua| {
            let mut h = FxHasher::default();
            ua.hash(&mut h);
            let key = h.finish();
            if let Some(&f) = self.ua_cache.get(&key) {
                return f;
            }
            if self.ua_cache.len() >= 1 << 16 {
                self.ua_cache.clear();
            }
            let f = ua_family(ua);
            self.ua_cache.insert(key, f);
            f
        });
        let app = ev.app.as_deref().map(|app| match self.apps.get(app) {
            Some(&(id, key)) => {
                keys[3] = key;
                id
            }
            None => {
                let id = u16::try_from(self.apps.len()).unwrap_or(u16::MAX);
                keys[3] = app_key(app);
                self.apps.insert(CompactString::from(app), (id, keys[3]));
                id
            }
        });
        let asn = ev.asn.map(|asn| {
            keys[1] = u64::from(asn);
            let next = u16::try_from(self.asns.len()).unwrap_or(u16::MAX);
            *self.asns.entry(asn).or_insert(next)
        });
        let offset = ctx
            .employee
            .and_then(|e| e.work_timezone.as_ref())
            .map_or(0, |tz| i64::from(tz.to_offset(ev.time).seconds()));
        let hour = ((ev.time.as_second() + offset).rem_euclid(86_400) / 3600) as u16;
        let values = [country, asn, ua.map(|f| f as u16), app, Some(hour / 3)];
        for f in [0, 2, 4] {
            keys[f] = values[f].map_or(0, u64::from);
        }
        values
    }
}

/// One feature's contribution.
struct Term {
    /// The clamped likelihood ratio (not its log: one log10 per event, of the product).
    llr: f64,
    user_count: u32,
    user_total: u32,
    population_share: f64,
}

impl Detector for UnfamiliarSignin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn key(&self) -> StateKey {
        StateKey::User
    }

    fn prefetch(&self, user: UserId) {
        if let Some(packed) = self.state.users.get(user.index()) {
            jetlag_event::hint::prefetch(packed);
        }
    }

    fn observe(&mut self, ev: &SignIn, ctx: &Context<'_>, out: &mut Vec<Alert>) {
        if ev.outcome != Outcome::Success {
            return;
        }
        let mut keys = [0u64; 5];
        let values = self.state.features(ev, ctx, &mut keys);
        let (mu, beta) = (
            self.config.user_prior_weight,
            self.config.attacker_uniform_share,
        );
        let mut user = self.state.tables(ctx.user);
        let mut terms: [Option<Term>; 5] = Default::default();
        let mut product = 1.0f64;
        for f in 0..5 {
            let Some(v) = values[f] else { continue };
            let pop = &self.state.population[f];
            let c_pop = match dense(f, v) {
                Some(i) => {
                    let cells = &mut self.state.cells[f];
                    if i >= cells.len() {
                        cells.resize(i + 1, Cell::default());
                    }
                    let c = &mut cells[i];
                    if c.pop == UNKNOWN {
                        c.pop = pop.count(keys[f]);
                    }
                    c.pop
                }
                None => pop.count(keys[f]),
            };
            let d = f64::from(pop.distinct);
            let p_pop = (f64::from(c_pop) + 1.0) / (pop.total as f64 + d + 1.0);
            let p_att = (1.0 - beta) * p_pop + beta / (d + 1.0);
            let (c_user, n_user) = (user[f].count(v), user[f].total());
            let p_user = (f64::from(c_user) + mu * p_pop) / (f64::from(n_user) + mu);
            // Clamped to [0.1, 1000] (log10 in [-1, 3]); one log10 of the product below.
            let ratio = (p_att / p_user).clamp(0.1, 1000.0);
            product *= ratio;
            terms[f] = Some(Term {
                llr: ratio,
                user_count: c_user,
                user_total: n_user,
                population_share: f64::from(c_pop) / (pop.total.max(1) as f64),
            });
        }

        // The log10 only when the product may reach the threshold: below `floor` (10^threshold
        // less a relative 1e-9, far more than log10's error of an ulp or two) the score is
        // surely under it. Most sign-ins are familiar and stop here, and the score of those
        // that go on is the same log10 of the same product as always.
        let ready = self.state.events >= u64::from(self.config.min_population);
        if ready && product >= self.floor {
            let score = product.log10();
            if score >= self.config.threshold {
                let recent_hire = ctx.is_recent_hire(ev.time, self.config.recent_hire_days);
                self.alert(ev, &values, &terms, score, recent_hire, out);
            }
        }

        // Learn: the user at once, the population from the next epoch.
        for f in 0..5 {
            if let Some(v) = values[f] {
                user[f].learn(v);
                match self.state.cell(f, v, keys[f]) {
                    Some(c) => c.pending = c.pending.saturating_add(1),
                    None => {
                        let c = self.state.pending.feature_counts[f]
                            .entry(keys[f])
                            .or_insert(0);
                        *c = c.saturating_add(1);
                    }
                }
            }
        }
        self.state.pending.signins += 1;
        self.state.store(ctx.user, &user);
    }

    fn uses_population(&self) -> bool {
        true
    }

    fn take_population(&mut self, into: &mut Figures) {
        State::add_cells(&mut self.state.cells, &mut self.state.pending, true);
        let p = std::mem::take(&mut self.state.pending);
        for (mine, theirs) in into.feature_counts.iter_mut().zip(p.feature_counts) {
            if mine.is_empty() {
                *mine = theirs;
                continue;
            }
            for (k, n) in theirs {
                let c = mine.entry(k).or_insert(0);
                *c = c.saturating_add(n);
            }
        }
        into.signins = into.signins.saturating_add(p.signins);
    }

    fn merge_population(&mut self, delta: &Figures) {
        for (pop, d) in self.state.population.iter_mut().zip(&delta.feature_counts) {
            pop.merge(d);
        }
        // The cached counts are the old epoch's.
        for c in self.state.cells.iter_mut().flatten() {
            c.pop = UNKNOWN;
        }
        self.state.events = self.state.events.saturating_add(delta.signins);
    }

    fn save_state(&self) -> Result<Vec<u8>, Error> {
        let st = &self.state;
        let mut pending = st.pending.clone();
        let mut cells = st.cells.clone();
        State::add_cells(&mut cells, &mut pending, false);
        encode(
            NAME,
            &SavedState {
                users: &st.users,
                spilled: &st.spilled,
                population: &st.population,
                pending: &pending,
                apps: &st.apps,
                asns: &st.asns,
                events: st.events,
            },
        )
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.state = decode(NAME, bytes)?;
        Ok(())
    }
}

impl UnfamiliarSignin {
    fn alert(
        &self,
        ev: &SignIn,
        values: &[Option<u16>; 5],
        terms: &[Option<Term>; 5],
        score: f64,
        recent_hire: bool,
        out: &mut Vec<Alert>,
    ) {
        let country = ev.geo.as_ref().and_then(|g| g.country);
        let shown = |f: usize, v: u16| -> String {
            let v = u32::from(v);
            match f {
                0 => ev
                    .geo
                    .as_ref()
                    .and_then(|g| g.country)
                    .map_or_else(String::new, |c| c.to_string()),
                1 => {
                    let asn = ev.asn.unwrap_or_default();
                    match &ev.as_org {
                        Some(org) => format!("AS{asn} ({org})"),
                        None => format!("AS{asn}"),
                    }
                }
                2 => ua_family_name(v),
                3 => ev.app.as_deref().unwrap_or_default().to_string(),
                _ => format!("{:02}:00–{:02}:00", v * 3, v * 3 + 3),
            }
        };
        let mut unfamiliar = Vec::new();
        let mut strong = Vec::new();
        let mut high_risk = false;
        let mut features = Map::new();
        for f in 0..5 {
            let (Some(v), Some(t)) = (values[f], &terms[f]) else {
                continue;
            };
            let llr = t.llr.log10();
            let value = shown(f, v);
            if t.user_count == 0 && llr >= 0.5 {
                let named = format!("{} {value}", FEATURES[f].replace('_', "-"));
                let is_strong = match f {
                    0 => {
                        high_risk =
                            country.is_some_and(|c| self.config.high_risk_countries.contains(&c));
                        high_risk || t.population_share < self.config.common_share
                    }
                    2 | 3 => true,
                    _ => false, // the ASN and the hour change with any trip
                };
                if is_strong {
                    strong.push(named.clone());
                }
                unfamiliar.push(named);
            }
            features.insert(
                FEATURES[f].to_string(),
                json!({
                    "value": value,
                    "user_count": t.user_count,
                    "user_total": t.user_total,
                    "population_share": (t.population_share * 1e4).round() / 1e4,
                    "log10_lr": (llr * 100.0).round() / 100.0,
                }),
            );
        }
        let escalate = strong.len() >= 2 || (!strong.is_empty() && (recent_hire || high_risk));
        let raw = (20.0 + 10.0 * score).round();
        let score_0_100 = if escalate {
            let bonus = if recent_hire { 5.0 } else { 0.0 } + if high_risk { 10.0 } else { 0.0 };
            (raw.max(40.0) + bonus).clamp(0.0, 84.0) as u8
        } else {
            raw.clamp(0.0, 39.0) as u8
        };
        let mut summary = format!(
            "{} signed in with {} never seen for this user (about {} times likelier an attacker than the user)",
            ev.user,
            if unfamiliar.is_empty() {
                "a combination".to_string()
            } else {
                unfamiliar.join(", ")
            },
            crate::detectors::thousands(10f64.powf(score.min(12.0)))
        );
        if strong.is_empty() {
            summary.push_str(
                "; a new network, new hours and a country colleagues use fit ordinary travel",
            );
        } else if !escalate {
            summary.push_str(&format!(
                "; only {} is strongly unfamiliar, the rest fits ordinary travel",
                strong[0]
            ));
        }
        if high_risk {
            summary.push_str("; a high-risk country");
        }
        if recent_hire {
            summary.push_str("; the user is a recent hire");
        }
        summary.push_str(": confirm with the user that it was them.");
        out.push(Alert {
            alert_id: alert_id(NAME, [ev.event_id.as_str()]),
            detector: NAME.to_string(),
            severity: Severity::from_score(score_0_100),
            score: score_0_100,
            user: Some(ev.user.as_str().to_owned()),
            users: vec![ev.user.as_str().to_owned()],
            time: ev.time,
            event_ids: vec![ev.event_id.as_str().to_owned()],
            summary,
            evidence: json!({
                "log10_likelihood_ratio": (score * 100.0).round() / 100.0,
                "threshold": self.config.threshold,
                "unfamiliar": unfamiliar,
                "strong": strong,
                "high_risk_country": high_risk,
                "recent_hire": recent_hire,
                "features": Value::Object(features),
            }),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packing loses nothing: tables that fit come back exactly, the others spill whole
    /// and come back exactly, and a user whose counts fall back into a byte packs again.
    #[test]
    fn tables_pack_or_spill_losslessly() {
        let mut state = State::default();
        let (a, b) = (UserId(3), UserId(0));
        let mut model = [Table::default(); 5];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..5_000u32 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let f = (seed % 5) as usize;
            // Few values, so counts pass 255; large ones only where a u16 is kept.
            let v = if LAYOUT[f].0 {
                (seed >> 8) as u16 % 4 * 20_000
            } else {
                (seed >> 8) as u16 % 4
            };
            model[f].learn(v);
            let mut t = state.tables(a);
            t[f].learn(v);
            state.store(a, &t);
            let back = state.tables(a);
            for g in 0..5 {
                assert_eq!(back[g].vals, model[g].vals, "round {round}");
                assert_eq!(back[g].counts, model[g].counts, "round {round}");
            }
        }
        assert!(state.users[3].spilled && state.spilled.len() == 1);
        assert!(state.tables(b).iter().all(|t| t.total() == 0));
        state.store(a, &[Table::default(); 5]);
        assert!(!state.users[3].spilled && state.spilled.is_empty());
        let mut wide = [Table::default(); 5];
        wide[2].learn(300); // a user-agent value beyond a byte also spills
        assert!(Packed::pack(&wide).is_none());
        assert_eq!(std::mem::size_of::<Packed>(), 40);
    }
}
