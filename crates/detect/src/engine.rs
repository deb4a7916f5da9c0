//! The engine: runs every enabled detector over a time-ordered stream of sign-ins.
//!
//! It interns users (dense [`UserId`]s, so per-user detectors index a `Vec` instead of
//! hashing strings), looks each user's roster entry up once per event, drops events it has
//! just seen (redelivery), and saves / restores all detector state as one snapshot.

use std::cmp::Ordering;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use compact_str::CompactString;
use hashbrown::HashTable;
use jetlag_event::{Alert, Geo, SignIn, Source, Timestamp};
use jetlag_roster::Roster;
use rustc_hash::{FxBuildHasher, FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};

use crate::detector::{Context, Detector, Names, StateKey, UserId};
use crate::population::{Clock, Figures, epoch_of};
use crate::{DetectConfig, Error, detectors};

/// Version of the snapshot format written by [`Engine::snapshot`].
const SNAPSHOT_VERSION: u32 = 6;

/// Slots of the redelivery filter (a power of two, at most 2^17: see `Recent::remember`).
const RECENT_EVENTS: usize = 1 << 17;

/// Which detectors an engine runs, for deployments that split the work (Kafka): per-user
/// detectors can be partitioned by user, cross-identity ones (keyed by IP or device) by
/// their key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stages {
    /// Run the detectors whose state is keyed by user ([`StateKey::User`]).
    pub per_user: bool,
    /// Run the detectors whose state is keyed by IP or device ([`StateKey::Ip`],
    /// [`StateKey::Device`]).
    pub cross_identity: bool,
}

impl Stages {
    /// Every detector.
    pub const ALL: Stages = Stages {
        per_user: true,
        cross_identity: true,
    };

    fn runs(self, key: StateKey) -> bool {
        match key {
            StateKey::User => self.per_user,
            StateKey::Ip | StateKey::Device => self.cross_identity,
        }
    }
}

impl Default for Stages {
    fn default() -> Stages {
        Stages::ALL
    }
}

/// Users interned to dense ids. The names are stored once, in `names`; the hash table
/// holds only each user's 4-byte id (hashed by the name, compared by the name: exact, and
/// 5 bytes a bucket instead of 17 for a map of 64-bit name hashes to ids and checks).
#[derive(Debug, Default)]
struct Users {
    ids: HashTable<u32>,
    names: Vec<CompactString>,
}

fn name_hash(name: &str) -> u64 {
    FxBuildHasher.hash_one(name)
}

impl Users {
    fn intern(&mut self, user: &str) -> UserId {
        let h = name_hash(user);
        match self.find(user, h) {
            Some(id) => id,
            None => self.insert(user, h),
        }
    }

    /// The id of `user` (whose [`name_hash`] is `h`), if interned.
    fn find(&self, user: &str, h: u64) -> Option<UserId> {
        let names = &self.names;
        self.ids
            .find(h, |&id| names.get(id as usize).is_some_and(|n| n == user))
            .map(|&id| UserId(id))
    }

    /// Interns `user` (whose [`name_hash`] is `h`), known not to be interned yet.
    fn insert(&mut self, user: &str, h: u64) -> UserId {
        let id = self.push(user);
        let names = &self.names;
        self.ids.insert_unique(h, id.0, |&i| {
            name_hash(names.get(i as usize).map_or("", CompactString::as_str))
        });
        id
    }

    fn push(&mut self, user: &str) -> UserId {
        // More than 4 billion users cannot happen in one process; saturate rather than panic.
        let id = UserId(u32::try_from(self.names.len()).unwrap_or(u32::MAX));
        if self.names.len() == self.names.capacity() {
            // A quarter more rather than double, like the per-user tables.
            self.names.reserve_exact(self.names.len() / 4 + 16);
        }
        self.names.push(CompactString::from(user));
        id
    }
}

/// Recently seen events, to drop redelivered duplicates in a stream: a direct-mapped table
/// of event keys (a hash of `event_id` and time). A new event evicts whatever shared its
/// slot, so the filter remembers roughly the last [`RECENT_EVENTS`] events at the cost of
/// one memory access per event; a false "seen" needs a 64-bit hash collision.
#[derive(Debug)]
struct Recent {
    slots: Box<[u64]>,
}

impl Default for Recent {
    fn default() -> Recent {
        Recent {
            slots: vec![0; RECENT_EVENTS].into_boxed_slice(),
        }
    }
}

impl Recent {
    /// The event's key.
    fn key(ev: &SignIn) -> u64 {
        Recent::key_of(&ev.event_id, ev.time, &ev.user)
    }

    /// The key of the event with `event_id` and `time` of `user`: a vendor's id is unique
    /// only within its own log (see [`order`]), so two users' events may share one.
    fn key_of(event_id: &str, time: Timestamp, user: &str) -> u64 {
        let mut h = FxHasher::default();
        event_id.hash(&mut h);
        time.as_second().hash(&mut h);
        time.subsec_nanosecond().hash(&mut h);
        user.hash(&mut h);
        h.finish().max(1) // 0 marks an empty slot
    }

    /// The slot of a key.
    fn slot(key: u64) -> usize {
        // The high bits pick the slot (FxHash's low bits are the weakest).
        (key >> 47) as usize & (RECENT_EVENTS - 1)
    }

    /// Asks the CPU to fetch the slot of `key` (see [`Recent::remember`]).
    fn prefetch(&self, key: u64) {
        if let Some(slot) = self.slots.get(Recent::slot(key)) {
            jetlag_event::hint::prefetch(slot);
        }
    }

    /// Remembers a key; `false` if it was already remembered.
    fn remember(&mut self, key: u64) -> bool {
        let key = key.max(1); // 0 marks an empty slot
        let slot = &mut self.slots[Recent::slot(key)];
        if *slot == key {
            return false;
        }
        *slot = key;
        true
    }
}

/// The detection engine: every enabled detector, their state, and the interned users.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use jetlag_detect::{DetectConfig, Engine};
/// use jetlag_event::{Outcome, SignIn, Source};
/// use jetlag_roster::Roster;
///
/// let mut engine = Engine::new(&DetectConfig::default(), Arc::new(Roster::empty()));
/// let ev = SignIn::new("e1", "2025-03-01T12:00:00Z".parse().unwrap(), Source::Csv,
///                      "alice@example.com", Outcome::Success);
/// let mut alerts = Vec::new();
/// engine.observe(&ev, &mut alerts);
/// engine.finish(&mut alerts);
/// assert!(alerts.is_empty());
/// ```
pub struct Engine {
    roster: Arc<Roster>,
    detectors: Vec<Box<dyn Detector>>,
    users: Users,
    /// The redelivery filter; `None` once [`Engine::without_redelivery_filter`] turned it off.
    recent: Option<Recent>,
    /// The population epochs, when a detector reads population figures.
    population: Option<Clock>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.detector_names().collect::<Vec<_>>())
            .field("users", &self.users.names.len())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Snapshot<'a> {
    version: u32,
    #[serde(borrow)]
    users: Vec<&'a str>,
    #[serde(borrow)]
    detectors: Vec<(&'a str, &'a [u8])>,
    /// Keys of the recent events (redelivery after a restart is dropped too).
    recent: Vec<u64>,
    /// The population epochs (see [`crate::population`]).
    population: Option<Clock>,
}

impl Engine {
    /// An engine running every detector enabled in `config`.
    ///
    /// The config is assumed valid ([`DetectConfig::validate`] empty); out-of-range values
    /// are clamped by the detectors, never a panic.
    pub fn new(config: &DetectConfig, roster: Arc<Roster>) -> Engine {
        Engine::with_stages(config, roster, Stages::ALL)
    }

    /// An engine running only the enabled detectors of the given stages.
    pub fn with_stages(config: &DetectConfig, roster: Arc<Roster>, stages: Stages) -> Engine {
        let detectors: Vec<Box<dyn Detector>> = detectors::build(config)
            .into_iter()
            .filter(|d| stages.runs(d.key()))
            .collect();
        let population = detectors
            .iter()
            .any(|d| d.uses_population())
            .then(|| Clock::new(config.population.epoch_seconds()));
        Engine {
            roster,
            detectors,
            users: Users::default(),
            recent: Some(Recent::default()),
            population,
        }
    }

    /// This engine without its redelivery filter, for a caller that never hands it the same
    /// event twice and keeps no state for a later run: a batch scan without `--state`, whose
    /// batch [`order`] already keeps each event once. Each event then costs a hash of
    /// its id and a memory access less; the alerts of such input are the same. A
    /// [`snapshot`](Engine::snapshot) of it remembers no recent events, so an event it saw
    /// would not be dropped as a redelivery by an engine restored from it.
    #[must_use]
    pub fn without_redelivery_filter(mut self) -> Engine {
        self.recent = None;
        self
    }

    /// Whether a detector of this engine reads population figures (and so epochs matter).
    pub fn uses_population(&self) -> bool {
        self.population.is_some()
    }

    /// The population epoch length in seconds (see [`crate::population`]).
    pub fn population_epoch_s(&self) -> Option<i64> {
        self.population.as_ref().map(|c| c.epoch_s)
    }

    /// Switches the engine to a *shared* population (one of several engines over
    /// partitions of the users, Kafka): when an epoch ends it no longer merges its own
    /// contributions but seals them for [`Engine::take_sealed_population`], and merges
    /// instead what [`Engine::receive_population`] gave it — every engine's contributions,
    /// its own included. The caller must only let events of epoch *e* through once it has
    /// received every engine's contributions of the epochs before *e*.
    pub fn share_population(&mut self) {
        if let Some(c) = &mut self.population {
            c.shared = true;
        }
    }

    /// Shared population: every event before epoch `before` has been observed; seals the
    /// contributions so far (they are then in [`Engine::take_sealed_population`]).
    pub fn close_population(&mut self, before: i64) {
        let Some(c) = &mut self.population else {
            return;
        };
        if !c.shared || before <= c.closed {
            return;
        }
        // Contributions of the current epoch wait for it to end (an event of a later one).
        if c.current < before {
            let tag = c.current.max(c.closed);
            let mut delta = Figures::default();
            for d in &mut self.detectors {
                d.take_population(&mut delta);
            }
            if !delta.is_empty() {
                c.outbox.push((tag, delta));
            }
            c.closed = before;
        }
    }

    /// Shared population: the sealed contributions of this engine, by epoch, since the
    /// last call.
    pub fn take_sealed_population(&mut self) -> Vec<(i64, Figures)> {
        self.population
            .as_mut()
            .map(|c| std::mem::take(&mut c.outbox))
            .unwrap_or_default()
    }

    /// Shared population: one engine's contributions of `epoch`, merged into the frozen
    /// figures when an event of a later epoch arrives.
    pub fn receive_population(&mut self, epoch: i64, delta: &Figures) {
        if let Some(c) = &mut self.population {
            c.inbox.entry(epoch).or_default().add(delta);
        }
    }

    /// A new epoch begins (an event of epoch `e` arrives).
    #[cold]
    fn next_epoch(&mut self, e: i64) {
        let Some(c) = &mut self.population else {
            return;
        };
        let mut delta = Figures::default();
        for d in &mut self.detectors {
            d.take_population(&mut delta);
        }
        if c.shared {
            if !delta.is_empty() {
                c.outbox.push((c.current.max(c.closed), delta));
            }
            // Everything received of the epochs before `e`, one merge.
            let later = c.inbox.split_off(&e);
            let mut due = Figures::default();
            for f in std::mem::replace(&mut c.inbox, later).values() {
                due.add(f);
            }
            delta = due;
        }
        if !delta.is_empty() {
            for d in &mut self.detectors {
                d.merge_population(&delta);
            }
        }
        c.current = e;
    }

    /// The names of the detectors this engine runs, in registration order.
    pub fn detector_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.detectors.iter().map(|d| d.name())
    }

    /// Asks the CPU for what an [`observe_as`](Engine::observe_as) of the event with
    /// `event_id` and `time` of `user` a few events later will read first: its slot in the
    /// redelivery filter and that user's state in every detector (nothing for a user the
    /// engine has not met yet). The cache misses of several events then overlap.
    pub fn prefetch(&self, event_id: &str, time: Timestamp, user: Option<UserId>) {
        if let Some(user) = user {
            if let (Some(recent), Some(name)) = (&self.recent, self.users.names.get(user.index())) {
                recent.prefetch(Recent::key_of(event_id, time, name));
            }
            for d in &self.detectors {
                d.prefetch(user);
            }
        }
    }

    /// Number of distinct users seen.
    pub fn user_count(&self) -> usize {
        self.users.names.len()
    }

    /// Observes one sign-in, pushing the alerts it triggers onto `out`.
    ///
    /// Events should arrive in non-decreasing `(time, event_id)` order ([`order`] sorts a
    /// batch). An event seen again (same `event_id` and time) among roughly the last 100,000
    /// is ignored, so a redelivered event never alerts twice.
    pub fn observe(&mut self, ev: &SignIn, out: &mut Vec<Alert>) {
        self.observe_as(ev, &mut None, out);
    }

    /// [`observe`](Engine::observe) for a caller that remembers the [`UserId`] this engine
    /// gave `ev.user` (a batch that interned its users itself): given `Some`, the engine
    /// skips its own lookup of the name; given `None`, it sets `user` to the id once it
    /// knows it. The result is exactly `observe`'s.
    ///
    /// `user` must be `None` or what this engine set it to for the same name.
    pub fn observe_as(&mut self, ev: &SignIn, user: &mut Option<UserId>, out: &mut Vec<Alert>) {
        // The redelivery filter, the user table and each detector's per-user state are
        // cache misses of their own: ask for them all before waiting on any (the user
        // table is only read until the event is known to be new).
        let key = self.recent.as_ref().map(|recent| {
            let key = Recent::key(ev);
            recent.prefetch(key);
            key
        });
        let (known, h) = match *user {
            Some(id) => {
                debug_assert_eq!(
                    self.users.names.get(id.index()).map(CompactString::as_str),
                    Some(ev.user.as_str()),
                    "observe_as: a UserId of another name"
                );
                (Some(id), 0)
            }
            None => {
                let h = name_hash(&ev.user);
                (self.users.find(&ev.user, h), h)
            }
        };
        if let Some(id) = known {
            *user = Some(id);
            for d in &self.detectors {
                d.prefetch(id);
            }
        }
        if let (Some(recent), Some(key)) = (&mut self.recent, key)
            && !recent.remember(key)
        {
            return;
        }
        if let Some(c) = &self.population {
            let e = epoch_of(ev.time.as_second(), c.epoch_s);
            if e > c.current {
                self.next_epoch(e);
            }
        }
        let user = match known {
            Some(id) => id,
            None => *user.insert(self.users.insert(&ev.user, h)),
        };
        let employee = if self.roster.is_empty() {
            None
        } else {
            self.roster.get(&ev.user)
        };
        let compact_id = std::cell::OnceCell::new();
        let ctx = Context {
            roster: &self.roster,
            user,
            employee,
            names: &self.users.names,
            event_id: (&ev.event_id, &compact_id),
        };
        for d in &mut self.detectors {
            d.observe(ev, &ctx, out);
        }
    }

    /// The end of a batch: pushes alerts detectors still hold.
    pub fn finish(&mut self, out: &mut Vec<Alert>) {
        for d in &mut self.detectors {
            d.finish(&self.roster, Names(&self.users.names), out);
        }
    }

    /// Encodes the state of every detector and the interned users (for `--state`, the
    /// server and stream checkpoints). Restore it with [`Engine::restore`].
    ///
    /// # Errors
    /// [`Error::Encode`] if a detector's state cannot be encoded.
    pub fn snapshot(&self) -> Result<Vec<u8>, Error> {
        let states = self
            .detectors
            .iter()
            .map(|d| Ok((d.name(), d.save_state()?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let snap = Snapshot {
            version: SNAPSHOT_VERSION,
            users: self.users.names.iter().map(|n| n.as_str()).collect(),
            detectors: states.iter().map(|(n, s)| (*n, s.as_slice())).collect(),
            recent: self.recent.as_ref().map_or_else(Vec::new, |r| {
                r.slots.iter().copied().filter(|&k| k != 0).collect()
            }),
            population: self.population.clone(),
        };
        postcard::to_stdvec(&snap).map_err(|e| Error::encode("engine", e))
    }

    /// An engine for `config` whose state is the one `bytes` (from [`Engine::snapshot`])
    /// holds. Detectors enabled now but absent from the snapshot start empty; state of
    /// detectors no longer enabled is dropped.
    ///
    /// # Errors
    /// [`Error::Version`], [`Error::Decode`] or [`Error::Inconsistent`] when `bytes` is not
    /// a snapshot this version of jetlag wrote.
    pub fn restore(
        config: &DetectConfig,
        roster: Arc<Roster>,
        bytes: &[u8],
    ) -> Result<Engine, Error> {
        Engine::restore_with_stages(config, roster, Stages::ALL, bytes)
    }

    /// [`Engine::restore`] for an engine running only some [`Stages`].
    ///
    /// # Errors
    /// As [`Engine::restore`].
    pub fn restore_with_stages(
        config: &DetectConfig,
        roster: Arc<Roster>,
        stages: Stages,
        bytes: &[u8],
    ) -> Result<Engine, Error> {
        // The version comes first: check it before trusting the rest of the layout.
        let (version, _) =
            postcard::take_from_bytes::<u32>(bytes).map_err(|e| Error::decode("engine", e))?;
        if version != SNAPSHOT_VERSION {
            return Err(Error::Version {
                found: version,
                expected: SNAPSHOT_VERSION,
            });
        }
        let snap: Snapshot<'_> =
            postcard::from_bytes(bytes).map_err(|e| Error::decode("engine", e))?;
        let mut engine = Engine::with_stages(config, roster, stages);
        for name in snap.users {
            let before = engine.users.names.len();
            engine.users.intern(name);
            if engine.users.names.len() == before {
                return Err(Error::Inconsistent {
                    detector: "engine",
                    reason: format!("user '{name}' appears twice"),
                });
            }
        }
        if let Some(recent) = &mut engine.recent {
            for key in snap.recent {
                recent.remember(key);
            }
        }
        if let (Some(now), Some(mut saved)) = (&engine.population, snap.population) {
            if saved.epoch_s != now.epoch_s {
                // Another epoch length: the frozen figures stay, the next event starts an
                // epoch of the new length.
                saved.epoch_s = now.epoch_s;
                saved.current = i64::MIN;
            }
            engine.population = Some(saved);
        }
        for d in &mut engine.detectors {
            if let Some((_, state)) = snap.detectors.iter().find(|(n, _)| *n == d.name()) {
                d.load_state(state)?;
            }
        }
        Ok(engine)
    }
}

/// Puts a batch in the order the engine expects: by `(time, event_id)`, then by user, source
/// and tenant, each event once. Results then do not depend on the input order.
///
/// **The same event** is the same `event_id` of the same user from the same source and
/// tenant ([`same_event`]): a vendor's id is unique only within its own log, so two CSV
/// exports numbering their rows 1, 2, … or two AWS accounts' trails hold different sign-ins
/// under one id. Of the copies of one event the earliest is kept, and among copies of one
/// time the least by their whole content ([`cmp_copies`]), so which one survives never
/// depends on which came first.
///
/// # Example
/// ```
/// use jetlag_event::{Outcome, SignIn, Source};
/// let ev = |id: &str, t: &str, user: &str| {
///     SignIn::new(id, t.parse().unwrap(), Source::Csv, user, Outcome::Success)
/// };
/// let mut batch = vec![ev("b", "2025-01-01T00:00:02Z", "amy"), ev("a", "2025-01-01T00:00:01Z", "amy"),
///                      ev("b", "2025-01-01T00:00:02Z", "amy"), ev("b", "2025-01-01T00:00:02Z", "kim")];
/// jetlag_detect::order(&mut batch);
/// let ids: Vec<(&str, &str)> = batch.iter().map(|e| (e.event_id.as_str(), e.user.as_str())).collect();
/// assert_eq!(ids, [("a", "amy"), ("b", "amy"), ("b", "kim")]);
/// ```
pub fn order(events: &mut Vec<SignIn>) {
    let n = events.len();
    let Ok(n32) = u32::try_from(n) else {
        // More than 4 billion events in one batch cannot be held in memory anyway.
        return order_by_sorting(events);
    };
    // Works on indices (one hash lookup per event, then a sort of 16-byte keys and one
    // in-place permutation) rather than sorting the events themselves.
    let mut first: FxHashMap<Identity<'_>, u32> = FxHashMap::default();
    first.reserve(n);
    for (i, e) in (0..n32).zip(events.iter()) {
        first
            .entry(identity(e))
            .and_modify(|j| {
                if cmp_copies(e, &events[*j as usize]).is_lt() {
                    *j = i;
                }
            })
            .or_insert(i);
    }
    let mut keep: Vec<(Timestamp, u32)> = first
        .into_values()
        .map(|i| (events[i as usize].time, i))
        .collect();
    keep.sort_unstable_by(|(ta, a), (tb, b)| {
        ta.cmp(tb)
            .then_with(|| identity(&events[*a as usize]).cmp(&identity(&events[*b as usize])))
    });
    // The permutation: position k takes the event at perm[k]; the dropped ones go last.
    let kept = keep.len();
    let mut perm: Vec<u32> = Vec::with_capacity(n);
    let mut taken = vec![false; n];
    for &(_, i) in &keep {
        perm.push(i);
        taken[i as usize] = true;
    }
    drop(keep);
    perm.extend((0..n32).filter(|&i| !taken[i as usize]));
    drop(taken);
    // Apply it in place, cycle by cycle; a done position is marked by perm[k] == k.
    for start in 0..n {
        let mut k = start;
        loop {
            let next = perm[k] as usize;
            perm[k] = k as u32;
            if next == start || next == k {
                break;
            }
            events.swap(k, next);
            k = next;
        }
    }
    events.truncate(kept);
}

/// What makes an event itself, in the order [`order`] sorts events of one time by:
/// `event_id`, user, source, tenant.
type Identity<'a> = (&'a str, &'a str, Source, Option<&'a str>);

fn identity(e: &SignIn) -> Identity<'_> {
    (
        e.event_id.as_str(),
        e.user.as_str(),
        e.source,
        e.tenant.as_deref(),
    )
}

/// Whether `a` and `b` are copies of one event: the same `event_id` of the same user, from
/// the same source and tenant (see [`order`]).
pub fn same_event(a: &SignIn, b: &SignIn) -> bool {
    identity(a) == identity(b)
}

/// The order of two copies of one event ([`same_event`]) that decides which one [`order`]
/// keeps (the least): the earlier, then by every other field, so the choice never depends
/// on the input order. `Equal` only for copies equal in every field.
pub fn cmp_copies(a: &SignIn, b: &SignIn) -> Ordering {
    fn opt_f64(a: Option<f64>, b: Option<f64>) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            _ => a.is_some().cmp(&b.is_some()),
        }
    }
    fn geo(a: &Geo, b: &Geo) -> Ordering {
        opt_f64(a.lat, b.lat)
            .then_with(|| opt_f64(a.lon, b.lon))
            .then_with(|| opt_f64(a.radius_km, b.radius_km))
            .then_with(|| a.country.cmp(&b.country))
            .then_with(|| a.region.cmp(&b.region))
            .then_with(|| a.city.cmp(&b.city))
            .then_with(|| (a.source as u8).cmp(&(b.source as u8)))
    }
    a.time
        .cmp(&b.time)
        .then_with(|| identity(a).cmp(&identity(b)))
        .then_with(|| a.ip.cmp(&b.ip))
        .then_with(|| (a.outcome as u8).cmp(&(b.outcome as u8)))
        .then_with(|| match (&a.geo, &b.geo) {
            (Some(x), Some(y)) => geo(x, y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        })
        .then_with(|| a.asn.cmp(&b.asn))
        .then_with(|| a.as_org.cmp(&b.as_org))
        .then_with(|| a.network.bits().cmp(&b.network.bits()))
        .then_with(|| a.app.cmp(&b.app))
        .then_with(|| a.user_agent.cmp(&b.user_agent))
        .then_with(|| a.device_id.cmp(&b.device_id))
        .then_with(|| a.session_id.cmp(&b.session_id))
        .then_with(|| a.mfa.cmp(&b.mfa))
}

/// [`order`] by sorting the events themselves (batches too large for `u32` indices).
#[cold]
fn order_by_sorting(events: &mut Vec<SignIn>) {
    // Copies of one event next to each other, the one to keep first.
    events.sort_by(|a, b| identity(a).cmp(&identity(b)).then_with(|| cmp_copies(a, b)));
    events.dedup_by(|later, first| same_event(later, first));
    events.sort_unstable_by(|a, b| (a.time, identity(a)).cmp(&(b.time, identity(b))));
}

#[cfg(test)]
mod tests {
    use jetlag_event::{Outcome, SignIn, Source};

    /// Users get dense ids in order of arrival and the same id every time, across the
    /// table's growth; names that differ only in case or a byte are different users.
    #[test]
    fn users_intern_to_dense_stable_ids() {
        let mut users = super::Users::default();
        let name = |i: u32| format!("user{i}@example.com");
        for i in 0..20_000 {
            assert_eq!(users.intern(&name(i)).0, i);
        }
        for i in (0..20_000).rev() {
            assert_eq!(users.intern(&name(i)).0, i);
        }
        assert_eq!(users.intern("USER1@example.com").0, 20_000);
        assert_eq!(users.intern("user1@example.co").0, 20_001);
        assert_eq!(users.intern("").0, 20_002);
        assert_eq!(users.intern("user1@example.com").0, 1);
        assert_eq!(users.names.len(), 20_003);
    }

    /// `Detector::prefetch` is only a hint: for known users, unknown ones and ids past any
    /// table it changes no detector's state (nor grows a table), before and after events.
    #[test]
    fn prefetch_changes_no_state() {
        use std::sync::Arc;

        use crate::{DetectConfig, UserId};

        let mut engine = super::Engine::new(
            &DetectConfig::default(),
            Arc::new(jetlag_roster::Roster::empty()),
        );
        let ids = [UserId(0), UserId(1), UserId(2), UserId(u32::MAX)];
        let empty = engine.snapshot().unwrap();
        for d in &engine.detectors {
            ids.iter().for_each(|&u| d.prefetch(u));
        }
        assert_eq!(engine.snapshot().unwrap(), empty);
        let mut alerts = Vec::new();
        for (i, (user, ip)) in [
            ("a", [81, 2, 69, 160]),
            ("b", [1, 1, 1, 1]),
            ("a", [8, 8, 8, 8]),
        ]
        .into_iter()
        .enumerate()
        {
            let t = jiff::Timestamp::from_second(1_700_000_000 + 600 * i as i64).unwrap();
            let mut e = SignIn::new(format!("e{i}"), t, Source::Csv, user, Outcome::Success);
            e.ip = Some(std::net::IpAddr::from(ip));
            e.geo = Some(jetlag_event::Geo {
                lat: Some(10.0 * i as f64),
                lon: Some(20.0 * i as f64),
                radius_km: Some(20.0),
                city: None,
                region: None,
                country: jetlag_event::Country::from_code(["GB", "US", "JP"][i]),
                source: jetlag_event::GeoSource::Geoip,
            });
            engine.observe(&e, &mut alerts);
        }
        let full = engine.snapshot().unwrap();
        for d in &engine.detectors {
            ids.iter().for_each(|&u| d.prefetch(u));
        }
        assert_eq!(engine.snapshot().unwrap(), full);
        assert_ne!(full, empty);
    }

    /// `order` (hash + index permutation) keeps exactly the copies, in exactly the order,
    /// that sorting the events themselves does: random batches full of repeated ids, equal
    /// times and full ties (told apart by `app`, which no rule looks at).
    #[test]
    fn order_equals_sorting_the_events() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..200 {
            let len = next(60) as usize + usize::from(round == 0) * 5000;
            let batch: Vec<SignIn> = (0..len)
                .map(|i| {
                    let t = jiff::Timestamp::from_second(1_700_000_000 + next(5) as i64).unwrap();
                    let outcome = if next(2) == 0 {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    let mut e = SignIn::new(
                        format!("id-{}", next(20)),
                        t,
                        Source::Csv,
                        format!("u{}", next(3)),
                        outcome,
                    );
                    e.ip = (next(3) > 0).then(|| std::net::IpAddr::from([10, 0, 0, next(2) as u8]));
                    e.app = Some(i.to_string().into());
                    e.tenant = (next(4) == 0).then(|| "t2".into());
                    if next(5) == 0 {
                        e.source = Source::Okta;
                    }
                    e
                })
                .collect();
            let mut fast = batch.clone();
            super::order(&mut fast);
            let mut slow = batch.clone();
            super::order_by_sorting(&mut slow);
            assert_eq!(fast, slow, "round {round}");
            // Which copy survives depends on the content only, never on the input order.
            let mut reversed: Vec<SignIn> = batch.into_iter().rev().collect();
            super::order(&mut reversed);
            assert_eq!(reversed, fast, "round {round}, reversed");
            // Each event once, and events of one id but another user, source or tenant kept.
            for (i, a) in fast.iter().enumerate() {
                assert!(fast[i + 1..].iter().all(|b| !super::same_event(a, b)));
            }
        }
    }
}
