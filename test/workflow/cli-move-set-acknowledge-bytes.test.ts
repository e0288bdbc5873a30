// `move` of schedule, retry and dead (issue #18): a set slice's acknowledge sent every member back
// to the source, as many bytes as its claim read. Now a slice whose every entry was written and
// none conflicted sends its claim's seal instead (acknowledgeSetBatch-10.lua). What the source
// receives (INFO stats total_net_input_bytes) says which: with 1.2 MB of entries, a move that
// sends them back received 1.69 MB; one that does not, 0.28–0.31 MB (the claims, the locks, the
// run's records of its progress, the connections' checks; it varies with the page tasks' timing).
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keysUnder } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const PER_SET = 100;
const padding = 'x'.repeat(4000);

/** What the server received from its clients since the last CONFIG RESETSTAT. */
async function bytesReceived(server: Redis): Promise<number> {
  return Number(/^total_net_input_bytes:(\d+)/m.exec(await server.info('stats'))![1]);
}

/** PER_SET entries of ~4 KB in each of schedule, retry and dead; every job as jobEntry prints it, and their bytes. */
async function seed(): Promise<{ expected: string[]; bytes: number }> {
  const expected: string[] = [];
  let bytes = 0;
  const seeding = redis.source().pipeline();
  for (const set of ['schedule', 'retry', 'dead']) {
    for (let i = 0; i < PER_SET; i++) {
      const payload = sidekiqPayload({ className: 'A', queue: 'default', args: `[${i},"${set}","${padding}"]` });
      const score = `${1795459303 + i}.5`;
      seeding.zadd(set, score, payload);
      expected.push(jobEntry(set, payload, score));
      bytes += Buffer.byteLength(payload);
    }
  }
  await seeding.exec();
  return { expected: expected.sort(), bytes };
}

describe('move: the set slices are acknowledged without sending their entries back', () => {
  it('every entry once on the target with its score, the source empty and without bookkeeping, and the source received far fewer bytes than the entries hold', async () => {
    const { expected, bytes } = await seed();
    expect(bytes).toBeGreaterThan(1_200_000);
    await redis.source().config('RESETSTAT');

    const { code, stdout } = await runCli('move', '--from', redis.urls().source, '--to', redis.urls().target, '--json', '--page-size', '25');

    const received = await bytesReceived(redis.source());
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ mode: 'transfer', complete: true, totals: { claimed: 3 * PER_SET, written: 3 * PER_SET, duplicates: 0, conflicts: 0 } });
    expect(await jobsIn(redis.target())).toEqual(expected);
    expect(await jobsIn(redis.source())).toEqual([]);
    // No in-flight set, batch id or seal left behind (the run's record of itself aside).
    expect((await keysUnder(redis.source())).filter((k) => /:(inflight|batch|seal|claim-chain):/.test(k))).toEqual([]);
    // The entries went out to the claims once; none came back (sent back, they alone would be `bytes`).
    expect(received).toBeLessThan(bytes / 2);
  });
});
