//! The CRC-64 Redis puts at the end of an RDB file and of a DUMP payload: the "Jones"
//! polynomial, bit-reflected, initial value 0, no final xor (Redis's crc64.c).

/// The Jones polynomial 0xad93d23594c935a9 with its bits reversed, for the reflected algorithm.
const POLY_REFLECTED: u64 = 0x95AC_9329_AC4B_C9B5;

const fn make_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static TABLE: [u64; 256] = make_table();

/// Continues the checksum `crc` over `bytes` (start with 0).
pub fn update(mut crc: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        crc = TABLE[((crc ^ b as u64) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_test_vectors() {
        // The check value crc64.c's own test expects.
        assert_eq!(update(0, b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn is_incremental() {
        let whole = update(0, b"hello world");
        assert_eq!(update(update(0, b"hello "), b"world"), whole);
    }
}
