// ioredis as an app configures it: a URL with user, password and database, a connection name,
// a key prefix, the ready check, pipelines, MULTI with a WATCH conflict, scanStream and monitor().
import Redis from 'ioredis';
import { assert, collector } from './lib.mjs';

export async function run(url) {
  const admin = new Redis(url);
  await admin.config('SET', 'requirepass', 's3cret');
  const authed = new URL(url);
  authed.username = 'default';
  authed.password = 's3cret';
  authed.pathname = '/3';
  const app = new Redis(authed.toString(), { connectionName: 'web-1', keyPrefix: 'app:' });
  const other = new Redis(authed.toString());
  try {
    await new Promise((resolve, reject) => {
      app.once('ready', resolve);
      app.once('error', reject);
    });
    assert.equal(await app.client('GETNAME'), 'web-1');
    const list = await other.client('LIST');
    assert.match(list, /name=web-1 .*db=3 /);

    // The prefix applies to keys; the database is the URL's.
    await app.set('user:1', 'alice', 'EX', 60);
    assert.equal(await other.get('app:user:1'), 'alice');
    assert.ok((await other.ttl('app:user:1')) > 0);
    await other.select(0);
    assert.equal(await other.exists('app:user:1'), 0);
    await other.select(3);

    // A pipeline: replies in order, an error in the middle stays in its place.
    const results = await app
      .pipeline()
      .set('counter', 10)
      .incrby('counter', 5)
      .lpush('counter', 'x')
      .hset('profile', { name: 'alice', age: '30' })
      .hgetall('profile')
      .exec();
    assert.deepEqual(results[0], [null, 'OK']);
    assert.deepEqual(results[1], [null, 15]);
    assert.match(results[2][0].message, /^WRONGTYPE Operation against a key holding the wrong kind of value/);
    assert.deepEqual(results[4], [null, { name: 'alice', age: '30' }]);

    // MULTI under WATCH: another client's write makes EXEC return null.
    await app.watch('counter');
    await other.set('app:counter', 100);
    const aborted = await app.multi().incr('counter').exec();
    assert.equal(aborted, null);
    const committed = await app.multi().incr('counter').get('counter').exec();
    assert.deepEqual(committed, [
      [null, 101],
      [null, '101'],
    ]);

    // scanStream sees every key once, whatever the table does meanwhile.
    const keys = Array.from({ length: 500 }, (_, i) => `scan:${i}`);
    await other.mset(...keys.flatMap((k) => [k, '1']));
    const seen = new Set();
    await new Promise((resolve, reject) => {
      const stream = other.scanStream({ match: 'scan:*', count: 50 });
      stream.on('data', (batch) => batch.forEach((k) => seen.add(k)));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    assert.equal(seen.size, 500);

    // monitor(): a dedicated connection that streams every command.
    const monitor = await other.monitor();
    const lines = collector(1, 'a monitored command');
    monitor.on('monitor', (time, args, source, database) => {
      if (args[0] === 'get' || args[0] === 'GET') lines.push({ args, database });
    });
    await app.get('user:1');
    const [line] = await lines.finished;
    assert.deepEqual(line, { args: ['get', 'app:user:1'], database: '3' });
    monitor.disconnect();
  } finally {
    await other.config('SET', 'requirepass', '').catch(() => {});
    app.disconnect();
    other.disconnect();
    admin.disconnect();
  }
}
