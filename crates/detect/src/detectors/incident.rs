//! Cross-identity incidents: the state `shared_ip`, `shared_device` and `password_spray`
//! share.
//!
//! Each of them keeps, per key (an IP, a device id), the identities seen behind it within a
//! window — a [`Group`] of [`Member`]s — and opens an *incident* once at least `min_users`
//! of them are there. An incident is reported once no new identity has joined for a settle
//! time, or at the end of a batch: [`Incidents`] keeps the keys with a report pending and the
//! earliest time one is due, so an event costs one comparison until a report is due. Keys
//! idle for longer than the detector's window are swept in batches, once per sweep period.
//!
//! The detectors differ in *when* an incident ends, what a report says and what else they
//! keep per key (`G`) and per member (`X`); everything else is here.
//!
//! Memory (the scan bench's data has about two distinct IPs per user and some 30,000 keys
//! live in a day's window): groups live densely in a [`Dense`] table (a 4-byte slot per
//! hash bucket, not a whole group), each holds its key and its first member inline (no
//! allocation for the common key with one identity), and a member is 48 bytes: its first
//! event id as a [`CompactId`] (a UUID in 16 bytes) and its user as the engine's [`UserId`]
//! number — reports look the name up in [`Names`], so no name is kept here.

use std::hash::Hash;

use std::hash::BuildHasher;

use compact_str::CompactString;
use hashbrown::HashTable;
use jetlag_event::Alert;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

use super::dense::{Dense, Keyed};
use crate::config::Problems;
use crate::{CompactId, Context, Names, UserId};

/// One identity seen behind a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Member<X> {
    /// The first event of this user behind the key within the incident (a UUID in 16
    /// bytes, no allocation).
    pub first_event: CompactId,
    /// Time of that event (seconds).
    pub first_time: i64,
    /// Time of the user's latest event behind the key.
    pub last_time: i64,
    /// The user, as the engine interned it ([`UserId`]'s number).
    pub user: u32,
    /// Whether an alert has listed this member.
    pub reported: bool,
    /// What the detector keeps per member.
    pub extra: X,
}

/// The members of a group: the first inline, more on the heap.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) enum Members<X> {
    /// Nobody (left in the window).
    #[default]
    None,
    /// One identity: no allocation.
    One(Member<X>),
    /// Two or more.
    Many(Vec<Member<X>>),
}

impl<X> Members<X> {
    /// The members, in the order they joined.
    pub fn as_slice(&self) -> &[Member<X>] {
        match self {
            Members::None => &[],
            Members::One(m) => std::slice::from_ref(m),
            Members::Many(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [Member<X>] {
        match self {
            Members::None => &mut [],
            Members::One(m) => std::slice::from_mut(m),
            Members::Many(v) => v,
        }
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    fn push(&mut self, m: Member<X>) {
        *self = match std::mem::take(self) {
            Members::None => Members::One(m),
            Members::One(first) => Members::Many(vec![first, m]),
            Members::Many(mut v) => {
                v.push(m);
                Members::Many(v)
            }
        };
    }

    fn retain(&mut self, keep: impl FnMut(&Member<X>) -> bool) {
        match self {
            Members::None => {}
            Members::One(m) => {
                let mut keep = keep;
                if !keep(m) {
                    *self = Members::None;
                }
            }
            Members::Many(v) => {
                v.retain(keep);
                if v.is_empty() {
                    *self = Members::None;
                }
            }
        }
    }
}

/// Marks "no open incident" in [`Group::join`].
const NO_INCIDENT: i64 = i64::MIN;

/// The identities behind one key and its incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Group<K, X, G> {
    /// The key (an IP, a device id).
    pub key: K,
    /// Members in the order they joined.
    pub members: Members<X>,
    /// Time of the newest identity to join the open incident, [`NO_INCIDENT`] when none.
    join: i64,
    /// The latest time that counts as activity of the key (for the sweep).
    pub last_seen: i64,
    /// Whether the open incident has identities not yet reported.
    pub pending: bool,
    /// What the detector keeps per key.
    pub extra: G,
}

impl<K: Hash + Eq, X, G> Keyed for Group<K, X, G> {
    type Key = K;
    fn key(&self) -> &K {
        &self.key
    }
}

impl<K, X, G> Group<K, X, G> {
    /// An empty group of `key`.
    fn new(key: K) -> Group<K, X, G>
    where
        G: Default,
    {
        Group {
            key,
            members: Members::None,
            join: NO_INCIDENT,
            last_seen: 0,
            pending: false,
            extra: G::default(),
        }
    }

    /// A group of one member with no incident open (a detector that keeps one-identity
    /// keys in a compact table of its own makes a group of one once a second identity comes).
    pub fn of_one(key: K, member: Member<X>, last_seen: i64, extra: G) -> Group<K, X, G> {
        Group {
            key,
            members: Members::One(member),
            join: NO_INCIDENT,
            last_seen,
            pending: false,
            extra,
        }
    }

    /// Time of the newest identity to join the open incident; `None` when none is open.
    pub fn join(&self) -> Option<i64> {
        (self.join != NO_INCIDENT).then_some(self.join)
    }

    /// Forgets members whose latest sign-in is before `horizon`.
    pub fn prune(&mut self, horizon: i64) {
        if self
            .members
            .as_slice()
            .iter()
            .any(|m| m.last_time < horizon)
        {
            self.members.retain(|m| m.last_time >= horizon);
        }
    }

    /// Ends the open incident: a later one is a new incident, reporting everyone again.
    pub fn end_incident(&mut self) {
        self.join = NO_INCIDENT;
        self.pending = false;
        for m in self.members.as_mut_slice() {
            m.reported = false;
        }
    }

    /// Records a sign-in at `t` of the event of `ctx`: a new member (`extra` says what the
    /// detector keeps of it) or a later sign-in of one. Returns whether the user joined.
    pub fn touch(&mut self, ctx: &Context<'_>, t: i64, extra: impl FnOnce() -> X) -> bool {
        let user = ctx.user.0;
        if let Some(m) = self
            .members
            .as_mut_slice()
            .iter_mut()
            .find(|m| m.user == user)
        {
            m.last_time = m.last_time.max(t);
            return false;
        }
        self.members.push(Member {
            first_event: ctx.event_id().clone(),
            first_time: t,
            last_time: t,
            user,
            reported: false,
            extra: extra(),
        });
        true
    }
}

/// Per key state of one detector, the keys with a report pending, and the clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Eq + Hash, X: Serialize, G: Serialize",
    deserialize = "K: Deserialize<'de> + Eq + Hash, X: Deserialize<'de>, G: Deserialize<'de>"
))]
pub(crate) struct Incidents<K, X, G> {
    /// One group per key.
    pub groups: Dense<Group<K, X, G>>,
    /// Keys with a report pending (possibly stale: checked when due).
    pending: Vec<K>,
    /// The earliest time a pending report is due (`i64::MAX`: none).
    next_due: i64,
    /// The latest event time seen (a late event never moves time backwards).
    clock: i64,
    next_sweep: i64,
}

impl<K, X, G> Default for Incidents<K, X, G> {
    fn default() -> Incidents<K, X, G> {
        Incidents {
            groups: Dense::default(),
            pending: Vec::new(),
            next_due: i64::MAX,
            clock: 0,
            next_sweep: 0,
        }
    }
}

impl<K: Clone + Eq + Hash + Ord, X, G: Default> Incidents<K, X, G> {
    /// Advances the clock to `t` (never backwards) and returns it.
    pub fn tick(&mut self, t: i64) -> i64 {
        self.clock = self.clock.max(t);
        self.clock
    }

    /// Runs `f` on the group of `key` (a new, empty one when there is none) and what a
    /// sign-in updates beside it. One hash lookup when the key is known; a key is cloned
    /// only when it is new.
    pub fn update<R>(&mut self, key: &K, f: impl FnOnce(Entry<'_, K, X, G>) -> R) -> R {
        let group = self
            .groups
            .get_or_insert_with(key, || Group::new(key.clone()));
        f(Entry {
            group,
            pending: &mut self.pending,
            next_due: &mut self.next_due,
        })
    }

    /// The keys whose report is due at `now` (every pending one when `now` is `i64::MAX`),
    /// in key order so that output never depends on hash order. No allocation while none is.
    pub fn due(&mut self, now: i64, settle: i64) -> Vec<K> {
        if now < self.next_due {
            return Vec::new();
        }
        let mut due = Vec::new();
        let mut next_due = i64::MAX;
        let groups = &self.groups;
        self.pending.retain(|key| {
            let Some(join) = groups.get(key).filter(|g| g.pending).and_then(|g| g.join()) else {
                return false;
            };
            let at = join.saturating_add(settle);
            if at <= now {
                due.push(key.clone());
                false
            } else {
                next_due = next_due.min(at);
                true
            }
        });
        self.next_due = next_due;
        // A key whose incident ended before its report (too few members left) and then
        // reopened was queued twice: report it once.
        due.sort_unstable();
        due.dedup();
        due
    }

    /// Every pending report, due or not (the end of a batch).
    pub fn all_pending(&mut self, settle: i64) -> Vec<K> {
        self.next_due = i64::MIN;
        self.due(i64::MAX, settle)
    }

    /// Whether an event at `t` makes [`Incidents::sweep`] run (the detector sweeps state of
    /// its own along).
    pub fn sweep_due(&self, t: i64) -> bool {
        self.clock.max(t) >= self.next_sweep
    }

    /// Adds `group`, whose key has none yet.
    pub fn insert_new(&mut self, group: Group<K, X, G>) {
        self.groups.insert_new(group);
    }

    /// Once every `period` seconds: forgets keys last seen before `now - keep` with no
    /// report pending.
    pub fn sweep(&mut self, now: i64, keep: i64, period: i64) {
        if now < self.next_sweep {
            return;
        }
        let horizon = now.saturating_sub(keep);
        self.groups.retain(|g| g.last_seen >= horizon || g.pending);
        self.next_sweep = now.saturating_add(period);
    }
}

/// Reports the problems of the thresholds `shared_ip` and `shared_device` share: `min_users`,
/// `window_hours`, `settle_minutes` (within the window) and `recent_hire_days`.
pub(crate) fn validate_hours(
    p: &mut Problems<'_>,
    min_users: usize,
    window_hours: u32,
    settle_minutes: u32,
    recent_hire_days: i64,
) {
    validate_min_users(p, min_users);
    if window_hours == 0 {
        p.push("window_hours", "must be at least 1");
    }
    if u64::from(settle_minutes) > u64::from(window_hours) * 60 {
        p.push(
            "settle_minutes",
            format_args!("must not exceed the window ({window_hours} h), got {settle_minutes}"),
        );
    }
    if recent_hire_days < 0 {
        p.push(
            "recent_hire_days",
            format_args!("must be zero or more, got {recent_hire_days}"),
        );
    }
}

/// Reports a `min_users` below 2 (one identity is not a crowd).
pub(crate) fn validate_min_users(p: &mut Problems<'_>, min_users: usize) {
    if min_users < 2 {
        p.push(
            "min_users",
            format_args!("must be 2 or more, got {min_users}"),
        );
    }
}

/// A detector built on [`Incidents`]: how it reaches them and reports one key.
pub(crate) trait Reporter {
    /// What the state is keyed by.
    type Key: Clone + Eq + Hash + Ord;
    /// What the detector keeps per member.
    type Member;
    /// What the detector keeps per key.
    type Extra: Default;

    /// The detector's incidents.
    fn incidents(&mut self) -> &mut Incidents<Self::Key, Self::Member, Self::Extra>;

    /// Reports the settled incident of `key` (`names`: the interned users' names).
    fn report(&mut self, key: Self::Key, names: Names<'_>, out: &mut Vec<Alert>);
}

/// The start of every `observe`: advances the clock to `t`, reports the incidents that have
/// settled (`settle` seconds after their newest identity joined), then sweeps keys idle for
/// `keep` seconds (once every `period`). Returns the time now.
pub(crate) fn advance<D: Reporter>(
    d: &mut D,
    (t, names): (i64, Names<'_>),
    settle: i64,
    (keep, period): (i64, i64),
    out: &mut Vec<Alert>,
) -> i64 {
    let now = d.incidents().tick(t);
    for key in d.incidents().due(now, settle) {
        d.report(key, names, out);
    }
    d.incidents().sweep(now, keep, period);
    now
}

/// The end of a batch: reports every pending incident, settled or not.
pub(crate) fn report_all<D: Reporter>(
    d: &mut D,
    settle: i64,
    names: Names<'_>,
    out: &mut Vec<Alert>,
) {
    for key in d.incidents().all_pending(settle) {
        d.report(key, names, out);
    }
}

/// The members of a group as a report lists them.
pub(crate) struct Roll<'a, X> {
    /// Members by user name.
    pub by_name: Vec<&'a Member<X>>,
    /// User names, in order.
    pub users: Vec<String>,
    /// Names of the members no alert has listed yet, in name order.
    pub new_users: Vec<&'a str>,
    /// Ids of the members' first events, by `(time, id)`.
    pub event_ids: Vec<String>,
    /// Time of the earliest of those events (0: no members).
    pub first: i64,
    names: Names<'a>,
}

impl<'a, X> Roll<'a, X> {
    /// The roll of `group` for a report: the incident is settled and every member counts
    /// as reported from now on (`new_users` are those that were not).
    pub fn take<K, G>(group: &'a mut Group<K, X, G>, names: Names<'a>) -> Roll<'a, X> {
        let name = |m: &Member<X>| names.get(UserId(m.user)).unwrap_or_default();
        let mut new_users: Vec<&str> = group
            .members
            .as_slice()
            .iter()
            .filter(|m| !m.reported)
            .map(name)
            .collect();
        new_users.sort_unstable();
        group.pending = false;
        for m in group.members.as_mut_slice() {
            m.reported = true;
        }
        let group: &'a Group<K, X, G> = group;
        let mut by_name: Vec<&Member<X>> = group.members.as_slice().iter().collect();
        by_name.sort_by(|a, b| name(a).cmp(name(b)));
        let mut by_time: Vec<(i64, String)> = by_name
            .iter()
            .map(|m| (m.first_time, m.first_event.to_string()))
            .collect();
        by_time.sort_unstable();
        Roll {
            users: by_name.iter().map(|m| name(m).into()).collect(),
            new_users,
            first: by_time.first().map_or(0, |(t, _)| *t),
            event_ids: by_time.into_iter().map(|(_, id)| id).collect(),
            by_name,
            names,
        }
    }

    /// Names of the members that `pick` picks, in name order.
    pub fn names(&self, pick: impl Fn(&X) -> bool) -> Vec<&'a str> {
        self.by_name
            .iter()
            .filter(|m| pick(&m.extra))
            .map(|m| self.names.get(UserId(m.user)).unwrap_or_default())
            .collect()
    }

    /// The distinct strings (`tenant` of each member, interned in `strings`), sorted.
    pub fn distinct(&self, strings: &'a Interner, of: impl Fn(&X) -> u32) -> Vec<&'a str> {
        let mut v: Vec<&str> = self
            .by_name
            .iter()
            .filter_map(|m| strings.get(of(&m.extra)))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// A group of [`Incidents`] borrowed with the parts of the state that a sign-in updates.
pub(crate) struct Entry<'a, K, X, G> {
    /// The key's group.
    pub group: &'a mut Group<K, X, G>,
    pending: &'a mut Vec<K>,
    next_due: &'a mut i64,
}

impl<K: Clone + Eq + Hash + Ord, X, G: Default> Entry<'_, K, X, G> {
    /// Records the sign-in of `ctx` at `t` ([`Group::touch`]), then opens or extends the
    /// incident when the key has at least `min_users` members and the user joined or none
    /// is open; its report is due `settle` seconds after the newest identity joined.
    pub fn sign_in(
        &mut self,
        ctx: &Context<'_>,
        t: i64,
        (min_users, settle): (usize, i64),
        extra: impl FnOnce() -> X,
    ) {
        let joined = self.group.touch(ctx, t, extra);
        let group = &mut *self.group;
        if group.members.len() >= min_users && (joined || group.join().is_none()) {
            group.join = group.join().map_or(t, |j| j.max(t));
            if !group.pending {
                group.pending = true;
                self.pending.push(group.key.clone());
            }
            *self.next_due = (*self.next_due).min(t.saturating_add(settle));
        }
    }
}

/// Strings interned to `u32` ids (tenants, AS organisations, cities: few distinct values),
/// so that per-key state holds 4 bytes instead of a string. Each string is stored once; the
/// hash table holds only ids (5 bytes a bucket: DB-IP's cities run to tens of thousands).
/// Never shrinks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<CompactString>", into = "Vec<CompactString>")]
pub(crate) struct Interner {
    /// Ids, hashed by their string and compared with `names`.
    ids: HashTable<u32>,
    names: Vec<CompactString>,
}

/// An [`Interner`] id for "no string".
pub(crate) const NONE: u32 = u32::MAX;

fn text_hash(s: &str) -> u64 {
    FxBuildHasher.hash_one(s)
}

impl Interner {
    fn find(&self, s: &str, h: u64) -> Option<u32> {
        let names = &self.names;
        self.ids
            .find(h, |&i| names.get(i as usize).is_some_and(|n| n == s))
            .copied()
    }

    fn index(&mut self, id: u32, h: u64) {
        let names = &self.names;
        self.ids.insert_unique(h, id, |&i| {
            text_hash(names.get(i as usize).map_or("", CompactString::as_str))
        });
    }

    /// The id of `s` (interning it), [`NONE`] for `None`.
    pub fn id(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE };
        let h = text_hash(s);
        if let Some(id) = self.find(s, h) {
            return id;
        }
        let Ok(id) = u32::try_from(self.names.len()) else {
            return NONE;
        };
        if id == NONE {
            return NONE;
        }
        self.names.push(CompactString::from(s));
        self.index(id, h);
        id
    }

    /// The string of `id`; `None` for [`NONE`] (or an id that is not this interner's).
    pub fn get(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(CompactString::as_str)
    }
}

impl From<Vec<CompactString>> for Interner {
    fn from(names: Vec<CompactString>) -> Interner {
        let mut i = Interner {
            ids: HashTable::new(),
            names,
        };
        for id in 0..i.names.len().min(NONE as usize) {
            let h = text_hash(&i.names[id]);
            // A string twice (a corrupt state): the first id stays.
            if i.find(&i.names[id], h).is_none() {
                i.index(id as u32, h);
            }
        }
        i
    }
}

impl From<Interner> for Vec<CompactString> {
    fn from(i: Interner) -> Vec<CompactString> {
        i.names
    }
}

#[cfg(test)]
mod tests {
    use std::cell::OnceCell;

    use super::*;
    use jetlag_roster::Roster;

    /// Runs `f` with the context of an event `id` of user `user`.
    fn with_ctx<R>(user: u32, id: &str, f: impl FnOnce(&Context<'_>) -> R) -> R {
        let roster = Roster::empty();
        let cell = OnceCell::new();
        let ctx = Context {
            roster: &roster,
            user: UserId(user),
            employee: None,
            names: &[],
            event_id: (id, &cell),
        };
        f(&ctx)
    }

    fn sign_in(inc: &mut Incidents<u32, (), ()>, key: u32, user: u32, t: i64, settle: i64) {
        inc.tick(t);
        with_ctx(user, &format!("e{t}"), |ctx| {
            inc.update(&key, |mut g| g.sign_in(ctx, t, (2, settle), || ()))
        });
    }

    #[test]
    fn incidents_settle_then_report_in_key_order() {
        let mut inc: Incidents<u32, (), ()> = Incidents::default();
        for (k, user, t) in [(7, 1, 10), (7, 2, 20), (3, 1, 30), (3, 2, 40), (7, 2, 50)] {
            sign_in(&mut inc, k, user, t, 100);
        }
        assert!(inc.due(119, 100).is_empty(), "not settled yet");
        assert_eq!(inc.due(120, 100), [7]);
        assert!(inc.due(139, 100).is_empty());
        let names: Vec<CompactString> = ["u0", "u1", "u2"].map(CompactString::from).to_vec();
        let roll = Roll::take(inc.groups.get_mut(&7).unwrap(), Names(&names));
        assert_eq!(roll.event_ids, ["e10", "e20"]);
        assert_eq!(roll.users, ["u1", "u2"]);
        assert_eq!(roll.new_users, ["u1", "u2"]);
        assert_eq!(inc.all_pending(100), [3]);
    }

    #[test]
    fn an_incident_that_ends_and_reopens_before_its_report_is_reported_once() {
        let mut inc: Incidents<u32, (), ()> = Incidents::default();
        sign_in(&mut inc, 5, 1, 10, 100);
        sign_in(&mut inc, 5, 2, 20, 100);
        // User 1 leaves the window: too few identities, the incident is over unreported.
        let g = inc.groups.get_mut(&5).unwrap();
        g.prune(15);
        assert_eq!(g.members.len(), 1);
        g.end_incident();
        // User 3 joins: the incident reopens and is queued again.
        sign_in(&mut inc, 5, 3, 30, 100);
        assert_eq!(inc.due(200, 100), [5], "one report, not two");
        assert!(inc.all_pending(100).is_empty());
    }

    /// Idle keys are swept (not those with a report pending), the rest keep their members
    /// and first event ids, and a state round-trips through postcard.
    #[test]
    fn sweeps_forget_idle_keys_and_state_round_trips() {
        let mut inc: Incidents<u32, (), ()> = Incidents::default();
        for k in 0..100u32 {
            let t = i64::from(k);
            with_ctx(
                k,
                &format!("0231f922-93fa-4005-bb11-b344eca03c{k:02x}"),
                |ctx| {
                    inc.update(&k, |mut g| g.sign_in(ctx, t, (2, 60), || ()));
                },
            );
            inc.groups.get_mut(&k).unwrap().last_seen = t;
        }
        // Key 0 has a report pending: it stays however idle.
        sign_in(&mut inc, 0, 1000, 1, 60);
        inc.sweep(100, 10, 60);
        let mut kept: Vec<u32> = inc.groups.iter().map(|g| g.key).collect();
        kept.sort_unstable();
        assert_eq!(kept, [0, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
        let bytes = postcard::to_stdvec(&inc).unwrap();
        let back: Incidents<u32, (), ()> = postcard::from_bytes(&bytes).unwrap();
        for k in kept {
            let m = &back.groups.get(&k).unwrap().members.as_slice()[0];
            assert_eq!(
                m.first_event.to_string(),
                format!("0231f922-93fa-4005-bb11-b344eca03c{k:02x}")
            );
        }
        let mut back = back;
        assert_eq!(back.all_pending(60), [0]);
    }

    #[test]
    fn members_stay_inline_until_a_second_joins() {
        let mut m: Members<()> = Members::default();
        let one = |user| Member {
            first_event: CompactId::default(),
            first_time: 0,
            last_time: i64::from(user),
            user,
            reported: false,
            extra: (),
        };
        m.push(one(1));
        assert!(matches!(m, Members::One(_)));
        m.push(one(2));
        m.push(one(3));
        assert_eq!(m.len(), 3);
        m.retain(|x| x.last_time >= 2);
        assert_eq!(m.len(), 2);
        m.retain(|_| false);
        assert!(matches!(m, Members::None));
    }

    #[test]
    fn interner_round_trips_through_postcard() {
        let mut i = Interner::default();
        assert_eq!(i.id(Some("a")), 0);
        assert_eq!(i.id(Some("b")), 1);
        assert_eq!(i.id(Some("a")), 0);
        assert_eq!(i.id(None), NONE);
        let bytes = postcard::to_stdvec(&i).unwrap();
        let mut back: Interner = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.get(1), Some("b"));
        assert_eq!(back.id(Some("a")), 0);
        assert_eq!(back.id(Some("c")), 2);
        for n in 0..5_000 {
            assert_eq!(back.id(Some(&format!("city {n}"))), n + 3);
        }
        assert_eq!(back.id(Some("city 17")), 20);
        let twice = Interner::from(vec!["x".into(), "x".into()]);
        assert_eq!(twice.find("x", text_hash("x")), Some(0));
        assert_eq!(back.get(NONE), None);
        assert_eq!(back.id(Some("b")), 1);
    }
}
