//! Shared machinery for the tests in `tests/`: a real `redis-server` to compare Understudy with,
//! raw connections that read whole RESP replies (framed by the `redis-protocol` crate, the
//! project's framing reference), redis-cli style argument splitting and readable escaping.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any single reply may take before the test calls it a hang.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

const MISSING_REDIS: &str = "is not on PATH. The client tests compare Understudy with the real \
     Redis 7.0: run the test command from the README (it installs redis-server and redis-tools), \
     or `apt-get install redis-server redis-tools`";

/// Fails the test with a clear message when an external program is not installed.
pub fn require_program(name: &str) {
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "`{name}` {MISSING_REDIS}");
}

/// A real `redis-server` on a free port, in a temporary directory of its own; killed on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts `redis-server` with no persistence and `extra` arguments (e.g. `--requirepass pw`).
    pub fn start(extra: &[&str]) -> RedisServer {
        require_program("redis-server");
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let mut last_log = String::new();
        // A free port found by binding may be taken by someone else before redis-server binds it.
        for _ in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "understudy-client-tests-{}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("create a temp dir for redis-server");
            let log = std::fs::File::create(dir.join("redis.log")).expect("create redis.log");
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string()])
                .args(["--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .args(extra)
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot run redis-server ({e}); `redis-server` {MISSING_REDIS}")
                });
            let mut server = RedisServer { child, port, dir };
            if server.wait_ready() {
                return server;
            }
            last_log = server.log();
        }
        panic!("redis-server did not start; its log:\n{last_log}");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            // Another test's server may hold this port: ours has bound it once its own log,
            // in its own directory, says it is ready.
            if self.log().contains("Ready to accept connections") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.join("redis.log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its working directory, where it writes `dump.rdb` unless told otherwise.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port")
}

/// The protocol a connection's replies are framed in (`HELLO 3` switches to RESP3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Resp2,
    Resp3,
}

/// The length of the first whole reply in `buf`; `Ok(None)` when more bytes are needed.
pub fn frame_len(buf: &[u8], proto: Proto) -> Result<Option<usize>, String> {
    let decoded = match proto {
        Proto::Resp2 => redis_protocol::resp2::decode::decode_range(buf).map(|f| f.map(|(_, n)| n)),
        Proto::Resp3 => {
            redis_protocol::resp3::decode::complete::decode_range(buf).map(|f| f.map(|(_, n)| n))
        }
    };
    decoded.map_err(|e| format!("{e:?}"))
}

/// Why a reply could not be read; each carries the bytes received so far.
#[derive(Debug)]
pub enum ReadError {
    Timeout(Vec<u8>),
    Closed(Vec<u8>),
    Io(String, Vec<u8>),
    Undecodable(String, Vec<u8>),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Timeout(b) => write!(
                f,
                "<no whole reply within {REPLY_TIMEOUT:?}; got {}>",
                escape(b)
            ),
            ReadError::Closed(b) => write!(f, "<connection closed; got {}>", escape(b)),
            ReadError::Io(e, b) => write!(f, "<read error {e}; got {}>", escape(b)),
            ReadError::Undecodable(e, b) => write!(f, "<not valid RESP ({e}): {}>", escape(b)),
        }
    }
}

/// How a connection ended when the test expected it to end.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// Orderly close (FIN).
    Eof,
    /// Reset by the peer (a server closing with unread input does this).
    Reset,
    /// Still open after the timeout.
    StillOpen,
}

/// A raw client connection that reads whole replies.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Reads one whole reply and returns its raw bytes.
    pub async fn read_reply(&mut self, proto: Proto) -> Result<Vec<u8>, ReadError> {
        let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
        loop {
            if !self.buf.is_empty() {
                match frame_len(&self.buf, proto) {
                    Ok(Some(n)) => return Ok(self.buf.drain(..n).collect()),
                    Ok(None) => {}
                    Err(e) => return Err(ReadError::Undecodable(e, std::mem::take(&mut self.buf))),
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Err(ReadError::Timeout(std::mem::take(&mut self.buf))),
                Ok(Ok(0)) => return Err(ReadError::Closed(std::mem::take(&mut self.buf))),
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => {
                    return Err(ReadError::Io(e.to_string(), std::mem::take(&mut self.buf)))
                }
            }
        }
    }

    /// Sends `line` as an inline command (the server splits it as redis-cli input).
    pub async fn send_line(&mut self, line: &str) {
        self.send(format!("{line}\r\n").as_bytes())
            .await
            .expect("send a request");
    }

    /// One whole RESP2 reply, or a panic saying why there was none (for tests).
    pub async fn reply(&mut self) -> Vec<u8> {
        match self.read_reply(Proto::Resp2).await {
            Ok(reply) => reply,
            Err(e) => panic!("no reply: {e}"),
        }
    }

    /// Sends an inline command and returns its whole RESP2 reply.
    pub async fn call(&mut self, line: &str) -> Vec<u8> {
        self.send_line(line).await;
        self.reply().await
    }

    /// Sends `request` (any bytes: several pipelined commands) and asserts that exactly
    /// `expected` comes back.
    pub async fn expect(&mut self, request: &str, expected: &str) {
        self.send(request.as_bytes()).await.expect("send a request");
        let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
        while self.buf.len() < expected.len() {
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        let got: Vec<u8> = self
            .buf
            .drain(..self.buf.len().min(expected.len()))
            .collect();
        assert_eq!(
            escape(&got),
            escape(expected.as_bytes()),
            "reply to {request:?}"
        );
    }

    /// True when nothing arrives within `window` and the connection stays open.
    pub async fn silent_for(&mut self, window: Duration) -> bool {
        let (got, ending) = self.read_for(window).await;
        self.buf = got;
        self.buf.is_empty() && ending == Ending::StillOpen
    }

    /// Reads until the server closes the connection (or the timeout passes): every byte it sent
    /// after what was already read, and how it ended.
    pub async fn read_to_end(&mut self) -> (Vec<u8>, Ending) {
        self.read_for(REPLY_TIMEOUT).await
    }

    /// Reads whatever arrives within `window`, stopping early if the connection ends.
    pub async fn read_for(&mut self, window: Duration) -> (Vec<u8>, Ending) {
        let deadline = tokio::time::Instant::now() + window;
        let mut got = std::mem::take(&mut self.buf);
        loop {
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return (got, Ending::StillOpen),
                Ok(Ok(0)) => return (got, Ending::Eof),
                Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
                Ok(Err(_)) => return (got, Ending::Reset),
            }
        }
    }
}

/// A command as a RESP multibulk request.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Splits a line the way redis-cli does (Redis's sdssplitargs): spaces separate arguments,
/// "double quotes" understand `\n \r \t \b \a \xHH` and `\<any>`, 'single quotes' only `\'`,
/// and a closing quote must be followed by a space or the end. `None` on unbalanced quotes.
pub fn split_args(line: &str) -> Option<Vec<Vec<u8>>> {
    let s = line.as_bytes();
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while at(i) != 0 && at(i).is_ascii_whitespace() {
            i += 1;
        }
        if at(i) == 0 {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(i);
            if in_double {
                if c == b'\\'
                    && at(i + 1) == b'x'
                    && hex(at(i + 2)).is_some()
                    && hex(at(i + 3)).is_some()
                {
                    current.push(hex(at(i + 2))? * 16 + hex(at(i + 3))?);
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    current.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !at(i + 1).is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !at(i + 1).is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => current.push(c),
                }
            }
            i += 1;
        }
        args.push(current);
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Bytes as a double-quoted string with `\r`, `\n`, `\t`, `\\`, `\"` and `\xHH` escapes.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Sorts the elements of an aggregate reply (array, set or push; the key-value pairs of a map),
/// for commands whose element order is unspecified. Other replies are returned unchanged.
pub fn sort_elements(reply: &[u8], proto: Proto) -> Result<Vec<u8>, String> {
    let per_item = match reply.first() {
        Some(b'*' | b'~' | b'>') => 1,
        Some(b'%') => 2,
        _ => return Ok(reply.to_vec()),
    };
    let header_end = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or("no header line")?
        + 2;
    let count: i64 = std::str::from_utf8(&reply[1..header_end - 2])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("bad aggregate length")?;
    let mut items = Vec::new();
    let mut rest = &reply[header_end..];
    for _ in 0..count.max(0) {
        let mut item = Vec::new();
        for _ in 0..per_item {
            let n = frame_len(rest, proto)?.ok_or("truncated aggregate")?;
            item.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        items.push(item);
    }
    items.sort();
    let mut out = reply[..header_end].to_vec();
    for item in items {
        out.extend_from_slice(&item);
    }
    out.extend_from_slice(rest);
    Ok(out)
}

/// Replaces the values of the named fields of a map reply (RESP3 map, or RESP2 flat array of
/// name-value pairs) with `<masked>`, keeping everything else, order included. Used where a
/// field legitimately differs between servers (HELLO's `version` and `id`).
pub fn mask_fields(reply: &[u8], proto: Proto, names: &[&str]) -> Result<Vec<u8>, String> {
    if !matches!(reply.first(), Some(b'%' | b'*')) {
        return Ok(reply.to_vec());
    }
    let header_end = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or("no header line")?
        + 2;
    let mut out = reply[..header_end].to_vec();
    let mut rest = &reply[header_end..];
    let mut mask_next = false;
    let mut is_key = true;
    while !rest.is_empty() {
        let n = frame_len(rest, proto)?.ok_or("truncated aggregate")?;
        let element = &rest[..n];
        if mask_next {
            out.extend_from_slice(b"<masked>");
        } else {
            out.extend_from_slice(element);
        }
        mask_next = is_key
            && names
                .iter()
                .any(|name| element == encode_bulk(name.as_bytes()).as_slice());
        is_key = !is_key;
        rest = &rest[n..];
    }
    Ok(out)
}

fn encode_bulk(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Option<Vec<String>> {
        split_args(line).map(|v| {
            v.into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect()
        })
    }

    #[test]
    fn splits_like_redis_cli() {
        assert_eq!(split("set  a b").unwrap(), ["set", "a", "b"]);
        assert_eq!(
            split(r#"echo "a b\x41\n" 'c\'d' """#).unwrap(),
            ["echo", "a bA\n", "c'd", ""]
        );
        assert_eq!(split(r#"echo "\q\"""#).unwrap(), ["echo", "q\""]);
        assert_eq!(split(r#"echo "a"b"#), None);
        assert_eq!(split(r#"echo "ab"#), None);
        assert_eq!(split("echo 'ab"), None);
        assert_eq!(split("   ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn frames_replies_in_both_protocols() {
        assert_eq!(frame_len(b"+OK\r\n:1\r\n", Proto::Resp2), Ok(Some(5)));
        assert_eq!(frame_len(b"*2\r\n$1\r\na\r\n", Proto::Resp2), Ok(None));
        assert_eq!(frame_len(b"$-1\r\n", Proto::Resp2), Ok(Some(5)));
        assert_eq!(frame_len(b"%1\r\n+a\r\n_\r\n", Proto::Resp3), Ok(Some(11)));
        // Error texts quote client arguments, which may be any bytes.
        assert_eq!(frame_len(b"-ERR \xff\xfe\r\n", Proto::Resp2), Ok(Some(9)));
        assert_eq!(
            frame_len(b"*1\r\n-ERR \xff\r\n", Proto::Resp3),
            Ok(Some(12))
        );
        assert_eq!(
            frame_len(b",-inf\r\n(12345678901234567890\r\n", Proto::Resp3),
            Ok(Some(7))
        );
        // RESP2 nulls do not exist in RESP3.
        assert!(frame_len(b"$-1\r\n", Proto::Resp3).is_err());
    }

    #[test]
    fn sorts_aggregates_only() {
        let reply = b"*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n";
        assert_eq!(
            sort_elements(reply, Proto::Resp2).unwrap(),
            b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
        );
        let map = b"%2\r\n+b\r\n:1\r\n+a\r\n:2\r\n";
        assert_eq!(
            sort_elements(map, Proto::Resp3).unwrap(),
            b"%2\r\n+a\r\n:2\r\n+b\r\n:1\r\n"
        );
        assert_eq!(sort_elements(b":1\r\n", Proto::Resp2).unwrap(), b":1\r\n");
    }

    #[test]
    fn masks_named_fields_only() {
        let hello = b"%2\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n$5\r\nproto\r\n:3\r\n";
        assert_eq!(
            mask_fields(hello, Proto::Resp3, &["version", "id"]).unwrap(),
            b"%2\r\n$7\r\nversion\r\n<masked>$5\r\nproto\r\n:3\r\n"
        );
        let flat = b"*2\r\n$2\r\nid\r\n:7\r\n";
        assert_eq!(
            mask_fields(flat, Proto::Resp2, &["id"]).unwrap(),
            b"*2\r\n$2\r\nid\r\n<masked>"
        );
    }

    #[test]
    fn escapes_readably() {
        assert_eq!(escape(b"+OK\r\n\x00\"\\"), r#""+OK\r\n\x00\"\\""#);
    }

    #[test]
    fn encodes_multibulk() {
        assert_eq!(
            encode_command(&["GET", "k"]),
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        );
    }
}
