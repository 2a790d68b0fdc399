//! The `understudy` binary, started as scripts and compose files start redis-server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_understudy");

/// A running binary, killed on drop.
/// The binary running in a directory of its own, both gone on drop.
struct Running(Child, std::path::PathBuf);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// Starts the binary (which listens on the port its arguments give; 0 for a free one) and
/// waits for its "Ready to accept connections" log line (on stdout, as redis-server logs), which
/// names the address it bound.
/// Reading the port from the server avoids racing other tests for a "free" port.
/// Each runs in a directory of its own, where its snapshot (`dump.rdb`) goes.
fn start(args: &[&str]) -> (Running, u16) {
    let dir = fresh_dir();
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let log = child.stdout.take().expect("piped stdout");
    let running = Running(child, dir);
    let mut port = None;
    for line in BufReader::new(log).lines() {
        let line = line.expect("a log line");
        if let Some((_, addr)) = line.split_once("Ready to accept connections tcp on ") {
            port = addr.trim().rsplit(':').next().and_then(|p| p.parse().ok());
            break;
        }
    }
    let port = port.expect("the server logged the address it listens on");
    (running, port)
}

fn fresh_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "understudy-binary-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a directory for the binary");
    dir
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
}

fn request(stream: &mut TcpStream, line: &str, expected_len: usize) -> String {
    stream.write_all(line.as_bytes()).expect("write");
    let mut reply = vec![0; expected_len];
    stream.read_exact(&mut reply).expect("read the whole reply");
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn version_is_printed_like_redis_server() {
    let out = Command::new(BIN).arg("--version").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Redis server v=7.2.4 "), "{text}");
}

#[test]
fn unknown_parameters_are_an_error() {
    let out = Command::new(BIN)
        .args(["--port", "0", "--no-such-parameter", "1"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("no-such-parameter"), "{text}");
    assert!(text.contains("Bad directive"), "{text}");
}

#[test]
fn invalid_values_are_an_error() {
    let out = Command::new(BIN)
        .args(["--port", "0", "--databases", "many"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
}

#[test]
fn flags_and_persistence_parameters_are_accepted() {
    let (_server, port) = start(&[
        "--port",
        "0",
        "--save",
        "",
        "--appendonly",
        "no",
        "--appendfsync",
        "everysec",
        "--dir",
        "/tmp",
        "--dbfilename",
        "dump.rdb",
        "--databases",
        "4",
    ]);
    let mut conn = connect(port);
    assert_eq!(request(&mut conn, "PING\r\n", 7), "+PONG\r\n");
    assert_eq!(
        request(&mut conn, "SELECT 4\r\n", 31),
        "-ERR DB index is out of range\r\n"
    );
}

#[test]
fn config_file_then_flags() {
    let dir = std::env::temp_dir().join(format!("understudy-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("redis.conf");
    std::fs::write(
        &file,
        "# a redis.conf\nport 0\nrequirepass \"from file\"\nsave 900 1\nloglevel warning\n",
    )
    .expect("config written");
    // The flag after the file wins over the file's loglevel (and lets us read the address).
    let (_server, port) = start(&[file.to_str().expect("utf-8 path"), "--loglevel", "notice"]);
    let mut conn = connect(port);
    assert_eq!(
        request(&mut conn, "PING\r\n", 34),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(request(&mut conn, "AUTH \"from file\"\r\n", 5), "+OK\r\n");
    assert_eq!(request(&mut conn, "PING\r\n", 7), "+PONG\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn unix_socket_serves_too() {
    use std::os::unix::net::UnixStream;
    let path = std::env::temp_dir().join(format!("understudy-{}.sock", std::process::id()));
    let path_text = path.to_str().expect("utf-8 path").to_string();
    let (_server, _port) = start(&["--port", "0", "--unixsocket", &path_text]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match UnixStream::connect(&path) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("no unix socket at {path_text}: {e}"),
        }
    };
    stream.write_all(b"PING\r\n").expect("write");
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).expect("read");
    assert_eq!(&reply, b"+PONG\r\n");
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_down_gracefully() {
    // With save rules (the default ones here), SIGTERM writes a final snapshot first, in the
    // directory the binary runs in.
    let (mut server, port) = start(&["--port", "0"]);
    let dir = server.1.clone();
    let mut conn = connect(port);
    assert_eq!(request(&mut conn, "SET k v\r\n", 5), "+OK\r\n");
    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status}");
            let snapshot = std::fs::read(dir.join("dump.rdb")).expect("a final snapshot");
            assert!(snapshot.starts_with(b"REDIS0010"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn sigterm_does_not_exit_when_the_final_save_fails() {
    let (mut server, port) = start(&["--port", "0"]);
    let dir = server.1.clone();
    let mut conn = connect(port);
    assert_eq!(request(&mut conn, "SET k v\r\n", 5), "+OK\r\n");
    // A non-empty directory where the snapshot must go: the final save cannot rename onto it.
    std::fs::create_dir_all(dir.join("dump.rdb").join("in-the-way")).expect("mkdir");
    let sigterm = |pid: u32| {
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    };
    sigterm(server.0.id());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.0.try_wait().expect("wait").is_none(),
        "exited although its final save failed"
    );
    assert_eq!(request(&mut conn, "GET k\r\n", 7), "$1\r\nv\r\n");
    // Once the save can succeed, the next SIGTERM stops it, with the snapshot written.
    std::fs::remove_dir_all(dir.join("dump.rdb")).expect("rmdir");
    sigterm(server.0.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status}");
            assert!(std::fs::read(dir.join("dump.rdb")).is_ok_and(|f| f.starts_with(b"REDIS")));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
