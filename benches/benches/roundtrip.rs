//! Whole requests through an in-process server over loopback: parse, lock, execute, encode, write.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` and reads until `reply_len` bytes came back.
async fn roundtrip(conn: &mut TcpStream, request: &[u8], reply: &mut [u8]) {
    conn.write_all(request).await.expect("write");
    let mut got = 0;
    while got < reply.len() {
        let n = conn.read(&mut reply[got..]).await.expect("read");
        assert!(n > 0, "server closed the connection");
        got += n;
    }
}

fn bench_roundtrip(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime
        .block_on(understudy::Server::builder().port(0).start())
        .expect("server starts");
    let mut conn = runtime
        .block_on(TcpStream::connect(server.addr()))
        .expect("connect");
    conn.set_nodelay(true).expect("nodelay");

    let mut group = c.benchmark_group("roundtrip");
    group.measurement_time(Duration::from_secs(3));
    let set = b"*3\r\n$3\r\nSET\r\n$7\r\nkey:001\r\n$16\r\nxxxxxxxxxxxxxxxx\r\n";
    let mut ok = vec![0u8; 5];
    group.throughput(Throughput::Elements(1));
    group.bench_function("set", |b| {
        b.iter(|| runtime.block_on(roundtrip(&mut conn, set, &mut ok)))
    });
    let pipelined = set.repeat(16);
    let mut oks = vec![0u8; 5 * 16];
    group.throughput(Throughput::Elements(16));
    group.bench_function("set_pipeline_16", |b| {
        b.iter(|| runtime.block_on(roundtrip(&mut conn, &pipelined, &mut oks)))
    });
    let get = b"*2\r\n$3\r\nGET\r\n$7\r\nkey:001\r\n";
    let mut value = vec![0u8; 23];
    group.throughput(Throughput::Elements(1));
    group.bench_function("get", |b| {
        b.iter(|| runtime.block_on(roundtrip(&mut conn, get, &mut value)))
    });
    group.finish();
    drop(conn);
    runtime.block_on(server.shutdown());
}

criterion_group!(benches, bench_roundtrip);
criterion_main!(benches);
