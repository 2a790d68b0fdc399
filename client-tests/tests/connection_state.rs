//! Connection-level behaviour that needs timing or several connections: CLIENT PAUSE holding
//! requests, CLIENT UNPAUSE releasing them, CLIENT KILL, the `timeout` parameter, maxclients.

use std::time::{Duration, Instant};

use client_tests::{Conn, Ending};

async fn server(config: &[(&str, &str)]) -> understudy::ServerHandle {
    let mut builder = understudy::Server::builder().port(0);
    for (name, value) in config {
        builder = builder.config(name, value);
    }
    builder.start().await.expect("server starts")
}

/// True when the server closes the connection within `within`.
async fn closes_within(conn: &mut Conn, within: Duration) -> bool {
    let (_, ending) = conn.read_for(within).await;
    ending != Ending::StillOpen
}

#[tokio::test]
async fn pause_write_holds_writes_but_not_reads() {
    let server = server(&[]).await;
    let mut admin = Conn::connect(server.addr()).await.unwrap();
    let mut other = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(admin.call("CLIENT PAUSE 400 WRITE").await, b"+OK\r\n");

    let started = Instant::now();
    assert_eq!(other.call("GET k").await, b"$-1\r\n");
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "reads run during a WRITE pause"
    );

    assert_eq!(other.call("SET k v").await, b"+OK\r\n");
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "the write waited for the pause to end ({:?})",
        started.elapsed()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unpause_releases_held_requests_at_once() {
    let server = server(&[]).await;
    let mut admin = Conn::connect(server.addr()).await.unwrap();
    let mut writer = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(admin.call("CLIENT PAUSE 60000 WRITE").await, b"+OK\r\n");
    let started = Instant::now();
    writer.send_line("SET k v").await;
    assert!(writer.silent_for(Duration::from_millis(100)).await);
    assert_eq!(admin.call("CLIENT UNPAUSE").await, b"+OK\r\n");
    assert_eq!(writer.reply().await, b"+OK\r\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "released by UNPAUSE, not the timer"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn pause_all_holds_every_command() {
    let server = server(&[]).await;
    let mut admin = Conn::connect(server.addr()).await.unwrap();
    let mut other = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(admin.call("CLIENT PAUSE 300 ALL").await, b"+OK\r\n");
    let started = Instant::now();
    assert_eq!(other.call("PING").await, b"+PONG\r\n");
    assert!(started.elapsed() >= Duration::from_millis(250));
    server.shutdown().await;
}

#[tokio::test]
async fn client_kill_closes_the_other_connection() {
    let server = server(&[]).await;
    let mut victim = Conn::connect(server.addr()).await.unwrap();
    let id = victim.call("CLIENT ID").await;
    let id = String::from_utf8_lossy(&id[1..]).trim().to_string();
    let mut admin = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(admin.call(&format!("CLIENT KILL ID {id}")).await, b":1\r\n");
    assert!(closes_within(&mut victim, Duration::from_secs(2)).await);
    server.shutdown().await;
}

#[tokio::test]
async fn idle_clients_are_closed_after_timeout() {
    let server = server(&[("timeout", "1")]).await;
    let mut idle = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(idle.call("PING").await, b"+PONG\r\n");
    assert!(
        closes_within(&mut idle, Duration::from_secs(3)).await,
        "an idle client outlived `timeout 1`"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn maxclients_refuses_the_extra_connection() {
    let server = server(&[("maxclients", "1")]).await;
    let mut first = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(first.call("PING").await, b"+PONG\r\n");
    let mut second = Conn::connect(server.addr()).await.unwrap();
    let (refused, ending) = second.read_to_end().await;
    assert_eq!(refused, b"-ERR max number of clients reached\r\n");
    assert_ne!(ending, Ending::StillOpen);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_blocked_without_deadline_is_not_idle() {
    let server = server(&[("timeout", "1")]).await;
    let mut waiter = Conn::connect(server.addr()).await.unwrap();
    waiter.send_line("BLPOP jobs 0").await;
    assert!(
        waiter.silent_for(Duration::from_millis(2500)).await,
        "a blocked client was closed as idle"
    );
    let mut pusher = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(pusher.call("RPUSH jobs j1").await, b":1\r\n");
    assert_eq!(waiter.reply().await, b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n");
    server.shutdown().await;
}
