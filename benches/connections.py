#!/usr/bin/env python3
"""Connections side by side: GET throughput with 1, 10, 100 and 1,000 clients (redis-benchmark),
and the memory 10,000 idle connections cost (RSS growth per connection), for redis-server and
Understudy, with their ratios. Run after `cargo build --release -p understudy`."""
import csv
import io
import resource
import socket
import subprocess

import sidebyside

IDLE = 10_000


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def get_rps(port, clients):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "get", "-n", "100000", "-c", str(clients), "--csv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    return float(rows[0]["rps"])


def idle_cost(proc, port):
    before = rss_kib(proc.pid)
    conns = []
    for _ in range(IDLE):
        conns.append(socket.create_connection(("127.0.0.1", port)))
    # Every connection has been accepted and registered once a PING on the last one answers.
    conns[-1].sendall(b"PING\r\n")
    conns[-1].recv(16)
    after = rss_kib(proc.pid)
    for c in conns:
        c.close()
    return (after - before) * 1024 / IDLE


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    results = {}
    for name, argv in sidebyside.servers():
        argv = argv + ["--maxclients", str(IDLE * 2)]
        proc, conn, work = sidebyside.start(argv)
        conn.close()
        port = int(argv[argv.index("--port") + 1])
        try:
            rows = {f"GET rps, {c} clients": get_rps(port, c) for c in (1, 10, 100, 1000)}
            rows["bytes per idle connection"] = idle_cost(proc, port)
            results[name] = rows
        finally:
            sidebyside.stop(proc, work)
    print(f"{'connections':<30}{'redis':>12}{'understudy':>12}{'ratio':>8}")
    ratios = []
    for row, theirs in results["redis"].items():
        ours = results["understudy"][row]
        # For memory, lower is better: the ratio is Redis's cost over ours.
        ratio = theirs / ours if row.startswith("bytes") else ours / theirs
        ratios.append(ratio)
        print(f"{row:<30}{theirs:>12.0f}{ours:>12.0f}{ratio:>8.2f}")
    print(f"summary: {len(ratios)} rows, lowest ratio {min(ratios):.2f} (above 1 is better than Redis)")


if __name__ == "__main__":
    main()
