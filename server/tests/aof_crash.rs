//! Crashes (`kill -9`) of the binary with the AOF on: every write acknowledged under
//! `appendfsync always` is there after the restart, under `everysec` the process's death loses
//! nothing written (the page cache survives a killed process; only a machine crash could lose
//! the last second), and a crash during a rewrite comes back with consistent data.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_understudy");

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "understudy-aof-crash-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a directory");
    dir
}

/// Starts the binary in `dir` with the AOF on; returns it and the port it logged.
fn start(dir: &Path, fsync: &str) -> (Child, u16) {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--save", "", "--appendonly", "yes"])
        .args(["--appendfsync", fsync])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let log = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(log).lines();
    let mut port = None;
    for line in lines.by_ref() {
        let line = line.expect("a log line");
        if let Some((_, addr)) = line.split_once("Ready to accept connections tcp on ") {
            port = addr.trim().rsplit(':').next().and_then(|p| p.parse().ok());
            break;
        }
    }
    // Keep draining the log so that the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, port.expect("the server logged its address"))
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
}

/// Sends one command and reads a one-line reply (`:n`, `+OK`, `-ERR`).
fn line_reply(stream: &mut TcpStream, command: &str) -> Option<String> {
    stream.write_all(command.as_bytes()).ok()?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        reply.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&reply).trim_end().to_string())
}

fn counter(port: u16) -> u64 {
    let mut stream = connect(port);
    stream.write_all(b"GET counter\r\n").unwrap();
    let mut reply = String::new();
    let mut reader = BufReader::new(stream);
    reader.read_line(&mut reply).unwrap();
    if reply.starts_with("$-1") {
        return 0;
    }
    reply.clear();
    reader.read_line(&mut reply).unwrap();
    reply.trim().parse().expect("a number")
}

/// INCRs `counter` from a writer thread until stopped; returns how many were acknowledged.
fn write_until_killed(
    port: u16,
    child: &mut Child,
    run_for: Duration,
    during: impl FnOnce(),
) -> u64 {
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut stream = connect(port);
            while !stop.load(Ordering::Relaxed) {
                match line_reply(&mut stream, "INCR counter\r\n") {
                    Some(reply) if reply.starts_with(':') => {
                        acked.store(reply[1..].parse().unwrap(), Ordering::SeqCst)
                    }
                    _ => break,
                }
            }
        })
    };
    std::thread::sleep(run_for / 2);
    during();
    std::thread::sleep(run_for / 2);
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("the writer ends");
    acked.load(Ordering::SeqCst)
}

fn crash_and_check(name: &str, fsync: &str, rewrite: bool) {
    let dir = fresh_dir(name);
    let (mut child, port) = start(&dir, fsync);
    let acked = write_until_killed(port, &mut child, Duration::from_millis(600), || {
        if rewrite {
            let mut stream = connect(port);
            let reply = line_reply(&mut stream, "BGREWRITEAOF\r\n").unwrap();
            assert!(
                reply.starts_with("+Background append only file rewriting"),
                "{reply}"
            );
        }
    });
    assert!(acked > 0, "the writer got acknowledgements");
    let (mut child, port) = start(&dir, fsync);
    let found = counter(port);
    // The write in flight at the kill may have been logged without its reply arriving.
    assert!(
        found == acked || found == acked + 1,
        "{fsync}: acknowledged {acked}, found {found}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn acknowledged_writes_survive_kill_9_under_always() {
    crash_and_check("always", "always", false);
}

#[test]
fn kill_9_under_everysec_loses_nothing_written() {
    crash_and_check("everysec", "everysec", false);
}

#[test]
fn a_crash_during_a_rewrite_comes_back_consistent() {
    crash_and_check("rewrite", "always", true);
}
