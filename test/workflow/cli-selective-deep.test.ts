import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// `move --classes` on a deep shared queue (audit-seldeep). Each slice's claim
// (claimSelectedQueueJobs-11.lua) reads, inside the source Redis, only what it needs to find the
// chosen jobs again: the window's span and 16 jobs on each side, or 33 jobs around each chosen job
// when they are few; version 8 read 2·(256 + window) + window jobs a call whatever it claimed.
// Checked here by what the claims asked Redis for (the LRANGEs a script runs, from SLOWLOG's
// arguments: no timing is read), on a quiet queue; and, with a producer and a fetcher working the
// queue all along, that every job ends exactly once and both sides keep their order.
const redis = privateSourceAndTarget();

const MOVING = 'RepositoryArchiveCacheWorker';
const STAYING = 'Namespaces::PruneAggregationSchedulesWorker';
const job = (className: string, tag: string, i: number) => sidekiqPayload({ className, args: `["${tag}",${i},"${'p'.repeat(200)}"]`, jid: `${tag === 'seed' ? 'a' : 'b'}${String(i).padStart(23, '0')}` });
const isMoving = (payload: string) => payload.includes(`"class":"${MOVING}"`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` jobs, one in `every` of the moving class, pushed oldest first (the oldest at the consumer end). */
async function seed(count: number, every: number): Promise<string[]> {
  const jobs = Array.from({ length: count }, (_, i) => job(i % every === every - 1 ? MOVING : STAYING, 'seed', i));
  for (let i = 0; i < jobs.length; i += 1000) await redis.source().lpush('queue:default', ...jobs.slice(i, i + 1000));
  await redis.source().sadd('queues', 'default');
  return jobs;
}

/** Oldest first: the consumer end (the tail) first. */
const oldestFirst = async (client: Redis) => (await client.lrange('queue:default', 0, -1)).reverse();

/** What the claims' scripts asked Redis for on the queue: each inner LRANGE's length (tail offsets, negative indices). */
async function claimReads(): Promise<{ lranges: number; jobs: number; claims: number }> {
  const log = (await redis.source().call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[], string][];
  let lranges = 0;
  let jobs = 0;
  let claims = 0;
  for (const [, , , args, client] of log) {
    // A claim call: EVALSHA with its seven keys (the in-flight index last), the first the queue.
    if (/^evalsha$/i.test(args[0]!) && args[2] === '7' && args[3] === 'queue:default') claims++;
    // A command a script ran (Redis logs them with no client address).
    if (client === '?:0' && args[0] === 'LRANGE' && args[1] === 'queue:default') {
      const [start, stop] = [Number(args[2]), Number(args[3])];
      expect(start < 0 && stop < 0, `a claim reads by tail offset: ${args.join(' ')}`).toBe(true);
      lranges++;
      jobs += stop - start + 1;
    }
  }
  return { lranges, jobs, claims };
}

describe('move --classes on a deep shared queue: what each claim reads inside Redis', { timeout: 300_000 }, () => {
  it.each([
    ['front', 40, []],
    ['front', 2, []],
    ['append', 40, ['--append']],
    ['append', 2, ['--append']],
  ] as const)('%s, one job in %i selected: the claims read the window and 16 on each side (or 33 around each chosen job), not 2·(256 + window) more; every job once, in order', async (_placement, every, flags) => {
    const pageSize = 200;
    const reads: { claims: number; jobs: number }[] = [];
    for (const count of [3000, 6000]) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      const seeded = await seed(count, every);
      await redis.source().config('SET', 'slowlog-max-len', '1000000');
      await redis.source().config('SET', 'slowlog-log-slower-than', '0');
      await redis.source().slowlog('RESET');
      const { code, stdout } = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', MOVING, '--page-size', String(pageSize), ...flags);
      await redis.source().config('SET', 'slowlog-log-slower-than', '10000');
      expect(code, stdout).toBe(0);
      expect(await oldestFirst(redis.target()), 'the selected jobs, once each, in their order').toEqual(seeded.filter(isMoving));
      expect(await oldestFirst(redis.source()), 'the others, untouched and in order').toEqual(seeded.filter((p) => !isMoving(p)));
      const { claims, jobs, lranges } = await claimReads();
      const windows = Math.ceil(count / pageSize);
      // A claim a window, one more at the end at most (the pass's last, empty window claims nothing: no call).
      expect(claims, 'one claim a window').toBeGreaterThanOrEqual(windows - 1);
      expect(claims).toBeLessThanOrEqual(windows + 1);
      expect(lranges, 'each claim found its jobs where it read them (no wider read)').toBeLessThanOrEqual(claims * Math.max(1, Math.ceil(pageSize / every)));
      // Dense: the span (≤ the window) and 16 a side; sparse: 33 around each of the ~pageSize/every chosen.
      const perClaim = every === 2 ? pageSize + 32 : Math.min(pageSize + 32, 2 * 33 * Math.ceil(pageSize / every));
      expect(jobs, `jobs read by the claims (${jobs} in ${claims} calls)`).toBeLessThanOrEqual(claims * perClaim);
      reads.push({ claims, jobs });
    }
    // Twice the queue, twice the reading (not four times): linear in the queue's length.
    expect(reads[1]!.jobs).toBeLessThanOrEqual(2.2 * reads[0]!.jobs);
  });
});

describe('move --classes on a deep shared queue while a producer pushes and a fetcher pops all along', { timeout: 300_000 }, () => {
  it.each([
    ['front', 40, []],
    ['front', 2, []],
    ['append', 40, ['--append']],
    ['append', 2, ['--append']],
  ] as const)('%s, one job in %i selected: every job exactly once (fetched, on the source or on the target), both sides in order, bytes kept', async (_placement, every, flags) => {
    const seeded = await seed(5000, every);
    const producerClient = redis.source().duplicate();
    const fetcherClient = redis.source().duplicate();
    const produced: string[] = [];
    const fetched: string[] = [];
    let running = true;
    let moving = true;
    let producedDuring = 0;
    let fetchedDuring = 0;
    const producer = (async () => {
      for (let i = 0; running && i < 3000; i++) {
        const payload = job(i % 2 === 0 ? MOVING : STAYING, 'produced', i);
        await producerClient.lpush('queue:default', payload);
        produced.push(payload);
        if (moving) producedDuring++;
        await sleep(2);
      }
    })();
    const fetcher = (async () => {
      while (running) {
        const payload = await fetcherClient.rpop('queue:default');
        if (payload !== null) {
          fetched.push(payload);
          if (moving) fetchedDuring++;
        }
        await sleep(2);
      }
    })();
    let result: { code: number; stdout: string };
    try {
      result = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--classes', MOVING, '--page-size', '200', ...flags);
      moving = false;
    } finally {
      running = false;
      await Promise.all([producer, fetcher]);
      producerClient.disconnect();
      fetcherClient.disconnect();
    }

    expect(result.code, result.stdout).toBe(0);
    expect(producedDuring, 'the producer pushed while the move ran').toBeGreaterThan(0);
    expect(fetchedDuring, 'the fetcher popped while the move ran').toBeGreaterThan(0);
    const onSource = await oldestFirst(redis.source());
    const onTarget = await oldestFirst(redis.target());
    const gone = new Set(fetched);
    expect(gone.size, 'no job fetched twice').toBe(fetched.length);
    // Exactly the jobs there were, once each, bytes and all.
    expect([...onSource, ...onTarget, ...fetched].sort()).toEqual([...seeded, ...produced].sort());
    // The fetcher took from the consumer end, in the queue's order.
    const queueOrder = [...seeded, ...produced];
    expect(fetched).toEqual(queueOrder.filter((p) => gone.has(p)));
    // Every selected job seeded that no fetcher took moved, in its order, and of what the producer
    // pushed only its earliest selected ones (those there when the pass began); nothing else.
    const movable = queueOrder.filter((p) => isMoving(p) && !gone.has(p));
    expect(onTarget).toEqual(movable.slice(0, onTarget.length));
    expect(onTarget.length, 'every seeded selected job not fetched moved').toBeGreaterThanOrEqual(seeded.filter((p) => isMoving(p) && !gone.has(p)).length);
    // Every other job stayed, in its order, with what arrived behind it.
    const moved = new Set(onTarget);
    expect(onSource).toEqual(queueOrder.filter((p) => !gone.has(p) && !moved.has(p)));
    expect(onSource.filter((p) => seeded.includes(p) && isMoving(p)), 'no seeded selected job left').toEqual([]);
  });
});
