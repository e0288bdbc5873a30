// `move --run-id X --to T2` after X moved part of its jobs to T1 (X stopped with Ctrl-C, nothing in
// flight) was accepted: the rest of X's jobs went to T2, the run split between two Redis servers,
// its summary and records mixed, and it said "Complete". A transfer's target is fixed by its first
// plan now (started-with.ts, by the target's own id: target-identity.ts): another is refused, exit
// 1, one message naming both ids and the ways out, nothing touched on any of the three servers; a
// dry run in the real run's words. The same target (the runbook's takeover, from another machine
// too) still finishes X.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis, privateSourceAndTarget } from '../support/private-redis.js';
import { signalledAfterMoving } from '../support/interrupted-run.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli as cli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const other = privateRedis();

const to = (url: string) => ['--from', redis.urls().source, '--to', url];
const all = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()), other: await keyValueSnapshot(other.client()) });

/** The shipped CLI moving to the first target, sent `signal` once its progress says it wrote a job: its run id. */
const stoppedMove = async (signal: 'SIGINT' | 'SIGKILL' = 'SIGINT'): Promise<string> =>
  (await signalledAfterMoving(redis.source(), signal, 'move', ...to(redis.urls().target), '--page-size', '3', '--rate-limit', '40')).runId;

function refusal(runId: string, started: string, here: string | null): string {
  return (
    `Run ${runId} (transfer) was started with another target (target id ${started}; this one's ${here === null ? 'has none: no transfer wrote to this Redis under no prefix, or it lost its data since (restarted empty or flushed)' : `is ${here}`}) than this command's (its first plan fixed them for good): ` +
    `resumed with this one, it would move the rest of its jobs to another Redis than the jobs it moved, its summary and records split between the two. ` +
    `Finish it with its own target (--to, --to-namespace), routing and classes (its own command again, with --run-id ${runId}); or run this command without --run-id ${runId}, as a new run (the jobs ${runId} moved stay as it moved them). Nothing was touched.\n`
  );
}

/** 200 jobs of class A in `old` on the source: their payloads. */
async function seedOld(): Promise<string[]> {
  const jobs = Array.from({ length: 200 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  for (const p of jobs) await redis.source().lpush('queue:old', p);
  await redis.source().sadd('queues', 'old');
  return jobs;
}

/** Every job of `jobs` once on the first target (T1): none left on the source, none on T2. */
async function expectEveryJobOnT1(jobs: readonly string[]): Promise<void> {
  expect(await jobsIn(redis.source())).toEqual([]);
  expect(await jobsIn(redis.target())).toEqual(jobs.map((p) => jobEntry('queue:old', p)).sort());
  expect(await jobsIn(other.client())).toEqual([]);
}

describe('move --run-id X --to another target than X was started with', { timeout: 120_000 }, () => {
  it('X stopped with Ctrl-C after moving part of its jobs to T1: --to T2 (no id yet, or another id) is refused, dry run too, nothing touched anywhere; --to T1 finishes it, every job once on T1', async () => {
    const jobs = await seedOld();
    const runId = await stoppedMove();
    const onT1 = await jobsIn(redis.target());
    expect(onT1.length).toBeGreaterThan(0);
    expect(await redis.source().llen('queue:old')).toBeGreaterThan(0);
    const started = (await redis.target().get('sidekiq-migrate:target-id'))!;
    const before = await all();

    for (const dry of [[], ['--dry-run']]) {
      const refused = await cli('move', ...to(other.url()), '--run-id', runId, ...dry);
      expect(refused.stdout, dry.join(' ')).toBe('');
      expect(refused.stderr, dry.join(' ')).toBe(refusal(runId, started, null));
      expect(refused.code, dry.join(' ')).toBe(1);
      expect(await all()).toEqual(before);
    }
    // A target another transfer named: refused too, naming both ids.
    await other.client().set('sidekiq-migrate:target-id', 'another-target');
    const named = await all();
    const refused = await cli('move', ...to(other.url()), '--run-id', runId);
    expect(refused.stderr).toBe(refusal(runId, started, 'another-target'));
    expect(refused.code).toBe(1);
    expect(await all()).toEqual(named);

    const own = await cli('move', ...to(redis.urls().target), '--run-id', runId);
    expect(own.stdout).toContain('Complete');
    expect(own.code).toBe(0);
    await expectEveryJobOnT1(jobs);
  });

  it("X's record kept by an older version, naming no target: --to T2 is refused (T2 holds nothing X wrote), nothing touched anywhere; --to T1 (which holds X's ledgers) finishes it, every job once on T1", async () => {
    const jobs = await seedOld();
    const runId = await stoppedMove();
    // As an older version wrote it: no `target`.
    const key = `sidekiq-migrate:${runId}:started-with`;
    const record = JSON.parse((await redis.source().get(key))!) as Record<string, unknown>;
    expect(record['target']).toBeDefined();
    const { target: _target, ...legacy } = record;
    await redis.source().set(key, JSON.stringify(legacy), 'KEEPTTL');
    await other.client().set('sidekiq-migrate:target-id', 'another-target');
    const before = await all();

    const refused = await cli('move', ...to(other.url()), '--run-id', runId);

    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `Run ${runId} (transfer) was started with a target it did not record (an older version kept its record; this one holds nothing the run wrote, and its id is another-target), perhaps another than this command's (its first plan fixed them for good): ` +
        `resumed with this one, it would risk moving the rest of its jobs to another Redis than the jobs it moved, its summary and records split between the two. ` +
        `Finish it with its own target (--to, --to-namespace), routing and classes (its own command again, with --run-id ${runId}); or run this command without --run-id ${runId}, as a new run (the jobs ${runId} moved stay as it moved them). Nothing was touched.\n`,
    );
    expect(refused.code).toBe(1);
    expect(await all()).toEqual(before);

    const own = await cli('move', ...to(redis.urls().target), '--run-id', runId);
    expect(own.stdout).toContain('Complete');
    expect(own.code).toBe(0);
    await expectEveryJobOnT1(jobs);
  });

  it('X killed on this machine mid-move to T1: a plain move --to T2 does not take it over (refused, naming the interruption and both ids, nothing touched anywhere); a move --to T1 resumes it, every job once on T1', async () => {
    const jobs = await seedOld();
    const runId = await stoppedMove('SIGKILL');
    const started = (await redis.target().get('sidekiq-migrate:target-id'))!;
    const before = await all();

    const refused = await cli('move', ...to(other.url()));

    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      new RegExp(
        `^Run ${runId} \\(transfer\\) was interrupted: its process on this machine \\(pid \\d+\\) is gone, and its run lock on redis://127\\.0\\.0\\.1:\\d+ holds for 1[12]\\d\\d s more\\. ` +
          `It was started with another target \\(target id ${started}; this one's has none: no transfer wrote to this Redis under no prefix, or it lost its data since \\(restarted empty or flushed\\)\\) than this command's: resumed with this one, it would move the rest of its jobs to another Redis than the jobs it moved, its summary and records split between the two\\. ` +
          `Finish it by running its own command again, with its target \\(--to, --to-namespace\\), routing and classes \\(it resumes ${runId}\\), then run this command again; or run this command again once that lock has expired \\(the jobs it moved stay as it moved them\\)\\. Nothing was touched\\.\\n$`,
      ),
    );
    expect(refused.code).toBe(1);
    expect(await all()).toEqual(before);

    const own = await cli('move', ...to(redis.urls().target));
    expect(own.stderr).toContain(`Resuming run ${runId}, whose process on this machine is gone.`);
    expect(own.code).toBe(0);
    await expectEveryJobOnT1(jobs);
  });
});
