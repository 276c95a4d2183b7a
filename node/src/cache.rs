//! The bounded map behind Starling's per-process caches (status rows in the
//! store, rendered entities in the presenter).
//!
//! **Architecture invariant:** a cache never decides freshness by time. Every
//! entry carries the version of the row it came from (`accounts.version`,
//! `statuses.version`, bumped by database triggers on every UPDATE), and a
//! reader only takes it when the version it just read from the database
//! matches, so a change made by any process is seen on the next read
//! everywhere. What a cache saves is the row fetch and the rendering, not
//! the truth.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// A bounded map with approximate LRU eviction: two generations; a lookup
/// that hits the old generation promotes the entry, and when the young one
/// fills up the old one is dropped whole. O(1) per operation, no bookkeeping
/// per hit.
pub struct GenCache<K, V> {
    capacity: usize,
    inner: Mutex<Generations<K, V>>,
}

struct Generations<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
}

impl<K: Eq + Hash + Copy, V: Clone> Default for GenCache<K, V> {
    /// Room for about 50,000 entries.
    fn default() -> Self {
        GenCache::new(25_000)
    }
}

impl<K: Eq + Hash + Copy, V: Clone> GenCache<K, V> {
    /// A cache holding at most about `2 * capacity` entries.
    pub fn new(capacity: usize) -> Self {
        GenCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Generations {
                young: HashMap::new(),
                old: HashMap::new(),
            }),
        }
    }

    /// The entry for `key`, if present.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let v = g.old.remove(key)?;
        Self::put(&mut g, self.capacity, *key, v.clone());
        Some(v)
    }

    /// Forgets `key`.
    pub fn remove(&self, key: &K) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.young.remove(key);
        g.old.remove(key);
    }

    /// Stores `value` under `key`.
    pub fn insert(&self, key: K, value: V) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Self::put(&mut g, self.capacity, key, value);
    }

    fn put(g: &mut Generations<K, V>, capacity: usize, key: K, value: V) {
        if g.young.len() >= capacity && !g.young.contains_key(&key) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::GenCache;

    #[test]
    fn keeps_recent_entries_and_bounds_its_size() {
        let cache = GenCache::new(2);
        cache.insert(1, "a");
        cache.insert(2, "b");
        // Full: the third entry moves 1 and 2 to the old generation.
        cache.insert(3, "c");
        assert_eq!(cache.get(&1), Some("a"), "old entries are still found");
        // 1 was promoted, so the young generation is {3, 1}; the next insert
        // drops {2}.
        cache.insert(4, "d");
        assert_eq!(cache.get(&2), None, "the least recently used entry went");
        assert_eq!(cache.get(&1), Some("a"));
        assert_eq!(cache.get(&4), Some("d"));
    }

    #[test]
    fn replacing_an_entry_keeps_one_copy() {
        let cache = GenCache::new(4);
        cache.insert(7, 1);
        cache.insert(7, 2);
        assert_eq!(cache.get(&7), Some(2));
    }
}
