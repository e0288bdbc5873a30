import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { FatalError } from '../../../core/errors/sidekiq-migrate-error.js';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { readTargetId, targetIdKey } from '../../../core/transfer/target-identity.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../../support/exact-jobs.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { privateRedis, privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

// A run crashes after writing a slice to its target and before acknowledging it on the source:
// the slice is on the target AND in flight. Only that target's ledger knows it was written, so a
// later run against another target (or another prefix of the same one) must not write it again.
const redis = privateSourceAndTarget();
const other = privateRedis();
const keys = new SidekiqKeys('');
const jobs = [1, 2, 3].map((i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
const job = (i: number) => jobs[i - 1]!;
const ACKS = new Set([new LuaScript('acknowledgeQueueBatch-4').sha, new LuaScript('acknowledgeSetBatch-10').sha]);

const request = (source: Redis, target: Redis, runId: string, targetKeys = keys): TransferRunRequest => ({
  source,
  target,
  sourceKeys: keys,
  targetKeys,
  runId,
  dryRun: false,
  sets: ['schedule'],
  queues: true,
  sliceSize: 100,
  lockTtlMs: 1,
});

/**
 * Seeds 2 queued jobs and 1 scheduled one, then runs a transfer to `target` that dies before its
 * `nth` acknowledge (the set's is the first: sets go first).
 */
async function crashAfterWriting(target: Redis, targetKeys = keys, nth = 1): Promise<string[]> {
  const source = redis.source();
  await source.sadd('queues', 'a');
  await source.lpush('queue:a', job(1), job(2));
  await source.zadd('schedule', '1795459303.5', job(3));
  const seeded = await jobsIn(source);
  let acks = 0;
  const crashing = interferingRedis(source, (call) => {
    if (call.scripts.some((sha) => ACKS.has(sha)) && ++acks === nth) throw new SimulatedCrash('before the acknowledge');
  });
  await expect(runTransfer(request(crashing, target, 'first', targetKeys))).rejects.toThrow('before the acknowledge');
  return seeded;
}

describe('a resume writes jobs in flight only to the target they were claimed for', () => {
  it('refuses another Redis before writing anything; the first target finishes them, each once', async () => {
    const [source, first, second] = [redis.source(), redis.target(), other.client()];
    const seeded = await crashAfterWriting(first);
    // The crash left the scheduled entry written to the first target and still in flight.
    expect(await jobsIn(first)).toEqual([jobEntry('schedule', job(3), '1795459303.5')]);
    const before = { source: await keyValueSnapshot(source), second: await jobsIn(second) };
    await new Promise((resolve) => setTimeout(resolve, 5)); // the crashed run's lock (1 ms) has expired

    const refused = runTransfer(request(source, second, 'second'));

    await expect(refused).rejects.toBeInstanceOf(FatalError);
    await expect(refused).rejects.toThrow(/^1 job\(s\) are in flight from an interrupted transfer \(run first\) to another target than this one \(target id [\w-]{16}; this one is [\w-]{16}: a Redis that lost its data, restarted empty or flushed, is named anew, so it may be that one\)\. They may already be written there/);
    expect(await keyValueSnapshot(source)).toEqual(before.source);
    expect(await jobsIn(second)).toEqual(before.second);

    await runTransfer(request(source, first, 'third'));

    expect(await jobsIn(first)).toEqual(seeded);
    expect(await jobsIn(source)).toEqual([]);
  });

  it('refuses another prefix of the same Redis: its ledger is another one', async () => {
    const [source, first] = [redis.source(), redis.target()];
    const seeded = await crashAfterWriting(first);
    await new Promise((resolve) => setTimeout(resolve, 5));

    await expect(runTransfer(request(source, first, 'second', new SidekiqKeys('other:')))).rejects.toThrow(/are in flight from an interrupted transfer \(run first\) to another target/);
    expect(await jobsIn(first, 'other:')).toEqual([]);

    await runTransfer(request(source, first, 'third'));
    expect(await jobsIn(first)).toEqual(seeded);
  });

  it('names each target once and keeps the name: the batches of one run all carry it', async () => {
    const [source, first] = [redis.source(), redis.target()];
    // The set's slice is acknowledged (its batch gone), the queue's is in flight.
    await crashAfterWriting(first, keys, 2);
    const id = await readTargetId(first, keys);

    expect(id).toMatch(/^[\w-]{16}$/);
    expect(await first.ttl(targetIdKey(keys))).toBe(-1);
    expect(await source.keys('sidekiq-migrate:first:batch:*')).toEqual(['sidekiq-migrate:first:batch:queue:a']);
    expect(await source.get('sidekiq-migrate:first:batch:queue:a')).toMatch(new RegExp(`^[\\w-]{16}@${id}$`));
    expect(await first.smembers('sidekiq-migrate:first:ledger:schedule')).toEqual([expect.stringMatching(new RegExp(`^[\\w-]{16}@${id}:[0-9a-f]{40}$`))]);

    await new Promise((resolve) => setTimeout(resolve, 5));
    await runTransfer(request(source, first, 'second'));
    expect(await readTargetId(first, keys)).toBe(id);
  });

  it('a dry run against another target says so too, and writes nothing on either side', async () => {
    const [source, first, second] = [redis.source(), redis.target(), other.client()];
    await crashAfterWriting(first);
    const before = { source: await keyValueSnapshot(source), second: await keyValueSnapshot(second) };

    await expect(runTransfer({ ...request(source, second, 'dry'), dryRun: true })).rejects.toThrow(/this one is not named yet: a Redis that lost its data, restarted empty or flushed, is named anew, so it may be that one\)/);
    expect(await keyValueSnapshot(source)).toEqual(before.source);
    expect(await keyValueSnapshot(second)).toEqual(before.second);
  });
});
