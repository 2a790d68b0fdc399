//! The hash type. A small hash is one packed buffer of length-prefixed field/value entries in
//! insertion order (Redis's `listpack` encoding); it becomes a `Dict` (Redis's `hashtable`) once
//! it holds more fields than `hash-max-listpack-entries` or a field or value longer than
//! `hash-max-listpack-value`, and never goes back.

use std::fmt;

use rand::seq::index;
use rand::Rng;

use super::compact_bytes::CompactBytes;
use super::dict::Dict;
use super::varint;

/// The most bytes Redis lets a listpack reach before it prefers a hash table
/// (`LISTPACK_MAX_SAFETY_SIZE`).
const PACKED_MAX_BYTES: usize = 1 << 30;

/// How many times bigger than the requested count a hash table must be for HRANDFIELD to pick
/// fields one by one instead of copying the hash and dropping fields (Redis's
/// `HRANDFIELD_SUB_STRATEGY_MUL`).
const SUB_STRATEGY_MUL: usize = 3;

type Table = Dict<Box<[u8]>, Box<[u8]>>;

/// The encoding limits in force (`hash-max-listpack-entries`, `hash-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

pub struct HashValue {
    repr: Repr,
}

enum Repr {
    Packed(Packed),
    /// Boxed so that every `Value` stays as small as a packed hash.
    Table(Box<Table>),
}

impl Default for HashValue {
    fn default() -> Self {
        Self::new()
    }
}

impl HashValue {
    /// An empty hash, packed: Redis creates every hash as a listpack.
    pub fn new() -> Self {
        HashValue {
            repr: Repr::Packed(Packed::default()),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.pairs as usize,
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed(p) => p.find(field).map(|at| p.slice(at.value)),
            Repr::Table(t) => t.get(field).map(|v| &v[..]),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Redis's hashTypeTryConversion, run before a command writes `args` (fields and values):
    /// a packed hash converts up front if any of them is too long for it, or if adding them all
    /// could push the buffer past its safety size.
    pub fn prepare_for(&mut self, args: &[&[u8]], max_value: usize) {
        let Repr::Packed(p) = &self.repr else {
            return;
        };
        let mut sum = 0usize;
        for arg in args {
            if arg.len() > max_value {
                self.convert();
                return;
            }
            sum = sum.saturating_add(arg.len());
        }
        if p.buf.len().saturating_add(sum) > PACKED_MAX_BYTES {
            self.convert();
        }
    }

    /// Sets `field` to `value`; true if the field is new. Like Redis's hashTypeSet: a field or
    /// value too long for the packed form converts first, and a packed hash that ends up with
    /// more than `max_entries` fields converts after.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: Limits) -> bool {
        if matches!(self.repr, Repr::Packed(_))
            && (field.len() > limits.max_value || value.len() > limits.max_value)
        {
            self.convert();
        }
        match &mut self.repr {
            Repr::Packed(p) => {
                let added = p.set(field, value);
                if p.pairs as usize > limits.max_entries {
                    self.convert();
                }
                added
            }
            Repr::Table(t) => t.insert(field.into(), value.into()).is_none(),
        }
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(field),
            Repr::Table(t) => t.remove(field).is_some(),
        }
    }

    /// Every field and its value: in insertion order while packed, in table order after.
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Packed(p) => Iter::Packed(p.pairs_iter()),
            Repr::Table(t) => Iter::Table(t.iter()),
        }
    }

    /// One HSCAN step from `cursor`, calling `f` for every pair visited: a packed hash is
    /// visited whole in one call (cursor 0 back), as Redis does for listpacks. On a table, like
    /// Redis's scanGenericCommand, it walks buckets until `per_pair * pairs >= count`, the
    /// cursor wraps, or `count * 10` further buckets were walked.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        per_pair: usize,
        mut f: impl FnMut(&[u8], &[u8]),
    ) -> u64 {
        match &self.repr {
            Repr::Packed(p) => {
                p.pairs_iter().for_each(|(k, v)| f(k, v));
                0
            }
            Repr::Table(t) => {
                let mut budget = count.saturating_mul(10);
                let mut seen = 0usize;
                let mut cursor = cursor;
                loop {
                    cursor = t.scan(cursor, |k, v| {
                        seen += per_pair;
                        f(k, v)
                    });
                    if cursor == 0 || budget == 0 || seen >= count {
                        return cursor;
                    }
                    budget -= 1;
                }
            }
        }
    }

    /// A random field and its value.
    pub fn random_pair(&self) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Packed(p) if p.pairs > 0 => p
                .pairs_iter()
                .nth(rand::thread_rng().gen_range(0..p.pairs as usize)),
            Repr::Packed(_) => None,
            Repr::Table(t) => t.random_entry().map(|(k, v)| (&k[..], &v[..])),
        }
    }

    /// `count` random pairs, each drawn independently (HRANDFIELD with a negative count).
    pub fn random_pairs_with_repeats(&self, count: usize, mut f: impl FnMut(&[u8], &[u8])) {
        match &self.repr {
            Repr::Packed(p) => {
                let all: Vec<_> = p.pairs_iter().collect();
                if all.is_empty() {
                    return;
                }
                let mut rng = rand::thread_rng();
                for _ in 0..count {
                    let (k, v) = all[rng.gen_range(0..all.len())];
                    f(k, v);
                }
            }
            Repr::Table(t) => {
                for _ in 0..count {
                    if let Some((k, v)) = t.random_entry() {
                        f(k, v);
                    }
                }
            }
        }
    }

    /// `count` distinct random pairs, `count` below the field count (HRANDFIELD with a positive
    /// count). A packed hash yields them in its own order, as Redis's lpRandomPairsUnique does;
    /// a table in random order.
    pub fn distinct_random_pairs(&self, count: usize) -> Vec<(&[u8], &[u8])> {
        let size = self.len();
        let count = count.min(size);
        let mut rng = rand::thread_rng();
        match &self.repr {
            Repr::Packed(p) => {
                let mut picks = index::sample(&mut rng, size, count).into_vec();
                picks.sort_unstable();
                let mut picks = picks.into_iter().peekable();
                let mut out = Vec::with_capacity(count);
                for (i, pair) in p.pairs_iter().enumerate() {
                    if picks.peek() == Some(&i) {
                        picks.next();
                        out.push(pair);
                    }
                }
                out
            }
            Repr::Table(t) if count.saturating_mul(SUB_STRATEGY_MUL) > size => {
                // Most of the hash is wanted: copy it and drop random pairs.
                let mut all: Vec<(&[u8], &[u8])> =
                    t.iter().map(|(k, v)| (&k[..], &v[..])).collect();
                while all.len() > count {
                    let i = rng.gen_range(0..all.len());
                    all.swap_remove(i);
                }
                all
            }
            Repr::Table(t) => {
                // A small part is wanted: draw until enough distinct fields came up.
                let mut seen = std::collections::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some((k, v)) = t.random_entry() else {
                        break;
                    };
                    if seen.insert(&k[..]) {
                        out.push((&k[..], &v[..]));
                    }
                }
                out
            }
        }
    }

    /// What OBJECT ENCODING reports (Redis 7.2's names).
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn free_effort(&self) -> usize {
        match &self.repr {
            Repr::Packed(_) => 1,
            Repr::Table(t) => t.len(),
        }
    }

    /// Heap bytes this hash holds beyond its `Value` slot.
    pub fn memory_usage(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.buf.len(),
            Repr::Table(t) => {
                std::mem::size_of::<Table>()
                    + t.memory_usage()
                    + t.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            }
        }
    }

    /// Redis's hashTypeConvert to a hash table (a no-op on a table).
    fn convert(&mut self) {
        if let Repr::Packed(p) = &self.repr {
            let mut table = Table::new();
            for (k, v) in p.pairs_iter() {
                table.insert(k.into(), v.into());
            }
            self.repr = Repr::Table(Box::new(table));
        }
    }
}

impl Clone for HashValue {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Packed(p) => Repr::Packed(p.clone()),
            Repr::Table(t) => {
                let mut table = Table::new();
                for (k, v) in t.iter() {
                    table.insert(k.clone(), v.clone());
                }
                Repr::Table(Box::new(table))
            }
        };
        HashValue { repr }
    }
}

/// Equal contents, whatever the encodings.
impl PartialEq for HashValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for HashValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The pairs of a hash, see [`HashValue::iter`].
pub enum Iter<'a> {
    Packed(PairsIter<'a>),
    Table(super::dict::Iter<'a, Box<[u8]>, Box<[u8]>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Packed(it) => it.next(),
            Iter::Table(it) => it.next().map(|(k, v)| (&k[..], &v[..])),
        }
    }
}

/// Where one pair sits in a packed buffer: where its field's entry starts, where its value's
/// entry starts, and the value's bytes.
struct PairAt {
    start: usize,
    value_entry: usize,
    value: std::ops::Range<usize>,
}

/// Field, value, field, value... each entry a LEB128 length then the bytes.
#[derive(Clone, Default)]
struct Packed {
    buf: CompactBytes,
    /// Below 2^32: the buffer is at most `PACKED_MAX_BYTES`, and a pair takes two bytes or more.
    pairs: u32,
}

impl Packed {
    fn slice(&self, range: std::ops::Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    fn entries(&self) -> Entries<'_> {
        Entries {
            buf: &self.buf,
            pos: 0,
        }
    }

    fn pairs_iter(&self) -> PairsIter<'_> {
        PairsIter(self.entries())
    }

    fn find(&self, field: &[u8]) -> Option<PairAt> {
        let mut entries = self.entries();
        loop {
            let start = entries.pos;
            let k = entries.next_range()?;
            let value_entry = entries.pos;
            let value = entries.next_range()?;
            if self.buf.get(k) == Some(field) {
                return Some(PairAt {
                    start,
                    value_entry,
                    value,
                });
            }
        }
    }

    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(at) => {
                // Replaced in place: the field keeps its position, as with lpReplace.
                let value_len = varint::encode(value.len());
                self.buf
                    .replace(at.value_entry..at.value.end, &[value_len.as_slice(), value]);
                false
            }
            None => {
                let (field_len, value_len) =
                    (varint::encode(field.len()), varint::encode(value.len()));
                self.buf
                    .append(&[field_len.as_slice(), field, value_len.as_slice(), value]);
                self.pairs += 1;
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some(at) => {
                self.buf.replace(at.start..at.value.end, &[]);
                self.pairs -= 1;
                true
            }
            None => false,
        }
    }
}

/// The entries of a packed buffer, as byte ranges or slices.
struct Entries<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Entries<'_> {
    fn next_range(&mut self) -> Option<std::ops::Range<usize>> {
        let (len, start) = varint::read(self.buf, self.pos)?;
        self.pos = start;
        let range = self.pos..self.pos.checked_add(len)?;
        self.pos = range.end;
        Some(range)
    }
}

pub struct PairsIter<'a>(Entries<'a>);

impl<'a> Iterator for PairsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let buf = self.0.buf;
        let k = self.0.next_range()?;
        let v = self.0.next_range()?;
        Some((buf.get(k)?, buf.get(v)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Limits = Limits {
        max_entries: 128,
        max_value: 64,
    };

    fn pairs(h: &HashValue) -> Vec<(String, String)> {
        h.iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn packed_keeps_insertion_order_through_replace_and_delete() {
        let mut h = HashValue::new();
        for (k, v) in [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")] {
            assert!(h.set(k.as_bytes(), v.as_bytes(), DEFAULT));
        }
        assert!(!h.set(b"b", b"a much longer value than before", DEFAULT));
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert!(h.set(b"a", b"", DEFAULT));
        assert_eq!(
            pairs(&h),
            owned(&[
                ("b", "a much longer value than before"),
                ("c", "3"),
                ("d", "4"),
                ("a", "")
            ])
        );
        assert_eq!(h.len(), 4);
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.free_effort(), 1);
        assert_eq!(h.get(b"c"), Some(&b"3"[..]));
        assert_eq!(h.get(b"zz"), None);
    }

    #[test]
    fn long_entries_keep_their_length_prefix() {
        let mut h = HashValue::new();
        let limits = Limits {
            max_entries: 128,
            max_value: 100_000,
        };
        let long = vec![b'x'; 70_000];
        h.set(b"f", &long, limits);
        h.set(&long, b"v", limits);
        h.set(b"g", b"1", limits);
        h.set(b"f", b"short", limits);
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.get(b"f"), Some(&b"short"[..]));
        assert_eq!(h.get(&long), Some(&b"v"[..]));
        assert!(h.remove(&long));
        assert_eq!(pairs(&h), owned(&[("f", "short"), ("g", "1")]));
    }

    #[test]
    fn converts_past_the_entry_limit_and_never_back() {
        let limits = Limits {
            max_entries: 3,
            max_value: 64,
        };
        let mut h = HashValue::new();
        for k in ["a", "b", "c"] {
            h.set(k.as_bytes(), b"v", limits);
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"d", b"v", limits);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.free_effort(), 4);
        for k in ["a", "b", "c"] {
            h.remove(k.as_bytes());
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(pairs(&h), owned(&[("d", "v")]));
    }

    #[test]
    fn zero_entries_makes_every_hash_a_table() {
        let mut h = HashValue::new();
        h.set(
            b"f",
            b"v",
            Limits {
                max_entries: 0,
                max_value: 64,
            },
        );
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"f"), Some(&b"v"[..]));
    }

    #[test]
    fn long_field_or_value_converts() {
        let limits = Limits {
            max_entries: 128,
            max_value: 4,
        };
        let mut h = HashValue::new();
        h.set(b"f", b"1234", limits);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f", b"12345", limits);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.set(b"12345", b"1", limits);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn prepare_converts_on_any_long_argument_only() {
        let mut h = HashValue::new();
        h.set(b"a", b"1", DEFAULT);
        h.prepare_for(&[b"a", b"1", b"b", b"2"], 1);
        assert_eq!(h.encoding(), "listpack");
        h.prepare_for(&[b"a", b"1", b"b", b"22"], 1);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(pairs(&h), owned(&[("a", "1")]));
    }

    #[test]
    fn scan_of_packed_is_whole_and_final() {
        let mut h = HashValue::new();
        h.set(b"a", b"1", DEFAULT);
        h.set(b"b", b"2", DEFAULT);
        let mut seen = Vec::new();
        let next = h.scan(12345, 1, 2, |k, v| seen.push((k.to_vec(), v.to_vec())));
        assert_eq!(next, 0);
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn scan_of_table_visits_every_field_across_calls() {
        let limits = Limits {
            max_entries: 8,
            max_value: 64,
        };
        let mut h = HashValue::new();
        for i in 0..500 {
            h.set(format!("f{i}").as_bytes(), b"v", limits);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            let mut batch = 0;
            cursor = h.scan(cursor, 10, 2, |k, _| {
                batch += 1;
                seen.insert(k.to_vec());
            });
            calls += 1;
            assert!(batch <= 500);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 500);
        assert!(calls > 10, "COUNT bounds each call ({calls} calls)");
    }

    #[test]
    fn random_pairs_come_from_the_hash() {
        for max_entries in [128, 2] {
            let limits = Limits {
                max_entries,
                max_value: 64,
            };
            let mut h = HashValue::new();
            for i in 0..10 {
                h.set(
                    format!("f{i}").as_bytes(),
                    format!("v{i}").as_bytes(),
                    limits,
                );
            }
            let (k, v) = h.random_pair().unwrap();
            assert_eq!(h.get(k), Some(v));
            let mut n = 0;
            h.random_pairs_with_repeats(50, |k, v| {
                assert_eq!(h.get(k), Some(v));
                n += 1;
            });
            assert_eq!(n, 50);
            for count in [1, 3, 4, 9] {
                let picked = h.distinct_random_pairs(count);
                assert_eq!(picked.len(), count);
                let fields: std::collections::HashSet<_> = picked.iter().map(|p| p.0).collect();
                assert_eq!(fields.len(), count);
                assert!(picked.iter().all(|(k, v)| h.get(k) == Some(*v)));
            }
        }
        assert!(HashValue::new().random_pair().is_none());
    }

    #[test]
    fn distinct_packed_picks_keep_listpack_order() {
        let mut h = HashValue::new();
        for i in 0..20 {
            h.set(format!("{i:02}").as_bytes(), b"", DEFAULT);
        }
        for _ in 0..20 {
            let picked: Vec<_> = h
                .distinct_random_pairs(7)
                .into_iter()
                .map(|p| p.0)
                .collect();
            let mut sorted = picked.clone();
            sorted.sort();
            assert_eq!(picked, sorted);
        }
    }

    #[test]
    fn clone_and_equality_ignore_encoding() {
        let mut packed = HashValue::new();
        let mut table = HashValue::new();
        let tiny = Limits {
            max_entries: 0,
            max_value: 64,
        };
        for (k, v) in [("a", "1"), ("b", "2")] {
            packed.set(k.as_bytes(), v.as_bytes(), DEFAULT);
            table.set(k.as_bytes(), v.as_bytes(), tiny);
        }
        assert_eq!(packed, table);
        let copy = table.clone();
        assert_eq!(copy.encoding(), "hashtable");
        assert_eq!(copy, packed);
        table.set(b"a", b"9", tiny);
        assert_ne!(table, packed);
    }

    #[test]
    fn packed_memory_is_one_buffer() {
        let mut h = HashValue::new();
        for (k, v) in [("name", "alice"), ("age", "30"), ("city", "paris")] {
            h.set(k.as_bytes(), v.as_bytes(), DEFAULT);
        }
        // 6 entries, one length byte each, plus 21 bytes of text.
        assert!(h.memory_usage() >= 27);
        assert!(h.memory_usage() < 64, "{}", h.memory_usage());
        assert_eq!(std::mem::size_of::<HashValue>(), 24);
    }
}
