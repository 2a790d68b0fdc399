// rate-limiter-flexible's RateLimiterRedis over ioredis and node-redis: points consumed within a
// window, refusal once used up, and a fresh allowance after the window.
import Redis from 'ioredis';
import { createClient } from 'redis4';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { assert, sleep } from './lib.mjs';

async function exercise(storeClient, label, extra = {}) {
  const limiter = new RateLimiterRedis({
    storeClient,
    keyPrefix: `rl-${label}`,
    points: 3,
    duration: 1,
    ...extra,
  });
  for (let i = 1; i <= 3; i++) {
    const res = await limiter.consume('user-1');
    assert.equal(res.remainingPoints, 3 - i, label);
    assert.ok(res.msBeforeNext > 0 && res.msBeforeNext <= 1000, `${label}: ${res.msBeforeNext}`);
  }
  await assert.rejects(limiter.consume('user-1'), (rej) => rej.remainingPoints === 0, label);
  // Another key has its own allowance.
  assert.equal((await limiter.consume('user-2')).remainingPoints, 2, label);
  await sleep(1100);
  assert.equal((await limiter.consume('user-1')).remainingPoints, 2, `${label}: after the window`);
  await limiter.delete('user-1');
  assert.equal(await limiter.get('user-1'), null, label);
}

export async function run(url) {
  const ioredis = new Redis(url, { enableOfflineQueue: false });
  await new Promise((resolve) => ioredis.once('ready', resolve));
  const nodeRedis = createClient({ url });
  await nodeRedis.connect();
  try {
    await exercise(ioredis, 'ioredis');
    await exercise(nodeRedis, 'node-redis', { useRedisPackage: true });
  } finally {
    ioredis.disconnect();
    await nodeRedis.quit();
  }
}
