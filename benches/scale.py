"""Scale: GET throughput with 1, 10, 100 and 1,000 clients (redis-benchmark, the two servers
taking turns, the better of two runs counting), and the RSS that 10,000 idle connections cost per
connection. compare.py raises RLIMIT_NOFILE for the connections; the servers inherit the limit."""
from sidebyside import FASTER, Figure, all_running, best, call, redis_benchmark, taking_turns

CLIENTS = (1, 10, 100, 1000)


def idle_cost(instance, count):
    before = instance.rss_bytes()
    conns = [instance.connect() for _ in range(count)]
    try:
        # Connections are accepted in order: once the last one answers, all are registered.
        call(conns[-1], b"PING\r\n")
        return (instance.rss_bytes() - before) / count
    finally:
        for conn in conns:
            conn.close()


def get_rps(requests):
    def run(instance, clients):
        rows = redis_benchmark(instance.port, "-t", "get", "-n", requests, "-c", clients)
        return {f"GET rps, -c {clients}": rows["GET"]}

    return run


def measure(servers, quick):
    requests, idle, rounds = (20_000, 1_000, 1) if quick else (100_000, 10_000, 2)
    figures = {}
    with all_running(servers, "--maxclients", str(idle + 1000)) as running:
        # GET of a missing key would measure a nil reply, not a value.
        for _, instance in running:
            redis_benchmark(instance.port, "-t", "set", "-n", 1000)
        runs = taking_turns(running, CLIENTS, rounds, get_rps(requests))
    for server in servers:
        figures[server.name] = [Figure(what, best(rows, "rps", max), "rps", "throughput", FASTER)
                                for what, rows in runs[server.name].items()]
        # A fresh server alone: memory the benchmark's clients freed would otherwise be reused
        # by the idle connections and hide their cost.
        with server.running("--maxclients", str(idle + 1000)) as instance:
            per_connection = idle_cost(instance, idle)
        figures[server.name].append(Figure(f"RSS per idle connection ({idle:,} open)", per_connection, "B/conn"))
    return figures
