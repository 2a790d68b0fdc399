// BullMQ 5: hundreds of jobs with delays, retries with backoff, priorities and progress;
// QueueEvents reading the events stream with XREAD BLOCK; workers found through CLIENT LIST; a
// flow of parent and children; consistent counts at the end.
import { FlowProducer, Queue, QueueEvents, Worker } from 'bullmq';
import { assert, waitFor } from './lib.mjs';

const JOBS = 300;

function connectionOf(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
}

export async function run(url) {
  const connection = connectionOf(url);
  const queue = new Queue('reports', { connection });
  const events = new QueueEvents('reports', { connection });
  const flows = new FlowProducer({ connection });
  let worker;
  try {
    await queue.obliterate({ force: true });
    await events.waitUntilReady();
    const completed = new Set();
    const allDone = waitFor('every job to complete', 30000, (done) => {
      events.on('completed', ({ jobId }) => {
        completed.add(jobId);
        if (completed.size === JOBS + 3) done();
      });
    });
    const progressSeen = waitFor('a progress event', 30000, (done) =>
      events.on('progress', ({ data }) => done(data)),
    );
    const attempts = new Map();
    worker = new Worker(
      'reports',
      async (job) => {
        const n = (attempts.get(job.id) ?? 0) + 1;
        attempts.set(job.id, n);
        if (job.name === 'parent') {
          const children = await job.getChildrenValues();
          return Object.values(children).reduce((a, b) => a + b, 0);
        }
        if (job.name === 'child') return job.data.n;
        if (job.data.failTimes >= n) throw new Error(`attempt ${n} fails`);
        if (job.data.i === 0) await job.updateProgress(42);
        return job.data.i;
      },
      { connection, concurrency: 8, name: 'report-worker' },
    );
    await worker.waitUntilReady();
    await queue.addBulk(
      Array.from({ length: JOBS }, (_, i) => ({
        name: 'render',
        data: { i, failTimes: i % 10 === 0 ? 2 : 0 },
        opts: {
          delay: i % 7 === 0 ? 100 : 0,
          priority: (i % 3) + 1,
          attempts: 3,
          backoff: { type: 'fixed', delay: 20 },
        },
      })),
    );
    const flow = await flows.add({
      name: 'parent',
      queueName: 'reports',
      children: [1, 2].map((n) => ({ name: 'child', queueName: 'reports', data: { n } })),
    });
    const workers = await queue.getWorkers();
    assert.ok(workers.length >= 1, 'no worker found in CLIENT LIST');
    assert.equal(await progressSeen, 42);
    await allDone;
    const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
    assert.deepEqual(counts, { waiting: 0, active: 0, completed: JOBS + 3, failed: 0, delayed: 0, prioritized: 0, paused: 0 });
    assert.equal([...attempts.values()].filter((n) => n === 3).length, JOBS / 10);
    const parent = await queue.getJob(flow.job.id);
    assert.equal(parent.returnvalue, 3);
  } finally {
    await worker?.close();
    await flows.close();
    await events.close();
    await queue.close();
  }
}
