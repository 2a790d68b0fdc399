//! Sorted-set behaviour of Redis 7.2 that the 7.0.15 reference server cannot show: ZRANK and
//! ZREVRANK WITHSCORE, and the encoding ZADD picks from the size of its whole input.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends inline `request` lines and reads until exactly `expected` has arrived.
async fn call(conn: &mut TcpStream, request: &str, expected: &str) {
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut reply = vec![0u8; expected.len()];
    conn.read_exact(&mut reply).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&reply),
        expected,
        "reply to {request:?}"
    );
}

#[tokio::test]
async fn zrank_withscore_as_redis_7_2() {
    let server = understudy::Server::builder().port(0).start().await.unwrap();
    let mut conn = TcpStream::connect(server.addr()).await.unwrap();
    call(&mut conn, "ZADD z 1 a 2.5 b 3 c\r\n", ":3\r\n").await;
    call(
        &mut conn,
        "ZRANK z b WITHSCORE\r\n",
        "*2\r\n:1\r\n$3\r\n2.5\r\n",
    )
    .await;
    call(
        &mut conn,
        "ZREVRANK z b withscore\r\n",
        "*2\r\n:1\r\n$3\r\n2.5\r\n",
    )
    .await;
    call(&mut conn, "ZRANK z nope WITHSCORE\r\n", "*-1\r\n").await;
    call(&mut conn, "ZRANK missing a WITHSCORE\r\n", "*-1\r\n").await;
    call(&mut conn, "ZRANK missing a\r\n", "$-1\r\n").await;
    call(
        &mut conn,
        "ZRANK z b WITHSCORES\r\n",
        "-ERR syntax error\r\n",
    )
    .await;
    call(
        &mut conn,
        "ZRANK z b WITHSCORE extra\r\n",
        "-ERR wrong number of arguments for 'zrank' command\r\n",
    )
    .await;
    call(
        &mut conn,
        "SET s x\r\nZRANK s a WITHSCORE\r\n",
        "+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    conn.write_all(b"HELLO 3\r\n").await.unwrap();
    let mut hello = vec![0u8; 4096];
    let _ = conn.read(&mut hello).await.unwrap();
    call(
        &mut conn,
        "ZREVRANK z a WITHSCORE\r\n",
        "*2\r\n:2\r\n,1\r\n",
    )
    .await;
    call(&mut conn, "ZRANK z nope WITHSCORE\r\n", "_\r\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn zadd_encoding_follows_the_whole_input() {
    let server = understudy::Server::builder().port(0).start().await.unwrap();
    let mut conn = TcpStream::connect(server.addr()).await.unwrap();
    // 7.2 sizes a new sorted set from the number of pairs given, duplicates included.
    let pairs: String = (0..129).map(|i| format!(" {i} same")).collect();
    call(&mut conn, &format!("ZADD dup{pairs}\r\n"), ":1\r\n").await;
    call(&mut conn, "OBJECT ENCODING dup\r\n", "$8\r\nskiplist\r\n").await;
    // And converts an existing listpack that is about to receive more pairs than it may hold.
    call(&mut conn, "ZADD lp 1 a\r\n", ":1\r\n").await;
    call(&mut conn, &format!("ZADD lp{pairs}\r\n"), ":1\r\n").await;
    call(&mut conn, "OBJECT ENCODING lp\r\n", "$8\r\nskiplist\r\n").await;
    call(
        &mut conn,
        "ZADD small 1 a 2 b\r\nOBJECT ENCODING small\r\n",
        ":2\r\n$8\r\nlistpack\r\n",
    )
    .await;
    server.shutdown().await;
}
