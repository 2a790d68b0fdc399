//! `maxmemory`: each scenario runs against a real redis-server and then an in-process Understudy.
//! The limit is set a few hundred KB above what each server already uses, so that both fill it
//! with the same writes; replies that depend on memory (when exactly the first OOM comes) are
//! compared by kind, everything else byte for byte.

use std::net::SocketAddr;

use client_tests::{encode_command, escape, Conn, RedisServer};

const OOM: &[u8] = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";

async fn understudy() -> understudy::ServerHandle {
    understudy::Server::builder().port(0).start().await.unwrap()
}

async fn call(conn: &mut Conn, args: &[&[u8]]) -> Vec<u8> {
    conn.send(&encode_command(args)).await.expect("send");
    conn.reply().await
}

async fn info_number(conn: &mut Conn, field: &str) -> u64 {
    let reply = conn.call("INFO").await;
    let text = String::from_utf8_lossy(&reply).to_string();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO has no {field}"))
        .trim()
        .parse()
        .unwrap()
}

/// Sets `maxmemory` to what the server uses now plus `headroom`, and the policy.
async fn limit(conn: &mut Conn, headroom: u64, policy: &str) -> u64 {
    let used = info_number(conn, "used_memory").await;
    let max = used + headroom;
    let set = format!("CONFIG SET maxmemory {max} maxmemory-policy {policy}");
    assert_eq!(conn.call(&set).await, b"+OK\r\n");
    max
}

/// Writes 1 KB values to `key:0`, `key:1`... until one is refused; returns how many went in
/// and the refusal.
async fn fill_until_refused(conn: &mut Conn) -> (usize, Vec<u8>) {
    let value = vec![b'x'; 1000];
    for i in 0..20_000 {
        let key = format!("key:{i}");
        let reply = call(conn, &[b"SET", key.as_bytes(), &value]).await;
        if reply != b"+OK\r\n" {
            return (i, reply);
        }
    }
    panic!("20 MB written past a limit of a few hundred KB");
}

/// What noeviction answers once the limit is reached, on one server.
async fn noeviction_replies(addr: SocketAddr) -> Vec<String> {
    let mut conn = Conn::connect(addr).await.unwrap();
    limit(&mut conn, 300_000, "noeviction").await;
    let (written, refusal) = fill_until_refused(&mut conn).await;
    assert!(written > 50, "only {written} keys fit");
    assert_eq!(escape(&refusal), escape(OOM));
    // Just past the limit, a reply buffer's worth of memory can tip either way between two
    // commands; far past it, every command below meets the same verdict on both servers.
    assert_eq!(conn.call("CONFIG SET maxmemory 1").await, b"+OK\r\n");
    let mut replies = vec![];
    for line in [
        // Reads and deletions still run; what could grow memory does not.
        "GET key:0",
        "STRLEN key:1",
        "SET another v",
        "LPUSH list a",
        "EXISTS another",
        // Inside MULTI even queueing is refused, and the transaction is discarded.
        "MULTI",
        "GET key:0",
        "SET in-multi v",
        "EXEC",
        // A script without flags fails at its first write; reads go through.
        "EVAL \"return redis.call('get','key:2')\" 0",
        "EVAL \"return redis.call('set','x','y')\" 0",
        "EVAL \"return redis.pcall('set','x','y')['err']\" 0",
        "EVAL \"#!lua\\nreturn 1\" 0",
        "EVAL \"#!lua flags=allow-oom\\nreturn redis.call('set','x','y')\" 0",
        "DEL key:0 key:1 key:2",
    ] {
        replies.push(escape(&conn.call(line).await));
    }
    replies.push(format!(
        "evicted_keys {}",
        info_number(&mut conn, "evicted_keys").await
    ));
    replies
}

#[tokio::test]
async fn noeviction_refuses_writes_that_grow_memory() {
    let redis = RedisServer::start(&[]);
    let expected = noeviction_replies(redis.addr()).await;
    let server = understudy().await;
    let got = noeviction_replies(server.addr()).await;
    assert_eq!(got, expected);
    server.shutdown().await;
}

/// Under a limit of 400 KB: writes 300 KB, waits past the LRU clock's one-second resolution,
/// reads `hot`, then writes 150 KB more, so that eviction always has plenty of older keys to
/// take (and samples 10 keys a round, so that it finds them). Returns the
/// keys left, whether `hot` is among them, the evictions, and used memory over the limit.
async fn lru_run(addr: SocketAddr) -> (u64, bool, u64, f64) {
    let mut conn = Conn::connect(addr).await.unwrap();
    let mut events = Conn::connect(addr).await.unwrap();
    assert_eq!(
        events.call("CONFIG SET notify-keyspace-events Ee").await,
        b"+OK\r\n"
    );
    events.send_line("SUBSCRIBE __keyevent@0__:evicted").await;
    events.reply().await;
    assert_eq!(conn.call("SET hot v").await, b"+OK\r\n");
    assert_eq!(
        conn.call("CONFIG SET maxmemory-samples 10").await,
        b"+OK\r\n"
    );
    let max = limit(&mut conn, 400_000, "allkeys-lru").await;
    let value = vec![b'x'; 1000];
    for i in 0..450 {
        if i == 300 {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            conn.call("GET hot").await;
        }
        let key = format!("key:{i}");
        let reply = call(&mut conn, &[b"SET", key.as_bytes(), &value]).await;
        assert_eq!(escape(&reply), escape(b"+OK\r\n"), "SET {key}");
    }
    let first_event = events.reply().await;
    assert!(
        escape(&first_event).contains("evicted"),
        "{}",
        escape(&first_event)
    );
    let keys = {
        let reply = conn.call("DBSIZE").await;
        String::from_utf8_lossy(&reply[1..]).trim().parse().unwrap()
    };
    let hot = conn.call("EXISTS hot").await == b":1\r\n";
    let evicted = info_number(&mut conn, "evicted_keys").await;
    let used = info_number(&mut conn, "used_memory").await;
    (keys, hot, evicted, used as f64 / max as f64)
}

#[tokio::test]
async fn allkeys_lru_keeps_memory_under_the_limit_and_the_hot_key() {
    let redis = RedisServer::start(&[]);
    let server = understudy().await;
    for (name, addr) in [("redis", redis.addr()), ("understudy", server.addr())] {
        let (keys, hot, evicted, over) = lru_run(addr).await;
        let addr = format!("{name} {keys} keys left, {evicted} evicted");
        assert!(hot, "{addr}: the key read all along was evicted");
        assert!(keys < 450 && keys > 50, "{addr}: {keys} keys left");
        // Every key that is gone was evicted (Redis counts a few more evictions than keys).
        assert!(keys + evicted >= 451, "{addr}");
        assert!(over < 1.05, "{addr}: used memory {over:.2} times the limit");
    }
    server.shutdown().await;
}

/// Under a volatile policy only keys with a deadline go; with none left, writes are refused.
async fn volatile_run(addr: SocketAddr) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut conn = Conn::connect(addr).await.unwrap();
    let value = vec![b'x'; 1000];
    for i in 0..100 {
        let key = format!("keep:{i}");
        call(&mut conn, &[b"SET", key.as_bytes(), &value]).await;
    }
    for i in 0..200 {
        let key = format!("temp:{i}");
        call(&mut conn, &[b"SET", key.as_bytes(), &value, b"EX", b"1000"]).await;
    }
    limit(&mut conn, 0, "volatile-ttl").await;
    let (_, refusal) = fill_until_refused(&mut conn).await;
    let keep = conn
        .call("EVAL \"return #redis.call('keys','keep:*')\" 0")
        .await;
    let temp = conn
        .call("EVAL \"return #redis.call('keys','temp:*')\" 0")
        .await;
    (refusal, keep, temp)
}

#[tokio::test]
async fn volatile_policies_evict_only_keys_with_a_deadline() {
    let redis = RedisServer::start(&[]);
    let server = understudy().await;
    for addr in [redis.addr(), server.addr()] {
        let (refusal, keep, temp) = volatile_run(addr).await;
        assert_eq!(escape(&refusal), escape(OOM), "{addr}");
        assert_eq!(keep, b":100\r\n", "{addr}: keys without a deadline stay");
        assert_eq!(temp, b":0\r\n", "{addr}: every key with a deadline went");
    }
    server.shutdown().await;
}
