//! Redis's own tools against an in-process Understudy: redis-cli (its output compared with the
//! same command run against the real redis-server) and redis-benchmark.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use client_tests::{require_program, RedisServer};

/// Runs a program to completion, killing it if it takes longer than `limit`.
fn run(program: &str, args: &[&str], limit: Duration) -> Output {
    require_program(program);
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let deadline = Instant::now() + limit;
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "{program} {args:?} did not finish within {limit:?}; output so far:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("collect output")
}

/// Runs redis-cli with `args` against both servers and checks that stdout and the exit status
/// are the same; returns Understudy's stdout.
fn cli_both(redis_port: u16, our_port: u16, args: &[&str]) -> String {
    let outputs: Vec<Output> = [redis_port, our_port]
        .iter()
        .map(|port| {
            let port = port.to_string();
            let mut all = vec!["-h", "127.0.0.1", "-p", &port];
            all.extend_from_slice(args);
            run("redis-cli", &all, Duration::from_secs(10))
        })
        .collect();
    let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        (text(&outputs[1]), outputs[1].status.code()),
        (text(&outputs[0]), outputs[0].status.code()),
        "redis-cli {args:?}: Understudy (left) differs from redis-server (right)"
    );
    text(&outputs[1])
}

#[test]
fn redis_cli_commands_and_databases() {
    let redis = RedisServer::start(&[]);
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let (r, u) = (redis.port(), server.addr().port());
    assert_eq!(cli_both(r, u, &["ping"]), "PONG\n");
    assert_eq!(
        cli_both(r, u, &["--raw", "echo", "two\nlines"]),
        "two\nlines\n"
    );
    assert_eq!(cli_both(r, u, &["-n", "3", "set", "k", "v"]), "OK\n");
    assert_eq!(cli_both(r, u, &["-n", "3", "get", "k"]), "v\n");
    assert_eq!(
        cli_both(r, u, &["-n", "3", "exists", "k", "k", "nokey"]),
        "2\n"
    );
    cli_both(r, u, &["-n", "0", "get", "k"]);
    cli_both(r, u, &["get", "k"]);
    cli_both(r, u, &["--no-raw", "-n", "3", "get", "k"]);
    cli_both(r, u, &["--no-raw", "get", "k"]);
    cli_both(r, u, &["--no-raw", "nosuchcommand", "x"]);
    cli_both(r, u, &["-n", "99", "ping"]);
    cli_both(r, u, &["-3", "get", "nokey"]);
    assert_eq!(cli_both(r, u, &["-n", "3", "del", "k"]), "1\n");
    assert_eq!(cli_both(r, u, &["-n", "3", "dbsize"]), "0\n");
}

#[test]
fn redis_cli_raw_incr() {
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let port = server.addr().port().to_string();
    let out = run(
        "redis-cli",
        &["-p", &port, "--raw", "incr", "ping"],
        Duration::from_secs(10),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
}

#[test]
fn redis_cli_with_a_password() {
    let redis = RedisServer::start(&["--requirepass", "pw"]);
    let server = understudy::Server::builder()
        .port(0)
        .requirepass("pw")
        .start_blocking()
        .expect("start Understudy");
    let (r, u) = (redis.port(), server.addr().port());
    assert_eq!(cli_both(r, u, &["-a", "pw", "ping"]), "PONG\n");
    assert_eq!(
        cli_both(
            r,
            u,
            &["--no-auth-warning", "-a", "pw", "-n", "2", "set", "k", "v"]
        ),
        "OK\n"
    );
    assert_eq!(
        cli_both(
            r,
            u,
            &["--user", "default", "--pass", "pw", "-n", "2", "get", "k"]
        ),
        "v\n"
    );
    cli_both(r, u, &["ping"]);
    cli_both(r, u, &["--no-auth-warning", "-a", "wrong", "ping"]);
}

#[test]
fn redis_benchmark_runs_cleanly() {
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let port = server.addr().port().to_string();
    let out = run(
        "redis-benchmark",
        &[
            "-p",
            &port,
            "-t",
            "ping,set,get,incr,mset",
            "-q",
            "-n",
            "2000",
            "-c",
            "10",
        ],
        Duration::from_secs(120),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "redis-benchmark failed:\n{text}");
    assert!(
        !text.contains("Error") && !text.contains("ERR") && !text.contains("WARNING"),
        "redis-benchmark reported errors or could not read the server's CONFIG:\n{text}"
    );
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
    ] {
        assert!(
            text.contains(&format!("{test}: ")),
            "redis-benchmark did not run {test}:\n{text}"
        );
    }
}
