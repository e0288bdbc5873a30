import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { renameRoutingPlan } from '../../../core/routing/routing-plan.js';
import { setEntryId } from '../../../core/transfer/ledger-id.js';
import { findInflightLeftovers, resumeInflight } from '../../../core/transfer/resume-inflight.js';
import { emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';
import type { TransferContext } from '../../../core/transfer/transfer-options.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

// What an interrupted run leaves, built by hand: an in-flight key with the batch id beside it on
// the source, and on the target its ledger of the entries already written (ledger-id.ts).
const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');
const latin1 = (text: string) => Buffer.from(text, 'latin1');
const job = (i: number, queue = 'default') => sidekiqPayload({ className: 'A', queue, args: `[${i}]`, jid: `${'0'.repeat(22)}${String(i).padStart(2, '0')}` });
const WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';
const activeJob = (queue: string) => sidekiqPayload({ className: WRAPPER, wrapped: 'W', queue, args: `[{"job_class":"W","queue_name":"${queue}","arguments":[]}]`, jid: 'aj'.repeat(12) });

function context(overrides: Partial<TransferContext> = {}): TransferContext {
  return { source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'resumer', dryRun: false, ledgerTtlSeconds: 1000, ...overrides };
}

/**
 * A queue batch of run `old`, claimed as [job 1, job 2, job 3] at positions 4–6; job 1 was written:
 * its ledger counts 5 of batch B written (by position), or, `byId`, holds the ids an older version
 * recorded (that version acknowledged positions 0–3 with ids of their own, no longer needed here).
 */
async function leaveQueueBatch(byId = true): Promise<void> {
  await redis.source().rpush('sidekiq-migrate:old:inflight:queue:default', job(1), job(2), job(3));
  await redis.source().set('sidekiq-migrate:old:batch:queue:default', 'B+4');
  if (byId) await redis.target().sadd('sidekiq-migrate:old:ledger:queue:default', 'B:4');
  else await redis.target().hset('sidekiq-migrate:old:ledger:queue:default', 'B', 5);
  // The target's backlog, then job 1 as the crashed run pushed it (front placement: RPUSH).
  await redis.target().rpush('queue:default', job(99), job(1));
}

async function expectNothingLeftOnSource(): Promise<void> {
  expect(await redis.source().keys('*')).toEqual([]);
}

async function ledgerOf(key: string): Promise<{ ids: string[]; ttl: number }> {
  return { ids: (await redis.target().smembers(key)).sort(), ttl: await redis.target().ttl(key) };
}

/** A queue ledger by position: batch id → jobs written. */
async function countsOf(key: string): Promise<Record<string, string>> {
  return redis.target().hgetall(key);
}

describe('resuming what an interrupted run left in flight', () => {
  it('writes a queue batch through the claiming run\'s ledger, only what it does not know, ahead of the backlog', async () => {
    await leaveQueueBatch();

    const counters = await resumeInflight(context());

    expect(counters).toEqual({ ...emptyTransferCounters(), resumed: 3, duplicates: 1, written: 2, writtenTo: { default: 2 } });
    // Fetched from the right: job 1, 2, 3 (claim order), then the backlog.
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual([job(99), job(1), job(2), job(3)]);
    expect(await redis.target().smembers('queues')).toEqual(['default']);
    await expectNothingLeftOnSource();
    const ledger = await ledgerOf('sidekiq-migrate:old:ledger:queue:default');
    expect(ledger.ids).toEqual(['B:4', 'B:5', 'B:6']);
    expect(ledger.ttl).toBeGreaterThan(990);
    expect(ledger.ttl).toBeLessThanOrEqual(1000);
  });

  it('the same through a ledger by position (how many of the batch are written): only what it does not count', async () => {
    await leaveQueueBatch(false);

    const counters = await resumeInflight(context());

    expect(counters).toEqual({ ...emptyTransferCounters(), resumed: 3, duplicates: 1, written: 2, writtenTo: { default: 2 } });
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual([job(99), job(1), job(2), job(3)]);
    await expectNothingLeftOnSource();
    expect(await countsOf('sidekiq-migrate:old:ledger:queue:default')).toEqual({ B: '7' });
    expect(await redis.target().ttl('sidekiq-migrate:old:ledger:queue:default')).toBeGreaterThan(990);
  });

  it('behind the backlog with append placement', async () => {
    await leaveQueueBatch();

    const counters = await resumeInflight(context(), 'append');

    expect(counters).toMatchObject({ resumed: 3, duplicates: 1, written: 2 });
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual([job(3), job(2), job(99), job(1)]);
    await expectNothingLeftOnSource();
  });

  it('gives a ledger the default TTL (7 days) when the run sets none', async () => {
    await leaveQueueBatch();

    await resumeInflight(context({ ledgerTtlSeconds: undefined }));

    expect((await ledgerOf('sidekiq-migrate:old:ledger:queue:default')).ttl).toBeGreaterThan(7 * 24 * 3600 - 10);
  });

  it('re-routes on the way, ActiveJob\'s queue_name included unless told not to', async () => {
    const plan = renameRoutingPlan(new Map([['old', 'new']]));
    for (const rewrite of [undefined, false]) {
      await redis.source().flushall();
      await redis.target().flushall();
      await redis.source().rpush('sidekiq-migrate:old:inflight:queue:old', job(1, 'old'), activeJob('old'));
      await redis.source().set('sidekiq-migrate:old:batch:queue:old', 'B');

      const counters = await resumeInflight(context({ plan, rewriteActiveJobQueueName: rewrite }));

      expect(counters).toEqual({ ...emptyTransferCounters(), resumed: 2, written: 2, rerouted: 2, writtenTo: { new: 2 } });
      const queueName = rewrite === false ? 'old' : 'new';
      expect(await jobsIn(redis.target())).toEqual(
        [jobEntry('queue:new', job(1, 'new')), jobEntry('queue:new', activeJob('new').replace('"queue_name":"new"', `"queue_name":"${queueName}"`))].sort(),
      );
      expect(await redis.target().smembers('queues')).toEqual(['new']);
      expect(await countsOf('sidekiq-migrate:old:ledger:queue:old')).toEqual({ B: '2' });
      await expectNothingLeftOnSource();
    }
  });

  it('adopts a batch left without a batch id (an older version) into a new batch: written in full, acknowledged', async () => {
    await redis.source().rpush('sidekiq-migrate:old:inflight:queue:default', job(1), job(2));
    await redis.source().zadd('sidekiq-migrate:old:inflight:dead', '5.5', job(3));

    const counters = await resumeInflight(context());

    expect(counters).toMatchObject({ resumed: 3, written: 3, duplicates: 0 });
    const queueCounts = Object.entries(await countsOf('sidekiq-migrate:old:ledger:queue:default'));
    expect(queueCounts).toEqual([[expect.stringMatching(/^[A-Za-z0-9_-]{16}$/), '2']]);
    expect((await ledgerOf('sidekiq-migrate:old:ledger:dead')).ids).toEqual([expect.stringMatching(/^[A-Za-z0-9_-]{16}:[0-9a-f]{40}$/)]);
    expect(await jobsIn(redis.target())).toEqual([jobEntry('queue:default', job(1)), jobEntry('queue:default', job(2)), jobEntry('dead', job(3), '5.5')].sort());
    expect(await redis.target().lrange('queue:default', 0, -1)).toEqual([job(1), job(2)]);
    // Acknowledged: a later resume finds nothing.
    await expectNothingLeftOnSource();
  });

  it('a queue whose name is not UTF-8: its exact key bytes, on both sides and in `queues`', async () => {
    await redis.source().rpush(latin1('sidekiq-migrate:old:inflight:queue:caf\xe9'), job(1));
    await redis.source().set(latin1('sidekiq-migrate:old:batch:queue:caf\xe9'), 'B');

    const counters = await resumeInflight(context());

    expect(counters).toMatchObject({ resumed: 1, written: 1 });
    expect(await redis.target().lrangeBuffer(latin1('queue:caf\xe9'), 0, -1)).toEqual([Buffer.from(job(1))]);
    expect(await redis.target().smembersBuffer('queues')).toEqual([latin1('caf\xe9')]);
    expect(await redis.target().hgetall(latin1('sidekiq-migrate:old:ledger:queue:caf\xe9'))).toEqual({ B: '1' });
    await expectNothingLeftOnSource();
  });

  it('finishes a set batch: known entries not again, conflicts back to the source set with their scores', async () => {
    const [known, fresh, conflicting] = [job(1), job(2), job(3)];
    await redis.source().zadd('sidekiq-migrate:old:inflight:retry', '10.5', known, '20.25', fresh, '30', conflicting);
    await redis.source().set('sidekiq-migrate:old:batch:retry', 'S');
    await redis.target().sadd('sidekiq-migrate:old:ledger:retry', setEntryId('S', Buffer.from(known)));
    await redis.target().zadd('retry', '10.5', known, '99', conflicting);

    const counters = await resumeInflight(context());

    expect(counters).toEqual({
      ...emptyTransferCounters(),
      resumed: 3,
      duplicates: 1,
      written: 1,
      conflicts: 1,
      conflictSamples: [{ jid: '000000000000000000000003', className: 'A', reason: 'already in retry on the target' }],
      writtenTo: { retry: 1 },
    });
    expect(await jobsIn(redis.target())).toEqual([jobEntry('retry', known, '10.5'), jobEntry('retry', fresh, '20.25'), jobEntry('retry', conflicting, '99')].sort());
    expect(await jobsIn(redis.source())).toEqual([jobEntry('retry', conflicting, '30')]);
    // Recorded for the resuming run, whose pass over the set then steps over it (not counted twice).
    expect(await redis.source().keys('sidekiq-migrate:*')).toEqual(['sidekiq-migrate:resumer:conflicts:retry']);
    const ledger = await ledgerOf('sidekiq-migrate:old:ledger:retry');
    expect(ledger.ids).toEqual([setEntryId('S', Buffer.from(known)), setEntryId('S', Buffer.from(fresh))].sort());
    expect(ledger.ttl).toBeGreaterThan(990);
  });

  it('leaves alone what is no in-flight key of a shape it writes, and a dry run leaves everything, counting what a run would finish', async () => {
    const source = redis.source();
    await source.rpush('sidekiq-migrate:old:inflight:retry', job(1)); // a list for a set
    await source.zadd('sidekiq-migrate:old:inflight:queue:z', '1', job(2)); // a set for a queue
    await source.zadd('sidekiq-migrate:old:inflight:other', '1', job(3)); // no Sidekiq set
    await source.set('sidekiq-migrate:old:inflight:dead', job(4)); // a string
    await source.rpush('sidekiq-migrate:a:b:inflight:queue:x', job(5)); // the pattern's, not a run id
    await source.rpush('sidekiq-migrate:old:batch:queue:y', job(6));
    const before = [await keyValueSnapshot(source, ''), await keyValueSnapshot(redis.target(), '')];

    expect(await resumeInflight(context())).toEqual(emptyTransferCounters());
    expect([await keyValueSnapshot(source, ''), await keyValueSnapshot(redis.target(), '')]).toEqual(before);

    await leaveQueueBatch();
    const withLeftovers = [await keyValueSnapshot(source, ''), await keyValueSnapshot(redis.target(), '')];
    // The three jobs of the queue's batch; none of the keys of other shapes.
    expect(await resumeInflight(context({ dryRun: true }))).toEqual({ ...emptyTransferCounters(), resumed: 3 });
    expect([await keyValueSnapshot(source, ''), await keyValueSnapshot(redis.target(), '')]).toEqual(withLeftovers);
  });

  it('names the key it was resuming when Redis refuses, and what it was doing when the search fails', async () => {
    await redis.source().rpush('sidekiq-migrate:old:inflight:queue:default', job(1));
    await redis.source().rpush('sidekiq-migrate:old:batch:queue:default', 'not a string');

    await expect(resumeInflight(context())).rejects.toThrow(/^Resuming sidekiq-migrate:old:inflight:queue:default: /);
    expect(await redis.target().keys('*')).toEqual([]);

    const failing = interferingRedis(redis.source(), ({ command }) => {
      if (command === 'scanBuffer') throw new Error('connection reset');
    });
    await expect(resumeInflight(context({ source: failing }))).rejects.toThrow('Looking for in-flight jobs of interrupted transfers: connection reset');
  });
});

describe('finding in-flight keys', () => {
  it('finds every run\'s, under the prefix, with their type and size, among many other keys', async () => {
    const source = redis.source();
    const pipeline = source.pipeline();
    for (let i = 0; i < 3000; i++) pipeline.set(`p:other:${i}`, '1');
    await pipeline.exec();
    await source.rpush('p:sidekiq-migrate:r1:inflight:queue:default', 'a', 'b');
    await source.rpush(latin1('p:sidekiq-migrate:r1:inflight:queue:caf\xe9'), 'a');
    await source.zadd('p:sidekiq-migrate:r2:inflight:retry', '1', 'a', '2', 'b', '3', 'c');
    await source.set('p:sidekiq-migrate:r2:inflight:dead', 'x');
    await source.rpush('sidekiq-migrate:r3:inflight:queue:default', 'a'); // another prefix
    await source.rpush('p:sidekiq-migrate:a:b:inflight:queue:x', 'a');

    const found = await findInflightLeftovers({ source: interferingRedis(source, () => {}), sourceKeys: new SidekiqKeys('p:') });

    const cafe = `queue:${'\u0000'}${latin1('caf\xe9').toString('base64')}`;
    expect(found.sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual([
      { key: `p:sidekiq-migrate:r1:inflight:${cafe}`, runId: 'r1', sourceKey: cafe, type: 'list', size: 1 },
      { key: 'p:sidekiq-migrate:r1:inflight:queue:default', runId: 'r1', sourceKey: 'queue:default', type: 'list', size: 2 },
      { key: 'p:sidekiq-migrate:r2:inflight:retry', runId: 'r2', sourceKey: 'retry', type: 'zset', size: 3 },
    ]);
  });
});

