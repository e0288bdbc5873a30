import { describe, expect, it } from 'vitest';
import { RunSupersededError } from '../../../core/errors/run-superseded-error.js';
import { FatalError } from '../../../core/errors/sidekiq-migrate-error.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { nameFromBytes } from '../../../core/redis/key-name.js';
import type { CarriedJob } from '../../../core/transfer/carry-job.js';
import { emptyTransferCounters } from '../../../core/transfer/transfer-counters.js';
import { writeEntriesToSet, writeJobsToQueues, type LedgeredEntry } from '../../../core/transfer/write-to-target.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('t:');
// The run lock on the target that every write looks at first (none here: nobody holds it).
const lock = { key: 't:sidekiq-migrate:lock', ledgers: 't:sidekiq-migrate:ledgers', runId: 'run-1', where: 'on target' };
const jid = (i: number) => `${'0'.repeat(22)}${String(i).padStart(2, '0')}`;
const job = (i: number) => sidekiqPayload({ className: 'A', args: `[${i}]`, jid: jid(i) });
const queued = (i: number, queue: string): CarriedJob => ({ payload: Buffer.from(job(i)), queue, kind: 'as-is' });
// A batch's jobs from its first position (the ledger counts them: copyJobsToLists-n4.lua).
const batch = { id: 'B', first: 0 };
const entry = (i: number, score: string, payload = job(i)): LedgeredEntry => ({ id: `S:${i}`, member: Buffer.from(payload), payload: Buffer.from(payload), score });

describe('writing queued jobs to the target', () => {
  it('pushes each job to its queue once per ledger, in order, naming the queues that received one', async () => {
    const target = redis.target();
    const counters = { ...emptyTransferCounters(), writtenTo: { a: 5 } };
    const jobs = [queued(1, 'a'), queued(2, 'b'), queued(3, 'a')];

    await writeJobsToQueues(target, keys, 't:ledger', 'RPUSH', batch, jobs, counters, lock);

    expect(counters).toEqual({ ...emptyTransferCounters(), written: 3, writtenTo: { a: 7, b: 1 } });
    expect(await target.lrange('t:queue:a', 0, -1)).toEqual([job(1), job(3)]);
    expect(await target.lrange('t:queue:b', 0, -1)).toEqual([job(2)]);
    expect((await target.smembers('t:queues')).sort()).toEqual(['a', 'b']);

    // The same batch again (a retry): nothing written, no queue counted.
    const again = emptyTransferCounters();
    await writeJobsToQueues(target, keys, 't:ledger', 'LPUSH', batch, [...jobs, queued(4, 'c')], again, lock);
    expect(again).toEqual({ ...emptyTransferCounters(), written: 1, duplicates: 3, writtenTo: { c: 1 } });
    expect(await jobsIn(target, 't:')).toEqual([jobEntry('t:queue:a', job(1)), jobEntry('t:queue:a', job(3)), jobEntry('t:queue:b', job(2)), jobEntry('t:queue:c', job(4))].sort());
    expect((await target.smembers('t:queues')).sort()).toEqual(['a', 'b', 'c']);
  });

  it('LPUSH puts them behind what is there, and a queue named by bytes that are not UTF-8 is added to `queues` as those bytes', async () => {
    const target = redis.target();
    const name = nameFromBytes(Buffer.from('caf\xe9', 'latin1'));
    await target.rpush(Buffer.from('t:queue:caf\xe9', 'latin1'), 'old');

    await writeJobsToQueues(target, keys, 't:ledger', 'LPUSH', batch, [queued(1, name), queued(2, name)], emptyTransferCounters(), lock);

    expect((await target.lrangeBuffer(Buffer.from('t:queue:caf\xe9', 'latin1'), 0, -1)).map(String)).toEqual([job(2), job(1), 'old']);
    expect(await target.smembersBuffer('t:queues')).toEqual([Buffer.from('caf\xe9', 'latin1')]);
  });

  it("counts a batch's jobs by position: a write from the middle (after an acknowledge) counts on from there; a ledger that lost the number (deleted by hand) writes the call and counts to its end", async () => {
    const target = redis.target();
    await writeJobsToQueues(target, keys, 't:ledger', 'RPUSH', batch, [queued(0, 'a'), queued(1, 'a')], emptyTransferCounters(), lock);
    expect(await target.hgetall('t:ledger')).toEqual({ B: '2' });
    // Positions 0–1 acknowledged; the next attempt reads 2–3 (and the batch's base, 2).
    const counters = emptyTransferCounters();
    await writeJobsToQueues(target, keys, 't:ledger', 'RPUSH', { id: 'B', first: 2 }, [queued(2, 'a'), queued(3, 'a')], counters, lock);
    expect(counters).toMatchObject({ written: 2, duplicates: 0 });
    expect(await target.hgetall('t:ledger')).toEqual({ B: '4' });
    // The ledger gone while position 4 is in flight: its jobs before were acknowledged (written);
    // what an id ledger would do then, this does: writes the call, and counts the batch to its end.
    await target.del('t:ledger');
    await writeJobsToQueues(target, keys, 't:ledger', 'RPUSH', { id: 'B', first: 4 }, [queued(4, 'a')], emptyTransferCounters(), lock);
    expect(await target.hgetall('t:ledger')).toEqual({ B: '5' });
    expect(await target.lrange('t:queue:a', 0, -1)).toEqual([0, 1, 2, 3, 4].map(job));
  });

  it('sends nothing for no jobs', async () => {
    const target = interferingRedis(redis.target(), () => {});
    const counters = emptyTransferCounters();

    await writeJobsToQueues(target, keys, 't:ledger', 'RPUSH', batch, [], counters, lock);

    expect(target.calls()).toBe(0);
    expect(counters).toEqual(emptyTransferCounters());
  });
});

describe('writing set entries to the target', () => {
  it('adds each entry once per ledger with its score; entries whose bytes are there already are conflicts, sampled', async () => {
    const target = redis.target();
    await target.sadd('t:ledger', 'S:2');
    await target.zadd('t:retry', '7', job(3), '8', '{broken');
    const counters = { ...emptyTransferCounters(), writtenTo: { retry: 1 } };
    const entries = [entry(1, '1.25'), entry(2, '2'), entry(3, '3'), entry(4, '4', '{broken')];

    const conflicts = await writeEntriesToSet(target, 't:retry', 'retry', 't:ledger', entries, counters, lock);

    expect(conflicts).toEqual([entries[2], entries[3]]);
    expect(counters).toEqual({
      ...emptyTransferCounters(),
      written: 1,
      duplicates: 1,
      conflicts: 2,
      conflictSamples: [
        { jid: jid(3), className: 'A', reason: 'already in retry on the target' },
        { jid: null, className: null, reason: 'already in retry on the target' },
      ],
      writtenTo: { retry: 2 },
    });
    expect(await jobsIn(target, 't:')).toEqual([jobEntry('t:retry', job(1), '1.25'), jobEntry('t:retry', job(3), '7'), jobEntry('t:retry', '{broken', '8')].sort());
    expect((await target.smembers('t:ledger')).sort()).toEqual(['S:1', 'S:2']);
  });

  it('keeps at most five conflict samples, counting every conflict', async () => {
    const target = redis.target();
    const entries = Array.from({ length: 7 }, (_, i) => entry(i, String(i)));
    for (const e of entries) await target.zadd('t:dead', '100', e.payload);
    const counters = { ...emptyTransferCounters(), conflicts: 3, conflictSamples: [1, 2, 3].map((i) => ({ jid: jid(90 + i), className: 'B', reason: 'earlier' })) };

    await writeEntriesToSet(target, 't:dead', 'dead', 't:ledger', entries, counters, lock);

    expect(counters.conflicts).toBe(10);
    expect(counters.conflictSamples.map((s) => s.jid)).toEqual([jid(91), jid(92), jid(93), jid(0), jid(1)]);
    expect(counters.written).toBe(0);
    expect(counters.writtenTo).toEqual({});
  });

  it('sends nothing for no entries', async () => {
    const target = interferingRedis(redis.target(), () => {});
    const counters = emptyTransferCounters();

    expect(await writeEntriesToSet(target, 't:retry', 'retry', 't:ledger', [], counters, lock)).toEqual([]);

    expect(target.calls()).toBe(0);
    expect(counters).toEqual(emptyTransferCounters());
  });
});

describe("the run lock on the target, looked at before anything is written", () => {
  const record = (holder: Record<string, unknown>) => JSON.stringify({ operation: 'transfer', host: 'h', pid: 1, startedAt: 'then', ...holder });
  const planned = { ...lock, plannedAt: 1000 };
  const write = (target = redis.target()) =>
    Promise.all([writeJobsToQueues(target, keys, 't:ledger:q', 'RPUSH', batch, [queued(1, 'a')], emptyTransferCounters(), planned), writeEntriesToSet(target, 't:retry', 'retry', 't:ledger:s', [entry(2, '2')], emptyTransferCounters(), planned)].map((p) => p.then(() => null, (e: unknown) => e)));

  it("another run's live lock (or one we cannot read): refused with the claim's words, fatal, nothing written", async () => {
    for (const held of [record({ runId: 'thief', expiresAt: Date.now() + 60_000 }), record({ runId: 'thief' }), 'not json']) {
      const target = redis.target();
      await target.flushall();
      await target.set(lock.key, held);
      const before = await keyValueSnapshot(target, '');

      const errors = await write();

      for (const error of errors) {
        expect(error).toBeInstanceOf(FatalError);
        expect(error).toMatchObject({ retryable: false, message: 'Run run-1 lost its run lock on target (another run holds it); stopping (nothing is lost: the next run resumes).' });
      }
      expect(await keyValueSnapshot(target, '')).toEqual(before);
    }
  });

  it('a later execution of the run holds it: refused as superseded, nothing written', async () => {
    const target = redis.target();
    await target.set(lock.key, record({ runId: 'run-1', plannedAt: 2000, expiresAt: Date.now() + 60_000 }));
    const before = await keyValueSnapshot(target, '');

    const errors = await write();

    for (const error of errors) expect(error).toBeInstanceOf(RunSupersededError);
    expect(await keyValueSnapshot(target, '')).toEqual(before);
  });

  it("this run's lock (even past its expiry), none, or another run's past its expiry: written", async () => {
    for (const held of [record({ runId: 'run-1', plannedAt: 1000, expiresAt: Date.now() + 60_000 }), record({ runId: 'run-1', plannedAt: 1000, expiresAt: 1 }), null, record({ runId: 'gone', expiresAt: 1 })]) {
      const target = redis.target();
      await target.flushall();
      if (held !== null) await target.set(lock.key, held);

      expect(await write()).toEqual([null, null]);

      expect(await jobsIn(target, 't:')).toEqual([jobEntry('t:queue:a', job(1)), jobEntry('t:retry', job(2), '2')].sort());
    }
  });
});
