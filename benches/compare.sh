#!/usr/bin/env bash
# Side by side: redis-benchmark against redis-server and against Understudy (release build), one
# after the other in one run, with the same settings; prints requests/s and p50 per test and the
# Understudy/Redis ratio. Usage: benches/compare.sh [-n requests] [-c clients] [-P pipeline] [-t tests]
set -euo pipefail
cd "$(dirname "$0")/.."

requests=100000 clients=50 pipeline=1 tests="ping,set,get,incr,mset"
while getopts "n:c:P:t:" opt; do
  case $opt in
    n) requests=$OPTARG ;; c) clients=$OPTARG ;; P) pipeline=$OPTARG ;; t) tests=$OPTARG ;;
    *) echo "usage: $0 [-n requests] [-c clients] [-P pipeline] [-t tests]" >&2; exit 2 ;;
  esac
done
for tool in redis-server redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install redis-server redis-tools)" >&2; exit 1; }
done

cargo build --release --quiet -p understudy
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

redis_port=$(free_port)
(cd "$work" && exec redis-server --port "$redis_port" --save "" --appendonly no --logfile "$work/redis.log") &
pids+=($!)
ours_port=$(free_port)
./target/release/understudy --port "$ours_port" --save "" --appendonly no --logfile "$work/understudy.log" &
pids+=($!)
wait_port "$redis_port"
wait_port "$ours_port"

bench() { redis-benchmark -p "$1" -n "$requests" -c "$clients" -P "$pipeline" -t "$tests" --csv 2>/dev/null; }
bench "$redis_port" > "$work/redis.csv"
bench "$ours_port" > "$work/ours.csv"

python3 - "$work/redis.csv" "$work/ours.csv" "$clients" "$pipeline" <<'PY'
import csv, sys
def load(path):
    with open(path) as f:
        return {row["test"]: row for row in csv.DictReader(f)}
redis, ours = load(sys.argv[1]), load(sys.argv[2])
print(f"redis-benchmark -c {sys.argv[3]} -P {sys.argv[4]}")
print(f"{'test':<24}{'redis rps':>12}{'understudy rps':>16}{'ratio':>8}{'redis p50':>11}{'ours p50':>10}")
ratios = []
for test, r in redis.items():
    o = ours.get(test)
    if o is None:
        print(f"{test:<24}{float(r['rps']):>12.0f}{'missing':>16}")
        continue
    ratio = float(o["rps"]) / float(r["rps"])
    ratios.append(ratio)
    print(f"{test:<24}{float(r['rps']):>12.0f}{float(o['rps']):>16.0f}{ratio:>8.2f}"
          f"{float(r['p50_latency_ms']):>11.3f}{float(o['p50_latency_ms']):>10.3f}")
if ratios:
    print(f"summary: {len(ratios)} tests, lowest ratio {min(ratios):.2f}, "
          f"geometric mean {pow(__import__('math').prod(ratios), 1/len(ratios)):.2f}")
PY
