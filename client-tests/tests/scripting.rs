//! Scripts across connections, for what the differential case files cannot express: a slow
//! script makes other clients get -BUSY until SCRIPT KILL stops it (or SHUTDOWN NOSAVE, once it
//! wrote), and writes from a script wake clients blocked on the keys it touches. Replies and
//! error texts of single scripts are compared with redis-server in `differential/scripting*.txt`.
//!
//! BUSY needs a multi-thread runtime: the slow script's thread hands the other connections to
//! another worker.

use std::time::{Duration, Instant};

use client_tests::Conn;

const BUSY: &[u8] =
    b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";

async fn server(threshold_ms: u64) -> understudy::ServerHandle {
    understudy::Server::builder()
        .port(0)
        .config("busy-reply-threshold", &threshold_ms.to_string())
        .start()
        .await
        .expect("server starts")
}

/// Sends a script that never ends, then waits until another connection sees -BUSY (a PING
/// served before the script started is answered PONG).
async fn start_endless_script(server: &understudy::ServerHandle, script: &str) -> (Conn, Conn) {
    let mut runner = Conn::connect(server.addr()).await.unwrap();
    runner.send_line(&format!("EVAL \"{script}\" 0")).await;
    let mut other = Conn::connect(server.addr()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = other.call("PING").await;
        if reply == BUSY {
            return (runner, other);
        }
        assert_eq!(reply, b"+PONG\r\n");
        assert!(Instant::now() < deadline, "the script never became busy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_slow_script_makes_others_busy_until_script_kill() {
    let server = server(200).await;
    let (mut runner, mut other) =
        start_endless_script(&server, "local i = 0 while true do i = i + 1 end").await;
    assert_eq!(other.call("GET k").await, BUSY);
    // A connection opened while the script runs is answered too.
    let mut late = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(late.call("PING").await, BUSY);
    // FUNCTION KILL does not stop an EVAL script.
    assert_eq!(other.call("FUNCTION KILL").await, BUSY);
    assert_eq!(late.call("SCRIPT KILL").await, b"+OK\r\n");
    let killed = runner.reply().await;
    let text = String::from_utf8_lossy(&killed);
    assert!(
        text.starts_with("-ERR Script killed by user with SCRIPT KILL... script: ")
            && text.ends_with(", on @user_script:1.\r\n"),
        "{text}"
    );
    assert_eq!(other.call("PING").await, b"+PONG\r\n");
    assert_eq!(
        other.call("SCRIPT KILL").await,
        b"-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(runner.call("EVAL \"return 1\" 0").await, b":1\r\n");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn pcall_cannot_keep_a_killed_script_alive() {
    let server = server(200).await;
    let (mut runner, mut other) = start_endless_script(
        &server,
        "while true do pcall(function() local i = 0 while true do i = i + 1 end end) end",
    )
    .await;
    assert_eq!(other.call("SCRIPT KILL").await, b"+OK\r\n");
    let killed = runner.reply().await;
    assert!(killed.starts_with(b"-ERR Script killed by user with SCRIPT KILL..."));
    assert_eq!(other.call("PING").await, b"+PONG\r\n");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_script_that_wrote_is_unkillable_and_shutdown_nosave_ends_it() {
    let server = server(200).await;
    let (mut runner, mut other) = start_endless_script(
        &server,
        "redis.call('set', 'k', 'v') local i = 0 while true do i = i + 1 end",
    )
    .await;
    assert_eq!(
        other.call("SCRIPT KILL").await,
        &b"-UNKILLABLE Sorry the script already executed write commands against the dataset. \
You can either wait the script termination or kill the server in a hard way using the SHUTDOWN \
NOSAVE command.\r\n"[..]
    );
    assert_eq!(other.call("SHUTDOWN").await, BUSY);
    other.send_line("SHUTDOWN NOSAVE").await;
    // The server goes away: neither connection gets an answer, both are closed.
    let (rest, _) = runner.read_for(Duration::from_secs(5)).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    let (rest, _) = other.read_for(Duration::from_secs(5)).await;
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_script_push_wakes_a_blocked_client_and_scripts_never_block() {
    let server = server(5000).await;
    let mut waiter = Conn::connect(server.addr()).await.unwrap();
    let mut scripter = Conn::connect(server.addr()).await.unwrap();
    waiter.send_line("BLPOP jobs 0").await;
    assert!(waiter.silent_for(Duration::from_millis(100)).await);
    assert_eq!(
        scripter
            .call("EVAL \"return redis.call('rpush', KEYS[1], ARGV[1])\" 1 jobs j1")
            .await,
        b":1\r\n"
    );
    assert_eq!(waiter.reply().await, b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n");
    // Inside a script, a command that would block answers as if its time were up.
    assert_eq!(
        scripter
            .call("EVAL \"return redis.call('lmove', 'empty', 'dst', 'left', 'right')\" 0")
            .await,
        b"$-1\r\n"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn commands_a_script_runs_are_logged_as_its_connectionless_client() {
    let server = server(5000).await;
    let mut conn = Conn::connect(server.addr()).await.unwrap();
    conn.call("CONFIG SET slowlog-log-slower-than 0").await;
    conn.call("SLOWLOG RESET").await;
    conn.call("EVAL \"return redis.call('set', 'slowk', 'v')\" 0")
        .await;
    let log = String::from_utf8_lossy(&conn.call("SLOWLOG GET 2").await).into_owned();
    // Newest first: the EVAL (from this connection), then the SET it ran.
    let eval_at = log.find("$4\r\nEVAL\r\n").expect("EVAL logged");
    let set_at = log.find("$3\r\nset\r\n").expect("SET logged");
    assert!(eval_at < set_at, "{log}");
    assert!(log[set_at..].contains("$3\r\n?:0\r\n$0\r\n"), "{log}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_busy_function_shows_in_function_stats_and_function_kill_stops_it() {
    let server = server(200).await;
    let mut admin = Conn::connect(server.addr()).await.unwrap();
    admin
        .call("FUNCTION LOAD \"#!lua name=busylib\\nredis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)\"")
        .await;
    let mut runner = Conn::connect(server.addr()).await.unwrap();
    runner.send_line("FCALL spin 1 k a").await;
    let busy_function: &[u8] =
        b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
    let deadline = Instant::now() + Duration::from_secs(5);
    while admin.call("PING").await != busy_function {
        assert!(Instant::now() < deadline, "the function never became busy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = String::from_utf8_lossy(&admin.call("FUNCTION STATS").await).into_owned();
    assert!(
        stats.starts_with(
            "*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n\
*5\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\na\r\n$11\r\nduration_ms\r\n:"
        ) && stats.ends_with(
            "$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n\
$15\r\nfunctions_count\r\n:1\r\n"
        ),
        "{stats}"
    );
    assert_eq!(admin.call("SCRIPT KILL").await, busy_function);
    assert_eq!(admin.call("FUNCTION KILL").await, b"+OK\r\n");
    let killed = runner.reply().await;
    assert!(
        killed.starts_with(
            b"-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
        ),
        "{}",
        String::from_utf8_lossy(&killed)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_loop_inside_a_coroutine_is_busy_and_killable_too() {
    let server = server(200).await;
    let (mut runner, mut other) = start_endless_script(
        &server,
        "coroutine.wrap(function() local i = 0 while true do i = i + 1 end end)()",
    )
    .await;
    assert_eq!(other.call("SCRIPT KILL").await, b"+OK\r\n");
    let killed = runner.reply().await;
    assert!(
        killed.starts_with(b"-ERR Script killed by user with SCRIPT KILL..."),
        "{}",
        String::from_utf8_lossy(&killed)
    );
    assert_eq!(other.call("PING").await, b"+PONG\r\n");
    server.shutdown().await;
}
