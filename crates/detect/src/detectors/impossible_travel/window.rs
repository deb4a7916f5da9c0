//! impossible_travel's per-user windows: located sign-ins in one pool of slots, their
//! places and IPv6 addresses interned.
//!
//! A user's window is a short list (at most `window_size`, usually one or two) of slots
//! linked oldest first through one pool: 4 bytes per user for the head, no `Vec` header
//! and no heap block per user. A slot is 40 bytes: the time, the event id (a UUID's 16
//! bytes; any other id's text in a side table), the ids of its place ([`Loc`]:
//! coordinates, accuracy radius, city, country) and of its IP (an IPv4 address inline),
//! its network classes. Places are shared by many users (everyone in one
//! city, one GeoIP answer) and kept once, with a count of the slots using them, so that a
//! place no window holds any more is forgotten and its entry reused: the table never
//! outgrows the windows. The coordinates are the `f32` values the detector has always
//! compared and printed, so alerts are unchanged.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use compact_str::CompactString;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use jetlag_event::{Country, NetClasses};
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

use crate::CompactId;

/// A place a sign-in was located at, as the window compares and reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Loc {
    pub lat: f32,
    pub lon: f32,
    pub radius_km: f32,
    /// The 1° cell of the exact coordinates.
    pub place: u16,
    pub country: Option<Country>,
    /// Located only to a country (no city): the point is the country's centroid.
    pub country_level: bool,
    pub city: Option<CompactString>,
    /// Slots using this place (see [`Counted`]); not saved, rebuilt on load. It sits in
    /// what was padding: a `Loc` is 48 bytes either way.
    #[serde(skip)]
    refs: u32,
}

impl Loc {
    /// Whether this is the place `probe`: compares the city by its text, never hashes it.
    pub fn is(&self, probe: &Probe<'_>) -> bool {
        self.lat.to_bits() == probe.lat.to_bits()
            && self.lon.to_bits() == probe.lon.to_bits()
            && self.radius_km.to_bits() == probe.radius_km.to_bits()
            && self.place == probe.place
            && self.country == probe.country
            && self.country_level == probe.country_level
            && self.city.as_deref() == probe.city
    }

    /// The hash of everything but the city (same coordinates almost always mean the same
    /// city; the text is compared on a hit).
    fn hash(&self) -> u64 {
        hash_parts(
            self.lat,
            self.lon,
            self.radius_km,
            self.place,
            self.country,
            self.country_level,
        )
    }
}

fn hash_parts(
    lat: f32,
    lon: f32,
    radius: f32,
    place: u16,
    country: Option<Country>,
    level: bool,
) -> u64 {
    FxBuildHasher.hash_one((
        lat.to_bits(),
        lon.to_bits(),
        radius.to_bits(),
        place,
        country,
        level,
    ))
}

/// A located sign-in's place before interning: the event's city is borrowed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Probe<'a> {
    pub lat: f32,
    pub lon: f32,
    pub radius_km: f32,
    pub place: u16,
    pub country: Option<Country>,
    pub country_level: bool,
    pub city: Option<&'a str>,
}

impl Probe<'_> {
    fn hash(&self) -> u64 {
        hash_parts(
            self.lat,
            self.lon,
            self.radius_km,
            self.place,
            self.country,
            self.country_level,
        )
    }

    fn to_loc(self) -> Loc {
        Loc {
            lat: self.lat,
            lon: self.lon,
            radius_km: self.radius_km,
            place: self.place,
            country: self.country,
            country_level: self.country_level,
            city: self.city.map(CompactString::from),
            refs: 0,
        }
    }
}

/// A value of a [`Shared`] table, holding the count of slots that use it: the count is
/// in the value's own cache line, which a look-up has just read to compare the value
/// (a separate `Vec` of counts was one more line, a miss, per new place of a window).
trait Counted {
    fn refs(&self) -> u32;
    fn refs_mut(&mut self) -> &mut u32;
}

impl Counted for Loc {
    fn refs(&self) -> u32 {
        self.refs
    }
    fn refs_mut(&mut self) -> &mut u32 {
        &mut self.refs
    }
}

/// An IPv6 address of a [`Shared`] table, with its count.
#[derive(Debug, Clone, Copy)]
struct V6 {
    addr: Ipv6Addr,
    refs: u32,
}

impl Counted for V6 {
    fn refs(&self) -> u32 {
        self.refs
    }
    fn refs_mut(&mut self) -> &mut u32 {
        &mut self.refs
    }
}

fn v6_hash(v: &V6) -> u64 {
    FxBuildHasher.hash_one(v.addr)
}

/// Values many slots share, each kept once with the count of slots using it; an entry
/// no slot uses leaves the index and is reused by the next new value.
#[derive(Debug)]
struct Shared<T> {
    /// The values, each with its count ([`Counted`]).
    items: Vec<T>,
    /// Ids of `items` by the hash of the item.
    index: HashTable<u32>,
    /// Ids whose count is 0.
    free: Vec<u32>,
}

impl<T> Default for Shared<T> {
    fn default() -> Shared<T> {
        Shared {
            items: Vec::new(),
            index: HashTable::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Counted> Shared<T> {
    /// The id of the value `eq` recognises (hash `hash`), adding `make()` if there is none;
    /// one more slot uses it.
    fn acquire(
        &mut self,
        hash: u64,
        eq: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
        hash_of: impl Fn(&T) -> u64,
    ) -> u32 {
        let Shared { items, index, free } = self;
        match index.entry(
            hash,
            |&id| eq(&items[id as usize]),
            |&id| hash_of(&items[id as usize]),
        ) {
            Entry::Occupied(e) => {
                let id = *e.get();
                let r = items[id as usize].refs_mut();
                *r = r.saturating_add(1);
                id
            }
            Entry::Vacant(e) => {
                let mut item = make();
                *item.refs_mut() = 1;
                let id = match free.pop() {
                    Some(id) => {
                        items[id as usize] = item;
                        id
                    }
                    None => {
                        grow(items);
                        items.push(item);
                        u32::try_from(items.len() - 1).unwrap_or(u32::MAX)
                    }
                };
                e.insert(id);
                id
            }
        }
    }

    /// One more slot uses `id` (already in the table).
    fn share(&mut self, id: u32) {
        if let Some(item) = self.items.get_mut(id as usize) {
            let r = item.refs_mut();
            *r = r.saturating_add(1);
        }
    }

    /// One slot fewer uses `id`; the last one frees it.
    fn release(&mut self, id: u32, hash_of: impl Fn(&T) -> u64) {
        let Some(item) = self.items.get_mut(id as usize) else {
            return;
        };
        let r = item.refs_mut();
        *r = r.saturating_sub(1);
        if *r > 0 {
            return;
        }
        let hash = hash_of(&self.items[id as usize]);
        if let Ok(e) = self.index.find_entry(hash, |&i| i == id) {
            e.remove();
        }
        self.free.push(id);
    }

    fn get(&self, id: u32) -> Option<&T> {
        self.items.get(id as usize)
    }

    /// Rebuilds counts, index and free list from the ids `used` (each use once).
    fn rebuild(&mut self, used: impl Iterator<Item = u32>, hash_of: impl Fn(&T) -> u64) {
        for item in &mut self.items {
            *item.refs_mut() = 0;
        }
        for id in used {
            let r = self.items[id as usize].refs_mut();
            *r = r.saturating_add(1);
        }
        self.index = HashTable::with_capacity(self.items.len());
        self.free.clear();
        for id in 0..self.items.len() {
            let id = id as u32;
            if self.items[id as usize].refs() == 0 {
                self.free.push(id);
            } else {
                let hash = hash_of(&self.items[id as usize]);
                let items = &self.items;
                self.index
                    .insert_unique(hash, id, |&i| hash_of(&items[i as usize]));
            }
        }
    }
}

/// Grows a table by a quarter rather than double (it is most of the detector's memory).
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len() / 4 + 16);
    }
}

/// How a slot's `ip` is to be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
enum IpKind {
    #[default]
    None,
    V4,
    /// An id in [`Windows`]' IPv6 table.
    V6,
}

/// How a slot's `id` is to be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
enum IdKind {
    /// A UUID written in lower case.
    #[default]
    Lower,
    /// A UUID written in upper case.
    Upper,
    /// Any other id: its index in [`Windows`]' texts, in the first four bytes.
    Text,
}

/// One located sign-in in a user's window: 40 bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Seen {
    /// Nanoseconds since the Unix epoch (saturating; covers 1678–2262).
    pub time_ns: i64,
    /// The event id, as `id_kind` says.
    id: [u8; 16],
    /// The place's id in the places table.
    pub loc: u32,
    /// An IPv4 address, or an IPv6 address's id, as `ip_kind` says.
    ip: u32,
    /// The next later slot of the window (or of the free list), index + 1; 0 ends it.
    next: u32,
    pub net: NetClasses,
    ip_kind: IpKind,
    id_kind: IdKind,
}

/// Every user's window, in one pool.
#[derive(Debug, Default)]
pub(super) struct Windows {
    /// Per user: the oldest slot of the window, index + 1; 0 for an empty window.
    heads: Vec<u32>,
    slots: Vec<Seen>,
    /// The free slots, chained through `next` (index + 1; 0 = none).
    free: u32,
    locs: Shared<Loc>,
    ipv6: Shared<V6>,
    /// Event ids that are not UUIDs, by slot (each used by one slot).
    texts: Vec<CompactString>,
    /// Indexes of `texts` no slot uses.
    free_texts: Vec<u32>,
    /// The next user [`Windows::sweep`] looks at.
    cursor: usize,
}

/// What a snapshot holds: the pool as it is (counts, indexes and the free lists are
/// rebuilt on load from what the windows reach).
#[derive(Serialize, Deserialize)]
pub(super) struct Saved {
    heads: Vec<u32>,
    slots: Vec<Seen>,
    locs: Vec<Loc>,
    ipv6: Vec<Ipv6Addr>,
    texts: Vec<CompactString>,
}

impl Windows {
    /// Asks the CPU to fetch `user`'s head (see [`jetlag_event::hint::prefetch`]).
    pub fn prefetch(&self, user: usize) {
        if let Some(head) = self.heads.get(user) {
            jetlag_event::hint::prefetch(head);
        }
    }

    /// The slots of `user`'s window, oldest first, as `(slot, &Seen)`.
    pub fn iter(&self, user: usize) -> impl Iterator<Item = (u32, &Seen)> {
        let mut cur = self.heads.get(user).copied().unwrap_or(0);
        std::iter::from_fn(move || {
            let i = cur.checked_sub(1)?;
            let s = self.slots.get(i as usize)?;
            cur = s.next;
            Some((i, s))
        })
    }

    /// Slot `i`.
    pub fn slot(&self, i: u32) -> &Seen {
        &self.slots[i as usize]
    }

    /// The event id of a slot.
    pub fn event_id(&self, s: &Seen) -> CompactId {
        match s.id_kind {
            IdKind::Lower => CompactId::from_uuid(s.id, false),
            IdKind::Upper => CompactId::from_uuid(s.id, true),
            IdKind::Text => CompactId::new(self.text(s)),
        }
    }

    /// Whether slot `s` is the event `id`.
    pub fn is_event(&self, s: &Seen, id: &CompactId) -> bool {
        match id.uuid() {
            Some((b, upper)) => {
                s.id == b && s.id_kind == if upper { IdKind::Upper } else { IdKind::Lower }
            }
            None => {
                let mut buf = [0u8; 36];
                s.id_kind == IdKind::Text && self.text(s) == id.text(&mut buf)
            }
        }
    }

    /// The text of a slot's id that is not a UUID.
    fn text(&self, s: &Seen) -> &str {
        let i = u32::from_le_bytes([s.id[0], s.id[1], s.id[2], s.id[3]]);
        self.texts.get(i as usize).map_or("", CompactString::as_str)
    }

    /// The place of a slot.
    pub fn loc(&self, s: &Seen) -> Option<&Loc> {
        self.locs.get(s.loc)
    }

    /// The IP of a slot.
    pub fn ip(&self, s: &Seen) -> Option<IpAddr> {
        match s.ip_kind {
            IpKind::None => None,
            IpKind::V4 => Some(IpAddr::V4(Ipv4Addr::from(s.ip))),
            IpKind::V6 => self.ipv6.get(s.ip).map(|v| IpAddr::V6(v.addr)),
        }
    }

    /// Drops the oldest slots of `user`'s window while `stale` says so.
    pub fn drop_oldest_while(&mut self, user: usize, stale: impl Fn(&Seen) -> bool) {
        let Some(&head) = self.heads.get(user) else {
            return;
        };
        let mut cur = head;
        while let Some(i) = cur.checked_sub(1) {
            let s = &self.slots[i as usize];
            if !stale(s) {
                break;
            }
            cur = s.next;
            self.free_slot(i);
        }
        self.heads[user] = cur;
    }

    /// Drops the stale oldest slots of the next `users` windows, round robin: a user who
    /// stops signing in does not keep a window nothing can pair with any more. A few users
    /// per event keep the cost flat (one full pass per `users_total / users` events).
    pub fn sweep(&mut self, users: usize, stale: impl Fn(&Seen) -> bool) {
        for _ in 0..users.min(self.heads.len()) {
            if self.cursor >= self.heads.len() {
                self.cursor = 0;
            }
            let user = self.cursor;
            self.cursor += 1;
            if self.heads[user] != 0 {
                self.drop_oldest_while(user, &stale);
            }
        }
    }

    /// Remembers a sign-in of `user`: it replaces slot `replace` (a sign-in at the same
    /// place and network), else the oldest one when the window holds `window_size`
    /// already, and goes where its time puts it. `loc` is the id of a slot's place that is
    /// this sign-in's too, if one was found while comparing.
    #[allow(clippy::too_many_arguments)]
    pub fn remember(
        &mut self,
        user: usize,
        replace: Option<u32>,
        window_size: usize,
        event_id: &CompactId,
        time_ns: i64,
        ip: Option<IpAddr>,
        net: NetClasses,
        place: Probe<'_>,
        loc: Option<u32>,
    ) {
        // A slot replaced by a sign-in at its very place keeps that place's count as it is
        // (the common case: the same place and network again), so the count's cache line
        // is not touched.
        let same_place = match (replace, loc) {
            (Some(j), Some(id)) => self.slots.get(j as usize).is_some_and(|s| s.loc == id),
            _ => false,
        };
        // Take the new place and IP first: a slot being replaced may hold the last use.
        let loc = match loc {
            Some(id) => {
                if !same_place {
                    self.locs.share(id);
                }
                id
            }
            None => self
                .locs
                .acquire(place.hash(), |l| l.is(&place), || place.to_loc(), Loc::hash),
        };
        let (ip_kind, ip) = match ip {
            None => (IpKind::None, 0),
            Some(IpAddr::V4(a)) => (IpKind::V4, u32::from(a)),
            Some(IpAddr::V6(a)) => {
                let hash = FxBuildHasher.hash_one(a);
                let id =
                    self.ipv6
                        .acquire(hash, |x| x.addr == a, || V6 { addr: a, refs: 0 }, v6_hash);
                (IpKind::V6, id)
            }
        };
        if user >= self.heads.len() {
            crate::detectors::per_user(&mut self.heads, crate::UserId(user as u32));
        }
        let len = self.iter(user).count();
        let slot = match replace {
            Some(j) => {
                self.unlink(user, j);
                self.release(j, !same_place);
                j
            }
            None if len >= window_size => {
                let head = self.heads[user] - 1;
                self.unlink(user, head);
                self.release(head, true);
                head
            }
            None => self.alloc(),
        };
        let (id_kind, id) = match event_id.uuid() {
            Some((b, false)) => (IdKind::Lower, b),
            Some((b, true)) => (IdKind::Upper, b),
            None => {
                // A text's buffer is reused: no allocation for an id up to 24 bytes.
                let mut buf = [0u8; 36];
                let text = event_id.text(&mut buf);
                let i = match self.free_texts.pop() {
                    Some(i) => {
                        let t = &mut self.texts[i as usize];
                        t.clear();
                        t.push_str(text);
                        i
                    }
                    None => {
                        grow(&mut self.texts);
                        self.texts.push(CompactString::from(text));
                        u32::try_from(self.texts.len() - 1).unwrap_or(u32::MAX)
                    }
                };
                let mut id = [0u8; 16];
                id[..4].copy_from_slice(&i.to_le_bytes());
                (IdKind::Text, id)
            }
        };
        let s = &mut self.slots[slot as usize];
        s.id = id;
        s.id_kind = id_kind;
        s.time_ns = time_ns;
        s.loc = loc;
        s.ip = ip;
        s.ip_kind = ip_kind;
        s.net = net;
        // Keep the window in time order even for a late event: after every slot of the
        // same time or earlier.
        let mut prev: Option<u32> = None;
        let mut cur = self.heads[user];
        while let Some(i) = cur.checked_sub(1) {
            let t = &self.slots[i as usize];
            if t.time_ns > time_ns {
                break;
            }
            prev = Some(i);
            cur = t.next;
        }
        self.slots[slot as usize].next = cur;
        match prev {
            Some(p) => self.slots[p as usize].next = slot + 1,
            None => self.heads[user] = slot + 1,
        }
    }

    /// Takes slot `i` out of `user`'s window (its place and IP stay counted).
    fn unlink(&mut self, user: usize, i: u32) {
        let next = self.slots[i as usize].next;
        let mut cur = self.heads[user];
        if cur == i + 1 {
            self.heads[user] = next;
            return;
        }
        while let Some(j) = cur.checked_sub(1) {
            let s = &mut self.slots[j as usize];
            if s.next == i + 1 {
                s.next = next;
                return;
            }
            cur = s.next;
        }
    }

    /// Slot `i` no longer uses its IP and id text, nor its place if `place`.
    fn release(&mut self, i: u32, place: bool) {
        let s = &mut self.slots[i as usize];
        let (loc, ip, kind) = (s.loc, s.ip, s.ip_kind);
        if s.id_kind == IdKind::Text {
            s.id_kind = IdKind::Lower;
            self.free_texts
                .push(u32::from_le_bytes([s.id[0], s.id[1], s.id[2], s.id[3]]));
        }
        if place {
            self.locs.release(loc, Loc::hash);
        }
        if kind == IpKind::V6 {
            self.ipv6.release(ip, v6_hash);
        }
    }

    /// Puts slot `i` (already unlinked) on the free list.
    fn free_slot(&mut self, i: u32) {
        self.release(i, true);
        let s = &mut self.slots[i as usize];
        s.ip_kind = IpKind::None;
        s.next = self.free;
        self.free = i + 1;
    }

    /// A slot off the free list, or a new one.
    fn alloc(&mut self) -> u32 {
        if let Some(i) = self.free.checked_sub(1) {
            self.free = self.slots[i as usize].next;
            self.slots[i as usize].next = 0;
            return i;
        }
        grow(&mut self.slots);
        self.slots.push(Seen::default());
        u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
    }

    /// Keeps at most `w` (the newest) slots per window.
    pub fn truncate(&mut self, w: usize) {
        for user in 0..self.heads.len() {
            let len = self.iter(user).count();
            for _ in w..len {
                let head = self.heads[user] - 1;
                self.heads[user] = self.slots[head as usize].next;
                self.free_slot(head);
            }
        }
    }

    /// The state to save.
    pub fn save(&self) -> Saved {
        Saved {
            heads: self.heads.clone(),
            slots: self.slots.clone(),
            locs: self.locs.items.clone(),
            ipv6: self.ipv6.items.iter().map(|v| v.addr).collect(),
            texts: self.texts.clone(),
        }
    }

    /// The windows `saved` holds, checked: every link, place and IP id in range, no slot
    /// in two windows or twice in one.
    pub fn load(saved: Saved) -> Result<Windows, String> {
        let Saved {
            heads,
            mut slots,
            locs,
            ipv6,
            texts,
        } = saved;
        let mut used = vec![false; slots.len()];
        let mut text_used = vec![false; texts.len()];
        for (user, &head) in heads.iter().enumerate() {
            let mut cur = head;
            while let Some(i) = cur.checked_sub(1) {
                let Some(s) = slots.get(i as usize) else {
                    return Err(format!(
                        "user {user}'s window links to slot {i} of {}",
                        slots.len()
                    ));
                };
                if std::mem::replace(&mut used[i as usize], true) {
                    return Err(format!("slot {i} is in two windows or twice in one"));
                }
                if s.loc as usize >= locs.len() {
                    return Err(format!("slot {i} has place {} of {}", s.loc, locs.len()));
                }
                if s.ip_kind == IpKind::V6 && s.ip as usize >= ipv6.len() {
                    return Err(format!("slot {i} has IPv6 {} of {}", s.ip, ipv6.len()));
                }
                if s.id_kind == IdKind::Text {
                    let t = u32::from_le_bytes([s.id[0], s.id[1], s.id[2], s.id[3]]) as usize;
                    match text_used.get_mut(t) {
                        Some(u) if !*u => *u = true,
                        _ => {
                            return Err(format!(
                                "slot {i} has event id text {t} of {}, or one in use",
                                texts.len()
                            ));
                        }
                    }
                }
                cur = s.next;
            }
        }
        let mut free = 0;
        for (i, s) in slots.iter_mut().enumerate().rev() {
            if !used[i] {
                *s = Seen {
                    next: free,
                    ..Seen::default()
                };
                free = i as u32 + 1;
            }
        }
        let live: Vec<&Seen> = slots
            .iter()
            .enumerate()
            .filter(|(i, _)| used[*i])
            .map(|(_, s)| s)
            .collect();
        let mut w = Windows {
            heads,
            slots: Vec::new(),
            free,
            locs: Shared {
                items: locs,
                ..Shared::default()
            },
            ipv6: Shared {
                items: ipv6.into_iter().map(|addr| V6 { addr, refs: 0 }).collect(),
                ..Shared::default()
            },
            free_texts: (0..texts.len() as u32)
                .filter(|&t| !text_used[t as usize])
                .collect(),
            texts,
            cursor: 0,
        };
        w.locs.rebuild(live.iter().map(|s| s.loc), Loc::hash);
        w.ipv6.rebuild(
            live.iter()
                .filter(|s| s.ip_kind == IpKind::V6)
                .map(|s| s.ip),
            v6_hash,
        );
        w.slots = slots;
        Ok(w)
    }

    /// Live places and free slots, for tests.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let live_locs = self.locs.items.iter().filter(|l| l.refs > 0).count();
        let mut free = 0;
        let mut cur = self.free;
        while let Some(i) = cur.checked_sub(1) {
            free += 1;
            cur = self.slots[i as usize].next;
        }
        (live_locs, free)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(lat: f32, city: Option<&str>) -> Probe<'_> {
        Probe {
            lat,
            lon: 10.0,
            radius_km: 50.0,
            place: 1,
            country: Country::from_code("FR"),
            country_level: false,
            city,
        }
    }

    fn ids(w: &Windows, user: usize) -> Vec<String> {
        w.iter(user)
            .map(|(_, s)| w.event_id(s).to_string())
            .collect()
    }

    #[test]
    fn a_slot_is_40_bytes() {
        assert_eq!(std::mem::size_of::<Seen>(), 40);
    }

    /// The count a place carries fits in what was padding.
    #[test]
    fn a_place_is_48_bytes_with_its_count() {
        assert_eq!(std::mem::size_of::<Loc>(), 48);
    }

    /// The counts of the places: each live place's is the number of slots holding it.
    fn place_counts(w: &Windows) -> Vec<(u32, u32)> {
        let mut held = std::collections::BTreeMap::<u32, u32>::new();
        for user in 0..w.heads.len() {
            for (_, s) in w.iter(user) {
                *held.entry(s.loc).or_default() += 1;
            }
        }
        let counted: Vec<(u32, u32)> = (0..w.locs.items.len() as u32)
            .filter(|&id| w.locs.items[id as usize].refs > 0)
            .map(|id| (id, w.locs.items[id as usize].refs))
            .collect();
        assert_eq!(counted, held.into_iter().collect::<Vec<_>>());
        counted
    }

    /// A sign-in replacing a slot at its very place leaves the place's count as it is
    /// (no count touched); one replacing a slot of the same cell and network but another
    /// place, or at a place already in the window without replacing, moves the counts.
    /// Either way every count stays the number of slots holding the place, a place is
    /// freed with its last slot, and a reload (which recounts) finds the same.
    #[test]
    fn replacing_a_slot_keeps_place_counts_exact() {
        let mut w = Windows::default();
        let net = NetClasses::default();
        let vpn = NetClasses::of(&[jetlag_event::NetClass::Vpn]);
        let paris = probe(48.85, Some("Paris"));
        let near = probe(48.86, Some("Paris"));
        let id = |n: u32| CompactId::new(&format!("e{n}"));
        w.remember(0, None, 4, &id(0), 10, None, net, paris, None);
        w.remember(1, None, 4, &id(1), 10, None, net, paris, None);
        let at =
            |w: &Windows, user: usize| w.iter(user).map(|(i, s)| (i, s.loc)).collect::<Vec<_>>();
        let (slot, here) = at(&w, 0)[0];
        assert_eq!(place_counts(&w), [(here, 2)]);
        // The same place and network again, many times: replaced in place.
        for n in 2..10 {
            let slot_now = at(&w, 0)[0].0;
            w.remember(
                0,
                Some(slot_now),
                4,
                &id(n),
                10 + i64::from(n),
                None,
                net,
                paris,
                Some(here),
            );
        }
        assert_eq!(at(&w, 0), [(slot, here)]);
        assert_eq!(place_counts(&w), [(here, 2)]);
        // Same place, another network: a second slot shares the place.
        w.remember(0, None, 4, &id(20), 30, None, vpn, paris, Some(here));
        assert_eq!(place_counts(&w), [(here, 3)]);
        // Same cell and network, another place: the slot is replaced, Paris counted once
        // less, the new place once.
        let first = at(&w, 0)[0].0;
        w.remember(0, Some(first), 4, &id(21), 31, None, net, near, None);
        let counts = place_counts(&w);
        assert_eq!(counts.len(), 2);
        assert!(counts.contains(&(here, 2)));
        // Reloaded: the same counts.
        let back = Windows::load(w.save()).unwrap();
        assert_eq!(place_counts(&back), counts);
        // Every slot gone: every place freed.
        w.drop_oldest_while(0, |_| true);
        w.drop_oldest_while(1, |_| true);
        assert_eq!(place_counts(&w), []);
        assert_eq!(w.locs.free.len(), 2);
    }

    #[test]
    fn windows_keep_time_order_and_share_places() {
        let mut w = Windows::default();
        let ip4 = Some("192.0.2.1".parse().unwrap());
        let ip6: Option<IpAddr> = Some("2001:db8::1".parse().unwrap());
        let net = NetClasses::default();
        let paris = probe(48.85, Some("Paris"));
        w.remember(0, None, 4, &CompactId::new("a"), 10, ip4, net, paris, None);
        w.remember(0, None, 4, &CompactId::new("c"), 30, ip6, net, paris, None);
        // A late event goes between.
        w.remember(
            0,
            None,
            4,
            &CompactId::new("b"),
            20,
            ip6,
            net,
            probe(1.0, None),
            None,
        );
        w.remember(1, None, 4, &CompactId::new("x"), 5, ip4, net, paris, None);
        assert_eq!(ids(&w, 0), ["a", "b", "c"]);
        assert_eq!(ids(&w, 1), ["x"]);
        // Same coordinates, another city: another place.
        w.remember(
            1,
            None,
            4,
            &CompactId::new("y"),
            6,
            None,
            net,
            probe(48.85, Some("Lyon")),
            None,
        );
        let cities: Vec<_> = w
            .iter(1)
            .map(|(_, s)| w.loc(s).unwrap().city.clone())
            .collect();
        assert_eq!(cities, [Some("Paris".into()), Some("Lyon".into())]);
        assert_eq!(w.counts(), (3, 0));
        let (_, b) = w.iter(0).nth(1).unwrap();
        assert_eq!(w.ip(b), ip6);
        assert_eq!(w.ip(w.iter(0).next().unwrap().1), ip4);

        // Full window: the oldest goes; the one at the same place is replaced.
        w.remember(0, None, 3, &CompactId::new("d"), 40, None, net, paris, None);
        assert_eq!(ids(&w, 0), ["b", "c", "d"]);
        let c = w.iter(0).nth(1).unwrap().0;
        w.remember(
            0,
            Some(c),
            3,
            &CompactId::new("e"),
            50,
            None,
            net,
            paris,
            None,
        );
        assert_eq!(ids(&w, 0), ["b", "d", "e"]);
        // Stale slots go, their places and IPs with them once unused.
        w.drop_oldest_while(0, |s| s.time_ns < 45);
        assert_eq!(ids(&w, 0), ["e"]);
        assert_eq!(w.counts(), (2, 2), "Paris, Lyon live; two slots free");
        assert_eq!(w.ipv6.free.len(), 1);
        // Freed slots are reused before the pool grows.
        let before = w.slots.len();
        w.remember(2, None, 4, &CompactId::new("z"), 60, ip6, net, paris, None);
        assert_eq!(w.slots.len(), before);
        assert_eq!(w.ipv6.free.len(), 0);

        // Ids: UUIDs in the slot, other ids in reused texts; each compared exactly.
        let uuid = CompactId::new("0231F922-93FA-4005-BB11-B344ECA03C01");
        w.remember(3, None, 4, &uuid, 70, None, net, paris, None);
        let (_, s) = w.iter(3).next().unwrap();
        assert!(w.is_event(s, &uuid));
        assert!(!w.is_event(s, &CompactId::new("0231f922-93fa-4005-bb11-b344eca03c01")));
        assert_eq!(w.event_id(s), uuid);
        let (_, z) = w.iter(2).next().unwrap();
        assert!(w.is_event(z, &CompactId::new("z")) && !w.is_event(z, &uuid));
        assert_eq!(
            w.texts.len(),
            5,
            "a, b, c, x, y; d and e took the texts of freed slots"
        );

        // Save and load give the same windows; a truncated load keeps the newest.
        let loaded = Windows::load(w.save()).unwrap();
        for user in 0..4 {
            assert_eq!(ids(&loaded, user), ids(&w, user));
        }
        assert_eq!(loaded.counts(), w.counts());
        let mut small = Windows::load(w.save()).unwrap();
        small.truncate(1);
        assert_eq!(ids(&small, 1), ["y"]);
    }

    #[test]
    fn the_sweep_drops_stale_windows_of_idle_users_round_robin() {
        let mut w = Windows::default();
        let net = NetClasses::default();
        for user in 0..5 {
            let id = CompactId::new(&format!("e{user}"));
            let t = if user == 3 { 100 } else { 10 };
            w.remember(
                user,
                None,
                4,
                &id,
                t,
                None,
                net,
                probe(user as f32, None),
                None,
            );
        }
        assert_eq!(w.counts(), (5, 0));
        // Two users per call: users 0, 1; then 2, 3 (3 is fresh); then 4, 0.
        w.sweep(2, |s| s.time_ns < 50);
        assert_eq!(
            (ids(&w, 0).len(), ids(&w, 1).len(), ids(&w, 2).len()),
            (0, 0, 1)
        );
        w.sweep(2, |s| s.time_ns < 50);
        assert_eq!(ids(&w, 2).len(), 0);
        assert_eq!(ids(&w, 3), ["e3"]);
        w.sweep(2, |s| s.time_ns < 50);
        assert_eq!(ids(&w, 4).len(), 0);
        assert_eq!(w.counts(), (1, 4), "one place and one slot left in use");
    }

    #[test]
    fn corrupt_windows_are_refused() {
        let mut w = Windows::default();
        let net = NetClasses::default();
        let p = probe(1.0, None);
        w.remember(0, None, 4, &CompactId::new("a"), 1, None, net, p, None);
        w.remember(0, None, 4, &CompactId::new("b"), 2, None, net, p, None);
        let mut cycle = w.save();
        cycle.slots[1].next = 1;
        assert!(Windows::load(cycle).unwrap_err().contains("twice"));
        let mut out = w.save();
        out.heads[0] = 9;
        assert!(Windows::load(out).is_err());
        let mut bad_loc = w.save();
        bad_loc.slots[0].loc = 7;
        assert!(Windows::load(bad_loc).is_err());
    }
}
