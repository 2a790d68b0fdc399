//! LEB128 varints: the length prefixes of the compact (listpack-like) encodings of hashes, sets
//! and sorted sets. Seven bits a byte, low bits first, the high bit set on all but the last.

/// Appends `value`.
pub fn write(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
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
