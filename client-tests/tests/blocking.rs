//! Blocking commands across connections, for what the differential case files cannot express:
//! client ids (CLIENT UNBLOCK), disconnecting while blocked, CLIENT LIST and INFO while blocked.
//! Ordering and reply shapes are compared with redis-server in `differential/blocking*.txt`.

use std::time::{Duration, Instant};

use client_tests::Conn;

async fn server() -> understudy::ServerHandle {
    understudy::Server::builder()
        .port(0)
        .start()
        .await
        .expect("server starts")
}

async fn client_id(conn: &mut Conn) -> String {
    let reply = conn.call("CLIENT ID").await;
    String::from_utf8_lossy(&reply[1..]).trim().to_string()
}

/// Waits until INFO reports `count` blocked clients.
async fn wait_blocked(conn: &mut Conn, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = conn.call("INFO clients").await;
        let text = String::from_utf8_lossy(&info);
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
    let mut waiter = Conn::connect(server.addr()).await.unwrap();
    let mut pusher = Conn::connect(server.addr()).await.unwrap();
    waiter.send_line("BLPOP jobs 0").await;
    wait_blocked(&mut pusher, 1).await;
    assert!(waiter.silent_for(Duration::from_millis(100)).await);
    assert_eq!(pusher.call("RPUSH jobs j1").await, b":1\r\n");
    assert_eq!(waiter.reply().await, b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n");
    // The pushed element went to the waiter: nothing is left.
    assert_eq!(pusher.call("LLEN jobs").await, b":0\r\n");
    wait_blocked(&mut pusher, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_disconnects_while_blocked_leaves_nothing_behind() {
    let server = server().await;
    let mut pusher = Conn::connect(server.addr()).await.unwrap();
    {
        let mut waiter = Conn::connect(server.addr()).await.unwrap();
        waiter.send_line("BLPOP jobs 0").await;
        wait_blocked(&mut pusher, 1).await;
    }
    wait_blocked(&mut pusher, 0).await;
    assert_eq!(pusher.call("RPUSH jobs j1").await, b":1\r\n");
    assert_eq!(pusher.call("LLEN jobs").await, b":1\r\n");
    server.shutdown().await;
}

#[tokio::test]
async fn client_unblock_answers_as_a_timeout_or_an_error() {
    let server = server().await;
    let mut admin = Conn::connect(server.addr()).await.unwrap();
    let mut waiter = Conn::connect(server.addr()).await.unwrap();
    let id = client_id(&mut waiter).await;

    waiter.send_line("BLPOP jobs 0").await;
    wait_blocked(&mut admin, 1).await;
    assert_eq!(admin.call(&format!("CLIENT UNBLOCK {id}")).await, b":1\r\n");
    assert_eq!(waiter.reply().await, b"*-1\r\n");

    waiter.send_line("BLMOVE a b LEFT RIGHT 0").await;
    wait_blocked(&mut admin, 1).await;
    assert_eq!(
        admin.call(&format!("CLIENT UNBLOCK {id} ERROR")).await,
        b":1\r\n"
    );
    assert_eq!(
        waiter.reply().await,
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );

    // Not blocked any more: nothing to unblock, and the connection carries on.
    assert_eq!(admin.call(&format!("CLIENT UNBLOCK {id}")).await, b":0\r\n");
    assert_eq!(waiter.call("PING").await, b"+PONG\r\n");
    server.shutdown().await;
}

#[tokio::test]
async fn requests_behind_a_blocked_command_wait_for_it() {
    let server = server().await;
    let mut waiter = Conn::connect(server.addr()).await.unwrap();
    let mut pusher = Conn::connect(server.addr()).await.unwrap();
    waiter.send_line("BLPOP jobs 0\r\nPING").await;
    wait_blocked(&mut pusher, 1).await;
    assert!(waiter.silent_for(Duration::from_millis(100)).await);
    pusher.call("RPUSH jobs j1").await;
    assert_eq!(waiter.reply().await, b"*2\r\n$4\r\njobs\r\n$2\r\nj1\r\n");
    assert_eq!(waiter.reply().await, b"+PONG\r\n");
    server.shutdown().await;
}

#[tokio::test]
async fn client_list_flags_blocked_clients() {
    let server = server().await;
    let mut admin = Conn::connect(server.addr()).await.unwrap();
    let mut waiter = Conn::connect(server.addr()).await.unwrap();
    let id = client_id(&mut waiter).await;
    waiter.send_line("BZPOPMIN z 0").await;
    wait_blocked(&mut admin, 1).await;
    let list = admin.call(&format!("CLIENT LIST ID {id}")).await;
    let line = String::from_utf8_lossy(&list);
    assert!(line.contains(" flags=b "), "{line}");
    assert!(line.contains(" cmd=bzpopmin "), "{line}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_timeout_answers_with_a_null_array() {
    let server = server().await;
    let mut waiter = Conn::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    assert_eq!(waiter.call("BLPOP nothing 0.2").await, b"*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(190));
    // Redis answers every blocking timeout with a null array, BRPOPLPUSH's too.
    assert_eq!(waiter.call("BRPOPLPUSH nothing dest 0.1").await, b"*-1\r\n");
    server.shutdown().await;
}
