// `run --run-id X` / `move --run-id X` with other routing (or, for a move, other classes) than run
// X was started with, X holding no lock of a dead process of this machine — stopped with Ctrl-C
// (its lock released, its work list deleted), finished, or killed on another machine — resumed X
// with the new routing: `run --rename old=a` stopped mid-run, then `run --rename old=b --run-id X`
// moved the rest of `old` to `b` (jobs split between `a` and `b`), recorded old->a and old->b in
// X's rollback record, and said "Complete", exit 0. A run's routing is fixed by its first plan:
// any other is now refused, exit 1, one message naming what differs and the ways out, nothing
// touched. The same routing from another machine (the runbook's takeover) still finishes X.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { seedOldQueueAAndB, signalledAfterMoving } from '../support/interrupted-run.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli as cli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const ends = () => ['--from', redis.urls().source, '--to', redis.urls().target];

/** The shipped CLI with `args`, sent `signal` once its progress says it moved a job: its run id (from the lock while it runs). */
async function signalled(signal: 'SIGINT' | 'SIGKILL', ...args: string[]): Promise<{ runId: string; pid: number }> {
  // Slowed so that it is still moving when signalled: a move by its rate limit, a re-route (which has none) by one job a page.
  const slow = args[0] === 'move' ? ['--page-size', '3', '--rate-limit', '40'] : ['--page-size', '1'];
  return signalledAfterMoving(redis.source(), signal, ...args, ...slow);
}

/** 200 jobs of class A (and 10 of class B) in `old` on the source: their payloads. */
const seed = () => seedOldQueueAAndB(redis.source(), 'B');

/** Every key and value on both servers. */
const both = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });

/** The refusal, word for word. */
function refusal(runId: string, mode: 'reroute' | 'transfer', differs: 'routing' | 'classes' | 'both'): string {
  const started = { routing: 'other routing', classes: 'another selection of classes', both: 'other routing and another selection of classes' }[differs];
  const elsewhere = 'move the rest of its jobs elsewhere than the jobs it moved';
  const otherClasses = 'move the jobs of other classes than the ones it was started for';
  const would = { routing: elsewhere, classes: otherClasses, both: `${elsewhere}, and ${otherClasses}` }[differs];
  const ways =
    mode === 'reroute'
      ? `Finish it with its own routing (its own command again, with --run-id ${runId}), or roll it back (sidekiq-migrate rollback ${runId}); `
      : `Finish it with its own routing and classes (its own command again, with --run-id ${runId}); `;
  return (
    `Run ${runId} (${mode}) was started with ${started} than this command's (its first plan fixed them for good): resumed with this one, it would ${would}${mode === 'reroute' ? ', and its rollback record would mix both' : ''}. ` +
    `${ways}or run this command without --run-id ${runId}, as a new run (the jobs ${runId} moved stay as it moved them). Nothing was touched.\n`
  );
}

describe('--run-id X with other routing than X was started with, X holding no live lock', { timeout: 120_000 }, () => {
  it('run, X stopped with Ctrl-C: other renames (with --json too, or one rename more) are refused, nothing touched; its own renames finish it, every job once, one routing recorded', async () => {
    const source = redis.source();
    const url = redis.urls().source;
    const { a, b } = await seed();
    const { runId } = await signalled('SIGINT', 'run', '--redis', url, '--rename', 'old=a');
    expect(await source.llen('queue:old')).toBeGreaterThan(0);
    expect(await source.llen('queue:a')).toBeGreaterThan(0);
    const before = await both();

    for (const routing of [['--rename', 'old=b'], ['--rename', 'old=b', '--json'], ['--rename', 'old=a', '--rename', 'x=y']]) {
      const other = await cli('run', '--redis', url, ...routing, '--run-id', runId);
      expect(other.stdout, routing.join(' ')).toBe('');
      expect(other.stderr, routing.join(' ')).toBe(refusal(runId, 'reroute', 'routing'));
      expect(other.code, routing.join(' ')).toBe(1);
      expect(await both()).toEqual(before);
    }

    const own = await cli('run', '--redis', url, '--rename', 'old=a', '--run-id', runId);
    expect(own.stdout).toContain('Complete: everything that could be moved was moved.');
    expect(own.code).toBe(0);
    expect(await jobsIn(source)).toEqual([...a, ...b].map((p) => jobEntry('queue:a', withQueue(p, 'old', 'a'))).sort());
    expect((await source.smembers(`sidekiq-migrate:${runId}:moves`)).sort()).toEqual(['["A","old","a"]', '["B","old","a"]']);

    // Finished, X stays fixed: new jobs in `old` are not moved under its id with other routing.
    const later = sidekiqPayload({ className: 'A', queue: 'old', args: '["later"]' });
    await source.lpush('queue:old', later);
    const finished = await both();
    const again = await cli('run', '--redis', url, '--rename', 'old=b', '--run-id', runId);
    expect(again.stderr).toBe(refusal(runId, 'reroute', 'routing'));
    expect(again.code).toBe(1);
    expect(await both()).toEqual(finished);
  });

  it("run, X killed on another machine: --run-id X with its own routing takes it over and finishes it (the runbook's takeover); with other renames it is refused, nothing touched", async () => {
    const source = redis.source();
    const url = redis.urls().source;
    const { a, b } = await seed();
    const { runId } = await signalled('SIGKILL', 'run', '--redis', url, '--rename', 'old=a');
    // Its lock, as another machine's process left it.
    const lock = JSON.parse((await source.get('sidekiq-migrate:lock'))!) as Record<string, unknown>;
    await source.set('sidekiq-migrate:lock', JSON.stringify({ ...lock, host: 'another-machine' }));
    const before = await both();

    const other = await cli('run', '--redis', url, '--rename', 'old=b', '--run-id', runId);
    expect(other.stdout).toBe('');
    expect(other.stderr).toBe(refusal(runId, 'reroute', 'routing'));
    expect(other.code).toBe(1);
    expect(await both()).toEqual(before);

    const own = await cli('run', '--redis', url, '--rename', 'old=a', '--run-id', runId);
    expect(own.stdout).toContain(`run ${runId}`);
    expect(own.stdout).toContain('Complete: everything that could be moved was moved.');
    expect(own.code).toBe(0);
    expect(await jobsIn(source)).toEqual([...a, ...b].map((p) => jobEntry('queue:a', withQueue(p, 'old', 'a'))).sort());
    expect((await source.smembers(`sidekiq-migrate:${runId}:moves`)).sort()).toEqual(['["A","old","a"]', '["B","old","a"]']);
    expect(await source.get('sidekiq-migrate:lock')).toBeNull();
  });

  it('move --classes A stopped with Ctrl-C: other classes, none, or renames are refused, nothing touched; its own classes finish it, each of their jobs once', async () => {
    const { a, b } = await seed();
    const { runId } = await signalled('SIGINT', 'move', ...ends(), '--classes', 'A');
    expect((await jobsIn(redis.target())).length).toBeGreaterThan(0);
    const before = await both();

    for (const [options, differs] of [
      [['--classes', 'A,B'], 'classes'],
      [[], 'classes'],
      [['--rename', 'old=b'], 'both'],
      [['--classes', 'A', '--rename', 'old=b'], 'routing'],
    ] as const) {
      const other = await cli('move', ...ends(), ...options, '--run-id', runId);
      expect(other.stdout, options.join(' ')).toBe('');
      expect(other.stderr, options.join(' ')).toBe(refusal(runId, 'transfer', differs));
      expect(other.code, options.join(' ')).toBe(1);
      expect(await both()).toEqual(before);
    }

    const own = await cli('move', ...ends(), '--classes', 'A', '--run-id', runId);
    expect(own.code).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(b.map((p) => jobEntry('queue:old', p)).sort());
    expect(await jobsIn(redis.target())).toEqual(a.map((p) => jobEntry('queue:old', p)).sort());
  });

  it('a plain move (no routing, no classes) stopped with Ctrl-C: renames are refused, nothing touched; the plain move finishes it, every job once', async () => {
    const { a, b } = await seed();
    const { runId } = await signalled('SIGINT', 'move', ...ends());
    const before = await both();

    const other = await cli('move', ...ends(), '--rename', 'old=b', '--run-id', runId);
    expect(other.stdout).toBe('');
    expect(other.stderr).toBe(refusal(runId, 'transfer', 'routing'));
    expect(other.code).toBe(1);
    expect(await both()).toEqual(before);

    const own = await cli('move', ...ends(), '--run-id', runId);
    expect(own.stdout).toContain('Complete');
    expect(own.code).toBe(0);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual([...a, ...b].map((p) => jobEntry('queue:old', p)).sort());
  });
});
