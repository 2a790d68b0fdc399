//! Connection-level behaviour that needs timing or several connections: CLIENT PAUSE holding
//! requests, CLIENT UNPAUSE releasing them, CLIENT KILL, the `timeout` parameter, maxclients.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server(config: &[(&str, &str)]) -> understudy::ServerHandle {
    let mut builder = understudy::Server::builder().port(0);
    for (name, value) in config {
        builder = builder.config(name, value);
    }
    builder.start().await.expect("server starts")
}

/// Sends an inline command and reads until `expected` bytes came back (or the connection ends).
async fn send(conn: &mut TcpStream, line: &str, expected: usize) -> Vec<u8> {
    conn.write_all(format!("{line}\r\n").as_bytes())
        .await
        .expect("write");
    read_exactly(conn, expected).await
}

async fn read_exactly(conn: &mut TcpStream, expected: usize) -> Vec<u8> {
    let mut reply = vec![0; expected];
    let mut got = 0;
    while got < expected {
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut reply[got..]))
            .await
            .expect("a reply within 5 s")
            .expect("read");
        if n == 0 {
            break;
        }
        got += n;
    }
    reply.truncate(got);
    reply
}

/// True when the peer closes the connection within `within`.
async fn closes_within(conn: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(within, conn.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn pause_write_holds_writes_but_not_reads() {
    let server = server(&[]).await;
    let mut admin = TcpStream::connect(server.addr()).await.unwrap();
    let mut other = TcpStream::connect(server.addr()).await.unwrap();
    assert_eq!(
        send(&mut admin, "CLIENT PAUSE 400 WRITE", 5).await,
        b"+OK\r\n"
    );

    let started = Instant::now();
    assert_eq!(send(&mut other, "GET k", 5).await, b"$-1\r\n");
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "reads run during a WRITE pause"
    );

    assert_eq!(send(&mut other, "SET k v", 5).await, b"+OK\r\n");
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
    let mut admin = TcpStream::connect(server.addr()).await.unwrap();
    let mut writer = TcpStream::connect(server.addr()).await.unwrap();
    assert_eq!(
        send(&mut admin, "CLIENT PAUSE 60000 WRITE", 5).await,
        b"+OK\r\n"
    );
    let started = Instant::now();
    writer.write_all(b"SET k v\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(send(&mut admin, "CLIENT UNPAUSE", 5).await, b"+OK\r\n");
    assert_eq!(read_exactly(&mut writer, 5).await, b"+OK\r\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "released by UNPAUSE, not the timer"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn pause_all_holds_every_command() {
    let server = server(&[]).await;
    let mut admin = TcpStream::connect(server.addr()).await.unwrap();
    let mut other = TcpStream::connect(server.addr()).await.unwrap();
    assert_eq!(
        send(&mut admin, "CLIENT PAUSE 300 ALL", 5).await,
        b"+OK\r\n"
    );
    let started = Instant::now();
    assert_eq!(send(&mut other, "PING", 7).await, b"+PONG\r\n");
    assert!(started.elapsed() >= Duration::from_millis(250));
    server.shutdown().await;
}

#[tokio::test]
async fn client_kill_closes_the_other_connection() {
    let server = server(&[]).await;
    let mut victim = TcpStream::connect(server.addr()).await.unwrap();
    let id = send(&mut victim, "CLIENT ID", 4).await;
    let id = String::from_utf8_lossy(&id[1..]).trim().to_string();
    let mut admin = TcpStream::connect(server.addr()).await.unwrap();
    assert_eq!(
        send(&mut admin, &format!("CLIENT KILL ID {id}"), 4).await,
        b":1\r\n"
    );
    assert!(closes_within(&mut victim, Duration::from_secs(2)).await);
    server.shutdown().await;
}

#[tokio::test]
async fn idle_clients_are_closed_after_timeout() {
    let server = server(&[("timeout", "1")]).await;
    let mut idle = TcpStream::connect(server.addr()).await.unwrap();
    assert_eq!(send(&mut idle, "PING", 7).await, b"+PONG\r\n");
    assert!(
        closes_within(&mut idle, Duration::from_secs(3)).await,
        "an idle client outlived `timeout 1`"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn maxclients_refuses_the_extra_connection() {
    let server = server(&[("maxclients", "1")]).await;
    let mut first = TcpStream::connect(server.addr()).await.unwrap();
    assert_eq!(send(&mut first, "PING", 7).await, b"+PONG\r\n");
    let mut second = TcpStream::connect(server.addr()).await.unwrap();
    let refused = read_exactly(&mut second, 36).await;
    assert_eq!(refused, b"-ERR max number of clients reached\r\n");
    assert!(closes_within(&mut second, Duration::from_secs(2)).await);
    server.shutdown().await;
}
