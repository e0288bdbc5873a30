import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { allJobs } from '../support/redis-snapshot.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// A set re-routed in place is scanned while it changes: ZSCAN may return a rewritten entry again.
// Those are this run's own work, neither jobs scanned twice nor jobs "already routed" (issue 15).
const server = privateRedis();

const run = async (...args: string[]) => {
  const io = bufferIo();
  const code = await main(['node', 'sidekiq-migrate', 'run', '--redis', server.url(), '--rename', 'old=new', ...args], io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
};

async function seed(needMoving: number, alreadyRouted: number): Promise<void> {
  const redis = server.client();
  const pipeline = redis.pipeline();
  for (let i = 0; i < needMoving; i++) pipeline.zadd('schedule', String(2e9 + i), sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  for (let i = 0; i < alreadyRouted; i++) pipeline.zadd('schedule', String(2e9 + i), sidekiqPayload({ className: 'A', queue: 'new', args: `["r${i}"]` }));
  await pipeline.exec();
}

describe('counts of a set re-routed in place are jobs, not visits', () => {
  it.each([25, 100, 1000])('1,000 entries that all need moving: scanned 1000, moved 1000, already 0 at page size %i', async (pageSize) => {
    await seed(1000, 0);
    const before = await allJobs(server.client(), '');

    const { code, stdout } = await run('--no-queues', '--sets', 'schedule', '--page-size', String(pageSize), '--json');

    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.sets.schedule).toMatchObject({ scanned: 1000, moved: 1000, alreadyRouted: 0 });
    // Exactly the same entries, each with its score, only the queue value rewritten.
    const expected = before.map((job) => ({ ...job, payload: job.payload.replace('"queue":"old"', '"queue":"new"') }));
    const order = (jobs: typeof before) => jobs.map((j) => `${j.key} ${j.score} ${j.payload}`).sort();
    expect(order(await allJobs(server.client(), ''))).toEqual(order(expected));
    // The record of the run's rewrites served its scan and is gone.
    expect(await server.client().keys('*rewritten*')).toEqual([]);
  });

  it('jobs on their destination before the run are the only ones counted as already routed', async () => {
    await seed(1500, 300);

    const { code, stdout } = await run('--no-queues', '--sets', 'schedule', '--page-size', '50', '--json');

    expect(code).toBe(0);
    expect(JSON.parse(stdout).sets.schedule).toMatchObject({ scanned: 1800, moved: 1500, alreadyRouted: 300 });
  });
});
