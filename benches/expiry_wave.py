#!/usr/bin/env python3
"""A million keys expiring at once: PING latency through the wave, redis-server vs Understudy.

Starts both servers on free ports (release Understudy: build it first with
`cargo build --release -p understudy`), loads N keys that share one deadline, then pings once
a millisecond for a few seconds while the keys expire without being read, and prints the
latency distribution and how many keys were left. Usage: benches/expiry_wave.py [keys]
"""
import sys
import time

import sidebyside as sbs

KEYS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
PROBE_SECONDS = 8
call = sbs.call


def wave(conn):
    # Load first, then give every key the same deadline 2 s ahead, so all expire together.
    load_started = time.time()
    requests = []
    for i in range(KEYS):
        key = f"key:{i}".encode()
        requests.append(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nxxxxxxxxxxxxxxxx\r\n$2\r\nPX\r\n$7\r\n3600000\r\n" % (len(key), key))
    for i in range(0, KEYS, 10_000):
        call(conn, b"".join(requests[i:i + 10_000]), min(10_000, KEYS - i))
    load_ms = (time.time() - load_started) * 1000
    deadline_ms = int(time.time() * 1000) + 2000
    for i in range(0, KEYS, 10_000):
        chunk = []
        for j in range(i, min(i + 10_000, KEYS)):
            key = f"key:{j}".encode()
            at = str(deadline_ms).encode()
            chunk.append(b"*3\r\n$9\r\nPEXPIREAT\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(at), at))
        call(conn, b"".join(chunk), len(chunk))
    samples = []
    end = time.time() + PROBE_SECONDS
    while time.time() < end:
        t = time.perf_counter()
        call(conn, b"PING\r\n")
        samples.append((time.perf_counter() - t) * 1000)
        time.sleep(0.001)
    left = call(conn, b"DBSIZE\r\n").decode().strip()
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(len(samples) * q))]
    return load_ms, pick(0.5), pick(0.99), samples[-1], left


def main():
    print(f"{KEYS} keys expiring at once; PING every ms for {PROBE_SECONDS} s")
    print(f"{'server':<12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'keys left':>11}")
    for name, argv in sbs.servers():
        proc, conn, work = sbs.start(argv)
        try:
            _, p50, p99, worst, left = wave(conn)
            print(f"{name:<12}{p50:>9.3f}{p99:>9.3f}{worst:>9.1f}{left.lstrip(':'):>11}")
        finally:
            sbs.stop(proc, work)


if __name__ == "__main__":
    main()
