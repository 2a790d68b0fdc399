"""Pub/sub fan-out: 10 subscribers on one channel while redis-benchmark publishes to it from 50
connections, without and with -P 16. Deliveries per second run from the first message any
subscriber receives to the last one the slowest receives; every message must arrive."""
import threading
import time

from sidebyside import FASTER, Figure, Target, one_at_a_time, redis_benchmark

SUBSCRIBERS = 10
PAYLOAD = "x" * 32
# Every message frame a RESP2 subscriber reads starts with this; the payload cannot contain it.
MARKER = b"$7\r\nmessage\r\n"
NONE_LOST = Target("ours<=", 0)


class Subscriber(threading.Thread):
    def __init__(self, running, expected):
        super().__init__(daemon=True)
        self.conn = running.connect()
        self.expected = expected
        self.seen = 0
        self.first_at = None
        self.last_at = None
        self.conn.sendall(b"SUBSCRIBE feed\r\n")
        confirmation = b""
        while b"\r\n:1\r\n" not in confirmation:
            confirmation += self.conn.recv(1 << 16)
        # Long enough for any stall of a working server; a lost message ends the wait here.
        self.conn.settimeout(30)

    def run(self):
        carry = b""
        try:
            while self.seen < self.expected:
                chunk = self.conn.recv(1 << 20)
                if not chunk:
                    break
                if self.first_at is None:
                    self.first_at = time.perf_counter()
                buffer = carry + chunk
                self.seen += buffer.count(MARKER)
                # A marker split across two reads is counted once, in the second.
                carry = buffer[-(len(MARKER) - 1) :]
            self.last_at = time.perf_counter()
        except OSError:
            pass
        finally:
            self.conn.close()


def deliveries(running, messages, pipeline):
    """(deliveries per second, messages lost) for one redis-benchmark publishing run."""
    subscribers = [Subscriber(running, messages) for _ in range(SUBSCRIBERS)]
    for subscriber in subscribers:
        subscriber.start()
    redis_benchmark(running.port, "-c", 50, "-n", messages, "-P", pipeline, "PUBLISH", "feed", PAYLOAD)
    for subscriber in subscribers:
        subscriber.join()
    delivered = sum(s.seen for s in subscribers)
    lost = SUBSCRIBERS * messages - delivered
    starts = [s.first_at for s in subscribers if s.first_at is not None]
    ends = [s.last_at for s in subscribers if s.last_at is not None]
    if not starts or not ends or max(ends) <= min(starts):
        return 0.0, lost
    return delivered / (max(ends) - min(starts)), lost


@one_at_a_time
def measure(server, quick):
    figures = []
    for pipeline, messages in ((1, 20_000 if quick else 100_000), (16, 100_000 if quick else 500_000)):
        with server.running() as running:
            rate, lost = deliveries(running, messages, pipeline)
        where = f"fan-out to {SUBSCRIBERS}, -P {pipeline}"
        figures.append(Figure(f"{where}, deliveries/s", rate, "msg/s", "throughput", FASTER))
        figures.append(Figure(f"{where}, messages lost", lost, "msgs", None, NONE_LOST))
    return figures
