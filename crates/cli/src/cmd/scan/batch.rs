//! The batch `jetlag scan` holds between enrichment and detection, in a compact form.
//!
//! A [`SignIn`] is ~340 bytes plus its heap strings (the user agent alone is ~110 bytes),
//! and one growing `Vec<SignIn>` of a million of them doubled its way through fresh memory
//! (a third of a scan's CPU time went to the kernel clearing pages). Here each event is a
//! fixed-size [`Row`] of 40 bytes in chunks that never grow: the strings that repeat
//! (user, tenant, app, user agent, device) are interned once per batch, the last four
//! together as one [`Context`] (by the reading thread: see [`Contexts`]), and so is where
//! the event came from — its IP with everything enrichment said of it (location, AS,
//! network classes), a [`Place`], shared by every sign-in from that IP and enriched once
//! (the [`Sources`] table finds it by the fields as read); the strings that do not repeat
//! (event and session ids) sit in the chunk's own text.
//! [`Batch::order`] computes the detection order on indices, with exactly the semantics of
//! `jetlag_detect::order`, and [`Batch::fill`] writes an event back into one reused
//! `SignIn` for the engine: every field round-trips, so the alerts cannot change.

use std::hash::BuildHasher as _;
use std::net::IpAddr;

use compact_str::CompactString;
use jetlag_event::{Country, Geo, GeoSource, NetClasses, Outcome, SignIn, Source, Timestamp};
use rustc_hash::FxBuildHasher;

use super::slots::Slots;

/// Most events in one chunk (the slot is the low 12 bits of an index).
pub(super) const CHUNK: usize = 1 << SLOT_BITS;
const SLOT_BITS: u32 = 12;

/// An interned string: 0 is "none", `n` the interner's `n - 1`th string.
type Sym = u32;

/// "None" (or "did not fit") in a row's text offsets and lengths.
const NONE: u32 = u32::MAX;

// Presence bits of `Place::flags`.
const HAS_GEO: u8 = 1;
const GEO_FROM_LOG: u8 = 1 << 1;
const HAS_LAT: u8 = 1 << 2;
const HAS_LON: u8 = 1 << 3;
const HAS_RADIUS: u8 = 1 << 4;
const HAS_ASN: u8 = 1 << 5;

/// One event, every field of its [`SignIn`], in 40 bytes.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// The time as jiff holds it (seconds, and nanoseconds of the same sign): a
    /// [`Timestamp`] is 16 bytes with its padding.
    second: i64,
    nanosecond: i32,
    /// Where the event id starts in the chunk's text (the session id follows it); `NONE`
    /// when it did not fit (a chunk's text stays far below 4 GB).
    text: u32,
    event_id_len: u32,
    /// `NONE`: no session id.
    session_id_len: u32,
    user: Sym,
    /// Index of the event's [`Context`].
    context: u32,
    /// Index of the event's [`Place`] (every event has one, if only "nowhere").
    place: u32,
    source: Source,
    outcome: Outcome,
    mfa: Option<bool>,
}

impl Row {
    fn time(&self) -> Timestamp {
        // Always `Ok`: the parts are those of a `Timestamp`.
        Timestamp::new(self.second, self.nanosecond).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// What an event says of the client beside the user (tenant, app, user agent, device),
/// stored once per batch for all the events that share it: four look-ups of long strings
/// (a user agent is ~110 bytes) become one, and a row holds one index for the four.
#[derive(Debug, Clone, Copy)]
struct Context {
    /// The hash of the four strings as an event has them ([`Context::hash_of`]).
    hash: u64,
    tenant: Sym,
    app: Sym,
    user_agent: Sym,
    device_id: Sym,
}

/// A context as an event has it: tenant, app, user agent, device id.
type ContextKey<'a> = [Option<&'a str>; 4];

impl Context {
    fn key_of(ev: &SignIn) -> ContextKey<'_> {
        [
            ev.tenant.as_deref(),
            ev.app.as_deref(),
            ev.user_agent.as_deref(),
            ev.device_id.as_deref(),
        ]
    }

    fn hash_of(key: &ContextKey<'_>) -> u64 {
        weak(FxBuildHasher.hash_one(key))
    }

    /// The context `key` (of hash `h`), its strings interned in `strings`.
    fn new(key: &ContextKey<'_>, h: u64, strings: &mut Interner) -> Context {
        let [tenant, app, user_agent, device_id] = key.map(|s| strings.intern(s));
        Context {
            hash: h,
            tenant,
            app,
            user_agent,
            device_id,
        }
    }

    /// Whether this is the context `key` (of hash `h`).
    fn is(&self, h: u64, key: &ContextKey<'_>, strings: &Interner) -> bool {
        self.hash == h
            && [self.tenant, self.app, self.user_agent, self.device_id]
                .into_iter()
                .zip(key)
                .all(|(sym, s)| strings.get(sym) == *s)
    }
}

/// The contexts of a batch's events with their strings, interned by whoever reads the
/// events (`scan`'s reading thread, whose cache still holds an event's strings as it hands
/// the event over): the batch's own thread then never reads a user agent.
#[derive(Debug, Default)]
pub(super) struct Contexts {
    strings: Interner,
    stored: Stored<Context>,
}

impl Contexts {
    /// The index of `ev`'s context, added if new; for [`Batch::push`].
    pub(super) fn intern(&mut self, ev: &SignIn) -> Result<u32, TooLarge> {
        let key = Context::key_of(ev);
        let h = Context::hash_of(&key);
        let (i, _) = self.stored.intern(
            h,
            &mut self.strings,
            |c, strings| c.is(h, &key, strings),
            |strings| Context::new(&key, h, strings),
        )?;
        Ok(i)
    }
}

/// Where an event came from: its IP and all enrichment gave it, stored once per batch for
/// all the events that share it (a user signs in from a few IPs, again and again).
#[derive(Debug, Clone, Copy)]
struct Place {
    /// The hash of its [`PlaceKey`]: growing the table and most mismatches then read no
    /// strings.
    hash: u64,
    ip: Option<IpAddr>,
    /// `lat`, `lon`, `radius_km` as bits (present per `flags`), so equality is exact.
    coords: [u64; 3],
    asn: u32,
    network: NetClasses,
    country: Option<Country>,
    flags: u8,
    city: Sym,
    region: Sym,
    as_org: Sym,
}

/// A place as compared and hashed: a stored [`Place`] or an event's own fields.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PlaceKey<'a> {
    ip: Option<IpAddr>,
    coords: [u64; 3],
    asn: u32,
    network: NetClasses,
    country: Option<Country>,
    flags: u8,
    city: Option<&'a str>,
    region: Option<&'a str>,
    as_org: Option<&'a str>,
}

impl<'a> PlaceKey<'a> {
    fn hash(&self) -> u64 {
        weak(FxBuildHasher.hash_one(self))
    }

    fn of(ev: &'a SignIn) -> PlaceKey<'a> {
        let mut key = PlaceKey {
            ip: ev.ip,
            coords: [0; 3],
            asn: ev.asn.unwrap_or(0),
            network: ev.network,
            country: None,
            flags: if ev.asn.is_some() { HAS_ASN } else { 0 },
            city: None,
            region: None,
            as_org: ev.as_org.as_deref(),
        };
        if let Some(g) = &ev.geo {
            key.flags |= HAS_GEO;
            if g.source == GeoSource::Log {
                key.flags |= GEO_FROM_LOG;
            }
            for (i, (value, bit)) in [
                (g.lat, HAS_LAT),
                (g.lon, HAS_LON),
                (g.radius_km, HAS_RADIUS),
            ]
            .into_iter()
            .enumerate()
            {
                if let Some(v) = value {
                    key.flags |= bit;
                    key.coords[i] = v.to_bits();
                }
            }
            key.city = g.city.as_deref();
            key.region = g.region.as_deref();
            key.country = g.country;
        }
        key
    }
}

impl Place {
    /// The place `key` (of hash `h`), its strings interned in `strings`.
    fn new(key: &PlaceKey<'_>, h: u64, strings: &mut Interner) -> Place {
        Place {
            hash: h,
            ip: key.ip,
            coords: key.coords,
            asn: key.asn,
            network: key.network,
            country: key.country,
            flags: key.flags,
            city: strings.intern(key.city),
            region: strings.intern(key.region),
            as_org: strings.intern(key.as_org),
        }
    }

    /// The place of `ev`'s fields, its strings interned in `strings`.
    fn of(ev: &SignIn, strings: &mut Interner) -> Place {
        let key = PlaceKey::of(ev);
        Place::new(&key, key.hash(), strings)
    }

    #[cfg(test)]
    fn key<'a>(&self, strings: &'a Interner) -> PlaceKey<'a> {
        PlaceKey {
            ip: self.ip,
            coords: self.coords,
            asn: self.asn,
            network: self.network,
            country: self.country,
            flags: self.flags,
            city: strings.get(self.city),
            region: strings.get(self.region),
            as_org: strings.get(self.as_org),
        }
    }

    /// Whether this is the place `key` (of hash `h`): the cheap fields first, the strings
    /// last.
    fn is(&self, h: u64, key: &PlaceKey<'_>, strings: &Interner) -> bool {
        self.hash == h
            && self.ip == key.ip
            && self.coords == key.coords
            && self.asn == key.asn
            && self.network == key.network
            && self.country == key.country
            && self.flags == key.flags
            && strings.get(self.city) == key.city
            && strings.get(self.region) == key.region
            && strings.get(self.as_org) == key.as_org
    }

    fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }

    /// Coordinate `i` (0 lat, 1 lon, 2 radius) if present.
    fn coord(&self, i: usize, bit: u8) -> Option<f64> {
        self.has(bit).then(|| f64::from_bits(self.coords[i]))
    }
}

/// Entries that repeat across events (places, contexts), each stored once: the table
/// holds 4-byte indices compared by the entries they name, each entry keeping its own
/// hash, so growing the table and most mismatches read no strings.
#[derive(Debug)]
struct Stored<T> {
    ids: Slots,
    list: Vec<T>,
}

impl<T> Default for Stored<T> {
    fn default() -> Self {
        Stored {
            ids: Slots::default(),
            list: Vec::new(),
        }
    }
}

/// An entry of a [`Stored`] table, which knows its hash.
trait Hashed {
    fn hash(&self) -> u64;
}

impl Hashed for Place {
    fn hash(&self) -> u64 {
        self.hash
    }
}

impl Hashed for Context {
    fn hash(&self) -> u64 {
        self.hash
    }
}

impl<T: Hashed> Stored<T> {
    /// The index of the entry stored under `h` for which `is` holds, else of the entry
    /// `make` builds, added (`is` and `make` given `strings`); and whether it was added.
    fn intern(
        &mut self,
        h: u64,
        strings: &mut Interner,
        is: impl Fn(&T, &Interner) -> bool,
        make: impl FnOnce(&mut Interner) -> T,
    ) -> Result<(u32, bool), TooLarge> {
        let list = &self.list;
        if let Some(id) = self.ids.find(h, |id| is(&list[id as usize], strings)) {
            return Ok((id, false));
        }
        let id = u32::try_from(self.list.len()).map_err(|_| TooLarge)?;
        self.list.push(make(strings));
        let list = &self.list;
        self.ids.insert(h, id, |id| list[id as usize].hash());
        Ok((id, true))
    }

    /// The entry `h`'s probe names first, for [`Batch::push`] to fetch ahead.
    fn candidate(&self, h: u64) -> Option<(u32, &T)> {
        let id = self.ids.candidate(h)?;
        Some((id, &self.list[id as usize]))
    }
}

/// Where events came from as read, before enrichment: the source numbered `i` is the
/// batch's place `i` once enriched. Enrichment depends on nothing but these fields (see
/// `jetlag_enrich::Enricher::enrich`), so it runs once per distinct source, not once per
/// event (the scan bench's million sign-ins come from 120,000 IPs).
#[derive(Debug, Default)]
struct Sources {
    read: Stored<Place>,
    /// The one event enrichment is run on, holding only a source's fields.
    scratch: Option<SignIn>,
}

/// Up to [`CHUNK`] rows and the text of their unique strings; never reallocated once full.
#[derive(Debug)]
struct Chunk {
    rows: Vec<Row>,
    text: String,
}

impl Chunk {
    /// An empty chunk with room for exactly `events` (their rows and ids' text): it is
    /// neither grown nor shrunk, so it copies nothing and frees nothing (a freed block is
    /// handed back to the kernel, and its memory cleared again when it is reused).
    fn for_events(events: &[SignIn]) -> Chunk {
        let text = events
            .iter()
            .map(|ev| ev.event_id.len() + ev.session_id.as_ref().map_or(0, |s| s.len()))
            .sum();
        Chunk {
            rows: Vec::with_capacity(events.len()),
            text: String::with_capacity(text),
        }
    }

    fn event_id(&self, row: &Row) -> &str {
        if row.text == NONE {
            return "";
        }
        let at = row.text as usize;
        &self.text[at..at + row.event_id_len as usize]
    }

    fn session_id(&self, row: &Row) -> Option<&str> {
        if row.text == NONE || row.session_id_len == NONE {
            return None;
        }
        let at = row.text as usize + row.event_id_len as usize;
        Some(&self.text[at..at + row.session_id_len as usize])
    }
}

/// A string's hash for the batch's tables (FxHash: fast, and nothing here is adversarial
/// enough to need more than the tables' equality check).
fn hash(s: &str) -> u64 {
    weak(FxBuildHasher.hash_one(s))
}

/// A hash as is; in tests, while `tests::WEAK` is set, one of seven values, so that the
/// tables' slots and tags collide and every look-up goes through its equality checks.
#[cfg(not(test))]
#[inline(always)]
fn weak(h: u64) -> u64 {
    h
}

#[cfg(test)]
fn weak(h: u64) -> u64 {
    if tests::WEAK.get() { h % 7 } else { h }
}

/// Strings that repeat across events, stored once: the table holds 4-byte ids and compares
/// by the stored string, each string is hashed once per lookup.
#[derive(Debug, Default)]
struct Interner {
    ids: Slots,
    strings: Vec<CompactString>,
}

impl Interner {
    fn intern(&mut self, s: Option<&str>) -> Sym {
        let Some(s) = s else { return 0 };
        self.intern_hashed(s, hash(s))
    }

    /// [`intern`](Interner::intern) of `s`, whose [`hash`] is `h`.
    fn intern_hashed(&mut self, s: &str, h: u64) -> Sym {
        let strings = &self.strings;
        if let Some(id) = self.ids.find(h, |id| strings[id as usize - 1] == s) {
            return id;
        }
        self.strings.push(CompactString::from(s));
        let id = self.strings.len() as Sym;
        let strings = &self.strings;
        self.ids.insert(h, id, |id| hash(&strings[id as usize - 1]));
        id
    }

    /// The string `h`'s probe names first, for [`Batch::push`] to fetch ahead.
    fn candidate(&self, h: u64) -> Option<(Sym, &CompactString)> {
        let id = self.ids.candidate(h)?;
        Some((id, &self.strings[id as usize - 1]))
    }

    fn get(&self, sym: Sym) -> Option<&str> {
        sym.checked_sub(1)
            .map(|i| self.strings[i as usize].as_str())
    }
}

/// Every event of a scan, compact, in input order.
#[derive(Debug, Default)]
pub(super) struct Batch {
    chunks: Vec<Chunk>,
    strings: Interner,
    /// Given by [`Batch::set_contexts`] once every event is pushed.
    contexts: Contexts,
    /// Where events came from, with all enrichment said of it: one per [`Sources`] entry.
    places: Vec<Place>,
    /// Only while events are pushed: [`Batch::end_of_input`] drops it.
    sources: Sources,
    len: usize,
}

/// How far ahead [`Batch::push`] works: the table slots of an event's user and source are
/// fetched `2 * AHEAD` events before it is pushed, the entries they name `AHEAD` before.
const AHEAD: usize = 8;

/// The look-ahead's ring of [`Ahead`]s: a power of two above `2 * AHEAD`.
const RING: usize = 4 * AHEAD;

/// What [`Batch::push`] learnt of one event ahead of pushing it: the hashes of its user
/// and source, and the symbol and index their probes named first. Those are only
/// candidates, checked as the event is pushed (a tag can match another key, and an event
/// in between may have added the key), so the look-ahead changes nothing but speed.
#[derive(Debug, Clone, Copy, Default)]
struct Ahead {
    user_hash: u64,
    source_hash: u64,
    user: Option<Sym>,
    source: Option<u32>,
}

/// The batch cannot index more events (over four billion).
#[derive(Debug)]
pub(super) struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("more than 4 billion events in one scan")
    }
}

impl std::error::Error for TooLarge {}

impl Batch {
    /// Events held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Copies events into the batch (the next ones in input order), each as `enrich` makes
    /// it; `events` stay as they are, so the reader can reuse them and their strings'
    /// buffers. `contexts` holds one context index per event (anything else is a caller's
    /// bug, and panics), from the [`Contexts`] that [`set_contexts`](Batch::set_contexts)
    /// gives the batch at the end. `enrich` must read and write nothing but an event's `ip`,
    /// `geo`, `asn`, `as_org` and `network`, as `jetlag_enrich::Enricher::enrich` does: it
    /// is called once per distinct set of them.
    pub(super) fn push(
        &mut self,
        events: &[SignIn],
        contexts: &[u32],
        mut enrich: impl FnMut(&mut SignIn),
    ) -> Result<(), TooLarge> {
        assert_eq!(events.len(), contexts.len(), "one context index per event");
        if events.is_empty() {
            return Ok(());
        }
        if self.chunks.len() >= 1 << (32 - SLOT_BITS) {
            return Err(TooLarge);
        }
        let mut chunk = Chunk::for_events(&events[..events.len().min(CHUNK)]);
        // Three steps, each on a later event than the next: hash an event and fetch its
        // table slots; read the slots of the event `AHEAD` before it and fetch the entries
        // they name; push the event `2 * AHEAD` before it, whose entries are then at hand.
        // The cache misses of the look-ups overlap, where each one used to wait on its
        // own three in turn.
        let mut ahead = [Ahead::default(); RING];
        for j in 0..events.len() + 2 * AHEAD {
            if let Some(i) = j.checked_sub(2 * AHEAD) {
                if chunk.rows.len() == CHUNK {
                    let next = &events[i..events.len().min(i + CHUNK)];
                    self.finish_chunk(std::mem::replace(&mut chunk, Chunk::for_events(next)));
                    if self.chunks.len() >= 1 << (32 - SLOT_BITS) {
                        return Err(TooLarge);
                    }
                }
                let row = self.row(
                    &events[i],
                    contexts[i],
                    ahead[i % RING],
                    &mut chunk.text,
                    &mut enrich,
                )?;
                chunk.rows.push(row);
            }
            if let Some(k) = j.checked_sub(AHEAD)
                && k < events.len()
            {
                let a = &mut ahead[k % RING];
                a.user = self.strings.candidate(a.user_hash).map(|(sym, s)| {
                    jetlag_event::hint::prefetch(s);
                    sym
                });
                a.source = self.sources.read.candidate(a.source_hash).map(|(i, p)| {
                    jetlag_event::hint::prefetch(p);
                    i
                });
            }
            if let Some(ev) = events.get(j) {
                let a = &mut ahead[j % RING];
                a.user_hash = hash(&ev.user);
                a.source_hash = PlaceKey::of(ev).hash();
                self.strings.ids.prefetch(a.user_hash);
                self.sources.read.ids.prefetch(a.source_hash);
            }
        }
        self.finish_chunk(chunk);
        Ok(())
    }

    /// No more [`push`](Batch::push)es: frees what only they needed.
    pub(super) fn end_of_input(&mut self) {
        self.sources = Sources::default();
    }

    /// The contexts the pushed events' indices name.
    pub(super) fn set_contexts(&mut self, contexts: Contexts) {
        self.contexts = contexts;
    }

    /// The enriched place of `ev`, which is as read: enriched only if its source is new.
    /// `ahead` holds the source's hash and the candidate its probe named.
    fn place_of(
        &mut self,
        ev: &SignIn,
        ahead: Ahead,
        enrich: &mut impl FnMut(&mut SignIn),
    ) -> Result<u32, TooLarge> {
        let key = PlaceKey::of(ev);
        let h = ahead.source_hash;
        if let Some(source) = ahead.source
            && self.sources.read.list[source as usize].is(h, &key, &self.strings)
        {
            return Ok(source);
        }
        let (source, new) = self.sources.read.intern(
            h,
            &mut self.strings,
            |p, strings| p.is(h, &key, strings),
            |strings| Place::new(&key, h, strings),
        )?;
        if new {
            let e = self.sources.scratch.get_or_insert_with(scratch);
            e.ip = ev.ip;
            e.geo.clone_from(&ev.geo);
            e.asn = ev.asn;
            e.as_org.clone_from(&ev.as_org);
            e.network = ev.network;
            enrich(e);
            self.places.push(Place::of(e, &mut self.strings));
        }
        Ok(source)
    }

    fn finish_chunk(&mut self, chunk: Chunk) {
        self.len += chunk.rows.len();
        self.chunks.push(chunk);
    }

    fn row(
        &mut self,
        ev: &SignIn,
        context: u32,
        ahead: Ahead,
        text: &mut String,
        enrich: &mut impl FnMut(&mut SignIn),
    ) -> Result<Row, TooLarge> {
        let session = ev.session_id.as_deref();
        let need = ev.event_id.len() + session.map_or(0, str::len);
        // A chunk's text stays far below 4 GB (CHUNK events of bounded records).
        let (at, event_id_len, session_id_len) = if text.len() + need < NONE as usize {
            let at = text.len() as u32;
            text.push_str(&ev.event_id);
            if let Some(s) = session {
                text.push_str(s);
            }
            (
                at,
                ev.event_id.len() as u32,
                session.map_or(NONE, |s| s.len() as u32),
            )
        } else {
            (NONE, 0, NONE)
        };
        Ok(Row {
            second: ev.time.as_second(),
            nanosecond: ev.time.subsec_nanosecond(),
            text: at,
            event_id_len,
            session_id_len,
            user: match ahead.user {
                Some(sym) if self.strings.strings[sym as usize - 1] == ev.user => sym,
                _ => self.strings.intern_hashed(&ev.user, ahead.user_hash),
            },
            context,
            place: self.place_of(ev, ahead, enrich)?,
            source: ev.source,
            outcome: ev.outcome,
            mfa: ev.mfa,
        })
    }

    fn at(&self, index: u32) -> (&Chunk, &Row) {
        let chunk = &self.chunks[(index >> SLOT_BITS) as usize];
        (chunk, &chunk.rows[(index & (CHUNK as u32 - 1)) as usize])
    }

    fn event_id(&self, index: u32) -> &str {
        let (chunk, row) = self.at(index);
        chunk.event_id(row)
    }

    /// Asks the CPU to fetch the row of the event at `index` (some thirty-two events
    /// before its fill: rows are read in time order, which is not the input's).
    pub(super) fn prefetch_row(&self, index: u32) {
        jetlag_event::hint::prefetch(self.at(index).1);
    }

    /// The first of two look-aheads for the event at `index` (some sixteen events before
    /// its [`fill`](Batch::fill)): asks the CPU to fetch its ids' text, its context and its
    /// place, so that their cache misses overlap the work in between.
    pub(super) fn prefetch_far(&self, index: u32) {
        let (chunk, row) = self.at(index);
        if let Some(text) = chunk.text.as_bytes().get(row.text as usize..) {
            jetlag_event::hint::prefetch(&text[..text.len().min(1)]);
        }
        if let Some(place) = self.places.get(row.place as usize) {
            jetlag_event::hint::prefetch(place);
        }
        if let Some(context) = self.contexts.stored.list.get(row.context as usize) {
            jetlag_event::hint::prefetch(context);
        }
    }

    /// The second look-ahead (some eight events before the fill, the place now at hand):
    /// the strings the place names and the user's name, which only the place and the row
    /// say where to find.
    pub(super) fn prefetch_near(&self, index: u32) {
        let (_, row) = self.at(index);
        let strings = &self.strings.strings;
        let place = self.place(row);
        for sym in [row.user, place.city, place.region, place.as_org] {
            if let Some(s) = sym.checked_sub(1).and_then(|i| strings.get(i as usize)) {
                jetlag_event::hint::prefetch(s);
            }
        }
    }

    /// The event's id and time (the key of the engine's redelivery filter).
    pub(super) fn id_and_time(&self, index: u32) -> (&str, Timestamp) {
        let (chunk, row) = self.at(index);
        (chunk.event_id(row), row.time())
    }

    /// The event's user as interned by the batch: a number below
    /// [`symbols`](Batch::symbols), the same for every event of that user.
    pub(super) fn user(&self, index: u32) -> usize {
        self.at(index).1.user as usize
    }

    /// The numbers [`user`](Batch::user) may return are below this.
    pub(super) fn symbols(&self) -> usize {
        self.strings.strings.len() + 1
    }

    fn place(&self, row: &Row) -> &Place {
        &self.places[row.place as usize]
    }

    /// Every index, in input order.
    #[cfg(test)]
    fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.iter().enumerate().flat_map(|(c, chunk)| {
            (0..chunk.rows.len() as u32).map(move |s| (c as u32) << SLOT_BITS | s)
        })
    }

    /// The events to detect on, in order: `jetlag_detect::order`'s result as indices.
    ///
    /// Sorted by `(time, event_id)`, then user, source and tenant; of the copies of one
    /// event (`jetlag_detect::same_event`: one id of one user, source and tenant) only the
    /// least by `jetlag_detect::cmp_copies` is kept (the earliest, then by content), so the
    /// result depends on the input order in no way.
    pub(super) fn order(&self) -> Vec<u32> {
        // Per event, the index of the copy kept: a table of 4-byte indices hashed by their
        // event ids and compared by their identity (an 8-byte slot with its tag, at most
        // half full: 16 bytes an id; a map of `&str` keys took 25 a bucket).
        // Each chunk's ids are hashed first (their text is read in order), so that the
        // table slot of each is fetched sixteen ids before it is looked up.
        let mut first = Slots::with_capacity(self.len);
        let mut hashes: Vec<u64> = Vec::with_capacity(CHUNK);
        // Two events to compare copies that differ in more than their time by.
        let mut scratch = (scratch(), scratch());
        // The first and last second of the batch, for the sort keys below.
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (c, chunk) in self.chunks.iter().enumerate() {
            hashes.clear();
            hashes.extend(chunk.rows.iter().map(|row| {
                lo = lo.min(row.second);
                hi = hi.max(row.second);
                hash(chunk.event_id(row))
            }));
            for (s, &h) in hashes.iter().enumerate() {
                if let Some(&next) = hashes.get(s + 16) {
                    first.prefetch(next);
                }
                let i = (c as u32) << SLOT_BITS | s as u32;
                match first.position(h, |j| self.same_event(i, j)) {
                    Some(at) => {
                        if self.cmp_copies(i, first.value(at), &mut scratch).is_lt() {
                            first.replace(at, i);
                        }
                    }
                    None => first.insert(h, i, |j| hash(self.event_id(j))),
                }
            }
        }
        drop(hashes);
        // The copies kept, as bits by index, so that their times are then read in input
        // order (the rows one after another, not at the table's random order).
        let kept = first.len();
        let mut bits = vec![0u64; (self.chunks.len() << SLOT_BITS).div_ceil(64)];
        for i in first.values() {
            bits[i as usize / 64] |= 1 << (i % 64);
        }
        drop(first);
        if hi.checked_sub(lo).is_some_and(|span| span < 1 << 32) {
            // Any span of logs (2^32 seconds are 136 years): the second and the index in
            // a `u64` (half the memory and time of a `u128` key); within one second the
            // nanoseconds order the times, as jiff's seconds and nanoseconds share a sign.
            self.sorted(
                &bits,
                kept,
                |row, i| ((row.second - lo) as u64) << 32 | u64::from(i),
                |a, b| {
                    self.at(a)
                        .1
                        .nanosecond
                        .cmp(&self.at(b).1.nanosecond)
                        .then_with(|| self.cmp_identity(a, b))
                },
            )
        } else {
            self.sorted(
                &bits,
                kept,
                |row, i| time_key(row.time()) << 32 | u128::from(i),
                |a, b| self.cmp_identity(a, b),
            )
        }
    }

    /// The order of the events at `a` and `b` by what makes each itself, as
    /// `jetlag_detect::order` sorts the events of one time: event id, then user, source,
    /// tenant (read only when the ids are equal, which they rarely are).
    fn cmp_identity(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let ((ca, ra), (cb, rb)) = (self.at(a), self.at(b));
        ca.event_id(ra).cmp(cb.event_id(rb)).then_with(|| {
            let user = |row: &Row| self.strings.get(row.user).unwrap_or_default();
            (user(ra), ra.source, self.tenant(ra)).cmp(&(user(rb), rb.source, self.tenant(rb)))
        })
    }

    fn tenant(&self, row: &Row) -> Option<&str> {
        let context = &self.contexts.stored.list[row.context as usize];
        self.contexts.strings.get(context.tenant)
    }

    /// Whether the events at `a` and `b` are copies of one event
    /// (`jetlag_detect::same_event`). Users and tenants are interned: equal symbols, equal
    /// strings.
    fn same_event(&self, a: u32, b: u32) -> bool {
        let ((ca, ra), (cb, rb)) = (self.at(a), self.at(b));
        let tenant = |row: &Row| self.contexts.stored.list[row.context as usize].tenant;
        ca.event_id(ra) == cb.event_id(rb)
            && ra.user == rb.user
            && ra.source == rb.source
            && tenant(ra) == tenant(rb)
    }

    /// `jetlag_detect::cmp_copies` of the copies at `a` and `b` (of one event): their times,
    /// then, only when they differ in more than that, the whole events, written into
    /// `scratch`. Places and contexts are interned, so equal indices are equal content.
    fn cmp_copies(&self, a: u32, b: u32, scratch: &mut (SignIn, SignIn)) -> std::cmp::Ordering {
        let ((ca, ra), (cb, rb)) = (self.at(a), self.at(b));
        let by_time = (ra.second, ra.nanosecond).cmp(&(rb.second, rb.nanosecond));
        if by_time.is_ne() {
            return by_time;
        }
        if ra.place == rb.place
            && ra.context == rb.context
            && ra.outcome == rb.outcome
            && ra.mfa == rb.mfa
            && ca.session_id(ra) == cb.session_id(rb)
        {
            return std::cmp::Ordering::Equal;
        }
        self.fill(a, &mut scratch.0);
        self.fill(b, &mut scratch.1);
        jetlag_detect::cmp_copies(&scratch.0, &scratch.1)
    }

    /// The kept events (`bits`, `kept` of them; their rows read in input order) sorted by
    /// `key` (a time in its upper bits, the index in its lower 32: a plain integer sort),
    /// then each run of one time by `tie`.
    fn sorted<K: Key>(
        &self,
        bits: &[u64],
        kept: usize,
        key: impl Fn(&Row, u32) -> K,
        tie: impl Fn(u32, u32) -> std::cmp::Ordering,
    ) -> Vec<u32> {
        let mut keep: Vec<K> = Vec::with_capacity(kept);
        for (c, chunk) in self.chunks.iter().enumerate() {
            for (s, row) in chunk.rows.iter().enumerate() {
                let i = (c as u32) << SLOT_BITS | s as u32;
                if bits[i as usize / 64] & 1 << (i % 64) != 0 {
                    keep.push(key(row, i));
                }
            }
        }
        keep.sort_unstable();
        let mut rest = &mut keep[..];
        while let Some(&head) = rest.first() {
            let run = rest.iter().take_while(|k| k.time() == head.time()).count();
            let (same, tail) = rest.split_at_mut(run);
            if run > 1 {
                same.sort_unstable_by(|a, b| tie(a.index(), b.index()));
            }
            rest = tail;
        }
        keep.into_iter().map(Key::index).collect()
    }

    /// Writes the event at `index` (from [`order`](Batch::order)) into `out`, reusing its
    /// strings' buffers: no allocation once `out` has held strings this long.
    pub(super) fn fill(&self, index: u32, out: &mut SignIn) {
        let (chunk, row) = self.at(index);
        let s = |sym| self.strings.get(sym);
        put(&mut out.event_id, chunk.event_id(row));
        out.time = row.time();
        out.source = row.source;
        put(&mut out.user, s(row.user).unwrap_or_default());
        let context = &self.contexts.stored.list[row.context as usize];
        let c = |sym| self.contexts.strings.get(sym);
        put_opt(&mut out.tenant, c(context.tenant));
        out.outcome = row.outcome;
        put_opt(&mut out.app, c(context.app));
        put_opt(&mut out.user_agent, c(context.user_agent));
        put_opt(&mut out.device_id, c(context.device_id));
        put_opt(&mut out.session_id, chunk.session_id(row));
        out.mfa = row.mfa;
        let place = self.place(row);
        out.ip = place.ip;
        if !place.has(HAS_GEO) {
            out.geo = None;
        } else {
            let geo = out.geo.get_or_insert_with(|| Geo {
                lat: None,
                lon: None,
                radius_km: None,
                city: None,
                region: None,
                country: None,
                source: GeoSource::Geoip,
            });
            geo.lat = place.coord(0, HAS_LAT);
            geo.lon = place.coord(1, HAS_LON);
            geo.radius_km = place.coord(2, HAS_RADIUS);
            put_opt(&mut geo.city, s(place.city));
            put_opt(&mut geo.region, s(place.region));
            geo.country = place.country;
            geo.source = if place.has(GEO_FROM_LOG) {
                GeoSource::Log
            } else {
                GeoSource::Geoip
            };
        }
        out.asn = place.has(HAS_ASN).then_some(place.asn);
        put_opt(&mut out.as_org, s(place.as_org));
        out.network = place.network;
    }
}

/// A sort key of [`Batch::order`]: a time in the upper bits, an index in the lower 32.
trait Key: Copy + Ord {
    fn time(self) -> Self;
    fn index(self) -> u32;
}

impl Key for u64 {
    fn time(self) -> u64 {
        self >> 32
    }
    fn index(self) -> u32 {
        self as u32
    }
}

impl Key for u128 {
    fn time(self) -> u128 {
        self >> 32
    }
    fn index(self) -> u32 {
        self as u32
    }
}

/// A timestamp as an unsigned integer of the same order, below 2^70 (jiff's timestamps
/// span less than ±2^69 nanoseconds), so `time_key(t) << 32 | index` fits in a `u128`.
fn time_key(t: Timestamp) -> u128 {
    (t.as_nanosecond() + (1 << 69)) as u128
}

fn put(dst: &mut CompactString, src: &str) {
    if dst != src {
        dst.clear();
        dst.push_str(src);
    }
}

fn put_opt(dst: &mut Option<CompactString>, src: Option<&str>) {
    match (dst.as_mut(), src) {
        (Some(d), Some(s)) => put(d, s),
        (None, Some(s)) => *dst = Some(CompactString::from(s)),
        (_, None) => *dst = None,
    }
}

/// A `SignIn` to [`fill`](Batch::fill).
pub(super) fn scratch() -> SignIn {
    SignIn::new("", Timestamp::UNIX_EPOCH, Source::Csv, "", Outcome::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetlag_event::NetClass;
    use std::cell::Cell;

    thread_local! {
        /// Hash into seven values (see `weak`).
        pub(super) static WEAK: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `test` with real hashes, then with hashes that all collide.
    fn with_and_without_collisions(test: impl Fn()) {
        test();
        WEAK.set(true);
        test();
        WEAK.set(false);
    }

    /// A small deterministic generator.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn opt(&mut self, choices: &[&str]) -> Option<CompactString> {
            let i = self.below(choices.len() as u64 + 1) as usize;
            choices.get(i).map(|s| CompactString::from(*s))
        }
    }

    /// Events with every field varied: present or absent, short (inline) and long strings,
    /// both geo sources, IPv4 and IPv6, repeated ids and equal times.
    fn events(rng: &mut Rng, n: usize) -> Vec<SignIn> {
        let long =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)";
        let extremes = rng.below(2) == 0;
        (0..n)
            .map(|i| {
                // Mostly a few equal times; sometimes times a fraction apart within one
                // second, negative ones (jiff keeps seconds and nanoseconds of one sign)
                // and, in half the batches, the extremes (so `order` sorts by the
                // nanosecond).
                let t = match rng.below(16) {
                    0 if extremes => Timestamp::MIN,
                    1 if extremes => Timestamp::MAX,
                    0 => Timestamp::from_nanosecond(-1_500_000_001).unwrap(),
                    1 => Timestamp::from_nanosecond(-1_000_000_000).unwrap(),
                    2 => Timestamp::from_nanosecond(-500_000_000).unwrap(),
                    3 => Timestamp::from_nanosecond(1_700_000_000_123_456_789).unwrap(),
                    4 => Timestamp::from_nanosecond(1_700_000_000_000_000_001).unwrap(),
                    _ => Timestamp::from_second(1_700_000_000 + rng.below(7) as i64).unwrap(),
                };
                let outcome =
                    [Outcome::Success, Outcome::Failure, Outcome::Unknown][rng.below(3) as usize];
                let source = [Source::Entra, Source::Okta, Source::Csv][rng.below(3) as usize];
                let mut e = SignIn::new(
                    format!("id-{}", rng.below(40)),
                    t,
                    source,
                    format!("user{}@example.com", rng.below(4)),
                    outcome,
                );
                e.tenant = rng.opt(&["t1", "a-much-longer-tenant-identifier-0001"]);
                e.ip = match rng.below(3) {
                    0 => None,
                    1 => Some(IpAddr::from([10, 0, 0, rng.below(2) as u8])),
                    _ => Some("2001:db8::1".parse().unwrap()),
                };
                e.app = rng.opt(&["Office 365", ""]);
                e.user_agent = rng.opt(&[long, "curl/8"]);
                e.device_id = rng.opt(&["dev-1"]);
                e.session_id = rng
                    .opt(&["s"])
                    .map(|_| format!("session-{i}-of-a-long-batch").into());
                e.mfa = [None, Some(true), Some(false)][rng.below(3) as usize];
                e.geo = (rng.below(4) > 0).then(|| Geo {
                    lat: (rng.below(5) > 0).then_some(-33.8688),
                    lon: (rng.below(5) > 0).then_some(151.2093),
                    radius_km: (rng.below(2) > 0).then_some(50.0),
                    city: rng.opt(&["Sydney", "Llanfairpwllgwyngyll-gogerychwyrndrobwll"]),
                    region: rng.opt(&["NSW"]),
                    country: (rng.below(2) > 0).then(|| Country::from_code("AU").unwrap()),
                    source: if rng.below(2) > 0 {
                        GeoSource::Log
                    } else {
                        GeoSource::Geoip
                    },
                });
                e.asn = [None, Some(0), Some(13335)][rng.below(3) as usize];
                e.as_org = rng.opt(&["Cloudflare, Inc."]);
                if rng.below(3) == 0 {
                    e.network.insert(NetClass::Vpn);
                    e.network.insert(NetClass::Mobile);
                }
                e
            })
            .collect()
    }

    /// How many distinct sources (ip, geo, asn, as_org, network) `events` have.
    fn distinct_sources(events: &[SignIn]) -> usize {
        events
            .iter()
            .map(|e| {
                format!(
                    "{:?}{:?}{:?}{:?}{:?}",
                    e.ip, e.geo, e.asn, e.as_org, e.network
                )
            })
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// Pushes `events` as `scan` does: their contexts interned in `contexts` first.
    fn push(
        batch: &mut Batch,
        contexts: &mut Contexts,
        events: &[SignIn],
        enrich: impl FnMut(&mut SignIn),
    ) {
        let ids: Vec<u32> = events.iter().map(|e| contexts.intern(e).unwrap()).collect();
        batch.push(events, &ids, enrich).unwrap();
    }

    fn batch_of(events: &[SignIn], rng: &mut Rng) -> Batch {
        let mut batch = Batch::default();
        let mut contexts = Contexts::default();
        let mut rest = events;
        while !rest.is_empty() {
            // Chunks of random sizes: many chunks, some of one event.
            let n = (rng.below(9) as usize + 1).min(rest.len());
            push(&mut batch, &mut contexts, &rest[..n], |_| {});
            rest = &rest[n..];
        }
        batch.set_contexts(contexts);
        batch
    }

    #[test]
    fn every_field_round_trips_through_one_reused_signin() {
        with_and_without_collisions(|| {
            let mut rng = Rng(0x5eed_0001);
            let evs = events(&mut rng, 500);
            let batch = batch_of(&evs, &mut rng);
            assert_eq!(batch.len(), evs.len());
            let mut out = scratch();
            for (i, ev) in batch.indices().zip(&evs) {
                batch.fill(i, &mut out);
                assert_eq!(&out, ev);
            }
        });
    }

    /// The batch's order is exactly `jetlag_detect::order`'s, whatever the chunking:
    /// random batches full of repeated ids, equal times and full ties.
    #[test]
    fn order_equals_jetlag_detect_order() {
        with_and_without_collisions(order_equals_jetlag_detect_order_once);
    }

    fn order_equals_jetlag_detect_order_once() {
        let mut rng = Rng(0x5eed_0002);
        for round in 0..200 {
            let n = rng.below(80) as usize + usize::from(round == 0) * 9000;
            let evs = events(&mut rng, n);
            let batch = batch_of(&evs, &mut rng);
            let mut expected = evs.clone();
            jetlag_detect::order(&mut expected);
            let mut out = scratch();
            let got: Vec<SignIn> = batch
                .order()
                .into_iter()
                .map(|i| {
                    batch.fill(i, &mut out);
                    out.clone()
                })
                .collect();
            assert_eq!(got, expected, "round {round}");
        }
    }

    #[test]
    fn rows_stay_small_and_places_are_shared() {
        assert!(
            std::mem::size_of::<Row>() <= 40,
            "{}",
            std::mem::size_of::<Row>()
        );
        let mut rng = Rng(0x5eed_0004);
        let evs = events(&mut rng, 2000);
        let batch = batch_of(&evs, &mut rng);
        let distinct = distinct_sources(&evs);
        assert_eq!(batch.places.len(), distinct);
        for p in &batch.places {
            assert_eq!(p.hash, FxBuildHasher.hash_one(p.key(&batch.strings)));
            assert!(p.is(p.hash, &p.key(&batch.strings), &batch.strings));
        }
    }

    /// A stand-in for the enricher, a function of an event's source fields only: a radius
    /// for log locations, a GeoIP location where there is none, an AS and a class by IP.
    fn enrich(ev: &mut SignIn) {
        if let Some(g) = &mut ev.geo
            && g.radius_km.is_none()
        {
            g.radius_km = Some(25.0);
        }
        let Some(ip) = ev.ip else { return };
        if ev.geo.is_none() {
            ev.geo = Some(Geo {
                lat: Some(48.85),
                lon: Some(2.35),
                radius_km: Some(100.0),
                city: Some(format!("city of {ip}").into()),
                region: None,
                country: Country::from_code("FR"),
                source: GeoSource::Geoip,
            });
        }
        ev.asn
            .get_or_insert(if ip.is_ipv4() { 64_500 } else { 64_501 });
        ev.as_org.get_or_insert_with(|| "Example AS".into());
        if ip.is_ipv6() {
            ev.network.insert(NetClass::Hosting);
        }
    }

    /// Enriching once per source gives every event exactly what enriching it alone gives,
    /// and the enricher runs once per distinct source.
    #[test]
    fn each_source_is_enriched_once_with_the_same_result() {
        with_and_without_collisions(each_source_is_enriched_once_with_the_same_result_once);
    }

    fn each_source_is_enriched_once_with_the_same_result_once() {
        let mut rng = Rng(0x5eed_0005);
        let mut evs = events(&mut rng, 3000);
        // Sources repeat, as they do in logs: most events take an earlier one's.
        for i in 0..evs.len() {
            if rng.below(4) > 0 {
                let from = evs[rng.below(i as u64 / 2 + 1) as usize].clone();
                let e = &mut evs[i];
                (e.ip, e.geo, e.asn, e.as_org, e.network) =
                    (from.ip, from.geo, from.asn, from.as_org, from.network);
            }
        }
        let mut batch = Batch::default();
        let mut contexts = Contexts::default();
        let mut calls = 0;
        for chunk in evs.chunks(7) {
            push(&mut batch, &mut contexts, chunk, |ev| {
                calls += 1;
                enrich(ev);
            });
        }
        batch.end_of_input();
        batch.set_contexts(contexts);
        assert!(batch.sources.read.list.is_empty());
        let distinct = distinct_sources(&evs);
        assert_eq!(calls, distinct);
        assert!(calls < evs.len() / 2, "{calls} of {}", evs.len());
        let mut out = scratch();
        for (i, ev) in batch.indices().zip(&evs) {
            let mut expected = ev.clone();
            enrich(&mut expected);
            batch.fill(i, &mut out);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn time_keys_keep_the_order_of_times() {
        let times = [
            Timestamp::MIN,
            Timestamp::from_second(-1).unwrap(),
            Timestamp::UNIX_EPOCH,
            Timestamp::from_nanosecond(1).unwrap(),
            Timestamp::from_second(1_700_000_000).unwrap(),
            Timestamp::MAX,
        ];
        for w in times.windows(2) {
            assert!(time_key(w[0]) < time_key(w[1]), "{} < {}", w[0], w[1]);
        }
        assert!(time_key(Timestamp::MAX) < 1 << 70);
        assert_eq!(
            time_key(Timestamp::MAX) << 32 >> 32,
            time_key(Timestamp::MAX)
        );
    }

    #[test]
    fn a_full_chunk_starts_another() {
        let mut rng = Rng(0x5eed_0003);
        let evs = events(&mut rng, CHUNK + 3);
        let mut batch = Batch::default();
        let mut contexts = Contexts::default();
        push(&mut batch, &mut contexts, &evs, |_| {});
        batch.set_contexts(contexts);
        assert_eq!(batch.chunks.len(), 2);
        assert_eq!(batch.len(), CHUNK + 3);
        let mut out = scratch();
        batch.fill(1 << SLOT_BITS | 2, &mut out);
        assert_eq!(out, evs[CHUNK + 2]);
    }
}
