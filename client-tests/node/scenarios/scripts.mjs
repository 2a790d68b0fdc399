// Lua from the clients' own script helpers: ioredis defineCommand (EVALSHA, falling back to
// EVAL on NOSCRIPT), node-redis 4 and 5 scripts, and a NestJS-style throttler that sends its
// script with raw EVAL on every request.
import Redis from 'ioredis';
import { createClient as createClient4, defineScript as defineScript4 } from 'redis4';
import { createClient as createClient5, defineScript as defineScript5 } from 'redis5';
import { assert } from './lib.mjs';

// What @nest-lab/throttler-storage-redis does per request, in its shape: count hits in a
// window, block once over the limit, report TTLs.
const THROTTLER = `
local hitKey = KEYS[1]
local blockKey = KEYS[2]
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local blockDuration = tonumber(ARGV[3])
local isBlocked = redis.call('EXISTS', blockKey) == 1
if isBlocked then
  return { limit + 1, redis.call('PTTL', hitKey), 1, redis.call('PTTL', blockKey) }
end
local totalHits = redis.call('INCR', hitKey)
local timeToExpire = redis.call('PTTL', hitKey)
if timeToExpire <= 0 then
  redis.call('PEXPIRE', hitKey, ttl)
  timeToExpire = ttl
end
if totalHits > limit then
  redis.call('SET', blockKey, 1, 'PX', blockDuration)
  return { totalHits, timeToExpire, 1, blockDuration }
end
return { totalHits, timeToExpire, 0, 0 }
`;

async function ioredisDefineCommand(url) {
  const redis = new Redis(url);
  try {
    await redis.flushdb();
    await redis.script('FLUSH');
    await redis.config('RESETSTAT');
    redis.defineCommand('addAndCount', {
      numberOfKeys: 1,
      lua: "redis.call('SADD', KEYS[1], ARGV[1]); return redis.call('SCARD', KEYS[1])",
    });
    assert.equal(await redis.addAndCount('members', 'a'), 1);
    assert.equal(await redis.addAndCount('members', 'b'), 2);
    // ioredis sends the script with EVAL once, then only its SHA1 with EVALSHA.
    const stats = await redis.info('commandstats');
    assert.match(stats, /cmdstat_eval:calls=1,/);
    assert.match(stats, /cmdstat_evalsha:calls=1,.*failed_calls=0/);
    // A script cache flushed behind its back: EVALSHA gets NOSCRIPT and ioredis falls back.
    await redis.script('FLUSH');
    assert.equal(await redis.addAndCount('members', 'c'), 3);
    assert.match(await redis.info('errorstats'), /errorstat_NOSCRIPT:count=1\r\n/);
  } finally {
    redis.disconnect();
  }
}

async function nodeRedisScripts(createClient, defineScript, label, options) {
  const client = createClient({
    ...options,
    scripts: {
      incrCapped: defineScript({
        NUMBER_OF_KEYS: 1,
        SCRIPT:
          "local v = redis.call('INCR', KEYS[1]); if v > tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]); return tonumber(ARGV[1]) end; return v",
        transformArguments: (key, cap) => [key, cap.toString()],
        parseCommand: (parser, key, cap) => {
          parser.pushKey(key);
          parser.push(cap.toString());
        },
        transformReply: (reply) => reply,
      }),
    },
  });
  await client.connect();
  try {
    await client.scriptFlush();
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await client.incrCapped('capped', 3));
    assert.deepEqual(got, [1, 2, 3, 3], label);
    const sha = await client.scriptLoad('return ARGV[1]');
    const exists = await client.scriptExists([sha, '0'.repeat(40)]);
    assert.deepEqual(exists.map(Boolean), [true, false], label);
    assert.equal(await client.evalSha(sha, { arguments: ['x'] }), 'x');
  } finally {
    await client.flushDb();
    await client.quit();
  }
}

async function throttler(url) {
  const redis = new Redis(url);
  try {
    const replies = [];
    for (let i = 0; i < 5; i++) {
      replies.push(await redis.eval(THROTTLER, 2, 'throttle:ip:hits', 'throttle:ip:block', 1000, 3, 2000));
    }
    assert.deepEqual(
      replies.map(([hits, , blocked]) => [hits, blocked]),
      [
        [1, 0],
        [2, 0],
        [3, 0],
        [4, 1],
        [4, 1],
      ],
    );
    assert.ok(replies[0][1] > 0 && replies[0][1] <= 1000);
    assert.ok(replies[4][3] > 0 && replies[4][3] <= 2000);
  } finally {
    redis.disconnect();
  }
}

export async function run(url) {
  await ioredisDefineCommand(url);
  await nodeRedisScripts(createClient4, defineScript4, 'node-redis 4', { url });
  await nodeRedisScripts(createClient5, defineScript5, 'node-redis 5 RESP3', { url, RESP: 3 });
  await throttler(url);
}
