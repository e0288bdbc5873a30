import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { runTransfer, type TransferRunRequest } from '../../core/transfer/run-transfer.js';
import { interferingRedis, SimulatedCrash } from './interfering-redis.js';
import { repoPath } from './paths.js';
import { killAfterProgress } from './kill-child.js';
import { waitForLocksGone as waitForServersUnlocked } from './lock-state.js';
import { jobsIn } from './exact-jobs.js';

export interface CrashLoop {
  readonly source: () => Redis;
  readonly target: () => Redis;
  /**
   * Fills the source (both servers are flushed first) and returns, as `jobEntry` prints them, the
   * jobs seeded (all of which a finished transfer leaves on the target, none on the source), or
   * what an uninterrupted transfer leaves on each side.
   */
  readonly seed: () => Promise<readonly string[] | ExpectedEnd>;
  readonly request: (source: Redis, target: Redis, runId: string) => TransferRunRequest;
  /** Who finishes the crashed transfer: the same run id, or another run (after the lock's TTL). */
  readonly resumer: 'same run' | 'another run';
}

/** What a finished transfer leaves: the exact jobs on each server. */
export interface ExpectedEnd {
  readonly source: readonly string[];
  readonly target: readonly string[];
}

/**
 * Every job on either server, duplicates kept, as `jobEntry` prints them (our bookkeeping and
 * the `queues` set left out): the multiset a transfer must preserve at every instant.
 */
export async function jobsOnBoth(source: Redis, target: Redis): Promise<string[]> {
  return [...(await jobsIn(source)), ...(await jobsIn(target))].sort();
}

/** Asserts that each server holds exactly what a finished transfer leaves there. */
export async function expectTransferEnd(source: Redis, target: Redis, expected: readonly string[] | ExpectedEnd, label?: string): Promise<void> {
  const end = 'target' in expected ? expected : { source: [], target: expected };
  expect(await jobsIn(source), `${label ?? ''} (source)`).toEqual([...end.source].sort());
  expect(await jobsIn(target), `${label ?? ''} (target)`).toEqual([...end.target].sort());
}

/**
 * A transfer stopped before its 1st, 2nd, 3rd… Redis call on either side (until one completes),
 * each time finished by `resumer`: after each, every job is on one of the servers exactly as
 * often as it was seeded and nothing is left in flight, and the finished run left each server
 * exactly as an uninterrupted one does (the source emptied of what it moved: a resume that
 * stopped after the leftovers would leave jobs behind). Returns how many crashes were tried.
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
    if (outcome === 'completed') {
      await expectTransferEnd(loop.source(), loop.target(), expected, 'uninterrupted');
      return crashes;
    }
    expect(outcome.message).toContain(`crash before call ${crashAt}`);
    crashes++;

    // The same run takes its own lock again at once; another run waits for it to expire.
    if (loop.resumer === 'another run') await waitForLocksGone(loop.source(), loop.target());
    await runTransfer(loop.request(loop.source(), loop.target(), loop.resumer === 'same run' ? 'crashing' : 'resumer'));

    const all = 'target' in expected ? [...expected.source, ...expected.target] : [...expected];
    expect(await jobsOnBoth(loop.source(), loop.target()), `crash before call ${crashAt}`).toEqual(all.sort());
    await expectTransferEnd(loop.source(), loop.target(), expected, `crash before call ${crashAt}`);
    expect(await loop.source().keys('sidekiq-migrate:*:inflight:*')).toEqual([]);
    expect(await loop.source().keys('sidekiq-migrate:*:batch:*')).toEqual([]);
  }
}

/** Waits until neither server holds a live run lock (the crashed run's lock released or expired). */
export async function waitForLocksGone(source: Redis, target: Redis): Promise<void> {
  await waitForServersUnlocked([source, target]);
}

/**
 * Starts a transfer of `runId` in a child process (test/support/transfer-child.ts), kills it with
 * SIGKILL at a random instant after it reported its `afterPages`-th slice (random between 1 and 4 unless given),
 * then waits until its lock has expired, so that another run may take over. Returns whether the
 * kill landed mid-run: the child died of it, and jobs were still on the source. On a loaded
 * machine it can land after the last slice; callers count the kills that landed mid-run
 * (midRunKills).
 */
export async function killTransferChildMidway(
  clients: { source: Redis; target: Redis },
  urls: { source: string; target: string },
  runId: string,
  afterPages = 1 + Math.floor(Math.random() * 4),
  /** A class selection (and placement) for the child: a selective transfer. */
  selection?: { classes: readonly string[]; placement: 'front' | 'append' },
): Promise<boolean> {
  const extra = selection ? [selection.classes.join(','), selection.placement] : [];
  const child = spawn(process.execPath, ['--import', 'tsx', repoPath('test/support/transfer-child.ts'), urls.source, urls.target, runId, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { killed } = await killAfterProgress(child, afterPages);
  const midRun = killed && (await jobsIn(clients.source)).length > 0;
  await waitForLocksGone(clients.source, clients.target);
  return midRun;
}

/**
 * Runs `attempt` until `wanted` of its kills landed mid-run (it returns whether its kill did), and
 * at most 4 × `wanted` times: every attempt is checked, only the interesting ones count.
 */
export async function midRunKills(wanted: number, attempt: (n: number) => Promise<boolean>): Promise<void> {
  let midRun = 0;
  for (let n = 0; midRun < wanted; n++) {
    expect(n, `only ${midRun} of ${n} kills landed mid-run`).toBeLessThan(4 * wanted);
    if (await attempt(n)) midRun++;
  }
}
