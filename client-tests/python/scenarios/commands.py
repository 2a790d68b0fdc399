"""redis-py with RESP2 and protocol=3: connecting with username and password and a database,
pipelines, transactions with WATCH, scan iterators, RESP3 types."""
import redis


def exercise(url, protocol):
    admin = redis.Redis.from_url(url)
    admin.config_set("requirepass", "s3cret")
    try:
        client = redis.Redis.from_url(
            url, username="default", password="s3cret", db=2, protocol=protocol, decode_responses=True
        )
        assert client.ping()
        client.flushdb()
        assert client.client_info()["db"] in (2, "2")

        with client.pipeline(transaction=False) as pipe:
            pipe.set("a", 1).incr("a").lpush("a", "x").hset("h", mapping={"f": "v", "g": "w"}).hgetall("h")
            replies = pipe.execute(raise_on_error=False)
        assert replies[:2] == [True, 2], replies
        assert isinstance(replies[2], redis.ResponseError), replies
        assert replies[4] == {"f": "v", "g": "w"}, replies

        with client.pipeline() as pipe:
            pipe.incr("a").get("a")
            assert pipe.execute() == [3, "3"]

        def transfer(pipe):
            balance = int(pipe.get("a"))
            pipe.multi()
            pipe.set("a", balance - 1)

        client.transaction(transfer, "a")
        assert client.get("a") == "2"

        other = redis.Redis.from_url(url, username="default", password="s3cret", db=2)
        with client.pipeline() as pipe:
            pipe.watch("a")
            other.set("a", 100)
            pipe.multi()
            pipe.incr("a")
            try:
                pipe.execute()
                raise AssertionError("EXEC after a watched write succeeded")
            except redis.WatchError:
                pass
        other.close()

        client.mset({f"k:{i}": i for i in range(250)})
        assert len(set(client.scan_iter(match="k:*", count=33))) == 250
        client.sadd("s", *range(100))
        assert len(set(client.sscan_iter("s", count=10))) == 100
        client.zadd("z", {f"m{i}": i for i in range(100)})
        assert len(dict(client.zscan_iter("z"))) == 100
        assert client.zscore("z", "m7") == 7.0
        assert client.smembers("s") == {str(i) for i in range(100)}
        client.close()
    finally:
        redis.Redis.from_url(url, password="s3cret").config_set("requirepass", "")
        admin.close()


def run(url):
    exercise(url, 2)
    exercise(url, 3)
