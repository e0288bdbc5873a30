// A transfer run as the state machine runs it (plan, page tasks retried, summary), its Redis calls
// on either side cut at random — the process stopped before a call, or a call run and its reply
// lost —, several times an execution, while Sidekiq acts between our calls at random on both
// servers (the old fleet's poller, fetcher and a stale producer; the new fleet's fetcher). Failed
// executions are followed by another of the same run (or, after its locks expire, another run).
// Seeded PRNG, fixed seeds, bounded time. Every job seeded or produced ends exactly once, stored on
// one server (a set entry in its set at its exact score) or consumed, byte for byte; nothing is
// left in flight, and the last execution's summary says so.
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { RunLock } from '../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import { runWorkflowLocally } from '../../infra/local/run-workflow-locally.js';
import { expectEveryJobOnce, jobsIn, type SeededJob } from '../support/exact-jobs.js';
import { randomlyCut } from '../support/random-cuts.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { SidekiqSimulator } from '../support/sidekiq-simulator.js';
import { newJid, sidekiqPayload } from '../support/sidekiq-jobs.js';
import { faultsOverSeeds, prng } from '../support/seeded-random.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const NOW = 1_000_000;

async function seed(): Promise<SeededJob[]> {
  const source = redis.source();
  const seeded: SeededJob[] = [];
  for (const queue of ['default', 'low']) {
    for (let i = 0; i < 25; i++) {
      const payload = sidekiqPayload({ className: i % 4 === 3 ? 'B' : 'A', queue, jid: newJid(), args: `[${i}]` });
      await source.lpush(keys.queue(queue), payload);
      seeded.push({ payload });
    }
  }
  await source.sadd(keys.queues, 'default', 'low');
  for (const set of ['schedule', 'retry', 'dead'] as const) {
    for (let i = 0; i < 20; i++) {
      const payload = sidekiqPayload({ className: i % 4 === 1 ? 'B' : 'A', queue: i % 3 ? 'default' : 'low', jid: newJid(), args: `[${i},"${set}"]` });
      const score = String(i % 2 ? NOW - i : NOW + i + 0.5);
      await source.zadd(keys.sortedSet(set), score, payload);
      seeded.push({ payload, set: keys.sortedSet(set), score });
    }
  }
  return seeded;
}

/** `classes`: a class-selective transfer's (B's jobs stay on the source); absent: every job moves. */
async function trial(seedNumber: number, classes?: string[]): Promise<number> {
  const random = prng(seedNumber);
  await redis.source().flushall();
  await redis.target().flushall();
  const seeded = await seed();
  const { source: sourceUrl, target: targetUrl } = redis.urls();
  const oldFleet = new SidekiqSimulator(sourceUrl, keys, ['default', 'low']);
  const newFleet = new SidekiqSimulator(targetUrl, keys, ['default', 'low']);
  let faults = 0;
  try {
    const meddle = async () => {
      const r = random();
      if (r < 0.08) await oldFleet.pollOnce(NOW);
      else if (r < 0.14) await oldFleet.fetchOnce();
      else if (r < 0.17) await oldFleet.produceOnce('default', 'A');
      else if (r < 0.22) await newFleet.fetchOnce();
    };
    let runId = `w${seedNumber}-0`;
    let done = false;
    for (let execution = 0; execution < 8 && !done; execution++) {
      // This execution's faults: each call may be cut, about one call in `every`; the last execution none.
      const every = execution < 7 ? 15 + Math.floor(random() * 60) : Infinity;
      // One provider an execution, closed after it (a provider a call would exhaust maxclients).
      const connections = new UrlConnections({ source: { url: redis.urls().source }, target: { url: redis.urls().target } });
      const provider = randomlyCut(connections, random, every, meddle, () => void faults++);
      const executions = await runWorkflowLocally({ runId, mode: 'transfer', target: 'target', pageSize: 2 + Math.floor(random() * 9), sets: ['schedule', 'retry', 'dead'], ...(classes ? { classes } : {}) }, localTaskHandlers(provider), { retryIntervalMs: 0 }).finally(() => connections.close());
      // Done: the execution ended and its summary says the run is complete (failed items: run again).
      done = executions.every((e) => e.error === undefined && (e.output as RunSummary | undefined)?.complete === true);
      if (process.env.RANDOM_TRIAL_LOG) {
        const { renderSummary } = await import('../../cli/workflow/render-summary.js');
        for (const e of executions) console.log(seedNumber, execution, runId, every, e.error ?? '', e.output ? renderSummary(e.output as never, 'redis://s', { width: 200 }) : '');
        console.log('inflight', await redis.source().keys('sidekiq-migrate:*'));
      }
      if (!done && random() < 0.3) {
        // The failed run's locks expire (20 minutes): released here, as their expiry would.
        await RunLock.releaseIfHeld(redis.source(), '', runId);
        await RunLock.releaseIfHeld(redis.target(), '', runId);
        runId = `w${seedNumber}-${execution + 1}`;
      }
    }
    expect(done, `seed ${seedNumber}: the last execution ends`).toBe(true);
    expect(await redis.source().keys('sidekiq-migrate:*:inflight:*'), `seed ${seedNumber}: nothing in flight`).toEqual([]);
    expectEveryJobOnce({
      seeded,
      produced: oldFleet.producedPayloads,
      stored: [...(await jobsIn(redis.source())), ...(await jobsIn(redis.target()))],
      consumed: [...oldFleet.consumedPayloads, ...newFleet.consumedPayloads],
    });
    if (classes) expect((await jobsIn(redis.target())).filter((e) => Buffer.from(e.split('\t')[1]!, 'hex').toString().includes('"class":"B"')), `seed ${seedNumber}: B stays`).toEqual([]);
  } finally {
    oldFleet.close();
    newFleet.close();
  }
  return faults;
}

describe('a transfer through the state machine, its calls cut at random on both sides while Sidekiq acts at random', () => {
  it.each([['every class', undefined], ['class A only', ['A']]] as const)('%s: every job exactly once for each of the fixed seeds', { timeout: 600_000 }, async (_, selection) => {
    const faults = await faultsOverSeeds((seed) => trial(seed, selection ? [...selection] : undefined), 12, 30_000);
    expect(faults).toBeGreaterThan(5);
  });
});
