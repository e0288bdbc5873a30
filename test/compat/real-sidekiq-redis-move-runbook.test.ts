import { readFileSync, writeFileSync } from 'node:fs';
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
 * docs/runbooks/redis-move.md followed block by block, in order, as written (the blocks the
 * runbook test runs, with the fixture's env.sh: NS='resque:gitlab:'), with REAL Sidekiq 6.4
 * processes and GitLab's reliable fetcher instead of the runbook test's simulated heartbeats:
 *
 * - before: a producer fills the old Redis's `default` under the namespace, and `schedule`,
 *   `retry` and `dead` hold jobs (the real client); one Sidekiq process works the old Redis, slowly;
 * - step 3 (switch-sidekiq-nodes, switch-rails-nodes): a Sidekiq process starts on the new Redis,
 *   then the producer on the old Redis stops and one on the new Redis starts; it pushes until the end;
 * - step 6 (move-old-workers): the old process gets its TERM (it finishes its job or pushes it
 *   back) and a second process starts on the new Redis; old-workers-gone then waits as written.
 *
 * At the end every job produced is exactly once across: run (the workers' records), the new
 * Redis's queues and sets, and what the final checks name on the old Redis (its queues, sets and
 * private lists: none, DRAINED).
 *
 * Not here: a SIGKILLed old process (its heartbeat lives 60 s, then STUCK and recover-private-lists,
 * whose reliable-fetcher clean-up runs under an hourly lease): real-sidekiq-redis-move-runbook-killed.test.ts
 * walks it, letting the time pass on the old Redis; the runbook test simulates it
 * (test/runbooks/scenarios/redis-move-scenario.ts).
 */

const NS = 'resque:gitlab:';
const keys = new SidekiqKeys(NS);
const QUEUE = 'default';
const RUNBOOK = 'redis-move.md';
/** The old side's pace: one job at a time, each 0.2 s, so its backlog outlasts the sets-only transfer. */
const OLD_JOB_SECONDS = 0.2;
/** Jobs waiting on the old queue before the switch: 20 s of the old process's work. */
const OLD_BACKLOG = 100;

interface ManifestJob {
  readonly jid: string;
  readonly kind: string;
  readonly class: string;
}
interface Ran {
  readonly jid: string;
  readonly side: string;
  readonly pid: number;
}

/** What the walk saw of one run block: its result, and each side's counts around it. */
interface BlockSeen {
  readonly result: BlockResult;
  /** Runs recorded, by side, and jobs the new producer had pushed, before and after the block. */
  readonly before: { old: number; new: number; pushedNew: number };
  readonly after: { old: number; new: number; pushedNew: number };
}

interface Observed {
  readonly blocks: Map<string, BlockSeen>;
  /** The ids of the blocks run, in the order they ran. */
  readonly order: string[];
  readonly seeded: ManifestJob[];
  readonly produced: ManifestJob[];
  readonly ran: Ran[];
  /** The old Redis's sets (schedule, retry, dead) just before sets-local. */
  readonly oldSetsBefore: Map<string, StoredJob[]>;
  readonly oldBacklogAtSets: number;
  readonly oldSetSizesAfterSets: number[];
  /** The new Redis's size after the first dry run (nothing else had touched it), and the old's run keys. */
  readonly newKeysAfterDryRun: number;
  readonly oldRunKeysAfterDryRun: string[];
  /** The old Redis's keys and values before and after the dry run back (no process on it by then). */
  readonly oldBeforeGoingBack: string[];
  readonly oldAfterGoingBack: string[];
  readonly file: (name: string) => string;
  readonly newAtEnd: Map<string, StoredJob[]>;
  readonly oldAtEnd: Map<string, StoredJob[]>;
  /** Every job left in a fetcher's private list on the old Redis (what a drain check names). */
  readonly oldWorkingAtEnd: string[];
}

const story = compatStory('redis-move-runbook');

/**
 * Every key of `redis` with its type and length, sorted: what a dry run must leave alone. Keys
 * that expire within 60 s are left out: the stopped processes' heartbeats (60 s), which may expire
 * between two looks on a slow machine; a run's lock lives 20 minutes and is still seen.
 */
async function shapeOf(redis: Redis): Promise<string[]> {
  const out: string[] = [];
  for (const key of await redis.keys('*')) {
    const ttl = await redis.pttl(key);
    if (ttl >= 0 && ttl <= 60_000) continue;
    const type = await redis.type(key);
    const size = type === 'list' ? await redis.llen(key) : type === 'zset' ? await redis.zcard(key) : type === 'set' ? await redis.scard(key) : type === 'hash' ? await redis.hlen(key) : 1;
    out.push(`${key} ${type} ${size}`);
  }
  return out.sort();
}

const walk = story.once(async (): Promise<Observed> => {
  assertRealSidekiqInstalled();
  const [old, neu] = await Promise.all([story.startRedis(), story.startRedis()]);
  const oldEnv: SidekiqEnv = { redisUrl: old.url, namespace: NS.slice(0, -1) };
  const newEnv: SidekiqEnv = { redisUrl: neu.url, namespace: NS.slice(0, -1) };
  // The operator's working directory: `sidekiq-migrate` on PATH, the fixture's values sourced.
  const dir = story.file('runbook');
  const { bin } = prepareWorkDir(dir);
  const envFile = repoPath('test/fixtures/runbooks/redis-move/env.sh');
  const shell = (code: string) => runShellBlock(code, { dir, envFile, bin, env: { RUNBOOK_OLD_REDIS_URL: old.url, RUNBOOK_NEW_REDIS_URL: neu.url }, timeoutMs: 60_000 });
  const ranFiles: string[] = [];
  const server = (side: 'old' | 'new', n: number, env: SidekiqEnv, extra: { concurrency: number; jobSeconds?: number }): SidekiqServer => {
    const outFile = story.file(`ran-${side}-${n}.jsonl`);
    ranFiles.push(outFile);
    return startSidekiq(story.tracker, env, { queues: [QUEUE], require: 'redis_move_workers.rb', outFile, logFile: story.file(`sidekiq-${side}-${n}.log`), env: { HARNESS_SIDE: side }, ...extra });
  };
  const ran = () => ranFiles.flatMap((f) => readJsonLines<Ran>(f));
  const produce = (env: SidekiqEnv, name: string) => {
    const stop = story.file(`${name}.stop`);
    const done = runRuby(story.tracker, env, 'shard_produce.rb', [story.file(`${name}.jsonl`), 'MovingWorker', stop, '0.01', '1'], 120_000);
    return { stop: () => writeFileSync(stop, ''), done, manifest: () => readJsonLines<ManifestJob>(story.file(`${name}.jsonl`)) };
  };

  // Before the move: jobs in the three sets (the real client), and a live old side whose producer
  // outpaces its one slow worker, so that its queue still holds jobs when step 4 leaves it alone.
  await runRuby(story.tracker, oldEnv, 'shard_enqueue.rb', [story.file('seeded.jsonl'), 'MovingWorker:far=3', 'MovingWorker:retry_far=2', 'MovingWorker:dead=2']);
  const seeded = readJsonLines<ManifestJob>(story.file('seeded.jsonl'));
  const oldServer = server('old', 1, oldEnv, { concurrency: 1, jobSeconds: OLD_JOB_SECONDS });
  const running: SidekiqServer[] = [oldServer];
  const oldProducer = produce(oldEnv, 'produced-old');
  await waitUntil(
    `the old Redis's ${QUEUE} holds ${OLD_BACKLOG} jobs and its process has run one`,
    async () => {
      oldServer.assertRunning();
      return (await old.redis.llen(keys.queue(QUEUE))) >= OLD_BACKLOG && ran().length > 0;
    },
    { timeoutMs: 30_000 },
  );
  let newProducer: ReturnType<typeof produce> | undefined;
  const counts = () => ({ old: ran().filter((r) => r.side === 'old').length, new: ran().filter((r) => r.side === 'new').length, pushedNew: newProducer?.manifest().length ?? 0 });

  const blocks = new Map<string, BlockSeen>();
  const order: string[] = [];
  let oldSetsBefore = new Map<string, StoredJob[]>();
  let oldBacklogAtSets = -1;
  let oldSetSizesAfterSets: number[] = [];
  let newKeysAfterDryRun = -1;
  let oldRunKeysAfterDryRun: string[] = [];
  let oldBeforeGoingBack: string[] = [];
  let oldAfterGoingBack: string[] = [];
  for (const block of runbookBlocks(repoPath(`docs/runbooks/${RUNBOOK}`), RUNBOOK)) {
    running.forEach((s) => s.assertRunning());
    if (block.kind === 'placeholders') continue; // the fixture's env.sh sets them
    if (block.kind === 'edit') throw new Error(`${RUNBOOK}:${block.line}: an edit block (${block.id}): this walk fills in no words`);
    if (block.kind === 'elsewhere') {
      if (block.id === 'switch-sidekiq-nodes') {
        // 3.1: part of the fleet on the new Redis, the same queue and prefix.
        const first = server('new', 1, newEnv, { concurrency: 5 });
        running.push(first);
        await waitUntil('the new Redis has a live Sidekiq process', async () => (first.assertRunning(), (await neu.redis.scard(keys.processes)) === 1), { timeoutMs: 30_000 });
      } else if (block.id === 'switch-rails-nodes') {
        // 3.2: the producers push to the new Redis from now on.
        oldProducer.stop();
        await oldProducer.done;
        newProducer = produce(newEnv, 'produced-new');
        await waitUntil('the new producer pushed a job', () => newProducer!.manifest().length > 0, { timeoutMs: 30_000 });
      } else if (block.id === 'move-old-workers') {
        // 6.1: TERM to the old process, which finishes or pushes back its job; 6.2: it starts on the new Redis.
        running.splice(running.indexOf(oldServer), 1);
        await oldServer.stop();
        const moved = server('new', 2, newEnv, { concurrency: 5 });
        running.push(moved);
        await waitUntil('both processes beat on the new Redis', async () => (moved.assertRunning(), (await neu.redis.scard(keys.processes)) === 2), { timeoutMs: 30_000 });
      }
      continue;
    }
    if (block.id === 'sets-local') {
      oldBacklogAtSets = await old.redis.llen(keys.queue(QUEUE));
      oldSetsBefore = new Map([...(await storedJobs(old.redis, keys))].filter(([, places]) => places.every((p) => !p.place.startsWith('queue:'))));
    }
    if (block.id === 'going-back-local') oldBeforeGoingBack = await shapeOf(old.redis);
    const before = counts();
    const result = await shell(block.code);
    blocks.set(block.id, { result, before, after: counts() });
    order.push(block.id);
    if (block.id === 'transfer-dry-run') {
      newKeysAfterDryRun = await neu.redis.dbsize();
      oldRunKeysAfterDryRun = await old.redis.keys(`${NS}sidekiq-migrate:*`);
    }
    if (block.id === 'sets-local') oldSetSizesAfterSets = await Promise.all(['schedule', 'retry', 'dead'].map((set) => old.redis.zcard(`${NS}${set}`)));
    if (block.id === 'going-back-local') oldAfterGoingBack = await shapeOf(old.redis);
  }

  // The producer stops; the new side runs what it can (the far schedule, retry and dead entries stay).
  newProducer!.stop();
  await newProducer!.done;
  await waitUntilSidekiqIdle(neu.redis, keys, [QUEUE], { timeoutMs: 60_000, assertRunning: () => running.forEach((s) => s.assertRunning()) });
  await Promise.all(running.map((s) => s.stop()));
  const oldWorkingAtEnd: string[] = [];
  for (const list of await old.redis.keys(`${NS}working:*`)) oldWorkingAtEnd.push(...(await old.redis.lrange(list, 0, -1)));
  return {
    blocks,
    order,
    seeded,
    produced: [...seeded, ...oldProducer.manifest(), ...newProducer!.manifest()],
    ran: ran(),
    oldSetsBefore,
    oldBacklogAtSets,
    oldSetSizesAfterSets,
    newKeysAfterDryRun,
    oldRunKeysAfterDryRun,
    oldBeforeGoingBack,
    oldAfterGoingBack,
    file: (name) => readFileSync(join(dir, name), 'utf8'),
    newAtEnd: await storedJobs(neu.redis, keys),
    oldAtEnd: await storedJobs(old.redis, keys),
    oldWorkingAtEnd,
  };
});

const output = (seen: Observed, id: string) => {
  const { result } = seen.blocks.get(id)!;
  return `${result.stdout}\n${result.stderr}`;
};
const lastLineOf = (text: string) => text.trimEnd().split('\n').at(-1);
const jidOf = (payload: string) => String((JSON.parse(payload) as { jid?: unknown }).jid);

describe('redis-move.md followed with real Sidekiq 6.4 (reliable fetch, resque:gitlab:) on both sides', () => {
  it('runs every local block, in order, each with the exit code the runbook gives', { timeout: 120_000 }, async () => {
    const seen = await walk();
    const runnable = runbookBlocks(repoPath(`docs/runbooks/${RUNBOOK}`), RUNBOOK).filter((b) => b.kind === 'run').map((b) => b.id);
    expect(seen.order).toEqual(runnable);
    expect(seen.order).toEqual(expect.arrayContaining(['transfer-dry-run', 'sets-local', 'drain-check-old', 'old-workers-gone', 'final-local', 'final-check', 'transfer-again']));
    const codes = Object.fromEntries(seen.order.map((id) => [id, seen.blocks.get(id)!.result.exitCode]));
    // final-check: "DRAINED, exit code 0" (the old process was stopped with TERM: no private list left).
    expect(codes, seen.order.map((id) => `--- ${id}\n${output(seen, id)}`).join('\n')).toEqual(Object.fromEntries(seen.order.map((id) => [id, 0])));
  });

  it('step 2: the dry run counts the live old side and writes nothing, not even a lock', async () => {
    const seen = await walk();
    const text = output(seen, 'transfer-dry-run');
    expect(text).toContain('DRY RUN');
    expect(text).toMatch(/^Dry run, nothing written: a run would move \d+ job\(s\)/m);
    expect(seen.newKeysAfterDryRun).toBe(0);
    expect(seen.oldRunKeysAfterDryRun).toEqual([]);
  });

  it('step 4: schedule, retry and dead arrive on the new Redis byte for byte with their scores; the queue left to the old workers is named, not called moved', async () => {
    const seen = await walk();
    const text = output(seen, 'sets-local');
    expect(seen.oldBacklogAtSets).toBeGreaterThan(0);
    expect(text).toMatch(/^Not looked at by this run \(--no-queues\), \d+ job\(s\): queue:default \d+\./m);
    expect(lastLineOf(seen.blocks.get('sets-local')!.result.stdout)).toMatch(/^Done, but jobs were left behind: \d+ in sets and queues this run did not look at/);
    expect(text).not.toContain('Complete');
    expect(seen.oldSetSizesAfterSets).toEqual([0, 0, 0]);
    expect(seen.oldSetsBefore.size).toBe(seen.seeded.length);
    for (const [jid, places] of seen.oldSetsBefore) expect(seen.newAtEnd.get(jid), jid).toEqual(places);
  });

  it('step 5: the drain checks see the live old process and its queue, DRAINING; old-2.json counts what is left', async () => {
    const seen = await walk();
    const text = output(seen, 'drain-check-old');
    expect(text).toContain('Sidekiq processes: 1 live');
    expect(text).toMatch(/DRAINING — \d+ job\(s\) left, [\d.]+ jobs\/s/);
    expect(text).not.toContain('NONE');
    expect((JSON.parse(seen.file('old-2.json')) as { remaining: number }).remaining).toBeGreaterThan(0);
  });

  it('step 6: after the TERM, the loop ends at once saying no process is left; old-now.json agrees', async () => {
    const seen = await walk();
    expect(output(seen, 'old-workers-gone')).toContain('No Sidekiq process left on the old Redis.');
    expect(output(seen, 'old-workers-gone')).not.toContain('drain-check failed');
    expect((JSON.parse(seen.file('old-now.json')) as { processes: object }).processes).toMatchObject({ live: 0, quiet: 0 });
  });

  it('step 7: the final transfer is Complete, the check DRAINED, the move again Complete with the target id still there', async () => {
    const seen = await walk();
    expect(lastLineOf(seen.blocks.get('final-local')!.result.stdout)).toBe('Complete: everything that could be moved was moved.');
    expect(output(seen, 'final-check')).toContain('DRAINED — 0 job(s) left');
    expect(output(seen, 'final-check')).toContain('Sidekiq processes: 0 live, 0 quiet');
    const again = output(seen, 'transfer-again');
    for (const words of ['Complete: everything that could be moved was moved.', 'DRAINED — 0 job(s) left', 'Target of run final-again: ', ' still carries the target id ']) expect(again).toContain(words);
    expect(again).not.toContain('Taken by workers');
  });

  it('step 8: no in-flight key left, every ledger removed (prints 0), the dry run back writes nothing on the old Redis', async () => {
    const seen = await walk();
    expect(output(seen, 'leftovers')).not.toMatch(/:inflight:|unknown/);
    expect(seen.blocks.get('ledgers')!.result.stdout).toMatch(/^\s*0\s*$/m);
    expect(output(seen, 'going-back-local')).toContain('DRY RUN');
    expect(seen.oldAfterGoingBack).toEqual(seen.oldBeforeGoingBack);
  });

  it('jobs were produced and run on both sides while the transfers ran', async () => {
    const seen = await walk();
    const sets = seen.blocks.get('sets-local')!;
    const final = seen.blocks.get('final-local')!;
    // From the sets-only transfer to the end of the final one: the old side worked, the new side
    // worked, and the producer on the new Redis pushed.
    expect(final.before.old - sets.before.old, 'old-side runs from step 4 to step 6').toBeGreaterThan(0);
    expect(final.after.new - sets.before.new, 'new-side runs from step 4 to step 7').toBeGreaterThan(0);
    expect(final.after.pushedNew - sets.before.pushedNew, 'jobs pushed to the new Redis from step 4 to step 7').toBeGreaterThan(0);
    expect(new Set(seen.ran.map((r) => r.side))).toEqual(new Set(['old', 'new']));
  });

  it('every job produced is exactly once: run, on the new Redis, or where the final checks name it on the old Redis (nowhere)', async () => {
    const seen = await walk();
    const places = new Map<string, string[]>();
    const add = (jid: string, where: string) => places.set(jid, [...(places.get(jid) ?? []), where]);
    for (const r of seen.ran) add(r.jid, `ran on ${r.side} (pid ${r.pid})`);
    for (const [jid, stored] of seen.newAtEnd) for (const s of stored) add(jid, `new ${s.place}`);
    for (const [jid, stored] of seen.oldAtEnd) for (const s of stored) add(jid, `old ${s.place}`);
    for (const payload of seen.oldWorkingAtEnd) add(jidOf(payload), 'old private list');
    const producedJids = seen.produced.map((j) => j.jid);
    expect(new Set(producedJids).size).toBe(producedJids.length);
    const problems = [...new Set([...producedJids, ...places.keys()])]
      .filter((jid) => (places.get(jid) ?? []).length !== 1 || !producedJids.includes(jid))
      .map((jid) => `${jid}: ${JSON.stringify(places.get(jid) ?? [])}${producedJids.includes(jid) ? '' : ' (never produced)'}`);
    expect(problems).toEqual([]);
    // What is still stored is the seeded far schedule, retry and dead entries, on the new Redis.
    expect([...seen.oldAtEnd.keys()]).toEqual([]);
    expect(seen.oldWorkingAtEnd).toEqual([]);
    expect(new Set(seen.newAtEnd.keys())).toEqual(new Set(seen.seeded.map((j) => j.jid)));
    expect(seen.produced.length).toBeGreaterThan(OLD_BACKLOG + seen.seeded.length);
  });
});
