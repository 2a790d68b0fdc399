// Two Socket.IO servers joined by @socket.io/redis-adapter over ioredis: a broadcast to a room
// on one server reaches a client of the other; fetchSockets() and serverCount() span both.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { io as connectClient } from 'socket.io-client';
import Redis from 'ioredis';
import { assert, waitFor } from './lib.mjs';

async function startNode(url, expectedNodes) {
  const pub = new Redis(url);
  const sub = pub.duplicate();
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(pub, sub) });
  io.on('connection', (socket) => {
    socket.on('join', (room, ack) => {
      socket.join(room);
      ack();
    });
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  // The adapter subscribes asynchronously; wait until its request channel is live.
  await waitFor('the adapter to subscribe', 5000, (done) => {
    const poll = async () => {
      const [, count] = await pub.pubsub('NUMSUB', 'socket.io-request#/#');
      if (count >= expectedNodes) done();
      else setTimeout(poll, 20);
    };
    poll();
  });
  return { io, http, pub, sub, port: http.address().port };
}

export async function run(url) {
  const a = await startNode(url, 1);
  const b = await startNode(url, 2);
  const clientA = connectClient(`http://127.0.0.1:${a.port}`, { transports: ['websocket'] });
  const clientB = connectClient(`http://127.0.0.1:${b.port}`, { transports: ['websocket'] });
  try {
    await Promise.all(
      [clientA, clientB].map((c) => waitFor('a client to connect', 5000, (done) => c.on('connect', done))),
    );
    await clientA.emitWithAck('join', 'room-1');
    assert.equal(await b.io.of('/').adapter.serverCount(), 2);

    const received = waitFor('the broadcast on the other server', 5000, (done) =>
      clientA.on('news', done),
    );
    b.io.to('room-1').emit('news', { headline: 'hello from b' });
    assert.deepEqual(await received, { headline: 'hello from b' });

    const sockets = await b.io.fetchSockets();
    assert.equal(sockets.length, 2);
    const inRoom = await b.io.in('room-1').fetchSockets();
    assert.deepEqual(inRoom.map((s) => s.id), [clientA.id]);
  } finally {
    clientA.disconnect();
    clientB.disconnect();
    for (const node of [a, b]) {
      node.io.close();
      node.pub.disconnect();
      node.sub.disconnect();
    }
  }
}
