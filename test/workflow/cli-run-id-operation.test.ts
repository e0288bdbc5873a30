// `run --run-id X` after X was a `move` (or `move --run-id X` after X was a `run`) was not compared
// at all (only routing and classes were, and only against a run of the same operation): it planned
// X as the other operation, storing its routing where X's transfer resume reads how to route the
// jobs X left in flight, and adding its moves to X's rollback record. And `--dry-run --run-id X`
// with other routing than X was started with was never refused: it previewed, under X's id, a
// routing X will never run. Both are refused now, exit 1, one message naming the run, its
// operation and the ways out, nothing touched; a dry run in the real run's words.
import { describe, expect, it } from 'vitest';
import { jobEntry, jobsIn, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli as cli } from '../support/run-cli.js';

const redis = privateSourceAndTarget();
const ends = () => ['--from', redis.urls().source, '--to', redis.urls().target];
const both = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });

async function seed(n: number): Promise<string[]> {
  const jobs = Array.from({ length: n }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
  for (const p of jobs) await redis.source().lpush('queue:old', p);
  await redis.source().sadd('queues', 'old');
  return jobs;
}

function otherOperation(runId: string, started: 'reroute' | 'transfer'): string {
  const words = { reroute: 're-route (run)', transfer: 'transfer (move)' };
  const other = started === 'reroute' ? 'transfer' : 'reroute';
  return (
    `Run ${runId} was started as a ${words[started]}, not a ${words[other]} as this command is (its first plan fixed it for good): resumed as one, its stored routing and records would mix both operations. ` +
    `Finish it with its own command (its own command again, with --run-id ${runId}); or run this command without --run-id ${runId}, as a new run (the jobs ${runId} moved stay as it moved them). Nothing was touched.\n`
  );
}

function otherRouting(runId: string): string {
  return (
    `Run ${runId} (reroute) was started with other routing than this command's (its first plan fixed them for good): resumed with this one, it would move the rest of its jobs elsewhere than the jobs it moved, and its rollback record would mix both. ` +
    `Finish it with its own routing (its own command again, with --run-id ${runId}), or roll it back (sidekiq-migrate rollback ${runId}); or run this command without --run-id ${runId}, as a new run (the jobs ${runId} moved stay as it moved them). Nothing was touched.\n`
  );
}

describe('--run-id X names the operation X was started as', { timeout: 60_000 }, () => {
  it('move --run-id X after run X (a re-route) is refused, dry run too, nothing touched; run --run-id X goes on', async () => {
    const jobs = await seed(5);
    const first = await cli('run', '--redis', redis.urls().source, '--rename', 'old=a', '--run-id', 'routed-1');
    expect(first.code).toBe(0);
    await seed(3).then((later) => jobs.push(...later));
    const before = await both();

    for (const dry of [[], ['--dry-run']]) {
      const moved = await cli('move', ...ends(), '--run-id', 'routed-1', ...dry);
      expect(moved.stdout, dry.join(' ')).toBe('');
      expect(moved.stderr, dry.join(' ')).toBe(otherOperation('routed-1', 'reroute'));
      expect(moved.code, dry.join(' ')).toBe(1);
      expect(await both()).toEqual(before);
    }

    const own = await cli('run', '--redis', redis.urls().source, '--rename', 'old=a', '--run-id', 'routed-1');
    expect(own.code).toBe(0);
    expect(await jobsIn(redis.source())).toEqual(jobs.map((p) => jobEntry('queue:a', withQueue(p, 'old', 'a'))).sort());
    expect(await jobsIn(redis.target())).toEqual([]);
  });

  it('run --run-id X after move X (a transfer) is refused, dry run too, nothing touched; move --run-id X goes on', async () => {
    const jobs = await seed(5);
    const first = await cli('move', ...ends(), '--run-id', 'moved-1');
    expect(first.code).toBe(0);
    await seed(3).then((later) => jobs.push(...later));
    const before = await both();

    for (const dry of [[], ['--dry-run']]) {
      const routed = await cli('run', '--redis', redis.urls().source, '--rename', 'old=a', '--run-id', 'moved-1', ...dry);
      expect(routed.stdout, dry.join(' ')).toBe('');
      expect(routed.stderr, dry.join(' ')).toBe(otherOperation('moved-1', 'transfer'));
      expect(routed.code, dry.join(' ')).toBe(1);
      expect(await both()).toEqual(before);
    }

    const own = await cli('move', ...ends(), '--run-id', 'moved-1');
    expect(own.code).toBe(0);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(jobs.map((p) => jobEntry('queue:old', p)).sort());
  });
});

describe('--dry-run --run-id X with other routing than X was started with', { timeout: 60_000 }, () => {
  it('is refused in the real run\'s words, exit 1, nothing touched; with its own routing it previews', async () => {
    await seed(4);
    const first = await cli('run', '--redis', redis.urls().source, '--rename', 'old=a', '--run-id', 'routed-2');
    expect(first.code).toBe(0);
    await seed(2);
    const before = await both();

    const real = await cli('run', '--redis', redis.urls().source, '--rename', 'old=b', '--run-id', 'routed-2');
    const dry = await cli('run', '--redis', redis.urls().source, '--rename', 'old=b', '--run-id', 'routed-2', '--dry-run');
    for (const attempt of [real, dry]) {
      expect(attempt.stdout).toBe('');
      expect(attempt.stderr).toBe(otherRouting('routed-2'));
      expect(attempt.code).toBe(1);
    }
    expect(await both()).toEqual(before);

    const preview = await cli('run', '--redis', redis.urls().source, '--rename', 'old=a', '--run-id', 'routed-2', '--dry-run');
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain('DRY RUN');
    expect(await both()).toEqual(before);
  });
});
