//! `Dict<K, V>`: a chained hash table with incremental rehashing, modelled on
//! the design of Redis's `dict.c`.
//!
//! Why not `hashbrown`: the server needs two things an open-addressing table
//! cannot give cheaply.
//!
//! * **SCAN semantics.** [`Dict::scan`] is a stateless cursor walk (the
//!   reverse-binary-increment cursor). Any entry present for the whole
//!   duration of a full scan is reported at least once, even if the table
//!   grows, shrinks or is in the middle of an incremental rehash between two
//!   calls. Entries may be reported more than once.
//! * **Random sampling.** [`Dict::random_entry`] and [`Dict::sample`] pick
//!   entries from random bucket positions in O(1)-ish time (RANDOMKEY, active
//!   expiry, SPOP/SRANDMEMBER).
//!
//! Layout: up to two power-of-two bucket arrays of singly linked chains. While
//! rehashing, table 0 is the old table and table 1 the new one; buckets of
//! table 0 below `rehash_idx` are already empty. New entries always go to the
//! new table while rehashing.
//!
//! Resizing policy:
//! * the first insert allocates 4 buckets;
//! * an insert that finds `len >= buckets` (load factor 1, not rehashing)
//!   starts growing to the next power of two `>= len + 1`;
//! * [`Dict::shrink_if_needed`] (explicit, for the server's cron) starts
//!   shrinking when `len * 8 <= buckets` and the table has more than 4
//!   buckets, to the next power of two `>= max(len, 4)`.
//!
//! Rehashing is incremental: every `get_mut`, `insert`, `remove` and
//! `get_or_insert_with` moves one bucket (visiting at most 10 empty buckets)
//! while a rehash is in progress. Methods taking `&self` (`get`, `scan`,
//! `random_entry`, `sample`, `iter`, ...) never modify the table.
//! [`Dict::rehash_step`] and [`Dict::rehash_for`] let a background task drive
//! the rehash to completion.
//!
//! The implementation is entirely safe Rust. Chains are unlinked iteratively
//! on drop, so arbitrarily long chains cannot overflow the stack.

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::iter::FusedIterator;
use std::mem;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ahash::RandomState;
use rand::Rng;

/// Bucket count of a freshly allocated table (and the minimum after shrink).
const INITIAL_SIZE: usize = 4;
/// Shrink when `len * MIN_FILL_RECIPROCAL <= buckets` (fill of 1/8 or less).
const MIN_FILL_RECIPROCAL: usize = 8;
/// A rehash step of `n` buckets may visit at most `n * 10` empty buckets.
const EMPTY_VISITS_PER_BUCKET: usize = 10;
/// Buckets moved per call of `rehash_step` inside `rehash_for`.
const REHASH_BATCH: usize = 100;
/// Candidates gathered by `random_entry` before picking one (smooths out the
/// bias towards entries living in short chains).
const FAIR_RANDOM_SAMPLE: usize = 15;
/// Random bucket probes before `random_entry`'s fallback walks linearly.
const RANDOM_PROBES: usize = 1024;

/// A key stored in a [`Dict`]: hashed and compared by its bytes.
///
/// Implementations must make `Eq` agree with `key_bytes` equality.
pub trait DictKey: Eq {
    fn key_bytes(&self) -> &[u8];
}

impl DictKey for Box<[u8]> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl DictKey for Vec<u8> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl DictKey for Rc<[u8]> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl DictKey for Arc<[u8]> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl DictKey for bytes::Bytes {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

struct Node<K, V> {
    key: K,
    value: V,
    next: Link<K, V>,
}

type Link<K, V> = Option<Box<Node<K, V>>>;

/// One bucket array. An unallocated table has zero buckets.
struct Table<K, V> {
    buckets: Box<[Link<K, V>]>,
    used: usize,
}

impl<K, V> Table<K, V> {
    fn unallocated() -> Self {
        Table {
            buckets: Vec::new().into_boxed_slice(),
            used: 0,
        }
    }

    fn with_size(size: usize) -> Self {
        debug_assert!(size.is_power_of_two());
        Table {
            buckets: (0..size).map(|_| None).collect(),
            used: 0,
        }
    }

    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// Bucket index mask; only meaningful for an allocated table.
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    fn index(&self, hash: u64) -> usize {
        (hash as usize) & self.mask()
    }

    fn push_front(&mut self, idx: usize, key: K, value: V) -> &mut V {
        let next = self.buckets[idx].take();
        self.used += 1;
        &mut self.buckets[idx]
            .insert(Box::new(Node { key, value, next }))
            .value
    }
}

impl<K: DictKey, V> Table<K, V> {
    fn find(&self, hash: u64, key: &[u8]) -> Option<&Node<K, V>> {
        if self.used == 0 {
            return None;
        }
        let mut link = &self.buckets[self.index(hash)];
        while let Some(node) = link {
            if node.key.key_bytes() == key {
                return Some(node);
            }
            link = &node.next;
        }
        None
    }

    fn find_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Node<K, V>> {
        if self.used == 0 {
            return None;
        }
        let idx = self.index(hash);
        let mut link = &mut self.buckets[idx];
        while link.as_ref().is_some_and(|n| n.key.key_bytes() != key) {
            link = &mut link.as_mut().expect("checked non-empty").next;
        }
        link.as_deref_mut()
    }

    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Box<Node<K, V>>> {
        if self.used == 0 {
            return None;
        }
        let idx = self.index(hash);
        let mut link = &mut self.buckets[idx];
        while link.as_ref().is_some_and(|n| n.key.key_bytes() != key) {
            link = &mut link.as_mut().expect("checked non-empty").next;
        }
        let mut node = link.take()?;
        *link = node.next.take();
        self.used -= 1;
        Some(node)
    }
}

impl<K, V> Drop for Table<K, V> {
    fn drop(&mut self) {
        if self.used == 0 {
            return;
        }
        // Unlink every chain node by node: the default drop of a
        // `Box<Node>` would recurse once per chain element.
        for bucket in self.buckets.iter_mut() {
            let mut link = bucket.take();
            while let Some(mut node) = link {
                link = node.next.take();
            }
        }
    }
}

fn hash_bytes(hasher: &RandomState, key: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(key);
    h.finish()
}

/// Cursor increment of the reverse-binary scan: sets the bits outside `mask`
/// and adds one starting from the most significant bit.
fn next_cursor(cursor: u64, mask: u64) -> u64 {
    (cursor | !mask)
        .reverse_bits()
        .wrapping_add(1)
        .reverse_bits()
}

/// Set of bucket positions already harvested by `sample`: inline for the
/// common small counts, hashed beyond that.
struct SeenBuckets {
    inline: [usize; 32],
    len: usize,
    spill: Option<HashSet<usize>>,
}

impl SeenBuckets {
    fn new() -> Self {
        SeenBuckets {
            inline: [0; 32],
            len: 0,
            spill: None,
        }
    }

    /// Records `pos`; false if it was already recorded.
    fn insert(&mut self, pos: usize) -> bool {
        if let Some(set) = &mut self.spill {
            return set.insert(pos);
        }
        if self.inline[..self.len].contains(&pos) {
            return false;
        }
        if self.len < self.inline.len() {
            self.inline[self.len] = pos;
            self.len += 1;
        } else {
            let mut set: HashSet<usize> = self.inline.iter().copied().collect();
            set.insert(pos);
            self.spill = Some(set);
        }
        true
    }
}

/// A chained hash table with incremental rehashing, stateless scan cursors
/// and random sampling. See the module documentation.
pub struct Dict<K, V> {
    tables: [Table<K, V>; 2],
    /// `Some(i)` while rehashing: buckets `0..i` of table 0 are empty.
    rehash_idx: Option<usize>,
    hasher: RandomState,
}

impl<K: DictKey, V> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: DictKey, V> Dict<K, V> {
    /// An empty dict. Allocates nothing until the first insert; every dict
    /// gets its own random hash seed.
    pub fn new() -> Self {
        Dict {
            tables: [Table::unallocated(), Table::unallocated()],
            rehash_idx: None,
            hasher: RandomState::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Total number of buckets over both tables.
    pub fn bucket_count(&self) -> usize {
        self.tables[0].size() + self.tables[1].size()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        hash_bytes(&self.hasher, key)
    }

    /// Tables that may hold entries: table 1 only while rehashing.
    fn live_tables(&self) -> &[Table<K, V>] {
        let n = if self.is_rehashing() { 2 } else { 1 };
        &self.tables[..n]
    }

    fn find_node(&self, key: &[u8]) -> Option<&Node<K, V>> {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        self.live_tables().iter().find_map(|t| t.find(hash, key))
    }

    fn find_node_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Node<K, V>> {
        let rehashing = self.is_rehashing();
        let [t0, t1] = &mut self.tables;
        if let Some(node) = t0.find_mut(hash, key) {
            return Some(node);
        }
        if rehashing {
            t1.find_mut(hash, key)
        } else {
            None
        }
    }

    /// Which table holds `key`, if any.
    fn locate(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.live_tables()
            .iter()
            .position(|t| t.find(hash, key).is_some())
    }

    /// Looks `key` up. Never rehashes (takes `&self`).
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find_node(key).map(|n| &n.value)
    }

    /// Looks `key` up mutably; performs one rehash step if rehashing.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.incremental_rehash();
        if self.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        self.find_node_mut(hash, key).map(|n| &mut n.value)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&K, &V)> {
        self.find_node(key).map(|n| (&n.key, &n.value))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find_node(key).is_some()
    }

    /// Inserts `key -> value`. If the key exists, its value is replaced (the
    /// stored key is kept, `key` is dropped) and the old value returned.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.incremental_rehash();
        self.expand_if_needed();
        let hash = self.hash(key.key_bytes());
        if let Some(node) = self.find_node_mut(hash, key.key_bytes()) {
            return Some(mem::replace(&mut node.value, value));
        }
        let t = self.insert_table();
        let table = &mut self.tables[t];
        let idx = table.index(hash);
        table.push_front(idx, key, value);
        None
    }

    /// Returns the value for `key`, inserting `make_key()`/`make_value()`
    /// first if absent (`make_key()` must return a key whose bytes equal
    /// `key`). Hashes `key` once; performs one rehash step if rehashing.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        make_key: impl FnOnce() -> K,
        make_value: impl FnOnce() -> V,
    ) -> &mut V {
        self.incremental_rehash();
        self.expand_if_needed();
        let hash = self.hash(key);
        if let Some(t) = self.locate(hash, key) {
            let node = self.tables[t].find_mut(hash, key).expect("just located");
            return &mut node.value;
        }
        let new_key = make_key();
        debug_assert!(
            new_key.key_bytes() == key,
            "make_key returned a different key"
        );
        let value = make_value();
        let t = self.insert_table();
        let table = &mut self.tables[t];
        let idx = table.index(hash);
        table.push_front(idx, new_key, value)
    }

    /// Removes `key`, returning the stored key and value. Performs one
    /// rehash step if rehashing. Never shrinks the table by itself.
    pub fn remove(&mut self, key: &[u8]) -> Option<(K, V)> {
        if self.is_empty() {
            return None;
        }
        self.incremental_rehash();
        let hash = self.hash(key);
        let n = self.live_tables().len();
        for t in 0..n {
            if let Some(node) = self.tables[t].remove(hash, key) {
                let Node { key, value, .. } = *node;
                return Some((key, value));
            }
        }
        None
    }

    /// Removes everything and frees the bucket arrays.
    pub fn clear(&mut self) {
        self.rehash_idx = None;
        self.tables = [Table::unallocated(), Table::unallocated()];
    }

    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            tables: [&self.tables[0].buckets, &self.tables[1].buckets],
            table: 0,
            bucket: self.rehash_idx.unwrap_or(0),
            node: None,
            remaining: self.len(),
        }
    }

    /// Keeps only the entries for which `f` returns true. Does not resize.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        for table in &mut self.tables {
            if table.used == 0 {
                continue;
            }
            for bucket in table.buckets.iter_mut() {
                let mut link = bucket;
                loop {
                    let keep = match link.as_mut() {
                        None => break,
                        Some(node) => f(&node.key, &mut node.value),
                    };
                    if keep {
                        link = &mut link.as_mut().expect("checked non-empty").next;
                    } else {
                        let mut removed = link.take().expect("checked non-empty");
                        *link = removed.next.take();
                        table.used -= 1;
                        drop(removed);
                    }
                }
            }
        }
    }

    /// A random entry, or `None` if empty. Like Redis's
    /// `dictGetFairRandomKey`: samples a run of up to 15 entries from a
    /// random position and picks one; falls back to a random non-empty
    /// bucket and a random element of its chain. Never rehashes.
    pub fn random_entry(&self) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let mut rng = rand::thread_rng();
        let mut picked: [Option<&Node<K, V>>; FAIR_RANDOM_SAMPLE] = [None; FAIR_RANDOM_SAMPLE];
        let n = self.sample_with(FAIR_RANDOM_SAMPLE, &mut rng, |slot, node| {
            picked[slot] = Some(node)
        });
        let node = if n > 0 {
            picked[rng.gen_range(0..n)].expect("filled by sampler")
        } else {
            self.random_bucket_entry(&mut rng)
        };
        Some((&node.key, &node.value))
    }

    /// Like `dictGetRandomKey`: a random non-empty bucket, then a random
    /// element of its chain. The dict must not be empty.
    fn random_bucket_entry<R: Rng>(&self, rng: &mut R) -> &Node<K, V> {
        let [t0, t1] = &self.tables;
        // Positions `lo..s0` address table 0, `s0..s0 + s1` table 1. Buckets
        // of table 0 below the rehash index are known to be empty.
        let (lo, s0, total) = match self.rehash_idx {
            Some(idx) => (idx, t0.size(), t0.size() + t1.size()),
            None => (0, t0.size(), t0.size()),
        };
        let bucket_at = |pos: usize| -> &Link<K, V> {
            if pos >= s0 {
                &t1.buckets[pos - s0]
            } else {
                &t0.buckets[pos]
            }
        };
        let mut head = None;
        for _ in 0..RANDOM_PROBES {
            if let Some(node) = bucket_at(rng.gen_range(lo..total)) {
                head = Some(&**node);
                break;
            }
        }
        // Very sparse table: walk from a random position instead (bounded).
        let head = head.unwrap_or_else(|| {
            let start = rng.gen_range(lo..total);
            (start..total)
                .chain(lo..start)
                .find_map(|pos| bucket_at(pos).as_deref())
                .expect("non-empty dict has a non-empty bucket")
        });
        let mut chain_len = 0;
        let mut cur = Some(head);
        while let Some(node) = cur {
            chain_len += 1;
            cur = node.next.as_deref();
        }
        let mut node = head;
        for _ in 0..rng.gen_range(0..chain_len) {
            node = node.next.as_deref().expect("within chain length");
        }
        node
    }

    /// Appends up to `count` distinct entries taken from a random position
    /// (like `dictGetSomeKeys`): cheap, contiguous rather than uniformly
    /// distributed, and may return fewer than `count` (or fewer than `len`)
    /// entries. `out` is not cleared. Never rehashes.
    pub fn sample<'a>(&'a self, count: usize, out: &mut Vec<(&'a K, &'a V)>) {
        let base = out.len();
        let mut rng = rand::thread_rng();
        self.sample_with(count, &mut rng, |slot, node| {
            let entry = (&node.key, &node.value);
            if base + slot < out.len() {
                out[base + slot] = entry;
            } else {
                out.push(entry);
            }
        });
    }

    /// Sampling core. Calls `put(slot, node)` with slots `0, 1, 2, ...` in
    /// order while filling, then with `slot < count` to replace (reservoir
    /// sampling over the tail of the last chain). Returns the number of
    /// filled slots.
    fn sample_with<'a, R: Rng>(
        &'a self,
        count: usize,
        rng: &mut R,
        mut put: impl FnMut(usize, &'a Node<K, V>),
    ) -> usize {
        let count = count.min(self.len());
        if count == 0 {
            return 0;
        }
        let rehash_idx = self.rehash_idx;
        let ntables = if rehash_idx.is_some() { 2 } else { 1 };
        let mut max_mask = self.tables[0].mask();
        if rehash_idx.is_some() {
            max_mask = max_mask.max(self.tables[1].mask());
        }
        let mut steps = count.saturating_mul(10);
        let mut i = rng.gen::<usize>() & max_mask;
        let mut empty_run = 0usize;
        let mut stored = 0usize;
        let mut seen = SeenBuckets::new();
        while stored < count && steps > 0 {
            steps -= 1;
            for t in 0..ntables {
                if let Some(ridx) = rehash_idx {
                    if t == 0 && i < ridx {
                        // Table 0 is empty below the rehash index; if `i` is
                        // also past the end of table 1 (shrinking), jump.
                        if i >= self.tables[1].size() {
                            i = ridx;
                        } else {
                            continue;
                        }
                    }
                }
                let table = &self.tables[t];
                if i >= table.size() {
                    continue;
                }
                match table.buckets[i].as_deref() {
                    None => {
                        empty_run += 1;
                        if empty_run >= 5 && empty_run > count {
                            i = rng.gen::<usize>() & max_mask;
                            empty_run = 0;
                        }
                    }
                    Some(head) => {
                        empty_run = 0;
                        // A bucket harvested before (after a random jump or
                        // wrap-around) would only yield duplicates.
                        if !seen.insert(i.wrapping_mul(2) | t) {
                            continue;
                        }
                        let mut cur = Some(head);
                        while let Some(node) = cur {
                            if stored < count {
                                put(stored, node);
                            } else {
                                let r = rng.gen_range(0..=stored);
                                if r < count {
                                    put(r, node);
                                }
                            }
                            stored += 1;
                            cur = node.next.as_deref();
                        }
                        if stored >= count {
                            return count;
                        }
                    }
                }
            }
            i = (i + 1) & max_mask;
        }
        stored.min(count)
    }

    /// One step of a Redis-style SCAN. Calls `f` for every entry of the
    /// bucket(s) addressed by `cursor` (when rehashing: the bucket of the
    /// smaller table and all its expansions in the larger one) and returns
    /// the next cursor; 0 means the scan is complete. Start with 0.
    ///
    /// Every entry present for the whole scan is visited at least once,
    /// whatever inserts, removes, resizes and rehash steps happen between
    /// calls; entries may be visited more than once. Never rehashes.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&K, &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let visit = |table: &Table<K, V>, pos: u64, f: &mut dyn FnMut(&K, &V)| {
            let mut link = table.buckets[pos as usize].as_deref();
            while let Some(node) = link {
                f(&node.key, &node.value);
                link = node.next.as_deref();
            }
        };
        let mut v = cursor;
        if !self.is_rehashing() {
            let table = &self.tables[0];
            let m = table.mask() as u64;
            visit(table, v & m, &mut f);
            return next_cursor(v, m);
        }
        let [a, b] = &self.tables;
        let (small, large) = if a.size() <= b.size() { (a, b) } else { (b, a) };
        let m0 = small.mask() as u64;
        let m1 = large.mask() as u64;
        visit(small, v & m0, &mut f);
        // All buckets of the larger table that are expansions of the
        // smaller table's bucket `v & m0`.
        loop {
            visit(large, v & m1, &mut f);
            v = next_cursor(v, m1);
            if v & (m0 ^ m1) == 0 {
                break;
            }
        }
        v
    }

    /// One rehash step, as done implicitly by mutating operations.
    fn incremental_rehash(&mut self) {
        if self.is_rehashing() {
            self.rehash_step(1);
        }
    }

    /// Moves up to `buckets` non-empty buckets from the old table to the new
    /// one, visiting at most `10 * buckets` empty buckets. Returns true if
    /// rehashing is still in progress afterwards.
    pub fn rehash_step(&mut self, buckets: usize) -> bool {
        let Dict {
            tables: [t0, t1],
            rehash_idx,
            hasher,
        } = self;
        let Some(mut idx) = *rehash_idx else {
            return false;
        };
        let mut empty_visits = buckets.saturating_mul(EMPTY_VISITS_PER_BUCKET);
        let growing = t1.size() > t0.size();
        let new_mask = t1.mask();
        let mut remaining = buckets;
        while remaining > 0 && t0.used != 0 {
            // Entries remain, so a non-empty bucket exists at or after `idx`.
            while t0.buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    *rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut chain = t0.buckets[idx].take();
            while let Some(mut node) = chain {
                chain = node.next.take();
                let dest = if growing {
                    (hash_bytes(hasher, node.key.key_bytes()) as usize) & new_mask
                } else {
                    // Shrinking: the new index is the low bits of the old one.
                    idx & new_mask
                };
                node.next = t1.buckets[dest].take();
                t1.buckets[dest] = Some(node);
                t0.used -= 1;
                t1.used += 1;
            }
            idx += 1;
            remaining -= 1;
        }
        if t0.used == 0 {
            *t0 = mem::replace(t1, Table::unallocated());
            *rehash_idx = None;
            return false;
        }
        *rehash_idx = Some(idx);
        true
    }

    /// Rehashes in batches of 100 buckets until done or until `budget` has
    /// elapsed (checked after each batch, so it may overrun slightly).
    /// Returns the number of bucket moves attempted (multiple of 100).
    pub fn rehash_for(&mut self, budget: Duration) -> usize {
        let start = Instant::now();
        let mut moved = 0;
        while self.rehash_step(REHASH_BATCH) {
            moved += REHASH_BATCH;
            if start.elapsed() >= budget {
                break;
            }
        }
        moved
    }

    /// Starts shrinking (incrementally) when `len * 8 <= buckets` and the
    /// table has more than 4 buckets; the new size is the next power of two
    /// `>= max(len, 4)`. No-op while rehashing.
    pub fn shrink_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.tables[0].size();
        let used = self.tables[0].used;
        if size > INITIAL_SIZE && used.saturating_mul(MIN_FILL_RECIPROCAL) <= size {
            self.resize(used);
        }
    }

    /// Bytes one entry's chain node takes, key and value slots included.
    pub fn node_bytes(&self) -> usize {
        mem::size_of::<Node<K, V>>()
    }

    /// Bytes used by the bucket arrays and chain nodes (not counting what
    /// keys and values own on the heap).
    pub fn memory_usage(&self) -> usize {
        self.bucket_count() * mem::size_of::<Link<K, V>>()
            + self.len() * mem::size_of::<Node<K, V>>()
    }

    /// Table receiving new entries.
    fn insert_table(&self) -> usize {
        if self.is_rehashing() {
            1
        } else {
            0
        }
    }

    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let t0 = &self.tables[0];
        if t0.size() == 0 {
            self.resize(INITIAL_SIZE);
        } else if t0.used >= t0.size() {
            self.resize(t0.used + 1);
        }
    }

    /// Starts a resize to the next power of two `>= max(size, 4)`. Returns
    /// false if rehashing, if `size` is below the entry count, or if the
    /// size would not change.
    fn resize(&mut self, size: usize) -> bool {
        if self.is_rehashing() || self.tables[0].used > size {
            return false;
        }
        let Some(new_size) = size.max(INITIAL_SIZE).checked_next_power_of_two() else {
            return false;
        };
        if new_size == self.tables[0].size() {
            return false;
        }
        let table = Table::with_size(new_size);
        if self.tables[0].used == 0 {
            self.tables[0] = table;
        } else {
            self.tables[1] = table;
            self.rehash_idx = Some(0);
        }
        true
    }
}

impl<K: DictKey + fmt::Debug, V: fmt::Debug> fmt::Debug for Dict<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a, K: DictKey, V> IntoIterator for &'a Dict<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

/// Iterator over a dict's entries (in no particular order).
pub struct Iter<'a, K, V> {
    tables: [&'a [Link<K, V>]; 2],
    table: usize,
    bucket: usize,
    node: Option<&'a Node<K, V>>,
    remaining: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = self.node {
                self.node = node.next.as_deref();
                self.remaining -= 1;
                return Some((&node.key, &node.value));
            }
            if self.remaining == 0 || self.table >= 2 {
                return None;
            }
            let buckets = self.tables[self.table];
            if self.bucket < buckets.len() {
                self.node = buckets[self.bucket].as_deref();
                self.bucket += 1;
            } else {
                self.table += 1;
                self.bucket = 0;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<K, V> FusedIterator for Iter<'_, K, V> {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::HashMap;

    type D = Dict<Vec<u8>, u64>;

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    fn filled(n: usize) -> D {
        let mut d = D::new();
        for i in 0..n {
            d.insert(key(i), i as u64);
        }
        d
    }

    fn finish_rehash<K: DictKey, V>(d: &mut Dict<K, V>) {
        while d.rehash_step(1000) {}
    }

    /// Checks internal invariants: per-table counts, rehash-index emptiness,
    /// and that every entry sits in the bucket its hash selects (table 0
    /// entries during a shrink also obey this).
    fn check_invariants(d: &D) {
        for (t, table) in d.tables.iter().enumerate() {
            let mut count = 0;
            for (i, bucket) in table.buckets.iter().enumerate() {
                let mut link = bucket.as_deref();
                if t == 0 {
                    if let Some(r) = d.rehash_idx {
                        if i < r {
                            assert!(link.is_none(), "bucket below rehash index not empty");
                        }
                    }
                }
                while let Some(node) = link {
                    assert_eq!(table.index(d.hash(&node.key)), i);
                    count += 1;
                    link = node.next.as_deref();
                }
            }
            assert_eq!(count, table.used);
        }
        if !d.is_rehashing() {
            assert_eq!(d.tables[1].size(), 0);
        }
    }

    #[test]
    fn new_allocates_nothing_and_first_insert_allocates_four() {
        let mut d = D::new();
        assert_eq!(d.memory_usage(), 0);
        assert_eq!(d.bucket_count(), 0);
        assert!(d.is_empty());
        assert_eq!(d.get(b"x"), None);
        assert_eq!(d.remove(b"x"), None);
        assert_eq!(d.get_mut(b"x"), None);
        d.insert(key(0), 0);
        assert_eq!(d.bucket_count(), 4);
        for i in 1..4 {
            d.insert(key(i), i as u64);
        }
        assert_eq!(d.bucket_count(), 4);
        assert!(!d.is_rehashing());
        // Load factor 1 reached: the fifth insert starts growing to 8.
        d.insert(key(4), 4);
        assert!(d.is_rehashing());
        assert_eq!(d.tables[1].size(), 8);
        finish_rehash(&mut d);
        assert_eq!(d.bucket_count(), 8);
        assert_eq!(d.len(), 5);
        check_invariants(&d);
    }

    #[test]
    fn random_operations_match_hashmap_model() {
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let mut d = D::new();
        let mut model: HashMap<Vec<u8>, u64> = HashMap::new();
        for step in 0..30_000u64 {
            // Skew the key space over time so the table grows and shrinks.
            let span = if (step / 5000) % 2 == 0 { 3000 } else { 200 };
            let k = key(rng.gen_range(0..span));
            match rng.gen_range(0..100) {
                0..=34 => {
                    assert_eq!(d.insert(k.clone(), step), model.insert(k, step));
                }
                35..=59 => {
                    let got = d.remove(&k);
                    let want = model.remove(&k).map(|v| (k.clone(), v));
                    assert_eq!(got, want);
                }
                60..=74 => {
                    assert_eq!(d.get(&k), model.get(&k));
                    assert_eq!(d.contains_key(&k), model.contains_key(&k));
                    assert_eq!(d.get_key_value(&k), model.get_key_value(&k));
                }
                75..=84 => {
                    if let Some(v) = d.get_mut(&k) {
                        *v += 1;
                    }
                    if let Some(v) = model.get_mut(&k) {
                        *v += 1;
                    }
                }
                85..=94 => {
                    let mut made = false;
                    let v = d.get_or_insert_with(
                        &k,
                        || {
                            made = true;
                            k.clone()
                        },
                        || step,
                    );
                    *v += 7;
                    let existed = model.contains_key(&k);
                    *model.entry(k.clone()).or_insert(step) += 7;
                    assert_eq!(made, !existed);
                }
                _ => d.shrink_if_needed(),
            }
            assert_eq!(d.len(), model.len());
            if step % 997 == 0 {
                check_invariants(&d);
            }
        }
        check_invariants(&d);
        let mut seen: HashMap<Vec<u8>, u64> = HashMap::new();
        for (k, v) in &d {
            assert!(seen.insert(k.clone(), *v).is_none(), "iter repeated a key");
        }
        assert_eq!(seen, model);
        assert_eq!(d.iter().len(), model.len());
    }

    /// Key whose identity is its bytes, with a tag to tell instances apart.
    #[derive(Debug)]
    struct Tagged(Vec<u8>, u32);

    impl PartialEq for Tagged {
        fn eq(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }

    impl Eq for Tagged {}

    impl DictKey for Tagged {
        fn key_bytes(&self) -> &[u8] {
            &self.0
        }
    }

    #[test]
    fn insert_replaces_value_and_keeps_old_key() {
        let mut d: Dict<Tagged, &str> = Dict::new();
        assert_eq!(d.insert(Tagged(b"k".to_vec(), 1), "a"), None);
        assert_eq!(d.insert(Tagged(b"k".to_vec(), 2), "b"), Some("a"));
        assert_eq!(d.len(), 1);
        let (k, v) = d.get_key_value(b"k").unwrap();
        assert_eq!((k.1, *v), (1, "b"));
        let v = d.get_or_insert_with(b"k", || unreachable!("exists"), || "c");
        assert_eq!(*v, "b");
        let (k, v) = d.remove(b"k").unwrap();
        assert_eq!((k.1, v), (1, "b"));
        assert!(d.is_empty());
    }

    /// Runs a full scan while `mutate` changes the dict between calls and
    /// returns the set of visited keys.
    fn scan_with(d: &mut D, mut mutate: impl FnMut(&mut D, usize)) -> HashMap<Vec<u8>, usize> {
        let mut visited = HashMap::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = d.scan(cursor, |k, _| *visited.entry(k.clone()).or_insert(0) += 1);
            calls += 1;
            assert!(calls < 1_000_000, "scan does not terminate");
            if cursor == 0 {
                break;
            }
            mutate(d, calls);
        }
        visited
    }

    #[test]
    fn scan_guarantee_while_growing() {
        for seed in 0..8u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut d = D::new();
            // Stable keys stay for the whole scan; "other" keys are removed.
            for i in 0..300 {
                d.insert(format!("stable:{i}").into_bytes(), i);
                d.insert(format!("other:{i}").into_bytes(), i);
            }
            finish_rehash(&mut d);
            let start_buckets = d.bucket_count();
            let mut saw_rehash = false;
            let mut next_new = 0;
            let mut next_removed = 0;
            let visited = scan_with(&mut d, |d, _| {
                for _ in 0..rng.gen_range(0..40) {
                    if next_new >= 6000 {
                        break;
                    }
                    d.insert(format!("new:{next_new}").into_bytes(), 0);
                    next_new += 1;
                }
                if next_removed < 300 && rng.gen_bool(0.5) {
                    assert!(d
                        .remove(format!("other:{next_removed}").as_bytes())
                        .is_some());
                    next_removed += 1;
                }
                saw_rehash |= d.is_rehashing();
            });
            assert!(saw_rehash, "seed {seed}: scan never overlapped a rehash");
            assert!(
                d.bucket_count() >= 4 * start_buckets,
                "seed {seed}: no growth"
            );
            for i in 0..300 {
                let k = format!("stable:{i}").into_bytes();
                assert!(visited.contains_key(&k), "seed {seed}: missed {i}");
            }
            for k in visited.keys() {
                assert!(
                    k.starts_with(b"stable:") || k.starts_with(b"other:") || k.starts_with(b"new:")
                );
            }
            check_invariants(&d);
        }
    }

    #[test]
    fn scan_guarantee_while_shrinking() {
        for seed in 0..8u64 {
            let mut rng = StdRng::seed_from_u64(100 + seed);
            let mut d = D::new();
            for i in 0..100 {
                d.insert(format!("stable:{i}").into_bytes(), i);
            }
            for i in 0..8000 {
                d.insert(format!("other:{i}").into_bytes(), i);
            }
            finish_rehash(&mut d);
            let start_buckets = d.bucket_count();
            let mut saw_rehash = false;
            let mut next_removed = 0;
            let visited = scan_with(&mut d, |d, _| {
                for _ in 0..rng.gen_range(0..120) {
                    if next_removed < 8000 {
                        d.remove(format!("other:{next_removed}").as_bytes());
                        next_removed += 1;
                    }
                }
                d.shrink_if_needed();
                saw_rehash |= d.is_rehashing();
                // Reads with &mut advance the rehash too.
                d.get_mut(b"stable:0");
            });
            assert!(saw_rehash, "seed {seed}: scan never overlapped a rehash");
            assert!(
                d.bucket_count() * 4 <= start_buckets,
                "seed {seed}: no shrink"
            );
            for i in 0..100 {
                let k = format!("stable:{i}").into_bytes();
                assert!(visited.contains_key(&k), "seed {seed}: missed {i}");
            }
            check_invariants(&d);
        }
    }

    #[test]
    fn scan_guarantee_with_random_grow_and_shrink() {
        let mut rng = StdRng::seed_from_u64(77);
        for round in 0..20 {
            let mut d = D::new();
            for i in 0..50 {
                d.insert(format!("stable:{i}").into_bytes(), i);
            }
            let mut churn: Vec<Vec<u8>> = Vec::new();
            let mut counter = 0;
            let visited = scan_with(&mut d, |d, _| {
                if rng.gen_bool(0.5) {
                    for _ in 0..rng.gen_range(0..200) {
                        let k = format!("churn:{counter}").into_bytes();
                        counter += 1;
                        d.insert(k.clone(), 0);
                        churn.push(k);
                    }
                } else {
                    for _ in 0..rng.gen_range(0..200) {
                        if let Some(k) = churn.pop() {
                            d.remove(&k);
                        }
                    }
                    d.shrink_if_needed();
                }
                if rng.gen_bool(0.3) {
                    d.rehash_step(rng.gen_range(0..4));
                }
            });
            for i in 0..50 {
                let k = format!("stable:{i}").into_bytes();
                assert!(visited.contains_key(&k), "round {round}: missed {i}");
            }
        }
    }

    #[test]
    fn scan_empty_and_full_scan_without_changes() {
        let d = D::new();
        let mut calls = 0;
        assert_eq!(d.scan(0, |_, _| calls += 1), 0);
        assert_eq!(d.scan(12345, |_, _| calls += 1), 0);
        assert_eq!(calls, 0);

        for n in [1usize, 3, 4, 5, 100, 1000, 4097] {
            let mut d = filled(n);
            for rehashing in [d.is_rehashing(), false] {
                if !rehashing {
                    finish_rehash(&mut d);
                }
                let mut visited = HashMap::new();
                let mut cursor = 0;
                loop {
                    cursor = d.scan(cursor, |k, v| {
                        assert_eq!(d.get(k), Some(v));
                        *visited.entry(k.clone()).or_insert(0) += 1;
                    });
                    if cursor == 0 {
                        break;
                    }
                }
                assert_eq!(visited.len(), n, "n={n} rehashing={rehashing}");
                // Without changes each entry is reported exactly once.
                assert!(visited.values().all(|&c| c == 1));
            }
        }
    }

    #[test]
    fn full_scan_mid_rehash_visits_everything() {
        // 1024 entries in 1024 buckets; one more insert starts a rehash to
        // 2048 which stays in progress while we scan (scan is read-only).
        let mut d = filled(1024);
        finish_rehash(&mut d);
        d.insert(key(1024), 0);
        d.rehash_step(100);
        assert!(d.is_rehashing());
        let mut visited = HashMap::new();
        let mut cursor = 0;
        loop {
            cursor = d.scan(cursor, |k, _| *visited.entry(k.clone()).or_insert(0) += 1);
            if cursor == 0 {
                break;
            }
        }
        assert!(d.is_rehashing());
        assert_eq!(visited.len(), 1025);
        // iter during rehashing yields each entry exactly once.
        let keys: HashSet<_> = d.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys.len(), 1025);
        assert_eq!(d.iter().count(), 1025);
    }

    #[test]
    fn random_entry_hits_every_entry_and_only_present_ones() {
        let d = D::new();
        assert!(d.random_entry().is_none());

        let mut d = filled(10);
        let mut hits = HashMap::new();
        for _ in 0..3000 {
            let (k, v) = d.random_entry().unwrap();
            assert_eq!(d.get(k), Some(v));
            *hits.entry(k.clone()).or_insert(0) += 1;
        }
        assert_eq!(hits.len(), 10);

        // While rehashing (growing) and after removals.
        let mut d2 = filled(2048);
        finish_rehash(&mut d2);
        d2.insert(key(5000), 0);
        assert!(d2.is_rehashing());
        for i in 0..2000 {
            d2.remove(&key(i));
        }
        let mut hits = HashSet::new();
        for _ in 0..5000 {
            let (k, v) = d2.random_entry().unwrap();
            assert_eq!(d2.get(k), Some(v));
            hits.insert(k.clone());
        }
        assert_eq!(hits.len(), d2.len());

        // Very sparse table: exercises the fallback path.
        d.clear();
        let mut sparse = filled(100_000);
        for i in 1..100_000 {
            sparse.remove(&key(i));
        }
        for _ in 0..20 {
            assert_eq!(sparse.random_entry().unwrap().0, &key(0));
        }
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(sparse.random_bucket_entry(&mut rng).key, key(0));
    }

    fn assert_valid_sample(d: &D, out: &[(&Vec<u8>, &u64)], count: usize) {
        assert!(out.len() <= count);
        assert!(out.len() <= d.len());
        let distinct: HashSet<_> = out.iter().map(|(k, _)| (*k).clone()).collect();
        assert_eq!(distinct.len(), out.len(), "duplicates in sample");
        for (k, v) in out {
            assert_eq!(d.get(k), Some(*v));
        }
    }

    #[test]
    fn sample_returns_distinct_present_entries() {
        let empty = D::new();
        let mut out = Vec::new();
        empty.sample(10, &mut out);
        assert!(out.is_empty());

        let d = filled(1000);
        for count in [0usize, 1, 5, 20, 100] {
            let mut out = Vec::new();
            d.sample(count, &mut out);
            assert_valid_sample(&d, &out, count);
            if count > 0 {
                assert!(!out.is_empty());
            }
        }

        // Small dict, big request: at most len, all distinct; usually all.
        let small = filled(30);
        let mut best = 0;
        for _ in 0..50 {
            let mut out = Vec::new();
            small.sample(5000, &mut out);
            assert_valid_sample(&small, &out, 5000);
            best = best.max(out.len());
        }
        assert_eq!(best, 30);

        // During rehashing (both directions).
        let mut g = filled(4096);
        finish_rehash(&mut g);
        g.insert(key(9999), 0);
        g.rehash_step(50);
        assert!(g.is_rehashing());
        for _ in 0..100 {
            let mut out = Vec::new();
            g.sample(20, &mut out);
            assert_valid_sample(&g, &out, 20);
        }
        let mut s = filled(4096);
        finish_rehash(&mut s);
        for i in 0..3900 {
            s.remove(&key(i));
        }
        s.shrink_if_needed();
        s.rehash_step(20);
        assert!(s.is_rehashing());
        for _ in 0..100 {
            let mut out = Vec::new();
            s.sample(64, &mut out);
            assert_valid_sample(&s, &out, 64);
        }

        // Appends without clearing.
        let mut out = Vec::new();
        d.sample(3, &mut out);
        let first = out.len();
        d.sample(3, &mut out);
        assert!(out.len() > first);
    }

    #[test]
    fn rehash_step_and_rehash_for_finish() {
        let mut d = filled(4096);
        finish_rehash(&mut d);
        d.insert(key(4096), 0);
        assert!(d.is_rehashing());
        let mut steps = 0;
        while d.rehash_step(1) {
            steps += 1;
            assert!(steps < 100_000);
        }
        assert!(!d.is_rehashing());
        assert_eq!(d.bucket_count(), 8192);
        assert!(!d.rehash_step(1));
        check_invariants(&d);
        for i in 0..=4096 {
            assert_eq!(
                d.get(&key(i)).copied(),
                Some(if i == 4096 { 0 } else { i as u64 })
            );
        }

        let mut d = filled(8192);
        finish_rehash(&mut d);
        d.insert(key(8192), 0);
        assert!(d.is_rehashing());
        let moved = d.rehash_for(Duration::from_secs(10));
        assert!(moved > 0);
        assert!(!d.is_rehashing());
        assert_eq!(d.len(), 8193);
        assert_eq!(d.rehash_for(Duration::from_secs(1)), 0);
        check_invariants(&d);
    }

    #[test]
    fn rehash_step_bounds_empty_visits() {
        let mut d = filled(4096);
        finish_rehash(&mut d);
        for i in 0..4000 {
            d.remove(&key(i));
        }
        d.shrink_if_needed();
        assert!(d.is_rehashing());
        loop {
            let before = d.rehash_idx.unwrap();
            let more = d.rehash_step(1);
            if !more {
                break;
            }
            let after = d.rehash_idx.unwrap();
            assert!(after > before);
            assert!(after - before <= EMPTY_VISITS_PER_BUCKET);
        }
        assert_eq!(d.bucket_count(), 128);
        check_invariants(&d);
    }

    #[test]
    fn shrink_after_mass_removal_reduces_memory() {
        let mut d = filled(10_000);
        finish_rehash(&mut d);
        let full = d.memory_usage();
        assert_eq!(d.bucket_count(), 16384);
        // Fill above 1/8: nothing happens.
        d.shrink_if_needed();
        assert!(!d.is_rehashing());
        for i in 100..10_000 {
            d.remove(&key(i));
        }
        let before = d.memory_usage();
        assert!(before < full);
        d.shrink_if_needed();
        assert!(d.is_rehashing());
        d.rehash_for(Duration::from_secs(10));
        assert!(!d.is_rehashing());
        assert_eq!(d.bucket_count(), 128);
        assert!(d.memory_usage() < before / 10);
        for i in 0..100 {
            assert_eq!(d.get(&key(i)), Some(&(i as u64)));
        }
        check_invariants(&d);

        // Never below 4 buckets; an emptied dict shrinks without rehashing.
        for i in 0..100 {
            d.remove(&key(i));
        }
        d.shrink_if_needed();
        assert!(!d.is_rehashing());
        assert_eq!(d.bucket_count(), 4);
        d.shrink_if_needed();
        assert_eq!(d.bucket_count(), 4);
    }

    #[test]
    fn retain_and_clear() {
        let mut d = filled(5000);
        d.insert(key(5000), 5000); // leave a rehash in progress
        d.retain(|_, v| {
            *v += 1;
            *v % 2 == 0
        });
        assert_eq!(d.len(), 2500);
        for i in 0..=5000u64 {
            let got = d.get(&key(i as usize)).copied();
            assert_eq!(got, ((i + 1) % 2 == 0).then_some(i + 1));
        }
        check_invariants(&d);
        d.clear();
        assert!(d.is_empty());
        assert!(!d.is_rehashing());
        assert_eq!(d.memory_usage(), 0);
        assert_eq!(d.iter().count(), 0);
        d.insert(key(1), 1);
        assert_eq!(d.get(&key(1)), Some(&1));
        assert_eq!(format!("{d:?}"), format!("{{{:?}: 1}}", key(1)));
    }

    #[test]
    fn long_chain_and_big_table_drop_without_stack_overflow() {
        // Small stack so that recursive dropping would certainly overflow.
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                const N: usize = 200_000;
                // A single bucket holding one 200k-long chain.
                let mut d = D::new();
                let mut chain: Link<Vec<u8>, u64> = None;
                for i in 0..N {
                    chain = Some(Box::new(Node {
                        key: key(i),
                        value: i as u64,
                        next: chain,
                    }));
                }
                d.tables[0] = Table {
                    buckets: vec![chain].into_boxed_slice(),
                    used: N,
                };
                assert_eq!(d.len(), N);
                assert_eq!(d.get(&key(0)), Some(&0));
                assert_eq!(d.iter().count(), N);
                let mut out = Vec::new();
                d.sample(10, &mut out);
                assert_eq!(out.len(), 10);
                assert!(d.random_entry().is_some());
                // Growing re-distributes the chain iteratively.
                d.insert(key(N), 0);
                assert!(d.is_rehashing());
                d.rehash_step(1);
                assert!(!d.is_rehashing());
                assert_eq!(d.len(), N + 1);
                assert!(d.remove(&key(N / 2)).is_some());
                drop(d);

                let d = filled(N);
                assert_eq!(d.len(), N);
                drop(d);

                let mut d = filled(N);
                d.clear();
                assert!(d.is_empty());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn dict_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Dict<Vec<u8>, u64>>();
        assert_send_sync::<Dict<Arc<[u8]>, Box<[u8]>>>();
    }

    #[test]
    fn shared_key_types() {
        let mut d: Dict<Box<[u8]>, i32> = Dict::default();
        d.insert(Box::from(&b"a"[..]), 1);
        assert_eq!(d.get(b"a"), Some(&1));
        let mut d: Dict<Arc<[u8]>, i32> = Dict::new();
        d.insert(Arc::from(&b"a"[..]), 1);
        assert_eq!(d.get(b"a"), Some(&1));
        let mut d: Dict<bytes::Bytes, i32> = Dict::new();
        d.insert(bytes::Bytes::from_static(b"a"), 1);
        assert_eq!(d.get(b"a"), Some(&1));
    }
}
