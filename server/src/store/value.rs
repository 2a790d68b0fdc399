//! What a key holds.

use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::StreamValue;
use super::zset::ZSetValue;
use crate::protocol::request::parse_i64;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(StringValue),
    List(ListValue),
    Hash(HashValue),
    Set(SetValue),
    ZSet(ZSetValue),
    Stream(Box<StreamValue>),
}

impl Value {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The encoding OBJECT ENCODING reports for the same data in Redis.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::String(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// How many allocations freeing this value takes (Redis's lazyfreeGetFreeEffort): a string
    /// or a compact collection is one block; a large collection one per element.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::String(_) => 1,
            Value::List(l) => l.free_effort(),
            Value::Hash(h) => h.free_effort(),
            Value::Set(s) => s.free_effort(),
            Value::ZSet(z) => z.free_effort(),
            Value::Stream(s) => s.free_effort(),
        }
    }

    /// An estimate of the bytes this value costs, for MEMORY USAGE.
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::String(s) => s.bytes.capacity(),
                Value::List(l) => l.memory_usage(),
                Value::Hash(h) => h.memory_usage(),
                Value::Set(s) => s.memory_usage(),
                Value::ZSet(z) => z.memory_usage(),
                Value::Stream(s) => s.memory_usage(),
            }
    }
}

/// A string value. Redis reports `int` for strings that are canonical integers, `embstr` for
/// short strings written whole, and `raw` for long ones or strings modified in place (APPEND,
/// SETRANGE, SETBIT...); `modified_in_place` keeps that history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StringValue {
    pub bytes: Vec<u8>,
    pub modified_in_place: bool,
    /// Stored without Redis's attempt at integer encoding (INCRBYFLOAT's result): reports
    /// `embstr` or `raw` by length even when the text is an integer.
    pub never_int: bool,
}

/// Longest string Redis stores as `embstr`.
const EMBSTR_MAX: usize = 44;

impl StringValue {
    pub fn new(bytes: Vec<u8>) -> Self {
        StringValue {
            bytes,
            modified_in_place: false,
            never_int: false,
        }
    }

    /// A value Redis creates straight from its text, skipping integer encoding.
    pub fn unencoded(bytes: Vec<u8>) -> Self {
        StringValue {
            bytes,
            modified_in_place: false,
            never_int: true,
        }
    }

    pub fn encoding(&self) -> &'static str {
        if self.modified_in_place {
            "raw"
        } else if !self.never_int && self.bytes.len() <= 20 && parse_i64(&self.bytes).is_some() {
            "int"
        } else if self.bytes.len() > EMBSTR_MAX {
            "raw"
        } else {
            "embstr"
        }
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Self {
        Value::String(StringValue::new(bytes))
    }
}

impl From<&[u8]> for Value {
    fn from(bytes: &[u8]) -> Self {
        Value::String(StringValue::new(bytes.to_vec()))
    }
}
