// `move` of queues (issue #18): the target's ledger recorded one id a job (an SADD and an
// SMISMEMBER of it in every write, every id held until the ledger's TTL). It now keeps one number
// a batch, how many of its jobs are written (copyJobsToLists-n4.lua: a batch is written in order).
// What the target ran (INFO commandstats) and holds afterwards says which.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keysUnder } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const PER_QUEUE = 600;

/** Calls of one command since the last CONFIG RESETSTAT (scripts' own commands included). */
async function calls(server: Redis, command: string): Promise<number> {
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(await server.info('commandstats'))?.[1] ?? 0);
}

/** PER_QUEUE jobs in each of two queues, every tenth twice (the same bytes: two jobs); every job as jobEntry prints it, and each list. */
async function seed(): Promise<{ expected: string[]; lists: Record<string, string[]> }> {
  const expected: string[] = [];
  const seeding = redis.source().pipeline();
  for (const queue of ['default', 'mailers']) {
    for (let i = 0; i < PER_QUEUE; i++) {
      const payload = sidekiqPayload({ className: 'A', queue, args: `[${i - (i % 10 === 1 ? 1 : 0)}]` });
      seeding.lpush(`queue:${queue}`, payload);
      expected.push(jobEntry(`queue:${queue}`, payload));
    }
    seeding.sadd('queues', queue);
  }
  await seeding.exec();
  const lists = { default: await redis.source().lrange('queue:default', 0, -1), mailers: await redis.source().lrange('queue:mailers', 0, -1) };
  return { expected: expected.sort(), lists };
}

describe('move: a queue ledger by position', () => {
  it('every job once on the target in the source order, twins both; the ledgers hold one number a batch and no job id was sent or checked', async () => {
    const { expected, lists } = await seed();
    await redis.target().config('RESETSTAT');

    const { code, stdout } = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json', '--page-size', '250');

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ mode: 'transfer', complete: true, totals: { claimed: 2 * PER_QUEUE, written: 2 * PER_QUEUE, duplicates: 0 } });
    expect(await jobsIn(redis.target())).toEqual(expected);
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual(lists.default);
    expect(await redis.target().lrange('queue:mailers', 0, -1)).toEqual(lists.mailers);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect((await keysUnder(redis.source())).filter((k) => /:(inflight|batch|claim-chain):/.test(k))).toEqual([]);
    // One number a batch (slices of 250: 250, 250, 100 a queue), given its TTL at the end.
    const ledgers = (await keysUnder(redis.target())).filter((k) => k.includes(':ledger:')).sort();
    expect(ledgers).toEqual([expect.stringMatching(/:ledger:queue:default$/), expect.stringMatching(/:ledger:queue:mailers$/)]);
    for (const ledger of ledgers) {
      expect(await redis.target().type(ledger)).toBe('hash');
      expect(Object.values(await redis.target().hgetall(ledger)).map(Number).sort((a, b) => b - a)).toEqual([250, 250, 100]);
      expect(await redis.target().ttl(ledger)).toBeGreaterThan(0);
    }
    // No id a job: neither recorded nor looked up.
    // `queues` and the target's index of ledgers (ledger-index.ts), once each a call.
    expect(await calls(redis.target(), 'sadd')).toBeLessThan(2 * (2 * PER_QUEUE / 50) + 10);
    expect(await calls(redis.target(), 'smismember')).toBe(0);
  });
});
