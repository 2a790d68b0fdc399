//! The hot commands through the command layer alone (decode, lock, execute, encode), 16 to a
//! batch as `redis-benchmark -P 16` sends them, with no socket in between: a change to a
//! command's own cost shows here undiluted by the kernel's share of a round trip.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use understudy::{Config, InProcess};

const BATCH: usize = 16;

/// `BATCH` requests, taking turns through `requests` (a pair keeps a structure from growing
/// without end: what one pushes, the other pops).
fn batch(requests: &[&str]) -> Vec<u8> {
    requests
        .iter()
        .cycle()
        .take(BATCH)
        .flat_map(|line| format!("{line}\r\n").into_bytes())
        .collect()
}

fn bench_commands(c: &mut Criterion) {
    let cases: &[(&str, &[&str])] = &[
        ("ping", &["PING"]),
        ("set", &["SET key:000000000042 xxx"]),
        ("get", &["GET key:000000000042"]),
        ("incr", &["INCR counter:000000000042"]),
        ("lpush_rpop", &["LPUSH queue xxx", "RPOP queue"]),
        ("sadd_spop", &["SADD myset element:42", "SPOP myset"]),
        ("hset", &["HSET myhash element:42 xxx"]),
        ("zadd_zpopmin", &["ZADD myzset 42 element:42", "ZPOPMIN myzset"]),
        ("lrange_100", &["LRANGE biglist 0 99"]),
        (
            "mset_10",
            &["MSET k:1 xxx k:2 xxx k:3 xxx k:4 xxx k:5 xxx k:6 xxx k:7 xxx k:8 xxx k:9 xxx k:10 xxx"],
        ),
    ];
    let mut server = InProcess::new(Config::default());
    let fill: String = (0..100).map(|i| format!("RPUSH biglist {i}\r\n")).collect();
    server.run(fill.as_bytes());
    server.run(b"SET key:000000000042 xxx\r\n");

    let mut group = c.benchmark_group("commands");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, requests) in cases {
        let requests = batch(requests);
        let replies = server.run(&requests);
        assert!(
            !replies.is_empty() && !replies.windows(3).any(|w| w == b"\r\n-") && replies[0] != b'-',
            "{name}: {}",
            String::from_utf8_lossy(replies)
        );
        group.bench_function(*name, |b| {
            b.iter(|| black_box(server.run(black_box(&requests)).len()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_commands);
criterion_main!(benches);
