// express-session with connect-redis over ioredis: a session is written, read back across
// requests, and expires with its TTL.
import express from 'express';
import session from 'express-session';
import RedisStore from 'connect-redis';
import Redis from 'ioredis';
import { assert, sleep } from './lib.mjs';

export async function run(url) {
  const redis = new Redis(url);
  const app = express();
  app.use(
    session({
      store: new RedisStore({ client: redis, prefix: 'sess:', ttl: 1 }),
      secret: 'keyboard cat',
      resave: false,
      saveUninitialized: false,
    }),
  );
  app.get('/login', (req, res) => {
    req.session.user = 'alice';
    res.send('ok');
  });
  app.get('/me', (req, res) => res.send(req.session.user ?? 'anonymous'));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const login = await fetch(`${base}/login`);
    const cookie = login.headers.get('set-cookie').split(';')[0];
    const keys = await redis.keys('sess:*');
    assert.equal(keys.length, 1);
    assert.match(await redis.get(keys[0]), /"user":"alice"/);
    const ttl = await redis.ttl(keys[0]);
    assert.ok(ttl >= 0 && ttl <= 1, `ttl ${ttl}`);
    assert.equal(await (await fetch(`${base}/me`, { headers: { cookie } })).text(), 'alice');
    await sleep(2100);
    assert.equal(await (await fetch(`${base}/me`, { headers: { cookie } })).text(), 'anonymous');
    assert.equal(await redis.exists(keys[0]), 0);
  } finally {
    server.close();
    redis.disconnect();
  }
}
