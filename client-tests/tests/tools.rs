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
fn redis_benchmark_runs_its_whole_default_suite_cleanly() {
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let port = server.addr().port().to_string();
    // No -t: every test redis-benchmark runs by default.
    let out = run(
        "redis-benchmark",
        &["-p", &port, "-q", "-n", "2000", "-c", "10"],
        Duration::from_secs(300),
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
        "LPUSH",
        "RPUSH",
        "LPOP",
        "RPOP",
        "SADD",
        "HSET",
        "SPOP",
        "ZADD",
        "ZPOPMIN",
        "LRANGE_100 (first 100 elements)",
        "LRANGE_600 (first 600 elements)",
        "MSET (10 keys)",
    ] {
        assert!(
            text.contains(&format!("{test}: ")),
            "redis-benchmark did not run {test}:\n{text}"
        );
    }
}

/// Fills both servers with the same keys of every type.
fn fill_both(redis_port: u16, our_port: u16) {
    let commands: &[&[&str]] = &[
        &["rpush", "list:a", "1", "2", "3", "4"],
        &["rpush", "list:b", "1"],
        &["sadd", "set:a", "x", "y"],
        &["hset", "hash:a", "f", "v", "g", "w", "h", "u"],
        &["zadd", "zset:a", "1", "m"],
        &["set", "string:a", "a longer string value"],
        &["set", "string:b", "v"],
        &["xadd", "stream:a", "1-1", "f", "v"],
    ];
    for args in commands {
        cli_both(redis_port, our_port, args);
    }
}

#[test]
fn redis_cli_scan_and_bigkeys() {
    let redis = RedisServer::start(&[]);
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let (r, u) = (redis.port(), server.addr().port());
    fill_both(r, u);
    let sorted_lines = |port: u16, args: &[&str]| {
        let port = port.to_string();
        let mut all = vec!["-h", "127.0.0.1", "-p", &port];
        all.extend_from_slice(args);
        let out = run("redis-cli", &all, Duration::from_secs(10));
        assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let scan = ["--scan", "--pattern", "*:a"];
    assert_eq!(sorted_lines(u, &scan), sorted_lines(r, &scan));
    assert_eq!(sorted_lines(u, &scan).len(), 6);
    // --bigkeys walks the keyspace in the server's SCAN order, so its "found so far" progress
    // lines differ by nature; its summary must agree.
    let summary = |port: u16| {
        let lines = sorted_lines(port, &["--bigkeys"]);
        lines
            .into_iter()
            .filter(|l| {
                !l.starts_with('[')
                    && (l.starts_with("Biggest ")
                        || l.contains(" with ")
                        || l.starts_with("Sampled"))
            })
            .collect::<Vec<_>>()
    };
    let ours = summary(u);
    assert_eq!(ours, summary(r));
    assert!(ours
        .iter()
        .any(|l| l.contains("Biggest string found '\"string:a\"' has 21 bytes")));
}

#[test]
fn redis_cli_pipe_mass_insertion() {
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let port = server.addr().port().to_string();
    let mut input = Vec::new();
    for i in 0..100_000 {
        input.extend_from_slice(&client_tests::encode_command(&[
            "SET".to_string(),
            format!("key:{i}"),
            format!("value:{i}"),
        ]));
    }
    require_program("redis-cli");
    let mut child = Command::new("redis-cli")
        .args(["-p", &port, "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run redis-cli --pipe");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&input).expect("feed redis-cli");
    });
    let out = child.wait_with_output().expect("redis-cli --pipe finishes");
    writer.join().expect("writer");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("errors: 0, replies: 100000"), "{text}");
    let dbsize = run(
        "redis-cli",
        &["-p", &port, "dbsize"],
        Duration::from_secs(10),
    );
    assert_eq!(String::from_utf8_lossy(&dbsize.stdout), "100000\n");
    let value = run(
        "redis-cli",
        &["-p", &port, "get", "key:99999"],
        Duration::from_secs(10),
    );
    assert_eq!(String::from_utf8_lossy(&value.stdout), "value:99999\n");
}

/// redis-cli's interactive mode, in a real terminal (tmux): it asks the server for COMMAND DOCS
/// to build its hints as the user types, and must keep working.
#[test]
fn redis_cli_interactive_mode() {
    require_program("tmux");
    let server = understudy::Server::builder()
        .port(0)
        .start_blocking()
        .expect("start Understudy");
    let session = format!("understudy-cli-{}", std::process::id());
    let cli = format!("redis-cli -p {}", server.addr().port());
    let tmux = |args: &[&str]| run("tmux", args, Duration::from_secs(10));
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "150",
        "-y",
        "20",
        &cli,
    ]);
    assert!(started.status.success(), "{started:?}");
    let screen = || {
        let out = tmux(&["capture-pane", "-t", &session, "-p"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let wait_for = |text: &str| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = screen();
            if now.contains(text) {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?}; the screen:\n{now}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The prompt (capture-pane drops the space after it).
    wait_for(&format!(":{}>", server.addr().port()));
    // Partial commands make redis-cli look up hints as each key is typed.
    for keys in ["hset ", "xadd k ", "client ", "set k v "] {
        tmux(&["send-keys", "-t", &session, keys]);
        std::thread::sleep(Duration::from_millis(100));
        tmux(&["send-keys", "-t", &session, "C-u"]);
    }
    for (line, answer) in [
        ("set greeting hello", "OK"),
        ("hset h f v", "(integer) 1"),
        ("get greeting", "\"hello\""),
        ("hgetall h", "2) \"v\""),
    ] {
        tmux(&["send-keys", "-t", &session, line, "Enter"]);
        wait_for(answer);
    }
    tmux(&["send-keys", "-t", &session, "quit", "Enter"]);
    let _ = tmux(&["kill-session", "-t", &session]);
}
