import { spawn } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { runReroute } from '../../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../../core/redis/sidekiq-keys.js';
import { classRoutingPlan } from '../../../core/routing/routing-plan.js';
import { interferingRedis, SimulatedCrash } from '../../support/interfering-redis.js';
import { killAfterProgress } from '../../support/kill-child.js';
import { repoPath } from '../../support/paths.js';
import { uniquePrefix } from '../../support/redis.js';
import { allJobs } from '../../support/redis-snapshot.js';
import { sidekiqPayload } from '../../support/sidekiq-jobs.js';
import { privateRedis } from '../../support/private-redis.js';

// A private server, emptied before each test and each crash point: the number of Redis calls of a
// run (SCAN pages included) then depends only on the data seeded here.
const server = privateRedis();
let redis: Redis;
beforeAll(() => {
  redis = server.client();
});
const plan = classRoutingPlan(new Map([['A', 'new'], ['B', 'other']]));

/**
 * Seeds jobs of mapped classes (A → new, B → other), an unmapped one and an unparsable one in
 * `schedule`, `retry` and `queue:old`, and returns the multiset every correct run must end with:
 * each job exactly once, mapped ones rewritten (queue value only) and where they belong.
 */
async function seed(keys: SidekiqKeys, perKey = 12): Promise<string[]> {
  const expected: string[] = [];
  const job = (cls: string, i: number) => sidekiqPayload({ className: cls, queue: 'old', args: `[${i},1.0,18446744073709551616]` });
  const target = (cls: string) => (cls === 'A' ? 'new' : cls === 'B' ? 'other' : 'old');
  for (const set of ['schedule', 'retry'] as const) {
    for (let i = 0; i < perKey; i++) {
      const cls = i === 0 ? 'Gone' : i % 2 ? 'A' : 'B';
      const payload = job(cls, i);
      await redis.zadd(keys.sortedSet(set), `${1795459303 + i}.25`, payload);
      expected.push(`${keys.sortedSet(set)}\t${payload.replace('"queue":"old"', `"queue":"${target(cls)}"`)}\t${1795459303 + i}.25`);
    }
    await redis.zadd(keys.sortedSet(set), '7', 'not json');
    expected.push(`${keys.sortedSet(set)}\tnot json\t7`);
  }
  for (let i = 0; i < perKey; i++) {
    const cls = i === 0 ? 'Gone' : i % 2 ? 'A' : 'B';
    const payload = job(cls, 100 + i);
    await redis.lpush(keys.queue('old'), payload);
    expected.push(`${keys.queue(target(cls))}\t${payload.replace('"queue":"old"', `"queue":"${target(cls)}"`)}\t`);
  }
  await redis.lpush(keys.queue('old'), 'not json');
  expected.push(`${keys.queue('old')}\tnot json\t`);
  return expected.sort();
}

async function state(keys: SidekiqKeys): Promise<string[]> {
  return (await allJobs(redis, keys.prefix))
    .filter((j) => !j.key.endsWith(':queues'))
    .map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`)
    .sort();
}

const request = (keys: SidekiqKeys, client = redis) => ({
  redis: client,
  keys,
  plan,
  dryRun: false,
  sets: ['schedule', 'retry', 'dead'] as const,
  queues: true,
  pageSize: 3,
  luaBatch: 2,
});

describe('crash recovery', () => {
  it('a run stopped between any two Redis calls, then run again, leaves every job exactly once', async () => {
    // Count the calls of an undisturbed run (scripts already cached, as in every run below),
    // then crash before each of them in turn.
    const warmKeys = new SidekiqKeys(uniquePrefix());
    await seed(warmKeys);
    await runReroute(request(warmKeys));
    await redis.flushall();
    const probeKeys = new SidekiqKeys(uniquePrefix());
    await seed(probeKeys);
    const counting = interferingRedis(redis, () => {});
    await runReroute(request(probeKeys, counting));
    const calls = counting.calls();
    expect(calls).toBeGreaterThan(10);

    let crashes = 0;
    let wholeRunCalls: number | undefined;
    for (let crashAt = 0; ; crashAt++) {
      await redis.flushall();
      const keys = new SidekiqKeys(uniquePrefix());
      const expected = await seed(keys);
      const crashing = interferingRedis(redis, ({ index }) => {
        if (index === crashAt) throw new SimulatedCrash(`crash before call ${index}`);
      });

      const outcome = await runReroute(request(keys, crashing)).then(
        () => 'completed' as const,
        (error: Error) => error,
      );
      if (outcome === 'completed') {
        // Past the last call (scripts already cached make runs a call shorter).
        wholeRunCalls = crashing.calls();
        break;
      }
      expect(outcome.message).toContain(`crash before call ${crashAt}`);
      crashes++;
      await runReroute(request(keys));

      expect(await state(keys), `crash before call ${crashAt}`).toEqual(expected);
    }
    // Every call position of a whole run was a crash point. (A run's calls can differ from the
    // probe's by a few SCAN pages: how many a SCAN takes depends on Redis's incremental rehashing,
    // so the bound is the run that completed, and the probe only says the runs are not trivial.)
    expect(crashes).toBeGreaterThanOrEqual(wholeRunCalls!);
    expect(crashes).toBeGreaterThan(calls / 2);
  });

  it('with a producer pushing to the old queue between every two calls: crashed before any call, run again, every job exactly once', async () => {
    let crashes = 0;
    for (let crashAt = 0; ; crashAt++) {
      await redis.flushall();
      const keys = new SidekiqKeys(uniquePrefix());
      const expected = await seed(keys);
      const produced: string[] = [];
      const crashing = interferingRedis(redis, async ({ index }) => {
        const late = sidekiqPayload({ className: 'A', queue: 'old', args: `["late",${index}]` });
        produced.push(late);
        await redis.lpush(keys.queue('old'), late);
        if (index === crashAt) throw new SimulatedCrash(`crash before call ${index}`);
      });

      const outcome = await runReroute(request(keys, crashing)).then(
        (summary) => summary,
        (error: Error) => error,
      );
      if (!(outcome instanceof Error)) {
        // Uninterrupted: every original moved, the producer's late jobs still on the old queue and counted.
        const moved = (await state(keys)).filter((j) => !j.includes('"late"'));
        expect(moved).toEqual(expected);
        expect(outcome.totals.arrived).toBeGreaterThan(0);
        break;
      }
      crashes++;
      await runReroute(request(keys));

      const lateMoved = produced.map((p) => `${keys.queue('new')}\t${p.replace('"queue":"old"', '"queue":"new"')}\t`);
      expect(await state(keys), `crash before call ${crashAt}`).toEqual([...expected, ...lateMoved].sort());
    }
    expect(crashes).toBeGreaterThan(20);
  });

  it('a process killed with SIGKILL at random moments, then run again, leaves every job exactly once', async () => {
    // Four kills that landed mid-run (the child died of the signal and the jobs were not yet where
    // a finished run leaves them). On a loaded machine a kill can land after the child's last page:
    // that attempt is still checked, but it does not count, and such attempts are bounded.
    let midRun = 0;
    for (let attempt = 0; midRun < 4; attempt++) {
      expect(attempt, `only ${midRun} of ${attempt} kills landed mid-run`).toBeLessThan(12);
      const keys = new SidekiqKeys(uniquePrefix());
      const expected = await seed(keys, 150);

      const child = spawn(process.execPath, ['--import', 'tsx', repoPath('test/support/reroute-child.ts'), server.url(), keys.prefix], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const { killed } = await killAfterProgress(child, 1 + Math.floor(Math.random() * 4));
      if (killed && !isDeepStrictEqual(await state(keys), expected)) midRun++;

      await runReroute(request(keys));

      expect(await state(keys), `attempt ${attempt}`).toEqual(expected);
    }
  });
});
