import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { cliBin } from '../support/cli-child.js';
import { runCli } from '../support/run-cli.js';
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
  type EnqueuedJob,
  type Execution,
  type SidekiqEnv,
  type StoredJob,
} from './support/real-sidekiq.js';
import { compatStory } from './support/compat-story.js';

/*
 * The routing runbook's restart, as GitLab reaches it, with GitLab's reliable fetcher (Debian's
 * ruby-gitlab-sidekiq-fetcher): a real Sidekiq 6.4 listens to the old queue and the new one (step
 * 2), and holds two long jobs of the old queue in its working lists, while `sidekiq-migrate run
 * --rename old=new` re-routes the old queue's backlog and the sets. Mid-run the rules' change
 * restarts Sidekiq (TERM: it waits 5 s, then its fetcher LPUSHes the jobs still running back onto
 * `queue:old`, re-serialised with `interrupted_count`), and the new process listens to `new` only.
 * The long jobs wait for a gate the test opens once the first process has exited, so they are
 * always interrupted (test/compat/ruby/reliable_restart_workers.rb).
 * Whatever the interleaving, the run's words must account for every job it did not move (arrived
 * on the retired queue, or being worked on), a second run moves those, and every job runs exactly
 * once, with byte-identical arguments; far-future and dead jobs wait on `new` with their scores.
 */

const OLD = 'old';
const NEW = 'new';
/** Long jobs first: the oldest, so the first process fetches them first and is running them at the restart. */
const MIX = { long: 2, plain: 500, soon: 3, far: 2, retry: 3, dead: 1, aj: 4, aj_far: 1 } as const;
const RUNNABLE: ReadonlySet<string> = new Set(['long', 'plain', 'soon', 'retry', 'aj']);
const keys = new SidekiqKeys('');
const { tracker, file, startRedis, once } = compatStory('reliable-restart');

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Observed {
  readonly enqueued: EnqueuedJob[];
  readonly before: Map<string, StoredJob[]>;
  readonly first: CliResult;
  /** queue:old once the first run ended and the first process had put back what it was running. */
  readonly leftOnOld: string[];
  readonly second: CliResult;
  readonly ranFirst: Execution[];
  readonly ranSecond: Execution[];
  readonly atEnd: Map<string, StoredJob[]>;
  readonly keysAtEnd: string[];
}

/** The shipped CLI as a user's shell runs it, with a hook once its progress says it moved a job. */
function runCliChild(args: string[], onMoved: () => void): Promise<CliResult> {
  const child = tracker.track(spawn(process.execPath, [cliBin, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  let moved = false;
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!moved && /[1-9][\d,]* moved/.test(stderr)) {
      moved = true;
      onMoved();
    }
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

async function story(): Promise<Observed> {
  assertRealSidekiqInstalled();
  const { url, redis } = await startRedis();
  const env: SidekiqEnv = { redisUrl: url, namespace: null };
  await runRuby(tracker, env, 'enqueue.rb', [file('enqueued.jsonl'), OLD, ...Object.entries(MIX).map(([k, n]) => `${k}=${n}`)]);
  const enqueued = readJsonLines<EnqueuedJob>(file('enqueued.jsonl'));
  const before = await storedJobs(redis, keys);
  const longJids = enqueued.filter((j) => j.kind === 'long').map((j) => j.jid);

  const serverOptions = { require: 'reliable_restart_workers.rb', concurrency: 4 };
  // The first process works slowly (each job 50 ms), so that the run has a backlog to move.
  const first = startSidekiq(tracker, env, { ...serverOptions, jobSeconds: 0.05, queues: [OLD, NEW], outFile: file('ran-first.jsonl'), logFile: file('sidekiq-first.log') });
  let second: ReturnType<typeof startSidekiq> | undefined;
  try {
    await waitUntil(
      'the first process runs both long jobs, from its working lists',
      async () => {
        first.assertRunning();
        const working = await redis.keys(`working:queue:${OLD}:*`);
        const held = (await Promise.all(working.map((k) => redis.lrange(k, 0, -1)))).flat().join('\n');
        return longJids.every((jid) => held.includes(jid));
      },
      { timeoutMs: 30_000 },
    );

    // The run, and mid-run the restart: TERM, 5 s for the jobs to finish, the long ones put back.
    let restarted: Promise<void> | undefined;
    const firstRun = await runCliChild(['run', '--redis', url, '--rename', `${OLD}=${NEW}`, '--page-size', '5'], () => {
      restarted = first.stop().then(() => {
        second = startSidekiq(tracker, env, { ...serverOptions, queues: [NEW], outFile: file('ran-second.jsonl'), logFile: file('sidekiq-second.log') });
      });
    });
    await restarted;
    await redis.set('harness:gate', '1'); // the long jobs may finish now, wherever they run
    const leftOnOld = await redis.lrange(keys.queue(OLD), 0, -1);

    const secondRun = await runCli('run', '--redis', url, '--rename', `${OLD}=${NEW}`, '--json');

    const runnable = enqueued.filter((j) => RUNNABLE.has(j.kind));
    const ran = () => new Set([...readJsonLines<Execution>(file('ran-first.jsonl')), ...readJsonLines<Execution>(file('ran-second.jsonl'))].map((e) => e.jid));
    await waitUntilEveryJobRan({
      running: [second!],
      notRunYet: () => runnable.filter((j) => !ran().has(j.jid)),
      old: redis,
      neu: redis,
      keys,
      timeoutMs: 60_000,
      describe: (j) => `${j.kind} ${j.jid}`,
    });
    await waitUntilSidekiqIdle(redis, keys, [NEW], { timeoutMs: 45_000, assertRunning: () => second!.assertRunning() });
    await second!.stop();
    return {
      enqueued,
      before,
      first: firstRun,
      leftOnOld,
      second: { code: secondRun.code, stdout: secondRun.stdout, stderr: secondRun.stderr },
      ranFirst: readJsonLines<Execution>(file('ran-first.jsonl')),
      ranSecond: readJsonLines<Execution>(file('ran-second.jsonl')),
      atEnd: await storedJobs(redis, keys),
      keysAtEnd: (await redis.keys('*')).sort(),
    };
  } finally {
    await first.stop();
    await second?.stop();
  }
}

const seen = once(story);
const count = (text: string, pattern: RegExp): number => Number((pattern.exec(text)?.[1] ?? '0').replace(/,/g, ''));
const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);

describe('a re-route while a real Sidekiq with reliable fetch restarts (TERM) mid-run', () => {
  it('the first run accounts for every job it left on the retired queue: arrived, or being worked on; never "Complete" over either', { timeout: 180_000 }, async () => {
    const { first, leftOnOld, enqueued } = await seen();

    expect(first.code, first.stderr).toBe(0);
    const arrived = count(first.stdout, /^([\d,]+) job\(s\) arrived on retired queues during the run/m);
    const working = count(first.stdout, /^([\d,]+) job\(s\) taken from retired queues are being worked on/m);
    // Only the long jobs (longer than the shutdown's 5 s) can have been put back: they were running.
    const longJids = new Set(enqueued.filter((j) => j.kind === 'long').map((j) => j.jid));
    const back = leftOnOld.map((p) => JSON.parse(p) as { jid: string; interrupted_count?: number });
    expect(back.every((j) => longJids.has(j.jid) && j.interrupted_count === 1), JSON.stringify(back)).toBe(true);
    // What sits on queue:old after the restart, the run said: arrived (put back before its summary
    // looked) or being worked on (put back after).
    expect(leftOnOld.length).toBeGreaterThanOrEqual(arrived);
    expect(leftOnOld.length).toBeLessThanOrEqual(arrived + working);
    // Jobs a live worker holds in its private list are not done either (one whose worker dies goes
    // back on queue:old): never "Complete" over them, as over an arrival.
    const held = `${working} job(s) are being worked on by live Sidekiq processes on this Redis (in their fetchers' private lists): `;
    if (arrived > 0) expect(lastLine(first.stdout)).toMatch(new RegExp(`^Done, but jobs were left behind: ${arrived} arrived on retired queues during the run`));
    else if (working > 0) expect(lastLine(first.stdout)!.startsWith(`Done, but ${held}`), lastLine(first.stdout)).toBe(true);
    else expect(lastLine(first.stdout)).toMatch(/^Complete/);
    if (arrived > 0 && working > 0) expect(lastLine(first.stdout)).toContain(` Also ${held}`);
    if (working === 0) expect(lastLine(first.stdout)).not.toContain('being worked on');
  });

  it('a second run moves exactly what was left on the retired queue, and says Complete', { timeout: 180_000 }, async () => {
    const { second, leftOnOld } = await seen();

    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout) as { totals: { moved: number; arrived?: number }; verdict: { state: string; line: string } };
    expect(summary.totals.moved).toBe(leftOnOld.length);
    expect(summary.verdict.state).toBe('complete');
  });

  it('every runnable job ran exactly once, with byte-identical arguments; the long ones on the new process from new', { timeout: 180_000 }, async () => {
    const { enqueued, ranFirst, ranSecond } = await seen();
    const runnable = enqueued.filter((j) => RUNNABLE.has(j.kind));
    const ran = [...ranFirst, ...ranSecond];

    for (const job of runnable) {
      const runs = ran.filter((e) => e.jid === job.jid);
      expect(runs, `${job.kind} ${job.jid} must run exactly once`).toHaveLength(1);
      expect(runs[0]!.args_json, `arguments of ${job.kind} ${job.jid}`).toBe(job.args_json);
      expect([OLD, NEW]).toContain(runs[0]!.fetched_queue);
      if (runs[0]!.fetched_queue === NEW) expect(runs[0]!.payload_queue).toBe(NEW);
    }
    expect(ran.map((e) => e.jid).sort()).toEqual(runnable.map((j) => j.jid).sort());
    for (const job of enqueued.filter((j) => j.kind === 'long')) expect(ranSecond.find((e) => e.jid === job.jid)?.fetched_queue).toBe(NEW);
    // Both processes worked: the first one on the old queue's backlog while the run moved it.
    expect(ranFirst.length).toBeGreaterThan(0);
  });

  it('far-future and dead jobs wait on the new queue with their exact scores; nothing else is left, no working list, no queue:old', { timeout: 180_000 }, async () => {
    const { enqueued, before, atEnd, keysAtEnd } = await seen();
    const waiting = enqueued.filter((j) => j.kind === 'far' || j.kind === 'aj_far' || j.kind === 'dead');

    for (const job of waiting) {
      const was = storedOnce(before, job.jid);
      const is = storedOnce(atEnd, job.jid);
      expect(is.place).toBe(was.place);
      expect(is.score).toBe(was.score);
      expect(is.payload).toBe(was.payload.replace(`"queue":"${OLD}"`, `"queue":"${NEW}"`).replace(`"queue_name":"${OLD}"`, `"queue_name":"${NEW}"`));
    }
    expect([...atEnd.keys()].sort()).toEqual(waiting.map((j) => j.jid).sort());
    expect(keysAtEnd.filter((k) => k.startsWith('working:') || k === keys.queue(OLD))).toEqual([]);
  });
});
