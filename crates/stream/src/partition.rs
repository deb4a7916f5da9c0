//! One partition of a keyed stream: its detection engine behind a reorder buffer, and the
//! checkpoint that carries both to whichever worker owns the partition next.
//!
//! Events of one key reach a partition from several input partitions, interleaved in
//! whatever order the stage-1 workers ran. To give the engine the `(time, event_id)` order
//! `jetlag scan` gives it, events wait in a buffer until every input partition's
//! [`Watermark`] has passed their time (the technique of Flink and Beam): then they are
//! released in order. An event older than what was already released is *late*; it goes to
//! the engine at once, which tolerates it (see `jetlag_detect::Detector`).
//!
//! A `by-user` partition also takes part in the **population exchange** (see
//! `jetlag_detect::population`): `new_country` and `unfamiliar_signin` read org-wide figures
//! frozen at the start of each epoch. The partition publishes its own contributions of
//! every finished epoch ([`PopulationRecord`]s, on the population topic) and releases an
//! event of epoch *e* only once it holds every `by-user` partition's contributions of the
//! epochs before *e* — so its engine sees exactly the figures `jetlag scan`'s engine sees.
//!
//! Everything here is deterministic in the sequence of records read (population records
//! only decide *when* events are released, never in which order or against which
//! figures), so replaying a partition from a checkpoint produces the same alerts, with the
//! same ids.

use std::collections::BTreeMap;
use std::sync::Arc;

use jetlag_detect::{DetectConfig, Engine};
use jetlag_event::{Alert, SignIn, Source};
use jetlag_roster::Roster;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::wire::{PopulationRecord, Watermark};

/// Version of the checkpoint layout.
const CHECKPOINT_VERSION: u32 = 2;

/// A `by-user` partition's side of the population exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Share {
    /// This partition's number, and how many `by-user` partitions there are.
    me: u32,
    of: u32,
    /// Epoch length in nanoseconds.
    epoch_ns: i128,
    /// Per `by-user` partition: every contribution of the epochs before this is held.
    frontiers: Vec<i64>,
    /// Own frontier: every own contribution of the epochs before this is published.
    published: i64,
    /// Records to publish (drained by [`Partition::take_population`]).
    outgoing: Vec<PopulationRecord>,
}

impl Share {
    /// Every partition's contributions of the epochs before this are held.
    fn complete(&self) -> i64 {
        self.frontiers.iter().copied().min().unwrap_or(i64::MIN)
    }

    /// Events before this time (ns) may be released: those of the epochs up to
    /// [`Share::complete`].
    fn gate(&self) -> i128 {
        match self.complete() {
            i64::MIN => i128::MIN,
            i64::MAX => i128::MAX,
            c => (i128::from(c) + 1).saturating_mul(self.epoch_ns),
        }
    }

    /// The epoch of a time in ns (`i64::MAX` for the end of time).
    fn epoch(&self, t: i128) -> i64 {
        if t == i128::MAX {
            return i64::MAX;
        }
        i64::try_from(t.div_euclid(self.epoch_ns)).unwrap_or(i64::MAX - 1)
    }
}

/// A buffered event's place in the buffer: its time (ns) and what makes it itself
/// (`jetlag_detect::same_event`: event id, user, source, tenant), in the order
/// `jetlag_detect::order` puts events.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: i128,
    event_id: String,
    user: String,
    source: Source,
    tenant: Option<String>,
}

impl Key {
    fn of(ev: &SignIn) -> Key {
        Key {
            time: ev.time.as_nanosecond(),
            event_id: ev.event_id.to_string(),
            user: ev.user.to_string(),
            source: ev.source,
            tenant: ev.tenant.as_ref().map(ToString::to_string),
        }
    }

    /// The least key of time `time` (every key of that time or later is not less).
    fn first_at(time: i128) -> Key {
        Key {
            time,
            event_id: String::new(),
            user: String::new(),
            source: Source::Entra,
            tenant: None,
        }
    }
}

/// Buffers `ev`; of two copies of one event, the one `jetlag_detect::cmp_copies` puts first
/// stays, whichever arrived first (as `scan` chooses).
fn keep_one(buffer: &mut BTreeMap<Key, SignIn>, ev: SignIn) {
    match buffer.entry(Key::of(&ev)) {
        std::collections::btree_map::Entry::Vacant(slot) => {
            slot.insert(ev);
        }
        std::collections::btree_map::Entry::Occupied(mut slot) => {
            if jetlag_detect::cmp_copies(&ev, slot.get()).is_lt() {
                slot.insert(ev);
            }
        }
    }
}

/// The detection state of one partition.
pub struct Partition {
    engine: Engine,
    /// Events waiting for the watermark, by time and identity (`jetlag_detect::order`'s
    /// order), one copy of each event.
    buffer: BTreeMap<Key, SignIn>,
    /// Per input partition, the event time (ns) it has announced it is past.
    watermarks: Vec<i64>,
    /// Events before this time (ns) have been released.
    released: i128,
    /// Whether every input partition has ended and `Engine::finish` has run (drain mode).
    finished: bool,
    /// The population exchange (`by-user` partitions whose engine reads population figures).
    share: Option<Share>,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("buffered", &self.buffer.len())
            .field("released", &self.released)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// A checkpoint: a partition's state and where in the partition (and in the alert topic)
/// it stands.
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    version: u32,
    /// The offset of the next record of the partition to read.
    pub next_offset: i64,
    /// The end offsets of the alert topic's partitions once every alert of this partition
    /// before the checkpoint was acknowledged: alerts after them may be repeats on replay.
    pub alerts_end: Vec<i64>,
    /// Whether the partition has finished (drain mode).
    pub finished: bool,
    watermarks: Vec<i64>,
    released: i128,
    /// Buffered events, as their JSON.
    buffer: Vec<Vec<u8>>,
    engine: Vec<u8>,
    share: Option<Share>,
}

impl Partition {
    /// A fresh partition running the detectors enabled in `config`.
    pub fn new(config: &DetectConfig, roster: Arc<Roster>) -> Partition {
        Partition {
            engine: Engine::new(config, roster),
            buffer: BTreeMap::new(),
            watermarks: Vec::new(),
            released: i128::MIN,
            finished: false,
            share: None,
        }
    }

    /// A fresh partition `me` of the `of` `by-user` partitions, exchanging population
    /// figures with the others (when an enabled detector reads them; otherwise as
    /// [`Partition::new`]).
    pub fn with_population(
        config: &DetectConfig,
        roster: Arc<Roster>,
        me: u32,
        of: u32,
    ) -> Partition {
        let mut p = Partition::new(config, roster);
        if let Some(epoch_s) = p.engine.population_epoch_s() {
            p.engine.share_population();
            p.share = Some(Share {
                me,
                of,
                epoch_ns: i128::from(epoch_s) * 1_000_000_000,
                frontiers: vec![i64::MIN; of as usize],
                published: i64::MIN,
                outgoing: Vec::new(),
            });
        }
        p
    }

    /// Whether this partition takes part in the population exchange.
    pub fn shares_population(&self) -> bool {
        self.share.is_some()
    }

    /// Whether events wait for other partitions' population figures (not for watermarks).
    pub fn waits_for_population(&self) -> bool {
        self.share.as_ref().is_some_and(|s| {
            self.buffer
                .keys()
                .next()
                .is_some_and(|k| k.time >= s.gate())
        })
    }

    /// The population records to publish, in order (keyed by this partition).
    pub fn take_population(&mut self) -> Vec<PopulationRecord> {
        self.share
            .as_mut()
            .map(|s| std::mem::take(&mut s.outgoing))
            .unwrap_or_default()
    }

    /// A population record arrives (any `by-user` partition's, this one's included, in
    /// the order of the population topic; repeats are harmless); events it lets through
    /// go to the engine. In drain mode, once everything is released, the engine finishes.
    /// Returns whether the record was new to this partition (its state changed).
    pub fn population(
        &mut self,
        rec: &PopulationRecord,
        drain: bool,
        out: &mut Vec<Alert>,
    ) -> bool {
        let Some(share) = &mut self.share else {
            return false;
        };
        let Some(frontier) = share.frontiers.get_mut(rec.source as usize) else {
            tracing::warn!(
                source = rec.source,
                of = rec.of,
                "population record of an unknown partition"
            );
            return false;
        };
        if rec.to <= *frontier {
            return false; // already held
        }
        let from = *frontier;
        for (epoch, figures) in &rec.epochs {
            if *epoch >= from {
                self.engine.receive_population(*epoch, figures);
            }
        }
        *frontier = rec.to;
        self.pump(drain, out);
        true
    }

    /// Events waiting for the watermark.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Whether every input partition has ended and the engine has finished.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// An event arrives.
    pub fn event(&mut self, ev: SignIn, out: &mut Vec<Alert>) {
        let t = ev.time.as_nanosecond();
        if t < self.released {
            self.engine.observe(&ev, out);
            return;
        }
        keep_one(&mut self.buffer, ev);
    }

    /// A watermark arrives; events it lets through go to the engine in order. In drain
    /// mode, once every input partition has ended, the engine finishes.
    pub fn watermark(&mut self, wm: Watermark, drain: bool, out: &mut Vec<Alert>) {
        let of = wm.of as usize;
        if self.watermarks.len() < of {
            self.watermarks.resize(of, i64::MIN);
        }
        let Some(slot) = self.watermarks.get_mut(wm.up as usize) else {
            return;
        };
        if wm.until_ns <= *slot {
            return;
        }
        *slot = wm.until_ns;
        self.pump(drain, out);
    }

    /// Every input partition sends nothing before this (ns).
    fn until(&self) -> i128 {
        match self.watermarks.iter().copied().min().unwrap_or(i64::MIN) {
            i64::MAX => i128::MAX,
            low => i128::from(low),
        }
    }

    /// Releases what the watermarks and the population figures held let through,
    /// publishes the epochs that are over, and finishes at the end of a drain.
    fn pump(&mut self, drain: bool, out: &mut Vec<Alert>) {
        let until = self.until();
        let bound = match &self.share {
            Some(s) => until.min(s.gate()),
            None => until,
        };
        if bound > self.released {
            self.release(bound, out);
        }
        if let Some(share) = &mut self.share
            && until > i128::from(i64::MIN)
        {
            // Every event before `seen` is observed: events arrive at or after the
            // watermark, and the buffer holds the rest.
            let first = self.buffer.keys().next().map_or(i128::MAX, |k| k.time);
            let frontier = share.epoch(until.min(first));
            if frontier > share.published {
                self.engine.close_population(frontier);
                share.outgoing.push(PopulationRecord {
                    source: share.me,
                    of: share.of,
                    from: share.published,
                    to: frontier,
                    epochs: self.engine.take_sealed_population(),
                });
                share.published = frontier;
            }
        }
        if drain && until == i128::MAX && self.buffer.is_empty() && !self.finished {
            self.engine.finish(out);
            self.finished = true;
        }
    }

    fn release(&mut self, until: i128, out: &mut Vec<Alert>) {
        let keep = match until {
            i128::MAX => BTreeMap::new(),
            _ => self.buffer.split_off(&Key::first_at(until)),
        };
        for ev in std::mem::replace(&mut self.buffer, keep).into_values() {
            self.engine.observe(&ev, out);
        }
        self.released = until;
    }

    /// The checkpoint of this partition at `next_offset`.
    ///
    /// # Errors
    /// [`Error::Detect`] or [`Error::Encode`] if the state cannot be encoded.
    pub fn checkpoint(&self, next_offset: i64, alerts_end: Vec<i64>) -> Result<Vec<u8>, Error> {
        let buffer = self
            .buffer
            .values()
            .map(|ev| serde_json::to_vec(ev).map_err(|e| Error::Encode(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let cp = Checkpoint {
            version: CHECKPOINT_VERSION,
            next_offset,
            alerts_end,
            finished: self.finished,
            watermarks: self.watermarks.clone(),
            released: self.released,
            buffer,
            engine: self.engine.snapshot()?,
            share: self.share.clone(),
        };
        postcard::to_stdvec(&cp).map_err(|e| Error::Encode(e.to_string()))
    }

    /// Reads a checkpoint's header and state.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] when the bytes are not a checkpoint of this version.
    pub fn decode_checkpoint(bytes: &[u8]) -> Result<Checkpoint, Error> {
        let cp: Checkpoint = postcard::from_bytes(bytes)
            .map_err(|e| Error::Checkpoint(format!("undecodable: {e}")))?;
        if cp.version != CHECKPOINT_VERSION {
            return Err(Error::Checkpoint(format!(
                "version {} (this jetlag reads {CHECKPOINT_VERSION})",
                cp.version
            )));
        }
        Ok(cp)
    }

    /// The partition a checkpoint describes.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] or [`Error::Detect`] when it cannot be restored.
    pub fn restore(
        config: &DetectConfig,
        roster: Arc<Roster>,
        cp: &Checkpoint,
    ) -> Result<Partition, Error> {
        let mut engine = Engine::restore(config, roster, &cp.engine)?;
        if cp.share.is_some() {
            engine.share_population();
        }
        let mut buffer = BTreeMap::new();
        for json in &cp.buffer {
            let ev: SignIn = serde_json::from_slice(json)
                .map_err(|e| Error::Checkpoint(format!("buffered event: {e}")))?;
            keep_one(&mut buffer, ev);
        }
        Ok(Partition {
            engine,
            buffer,
            watermarks: cp.watermarks.clone(),
            released: cp.released,
            finished: cp.finished,
            share: cp.share.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetlag_event::{Outcome, Source};

    fn ev(id: &str, t: &str, user: &str, ip: &str) -> SignIn {
        let mut e = SignIn::new(id, t.parse().unwrap(), Source::Csv, user, Outcome::Success);
        e.ip = Some(ip.parse().unwrap());
        e
    }

    fn wm(up: u32, t: &str) -> Watermark {
        let ts: jiff::Timestamp = t.parse().unwrap();
        Watermark {
            up,
            of: 2,
            until_ns: ts.as_nanosecond() as i64,
        }
    }

    fn spray(p: &mut Partition, out: &mut Vec<Alert>, order: &[usize]) {
        // Five users behind one IP, from two input partitions, arriving shuffled.
        let evs: Vec<SignIn> = (0..5)
            .map(|i| {
                ev(
                    &format!("e{i}"),
                    &format!("2025-03-01T10:0{i}:00Z"),
                    &format!("u{i}@x.com"),
                    "203.0.113.9",
                )
            })
            .collect();
        for &i in order {
            p.event(evs[i].clone(), out);
        }
    }

    /// One id of five users is five sign-ins (regression: the buffer, keyed on time and id,
    /// kept one); two copies of one event that disagree keep the same one in either order.
    #[test]
    fn the_buffer_keeps_each_event_once_by_its_identity() {
        let config = DetectConfig::default();
        let roster = Arc::new(Roster::empty());
        let users: Vec<SignIn> = (0..5)
            .map(|i| {
                ev(
                    "1",
                    "2025-03-01T10:00:00Z",
                    &format!("u{i}@x.com"),
                    "203.0.113.9",
                )
            })
            .collect();
        let mut p = Partition::new(&config, Arc::clone(&roster));
        let mut out = Vec::new();
        for e in &users {
            p.event(e.clone(), &mut out);
        }
        assert_eq!(p.buffered(), 5);
        let a = ev("2", "2025-03-01T10:00:00Z", "kim@x.com", "203.0.113.9");
        let b = ev("2", "2025-03-01T10:00:00Z", "kim@x.com", "198.51.100.1");
        let mut kept = Vec::new();
        for pair in [[a.clone(), b.clone()], [b, a]] {
            let mut p = Partition::new(&config, Arc::clone(&roster));
            for e in pair {
                p.event(e, &mut out);
            }
            assert_eq!(p.buffered(), 1);
            kept.push(p.buffer.values().next().unwrap().clone());
        }
        assert_eq!(kept[0], kept[1]);
    }

    /// The buffer makes the result independent of arrival order, as `scan` is.
    #[test]
    fn arrival_order_does_not_matter() {
        let config = DetectConfig::default();
        let roster = Arc::new(Roster::empty());
        let mut results = Vec::new();
        for order in [[0, 1, 2, 3, 4], [4, 2, 0, 3, 1]] {
            let mut p = Partition::new(&config, Arc::clone(&roster));
            let mut out = Vec::new();
            spray(&mut p, &mut out, &order);
            assert_eq!(p.buffered(), 5);
            p.watermark(wm(0, "2025-03-02T00:00:00Z"), true, &mut out);
            assert_eq!(p.buffered(), 5, "one input partition is not past them yet");
            p.watermark(
                Watermark {
                    up: 1,
                    of: 2,
                    until_ns: i64::MAX,
                },
                true,
                &mut out,
            );
            assert_eq!(p.buffered(), 0);
            p.watermark(
                Watermark {
                    up: 0,
                    of: 2,
                    until_ns: i64::MAX,
                },
                true,
                &mut out,
            );
            assert!(p.finished());
            results.push(out.iter().map(|a| a.alert_id.clone()).collect::<Vec<_>>());
        }
        assert!(
            !results[0].is_empty(),
            "five users behind one IP is a shared_ip alert"
        );
        assert_eq!(results[0], results[1]);
    }

    /// 90 users over two days, mostly from their home country, now and then elsewhere
    /// with another app: new_country and unfamiliar_signin alerts that depend on the org.
    fn org() -> Vec<SignIn> {
        use jetlag_event::{Country, Geo, GeoSource};
        let places = [
            ("US", 40.7, -74.0),
            ("GB", 51.5, -0.1),
            ("DE", 50.1, 8.7),
            ("NG", 6.5, 3.4),
            ("BR", -23.5, -46.6),
            ("JP", 35.7, 139.7),
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as usize
        };
        let t0: jiff::Timestamp = "2025-03-03T00:00:00Z".parse().unwrap();
        (0..900)
            .map(|i| {
                let u = next(90);
                let odd = next(15) == 0;
                let (cc, lat, lon) = places[if odd { 1 + next(5) } else { u % 2 }];
                let t = t0 + jiff::SignedDuration::from_secs(i as i64 * 190 + next(100) as i64);
                let mut e = ev(
                    &format!("e{i}"),
                    &t.to_string(),
                    &format!("u{u}@x.com"),
                    "192.0.2.1",
                );
                e.ip = Some(std::net::IpAddr::from([192, 0, 2, next(250) as u8]));
                e.geo = Some(Geo {
                    lat: Some(lat),
                    lon: Some(lon),
                    radius_km: Some(50.0),
                    city: None,
                    region: None,
                    country: Country::from_code(cc),
                    source: GeoSource::Geoip,
                });
                e.asn = Some(if odd {
                    9000 + next(4) as u32
                } else {
                    7000 + (u % 3) as u32
                });
                e.app = Some(if odd { "Azure Portal" } else { "Outlook" }.into());
                e
            })
            .collect()
    }

    fn by_user() -> DetectConfig {
        crate::Key::User.detect_config(&DetectConfig::default())
    }

    /// Partitions exchanging population records give exactly one engine's alerts (what
    /// `scan` gives), whatever the interleaving of records, and across a takeover that
    /// replays a partition from an older checkpoint.
    #[test]
    fn population_exchange_equals_one_engine() {
        let events = org();
        let config = by_user();
        let roster = Arc::new(Roster::empty());
        let mut want = Vec::new();
        let mut whole = Engine::new(&config, Arc::clone(&roster));
        for e in &events {
            whole.observe(e, &mut want);
        }
        whole.finish(&mut want);
        for d in ["new_country", "unfamiliar_signin"] {
            assert!(
                want.iter().any(|a| a.detector == d),
                "no {d} alert to compare"
            );
        }
        const N: u32 = 3;
        const CHUNK: usize = 40;
        let chunks: Vec<&[SignIn]> = events.chunks(CHUNK).collect();
        let shard = |u: &str| (u.bytes().map(u32::from).sum::<u32>() % N) as usize;
        let watermark = |k: usize| Watermark {
            up: 0,
            of: 1,
            until_ns: if k + 1 == chunks.len() {
                i64::MAX
            } else {
                chunks[k].last().unwrap().time.as_nanosecond() as i64 + 1
            },
        };
        // One partition's records of chunk k (its events, then the watermark).
        let feed = |p: &mut Partition, i: usize, k: usize, out: &mut Vec<Alert>| {
            for e in chunks[k].iter().filter(|e| shard(&e.user) == i) {
                p.event(e.clone(), out);
            }
            p.watermark(watermark(k), true, out);
        };
        let mut parts: Vec<Partition> = (0..N)
            .map(|i| Partition::with_population(&config, Arc::clone(&roster), i, N))
            .collect();
        assert!(parts.iter().all(Partition::shares_population));
        let mut got = Vec::new();
        // The population topic, in publication order; each partition reads it at its own
        // pace (`read[i]`), partition 2 two records behind the others.
        let mut topic: Vec<PopulationRecord> = Vec::new();
        let mut read = [0usize; N as usize];
        let mut saved = None;
        let pass = |parts: &mut Vec<Partition>,
                    topic: &mut Vec<PopulationRecord>,
                    read: &mut [usize; N as usize],
                    lag: usize,
                    out: &mut Vec<Alert>| {
            for (i, p) in parts.iter_mut().enumerate() {
                let upto = if i == 2 {
                    topic.len().saturating_sub(lag)
                } else {
                    topic.len()
                };
                while read[i] < upto {
                    p.population(&topic[read[i]], true, out);
                    read[i] += 1;
                }
                topic.extend(p.take_population());
            }
        };
        for k in 0..chunks.len() {
            for (i, p) in parts.iter_mut().enumerate() {
                feed(p, i, k, &mut got);
                topic.extend(p.take_population());
            }
            pass(&mut parts, &mut topic, &mut read, 2, &mut got);
            if k == 5 {
                saved = Some(parts[1].checkpoint(0, vec![]).unwrap());
            }
            if k == 12 {
                // Partition 1's worker dies; its successor restores the chunk-5 checkpoint,
                // reads the population topic from the beginning and replays chunks 6..=12.
                let cp = Partition::decode_checkpoint(saved.as_deref().unwrap()).unwrap();
                parts[1] = Partition::restore(&config, Arc::clone(&roster), &cp).unwrap();
                read[1] = 0;
                for r in 6..=12 {
                    feed(&mut parts[1], 1, r, &mut got);
                    topic.extend(parts[1].take_population());
                    pass(&mut parts, &mut topic, &mut read, 2, &mut got);
                }
            }
        }
        // Drain: every record to everyone until nothing new is published.
        loop {
            let before = topic.len();
            pass(&mut parts, &mut topic, &mut read, 0, &mut got);
            if topic.len() == before && read.iter().all(|&r| r == topic.len()) {
                break;
            }
        }
        assert!(parts.iter().all(Partition::finished), "{parts:?}");
        // The replay repeats alerts (the alert topic's suppression drops them): compare
        // the distinct alerts, JSON for JSON.
        let distinct = |v: &[Alert]| {
            let v: std::collections::BTreeSet<String> = v
                .iter()
                .map(|a| serde_json::to_string(a).unwrap())
                .collect();
            v.into_iter().collect::<Vec<_>>()
        };
        assert!(
            got.len() > want.len(),
            "the replay should repeat some alerts"
        );
        assert_eq!(distinct(&got), distinct(&want));
    }

    /// A partition restored from a checkpoint continues exactly as the original.
    #[test]
    fn checkpoint_round_trip_continues_identically() {
        let config = DetectConfig::default();
        let roster = Arc::new(Roster::empty());
        let mut a = Partition::new(&config, Arc::clone(&roster));
        let mut out_a = Vec::new();
        spray(&mut a, &mut out_a, &[1, 0, 3]);
        a.watermark(wm(0, "2025-03-01T10:02:00Z"), true, &mut out_a);
        a.watermark(wm(1, "2025-03-01T10:02:00Z"), true, &mut out_a);
        assert_eq!(a.buffered(), 1, "e3 waits");
        let bytes = a.checkpoint(42, vec![7]).unwrap();
        let cp = Partition::decode_checkpoint(&bytes).unwrap();
        assert_eq!((cp.next_offset, cp.alerts_end.as_slice()), (42, &[7][..]));
        let mut b = Partition::restore(&config, Arc::clone(&roster), &cp).unwrap();
        let mut out_b = out_a.clone();
        for (p, out) in [(&mut a, &mut out_a), (&mut b, &mut out_b)] {
            spray(p, out, &[2, 4]);
            p.watermark(
                Watermark {
                    up: 0,
                    of: 2,
                    until_ns: i64::MAX,
                },
                true,
                out,
            );
            p.watermark(
                Watermark {
                    up: 1,
                    of: 2,
                    until_ns: i64::MAX,
                },
                true,
                out,
            );
        }
        assert!(!out_a.is_empty());
        assert_eq!(out_a, out_b);
        assert!(Partition::decode_checkpoint(b"junk").is_err());
    }
}
