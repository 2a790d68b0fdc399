//! Blocking commands across connections, for what the differential case files cannot express:
//! client ids (CLIENT UNBLOCK), disconnecting while blocked, CLIENT LIST and INFO while blocked.
//! Ordering and reply shapes are compared with redis-server in `differential/blocking.txt`.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server() -> understudy::ServerHandle {
    understudy::Server::builder()
        .port(0)
        .start()
        .await
        .expect("server starts")
}

async fn send(conn: &mut TcpStream, line: &str) {
    conn.write_all(format!("{line}\r\n").as_bytes())
        .await
        .expect("write");
}

/// Reads until `expected` bytes came back, within 5 s.
async fn read(conn: &mut TcpStream, expected: usize) -> Vec<u8> {
    let mut reply = vec![0; expected];
    let mut got = 0;
    while got < expected {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut reply[got..]))
            .await
            .expect("a reply within 5 s")
            .expect("read");
        assert!(n > 0, "connection closed");
        got += n;
    }
    reply
}

async fn query(conn: &mut TcpStream, line: &str, expected: usize) -> Vec<u8> {
    send(conn, line).await;
    read(conn, expected).await
}

/// Nothing arrives within `within`.
async fn silent(conn: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    tokio::time::timeout(within, conn.read(&mut buf))
        .await
        .is_err()
}

async fn client_id(conn: &mut TcpStream) -> String {
    send(conn, "CLIENT ID").await;
    let mut buf = [0u8; 32];
    let n = conn.read(&mut buf).await.expect("read");
    String::from_utf8_lossy(&buf[1..n]).trim().to_string()
}

/// Waits until INFO reports `count` blocked clients.
async fn wait_blocked(conn: &mut TcpStream, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        send(conn, "INFO clients").await;
        let mut buf = vec![0u8; 4096];
        let n = conn.read(&mut buf).await.expect("read");
        let text = String::from_utf8_lossy(&buf[..n]);
        if text.contains(&format!("blocked_clients:{count}\r\n")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {count} blocked: {text}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_push_wakes_the_blocked_client() {
    let server = server().await;
    let mut waiter = TcpStream::connect(server.addr()).await.unwrap();
    let mut pusher = TcpStream::connect(server.addr()).await.unwrap();
    send(&mut waiter, "BLPOP jobs 0").await;
    wait_blocked(&mut pusher, 1).await;
    assert!(silent(&mut waiter, Duration::from_millis(100)).await);
    assert_eq!(query(&mut pusher, "RPUSH jobs j1", 4).await, b":1\r\n");
    assert_eq!(
        read(&mut waiter, 22).await,
        b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n"
    );
    // The pushed element went to the waiter: nothing is left.
    assert_eq!(query(&mut pusher, "LLEN jobs", 4).await, b":0\r\n");
    wait_blocked(&mut pusher, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_disconnects_while_blocked_leaves_nothing_behind() {
    let server = server().await;
    let mut pusher = TcpStream::connect(server.addr()).await.unwrap();
    {
        let mut waiter = TcpStream::connect(server.addr()).await.unwrap();
        send(&mut waiter, "BLPOP jobs 0").await;
        wait_blocked(&mut pusher, 1).await;
    }
    wait_blocked(&mut pusher, 0).await;
    assert_eq!(query(&mut pusher, "RPUSH jobs j1", 4).await, b":1\r\n");
    assert_eq!(query(&mut pusher, "LLEN jobs", 4).await, b":1\r\n");
    server.shutdown().await;
}

#[tokio::test]
async fn client_unblock_answers_as_a_timeout_or_an_error() {
    let server = server().await;
    let mut admin = TcpStream::connect(server.addr()).await.unwrap();
    let mut waiter = TcpStream::connect(server.addr()).await.unwrap();
    let id = client_id(&mut waiter).await;

    send(&mut waiter, "BLPOP jobs 0").await;
    wait_blocked(&mut admin, 1).await;
    assert_eq!(
        query(&mut admin, &format!("CLIENT UNBLOCK {id}"), 4).await,
        b":1\r\n"
    );
    assert_eq!(read(&mut waiter, 5).await, b"*-1\r\n");

    send(&mut waiter, "BLMOVE a b LEFT RIGHT 0").await;
    wait_blocked(&mut admin, 1).await;
    assert_eq!(
        query(&mut admin, &format!("CLIENT UNBLOCK {id} ERROR"), 4).await,
        b":1\r\n"
    );
    let error = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";
    assert_eq!(read(&mut waiter, error.len()).await, error);

    // Not blocked any more: nothing to unblock.
    assert_eq!(
        query(&mut admin, &format!("CLIENT UNBLOCK {id}"), 4).await,
        b":0\r\n"
    );
    // The connection carries on.
    assert_eq!(query(&mut waiter, "PING", 7).await, b"+PONG\r\n");
    server.shutdown().await;
}

#[tokio::test]
async fn requests_behind_a_blocked_command_wait_for_it() {
    let server = server().await;
    let mut waiter = TcpStream::connect(server.addr()).await.unwrap();
    let mut pusher = TcpStream::connect(server.addr()).await.unwrap();
    send(&mut waiter, "BLPOP jobs 0\r\nPING").await;
    wait_blocked(&mut pusher, 1).await;
    assert!(silent(&mut waiter, Duration::from_millis(100)).await);
    query(&mut pusher, "RPUSH jobs j1", 4).await;
    assert_eq!(
        read(&mut waiter, 22 + 7).await,
        b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n+PONG\r\n"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn client_list_flags_blocked_clients() {
    let server = server().await;
    let mut admin = TcpStream::connect(server.addr()).await.unwrap();
    let mut waiter = TcpStream::connect(server.addr()).await.unwrap();
    let id = client_id(&mut waiter).await;
    send(&mut waiter, "BLPOP l 0").await;
    wait_blocked(&mut admin, 1).await;
    send(&mut admin, &format!("CLIENT LIST ID {id}")).await;
    let mut buf = vec![0u8; 4096];
    let n = admin.read(&mut buf).await.unwrap();
    let line = String::from_utf8_lossy(&buf[..n]);
    assert!(line.contains(" flags=b "), "{line}");
    assert!(line.contains(" cmd=blpop "), "{line}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_timeout_answers_with_a_null_array() {
    let server = server().await;
    let mut waiter = TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    assert_eq!(query(&mut waiter, "BLPOP nothing 0.2", 5).await, b"*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(190));
    // Redis answers every blocking timeout with a null array, BRPOPLPUSH's too.
    assert_eq!(
        query(&mut waiter, "BRPOPLPUSH nothing dest 0.1", 5).await,
        b"*-1\r\n"
    );
    server.shutdown().await;
}
