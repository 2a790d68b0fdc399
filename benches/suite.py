"""redis-benchmark's default tests at -c 50, without and with -P 16, and one-client latency.

Both servers run at once and take turns test by test, each test twice on each, and the better
run of the two counts: on a machine shared with other work, load that comes and goes would
otherwise land on one server's runs and not the other's."""
from sidebyside import FASTER, NO_SLOWER, Figure, Target, all_running, best, redis_benchmark, taking_turns

# redis-benchmark 7's default suite, in its order, as -t selections; "lrange" is its list-filling
# LPUSH followed by LRANGE_100, _300, _500 and _600, as in a run without -t.
DEFAULT_TESTS = ("ping_inline", "ping_mbulk", "set", "get", "incr", "lpush", "rpush", "lpop", "rpop",
                 "sadd", "hset", "spop", "zadd", "zpopmin", "lrange", "mset")
# One client's round trip is mostly the kernel's; the issue allows 10% on top of Redis's.
ONE_CLIENT = Target("ratio<=", 1.10)


def short_names(tests):
    """redis-benchmark's test names without their explanations ("LRANGE_100 (first 100
    elements)" -> "LRANGE_100"), unless that would make two names equal (the two LPUSH tests)."""
    short = [test.split(" (")[0] for test in tests]
    return {test: s if short.count(s) == 1 else test for test, s in zip(tests, short)}


def default_suite(running, rounds, requests, lrange_requests, *args):
    """Every default test with `requests` requests, but the LRANGE group with `lrange_requests`:
    it runs at a twentieth of the others' rate."""
    def run(instance, test):
        count = lrange_requests if test == "lrange" else requests
        return redis_benchmark(instance.port, "-t", test, "-n", count, *args)
    return taking_turns(running, DEFAULT_TESTS, rounds, run)


def measure_suite(servers, quick):
    # Each run lasts a second or more: at -P 16 a 200,000-request run is over in 0.2 s, too short
    # to tell two servers apart from the machine's noise.
    plain, piped, lrange_plain, lrange_piped, rounds = (
        (20_000, 50_000, 20_000, 50_000, 1) if quick else (200_000, 1_000_000, 100_000, 200_000, 2))
    with all_running(servers) as running:
        plain = default_suite(running, rounds, plain, lrange_plain, "-c", 50)
        piped = default_suite(running, rounds, piped, lrange_piped, "-c", 50, "-P", 16)
    figures = {}
    for server in servers:
        runs, runs_piped = plain[server.name], piped[server.name]
        figures[server.name] = []
        for test, name in short_names(list(runs)).items():
            rps, p99 = best(runs[test], "rps", max), best(runs[test], "p99_latency_ms", min)
            figures[server.name].append(Figure(f"{name} rps, -c 50", rps, "rps", "throughput", FASTER))
            figures[server.name].append(Figure(f"{name} p99, -c 50", p99, "ms", "p99", NO_SLOWER))
        for test, name in short_names(list(runs_piped)).items():
            rps = best(runs_piped[test], "rps", max)
            figures[server.name].append(Figure(f"{name} rps, -c 50 -P 16", rps, "rps", "throughput", FASTER))
    return figures


def measure_latency(servers, quick):
    requests, rounds = (10_000, 1) if quick else (100_000, 2)
    with all_running(servers) as running:
        runs = taking_turns(running, ("set", "get"), rounds,
                            lambda instance, test: redis_benchmark(instance.port, "-c", 1, "-n", requests, "-t", test))
    figures = {}
    for server in servers:
        figures[server.name] = []
        for test in ("SET", "GET"):
            # redis-benchmark's percentiles come in 8 us steps around these values; one client's
            # mean round trip, the inverse of its rate, has no such steps.
            latencies = (("mean", 1000 / best(runs[server.name][test], "rps", max)),
                         ("p50", best(runs[server.name][test], "p50_latency_ms", min)),
                         ("p99", best(runs[server.name][test], "p99_latency_ms", min)))
            for label, value in latencies:
                figures[server.name].append(Figure(f"{test} {label}, -c 1", value, "ms", "latency", ONE_CLIENT))
    return figures
