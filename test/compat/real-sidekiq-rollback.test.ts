import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
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
 * The rollback runbook with real Sidekiq 6.4 running through it. Real clients fill `legacy` with
 * queued, scheduled (due in seconds, and in a day), retrying, dead and ActiveJob jobs, and jobs
 * that fail once when they run (FlakyJob); `sidekiq-migrate run --mapping` re-routes them to
 * three new queues. A real `sidekiq` listening to the old queue and the new ones (the runbook's
 * step 2) then works: its poller pushes due entries onto the new queues, the flaky jobs fail on
 * the new queue into `retry` (re-serialised by Sidekiq's retry handler, naming the new queue) and
 * come back. While it works, `sidekiq-migrate rollback RUN` puts the run's jobs back on `legacy`.
 * Then every job runs exactly once with byte-identical arguments (ActiveJob's queue_name being
 * the queue it ran from), what waits (a day ahead, dead) is back on `legacy` byte for byte with
 * its score, and what the rollback said matches what it left on the new queues.
 */

const OLD = 'legacy';
const DESTINATIONS: Record<string, string> = { PlainJob: 'plain_v2', FlakyJob: 'fragile_v2', DeadOnArrivalJob: 'fragile_v2', HarnessActiveJob: 'aj_v2' };
const NEW_QUEUES = [...new Set(Object.values(DESTINATIONS))];
/** Flaky jobs first: the oldest, so the server fails them early, while a backlog waits behind them. */
const MIX = { flaky: 6, plain: 600, soon: 3, far: 2, retry: 3, dead: 2, aj: 4, aj_soon: 1, aj_far: 1 } as const;
const RUNNABLE: ReadonlySet<string> = new Set(['plain', 'flaky', 'soon', 'retry', 'aj', 'aj_soon']);
const WAITING: ReadonlySet<string> = new Set(['far', 'aj_far', 'dead']);
const RUN = 'r1';
const keys = new SidekiqKeys('');
const { tracker, file, startRedis, once } = compatStory('rollback');

interface Observed {
  readonly enqueued: EnqueuedJob[];
  readonly before: Map<string, StoredJob[]>;
  readonly forward: { code: number; stdout: string; stderr: string };
  readonly back: { code: number; stdout: string; stderr: string };
  /** Right after the rollback: every job stored, and the flaky jobs that had failed on a new queue before it. */
  readonly afterBack: Map<string, StoredJob[]>;
  readonly failedBefore: number;
  readonly ran: Execution[];
  readonly atEnd: Map<string, StoredJob[]>;
}

async function story(): Promise<Observed> {
  assertRealSidekiqInstalled();
  const { url, redis } = await startRedis();
  const env: SidekiqEnv = { redisUrl: url, namespace: null };
  await runRuby(tracker, env, 'enqueue.rb', [file('enqueued.jsonl'), OLD, ...Object.entries(MIX).map(([k, n]) => `${k}=${n}`)]);
  const enqueued = readJsonLines<EnqueuedJob>(file('enqueued.jsonl'));
  const before = await storedJobs(redis, keys);
  writeFileSync(file('mapping.json'), JSON.stringify(DESTINATIONS));

  const forward = await runCli('run', '--redis', url, '--mapping', file('mapping.json'), '--run-id', RUN);

  // Listeners on both sides (the runbook's step 2); each job takes 20 ms, so the rollback meets a
  // backlog. Queues unweighted are fetched in this order: the flaky jobs' first, so they fail early.
  const server = startSidekiq(tracker, env, { queues: ['fragile_v2', OLD, 'plain_v2', 'aj_v2'], outFile: file('ran.jsonl'), logFile: file('sidekiq.log'), concurrency: 3, jobSeconds: 0.02 });
  try {
    const flaky = new Set(enqueued.filter((j) => j.kind === 'flaky').map((j) => j.jid));
    let failedBefore = 0;
    await waitUntil(
      'flaky jobs failed on their new queue into retry',
      async () => {
        server.assertRunning();
        const retrying = (await redis.zrange('retry', 0, '-1')).filter((p) => flaky.has((JSON.parse(p) as { jid: string }).jid) && p.includes('"queue":"fragile_v2"'));
        failedBefore = retrying.length;
        return failedBefore > 0;
      },
      { timeoutMs: 30_000 },
    );

    const back = await runCli('rollback', RUN, '--redis', url);
    const afterBack = await storedJobs(redis, keys);

    const runnable = enqueued.filter((j) => RUNNABLE.has(j.kind));
    const ran = () => new Set(readJsonLines<Execution>(file('ran.jsonl')).map((e) => e.jid));
    await waitUntilEveryJobRan({ running: [server], notRunYet: () => runnable.filter((j) => !ran().has(j.jid)), old: redis, neu: redis, keys, timeoutMs: 45_000, describe: (j) => `${j.kind} ${j.jid}` });
    await waitUntilSidekiqIdle(redis, keys, [OLD, ...NEW_QUEUES], { timeoutMs: 45_000, assertRunning: () => server.assertRunning() });
    await server.stop();
    return { enqueued, before, forward, back, afterBack, failedBefore, ran: readJsonLines<Execution>(file('ran.jsonl')), atEnd: await storedJobs(redis, keys) };
  } finally {
    await server.stop();
  }
}

const seen = once(story);
const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1);
/** String fields only (JSON.parse would round big integers; nothing is re-encoded). */
const fields = (payload: string) => JSON.parse(payload) as { queue: string; class: string; wrapped?: string; args: [{ queue_name?: string }] };
const classOf = (payload: string) => fields(payload).wrapped ?? fields(payload).class;

describe('rolling back a re-route while a real Sidekiq works on both sides, polling and retrying', () => {
  it('the forward run moved every job to its new queue', { timeout: 180_000 }, async () => {
    const { forward, enqueued } = await seen();

    expect(forward.code, forward.stderr).toBe(0);
    expect(forward.stdout).toMatch(new RegExp(`^total +${enqueued.length.toLocaleString('en-US')} +${enqueued.length.toLocaleString('en-US')} +0$`, 'm'));
    expect(lastLine(forward.stdout)).toBe('Complete: everything that could be moved was moved.');
  });

  it('the rollback says Complete only when none of the classes it put back is left on a new queue, in a list or a set', { timeout: 180_000 }, async () => {
    const { back, afterBack, failedBefore } = await seen();

    expect(back.code, back.stderr).toBe(0);
    expect(failedBefore).toBeGreaterThan(0);
    const wrong = [...afterBack.values()].flat().filter((s) => (s.place.startsWith('queue:') ? NEW_QUEUES.includes(s.place.slice('queue:'.length)) : NEW_QUEUES.includes(fields(s.payload).queue)));
    if (lastLine(back.stdout)?.startsWith('Complete')) expect(wrong.map((s) => `${s.place} ${classOf(s.payload)}`)).toEqual([]);
    else expect(lastLine(back.stdout)).toMatch(/^Done, but jobs were left behind: /);
  });

  it('every runnable job ran exactly once, with byte-identical arguments; ActiveJob saw the queue it ran from', { timeout: 180_000 }, async () => {
    const { enqueued, ran } = await seen();
    const runnable = enqueued.filter((j) => RUNNABLE.has(j.kind));

    for (const job of runnable) {
      const runs = ran.filter((e) => e.jid === job.jid);
      expect(runs, `${job.kind} ${job.jid} must run exactly once`).toHaveLength(1);
      expect(runs[0]!.args_json, `arguments of ${job.kind} ${job.jid}`).toBe(job.args_json);
      expect(runs[0]!.payload_queue).toBe(runs[0]!.fetched_queue);
      if (job.class === 'HarnessActiveJob') expect(runs[0]!.aj_queue_name).toBe(runs[0]!.fetched_queue);
    }
    expect(ran.map((e) => e.jid).sort()).toEqual(runnable.map((j) => j.jid).sort());
  });

  it('far-future and dead jobs are back on legacy byte for byte with their scores; nothing else is left', { timeout: 180_000 }, async () => {
    const { enqueued, before, atEnd } = await seen();
    const waiting = enqueued.filter((j) => WAITING.has(j.kind));

    for (const job of waiting) expect(storedOnce(atEnd, job.jid), `${job.kind} ${job.jid}`).toEqual(storedOnce(before, job.jid));
    expect([...atEnd.keys()].sort()).toEqual(waiting.map((j) => j.jid).sort());
  });
});
