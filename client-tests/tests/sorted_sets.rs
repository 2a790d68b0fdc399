//! Sorted-set behaviour of Redis 7.2 that the 7.0.15 reference server cannot show: ZRANK and
//! ZREVRANK WITHSCORE, and the encoding ZADD picks from the size of its whole input.

use client_tests::{Conn, Proto};

#[tokio::test]
async fn zrank_withscore_as_redis_7_2() {
    let server = understudy::Server::builder().port(0).start().await.unwrap();
    let mut conn = Conn::connect(server.addr()).await.unwrap();
    conn.expect("ZADD z 1 a 2.5 b 3 c\r\n", ":3\r\n").await;
    conn.expect("ZRANK z b WITHSCORE\r\n", "*2\r\n:1\r\n$3\r\n2.5\r\n")
        .await;
    conn.expect("ZREVRANK z b withscore\r\n", "*2\r\n:1\r\n$3\r\n2.5\r\n")
        .await;
    conn.expect("ZRANK z nope WITHSCORE\r\n", "*-1\r\n").await;
    conn.expect("ZRANK missing a WITHSCORE\r\n", "*-1\r\n")
        .await;
    conn.expect("ZRANK missing a\r\n", "$-1\r\n").await;
    conn.expect("ZRANK z b WITHSCORES\r\n", "-ERR syntax error\r\n")
        .await;
    conn.expect(
        "ZRANK z b WITHSCORE extra\r\n",
        "-ERR wrong number of arguments for 'zrank' command\r\n",
    )
    .await;
    conn.expect(
        "SET s x\r\nZRANK s a WITHSCORE\r\n",
        "+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .await;
    conn.send_line("HELLO 3").await;
    conn.read_reply(Proto::Resp3).await.expect("HELLO's map");
    conn.expect("ZREVRANK z a WITHSCORE\r\n", "*2\r\n:2\r\n,1\r\n")
        .await;
    conn.expect("ZRANK z nope WITHSCORE\r\n", "_\r\n").await;
    server.shutdown().await;
}

#[tokio::test]
async fn zadd_encoding_follows_the_whole_input() {
    let server = understudy::Server::builder().port(0).start().await.unwrap();
    let mut conn = Conn::connect(server.addr()).await.unwrap();
    // 7.2 sizes a new sorted set from the number of pairs given, duplicates included.
    let pairs: String = (0..129).map(|i| format!(" {i} same")).collect();
    conn.expect(&format!("ZADD dup{pairs}\r\n"), ":1\r\n").await;
    conn.expect("OBJECT ENCODING dup\r\n", "$8\r\nskiplist\r\n")
        .await;
    // And converts an existing listpack that is about to receive more pairs than it may hold.
    conn.expect("ZADD lp 1 a\r\n", ":1\r\n").await;
    conn.expect(&format!("ZADD lp{pairs}\r\n"), ":1\r\n").await;
    conn.expect("OBJECT ENCODING lp\r\n", "$8\r\nskiplist\r\n")
        .await;
    conn.expect(
        "ZADD small 1 a 2 b\r\nOBJECT ENCODING small\r\n",
        ":2\r\n$8\r\nlistpack\r\n",
    )
    .await;
    server.shutdown().await;
}
