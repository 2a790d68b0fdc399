//! Raw-socket tests of what a case file cannot express: broken requests that close the
//! connection, requests that carry no command, pipelining, requests split over many writes, and
//! authentication. Every scenario runs against the real redis-server and against Understudy, and
//! Understudy's bytes must equal Redis's.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use client_tests::{encode_command, escape, mask_fields, Conn, Ending, Proto, RedisServer};

struct Servers {
    redis: RedisServer,
    ours: understudy::ServerHandle,
}

impl Servers {
    async fn start(password: Option<&str>) -> Servers {
        let redis = match password {
            Some(pw) => RedisServer::start(&["--requirepass", pw]),
            None => RedisServer::start(&[]),
        };
        let mut builder = understudy::Server::builder().port(0);
        if let Some(pw) = password {
            builder = builder.requirepass(pw);
        }
        let ours = builder.start().await.expect("start Understudy");
        Servers { redis, ours }
    }

    /// Runs the same scenario against both servers.
    async fn both<F, Fut, T>(&self, scenario: F) -> (T, T)
    where
        F: Fn(SocketAddr) -> Fut,
        Fut: Future<Output = T>,
    {
        tokio::join!(scenario(self.redis.addr()), scenario(self.ours.addr()))
    }
}

/// Collects every difference of a test, so that one run shows them all.
#[derive(Default)]
struct Diffs(Vec<String>);

impl Diffs {
    fn same(&mut self, what: &str, redis: &[u8], ours: &[u8]) {
        if redis != ours {
            self.0.push(format!(
                "{what}\n  redis-server: {}\n  understudy:   {}",
                escape(redis),
                escape(ours)
            ));
        }
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} difference(s) between redis-server and Understudy:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

async fn connect(addr: SocketAddr) -> Conn {
    Conn::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// Sends `request` (ignoring a failed write: the server may close before reading it all) and
/// returns everything the server sent until it closed the connection.
async fn until_close(addr: SocketAddr, request: Vec<u8>) -> (Vec<u8>, Ending) {
    let mut conn = connect(addr).await;
    let _ = conn.send(&request).await;
    conn.read_to_end().await
}

/// Sends `request` and reads `count` RESP2 replies, concatenated.
async fn replies(conn: &mut Conn, request: &[u8], count: usize) -> Vec<u8> {
    conn.send(request).await.expect("send a request");
    let mut out = Vec::new();
    for _ in 0..count {
        match conn.read_reply(Proto::Resp2).await {
            Ok(reply) => out.extend_from_slice(&reply),
            Err(e) => {
                out.extend_from_slice(e.to_string().as_bytes());
                break;
            }
        }
    }
    out
}

/// Checks a request that must be answered with `expected` and then a closed connection.
async fn closes_with(diffs: &mut Diffs, servers: &Servers, request: &[u8], expected: &str) {
    let (redis, ours) = servers
        .both(|addr| until_close(addr, request.to_vec()))
        .await;
    let what = format!("request {}", escape(&request[..request.len().min(40)]));
    diffs.same(&what, &redis.0, &ours.0);
    assert_eq!(
        escape(&redis.0),
        escape(expected.as_bytes()),
        "{what}: redis-server's reply"
    );
    // A server that closes with unread input resets the connection; either way it must close.
    assert_ne!(
        redis.1,
        Ending::StillOpen,
        "{what}: redis-server kept it open"
    );
    if ours.1 == Ending::StillOpen {
        diffs
            .0
            .push(format!("{what}: Understudy kept the connection open"));
    }
}

#[tokio::test]
async fn protocol_errors_close_the_connection() {
    let servers = Servers::start(None).await;
    let cases: &[(&[u8], &str)] = &[
        (
            b"*1\r\n:1\r\n",
            "-ERR Protocol error: expected '$', got ':'\r\n",
        ),
        (
            b"*2\r\n$4\r\nECHO\r\nx\r\n",
            "-ERR Protocol error: expected '$', got 'x'\r\n",
        ),
        (
            b"*abc\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*2x\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*2147483648\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$abc\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$-1\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$536870913\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"ECHO \"abc\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"ECHO 'abc\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"ECHO \"a\"b\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        // The replies before the broken request are still written.
        (
            b"PING\r\n*1\r\n:1\r\n",
            "+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n",
        ),
    ];
    let mut diffs = Diffs::default();
    for (request, expected) in cases {
        closes_with(&mut diffs, &servers, request, expected).await;
    }
    diffs.finish();
}

#[tokio::test]
async fn large_counts_within_the_limits_wait_for_more_input() {
    let servers = Servers::start(None).await;
    let mut diffs = Diffs::default();
    for request in [
        &b"*2147483647\r\n"[..],
        b"*1048577\r\n",
        b"*1\r\n$536870912\r\n",
    ] {
        let (redis, ours) = servers
            .both(|addr| async move {
                let mut conn = connect(addr).await;
                conn.send(request).await.expect("send a header");
                conn.read_for(Duration::from_millis(300)).await
            })
            .await;
        let what = format!("header {} (no reply, connection open)", escape(request));
        diffs.same(&what, &redis.0, &ours.0);
        assert_eq!(
            redis,
            (Vec::new(), Ending::StillOpen),
            "{what}: redis-server"
        );
        if ours.1 != Ending::StillOpen {
            diffs
                .0
                .push(format!("{what}: Understudy closed the connection"));
        }
    }
    diffs.finish();
}

#[tokio::test]
async fn oversized_lines_close_the_connection() {
    let servers = Servers::start(None).await;
    let mut diffs = Diffs::default();
    let inline = vec![b'a'; 70 * 1024];
    closes_with(
        &mut diffs,
        &servers,
        &inline,
        "-ERR Protocol error: too big inline request\r\n",
    )
    .await;
    let mut count = b"*".to_vec();
    count.extend(std::iter::repeat_n(b'1', 70 * 1024));
    closes_with(
        &mut diffs,
        &servers,
        &count,
        "-ERR Protocol error: too big mbulk count string\r\n",
    )
    .await;
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 70 * 1024));
    closes_with(
        &mut diffs,
        &servers,
        &bulk,
        "-ERR Protocol error: too big bulk count string\r\n",
    )
    .await;
    diffs.finish();
}

#[tokio::test]
async fn requests_without_a_command_are_ignored() {
    let servers = Servers::start(None).await;
    let (redis, ours) = servers
        .both(|addr| async move {
            let mut conn = connect(addr).await;
            let skipped = b"*-1\r\n*0\r\n\r\n\n   \r\n*-5\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
            replies(&mut conn, skipped, 2).await
        })
        .await;
    let mut diffs = Diffs::default();
    diffs.same("empty requests", &redis, &ours);
    diffs.finish();
    assert_eq!(redis, b"+PONG\r\n+PONG\r\n");
}

#[tokio::test]
async fn a_thousand_pipelined_commands_are_answered_in_order() {
    let servers = Servers::start(None).await;
    let mut request = Vec::new();
    for i in 0..1000 {
        let key = format!("key:{}", (i / 4) % 10);
        let command = match i % 4 {
            0 => encode_command(&["SET", &key, &i.to_string()]),
            1 => encode_command(&["GET", &key]),
            2 => format!("ECHO {i}\r\n").into_bytes(),
            _ => encode_command(&["EXISTS", &key, "key:none"]),
        };
        request.extend_from_slice(&command);
    }
    let (redis, ours) = servers
        .both(|addr| {
            let request = request.clone();
            async move {
                let mut conn = connect(addr).await;
                replies(&mut conn, &request, 1000).await
            }
        })
        .await;
    let mut diffs = Diffs::default();
    diffs.same("1000 pipelined commands", &redis, &ours);
    diffs.finish();
    assert!(redis.ends_with(b":1\r\n"), "the last reply is EXISTS's");
}

#[tokio::test]
async fn a_request_split_over_many_writes_is_reassembled() {
    let servers = Servers::start(None).await;
    let mut request = encode_command(&["SET", "split", "a value in pieces"]);
    request.extend_from_slice(b"GET split\r\n");
    request.extend_from_slice(&encode_command(&["ECHO", "\r\n$3\r\n"]));
    let (redis, ours) = servers
        .both(|addr| {
            let request = request.clone();
            async move {
                let mut conn = connect(addr).await;
                for piece in request.chunks(3) {
                    conn.send(piece).await.expect("send a piece");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                replies(&mut conn, b"", 3).await
            }
        })
        .await;
    let mut diffs = Diffs::default();
    diffs.same("split request", &redis, &ours);
    diffs.finish();
    assert_eq!(
        redis,
        b"+OK\r\n$17\r\na value in pieces\r\n$6\r\n\r\n$3\r\n\r\n"
    );
}

#[tokio::test]
async fn unauthenticated_clients_may_not_send_big_requests() {
    let servers = Servers::start(Some("s3cret")).await;
    let mut diffs = Diffs::default();
    closes_with(
        &mut diffs,
        &servers,
        b"*11\r\n",
        "-ERR Protocol error: unauthenticated multibulk length\r\n",
    )
    .await;
    closes_with(
        &mut diffs,
        &servers,
        b"*2\r\n$3\r\nGET\r\n$16385\r\n",
        "-ERR Protocol error: unauthenticated bulk length\r\n",
    )
    .await;
    // Within the limits a request is read, then refused.
    let (redis, ours) = servers
        .both(|addr| async move {
            let mut conn = connect(addr).await;
            let mut request = encode_command(&["GET", &"k".repeat(16384)]);
            request.extend_from_slice(&encode_command(&["ECHO"; 10]));
            replies(&mut conn, &request, 2).await
        })
        .await;
    diffs.same("requests at the unauthenticated limits", &redis, &ours);
    diffs.finish();
}

/// HELLO's reply with the fields that legitimately differ (server version, client id) masked.
fn masked_hello(reply: &[u8]) -> Vec<u8> {
    mask_fields(reply, Proto::Resp3, &["version", "id"]).unwrap_or_else(|_| reply.to_vec())
}

#[tokio::test]
async fn authentication_flows() {
    let servers = Servers::start(Some("s3cret")).await;
    let steps: &[&[&str]] = &[
        &["GET", "k"],
        &["SET", "k", "v"],
        &["PING"],
        &["SELECT", "1"],
        &["HELLO"],
        &["HELLO", "2"],
        &["HELLO", "3"],
        &["AUTH", "wrong"],
        &["AUTH", "default", "wrong"],
        &["AUTH", "nobody", "s3cret"],
        &["AUTH", "a", "b", "c"],
        &["HELLO", "3", "AUTH", "default", "wrong"],
        &["GET", "k"],
        &["AUTH", "s3cret"],
        &["SET", "k", "v"],
        &["GET", "k"],
        &["AUTH", "default", "s3cret"],
        &["AUTH", "wrong"],
        // A failed AUTH does not log an authenticated connection out.
        &["GET", "k"],
        &["RESET"],
        &["GET", "k"],
        &["AUTH", "default", "s3cret"],
        &["GET", "k"],
    ];
    let (redis, ours) = servers
        .both(|addr| async move {
            let mut conn = connect(addr).await;
            let mut transcript = Vec::new();
            for step in steps {
                let reply = replies(&mut conn, &encode_command(step), 1).await;
                transcript.push((step.join(" "), reply));
            }
            transcript
        })
        .await;
    let mut diffs = Diffs::default();
    for ((step, r), (_, u)) in redis.iter().zip(&ours) {
        diffs.same(step, r, u);
    }
    assert_eq!(redis[0].1, b"-NOAUTH Authentication required.\r\n");
    assert_eq!(
        redis[7].1,
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );

    // HELLO 3 with credentials authenticates and switches protocol in one step.
    let (redis, ours) = servers
        .both(|addr| async move {
            let mut conn = connect(addr).await;
            conn.send(&encode_command(&[
                "HELLO", "3", "AUTH", "default", "s3cret",
            ]))
            .await
            .expect("send HELLO");
            let hello = conn.read_reply(Proto::Resp3).await.expect("HELLO reply");
            conn.send(&encode_command(&["GET", "nokey"]))
                .await
                .expect("send GET");
            let get = conn.read_reply(Proto::Resp3).await.expect("GET reply");
            (masked_hello(&hello), get)
        })
        .await;
    diffs.same(
        "HELLO 3 AUTH default <pass> (version and id masked)",
        &redis.0,
        &ours.0,
    );
    diffs.same("GET after HELLO 3 AUTH", &redis.1, &ours.1);
    assert_eq!(redis.1, b"_\r\n");
    diffs.finish();
}

#[tokio::test]
async fn auth_without_a_configured_password() {
    let servers = Servers::start(None).await;
    let (redis, ours) = servers
        .both(|addr| async move {
            let mut conn = connect(addr).await;
            let mut out = replies(&mut conn, &encode_command(&["AUTH", "x"]), 1).await;
            out.extend(replies(&mut conn, &encode_command(&["AUTH", "default", "x"]), 1).await);
            out
        })
        .await;
    let mut diffs = Diffs::default();
    diffs.same("AUTH without requirepass", &redis, &ours);
    diffs.finish();
    assert_eq!(
        escape(&redis),
        escape(
            b"-ERR AUTH <password> called without any password configured for the default user. \
              Are you sure your configuration is correct?\r\n+OK\r\n"
        )
    );
}
