// A plain `move` on a machine where an earlier `move` was killed (SIGKILL: its lock is still on
// both Redis) took that run over whatever routing and classes it was given: `move --rename old=a`
// killed mid-run, then `move --rename old=b` said "Resuming run X", exit 0, and the target ended
// with jobs in both `a` and `b`. Other routing or another selection of classes is now refused
// before anything is touched (exit 1, one message naming the dead run and both ways out); the same
// routing and classes still resume it, and every job ends on the target once.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { killedAfterMoving, spawnCli as cli } from '../support/cli-child.js';
import { lockedRunId, seedOldQueueAAndB } from '../support/interrupted-run.js';
import { privateSourceAndTarget } from '../support/private-redis.js';

const redis = privateSourceAndTarget();
const ends = () => ['--from', redis.urls().source, '--to', redis.urls().target];

/** A plain `move` with `options`, SIGKILLed once its progress says it moved a job: its pid and run id (from the lock it left). */
async function killedMidMove(...options: string[]): Promise<{ pid: number; runId: string }> {
  const pid = await killedAfterMoving('move', ...ends(), ...options, '--page-size', '3', '--rate-limit', '40');
  return { pid, runId: await lockedRunId(redis.source()) };
}

/** 200 jobs of class A (and 10 of class B) in `old` on the source: their payloads. */
const seed = () => seedOldQueueAAndB(redis.source(), 'B');

/** Every key and value on both servers. */
const both = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });

const escape = (text: string) => text.replace(/[/.()]/g, '\\$&');

/** The refusal, word for word (the lock's seconds left excepted). */
const refusal = (runId: string, pid: number, differs: 'routing' | 'classes') => {
  const what = differs === 'routing' ? 'other routing' : 'another selection of classes';
  const would = differs === 'routing' ? 'move the rest of its jobs elsewhere than the jobs it moved' : 'move the jobs of other classes than the ones it was started for';
  return new RegExp(
    `^Run ${runId} \\(transfer\\) was interrupted: its process on this machine \\(pid ${pid}\\) is gone, and its run lock on ${escape(redis.urls().source)} holds for 1[12]\\d\\d s more\\. ` +
      `It was started with ${what} than this command's: resumed with this one, it would ${would}\\. ` +
      `Finish it by running its own command again, with its routing and classes \\(it resumes ${runId}\\), then run this command again; or run this command again once that lock has expired \\(the jobs it moved stay as it moved them\\)\\. Nothing was touched\\.\\n$`,
  );
};

describe('a plain move on a machine where an earlier move was killed', { timeout: 120_000 }, () => {
  it('with other renames, none, or classes it was not given: refused, nothing touched; its own renames resume it and move every job once', async () => {
    const { a, b } = await seed();
    const { pid, runId } = await killedMidMove('--rename', 'old=a');
    expect(await redis.source().llen('queue:old')).toBeGreaterThan(0);
    const before = await both();

    for (const [options, differs] of [
      [['--rename', 'old=b'], 'routing'],
      [['--rename', 'old=b', '--json'], 'routing'],
      [[], 'routing'],
      [['--rename', 'old=a', '--classes', 'A'], 'classes'],
    ] as const) {
      const other = await cli('move', ...ends(), ...options);
      expect(other.stdout, options.join(' ')).toBe('');
      expect(other.stderr, options.join(' ')).toMatch(refusal(runId, pid, differs));
      expect(other.code, options.join(' ')).toBe(1);
      expect(await both()).toEqual(before);
    }
    // Named with --run-id, the same.
    const named = await cli('move', ...ends(), '--rename', 'old=b', '--run-id', runId);
    expect(named.stderr).toMatch(refusal(runId, pid, 'routing'));
    expect(named.code).toBe(1);
    expect(await both()).toEqual(before);

    const own = await cli('move', ...ends(), '--rename', 'old=a');
    expect(own.stderr).toContain(`Resuming run ${runId}, whose process on this machine is gone.\n`);
    expect(own.stdout).toContain('Complete');
    expect(own.code).toBe(0);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual([...a, ...b].map((p) => jobEntry('queue:a', withQueue(p, 'old', 'a'))).sort());
    expect(await redis.source().get('sidekiq-migrate:lock')).toBeNull();
    expect(await redis.target().get('sidekiq-migrate:lock')).toBeNull();
  });

  it('with other classes or routing than its --classes: refused, nothing touched; its own classes resume it and move each of their jobs once', async () => {
    const { a, b } = await seed();
    const { pid, runId } = await killedMidMove('--classes', 'A');
    const before = await both();

    for (const [options, differs] of [
      [[], 'classes'],
      [['--classes', 'B'], 'classes'],
      [['--classes', 'A,B'], 'classes'],
      [['--classes', 'A', '--rename', 'old=b'], 'routing'],
    ] as const) {
      const other = await cli('move', ...ends(), ...options);
      expect(other.stderr, options.join(' ')).toMatch(refusal(runId, pid, differs));
      expect(other.code, options.join(' ')).toBe(1);
      expect(await both()).toEqual(before);
    }

    const own = await cli('move', ...ends(), '--classes', 'A');
    expect(own.stderr).toContain(`Resuming run ${runId}, whose process on this machine is gone.\n`);
    expect(own.code).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(b.map((p) => jobEntry('queue:old', p)).sort());
    expect(await jobsIn(redis.target())).toEqual(a.map((p) => jobEntry('queue:old', p)).sort());
  });
});
