//! RDB files and DUMP payloads exchanged with a real redis-server (7.0): a file redis-server
//! saves loads into Understudy with the same data, a file Understudy saves loads into
//! redis-server, DUMP payloads RESTORE across the two, and a restarted Understudy finds its
//! data (SAVE, BGSAVE, SHUTDOWN SAVE).

use std::path::{Path, PathBuf};
use std::time::Duration;

use client_tests::{encode_command, sort_elements, Conn, Proto, RedisServer};

/// Commands that create every type in every encoding both servers share, with expiries and
/// more than one database.
fn fill_commands() -> Vec<Vec<Vec<u8>>> {
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let mut add = |words: &[&str]| cmds.push(words.iter().map(|w| w.to_string()).collect());
    add(&["SET", "str:embstr", "hello"]);
    add(&["SET", "str:int", "12345"]);
    add(&["SET", "str:negative", "-70000"]);
    add(&["SET", "str:bigint", "9223372036854775807"]);
    add(&["SET", "str:empty", ""]);
    add(&["SET", "str:zeros", "007"]);
    add(&["SET", "str:compressible", &"abc".repeat(200)]);
    add(&["SET", "str:ttl", "soon", "PX", "900000"]);
    add(&["APPEND", "str:raw", "appended"]);
    add(&[
        "RPUSH",
        "list:small",
        "a",
        "1",
        "-2",
        "300",
        "70000",
        "x".repeat(100).as_str(),
    ]);
    let long_items: Vec<String> = (0..3000).map(|i| format!("item-{i}")).collect();
    let mut rpush = vec!["RPUSH", "list:long"];
    rpush.extend(long_items.iter().map(String::as_str));
    add(&rpush);
    add(&["SADD", "set:ints", "1", "2", "3", "-40000", "5000000000"]);
    add(&["SADD", "set:words", "a", "b", "c"]);
    let many: Vec<String> = (0..700).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD", "set:big"];
    sadd.extend(many.iter().map(String::as_str));
    add(&sadd);
    add(&["HSET", "hash:small", "f1", "v1", "f2", "22", "f3", ""]);
    let mut hset = vec!["HSET", "hash:big"];
    for m in &many {
        hset.push(m);
        hset.push("value");
    }
    add(&hset);
    add(&["HSET", "hash:longvalue", "f", &"v".repeat(100)]);
    add(&[
        "ZADD",
        "zset:small",
        "1",
        "a",
        "2.5",
        "b",
        "-3",
        "c",
        "inf",
        "d",
        "1e300",
        "e",
    ]);
    let mut zadd = vec!["ZADD".to_string(), "zset:big".to_string()];
    for i in 0..300 {
        zadd.push(format!("{}", i as f64 / 7.0));
        zadd.push(format!("member{i}"));
    }
    let zadd_refs: Vec<&str> = zadd.iter().map(String::as_str).collect();
    add(&zadd_refs);
    for i in 1..=250 {
        let id = format!("{i}-1");
        if i % 10 == 0 {
            add(&["XADD", "stream", &id, "other", "x", "more", "y"]);
        } else {
            add(&["XADD", "stream", &id, "field", &i.to_string()]);
        }
    }
    add(&["XDEL", "stream", "5-1", "120-1"]);
    add(&["XGROUP", "CREATE", "stream", "readers", "0"]);
    add(&["XGROUP", "CREATE", "stream", "idle", "$"]);
    add(&[
        "XREADGROUP",
        "GROUP",
        "readers",
        "alice",
        "COUNT",
        "3",
        "STREAMS",
        "stream",
        ">",
    ]);
    add(&[
        "XREADGROUP",
        "GROUP",
        "readers",
        "bob",
        "COUNT",
        "2",
        "STREAMS",
        "stream",
        ">",
    ]);
    add(&["XACK", "stream", "readers", "2-1"]);
    add(&["XGROUP", "CREATECONSUMER", "stream", "readers", "carol"]);
    add(&["XADD", "stream:empty", "1-1", "f", "v"]);
    add(&["XDEL", "stream:empty", "1-1"]);
    add(&["SELECT", "5"]);
    add(&["SET", "in:db5", "five"]);
    add(&["RPUSH", "list:db5", "x"]);
    add(&["SELECT", "0"]);
    // A function library travels in the file too (RDB_OPCODE_FUNCTION2).
    add(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=counters\nredis.register_function('bump', function(keys, args) \
         return redis.call('INCRBY', keys[1], args[1]) end)",
    ]);
    cmds.into_iter()
        .map(|c| c.into_iter().map(String::into_bytes).collect())
        .collect()
}

async fn call(conn: &mut Conn, args: &[&[u8]]) -> Vec<u8> {
    conn.send(&encode_command(args)).await.expect("send");
    conn.reply().await
}

async fn fill(conn: &mut Conn) {
    for cmd in fill_commands() {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        let reply = call(conn, &args).await;
        assert_ne!(
            reply.first(),
            Some(&b'-'),
            "{:?}",
            String::from_utf8_lossy(&reply)
        );
    }
}

fn bulk_body(reply: &[u8]) -> Vec<u8> {
    let header_end = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a header")
        + 2;
    reply[header_end..reply.len() - 2].to_vec()
}

/// Every key of databases 0 and 5 with its type and contents, read through commands, in a
/// form two servers holding the same data answer identically.
async fn contents(conn: &mut Conn) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for db in ["0", "5"] {
        call(conn, &[b"SELECT", db.as_bytes()]).await;
        let keys = sort_elements(&call(conn, &[b"KEYS", b"*"]).await, Proto::Resp2).unwrap();
        let names: Vec<Vec<u8>> = String::from_utf8_lossy(&keys)
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.starts_with('$') && !l.is_empty())
            .map(|l| l.as_bytes().to_vec())
            .collect();
        for key in names {
            let kind = call(conn, &[b"TYPE", &key]).await;
            let reads: Vec<Vec<&[u8]>> = match &kind[..] {
                b"+string\r\n" => vec![vec![b"GET"]],
                b"+list\r\n" => vec![vec![b"LRANGE", b"0", b"-1"]],
                b"+set\r\n" => vec![vec![b"SMEMBERS"]],
                b"+hash\r\n" => vec![vec![b"HGETALL"]],
                b"+zset\r\n" => vec![vec![b"ZRANGE", b"0", b"-1", b"WITHSCORES"]],
                b"+stream\r\n" => vec![
                    vec![b"XRANGE", b"-", b"+"],
                    vec![b"XINFO", b"GROUPS"],
                    vec![b"XPENDING", b"readers"],
                    vec![b"XLEN"],
                ],
                other => panic!("unexpected type {:?}", String::from_utf8_lossy(other)),
            };
            let mut text = String::from_utf8_lossy(&kind).into_owned();
            for read in reads {
                let mut args = vec![read[0], &key[..]];
                args.extend_from_slice(&read[1..]);
                let mut reply = call(conn, &args).await;
                if matches!(read[0], b"SMEMBERS" | b"HGETALL") {
                    reply = sort_elements(&reply, Proto::Resp2).unwrap();
                }
                text.push_str(&String::from_utf8_lossy(&reply));
            }
            if kind == b"+stream\r\n" {
                // XINFO STREAM less what only 7.2 reports (consumers' active-time).
                let info = call(conn, &[b"XINFO", b"STREAM", &key]).await;
                text.push_str(&String::from_utf8_lossy(&info));
            }
            let ttl = call(conn, &[b"PTTL", &key]).await;
            let ttl: i64 = String::from_utf8_lossy(&ttl[1..ttl.len() - 2])
                .parse()
                .unwrap();
            // Both deadlines are the same instant; the two reads are a moment apart.
            text.push_str(&format!(
                " ttl:{}",
                if ttl > 0 { ttl / 10_000 } else { ttl }
            ));
            out.push((format!("{db}/{}", String::from_utf8_lossy(&key)), text));
        }
    }
    call(conn, &[b"SELECT", b"0"]).await;
    let functions = call(conn, &[b"FUNCTION", b"LIST", b"WITHCODE"]).await;
    out.push((
        "functions".into(),
        String::from_utf8_lossy(&functions).into_owned(),
    ));
    out
}

/// OBJECT ENCODING of every key both servers encode alike: lists (quicklist in 7.0,
/// listpack in 7.2 when small) and non-integer small sets (hashtable in 7.0, listpack in 7.2)
/// differ by version, not by file.
async fn encodings(conn: &mut Conn) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for key in [
        "str:embstr",
        "str:int",
        "str:compressible",
        "set:ints",
        "set:big",
        "hash:small",
        "hash:big",
        "hash:longvalue",
        "zset:small",
        "zset:big",
        "stream",
    ] {
        let enc = call(conn, &[b"OBJECT", b"ENCODING", key.as_bytes()]).await;
        out.push((key.to_string(), enc));
    }
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("understudy-rdb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

async fn understudy_in(dir: &Path) -> understudy::ServerHandle {
    understudy::Server::builder()
        .port(0)
        .config("dir", dir.to_str().unwrap())
        .start()
        .await
        .expect("understudy starts")
}

#[tokio::test]
async fn a_file_redis_saves_loads_into_understudy() {
    let redis = RedisServer::start(&[]);
    let mut r = Conn::connect(redis.addr()).await.unwrap();
    fill(&mut r).await;
    assert_eq!(call(&mut r, &[b"SAVE"]).await, b"+OK\r\n");
    let expected = contents(&mut r).await;
    let expected_encodings = encodings(&mut r).await;

    let server = understudy_in(redis.dir()).await;
    let mut u = Conn::connect(server.addr()).await.unwrap();
    let got = contents(&mut u).await;
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e);
    }
    assert_eq!(encodings(&mut u).await, expected_encodings);
    server.shutdown().await;
}

#[tokio::test]
async fn a_file_understudy_saves_loads_into_redis() {
    let dir = temp_dir("to-redis");
    let server = understudy_in(&dir).await;
    let mut u = Conn::connect(server.addr()).await.unwrap();
    fill(&mut u).await;
    assert_eq!(call(&mut u, &[b"SAVE"]).await, b"+OK\r\n");
    let expected = contents(&mut u).await;
    let expected_encodings = encodings(&mut u).await;
    server.shutdown().await;

    let redis = RedisServer::start(&["--dir", dir.to_str().unwrap()]);
    let mut r = Conn::connect(redis.addr()).await.unwrap();
    let got = contents(&mut r).await;
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e);
    }
    assert_eq!(encodings(&mut r).await, expected_encodings);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn dump_payloads_restore_across_servers() {
    let redis = RedisServer::start(&[]);
    let mut r = Conn::connect(redis.addr()).await.unwrap();
    let server = understudy::Server::builder().port(0).start().await.unwrap();
    let mut u = Conn::connect(server.addr()).await.unwrap();
    fill(&mut r).await;
    fill(&mut u).await;
    let keys: Vec<String> = contents(&mut r)
        .await
        .into_iter()
        .filter_map(|(k, _)| k.strip_prefix("0/").map(str::to_string))
        .collect();
    for key in &keys {
        let key = key.as_bytes();
        let from_redis = bulk_body(&call(&mut r, &[b"DUMP", key]).await);
        let from_understudy = bulk_body(&call(&mut u, &[b"DUMP", key]).await);
        let mut copy = b"copy:".to_vec();
        copy.extend_from_slice(key);
        let ok = call(&mut u, &[b"RESTORE", &copy, b"0", &from_redis]).await;
        assert_eq!(ok, b"+OK\r\n", "{}", String::from_utf8_lossy(key));
        let ok = call(&mut r, &[b"RESTORE", &copy, b"0", &from_understudy]).await;
        assert_eq!(ok, b"+OK\r\n", "{}", String::from_utf8_lossy(key));
        for conn in [&mut r, &mut u] {
            let a = call(conn, &[b"DUMP", key]).await;
            let b = call(conn, &[b"DUMP", &copy]).await;
            let (a, b) = (bulk_body(&a), bulk_body(&b));
            // The copy holds the same data: its own DUMP restores to an equal value.
            let kind_a = call(conn, &[b"TYPE", key]).await;
            let kind_b = call(conn, &[b"TYPE", &copy]).await;
            assert_eq!(kind_a, kind_b);
            if kind_a == b"+string\r\n" {
                assert!(a == b, "{}", String::from_utf8_lossy(key));
            }
        }
    }
    let all_redis = contents(&mut r).await;
    let all_understudy = contents(&mut u).await;
    assert_eq!(all_redis, all_understudy);
    server.shutdown().await;
}

async fn wait_for_bgsave(conn: &mut Conn) {
    for _ in 0..200 {
        let info = call(conn, &[b"INFO", b"persistence"]).await;
        if String::from_utf8_lossy(&info).contains("rdb_bgsave_in_progress:0") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("BGSAVE did not finish");
}

#[tokio::test]
async fn a_restarted_server_finds_its_data() {
    let dir = temp_dir("restart");
    let server = understudy_in(&dir).await;
    let mut u = Conn::connect(server.addr()).await.unwrap();
    fill(&mut u).await;
    let before = contents(&mut u).await;
    assert_eq!(
        call(&mut u, &[b"BGSAVE"]).await,
        b"+Background saving started\r\n"
    );
    wait_for_bgsave(&mut u).await;
    let info =
        String::from_utf8_lossy(&call(&mut u, &[b"INFO", b"persistence"]).await).into_owned();
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
    server.shutdown().await;

    let server = understudy_in(&dir).await;
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(contents(&mut u).await, before);
    // SHUTDOWN SAVE writes the final snapshot even without save rules.
    call(&mut u, &[b"SET", b"late", b"write"]).await;
    u.send(&encode_command(&[&b"SHUTDOWN"[..], b"SAVE"]))
        .await
        .unwrap();
    let _ = u.read_reply(Proto::Resp2).await;
    server.shutdown().await;

    let server = understudy_in(&dir).await;
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(call(&mut u, &[b"GET", b"late"]).await, b"$5\r\nwrite\r\n");
    u.send(&encode_command(&[&b"SHUTDOWN"[..], b"NOSAVE"]))
        .await
        .unwrap();
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_corrupt_file_stops_the_start() {
    let dir = temp_dir("corrupt");
    std::fs::write(dir.join("dump.rdb"), b"REDIS0010\xfa\x03abc").unwrap();
    let started = understudy::Server::builder()
        .port(0)
        .config("dir", dir.to_str().unwrap())
        .start()
        .await;
    assert!(started.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_failed_background_save_stops_writes_until_one_succeeds() {
    let dir = temp_dir("misconf");
    let server = understudy::Server::builder()
        .port(0)
        .config("dir", dir.to_str().unwrap())
        .config("save", "3600 1")
        .start()
        .await
        .unwrap();
    let mut u = Conn::connect(server.addr()).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    call(&mut u, &[b"SET", b"k", b"v"]).await;
    assert_eq!(
        call(&mut u, &[b"BGSAVE"]).await,
        b"+Background saving started\r\n"
    );
    wait_for_bgsave(&mut u).await;
    let info =
        String::from_utf8_lossy(&call(&mut u, &[b"INFO", b"persistence"]).await).into_owned();
    assert!(info.contains("rdb_last_bgsave_status:err"), "{info}");
    let refused = call(&mut u, &[b"SET", b"k", b"w"]).await;
    assert!(refused.starts_with(b"-MISCONF "), "{refused:?}");
    assert!(call(&mut u, &[b"PING"]).await.starts_with(b"-MISCONF "));
    assert_eq!(call(&mut u, &[b"GET", b"k"]).await, b"$1\r\nv\r\n");
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(
        call(&mut u, &[b"BGSAVE"]).await,
        b"+Background saving started\r\n"
    );
    wait_for_bgsave(&mut u).await;
    assert_eq!(call(&mut u, &[b"SET", b"k", b"w"]).await, b"+OK\r\n");
    assert!(dir.join("dump.rdb").exists());
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// An RDB file of `count` string keys, written by hand in the format (no checksum: a stored
/// CRC of 0 tells the loader not to verify).
fn big_rdb(count: usize) -> Vec<u8> {
    let mut file = b"REDIS0010\xfe\x00".to_vec();
    for i in 0..count {
        let key = format!("key:{i:08}");
        file.push(0);
        file.push(key.len() as u8);
        file.extend_from_slice(key.as_bytes());
        file.extend_from_slice(b"\x05value");
    }
    file.push(0xff);
    file.extend_from_slice(&[0; 8]);
    file
}

#[tokio::test]
async fn clients_get_loading_errors_until_the_file_is_in() {
    let dir = temp_dir("loading");
    std::fs::write(dir.join("dump.rdb"), big_rdb(1_000_000)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let builder = understudy::Server::builder()
        .port(port)
        .config("dir", dir.to_str().unwrap());
    let starting = tokio::spawn(builder.start());
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut conn = loop {
        if let Ok(conn) = Conn::connect(addr).await {
            break conn;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(
        call(&mut conn, &[b"GET", b"key:00000001"]).await,
        b"-LOADING Redis is loading the dataset in memory\r\n"
    );
    let info =
        String::from_utf8_lossy(&call(&mut conn, &[b"INFO", b"persistence"]).await).into_owned();
    assert!(info.contains("loading:1"), "{info}");
    let server = starting.await.unwrap().unwrap();
    assert_eq!(
        call(&mut conn, &[b"GET", b"key:00000001"]).await,
        b"$5\r\nvalue\r\n"
    );
    assert_eq!(call(&mut conn, &[b"DBSIZE"]).await, b":1000000\r\n");
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
