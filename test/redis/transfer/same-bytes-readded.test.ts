import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { jobEntry, keysUnder } from '../../support/exact-jobs.js';

// A sorted set cannot hold the same bytes twice: a producer (or Sidekiq's retry handler) that adds
// to the source set the exact bytes of an entry this run holds in flight, or held in the same
// batch, makes two jobs of one member name. Neither may be merged into the other or taken for the
// other on the target.
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const ACKNOWLEDGE = new LuaScript('acknowledgeSetBatch-5').sha;

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
});
