"""Starting redis-server and a release Understudy the same way, and talking to them, for the
sections of benches/compare.py."""
import contextlib
import csv
import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import NamedTuple, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNDERSTUDY = os.path.join(ROOT, "target", "release", "understudy")
# Both servers start with exactly these flags (plus a port and whatever a section adds).
COMMON_FLAGS = ["--save", "", "--appendonly", "no"]


class Target(NamedTuple):
    """What a figure is held to: `op` is "ratio>=" or "ratio<=" (Understudy / Redis) or "ours<="
    (Understudy's own value, in the figure's unit)."""

    op: str
    bound: float

    def describe(self, unit):
        if self.op == "ours<=":
            return f"<= {self.bound:g} {unit}" if self.bound else "= 0"
        return f"{self.op[5:]} {self.bound:.2f}"

    def met(self, redis, ours):
        if self.op == "ours<=":
            return ours <= self.bound
        if redis <= 0:
            return False
        ratio = ours / redis
        return ratio >= self.bound if self.op == "ratio>=" else ratio <= self.bound


FASTER = Target("ratio>=", 1.0)
NO_SLOWER = Target("ratio<=", 1.0)
NO_LARGER = Target("ratio<=", 1.0)


class Figure(NamedTuple):
    """One measured figure of one server. `group` names the summary it feeds: throughput, p99,
    latency, memory, pause (or None)."""

    what: str
    value: float
    unit: str
    group: Optional[str] = None
    target: Optional[Target] = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port))

    def rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for pid {self.proc.pid}")


class Server:
    """One of the two servers compared. Every start gets a fresh port and scratch directory, so a
    section never sees what an earlier one left behind."""

    def __init__(self, name, binary):
        self.name = name
        self.binary = binary

    @contextlib.contextmanager
    def running(self, *extra_flags):
        work = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        port = free_port()
        argv = [self.binary, *COMMON_FLAGS, "--port", str(port), *extra_flags]
        proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(proc, port)
            yield Running(proc, port)
        finally:
            proc.kill()
            proc.wait()
            shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def all_running(servers, *extra_flags):
    """Every server started at once, for sections that alternate between them step by step so
    that the load other processes put on a shared machine weighs on both alike."""
    with contextlib.ExitStack() as stack:
        yield [(server, stack.enter_context(server.running(*extra_flags))) for server in servers]


def taking_turns(running, steps, rounds, run_step):
    """Runs `run_step(instance, step)` -> {test: csv row} `rounds` times per step on every running
    server, the servers alternating which goes first; returns {server name: {test: [rows]}}."""
    rows = {server.name: {} for server, _ in running}
    turn = 0
    for step in steps:
        for _ in range(rounds):
            for server, instance in running if turn % 2 == 0 else running[::-1]:
                for test, row in run_step(instance, step).items():
                    rows[server.name].setdefault(test, []).append(row)
            turn += 1
    return rows


def best(rows, column, pick):
    """The best of a test's runs for one column: `pick` is max for rates, min for latencies."""
    return pick(float(row[column]) for row in rows)


def one_at_a_time(measure_one):
    """A section measuring one server at a time (each in fresh servers of its own)."""

    def measure(servers, quick):
        return {server.name: measure_one(server, quick) for server in servers}

    return measure


def wait_ready(proc, port):
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port)) as conn:
                if call(conn, b"PING\r\n") == b"+PONG\r\n":
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not answer PING")


def servers(redis_twice=False):
    """redis-server and Understudy, in the order every section measures them; with
    `redis_twice`, a second redis-server stands in the Understudy column (a calibration run:
    every ratio away from 1.00 is the machine's noise)."""
    for tool in ("redis-server", "redis-benchmark"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed (apt-get install redis-server redis-tools)")
    if redis_twice:
        return [Server("redis", "redis-server"), Server("understudy", "redis-server")]
    if not os.path.exists(UNDERSTUDY):
        raise SystemExit("build Understudy first: cargo build --release -p understudy")
    return [Server("redis", "redis-server"), Server("understudy", UNDERSTUDY)]


def command(*args):
    """One request in RESP; arguments are bytes or str."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def call(conn, request, replies=1):
    """Sends `request` and reads until `replies` one-line replies (status, integer, error) came."""
    conn.sendall(request)
    data = b""
    while data.count(b"\r\n") < replies:
        chunk = conn.recv(1 << 20)
        if not chunk:
            raise RuntimeError("connection closed by the server")
        data += chunk
    return data


def load(conn, requests, batch=1000):
    """Sends one-line-reply requests in pipelined batches. Small batches keep the server's query
    buffer, which used_memory counts, from weighing on a per-key figure."""
    for first in range(0, len(requests), batch):
        chunk = requests[first : first + batch]
        reply = call(conn, b"".join(chunk), len(chunk))
        if reply.startswith(b"-") or b"\r\n-" in reply:
            raise RuntimeError(f"loading failed: {reply[:200]!r}")


def info_field(conn, section, field):
    conn.sendall(command("INFO", section))
    data = b""
    while True:
        chunk = conn.recv(1 << 20)
        if not chunk:
            raise RuntimeError("connection closed by the server")
        data += chunk
        header, _, body = data.partition(b"\r\n")
        if header.startswith(b"$") and len(body) >= int(header[1:]) + 2:
            break
    for line in body.decode().split("\r\n"):
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    raise RuntimeError(f"INFO {section} has no {field}")


def redis_benchmark(port, *args):
    """Runs redis-benchmark with --csv; returns {test name: csv row} in the order it ran them."""
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "--csv", *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {row["test"]: row for row in csv.DictReader(io.StringIO(out))}


def percentile(sorted_samples, fraction):
    if not sorted_samples:
        return 0.0
    return sorted_samples[min(len(sorted_samples) - 1, int(len(sorted_samples) * fraction))]
