#!/usr/bin/env python3
"""Memory per small string key, redis-server vs Understudy: loads N keys `key:i` with 16-byte
values into each and prints the used_memory and RSS growth per key. Usage:
benches/memory_per_key.py [keys] (build Understudy first: cargo build --release -p understudy)
"""
import sys

import sidebyside as sbs

KEYS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def load(conn):
    for i in range(0, KEYS, 10_000):
        batch = b"".join(
            b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nxxxxxxxxxxxxxxxx\r\n" % (len(k), k)
            for k in (b"key:%d" % j for j in range(i, min(i + 10_000, KEYS)))
        )
        sbs.call(conn, batch, min(10_000, KEYS - i))


def main():
    print(f"{KEYS} keys key:N with 16-byte values")
    print(f"{'server':<12}{'used_memory B/key':>19}{'RSS B/key':>11}")
    for name, argv in sbs.servers():
        proc, conn, work = sbs.start(argv)
        try:
            used = sbs.info_field(conn, "memory", "used_memory")
            rss = sbs.info_field(conn, "memory", "used_memory_rss")
            load(conn)
            used = (sbs.info_field(conn, "memory", "used_memory") - used) / KEYS
            rss = (sbs.info_field(conn, "memory", "used_memory_rss") - rss) / KEYS
            print(f"{name:<12}{used:>19.1f}{rss:>11.1f}")
        finally:
            sbs.stop(proc, work)


if __name__ == "__main__":
    main()
