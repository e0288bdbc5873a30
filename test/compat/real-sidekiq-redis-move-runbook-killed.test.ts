import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { repoPath } from '../support/paths.js';
import { runbookBlocks } from '../runbooks/support/runbook-blocks.js';
import { prepareWorkDir, runShellBlock, type BlockResult } from '../runbooks/support/run-shell-block.js';
import { compatStory } from './support/compat-story.js';
import {
  assertRealSidekiqInstalled,
  jidOf,
  readJsonLines,
  runRuby,
  startSidekiq,
  storedJobs,
  waitUntil,
  waitUntilSidekiqIdle,
  type SidekiqEnv,
  type SidekiqServer,
  type StoredJob,
} from './support/real-sidekiq.js';

/*
 * docs/runbooks/redis-move.md walked block by block with REAL Sidekiq 6.4 (as
 * real-sidekiq-redis-move-runbook.test.ts does), but the old side's processes are KILLED at step
 * 6 instead of stopped with TERM: out of memory, or a pod past its grace period. Two old-side
 * processes work `default`, one thread each: GitLab's, with its reliable fetcher, and one with
 * Sidekiq's own (basic) fetch (a plain Sidekiq application on the same Redis). The last two jobs
 * the Rails nodes push to the old Redis before their switch (step 3.2) are long ones (a gate that
 * never opens on the old Redis), so that when step 6 comes each old process is running one:
 *
 * - the reliable fetcher's job stays in its working list `working:queue:default:HOST:PID:NONCE`,
 *   under a fetcher heartbeat that lives 60 s; another process of that fetcher on the old Redis
 *   pushes it back onto its queue once that heartbeat is gone, in its clean-up, which runs under an
 *   hourly lease (`reliable-fetcher-cleanup-lock`) the killed process took when it started;
 * - the basic-fetch job is in no list: Sidekiq lost it (only a TERM pushes it back).
 *
 * Both heartbeats (`IDENTITY`, `IDENTITY:workers`) live 60 s after the kill: the check still counts
 * both processes live (6.3 says so), and the basic one's heartbeat names the job it lost, which the
 * runbook's 6.1 command reads. Found by this walk: the runbook said the job was lost, but not how to
 * tell which one (fixed in 6.1); and that for that minute the check said the killed processes'
 * jobs were being worked on by live processes: 20 s after the kills it now says each has not been
 * heard from and may have been killed, with what it holds and step 6.1. Time is not waited
 * for: it is let pass on the OLD Redis, where nothing runs any more after the kill, by
 * `letTimePass` (every key's expiry brought nearer by that much: one expiring within it deleted,
 * as Redis would; every heartbeat's `beat` that much older), 20 s after the kills, the rest of the
 * minute while step 6.3's loop sleeps (its `sleep` ends once that time has passed), an hour before
 * the recovery process starts (the runbook's "allow up to an hour"). The new Redis, whose live
 * processes renew their own heartbeats, is left as it is: the test checks that nothing else there
 * would have expired.
 */

const NS = 'resque:gitlab:';
const keys = new SidekiqKeys(NS);
const QUEUE = 'default';
const RUNBOOK = 'redis-move.md';
const GATE = `${NS}harness:gate`;
const OLD_JOB_SECONDS = 0.02;
/**
 * Seconds let pass on the old Redis after the kills before the check that finds the killed
 * processes silent: more than 3 beats of 5 s, and short of what the reliable fetcher's own
 * heartbeat has left (60 s, renewed every 20 s: 40 s at least at the kill), so that its list is
 * still "worker alive" by that heartbeat while Sidekiq's says the process has not beaten.
 */
const SILENT_SECONDS = 20;

interface ManifestJob {
  readonly jid: string;
  readonly kind: string;
}
interface Ran {
  readonly jid: string;
  readonly side: string;
  readonly pid: number;
  readonly payload_b64: string | null;
}

interface Observed {
  readonly blocks: Map<string, BlockResult>;
  readonly order: string[];
  readonly produced: ManifestJob[];
  readonly ran: Ran[];
  /** What each old process was running when killed: the reliable one's working list, the basic one's heartbeat. */
  readonly reliableHeld: { list: string; payloads: string[] };
  readonly basicRunning: { identity: string; jids: string[] };
  readonly gates: string[];
  /** drain-check on the old Redis right after the kills (the step-5 command). */
  readonly afterKill: BlockResult;
  /** drain-check on the old Redis once SILENT_SECONDS passed there since the kills (their heartbeats still there). */
  readonly afterSilence: BlockResult;
  readonly reliableIdentity: string;
  /** Right after that, the runbook's step-6.1 command for the jobs a killed basic-fetch process lost, under the identity that check names (null: the runbook gives none). */
  readonly lostNamed: BlockResult | null;
  /** old-now.json as the loop of 6.3 wrote it first (before the 60 s), and last. */
  readonly loopFirst: { processes: Record<string, number>; verdict: { state: string }; remaining: number };
  readonly loopLast: { processes: Record<string, number>; verdict: { state: string }; remaining: number };
  /** Keys deleted by each time passing on the old Redis: the minute after the kills (SILENT_SECONDS, then the rest while 6.3's loop sleeps), the hour. */
  readonly expiredAfterMinute: string[];
  readonly expiredAfterHour: string[];
  /** Keys of the new Redis with an expiry of an hour or less when the hour is let pass on the old one. */
  readonly newShortLivedAtHour: string[];
  /** drain-check on the old Redis once the recovery process pushed the job back (and holds it). */
  readonly afterRecovery: BlockResult;
  readonly oldQueueAfterRecoveryStop: string[];
  readonly newAtEnd: Map<string, StoredJob[]>;
  readonly oldAtEnd: Map<string, StoredJob[]>;
  readonly oldWorkingAtEnd: string[];
  readonly file: (name: string) => string;
}

const story = compatStory('redis-move-runbook-killed');

/**
 * `seconds` pass on `redis`, as far as its keys can tell: every key with an expiry has it brought
 * nearer by that much, and one that expires within it is deleted (as Redis would have); every
 * Sidekiq heartbeat left has its `beat` (epoch seconds, a float) that much older. Only for a Redis
 * on which no live process writes any more (what writes there would renew its keys and beats).
 * Returns the keys deleted, sorted.
 */
async function letTimePass(redis: Redis, seconds: number): Promise<string[]> {
  for (const identity of await redis.smembers(keys.processes)) {
    const beat = await redis.hget(`${NS}${identity}`, 'beat');
    if (beat !== null) await redis.hset(`${NS}${identity}`, 'beat', String(Number(beat) - seconds));
  }
  const gone: string[] = [];
  for (const key of await redis.keys('*')) {
    const ttl = await redis.pttl(key);
    if (ttl < 0) continue;
    if (ttl <= seconds * 1000) {
      await redis.del(key);
      gone.push(key);
    } else await redis.pexpire(key, ttl - seconds * 1000);
  }
  return gone.sort();
}

/** Keys of `redis` that expire within `seconds`, sorted. */
async function expiringWithin(redis: Redis, seconds: number): Promise<string[]> {
  const out: string[] = [];
  for (const key of await redis.keys('*')) {
    const ttl = await redis.pttl(key);
    if (ttl >= 0 && ttl <= seconds * 1000) out.push(key);
  }
  return out.sort();
}

function killByPid(server: SidekiqServer): Promise<void> {
  process.kill(server.pid, 'SIGKILL');
  return waitUntil(
    `sidekiq pid ${server.pid} is gone`,
    () => {
      try {
        process.kill(server.pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

const walk = story.once(async (): Promise<Observed> => {
  assertRealSidekiqInstalled();
  const [old, neu] = await Promise.all([story.startRedis(), story.startRedis()]);
  const oldEnv: SidekiqEnv = { redisUrl: old.url, namespace: NS.slice(0, -1) };
  const newEnv: SidekiqEnv = { redisUrl: neu.url, namespace: NS.slice(0, -1) };
  const dir = story.file('runbook');
  const { bin } = prepareWorkDir(dir);
  const envFile = repoPath('test/fixtures/runbooks/redis-move/env.sh');
  const shell = (code: string, env: Record<string, string> = {}) => runShellBlock(code, { dir, envFile, bin, env: { RUNBOOK_OLD_REDIS_URL: old.url, RUNBOOK_NEW_REDIS_URL: neu.url, ...env }, timeoutMs: 90_000 });
  // 6.3's loop sleeps 10 s between checks while the killed heartbeats live: time the test lets pass
  // on the old Redis instead. Its `sleep` (given TIME_PASSED) ends once that file exists, which the
  // test writes after letting the time pass: the loop's next check comes after it, as it would.
  const timePassed = join(dir, 'time-passed');
  writeFileSync(join(bin, 'sleep'), '#!/usr/bin/env bash\nif [ -n "${TIME_PASSED:-}" ]; then while [ ! -e "$TIME_PASSED" ]; do /bin/sleep 0.05; done; exit 0; fi\nexec /bin/sleep "$@"\n', { mode: 0o755 });
  const ranFiles: string[] = [];
  const server = (side: string, n: number, env: SidekiqEnv, extra: { concurrency: number; jobSeconds?: number; require?: string; shutdownTimeout?: number }): SidekiqServer => {
    const outFile = story.file(`ran-${side}-${n}.jsonl`);
    ranFiles.push(outFile);
    return startSidekiq(story.tracker, env, { queues: [QUEUE], require: 'redis_move_workers.rb', outFile, logFile: story.file(`sidekiq-${side}-${n}.log`), env: { HARNESS_SIDE: side }, ...extra });
  };
  const ran = () => ranFiles.flatMap((f) => readJsonLines<Ran>(f));
  const produce = (env: SidekiqEnv, name: string) => {
    const stop = story.file(`${name}.stop`);
    const done = runRuby(story.tracker, env, 'shard_produce.rb', [story.file(`${name}.jsonl`), 'MovingWorker', stop, '0.01', '1'], 600_000);
    done.catch(() => undefined); // awaited below; a walk that fails first leaves it to the tracker
    return { stop: () => writeFileSync(stop, ''), done, manifest: () => readJsonLines<ManifestJob>(story.file(`${name}.jsonl`)) };
  };
  const workingLists = async (redis: Redis) => (await redis.keys(`${NS}working:*`)).sort();
  const identityOf = async (redis: Redis, pid: number) => (await redis.smembers(keys.processes)).find((id) => id.split(':')[1] === String(pid));
  const runningByHeartbeat = async (pid: number) => {
    const identity = await identityOf(old.redis, pid);
    if (identity === undefined) return undefined;
    const jids = Object.values(await old.redis.hgetall(`${NS}${identity}:workers`)).map((w) => jidOf((JSON.parse(w) as { payload: string }).payload));
    return { identity, jids };
  };
  /**
   * Waits until the old queue is empty and each old process runs one of the long jobs, as Redis
   * tells: the reliable one's working list holds one, the basic one runs the other, and the basic
   * one's heartbeat names it (its only trace: a heartbeat is written every 5 s). The reliable
   * one's heartbeat need not name its list's job yet: a check takes a live owner's list off its
   * own process's count only (core/drain/running-jobs.ts), never off the basic one's.
   */
  const longJobsHeld = () =>
    waitUntil(
      'the old queue is empty, the reliable process holds a long job in its working list and the basic one runs the other, both heartbeats naming them',
      async () => {
        oldReliable.assertRunning();
        oldBasic.assertRunning();
        if ((await old.redis.llen(keys.queue(QUEUE))) > 0) return false;
        const lists = (await workingLists(old.redis)).filter((l) => l.includes(`:${oldReliable.pid}:`));
        if (lists.length !== 1) return false;
        const payloads = await old.redis.lrange(lists[0]!, 0, -1);
        if (payloads.length !== 1 || !gates.includes(jidOf(payloads[0]!))) return false;
        const basic = await runningByHeartbeat(oldBasic.pid);
        if (basic === undefined || basic.jids.length !== 1 || !gates.includes(basic.jids[0]!) || basic.jids[0] === jidOf(payloads[0]!)) return false;
        reliableHeld = { list: lists[0]!, payloads };
        basicRunning = basic;
        return true;
      },
      { timeoutMs: 30_000 },
    );

  // Before the move: jobs in the three sets (the real client); two old-side processes, one thread
  // each, GitLab's reliable fetcher and Sidekiq's own fetch, working what a producer pushes.
  await runRuby(story.tracker, oldEnv, 'shard_enqueue.rb', [story.file('seeded.jsonl'), 'MovingWorker:far=3', 'MovingWorker:retry_far=2', 'MovingWorker:dead=2']);
  const seeded = readJsonLines<ManifestJob>(story.file('seeded.jsonl'));
  const oldReliable = server('old', 1, oldEnv, { concurrency: 1, jobSeconds: OLD_JOB_SECONDS });
  const oldBasic = server('old', 2, oldEnv, { concurrency: 1, jobSeconds: OLD_JOB_SECONDS, require: 'shard_workers.rb' });
  const running: SidekiqServer[] = [oldReliable, oldBasic];
  const oldProducer = produce(oldEnv, 'produced-old');
  await waitUntil(
    'both old processes beat and have run jobs',
    async () => {
      running.forEach((s) => s.assertRunning());
      const pids = new Set(ran().map((r) => r.pid));
      return (await old.redis.scard(keys.processes)) === 2 && pids.has(oldReliable.pid) && pids.has(oldBasic.pid);
    },
    { timeoutMs: 30_000 },
  );

  let newProducer: ReturnType<typeof produce> | undefined;
  let gates: string[] = [];
  const blocks = new Map<string, BlockResult>();
  const order: string[] = [];
  let reliableHeld = { list: '', payloads: [] as string[] };
  let basicRunning = { identity: '', jids: [] as string[] };
  let afterKill: BlockResult | undefined;
  let afterSilence: BlockResult | undefined;
  let reliableIdentity: string | undefined;
  let expiredAfterSilence: string[] = [];
  let lostNamed: BlockResult | null = null;
  let loopFirst: Observed['loopFirst'] | undefined;
  let expiredAfterMinute: string[] = [];
  let expiredAfterHour: string[] = [];
  let newShortLivedAtHour: string[] = [];
  let afterRecovery: BlockResult | undefined;
  let oldQueueAfterRecoveryStop: string[] = [];
  let recovery: SidekiqServer | undefined;

  for (const block of runbookBlocks(repoPath(`docs/runbooks/${RUNBOOK}`), RUNBOOK)) {
    running.forEach((s) => s.assertRunning());
    if (block.kind === 'placeholders') continue;
    if (block.kind === 'edit') throw new Error(`${RUNBOOK}:${block.line}: an edit block (${block.id}): this walk fills in no words`);
    if (block.kind === 'elsewhere') {
      if (block.id === 'switch-sidekiq-nodes') {
        // The gate of the long jobs is open on the new Redis: there they run at once.
        await neu.redis.set(GATE, '1');
        const first = server('new', 1, newEnv, { concurrency: 5 });
        running.push(first);
        await waitUntil('the new Redis has a live Sidekiq process', async () => (first.assertRunning(), (await neu.redis.scard(keys.processes)) === 1), { timeoutMs: 30_000 });
      } else if (block.id === 'switch-rails-nodes') {
        oldProducer.stop();
        await oldProducer.done;
        // The last jobs a Rails node pushed to the old Redis before its switch: two long ones.
        await runRuby(story.tracker, oldEnv, 'shard_enqueue.rb', [story.file('gates.jsonl'), 'MovingWorker:gate=2']);
        gates = readJsonLines<ManifestJob>(story.file('gates.jsonl')).map((j) => j.jid);
        newProducer = produce(newEnv, 'produced-new');
        await waitUntil('the new producer pushed a job', () => newProducer!.manifest().length > 0, { timeoutMs: 30_000 });
      } else if (block.id === 'move-old-workers') {
        // "When the old queues are empty or nearly so": each old process runs one long job.
        await longJobsHeld();
        // 6.1, in real life: the old processes are killed (out of memory, a pod past its grace period).
        running.splice(running.indexOf(oldReliable), 1);
        running.splice(running.indexOf(oldBasic), 1);
        reliableIdentity = await identityOf(old.redis, oldReliable.pid);
        await Promise.all([killByPid(oldReliable), killByPid(oldBasic)]);
        afterKill = await shell('sidekiq-migrate drain-check --redis "$OLD_REDIS" --namespace "$NS"');
        // SILENT_SECONDS later (let pass on the old Redis, where nothing writes any more), the
        // heartbeats are still there, but more than 3 beats old: the check says so.
        expiredAfterSilence = await letTimePass(old.redis, SILENT_SECONDS);
        afterSilence = await shell('sidekiq-migrate drain-check --redis "$OLD_REDIS" --namespace "$NS"');
        // 6.1 for a basic-fetch process killed anyway: its heartbeat names what it lost, for 60 s,
        // under the identity the check names.
        const named = /Sidekiq process ([^ ]+) not heard from for \d+ s [^\n]* It holds 1 job\(s\) it was running in no list/.exec(afterSilence.stdout)?.[1];
        const command = /`(redis-cli -u "\$OLD_REDIS" HGETALL "\$\{NS\}IDENTITY:workers")`/.exec(readFileSync(repoPath(`docs/runbooks/${RUNBOOK}`), 'utf8'))?.[1];
        lostNamed = command === undefined || named === undefined ? null : await shell(command.replace('IDENTITY', named));
        // 6.2: the moved node starts on the new Redis.
        const moved = server('new', 2, newEnv, { concurrency: 5 });
        running.push(moved);
        await waitUntil('both processes beat on the new Redis', async () => (moved.assertRunning(), (await neu.redis.scard(keys.processes)) === 2), { timeoutMs: 30_000 });
      } else if (block.id === 'recover-private-lists') {
        // Up to an hour passes (the killed process's cleanup lease), then one node still
        // configured for the old Redis starts, with the same fetcher and queues.
        newShortLivedAtHour = await expiringWithin(neu.redis, 3_600);
        expiredAfterHour = await letTimePass(old.redis, 3_600);
        recovery = server('old-recovery', 1, oldEnv, { concurrency: 1, shutdownTimeout: 1 });
        running.push(recovery);
        const held = jidOf(reliableHeld.payloads[0]!);
        await waitUntil(
          "the killed process's working list is gone and its job is back (the recovery process, fetching from the same queue, may hold it)",
          async () => {
            recovery!.assertRunning();
            if ((await old.redis.exists(reliableHeld.list)) === 1) return false;
            const lists = await workingLists(old.redis);
            const heldNow = (await Promise.all(lists.map((l) => old.redis.lrange(l, 0, -1)))).flat();
            return heldNow.some((p) => jidOf(p) === held) && lists.every((l) => l.includes(`:${recovery!.pid}:`));
          },
          { timeoutMs: 30_000 },
        );
        afterRecovery = await shell('sidekiq-migrate drain-check --redis "$OLD_REDIS" --namespace "$NS"');
        // "stop it": TERM; at its shutdown timeout (1 s) its fetcher pushes the job back onto the queue.
        running.splice(running.indexOf(recovery), 1);
        await recovery.stop();
        oldQueueAfterRecoveryStop = await old.redis.lrange(keys.queue(QUEUE), 0, -1);
      }
      continue;
    }
    if (block.id === 'old-workers-gone') {
      // The loop checks, sleeps 10 s, checks again: the first check sees the killed processes
      // (heartbeats alive); meanwhile the rest of the minute since the kills passes on the old
      // Redis, and the loop's sleep ends (timePassed).
      const loop = shell(block.code, { TIME_PASSED: timePassed });
      const nowFile = join(dir, 'old-now.json');
      await waitUntil('the loop wrote its first check', () => existsSync(nowFile) && readFileSync(nowFile, 'utf8').trim().endsWith('}'), { timeoutMs: 60_000 });
      loopFirst = JSON.parse(readFileSync(nowFile, 'utf8')) as Observed['loopFirst'];
      expiredAfterMinute = [...expiredAfterSilence, ...(await letTimePass(old.redis, 60 - SILENT_SECONDS))].sort();
      writeFileSync(timePassed, '');
      const result = await loop;
      blocks.set(block.id, result);
      order.push(block.id);
      continue;
    }
    // Step 5's checks come minutes after the switch: by then each old process runs its long job and beat since.
    if (block.id === 'drain-check-old') await longJobsHeld();
    const result = await shell(block.code);
    blocks.set(block.id, result);
    order.push(block.id);
  }

  newProducer!.stop();
  await newProducer!.done;
  await waitUntilSidekiqIdle(neu.redis, keys, [QUEUE], { timeoutMs: 60_000, assertRunning: () => running.forEach((s) => s.assertRunning()) });
  await Promise.all(running.map((s) => s.stop()));
  const oldWorkingAtEnd: string[] = [];
  for (const list of await workingLists(old.redis)) oldWorkingAtEnd.push(...(await old.redis.lrange(list, 0, -1)));
  return {
    blocks,
    order,
    produced: [...seeded, ...oldProducer.manifest(), ...readJsonLines<ManifestJob>(story.file('gates.jsonl')), ...newProducer!.manifest()],
    ran: ran(),
    reliableHeld,
    basicRunning,
    gates,
    afterKill: afterKill!,
    afterSilence: afterSilence!,
    reliableIdentity: reliableIdentity!,
    lostNamed,
    loopFirst: loopFirst!,
    loopLast: JSON.parse(readFileSync(join(dir, 'old-now.json'), 'utf8')) as Observed['loopLast'],
    expiredAfterMinute,
    expiredAfterHour,
    newShortLivedAtHour,
    afterRecovery: afterRecovery!,
    oldQueueAfterRecoveryStop,
    newAtEnd: await storedJobs(neu.redis, keys),
    oldAtEnd: await storedJobs(old.redis, keys),
    oldWorkingAtEnd,
    file: (name) => readFileSync(join(dir, name), 'utf8'),
  };
});

const text = (r: BlockResult) => `${r.stdout}\n${r.stderr}`;

const lastLineOf = (out: string) => out.trimEnd().split('\n').at(-1);
const runbookText = () => readFileSync(repoPath(`docs/runbooks/${RUNBOOK}`), 'utf8').replace(/\s+/g, ' ');

describe('redis-move.md followed with real Sidekiq 6.4 whose old-side processes are KILLED at step 6 (reliable and basic fetch)', () => {
  it('runs every local block, in order, each with the exit code the runbook gives (the final check STUCK, 3)', { timeout: 400_000 }, async () => {
    const seen = await walk();
    const runnable = runbookBlocks(repoPath(`docs/runbooks/${RUNBOOK}`), RUNBOOK).filter((b) => b.kind === 'run').map((b) => b.id);
    expect(seen.order).toEqual(runnable);
    const codes = Object.fromEntries(seen.order.map((id) => [id, seen.blocks.get(id)!.exitCode]));
    // final-check: "DRAINED, exit code 0 (or STUCK, 3: below)": the killed reliable process's list.
    expect(codes, seen.order.map((id) => `--- ${id}\n${text(seen.blocks.get(id)!)}`).join('\n')).toEqual(Object.fromEntries(seen.order.map((id) => [id, id === 'final-check' ? 3 : 0])));
    expect(runbookText()).toContain('drain-check --redis "$OLD_REDIS" --namespace "$NS" # DRAINED, exit code 0 (or STUCK, 3: below)');
  });

  it('before the kills each old process runs one long job: the reliable one in its working list, the basic one in no list (its heartbeat)', async () => {
    const seen = await walk();
    expect(seen.reliableHeld.payloads.map(jidOf)).toHaveLength(1);
    expect(seen.basicRunning.jids).toHaveLength(1);
    expect(new Set([...seen.reliableHeld.payloads.map(jidOf), ...seen.basicRunning.jids])).toEqual(new Set(seen.gates));
    const step5 = text(seen.blocks.get('drain-check-old')!);
    expect(step5).toContain('Sidekiq processes: 2 live');
    expect(step5).toContain(`${seen.reliableHeld.list}: 1 job(s), worker alive`);
    expect(step5).toContain(`(${seen.basicRunning.identity} 1), in no list:`);
    expect(step5).toContain('one whose process is killed (KILL, out of memory) is lost');
  });

  it('step 6, right after the kills: their heartbeats still there, the check counts both as live (as 6.3 says), DRAINING over both jobs, the basic one said lost if killed; never DRAINED', async () => {
    const seen = await walk();
    const out = text(seen.afterKill);
    expect(seen.afterKill.exitCode, out).toBe(0);
    expect(out).toContain('Sidekiq processes: 2 live, 0 quiet');
    expect(out).toMatch(/DRAINING — 2 job\(s\) left/);
    expect(out).toContain(`${seen.reliableHeld.list}: 1 job(s), worker alive`);
    expect(out).toContain(`(${seen.basicRunning.identity} 1), in no list:`);
    expect(out).toContain('one whose process is killed (KILL, out of memory) is lost');
    expect(out).not.toContain('DRAINED');
    // What the runbook tells the operator of a killed process here.
    const runbook = runbookText();
    expect(runbook).toContain('one that was killed (SIGKILL, out of memory, a pod past its grace period) still counts as live until its heartbeat expires, up to 60 s later');
    expect(runbook).toContain('with Sidekiq\'s own (basic) fetch it **loses** the jobs it was running');
  });

  it('step 6, the killed processes not heard from for 20 s (their heartbeats still there): each said to have maybe been killed, with what it holds and step 6.1; still 2 live, DRAINING, never DRAINED', async () => {
    const seen = await walk();
    const out = text(seen.afterSilence);
    expect(seen.afterSilence.exitCode, out).toBe(0);
    expect(out).toContain('Sidekiq processes: 2 live, 0 quiet');
    expect(out).toMatch(/DRAINING — 2 job\(s\) left/);
    expect(out).not.toContain('DRAINED');
    // Neither killed process's jobs are said to be worked on or run by live processes any more.
    expect(out).not.toContain('being worked on by live processes');
    expect(out).not.toContain('are being run by live Sidekiq processes');
    const silentFor = (identity: string) => {
      const n = Number(new RegExp(`Sidekiq process ${identity} not heard from for (\\d+) s `).exec(out)?.[1]);
      // At least the time let pass; short of the heartbeat's 60 s (it is still there).
      expect(n, out).toBeGreaterThanOrEqual(SILENT_SECONDS);
      expect(n, out).toBeLessThan(60);
      return n;
    };
    const reliable = silentFor(seen.reliableIdentity);
    const basic = silentFor(seen.basicRunning.identity);
    expect(out).toContain(
      `\n  - Sidekiq process ${seen.reliableIdentity} not heard from for ${reliable} s (a live Sidekiq process beats every 5 s): it may have been killed. It holds 1 job(s) in its fetcher's private list ${seen.reliableHeld.list}, which go back to their queue on this Redis only when a live process with the same fetcher returns them (GitLab's reliable fetcher within the hour, once this one's fetcher heartbeat has expired): see docs/runbooks/redis-move.md, step 6.1\n`,
    );
    expect(out).toContain(
      `\n  - Sidekiq process ${seen.basicRunning.identity} not heard from for ${basic} s (a live Sidekiq process beats every 5 s): it may have been killed. It holds 1 job(s) it was running in no list, lost if it was killed (Sidekiq's own fetch keeps them nowhere else); its heartbeat names them (\`${seen.basicRunning.identity}:workers\`, \`:work\` from Sidekiq 6.5) until it expires, 60 s after its last beat: see docs/runbooks/redis-move.md, step 6.1\n`,
    );
    expect(out).toContain(`\n  ${seen.reliableHeld.list}: 1 job(s), worker not heard from for ${reliable} s, it may have been killed\n`);
    // Where the words lead: the runbook's step 6.1 names them.
    expect(runbookText()).toContain('`Sidekiq process IDENTITY not heard from for N s (a live Sidekiq process beats every 5 s): it may have been killed`');
  });

  it('step 6.1: for a basic-fetch process killed anyway, the runbook\'s command names the job it lost (its heartbeat, under the identity the check names), and only that one', async () => {
    const seen = await walk();
    expect(seen.lostNamed, 'redis-move.md step 6.1 gives no `redis-cli -u "$OLD_REDIS" HGETALL "${NS}IDENTITY:workers"` for the jobs a killed basic-fetch process lost').not.toBeNull();
    expect(seen.lostNamed!.exitCode, text(seen.lostNamed!)).toBe(0);
    const payloads = seen.lostNamed!.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => (JSON.parse(line) as { payload: string }).payload);
    expect(payloads.map(jidOf)).toEqual(seen.basicRunning.jids);
  });

  it('step 6.3: the loop waits while the killed processes\' heartbeats live, and ends once they expired (the minute since the kills let pass on the old Redis)', async () => {
    const seen = await walk();
    expect(seen.loopFirst.processes).toMatchObject({ live: 2, quiet: 0 });
    expect(seen.loopFirst.verdict.state).toBe('draining');
    // What 60 s took away on the old Redis: the killed processes' heartbeats (Sidekiq's and the reliable fetcher's), nothing else.
    const [reliableHost, reliablePid, reliableNonce] = seen.reliableHeld.list.slice(`${NS}working:queue:${QUEUE}:`.length).split(':');
    expect(seen.expiredAfterMinute).toEqual(
      expect.arrayContaining([`${NS}${seen.basicRunning.identity}`, `${NS}${seen.basicRunning.identity}:workers`, `${NS}reliable-fetcher-heartbeat-${reliableHost}-${reliablePid}-${reliableNonce}`]),
    );
    for (const key of seen.expiredAfterMinute) expect(key, key).toMatch(new RegExp(`^${NS}(${reliableHost}:(${reliablePid}|${seen.basicRunning.identity.split(':')[1]}):[0-9a-f]+(:workers)?|reliable-fetcher-heartbeat-${reliableHost}-${reliablePid}-${reliableNonce})$`));
    const out = text(seen.blocks.get('old-workers-gone')!);
    expect(out).toContain('No Sidekiq process left on the old Redis.');
    expect(out).not.toContain('drain-check failed');
    expect(seen.loopLast.processes).toMatchObject({ live: 0, quiet: 0 });
    expect(seen.loopLast.verdict.state).toBe('stuck');
    expect(seen.loopLast.remaining).toBe(1);
  });

  it('step 7: the final transfer names the killed worker\'s list and is not Complete; the check says STUCK, exit 3, "worker gone"', async () => {
    const seen = await walk();
    const final = seen.blocks.get('final-local')!;
    expect(text(final)).toContain(`1 job(s) taken from the source's queues by workers that are gone, in their fetchers' private lists (${seen.reliableHeld.list} 1)`);
    expect(lastLineOf(final.stdout)).toBe('Done, but jobs were left behind: 1 in private lists of gone workers (see "Needs a look" above).');
    expect(text(final)).not.toContain('Complete');
    const check = text(seen.blocks.get('final-check')!);
    expect(check).toContain('STUCK — 1 job(s) left');
    expect(check).toContain(`${seen.reliableHeld.list}: 1 job(s), worker gone`);
    expect(check).not.toContain('DRAINED');
  });

  it('recover-private-lists: once the hour has passed (the killed process\'s clean-up lease), one reliable-fetch process on the old Redis puts the job back; stopped, it leaves it on the old queue; transfer-again Complete, DRAINED', async () => {
    const seen = await walk();
    // The hour on the old Redis took the killed process's clean-up lease, and what the runbook's
    // table says lives an hour at most (a run's `finished`, `page-receipts`, `claim-chain`).
    expect(seen.expiredAfterHour).toContain(`${NS}reliable-fetcher-cleanup-lock`);
    for (const key of seen.expiredAfterHour) expect(key, key).toMatch(new RegExp(`^${NS}(reliable-fetcher-cleanup-lock|sidekiq-migrate:[^:]+:(finished|page-receipts|claim-chain:.*))$`));
    // The new Redis was left as it was: what would have expired there within the hour is only what
    // its live processes renew (their heartbeats) or take again (their own clean-up lease, which
    // finds no list of a dead worker there).
    for (const key of seen.newShortLivedAtHour) expect(key, key).toMatch(new RegExp(`^${NS}([^:]+:\\d+:[0-9a-f]+(:workers)?|reliable-fetcher-heartbeat-[^:]+|reliable-fetcher-cleanup-lock)$`));
    const recovered = text(seen.afterRecovery);
    expect(recovered).not.toContain('worker gone');
    expect(recovered).not.toContain(seen.reliableHeld.list);
    expect(recovered).not.toContain('DRAINED');
    const held = jidOf(seen.reliableHeld.payloads[0]!);
    expect(seen.oldQueueAfterRecoveryStop.map(jidOf)).toEqual([held]);
    // Sidekiq's fetcher re-serialised it each time it put it back (the recovery, then the TERM).
    expect((JSON.parse(seen.oldQueueAfterRecoveryStop[0]!) as { interrupted_count: number }).interrupted_count).toBe(2);
    const again = text(seen.blocks.get('transfer-again')!);
    for (const words of ['Complete: everything that could be moved was moved.', 'DRAINED — 0 job(s) left', ' still carries the target id ']) expect(again).toContain(words);
    expect(again).not.toContain('Taken by workers');
  });

  it('step 8: no in-flight key, no private list left on the old Redis, every ledger removed', async () => {
    const seen = await walk();
    expect(text(seen.blocks.get('leftovers')!)).not.toMatch(/:inflight:|unknown/);
    expect(seen.blocks.get('ledgers')!.stdout).toMatch(/^\s*0\s*$/m);
    expect(seen.oldWorkingAtEnd).toEqual([]);
  });

  it('every job produced is exactly once (run, or stored on either side), but the one the killed basic-fetch process ran, which Sidekiq lost', async () => {
    const seen = await walk();
    const places = new Map<string, string[]>();
    const add = (jid: string, where: string) => places.set(jid, [...(places.get(jid) ?? []), where]);
    for (const r of seen.ran) add(r.jid, `ran on ${r.side} (pid ${r.pid})`);
    for (const [jid, stored] of seen.newAtEnd) for (const s of stored) add(jid, `new ${s.place}`);
    for (const [jid, stored] of seen.oldAtEnd) for (const s of stored) add(jid, `old ${s.place}`);
    for (const payload of seen.oldWorkingAtEnd) add(jidOf(payload), 'old private list');
    const producedJids = seen.produced.map((j) => j.jid);
    expect(new Set(producedJids).size).toBe(producedJids.length);
    const lost = producedJids.filter((jid) => !places.has(jid));
    expect(lost).toEqual(seen.basicRunning.jids);
    const problems = [...new Set([...producedJids, ...places.keys()])]
      .filter((jid) => !lost.includes(jid) && ((places.get(jid) ?? []).length !== 1 || !producedJids.includes(jid)))
      .map((jid) => `${jid}: ${JSON.stringify(places.get(jid) ?? [])}${producedJids.includes(jid) ? '' : ' (never produced)'}`);
    expect(problems).toEqual([]);
    // The reliable process's job, recovered and moved, ran once, on the new side.
    expect(places.get(jidOf(seen.reliableHeld.payloads[0]!))).toEqual([expect.stringMatching(/^ran on new /)]);
    expect([...seen.oldAtEnd.keys()]).toEqual([]);
    expect(new Set(seen.ran.map((r) => r.side))).toEqual(new Set(['old', 'new']));
  });
});
