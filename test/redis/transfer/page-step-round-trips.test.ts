// A transfer's page task (the CLI's `move`, the Lambdas) as the servers see it (issue #18): a page
// of `pageSize` jobs is claimed in slices of at most MAX_JOBS_PER_CLAIM, and the run locks are
// renewed once a page, not once a slice (a renewal is a round trip of its own on both servers). A
// stop, or the source's lock taken by another run or a later execution of the run, is still seen
// after the slice it lands in: each slice's claim then claims nothing. A rate-limited run still
// renews after every slice (its waits may be long).
import type { Redis, RedisKey } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RunStoppedError } from '../../../core/errors/run-stopped-error.js';
import { LuaScript } from '../../../core/redis/lua-script.js';
import { RunSupersededError } from '../../../core/errors/run-superseded-error.js';
import { FatalError } from '../../../core/errors/sidekiq-migrate-error.js';
import { RunLock, RunLockLostError, runLockKey, runStopMarkerKey } from '../../../core/redis/run-lock.js';
import { inflightKey, ledgerKey } from '../../../core/transfer/transfer-keys.js';
import { MAX_JOBS_PER_CLAIM } from '../../../core/transfer/transfer-options.js';
import { pageStep } from '../../../core/workflow/steps/page-step.js';
import { planStep } from '../../../core/workflow/steps/plan-step.js';
import { UrlConnections } from '../../../core/workflow/url-connections.js';
import type { ConnectionProvider } from '../../../core/workflow/connections.js';
import { jobEntry, jobsIn } from '../../support/exact-jobs.js';
import { interferingRedis } from '../../support/interfering-redis.js';
import { privateSourceAndTarget } from '../../support/private-redis.js';
import { connectionsPerTest } from '../../support/test-connections.js';
import { loadScripts, recording } from '../../support/recording-redis.js';
import { seedQueueAndSchedule } from '../../support/seed-queue-and-schedule.js';

const redis = privateSourceAndTarget();
const claimQueueJobs = new LuaScript('claimQueueJobs-14');
const claimSetEntries = new LuaScript('claimSetEntries-16');
const copyJobsToLists = new LuaScript('copyJobsToLists-n4');

/** A ledger's contents: a queue's (a hash: batch → jobs written) or a set's (ids). */
async function ledgerContents(key: RedisKey): Promise<unknown> {
  return (await redis.target().type(key)) === 'hash' ? redis.target().hgetall(key) : (await redis.target().smembers(key)).sort();
}
const copyEntriesToSet = new LuaScript('copyEntriesToSet-6');
const { connect, latest } = connectionsPerTest(redis);

/** The provider's clients, each recording its pipelines (recording-redis.ts), by connection name. */
function recordingProvider(provider: UrlConnections): ConnectionProvider & { events: (name: string) => string[] } {
  const clients = new Map<string, Redis & { events: string[] }>();
  return {
    events: (name) => clients.get(name)?.events ?? [],
    get: async (name) => {
      const connection = await provider.get(name);
      const client = clients.get(name) ?? recording(connection.redis);
      clients.set(name, client);
      return { ...connection, redis: client };
    },
  };
}

const budget = { deadline: Date.now() + 600_000 };
/** The page task's look at its receipt and count of its attempt (page-receipt.ts), in the source lock's round trip. */
const [open, opened] = [['> open'], ['< open']];
/** The task's answer kept for a retry (page-receipt.ts writePageReceipt: one call, as its MULTI was), last. */
const receipt = ['> receipt', '< receipt'];
/** A pass's end (retire-ledger.ts retireBeforePassEnd): the ledger's look and its TTL on the target, its in-flight key looked at on the source between. */
const [passEndSource, passEndTarget] = [['> exists', '< exists'], ['> retire', '< retire', '> retire', '< retire']];
/** A pass's first read (page-bytes.ts sizeAndBytesPerJob): the key's length and the size probe, one pipeline. */
const passStart = (kind: 'queue' | 'set') => (kind === 'queue' ? ['> llen+lrange', '< llen+lrange'] : ['> zcard+zrange', '< zcard+zrange']);
const PAGE = 4 * MAX_JOBS_PER_CLAIM;
const QUEUED = PAGE + MAX_JOBS_PER_CLAIM + 57; // slices of 1,000 ×5, then 57

/** QUEUED jobs on queue:default and QUEUED on schedule, as jobEntry prints them, sorted. */
const seed = (client: Redis): Promise<string[]> => seedQueueAndSchedule(client, QUEUED);

const plan = (extra: Record<string, unknown> = {}) => planStep({ runId: 'run-1', mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: PAGE, ...extra }, connect());

describe("a transfer page task's round trips", () => {
  for (const kind of ['queue', 'set'] as const) {
    it(`${kind}: claim, write and acknowledge a slice, the next slice's claim in the acknowledge's round trip but for a page's first; the locks renewed once a page of ${PAGE} (4 slices), in their own round trip; every job moved once`, async () => {
      const seeded = await seed(redis.source());
      await loadScripts(redis.source(), redis.target());
      const planned = await plan();
      const item = planned.work.batch.find((i) => i.kind === kind && (kind === 'set' || i.name === 'default'))!;
      const provider = recordingProvider(latest());

      const after = await pageStep({ settings: planned.settings, item }, provider, budget);

      expect(after).toMatchObject({ done: true, counters: { claimed: QUEUED, written: QUEUED } });
      const [claim, ack, write] = kind === 'queue' ? ['claim', 'ack', 'write'] : ['claimSet', 'ackSet', 'writeSet'];
      // A page's first slice claims in a round trip of its own; each acknowledge but the page's
      // last, and the item's, carries the next slice's claim: one round trip a slice on the source.
      const claimAlone = [`> ${claim}`, `< ${claim}`];
      const ackAndClaim = [`> ${ack}`, `> ${claim}`, `< ${ack}`, `< ${claim}`];
      const ackAlone = [`> ${ack}`, `< ${ack}`];
      const renewal = ['> renew', '< renew'];
      // 6 slices: a renewal after the 4th (a page); none after the 6th, with which the item is done.
      // The item's end: its ledger retired before its count goes (retire-ledger.ts retireBeforePassEnd):
      // the look on the target, nothing in flight on the source, the TTL on the target.
      expect(provider.events('source')).toEqual(['> acquire', ...open, '< acquire', ...opened, ...passStart(kind), ...claimAlone, ...ackAndClaim, ...ackAndClaim, ...ackAndClaim, ...ackAlone, ...renewal, ...claimAlone, ...ackAndClaim, ...ackAlone, ...passEndSource, ...receipt]);
      // Each write, then the read that finds its copy still there before the source acknowledges it
      // (copy-kept.ts): a queue batch's number in the ledger, a set slice's last entry written.
      const check = kind === 'queue' ? 'hget' : 'sismember';
      const written = [`> ${write}`, `< ${write}`, `> ${check}`, `< ${check}`];
      expect(provider.events('target')).toEqual(['> acquire', '< acquire', ...written, ...written, ...written, ...written, ...renewal, ...written, ...written, ...passEndTarget]);
      const moved = seeded.filter((e) => e.startsWith(kind === 'queue' ? 'queue:default' : 'schedule'));
      expect(await jobsIn(redis.target())).toEqual(moved);
      expect(await jobsIn(redis.source())).toEqual(seeded.filter((e) => !moved.includes(e)));
      expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
    });
  }

  it('a default page (1,000 jobs) is one slice of 1,000 (MAX_JOBS_PER_CLAIM): claim, write, acknowledge, then the renewal; nothing claimed ahead', async () => {
    expect(MAX_JOBS_PER_CLAIM).toBe(1000);
    const seeded = await seed(redis.source());
    await loadScripts(redis.source(), redis.target());
    const planned = await plan({ sets: [], pageSize: 1000 });
    const item = planned.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;
    const provider = recordingProvider(latest());
    const slices: number[] = [];

    const after = await pageStep({ settings: planned.settings, item }, provider, { ...budget, onPage: (page) => void slices.push((page.counters as { claimed: number }).claimed) });

    expect(after).toMatchObject({ done: true, counters: { claimed: QUEUED, written: QUEUED } });
    expect(slices).toEqual([1000, 1000, 1000, 1000, 1000, 57]);
    // Each page one slice, each slice four round trips (claim, write, the read that finds the copy
    // still on the target, acknowledge), each page's renewal after it (the item's last page too: it ends a page).
    // The last page ends the item: its ledger retired (retireBeforePassEnd) before the renewal.
    const page = ['> claim', '< claim', '> ack', '< ack', '> renew', '< renew'];
    const lastPage = ['> claim', '< claim', '> ack', '< ack', ...passEndSource, '> renew', '< renew'];
    expect(provider.events('source')).toEqual(['> acquire', ...open, '< acquire', ...opened, ...passStart('queue'), ...Array<string[]>(5).fill(page).flat(), ...lastPage, ...receipt]);
    const targetPage = ['> write', '< write', '> hget', '< hget', '> renew', '< renew'];
    expect(provider.events('target')).toEqual(['> acquire', '< acquire', ...Array<string[]>(5).fill(targetPage).flat(), '> write', '< write', '> hget', '< hget', ...passEndTarget, '> renew', '< renew']);
    expect(await jobsIn(redis.target())).toEqual(seeded.filter((e) => e.startsWith('queue:default')));
    expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
  });

  it('a rate-limited run renews after every slice', async () => {
    await seed(redis.source());
    await loadScripts(redis.source(), redis.target());
    const planned = await plan({ sets: [], rateLimit: 100_000 });
    const item = planned.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;
    const provider = recordingProvider(latest());

    await pageStep({ settings: planned.settings, item }, provider, budget);

    const source = provider.events('source');
    const slices = source.filter((e) => e === '> claim').length;
    expect(slices).toBeGreaterThan(1);
    expect(source).toEqual(['> acquire', ...open, '< acquire', ...opened, ...passStart('queue'), ...Array<string[]>(slices - 1).fill(['> claim', '< claim', '> ack', '< ack', '> renew', '< renew']).flat(), '> claim', '< claim', '> ack', '< ack', ...passEndSource, '> renew', '< renew', ...receipt]);
  });

  const interferences = [
    {
      what: 'a stop',
      error: RunStoppedError,
      words: /^Run run-1 was stopped \(noticed on source/,
      act: () => redis.source().set(runStopMarkerKey('', 'run-1'), 'stopped by the test'),
    },
    {
      what: "another run taking the source's lock (this one's expired)",
      error: FatalError,
      words: /^Run run-1 lost its run lock on source .*\(another run holds it\); stopping \(nothing is lost: the next run resumes\)\.$/,
      act: () => redis.source().set(runLockKey(''), JSON.stringify({ runId: 'thief', operation: 'reroute', host: 'h', pid: 1, startedAt: 'now', expiresAt: Date.now() + 60_000 })),
    },
    {
      what: 'a later execution of the run taking the lock',
      error: RunSupersededError,
      words: /^Run run-1: this execution was superseded by a later execution of the run/,
      act: () => redis.source().set(runLockKey(''), JSON.stringify({ runId: 'run-1', operation: 'transfer', host: 'h', pid: 1, startedAt: 'now', plannedAt: Date.now() + 60_000, expiresAt: Date.now() + 60_000 })),
    },
  ];
  for (const { what, error, words, act } of interferences) {
    for (const kind of ['queue', 'set'] as const) {
      it(`${kind}: ${what} between two slices of a page ends the task after the slice it landed in: the next claim claims nothing; that slice complete and counted, every other job where it was`, async () => {
        const seeded = await seed(redis.source());
        const planned = await plan();
        const item = planned.work.batch.find((i) => i.kind === kind && (kind === 'set' || i.name === 'default'))!;
        // It lands as the second slice's claim goes out (the task took its locks before): no
        // renewal comes between two slices of one page.
        const script = kind === 'queue' ? claimQueueJobs : claimSetEntries;
        let claims = 0;
        const provider: ConnectionProvider = {
          get: async (name) => {
            const connection = await latest().get(name);
            if (name !== 'source') return connection;
            const source = interferingRedis(connection.redis, async (call) => {
              if (!call.scripts.includes(script.sha) || ++claims !== 2) return;
              await act();
            });
            return { ...connection, redis: source };
          },
        };
        const told: unknown[] = [];

        const after = await pageStep({ settings: planned.settings, item }, provider, { ...budget, onFailureAfterProgress: (e) => told.push(e) });

        expect(claims).toBe(2);
        expect(told).toHaveLength(1);
        expect(told[0]).toBeInstanceOf(error);
        expect((told[0] as Error).message).toMatch(words);
        expect(after).toMatchObject({ done: false, counters: { claimed: MAX_JOBS_PER_CLAIM, written: MAX_JOBS_PER_CLAIM } });
        const [onSource, onTarget] = [await jobsIn(redis.source()), await jobsIn(redis.target())];
        expect(onTarget).toHaveLength(MAX_JOBS_PER_CLAIM);
        expect([...onSource, ...onTarget].sort()).toEqual(seeded);
        expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
      });
    }
  }

  for (const kind of ['queue', 'set'] as const) {
    it(`${kind}: another run taking the target's lock between two slices of a page (this one's expired): the next slice's write writes nothing, the task ends, that slice stays in flight and a resume finishes it once`, async () => {
      const seeded = await seed(redis.source());
      // Loaded first: a NOSCRIPT would send the first slice's write pipeline twice.
      await loadScripts(redis.source(), redis.target());
      const planned = await plan();
      const item = planned.work.batch.find((i) => i.kind === kind && (kind === 'set' || i.name === 'default'))!;
      const sourceKey = kind === 'queue' ? 'queue:default' : 'schedule';
      // It lands as the second slice's write goes out on the target (its claim on the source is
      // done): no renewal comes between two slices of one page.
      const script = kind === 'queue' ? copyJobsToLists : copyEntriesToSet;
      const thief = { runId: 'thief', operation: 'reroute', host: 'h', pid: 1, startedAt: 'now', expiresAt: Date.now() + 60_000 };
      let writes = 0;
      let onTargetThen: string[] = [];
      let ledgerThen: unknown = null;
      const provider: ConnectionProvider = {
        get: async (name) => {
          const connection = await latest().get(name);
          if (name !== 'target') return connection;
          const target = interferingRedis(connection.redis, async (call) => {
            if (!call.scripts.includes(script.sha) || ++writes !== 2) return;
            await redis.target().set(runLockKey(''), JSON.stringify(thief));
            onTargetThen = await jobsIn(redis.target());
            ledgerThen = await ledgerContents(ledgerKey('', 'run-1', sourceKey));
          });
          return { ...connection, redis: target };
        },
      };
      const told: unknown[] = [];

      const after = await pageStep({ settings: planned.settings, item }, provider, { ...budget, onFailureAfterProgress: (e) => told.push(e) });

      expect(writes).toBe(2);
      expect(told).toHaveLength(1);
      expect(told[0]).toBeInstanceOf(FatalError);
      expect((told[0] as FatalError).retryable).toBe(false);
      expect((told[0] as Error).message).toMatch(/^Run run-1 lost its run lock on target redis:\/\/127\.0\.0\.1:\d+ \(another run holds it\); stopping \(nothing is lost: the next run resumes\)\.$/);
      // The first slice complete and counted; nothing written to the target since the lock was taken.
      expect(after).toMatchObject({ done: false, counters: { claimed: MAX_JOBS_PER_CLAIM, written: MAX_JOBS_PER_CLAIM } });
      expect(onTargetThen).toHaveLength(MAX_JOBS_PER_CLAIM);
      expect(await jobsIn(redis.target())).toEqual(onTargetThen);
      expect(await ledgerContents(ledgerKey('', 'run-1', sourceKey))).toEqual(ledgerThen);
      expect(JSON.parse((await redis.target().get(runLockKey('')))!)).toEqual(thief);
      // The second slice stays in flight on the source, whole: every job once across the three places.
      const inflight = inflightKey('', 'run-1', sourceKey);
      const held =
        kind === 'queue'
          ? (await redis.source().lrangeBuffer(inflight, 0, -1)).map((p) => jobEntry(sourceKey, p))
          : await (async () => {
              const flat = await redis.source().zrangeBuffer(inflight, 0, '-1', 'WITHSCORES');
              const entries: string[] = [];
              for (let i = 0; i < flat.length; i += 2) entries.push(jobEntry(sourceKey, flat[i]!, flat[i + 1]!.toString()));
              return entries;
            })();
      expect(held).toHaveLength(MAX_JOBS_PER_CLAIM);
      expect([...(await jobsIn(redis.source())), ...held, ...(await jobsIn(redis.target()))].sort()).toEqual(seeded);

      // The other run ends, and so does this one (its failure path releases its locks); the run is
      // started again (start --resume; for the set, another run instead): its plan finishes the
      // slice in flight, once, under its own lock, and the run then moves the rest.
      await RunLock.releaseIfHeld(redis.target(), '', 'thief');
      await RunLock.releaseIfHeld(redis.source(), '', 'run-1');
      const resumer = kind === 'queue' ? 'run-1' : 'run-2';
      const again = await planStep({ runId: resumer, mode: 'transfer', target: 'target', sets: ['schedule'], pageSize: PAGE }, latest());
      expect(again.resumed).toMatchObject({ resumed: MAX_JOBS_PER_CLAIM, written: MAX_JOBS_PER_CLAIM, duplicates: 0 });
      for (const next of again.work.batch) {
        let current = next;
        while (!current.done) current = await pageStep({ settings: again.settings, item: current }, latest(), budget);
      }
      expect(await jobsIn(redis.target())).toEqual(seeded);
      expect(await jobsIn(redis.source())).toEqual([]);
      expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
      expect(JSON.parse((await redis.target().get(runLockKey('')))!)).toMatchObject({ runId: resumer });
    });
  }

  it("another run's expired lock on the source between two slices: the next slice's claim refuses it (lockGone), the task ends there, the lock not taken back", async () => {
    const seeded = await seed(redis.source());
    // Loaded first: a NOSCRIPT would send the first slice's claim twice (counted twice below).
    await loadScripts(redis.source(), redis.target());
    const planned = await plan({ sets: [] });
    const item = planned.work.batch.find((i) => i.kind === 'queue' && i.name === 'default')!;
    const gone = { runId: 'gone', operation: 'reroute', host: 'h', pid: 1, startedAt: 'then', expiresAt: Date.now() - 1 };
    let claims = 0;
    const provider: ConnectionProvider = {
      get: async (name) => {
        const connection = await latest().get(name);
        if (name !== 'source') return connection;
        const source = interferingRedis(connection.redis, async (call) => {
          if (!call.scripts.includes(claimQueueJobs.sha) || ++claims !== 2) return;
          await redis.source().set(runLockKey(''), JSON.stringify(gone));
        });
        return { ...connection, redis: source };
      },
    };
    const told: unknown[] = [];

    const after = await pageStep({ settings: planned.settings, item }, provider, { ...budget, onFailureAfterProgress: (e) => told.push(e) });

    // The claim refuses another run's lock past its expiry (lib/claim-lock.lua lockGone), before it moves anything.
    expect(told).toHaveLength(1);
    expect(told[0]).toBeInstanceOf(RunLockLostError);
    expect((told[0] as Error).message).toMatch(/^Run run-1 lost its run lock on source redis:\/\/127\.0\.0\.1:\d+: at a slice's claim the lock was gone or another run's past its expiry /);
    // The first slice complete and counted; the second claimed nothing (before: the page's every slice went on).
    expect(claims).toBe(2);
    expect(after).toMatchObject({ done: false, counters: { claimed: MAX_JOBS_PER_CLAIM, written: MAX_JOBS_PER_CLAIM } });
    expect(JSON.parse((await redis.source().get(runLockKey('')))!)).toEqual(gone);
    const [onSource, onTarget] = [await jobsIn(redis.source()), await jobsIn(redis.target())];
    expect(onTarget).toHaveLength(MAX_JOBS_PER_CLAIM);
    expect([...onSource, ...onTarget].sort()).toEqual(seeded);
    expect(await redis.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
  });
});
