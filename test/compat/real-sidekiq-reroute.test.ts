import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runReroute, type RerouteRunSummary } from '../../core/reroute/run-reroute.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { classRoutingPlan, renameRoutingPlan, type RoutingPlan } from '../../core/routing/routing-plan.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import {
  assertRealSidekiqInstalled,
  ProcessTracker,
  readJsonLines,
  runRuby,
  waitUntilSidekiqIdle,
  startSidekiq,
  storedJobs,
  waitUntil,
  type EnqueuedJob,
  type Execution,
  type SidekiqEnv,
  type StoredJob,
} from './support/real-sidekiq.js';

/*
 * Real Sidekiq 6.4 on both sides of a re-route. Real clients enqueue to the OLD queues; a real
 * `sidekiq` listening only to the NEW queues runs nothing; runReroute moves the jobs; the same
 * server then runs every due job exactly once with byte-identical arguments, far-future jobs wait
 * with their exact score, and a dead job retried through Sidekiq's API lands on the new queue.
 * Ruby side: test/compat/ruby/ (workers.rb documents what each job class does).
 */

const ACTIVEJOB_WRAPPER = 'ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper';

/** How many jobs of each kind the real client enqueues (see enqueue.rb), spread over the old queues. */
const MIX = { plain: 4, soon: 2, far: 2, retry: 2, dead: 2, aj: 2, aj_soon: 1, aj_far: 1 } as const;
/** Kinds that are due and must run exactly once after the move (plus the dead job we retry). */
const DUE_KINDS: ReadonlySet<string> = new Set(['plain', 'soon', 'retry', 'aj', 'aj_soon']);

interface Scenario {
  /** redis-namespace namespace of the Sidekiq app (our key prefix is `NAMESPACE:`), or null. */
  readonly namespace: string | null;
  readonly oldQueues: readonly string[];
  /** What the server listens to, before and after the move. */
  readonly newQueues: readonly string[];
  readonly plan: RoutingPlan;
  /** The queue a job belongs on after the move. */
  destination(job: EnqueuedJob): string;
}

/** What the story below saw at each step. */
interface Observed {
  readonly enqueued: EnqueuedJob[];
  readonly ranBeforeMove: Execution[];
  readonly beforeMove: Map<string, StoredJob[]>;
  readonly summary: RerouteRunSummary;
  readonly afterMove: Map<string, StoredJob[]>;
  readonly queueNamesAfterMove: string[];
  readonly deadRetried: EnqueuedJob;
  readonly afterDeadRetry: Map<string, StoredJob[]>;
  readonly ranAfterMove: Execution[];
  readonly atEnd: Map<string, StoredJob[]>;
  /** Jobs of another, non-namespaced app on the same Redis (namespace scenario only). */
  readonly neighbourBefore: Map<string, StoredJob[]>;
  readonly neighbourAtEnd: Map<string, StoredJob[]>;
}

const tracker = new ProcessTracker();
const workDir = mkdtempSync(join(tmpdir(), 'sidekiq-migrate-compat-'));
let started: Promise<{ server: RedisServerHandle; redis: Redis }> | undefined;
/** Set when a story fails: its manifests, execution records and sidekiq logs are then kept. */
let keepWorkDir = false;

/**
 * This file's private redis-server and a client, started on first use. Set up inside the tests
 * (not in a beforeAll) so that a missing Ruby or Sidekiq fails every test with the install
 * command instead of leaving them reported as skipped.
 */
function privateRedis(): Promise<{ server: RedisServerHandle; redis: Redis }> {
  return (started ??= (async () => {
    assertRealSidekiqInstalled();
    const server = await startRedisServer();
    return { server, redis: new Redis(server.url, { protocol: 2, maxRetriesPerRequest: 1 }) };
  })());
}

afterAll(async () => {
  await tracker.stopAll(); // every ruby / sidekiq process still running, by pid
  const ready = await started?.catch(() => undefined);
  ready?.redis.disconnect();
  await ready?.server.stop();
  if (!keepWorkDir) rmSync(workDir, { recursive: true, force: true });
}, 60_000);

/**
 * The whole story against a fresh Redis: enqueue with real clients, watch a new-queue server run
 * nothing, re-route, retry a dead job through Sidekiq's API, let the server run what is due.
 */
async function migrateUnderRealSidekiq(name: string, scenario: Scenario): Promise<Observed> {
  const { server, redis } = await privateRedis();
  await redis.flushall();
  const env: SidekiqEnv = { redisUrl: server.url, namespace: scenario.namespace };
  const keys = new SidekiqKeys(scenario.namespace === null ? '' : `${scenario.namespace}:`);
  const file = (suffix: string) => join(workDir, `${name}-${suffix}`);
  const mix = Object.entries(MIX).map(([kind, n]) => `${kind}=${n}`);
  const neighbourKeys = new SidekiqKeys('');

  // Prepare: another app without a namespace shares the Redis and the old queue names.
  if (scenario.namespace !== null) {
    await runRuby(tracker, { ...env, namespace: null }, 'enqueue.rb', [file('neighbour.jsonl'), scenario.oldQueues.join(','), 'plain=2', 'far=1', 'dead=1']);
  }
  const neighbourBefore = await storedJobs(redis, neighbourKeys);

  // Prepare: real clients enqueue to the OLD queues.
  await runRuby(tracker, env, 'enqueue.rb', [file('enqueued.jsonl'), scenario.oldQueues.join(','), ...mix]);
  const enqueued = readJsonLines<EnqueuedJob>(file('enqueued.jsonl'));

  // The routing changed first: a server listens only to the NEW queues. Its scheduler pushes the
  // jobs that fall due onto their OLD queue, where nobody fetches them.
  const before = startSidekiq(tracker, env, { queues: scenario.newQueues, outFile: file('ran-before.jsonl'), logFile: file('sidekiq-before.log') });
  try {
    const dueSoon = enqueued.filter((j) => j.kind === 'soon' || j.kind === 'aj_soon');
    await waitUntil(
      "the server's scheduler has pushed the jobs scheduled a few seconds ahead onto their old queue",
      async () => {
        before.assertRunning();
        const stored = await storedJobs(redis, keys);
        return dueSoon.every((j) => stored.get(j.jid)?.[0]?.place === `queue:${j.queue}`);
      },
      { timeoutMs: 30_000 },
    );
    // Whatever it would fetch from the new queues it has fetched and run (busy 0 after they were
    // empty). The sets are not waited for: the jobs that fall due go to their old queues.
    await waitUntilSidekiqIdle(redis, keys, scenario.newQueues, { timeoutMs: 30_000, horizonSeconds: null, assertRunning: () => before.assertRunning() });
  } finally {
    await before.stop();
  }
  const ranBeforeMove = readJsonLines<Execution>(file('ran-before.jsonl'));
  const beforeMove = await storedJobs(redis, keys);

  // Act: re-route.
  const summary = await runReroute({ redis, keys, plan: scenario.plan, dryRun: false, sets: ['schedule', 'retry', 'dead'], queues: true, pageSize: 5 });
  const afterMove = await storedJobs(redis, keys);
  const queueNamesAfterMove = await redis.smembers(keys.queues);

  // A dead job retried the way the Web UI's "Retry Now" does it.
  const deadRetried = enqueued.find((j) => j.kind === 'dead')!;
  await runRuby(tracker, env, 'dead_retry.rb', [deadRetried.jid]);
  const afterDeadRetry = await storedJobs(redis, keys);

  // The server, still listening only to the new queues, runs what is due.
  const due = enqueued.filter((j) => DUE_KINDS.has(j.kind) || j === deadRetried);
  const ranFile = file('ran-after.jsonl');
  const after = startSidekiq(tracker, env, { queues: scenario.newQueues, outFile: ranFile, logFile: file('sidekiq-after.log') });
  try {
    const missing = () => {
      const ran = new Set(readJsonLines<Execution>(ranFile).map((e) => e.jid));
      return due.filter((j) => !ran.has(j.jid));
    };
    await waitUntil(
      'the server has run every due job',
      () => {
        after.assertRunning();
        return missing().length === 0;
      },
      {
        timeoutMs: 45_000,
        detail: async () => {
          const stored = await storedJobs(redis, keys);
          return missing()
            .map((j) => `not run: ${j.kind} ${j.jid}, stored at ${JSON.stringify(stored.get(j.jid)?.map((s) => s.place) ?? [])}`)
            .join('\n');
        },
      },
    );
    // Not a fixed time: until nothing is left that could run a second time (queues empty, nothing
    // due within the hour, every process idle in a heartbeat after that), so a late duplicate shows.
    await waitUntilSidekiqIdle(redis, keys, scenario.newQueues, { timeoutMs: 45_000, assertRunning: () => after.assertRunning() });
  } finally {
    await after.stop();
  }
  const ranAfterMove = readJsonLines<Execution>(ranFile);
  const atEnd = await storedJobs(redis, keys);
  const neighbourAtEnd = await storedJobs(redis, neighbourKeys);

  return {
    enqueued,
    ranBeforeMove,
    beforeMove,
    summary,
    afterMove,
    queueNamesAfterMove,
    deadRetried,
    afterDeadRetry,
    ranAfterMove,
    atEnd,
    neighbourBefore,
    neighbourAtEnd,
  };
}

/** The payload with only the queue changed: `queue` (and ActiveJob's `args[0].queue_name`). */
function withQueueRewritten(payload: string, from: string, to: string): string {
  let out = replaceExactlyOnce(payload, `"queue":${JSON.stringify(from)}`, `"queue":${JSON.stringify(to)}`);
  if (payload.includes(`"class":"${ACTIVEJOB_WRAPPER}"`)) {
    out = replaceExactlyOnce(out, `"queue_name":${JSON.stringify(from)}`, `"queue_name":${JSON.stringify(to)}`);
  }
  return out;
}

function replaceExactlyOnce(text: string, needle: string, replacement: string): string {
  const at = text.indexOf(needle);
  if (at < 0 || text.indexOf(needle, at + 1) >= 0) throw new Error(`expected exactly one ${needle} in ${text}`);
  return text.slice(0, at) + replacement + text.slice(at + needle.length);
}

const only = (stored: Map<string, StoredJob[]>, jid: string): StoredJob => {
  const entries = stored.get(jid) ?? [];
  expect(entries, `job ${jid} must be stored exactly once`).toHaveLength(1);
  return entries[0]!;
};

/** Reads string fields only: JSON.parse would round big integers, which we never re-encode. */
const fields = (payload: string) => JSON.parse(payload) as { queue: string; class: string; wrapped?: string; args: [{ queue_name?: string }] };

/** The properties every scenario must show. */
function provesMigrationUnderRealSidekiq(name: string, scenario: Scenario): () => Promise<Observed> {
  // The story runs once, in whichever test comes first; the others assess what it saw (and fail
  // with its error if it failed).
  let story: Promise<Observed> | undefined;
  const seen = () =>
    (story ??= migrateUnderRealSidekiq(name, scenario).catch((error: Error) => {
      if (readdirSync(workDir).length === 0) throw error; // failed before writing anything
      keepWorkDir = true;
      throw new Error(`${error.message}\n(manifests, execution records and sidekiq logs kept in ${workDir})`, { cause: error });
    }));

  it('before the move, a server listening only to the new queues runs nothing; due jobs pile up on the old queues', async () => {
    const { ranBeforeMove, enqueued, beforeMove } = await seen();

    expect(ranBeforeMove).toEqual([]);
    for (const job of enqueued.filter((j) => j.kind === 'soon' || j.kind === 'aj_soon')) {
      const stored = only(beforeMove, job.jid);
      expect(stored.place).toBe(`queue:${job.queue}`);
      expect(fields(stored.payload).queue).toBe(job.queue);
    }
  }, 120_000);

  it('the move rewrites only the queue (and ActiveJob queue_name) of every job, keeping all other bytes and every score', async () => {
    const { enqueued, beforeMove, afterMove, summary, queueNamesAfterMove } = await seen();

    expect(summary.totals).toMatchObject({ moved: enqueued.length, unmapped: 0, unparsable: 0, vanished: 0, conflicts: 0 });
    for (const job of enqueued) {
      const was = only(beforeMove, job.jid);
      const is = only(afterMove, job.jid);
      const to = scenario.destination(job);
      expect(is.place, `${job.kind} ${job.jid}`).toBe(was.place.startsWith('queue:') ? `queue:${to}` : was.place);
      expect(is.score, `${job.kind} ${job.jid}`).toBe(was.score);
      expect(is.payload, `${job.kind} ${job.jid}`).toBe(withQueueRewritten(was.payload, job.queue, to));
    }
    expect(afterMove.size).toBe(enqueued.length);
    // Like Sidekiq's own push, a job moved into a list registers its queue in `queues`.
    const listDestinations = enqueued.filter((j) => only(beforeMove, j.jid).place.startsWith('queue:')).map((j) => scenario.destination(j));
    expect(queueNamesAfterMove).toEqual(expect.arrayContaining([...new Set(listDestinations)]));
  }, 120_000);

  it('the real server then runs every due job exactly once, from its new queue, with byte-identical arguments', async () => {
    const { enqueued, ranAfterMove, deadRetried } = await seen();
    const due = enqueued.filter((j) => DUE_KINDS.has(j.kind) || j === deadRetried);

    for (const job of due) {
      const runs = ranAfterMove.filter((e) => e.jid === job.jid);
      expect(runs, `${job.kind} ${job.jid} must run exactly once`).toHaveLength(1);
      const to = scenario.destination(job);
      expect(runs[0]).toMatchObject({ class: job.class, fetched_queue: to, payload_queue: to });
      expect(runs[0]!.args_json, `arguments of ${job.kind} ${job.jid}, re-encoded by Ruby`).toBe(job.args_json);
    }
    expect(ranAfterMove.map((e) => e.jid).sort()).toEqual(due.map((j) => j.jid).sort());
  }, 120_000);

  it('far-future jobs wait in schedule on their new queue with their exact score; nothing else is left', async () => {
    const { enqueued, beforeMove, afterMove, atEnd, deadRetried } = await seen();
    const far = enqueued.filter((j) => j.kind === 'far' || j.kind === 'aj_far');

    for (const job of far) {
      const stored = only(atEnd, job.jid);
      expect(stored.place).toBe('schedule');
      expect(stored.score).toBe(only(beforeMove, job.jid).score);
      expect(stored.payload).toBe(only(afterMove, job.jid).payload);
      expect(fields(stored.payload).queue).toBe(scenario.destination(job));
    }
    const stillDead = enqueued.filter((j) => j.kind === 'dead' && j !== deadRetried);
    expect([...atEnd.keys()].sort()).toEqual([...far, ...stillDead].map((j) => j.jid).sort());
  }, 120_000);

  it("a dead job retried through Sidekiq's API lands on the new queue and runs there; the other stays dead, moved, with its score", async () => {
    const { enqueued, beforeMove, afterMove, afterDeadRetry, ranAfterMove, deadRetried, atEnd } = await seen();
    const to = scenario.destination(deadRetried);

    const landed = only(afterDeadRetry, deadRetried.jid);
    expect(landed.place).toBe(`queue:${to}`);
    expect(fields(landed.payload).queue).toBe(to);
    expect(ranAfterMove.filter((e) => e.jid === deadRetried.jid)).toMatchObject([{ fetched_queue: to }]);

    for (const job of enqueued.filter((j) => j.kind === 'dead' && j !== deadRetried)) {
      const stored = only(atEnd, job.jid);
      expect(stored).toEqual({ place: 'dead', score: only(beforeMove, job.jid).score, payload: only(afterMove, job.jid).payload });
      expect(fields(stored.payload).queue).toBe(scenario.destination(job));
    }
  }, 120_000);

  it('ActiveJob jobs name the new queue in args[0].queue_name, in Redis and inside the running job', async () => {
    const { enqueued, afterMove, ranAfterMove } = await seen();
    const activeJobs = enqueued.filter((j) => j.class === 'HarnessActiveJob');
    expect(activeJobs).toHaveLength(MIX.aj + MIX.aj_soon + MIX.aj_far);

    for (const job of activeJobs) {
      const to = scenario.destination(job);
      const payload = fields(only(afterMove, job.jid).payload);
      expect(payload).toMatchObject({ class: ACTIVEJOB_WRAPPER, wrapped: 'HarnessActiveJob', queue: to });
      expect(payload.args[0].queue_name).toBe(to);
      if (job.kind !== 'aj_far') expect(ranAfterMove.find((e) => e.jid === job.jid)?.aj_queue_name).toBe(to);
    }
  }, 120_000);

  return seen;
}

describe('class routing with real Sidekiq 6.4 (no namespace)', () => {
  const destinations = new Map([
    ['PlainJob', 'plain_v2'],
    ['FlakyJob', 'fragile_v2'],
    ['DeadOnArrivalJob', 'fragile_v2'],
    ['HarnessActiveJob', 'activejob_v2'],
  ]);
  provesMigrationUnderRealSidekiq('classes', {
    namespace: null,
    oldQueues: ['default', 'critical'],
    newQueues: ['plain_v2', 'fragile_v2', 'activejob_v2'],
    plan: classRoutingPlan(destinations),
    destination: (job) => destinations.get(job.class)!,
  });
});

describe('renaming old → new with real Sidekiq 6.4 under the redis-namespace namespace "myapp"', () => {
  const seen = provesMigrationUnderRealSidekiq('namespace', {
    namespace: 'myapp',
    oldQueues: ['old'],
    newQueues: ['new'],
    plan: renameRoutingPlan(new Map([['old', 'new']])),
    destination: () => 'new',
  });

  it('leaves alone, byte for byte, the jobs of a non-namespaced app on the same Redis and the same queue names', async () => {
    const { neighbourBefore, neighbourAtEnd } = await seen();
    const { redis } = await privateRedis();

    expect(neighbourBefore.size).toBe(4);
    expect(neighbourAtEnd).toEqual(neighbourBefore);
    expect(await redis.exists('queue:new')).toBe(0);
  }, 120_000);
});
