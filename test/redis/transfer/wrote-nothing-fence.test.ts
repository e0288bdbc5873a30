// A WAIT after a step whose own call wrote nothing (a retried copy whose jobs the run's ledger
// already had; a claim that only returned jobs an earlier attempt left in flight) covers a fence
// written first on the connection it runs on. Why: Redis 7.2 and later (Valkey too) move a
// connection's WAIT offset only with a command that replicated something, so such a WAIT waited
// for this socket's last write, older than the copy it is to cover, or for nothing at all on a
// socket opened again since the page took its locks: it answered at once, every replica counted,
// and the source acknowledged jobs the target's replica lacked. (The Redis 7.0 these tests run
// moves the offset with every command, so there the copy's own call covered it: the user-level
// scenario is test/workflow/move-page-retry-fence.test.ts, which holds on 7.0 either way.) A step
// that wrote sends no fence: no round trip is added on the normal path.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyKept } from '../../../core/transfer/copy-kept.js';
import { claimReplicated } from '../../../core/transfer/replicated-steps.js';
import { emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';
import { type RedisServerHandle, startRedisServers } from '../../support/redis-server.js';
import { startReplica, type ReplicaHandle } from '../../support/replica.js';

let primary: RedisServerHandle;
let replica: ReplicaHandle;
let redis: Redis;
const sent: string[] = [];

beforeAll(async () => {
  [primary] = (await startRedisServers([])) as [RedisServerHandle];
  replica = await startReplica(primary);
  redis = new Redis(primary.url, { protocol: 2 });
  // Every WAIT this connection sends, in order with the fences.
  const call = redis.call.bind(redis) as (...args: unknown[]) => Promise<unknown>;
  (redis as unknown as { call: (...args: unknown[]) => Promise<unknown> }).call = (...args: unknown[]) => {
    if (String(args[0]).toUpperCase() === 'WAIT') sent.push('WAIT');
    return call(...args);
  };
}, 60_000);

afterAll(async () => {
  redis.disconnect();
  await replica.stop();
  await primary.stop();
});

/** Both sides on the one server with a replica; a fence is a real write on it, logged. */
function context() {
  const fence = async () => {
    sent.push('fence');
    await redis.set('fence', String(Date.now()));
    return true;
  };
  return { source: redis, target: redis, sourceName: 'source', targetName: 'target', replicationFences: { source: fence, target: fence } };
}

describe('a WAIT after a call that wrote nothing covers a fence', () => {
  it('a copy whose jobs the ledger already had (all duplicates): the fence, then WAIT, confirmed', async () => {
    sent.length = 0;
    const counters = emptyTransferCounters();
    await copyKept(context(), 'queue:default', 3, counters, async () => void (counters.duplicates += 3), () => async () => true);
    expect(sent).toEqual(['fence', 'WAIT']);
  });

  it('a copy that wrote its jobs: one WAIT, no fence (no round trip added)', async () => {
    sent.length = 0;
    const counters = emptyTransferCounters();
    await copyKept(context(), 'queue:default', 3, counters, async () => {
      await redis.set('copied', '3');
      counters.written += 3;
    }, () => async () => true);
    expect(sent).toEqual(['WAIT']);
  });

  it('a copy that wrote some (the rest were duplicates): one WAIT, no fence', async () => {
    sent.length = 0;
    const counters = emptyTransferCounters();
    await copyKept(context(), 'queue:default', 3, counters, async () => {
      await redis.set('copied', '1');
      counters.written += 1;
      counters.duplicates += 2;
    }, () => async () => true);
    expect(sent).toEqual(['WAIT']);
  });

  it('a claim that claimed nothing new: the fence, then WAIT; one that claimed: WAIT alone', async () => {
    sent.length = 0;
    await claimReplicated(context(), 'queue:default', undefined, true);
    expect(sent).toEqual(['fence', 'WAIT']);
    sent.length = 0;
    await claimReplicated(context(), 'queue:default', undefined, false);
    expect(sent).toEqual(['WAIT']);
  });

  it('a copy that wrote nothing, with no fence to write: waits as before (one WAIT)', async () => {
    sent.length = 0;
    const counters = emptyTransferCounters();
    const { replicationFences: _, ...bare } = context();
    await copyKept(bare, 'queue:default', 3, counters, async () => void (counters.duplicates += 3), () => async () => true);
    expect(sent).toEqual(['WAIT']);
  });
});
