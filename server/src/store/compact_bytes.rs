//! A byte buffer allocated to its exact length, for the encodings a key's value is made of
//! (packed hashes, sets and sorted sets, long strings).
//!
//! It is 16 bytes where a `Vec<u8>` is 24, which lets every `Value` variant fit in 24 bytes and
//! the keyspace's table node in jemalloc's 64-byte class; and it carries no spare capacity, so
//! a million small collections do not each hold a half-empty allocation. Every change that
//! grows it reallocates to the new length, as Redis's listpacks and intsets do: the allocator's
//! size classes absorb most of those in place.

use std::ops::{Deref, Range};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactBytes(Box<[u8]>);

impl CompactBytes {
    /// Replaces the bytes in `range` with `parts`, one after the other: an insertion when the
    /// range is empty, a removal when there are no parts. Panics if `range` is out of bounds,
    /// as slicing does.
    pub fn replace(&mut self, range: Range<usize>, parts: &[&[u8]]) {
        let new_len: usize = parts.iter().map(|p| p.len()).sum();
        if new_len == range.len() {
            // Same size (a value overwritten by one as long): no reallocation.
            let mut at = range.start;
            for part in parts {
                self.0[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            return;
        }
        let mut bytes = Vec::from(std::mem::take(&mut self.0));
        bytes.reserve_exact(new_len.saturating_sub(range.len()));
        bytes.splice(range, parts.iter().flat_map(|p| p.iter().copied()));
        self.0 = bytes.into_boxed_slice();
    }

    pub fn append(&mut self, parts: &[&[u8]]) {
        let end = self.0.len();
        self.replace(end..end, parts);
    }

    /// Grows with zeros, or cuts, to `len` bytes.
    pub fn resize(&mut self, len: usize) {
        let mut bytes = Vec::from(std::mem::take(&mut self.0));
        bytes.reserve_exact(len.saturating_sub(bytes.len()));
        bytes.resize(len, 0);
        self.0 = bytes.into_boxed_slice();
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl Deref for CompactBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(bytes: Vec<u8>) -> Self {
        CompactBytes(bytes.into_boxed_slice())
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(bytes: &[u8]) -> Self {
        CompactBytes(bytes.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_two_words() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 16);
    }

    #[test]
    fn replace_inserts_removes_and_overwrites() {
        let mut b = CompactBytes::from(&b"hello world"[..]);
        b.replace(5..11, &[]);
        assert_eq!(&*b, b"hello");
        b.replace(0..0, &[b">", b"> "]);
        assert_eq!(&*b, b">> hello");
        b.replace(3..8, &[b"bye"]);
        assert_eq!(&*b, b">> bye");
        b.replace(0..2, &[b"<", b"<"]);
        assert_eq!(&*b, b"<< bye");
        b.append(&[b"!"]);
        assert_eq!(&*b, b"<< bye!");
    }

    #[test]
    fn resize_pads_with_zeros_and_cuts() {
        let mut b = CompactBytes::from(&b"ab"[..]);
        b.resize(4);
        assert_eq!(&*b, b"ab\0\0");
        b.as_mut_slice()[3] = b'z';
        assert_eq!(&*b, b"ab\0z");
        b.resize(1);
        assert_eq!(&*b, b"a");
    }
}
