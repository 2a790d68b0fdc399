"""redis-py's Lua users: Script objects (EVALSHA, then SCRIPT LOAD when the cache lacks the
script), and Lock, whose release and extend are scripts."""
import time

import redis


def exercise(url, protocol):
    client = redis.Redis.from_url(url, protocol=protocol)
    client.flushdb()
    client.script_flush()
    bump = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert bump(keys=["n"], args=[5]) == 5
    assert bump(keys=["n"], args=[5]) == 10
    assert client.script_exists(bump.sha) == [True]

    lock = client.lock("resource", timeout=5, blocking_timeout=1)
    assert lock.acquire()
    rival = client.lock("resource", timeout=5, blocking_timeout=0.2)
    assert not rival.acquire()
    lock.extend(5)
    assert client.pttl("resource") > 5000
    lock.release()
    assert rival.acquire()
    rival.release()
    try:
        lock.release()
        raise AssertionError("releasing a lock not held succeeded")
    except redis.exceptions.LockError:
        pass

    expiring = client.lock("short", timeout=0.2)
    assert expiring.acquire()
    time.sleep(0.3)
    assert client.lock("short", blocking_timeout=0.1).acquire()
    client.close()


def run(url):
    exercise(url, 2)
    exercise(url, 3)
