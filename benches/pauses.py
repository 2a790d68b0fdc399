"""Pauses: a second connection PINGs once a millisecond while the server frees a 1,000,000-member
set (UNLINK), empties 1,000,000 keys (FLUSHALL ASYNC) and expires 1,000,000 keys that share one
deadline; the slowest PING (and the 99.9th percentile) is the longest the server stopped
answering."""
import subprocess
import sys
import threading
import time

from sidebyside import Figure, Target, call, command, load, one_at_a_time, percentile

# "No pause longer than a few milliseconds" (issue 9).
FEW_MS = Target("ours<=", 5.0)
PROBE_PERIOD = 0.001
SETTLE_SECONDS = 2.0
EXPIRY_WAIT_LIMIT = 30.0


class Probe(threading.Thread):
    """PINGs on its own connection once per PROBE_PERIOD until stopped; keeps round trips in ms."""

    def __init__(self, running):
        super().__init__(daemon=True)
        self.conn = running.connect()
        self.samples = []
        self.stopping = threading.Event()

    def run(self):
        next_at = time.perf_counter()
        while not self.stopping.is_set():
            started = time.perf_counter()
            call(self.conn, b"PING\r\n")
            self.samples.append((time.perf_counter() - started) * 1000)
            next_at = max(next_at + PROBE_PERIOD, time.perf_counter())
            time.sleep(max(0.0, next_at - time.perf_counter()))
        self.conn.close()

    def __enter__(self):
        self.start()
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.join()
        self.samples.sort()


def idle(running):
    """The same probe with nothing else going on: the floor that scheduling on a shared machine
    puts under every other pause figure."""
    with Probe(running) as probe:
        time.sleep(SETTLE_SECONDS)
    return probe.samples


def busy_neighbour(running):
    """The same probe while another process spins on a core: the floor under every figure
    taken while the server works. On a virtual machine whose cores are all busy, the host
    stops one now and then for milliseconds, whatever runs on it."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with Probe(running) as probe:
            time.sleep(SETTLE_SECONDS * 2)
    finally:
        spinner.kill()
        spinner.wait()
    return probe.samples


def string_keys(count):
    return [command("SET", f"key:{i}", "x" * 16) for i in range(count)]


def unlink_big_set(running, members):
    with running.connect() as conn:
        per_command = 1000
        load(conn, [command("SADD", "big", *(f"m:{j}" for j in range(i, min(i + per_command, members))))
                    for i in range(0, members, per_command)], batch=100)
        with Probe(running) as probe:
            call(conn, command("UNLINK", "big"))
            time.sleep(SETTLE_SECONDS)
    return probe.samples


def flushall_async(running, keys):
    with running.connect() as conn:
        load(conn, string_keys(keys), batch=10_000)
        with Probe(running) as probe:
            call(conn, b"FLUSHALL ASYNC\r\n")
            time.sleep(SETTLE_SECONDS)
    return probe.samples


def expiry_wave(running, keys):
    """Keys are loaded first, then all given one deadline far enough ahead that the wave starts
    only once every key has it (giving deadlines takes about as long as loading)."""
    with running.connect() as conn:
        loading_started = time.time()
        load(conn, string_keys(keys), batch=10_000)
        deadline_ms = int((time.time() + 2 * (time.time() - loading_started) + 1.0) * 1000)
        load(conn, [command("PEXPIREAT", f"key:{i}", str(deadline_ms)) for i in range(keys)], batch=10_000)
        time.sleep(max(0.0, deadline_ms / 1000 - time.time() - 0.3))
        with Probe(running) as probe:
            give_up = time.time() + EXPIRY_WAIT_LIMIT
            while call(conn, b"DBSIZE\r\n") != b":0\r\n" and time.time() < give_up:
                time.sleep(0.1)
            duration = time.time() - deadline_ms / 1000
            time.sleep(0.3)
        left = int(call(conn, b"DBSIZE\r\n")[1:])
    if left:
        raise RuntimeError(f"{left} keys had not expired {EXPIRY_WAIT_LIMIT:g} s after their deadline")
    return probe.samples, duration


def pause_figures(case, samples, target=FEW_MS):
    return [
        Figure(f"{case}: longest PING", samples[-1] if samples else 0.0, "ms", "pause" if target else None, target),
        Figure(f"{case}: PING p99.9", percentile(samples, 0.999), "ms", None, None),
    ]


@one_at_a_time
def measure(server, quick):
    count = 100_000 if quick else 1_000_000
    figures = []
    with server.running() as running:
        figures += pause_figures("idle server (noise floor)", idle(running), None)
        figures += pause_figures("idle server, a busy core beside it (noise floor)", busy_neighbour(running), None)
        figures += pause_figures(f"UNLINK {count:,}-member set", unlink_big_set(running, count))
    with server.running() as running:
        figures += pause_figures(f"FLUSHALL ASYNC, {count:,} keys", flushall_async(running, count))
    with server.running() as running:
        samples, duration = expiry_wave(running, count)
    case = f"{count:,} keys expiring at once"
    figures += pause_figures(case, samples)
    figures.append(Figure(f"{case}: seconds until all gone", duration, "s"))
    return figures
