// The source's index of in-flight keys (core/transfer/inflight-index.ts) against a claim landing
// between the two round trips of forgetGoneInflightKeys (its SMEMBERS, then its Lua call): the
// name read while the key was gone is looked at again, with the key, in the call that would take it
// out, so a key the claim filled meanwhile keeps its name, and a summary's look at that Redis as a
// transfer's target (the index marked `walked`) finds its jobs in flight. Ruled out, not a fix.
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { claimQueueSlice } from '../../../core/transfer/claim-calls.js';
import { forgetGoneInflightKeys, INFLIGHT_WALKED, inflightIndexKey, lookForInflightKeys, readInflightIndex } from '../../../core/transfer/inflight-index.js';
import { newBatchId } from '../../../core/transfer/ledger-id.js';
import { batchKey, claimChainKey, inflightKey, originalsKey } from '../../../core/transfer/transfer-keys.js';
import { runLockKey, runStopMarkerKey } from '../../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { connectShared, sharedRedisUrl, uniquePrefix } from '../../support/redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = connectShared();

describe('the in-flight index and a claim between the two round trips of forgetGoneInflightKeys', () => {
  it("a name read while its key was gone stays when a claim filled the key before the take-out call; the target's look finds the jobs", async () => {
    const prefix = uniquePrefix();
    const key = inflightKey(prefix, 'r', 'queue:default');
    const index = inflightIndexKey(prefix);
    // A batch acknowledged earlier: the name stays, the key is gone. The index marked walked.
    await redis.sadd(index, key, INFLIGHT_WALKED);
    await redis.lpush(`${prefix}queue:default`, ...[1, 2, 3].map((i) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]` })));
    const claim = () =>
      claimQueueSlice(
        redis,
        { queue: `${prefix}queue:default`, inflight: key, batch: batchKey(prefix, 'r', 'queue:default'), chain: claimChainKey(prefix, 'r', 'queue:default'), stopMarker: runStopMarkerKey(prefix, 'r'), lock: runLockKey(prefix), originals: originalsKey(prefix, 'r', 'queue:default'), inflightIndex: index },
        { want: 3, newBatch: newBatchId(), runId: 'r', newest: false, remaining: 3, originalsCount: 'start' },
      );
    // The forgetting client: its SMEMBERS answers, then the claim runs, then its Lua call.
    const forgetting = new Redis(sharedRedisUrl('source'), { protocol: 2, maxRetriesPerRequest: 1 });
    try {
      const read = forgetting.smembersBuffer.bind(forgetting);
      let claimed = 0;
      forgetting.smembersBuffer = (async (k: string) => {
        const members = await read(k);
        claimed = (await claim()).claimed;
        return members;
      }) as typeof forgetting.smembersBuffer;
      const gone = await forgetGoneInflightKeys(forgetting, prefix);

      expect([claimed, gone]).toEqual([3, 0]);
      expect((await readInflightIndex(redis, prefix)).names.map(String)).toEqual([String(key)]);
      const look = await lookForInflightKeys(redis, new SidekiqKeys(prefix), {}, { mark: true });
      expect([look.walked, look.inflight.map((l) => [l.key, l.size])]).toEqual([false, [[String(key), 3]]]);
    } finally {
      forgetting.disconnect();
    }
  });
});
