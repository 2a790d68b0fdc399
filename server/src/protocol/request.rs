//! Request decoding: RESP multibulk arrays and inline commands, with Redis's exact protocol errors.
//!
//! The decoder never copies a RESP argument: it records where each argument lies in the read
//! buffer, and the command runs on slices of that buffer. Inline commands are unescaped (they may
//! contain quotes and `\x` escapes) into a scratch buffer instead. Limits are checked on the
//! headers, before any payload is buffered, so a hostile length can never make us allocate.

use std::ops::Range;

/// Longest line Redis accepts without a newline: an inline command or a `*`/`$` header.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Most arguments one multibulk request may announce (Redis 7: INT_MAX).
const MAX_MULTIBULK_LEN: i64 = i32::MAX as i64;
/// Argument slots reserved up front, whatever the request announces: a peer that announces
/// millions of arguments must send them before we allocate for them.
const PREALLOCATED_ARGS: usize = 1024;
/// Before AUTH, Redis refuses large requests so that an unauthenticated peer cannot make it allocate.
const UNAUTHENTICATED_MAX_MULTIBULK_LEN: i64 = 10;
const UNAUTHENTICATED_MAX_BULK_LEN: i64 = 16384;

/// Where the arguments of one decoded command are.
#[derive(Debug, Default)]
pub struct Request {
    /// Argument ranges, into the read buffer (RESP) or into `inline` (inline commands).
    pub ranges: Vec<Range<usize>>,
    /// Unescaped inline arguments; empty for RESP requests.
    pub inline: Vec<u8>,
    pub is_inline: bool,
}

/// The outcome of one decoding attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A command was decoded; this many bytes of the buffer belong to it.
    Command(usize),
    /// Bytes that carry no command (an empty inline line, `*0`, `*-1`): skip them.
    Skip(usize),
    /// Not a whole request yet.
    Incomplete,
    /// The stream is broken: reply with this error and close the connection, as Redis does.
    Error(&'static str),
}

/// Limits that apply to one connection's requests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub proto_max_bulk_len: i64,
    pub authenticated: bool,
}

impl Request {
    /// The arguments, as slices of `buf` (the same buffer that was decoded).
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> Args<'a> {
        Args {
            data: if self.is_inline { &self.inline } else { buf },
            ranges: &self.ranges,
        }
    }

    /// Decodes the first request in `buf`.
    pub fn decode(&mut self, buf: &[u8], limits: Limits) -> Decoded {
        self.ranges.clear();
        self.inline.clear();
        self.is_inline = false;
        match buf.first() {
            None => Decoded::Incomplete,
            Some(b'*') => self.decode_multibulk(buf, limits),
            Some(_) => self.decode_inline(buf),
        }
    }

    fn decode_multibulk(&mut self, buf: &[u8], limits: Limits) -> Decoded {
        let Some(cr) = memchr(b'\r', buf) else {
            return if buf.len() > INLINE_MAX_SIZE {
                Decoded::Error("ERR Protocol error: too big mbulk count string")
            } else {
                Decoded::Incomplete
            };
        };
        if cr + 1 >= buf.len() {
            return Decoded::Incomplete;
        }
        let count = match parse_i64(&buf[1..cr]) {
            Some(n) if n <= MAX_MULTIBULK_LEN => n,
            _ => return Decoded::Error("ERR Protocol error: invalid multibulk length"),
        };
        if count > UNAUTHENTICATED_MAX_MULTIBULK_LEN && !limits.authenticated {
            return Decoded::Error("ERR Protocol error: unauthenticated multibulk length");
        }
        let mut pos = cr + 2;
        if count <= 0 {
            return Decoded::Skip(pos);
        }
        self.ranges.reserve((count as usize).min(PREALLOCATED_ARGS));
        for _ in 0..count {
            let rest = &buf[pos..];
            let Some(cr) = memchr(b'\r', rest) else {
                return if rest.len() > INLINE_MAX_SIZE {
                    Decoded::Error("ERR Protocol error: too big bulk count string")
                } else {
                    Decoded::Incomplete
                };
            };
            if cr + 1 >= rest.len() {
                return Decoded::Incomplete;
            }
            if rest[0] != b'$' {
                return Decoded::Error(expected_dollar_error(rest[0]));
            }
            let len = match parse_i64(&rest[1..cr]) {
                Some(n) if n >= 0 && n <= limits.proto_max_bulk_len => n as usize,
                _ => return Decoded::Error("ERR Protocol error: invalid bulk length"),
            };
            if len as i64 > UNAUTHENTICATED_MAX_BULK_LEN && !limits.authenticated {
                return Decoded::Error("ERR Protocol error: unauthenticated bulk length");
            }
            let start = pos + cr + 2;
            // Redis skips the two bytes after the payload without looking at them.
            if buf.len() < start + len + 2 {
                return Decoded::Incomplete;
            }
            self.ranges.push(start..start + len);
            pos = start + len + 2;
        }
        Decoded::Command(pos)
    }

    fn decode_inline(&mut self, buf: &[u8]) -> Decoded {
        let Some(nl) = memchr(b'\n', buf) else {
            return if buf.len() > INLINE_MAX_SIZE {
                Decoded::Error("ERR Protocol error: too big inline request")
            } else {
                Decoded::Incomplete
            };
        };
        let mut line = &buf[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if !split_inline_args(line, &mut self.inline, &mut self.ranges) {
            return Decoded::Error("ERR Protocol error: unbalanced quotes in request");
        }
        if self.ranges.is_empty() {
            return Decoded::Skip(nl + 1);
        }
        self.is_inline = true;
        Decoded::Command(nl + 1)
    }
}

/// `expected '$', got 'X'`, for every byte X, without allocating.
fn expected_dollar_error(got: u8) -> &'static str {
    static MESSAGES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = MESSAGES.get_or_init(|| {
        (0..=255u8)
            .map(|b| {
                let mut s = String::from("ERR Protocol error: expected '$', got '");
                // Redis prints the raw byte; a byte that is not valid UTF-8 alone becomes '?'.
                s.push(if b.is_ascii() { b as char } else { '?' });
                s.push('\'');
                s
            })
            .collect()
    });
    &all[got as usize]
}

/// The arguments of one command: the name first.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    data: &'a [u8],
    ranges: &'a [Range<usize>],
}

impl<'a> Args<'a> {
    pub fn from_parts(data: &'a [u8], ranges: &'a [Range<usize>]) -> Self {
        Args { data, ranges }
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.data[self.ranges[i].clone()]
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'a [u8]> + ExactSizeIterator + 'a {
        let data = self.data;
        self.ranges.iter().map(move |r| &data[r.clone()])
    }

    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }
}

impl std::ops::Index<usize> for Args<'_> {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.get(i)
    }
}

/// Owned arguments, for commands kept for later (MULTI queues, blocked clients).
#[derive(Debug, Clone, Default)]
pub struct OwnedArgs {
    data: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

impl OwnedArgs {
    pub fn from_args(args: Args<'_>) -> Self {
        let mut owned = OwnedArgs::default();
        for a in args.iter() {
            owned.push(a);
        }
        owned
    }

    pub fn push(&mut self, arg: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(arg);
        self.ranges.push(start..self.data.len());
    }

    pub fn args(&self) -> Args<'_> {
        Args::from_parts(&self.data, &self.ranges)
    }
}

pub fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Redis's `string2ll`: an optional `-`, digits, no leading zeros, no spaces, no `+`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            None
        } else {
            Some((value as i64).wrapping_neg())
        }
    } else {
        i64::try_from(value).ok()
    }
}

/// Splits an inline command line as Redis's `sdssplitargs` does: whitespace separates arguments,
/// "double quotes" understand `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\\`, 'single quotes'
/// understand `\'`, and a closing quote must be followed by whitespace or the end of the line.
/// Returns false on unbalanced quotes.
pub fn split_inline_args(line: &[u8], out: &mut Vec<u8>, ranges: &mut Vec<Range<usize>>) -> bool {
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return true;
        }
        let start = out.len();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                if i >= line.len() {
                    return false;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < line.len()
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    out.push(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    out.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else if in_single {
                if i >= line.len() {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    i += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else {
                if i >= line.len() {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | b'\0' => {
                        i += 1;
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    c => out.push(c),
                }
            }
            i += 1;
        }
        ranges.push(start..out.len());
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Limits = Limits {
        proto_max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn decode(buf: &[u8]) -> (Decoded, Vec<Vec<u8>>) {
        let mut req = Request::default();
        let d = req.decode(buf, OPEN);
        let args = if matches!(d, Decoded::Command(_)) {
            req.args(buf).to_vec()
        } else {
            vec![]
        };
        (d, args)
    }

    #[test]
    fn multibulk_commands_decode_to_slices() {
        let (d, args) = decode(b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nextra");
        assert_eq!(d, Decoded::Command(22));
        assert_eq!(args, vec![b"GET".to_vec(), b"key".to_vec()]);
    }

    #[test]
    fn partial_requests_wait_for_more() {
        for cut in 1..22 {
            let (d, _) = decode(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"[..cut]);
            assert_eq!(d, Decoded::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn protocol_errors_have_redis_texts() {
        assert_eq!(
            decode(b"*1\r\n:1\r\n").0,
            Decoded::Error("ERR Protocol error: expected '$', got ':'")
        );
        assert_eq!(
            decode(b"*abc\r\n").0,
            Decoded::Error("ERR Protocol error: invalid multibulk length")
        );
        assert_eq!(
            decode(b"*2147483648\r\n").0,
            Decoded::Error("ERR Protocol error: invalid multibulk length")
        );
        assert_eq!(decode(b"*2147483647\r\n").0, Decoded::Incomplete);
        assert_eq!(
            decode(b"*1\r\n$-1\r\n").0,
            Decoded::Error("ERR Protocol error: invalid bulk length")
        );
        assert_eq!(
            decode(b"*1\r\n$999999999999\r\n").0,
            Decoded::Error("ERR Protocol error: invalid bulk length")
        );
        assert_eq!(
            decode(b"PING \"a\r\n").0,
            Decoded::Error("ERR Protocol error: unbalanced quotes in request")
        );
        let long = vec![b'a'; INLINE_MAX_SIZE + 1];
        assert_eq!(
            decode(&long).0,
            Decoded::Error("ERR Protocol error: too big inline request")
        );
    }

    #[test]
    fn unauthenticated_requests_are_small() {
        let mut req = Request::default();
        let closed = Limits {
            authenticated: false,
            ..OPEN
        };
        assert_eq!(
            req.decode(b"*11\r\n", closed),
            Decoded::Error("ERR Protocol error: unauthenticated multibulk length")
        );
        assert_eq!(
            req.decode(b"*1\r\n$16385\r\n", closed),
            Decoded::Error("ERR Protocol error: unauthenticated bulk length")
        );
    }

    #[test]
    fn empty_requests_are_skipped() {
        assert_eq!(decode(b"*-1\r\nPING\r\n").0, Decoded::Skip(5));
        assert_eq!(decode(b"*0\r\n").0, Decoded::Skip(4));
        assert_eq!(decode(b"\r\nPING\r\n").0, Decoded::Skip(2));
        assert_eq!(decode(b"   \n").0, Decoded::Skip(4));
    }

    #[test]
    fn inline_commands_unescape_like_sdssplitargs() {
        let (d, args) = decode(b"set a \"x\\x41y\\n\" 'it\\'s'\r\n");
        assert!(matches!(d, Decoded::Command(_)));
        assert_eq!(
            args,
            vec![
                b"set".to_vec(),
                b"a".to_vec(),
                b"xAy\n".to_vec(),
                b"it's".to_vec()
            ]
        );
        assert_eq!(decode(b"PING\n").1, vec![b"PING".to_vec()]);
        assert!(matches!(decode(b"get \"a\"b\r\n").0, Decoded::Error(_)));
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
    }
}
