//! The list type, in Redis 7.2's two encodings: a small list is one packed buffer (`listpack`);
//! past `list-max-listpack-size` it becomes a chain of packed chunks (`quicklist`), and shrinks
//! back to one buffer under half that limit.
//!
//! Each packed buffer lays its entries out the way a Redis listpack does (same entry header
//! sizes, integers packed, a back-length after each entry for walking backwards), so that its
//! byte size, which decides every conversion and every chunk boundary, is Redis's `lpBytes`.

use std::collections::VecDeque;

use crate::protocol::request::parse_i64;

/// Redis's listpack header (total bytes, entry count) and end marker: counted in every size
/// comparison, though this buffer keeps the count and length outside.
const PACK_OVERHEAD: usize = 7;
/// Byte limits of chunks for `list-max-listpack-size` -1 .. -5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// A chunk limited by entry count still never grows past this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// What Redis adds to an element's length to estimate its cost in a chunk.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// The largest fill a quicklist keeps (a 16-bit signed field in Redis).
const FILL_MAX: i64 = (1 << 15) - 1;

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// One element as stored: text, or an integer packed from canonical decimal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Str(s) => s.to_vec(),
            Elem::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
        }
    }

    /// Whether the element is `bytes` (an integer matches only its canonical text).
    pub fn eq_bytes(self, bytes: &[u8]) -> bool {
        match self {
            Elem::Str(s) => s == bytes,
            Elem::Int(n) => itoa::Buffer::new().format(n).as_bytes() == bytes,
        }
    }
}

/// Redis's quicklistNodeExceedsLimit: would a chunk of `bytes` bytes and `count` entries be
/// over the limit `fill` sets (negative: a byte level; otherwise an entry count)?
fn exceeds_limit(fill: i64, bytes: usize, count: usize) -> bool {
    let (size_limit, count_limit) = node_limits(fill);
    match size_limit {
        Some(limit) => bytes > limit,
        None => bytes > SIZE_SAFETY_LIMIT || count > count_limit,
    }
}

/// The byte limit (for a negative fill) or the entry limit (otherwise) of a chunk.
fn node_limits(fill: i64) -> (Option<usize>, usize) {
    if fill >= 0 {
        (None, fill.max(1) as usize)
    } else {
        let level = ((-fill - 1) as usize).min(SIZE_LEVELS.len() - 1);
        (Some(SIZE_LEVELS[level]), usize::MAX)
    }
}

/// Bytes of the back-length Redis writes after an entry of `len` bytes.
pub(crate) fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Appends the packed form of `value` (header, data, back-length) to `out`.
pub(crate) fn encode_entry(value: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    match parse_i64(value) {
        Some(n @ 0..=127) => out.push(n as u8),
        Some(n @ -4096..=4095) => {
            let raw = (n as u16) & 0x1FFF;
            out.extend_from_slice(&[0xC0 | (raw >> 8) as u8, raw as u8]);
        }
        Some(n) if i16::try_from(n).is_ok() => {
            out.push(0xF1);
            out.extend_from_slice(&(n as i16).to_le_bytes());
        }
        Some(n @ -8_388_608..=8_388_607) => {
            out.push(0xF2);
            out.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
        }
        Some(n) if i32::try_from(n).is_ok() => {
            out.push(0xF3);
            out.extend_from_slice(&(n as i32).to_le_bytes());
        }
        Some(n) => {
            out.push(0xF4);
            out.extend_from_slice(&n.to_le_bytes());
        }
        None => {
            let len = value.len();
            if len < 64 {
                out.push(0x80 | len as u8);
            } else if len < 4096 {
                out.extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
            } else {
                out.push(0xF0);
                out.extend_from_slice(&(len as u32).to_le_bytes());
            }
            out.extend_from_slice(value);
        }
    }
    // The back-length: 7-bit groups, the lowest in the last byte; a set high bit says more
    // groups lie to the left.
    let len = out.len() - start;
    let n = backlen_size(len);
    let at = out.len();
    out.resize(at + n, 0);
    for i in 0..n {
        let group = ((len >> (7 * i)) & 0x7F) as u8;
        let more = if i + 1 < n { 0x80 } else { 0 };
        out[at + n - 1 - i] = group | more;
    }
}

/// One packed buffer of entries: a whole small list, or one chunk of a large one.
#[derive(Debug, Clone, PartialEq, Default)]
struct Pack {
    buf: Vec<u8>,
    len: usize,
}

impl Pack {
    fn with(value: &[u8]) -> Pack {
        let mut pack = Pack::default();
        pack.push_back(value);
        pack
    }

    /// Redis's lpBytes for the same entries.
    fn bytes(&self) -> usize {
        self.buf.len() + PACK_OVERHEAD
    }

    /// The element at byte offset `off` and the entry's total size.
    fn entry(&self, off: usize) -> (Elem<'_>, usize) {
        let b = &self.buf[off..];
        let (elem, len) = match b[0] {
            x @ 0x00..=0x7F => (Elem::Int(x as i64), 1),
            x @ 0x80..=0xBF => {
                let n = (x & 0x3F) as usize;
                (Elem::Str(&b[1..1 + n]), 1 + n)
            }
            x @ 0xC0..=0xDF => {
                let raw = (((x & 0x1F) as i64) << 8) | b[1] as i64;
                let n = if raw >= 4096 { raw - 8192 } else { raw };
                (Elem::Int(n), 2)
            }
            x @ 0xE0..=0xEF => {
                let n = (((x & 0x0F) as usize) << 8) | b[1] as usize;
                (Elem::Str(&b[2..2 + n]), 2 + n)
            }
            0xF0 => {
                let n = u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize;
                (Elem::Str(&b[5..5 + n]), 5 + n)
            }
            0xF1 => (Elem::Int(i16::from_le_bytes([b[1], b[2]]) as i64), 3),
            0xF2 => {
                let n = i32::from_le_bytes([0, b[1], b[2], b[3]]) >> 8;
                (Elem::Int(n as i64), 4)
            }
            0xF3 => (
                Elem::Int(i32::from_le_bytes([b[1], b[2], b[3], b[4]]) as i64),
                5,
            ),
            _ => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&b[1..9]);
                (Elem::Int(i64::from_le_bytes(raw)), 9)
            }
        };
        (elem, len + backlen_size(len))
    }

    /// The offset of the entry before the one at `off` (which must not be the first).
    fn prev(&self, off: usize) -> usize {
        let mut len = 0usize;
        let mut shift = 0;
        let mut p = off;
        loop {
            p -= 1;
            let b = self.buf[p];
            len |= ((b & 0x7F) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        off - backlen_size(len) - len
    }

    fn last_offset(&self) -> usize {
        self.prev(self.buf.len())
    }

    /// The offset of entry `idx` (< len), walking from the nearer end.
    fn seek(&self, idx: usize) -> usize {
        if idx <= self.len / 2 {
            let mut off = 0;
            for _ in 0..idx {
                off += self.entry(off).1;
            }
            off
        } else {
            let mut off = self.buf.len();
            for _ in idx..self.len {
                off = self.prev(off);
            }
            off
        }
    }

    /// Makes room for `extra` more bytes, growing by an eighth at least: Redis reallocates a
    /// listpack to its exact size on every write, and doubling would cost up to twice its memory.
    fn reserve(&mut self, extra: usize) {
        if self.buf.capacity() - self.buf.len() < extra {
            self.buf.reserve_exact(extra.max(self.buf.len() / 8));
        }
    }

    /// Gives memory back once the buffer is under half its capacity, as Redis's shrinking
    /// reallocations do.
    fn shed(&mut self) {
        if self.buf.capacity() > 2 * self.buf.len() + 64 {
            self.buf.shrink_to(self.buf.len() + self.buf.len() / 8);
        }
    }

    fn insert_at(&mut self, off: usize, value: &[u8]) {
        self.put_entry(off, 0, value);
        self.len += 1;
    }

    /// Writes `value`'s entry at `off` in place of the `replaced` bytes there. The entry is
    /// encoded at the end and rotated into position: a memmove of what follows `off`, with no
    /// temporary buffer (`Vec::splice` copied the entry in byte by byte).
    fn put_entry(&mut self, off: usize, replaced: usize, value: &[u8]) {
        self.reserve(value.len() + 10);
        let end = self.buf.len();
        encode_entry(value, &mut self.buf);
        let size = self.buf.len() - end;
        self.buf[off..].rotate_right(size);
        self.buf.drain(off + size..off + size + replaced);
    }

    fn push_front(&mut self, value: &[u8]) {
        self.insert_at(0, value);
    }

    fn push_back(&mut self, value: &[u8]) {
        self.reserve(value.len() + 10);
        encode_entry(value, &mut self.buf);
        self.len += 1;
    }

    fn delete_at(&mut self, off: usize) {
        let size = self.entry(off).1;
        self.buf.drain(off..off + size);
        self.len -= 1;
        self.shed();
    }

    fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        if self.len == 0 {
            return None;
        }
        let off = match end {
            End::Head => 0,
            End::Tail => self.last_offset(),
        };
        let value = self.entry(off).0.to_vec();
        self.delete_at(off);
        Some(value)
    }

    fn replace_at(&mut self, off: usize, value: &[u8]) {
        let size = self.entry(off).1;
        self.put_entry(off, size, value);
    }

    /// Removes `count` entries from entry `idx` on.
    fn delete_range(&mut self, idx: usize, count: usize) {
        let count = count.min(self.len.saturating_sub(idx));
        if count == 0 {
            return;
        }
        let start = self.seek(idx);
        let mut end = start;
        for _ in 0..count {
            end += self.entry(end).1;
        }
        self.buf.drain(start..end);
        self.len -= count;
        self.shed();
    }

    /// Splits off the entries from `idx` on into a new pack.
    fn split_off(&mut self, idx: usize) -> Pack {
        let off = if idx >= self.len {
            self.buf.len()
        } else {
            self.seek(idx)
        };
        let tail = Pack {
            buf: self.buf.split_off(off),
            len: self.len - idx.min(self.len),
        };
        self.len -= tail.len;
        tail
    }

    fn append(&mut self, other: Pack) {
        self.buf.extend_from_slice(&other.buf);
        self.len += other.len;
    }

    /// Removes up to `limit` (0: all) entries equal to `value`, walking from `from`; returns
    /// how many went.
    fn remove_matching(&mut self, value: &[u8], limit: usize, from: End) -> usize {
        let mut removed = 0;
        match from {
            End::Head => {
                let mut off = 0;
                while off < self.buf.len() {
                    let (elem, size) = self.entry(off);
                    if elem.eq_bytes(value) {
                        self.delete_at(off);
                        removed += 1;
                        if removed == limit {
                            break;
                        }
                    } else {
                        off += size;
                    }
                }
            }
            End::Tail => {
                let mut end = self.buf.len();
                while end > 0 {
                    let off = self.prev(end);
                    if self.entry(off).0.eq_bytes(value) {
                        self.delete_at(off);
                        removed += 1;
                        if removed == limit {
                            break;
                        }
                    }
                    end = off;
                }
            }
        }
        removed
    }

    /// The index of the first entry equal to `value`.
    fn find(&self, value: &[u8]) -> Option<usize> {
        let mut off = 0;
        let mut idx = 0;
        while off < self.buf.len() {
            let (elem, size) = self.entry(off);
            if elem.eq_bytes(value) {
                return Some(idx);
            }
            off += size;
            idx += 1;
        }
        None
    }

    fn memory(&self) -> usize {
        self.buf.capacity() + std::mem::size_of::<Pack>()
    }
}

/// The chunked encoding: packs of bounded size, O(1) work at either end.
#[derive(Debug, Clone, PartialEq)]
struct Chunked {
    nodes: VecDeque<Pack>,
    count: usize,
    /// `list-max-listpack-size` when the list was created, as Redis keeps it per list.
    fill: i64,
}

impl Chunked {
    fn allow_insert(&self, node: Option<usize>, size: usize) -> bool {
        let Some(node) = node.and_then(|i| self.nodes.get(i)) else {
            return false;
        };
        !exceeds_limit(
            self.fill,
            node.bytes() + size + SIZE_ESTIMATE_OVERHEAD,
            node.len + 1,
        )
    }

    fn allow_merge(&self, a: usize, b: usize) -> bool {
        match (self.nodes.get(a), self.nodes.get(b)) {
            (Some(a), Some(b)) => !exceeds_limit(
                self.fill,
                a.bytes() + b.bytes() - PACK_OVERHEAD,
                a.len + b.len,
            ),
            _ => false,
        }
    }

    /// Merges node `a + 1` into node `a`.
    fn merge(&mut self, a: usize) {
        if let Some(b) = self.nodes.remove(a + 1) {
            if let Some(node) = self.nodes.get_mut(a) {
                node.append(b);
            }
        }
    }

    fn push(&mut self, value: &[u8], end: End) {
        let edge = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().wrapping_sub(1),
        };
        if self.allow_insert(Some(edge), value.len()) {
            let node = &mut self.nodes[edge];
            match end {
                End::Head => node.push_front(value),
                End::Tail => node.push_back(value),
            }
        } else {
            match end {
                End::Head => self.nodes.push_front(Pack::with(value)),
                End::Tail => self.nodes.push_back(Pack::with(value)),
            }
        }
        self.count += 1;
    }

    fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let idx = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().checked_sub(1)?,
        };
        let node = self.nodes.get_mut(idx)?;
        let value = node.pop(end)?;
        if node.len == 0 {
            self.nodes.remove(idx);
        }
        self.count -= 1;
        Some(value)
    }

    /// The node holding element `index` (< count) and the element's index in it, seeking
    /// from the nearer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        if index <= self.count.saturating_sub(1) / 2 {
            let mut accum = 0;
            for (i, node) in self.nodes.iter().enumerate() {
                if accum + node.len > index {
                    return (i, index - accum);
                }
                accum += node.len;
            }
        } else {
            let mut accum = self.count;
            for (i, node) in self.nodes.iter().enumerate().rev() {
                accum -= node.len;
                if accum <= index {
                    return (i, index - accum);
                }
            }
        }
        (0, 0)
    }

    /// Redis's quicklistDelRange from a non-negative start: whole nodes go, partial ones shrink;
    /// nothing is merged.
    fn delete_range(&mut self, start: usize, count: usize) {
        let mut extent = count.min(self.count.saturating_sub(start));
        if extent == 0 {
            return;
        }
        let (mut node, mut offset) = self.locate(start);
        while extent > 0 && node < self.nodes.len() {
            let n = &mut self.nodes[node];
            let del = extent.min(n.len - offset);
            if offset == 0 && del == n.len {
                self.nodes.remove(node);
            } else {
                n.delete_range(offset, del);
                node += 1;
            }
            self.count -= del;
            extent -= del;
            offset = 0;
        }
    }

    /// Redis's _quicklistInsert: into the pivot's node if it has room, else into a neighbour
    /// at the edge, else a new node at the edge, else a split of the node and a merge around it.
    fn insert(&mut self, node: usize, offset: usize, value: &[u8], after: bool) {
        let size = value.len();
        let node_len = self.nodes[node].len;
        let full = !self.allow_insert(Some(node), size);
        let at_tail = after && offset + 1 == node_len;
        let at_head = !after && offset == 0;
        let avail_next = at_tail && self.allow_insert(Some(node + 1), size);
        let avail_prev = at_head && node > 0 && self.allow_insert(Some(node - 1), size);
        if !full {
            let n = &mut self.nodes[node];
            let off = n.seek(offset);
            let off = if after { off + n.entry(off).1 } else { off };
            n.insert_at(off, value);
        } else if at_tail && avail_next {
            self.nodes[node + 1].push_front(value);
        } else if at_head && avail_prev {
            self.nodes[node - 1].push_back(value);
        } else if at_tail {
            self.nodes.insert(node + 1, Pack::with(value));
        } else if at_head {
            self.nodes.insert(node, Pack::with(value));
        } else {
            let center = if after {
                let mut new = self.nodes[node].split_off(offset + 1);
                new.push_front(value);
                self.nodes.insert(node + 1, new);
                node
            } else {
                let rest = self.nodes[node].split_off(offset);
                let mut new = std::mem::replace(&mut self.nodes[node], rest);
                new.push_back(value);
                self.nodes.insert(node, new);
                node + 1
            };
            self.merge_around(center);
        }
        self.count += 1;
    }

    /// Redis's _quicklistMergeNodes: the two nodes before `center`, the two after, then
    /// `center` with its neighbours.
    fn merge_around(&mut self, mut center: usize) {
        if center >= 2 && self.allow_merge(center - 2, center - 1) {
            self.merge(center - 2);
            center -= 1;
        }
        if self.allow_merge(center + 1, center + 2) {
            self.merge(center + 1);
        }
        let target = if center >= 1 && self.allow_merge(center - 1, center) {
            self.merge(center - 1);
            center - 1
        } else {
            center
        };
        if self.allow_merge(target, target + 1) {
            self.merge(target);
        }
    }

    /// Removes matches node by node; emptied nodes go.
    fn remove_matching(&mut self, value: &[u8], limit: usize, from: End) -> usize {
        let mut removed = 0;
        let order: Vec<usize> = match from {
            End::Head => (0..self.nodes.len()).collect(),
            End::Tail => (0..self.nodes.len()).rev().collect(),
        };
        for i in order {
            let left = if limit == 0 { 0 } else { limit - removed };
            removed += self.nodes[i].remove_matching(value, left, from);
            if limit != 0 && removed == limit {
                break;
            }
        }
        self.nodes.retain(|n| n.len > 0);
        self.count -= removed;
        removed
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Repr {
    Packed(Pack),
    Chunked(Chunked),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListValue {
    repr: Repr,
}

impl Default for ListValue {
    fn default() -> Self {
        ListValue::new()
    }
}

impl ListValue {
    /// An empty list, packed (Redis creates every list as a listpack).
    pub fn new() -> Self {
        ListValue {
            repr: Repr::Packed(Pack::default()),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Packed(_) => "listpack",
            Repr::Chunked(_) => "quicklist",
        }
    }

    /// Redis frees a listpack in one go and a quicklist node by node.
    pub fn free_effort(&self) -> usize {
        match &self.repr {
            Repr::Packed(_) => 1,
            Repr::Chunked(c) => c.nodes.len().max(1),
        }
    }

    pub fn memory_usage(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.buf.capacity(),
            Repr::Chunked(c) => {
                std::mem::size_of::<Chunked>() + c.nodes.iter().map(Pack::memory).sum::<usize>()
            }
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.len,
            Repr::Chunked(c) => c.count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Before adding `add_len` elements of `add_bytes` bytes in all: converts a packed list
    /// that would outgrow `limit` (`list-max-listpack-size`) to chunks (Redis's
    /// listTypeTryConvertListpack).
    pub fn prepare_growth(&mut self, add_bytes: usize, add_len: usize, limit: i64) {
        let Repr::Packed(pack) = &mut self.repr else {
            return;
        };
        if !exceeds_limit(limit, pack.bytes() + add_bytes, pack.len + add_len) {
            return;
        }
        let pack = std::mem::take(pack);
        let count = pack.len;
        let mut nodes = VecDeque::new();
        if count > 0 {
            nodes.push_back(pack);
        }
        self.repr = Repr::Chunked(Chunked {
            nodes,
            count,
            fill: limit.clamp(-5, FILL_MAX),
        });
    }

    /// After removing elements: a chunked list down to one chunk within half of `limit`
    /// becomes packed again (Redis's listTypeTryConvertQuicklist when shrinking; the halving
    /// keeps a list at the boundary from converting back and forth).
    pub fn shrink_check(&mut self, limit: i64) {
        let Repr::Chunked(chunked) = &mut self.repr else {
            return;
        };
        if chunked.nodes.len() != 1 {
            return;
        }
        let (size_limit, count_limit) = node_limits(limit);
        let size_limit = size_limit.map_or(usize::MAX, |s| s / 2);
        let node = &chunked.nodes[0];
        if node.bytes() > size_limit || chunked.count > count_limit / 2 {
            return;
        }
        if let Some(pack) = chunked.nodes.pop_front() {
            self.repr = Repr::Packed(pack);
        }
    }

    pub fn push(&mut self, value: &[u8], end: End) {
        match &mut self.repr {
            Repr::Packed(p) => match end {
                End::Head => p.push_front(value),
                End::Tail => p.push_back(value),
            },
            Repr::Chunked(c) => c.push(value, end),
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        match &mut self.repr {
            Repr::Packed(p) => p.pop(end),
            Repr::Chunked(c) => c.pop(end),
        }
    }

    /// Resolves a Redis index (negative counts from the tail) to a position, if in range.
    fn position(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 { len + index } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    pub fn get(&self, index: i64) -> Option<Elem<'_>> {
        let i = self.position(index)?;
        self.iter_at(i, false).next()
    }

    /// Elements from position `start` (< len) towards the tail, or towards the head if
    /// `reverse`.
    pub fn iter_at(&self, start: usize, reverse: bool) -> Iter<'_> {
        let len = self.len();
        let left = if start >= len {
            0
        } else if reverse {
            start + 1
        } else {
            len - start
        };
        let (node, off) = if left == 0 {
            (0, 0)
        } else {
            match &self.repr {
                Repr::Packed(p) => (0, p.seek(start)),
                Repr::Chunked(c) => {
                    let (node, idx) = c.locate(start);
                    (node, c.nodes[node].seek(idx))
                }
            }
        };
        let nodes = match &self.repr {
            Repr::Packed(p) => Nodes::One(p),
            Repr::Chunked(c) => Nodes::Many(&c.nodes),
        };
        Iter {
            nodes,
            node,
            off,
            reverse,
            left,
        }
    }

    /// LSET: replaces the element at `index`; false if out of range.
    pub fn replace(&mut self, index: i64, value: &[u8]) -> bool {
        let Some(i) = self.position(index) else {
            return false;
        };
        match &mut self.repr {
            Repr::Packed(p) => {
                let off = p.seek(i);
                p.replace_at(off, value);
            }
            Repr::Chunked(c) => {
                let (node, idx) = c.locate(i);
                let n = &mut c.nodes[node];
                let off = n.seek(idx);
                n.replace_at(off, value);
            }
        }
        true
    }

    /// LINSERT: puts `value` before or after the first `pivot`; false if there is none.
    pub fn insert(&mut self, pivot: &[u8], value: &[u8], after: bool) -> bool {
        match &mut self.repr {
            Repr::Packed(p) => {
                let Some(idx) = p.find(pivot) else {
                    return false;
                };
                let off = p.seek(idx);
                let off = if after { off + p.entry(off).1 } else { off };
                p.insert_at(off, value);
                true
            }
            Repr::Chunked(c) => {
                let found = c
                    .nodes
                    .iter()
                    .enumerate()
                    .find_map(|(i, n)| n.find(pivot).map(|idx| (i, idx)));
                let Some((node, idx)) = found else {
                    return false;
                };
                c.insert(node, idx, value, after);
                true
            }
        }
    }

    /// LREM: removes up to `limit` (0: every) elements equal to `value`, from `from`.
    pub fn remove(&mut self, value: &[u8], limit: usize, from: End) -> usize {
        match &mut self.repr {
            Repr::Packed(p) => p.remove_matching(value, limit, from),
            Repr::Chunked(c) => c.remove_matching(value, limit, from),
        }
    }

    /// Removes `count` elements from position `start` on.
    pub fn delete_range(&mut self, start: usize, count: usize) {
        match &mut self.repr {
            Repr::Packed(p) => p.delete_range(start, count),
            Repr::Chunked(c) => c.delete_range(start, count),
        }
    }
}

enum Nodes<'a> {
    One(&'a Pack),
    Many(&'a VecDeque<Pack>),
}

impl Nodes<'_> {
    fn get(&self, i: usize) -> &Pack {
        match self {
            Nodes::One(p) => p,
            Nodes::Many(nodes) => &nodes[i],
        }
    }
}

/// A walk over a list's elements in either direction.
pub struct Iter<'a> {
    nodes: Nodes<'a>,
    node: usize,
    off: usize,
    reverse: bool,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let pack: &'a Pack = match self.nodes {
            Nodes::One(p) => p,
            Nodes::Many(nodes) => &nodes[self.node],
        };
        let (elem, size) = pack.entry(self.off);
        if self.left > 0 {
            if self.reverse {
                if self.off == 0 {
                    self.node -= 1;
                    self.off = self.nodes.get(self.node).last_offset();
                } else {
                    self.off = pack.prev(self.off);
                }
            } else {
                self.off += size;
                if self.off >= pack.buf.len() {
                    self.node += 1;
                    self.off = 0;
                }
            }
        }
        Some(elem)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_of(items: &[&[u8]], limit: i64) -> ListValue {
        let mut l = ListValue::new();
        for item in items {
            l.prepare_growth(item.len(), 1, limit);
            l.push(item, End::Tail);
        }
        l
    }

    fn all(l: &ListValue) -> Vec<Vec<u8>> {
        l.iter_at(0, false).map(Elem::to_vec).collect()
    }

    fn chunk_count(l: &ListValue) -> usize {
        match &l.repr {
            Repr::Packed(_) => 1,
            Repr::Chunked(c) => c.nodes.len(),
        }
    }

    #[test]
    fn entries_round_trip_with_listpack_sizes() {
        let cases: &[(&[u8], usize)] = &[
            (b"0", 1),
            (b"127", 1),
            (b"128", 2),
            (b"-4096", 2),
            (b"4096", 3),
            (b"-32768", 3),
            (b"32768", 4),
            (b"-8388608", 4),
            (b"8388608", 5),
            (b"2147483647", 5),
            (b"2147483648", 9),
            (b"-9223372036854775808", 9),
            (b"01", 3),
            (b"-0", 3),
            (b"", 1),
            (b"abc", 4),
        ];
        for (value, size) in cases {
            let mut out = Vec::new();
            encode_entry(value, &mut out);
            assert_eq!(out.len(), size + backlen_size(*size), "{:?}", value);
            let pack = Pack {
                buf: out.clone(),
                len: 1,
            };
            assert_eq!(pack.entry(0).0.to_vec(), value.to_vec());
            assert_eq!(pack.entry(0).1, out.len());
            assert_eq!(pack.last_offset(), 0);
        }
        let long = vec![b'x'; 5000];
        let mut out = Vec::new();
        encode_entry(&long, &mut out);
        assert_eq!(out.len(), 5005 + 2);
        let big = vec![b'y'; 20000];
        let pack = Pack::with(&big);
        assert_eq!(pack.bytes(), 7 + 20005 + 3);
        assert_eq!(pack.entry(pack.last_offset()).0, Elem::Str(&big));
    }

    #[test]
    fn integers_match_only_canonical_text() {
        let l = list_of(&[b"12", b"x"], -2);
        assert!(l.get(0).is_some_and(|e| e.eq_bytes(b"12")));
        assert!(!l.get(0).is_some_and(|e| e.eq_bytes(b"012")));
        assert_eq!(l.get(-1), Some(Elem::Str(b"x")));
        assert_eq!(l.get(2), None);
        assert_eq!(l.get(-3), None);
    }

    #[test]
    fn small_lists_stay_packed_until_the_byte_limit() {
        // 8 KB at -2: 7 header bytes plus entries of 60 bytes (1 + 58 + 1).
        let item = [b'a'; 58];
        let mut l = ListValue::new();
        let mut pushed = 0;
        while l.encoding() == "listpack" {
            l.prepare_growth(item.len(), 1, -2);
            l.push(&item, End::Head);
            pushed += 1;
        }
        // Converted when 7 + 60 * n + 58 passed 8192 (n = 136 already in): the 137th push,
        // which starts a chunk of its own.
        assert_eq!(pushed, 137);
        assert_eq!(chunk_count(&l), 2);
        // Shrinking converts back only to one chunk under half the limit: 4096 bytes.
        while l.len() > 1 {
            l.pop(End::Head);
            l.shrink_check(-2);
            if l.encoding() == "listpack" {
                break;
            }
        }
        assert_eq!(l.encoding(), "listpack");
        let Repr::Packed(p) = &l.repr else {
            unreachable!()
        };
        assert!(p.bytes() <= 4096 && p.bytes() + 60 > 4096);
    }

    #[test]
    fn count_limits_convert_and_chunk() {
        let items: Vec<Vec<u8>> = (0..10).map(|i| format!("v{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        let l = list_of(&refs, 4);
        assert_eq!(l.encoding(), "quicklist");
        assert_eq!(all(&l), items);
        // Four per chunk: 4 + 4 + 2.
        assert_eq!(chunk_count(&l), 3);
        let mut l = l;
        l.delete_range(0, 8);
        assert_eq!(chunk_count(&l), 1);
        l.shrink_check(4);
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(all(&l), items[8..].to_vec());
    }

    #[test]
    fn pushes_and_pops_at_both_ends_across_chunks() {
        let mut l = ListValue::new();
        l.prepare_growth(0, 100, 3);
        for i in 0..50 {
            l.push(format!("{i}").as_bytes(), End::Tail);
            l.push(format!("h{i}").as_bytes(), End::Head);
        }
        assert_eq!(l.len(), 100);
        assert_eq!(l.get(0).map(Elem::to_vec), Some(b"h49".to_vec()));
        assert_eq!(l.get(-1), Some(Elem::Int(49)));
        assert_eq!(l.get(50), Some(Elem::Int(0)));
        let back: Vec<Vec<u8>> = l.iter_at(99, true).take(3).map(Elem::to_vec).collect();
        assert_eq!(back, vec![b"49".to_vec(), b"48".to_vec(), b"47".to_vec()]);
        for i in (0..50).rev() {
            assert_eq!(l.pop(End::Tail), Some(format!("{i}").into_bytes()));
            assert_eq!(l.pop(End::Head), Some(format!("h{i}").into_bytes()));
        }
        assert!(l.is_empty());
        assert_eq!(l.pop(End::Head), None);
    }

    #[test]
    fn insert_remove_replace_in_both_encodings() {
        for limit in [-2, 2] {
            let mut l = list_of(&[b"a", b"b", b"c", b"b", b"d"], limit);
            assert!(l.insert(b"b", b"x", true));
            assert!(l.insert(b"a", b"y", false));
            assert!(!l.insert(b"zz", b"y", false));
            assert_eq!(
                all(&l),
                vec![
                    b"y".to_vec(),
                    b"a".to_vec(),
                    b"b".to_vec(),
                    b"x".to_vec(),
                    b"c".to_vec(),
                    b"b".to_vec(),
                    b"d".to_vec()
                ]
            );
            assert_eq!(l.len(), 7);
            assert_eq!(l.remove(b"b", 1, End::Tail), 1);
            assert_eq!(all(&l)[4..], [b"c".to_vec(), b"d".to_vec()]);
            assert!(l.replace(-1, b"12345"));
            assert!(!l.replace(6, b"q"));
            assert_eq!(l.get(-1), Some(Elem::Int(12345)));
            assert_eq!(l.remove(b"b", 0, End::Head), 1);
            assert_eq!(l.len(), 5);
            l.delete_range(1, 3);
            assert_eq!(all(&l), vec![b"y".to_vec(), b"12345".to_vec()]);
            // Replacing with a longer entry, then a shorter one, before another entry.
            let long = vec![b'q'; 100];
            assert!(l.replace(0, &long));
            assert!(l.replace(1, b"7"));
            assert_eq!(all(&l), vec![long.clone(), b"7".to_vec()]);
            assert!(l.replace(0, b"s"));
            assert_eq!(all(&l), vec![b"s".to_vec(), b"7".to_vec()]);
        }
    }

    #[test]
    fn a_full_chunk_splits_on_insert_and_merges_back() {
        let mut l = list_of(&[b"1", b"2", b"3", b"4"], 4);
        l.prepare_growth(1, 1, 4);
        assert_eq!(l.encoding(), "quicklist");
        // The only chunk is full: inserting in the middle splits it.
        assert!(l.insert(b"2", b"x", true));
        assert_eq!(
            all(&l),
            vec![
                b"1".to_vec(),
                b"2".to_vec(),
                b"x".to_vec(),
                b"3".to_vec(),
                b"4".to_vec()
            ]
        );
        assert_eq!(chunk_count(&l), 2);
    }

    #[test]
    fn empty_packs_convert_to_empty_chunk_lists() {
        let mut l = ListValue::new();
        l.prepare_growth(10_000, 1, -2);
        assert_eq!(l.encoding(), "quicklist");
        l.push(&[b'z'; 10_000], End::Head);
        assert_eq!(l.len(), 1);
        l.pop(End::Head);
        assert!(l.is_empty());
    }
}
