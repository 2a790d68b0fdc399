//! LZF, the compression Redis applies to strings in RDB files (`rdbcompression yes`).
//!
//! The format: a control byte below 32 starts a run of `ctrl + 1` literal bytes; any other
//! control byte is a back-reference of length `(ctrl >> 5) + 2` (a length field of 7 takes an
//! extra byte), at a distance of `((ctrl & 0x1f) << 8 | next byte) + 1` behind the output.

use std::collections::HashMap;

/// Expands `input` into exactly `expected_len` bytes; `None` if the data is corrupt.
pub fn decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(expected_len);
    let mut pos = 0;
    while pos < input.len() {
        let ctrl = input[pos] as usize;
        pos += 1;
        if ctrl < 32 {
            let run = input.get(pos..pos + ctrl + 1)?;
            out.extend_from_slice(run);
            pos += ctrl + 1;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(pos)? as usize;
                pos += 1;
            }
            len += 2;
            let low = *input.get(pos)? as usize;
            pos += 1;
            let distance = ((ctrl & 0x1f) << 8) + low + 1;
            let start = out.len().checked_sub(distance)?;
            // The reference may overlap what it produces (a run), so copy byte by byte.
            for i in 0..len {
                let byte = out[start + i];
                out.push(byte);
            }
        }
        if out.len() > expected_len {
            return None;
        }
    }
    (out.len() == expected_len).then_some(out)
}

/// Longest back-reference the format can express, and farthest distance.
const MAX_REF: usize = (1 << 8) + (1 << 3);
const MAX_DISTANCE: usize = 1 << 13;
const MAX_LITERAL: usize = 32;

/// Compresses `input`; `None` when the result would not be smaller (Redis then stores the
/// string as it is).
pub fn compress(input: &[u8]) -> Option<Vec<u8>> {
    if input.len() < 4 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len());
    let mut last_seen: HashMap<[u8; 3], usize> = HashMap::new();
    let mut literal_start = 0;
    let mut pos = 0;
    let flush_literals = |out: &mut Vec<u8>, from: usize, to: usize| {
        for chunk in input[from..to].chunks(MAX_LITERAL) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
    };
    while pos + 2 < input.len() {
        let trigram = [input[pos], input[pos + 1], input[pos + 2]];
        let candidate = last_seen.insert(trigram, pos);
        let Some(earlier) = candidate.filter(|&e| pos - e <= MAX_DISTANCE) else {
            pos += 1;
            continue;
        };
        let max_len = (input.len() - pos).min(MAX_REF);
        let mut len = 3;
        while len < max_len && input[earlier + len] == input[pos + len] {
            len += 1;
        }
        flush_literals(&mut out, literal_start, pos);
        let distance = pos - earlier - 1;
        let coded = len - 2;
        if coded < 7 {
            out.push(((coded << 5) | (distance >> 8)) as u8);
        } else {
            out.push(((7 << 5) | (distance >> 8)) as u8);
            out.push((coded - 7) as u8);
        }
        out.push(distance as u8);
        pos += len;
        literal_start = pos;
        if out.len() >= input.len() {
            return None;
        }
    }
    flush_literals(&mut out, literal_start, input.len());
    (out.len() < input.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let samples: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello hello hello hello world world world".to_vec(),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..5000u32).map(|i| (i * 7 % 13) as u8).collect(),
        ];
        for s in samples {
            let packed = compress(&s).expect("compressible");
            assert!(packed.len() < s.len());
            assert_eq!(decompress(&packed, s.len()).as_deref(), Some(&s[..]));
        }
    }

    #[test]
    fn incompressible_input_is_left_alone() {
        assert_eq!(compress(b"abcdefghijklmnopqrstuvwxyz"), None);
    }

    #[test]
    fn corrupt_input_is_refused() {
        // A back-reference before the start of the output.
        assert_eq!(decompress(&[0x20, 0x05], 3), None);
        // A literal run longer than the input.
        assert_eq!(decompress(&[0x05, b'a'], 6), None);
        // More output than announced.
        assert_eq!(decompress(&[0x01, b'a', b'b'], 1), None);
    }

    #[test]
    fn reads_what_redis_writes() {
        // `SET k <30 a's>` then DUMP on redis-server 7.0: the LZF part of the payload.
        let packed = [0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a'];
        assert_eq!(decompress(&packed, 30), Some(vec![b'a'; 30]));
    }
}
