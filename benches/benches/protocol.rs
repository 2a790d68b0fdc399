//! The hot path's pure parts: decoding pipelined requests and encoding replies.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use understudy::protocol::request::{Decoded, Limits, Request};
use understudy::protocol::{ReplyBuf, Resp};

const LIMITS: Limits = Limits {
    proto_max_bulk_len: 512 * 1024 * 1024,
    authenticated: true,
};

fn pipeline(commands: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..commands {
        let key = format!("key:{i:012}");
        buf.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$16\r\nxxxxxxxxxxxxxxxx\r\n",
                key.len()
            )
            .as_bytes(),
        );
    }
    buf
}

fn decode_all(buf: &[u8], request: &mut Request) -> usize {
    let mut pos = 0;
    let mut commands = 0;
    while let Decoded::Command(n) = request.decode(&buf[pos..], LIMITS) {
        commands += request.args(&buf[pos..]).len();
        pos += n;
    }
    commands
}

fn bench_decode(c: &mut Criterion) {
    let buf = pipeline(16);
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(16));
    group.bench_function("resp_set_pipeline_16", |b| {
        let mut request = Request::default();
        b.iter(|| decode_all(black_box(&buf), &mut request))
    });
    let inline = b"PING\r\n".repeat(16);
    group.bench_function("inline_ping_16", |b| {
        let mut request = Request::default();
        b.iter(|| decode_all(black_box(&inline), &mut request))
    });
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let value = vec![b'x'; 16];
    group.bench_function("bulk_16_bytes_x16", |b| {
        let mut out = ReplyBuf::new(Resp::V2);
        b.iter(|| {
            out.buf.clear();
            for _ in 0..16 {
                out.bulk(black_box(&value));
            }
            out.buf.len()
        })
    });
    group.bench_function("lrange_100_resp3", |b| {
        let mut out = ReplyBuf::new(Resp::V3);
        b.iter(|| {
            out.buf.clear();
            out.array(100);
            for i in 0..100 {
                out.bulk_int(black_box(i));
            }
            out.buf.len()
        })
    });
    group.bench_function("double", |b| {
        let mut out = ReplyBuf::new(Resp::V2);
        b.iter(|| {
            out.buf.clear();
            out.double(black_box(2.5e-3));
            out.buf.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode, bench_encode);
criterion_main!(benches);
