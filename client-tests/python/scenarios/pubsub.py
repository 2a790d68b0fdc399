"""redis-py pub/sub with RESP2 and with protocol=3: get_message polling, patterns, binary
payloads, health checks while subscribed, and the subscriber thread API."""
import threading
import time

import redis


def next_message(pubsub, timeout=5.0):
    """The next message that is not a (un)subscribe confirmation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            return message
    raise AssertionError("no message arrived")


def exercise(url, protocol):
    # health_check_interval makes redis-py PING the subscribed connection before reading when it
    # has been idle, and expect the subscribed-mode answer.
    client = redis.Redis.from_url(url, protocol=protocol, health_check_interval=0.01)
    pubsub = client.pubsub()
    try:
        pubsub.subscribe("alerts")
        pubsub.psubscribe("metrics.*")
        confirmation = pubsub.get_message(timeout=5)
        assert confirmation["type"] == "subscribe", confirmation
        assert confirmation["channel"] == b"alerts", confirmation
        assert client.pubsub_numsub("alerts") == [(b"alerts", 1)]
        assert client.pubsub_numpat() == 1

        payload = bytes(range(256))
        assert client.publish("alerts", payload) == 1
        message = next_message(pubsub)
        assert message == {"type": "message", "pattern": None, "channel": b"alerts", "data": payload}, message

        time.sleep(0.05)  # past the health-check interval: the next read PINGs first
        assert client.publish("metrics.cpu", "93") == 1
        message = next_message(pubsub)
        assert message["type"] == "pmessage", message
        assert (message["pattern"], message["channel"], message["data"]) == (
            b"metrics.*",
            b"metrics.cpu",
            b"93",
        ), message

        for i in range(100):
            client.publish("alerts", str(i))
        got = [next_message(pubsub)["data"] for _ in range(100)]
        assert got == [str(i).encode() for i in range(100)], got

        pubsub.unsubscribe("alerts")
        pubsub.punsubscribe()
        deadline = time.monotonic() + 5
        while pubsub.subscribed and time.monotonic() < deadline:
            pubsub.get_message(timeout=0.1)
        assert not pubsub.subscribed
        assert client.publish("alerts", "nobody") == 0

        # The background-thread API with a handler.
        received = []
        arrived = threading.Event()

        def handler(message):
            received.append(message["data"])
            arrived.set()

        threaded = client.pubsub()
        threaded.subscribe(**{"jobs": handler})
        worker = threaded.run_in_thread(sleep_time=0.01)
        try:
            deadline = time.monotonic() + 5
            while client.publish("jobs", "job-1") == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert arrived.wait(5), "the handler never ran"
            assert received[0] == b"job-1", received
        finally:
            worker.stop()
            worker.join(5)
            threaded.close()
    finally:
        pubsub.close()
        client.close()


def run(url):
    exercise(url, 2)
    exercise(url, 3)
