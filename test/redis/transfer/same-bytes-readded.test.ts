import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { transferSetSlice } from '../../../core/transfer/set-transfer.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobEntry, keysUnder } from '../../support/exact-jobs.js';

// A sorted set cannot hold the same bytes twice: a producer (or Sidekiq's retry handler) that adds
// to the source set the exact bytes of an entry this run holds in flight, or held in the same
// batch, makes two jobs of one member name. Neither may be merged into the other or taken for the
// other on the target.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const ACKNOWLEDGE = new LuaScript('acknowledgeSetBatch-10').sha;

const job = (name: string) => sidekiqPayload({ className: 'W', queue: 'default', args: `["${name}"]`, jid: `${name}`.padEnd(24, '0') });

function request(source: Redis, onPage?: TransferRunRequest['onPage'], classes?: readonly string[]): TransferRunRequest {
  return { source, target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'readded', dryRun: false, sets: ['schedule'], queues: [], sliceSize: 1, ...(onPage ? { onPage } : {}), ...(classes ? { classes } : {}) };
}

/** Every copy of every job on both servers, in-flight keys included, as `where \t payload \t score`. */
async function everyCopy(): Promise<string[]> {
  const copies: string[] = [];
  for (const [side, client] of [['source', redis.source()], ['target', redis.target()]] as const) {
    for (const key of await keysUnder(client)) {
      if ((await client.type(key)) !== 'zset' || key.includes(':conflicts:')) continue;
      const flat = await client.zrangeBuffer(key, 0, '-1', 'WITHSCORES');
      const where = key.includes(':inflight:') ? `${side} in flight` : `${side} ${key}`;
      for (let i = 0; i < flat.length; i += 2) copies.push(jobEntry(where, flat[i]!).replace(/\t$/, ''));
    }
  }
  return copies.sort();
}
const copy = (where: string, payload: string) => jobEntry(where, payload).replace(/\t$/, '');

describe('the same bytes added back to the source set while the run holds them', () => {
  it.each([['every class', undefined], ['class-selective', ['W']]] as const)('%s: a conflict kept in flight (its bytes back on the source) is not merged with them by the next claim', async (_label, classes) => {
    const [c, x] = [job('c'), job('x')];
    await redis.target().zadd('schedule', '100', c); // the conflict: already on the target
    await redis.source().zadd('schedule', '10', c, '20', x);
    let readded = false;
    const source = interferingRedis(redis.source(), async ({ scripts }) => {
      if (!readded && scripts.includes(ACKNOWLEDGE)) {
        readded = true;
        await redis.source().zadd('schedule', '5', c); // a producer adds the same bytes again
      }
    });

    await runTransfer(request(source, undefined, classes));

    // Two jobs of bytes c on the source side (one on the set, one kept in flight), one on the target.
    expect(await everyCopy()).toEqual([copy('source in flight', c), copy('source schedule', c), copy('target schedule', c), copy('target schedule', x)].sort());
  });

  it.each([['every class', undefined], ['class-selective', ['W']]] as const)('%s: an entry written and acknowledged, then added again while its batch lives on, is not taken for the one written', async (_label, classes) => {
    const [c, x, y] = [job('c'), job('x'), job('y')];
    await redis.target().zadd('schedule', '100', c);
    await redis.source().zadd('schedule', '10', c, '20', x, '30', y, '40', job('z'));
    let [readdedC, readdedX] = [false, false];
    const source = interferingRedis(redis.source(), async ({ scripts }) => {
      if (!readdedC && scripts.includes(ACKNOWLEDGE)) {
        readdedC = true;
        await redis.source().zadd('schedule', '5', c); // keeps c in flight: its batch lives on
      }
      // Once x was written and acknowledged (on the target, gone from the source and from flight), a producer adds its exact bytes again.
      if (!readdedX && (await redis.target().zscore('schedule', x)) !== null && (await redis.source().zscore('schedule', x)) === null) {
        const [inflight] = await keysUnder(redis.source(), 'sidekiq-migrate:readded:inflight:');
        if (inflight === undefined || (await redis.source().zscore(inflight, x)) === null) {
          readdedX = true;
          await redis.source().zadd('schedule', '35', x);
        }
      }
    });

    await runTransfer(request(source, undefined, classes));
    expect(readdedX).toBe(true);
    await runTransfer({ ...request(redis.source()), runId: 'again' });

    // x was there twice (once, then added again): once on the target, once back on the source as a
    // conflict (the target holds its bytes). c three times: the target's, the one kept in flight
    // (its bytes on the source when it was to be given back), the one added again.
    expect(await everyCopy()).toEqual(
      [copy('source in flight', c), copy('source schedule', c), copy('target schedule', c), copy('source schedule', x), copy('target schedule', x), copy('target schedule', y), copy('target schedule', job('z'))].sort(),
    );
  });

  it('a retried page task claims into the batch, the first attempt acknowledges, the same bytes come back: the next slice writes them', async () => {
    const [x, y] = [job('x'), job('y')];
    await redis.source().zadd('schedule', '10', x, '20', y);
    const slice = (source: Redis, target: Redis) => transferSetSlice({ source, target, sourceKeys: keys, targetKeys: keys, runId: 'readded', dryRun: false, cursor: null, sliceSize: 1, set: 'schedule' });
    // The retry claims y into the first attempt's batch (x in flight), then dies before writing.
    const dyingTarget = interferingRedis(redis.target(), () => {
      throw new SimulatedCrash('retry gone');
    });
    let retried: unknown;
    const first = interferingRedis(redis.source(), async ({ scripts }) => {
      if (retried === undefined && scripts.includes(ACKNOWLEDGE)) retried = await slice(redis.source(), dyingTarget).catch((error: Error) => error);
    });
    await slice(first, redis.target()); // writes x, acknowledges it: y stays in flight, the batch lives on
    expect((retried as Error).cause).toBeInstanceOf(SimulatedCrash);
    await redis.source().zadd('schedule', '5', x); // a producer adds x's exact bytes again

    await slice(redis.source(), redis.target()); // the next slice of the run: y in flight, and x on the source
    await runTransfer({ ...request(redis.source()), runId: 'again' });

    // x twice (once, then again): once on the target, and once back on the source as a conflict
    // (the target set holds its bytes already); y once, on the target. Nothing in flight.
    expect(await everyCopy()).toEqual([copy('source schedule', x), copy('target schedule', x), copy('target schedule', y)].sort());
  });
});
