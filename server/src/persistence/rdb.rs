//! The RDB format, as Redis writes and reads it (rdb.c): a snapshot file of every database, and
//! the single-value payload of DUMP and RESTORE.
//!
//! Understudy writes RDB version 10 (Redis 7.0's): Redis 7.0 and 7.2 both read it, and it can
//! express every value Understudy holds. The only additions of version 11 (listpack-encoded sets
//! and streams with consumer active times) are read, never written: a listpack set is written
//! as a plain set, which 7.2 loads back into a listpack anyway.

use std::io::Write;
use std::sync::Arc;

use super::crc64;
use super::lzf;
use super::packed::{self, Item, ListpackWriter};
use crate::config::Hot;
use crate::protocol::request::parse_i64;
use crate::store::db::{Access, Entry};
use crate::store::hash::{self, HashValue};
use crate::store::list::{End, ListValue};
use crate::store::set::{Member, SetLimits, SetValue};
use crate::store::stream::{Consumer, Group, NodeLimits, Pending, StreamId, StreamValue};
use crate::store::value::StringValue;
use crate::store::zset::{self, ZSetValue};
use crate::store::{Db, Value};

/// The version Understudy writes, in files and DUMP payloads.
pub const WRITE_VERSION: u16 = 10;
/// The newest version Understudy reads (Redis 7.2's).
pub const READ_VERSION: u16 = 11;

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;
const TYPE_SET_LISTPACK: u8 = 20;
const TYPE_STREAM_LISTPACKS_3: u8 = 21;

const OPCODE_FUNCTION2: u8 = 245;
const OPCODE_FUNCTION_PRE_GA: u8 = 246;
const OPCODE_MODULE_AUX: u8 = 247;
const OPCODE_IDLE: u8 = 248;
const OPCODE_FREQ: u8 = 249;
const OPCODE_AUX: u8 = 250;
const OPCODE_RESIZEDB: u8 = 251;
const OPCODE_EXPIRETIME_MS: u8 = 252;
const OPCODE_EXPIRETIME: u8 = 253;
const OPCODE_SELECTDB: u8 = 254;
const OPCODE_EOF: u8 = 255;

const LEN_6BIT: u8 = 0;
const LEN_14BIT: u8 = 1;
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Quicklist node containers in RDB_TYPE_LIST_QUICKLIST_2.
const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// Redis only tries integer encoding on strings this short, and LZF on strings longer than 20.
const INT_ENCODING_MAX_LEN: usize = 11;
const LZF_MIN_LEN: usize = 20;
/// List nodes are written at most this big, as a quicklist of `list-max-listpack-size -2` is.
const LIST_NODE_BYTES: usize = 8192;

/// `SCG_INVALID_ENTRIES_READ`: a group whose read count is unknown.
const ENTRIES_READ_UNKNOWN: u64 = u64::MAX;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError(pub String);

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn corrupt(what: &str) -> RdbError {
    RdbError(format!("corrupt RDB data: {what}"))
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Writes RDB primitives to `out`, keeping the running CRC-64 of everything written.
pub struct Writer<W: Write> {
    out: W,
    crc: u64,
    compress: bool,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, compress: bool) -> Self {
        Writer {
            out,
            crc: 0,
            compress,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    pub fn crc(&self) -> u64 {
        self.crc
    }

    pub fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.crc = crc64::update(self.crc, bytes);
        self.out.write_all(bytes)
    }

    fn byte(&mut self, b: u8) -> std::io::Result<()> {
        self.raw(&[b])
    }

    fn len(&mut self, len: u64) -> std::io::Result<()> {
        if len < 1 << 6 {
            self.byte((LEN_6BIT << 6) | len as u8)
        } else if len < 1 << 14 {
            self.raw(&[(LEN_14BIT << 6) | (len >> 8) as u8, len as u8])
        } else if len <= u32::MAX as u64 {
            self.byte(LEN_32BIT)?;
            self.raw(&(len as u32).to_be_bytes())
        } else {
            self.byte(LEN_64BIT)?;
            self.raw(&len.to_be_bytes())
        }
    }

    /// A string, as rdbSaveRawString: short canonical integers as integers, long strings
    /// LZF-compressed when that saves at least four bytes.
    pub fn string(&mut self, s: &[u8]) -> std::io::Result<()> {
        if s.len() <= INT_ENCODING_MAX_LEN {
            if let Some(n) = parse_i64(s) {
                if let Ok(n) = i8::try_from(n) {
                    return self.raw(&[0xC0 | ENC_INT8, n as u8]);
                }
                if let Ok(n) = i16::try_from(n) {
                    self.byte(0xC0 | ENC_INT16)?;
                    return self.raw(&n.to_le_bytes());
                }
                if let Ok(n) = i32::try_from(n) {
                    self.byte(0xC0 | ENC_INT32)?;
                    return self.raw(&n.to_le_bytes());
                }
            }
        }
        if self.compress && s.len() > LZF_MIN_LEN {
            if let Some(packed) = lzf::compress(s).filter(|p| p.len() + 4 <= s.len()) {
                self.byte(0xC0 | ENC_LZF)?;
                self.len(packed.len() as u64)?;
                self.len(s.len() as u64)?;
                return self.raw(&packed);
            }
        }
        self.len(s.len() as u64)?;
        self.raw(s)
    }

    fn millis(&mut self, ms: i64) -> std::io::Result<()> {
        self.raw(&ms.to_le_bytes())
    }

    fn stream_id(&mut self, id: StreamId) -> std::io::Result<()> {
        self.raw(&stream_id_key(id))
    }

    pub fn aux(&mut self, key: &str, value: &[u8]) -> std::io::Result<()> {
        self.byte(OPCODE_AUX)?;
        self.string(key.as_bytes())?;
        self.string(value)
    }

    pub fn header(&mut self) -> std::io::Result<()> {
        self.raw(format!("REDIS{WRITE_VERSION:04}").as_bytes())
    }

    /// A function library's source (RDB_OPCODE_FUNCTION2).
    pub fn function(&mut self, code: &[u8]) -> std::io::Result<()> {
        self.byte(OPCODE_FUNCTION2)?;
        self.string(code)
    }

    /// The start of database `index` and the sizes of its tables.
    pub fn select_db(&mut self, index: usize, keys: usize, expires: usize) -> std::io::Result<()> {
        self.byte(OPCODE_SELECTDB)?;
        self.len(index as u64)?;
        self.byte(OPCODE_RESIZEDB)?;
        self.len(keys as u64)?;
        self.len(expires as u64)
    }

    /// One key with its deadline and, as Redis saves under LRU or LFU eviction policies, its
    /// idle time or use counter.
    pub fn key(
        &mut self,
        key: &[u8],
        entry: &Entry,
        deadline: Option<i64>,
        usage: Usage,
        now_ms: i64,
    ) -> std::io::Result<()> {
        if let Some(at) = deadline {
            self.byte(OPCODE_EXPIRETIME_MS)?;
            self.millis(at)?;
        }
        match usage {
            Usage::None => {}
            Usage::Idle => {
                self.byte(OPCODE_IDLE)?;
                self.len(((now_ms - entry.access.at_ms()).max(0) / 1000) as u64)?;
            }
            Usage::Frequency => {
                self.byte(OPCODE_FREQ)?;
                self.byte(entry.access.lfu_decayed(now_ms))?;
            }
        }
        self.byte(value_type(&entry.value))?;
        self.string(key)?;
        self.value(&entry.value)
    }

    /// The end marker and the checksum of everything before it.
    pub fn finish(&mut self, checksum: bool) -> std::io::Result<()> {
        self.byte(OPCODE_EOF)?;
        let crc = if checksum { self.crc } else { 0 };
        self.out.write_all(&crc.to_le_bytes())
    }

    /// The body of `value`, in the format `value_type` names.
    pub fn value(&mut self, value: &Value) -> std::io::Result<()> {
        match value {
            Value::String(s) => self.string(s.as_bytes()),
            Value::List(l) => self.list(l),
            Value::Set(s) => self.set(s),
            Value::Hash(h) => self.hash(h),
            Value::ZSet(z) => self.zset(z),
            Value::Stream(s) => self.stream(s),
        }
    }

    fn list(&mut self, list: &ListValue) -> std::io::Result<()> {
        let mut nodes: Vec<Vec<u8>> = Vec::new();
        let mut node = ListpackWriter::default();
        let mut node_len = 0;
        for elem in list.iter_at(0, false) {
            let bytes = elem.to_vec();
            if node_len > 0 && node.bytes() + bytes.len() > LIST_NODE_BYTES {
                nodes.push(std::mem::take(&mut node).finish());
                node_len = 0;
            }
            node.push(&bytes);
            node_len += 1;
        }
        if node_len > 0 {
            nodes.push(node.finish());
        }
        self.len(nodes.len() as u64)?;
        for node in nodes {
            self.len(QUICKLIST_NODE_PACKED)?;
            self.string(&node)?;
        }
        Ok(())
    }

    fn set(&mut self, set: &SetValue) -> std::io::Result<()> {
        if set.encoding() == "intset" {
            let mut ints: Vec<i64> = set
                .iter()
                .filter_map(|m| match m {
                    Member::Int(n) => Some(n),
                    Member::Bytes(b) => parse_i64(b),
                })
                .collect();
            ints.sort_unstable();
            return self.string(&packed::intset_blob(&ints));
        }
        self.len(set.len() as u64)?;
        for member in set.iter() {
            self.string(&member.to_vec())?;
        }
        Ok(())
    }

    fn hash(&mut self, hash: &HashValue) -> std::io::Result<()> {
        if hash.encoding() == "listpack" {
            let mut lp = ListpackWriter::default();
            for (field, value) in hash.iter() {
                lp.push(field);
                lp.push(value);
            }
            return self.string(&lp.finish());
        }
        self.len(hash.len() as u64)?;
        for (field, value) in hash.iter() {
            self.string(field)?;
            self.string(value)?;
        }
        Ok(())
    }

    fn zset(&mut self, z: &ZSetValue) -> std::io::Result<()> {
        let mut items = Vec::with_capacity(z.len());
        z.walk(0, false, |member, score| {
            items.push((member.to_vec(), score));
            true
        });
        if matches!(z, ZSetValue::Listpack(_)) {
            let mut lp = ListpackWriter::default();
            for (member, score) in &items {
                lp.push(member);
                lp.push(listpack_score(*score).as_bytes());
            }
            return self.string(&lp.finish());
        }
        self.len(items.len() as u64)?;
        // Highest first, as Redis writes them, so that loading inserts at the head.
        for (member, score) in items.iter().rev() {
            self.string(member)?;
            self.raw(&score.to_le_bytes())?;
        }
        Ok(())
    }

    fn stream(&mut self, stream: &StreamValue) -> std::io::Result<()> {
        let log = &stream.log;
        let entries = log.range(StreamId::MIN, StreamId::MAX, false, 0);
        let masters: Vec<StreamId> = log.node_ids().collect();
        let mut nodes: Vec<(StreamId, Vec<u8>)> = Vec::new();
        let mut rest = &entries[..];
        for (i, &master) in masters.iter().enumerate() {
            let end = masters.get(i + 1).copied();
            let in_node = rest
                .iter()
                .take_while(|(id, _)| end.is_none_or(|e| *id < e))
                .count();
            let (mine, after) = rest.split_at(in_node);
            rest = after;
            if let Some(lp) = stream_node(master, mine) {
                nodes.push((master, lp));
            }
        }
        self.len(nodes.len() as u64)?;
        for (master, lp) in &nodes {
            self.string(&stream_id_key(*master))?;
            self.string(lp)?;
        }
        self.len(log.length)?;
        self.len(log.last_id.ms)?;
        self.len(log.last_id.seq)?;
        self.len(log.first_id.ms)?;
        self.len(log.first_id.seq)?;
        self.len(log.max_deleted_id.ms)?;
        self.len(log.max_deleted_id.seq)?;
        self.len(log.entries_added)?;
        self.len(stream.groups.len() as u64)?;
        for (name, group) in &stream.groups {
            self.string(name)?;
            self.len(group.last_id.ms)?;
            self.len(group.last_id.seq)?;
            self.len(group.entries_read.unwrap_or(ENTRIES_READ_UNKNOWN))?;
            self.len(group.pending.len() as u64)?;
            for (id, pending) in &group.pending {
                self.stream_id(*id)?;
                self.millis(pending.delivery_time)?;
                self.len(pending.delivery_count)?;
            }
            self.len(group.consumers.len() as u64)?;
            for (name, consumer) in &group.consumers {
                self.string(name)?;
                self.millis(consumer.seen_time)?;
                self.len(consumer.pending.len() as u64)?;
                for id in &consumer.pending {
                    self.stream_id(*id)?;
                }
            }
        }
        Ok(())
    }
}

/// Whether keys carry their idle time or use counter (by the eviction policy, as in Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    None,
    Idle,
    Frequency,
}

impl Usage {
    pub fn for_policy(policy: &str) -> Usage {
        if policy.ends_with("-lru") {
            Usage::Idle
        } else if policy.ends_with("-lfu") {
            Usage::Frequency
        } else {
            Usage::None
        }
    }
}

/// The RDB type byte `value` is written with.
pub fn value_type(value: &Value) -> u8 {
    match value {
        Value::String(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Set(s) if s.encoding() == "intset" => TYPE_SET_INTSET,
        Value::Set(_) => TYPE_SET,
        Value::Hash(h) if h.encoding() == "listpack" => TYPE_HASH_LISTPACK,
        Value::Hash(_) => TYPE_HASH,
        Value::ZSet(ZSetValue::Listpack(_)) => TYPE_ZSET_LISTPACK,
        Value::ZSet(_) => TYPE_ZSET_2,
        Value::Stream(_) => TYPE_STREAM_LISTPACKS_2,
    }
}

/// A stream id as the 16 big-endian bytes Redis uses for radix tree keys and PEL entries.
fn stream_id_key(id: StreamId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&id.ms.to_be_bytes());
    key[8..].copy_from_slice(&id.seq.to_be_bytes());
    key
}

/// A score as a sorted set listpack holds it: whole numbers as integers, others as the text
/// Redis's d2string gives (`%.17g`, which reads back as the same double).
fn listpack_score(score: f64) -> String {
    const SAFE: f64 = (1u64 << 52) as f64;
    if score.fract() == 0.0 && score > -SAFE && score < SAFE && score != 0.0 {
        (score as i64).to_string()
    } else {
        crate::protocol::format::format_double(score)
    }
}

/// A stream node's listpack, as t_stream.c lays it out: the master entry (live count, deleted
/// count, the master fields, a 0 terminator), then each entry as flags, id deltas from the
/// master id, its values (or its field count and fields and values when its field names differ
/// from the master's), and its element count. `None` for a node without live entries.
fn stream_node(master: StreamId, entries: &[(StreamId, Vec<&[u8]>)]) -> Option<Vec<u8>> {
    const FLAG_SAME_FIELDS: i64 = 2;
    let (_, first) = entries.first()?;
    let master_fields: Vec<&[u8]> = first.iter().step_by(2).copied().collect();
    let mut lp = ListpackWriter::default();
    lp.push_int(entries.len() as i64);
    lp.push_int(0);
    lp.push_int(master_fields.len() as i64);
    for field in &master_fields {
        lp.push(field);
    }
    lp.push_int(0);
    for (id, fields) in entries {
        let names: Vec<&[u8]> = fields.iter().step_by(2).copied().collect();
        let same = names == master_fields;
        lp.push_int(if same { FLAG_SAME_FIELDS } else { 0 });
        lp.push_int(id.ms.wrapping_sub(master.ms) as i64);
        lp.push_int(id.seq.wrapping_sub(master.seq) as i64);
        let pairs = names.len() as i64;
        if same {
            for value in fields.iter().skip(1).step_by(2) {
                lp.push(value);
            }
            lp.push_int(pairs + 3);
        } else {
            lp.push_int(pairs);
            for f in fields {
                lp.push(f);
            }
            lp.push_int(pairs * 2 + 4);
        }
    }
    Some(lp.finish())
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Reads RDB primitives from a buffer.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| RdbError("Unexpected EOF reading RDB file".into()))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len_or_encoding(&mut self) -> Result<Len, RdbError> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Len::Plain((first & 0x3F) as u64),
            1 => Len::Plain((((first & 0x3F) as u64) << 8) | self.byte()? as u64),
            3 => Len::Encoded(first & 0x3F),
            _ => match first {
                LEN_32BIT => Len::Plain(u32::from_be_bytes(self.array()?) as u64),
                LEN_64BIT => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => return Err(corrupt("unknown length encoding")),
            },
        })
    }

    fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_encoding()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => Err(corrupt("encoded value where a length belongs")),
        }
    }

    /// A length used to size or count something in memory.
    fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.len()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.buf.len())
            .ok_or_else(|| corrupt("length beyond the data"))
    }

    pub fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        match self.len_or_encoding()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| corrupt("string length"))?;
                Ok(self.take(n)?.to_vec())
            }
            Len::Encoded(ENC_INT8) => Ok(itoa_vec(self.byte()? as i8 as i64)),
            Len::Encoded(ENC_INT16) => Ok(itoa_vec(i16::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(ENC_INT32) => Ok(itoa_vec(i32::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(ENC_LZF) => {
                let packed_len = self.count()?;
                let len = usize::try_from(self.len()?).map_err(|_| corrupt("LZF length"))?;
                let packed = self.take(packed_len)?;
                lzf::decompress(packed, len).ok_or_else(|| corrupt("invalid LZF data"))
            }
            Len::Encoded(_) => Err(corrupt("unknown string encoding")),
        }
    }

    fn millis(&mut self) -> Result<i64, RdbError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// The text-encoded double of the old RDB_TYPE_ZSET.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(n as usize)?;
                parse_double(text).ok_or_else(|| corrupt("bad double"))
            }
        }
    }

    fn stream_id(&mut self) -> Result<StreamId, RdbError> {
        let key: [u8; 16] = self.array()?;
        Ok(id_from_key(&key))
    }

    fn stream_id_lens(&mut self) -> Result<StreamId, RdbError> {
        Ok(StreamId::new(self.len()?, self.len()?))
    }
}

fn itoa_vec(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

fn parse_double(text: &[u8]) -> Option<f64> {
    zset::parse_score(text).or_else(|| {
        std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
    })
}

fn id_from_key(key: &[u8; 16]) -> StreamId {
    let mut ms = [0u8; 8];
    let mut seq = [0u8; 8];
    ms.copy_from_slice(&key[..8]);
    seq.copy_from_slice(&key[8..]);
    StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
}

/// The encoding limits a loaded value is shaped by, as Redis converts values on load.
pub struct LoadLimits<'a>(pub &'a Hot);

impl LoadLimits<'_> {
    fn set(&self) -> SetLimits {
        SetLimits {
            intset_entries: self.0.set_max_intset_entries,
            listpack_entries: self.0.set_max_listpack_entries,
            listpack_value: self.0.set_max_listpack_value,
        }
    }

    fn hash(&self) -> hash::Limits {
        hash::Limits {
            max_entries: self.0.hash_max_listpack_entries,
            max_value: self.0.hash_max_listpack_value,
        }
    }

    fn zset(&self) -> zset::Limits {
        zset::Limits {
            entries: self.0.zset_max_listpack_entries,
            value: self.0.zset_max_listpack_value,
        }
    }

    fn stream(&self) -> NodeLimits {
        NodeLimits {
            max_entries: self.0.stream_node_max_entries,
            max_bytes: self.0.stream_node_max_bytes,
        }
    }
}

/// Reads a value of RDB type `kind`; `None` for an empty collection (which Redis skips).
pub fn read_value(
    r: &mut Reader<'_>,
    kind: u8,
    limits: &LoadLimits<'_>,
) -> Result<Option<Value>, RdbError> {
    let value = match kind {
        TYPE_STRING => Value::String(StringValue::new(r.string()?)),
        TYPE_LIST => {
            let n = r.count()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.string()?);
            }
            list_from(items, limits)
        }
        TYPE_LIST_ZIPLIST => {
            let blob = r.string()?;
            let items = packed::ziplist_items(&blob).ok_or_else(|| corrupt("bad ziplist"))?;
            list_from(items.into_iter().map(Item::to_vec), limits)
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = r.count()?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                let container = if kind == TYPE_LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    QUICKLIST_NODE_PACKED
                };
                let blob = r.string()?;
                match container {
                    QUICKLIST_NODE_PLAIN => items.push(blob),
                    QUICKLIST_NODE_PACKED => {
                        let decoded = if kind == TYPE_LIST_QUICKLIST {
                            packed::ziplist_items(&blob)
                        } else {
                            packed::listpack_items(&blob)
                        };
                        let decoded = decoded.ok_or_else(|| corrupt("bad quicklist node"))?;
                        items.extend(decoded.into_iter().map(Item::to_vec));
                    }
                    _ => return Err(corrupt("unknown quicklist node container")),
                }
            }
            list_from(items, limits)
        }
        TYPE_SET => {
            let n = r.count()?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.string()?);
            }
            set_from(members, limits)?
        }
        TYPE_SET_INTSET => {
            let blob = r.string()?;
            let ints = packed::intset_values(&blob).ok_or_else(|| corrupt("bad intset"))?;
            set_from(ints.into_iter().map(itoa_vec).collect(), limits)?
        }
        TYPE_SET_LISTPACK => {
            let blob = r.string()?;
            let items = packed::listpack_items(&blob).ok_or_else(|| corrupt("bad listpack"))?;
            set_from(items.into_iter().map(Item::to_vec).collect(), limits)?
        }
        TYPE_HASH => {
            let n = r.count()?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                pairs.push((r.string()?, r.string()?));
            }
            hash_from(pairs, limits)?
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob = r.string()?;
            let items = if kind == TYPE_HASH_ZIPLIST {
                packed::ziplist_items(&blob)
            } else {
                packed::listpack_items(&blob)
            }
            .filter(|items| items.len() % 2 == 0)
            .ok_or_else(|| corrupt("bad hash listpack"))?;
            let pairs = items
                .chunks_exact(2)
                .map(|p| (p[0].to_vec(), p[1].to_vec()))
                .collect();
            hash_from(pairs, limits)?
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = r.count()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let member = r.string()?;
                let score = if kind == TYPE_ZSET_2 {
                    r.binary_double()?
                } else {
                    r.text_double()?
                };
                if score.is_nan() {
                    return Err(corrupt("NaN score"));
                }
                items.push((member, score));
            }
            zset_from(items, limits)?
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let blob = r.string()?;
            let items = if kind == TYPE_ZSET_ZIPLIST {
                packed::ziplist_items(&blob)
            } else {
                packed::listpack_items(&blob)
            }
            .filter(|items| items.len() % 2 == 0)
            .ok_or_else(|| corrupt("bad sorted set listpack"))?;
            let mut pairs = Vec::with_capacity(items.len() / 2);
            for p in items.chunks_exact(2) {
                let score = match p[1] {
                    Item::Int(n) => n as f64,
                    Item::Bytes(b) => parse_double(b).ok_or_else(|| corrupt("bad score"))?,
                };
                pairs.push((p[0].to_vec(), score));
            }
            zset_from(pairs, limits)?
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            return read_stream(r, kind, limits).map(|s| Some(Value::Stream(Box::new(s))));
        }
        9 => return Err(RdbError("zipmap-encoded hashes are not supported".into())),
        6 | 7 => return Err(RdbError("module values are not supported".into())),
        other => return Err(corrupt(&format!("unknown value type {other}"))),
    };
    let empty = match &value {
        Value::String(_) | Value::Stream(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::ZSet(z) => z.is_empty(),
    };
    Ok((!empty).then_some(value))
}

/// A list of `items`, encoded as Redis 7.2 leaves a loaded list: one listpack while it fits
/// `list-max-listpack-size`, chunks beyond.
fn list_from<T: AsRef<[u8]>>(items: impl IntoIterator<Item = T>, limits: &LoadLimits<'_>) -> Value {
    let mut list = ListValue::new();
    for item in items {
        let item = item.as_ref();
        list.prepare_growth(item.len(), 1, limits.0.list_max_listpack_size);
        list.push(item, End::Tail);
    }
    Value::List(Box::new(list))
}

fn set_from(members: Vec<Vec<u8>>, limits: &LoadLimits<'_>) -> Result<Value, RdbError> {
    let limits = limits.set();
    let Some(first) = members.first() else {
        return Ok(Value::Set(SetValue::new_listpack()));
    };
    let mut set = SetValue::for_members(first, members.len(), &limits);
    for m in &members {
        if !set.add(m, &limits) {
            return Err(corrupt("duplicate set member"));
        }
    }
    Ok(Value::Set(set))
}

fn hash_from(pairs: Vec<(Vec<u8>, Vec<u8>)>, limits: &LoadLimits<'_>) -> Result<Value, RdbError> {
    let limits = limits.hash();
    let mut h = HashValue::new();
    for (field, value) in &pairs {
        if !h.set(field, value, limits) {
            return Err(corrupt("duplicate hash field"));
        }
    }
    Ok(Value::Hash(h))
}

fn zset_from(items: Vec<(Vec<u8>, f64)>, limits: &LoadLimits<'_>) -> Result<Value, RdbError> {
    let limits = limits.zset();
    let max_len = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut z = ZSetValue::with_hint(items.len(), max_len, limits);
    for (member, score) in &items {
        if z.score(member).is_some() {
            return Err(corrupt("duplicate sorted set member"));
        }
        z.insert(member, *score, limits);
    }
    Ok(Value::ZSet(z))
}

/// A stream entry read from a file: its id, and its fields and values alternating.
type OwnedEntry = (StreamId, Vec<Vec<u8>>);

/// The live entries of one stream node listpack, with their ids.
fn stream_node_entries(master: StreamId, blob: &[u8]) -> Result<Vec<OwnedEntry>, RdbError> {
    const FLAG_DELETED: i64 = 1;
    const FLAG_SAME_FIELDS: i64 = 2;
    let bad = || corrupt("bad stream node");
    let items = packed::listpack_items(blob).ok_or_else(bad)?;
    let mut it = items.into_iter();
    let int = |it: &mut std::vec::IntoIter<Item<'_>>| -> Result<i64, RdbError> {
        it.next().and_then(Item::as_int).ok_or_else(bad)
    };
    let _live = int(&mut it)?;
    let _deleted = int(&mut it)?;
    let field_count = usize::try_from(int(&mut it)?).map_err(|_| bad())?;
    let mut master_fields = Vec::with_capacity(field_count.min(blob.len()));
    for _ in 0..field_count {
        master_fields.push(it.next().ok_or_else(bad)?.to_vec());
    }
    if int(&mut it)? != 0 {
        return Err(bad());
    }
    let mut entries = Vec::new();
    while it.len() > 0 {
        let flags = int(&mut it)?;
        let ms = master.ms.wrapping_add(int(&mut it)? as u64);
        let seq = master.seq.wrapping_add(int(&mut it)? as u64);
        let mut fields = Vec::new();
        if flags & FLAG_SAME_FIELDS != 0 {
            for name in &master_fields {
                fields.push(name.clone());
                fields.push(it.next().ok_or_else(bad)?.to_vec());
            }
        } else {
            let count = usize::try_from(int(&mut it)?).map_err(|_| bad())?;
            for _ in 0..count.checked_mul(2).ok_or_else(bad)? {
                fields.push(it.next().ok_or_else(bad)?.to_vec());
            }
        }
        int(&mut it)?;
        if flags & FLAG_DELETED == 0 {
            entries.push((StreamId::new(ms, seq), fields));
        }
    }
    Ok(entries)
}

fn read_stream(
    r: &mut Reader<'_>,
    kind: u8,
    limits: &LoadLimits<'_>,
) -> Result<StreamValue, RdbError> {
    let mut stream = StreamValue::default();
    let node_limits = limits.stream();
    let nodes = r.count()?;
    for _ in 0..nodes {
        let key = r.string()?;
        let key: [u8; 16] = key
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("stream node key"))?;
        let blob = r.string()?;
        for (id, fields) in stream_node_entries(id_from_key(&key), &blob)? {
            if id <= stream.log.last_id && stream.log.length > 0 {
                return Err(corrupt("stream ids out of order"));
            }
            let refs: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
            stream.log.append(id, &refs, node_limits);
        }
    }
    let live = stream.log.length;
    stream.log.length = r.len()?;
    if stream.log.length != live {
        return Err(corrupt("stream length does not match its entries"));
    }
    stream.log.last_id = r.stream_id_lens()?;
    if kind >= TYPE_STREAM_LISTPACKS_2 {
        stream.log.first_id = r.stream_id_lens()?;
        stream.log.max_deleted_id = r.stream_id_lens()?;
        stream.log.entries_added = r.len()?;
    } else {
        stream.log.first_id = stream.log.edge_id(true).unwrap_or(StreamId::MIN);
        stream.log.max_deleted_id = StreamId::MIN;
        stream.log.entries_added = stream.log.length;
    }
    let groups = r.count()?;
    for _ in 0..groups {
        let name = r.string()?;
        let last_id = r.stream_id_lens()?;
        let entries_read = if kind >= TYPE_STREAM_LISTPACKS_2 {
            Some(r.len()?).filter(|&n| n != ENTRIES_READ_UNKNOWN)
        } else {
            None
        };
        let mut group = Group::new(last_id, entries_read);
        let pel_len = r.count()?;
        let mut unowned = std::collections::BTreeMap::new();
        for _ in 0..pel_len {
            let id = r.stream_id()?;
            let delivery_time = r.millis()?;
            let delivery_count = r.len()?;
            unowned.insert(id, (delivery_time, delivery_count));
        }
        let consumers = r.count()?;
        for _ in 0..consumers {
            let consumer_name: Arc<[u8]> = Arc::from(r.string()?);
            let seen_time = r.millis()?;
            let active_time = if kind >= TYPE_STREAM_LISTPACKS_3 {
                r.millis()?
            } else {
                // Before 7.2 Redis kept one time per consumer; 7.2 loads it into both.
                seen_time
            };
            let mut consumer = Consumer::new(seen_time);
            consumer.active_time = active_time;
            let owned = r.count()?;
            for _ in 0..owned {
                let id = r.stream_id()?;
                let (delivery_time, delivery_count) = unowned
                    .remove(&id)
                    .ok_or_else(|| corrupt("consumer PEL entry missing from the group PEL"))?;
                consumer.pending.insert(id);
                group.pending.insert(
                    id,
                    Pending {
                        consumer: consumer_name.clone(),
                        delivery_time,
                        delivery_count,
                    },
                );
            }
            group.consumers.insert(consumer_name, consumer);
        }
        if !unowned.is_empty() {
            return Err(corrupt("group PEL entry without a consumer"));
        }
        if stream.groups.insert(name, group).is_some() {
            return Err(corrupt("duplicate consumer group"));
        }
    }
    Ok(stream)
}

// ---------------------------------------------------------------------------------------------
// Whole files

/// What a file held besides keys.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub keys: usize,
    pub expired_skipped: usize,
    pub functions: Vec<Vec<u8>>,
}

/// Loads an RDB file's contents into `dbs` (which the caller emptied). Keys whose deadline
/// passed before `now_ms` are skipped, as a master does.
pub fn load(
    bytes: &[u8],
    dbs: &mut [Db],
    limits: &LoadLimits<'_>,
    now_ms: i64,
    verify_checksum: bool,
) -> Result<LoadReport, RdbError> {
    let mut r = Reader::new(bytes);
    let magic = r
        .take(9)
        .map_err(|_| RdbError("Short read or OOM loading DB".into()))?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError(
            "Wrong signature trying to load DB from file".into(),
        ));
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|&v| (1..=READ_VERSION).contains(&v))
        .ok_or_else(|| {
            RdbError(format!(
                "Can't handle RDB format version {}",
                String::from_utf8_lossy(&magic[5..])
            ))
        })?;
    let mut report = LoadReport::default();
    let mut db_index = 0usize;
    let mut deadline: Option<i64> = None;
    let mut idle_s: Option<u64> = None;
    let mut freq: Option<u8> = None;
    loop {
        let kind = r.byte()?;
        match kind {
            OPCODE_EXPIRETIME_MS => {
                deadline = Some(r.millis()?);
                continue;
            }
            OPCODE_EXPIRETIME => {
                deadline = Some(i32::from_le_bytes(r.array()?) as i64 * 1000);
                continue;
            }
            OPCODE_FREQ => {
                freq = Some(r.byte()?);
                continue;
            }
            OPCODE_IDLE => {
                idle_s = Some(r.len()?);
                continue;
            }
            OPCODE_EOF => break,
            OPCODE_SELECTDB => {
                db_index = usize::try_from(r.len()?).unwrap_or(usize::MAX);
                if db_index >= dbs.len() {
                    return Err(RdbError(format!(
                        "FATAL: Data file was created with a Redis server configured to \
                         handle more than {} databases. Exiting",
                        dbs.len()
                    )));
                }
                continue;
            }
            OPCODE_RESIZEDB => {
                r.len()?;
                r.len()?;
                continue;
            }
            OPCODE_AUX => {
                r.string()?;
                r.string()?;
                continue;
            }
            OPCODE_FUNCTION2 => {
                report.functions.push(r.string()?);
                continue;
            }
            OPCODE_FUNCTION_PRE_GA => {
                return Err(RdbError("Pre-release function format not supported".into()))
            }
            OPCODE_MODULE_AUX => {
                return Err(RdbError("module data is not supported".into()));
            }
            _ => {}
        }
        let key = r.string()?;
        let value = read_value(&mut r, kind, limits)?;
        let (at, idle, lfu) = (deadline.take(), idle_s.take(), freq.take());
        let Some(value) = value else {
            continue;
        };
        if at.is_some_and(|at| at < now_ms) {
            report.expired_skipped += 1;
            continue;
        }
        let mut access = Access::new(now_ms);
        if let Some(idle) = idle {
            access.set_at_ms(now_ms.saturating_sub((idle as i64).saturating_mul(1000)));
        }
        if let Some(counter) = lfu {
            access.lfu_counter = counter;
        }
        let db = &mut dbs[db_index];
        if db.keys.contains_key(&key) {
            return Err(RdbError(format!(
                "RDB has duplicated key '{}' in DB {db_index}",
                String::from_utf8_lossy(&key)
            )));
        }
        let key: Box<[u8]> = key.into_boxed_slice();
        if let Some(at) = at {
            db.expires.insert(key.clone(), at);
        }
        db.keys.insert(key, Entry { value, access });
        report.keys += 1;
    }
    if version >= 5 {
        let computed = crc64::update(0, &bytes[..r.position()]);
        let stored = u64::from_le_bytes(r.array()?);
        if verify_checksum && stored != 0 && stored != computed {
            return Err(RdbError("Wrong RDB checksum. Aborting now.".into()));
        }
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// DUMP payloads

/// A DUMP payload: the value's type and body, the RDB version, and a CRC-64 of both.
pub fn dump(value: &Value) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), true);
    // Writing to memory cannot fail.
    let _ = w.byte(value_type(value));
    let _ = w.value(value);
    let _ = w.raw(&WRITE_VERSION.to_le_bytes());
    let crc = w.crc();
    let mut out = w.into_inner();
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a RESTORE payload's footer (version and checksum) as verifyDumpPayload does.
pub fn verify_payload(payload: &[u8], checksum: bool) -> bool {
    if payload.len() < 10 {
        return false;
    }
    let footer = payload.len() - 10;
    let version = u16::from_le_bytes([payload[footer], payload[footer + 1]]);
    if version > READ_VERSION {
        return false;
    }
    if !checksum {
        return true;
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&payload[footer + 2..]);
    crc64::update(0, &payload[..footer + 2]) == u64::from_le_bytes(stored)
}

/// The value of a verified RESTORE payload; `None` if the body is malformed. As in Redis, the
/// value is read from the whole payload, footer included: a body cut short may borrow the
/// footer's bytes, and trailing bytes are ignored.
pub fn undump(payload: &[u8], limits: &LoadLimits<'_>) -> Option<Value> {
    let mut r = Reader::new(payload);
    let kind = r.byte().ok()?;
    read_value(&mut r, kind, limits).ok()?
}

/// FUNCTION DUMP's payload: each library's source as an RDB function entry, then the RDB
/// version and a CRC-64 of the whole, as Redis writes it.
pub fn dump_functions<'c>(codes: impl Iterator<Item = &'c [u8]>) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), true);
    // Writing to memory cannot fail.
    for code in codes {
        let _ = w.function(code);
    }
    let _ = w.raw(&WRITE_VERSION.to_le_bytes());
    let crc = w.crc();
    let mut out = w.into_inner();
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a FUNCTION RESTORE payload was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FunctionPayloadError {
    /// The footer's version or checksum is wrong.
    Footer,
    /// An entry that is not a function library.
    NotAFunction,
    /// The body is cut short or malformed.
    Malformed,
}

/// The library sources of a FUNCTION DUMP payload.
pub fn undump_functions(payload: &[u8]) -> Result<Vec<Vec<u8>>, FunctionPayloadError> {
    if !verify_payload(payload, true) {
        return Err(FunctionPayloadError::Footer);
    }
    let body = &payload[..payload.len() - 10];
    let mut r = Reader::new(body);
    let mut codes = Vec::new();
    while r.position() < body.len() {
        let opcode = r.byte().map_err(|_| FunctionPayloadError::Malformed)?;
        if opcode != OPCODE_FUNCTION2 {
            return Err(FunctionPayloadError::NotAFunction);
        }
        codes.push(r.string().map_err(|_| FunctionPayloadError::Malformed)?);
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn function_payloads_read_back() {
        let codes: [&[u8]; 2] = [b"#!lua name=a\nreturn 1", &[b'x'; 100]];
        let payload = dump_functions(codes.iter().copied());
        assert_eq!(
            undump_functions(&payload).unwrap(),
            codes.iter().map(|c| c.to_vec()).collect::<Vec<_>>()
        );
        let mut corrupt = payload.clone();
        corrupt[3] ^= 1;
        assert_eq!(
            undump_functions(&corrupt),
            Err(FunctionPayloadError::Footer)
        );
        let value = dump(&Value::from(&b"v"[..]));
        assert_eq!(
            undump_functions(&value),
            Err(FunctionPayloadError::NotAFunction)
        );
    }

    fn hot() -> Hot {
        Config::default().hot.clone()
    }

    fn round_trip(value: &Value) -> Value {
        let hot = hot();
        let payload = dump(value);
        assert!(verify_payload(&payload, true));
        undump(&payload, &LoadLimits(&hot)).expect("payload reads back")
    }

    #[test]
    fn dump_matches_redis_bytes_for_a_string() {
        // `SET k hello` then DUMP on redis-server 7.0.15.
        let expected = b"\x00\x05hello\n\x00cr\xdfve4 \n";
        assert_eq!(dump(&Value::from(&b"hello"[..])), expected);
    }

    #[test]
    fn dump_matches_redis_bytes_for_a_small_list() {
        // `RPUSH l 1 2 abc` then DUMP on redis-server 7.0.15.
        let expected = [
            0x12, 0x01, 0x02, 0x10, 0x10, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x01, 0x02, 0x01,
            0x83, 0x61, 0x62, 0x63, 0x04, 0xff, 0x0a, 0x00, 0xc5, 0x34, 0xae, 0x0d, 0xdc, 0x23,
            0xb9, 0xee,
        ];
        let mut list = ListValue::new();
        for v in [&b"1"[..], b"2", b"abc"] {
            list.push(v, End::Tail);
        }
        assert_eq!(dump(&Value::List(Box::new(list))), expected);
    }

    #[test]
    fn strings_round_trip_in_every_encoding() {
        for s in [
            &b""[..],
            b"12",
            b"-300",
            b"100000",
            b"12345678901",
            b"007",
            &[b'z'; 100],
            b"not a number at all, long enough to compress? not really",
        ] {
            let v = Value::from(s);
            assert_eq!(round_trip(&v), v);
        }
    }

    #[test]
    fn collections_round_trip() {
        let hot = hot();
        let limits = LoadLimits(&hot);
        let small_set = set_from(vec![b"1".to_vec(), b"2".to_vec()], &limits).unwrap();
        let mixed_set = set_from(vec![b"a".to_vec(), b"2".to_vec()], &limits).unwrap();
        let big_set = set_from(
            (0..600).map(|i| format!("m{i}").into_bytes()).collect(),
            &limits,
        )
        .unwrap();
        let hash = hash_from(vec![(b"f".to_vec(), b"v".to_vec())], &limits).unwrap();
        let big_hash = hash_from(
            (0..300)
                .map(|i| (format!("f{i}").into_bytes(), vec![b'v'; 10]))
                .collect(),
            &limits,
        )
        .unwrap();
        let zset = zset_from(
            vec![
                (b"a".to_vec(), 1.5),
                (b"b".to_vec(), -3.0),
                (b"c".to_vec(), 1e300),
            ],
            &limits,
        )
        .unwrap();
        let big_zset = zset_from(
            (0..200)
                .map(|i| (format!("m{i}").into_bytes(), i as f64 / 3.0))
                .collect(),
            &limits,
        )
        .unwrap();
        let list = list_from((0..5000).map(|i| format!("item-{i}")), &limits);
        for v in [
            small_set, mixed_set, big_set, hash, big_hash, zset, big_zset, list,
        ] {
            let back = round_trip(&v);
            assert_eq!(back.encoding(), v.encoding());
            assert_eq!(back, v, "{}", v.encoding());
        }
    }

    #[test]
    fn streams_round_trip_with_groups() {
        let limits = NodeLimits {
            max_entries: 3,
            max_bytes: 4096,
        };
        let mut s = StreamValue::default();
        for i in 1..=10u64 {
            let fields: Vec<&[u8]> = if i % 4 == 0 {
                vec![b"other", b"x", b"more", b"y"]
            } else {
                vec![b"f", b"v"]
            };
            s.log.append(StreamId::new(i, 0), &fields, limits);
        }
        s.log.delete(StreamId::new(2, 0));
        let mut g = Group::new(StreamId::new(5, 0), Some(5));
        g.consumer_or_create(b"alice", 1000);
        g.deliver(StreamId::new(3, 0), b"alice", 2000);
        g.deliver(StreamId::new(4, 0), b"alice", 2500);
        // Version 10 has no active time: it loads as the seen time, as in Redis 7.2.
        for c in g.consumers.values_mut() {
            c.active_time = c.seen_time;
        }
        s.groups.insert(b"g".to_vec(), g);
        s.groups
            .insert(b"empty".to_vec(), Group::new(StreamId::MIN, None));
        let v = Value::Stream(Box::new(s));
        let Value::Stream(back) = round_trip(&v) else {
            panic!("a stream");
        };
        let Value::Stream(orig) = v else {
            unreachable!()
        };
        assert_eq!(
            back.log.range(StreamId::MIN, StreamId::MAX, false, 0),
            orig.log.range(StreamId::MIN, StreamId::MAX, false, 0)
        );
        assert_eq!(back.log.length, orig.log.length);
        assert_eq!(back.log.max_deleted_id, orig.log.max_deleted_id);
        assert_eq!(back.groups, orig.groups);
    }

    #[test]
    fn corrupt_payloads_are_refused() {
        let hot = hot();
        let mut payload = dump(&Value::from(&b"hello"[..]));
        assert!(!verify_payload(&payload[..5], true));
        let last = payload.len() - 1;
        payload[last] ^= 1;
        assert!(!verify_payload(&payload, true));
        // A body cut short with a valid footer (longer than the footer it could borrow).
        let mut w = Writer::new(Vec::new(), false);
        w.raw(&[TYPE_STRING, 30, b'a']).unwrap();
        w.raw(&WRITE_VERSION.to_le_bytes()).unwrap();
        let crc = w.crc();
        let mut bad = w.into_inner();
        bad.extend_from_slice(&crc.to_le_bytes());
        assert!(verify_payload(&bad, true));
        assert_eq!(undump(&bad, &LoadLimits(&hot)), None);
    }

    #[test]
    fn files_round_trip_with_expiry_and_skip_the_expired() {
        let hot = hot();
        let mut dbs: Vec<Db> = (0..2).map(|_| Db::default()).collect();
        dbs[0].set(b"plain", Value::from(&b"v"[..]));
        dbs[1].set(b"ttl", Value::from(&b"w"[..]));
        dbs[1].set_deadline(b"ttl", 50_000);
        dbs[1].set(b"gone", Value::from(&b"x"[..]));
        dbs[1].set_deadline(b"gone", 500);
        let mut w = Writer::new(Vec::new(), true);
        w.header().unwrap();
        w.aux("redis-ver", b"7.2.4").unwrap();
        for (i, db) in dbs.iter().enumerate() {
            w.select_db(i, db.keys.len(), db.expires.len()).unwrap();
            for (k, e) in db.keys.iter() {
                w.key(k, e, db.deadline(k), Usage::None, 1000).unwrap();
            }
        }
        w.finish(true).unwrap();
        let file = w.into_inner();
        let mut loaded: Vec<Db> = (0..2).map(|_| Db::default()).collect();
        let report = load(&file, &mut loaded, &LoadLimits(&hot), 1000, true).unwrap();
        assert_eq!((report.keys, report.expired_skipped), (2, 1));
        assert_eq!(loaded[1].deadline(b"ttl"), Some(50_000));
        assert!(loaded[0].keys.contains_key(&b"plain"[..]));
        let mut flipped = file.clone();
        flipped[12] ^= 0xFF;
        let mut again: Vec<Db> = (0..2).map(|_| Db::default()).collect();
        assert!(load(&flipped, &mut again, &LoadLimits(&hot), 1000, true).is_err());
        let mut too_few = vec![Db::default()];
        assert!(load(&file, &mut too_few, &LoadLimits(&hot), 1000, true).is_err());
    }
}
