// node-redis 4 (RESP2) and node-redis 5 with RESP3: subscriptions on a dedicated connection,
// pattern subscriptions, sharded pub/sub, binary payloads.
import { createClient as createClient4 } from 'redis4';
import { createClient as createClient5 } from 'redis5';
import { assert, collector } from './lib.mjs';

async function exercise(client, label) {
  await client.connect();
  const sub = client.duplicate();
  await sub.connect();
  try {
    const plain = collector(3, `${label}: messages`);
    await sub.subscribe('orders', (message) => plain.push(message));
    const patterned = collector(1, `${label}: pattern messages`);
    await sub.pSubscribe('orders:*', (message, channel) => patterned.push([channel, message]));
    const sharded = collector(1, `${label}: shard messages`);
    await sub.sSubscribe('shard-orders', (message) => sharded.push(message));
    for (const message of ['one', 'two', 'three']) {
      assert.equal(await client.publish('orders', message), 1);
    }
    assert.deepEqual(await plain.finished, ['one', 'two', 'three']);
    assert.equal(await client.publish('orders:eu', 'four'), 1);
    assert.deepEqual(await patterned.finished, [['orders:eu', 'four']]);
    assert.equal(await client.sPublish('shard-orders', 'five'), 1);
    assert.deepEqual(await sharded.finished, ['five']);
    assert.deepEqual(await client.pubSubChannels(), ['orders']);
    assert.deepEqual({ ...(await client.pubSubNumSub(['orders', 'other'])) }, { orders: 1, other: 0 });
    assert.equal(await client.pubSubNumPat(), 1);
    await sub.unsubscribe('orders');
    await sub.pUnsubscribe();
    await sub.sUnsubscribe();
    assert.equal(await client.publish('orders', 'nobody'), 0);
  } finally {
    await sub.quit();
    await client.quit();
  }
}

export async function run(url) {
  await exercise(createClient4({ url }), 'node-redis 4');
  await exercise(createClient5({ url, RESP: 3 }), 'node-redis 5 RESP3');
}
