import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { drainCheck, type DrainCheckOptions } from '../../core/drain/drain-check.js';
import type { DrainReport } from '../../core/drain/drain-report.js';
import { LuaScript } from '../../core/redis/lua-script.js';
import { RunLockedError } from '../../core/redis/run-lock.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { findInflightLeftovers, type InflightLeftover } from '../../core/transfer/resume-inflight.js';
import { runTransfer, type TransferRunRequest, type TransferRunSummary } from '../../core/transfer/run-transfer.js';
import { interferingRedis, SimulatedCrash } from '../support/interfering-redis.js';
import { repoPath } from '../support/paths.js';
import {
  assertRealSidekiqInstalled,
  jidOf,
  readJsonLines,
  runRuby,
  sleep,
  startSidekiq,
  waitUntilSidekiqIdle,
  storedJobs,
  storedOnce,
  waitUntil,
  waitUntilEveryJobRan,
  type EnqueuedJob,
  type Execution,
  type SidekiqEnv,
  type SidekiqServer,
  type StoredJob,
} from './support/real-sidekiq.js';
import { compatStory } from './support/compat-story.js';

/*
 * Moving Sidekiq to a new Redis while the workers run, with real Sidekiq 6.4 on both sides.
 *
 * Real clients fill the OLD Redis (queued jobs on two queues, jobs scheduled a few seconds and a
 * day ahead, retry entries and dead entries from real failures, ActiveJob jobs); then the
 * producers switch and enqueue to the NEW Redis. A slow real `sidekiq` keeps draining the old
 * Redis and another runs on the new one, both on the same queues, while transfers move
 * schedule/retry/dead and the queued leftovers from old to new: a transfer process SIGKILLed
 * mid-way, a transfer that crashes after writing a slice of a queue to the new Redis but before
 * acknowledging it on the old one, and a last run that finishes the leftovers and the rest.
 * Then every job due ran exactly once across both servers with byte-identical arguments, the
 * far-future and dead jobs sit on the new Redis with their exact bytes and scores, and the drain
 * check calls the old Redis drained. Ruby side: test/compat/ruby/ (workers.rb, enqueue.rb).
 */

const QUEUES = ['default', 'critical'] as const;
/** What the real client enqueues to the OLD Redis before anything runs (see enqueue.rb). */
const OLD_MIX = { plain: 60, soon: 3, far: 2, retry: 3, dead: 2, aj: 4, aj_soon: 1, aj_far: 1 } as const;
/**
 * What the switched producers enqueue to the NEW Redis while both servers run. (No retry/dead
 * kinds: enqueue.rb fails those in-process after taking them back off a queue, which a live
 * server listening to that queue could take first.)
 */
const NEW_MIX = { plain: 6, soon: 2, far: 1, aj: 2, aj_soon: 1 } as const;
/** Kinds that are due within seconds and must run exactly once. */
const RUNNABLE: ReadonlySet<string> = new Set(['plain', 'soon', 'retry', 'aj', 'aj_soon']);
const FAR: ReadonlySet<string> = new Set(['far', 'aj_far']);
/** Seconds each job takes on the old server (2 threads): it drains slowly, so the transfer has queued jobs to move. */
const OLD_SERVER_JOB_SECONDS = 0.4;

const KILLED_RUN = 'killed-child';
const CRASHED_RUN = 'crashed-run';
const FINAL_RUN = 'final-run';
const keys = new SidekiqKeys('');

/** What the story below saw at each step. */
interface Observed {
  readonly enqueuedOld: EnqueuedJob[];
  readonly enqueuedNew: EnqueuedJob[];
  /** The old Redis after the real client filled it, before any server ran. */
  readonly oldAtStart: Map<string, StoredJob[]>;
  /** The new Redis's far-future entries as the switched producers wrote them. */
  readonly newFarAtEnqueue: Map<string, StoredJob[]>;
  readonly child: { readonly slicesReported: string[]; readonly signal: NodeJS.Signals | null; readonly leftovers: InflightLeftover[] };
  readonly crash: {
    readonly error: Error;
    /** The crashed run's in-flight list (its last slice, written to the new Redis, not acknowledged). */
    readonly key: string;
    readonly jids: string[];
    /** In-flight keys on the old Redis right after the crash. */
    readonly leftovers: InflightLeftover[];
    /** The drain check on the old Redis right after the crash. */
    readonly report: DrainReport;
    /** The new server's executions of the unacknowledged jobs before the resume ran. */
    readonly ranBeforeResume: Execution[];
  };
  readonly final: TransferRunSummary;
  /** Drain checks of the old Redis: the first `drained` one with the old server still running, and one after it stopped. */
  readonly drainedWhileRunning: DrainReport;
  readonly drainedAfterStop: DrainReport;
  readonly ranOld: Execution[];
  readonly ranNew: Execution[];
  readonly oldAtEnd: Map<string, StoredJob[]>;
  readonly newAtEnd: Map<string, StoredJob[]>;
  /** Keys of ours (`sidekiq-migrate:*`) left on the old Redis at the end. */
  readonly oldToolKeysAtEnd: string[];
}

const { tracker, file, startRedis, once } = compatStory('transfer');

function transferRequest(source: Redis, target: Redis, runId: string, lockTtlMs: number): TransferRunRequest {
  return { source, target, sourceKeys: keys, targetKeys: keys, runId, dryRun: false, sets: ['schedule', 'retry', 'dead'], queues: true, sliceSize: 4, lockTtlMs };
}

/** runTransfer, waiting (briefly) for the run lock that an interrupted run left to expire. */
async function transferWhenUnlocked(request: TransferRunRequest): Promise<TransferRunSummary> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await runTransfer(request);
    } catch (error) {
      if (!(error instanceof RunLockedError) || Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

/**
 * test/support/transfer-child.ts (a whole transfer, slices of 3, lock TTL 300 ms) in its own
 * process, SIGKILLed by its pid at a random moment within 15 ms of reporting its first slice.
 */
async function killTransferMidway(sourceUrl: string, targetUrl: string): Promise<{ slicesReported: string[]; signal: NodeJS.Signals | null }> {
  const child = tracker.track(
    // Rate-limited, so that a machine whose timers fire late still kills it mid-run.
    spawn(process.execPath, ['--import', 'tsx', repoPath('test/support/transfer-child.ts'), sourceUrl, targetUrl, KILLED_RUN], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TRANSFER_CHILD_RATE: '300' },
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (stdout === '') {
        setTimeout(() => {
          try {
            process.kill(child.pid!, 'SIGKILL');
          } catch {
            // already gone: the assertions on the exit signal will say so
          }
          resolve();
        }, Math.random() * 15);
      }
      stdout += chunk.toString();
    });
    child.once('exit', (code, signal) => reject(new Error(`the transfer child exited (${signal ?? `exit ${code}`}) before reporting a slice:\n${stderr}`)));
  });
  const signal = await exited;
  return { slicesReported: stdout.split('\n').filter((l) => l !== ''), signal };
}

/**
 * A transfer whose process "dies" (every later Redis call fails, so it cannot even release its
 * locks) just before it acknowledges — deletes from the old Redis — the first slice of a queue it
 * has claimed and already written to the new Redis.
 */
async function crashAfterWritingAQueueSlice(source: Redis, target: Redis): Promise<{ error: Error; key: string; jids: string[] }> {
  let crashed: { key: string; jids: string[] } | undefined;
  const dead = () => {
    if (crashed) throw new SimulatedCrash('the crashed transfer process is gone');
  };
  const acknowledge = new LuaScript('acknowledgeQueueBatch-4').sha;
  const wrappedSource = interferingRedis(source, async ({ scripts }) => {
    dead();
    if (!scripts.includes(acknowledge)) return;
    // Our own in-flight list of a queue exists only between its claim and its acknowledgement
    // (this very call): the slice is on the new Redis now, and still in flight on the old one.
    const [key] = await source.keys(`sidekiq-migrate:${CRASHED_RUN}:inflight:queue:*`);
    if (key === undefined) return;
    crashed = { key, jids: (await source.lrange(key, 0, -1)).map(jidOf) };
    throw new SimulatedCrash(`crashed before acknowledging ${key}`);
  });
  const wrappedTarget = interferingRedis(target, () => dead());
  const outcome = await transferWhenUnlocked(transferRequest(wrappedSource, wrappedTarget, CRASHED_RUN, 1_000)).then(
    () => new Error('the transfer meant to crash completed: the old queues were already empty when it reached them'),
    (error: Error) => error,
  );
  // The transfer reports the crash as a Redis failure, with our SimulatedCrash as its cause.
  if (!crashed || !(outcome instanceof SimulatedCrash || outcome.cause instanceof SimulatedCrash)) throw outcome;
  return { error: outcome, ...crashed };
}

const executions = (file: string) => readJsonLines<Execution>(file);

/** The whole story, once. */
async function moveWhileWorkersRun(): Promise<Observed> {
  assertRealSidekiqInstalled();
  const [old, neu] = await Promise.all([startRedis(), startRedis()]);
  const oldEnv: SidekiqEnv = { redisUrl: old.url, namespace: null };
  const newEnv: SidekiqEnv = { redisUrl: neu.url, namespace: null };
  const mix = (m: Record<string, number>) => Object.entries(m).map(([kind, n]) => `${kind}=${n}`);

  // The old Redis as production left it: real clients, real failures.
  await runRuby(tracker, oldEnv, 'enqueue.rb', [file('enqueued-old.jsonl'), QUEUES.join(','), ...mix(OLD_MIX)]);
  const enqueuedOld = readJsonLines<EnqueuedJob>(file('enqueued-old.jsonl'));
  const oldAtStart = await storedJobs(old.redis, keys);

  // Part of the fleet still works on the old Redis (slowly), the rest on the new one; same queues.
  const running: SidekiqServer[] = [];
  try {
    const oldServer = startSidekiq(tracker, oldEnv, {
      queues: QUEUES,
      outFile: file('ran-old.jsonl'),
      logFile: file('sidekiq-old.log'),
      concurrency: 2,
      jobSeconds: OLD_SERVER_JOB_SECONDS,
    });
    running.push(oldServer);
    const newServer = startSidekiq(tracker, newEnv, { queues: QUEUES, outFile: file('ran-new.jsonl'), logFile: file('sidekiq-new.log') });
    running.push(newServer);
    const dueSoon = enqueuedOld.filter((j) => j.kind === 'soon' || j.kind === 'aj_soon' || j.kind === 'retry');
    await waitUntil(
      "the old server has run jobs and its scheduler has pushed a due job to a queue; the new server's heartbeat is there",
      async () => {
        oldServer.assertRunning();
        newServer.assertRunning();
        const stored = await storedJobs(old.redis, keys);
        const promoted = dueSoon.some((j) => !['schedule', 'retry'].includes(stored.get(j.jid)?.[0]?.place ?? 'ran'));
        return promoted && executions(file('ran-old.jsonl')).length > 0 && (await neu.redis.scard(keys.processes)) > 0;
      },
      { timeoutMs: 20_000 },
    );

    // The producers switch: from now on the real client enqueues to the new Redis.
    const producing = runRuby(tracker, newEnv, 'enqueue.rb', [file('enqueued-new.jsonl'), QUEUES.join(','), ...mix(NEW_MIX)]);
    producing.catch(() => undefined); // awaited below; not an unhandled rejection if the story fails first

    // A transfer process killed mid-way...
    const killed = await killTransferMidway(old.url, neu.url);
    const childLeftovers = await findInflightLeftovers({ source: old.redis, sourceKeys: keys });
    // ...another run that resumes it, then dies between writing a queue slice and acknowledging it...
    const crashed = await crashAfterWritingAQueueSlice(old.redis, neu.redis);
    const leftoversAfterCrash = await findInflightLeftovers({ source: old.redis, sourceKeys: keys });
    const reportAfterCrash = await drainCheck(old.redis, keys, { name: 'old' });
    // ...whose written jobs the new server runs before anyone resumes the run...
    const unacknowledged = new Set(crashed.jids);
    await waitUntil(
      'the new server has run the jobs of the unacknowledged slice',
      () => {
        newServer.assertRunning();
        return executions(file('ran-new.jsonl')).filter((e) => unacknowledged.has(e.jid)).length === unacknowledged.size;
      },
      { timeoutMs: 15_000 },
    );
    const ranBeforeResume = executions(file('ran-new.jsonl')).filter((e) => unacknowledged.has(e.jid));
    // ...and a last run that finishes the leftovers and moves everything else.
    const final = await transferWhenUnlocked(transferRequest(old.redis, neu.redis, FINAL_RUN, 60_000));

    await producing;
    const enqueuedNew = readJsonLines<EnqueuedJob>(file('enqueued-new.jsonl'));
    const newFarAtEnqueue = new Map([...(await storedJobs(neu.redis, keys))].filter(([jid]) => enqueuedNew.some((j) => j.jid === jid && FAR.has(j.kind))));

    // Everything due runs, on one server or the other.
    const runnable = [...enqueuedOld, ...enqueuedNew].filter((j) => RUNNABLE.has(j.kind));
    const notRunYet = () => {
      const ran = new Set([...executions(file('ran-old.jsonl')), ...executions(file('ran-new.jsonl'))].map((e) => e.jid));
      return runnable.filter((j) => !ran.has(j.jid));
    };
    await waitUntilEveryJobRan({ running, notRunYet, old: old.redis, neu: neu.redis, keys, timeoutMs: 30_000, describe: (j) => `${j.kind} ${j.jid}` });

    // The old Redis drains while its server still runs; then that part of the fleet is retired.
    let drainedWhileRunning: DrainReport | undefined;
    let previous: DrainCheckOptions['previous'] = reportAfterCrash;
    await waitUntil(
      'the drain check calls the old Redis drained',
      async () => {
        oldServer.assertRunning();
        previous = await drainCheck(old.redis, keys, { name: 'old', previous });
        if (previous.verdict.state === 'drained') drainedWhileRunning = previous;
        return drainedWhileRunning !== undefined;
      },
      { timeoutMs: 15_000, detail: () => JSON.stringify(previous, null, 2) },
    );
    await oldServer.stop();
    const drainedAfterStop = await drainCheck(old.redis, keys, { name: 'old', previous });

    // Not a fixed time: until the new server can run nothing more (its queues empty, nothing due
    // within the hour, idle in a heartbeat after that), so that a second run of any job would show.
    await waitUntilSidekiqIdle(neu.redis, keys, QUEUES, { timeoutMs: 45_000, assertRunning: () => newServer.assertRunning() });
    await newServer.stop();

    return {
      enqueuedOld,
      enqueuedNew,
      oldAtStart,
      newFarAtEnqueue,
      child: { ...killed, leftovers: childLeftovers },
      crash: { ...crashed, leftovers: leftoversAfterCrash, report: reportAfterCrash, ranBeforeResume },
      final,
      drainedWhileRunning: drainedWhileRunning!,
      drainedAfterStop,
      ranOld: executions(file('ran-old.jsonl')),
      ranNew: executions(file('ran-new.jsonl')),
      oldAtEnd: await storedJobs(old.redis, keys),
      newAtEnd: await storedJobs(neu.redis, keys),
      oldToolKeysAtEnd: await old.redis.keys('sidekiq-migrate:*'),
    };
  } finally {
    await Promise.all(running.map((s) => s.stop())); // by pid; a no-op for those already stopped
  }
}

/** The story runs once, in whichever test comes first; the others assess what it saw (and fail with its error if it failed). */
const seen = once(moveWhileWorkersRun);

const only = storedOnce;

describe('moving Sidekiq 6.4 to a new Redis while real workers run on both', () => {
  it('the real client filled the old Redis with queued, scheduled, retrying, dead and ActiveJob jobs', async () => {
    const { enqueuedOld, oldAtStart } = await seen();

    const expectedPlace = (job: EnqueuedJob) =>
      job.kind === 'plain' || job.kind === 'aj' ? `queue:${job.queue}` : job.kind === 'retry' ? 'retry' : job.kind === 'dead' ? 'dead' : 'schedule';
    for (const job of enqueuedOld) expect(only(oldAtStart, job.jid).place, `${job.kind} ${job.jid}`).toBe(expectedPlace(job));
    expect(oldAtStart.size).toBe(enqueuedOld.length);
    expect(new Set(enqueuedOld.map((j) => j.queue))).toEqual(new Set(QUEUES));
  }, 120_000);

  it('every runnable job, old or new, ran exactly once across both servers, with byte-identical arguments', async () => {
    const { enqueuedOld, enqueuedNew, ranOld, ranNew } = await seen();
    const runnable = [...enqueuedOld, ...enqueuedNew].filter((j) => RUNNABLE.has(j.kind));
    const ran = [...ranOld, ...ranNew];

    for (const job of runnable) {
      const runs = ran.filter((e) => e.jid === job.jid);
      expect(runs, `${job.kind} ${job.jid} must run exactly once`).toHaveLength(1);
      expect(runs[0]).toMatchObject({ class: job.class, fetched_queue: job.queue, payload_queue: job.queue });
      expect(runs[0]!.args_json, `arguments of ${job.kind} ${job.jid}, re-encoded by Ruby`).toBe(job.args_json);
      if (job.class === 'HarnessActiveJob') expect(runs[0]!.aj_queue_name).toBe(job.queue);
    }
    // Nothing else ran: no far-future job, no dead job, no second copy.
    expect(ran.map((e) => e.jid).sort()).toEqual(runnable.map((j) => j.jid).sort());
    // The arguments really are the hard ones: 1.0, 2**62+1, 2**64, integer-like keys after others.
    expect(runnable[0]!.args_json).toContain(',1.0,4611686018427387905,');
    expect(runnable[0]!.args_json).toContain('"big":18446744073709551616');
    expect(runnable[0]!.args_json).toContain('"list":[1,2.5,null,true,false,[],{}],"10":"ten","2":"two"');
  }, 120_000);

  it('both servers worked: the old one only on old jobs, the new one on every new job and on old jobs the transfers moved', async () => {
    const { enqueuedOld, enqueuedNew, ranOld, ranNew, crash, final } = await seen();
    const oldJids = new Set(enqueuedOld.map((j) => j.jid));

    expect(ranOld.length).toBeGreaterThan(0);
    expect(ranOld.every((e) => oldJids.has(e.jid))).toBe(true);
    for (const job of enqueuedNew.filter((j) => RUNNABLE.has(j.kind))) expect(ranNew.map((e) => e.jid), `${job.kind} ${job.jid}`).toContain(job.jid);
    // Queued leftovers moved to the new Redis and ran there (at least the crashed run's slice and what the last run took).
    const movedAndRan = ranNew.filter((e) => oldJids.has(e.jid));
    expect(movedAndRan.map((e) => e.jid)).toEqual(expect.arrayContaining(crash.jids));
    expect(Object.values(final.queues).reduce((n, q) => n + q.claimed, 0)).toBeGreaterThan(0);
  }, 120_000);

  it('an interrupted transfer is resumed by the next run: the unacknowledged slice, already run on the new server, is not written again', async () => {
    const { child, crash, final } = await seen();

    // The transfer process was killed mid-way (by SIGKILL, after its first slice, before it could finish).
    expect(child.signal).toBe('SIGKILL');
    expect(child.slicesReported.length).toBeGreaterThan(0);
    // The next run first finished what the killed process left in flight, then crashed.
    expect(crash.error.message).toContain(`crashed before acknowledging sidekiq-migrate:${CRASHED_RUN}:inflight:queue:`);
    expect(crash.leftovers).toEqual([expect.objectContaining({ key: crash.key, runId: CRASHED_RUN, type: 'list', size: crash.jids.length })]);
    expect(crash.jids.length).toBeGreaterThan(0);
    // Its written jobs ran on the new server while still in flight on the old Redis...
    expect(crash.ranBeforeResume.map((e) => e.jid).sort()).toEqual([...crash.jids].sort());
    // ...and the last run acknowledged them through the crashed run's ledger without writing any again.
    expect(final.resumed).toMatchObject({ resumed: crash.jids.length, duplicates: crash.jids.length, written: 0, claimed: 0 });
  }, 120_000);

  it('far-future and dead jobs are on the new Redis with their exact bytes and scores; nothing at all is left on the old one', async () => {
    const { enqueuedOld, enqueuedNew, oldAtStart, newFarAtEnqueue, oldAtEnd, newAtEnd, oldToolKeysAtEnd } = await seen();
    const far = [...enqueuedOld, ...enqueuedNew].filter((j) => FAR.has(j.kind));
    const dead = enqueuedOld.filter((j) => j.kind === 'dead');
    expect(far.length).toBe(OLD_MIX.far + OLD_MIX.aj_far + NEW_MIX.far);

    for (const job of far) {
      const was = enqueuedOld.includes(job) ? only(oldAtStart, job.jid) : only(newFarAtEnqueue, job.jid);
      expect(was.place).toBe('schedule');
      expect(only(newAtEnd, job.jid), `${job.kind} ${job.jid}`).toEqual(was);
      expect(Number(was.score) - Date.now() / 1000).toBeGreaterThan(86_000); // still a day ahead
    }
    for (const job of dead) {
      const was = only(oldAtStart, job.jid);
      expect(was.place).toBe('dead');
      expect(only(newAtEnd, job.jid), `dead ${job.jid}`).toEqual(was);
    }
    // The new Redis holds exactly those (everything else ran); the old one holds no job and no key of ours.
    expect([...newAtEnd.keys()].sort()).toEqual([...far, ...dead].map((j) => j.jid).sort());
    expect([...oldAtEnd.keys()]).toEqual([]);
    // No key of ours but, at most, the killed run's count of a pass's originals: SIGKILLed between a
    // slice's acknowledge and the end of that pass, it left no job in flight for a later run to
    // finish, and so nothing that names it (docs/runbooks/redis-move.md's leftovers, `originals`:
    // one small key per queue or set of a run never resumed). Never an in-flight key, a batch or a lock.
    expect(oldToolKeysAtEnd.filter((k) => !k.startsWith(`sidekiq-migrate:${KILLED_RUN}:originals:`))).toEqual([]);
  }, 120_000);

  it('the drain check on the old Redis says stuck while a transfer is interrupted, then drained, with no in-flight leftovers', async () => {
    const { crash, drainedWhileRunning, drainedAfterStop } = await seen();

    expect(crash.report.verdict.state).toBe('stuck');
    expect(crash.report.inflight).toEqual([expect.objectContaining({ key: crash.key, size: crash.jids.length })]);
    expect(crash.report.verdict.reasons.join('\n')).toContain(CRASHED_RUN);

    for (const report of [drainedWhileRunning, drainedAfterStop]) {
      // Dead jobs moved too, so nothing at all remains: no reason given.
      expect(report.verdict).toMatchObject({ state: 'drained', reasons: [] });
      expect(report).toMatchObject({ remaining: 0, readyNow: 0, inflight: [] });
      expect(report.sets.dead.total).toBe(0);
      expect(report.queues.every((q) => q.depth === 0)).toBe(true);
    }
    // The first drained verdict came while the old server was still running (draining part of the fleet).
    expect(drainedWhileRunning.processes.live).toBe(1);
  }, 120_000);
});
