//! Pub/Sub across connections, each scenario played against a real redis-server and an
//! in-process Understudy: random subscribe / unsubscribe / publish sequences over RESP2 and RESP3
//! connections compared message for message; a subscriber that stops reading cut off while its
//! publisher goes on; MONITOR's lines; keyspace events from the active expiry cycle.

use std::net::SocketAddr;
use std::time::Duration;

use client_tests::{encode_command, escape, Conn, Ending, Proto, RedisServer};

async fn understudy() -> understudy::ServerHandle {
    understudy::Server::builder()
        .port(0)
        .start()
        .await
        .expect("start Understudy")
}

async fn send(conn: &mut Conn, args: &[&[u8]]) {
    conn.send(&encode_command(args)).await.expect("send");
}

async fn read(conn: &mut Conn, proto: Proto) -> Vec<u8> {
    match conn.read_reply(proto).await {
        Ok(reply) => reply,
        Err(e) => panic!("no reply: {e}"),
    }
}

/// xorshift64: the same random sequence on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// One element of a pushed frame or reply, reduced to what can be compared across servers.
/// Frames are compared as a multiset per round, because Redis walks hash tables for pattern
/// matches and for a bare UNSUBSCRIBE, so their order within one round is not defined; the
/// counts a bare UNSUBSCRIBE reports depend on that order too, so they are compared apart.
fn normalize(frames: &[Vec<u8>]) -> (Vec<String>, Vec<String>) {
    let mut shapes = Vec::new();
    let mut counts = Vec::new();
    for frame in frames {
        let text = escape(frame);
        let confirmation = ["unsubscribe", "punsubscribe", "sunsubscribe"]
            .iter()
            .any(|word| text.contains(&format!("\\r\\n${}\\r\\n{word}\\r\\n", word.len())));
        match (confirmation, text.rfind(":")) {
            (true, Some(at)) => {
                shapes.push(text[..at].to_string());
                counts.push(text[at..].to_string());
            }
            _ => shapes.push(text),
        }
    }
    shapes.sort();
    counts.sort();
    (shapes, counts)
}

struct Side {
    conns: Vec<(Conn, Proto)>,
}

impl Side {
    async fn open(addr: SocketAddr, protos: &[Proto]) -> Side {
        let mut conns = Vec::new();
        for &proto in protos {
            let mut conn = Conn::connect(addr).await.expect("connect");
            if proto == Proto::Resp3 {
                send(&mut conn, &[b"HELLO", b"3"]).await;
                read(&mut conn, Proto::Resp3).await;
            }
            conns.push((conn, proto));
        }
        Side { conns }
    }

    /// Sends `args` on connection `who`, then a PING with a marker on every connection, and
    /// collects what each one received up to its marker: messages are delivered before the
    /// replies of later commands, so everything a round published has arrived by then.
    async fn round(&mut self, who: usize, args: &[&[u8]], marker: &str) -> Vec<Vec<Vec<u8>>> {
        send(&mut self.conns[who].0, args).await;
        let mut received = Vec::new();
        for (conn, proto) in &mut self.conns {
            send(conn, &[b"PING", marker.as_bytes()]).await;
            let mut frames = Vec::new();
            loop {
                let frame = read(conn, *proto).await;
                let done = frame.ends_with(format!("{marker}\r\n").as_bytes());
                frames.push(frame);
                if done {
                    break;
                }
            }
            received.push(frames);
        }
        received
    }
}

#[tokio::test]
async fn random_subscriptions_and_publishes_match_redis() {
    let redis = RedisServer::start(&[]);
    let ours = understudy().await;
    let protos = [
        Proto::Resp2,
        Proto::Resp3,
        Proto::Resp2,
        Proto::Resp3,
        Proto::Resp2,
    ];
    let mut theirs_side = Side::open(redis.addr(), &protos).await;
    let mut ours_side = Side::open(ours.addr(), &protos).await;
    let channels = ["a", "b", "ab", "news:1", "news:2"];
    let patterns = ["a*", "?b", "*", "news:[12]", "n*s:?"];
    let shard_channels = ["s1", "s2"];
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut messages_compared = 0;
    for step in 0..1000 {
        let who = rng.below(protos.len());
        let payload = format!("payload-{step}\x00\r\n");
        let args: Vec<Vec<u8>> = match rng.below(12) {
            0 | 1 => vec!["SUBSCRIBE".into(), rng.pick(&channels).into()],
            2 => vec![
                "SUBSCRIBE".into(),
                rng.pick(&channels).into(),
                rng.pick(&channels).into(),
            ],
            3 => vec!["UNSUBSCRIBE".into(), rng.pick(&channels).into()],
            4 => vec!["UNSUBSCRIBE".into()],
            5 => vec!["PSUBSCRIBE".into(), rng.pick(&patterns).into()],
            6 => match rng.below(2) {
                0 => vec!["PUNSUBSCRIBE".into(), rng.pick(&patterns).into()],
                _ => vec!["PUNSUBSCRIBE".into()],
            },
            7 => vec!["SSUBSCRIBE".into(), rng.pick(&shard_channels).into()],
            8 => match rng.below(2) {
                0 => vec!["SUNSUBSCRIBE".into(), rng.pick(&shard_channels).into()],
                _ => vec!["SUNSUBSCRIBE".into()],
            },
            9 => vec![
                "SPUBLISH".into(),
                rng.pick(&shard_channels).into(),
                payload.into(),
            ],
            _ => vec!["PUBLISH".into(), rng.pick(&channels).into(), payload.into()],
        };
        let arg_refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let marker = format!("marker-{step}");
        let theirs = theirs_side.round(who, &arg_refs, &marker).await;
        let mine = ours_side.round(who, &arg_refs, &marker).await;
        messages_compared += theirs
            .iter()
            .flatten()
            .filter(|frame| escape(frame).contains("message\\r\\n"))
            .count();
        for (conn, (t, m)) in theirs.iter().zip(&mine).enumerate() {
            assert_eq!(
                normalize(t),
                normalize(m),
                "step {step}: connection {who} sent {:?}; what connection {conn} received differs",
                args.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
            );
        }
    }
    // The sequence reaches the cases that matter: messages and pattern messages were compared.
    assert!(messages_compared > 300, "{messages_compared} messages");
    ours.shutdown().await;
}

/// A subscriber that never reads: the publisher's PUBLISHes go on answering, and the server
/// cuts the subscriber off once its output passes the pubsub class's hard limit.
async fn slow_subscriber_is_cut_off(addr: SocketAddr) {
    let mut publisher = Conn::connect(addr).await.expect("connect");
    publisher
        .expect(
            "CONFIG SET client-output-buffer-limit \"pubsub 262144 0 0\"\r\n",
            "+OK\r\n",
        )
        .await;
    let mut subscriber = Conn::connect(addr).await.expect("connect");
    subscriber
        .expect(
            "SUBSCRIBE firehose\r\n",
            "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n",
        )
        .await;
    let payload = vec![b'x'; 4096];
    let mut cut_off_after = None;
    for i in 0..20_000 {
        send(&mut publisher, &[b"PUBLISH", b"firehose", &payload]).await;
        let reply = read(&mut publisher, Proto::Resp2).await;
        if reply == b":0\r\n" {
            cut_off_after = Some(i);
            break;
        }
        assert_eq!(reply, b":1\r\n", "PUBLISH {i}");
    }
    let cut_off_after = cut_off_after.expect("the subscriber was never cut off");
    // Far less than everything published was held for it: the limit, plus socket buffers.
    assert!(cut_off_after > 10, "cut off after {cut_off_after} messages");
    publisher
        .expect(
            "PUBSUB NUMSUB firehose\r\n",
            "*2\r\n$8\r\nfirehose\r\n:0\r\n",
        )
        .await;
    // The subscriber's connection ends after whatever had been written to it.
    let (_, ending) = subscriber.read_to_end().await;
    assert_ne!(
        ending,
        Ending::StillOpen,
        "the subscriber's connection stays open"
    );
}

#[tokio::test]
async fn a_slow_subscriber_is_cut_off_as_in_redis() {
    let redis = RedisServer::start(&[]);
    slow_subscriber_is_cut_off(redis.addr()).await;
    let ours = understudy().await;
    slow_subscriber_is_cut_off(ours.addr()).await;
    ours.shutdown().await;
}

/// MONITOR's lines with the timestamp and client address masked (they differ by nature).
async fn monitor_lines(addr: SocketAddr) -> Vec<String> {
    let mut monitor = Conn::connect(addr).await.expect("connect");
    monitor.expect("MONITOR\r\n", "+OK\r\n").await;
    let mut client = Conn::connect(addr).await.expect("connect");
    let commands: &[&[&[u8]]] = &[
        &[b"SET", b"k", b"a \"quoted\"\n\x01\xff\\ value"],
        &[b"SELECT", b"3"],
        &[b"GET", b"k"],
        &[b"AUTH", b"user", b"secret"],
        &[
            b"HELLO", b"2", b"AUTH", b"default", b"secret", b"SETNAME", b"n",
        ],
        &[b"MULTI"],
        &[b"INCR", b"n"],
        &[b"EXEC"],
        &[b"CONFIG", b"GET", b"port"],
        &[b"EVAL", b"redis.call('set', KEYS[1], ARGV[1]); return redis.call('get', KEYS[1])", b"1", b"k", b"from lua"],
        &[b"EVALSHA", b"0123456789012345678901234567890123456789", b"0"],
        &[b"FUNCTION", b"LOAD", b"#!lua name=lib\nredis.register_function('f', function(k, a) return redis.call('incr', k[1]) end)"],
        &[b"FCALL", b"f", b"1", b"n"],
        &[b"FCALL", b"nosuch", b"0"],
        &[b"NOSUCHCOMMAND"],
        &[b"GET"],
        &[b"SELECT", b"0"],
    ];
    for args in commands {
        send(&mut client, args).await;
        read(&mut client, Proto::Resp2).await;
    }
    send(&mut monitor, &[b"PING"]).await;
    let (raw, _) = monitor.read_for(Duration::from_millis(300)).await;
    String::from_utf8_lossy(&raw)
        .split("\r\n")
        .map(|line| match (line.find(" ["), line.find("] ")) {
            (Some(open), Some(close)) if line.starts_with('+') && open < close => {
                let timestamp = &line[1..open];
                let (seconds, micros) = timestamp.split_once('.').expect("seconds.micros");
                assert!(
                    seconds.parse::<u64>().is_ok() && micros.len() == 6,
                    "{line}"
                );
                let db = line[open + 2..close].split(' ').next().unwrap_or_default();
                format!("+<time> [{db} <addr>] {}", &line[close + 2..])
            }
            _ => line.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn monitor_lines_match_redis() {
    let redis = RedisServer::start(&[]);
    let ours = understudy().await;
    let theirs = monitor_lines(redis.addr()).await;
    let mine = monitor_lines(ours.addr()).await;
    assert_eq!(mine, theirs);
    assert!(theirs.iter().any(|l| l.contains("\"(redacted)\"")));
    ours.shutdown().await;
}

#[tokio::test]
async fn the_active_expiry_cycle_announces_expired_keys() {
    let ours = understudy().await;
    let mut subscriber = Conn::connect(ours.addr()).await.expect("connect");
    let mut client = Conn::connect(ours.addr()).await.expect("connect");
    client
        .expect(
            "CONFIG SET notify-keyspace-events Ex\r\nSET session:1 v PX 500\r\n",
            "+OK\r\n+OK\r\n",
        )
        .await;
    subscriber
        .expect(
            "SUBSCRIBE __keyevent@0__:expired\r\n",
            "*3\r\n$9\r\nsubscribe\r\n$22\r\n__keyevent@0__:expired\r\n:1\r\n",
        )
        .await;
    // Nobody reads the key: only the active cycle can find it.
    ours.advance_time(Duration::from_secs(1));
    subscriber
        .expect(
            "",
            "*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$9\r\nsession:1\r\n",
        )
        .await;
    ours.shutdown().await;
}

/// The CLIENT LIST fields that describe a client's state (Bull and BullMQ parse them), for a
/// subscriber, a client inside MULTI and a monitor, as seen from another connection.
async fn client_states(addr: SocketAddr) -> Vec<String> {
    let mut subscriber = Conn::connect(addr).await.expect("connect");
    subscriber.expect("CLIENT SETNAME sub\r\n", "+OK\r\n").await;
    send(&mut subscriber, &[b"SUBSCRIBE", b"a", b"b"]).await;
    send(&mut subscriber, &[b"PSUBSCRIBE", b"p*"]).await;
    send(&mut subscriber, &[b"SSUBSCRIBE", b"s"]).await;
    for _ in 0..4 {
        read(&mut subscriber, Proto::Resp2).await;
    }
    let mut transaction = Conn::connect(addr).await.expect("connect");
    transaction
        .expect(
            "CLIENT SETNAME tx\r\nSELECT 2\r\nMULTI\r\nGET a\r\nSET b 1\r\n",
            "+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n",
        )
        .await;
    let mut monitor = Conn::connect(addr).await.expect("connect");
    monitor
        .expect("CLIENT SETNAME mon\r\nMONITOR\r\n", "+OK\r\n+OK\r\n")
        .await;
    let mut observer = Conn::connect(addr).await.expect("connect");
    send(&mut observer, &[b"CLIENT", b"LIST"]).await;
    let list = read(&mut observer, Proto::Resp2).await;
    let text = String::from_utf8_lossy(&list).into_owned();
    let wanted = [
        "name", "db", "flags", "sub", "psub", "ssub", "multi", "cmd", "qbuf", "omem",
    ];
    let mut states: Vec<String> = text
        .lines()
        .filter(|line| line.contains("name="))
        .map(|line| {
            line.split(' ')
                .filter(|field| wanted.iter().any(|w| field.starts_with(&format!("{w}="))))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    states.sort();
    states
}

#[tokio::test]
async fn client_list_shows_subscriptions_transactions_and_monitors_as_redis_does() {
    let redis = RedisServer::start(&[]);
    let ours = understudy().await;
    let theirs = client_states(redis.addr()).await;
    let mine = client_states(ours.addr()).await;
    assert_eq!(mine, theirs);
    assert!(theirs
        .iter()
        .any(|s| s.contains("flags=P") && s.contains("sub=2 psub=1 ssub=1")));
    ours.shutdown().await;
}
