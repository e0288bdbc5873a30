// A dry-run rollback of a run that recorded many moves (a routing to a queue per worker: thousands
// of classes). A dry run writes nothing, so its plan carried the reverse routing — every recorded
// move — in the run's settings, which travel in every state: over 256 KiB, Step Functions fails
// the execution at the plan with States.DataLimitExceeded, and so did the local run. The dry run
// now carries only which record to read (and its digest), and each step reads the moves again.
import { describe, expect, it } from 'vitest';
import { encodeMove, movesKey } from '../../core/reroute/move-record.js';
import { keyValueSnapshot } from '../support/exact-jobs.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { runCli } from '../support/run-cli.js';

const redis = privateRedis();

/** 6,000 recorded moves of ~90 bytes each (over 500 KB), and 3 jobs of one of the classes to put back. */
async function seedManyMoves(runId: string): Promise<void> {
  const moves = Array.from({ length: 6_000 }, (_, i) => encodeMove({ routedClass: `Gitlab::SomeNamespace::Worker${i}`, from: `old_queue_${i}`, to: `per_worker_queue_${i}` }));
  for (let i = 0; i < moves.length; i += 1000) await redis.client().sadd(movesKey('', runId), ...moves.slice(i, i + 1000));
  await redis.client().expire(movesKey('', runId), 3600);
  for (let i = 0; i < 3; i++) await redis.client().rpush('queue:per_worker_queue_7', sidekiqPayload({ className: 'Gitlab::SomeNamespace::Worker7', queue: 'per_worker_queue_7', args: `[${i}]` }));
  await redis.client().sadd('queues', 'per_worker_queue_7');
}

describe('a dry-run rollback of a run with many recorded moves', () => {
  it('counts what it would put back, exit 0, and writes nothing: its settings stay far below 256 KiB', { timeout: 60_000 }, async () => {
    await seedManyMoves('wide-1');
    const before = await keyValueSnapshot(redis.client());

    const dry = await runCli('rollback', 'wide-1', '--redis', redis.url(), '--dry-run', '--run-id', 'back-wide-1');

    expect(dry.stderr).not.toContain('DataLimitExceeded');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^Re-route redis:\/\/127\.0\.0\.1:\d+ — run back-wide-1 — DRY RUN/m);
    expect(dry.stdout).toContain('Moved to: old_queue_7 3');
    expect(await keyValueSnapshot(redis.client())).toEqual(before);
  });

  it('then the rollback itself puts the jobs back', { timeout: 60_000 }, async () => {
    await seedManyMoves('wide-2');

    const { code, stdout } = await runCli('rollback', 'wide-2', '--redis', redis.url());

    expect(code).toBe(0);
    expect(stdout).toContain('Complete: everything that could be moved was moved.');
    expect(await redis.client().llen('queue:old_queue_7')).toBe(3);
    expect(await redis.client().llen('queue:per_worker_queue_7')).toBe(0);
  });
});
