//! The reply writer: handlers write replies straight into the connection's output buffer, in the
//! connection's RESP version, so that no reply value is built and then encoded.
//!
//! RESP3-only types degrade to their RESP2 spelling exactly as Redis degrades them: maps become
//! flat arrays, sets arrays, doubles bulk strings, nulls `$-1`/`*-1`, pushes arrays.

use super::format::format_double;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resp {
    #[default]
    V2,
    V3,
}

impl Resp {
    pub fn number(self) -> i64 {
        match self {
            Resp::V2 => 2,
            Resp::V3 => 3,
        }
    }
}

/// An output buffer plus the protocol version it is written in.
#[derive(Debug, Default)]
pub struct ReplyBuf {
    pub buf: Vec<u8>,
    pub resp: Resp,
}

impl ReplyBuf {
    pub fn new(resp: Resp) -> Self {
        ReplyBuf {
            buf: Vec::new(),
            resp,
        }
    }

    pub fn is_resp3(&self) -> bool {
        self.resp == Resp::V3
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply (`+text`); `text` must not contain CR or LF.
    pub fn simple(&mut self, text: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply. `text` starts with the error code (`ERR ...`, `WRONGTYPE ...`); newlines in
    /// it are turned into spaces, as Redis does, so a client-supplied name cannot break framing.
    pub fn error(&mut self, text: &str) {
        self.error_bytes(text.as_bytes());
    }

    /// An error reply whose text may hold bytes that are not UTF-8 (echoed client input).
    pub fn error_bytes(&mut self, text: &[u8]) {
        self.buf.push(b'-');
        let start = self.buf.len();
        self.buf.extend_from_slice(text);
        for b in &mut self.buf[start..] {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_int(&mut self, n: i64) {
        self.bulk(itoa::Buffer::new().format(n).as_bytes());
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.resp {
            Resp::V2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Resp::V3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.resp {
            Resp::V2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Resp::V3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// A map of `len` key/value pairs: `%len` in RESP3, a flat array of 2*len in RESP2.
    pub fn map(&mut self, len: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', 2 * len as i64),
            Resp::V3 => self.header(b'%', len as i64),
        }
    }

    pub fn set(&mut self, len: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', len as i64),
            Resp::V3 => self.header(b'~', len as i64),
        }
    }

    /// An out-of-band push (pub/sub messages): `>` in RESP3, an array in RESP2.
    pub fn push(&mut self, len: usize) {
        match self.resp {
            Resp::V2 => self.header(b'*', len as i64),
            Resp::V3 => self.header(b'>', len as i64),
        }
    }

    /// A double as Redis 7.0 prints it (`%.17g`, `inf`, `-inf`): a bulk string in RESP2.
    pub fn double(&mut self, d: f64) {
        let text = format_double(d);
        match self.resp {
            Resp::V2 => self.bulk(text.as_bytes()),
            Resp::V3 => {
                self.buf.push(b',');
                self.buf.extend_from_slice(text.as_bytes());
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        match self.resp {
            Resp::V2 => self.int(i64::from(b)),
            Resp::V3 => self
                .buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    /// Text meant for humans (INFO, CLIENT LIST): a verbatim `txt` string in RESP3.
    pub fn verbatim(&mut self, text: &[u8]) {
        match self.resp {
            Resp::V2 => self.bulk(text),
            Resp::V3 => {
                self.header(b'=', text.len() as i64 + 4);
                self.buf.extend_from_slice(b"txt:");
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Bytes already encoded in this connection's protocol.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_spellings() {
        let mut r = ReplyBuf::new(Resp::V2);
        r.map(1);
        r.bulk(b"k");
        r.double(1.5);
        r.null();
        r.null_array();
        r.boolean(true);
        r.error("ERR bad\r\nthing");
        assert_eq!(
            r.buf,
            b"*2\r\n$1\r\nk\r\n$3\r\n1.5\r\n$-1\r\n*-1\r\n:1\r\n-ERR bad  thing\r\n"
        );
    }

    #[test]
    fn resp3_spellings() {
        let mut r = ReplyBuf::new(Resp::V3);
        r.map(1);
        r.set(0);
        r.double(f64::INFINITY);
        r.null();
        r.push(2);
        r.verbatim(b"hi");
        assert_eq!(r.buf, b"%1\r\n~0\r\n,inf\r\n_\r\n>2\r\n=6\r\ntxt:hi\r\n");
    }
}
