"""Memory per key: small string keys (used_memory and RSS growth), and small hashes, sets and
sorted sets (used_memory growth). Every shape is loaded into a fresh server."""
from sidebyside import NO_LARGER, Figure, command, info_field, load, one_at_a_time

# (label, request that creates key i), each shape small enough for Redis's compact encodings.
SMALL_AGGREGATES = [
    ("hash, 3 short fields", lambda i: command("HSET", f"h:{i}", "name", "alice", "age", "30", "city", "paris")),
    ("set, 5 short strings", lambda i: command("SADD", f"s:{i}", "a", "bb", "ccc", "dddd", "eeeee")),
    ("set, 5 small integers", lambda i: command("SADD", f"s:{i}", "1", "2", "3", "4", "5")),
    ("sorted set, 5 members", lambda i: command("ZADD", f"z:{i}", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")),
]


def string_key(i):
    return command("SET", f"key:{i}", "x" * 16)


def growth(running, requests):
    """used_memory and RSS growth, in bytes per request, from loading `requests`."""
    with running.connect() as conn:
        used, rss = info_field(conn, "memory", "used_memory"), running.rss_bytes()
        load(conn, requests)
        used = info_field(conn, "memory", "used_memory") - used
        rss = running.rss_bytes() - rss
    return used / len(requests), rss / len(requests)


@one_at_a_time
def measure(server, quick):
    strings, aggregates = (100_000, 10_000) if quick else (1_000_000, 100_000)
    with server.running() as running:
        used, rss = growth(running, [string_key(i) for i in range(strings)])
    figures = [
        Figure(f"{strings:,} string keys, used_memory", used, "B/key", "memory", NO_LARGER),
        Figure(f"{strings:,} string keys, RSS", rss, "B/key", "memory", NO_LARGER),
    ]
    for label, request in SMALL_AGGREGATES:
        with server.running() as running:
            used, _ = growth(running, [request(i) for i in range(aggregates)])
        figures.append(Figure(f"{aggregates:,} x {label}, used_memory", used, "B/key", "memory", NO_LARGER))
    return figures
