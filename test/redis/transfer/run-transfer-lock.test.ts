// The run locks of a whole transfer (run-transfer.ts) as a user meets them: the words of a refusal
// when no endpoint name is given, a run that loses its lock in the middle (another run took it
// after it expired) and stops at once (on the target: before the next slice writes anything), and a dry run that writes nothing even where a real run of
// the same id left a ledger.
import { describe, expect, it } from 'vitest';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { RunLock, runLockKey } from '../../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { runTransfer, type TransferRunRequest } from '../../../core/transfer/run-transfer.js';
import { inflightKey, ledgerKey, originalsKey } from '../../../core/transfer/transfer-keys.js';
import { jobEntry, jobsIn, keyValueSnapshot } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { lateRenewals, loadScripts, recording } from '../../support/recording-redis.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
const keys = new SidekiqKeys('');

function request(overrides: Partial<TransferRunRequest> = {}): TransferRunRequest {
  return { source: redis.source(), target: redis.target(), sourceKeys: keys, targetKeys: keys, runId: 'run-1', dryRun: false, sets: [], queues: ['default'], sliceSize: 3, ...overrides };
}

const claimQueueJobs = new LuaScript('claimQueueJobs-14');
const acknowledgeQueueBatch = new LuaScript('acknowledgeQueueBatch-4');
const acknowledgeSetBatch = new LuaScript('acknowledgeSetBatch-10');
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'default', args: `[${i}]`, jid: i.toString(16).padStart(24, '0') });

describe('the run locks of a transfer', () => {
  it('without endpoint names, a refusal names the source end in plain words', async () => {
    await redis.source().lpush('queue:default', job(1));
    await RunLock.acquire(redis.source(), '', { runId: 'other-run', operation: 'reroute' }, 30_000, 'source');

    await expect(runTransfer(request())).rejects.toThrow(/^source is locked by run other-run \(reroute, /);
    expect(await jobsIn(redis.source())).toEqual([jobEntry('queue:default', job(1))]);
    expect(await jobsIn(redis.target())).toEqual([]);
  });

  it('stops after the slice in which another run took its lock, with the words that say so; the slice already moved stays moved, the rest stays on the source', async () => {
    const jobs = Array.from({ length: 9 }, (_, i) => job(i));
    for (const p of jobs) await redis.source().lpush('queue:default', p);
    let slices = 0;
    const onPage = () => void slices++;
    // While the first slice is written, the lock expired (the process paused) and another run took
    // it: simulated by hand, as the slice's acknowledge goes out. (Taken before a slice's claim, the
    // claim claims nothing: page-step-round-trips.test.ts.)
    let stolen = false;
    const source = interferingRedis(redis.source(), async (call) => {
      if (stolen || !call.scripts.includes(acknowledgeQueueBatch.sha)) return;
      stolen = true;
      await redis.source().set(runLockKey(''), JSON.stringify({ runId: 'other-run', operation: 'transfer', host: 'h', pid: 1, startedAt: 'now', expiresAt: Date.now() + 60_000 }));
    });

    await expect(runTransfer(request({ source, onPage }))).rejects.toThrow(
      'Run run-1 lost its run lock (it expired, and another run took it or it is gone) after a slice of default; stopping. Nothing is lost: jobs in flight are finished by the next run.',
    );

    expect(slices).toBe(1);
    // Front placement: the first slice took the three newest, pushed in order onto the consumer end.
    expect(await jobsIn(redis.target())).toEqual(jobs.slice(6).map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(redis.source())).toEqual(jobs.slice(0, 6).map((p) => jobEntry('queue:default', p)).sort());
    // The other run's lock is left alone; ours on the target is released.
    expect(JSON.parse((await redis.source().get(runLockKey('')))!)).toMatchObject({ runId: 'other-run' });
    expect(await redis.target().exists(runLockKey(''))).toBe(0);
  });

  it('stops after the slice in which another run took its lock and released it, and does not take it again', async () => {
    const jobs = Array.from({ length: 9 }, (_, i) => job(i));
    for (const p of jobs) await redis.source().lpush('queue:default', p);
    let slices = 0;
    const onPage = () => void slices++;
    // While the first slice is claimed, the lock expired (the process paused), another run took it, worked and released it.
    let lost = false;
    const source = interferingRedis(redis.source(), async (call) => {
      if (lost || !call.scripts.includes(claimQueueJobs.sha)) return;
      lost = true;
      await redis.source().set(runLockKey(''), JSON.stringify({ runId: 'other-run', operation: 'transfer', host: 'h', pid: 1, startedAt: 'now', expiresAt: Date.now() + 60_000 }));
      await RunLock.releaseIfHeld(redis.source(), '', 'other-run');
    });

    await expect(runTransfer(request({ source, onPage }))).rejects.toThrow(
      'Run run-1 lost its run lock (it expired, and another run took it or it is gone) after a slice of default; stopping. Nothing is lost: jobs in flight are finished by the next run.',
    );

    expect(slices).toBe(1);
    expect(await jobsIn(redis.target())).toEqual(jobs.slice(6).map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(redis.source())).toEqual(jobs.slice(0, 6).map((p) => jobEntry('queue:default', p)).sort());
    expect(await redis.source().exists(runLockKey(''))).toBe(0);
  });

  it("stops after its last slice when another run took its lock with that slice's acknowledge: the pass's end (its ledger's TTL, its count of originals) waits for the renewal's answer and writes nothing; a run again ends the pass", async () => {
    for (const set of ['queue', 'set'] as const) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      const jobs = Array.from({ length: 6 }, (_, i) => job(i));
      for (const [i, p] of jobs.entries()) await (set === 'queue' ? redis.source().lpush('queue:default', p) : redis.source().zadd('retry', String(i), p));
      const sourceKey = set === 'queue' ? 'queue:default' : 'retry';
      const only = set === 'queue' ? {} : { queues: false, sets: ['retry' as const] };
      // Loaded first, so that each acknowledge is one pipeline (not NOSCRIPT, then again).
      await loadScripts(redis.source(), redis.target());
      // The last slice's acknowledge goes out as the lock expired and another run took it (the
      // process paused): its renewal, sent with it, finds the lock lost.
      let acks = 0;
      const source = interferingRedis(redis.source(), async (call) => {
        if (!call.scripts.some((sha) => sha === acknowledgeQueueBatch.sha || sha === acknowledgeSetBatch.sha) || ++acks !== 2) return;
        await redis.source().set(runLockKey(''), JSON.stringify({ runId: 'other-run', operation: 'transfer', host: 'h', pid: 1, startedAt: 'now', expiresAt: Date.now() + 60_000 }));
      });

      await expect(runTransfer(request({ source, ...only })), set).rejects.toThrow(`Run run-1 lost its run lock (it expired, and another run took it or it is gone) after a slice of ${set === 'queue' ? 'default' : 'retry'}; stopping.`);

      // Both slices moved, each job once; the pass's end did not run under the lost lock: its
      // count of originals stays on the source, its ledger on the target without a TTL.
      expect(await jobsIn(redis.source()), set).toEqual([]);
      expect(await jobsIn(redis.target()), set).toHaveLength(6);
      expect(await redis.source().exists(originalsKey('', 'run-1', sourceKey)), set).toBe(1);
      expect(await redis.target().ttl(ledgerKey('', 'run-1', sourceKey)), set).toBe(-1);

      // The other run ends; the run again ends the pass: nothing more written, the count gone, the ledger retired.
      await redis.source().del(runLockKey(''));
      const again = await runTransfer(request(only));
      expect(again.totals, set).toMatchObject({ claimed: 0, written: 0, duplicates: 0 });
      expect(await jobsIn(redis.target()), set).toHaveLength(6);
      expect(await redis.source().exists(originalsKey('', 'run-1', sourceKey)), set).toBe(0);
      expect(await redis.target().ttl(ledgerKey('', 'run-1', sourceKey)), set).toBeGreaterThan(0);
    }
  });

  it("the target's lock taken after a slice renewed it (here: before the next slice claims): that next slice's write writes nothing, the run stops, and a resume finishes the slice left in flight once", async () => {
    const jobs = Array.from({ length: 9 }, (_, i) => job(i));
    for (const p of jobs) await redis.source().lpush('queue:default', p);
    let slices = 0;
    const onPage = () => void slices++;
    await loadScripts(redis.source(), redis.target());
    let claims = 0;
    const source = interferingRedis(redis.source(), async (call) => {
      if (!call.scripts.includes(claimQueueJobs.sha) || ++claims !== 2) return;
      await RunLock.releaseIfHeld(redis.target(), '', 'run-1');
      await RunLock.acquire(redis.target(), '', { runId: 'thief', operation: 'reroute' }, 60_000, 'target');
    });

    // The write looks at the target's lock before it writes (copyJobsToLists-n4.lua): before, this
    // slice was written to a target the thief owned, and the loss seen after it.
    await expect(runTransfer(request({ source, onPage }))).rejects.toThrow(/^Run run-1 lost its run lock on target \(another run holds it\); stopping \(nothing is lost: the next run resumes\)\.$/);

    expect(slices).toBe(1);
    expect(await jobsIn(redis.target())).toEqual(jobs.slice(6).map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(redis.source())).toEqual(jobs.slice(0, 3).map((p) => jobEntry('queue:default', p)).sort());
    // The second slice, claimed, stays in flight on the source, whole.
    const inflight = inflightKey('', 'run-1', 'queue:default');
    expect((await redis.source().lrange(inflight, 0, -1)).sort()).toEqual(jobs.slice(3, 6).sort());
    expect(JSON.parse((await redis.target().get(runLockKey('')))!)).toMatchObject({ runId: 'thief' });
    expect(await redis.source().exists(runLockKey(''))).toBe(0);

    // The thief ends; the run again finishes the slice in flight (once) and the rest.
    await RunLock.releaseIfHeld(redis.target(), '', 'thief');
    const again = await runTransfer(request());
    expect(again.resumed).toMatchObject({ resumed: 3, written: 3, duplicates: 0 });
    expect(again.totals).toMatchObject({ written: 6, duplicates: 0 });
    expect(await jobsIn(redis.target())).toEqual(jobs.map((p) => jobEntry('queue:default', p)).sort());
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await redis.source().exists(inflight)).toBe(0);
  });

  it('renews both locks in the last round trip of each slice: with the acknowledge on the source, with the write on the target; no round trip of its own (the read after the write is the copy check, not a renewal)', async () => {
    for (const set of ['queue', 'set'] as const) {
      await Promise.all([redis.source().flushall(), redis.target().flushall()]);
      for (let i = 0; i < 6; i++) await (set === 'queue' ? redis.source().lpush('queue:default', job(i)) : redis.source().zadd('retry', String(i), job(i)));
      await loadScripts(redis.source(), redis.target());
      // The source reads each renewal late (a loaded machine: the acknowledge answered before the
      // renewal's bytes were read): the pass's end still waits for its answer (queue-transfer.ts).
      const source = recording(lateRenewals(redis.source()));
      const target = recording(redis.target());

      await runTransfer(request({ source, target, ...(set === 'queue' ? {} : { queues: false, sets: ['retry'] }) }));

      const [claim, ack] = set === 'queue' ? ['claim', 'ack'] : ['claimSet', 'ackSet'];
      // Two slices of 3; each pipeline's start and end, in order: the renewal goes out before the
      // acknowledge's (or write's) reply came back, on the same connection.
      const slice = [`> ${claim}`, `< ${claim}`, `> ${ack}`, '> renew', `< ${ack}`, '< renew'];
      // At the pass's end, the ledger's retirement before its count goes (retire-ledger.ts
      // retireBeforePassEnd): a look at it on the target, the in-flight key on the source, the TTL
      // on the target, one round trip each; the run's end then looks once more and finds it retired.
      // The source's index of in-flight keys names nothing then (each slice's acknowledge took its
      // key's name out with the key: acknowledgeQueueBatch-4, acknowledgeSetBatch-10), so the run's
      // end sends no forgetGoneInflightKeys-1 call (its SMEMBERS is not a pipeline and goes unrecorded).
      // The pass's first read: the key's length and the size probe in one pipeline (page-bytes.ts sizeAndBytesPerJob).
      const start = set === 'queue' ? ['> llen+lrange', '< llen+lrange'] : ['> zcard+zrange', '< zcard+zrange'];
      expect(source.events, set).toEqual(['> acquire', '< acquire', ...start, ...slice, ...slice, '> exists', '< exists', '> release', '< release']);
      // Each write, then the read that finds its copy still on the target before the source
      // acknowledges it (copy-kept.ts), a round trip of its own, sent once the write's reply is
      // back (the renewal's, in the same round trip, may be handled just before or after it goes out).
      const writes = set === 'queue' ? ['> write', '> renew', '< write', '> hget', '< hget'] : ['> writeSet', '> renew', '< writeSet', '> sismember', '< sismember'];
      expect(target.events.filter((e) => e !== '< renew'), set).toEqual(['> acquire', '< acquire', ...writes, ...writes, '> retire', '< retire', '> retire', '< retire', '> retire', '< retire', '> release', '< release']);
      expect(target.events.filter((e) => e === '< renew'), set).toHaveLength(2);
      expect(await jobsIn(redis.source()), set).toEqual([]);
      expect(await jobsIn(redis.target()), set).toHaveLength(6);
    }
  });
  it("a dry run with the id of a real run leaves that run's ledger as it was (no TTL given)", async () => {
    for (let i = 0; i < 4; i++) await redis.source().lpush('queue:default', job(i));
    await runTransfer(request());
    // The real run's end gave its ledger a TTL; a run interrupted before its end leaves none.
    const ledger = ledgerKey('', 'run-1', 'queue:default');
    expect(await redis.target().persist(ledger)).toBe(1);
    for (let i = 10; i < 14; i++) await redis.source().lpush('queue:default', job(i));
    const before = { source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) };

    const dry = await runTransfer(request({ dryRun: true }));

    expect(dry.totals).toMatchObject({ claimed: 4, written: 4 });
    expect({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) }).toEqual(before);
    expect(await redis.target().ttl(ledger)).toBe(-1);
  });

  it('queues: false moves the sets only; every queue stays on the source', async () => {
    await redis.source().lpush('queue:default', job(1));
    await redis.source().zadd('retry', '5', job(2));
    const summary = await runTransfer(request({ queues: false, sets: ['retry'] }));
    expect(summary.queues).toEqual({});
    expect(await jobsIn(redis.source())).toEqual([jobEntry('queue:default', job(1))]);
    expect(await jobsIn(redis.target())).toEqual([jobEntry('retry', job(2), '5')]);
  });
});
