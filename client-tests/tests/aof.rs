//! The append-only file: a restarted server replays it to the same data (expiries, scripts,
//! transactions, random and time-dependent commands included), a cut tail is repaired, garbage
//! in the middle stops the start without touching the file, a rewrite while writes go on loses
//! none of them, and real redis-server 7 loads the directory Understudy wrote.

use std::path::{Path, PathBuf};
use std::time::Duration;

use client_tests::{encode_command, sort_elements, Conn, Proto, RedisServer};

async fn call(conn: &mut Conn, args: &[&[u8]]) -> Vec<u8> {
    conn.send(&encode_command(args)).await.expect("send");
    conn.reply().await
}

async fn words(conn: &mut Conn, line: &str) -> Vec<u8> {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    call(conn, &args).await
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("understudy-aof-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

async fn start(dir: &Path) -> std::io::Result<understudy::ServerHandle> {
    understudy::Server::builder()
        .port(0)
        .config("dir", dir.to_str().unwrap())
        .config("appendonly", "yes")
        .config("appendfsync", "always")
        .start()
        .await
}

/// Every key of databases 0 and 2 with its type, contents and absolute deadline.
async fn contents(conn: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    for db in ["0", "2"] {
        call(conn, &[b"SELECT", db.as_bytes()]).await;
        let keys = sort_elements(&call(conn, &[b"KEYS", b"*"]).await, Proto::Resp2).unwrap();
        let names: Vec<String> = String::from_utf8_lossy(&keys)
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.starts_with('$') && !l.is_empty())
            .map(str::to_string)
            .collect();
        for key in names {
            let k = key.as_bytes();
            let kind = call(conn, &[b"TYPE", k]).await;
            let read = match &kind[..] {
                b"+string\r\n" => call(conn, &[b"GET", k]).await,
                b"+list\r\n" => call(conn, &[b"LRANGE", k, b"0", b"-1"]).await,
                b"+set\r\n" => {
                    sort_elements(&call(conn, &[b"SMEMBERS", k]).await, Proto::Resp2).unwrap()
                }
                b"+hash\r\n" => call(conn, &[b"HGETALL", k]).await,
                b"+zset\r\n" => call(conn, &[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]).await,
                _ => call(conn, &[b"XRANGE", k, b"-", b"+"]).await,
            };
            let deadline = call(conn, &[b"PEXPIRETIME", k]).await;
            out.push(format!(
                "{db} {key} {} {} {}",
                String::from_utf8_lossy(&kind),
                String::from_utf8_lossy(&read),
                String::from_utf8_lossy(&deadline)
            ));
        }
    }
    out
}

const WRITES: &[&str] = &[
    "SET plain v",
    "SET ex v EX 1000",
    "SETEX setex 500 v",
    "PSETEX psetex 500000 v",
    "SET later v",
    "EXPIRE later 700",
    "SET gone v",
    "PEXPIRE gone 1",
    "SET getex v",
    "GETEX getex EX 900",
    "SET float 1.1",
    "INCRBYFLOAT float 2.2",
    "SADD pool a b c d e f g h",
    "SPOP pool",
    "SPOP pool 3",
    "RPUSH list a b c",
    "LPOP list",
    "XADD stream * f 1",
    "XADD stream MAXLEN ~ 1 * f 2",
    "HSET hash f v g w",
    "ZADD zset 1 a 2 b",
    "SELECT 2",
    "INCR counter",
    "SET other-db v PX 800000",
    "SELECT 0",
    "MULTI",
    "INCR tx",
    "SELECT 2",
    "INCR tx",
    "EXEC",
    "SELECT 0",
    "EVAL redis.call('set','lua1','x');redis.call('sadd','luaset',tostring(math.random())) 0",
    "FLUSHDB ASYNC",
    "SET after-flush v",
];

#[tokio::test]
async fn a_restarted_server_replays_its_writes_to_the_same_data() {
    let dir = temp_dir("replay");
    let server = start(&dir).await.expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    // The writes before the FLUSHDB must replay too, for the flush to find the same keys.
    for line in WRITES {
        let reply = words(&mut u, line).await;
        assert_ne!(reply.first(), Some(&b'-'), "{line}: {reply:?}");
    }
    for line in &WRITES[..WRITES.len() - 2] {
        words(&mut u, line).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before = contents(&mut u).await;
    assert!(!before.iter().any(|k| k.contains(" gone ")), "{before:?}");
    assert!(before.iter().any(|k| k.contains(" luaset ")), "{before:?}");
    server.shutdown().await;

    let server = start(&dir).await.expect("restarts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(contents(&mut u).await, before);
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn incr_file(dir: &Path) -> PathBuf {
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let last = manifest
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("an incremental file")
        .to_string();
    dir.join("appendonlydir").join(last)
}

#[tokio::test]
async fn a_cut_tail_is_dropped_and_the_rest_loads() {
    let dir = temp_dir("truncated");
    let server = start(&dir).await.expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    words(&mut u, "SET a 1").await;
    words(&mut u, "SET b 2").await;
    server.shutdown().await;
    let incr = incr_file(&dir);
    let whole = std::fs::metadata(&incr).unwrap().len();
    // A crash in the middle of a write, and in the middle of a transaction.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .unwrap();
    std::io::Write::write_all(&mut file, b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1").unwrap();
    drop(file);

    let server = start(&dir).await.expect("starts despite the cut");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(
        words(&mut u, "MGET a b c").await,
        b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
    );
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), whole);
    words(&mut u, "SET c 3").await;
    server.shutdown().await;

    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .unwrap();
    std::io::Write::write_all(
        &mut file,
        b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nd\r\n$1\r\n4\r\n",
    )
    .unwrap();
    drop(file);
    let server = start(&dir)
        .await
        .expect("starts despite the open transaction");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(words(&mut u, "MGET c d").await, b"*2\r\n$1\r\n3\r\n$-1\r\n");
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn garbage_in_the_middle_stops_the_start_and_overwrites_nothing() {
    let dir = temp_dir("corrupt");
    let server = start(&dir).await.expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    words(&mut u, "SET a 1").await;
    server.shutdown().await;
    let incr = incr_file(&dir);
    let mut bytes = std::fs::read(&incr).unwrap();
    let offset = bytes.len();
    bytes.extend_from_slice(b"garbage\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
    std::fs::write(&incr, &bytes).unwrap();
    let manifest = std::fs::read(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();

    let error = start(&dir).await.err().expect("the start fails");
    let text = error.to_string();
    assert!(text.contains("appendonly.aof.1.incr.aof"), "{text}");
    assert!(text.contains(&format!("offset {offset}")), "{text}");
    assert_eq!(std::fs::read(&incr).unwrap(), bytes);
    assert_eq!(
        std::fs::read(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap(),
        manifest
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn wait_for_rewrite(conn: &mut Conn) {
    for _ in 0..400 {
        let info = call(conn, &[b"INFO", b"persistence"]).await;
        if String::from_utf8_lossy(&info).contains("aof_rewrite_in_progress:0") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the rewrite did not finish");
}

#[tokio::test]
async fn writes_during_a_rewrite_survive_it_and_the_restart() {
    let dir = temp_dir("rewrite");
    let server = start(&dir).await.expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    for i in 0..2000 {
        let key = format!("k{}", i % 50);
        call(&mut u, &[b"INCR", key.as_bytes()]).await;
    }
    assert_eq!(
        words(&mut u, "BGREWRITEAOF").await,
        b"+Background append only file rewriting started\r\n"
    );
    for i in 0..500 {
        let key = format!("k{}", i % 50);
        call(&mut u, &[b"INCR", key.as_bytes()]).await;
    }
    wait_for_rewrite(&mut u).await;
    let info = String::from_utf8_lossy(&words(&mut u, "INFO persistence").await).into_owned();
    assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
    assert!(info.contains("aof_rewrites:1"), "{info}");
    let files: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "appendonly.aof.2.base.rdb",
            "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"
        ]
    );
    words(&mut u, "INCR k0").await;
    let before = contents(&mut u).await;
    assert!(
        before.iter().any(|k| k.contains("$2\r\n51\r\n")),
        "{before:?}"
    );
    server.shutdown().await;

    let server = start(&dir).await.expect("restarts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(contents(&mut u).await, before);
    server.shutdown().await;

    // Redis 7 reads the same directory to the same data.
    let redis = RedisServer::start(&["--appendonly", "yes", "--dir", dir.to_str().unwrap()]);
    let mut r = Conn::connect(redis.addr()).await.unwrap();
    assert_eq!(contents(&mut r).await, before);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn turning_the_aof_on_at_run_time_starts_it_with_a_rewrite() {
    let dir = temp_dir("config-set");
    let server = understudy::Server::builder()
        .port(0)
        .config("dir", dir.to_str().unwrap())
        .start()
        .await
        .unwrap();
    let mut u = Conn::connect(server.addr()).await.unwrap();
    words(&mut u, "SET before on").await;
    assert_eq!(words(&mut u, "CONFIG SET appendonly yes").await, b"+OK\r\n");
    words(&mut u, "SET after on").await;
    wait_for_rewrite(&mut u).await;
    server.shutdown().await;

    let server = start(&dir).await.expect("restarts from the AOF");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(
        words(&mut u, "MGET before after").await,
        b"*2\r\n$2\r\non\r\n$2\r\non\r\n"
    );
    assert_eq!(words(&mut u, "CONFIG SET appendonly no").await, b"+OK\r\n");
    let info = String::from_utf8_lossy(&words(&mut u, "INFO persistence").await).into_owned();
    assert!(info.contains("aof_enabled:0"), "{info}");
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The files of `dir/appendonlydir` and the manifest's text, once the rewrite is done.
fn aof_files(dir: &Path) -> (Vec<String>, String) {
    let aof_dir = dir.join("appendonlydir");
    for _ in 0..200 {
        if let Ok(manifest) = std::fs::read_to_string(aof_dir.join("appendonly.aof.manifest")) {
            let mut names: Vec<String> = std::fs::read_dir(&aof_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            return (names, manifest);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("no AOF manifest appeared in {}", aof_dir.display());
}

#[tokio::test]
async fn bgrewriteaof_with_the_aof_off_writes_a_base_only_directory_as_redis_does() {
    let theirs_dir = temp_dir("offline-redis");
    let redis = RedisServer::start(&["--dir", theirs_dir.to_str().unwrap()]);
    let mut r = Conn::connect(redis.addr()).await.unwrap();
    let ours_dir = temp_dir("offline-ours");
    let server = understudy::Server::builder()
        .port(0)
        .config("dir", ours_dir.to_str().unwrap())
        .start()
        .await
        .expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    for conn in [&mut r, &mut u] {
        words(conn, "SET greeting hello").await;
        words(conn, "RPUSH queue a b c").await;
        assert_eq!(
            words(conn, "BGREWRITEAOF").await,
            b"+Background append only file rewriting started\r\n"
        );
    }
    let theirs = aof_files(&theirs_dir);
    let ours = aof_files(&ours_dir);
    assert_eq!(ours, theirs);
    assert_eq!(
        ours.1, "file appendonly.aof.1.base.rdb seq 1 type b\n",
        "{ours:?}"
    );
    let before = contents(&mut u).await;
    server.shutdown().await;
    drop(redis);

    // Started with the AOF on, each server loads the other's directory.
    let server = start(&theirs_dir).await.expect("loads Redis's directory");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(contents(&mut u).await, before);
    server.shutdown().await;
    let redis = RedisServer::start(&["--appendonly", "yes", "--dir", ours_dir.to_str().unwrap()]);
    let mut r = Conn::connect(redis.addr()).await.unwrap();
    assert_eq!(contents(&mut r).await, before);
    drop(redis);
    let _ = std::fs::remove_dir_all(&theirs_dir);
    let _ = std::fs::remove_dir_all(&ours_dir);
}

/// XPENDING's extended reply without the idle times (they depend on the clock of the moment).
fn pending_without_idle(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply).into_owned();
    let tokens: Vec<&str> = text.split("\r\n").collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        kept.push(tokens[i]);
        // An entry: *4, id ($ and text), consumer ($ and text), idle, count.
        if tokens[i] == "*4" && i + 6 < tokens.len() {
            kept.extend_from_slice(&tokens[i + 1..i + 5]);
            kept.push(tokens[i + 6]);
            i += 7;
            continue;
        }
        i += 1;
    }
    kept.join(" ")
}

async fn group_state(conn: &mut Conn) -> Vec<String> {
    vec![
        pending_without_idle(&words(conn, "XPENDING s g - + 100").await),
        String::from_utf8_lossy(&words(conn, "XPENDING s g").await).into_owned(),
        String::from_utf8_lossy(&words(conn, "XINFO GROUPS s").await).into_owned(),
        String::from_utf8_lossy(&words(conn, "XLEN s").await).into_owned(),
    ]
}

#[tokio::test]
async fn consumer_groups_replay_to_the_same_owners_whatever_the_clock() {
    let dir = temp_dir("groups");
    let server = start(&dir).await.expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    for line in [
        "XADD s 1-1 f v",
        "XADD s 2-1 f v",
        "XADD s 3-1 f v",
        "XADD s 4-1 f v",
        "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g alice COUNT 2 STREAMS s >",
    ] {
        words(&mut u, line).await;
    }
    // Alice's entries are a minute old when Bob reads his and Carol claims what is idle: a
    // replay that ran the commands again would find nothing idle and give Carol nothing.
    server.advance_time(Duration::from_secs(60));
    for line in [
        "XREADGROUP GROUP g bob STREAMS s >",
        "XAUTOCLAIM s g carol 30000 0",
        "XDEL s 4-1",
        "XCLAIM s g dave 0 4-1",
        "XREADGROUP GROUP g bob STREAMS s 0",
        "XREADGROUP GROUP g erin NOACK STREAMS s >",
    ] {
        let reply = words(&mut u, line).await;
        assert_ne!(reply.first(), Some(&b'-'), "{line}: {reply:?}");
    }
    let before = group_state(&mut u).await;
    assert!(before[0].contains("carol"), "{before:?}");
    assert!(!before[0].contains("alice"), "{before:?}");
    server.shutdown().await;

    let server = start(&dir).await.expect("restarts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(group_state(&mut u).await, before);
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn blocking_and_multi_key_pops_are_logged_as_the_plain_pops_they_were() {
    let dir = temp_dir("pops");
    let server = start(&dir).await.expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    let mut waiter = Conn::connect(server.addr()).await.unwrap();
    // A client blocked first, served by a later push.
    waiter
        .send(&encode_command(&[b"BLPOP".as_slice(), b"jobs", b"0"]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    for line in [
        "RPUSH jobs a b c d e f",
        "BRPOP jobs 1",
        "LMPOP 1 jobs LEFT COUNT 2",
        "BLMOVE jobs done RIGHT LEFT 1",
        "BRPOPLPUSH done jobs 1",
        "ZADD z 1 a 2 b 3 c 4 d",
        "BZPOPMIN z 1",
        "ZMPOP 1 z MAX COUNT 2",
    ] {
        let reply = words(&mut u, line).await;
        assert_ne!(reply.first(), Some(&b'-'), "{line}: {reply:?}");
    }
    assert_eq!(waiter.reply().await, b"*2\r\n$4\r\njobs\r\n$1\r\na\r\n");
    let before = contents(&mut u).await;
    server.shutdown().await;

    let log = String::from_utf8_lossy(&std::fs::read(incr_file(&dir)).unwrap()).into_owned();
    let commands: Vec<&str> = log
        .split("\r\n")
        .filter(|l| l.chars().all(|c| c.is_ascii_uppercase()) && !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        [
            "SELECT",
            "RPUSH",
            "LPOP",
            "RPOP",
            "LPOP",
            "LMOVE",
            "RIGHT",
            "LEFT",
            "RPOPLPUSH",
            "ZADD",
            "ZPOPMIN",
            "ZPOPMAX"
        ],
        "{log}"
    );
    let server = start(&dir).await.expect("restarts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(contents(&mut u).await, before);
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn failed_rewrites_are_counted_until_one_succeeds() {
    let dir = temp_dir("rewrite-failure");
    let server = start(&dir).await.expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    words(&mut u, "SET k v").await;
    // A directory where the next base must go: the rewrite cannot install its file.
    let blocker = dir.join("appendonlydir/appendonly.aof.2.base.rdb");
    std::fs::create_dir_all(blocker.join("in-the-way")).unwrap();
    let info = |text: &[u8]| String::from_utf8_lossy(text).into_owned();
    for failures in 1..=2 {
        assert_eq!(
            words(&mut u, "BGREWRITEAOF").await,
            b"+Background append only file rewriting started\r\n"
        );
        wait_for_rewrite(&mut u).await;
        let persistence = info(&words(&mut u, "INFO persistence").await);
        assert!(
            persistence.contains("aof_last_bgrewrite_status:err"),
            "{persistence}"
        );
        assert!(
            persistence.contains(&format!("aof_rewrites_consecutive_failures:{failures}\r\n")),
            "{persistence}"
        );
    }
    std::fs::remove_dir_all(&blocker).unwrap();
    words(&mut u, "BGREWRITEAOF").await;
    wait_for_rewrite(&mut u).await;
    let persistence = info(&words(&mut u, "INFO persistence").await);
    assert!(
        persistence.contains("aof_last_bgrewrite_status:ok"),
        "{persistence}"
    );
    assert!(
        persistence.contains("aof_rewrites_consecutive_failures:0\r\n"),
        "{persistence}"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server whose AOF, turned on at run time under `fsync`, writes its first incremental file
/// to /dev/full: every write to it fails with ENOSPC.
#[cfg(target_os = "linux")]
async fn aof_on_a_full_disk(name: &str, fsync: &str) -> (understudy::ServerHandle, Conn, PathBuf) {
    let dir = temp_dir(name);
    let server = understudy::Server::builder()
        .port(0)
        .config("dir", dir.to_str().unwrap())
        .config("appendfsync", fsync)
        .start()
        .await
        .expect("starts");
    let mut u = Conn::connect(server.addr()).await.unwrap();
    std::fs::create_dir_all(dir.join("appendonlydir")).unwrap();
    std::os::unix::fs::symlink(
        "/dev/full",
        dir.join("appendonlydir/appendonly.aof.1.incr.aof"),
    )
    .unwrap();
    assert_eq!(words(&mut u, "CONFIG SET appendonly yes").await, b"+OK\r\n");
    wait_for_rewrite(&mut u).await;
    (server, u, dir)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn writes_are_refused_while_the_aof_cannot_be_written() {
    let (server, mut u, dir) = aof_on_a_full_disk("write-error", "everysec").await;
    // The first write is accepted: the log is written after its batch, and that fails.
    assert_eq!(words(&mut u, "SET a 1").await, b"+OK\r\n");
    let refused = b"-MISCONF Errors writing to the AOF file: No space left on device\r\n";
    assert_eq!(words(&mut u, "SET b 2").await, refused);
    assert_eq!(words(&mut u, "PING").await, refused);
    assert_eq!(words(&mut u, "GET a").await, b"$1\r\n1\r\n");
    let info = String::from_utf8_lossy(&words(&mut u, "INFO persistence").await).into_owned();
    assert!(info.contains("aof_last_write_status:err"), "{info}");
    // Without the AOF, writes go through again.
    assert_eq!(words(&mut u, "CONFIG SET appendonly no").await, b"+OK\r\n");
    assert_eq!(words(&mut u, "SET b 2").await, b"+OK\r\n");
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn under_always_a_write_that_cannot_be_logged_is_never_acknowledged() {
    let (server, mut u, dir) = aof_on_a_full_disk("always-error", "always").await;
    // The write's log cannot reach the disk: its client is closed without a reply.
    u.send(&encode_command(&[b"SET".as_slice(), b"a", b"1"]))
        .await
        .unwrap();
    let (reply, ending) = u.read_to_end().await;
    assert!(reply.is_empty(), "{:?}", String::from_utf8_lossy(&reply));
    assert_ne!(ending, client_tests::Ending::StillOpen);
    // Others still read; writes are refused until the AOF can be written.
    let mut other = Conn::connect(server.addr()).await.unwrap();
    assert_eq!(words(&mut other, "EXISTS nothing").await, b":0\r\n");
    assert_eq!(
        words(&mut other, "SET b 2").await,
        b"-MISCONF Errors writing to the AOF file: No space left on device\r\n"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
