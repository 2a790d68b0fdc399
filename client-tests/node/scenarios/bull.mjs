// Bull 4: hundreds of jobs with delays, retries with backoff, priorities and progress, global
// events over pub/sub, workers found through CLIENT LIST, and consistent counts at the end.
import Queue from 'bull';
import { assert, waitFor } from './lib.mjs';

const JOBS = 300;

export async function run(url) {
  const queue = new Queue('emails', url, { settings: { stalledInterval: 0 } });
  const observer = new Queue('emails', url);
  try {
    await queue.empty();
    const globallyCompleted = new Set();
    const allDone = waitFor('every job to complete', 30000, (done) => {
      observer.on('global:completed', (jobId) => {
        globallyCompleted.add(String(jobId));
        if (globallyCompleted.size === JOBS) done();
      });
    });
    await observer.isReady();
    const attempts = new Map();
    const progress = [];
    queue.process(8, async (job) => {
      const n = (attempts.get(job.id) ?? 0) + 1;
      attempts.set(job.id, n);
      if (job.data.failTimes >= n) throw new Error(`attempt ${n} fails`);
      await job.progress(50);
      if (job.data.i === 0) progress.push(await job.progress());
      return { sent: job.data.i };
    });
    await queue.isReady();
    for (let i = 0; i < JOBS; i++) {
      await queue.add(
        { i, failTimes: i % 10 === 0 ? 2 : 0 },
        {
          delay: i % 7 === 0 ? 100 : 0,
          priority: (i % 3) + 1,
          attempts: 3,
          backoff: { type: 'fixed', delay: 20 },
        },
      );
    }
    const workers = await queue.getWorkers();
    assert.ok(workers.length >= 1, 'no worker found in CLIENT LIST');
    assert.ok(workers.every((w) => w.name === 'emails'), JSON.stringify(workers.map((w) => w.name)));
    await allDone;
    const counts = await queue.getJobCounts();
    assert.deepEqual(counts, { waiting: 0, active: 0, completed: JOBS, failed: 0, delayed: 0, paused: 0 });
    const retried = [...attempts.values()].filter((n) => n === 3).length;
    assert.equal(retried, JOBS / 10);
    assert.deepEqual(progress, [50]);
    const job = (await queue.getCompleted(0, 0))[0];
    assert.deepEqual(Object.keys(job.returnvalue), ['sent']);
  } finally {
    await queue.close();
    await observer.close();
  }
}
