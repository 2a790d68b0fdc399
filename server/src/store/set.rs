//! The set type, in Redis 7.2's three encodings: an `intset` (sorted integers packed at the
//! narrowest width that holds them all), a `listpack` (one buffer of length-prefixed members, in
//! insertion order) and a `hashtable` (a [`Dict`], for O(1) lookups and SCAN's guarantee). A set
//! changes encoding exactly where Redis's t_set.c does, and never goes back except where Redis
//! does (SINTERSTORE's result, SPOP's rebuilt remainder).

use rand::Rng;

use super::compact_bytes::CompactBytes;
use super::dict::Dict;
use super::varint;
use crate::protocol::request::parse_i64;

/// Listpacks refuse to grow past 1 GiB (Redis's LISTPACK_MAX_SAFETY_SIZE).
const LISTPACK_SAFETY_BYTES: usize = 1 << 30;
/// An intset holds at most 2^30 entries whatever the configuration says.
const INTSET_HARD_MAX: usize = 1 << 30;

/// The encoding thresholds (`set-max-intset-entries`, `set-max-listpack-entries`,
/// `set-max-listpack-value`) in force for one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetLimits {
    pub intset_entries: usize,
    pub listpack_entries: usize,
    pub listpack_value: usize,
}

impl SetLimits {
    fn intset_max(&self) -> usize {
        self.intset_entries.min(INTSET_HARD_MAX)
    }
}

/// A member as an encoding holds it: intsets hold numbers, the others bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// The member's text, as the client sees it.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Member::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
            Member::Bytes(b) => b.to_vec(),
        }
    }

    /// Calls `f` with the member's text without allocating for integers.
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
            Member::Bytes(b) => f(b),
        }
    }
}

#[derive(Debug)]
enum Repr {
    Ints(IntSet),
    Packed(Packed),
    /// Boxed so that small sets do not carry the size of a hash table's header.
    Table(Box<Dict<Box<[u8]>, ()>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SetValue {
    repr: Repr,
}

// Written out because `Dict` is neither `Clone` nor `PartialEq`: COPY needs the one, `Value`'s
// derive the other.
impl Clone for Repr {
    fn clone(&self) -> Self {
        match self {
            Repr::Ints(s) => Repr::Ints(s.clone()),
            Repr::Packed(p) => Repr::Packed(p.clone()),
            Repr::Table(d) => {
                let mut copy = Dict::new();
                for (k, _) in d.iter() {
                    copy.insert(k.clone(), ());
                }
                Repr::Table(Box::new(copy))
            }
        }
    }
}

impl PartialEq for Repr {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Repr::Ints(a), Repr::Ints(b)) => a == b,
            (Repr::Packed(a), Repr::Packed(b)) => a == b,
            (Repr::Table(a), Repr::Table(b)) => {
                a.len() == b.len() && a.iter().all(|(k, _)| b.contains_key(k))
            }
            _ => false,
        }
    }
}

impl SetValue {
    pub fn new_intset() -> Self {
        SetValue {
            repr: Repr::Ints(IntSet::default()),
        }
    }

    pub fn new_listpack() -> Self {
        SetValue {
            repr: Repr::Packed(Packed::default()),
        }
    }

    /// The empty set Redis creates for a key about to receive about `size_hint` members, the
    /// first being `first` (setTypeCreate).
    pub fn for_members(first: &[u8], size_hint: usize, limits: &SetLimits) -> Self {
        if parse_i64(first).is_some() && size_hint <= limits.intset_entries {
            Self::new_intset()
        } else if size_hint <= limits.listpack_entries {
            Self::new_listpack()
        } else {
            SetValue {
                repr: Repr::Table(Box::default()),
            }
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn free_effort(&self) -> usize {
        match &self.repr {
            Repr::Table(d) => d.len().max(1),
            _ => 1,
        }
    }

    /// Heap bytes only: the `Value` holding the set counts the set's own header.
    pub fn memory_usage(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.data.len(),
            Repr::Packed(p) => p.buf.len(),
            Repr::Table(d) => {
                std::mem::size_of::<Dict<Box<[u8]>, ()>>()
                    + d.memory_usage()
                    + d.iter().map(|(k, _)| k.len()).sum::<usize>()
            }
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.len(),
            Repr::Packed(p) => p.count as usize,
            Repr::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts ahead of adding about `size_hint` members when they could not all fit
    /// (setTypeMaybeConvert): SADD converts before adding even if the members are duplicates.
    pub fn maybe_convert(&mut self, size_hint: usize, limits: &SetLimits) {
        let convert = match &self.repr {
            Repr::Ints(_) => size_hint > limits.intset_entries,
            Repr::Packed(_) => size_hint > limits.listpack_entries,
            Repr::Table(_) => false,
        };
        if convert {
            self.convert_to_table();
        }
    }

    /// Adds `member`; false if it was already there.
    pub fn add(&mut self, member: &[u8], limits: &SetLimits) -> bool {
        match &mut self.repr {
            Repr::Table(d) => {
                if d.contains_key(member) {
                    return false;
                }
                d.insert(member.into(), ());
                true
            }
            Repr::Packed(p) => {
                if p.find(member).is_some() {
                    return false;
                }
                if (p.count as usize) < limits.listpack_entries
                    && member.len() <= limits.listpack_value
                    && p.safe_to_add(member.len())
                {
                    p.push(member);
                } else {
                    self.convert_to_table();
                    self.insert_into_table(member);
                }
                true
            }
            Repr::Ints(s) => {
                if let Some(n) = parse_i64(member) {
                    if !s.insert(n) {
                        return false;
                    }
                    if s.len() > limits.intset_max() {
                        self.convert_to_table();
                    }
                    return true;
                }
                // A non-integer: a listpack if every member, written out, would fit one.
                let n = s.len();
                let widest = if n == 0 {
                    0
                } else {
                    digits(s.get(0)).max(digits(s.get(n - 1)))
                };
                let estimate = n * (widest + 2) + member.len();
                if n < limits.listpack_entries
                    && member.len() <= limits.listpack_value
                    && widest <= limits.listpack_value
                    && estimate <= LISTPACK_SAFETY_BYTES
                {
                    let mut packed = Packed::default();
                    for i in 0..n {
                        packed.push(itoa::Buffer::new().format(s.get(i)).as_bytes());
                    }
                    packed.push(member);
                    self.repr = Repr::Packed(packed);
                } else {
                    self.convert_to_table();
                    self.insert_into_table(member);
                }
                true
            }
        }
    }

    fn insert_into_table(&mut self, member: &[u8]) {
        if let Repr::Table(d) = &mut self.repr {
            d.insert(member.into(), ());
        }
    }

    /// Removes `member`; false if it was not there. Never changes the encoding.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Table(d) => {
                let removed = d.remove(member).is_some();
                if removed {
                    d.shrink_if_needed();
                }
                removed
            }
            Repr::Packed(p) => match p.find(member) {
                Some(range) => {
                    p.remove_range(range);
                    true
                }
                None => false,
            },
            Repr::Ints(s) => parse_i64(member).is_some_and(|n| s.remove(n)),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Table(d) => d.contains_key(member),
            Repr::Packed(p) => p.find(member).is_some(),
            Repr::Ints(s) => parse_i64(member).is_some_and(|n| s.search(n).is_ok()),
        }
    }

    /// Members in the encoding's order: ascending for an intset, insertion order for a
    /// listpack, bucket order for a hash table.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Member<'_>> + '_> {
        match &self.repr {
            Repr::Ints(s) => Box::new((0..s.len()).map(|i| Member::Int(s.get(i)))),
            Repr::Packed(p) => Box::new(p.iter().map(Member::Bytes)),
            Repr::Table(d) => Box::new(d.iter().map(|(k, _)| Member::Bytes(&k[..]))),
        }
    }

    /// One random member (of a non-empty set), each equally likely.
    pub fn random_member(&self) -> Option<Member<'_>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let mut rng = rand::thread_rng();
        match &self.repr {
            Repr::Ints(s) => Some(Member::Int(s.get(rng.gen_range(0..n)))),
            Repr::Packed(p) => p.iter().nth(rng.gen_range(0..n)).map(Member::Bytes),
            Repr::Table(d) => d.random_entry().map(|(k, _)| Member::Bytes(&k[..])),
        }
    }

    /// `count` distinct random members (`count` below the size), in no particular order.
    pub fn random_distinct(&self, count: usize) -> Vec<Member<'_>> {
        let n = self.len();
        let count = count.min(n);
        match &self.repr {
            Repr::Table(d) => {
                let mut rng = rand::thread_rng();
                if count.saturating_mul(3) > n {
                    // Close to the whole set: drawing until distinct would mostly repeat.
                    let mut all: Vec<&[u8]> = d.iter().map(|(k, _)| &k[..]).collect();
                    for i in 0..count {
                        let j = rng.gen_range(i..all.len());
                        all.swap(i, j);
                    }
                    all.truncate(count);
                    all.into_iter().map(Member::Bytes).collect()
                } else {
                    let mut seen: std::collections::HashSet<&[u8]> =
                        std::collections::HashSet::with_capacity(count);
                    let mut out = Vec::with_capacity(count);
                    while out.len() < count {
                        let Some((k, _)) = d.random_entry() else {
                            break;
                        };
                        if seen.insert(&k[..]) {
                            out.push(Member::Bytes(&k[..]));
                        }
                    }
                    out
                }
            }
            _ => {
                let picks = sample_positions(n, count);
                let mut picks = picks.into_iter().peekable();
                let mut out = Vec::with_capacity(count);
                for (i, m) in self.iter().enumerate() {
                    if picks.peek() == Some(&i) {
                        out.push(m);
                        picks.next();
                    }
                }
                out
            }
        }
    }

    /// Removes and returns one random member.
    pub fn pop_random(&mut self) -> Option<Vec<u8>> {
        let member = self.random_member()?.to_vec();
        self.remove(&member);
        Some(member)
    }

    /// Removes `count` random members (`count` below the size) and returns them, as SPOP with a
    /// count does when most of the set stays.
    pub fn pop_some(&mut self, count: usize) -> Vec<Vec<u8>> {
        match &self.repr {
            Repr::Table(_) => (0..count).filter_map(|_| self.pop_random()).collect(),
            _ => {
                let chosen: Vec<Vec<u8>> = self
                    .random_distinct(count)
                    .into_iter()
                    .map(Member::to_vec)
                    .collect();
                for m in &chosen {
                    self.remove(m);
                }
                chosen
            }
        }
    }

    /// SPOP with a count that takes most of the set: keeps `keep` random members in a new set,
    /// built as Redis builds it (a listpack source stays a listpack, an intset an intset, a
    /// hash table's survivors start over in a listpack), and returns the rest.
    pub fn pop_all_but(&mut self, keep: usize, limits: &SetLimits) -> Vec<Vec<u8>> {
        let mut kept = match self.repr {
            Repr::Ints(_) => SetValue::new_intset(),
            _ => SetValue::new_listpack(),
        };
        let survivors: Vec<Vec<u8>> = self
            .random_distinct(keep)
            .into_iter()
            .map(Member::to_vec)
            .collect();
        for m in &survivors {
            kept.add(m, limits);
            self.remove(m);
        }
        let popped = self.iter().map(Member::to_vec).collect();
        *self = kept;
        popped
    }

    /// SINTERSTORE's last step: a result of integers only becomes an intset if it fits one.
    pub fn maybe_convert_to_intset(&mut self, limits: &SetLimits) {
        if matches!(self.repr, Repr::Ints(_)) || self.len() > limits.intset_max() {
            return;
        }
        let mut ints = IntSet::default();
        for m in self.iter() {
            let n = match m {
                Member::Int(n) => Some(n),
                Member::Bytes(b) => parse_i64(b),
            };
            match n {
                Some(n) => {
                    ints.insert(n);
                }
                None => return,
            }
        }
        self.repr = Repr::Ints(ints);
    }

    fn convert_to_table(&mut self) {
        if matches!(self.repr, Repr::Table(_)) {
            return;
        }
        let mut d: Dict<Box<[u8]>, ()> = Dict::new();
        for m in self.iter() {
            d.insert(m.to_vec().into_boxed_slice(), ());
        }
        self.repr = Repr::Table(Box::new(d));
    }

    /// One SSCAN step: compact encodings give everything at once and cursor 0; a hash table
    /// visits buckets from `cursor` until `count` members or `count * 10` more buckets.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Member<'_>)) -> u64 {
        match &self.repr {
            Repr::Table(d) => {
                let mut cursor = cursor;
                let mut budget = count.saturating_mul(10);
                let mut seen = 0usize;
                loop {
                    cursor = d.scan(cursor, |k, _| {
                        seen += 1;
                        f(Member::Bytes(&k[..]));
                    });
                    if cursor == 0 || budget == 0 || seen >= count {
                        return cursor;
                    }
                    budget -= 1;
                }
            }
            _ => {
                self.iter().for_each(f);
                0
            }
        }
    }
}

/// Redis's sdigits10: characters of the decimal text, sign included.
fn digits(n: i64) -> usize {
    itoa::Buffer::new().format(n).len()
}

/// `count` distinct positions below `n`, ascending, each subset equally likely (selection
/// sampling).
fn sample_positions(n: usize, count: usize) -> Vec<usize> {
    let mut rng = rand::thread_rng();
    let mut out = Vec::with_capacity(count);
    let mut needed = count;
    for i in 0..n {
        if needed == 0 {
            break;
        }
        if rng.gen_range(0..n - i) < needed {
            out.push(i);
            needed -= 1;
        }
    }
    out
}

/// Sorted distinct integers in one buffer, each stored little-endian in the narrowest of 2, 4 or
/// 8 bytes that holds every member (widened when needed, never narrowed: Redis's intset). The
/// width is the buffer's first byte, as in Redis's intset header, which keeps the set as small
/// as a `Value` slot allows; an intset never given a member has no buffer at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct IntSet {
    data: CompactBytes,
}

/// Where the members start, after the width byte.
const INTSET_HEADER: usize = 1;

fn width_for(n: i64) -> usize {
    if i16::try_from(n).is_ok() {
        2
    } else if i32::try_from(n).is_ok() {
        4
    } else {
        8
    }
}

impl IntSet {
    fn width(&self) -> usize {
        self.data.first().map_or(2, |&w| usize::from(w))
    }

    fn len(&self) -> usize {
        self.data.len().saturating_sub(INTSET_HEADER) / self.width()
    }

    /// The byte range of member `i`.
    fn slot(&self, i: usize) -> std::ops::Range<usize> {
        let width = self.width();
        INTSET_HEADER + i * width..INTSET_HEADER + (i + 1) * width
    }

    fn get(&self, i: usize) -> i64 {
        read_int(&self.data[self.slot(i)])
    }

    fn search(&self, n: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid).cmp(&n) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    fn insert(&mut self, n: i64) -> bool {
        let width = self.width().max(width_for(n));
        if self.data.is_empty() || width > self.width() {
            let mut wider = Vec::with_capacity(INTSET_HEADER + (self.len() + 1) * width);
            wider.push(width as u8);
            for i in 0..self.len() {
                wider.extend_from_slice(&self.get(i).to_le_bytes()[..width]);
            }
            self.data = CompactBytes::from(wider);
        }
        match self.search(n) {
            Ok(_) => false,
            Err(pos) => {
                let at = self.slot(pos).start;
                self.data.replace(at..at, &[&n.to_le_bytes()[..width]]);
                true
            }
        }
    }

    fn remove(&mut self, n: i64) -> bool {
        if width_for(n) > self.width() {
            return false;
        }
        match self.search(n) {
            Ok(pos) => {
                self.data.replace(self.slot(pos), &[]);
                true
            }
            Err(_) => false,
        }
    }
}

/// Sign-extends a little-endian integer of 2, 4 or 8 bytes.
fn read_int(bytes: &[u8]) -> i64 {
    let mut full = [0u8; 8];
    full[..bytes.len()].copy_from_slice(bytes);
    let shift = 64 - 8 * bytes.len() as u32;
    (i64::from_le_bytes(full) << shift) >> shift
}

/// Members in insertion order in one buffer, each prefixed with its length as a LEB128 varint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Packed {
    /// Below 2^32: the buffer is at most `LISTPACK_SAFETY_BYTES`.
    count: u32,
    buf: CompactBytes,
}

impl Packed {
    fn iter(&self) -> PackedIter<'_> {
        PackedIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    /// The byte range of `member`'s entry (prefix included).
    fn find(&self, member: &[u8]) -> Option<std::ops::Range<usize>> {
        let mut it = self.iter();
        loop {
            let start = it.pos;
            let entry = it.next()?;
            if entry == member {
                return Some(start..it.pos);
            }
        }
    }

    fn safe_to_add(&self, len: usize) -> bool {
        self.buf.len() + len + 10 <= LISTPACK_SAFETY_BYTES
    }

    fn push(&mut self, member: &[u8]) {
        self.buf
            .append(&[varint::encode(member.len()).as_slice(), member]);
        self.count += 1;
    }

    fn remove_range(&mut self, range: std::ops::Range<usize>) {
        self.buf.replace(range, &[]);
        self.count -= 1;
    }
}

struct PackedIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, start) = varint::read(self.buf, self.pos)?;
        self.pos = start;
        let entry = self.buf.get(self.pos..self.pos + len)?;
        self.pos += len;
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SetLimits = SetLimits {
        intset_entries: 512,
        listpack_entries: 128,
        listpack_value: 64,
    };

    fn texts(set: &SetValue) -> Vec<String> {
        set.iter()
            .map(|m| String::from_utf8(m.to_vec()).expect("utf8"))
            .collect()
    }

    fn build(members: &[&str], limits: &SetLimits) -> SetValue {
        let first = members.first().map_or(&b""[..], |m| m.as_bytes());
        let mut set = SetValue::for_members(first, members.len(), limits);
        for m in members {
            set.add(m.as_bytes(), limits);
        }
        set
    }

    #[test]
    fn intset_keeps_integers_sorted_and_widens() {
        let mut set = build(&["5", "-3", "100"], &LIMITS);
        assert_eq!(set.encoding(), "intset");
        assert_eq!(texts(&set), ["-3", "5", "100"]);
        assert!(set.add(b"70000", &LIMITS));
        assert!(set.add(b"-9223372036854775808", &LIMITS));
        assert!(!set.add(b"5", &LIMITS));
        assert_eq!(
            texts(&set),
            ["-9223372036854775808", "-3", "5", "100", "70000"]
        );
        assert_eq!(set.encoding(), "intset");
        // Only canonical integers are members of an intset.
        assert!(set.contains(b"5"));
        assert!(!set.contains(b"05"));
        assert!(!set.contains(b"+5"));
        assert!(!set.remove(b"05"));
        assert!(set.remove(b"-9223372036854775808"));
        assert!(!set.remove(b"9223372036854775807"));
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn creation_follows_the_first_member_and_the_size_hint() {
        assert_eq!(SetValue::for_members(b"1", 3, &LIMITS).encoding(), "intset");
        assert_eq!(
            SetValue::for_members(b"a", 3, &LIMITS).encoding(),
            "listpack"
        );
        assert_eq!(
            SetValue::for_members(b"1", 513, &LIMITS).encoding(),
            "hashtable"
        );
        assert_eq!(
            SetValue::for_members(b"a", 200, &LIMITS).encoding(),
            "hashtable"
        );
        assert_eq!(
            SetValue::for_members(b"1", 100, &LIMITS).encoding(),
            "intset"
        );
        let few_ints = SetLimits {
            intset_entries: 4,
            ..LIMITS
        };
        assert_eq!(
            SetValue::for_members(b"1", 5, &few_ints).encoding(),
            "listpack"
        );
    }

    #[test]
    fn a_string_turns_a_small_intset_into_a_listpack_in_ascending_order() {
        let mut set = build(&["3", "1", "2"], &LIMITS);
        assert!(set.add(b"x", &LIMITS));
        assert_eq!(set.encoding(), "listpack");
        assert_eq!(texts(&set), ["1", "2", "3", "x"]);
        assert!(set.add(b"0", &LIMITS));
        assert_eq!(texts(&set), ["1", "2", "3", "x", "0"]);
    }

    #[test]
    fn an_intset_goes_straight_to_a_hash_table_when_a_listpack_would_not_do() {
        // Too many members for a listpack.
        let many: Vec<String> = (0..128).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut set = build(&many, &LIMITS);
        assert_eq!(set.encoding(), "intset");
        set.add(b"x", &LIMITS);
        assert_eq!(set.encoding(), "hashtable");
        // A string longer than set-max-listpack-value.
        let mut set = build(&["1"], &LIMITS);
        set.add(&[b'a'; 65], &LIMITS);
        assert_eq!(set.encoding(), "hashtable");
        // An integer whose text is longer than the limit.
        let narrow = SetLimits {
            listpack_value: 3,
            ..LIMITS
        };
        let mut set = build(&["1000"], &narrow);
        set.add(b"ab", &narrow);
        assert_eq!(set.encoding(), "hashtable");
        assert!(set.contains(b"1000") && set.contains(b"ab"));
    }

    #[test]
    fn an_intset_past_its_limit_becomes_a_hash_table() {
        let few = SetLimits {
            intset_entries: 3,
            ..LIMITS
        };
        let mut set = build(&["1", "2", "3"], &few);
        assert_eq!(set.encoding(), "intset");
        assert!(!set.add(b"3", &few));
        assert_eq!(set.encoding(), "intset");
        set.add(b"4", &few);
        assert_eq!(set.encoding(), "hashtable");
        // Removing never converts back.
        set.remove(b"4");
        set.remove(b"3");
        assert_eq!(set.encoding(), "hashtable");
    }

    #[test]
    fn a_listpack_past_its_limits_becomes_a_hash_table() {
        let small = SetLimits {
            listpack_entries: 3,
            ..LIMITS
        };
        let mut set = build(&["a", "b", "c"], &small);
        assert_eq!(set.encoding(), "listpack");
        assert_eq!(texts(&set), ["a", "b", "c"]);
        set.add(b"d", &small);
        assert_eq!(set.encoding(), "hashtable");
        assert_eq!(set.len(), 4);
        let mut set = build(&["a"], &LIMITS);
        set.add(&[b'z'; 64], &LIMITS);
        assert_eq!(set.encoding(), "listpack");
        set.add(&[b'z'; 65], &LIMITS);
        assert_eq!(set.encoding(), "hashtable");
    }

    #[test]
    fn maybe_convert_looks_at_the_argument_count_only() {
        let mut set = build(&["1", "2"], &LIMITS);
        set.maybe_convert(513, &LIMITS);
        assert_eq!(set.encoding(), "hashtable");
        let mut set = build(&["a", "b"], &LIMITS);
        set.maybe_convert(128, &LIMITS);
        assert_eq!(set.encoding(), "listpack");
        set.maybe_convert(129, &LIMITS);
        assert_eq!(set.encoding(), "hashtable");
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn listpack_entries_round_trip_any_length() {
        let long = vec![b'q'; 300];
        let mut set = SetValue::new_listpack();
        for m in [&b""[..], b"a\x00b", &long, b"tail"] {
            assert!(set.add(
                m,
                &SetLimits {
                    listpack_value: 1000,
                    ..LIMITS
                }
            ));
        }
        assert_eq!(set.encoding(), "listpack");
        let all: Vec<Vec<u8>> = set.iter().map(Member::to_vec).collect();
        assert_eq!(
            all,
            [
                b"".to_vec(),
                b"a\x00b".to_vec(),
                long.clone(),
                b"tail".to_vec()
            ]
        );
        assert!(set.remove(&long));
        assert!(set.contains(b"tail") && set.contains(b""));
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn intersection_results_of_integers_become_intsets() {
        let mut set = build(&["a", "b"], &LIMITS);
        set.maybe_convert_to_intset(&LIMITS);
        assert_eq!(set.encoding(), "listpack");
        let mut set = SetValue::new_listpack();
        set.add(b"2", &LIMITS);
        set.add(b"1", &LIMITS);
        set.maybe_convert_to_intset(&LIMITS);
        assert_eq!(set.encoding(), "intset");
        assert_eq!(texts(&set), ["1", "2"]);
    }

    #[test]
    fn spop_remainders_are_rebuilt_as_redis_rebuilds_them() {
        let ints: Vec<String> = (0..600).map(|i| i.to_string()).collect();
        let ints: Vec<&str> = ints.iter().map(String::as_str).collect();
        let mut table = build(&ints, &LIMITS);
        assert_eq!(table.encoding(), "hashtable");
        let popped = table.pop_all_but(10, &LIMITS);
        assert_eq!(popped.len(), 590);
        // A hash table's survivors start over in a listpack, integers or not.
        assert_eq!(table.encoding(), "listpack");
        assert_eq!(table.len(), 10);
        for m in &popped {
            assert!(!table.contains(m));
        }
        let mut small = build(&["1", "2", "3", "4"], &LIMITS);
        small.pop_all_but(1, &LIMITS);
        assert_eq!(small.encoding(), "intset");
        assert_eq!(small.len(), 1);
    }

    #[test]
    fn random_picks_are_distinct_members() {
        for members in [vec!["1", "2", "3", "4", "5"], vec!["a", "b", "c", "d", "e"]] {
            let set = build(&members, &LIMITS);
            for count in 1..5 {
                let picked: Vec<Vec<u8>> = set
                    .random_distinct(count)
                    .into_iter()
                    .map(Member::to_vec)
                    .collect();
                let unique: std::collections::HashSet<_> = picked.iter().collect();
                assert_eq!((picked.len(), unique.len()), (count, count));
                assert!(picked.iter().all(|m| set.contains(m)));
            }
        }
        let many: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut set = build(&many, &LIMITS);
        for count in [10, 400, 999] {
            let picked = set.random_distinct(count);
            let unique: std::collections::HashSet<_> = picked.iter().collect();
            assert_eq!(unique.len(), count);
        }
        let popped = set.pop_some(100);
        assert_eq!((popped.len(), set.len()), (100, 900));
    }

    #[test]
    fn scanning_a_hash_table_visits_every_member() {
        let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let set = build(&many, &LIMITS);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = set.scan(cursor, 10, |m| {
                seen.insert(m.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 300);
        let compact = build(&["1", "2"], &LIMITS);
        let mut n = 0;
        assert_eq!(compact.scan(12345, 1, |_| n += 1), 0);
        assert_eq!(n, 2);
    }

    #[test]
    fn compact_encodings_cost_a_few_bytes_per_member() {
        let ints = build(
            &["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
            &LIMITS,
        );
        assert!(ints.memory_usage() <= 32, "{}", ints.memory_usage());
        let strs = build(&["alpha", "beta", "gamma", "delta"], &LIMITS);
        assert!(strs.memory_usage() <= 32, "{}", strs.memory_usage());
    }
}
