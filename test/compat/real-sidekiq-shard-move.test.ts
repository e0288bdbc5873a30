import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { repoPath } from '../support/paths.js';
import {
  assertRealSidekiqInstalled,
  readJsonLines,
  runRuby,
  startSidekiq,
  storedJobs,
  storedOnce,
  waitUntil,
  waitUntilEveryJobRan,
  waitUntilSidekiqIdle,
  type SidekiqEnv,
  type SidekiqServer,
  type StoredJob,
} from './support/real-sidekiq.js';
import { compatStory } from './support/compat-story.js';

/*
 * Moving the jobs of ONE class to another Redis (GitLab's Sidekiq sharding: a routing rule gains
 * a store) while real Sidekiq 6.4 runs on both Redis servers, and another class that shares its
 * queue stays.
 *
 * MovingWorker and StayingWorker both use `default` (test/compat/ruby/shard_workers.rb). The real
 * client fills the OLD Redis with both: queued, scheduled (due in seconds, and in a day), retrying
 * and dead. A real `sidekiq` runs on each Redis. Then the routing switches: a producer of
 * MovingWorker pushes to the NEW Redis, a producer of StayingWorker keeps pushing to the old one,
 * and, while both push and both servers fetch, the operator runs the CLI as a user does:
 * `sidekiq-migrate move --from OLD --to NEW --classes MovingWorker`.
 *
 * The old server must not reach the moving class's backlog before the move claims it, by
 * construction: the oldest jobs of the shared queue are StayingWorker jobs that take a while, the
 * last of them waits for a gate the test opens only when the move has ended, and the old server
 * runs one job at a time. Entries due within seconds have been pushed onto the queue by the old
 * server's scheduler before the move starts (the test waits for it); what is left in the sets is a
 * day ahead, so nothing of the moving class can come due on the old Redis during or after the move.
 * So the old server fetches and runs staying jobs while the move runs (the test asserts it did),
 * and can never fetch a moving job the move left behind. Then every
 * MovingWorker job ran exactly once, on the new Redis; every StayingWorker job exactly once, on the
 * old one; payloads arrive byte for byte, and what does not run (a day ahead, dead) sits on the
 * right Redis with its exact bytes and score.
 */

const QUEUE = 'default';
const MOVING = 'MovingWorker';
const STAYING = 'StayingWorker';
/** Seconds each `slow` StayingWorker job takes on the old server (concurrency 1). */
const SLOW_SECONDS = 0.3;
const SLOW_HEAD = 30;
const INTERLEAVED_PAIRS = 12;
/** What the real client puts on the OLD Redis before anything runs, oldest first (see shard_enqueue.rb). */
const OLD_SEED = [
  `${STAYING}:slow=${SLOW_HEAD}`,
  `${STAYING}:gate=1`,
  ...Array.from({ length: INTERLEAVED_PAIRS }, () => [`${MOVING}:plain=1`, `${STAYING}:plain=1`]).flat(),
  ...[MOVING, STAYING].flatMap((c) => [`${c}:soon=2`, `${c}:far=2`, `${c}:retry=2`, `${c}:retry_far=1`, `${c}:dead=1`]),
];
/** Kinds that never run here: a day ahead, or dead. */
const NOT_RUN: ReadonlySet<string> = new Set(['far', 'retry_far', 'dead']);
/** Kinds pushed straight onto the queue by the client: fetched with the bytes the client wrote. */
const PUSHED: ReadonlySet<string> = new Set(['slow', 'gate', 'plain']);
const keys = new SidekiqKeys('');

interface ManifestJob {
  readonly jid: string;
  readonly kind: 'slow' | 'gate' | 'plain' | 'soon' | 'far' | 'retry' | 'retry_far' | 'dead';
  readonly class: typeof MOVING | typeof STAYING;
  readonly queue: string;
  readonly args_json: string;
}

interface ShardExecution {
  readonly jid: string;
  readonly class: string;
  readonly side: 'old' | 'new';
  readonly fetched_queue: string;
  readonly args_json: string;
  /** The payload's bytes as the server popped them (base64). */
  readonly payload_b64: string | null;
  readonly started_at: number;
  readonly finished_at: number;
}

interface ShardStart {
  readonly jid: string;
  readonly class: string;
  readonly side: 'old' | 'new';
  readonly started_at: number;
}

interface MoveCommand {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Epoch seconds (the clock the Ruby side records with). */
  readonly startedAt: number;
  readonly endedAt: number;
}

interface Observed {
  readonly seeded: ManifestJob[];
  readonly producedOld: ManifestJob[];
  readonly producedNew: ManifestJob[];
  readonly oldAtStart: Map<string, StoredJob[]>;
  readonly move: MoveCommand;
  /** Both producers were still pushing when the move started and when it ended. */
  readonly producersRanThroughTheMove: boolean;
  readonly ran: ShardExecution[];
  readonly starts: ShardStart[];
  readonly oldAtEnd: Map<string, StoredJob[]>;
  readonly newAtEnd: Map<string, StoredJob[]>;
  readonly oldInflightKeys: string[];
}

const { tracker, file, startRedis, once } = compatStory('shard');

const nowSeconds = () => Date.now() / 1000;

/** `sidekiq-migrate ARGS`, the compiled CLI an operator runs (built by vitest's globalSetup). */
function runCli(args: readonly string[]): Promise<MoveCommand> {
  const startedAt = nowSeconds();
  const child = tracker.track(spawn(process.execPath, [repoPath('bin/sidekiq-migrate.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } }));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr, startedAt, endedAt: nowSeconds() }));
  });
}

/** The whole story, once. */
async function moveOneClassWhileWorkersRun(): Promise<Observed> {
  assertRealSidekiqInstalled();
  const [old, neu] = await Promise.all([startRedis(), startRedis()]);
  const oldEnv: SidekiqEnv = { redisUrl: old.url, namespace: null };
  const newEnv: SidekiqEnv = { redisUrl: neu.url, namespace: null };
  const ranFiles = [file('ran-old.jsonl'), file('ran-new.jsonl')];
  const startFiles = [file('starts-old.jsonl'), file('starts-new.jsonl')];
  const executions = () => ranFiles.flatMap((f) => readJsonLines<ShardExecution>(f));
  const starts = () => startFiles.flatMap((f) => readJsonLines<ShardStart>(f));

  // Before the switch: producers of both classes push to the old Redis.
  await runRuby(tracker, oldEnv, 'shard_enqueue.rb', [file('seeded.jsonl'), ...OLD_SEED]);
  const seeded = readJsonLines<ManifestJob>(file('seeded.jsonl'));
  const oldAtStart = await storedJobs(old.redis, keys);

  const running: SidekiqServer[] = [];
  try {
    // One server per Redis, both on `default`; the old one runs one job at a time.
    const serverOptions = (side: 'old' | 'new') => ({
      queues: [QUEUE],
      outFile: ranFiles[side === 'old' ? 0 : 1]!,
      logFile: file(`sidekiq-${side}.log`),
      require: 'shard_workers.rb',
      env: { HARNESS_SIDE: side, HARNESS_STARTS: startFiles[side === 'old' ? 0 : 1]!, HARNESS_SLOW_SECONDS: String(SLOW_SECONDS) },
    });
    const oldServer = startSidekiq(tracker, oldEnv, { ...serverOptions('old'), concurrency: 1 });
    running.push(oldServer);
    const newServer = startSidekiq(tracker, newEnv, { ...serverOptions('new'), concurrency: 5 });
    running.push(newServer);
    const firstSlow = seeded.find((j) => j.kind === 'slow')!;
    await waitUntil(
      "the old server has started the oldest (slow) staying job; the new server's heartbeat is there",
      async () => {
        running.forEach((s) => s.assertRunning());
        return starts().some((s) => s.jid === firstSlow.jid) && (await neu.redis.scard(keys.processes)) > 0;
      },
      { timeoutMs: 30_000 },
    );

    // The switch: GitLab's routing now sends MovingWorker to the new Redis; StayingWorker stays.
    const stopFile = file('producers.stop');
    const produce = (env: SidekiqEnv, manifest: string, className: string) => {
      const done = runRuby(tracker, env, 'shard_produce.rb', [file(manifest), className, stopFile, '0.05', '3'], 120_000);
      let exited = false;
      done.then(
        () => (exited = true),
        () => (exited = true),
      );
      return { done, exited: () => exited };
    };
    const producers = [produce(newEnv, 'produced-new.jsonl', MOVING), produce(oldEnv, 'produced-old.jsonl', STAYING)];
    await waitUntil('both producers have pushed a few jobs', () => ['produced-new.jsonl', 'produced-old.jsonl'].every((m) => readJsonLines(file(m)).length >= 3), { timeoutMs: 30_000 });
    // The old server's scheduler has pushed every entry due within seconds onto `default` (behind
    // the gate job): what is left in the sets is a day ahead, so no entry of the moving class can
    // come due on the old Redis while the move runs, or after it.
    const dueSoon = new Set(seeded.filter((j) => j.kind === 'soon' || j.kind === 'retry').map((j) => j.jid));
    await waitUntil(
      "the old server's scheduler has enqueued every entry due within seconds",
      async () => {
        oldServer.assertRunning();
        const stored = await storedJobs(old.redis, keys);
        return [...dueSoon].every((jid) => (stored.get(jid) ?? []).map((s) => s.place).join() === `queue:${QUEUE}`);
      },
      { timeoutMs: 30_000 },
    );

    // The backlog of the moving class follows, as the operator runs it.
    const runningAtStart = producers.every((p) => !p.exited());
    const move = await runCli(['move', '--from', old.url, '--to', neu.url, '--classes', MOVING]);
    const runningAtEnd = producers.every((p) => !p.exited());
    writeFileSync(stopFile, '');
    await Promise.all(producers.map((p) => p.done));
    if (move.code !== 0) throw new Error(`move exited ${move.code}:\n${move.stdout}\n${move.stderr}`);
    // Only now may the old server go past the gate job.
    await old.redis.set('harness:gate', '1');

    const producedOld = readJsonLines<ManifestJob>(file('produced-old.jsonl'));
    const producedNew = readJsonLines<ManifestJob>(file('produced-new.jsonl'));
    const runnable = [...seeded, ...producedOld, ...producedNew].filter((j) => !NOT_RUN.has(j.kind));
    const notRunYet = () => {
      const ran = new Set(executions().map((e) => e.jid));
      return runnable.filter((j) => !ran.has(j.jid));
    };
    await waitUntilEveryJobRan({ running, notRunYet, old: old.redis, neu: neu.redis, keys, timeoutMs: 60_000, describe: (j) => `${j.class} ${j.kind} ${j.jid}` });
    // Not a fixed time: until neither server can run anything more (queues empty, nothing due
    // within the hour, idle in a heartbeat after that), so that a second run of any job would show.
    await Promise.all([
      waitUntilSidekiqIdle(old.redis, keys, [QUEUE], { timeoutMs: 45_000, assertRunning: () => oldServer.assertRunning() }),
      waitUntilSidekiqIdle(neu.redis, keys, [QUEUE], { timeoutMs: 45_000, assertRunning: () => newServer.assertRunning() }),
    ]);
    await Promise.all(running.map((s) => s.stop()));

    return {
      seeded,
      producedOld,
      producedNew,
      oldAtStart,
      move,
      producersRanThroughTheMove: runningAtStart && runningAtEnd,
      ran: executions(),
      starts: starts(),
      oldAtEnd: await storedJobs(old.redis, keys),
      newAtEnd: await storedJobs(neu.redis, keys),
      oldInflightKeys: await old.redis.keys('sidekiq-migrate:*inflight*'),
    };
  } finally {
    await Promise.all(running.map((s) => s.stop())); // by pid; a no-op for those already stopped
  }
}

/** The story runs once, in whichever test comes first; the others assess what it saw. */
const seen = once(moveOneClassWhileWorkersRun);

const only = storedOnce;
const sideOf = (className: string) => (className === MOVING ? 'new' : 'old');

describe('moving one class of a shared queue to another Redis while real Sidekiq 6.4 runs on both', () => {
  it('the real client filled the old Redis with both classes on one queue: queued, scheduled, retrying, dead', async () => {
    const { seeded, oldAtStart } = await seen();

    const place = (j: ManifestJob) => (PUSHED.has(j.kind) ? `queue:${QUEUE}` : j.kind.startsWith('retry') ? 'retry' : j.kind === 'dead' ? 'dead' : 'schedule');
    for (const job of seeded) expect(only(oldAtStart, job.jid).place, `${job.class} ${job.kind}`).toBe(place(job));
    expect(oldAtStart.size).toBe(seeded.length);
    for (const className of [MOVING, STAYING]) {
      expect(new Set(seeded.filter((j) => j.class === className).map((j) => place(j)))).toEqual(new Set([`queue:${QUEUE}`, 'schedule', 'retry', 'dead']));
    }
  }, 180_000);

  it('the CLI moved the class and said the move is complete', async () => {
    const { move } = await seen();

    expect(move.code, move.stderr).toBe(0);
    expect(move.stdout).toContain('Complete: everything that could be moved was moved.');
    // The plan per class: on the queue, the 12 queued jobs and the 2 + 2 due soon the old scheduler
    // had pushed there; in the sets what is a day ahead, and the dead job.
    const planLine = /^ {2}MovingWorker +20 +(.*)$/m.exec(move.stdout)?.[1];
    expect(planLine?.split(' · ').sort(), move.stdout).toEqual(['dead 1', 'queue:default 16', 'retry 1', 'schedule 2']);
  }, 180_000);

  it('every MovingWorker job ran exactly once, on the new Redis; every StayingWorker job exactly once, on the old one', async () => {
    const { seeded, producedOld, producedNew, ran, starts } = await seen();
    const runnable = [...seeded, ...producedOld, ...producedNew].filter((j) => !NOT_RUN.has(j.kind));

    for (const job of runnable) {
      const runs = ran.filter((e) => e.jid === job.jid);
      expect(runs, `${job.class} ${job.kind} ${job.jid} must run exactly once`).toHaveLength(1);
      expect(runs[0], `${job.class} ${job.kind} ${job.jid}`).toMatchObject({ class: job.class, side: sideOf(job.class), fetched_queue: QUEUE });
      expect(runs[0]!.args_json, `arguments of ${job.class} ${job.kind} ${job.jid}, re-encoded by Ruby`).toBe(job.args_json);
    }
    // Nothing else ran, and no server even started a job of the other side's class.
    expect(ran.map((e) => e.jid).sort()).toEqual(runnable.map((j) => j.jid).sort());
    expect(starts.filter((s) => s.side !== sideOf(s.class))).toEqual([]);
    // Both classes ran on their side, from every origin: queued before the switch, produced after, scheduled, retried.
    for (const className of [MOVING, STAYING]) {
      expect(new Set(runnable.filter((j) => j.class === className).map((j) => j.kind))).toEqual(new Set(className === STAYING ? ['slow', 'gate', 'plain', 'soon', 'retry'] : ['plain', 'soon', 'retry']));
    }
    expect(producedNew.length).toBeGreaterThanOrEqual(3);
    expect(producedOld.length).toBeGreaterThanOrEqual(3);
  }, 180_000);

  it('queued jobs were fetched with the exact bytes the client wrote, on whichever Redis they ran', async () => {
    const { seeded, oldAtStart, ran } = await seen();
    const pushed = seeded.filter((j) => PUSHED.has(j.kind));

    expect(pushed.filter((j) => j.class === MOVING)).toHaveLength(INTERLEAVED_PAIRS);
    for (const job of pushed) {
      const run = ran.find((e) => e.jid === job.jid)!;
      expect(Buffer.from(run.payload_b64!, 'base64').toString('utf8'), `${job.class} ${job.jid} on ${run.side}`).toBe(only(oldAtStart, job.jid).payload);
    }
    // The arguments really are the hard ones: 1.0, 2**62+1, 2**64, integer-like keys after others.
    expect(pushed[0]!.args_json).toContain(',1.0,4611686018427387905,');
    expect(pushed[0]!.args_json).toContain('"big":18446744073709551616');
  }, 180_000);

  it('scheduled and retrying jobs a day ahead and dead jobs are on the right Redis with their exact bytes and scores; nothing else is left, nothing in flight', async () => {
    const { seeded, oldAtStart, oldAtEnd, newAtEnd, oldInflightKeys } = await seen();
    const resting = seeded.filter((j) => NOT_RUN.has(j.kind));

    expect(resting.map((j) => `${j.class} ${j.kind}`).sort()).toEqual(
      [MOVING, STAYING].flatMap((c) => [`${c} dead`, `${c} far`, `${c} far`, `${c} retry_far`]).sort(),
    );
    for (const job of resting) {
      const was = only(oldAtStart, job.jid);
      const [here, there] = job.class === MOVING ? [newAtEnd, oldAtEnd] : [oldAtEnd, newAtEnd];
      expect(only(here, job.jid), `${job.class} ${job.kind} ${job.jid}`).toEqual(was);
      expect(there.get(job.jid), `${job.class} ${job.kind} ${job.jid} must not be on the other Redis`).toBeUndefined();
    }
    expect([...oldAtEnd.keys()].sort()).toEqual(resting.filter((j) => j.class === STAYING).map((j) => j.jid).sort());
    expect([...newAtEnd.keys()].sort()).toEqual(resting.filter((j) => j.class === MOVING).map((j) => j.jid).sort());
    expect(oldInflightKeys).toEqual([]);
  }, 180_000);

  it('the old server ran staying jobs while the move ran, and the producers of both classes kept pushing through it', async () => {
    const { seeded, ran, move, producersRanThroughTheMove } = await seen();
    const oldRuns = ran.filter((e) => e.side === 'old');
    const gate = seeded.find((j) => j.kind === 'gate')!;
    const gateRun = oldRuns.find((e) => e.jid === gate.jid)!;

    // By construction: the old server started the first slow job before the move, and the gate job
    // (the last staying job before the first moving one) finished only after the move had ended.
    expect(oldRuns.some((e) => e.class === STAYING && e.started_at < move.endedAt && e.finished_at > move.startedAt)).toBe(true);
    expect(gateRun.finished_at).toBeGreaterThan(move.endedAt);
    expect(Math.min(...oldRuns.map((e) => e.started_at))).toBeLessThan(move.startedAt);
    expect(producersRanThroughTheMove).toBe(true);
  }, 180_000);
});
