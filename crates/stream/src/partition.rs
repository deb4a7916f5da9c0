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
//! Everything here is deterministic in the sequence of records read, so replaying a
//! partition from a checkpoint produces the same alerts, with the same ids.

use std::collections::BTreeMap;
use std::sync::Arc;

use jetlag_detect::{DetectConfig, Engine};
use jetlag_event::{Alert, SignIn};
use jetlag_roster::Roster;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::wire::Watermark;

/// Version of the checkpoint layout.
const CHECKPOINT_VERSION: u32 = 1;

/// The detection state of one partition.
pub struct Partition {
    engine: Engine,
    /// Events waiting for the watermark, by `(time ns, event_id)`.
    buffer: BTreeMap<(i128, String), SignIn>,
    /// Per input partition, the event time (ns) it has announced it is past.
    watermarks: Vec<i64>,
    /// Events before this time (ns) have been released.
    released: i128,
    /// Whether every input partition has ended and `Engine::finish` has run (drain mode).
    finished: bool,
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
        }
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
        self.buffer
            .entry((t, ev.event_id.to_string()))
            .or_insert(ev);
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
        let low = self.watermarks.iter().copied().min().unwrap_or(i64::MIN);
        let until = if low == i64::MAX {
            i128::MAX
        } else {
            i128::from(low)
        };
        if until > self.released {
            self.release(until, out);
        }
        if drain && low == i64::MAX && !self.finished {
            self.engine.finish(out);
            self.finished = true;
        }
    }

    fn release(&mut self, until: i128, out: &mut Vec<Alert>) {
        let keep = match until {
            i128::MAX => BTreeMap::new(),
            _ => self.buffer.split_off(&(until, String::new())),
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
        let engine = Engine::restore(config, roster, &cp.engine)?;
        let mut buffer = BTreeMap::new();
        for json in &cp.buffer {
            let ev: SignIn = serde_json::from_slice(json)
                .map_err(|e| Error::Checkpoint(format!("buffered event: {e}")))?;
            buffer.insert((ev.time.as_nanosecond(), ev.event_id.to_string()), ev);
        }
        Ok(Partition {
            engine,
            buffer,
            watermarks: cp.watermarks.clone(),
            released: cp.released,
            finished: cp.finished,
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
