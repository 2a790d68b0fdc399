#!/usr/bin/env python3
"""Understudy side by side with redis-server 7, in one run: every section starts redis-server and
the release Understudy with the same flags (--save "" --appendonly no) on free ports in scratch
directories and measures both the same way, one after the other or taking turns step by step;
then one table of figures with the Understudy / Redis ratio and the target each figure is held
to, and a summary line. The exit status is 1 only if a section could not be measured.

    cargo build --release -p understudy && benches/compare.py [--quick] [--only suite,memory]
"""
import argparse
import datetime
import math
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fanout  # noqa: E402
import memory  # noqa: E402
import pauses  # noqa: E402
import scale  # noqa: E402
import sidebyside  # noqa: E402
import suite  # noqa: E402

SECTIONS = {
    "suite": (suite.measure_suite, "redis-benchmark's default tests, -c 50, without and with -P 16"),
    "latency": (suite.measure_latency, "GET and SET latency with one client (-c 1)"),
    "memory": (memory.measure, "memory per small string key, hash, set and sorted set"),
    "fanout": (fanout.measure, "pub/sub deliveries per second to 10 subscribers"),
    "pauses": (pauses.measure, "PING probe during UNLINK, FLUSHALL ASYNC and an expiry wave"),
    "scale": (scale.measure, "GET rps with 1 to 1,000 clients; RSS per idle connection"),
}
COLUMNS = ("what", "redis", "understudy", "ratio", "target", "")
# A calibration run's second column is another redis-server.
CALIBRATION_COLUMNS = ("what", "redis", "redis again", "ratio", "target", "")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="sections: " + "; ".join(f"{name}: {text}" for name, (_, text) in SECTIONS.items()),
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    parser.add_argument("--only", metavar="SECTION[,SECTION]", help="run only these sections")
    parser.add_argument("--markdown", action="store_true", help="print the table in Markdown")
    parser.add_argument("--redis-twice", action="store_true",
                        help="calibration: redis-server in both columns, so that every miss is noise")
    args = parser.parse_args()
    args.sections = list(SECTIONS) if args.only is None else [s.strip() for s in args.only.split(",")]
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)} (sections: {', '.join(SECTIONS)})")
    return args


def warn_if_stale():
    """A release binary older than the server's sources measures an older server."""
    built = os.path.getmtime(sidebyside.UNDERSTUDY)
    for directory, _, files in os.walk(os.path.join(sidebyside.ROOT, "server", "src")):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.getmtime(path) > built:
                print(f"warning: {path} is newer than {sidebyside.UNDERSTUDY}: "
                      "cargo build --release -p understudy", file=sys.stderr)
                return


def redis_version():
    words = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    return next((f"redis-server {w[2:]}" for w in words if w.startswith("v=")), "redis-server")


def raise_open_file_limit():
    # 10,000 idle connections and redis-benchmark's 1,000 clients need more than the usual 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def run_section(name, servers, quick):
    """[(redis figure, understudy figure)] for one section, paired by what they measure."""
    started = time.time()
    print(f"{name}...", end=" ", file=sys.stderr, flush=True)
    results = SECTIONS[name][0](servers, quick)
    print(f"{time.time() - started:.0f} s", file=sys.stderr, flush=True)
    theirs, ours = results["redis"], results["understudy"]
    if [f.what for f in theirs] != [f.what for f in ours]:
        raise RuntimeError(f"{name}: the two servers gave different figures")
    return list(zip(theirs, ours))


def number(value, unit):
    if unit in ("rps", "msg/s", "msgs"):
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:.4g} ms"
    return f"{value:,.1f} {unit}"


def rows_of(pairs):
    """Table rows and, per pair, whether its target was met (None without a target)."""
    rows, verdicts = [], []
    for theirs, ours in pairs:
        ratio = f"{ours.value / theirs.value:.2f}" if theirs.value > 0 else "-"
        if ours.target is None:
            target, verdict, mark = "(reported)", None, ""
        else:
            target = ours.target.describe(ours.unit)
            verdict = ours.target.met(theirs.value, ours.value)
            mark = "ok" if verdict else "MISS"
        rows.append((ours.what, number(theirs.value, theirs.unit), number(ours.value, ours.unit), ratio, target, mark))
        verdicts.append(verdict)
    return rows, verdicts


def print_table(rows, markdown, columns=COLUMNS):
    if markdown:
        print("| " + " | ".join(columns[:-1]) + " | |")
        print("|---|---:|---:|---:|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(str(r[i])) for r in rows + [columns]) for i in range(len(columns))]
    for row in [columns] + rows:
        cells = [str(c).ljust(w) if i in (0, 4, 5) else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())


def summary(pairs, verdicts, failed):
    judged = [v for v in verdicts if v is not None]
    parts = [f"{sum(judged)} of {len(judged)} targets met"]

    def extreme(group, pick, label):
        candidates = [(o.value / t.value, o.what) for t, o in pairs if o.group == group and t.value > 0]
        if candidates:
            value, what = pick(candidates)
            parts.append(f"{label} {value:.2f} ({what})")

    def geometric_mean(group, label):
        ratios = [o.value / t.value for t, o in pairs if o.group == group and t.value > 0 and o.value > 0]
        if ratios:
            parts.append(f"{label} {math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}")

    extreme("throughput", min, "lowest throughput ratio")
    geometric_mean("throughput", "throughput ratios' geometric mean")
    extreme("p99", max, "highest p99 ratio")
    geometric_mean("p99", "p99 ratios' geometric mean")
    extreme("latency", max, "highest -c 1 latency ratio")
    extreme("memory", max, "highest memory ratio")
    pauses = [(o.value, o.what) for _, o in pairs if o.group == "pause"]
    if pauses:
        longest, what = max(pauses)
        parts.append(f"longest pause {longest:.1f} ms ({what})")
    if failed:
        parts.append(f"not measured: {', '.join(failed)}")
    return "summary: " + "; ".join(parts)


def main():
    args = parse_args()
    servers = sidebyside.servers(args.redis_twice)
    if not args.redis_twice:
        warn_if_stale()
    raise_open_file_limit()
    started = time.time()
    pairs, failed = [], []
    for name in args.sections:
        try:
            pairs += run_section(name, servers, args.quick)
        except (OSError, RuntimeError, subprocess.CalledProcessError, KeyError, ValueError) as error:
            # One section's failure (a server that died, a tool that refused) leaves the others'
            # figures worth printing.
            print(f"failed: {error!r}", file=sys.stderr)
            failed.append(name)
    rows, verdicts = rows_of(pairs)
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    measured = f"{redis_version()} / itself (calibration)" if args.redis_twice else f"Understudy / {redis_version()}"
    print(f"{measured}, {when}, {os.cpu_count()} cores shared by clients and servers, "
          f"{time.time() - started:.0f} s{', --quick' if args.quick else ''}")
    print()
    print_table(rows, args.markdown, CALIBRATION_COLUMNS if args.redis_twice else COLUMNS)
    print()
    print(summary(pairs, verdicts, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
