//! A hash map for detector state that holds many small entries: the entries live densely in
//! a `Vec` (each holds its own key) and the hash table holds only their 4-byte positions.
//!
//! A `FxHashMap<K, V>` with a 100-byte value spends a whole bucket (key and value) on each
//! of its empty slots: with hashbrown's power-of-two tables at most 7/8 full, it holds
//! between 1.14 and 2.3 buckets per entry, and a map swept down from its peak keeps its
//! buckets. Here an empty slot costs 5 bytes (a `u32` and its control byte), the entries
//! themselves take `len` slots plus at most an eighth of growth room, and a sweep that
//! leaves the `Vec` a third empty gives the room back. Removal moves the last entry
//! into the hole (one more hash look-up), so iteration order is not insertion order: no
//! caller may let it show in its output.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An entry of a [`Dense`] map: it holds its key.
pub(crate) trait Keyed {
    /// The key type.
    type Key: Hash + Eq;
    /// The entry's key.
    fn key(&self) -> &Self::Key;
}

/// Entries keyed by [`Keyed::key`], stored densely (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Dense<T> {
    /// Positions in `entries`, hashed by the entry's key.
    index: HashTable<u32>,
    entries: Vec<T>,
}

impl<T> Default for Dense<T> {
    fn default() -> Dense<T> {
        Dense {
            index: HashTable::new(),
            entries: Vec::new(),
        }
    }
}

fn hash<Q: Hash + ?Sized>(q: &Q) -> u64 {
    FxBuildHasher.hash_one(q)
}

impl<T: Keyed> Dense<T> {
    /// How many entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries, in no particular order.
    #[cfg(test)]
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.entries.iter()
    }

    fn position<Q>(&self, key: &Q) -> Option<usize>
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = &self.entries;
        self.index
            .find(hash(key), |&i| entries[i as usize].key().borrow() == key)
            .map(|&i| i as usize)
    }

    /// The entry of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&T>
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.position(key).map(|i| &self.entries[i])
    }

    /// The entry of `key`, to change (not its key).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut T>
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.position(key).map(|i| &mut self.entries[i])
    }

    /// The entry of `key`, made by `make` (whose key must be `key`) when there is none.
    pub fn get_or_insert_with<Q>(&mut self, key: &Q, make: impl FnOnce() -> T) -> &mut T
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let h = hash(key);
        let entries = &self.entries;
        let i = match self
            .index
            .find(h, |&i| entries[i as usize].key().borrow() == key)
        {
            Some(&i) => i as usize,
            None => self.push(h, make()),
        };
        &mut self.entries[i]
    }

    /// Adds `entry`, whose key must not be in the map yet.
    pub fn insert_new(&mut self, entry: T) {
        let h = hash(entry.key());
        self.push(h, entry);
    }

    fn push(&mut self, h: u64, entry: T) -> usize {
        let i = self.entries.len();
        if i == self.entries.capacity() {
            // An eighth more rather than double: this is the bulk of the memory, and a
            // swept table oscillates a little around its size rather than growing.
            self.entries.reserve_exact(i / 8 + 16);
        }
        self.entries.push(entry);
        let entries = &self.entries;
        // Four billion entries do not fit in memory; positions are u32.
        self.index
            .insert_unique(h, i as u32, |&j| hash(entries[j as usize].key()));
        i
    }

    /// Keeps the entries for which `keep` is true, then gives back room the removed ones
    /// leave when the map is less than half full.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut T) -> bool) {
        let mut i = 0;
        while i < self.entries.len() {
            if keep(&mut self.entries[i]) {
                i += 1;
            } else {
                self.remove_at(i);
            }
        }
        let len = self.entries.len();
        if self.entries.capacity() > len + len / 2 + 16 {
            self.entries.shrink_to(len + len / 8 + 16);
        }
        // Only when more than twice too big (the table doubled as removed entries'
        // tombstones used up its room): shrinking rehashes every entry, and a table cut to
        // its size would grow (rehash) again with the next inserts.
        if self.index.capacity() > 2 * len + 64 {
            let entries = &self.entries;
            self.index
                .shrink_to(len + len / 4, |&j| hash(entries[j as usize].key()));
        }
    }

    /// Removes the entry of `key` and returns it; the last entry takes its place.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<T>
    where
        T::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.position(key)?;
        Some(self.remove_at(i))
    }

    /// Removes the entry at position `i`; the last entry takes its place.
    fn remove_at(&mut self, i: usize) -> T {
        if let Ok(found) = self
            .index
            .find_entry(hash(self.entries[i].key()), |&j| j as usize == i)
        {
            found.remove();
        }
        let last = self.entries.len() - 1;
        if i != last {
            let h = hash(self.entries[last].key());
            if let Some(slot) = self.index.find_mut(h, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        self.entries.swap_remove(i)
    }
}

impl<T: Serialize> Serialize for Dense<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(s)
    }
}

impl<'de, T: Keyed + Deserialize<'de>> Deserialize<'de> for Dense<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dense<T>, D::Error> {
        let all = Vec::<T>::deserialize(d)?;
        let mut dense = Dense::default();
        dense.entries.reserve_exact(all.len());
        for entry in all {
            // A key twice (a corrupt state): the first stays.
            if dense.position(entry.key()).is_none() {
                dense.insert_new(entry);
            }
        }
        Ok(dense)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct E(String, u32);

    impl Keyed for E {
        type Key = String;
        fn key(&self) -> &String {
            &self.0
        }
    }

    /// Against a std `HashMap` through random inserts, updates and sweeps.
    #[test]
    fn behaves_like_a_hash_map() {
        let mut dense: Dense<E> = Dense::default();
        let mut model = std::collections::HashMap::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..20_000 {
            let k = format!("k{}", next(500));
            let v = next(1000) as u32;
            dense.get_or_insert_with(k.as_str(), || E(k.clone(), 0)).1 = v;
            model.insert(k, v);
            if round % 997 == 0 {
                let cut = next(1000) as u32;
                dense.retain(|e| e.1 >= cut);
                model.retain(|_, v| *v >= cut);
            }
            if round % 4999 == 0 {
                let bytes = postcard::to_stdvec(&dense).unwrap();
                dense = postcard::from_bytes(&bytes).unwrap();
            }
            assert_eq!(dense.len(), model.len());
        }
        for (k, v) in &model {
            assert_eq!(dense.get(k.as_str()).map(|e| e.1), Some(*v), "{k}");
        }
        assert!(dense.get("absent").is_none());
        let mut seen: Vec<&str> = dense.iter().map(|e| e.0.as_str()).collect();
        seen.sort_unstable();
        let mut want: Vec<&str> = model.keys().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(seen, want);
        dense.retain(|_| false);
        assert_eq!(dense.len(), 0);
        assert!(dense.entries.capacity() <= 16, "room given back");
    }

    #[test]
    fn a_key_twice_in_a_state_keeps_the_first() {
        let bytes = postcard::to_stdvec(&vec![E("a".into(), 1), E("a".into(), 2)]).unwrap();
        let dense: Dense<E> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(dense.len(), 1);
        assert_eq!(dense.get("a").map(|e| e.1), Some(1));
    }
}
