//! The sorted set type, in Redis 7.2's two encodings: a packed `listpack` buffer for small sets,
//! and a `skiplist` (member → score table plus an ordered index) beyond the configured limits.
//!
//! The ordered index is a treap with subtree sizes kept in an arena, which gives what Redis's
//! skiplist with spans gives: O(log n) insert, delete, rank, element-by-rank and the position of
//! a score or lex bound, and in-order walks from any rank in either direction.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use rand::Rng;

use super::compact_bytes::CompactBytes;
use super::dict::Dict;
use super::varint;

/// The encoding limits of `zset-max-listpack-entries` and `zset-max-listpack-value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

/// Does (a_score, a_member) sort before (b_score, b_member)? Scores first, then bytes.
fn before(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> bool {
    a_score < b_score || (a_score == b_score && a_member < b_member)
}

// ---------------------------------------------------------------------------------------------
// Listpack: entries are [member length << 1 | score kind, as LEB128][member][score], kept sorted
// by score, then member. A score that is a whole number of at most 53 bits is stored as a zigzag
// LEB128 integer (kind 0), as Redis stores such scores as listpack integers; others as 8
// little-endian bytes of the double (kind 1).

#[derive(Clone, PartialEq, Default)]
pub struct Listpack {
    buf: CompactBytes,
    /// Below 2^32: the set converts before that, whatever `zset-max-listpack-entries` says.
    len: u32,
}

/// One decoded listpack entry and where it lies in the buffer.
struct LpEntry<'a> {
    member: &'a [u8],
    score: f64,
    start: usize,
    end: usize,
}

/// The varint at `pos` of a buffer this module wrote (so always whole), and the next position.
fn read_varint(buf: &[u8], pos: usize) -> (usize, usize) {
    varint::read(buf, pos).unwrap_or((0, buf.len()))
}

impl Listpack {
    fn entry_at(&self, start: usize) -> Option<LpEntry<'_>> {
        if start >= self.buf.len() {
            return None;
        }
        let (header, pos) = read_varint(&self.buf, start);
        let mlen = header >> 1;
        let member = self.buf.get(pos..pos + mlen)?;
        let (score, end) = if header & 1 == 0 {
            let (zigzag, end) = read_varint(&self.buf, pos + mlen);
            let n = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
            (n as f64, end)
        } else {
            let raw = self.buf.get(pos + mlen..pos + mlen + 8)?;
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(raw);
            (f64::from_le_bytes(bytes), pos + mlen + 8)
        };
        Some(LpEntry {
            member,
            score,
            start,
            end,
        })
    }

    fn entries(&self) -> impl Iterator<Item = LpEntry<'_>> {
        let mut pos = 0;
        std::iter::from_fn(move || {
            let e = self.entry_at(pos)?;
            pos = e.end;
            Some(e)
        })
    }

    fn find(&self, member: &[u8]) -> Option<(usize, LpEntry<'_>)> {
        self.entries().enumerate().find(|(_, e)| e.member == member)
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        let at = self
            .entries()
            .find(|e| before(score, member, e.score, e.member))
            .map_or(self.buf.len(), |e| e.start);
        // Stored as an integer, -0 reads back as 0, as in Redis's listpack.
        let whole = score.fract() == 0.0 && score.abs() < (1u64 << 53) as f64;
        let header = varint::encode(member.len() << 1 | usize::from(!whole));
        let n = score as i64;
        let zigzag = varint::encode(((n << 1) ^ (n >> 63)) as usize);
        let raw = score.to_le_bytes();
        let score_bytes = if whole { zigzag.as_slice() } else { &raw[..] };
        self.buf
            .replace(at..at, &[header.as_slice(), member, score_bytes]);
        self.len += 1;
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, e) = self.find(member)?;
        let (score, range) = (e.score, e.start..e.end);
        self.buf.replace(range, &[]);
        self.len -= 1;
        Some(score)
    }
}

impl fmt::Debug for Listpack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.entries()
                    .map(|e| (String::from_utf8_lossy(e.member), e.score)),
            )
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// The ordered index: a treap over (score, member) with subtree sizes.

const NIL: u32 = u32::MAX;

#[derive(Debug)]
struct Node {
    member: Arc<[u8]>,
    score: f64,
    left: u32,
    right: u32,
    size: u32,
    priority: u32,
}

#[derive(Debug)]
pub struct Tree {
    nodes: Vec<Node>,
    root: u32,
    rng: u64,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: Vec::new(),
            root: NIL,
            // Random priorities per tree, so no input order can make the tree degenerate.
            rng: rand::thread_rng().gen::<u64>() | 1,
        }
    }
}

impl Tree {
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    fn node(&self, t: u32) -> &Node {
        &self.nodes[t as usize]
    }

    fn node_mut(&mut self, t: u32) -> &mut Node {
        &mut self.nodes[t as usize]
    }

    fn size(&self, t: u32) -> usize {
        if t == NIL {
            0
        } else {
            self.node(t).size as usize
        }
    }

    fn fix(&mut self, t: u32) {
        let n = self.node(t);
        let size = 1 + self.size(n.left) + self.size(n.right);
        self.node_mut(t).size = size as u32;
    }

    fn next_priority(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 32) as u32
    }

    /// Joins two trees where every node of `a` sorts before every node of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.node(a).priority > self.node(b).priority {
            let right = self.node(a).right;
            let merged = self.merge(right, b);
            self.node_mut(a).right = merged;
            self.fix(a);
            a
        } else {
            let left = self.node(b).left;
            let merged = self.merge(a, left);
            self.node_mut(b).left = merged;
            self.fix(b);
            b
        }
    }

    /// Splits `t` into the nodes sorting before (score, member) and the rest.
    fn split(&mut self, t: u32, score: f64, member: &[u8]) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let n = self.node(t);
        if before(n.score, &n.member, score, member) {
            let right = n.right;
            let (l, r) = self.split(right, score, member);
            self.node_mut(t).right = l;
            self.fix(t);
            (t, r)
        } else {
            let left = n.left;
            let (l, r) = self.split(left, score, member);
            self.node_mut(t).left = r;
            self.fix(t);
            (l, t)
        }
    }

    /// Splits `t` into its first `k` nodes and the rest.
    fn split_rank(&mut self, t: u32, k: usize) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let left = self.node(t).left;
        let ls = self.size(left);
        if k <= ls {
            let (l, r) = self.split_rank(left, k);
            self.node_mut(t).left = r;
            self.fix(t);
            (l, t)
        } else {
            let right = self.node(t).right;
            let (l, r) = self.split_rank(right, k - ls - 1);
            self.node_mut(t).right = l;
            self.fix(t);
            (t, r)
        }
    }

    /// Adds a member that is not in the tree.
    pub fn insert(&mut self, member: Arc<[u8]>, score: f64) {
        let (l, r) = self.split(self.root, score, &member);
        let priority = self.next_priority();
        let idx = self.nodes.len() as u32;
        self.nodes.push(Node {
            member,
            score,
            left: NIL,
            right: NIL,
            size: 1,
            priority,
        });
        let l = self.merge(l, idx);
        self.root = self.merge(l, r);
    }

    /// Removes (score, member); false if it is not there.
    pub fn remove(&mut self, member: &[u8], score: f64) -> bool {
        let (l, r) = self.split(self.root, score, member);
        let (mid, r) = self.split_rank(r, 1);
        if mid == NIL || *self.node(mid).member != *member {
            let joined = self.merge(mid, r);
            self.root = self.merge(l, joined);
            return false;
        }
        self.root = self.merge(l, r);
        self.release(mid);
        true
    }

    /// Frees the arena slot of a detached node by moving the last node into it.
    fn release(&mut self, hole: u32) {
        let last = (self.nodes.len() - 1) as u32;
        if hole != last {
            let score = self.node(last).score;
            let member = Arc::clone(&self.node(last).member);
            if self.root == last {
                self.root = hole;
            } else {
                let mut t = self.root;
                while t != NIL {
                    let n = self.node(t);
                    let left = before(score, &member, n.score, &n.member);
                    let child = if left { n.left } else { n.right };
                    if child == last {
                        let n = self.node_mut(t);
                        if left {
                            n.left = hole;
                        } else {
                            n.right = hole;
                        }
                        break;
                    }
                    t = child;
                }
            }
        }
        self.nodes.swap_remove(hole as usize);
    }

    /// How many nodes satisfy `is_before`, which must hold for a prefix of the order.
    pub fn count_before(&self, is_before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut t = self.root;
        let mut count = 0;
        while t != NIL {
            let n = self.node(t);
            if is_before(n.score, &n.member) {
                count += self.size(n.left) + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        count
    }

    /// Visits nodes from forward rank `rank`, forwards or backwards, while `f` returns true.
    pub fn walk(&self, rank: usize, rev: bool, mut f: impl FnMut(&Arc<[u8]>, f64) -> bool) {
        let mut stack = Vec::with_capacity(64);
        let mut t = self.root;
        let mut k = rank;
        while t != NIL {
            let n = self.node(t);
            let ls = self.size(n.left);
            match k.cmp(&ls) {
                Ordering::Equal => {
                    stack.push(t);
                    break;
                }
                Ordering::Less => {
                    if !rev {
                        stack.push(t);
                    }
                    t = n.left;
                }
                Ordering::Greater => {
                    if rev {
                        stack.push(t);
                    }
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
        while let Some(t) = stack.pop() {
            let n = self.node(t);
            if !f(&n.member, n.score) {
                return;
            }
            let mut c = if rev { n.left } else { n.right };
            while c != NIL {
                stack.push(c);
                let cn = self.node(c);
                c = if rev { cn.right } else { cn.left };
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The skiplist encoding: member → score for O(1) lookups, the tree for order.

#[derive(Debug, Default)]
pub struct Indexed {
    dict: Dict<Arc<[u8]>, f64>,
    tree: Tree,
    /// Bytes of all members, for MEMORY USAGE.
    member_bytes: usize,
}

impl Indexed {
    fn insert(&mut self, member: &[u8], score: f64) {
        let member: Arc<[u8]> = Arc::from(member);
        self.member_bytes += member.len();
        self.tree.insert(Arc::clone(&member), score);
        self.dict.insert(member, score);
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, score) = self.dict.remove(member)?;
        self.tree.remove(member, score);
        self.member_bytes -= member.len();
        Some(score)
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
pub enum ZSetValue {
    Listpack(Listpack),
    Skiplist(Box<Indexed>),
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::Listpack(Listpack::default())
    }
}

impl ZSetValue {
    /// An empty set in the encoding Redis 7.2 picks for `size_hint` members of which the
    /// longest has `max_len` bytes (zsetTypeCreate).
    pub fn with_hint(size_hint: usize, max_len: usize, limits: Limits) -> Self {
        if size_hint <= limits.entries && max_len <= limits.value {
            ZSetValue::Listpack(Listpack::default())
        } else {
            ZSetValue::Skiplist(Box::default())
        }
    }

    /// A set holding `items` (distinct members), encoded as a freshly stored result is.
    pub fn from_items<'a>(
        items: impl IntoIterator<Item = (&'a [u8], f64)>,
        limits: Limits,
    ) -> Self {
        let items: Vec<(&[u8], f64)> = items.into_iter().collect();
        let max_len = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let mut z = ZSetValue::with_hint(items.len(), max_len, limits);
        for (m, s) in items {
            z.insert(m, s, limits);
        }
        z
    }

    /// Converts a listpack about to receive `size_hint` members to a skiplist when they could
    /// not fit (zsetTypeMaybeConvert).
    pub fn reserve(&mut self, size_hint: usize, limits: Limits) {
        if matches!(self, ZSetValue::Listpack(_)) && size_hint > limits.entries {
            self.convert();
        }
    }

    fn convert(&mut self) {
        if let ZSetValue::Listpack(lp) = self {
            let mut indexed = Box::<Indexed>::default();
            for e in lp.entries() {
                indexed.insert(e.member, e.score);
            }
            *self = ZSetValue::Skiplist(indexed);
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSetValue::Listpack(_) => "listpack",
            ZSetValue::Skiplist(_) => "skiplist",
        }
    }

    pub fn free_effort(&self) -> usize {
        match self {
            ZSetValue::Listpack(_) => 1,
            ZSetValue::Skiplist(z) => z.dict.len(),
        }
    }

    pub fn memory_usage(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.buf.len(),
            ZSetValue::Skiplist(z) => {
                // Each member is one shared allocation (two reference counts, then the bytes).
                std::mem::size_of::<Indexed>()
                    + z.dict.memory_usage()
                    + z.tree.nodes.capacity() * std::mem::size_of::<Node>()
                    + z.member_bytes
                    + z.dict.len() * 2 * std::mem::size_of::<usize>()
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.len as usize,
            ZSetValue::Skiplist(z) => z.tree.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(lp) => lp.find(member).map(|(_, e)| e.score),
            ZSetValue::Skiplist(z) => z.dict.get(member).copied(),
        }
    }

    /// Adds `member`, which must not be in the set, converting to a skiplist when it would not
    /// fit in a listpack.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: Limits) {
        if let ZSetValue::Listpack(lp) = self {
            if lp.len as usize + 1 > limits.entries.min(u32::MAX as usize)
                || member.len() > limits.value
            {
                self.convert();
            }
        }
        match self {
            ZSetValue::Listpack(lp) => lp.insert(member, score),
            ZSetValue::Skiplist(z) => z.insert(member, score),
        }
    }

    /// Changes the score of a member that is in the set.
    pub fn update(&mut self, member: &[u8], score: f64) {
        match self {
            ZSetValue::Listpack(lp) => {
                lp.remove(member);
                lp.insert(member, score);
            }
            ZSetValue::Skiplist(z) => {
                let Some(entry) = z.dict.get_mut(member) else {
                    return;
                };
                let old = std::mem::replace(entry, score);
                let shared = z.dict.get_key_value(member).map(|(k, _)| Arc::clone(k));
                if let Some(shared) = shared {
                    z.tree.remove(member, old);
                    z.tree.insert(shared, score);
                }
            }
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(lp) => lp.remove(member),
            ZSetValue::Skiplist(z) => z.remove(member),
        }
    }

    /// The forward rank of `member` and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSetValue::Listpack(lp) => lp.find(member).map(|(i, e)| (i, e.score)),
            ZSetValue::Skiplist(z) => {
                let score = *z.dict.get(member)?;
                let rank = z.tree.count_before(|s, m| before(s, m, score, member));
                Some((rank, score))
            }
        }
    }

    /// How many members satisfy `is_before`, which must hold for a prefix of the order.
    pub fn count_before(&self, is_before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp
                .entries()
                .take_while(|e| is_before(e.score, e.member))
                .count(),
            ZSetValue::Skiplist(z) => z.tree.count_before(is_before),
        }
    }

    /// Visits members from `rank` (counted in the walk's direction), forwards or in reverse,
    /// while `f` returns true.
    pub fn walk(&self, rank: usize, rev: bool, mut f: impl FnMut(&[u8], f64) -> bool) {
        let len = self.len();
        if rank >= len {
            return;
        }
        match self {
            ZSetValue::Listpack(lp) => {
                if rev {
                    let all: Vec<LpEntry> = lp.entries().collect();
                    for e in all.iter().rev().skip(rank) {
                        if !f(e.member, e.score) {
                            return;
                        }
                    }
                } else {
                    for e in lp.entries().skip(rank) {
                        if !f(e.member, e.score) {
                            return;
                        }
                    }
                }
            }
            ZSetValue::Skiplist(z) => {
                let forward_rank = if rev { len - 1 - rank } else { rank };
                z.tree.walk(forward_rank, rev, |m, s| f(m, s));
            }
        }
    }

    /// Up to `count` members from `rank` in the walk's direction, copied out.
    pub fn collect(&self, rank: usize, rev: bool, count: usize) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::with_capacity(count.min(self.len()));
        if count > 0 {
            self.walk(rank, rev, |m, s| {
                out.push((m.to_vec(), s));
                out.len() < count
            });
        }
        out
    }

    /// A member drawn uniformly.
    pub fn random(&self, rng: &mut impl Rng) -> Option<(Vec<u8>, f64)> {
        if self.is_empty() {
            return None;
        }
        let rank = rng.gen_range(0..self.len());
        self.collect(rank, false, 1).pop()
    }

    /// One ZSCAN step: a listpack answers whole with cursor 0; a skiplist walks its table with
    /// Redis's guarantee, stopping after about `count` entries or `10 * count` buckets.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSetValue::Listpack(lp) => {
                for e in lp.entries() {
                    f(e.member, e.score);
                }
                0
            }
            ZSetValue::Skiplist(z) => {
                let mut cursor = cursor;
                let mut budget = count.saturating_mul(10);
                let mut seen = 0;
                loop {
                    cursor = z.dict.scan(cursor, |m, s| {
                        seen += 1;
                        f(m, *s);
                    });
                    // Redis counts the member and the score as two replies.
                    if cursor == 0 || budget == 0 || seen * 2 >= count {
                        return cursor;
                    }
                    budget -= 1;
                }
            }
        }
    }
}

impl Clone for ZSetValue {
    fn clone(&self) -> Self {
        match self {
            ZSetValue::Listpack(lp) => ZSetValue::Listpack(lp.clone()),
            ZSetValue::Skiplist(_) => {
                let mut copy = Box::<Indexed>::default();
                self.walk(0, false, |m, s| {
                    copy.insert(m, s);
                    true
                });
                ZSetValue::Skiplist(copy)
            }
        }
    }
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.collect(0, false, self.len()) == other.collect(0, false, other.len())
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing of scores and ranges.

fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What C's strtod reads at the start of `s` (decimal and inf/nan forms): the value, the bytes
/// read (0: nothing) and whether the result overflowed or underflowed to zero.
fn strtod_prefix(s: &[u8]) -> (f64, usize, bool) {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let rest = &s[i..];
    let word_len = |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
    let special = if word_len(b"infinity") {
        Some(8)
    } else if word_len(b"inf") || word_len(b"nan") {
        Some(3)
    } else {
        None
    };
    if let Some(n) = special {
        let text = String::from_utf8_lossy(&s[..i + n]);
        return (text.parse().unwrap_or(f64::NAN), i + n, false);
    }
    if s.len() > i + 1 && s[i] == b'0' && matches!(s[i + 1], b'x' | b'X') {
        if let Some((value, read)) = hex_float(&s[i + 2..]) {
            let value = if s.first() == Some(&b'-') {
                -value
            } else {
                value
            };
            let range_error = value.is_infinite();
            return (value, i + 2 + read, range_error);
        }
        // "0x" without hex digits reads as the 0 before the x.
        return (0.0, i + 1, false);
    }
    let digits = |from: usize| s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int_digits = digits(i);
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        frac_digits = digits(i + 1);
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return (0.0, 0, false);
    }
    let mantissa_end = i;
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = digits(j);
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    let text = String::from_utf8_lossy(&s[..i]);
    let value: f64 = text.parse().unwrap_or(0.0);
    let nonzero = s[..mantissa_end].iter().any(|b| (b'1'..=b'9').contains(b));
    let range_error = value.is_infinite() || (value == 0.0 && nonzero);
    (value, i, range_error)
}

/// C's hexadecimal float after the `0x`: hex digits, an optional fraction, an optional binary
/// exponent `p[+-]digits`. None when there is no hex digit.
fn hex_float(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let mut mantissa = 0f64;
    let mut exponent: i64 = 0;
    let mut any = false;
    while let Some(d) = s.get(i).and_then(|&b| (b as char).to_digit(16)) {
        mantissa = mantissa * 16.0 + f64::from(d);
        any = true;
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        let mut j = i + 1;
        let mut frac_any = false;
        while let Some(d) = s.get(j).and_then(|&b| (b as char).to_digit(16)) {
            mantissa = mantissa * 16.0 + f64::from(d);
            exponent -= 4;
            frac_any = true;
            j += 1;
        }
        if any || frac_any {
            any = true;
            i = j;
        }
    }
    if !any {
        return None;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut j = i + 1;
        let negative = s.get(j) == Some(&b'-');
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let n = s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            let mut e: i64 = 0;
            for &b in &s[j..j + n] {
                e = e.saturating_mul(10).saturating_add(i64::from(b - b'0'));
            }
            exponent += if negative { -e } else { e };
            i = j + n;
        }
    }
    let exponent = exponent.clamp(-10_000, 10_000) as i32;
    Some((mantissa * 2f64.powi(exponent), i))
}

/// A score argument as Redis reads it (string2d): the whole text a finite or infinite number,
/// no leading space, no overflow, not NaN.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if s.is_empty() || c_isspace(s[0]) {
        return None;
    }
    let (value, read, range_error) = strtod_prefix(s);
    if read != s.len() || range_error || value.is_nan() {
        return None;
    }
    Some(value)
}

/// One end of a score range: `(` makes it exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// A bound of ZRANGEBYSCORE and friends, read as Redis's zslParseRange reads it: plain strtod,
/// which skips leading space and stops at a NUL, and accepts an empty text as 0.
pub fn parse_score_bound(s: &[u8]) -> Option<ScoreBound> {
    let (exclusive, text) = match s.first() {
        Some(b'(') => (true, &s[1..]),
        _ => (false, s),
    };
    let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
    let skipped = text.iter().take_while(|&&b| c_isspace(b)).count();
    let (value, read, _) = strtod_prefix(&text[skipped..]);
    let end = if read == 0 { 0 } else { skipped + read };
    if end != text.len() || value.is_nan() {
        return None;
    }
    Some(ScoreBound { value, exclusive })
}

/// One end of a lex range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    Min,
    Max,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

pub fn parse_lex_bound(s: &[u8]) -> Option<LexBound> {
    // Redis checks that `+` and `-` stand alone by looking at the next C character.
    let alone = s.len() == 1 || s.get(1) == Some(&0);
    match s.first() {
        Some(b'+') if alone => Some(LexBound::Max),
        Some(b'-') if alone => Some(LexBound::Min),
        Some(b'(') => Some(LexBound::Exclusive(s[1..].to_vec())),
        Some(b'[') => Some(LexBound::Inclusive(s[1..].to_vec())),
        _ => None,
    }
}

/// The ranks `[lo, hi)` of the members within a score range.
pub fn score_range(z: &ZSetValue, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
    let lo = z.count_before(|s, _| s < min.value || (min.exclusive && s == min.value));
    let hi = z.count_before(|s, _| s < max.value || (!max.exclusive && s == max.value));
    (lo, hi.max(lo))
}

/// The ranks `[lo, hi)` of the members within a lex range (meaningful when all scores are
/// equal, as in Redis).
pub fn lex_range(z: &ZSetValue, min: &LexBound, max: &LexBound) -> (usize, usize) {
    let lo = z.count_before(|_, m| match min {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Inclusive(v) => m < v.as_slice(),
        LexBound::Exclusive(v) => m <= v.as_slice(),
    });
    let hi = z.count_before(|_, m| match max {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Inclusive(v) => m <= v.as_slice(),
        LexBound::Exclusive(v) => m < v.as_slice(),
    });
    (lo, hi.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const SMALL: Limits = Limits {
        entries: 128,
        value: 64,
    };
    const NONE: Limits = Limits {
        entries: 0,
        value: 0,
    };

    fn contents(z: &ZSetValue) -> Vec<(Vec<u8>, f64)> {
        z.collect(0, false, z.len())
    }

    #[test]
    fn score_parsing_follows_string2d() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"1e3"), Some(1000.0));
        assert_eq!(parse_score(b"1e-310"), Some(1e-310));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(parse_score(b"0x.8"), Some(0.5));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1\x00",
            b"e5",
            b"0x",
            b"0xg",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn score_bounds_follow_strtod() {
        let b = |s: &[u8]| parse_score_bound(s);
        assert_eq!(
            b(b"(1"),
            Some(ScoreBound {
                value: 1.0,
                exclusive: true
            })
        );
        assert_eq!(b(b"-inf").map(|x| x.value), Some(f64::NEG_INFINITY));
        assert_eq!(b(b"+inf").map(|x| x.value), Some(f64::INFINITY));
        assert_eq!(b(b"inf").map(|x| x.value), Some(f64::INFINITY));
        assert_eq!(b(b"").map(|x| x.value), Some(0.0));
        assert_eq!(b(b"(").map(|x| x.exclusive), Some(true));
        assert_eq!(b(b" 2").map(|x| x.value), Some(2.0));
        assert_eq!(b(b"3\x00junk").map(|x| x.value), Some(3.0));
        assert_eq!(b(b"1e400").map(|x| x.value), Some(f64::INFINITY));
        assert_eq!(b(b"nan"), None);
        assert_eq!(b(b"1x"), None);
        assert_eq!(b(b" "), None);
        assert_eq!(b(b"[1"), None);
    }

    #[test]
    fn lex_bounds() {
        assert_eq!(parse_lex_bound(b"-"), Some(LexBound::Min));
        assert_eq!(parse_lex_bound(b"+"), Some(LexBound::Max));
        assert_eq!(
            parse_lex_bound(b"[a"),
            Some(LexBound::Inclusive(b"a".to_vec()))
        );
        assert_eq!(parse_lex_bound(b"("), Some(LexBound::Exclusive(Vec::new())));
        assert_eq!(parse_lex_bound(b"+a"), None);
        assert_eq!(parse_lex_bound(b"a"), None);
        assert_eq!(parse_lex_bound(b""), None);
    }

    #[test]
    fn encodings_follow_limits() {
        let mut z = ZSetValue::with_hint(1, 1, SMALL);
        assert_eq!(z.encoding(), "listpack");
        for i in 0..128 {
            z.insert(format!("m{i}").as_bytes(), i as f64, SMALL);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"one more", 0.0, SMALL);
        assert_eq!(z.encoding(), "skiplist");
        let mut long = ZSetValue::with_hint(1, 1, SMALL);
        long.insert(&[b'x'; 65], 1.0, SMALL);
        assert_eq!(long.encoding(), "skiplist");
        assert_eq!(ZSetValue::with_hint(1, 1, NONE).encoding(), "skiplist");
        let from = ZSetValue::from_items([(&b"a"[..], 1.0)], SMALL);
        assert_eq!(from.encoding(), "listpack");
    }

    /// Both encodings against a sorted Vec, with random inserts, updates, removals and queries.
    #[test]
    fn both_encodings_match_a_sorted_model() {
        let mut rng = StdRng::seed_from_u64(7);
        for limits in [SMALL, NONE] {
            let mut z = ZSetValue::with_hint(0, 0, limits);
            let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
            for step in 0..4000 {
                let member = format!("m{}", rng.gen_range(0..300)).into_bytes();
                let score = rng.gen_range(-20..20) as f64 / 2.0;
                match rng.gen_range(0..4) {
                    0 | 1 => match z.score(&member) {
                        Some(_) => {
                            z.update(&member, score);
                            if let Some(e) = model.iter_mut().find(|e| e.0 == member) {
                                e.1 = score;
                            }
                        }
                        None => {
                            z.insert(&member, score, limits);
                            model.push((member.clone(), score));
                        }
                    },
                    2 => {
                        let expected = model.iter().position(|e| e.0 == member);
                        let got = z.remove(&member);
                        assert_eq!(got.is_some(), expected.is_some());
                        if let Some(i) = expected {
                            model.remove(i);
                        }
                    }
                    _ => {}
                }
                model.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                assert_eq!(z.len(), model.len());
                if step % 50 == 0 {
                    assert_eq!(contents(&z), model);
                }
                if let Some(i) = model.iter().position(|e| e.0 == member) {
                    assert_eq!(z.rank(&member), Some((i, model[i].1)));
                }
                let start = rng.gen_range(0..=model.len());
                let count = rng.gen_range(0..10);
                let fwd: Vec<_> = model.iter().skip(start).take(count).cloned().collect();
                assert_eq!(z.collect(start, false, count), fwd);
                let rev: Vec<_> = model
                    .iter()
                    .rev()
                    .skip(start)
                    .take(count)
                    .cloned()
                    .collect();
                assert_eq!(z.collect(start, true, count), rev);
                let (lo_v, hi_v) = (rng.gen_range(-12..12) as f64, rng.gen_range(-12..12) as f64);
                let min = ScoreBound {
                    value: lo_v,
                    exclusive: rng.gen(),
                };
                let max = ScoreBound {
                    value: hi_v,
                    exclusive: rng.gen(),
                };
                let (lo, hi) = score_range(&z, min, max);
                let expected = model
                    .iter()
                    .filter(|e| {
                        (if min.exclusive {
                            e.1 > lo_v
                        } else {
                            e.1 >= lo_v
                        }) && (if max.exclusive {
                            e.1 < hi_v
                        } else {
                            e.1 <= hi_v
                        })
                    })
                    .count();
                assert_eq!(hi - lo, expected);
            }
        }
    }

    #[test]
    fn lex_ranges_on_equal_scores() {
        for limits in [SMALL, NONE] {
            let mut z = ZSetValue::with_hint(0, 0, limits);
            for m in ["a", "b", "c", "d", "e"] {
                z.insert(m.as_bytes(), 0.0, limits);
            }
            let r = |a: &[u8], b: &[u8]| {
                lex_range(
                    &z,
                    &parse_lex_bound(a).unwrap(),
                    &parse_lex_bound(b).unwrap(),
                )
            };
            assert_eq!(r(b"-", b"+"), (0, 5));
            assert_eq!(r(b"[b", b"(d"), (1, 3));
            assert_eq!(r(b"(b", b"[d"), (2, 4));
            assert_eq!(r(b"+", b"-"), (5, 5));
            assert_eq!(r(b"[z", b"[a"), (5, 5));
        }
    }

    #[test]
    fn listpack_scores_round_trip() {
        let mut z = ZSetValue::with_hint(0, 0, SMALL);
        let scores = [
            -0.0,
            1.0,
            -1.0,
            1.5,
            1e300,
            -9007199254740991.0,
            9007199254740992.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1,
        ];
        for (i, &score) in scores.iter().enumerate() {
            z.insert(format!("m{i}").as_bytes(), score, SMALL);
        }
        for (i, &score) in scores.iter().enumerate() {
            let got = z.score(format!("m{i}").as_bytes()).unwrap();
            assert_eq!(got, score);
            assert!(!got.is_sign_negative() || score != 0.0, "-0 is kept as 0");
        }
        // A 9-byte member with a small integer score costs 11 bytes.
        let mut small = ZSetValue::with_hint(0, 0, SMALL);
        small.insert(b"member:10", 10.0, SMALL);
        let ZSetValue::Listpack(lp) = &small else {
            panic!("listpack expected")
        };
        assert_eq!(lp.buf.len(), 11);
    }

    #[test]
    fn clone_and_eq_compare_contents() {
        let mut z = ZSetValue::with_hint(0, 0, NONE);
        z.insert(b"a", 1.0, NONE);
        z.insert(b"b", 2.0, NONE);
        let copy = z.clone();
        assert_eq!(copy, z);
        assert_eq!(copy.rank(b"b"), Some((1, 2.0)));
    }
}
