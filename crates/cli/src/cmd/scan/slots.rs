//! An open-addressing index from 64-bit hashes to `u32` values whose probe for a hash can
//! be fetched ahead of the look-up ([`Slots::prefetch`]).
//!
//! `scan`'s batch looks each of a million events' user, source and event id up in tables
//! far larger than the CPU's caches. With `hashbrown` every look-up waited on two or three
//! dependent cache misses in turn (the control bytes, then the bucket, then the entry the
//! bucket names), and `hashbrown` offers no way to ask for a hash's group ahead of time.
//! Here a slot holds the upper half of its hash beside its value in one 8-byte word: one
//! prefetch of a hash's slot, some events ahead, brings in the whole probe (linear, in a
//! table at most half full), and a tag match names the candidate entry, which the caller
//! can prefetch in turn before it checks it (a tag is 31 bits, so a match is only likely).

/// Values by hash, linearly probed, at most half full.
#[derive(Debug)]
pub(super) struct Slots {
    /// `tag << 32 | value`, or 0 for an empty slot (a tag is never 0); a power-of-two
    /// length of at least [`MIN_SLOTS`].
    slots: Vec<u64>,
    len: usize,
}

const MIN_SLOTS: usize = 16;

/// The upper half of a hash, never 0 (its lowest bit set). The lower half picks the slot.
fn tag(h: u64) -> u64 {
    (h >> 32) | 1
}

impl Default for Slots {
    fn default() -> Slots {
        Slots::with_capacity(0)
    }
}

impl Slots {
    /// Room for `n` values before the table grows.
    pub(super) fn with_capacity(n: usize) -> Slots {
        Slots {
            slots: vec![0; n.saturating_mul(2).next_power_of_two().max(MIN_SLOTS)],
            len: 0,
        }
    }

    /// Values stored.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn start(&self, h: u64) -> usize {
        h as usize & (self.slots.len() - 1)
    }

    /// Asks the CPU to fetch the slot where the probe for `h` starts (the probe is short:
    /// the table is at most half full).
    pub(super) fn prefetch(&self, h: u64) {
        jetlag_event::hint::prefetch(&self.slots[self.start(h)]);
    }

    /// The slots (positions) holding values stored under a hash with `h`'s tag, in probe
    /// order: a superset of those stored under `h` itself.
    fn matching(&self, h: u64) -> impl Iterator<Item = usize> + '_ {
        let tag = tag(h);
        let mask = self.slots.len() - 1;
        let mut at = self.start(h);
        // Ends: at least half the slots are empty.
        std::iter::from_fn(move || {
            loop {
                let slot = self.slots[at];
                if slot == 0 {
                    return None;
                }
                let here = at;
                at = (at + 1) & mask;
                if slot >> 32 == tag {
                    return Some(here);
                }
            }
        })
    }

    /// The first value stored under a hash with `h`'s tag: the value stored under `h` if
    /// there is one and no other value of its tag came first, which its caller checks.
    pub(super) fn candidate(&self, h: u64) -> Option<u32> {
        self.matching(h).next().map(|at| self.slots[at] as u32)
    }

    /// The value stored under `h` for which `eq` holds.
    pub(super) fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        self.position(h, &mut eq).map(|at| self.slots[at] as u32)
    }

    /// The position of the value stored under `h` for which `eq` holds, for
    /// [`value`](Slots::value) and [`replace`](Slots::replace).
    pub(super) fn position(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<usize> {
        self.matching(h).find(|&at| eq(self.slots[at] as u32))
    }

    /// The value at `position`.
    pub(super) fn value(&self, position: usize) -> u32 {
        self.slots[position] as u32
    }

    /// Puts `value` in place of the one at `position`: it must be stored under the same
    /// hash.
    pub(super) fn replace(&mut self, position: usize, value: u32) {
        let slot = &mut self.slots[position];
        *slot = *slot & !u64::from(u32::MAX) | u64::from(value);
    }

    /// Stores `value` under `h`: the caller knows no equal value is stored.
    /// `hash_of` gives the hash of any stored value, for when the table grows.
    pub(super) fn insert(&mut self, h: u64, value: u32, hash_of: impl Fn(u32) -> u64) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow(hash_of);
        }
        self.put(tag(h) << 32 | u64::from(value), h);
        self.len += 1;
    }

    /// Writes `slot` (tag and value) at the first free position of `h`'s probe.
    fn put(&mut self, slot: u64, h: u64) {
        let mask = self.slots.len() - 1;
        let mut at = self.start(h);
        while self.slots[at] != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    fn grow(&mut self, hash_of: impl Fn(u32) -> u64) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        for slot in old.into_iter().filter(|&s| s != 0) {
            let h = hash_of(slot as u32);
            debug_assert_eq!(tag(h), slot >> 32, "hash_of disagrees with insert");
            self.put(slot, h);
        }
    }

    /// Every value stored, in no particular order.
    pub(super) fn values(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().filter(|&&s| s != 0).map(|&s| s as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// splitmix64, a small deterministic generator.
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Keys whose hashes collide on purpose: `bits` of hash only, so many keys share a
    /// slot, a tag or a whole hash.
    fn check_against_a_map(bits: u32, keys: u64) {
        let hash = |k: u64| mix(k) & (u64::MAX >> (64 - bits));
        let mut slots = Slots::default();
        // The value is the key's index in `stored`, as the batch stores them.
        let mut stored: Vec<u64> = Vec::new();
        let mut model: HashMap<u64, u32> = HashMap::new();
        for i in 0..keys * 3 {
            let key = mix(i ^ 0xabc) % keys;
            let h = hash(key);
            let found = slots.find(h, |v| stored[v as usize] == key);
            assert_eq!(found, model.get(&key).copied(), "key {key} after {i} steps");
            if found.is_none() {
                let value = stored.len() as u32;
                stored.push(key);
                slots.insert(h, value, |v| hash(stored[v as usize]));
                model.insert(key, value);
            }
            assert_eq!(slots.len(), model.len());
            assert!(slots.len() * 2 <= slots.slots.len());
        }
        let mut values: Vec<u32> = slots.values().collect();
        values.sort_unstable();
        assert_eq!(values, (0..stored.len() as u32).collect::<Vec<_>>());
    }

    #[test]
    fn finds_what_a_map_finds_through_growth_and_collisions() {
        check_against_a_map(64, 5000); // distinct hashes, many growths
        check_against_a_map(36, 3000); // few tag bits: tags shared, slots distinct
        check_against_a_map(12, 3000); // tags all 1: only the check tells keys apart
        check_against_a_map(3, 200); // eight hashes for two hundred keys
    }

    #[test]
    fn the_candidate_is_the_first_of_its_tag() {
        let mut slots = Slots::with_capacity(4);
        assert_eq!(slots.candidate(7), None);
        let h = 0x1234_5678_0000_0005;
        slots.insert(h, 41, |_| h);
        // Another hash of the same tag in the same slot: probed after the first.
        let same_tag = h + (1 << 4) * 16;
        slots.insert(same_tag, 42, |_| unreachable!("no growth yet"));
        assert_eq!(slots.candidate(h), Some(41));
        assert_eq!(slots.find(same_tag, |v| v == 42), Some(42));
        assert_eq!(slots.find(h, |v| v == 43), None);
        // A hash of another tag never names a candidate.
        assert_eq!(slots.candidate(h ^ 1 << 40), None);
    }

    #[test]
    fn replace_keeps_the_hash_and_changes_the_value() {
        let mut slots = Slots::default();
        let h = mix(1);
        slots.insert(h, 3, |_| h);
        let at = slots.position(h, |v| v == 3).unwrap();
        slots.replace(at, 9);
        assert_eq!(slots.value(at), 9);
        assert_eq!(slots.find(h, |_| true), Some(9));
        assert_eq!(slots.len(), 1);
        slots.prefetch(h); // a hint: changes nothing
        assert_eq!(slots.candidate(h), Some(9));
    }
}
