//! LEB128 varints: the length prefixes of the compact (listpack-like) encodings of hashes, sets
//! and sorted sets. Seven bits a byte, low bits first, the high bit set on all but the last.

/// Appends `value`.
pub fn write(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(encode(value).as_slice());
}

/// A varint on the stack, for building an entry without a scratch allocation.
pub struct Encoded {
    bytes: [u8; 10],
    len: usize,
}

impl Encoded {
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

pub fn encode(mut value: usize) -> Encoded {
    let mut encoded = Encoded {
        bytes: [0; 10],
        len: 0,
    };
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        // Ten 7-bit groups cover 64 bits, so `len` stays within the array.
        if value == 0 {
            encoded.bytes[encoded.len] = byte;
            encoded.len += 1;
            return encoded;
        }
        encoded.bytes[encoded.len] = byte | 0x80;
        encoded.len += 1;
    }
}

/// The varint at `pos`, and the position after it; `None` if the buffer ends inside it.
pub fn read(buf: &[u8], mut pos: usize) -> Option<(usize, usize)> {
    let mut value = 0usize;
    let mut shift = 0u32;
    loop {
        let byte = *buf.get(pos)?;
        pos += 1;
        value |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((value, pos));
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_in_the_fewest_bytes() {
        for (value, bytes) in [
            (0usize, 1usize),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
        ] {
            let mut buf = Vec::new();
            write(&mut buf, value);
            assert_eq!(buf.len(), bytes, "{value}");
            assert_eq!(read(&buf, 0), Some((value, bytes)));
        }
        assert_eq!(read(&[0x80], 0), None, "a varint cut short");
    }
}
