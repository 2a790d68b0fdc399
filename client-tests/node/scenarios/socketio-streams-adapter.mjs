// Two Socket.IO servers joined by @socket.io/redis-streams-adapter (XADD / XREAD BLOCK): a
// broadcast to a room on one server reaches a client of the other.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { io as connectClient } from 'socket.io-client';
import Redis from 'ioredis';
import { assert, sleep, waitFor } from './lib.mjs';

async function startNode(url) {
  // The adapter's node-redis path loads the package by the name `redis`, which this project
  // installs under aliases; its ioredis path is the one exercised.
  const redis = new Redis(url);
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(redis) });
  io.on('connection', (socket) => {
    socket.on('join', (room, ack) => {
      socket.join(room);
      ack();
    });
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { io, http, redis, port: http.address().port };
}

export async function run(url) {
  const a = await startNode(url);
  const b = await startNode(url);
  const clientA = connectClient(`http://127.0.0.1:${a.port}`, { transports: ['websocket'] });
  try {
    await waitFor('the client to connect', 5000, (done) => clientA.on('connect', done));
    await clientA.emitWithAck('join', 'room-1');
    const received = waitFor('the broadcast on the other server', 10000, (done) =>
      clientA.on('news', done),
    );
    // The adapters read the stream from where it was when they started; give them a moment.
    await sleep(200);
    b.io.to('room-1').emit('news', 'from b');
    assert.equal(await received, 'from b');
    const streamLength = await a.redis.xlen('socket.io');
    assert.ok(streamLength >= 1, `stream length ${streamLength}`);
  } finally {
    clientA.disconnect();
    for (const node of [a, b]) {
      node.io.close();
      node.redis.disconnect();
    }
  }
}
