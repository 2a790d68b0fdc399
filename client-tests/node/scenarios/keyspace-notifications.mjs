// A cache-invalidation consumer: keyspace and keyevent notifications, including expiry, read
// with ioredis pattern subscriptions.
import Redis from 'ioredis';
import { assert, collector } from './lib.mjs';

export async function run(url) {
  const client = new Redis(url);
  const sub = new Redis(url);
  try {
    assert.equal(await client.config('SET', 'notify-keyspace-events', 'KEA'), 'OK');
    assert.deepEqual(await client.config('GET', 'notify-keyspace-events'), [
      'notify-keyspace-events',
      'AKE',
    ]);
    // Subscribing while ioredis's ready check (an INFO) is still out puts the connection in
    // subscriber mode under it: the check fails and the subscription is lost with the
    // reconnection (seen against redis-server too).
    if (sub.status !== 'ready') await new Promise((resolve) => sub.once('ready', resolve));
    await sub.psubscribe('__keyspace@0__:cache:*', '__keyevent@0__:expired');
    const events = collector(8, 'keyspace events');
    sub.on('pmessage', (pattern, channel, message) => events.push(`${channel} ${message}`));
    await client.set('cache:user:1', 'alice');
    await client.hset('cache:profile:1', 'name', 'alice');
    await client.del('cache:user:1');
    await client.lpush('cache:list', 'a');
    await client.set('cache:session', 'x', 'PX', 100);
    // Nobody reads the key: it is the server's own expiry that removes it.
    assert.deepEqual(await events.finished, [
      '__keyspace@0__:cache:user:1 set',
      '__keyspace@0__:cache:profile:1 hset',
      '__keyspace@0__:cache:user:1 del',
      '__keyspace@0__:cache:list lpush',
      '__keyspace@0__:cache:session set',
      '__keyspace@0__:cache:session expire',
      '__keyspace@0__:cache:session expired',
      '__keyevent@0__:expired cache:session',
    ]);
  } finally {
    client.disconnect();
    sub.disconnect();
  }
}
