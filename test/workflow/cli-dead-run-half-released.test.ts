// A move stopped by Ctrl-C releases the run lock on its source, then on its target; a second
// Ctrl-C in between quits at once (exit 130), leaving the lock on the target only. The next
// `move` with the same --from and --to was refused for good: "a transfer into it from another
// Redis … Finish that run first by running its move again (with its --from and --to)" — the very
// command it refused, until the target's lock expired. Seen as a flaky cli-interrupt "twice" test.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runLockKey } from '../../core/redis/run-lock.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { repoPath } from '../support/paths.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { untilChildProgress } from '../support/child-progress.js';

const redis = privateSourceAndTarget();
const last = (text: string) => text.trimEnd().split('\n').at(-1);

describe('a dead move that released its lock on the source but not on the target', () => {
  it('is resumed by the same move, which finishes it: every job once on the target, none in flight', { timeout: 120_000 }, async () => {
    const [source, target] = [redis.source(), redis.target()];
    const urls = redis.urls();
    const jobs = Array.from({ length: 400 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `[${i}]` }));
    await source.sadd('queues', 'a');
    await source.lpush('queue:a', ...jobs);

    // The move, killed while under way; then its source lock released as its stop releases it first.
    const child = spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), 'move', '--from', urls.source, '--to', urls.target, '--page-size', '5', '--rate-limit', '200'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      await untilChildProgress(child, 'the move moved jobs', async () => (await target.llen('queue:a')) > 0);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
    } finally {
      child.kill('SIGKILL');
    }
    const dead = JSON.parse((await target.get(runLockKey('')))!) as { runId: string };
    expect(JSON.parse((await source.get(runLockKey('')))!)).toMatchObject({ runId: dead.runId });
    await source.del(runLockKey(''));

    const resumed = await runCli('move', '--from', urls.source, '--to', urls.target);

    expect(resumed.stderr).toContain(`Resuming run ${dead.runId}, whose process on this machine is gone.`);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(last(resumed.stdout)).toMatch(/^Complete/);
    expect(await jobsIn(source)).toEqual([]);
    expect(await jobsIn(target)).toEqual(jobs.map((p) => jobEntry('queue:a', p)).sort());
    expect(await source.keys('*:inflight:*')).toEqual([]);
  });

  it('is still refused, touching nothing, when the source holds no record of that run (it came from another Redis)', { timeout: 120_000 }, async () => {
    const [source, target] = [redis.source(), redis.target()];
    const urls = redis.urls();
    const job = sidekiqPayload({ className: 'A', queue: 'a', args: '[1]' });
    await source.sadd('queues', 'a');
    await source.lpush('queue:a', job);
    // A lock on the target of a run of this machine whose process is gone, started elsewhere.
    const holder = { runId: 'transfer-20261205-000000-dead', operation: 'transfer', host: (await import('node:os')).hostname(), pid: 2 ** 22 + 1, plannedAt: Date.now(), expiresAt: Date.now() + 600_000 };
    await target.set(runLockKey(''), JSON.stringify(holder));

    const refused = await runCli('move', '--from', urls.source, '--to', urls.target);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Run ${holder.runId}, a transfer into it from another Redis whose process on this machine is gone, still holds the run lock on ${urls.target}.`);
    expect(await jobsIn(source)).toEqual([jobEntry('queue:a', job)]);
    expect(await jobsIn(target)).toEqual([]);
  });
});
