import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { runTransfer, type TransferRunRequest } from '../../core/transfer/run-transfer.js';
import { interferingRedis, SimulatedCrash } from './interfering-redis.js';
import { repoPath } from './paths.js';
import { allJobs } from './redis-snapshot.js';

export interface CrashLoop {
  readonly source: () => Redis;
  readonly target: () => Redis;
  /** Fills the source (both servers are flushed first) and returns what `union` must equal. */
  readonly seed: () => Promise<string[]>;
  readonly request: (source: Redis, target: Redis, runId: string) => TransferRunRequest;
  /** Who finishes the crashed transfer: the same run id, or another run (after the lock's TTL). */
  readonly resumer: 'same run' | 'another run';
}

/**
 * Every job on either server, duplicates kept, as `key \t payload \t score` (our bookkeeping and
 * the `queues` set left out): the multiset a transfer must preserve at every instant.
 */
export async function jobsOnBoth(source: Redis, target: Redis): Promise<string[]> {
  const jobs = [...(await allJobs(source, '')), ...(await allJobs(target, ''))];
  return jobs
    .filter((j) => j.key !== 'queues' && !j.key.includes('sidekiq-migrate:'))
    .map((j) => `${j.key}\t${j.payload}\t${j.score ?? ''}`)
    .sort();
}

/**
 * A transfer stopped before its 1st, 2nd, 3rd… Redis call on either side (until one completes),
 * each time finished by `resumer`: after each, every job is on one of the servers exactly as
 * often as it was seeded and nothing is left in flight. Returns how many crashes were tried.
 */
export async function crashBeforeEveryCallThenResume(loop: CrashLoop): Promise<number> {
  let crashes = 0;
  for (let crashAt = 0; ; crashAt++) {
    await loop.source().flushall();
    await loop.target().flushall();
    const expected = await loop.seed();
    let index = 0;
    const crash = () => {
      if (index++ === crashAt) throw new SimulatedCrash(`crash before call ${crashAt}`);
    };
    const outcome = await runTransfer(loop.request(interferingRedis(loop.source(), crash), interferingRedis(loop.target(), crash), 'crashing')).then(
      () => 'completed' as const,
      (error: Error) => error,
    );
    if (outcome === 'completed') return crashes;
    expect(outcome.message).toContain(`crash before call ${crashAt}`);
    crashes++;

    // The same run takes its own lock again at once; another run waits for it to expire.
    if (loop.resumer === 'another run') await new Promise((r) => setTimeout(r, 60));
    await runTransfer(loop.request(loop.source(), loop.target(), loop.resumer === 'same run' ? 'crashing' : 'resumer'));

    expect(await jobsOnBoth(loop.source(), loop.target()), `crash before call ${crashAt}`).toEqual(expected);
    expect(await loop.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
    expect(await loop.source().keys('sidekiq-migrate:*:batch:*')).toEqual([]);
  }
}

/**
 * Starts a transfer of `runId` in a child process (test/support/transfer-child.ts), kills it with
 * SIGKILL at a random moment once it has started, and waits out its lock's TTL, so that another
 * run may take over what it left.
 */
export async function killTransferChildMidway(urls: { source: string; target: string }, runId: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', repoPath('test/support/transfer-child.ts'), urls.source, urls.target, runId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, Math.random() * 30));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await new Promise((r) => setTimeout(r, 320)); // the child's lock TTL
}
