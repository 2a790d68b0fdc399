//! Streams: an append-only log of entries ordered by id, kept in packed nodes, and the consumer
//! groups reading it.
//!
//! As in Redis, entries live in nodes of up to `stream-node-max-entries` entries (and about
//! `stream-node-max-bytes` bytes), keyed by the id of the node's first entry (its master id).
//! Inside a node every entry is a run of bytes: ids are delta-encoded against the master id as
//! varints, and an entry whose field names equal the node's first entry's (the usual case) stores
//! only its values. Deleting an entry only flags it; a node goes when its last live entry does.
//!
//! Nodes split where Redis's listpacks would: each node tracks the size its Redis listpack
//! would have, so that node boundaries, and with them approximate trimming and XINFO's counts,
//! come out as in Redis although our encoding is smaller.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use super::varint;
use crate::protocol::request::parse_i64;

// Ids are 64-bit halves written through the usize varints.
const _: () = assert!(usize::BITS == 64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The id right after this one; `None` past the last possible id.
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The id right before this one; `None` before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// `<ms>-<seq>`, as replies spell an id.
    pub fn to_bytes(self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }
}

/// An entry flagged deleted: skipped by reads, counted until its node goes.
const FLAG_DELETED: u8 = 1;
/// An entry whose field names are the node's master fields: only its values are stored.
const FLAG_SAME_FIELDS: u8 = 2;

/// Size limits of a node (`stream-node-max-entries`, `stream-node-max-bytes`; 0: no limit).
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// Redis's cap on a listpack's size, which also applies when `stream-node-max-bytes` is 0.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// The master fields (a count, then each as length + bytes), then the entries.
    data: Vec<u8>,
    /// Where the entries start in `data`.
    entries_at: u32,
    live: u32,
    deleted: u32,
    /// The bytes of this node's Redis listpack, less the live and deleted counters (which
    /// change size as they grow): what decides, as in Redis, when a new node starts.
    listpack_bytes: u64,
}

/// A decoded entry header: where its flags byte is, its id, and where its values start.
struct EntryHead {
    flags_at: usize,
    flags: u8,
    id: StreamId,
    /// Position of the first field (or value, with same fields) and the number of fields.
    body_at: usize,
    fields: usize,
}

impl Node {
    fn master_fields(&self) -> Vec<&[u8]> {
        let mut fields = Vec::new();
        let Some((count, mut pos)) = varint::read(&self.data, 0) else {
            return fields;
        };
        for _ in 0..count {
            let Some((bytes, next)) = read_bytes(&self.data, pos) else {
                break;
            };
            fields.push(bytes);
            pos = next;
        }
        fields
    }

    fn master_field_count(&self) -> usize {
        varint::read(&self.data, 0).map_or(0, |(n, _)| n)
    }

    fn head(&self, master: StreamId, pos: usize) -> Option<EntryHead> {
        let flags = *self.data.get(pos)?;
        let (ms_delta, p) = varint::read(&self.data, pos + 1)?;
        let (seq_part, p) = varint::read(&self.data, p)?;
        let id = if ms_delta == 0 {
            StreamId::new(master.ms, master.seq.wrapping_add(seq_part as u64))
        } else {
            StreamId::new(master.ms.wrapping_add(ms_delta as u64), seq_part as u64)
        };
        let (fields, body_at) = if flags & FLAG_SAME_FIELDS != 0 {
            (self.master_field_count(), p)
        } else {
            varint::read(&self.data, p)?
        };
        Some(EntryHead {
            flags_at: pos,
            flags,
            id,
            body_at,
            fields,
        })
    }

    /// The end of the entry `head` describes.
    fn skip(&self, head: &EntryHead) -> Option<usize> {
        let per_field = if head.flags & FLAG_SAME_FIELDS != 0 {
            1
        } else {
            2
        };
        let mut pos = head.body_at;
        for _ in 0..head.fields * per_field {
            pos = read_bytes(&self.data, pos)?.1;
        }
        Some(pos)
    }

    /// Field names and values of an entry, alternating.
    fn fields(&self, head: &EntryHead) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(head.fields * 2);
        let mut pos = head.body_at;
        let same = head.flags & FLAG_SAME_FIELDS != 0;
        let master = if same {
            self.master_fields()
        } else {
            Vec::new()
        };
        for i in 0..head.fields {
            if same {
                out.push(master.get(i).copied().unwrap_or_default());
            } else {
                let Some((field, next)) = read_bytes(&self.data, pos) else {
                    break;
                };
                out.push(field);
                pos = next;
            }
            let Some((value, next)) = read_bytes(&self.data, pos) else {
                break;
            };
            out.push(value);
            pos = next;
        }
        out
    }

    /// Every entry's header, deleted ones included, in id order.
    fn heads(&self, master: StreamId) -> Vec<EntryHead> {
        let mut heads = Vec::with_capacity((self.live + self.deleted) as usize);
        let mut pos = self.entries_at as usize;
        while pos < self.data.len() {
            let Some(head) = self.head(master, pos) else {
                break;
            };
            let Some(next) = self.skip(&head) else {
                break;
            };
            heads.push(head);
            pos = next;
        }
        heads
    }

    /// The listpack's size in Redis, counters included.
    fn redis_bytes(&self) -> u64 {
        self.listpack_bytes + lp_int_size(self.live as i64) + lp_int_size(self.deleted as i64)
    }
}

fn read_bytes(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let (len, start) = varint::read(buf, pos)?;
    let end = start.checked_add(len)?;
    Some((buf.get(start..end)?, end))
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    varint::write(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Bytes of a listpack integer element, its back-length included.
fn lp_int_size(value: i64) -> u64 {
    let encoded = match value {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32_768..=32_767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    encoded + 1
}

/// Bytes of a listpack element holding `bytes` (stored as an integer when it reads as one).
fn lp_element_size(bytes: &[u8]) -> u64 {
    if bytes.len() <= 20 {
        if let Some(n) = parse_i64(bytes) {
            return lp_int_size(n);
        }
    }
    let len = bytes.len() as u64;
    let encoded = len
        + match len {
            0..=63 => 1,
            64..=4095 => 2,
            _ => 5,
        };
    let backlen = match encoded {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    encoded + backlen
}

/// A trimming request (XADD's and XTRIM's MAXLEN / MINID options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// An entry read out of a stream: its id and its fields and values, alternating.
pub type EntryView<'a> = (StreamId, Vec<&'a [u8]>);

/// The entries of a stream and what Redis records about their history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Log {
    nodes: BTreeMap<StreamId, Node>,
    /// Live entries.
    pub length: u64,
    /// The greatest id ever added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's id, as Redis records it (0-0 when empty).
    pub first_id: StreamId,
    /// The greatest id deleted with XDEL, or set by XSETID.
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
}

impl Log {
    /// Number of nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The master ids of the nodes, in order.
    pub fn node_ids(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.nodes.keys().copied()
    }

    /// Appends an entry with an id the caller checked is greater than `last_id`.
    /// `fields` alternates names and values.
    pub fn append(&mut self, id: StreamId, fields: &[&[u8]], limits: NodeLimits) {
        let pairs = fields.len() / 2;
        let raw_len: usize = fields.iter().map(|f| f.len()).sum();
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let fits = self.nodes.last_key_value().is_some_and(|(_, node)| {
            (node.redis_bytes() as usize).saturating_add(raw_len) < max_bytes
                && (limits.max_entries == 0
                    || ((node.live + node.deleted) as usize) < limits.max_entries)
        });
        if !fits {
            let mut data = Vec::new();
            varint::write(&mut data, pairs);
            // Listpack header and end byte, then the master entry: counters (added by
            // redis_bytes), field count, fields, and the terminating zero.
            let mut listpack_bytes = 7 + lp_int_size(pairs as i64) + lp_int_size(0);
            for field in fields.iter().step_by(2) {
                write_bytes(&mut data, field);
                listpack_bytes += lp_element_size(field);
            }
            let entries_at = data.len() as u32;
            let node = Node {
                data,
                entries_at,
                live: 0,
                deleted: 0,
                listpack_bytes,
            };
            if let Some(mut closed) = self.nodes.last_entry() {
                // The previous node is full: give back what its growth reserved.
                closed.get_mut().data.shrink_to_fit();
            }
            self.nodes.insert(id, node);
        }
        let Some(mut last) = self.nodes.last_entry() else {
            return;
        };
        let master = *last.key();
        let node = last.get_mut();
        let same = {
            let master_fields = node.master_fields();
            master_fields.len() == pairs
                && master_fields
                    .iter()
                    .zip(fields.iter().step_by(2))
                    .all(|(a, b)| a == b)
        };
        let ms_delta = id.ms.wrapping_sub(master.ms);
        let seq_part = if ms_delta == 0 {
            id.seq.wrapping_sub(master.seq)
        } else {
            id.seq
        };
        let flags = if same { FLAG_SAME_FIELDS } else { 0 };
        node.data.push(flags);
        varint::write(&mut node.data, ms_delta as usize);
        varint::write(&mut node.data, seq_part as usize);
        let mut listpack_bytes = lp_int_size(flags as i64)
            + lp_int_size(ms_delta as i64)
            + lp_int_size(id.seq.wrapping_sub(master.seq) as i64);
        if !same {
            varint::write(&mut node.data, pairs);
            listpack_bytes += lp_int_size(pairs as i64);
        }
        for pair in fields.chunks_exact(2) {
            if !same {
                write_bytes(&mut node.data, pair[0]);
                listpack_bytes += lp_element_size(pair[0]);
            }
            write_bytes(&mut node.data, pair[1]);
            listpack_bytes += lp_element_size(pair[1]);
        }
        let lp_count = if same { pairs + 3 } else { 2 * pairs + 4 };
        listpack_bytes += lp_int_size(lp_count as i64);
        node.listpack_bytes += listpack_bytes;
        node.live += 1;
        if self.length == 0 {
            self.first_id = id;
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
    }

    /// The nodes that may hold ids in `start..=end`, in order (reversed with `rev`): the one
    /// starting at or before `start`, then those starting inside the range.
    fn nodes_in(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (&StreamId, &Node)> + '_> {
        if start > end {
            return Box::new(std::iter::empty());
        }
        let before = self.nodes.range(..=start).next_back();
        let inside = self
            .nodes
            .range((Bound::Excluded(start), Bound::Included(end)));
        if rev {
            Box::new(inside.rev().chain(before))
        } else {
            Box::new(before.into_iter().chain(inside))
        }
    }

    /// Live entries with ids in `start..=end`, in order (reversed with `rev`), at most `limit`
    /// of them (0: all).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        limit: usize,
    ) -> Vec<EntryView<'_>> {
        let mut out = Vec::new();
        for (&master, node) in self.nodes_in(start, end, rev) {
            let mut heads = node.heads(master);
            if rev {
                heads.reverse();
            }
            for head in heads {
                if head.flags & FLAG_DELETED != 0 || head.id < start || head.id > end {
                    continue;
                }
                out.push((head.id, node.fields(&head)));
                if limit != 0 && out.len() >= limit {
                    return out;
                }
            }
        }
        out
    }

    /// The live entry with this id.
    pub fn get(&self, id: StreamId) -> Option<Vec<&[u8]>> {
        self.range(id, id, false, 1).pop().map(|(_, fields)| fields)
    }

    /// The first (or last) live entry's id; Redis's streamGetEdgeID skipping tombstones.
    pub fn edge_id(&self, first: bool) -> Option<StreamId> {
        let found = if first {
            self.range(StreamId::MIN, StreamId::MAX, false, 1)
        } else {
            self.range(StreamId::MIN, StreamId::MAX, true, 1)
        };
        found.first().map(|(id, _)| *id)
    }

    /// The last live entry's id, 0-0 when empty (Redis's streamLastValidID).
    pub fn last_valid_id(&self) -> StreamId {
        self.edge_id(false).unwrap_or(StreamId::MIN)
    }

    /// Flags the entry `id` deleted; false if there is no such live entry.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(head) = node
            .heads(master)
            .into_iter()
            .find(|h| h.id == id && h.flags & FLAG_DELETED == 0)
        else {
            return false;
        };
        if node.live == 1 {
            self.nodes.remove(&master);
        } else {
            if let Some(flags) = node.data.get_mut(head.flags_at) {
                *flags |= FLAG_DELETED;
            }
            node.live -= 1;
            node.deleted += 1;
        }
        self.length -= 1;
        true
    }

    /// XDEL of several ids: deletes them and keeps `first_id` and `max_deleted_id` as Redis
    /// does. Returns how many were deleted.
    pub fn delete_ids(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_gone = false;
        for &id in ids {
            if self.delete(id) {
                if id == self.first_id {
                    first_gone = true;
                }
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_gone {
                self.first_id = self.edge_id(true).unwrap_or(StreamId::MAX);
            }
        }
        deleted
    }

    /// Trims as Redis's streamTrim: whole nodes from the head, then (unless `approx`) entries
    /// of the first remaining node; `limit` (0: none) caps the entries removed, counted by
    /// whole nodes. Returns how many entries went.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        // Only the first node is ever looked at: it goes whole, or the trim ends in it.
        while let Some(mut first) = self.nodes.first_entry() {
            if let Trim::MaxLen(max) = trim {
                if self.length <= max {
                    break;
                }
            }
            let master = *first.key();
            let node = first.get_mut();
            let live = u64::from(node.live);
            if limit != 0 && removed + live > limit {
                break;
            }
            let remove_node = match trim {
                Trim::MaxLen(max) => self.length - live >= max,
                Trim::MinId(min) => node.heads(master).last().is_some_and(|h| h.id < min),
            };
            if remove_node {
                first.remove();
                self.length -= live;
                removed += live;
                continue;
            }
            if approx {
                break;
            }
            for head in node.heads(master) {
                let stop = match trim {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => head.id >= min,
                };
                if stop {
                    break;
                }
                if head.flags & FLAG_DELETED == 0 {
                    if let Some(flags) = node.data.get_mut(head.flags_at) {
                        *flags |= FLAG_DELETED;
                    }
                    node.live -= 1;
                    node.deleted += 1;
                    self.length -= 1;
                    removed += 1;
                }
            }
            break;
        }
        if removed > 0 {
            self.first_id = self.edge_id(true).unwrap_or(StreamId::MIN);
        }
        removed
    }

    /// Whether an XDEL'd id may lie in `start..=end` (Redis's streamRangeHasTombstones).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// How many entries were added up to `id`, when that can be known (Redis's
    /// streamEstimateDistanceFromFirstEverEntry).
    pub fn entries_up_to(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.length);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.length + 1);
            }
        }
        None
    }

    /// An estimate of the bytes this log costs.
    pub fn memory_usage(&self) -> usize {
        // A B-tree slot per node (key, value, and the tree's share of its node).
        let per_node = std::mem::size_of::<StreamId>() + std::mem::size_of::<Node>() + 16;
        self.nodes
            .values()
            .map(|n| n.data.capacity() + per_node)
            .sum()
    }
}

/// A delivered entry not yet acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub consumer: Arc<[u8]>,
    pub delivery_time: i64,
    pub delivery_count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    /// The last time it read or claimed, successfully or not (ms).
    pub seen_time: i64,
    /// The last time it was handed entries; -1 if never.
    pub active_time: i64,
    pub pending: BTreeSet<StreamId>,
}

impl Consumer {
    pub fn new(now_ms: i64) -> Self {
        Consumer {
            seen_time: now_ms,
            active_time: -1,
            pending: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The last id delivered to any of its consumers.
    pub last_id: StreamId,
    /// Entries read by the group, when known: for the lag.
    pub entries_read: Option<u64>,
    pub pending: BTreeMap<StreamId, Pending>,
    pub consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Self {
        Group {
            last_id,
            entries_read,
            pending: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer named `name`, created if missing; true in the second place if it was.
    pub fn consumer_or_create(&mut self, name: &[u8], now_ms: i64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        if created {
            self.consumers
                .insert(Arc::from(name), Consumer::new(now_ms));
        }
        let consumer = self
            .consumers
            .get_mut(name)
            .expect("the consumer was just ensured");
        (consumer, created)
    }

    /// Removes a consumer and its pending entries; how many entries it had pending.
    pub fn remove_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pending {
            self.pending.remove(id);
        }
        Some(consumer.pending.len())
    }

    /// Records `id` as delivered to `consumer` now (an entry already pending moves to it,
    /// with its count reset, as Redis does for a `>` read of a re-delivered id).
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now_ms: i64) {
        let Some((name, _)) = self.consumers.get_key_value(consumer) else {
            return;
        };
        let name = name.clone();
        if let Some(old) = self.pending.insert(
            id,
            Pending {
                consumer: name.clone(),
                delivery_time: now_ms,
                delivery_count: 1,
            },
        ) {
            if let Some(previous) = self.consumers.get_mut(&old.consumer) {
                previous.pending.remove(&id);
            }
        }
        if let Some(c) = self.consumers.get_mut(&name) {
            c.pending.insert(id);
        }
    }

    /// Acknowledges `id`; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(entry) = self.pending.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&entry.consumer) {
            c.pending.remove(&id);
        }
        true
    }

    /// Moves the pending entry `id` to `consumer` (created by the caller).
    pub fn reassign(&mut self, id: StreamId, consumer: &[u8]) {
        let Some((name, _)) = self.consumers.get_key_value(consumer) else {
            return;
        };
        let name = name.clone();
        let Some(entry) = self.pending.get_mut(&id) else {
            return;
        };
        if *entry.consumer != *consumer {
            let old = std::mem::replace(&mut entry.consumer, name.clone());
            if let Some(previous) = self.consumers.get_mut(&old) {
                previous.pending.remove(&id);
            }
        }
        if let Some(c) = self.consumers.get_mut(&name) {
            c.pending.insert(id);
        }
    }
}

/// A stream value: the log and its consumer groups, by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamValue {
    pub log: Log,
    pub groups: BTreeMap<Vec<u8>, Group>,
}

impl StreamValue {
    pub fn memory_usage(&self) -> usize {
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                name.len()
                    + std::mem::size_of::<Group>()
                    + g.pending.len() * (16 + std::mem::size_of::<Pending>() + 16)
                    + g.consumers
                        .iter()
                        .map(|(n, c)| {
                            n.len() + std::mem::size_of::<Consumer>() + c.pending.len() * 24
                        })
                        .sum::<usize>()
            })
            .sum();
        std::mem::size_of::<StreamValue>() + self.log.memory_usage() + groups
    }

    /// Freeing costs one step per node, group and pending entry, as Redis's lazyfree counts.
    pub fn free_effort(&self) -> usize {
        let groups: usize = self
            .groups
            .values()
            .map(|g| 1 + g.pending.len() + g.consumers.len())
            .sum();
        self.log.node_count() + groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: NodeLimits = NodeLimits {
        max_entries: 100,
        max_bytes: 4096,
    };

    fn filled(n: u64) -> Log {
        let mut log = Log::default();
        for i in 1..=n {
            let value = i.to_string();
            log.append(StreamId::new(i, 0), &[b"f", value.as_bytes()], LIMITS);
        }
        log
    }

    #[test]
    fn entries_read_back_with_their_fields_in_both_directions() {
        let mut log = Log::default();
        log.append(StreamId::new(5, 1), &[b"a", b"1", b"b", b"2"], LIMITS);
        log.append(StreamId::new(5, 2), &[b"a", b"3", b"b", b"4"], LIMITS);
        log.append(StreamId::new(9, 0), &[b"other", b"x"], LIMITS);
        let all = log.range(StreamId::MIN, StreamId::MAX, false, 0);
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[1],
            (StreamId::new(5, 2), vec![&b"a"[..], b"3", b"b", b"4"])
        );
        assert_eq!(all[2], (StreamId::new(9, 0), vec![&b"other"[..], b"x"]));
        let rev = log.range(StreamId::MIN, StreamId::MAX, true, 2);
        assert_eq!(rev[0].0, StreamId::new(9, 0));
        assert_eq!(rev[1].0, StreamId::new(5, 2));
        assert_eq!(log.node_count(), 1);
    }

    #[test]
    fn nodes_split_at_a_hundred_entries_as_redis_listpacks_do() {
        let log = filled(250);
        assert_eq!(log.node_count(), 3);
        assert_eq!(log.length, 250);
        let some = log.range(StreamId::new(99, 0), StreamId::new(102, 0), false, 0);
        let ids: Vec<u64> = some.iter().map(|(id, _)| id.ms).collect();
        assert_eq!(ids, vec![99, 100, 101, 102]);
    }

    #[test]
    fn deletion_flags_entries_and_drops_empty_nodes() {
        let mut log = filled(150);
        assert_eq!(
            log.delete_ids(&[StreamId::new(1, 0), StreamId::new(1, 0)]),
            1
        );
        assert_eq!(log.first_id, StreamId::new(2, 0));
        assert_eq!(log.max_deleted_id, StreamId::new(1, 0));
        let rest: Vec<StreamId> = (101..=150).map(|ms| StreamId::new(ms, 0)).collect();
        assert_eq!(log.delete_ids(&rest), 50);
        assert_eq!(log.node_count(), 1);
        assert_eq!(log.length, 99);
        assert_eq!(log.last_valid_id(), StreamId::new(100, 0));
        assert_eq!(log.last_id, StreamId::new(150, 0), "the top id stays");
    }

    #[test]
    fn trimming_removes_whole_nodes_when_approximate() {
        let mut log = filled(250);
        assert_eq!(log.trim(Trim::MaxLen(120), true, 0), 100);
        assert_eq!(log.length, 150);
        assert_eq!(log.trim(Trim::MaxLen(120), false, 0), 30);
        assert_eq!(log.first_id, StreamId::new(131, 0));
        assert_eq!(log.trim(Trim::MinId(StreamId::new(200, 0)), false, 0), 69);
        assert_eq!(log.edge_id(true), Some(StreamId::new(200, 0)));
        let mut limited = filled(250);
        assert_eq!(limited.trim(Trim::MaxLen(0), true, 150), 100);
    }

    #[test]
    fn entry_counts_are_known_only_without_fragmentation() {
        let mut log = filled(10);
        assert_eq!(log.entries_up_to(StreamId::new(10, 0)), Some(10));
        assert_eq!(log.entries_up_to(StreamId::new(1, 0)), Some(1));
        assert_eq!(log.entries_up_to(StreamId::new(0, 5)), Some(0));
        assert_eq!(log.entries_up_to(StreamId::new(5, 0)), None);
        log.delete_ids(&[StreamId::new(3, 0)]);
        assert!(log.range_has_tombstones(StreamId::new(2, 0), StreamId::MAX));
        assert!(!log.range_has_tombstones(StreamId::new(4, 0), StreamId::MAX));
    }

    #[test]
    fn ids_step_across_their_halves() {
        assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::new(2, 0).prev(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
    }

    #[test]
    fn group_pending_entries_follow_their_consumer() {
        let mut group = Group::new(StreamId::MIN, Some(0));
        group.consumer_or_create(b"alice", 0);
        group.consumer_or_create(b"bob", 0);
        group.deliver(StreamId::new(1, 0), b"alice", 10);
        group.deliver(StreamId::new(2, 0), b"alice", 10);
        group.reassign(StreamId::new(1, 0), b"bob");
        assert_eq!(group.consumers[&b"alice"[..]].pending.len(), 1);
        assert_eq!(&*group.pending[&StreamId::new(1, 0)].consumer, b"bob");
        assert!(group.ack(StreamId::new(2, 0)));
        assert!(!group.ack(StreamId::new(2, 0)));
        assert_eq!(group.remove_consumer(b"bob"), Some(1));
        assert!(group.pending.is_empty());
    }
}
