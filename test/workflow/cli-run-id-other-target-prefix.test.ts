// Found walking docs/runbooks/redis-move.md: a move interrupted on its way to T (no prefix), run
// again with the same --to but another --to-namespace (a typo, or a prefix forgotten or added on
// the second command), was refused, rightly (a target is a Redis under a prefix: its target id is
// kept under that prefix), but the refusal said the target "has none: no transfer wrote there, or
// it lost its data since (restarted empty or flushed)" and asked for "its own target (--to)": the
// same --to, which the operator had given, and an alarm about a flushed Redis that had lost nothing.
// It now names the prefix this command writes under and asks for --to-namespace too; nothing is
// touched, and the run's own command still finishes it, every job once.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { signalledAfterMoving } from '../support/interrupted-run.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli as cli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();

const move = (...rest: string[]) => ['move', '--from', redis.urls().source, '--to', redis.urls().target, ...rest];
const all = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });

/** 200 jobs of class A in `old` on the source: their payloads. */
async function seedOld(): Promise<string[]> {
  const jobs = Array.from({ length: 200 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  for (const p of jobs) await redis.source().lpush('queue:old', p);
  await redis.source().sadd('queues', 'old');
  return jobs;
}

const stoppedMove = async (signal: 'SIGINT' | 'SIGKILL'): Promise<string> =>
  (await signalledAfterMoving(redis.source(), signal, ...move('--page-size', '3', '--rate-limit', '40'))).runId;

async function expectEveryJobOnceUnprefixed(jobs: readonly string[]): Promise<void> {
  expect(await jobsIn(redis.source())).toEqual([]);
  expect(await jobsIn(redis.target())).toEqual(jobs.map((p) => jobEntry('queue:old', p)).sort());
  expect(await redis.target().keys('other:*')).toEqual([]);
}

const hasNone = `this one's has none: no transfer wrote to this Redis under the prefix "other:", or it lost its data since (restarted empty or flushed)`;

describe('a move resumed to the same --to under another --to-namespace', { timeout: 120_000 }, () => {
  it('stopped with Ctrl-C, then --run-id X --to-namespace other: refused naming the prefix and --to-namespace, exit 1, nothing touched; its own command finishes it', async () => {
    const jobs = await seedOld();
    const runId = await stoppedMove('SIGINT');
    expect((await jobsIn(redis.target())).length).toBeGreaterThan(0);
    const started = (await redis.target().get('sidekiq-migrate:target-id'))!;
    const before = await all();

    const refused = await cli(...move('--run-id', runId, '--to-namespace', 'other:'));

    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `Run ${runId} (transfer) was started with another target (target id ${started}; ${hasNone}) than this command's (its first plan fixed them for good): ` +
        `resumed with this one, it would move the rest of its jobs to another Redis than the jobs it moved, its summary and records split between the two. ` +
        `Finish it with its own target (--to, --to-namespace), routing and classes (its own command again, with --run-id ${runId}); or run this command without --run-id ${runId}, as a new run (the jobs ${runId} moved stay as it moved them). Nothing was touched.\n`,
    );
    expect(refused.code).toBe(1);
    expect(await all()).toEqual(before);

    const own = await cli(...move('--run-id', runId));
    expect(own.stdout.trimEnd().split('\n').at(-1)).toBe('Complete: everything that could be moved was moved.');
    expect(own.code).toBe(0);
    await expectEveryJobOnceUnprefixed(jobs);
  });

  it('killed, then the same move with --to-namespace other: refused naming the prefix and --to-namespace, exit 1, nothing touched; the same move without it resumes it', async () => {
    const jobs = await seedOld();
    const runId = await stoppedMove('SIGKILL');
    const started = (await redis.target().get('sidekiq-migrate:target-id'))!;
    const before = await all();

    const refused = await cli(...move('--to-namespace', 'other:'));

    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      new RegExp(
        `^Run ${runId} \\(transfer\\) was interrupted: its process on this machine \\(pid \\d+\\) is gone, and its run lock on redis://127\\.0\\.0\\.1:\\d+ holds for 1[12]\\d\\d s more\\. ` +
          `It was started with another target \\(target id ${started}; ${hasNone.replace(/[()]/g, '\\$&')}\\) than this command's: resumed with this one, it would move the rest of its jobs to another Redis than the jobs it moved, its summary and records split between the two\\. ` +
          `Finish it by running its own command again, with its target \\(--to, --to-namespace\\), routing and classes \\(it resumes ${runId}\\), then run this command again; or run this command again once that lock has expired \\(the jobs it moved stay as it moved them\\)\\. Nothing was touched\\.\\n$`,
      ),
    );
    expect(refused.code).toBe(1);
    expect(await all()).toEqual(before);

    const own = await cli(...move());
    expect(own.stderr).toContain(`Resuming run ${runId}, whose process on this machine is gone.`);
    expect(own.code).toBe(0);
    await expectEveryJobOnceUnprefixed(jobs);
  });
});
