// node-redis 4 (RESP2) and 5 (RESP3): everyday commands, RESP3 maps and sets, scan iterators,
// MULTI with WATCH.
import { createClient as createClient4 } from 'redis4';
import { createClient as createClient5 } from 'redis5';
import { assert } from './lib.mjs';

async function exercise(client, other, label) {
  await client.connect();
  await other.connect();
  try {
    assert.equal(await client.set('greeting', 'hello', { EX: 60 }), 'OK');
    assert.equal(await client.get('greeting'), 'hello');
    assert.equal(await client.incrBy('n', 41), 41);
    assert.equal(await client.incrByFloat('f', 1.5), '1.5');
    await client.hSet('h', { a: '1', b: '2' });
    const hash = await client.hGetAll('h');
    assert.deepEqual({ ...hash }, { a: '1', b: '2' }, label);
    await client.sAdd('s', ['x', 'y', 'z']);
    const members = await client.sMembers('s');
    assert.deepEqual([...members].sort(), ['x', 'y', 'z'], label);
    await client.zAdd('z', [
      { score: 2, value: 'b' },
      { score: 1, value: 'a' },
    ]);
    assert.deepEqual(await client.zRangeWithScores('z', 0, -1), [
      { value: 'a', score: 1 },
      { value: 'b', score: 2 },
    ]);
    await client.rPush('l', ['1', '2', '3']);
    assert.deepEqual(await client.lRange('l', 0, -1), ['1', '2', '3']);
    assert.equal(await client.type('z'), 'zset');

    const keys = Array.from({ length: 300 }, (_, i) => `it:${i}`);
    await client.mSet(keys.map((k) => [k, 'v']));
    const seen = new Set();
    for await (const batch of client.scanIterator({ MATCH: 'it:*', COUNT: 37 })) {
      for (const key of Array.isArray(batch) ? batch : [batch]) seen.add(key);
    }
    assert.equal(seen.size, 300, label);
    const fields = [];
    for await (const entry of client.hScanIterator('h')) {
      for (const item of Array.isArray(entry) ? entry : [entry]) fields.push(item.field);
    }
    assert.deepEqual(fields.sort(), ['a', 'b'], label);

    const results = await client.multi().incr('n').get('n').exec();
    assert.deepEqual(results, [42, '42'], label);
    const watcher = client.duplicate();
    await watcher.connect();
    await watcher.watch('n');
    await other.set('n', '0');
    let aborted = false;
    try {
      const reply = await watcher.multi().incr('n').exec();
      aborted = reply === null;
    } catch (err) {
      aborted = /WatchError|One \(or more\) of the watched keys has been changed/.test(`${err.name} ${err.message}`);
    }
    assert.ok(aborted, `${label}: EXEC after a watched write was not refused`);
    await watcher.quit();
  } finally {
    await client.flushDb();
    await client.quit();
    await other.quit();
  }
}

export async function run(url) {
  await exercise(createClient4({ url }), createClient4({ url }), 'node-redis 4');
  await exercise(createClient5({ url, RESP: 3 }), createClient5({ url, RESP: 3 }), 'node-redis 5 RESP3');
}
