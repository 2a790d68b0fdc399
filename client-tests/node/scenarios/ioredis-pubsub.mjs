// ioredis pub/sub as apps use it: channels and patterns, binary payloads, publish order, PUBSUB
// introspection, and automatic resubscription after the subscriber's connection is dropped.
import Redis from 'ioredis';
import { assert, collector, sleep } from './lib.mjs';

export async function run(url) {
  const pub = new Redis(url);
  const sub = new Redis(url);
  try {
    const subscriberId = await sub.client('ID');
    assert.equal(await sub.subscribe('chat', 'news'), 2);
    assert.equal(await sub.psubscribe('user:*'), 3);
    assert.deepEqual(await pub.pubsub('NUMSUB', 'chat', 'none'), ['chat', 1, 'none', 0]);
    assert.equal(await pub.pubsub('NUMPAT'), 1);

    // Every byte value survives, in both directions.
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const gotBinary = collector(1, 'a binary message');
    sub.on('messageBuffer', (channel, message) => {
      if (channel.toString() === 'news') gotBinary.push(message);
    });
    assert.equal(await pub.publish('news', binary), 1);
    assert.deepEqual(await gotBinary.finished, [binary]);

    // Messages arrive in publish order; a pattern match arrives as a pmessage.
    const inOrder = collector(200, 'chat messages');
    sub.on('message', (channel, message) => {
      if (channel === 'chat') inOrder.push(message);
    });
    const patterned = collector(1, 'a pattern message');
    sub.on('pmessage', (pattern, channel, message) => patterned.push([pattern, channel, message]));
    for (let i = 0; i < 200; i++) pub.publish('chat', `m${i}`);
    assert.deepEqual(await inOrder.finished, Array.from({ length: 200 }, (_, i) => `m${i}`));
    assert.equal(await pub.publish('user:42', 'hello'), 1);
    assert.deepEqual(await patterned.finished, [['user:*', 'user:42', 'hello']]);

    // Drop the subscriber's connection: ioredis reconnects and subscribes again by itself.
    const reconnected = new Promise((resolve) => sub.once('ready', resolve));
    assert.equal(await pub.client('KILL', 'ID', subscriberId), 1);
    await reconnected;
    const afterReconnect = collector(1, 'a message after resubscription');
    sub.on('message', (channel, message) => {
      if (channel === 'news' && message === 'back') afterReconnect.push(message);
    });
    let receivers = 0;
    for (let attempt = 0; attempt < 50 && receivers === 0; attempt++) {
      receivers = await pub.publish('news', 'back');
      if (receivers === 0) await sleep(50);
    }
    assert.equal(receivers, 1, 'the subscriber never came back');
    await afterReconnect.finished;
    assert.equal(await pub.pubsub('NUMPAT'), 1);
  } finally {
    pub.disconnect();
    sub.disconnect();
  }
}
