//! What a key holds.

use super::compact_bytes::CompactBytes;
use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::StreamValue;
use super::zset::ZSetValue;
use crate::protocol::request::parse_i64;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(StringValue),
    /// Boxed: a list's header is larger than the other variants, and lists are rarely small
    /// enough for the box to matter.
    List(Box<ListValue>),
    Hash(HashValue),
    Set(SetValue),
    ZSet(ZSetValue),
    Stream(Box<StreamValue>),
}

// Every key's table node holds one `Value`: at 32 bytes the node (key, value, access record,
// chain link) fills jemalloc's 64-byte class exactly.
const _: () = assert!(std::mem::size_of::<Value>() == 32);

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

    /// The bytes this value holds outside its slot in the keyspace's table node, for MEMORY
    /// USAGE and INFO's dataset estimate.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::String(s) => s.heap_bytes(),
            Value::List(l) => std::mem::size_of::<ListValue>() + l.memory_usage(),
            Value::Hash(h) => h.memory_usage(),
            Value::Set(s) => s.memory_usage(),
            Value::ZSet(z) => z.memory_usage(),
            Value::Stream(s) => s.memory_usage(),
        }
    }
}

/// A string value. Redis reports `int` for strings that are canonical integers, `embstr` for
/// short strings written whole, and `raw` for long ones or strings modified in place (APPEND,
/// SETRANGE, SETBIT...); the flags keep that history.
///
/// 24 bytes: short strings (most values: counters, flags, ids, timestamps) live inside it, so
/// that a small string key costs no allocation beyond its table node and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringValue {
    text: Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    Inline {
        flags: u8,
        len: u8,
        bytes: [u8; INLINE_MAX],
    },
    Heap {
        flags: u8,
        bytes: CompactBytes,
    },
}

/// Longest string kept inside the value: what is left of 24 bytes after the variant's tag, the
/// flags and the length.
const INLINE_MAX: usize = 21;
/// The string was changed in place: Redis's encoding is `raw` from then on.
const MODIFIED_IN_PLACE: u8 = 1;
/// Stored without Redis's attempt at integer encoding (INCRBYFLOAT's result): reports `embstr`
/// or `raw` by length even when the text is an integer.
const NEVER_INT: u8 = 2;

const _: () = assert!(std::mem::size_of::<StringValue>() == 24);

/// Longest string Redis stores as `embstr`.
const EMBSTR_MAX: usize = 44;

impl Default for StringValue {
    fn default() -> Self {
        StringValue::from_slice(b"")
    }
}

impl StringValue {
    fn with_flags(bytes: &[u8], flags: u8) -> Self {
        let text = if bytes.len() <= INLINE_MAX {
            let mut inline = [0; INLINE_MAX];
            inline[..bytes.len()].copy_from_slice(bytes);
            Text::Inline {
                flags,
                len: bytes.len() as u8,
                bytes: inline,
            }
        } else {
            Text::Heap {
                flags,
                bytes: CompactBytes::from(bytes),
            }
        };
        StringValue { text }
    }

    fn owned_with_flags(bytes: Vec<u8>, flags: u8) -> Self {
        if bytes.len() <= INLINE_MAX {
            return StringValue::with_flags(&bytes, flags);
        }
        StringValue {
            text: Text::Heap {
                flags,
                bytes: CompactBytes::from(bytes),
            },
        }
    }

    pub fn new(bytes: Vec<u8>) -> Self {
        StringValue::owned_with_flags(bytes, 0)
    }

    pub fn from_slice(bytes: &[u8]) -> Self {
        StringValue::with_flags(bytes, 0)
    }

    /// A value Redis creates straight from its text, skipping integer encoding.
    pub fn unencoded(bytes: Vec<u8>) -> Self {
        StringValue::owned_with_flags(bytes, NEVER_INT)
    }

    /// A value Redis builds in a buffer of its own and stores as is (BITOP's result): `raw`.
    pub fn raw(bytes: Vec<u8>) -> Self {
        StringValue::owned_with_flags(bytes, MODIFIED_IN_PLACE)
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.text {
            Text::Inline { len, bytes, .. } => &bytes[..usize::from(*len)],
            Text::Heap { bytes, .. } => bytes,
        }
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Bytes allocated outside the value itself.
    pub fn heap_bytes(&self) -> usize {
        match &self.text {
            Text::Inline { .. } => 0,
            Text::Heap { bytes, .. } => bytes.len(),
        }
    }

    fn flags(&self) -> u8 {
        match self.text {
            Text::Inline { flags, .. } | Text::Heap { flags, .. } => flags,
        }
    }

    /// The bytes for a change in place, zero-padded to at least `min_len`. As in Redis
    /// (dbUnshareStringValue), the string is `raw` from then on.
    pub fn edit(&mut self, min_len: usize) -> &mut [u8] {
        let flags = self.flags() | MODIFIED_IN_PLACE;
        let len = self.len().max(min_len);
        if len > INLINE_MAX {
            if let Text::Inline {
                len: old, bytes, ..
            } = &self.text
            {
                let mut grown = Vec::with_capacity(len);
                grown.extend_from_slice(&bytes[..usize::from(*old)]);
                grown.resize(len, 0);
                self.text = Text::Heap {
                    flags,
                    bytes: CompactBytes::from(grown),
                };
            }
        }
        match &mut self.text {
            Text::Inline {
                flags: f,
                len: old,
                bytes,
            } => {
                *f = flags;
                bytes[usize::from(*old)..len].fill(0);
                *old = len as u8;
                &mut bytes[..len]
            }
            Text::Heap { flags: f, bytes } => {
                *f = flags;
                if bytes.len() < len {
                    bytes.resize(len);
                }
                bytes.as_mut_slice()
            }
        }
    }

    /// APPEND: the string is `raw` from then on, as in Redis.
    pub fn append(&mut self, tail: &[u8]) {
        let start = self.len();
        self.edit(start + tail.len())[start..].copy_from_slice(tail);
    }

    pub fn encoding(&self) -> &'static str {
        let flags = self.flags();
        let bytes = self.as_bytes();
        if flags & MODIFIED_IN_PLACE != 0 {
            "raw"
        } else if flags & NEVER_INT == 0 && bytes.len() <= 20 && parse_i64(bytes).is_some() {
            "int"
        } else if bytes.len() > EMBSTR_MAX {
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
        Value::String(StringValue::from_slice(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_live_inside_the_value() {
        let s = StringValue::from_slice(b"xxxxxxxxxxxxxxxx");
        assert_eq!(s.as_bytes(), b"xxxxxxxxxxxxxxxx");
        assert_eq!(s.heap_bytes(), 0);
        let longest = [b'a'; INLINE_MAX];
        assert_eq!(StringValue::from_slice(&longest).heap_bytes(), 0);
        let long = StringValue::new(vec![b'a'; INLINE_MAX + 1]);
        assert_eq!(long.heap_bytes(), INLINE_MAX + 1);
        assert_eq!(long.as_bytes(), &[b'a'; INLINE_MAX + 1][..]);
    }

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(StringValue::from_slice(b"12345").encoding(), "int");
        assert_eq!(StringValue::from_slice(b"012").encoding(), "embstr");
        assert_eq!(StringValue::unencoded(b"10".to_vec()).encoding(), "embstr");
        assert_eq!(StringValue::new(vec![b'x'; 44]).encoding(), "embstr");
        assert_eq!(StringValue::new(vec![b'x'; 45]).encoding(), "raw");
        assert_eq!(StringValue::raw(b"1".to_vec()).encoding(), "raw");
        let mut s = StringValue::from_slice(b"1");
        s.append(b"2");
        assert_eq!((s.as_bytes(), s.encoding()), (&b"12"[..], "raw"));
    }

    #[test]
    fn edits_pad_with_zeros_across_the_inline_limit() {
        let mut s = StringValue::from_slice(b"ab");
        s.edit(4)[3] = b'z';
        assert_eq!(s.as_bytes(), b"ab\0z");
        assert_eq!(s.heap_bytes(), 0);
        s.edit(30)[29] = b'!';
        let mut expected = b"ab\0z".to_vec();
        expected.resize(29, 0);
        expected.push(b'!');
        assert_eq!(s.as_bytes(), &expected[..]);
        assert_eq!(s.heap_bytes(), 30);
        s.append(b"tail");
        assert_eq!(s.len(), 34);
        assert_eq!(&s.as_bytes()[30..], b"tail");
        // An edit inside the string changes nothing of its length.
        s.edit(1)[0] = b'A';
        assert_eq!((s.len(), s.as_bytes()[0]), (34, b'A'));
        assert_eq!(s.encoding(), "raw");
    }
}
