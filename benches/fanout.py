#!/usr/bin/env python3
"""Pub/Sub fan-out side by side: 10 subscribers on one channel, one publisher sending 200,000
messages in pipelined batches; reports deliveries per second for redis-server and Understudy
and their ratio. Run after `cargo build --release -p understudy`."""
import socket
import threading
import time

import sidebyside

SUBSCRIBERS = 10
MESSAGES = 200_000
BATCH = 100
PAYLOAD = b"x" * 32


def publish_command(i):
    body = PAYLOAD + str(i).encode()
    return b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nfeed\r\n$%d\r\n%s\r\n" % (len(body), body)


def subscriber(port, ready, done, counts, index):
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(b"SUBSCRIBE feed\r\n")
    seen = 0
    data = b""
    while b"\r\n:1\r\n" not in data:
        data += conn.recv(1 << 16)
    ready.release()
    # Each message frame starts with the same 7-byte marker.
    marker = b"$7\r\nmessage\r\n"
    carry = b""
    while seen < MESSAGES:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        buf = carry + chunk
        seen += buf.count(marker)
        carry = buf[-(len(marker) - 1):]
    counts[index] = seen
    done.release()
    conn.close()


def run(port):
    ready = threading.Semaphore(0)
    done = threading.Semaphore(0)
    counts = [0] * SUBSCRIBERS
    threads = [
        threading.Thread(target=subscriber, args=(port, ready, done, counts, i), daemon=True)
        for i in range(SUBSCRIBERS)
    ]
    for t in threads:
        t.start()
    for _ in threads:
        ready.acquire()
    publisher = socket.create_connection(("127.0.0.1", port))
    started = time.perf_counter()
    for first in range(0, MESSAGES, BATCH):
        publisher.sendall(b"".join(publish_command(i) for i in range(first, first + BATCH)))
        replies = b""
        while replies.count(b"\r\n") < BATCH:
            replies += publisher.recv(1 << 16)
    for _ in threads:
        done.acquire()
    elapsed = time.perf_counter() - started
    publisher.close()
    assert all(c == MESSAGES for c in counts), counts
    return SUBSCRIBERS * MESSAGES / elapsed


def main():
    results = {}
    for name, argv in sidebyside.servers():
        proc, conn, work = sidebyside.start(argv)
        conn.close()
        try:
            results[name] = run(int(argv[argv.index("--port") + 1]))
        finally:
            sidebyside.stop(proc, work)
    print(f"{'pub/sub fan-out':<28}{'redis':>14}{'understudy':>14}{'ratio':>8}")
    ratio = results["understudy"] / results["redis"]
    print(f"{'deliveries/s, 10 subscribers':<28}{results['redis']:>14.0f}{results['understudy']:>14.0f}{ratio:>8.2f}")
    print(f"summary: fan-out ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
