//! Redis's compact byte formats as they appear inside RDB files: listpacks (lists, hashes,
//! sorted sets, sets, stream nodes), intsets, and the ziplists older files hold. Redis parses
//! these blobs directly, so the bytes written here follow listpack.c and intset.c exactly.

use crate::protocol::request::parse_i64;

/// Listpack header: total bytes (u32) and element count (u16), both little-endian.
const LP_HEADER: usize = 6;
const LP_END: u8 = 0xFF;
/// The count field saturates here; the real count is then found by walking.
const LP_COUNT_UNKNOWN: usize = u16::MAX as usize;

/// One element of a listpack or ziplist: bytes, or an integer the format packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Item<'_> {
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Item::Bytes(b) => b.to_vec(),
            Item::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
        }
    }

    /// The element as an integer, as Redis reads stream node fields (an integer stored as
    /// text counts too).
    pub fn as_int(self) -> Option<i64> {
        match self {
            Item::Int(n) => Some(n),
            Item::Bytes(b) => parse_i64(b),
        }
    }
}

/// Builds a listpack, element by element, as lpAppend does.
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        ListpackWriter {
            buf: vec![0; LP_HEADER],
            count: 0,
        }
    }
}

impl ListpackWriter {
    /// Appends `value`: packed as an integer when it is one's canonical text, as Redis does.
    pub fn push(&mut self, value: &[u8]) {
        crate::store::list::encode_entry(value, &mut self.buf);
        self.count += 1;
    }

    /// The listpack's size so far, as lpBytes would count it once finished.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn push_int(&mut self, value: i64) {
        self.push(itoa::Buffer::new().format(value).as_bytes());
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(LP_END);
        let total = self.buf.len() as u32;
        let count = self.count.min(LP_COUNT_UNKNOWN) as u16;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// The elements of a listpack blob; `None` if it is malformed anywhere.
pub fn listpack_items(blob: &[u8]) -> Option<Vec<Item<'_>>> {
    let total = u32::from_le_bytes(blob.get(0..4)?.try_into().ok()?) as usize;
    if total != blob.len() || blob.last() != Some(&LP_END) || total < LP_HEADER + 1 {
        return None;
    }
    let declared = u16::from_le_bytes(blob.get(4..6)?.try_into().ok()?) as usize;
    let mut items = Vec::new();
    let mut pos = LP_HEADER;
    while *blob.get(pos)? != LP_END {
        let (item, len) = listpack_entry(blob, pos)?;
        items.push(item);
        pos += len + crate::store::list::backlen_size(len);
    }
    if pos != blob.len() - 1 || (declared != LP_COUNT_UNKNOWN && declared != items.len()) {
        return None;
    }
    Some(items)
}

fn le_int(bytes: &[u8]) -> Option<i64> {
    let mut raw = [0u8; 8];
    raw.get_mut(..bytes.len())?.copy_from_slice(bytes);
    // Sign-extend from the top byte actually present.
    let shift = 64 - 8 * bytes.len() as u32;
    Some((i64::from_le_bytes(raw) << shift) >> shift)
}

/// The entry at `pos` and its size without the back-length.
fn listpack_entry(blob: &[u8], pos: usize) -> Option<(Item<'_>, usize)> {
    let first = *blob.get(pos)?;
    let at = |from: usize, len: usize| blob.get(pos + from..pos + from + len);
    Some(match first {
        0x00..=0x7F => (Item::Int(first as i64), 1),
        0x80..=0xBF => {
            let n = (first & 0x3F) as usize;
            (Item::Bytes(at(1, n)?), 1 + n)
        }
        0xC0..=0xDF => {
            let raw = (((first & 0x1F) as i64) << 8) | *at(1, 1)?.first()? as i64;
            (Item::Int(if raw >= 4096 { raw - 8192 } else { raw }), 2)
        }
        0xE0..=0xEF => {
            let n = (((first & 0x0F) as usize) << 8) | *at(1, 1)?.first()? as usize;
            (Item::Bytes(at(2, n)?), 2 + n)
        }
        0xF0 => {
            let n = u32::from_le_bytes(at(1, 4)?.try_into().ok()?) as usize;
            (Item::Bytes(at(5, n)?), 5 + n)
        }
        0xF1 => (Item::Int(le_int(at(1, 2)?)?), 3),
        0xF2 => (Item::Int(le_int(at(1, 3)?)?), 4),
        0xF3 => (Item::Int(le_int(at(1, 4)?)?), 5),
        0xF4 => (Item::Int(le_int(at(1, 8)?)?), 9),
        _ => return None,
    })
}

/// The elements of a ziplist blob (RDB types 10, 12, 13 and quicklist nodes of type 14).
pub fn ziplist_items(blob: &[u8]) -> Option<Vec<Item<'_>>> {
    const HEADER: usize = 10;
    let total = u32::from_le_bytes(blob.get(0..4)?.try_into().ok()?) as usize;
    if total != blob.len() || blob.last() != Some(&0xFF) {
        return None;
    }
    let mut items = Vec::new();
    let mut pos = HEADER;
    while *blob.get(pos)? != 0xFF {
        // The previous entry's length: one byte, or 0xFE and four more.
        pos += if *blob.get(pos)? == 0xFE { 5 } else { 1 };
        let enc = *blob.get(pos)?;
        let at = |from: usize, len: usize| blob.get(pos + from..pos + from + len);
        let (item, len) = match enc >> 6 {
            0 => {
                let n = (enc & 0x3F) as usize;
                (Item::Bytes(at(1, n)?), 1 + n)
            }
            1 => {
                let n = (((enc & 0x3F) as usize) << 8) | *at(1, 1)?.first()? as usize;
                (Item::Bytes(at(2, n)?), 2 + n)
            }
            2 => {
                let n = u32::from_be_bytes(at(1, 4)?.try_into().ok()?) as usize;
                (Item::Bytes(at(5, n)?), 5 + n)
            }
            _ => match enc {
                0xC0 => (Item::Int(le_int(at(1, 2)?)?), 3),
                0xD0 => (Item::Int(le_int(at(1, 4)?)?), 5),
                0xE0 => (Item::Int(le_int(at(1, 8)?)?), 9),
                0xF0 => (Item::Int(le_int(at(1, 3)?)?), 4),
                0xFE => (Item::Int(le_int(at(1, 1)?)?), 2),
                0xF1..=0xFD => (Item::Int((enc & 0x0F) as i64 - 1), 1),
                _ => return None,
            },
        };
        items.push(item);
        pos += len;
    }
    (pos == blob.len() - 1).then_some(items)
}

/// An intset blob (RDB type 11) of `values`, which must be sorted and distinct.
pub fn intset_blob(values: &[i64]) -> Vec<u8> {
    let width: usize = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// The values of an intset blob; `None` if malformed or not strictly increasing.
pub fn intset_values(blob: &[u8]) -> Option<Vec<i64>> {
    let width = u32::from_le_bytes(blob.get(0..4)?.try_into().ok()?) as usize;
    let count = u32::from_le_bytes(blob.get(4..8)?.try_into().ok()?) as usize;
    if !matches!(width, 2 | 4 | 8) || blob.len() != 8 + width.checked_mul(count)? {
        return None;
    }
    let values: Vec<i64> = blob[8..]
        .chunks_exact(width)
        .map(le_int)
        .collect::<Option<_>>()?;
    values.windows(2).all(|w| w[0] < w[1]).then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_matches_redis_bytes() {
        // `RPUSH l 1 2 abc` then DUMP on redis-server 7.0: the quicklist node's listpack.
        let mut lp = ListpackWriter::default();
        for v in [&b"1"[..], b"2", b"abc"] {
            lp.push(v);
        }
        let expected = [
            0x10, 0, 0, 0, 0x03, 0x00, 0x01, 0x01, 0x02, 0x01, 0x83, b'a', b'b', b'c', 0x04, 0xFF,
        ];
        assert_eq!(lp.finish(), expected);
        assert_eq!(
            listpack_items(&expected),
            Some(vec![Item::Int(1), Item::Int(2), Item::Bytes(b"abc")])
        );
    }

    #[test]
    fn listpack_round_trips_every_encoding() {
        let long = vec![b'x'; 5000];
        let medium = vec![b'y'; 300];
        let values: Vec<Vec<u8>> = [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-32768",
            "32767",
            "-8388608",
            "8388607",
            "2147483647",
            "-2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "",
            "007",
            "1.5",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([long, medium])
        .collect();
        let mut lp = ListpackWriter::default();
        for v in &values {
            lp.push(v);
        }
        let blob = lp.finish();
        let back: Vec<Vec<u8>> = listpack_items(&blob)
            .expect("valid")
            .into_iter()
            .map(Item::to_vec)
            .collect();
        assert_eq!(back, values);
    }

    #[test]
    fn malformed_listpacks_are_refused() {
        assert_eq!(listpack_items(&[]), None);
        assert_eq!(listpack_items(&[7, 0, 0, 0, 0, 0, 0]), None);
        // An entry running past the end.
        assert_eq!(listpack_items(&[9, 0, 0, 0, 1, 0, 0x85, b'a', 0xFF]), None);
    }

    #[test]
    fn intset_round_trips_at_each_width() {
        for values in [vec![1, 2, 3], vec![-70000, 5], vec![i64::MIN, 0, i64::MAX]] {
            let blob = intset_blob(&values);
            assert_eq!(intset_values(&blob), Some(values));
        }
        assert_eq!(intset_blob(&[1, 2]), [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
        assert_eq!(intset_values(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]), None);
    }

    #[test]
    fn reads_ziplists() {
        // A ziplist of "a", 12 (4-bit immediate), -2 (int8), 1000 (int16).
        let mut zl = vec![0u8; 10];
        zl.extend_from_slice(&[0x00, 0x01, b'a']);
        zl.extend_from_slice(&[0x03, 0xF1 + 12]);
        zl.extend_from_slice(&[0x02, 0xFE, 0xFE]);
        zl.extend_from_slice(&[0x02, 0xC0, 0xE8, 0x03]);
        zl.push(0xFF);
        let total = zl.len() as u32;
        zl[0..4].copy_from_slice(&total.to_le_bytes());
        assert_eq!(
            ziplist_items(&zl),
            Some(vec![
                Item::Bytes(b"a"),
                Item::Int(12),
                Item::Int(-2),
                Item::Int(1000)
            ])
        );
    }
}
