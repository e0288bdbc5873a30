// A set of more than one page runs in an execution of its own (core/workflow/set-apart.ts, issue
// #18): its first task adds the continuation and answers with the item at its loop cap, so that
// the root's batches go on beside it. Pinned at the level the CLI meets it: every job exactly once,
// "Complete", one execution per set more than the root; and a hand-off whose answer is lost, or
// whose receipt was never written, hands on once, with counts still exact.
import { LuaScript } from '../../core/redis/lua-script.js';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { runWorkflowFromCli } from '../../cli/workflow/run-workflow.js';
import type { Connection, ConnectionProvider } from '../../core/workflow/connections.js';
import { UrlConnections } from '../../core/workflow/url-connections.js';
import type { LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { bufferIo } from '../support/buffer-io.js';
import { jobEntry, jobsIn, keysUnder, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

const redis = privateSourceAndTarget();
let connections: UrlConnections | undefined;
afterEach(async () => {
  await connections?.close();
  connections = undefined;
});

const QUEUES = Array.from({ length: 12 }, (_, i) => `q${String(i).padStart(2, '0')}`);
const SETS = { schedule: 25, retry: 23, dead: 4 } as const;

interface Seeded {
  readonly queued: { queue: string; payload: string }[];
  readonly inSets: { set: string; payload: string; score: number }[];
}

/** 12 queues of 3 jobs (two batches of the root's list), `schedule` 25 and `retry` 23 entries (three pages of 10), `dead` 4 (one page: not apart). */
async function seed(client: Redis): Promise<Seeded> {
  const queued: Seeded['queued'] = [];
  const inSets: Seeded['inSets'] = [];
  for (const queue of QUEUES) {
    for (let i = 0; i < 3; i++) queued.push({ queue, payload: sidekiqPayload({ className: 'A', queue, args: `[${i}]` }) });
    await client.rpush(`queue:${queue}`, ...queued.filter((q) => q.queue === queue).map((q) => q.payload));
  }
  await client.sadd('queues', ...QUEUES);
  for (const [set, n] of Object.entries(SETS)) {
    for (let i = 0; i < n; i++) {
      const entry = { set, payload: sidekiqPayload({ className: 'A', queue: QUEUES[i % QUEUES.length]!, args: `["${set}",${i}]` }), score: 1_700_000_000 + i };
      inSets.push(entry);
      await client.zadd(set, entry.score, entry.payload);
    }
  }
  return { queued, inSets };
}

/** Each execution plans once: its plan tasks, by kind (root or continuation). */
function counting(real: LocalHandlers): { handlers: LocalHandlers; plans: string[] } {
  const plans: string[] = [];
  const handlers: LocalHandlers = {
    ...real,
    plan: async (input, context) => {
      // The execution's input as it is, a continuation's under `continuation` (plan-step.ts).
      plans.push(JSON.stringify(input).includes('"continuation":{') ? 'continuation' : 'root');
      return real.plan(input, context);
    },
  };
  return { handlers, plans };
}

const setTask = (handlers: LocalHandlers, mode: string): keyof LocalHandlers => (mode === 'reroute' ? 'rerouteSetPage' : 'transferSet') as keyof LocalHandlers;

/**
 * The source connection, whose receipt writes fail while `failing.receipts` (a MULTI naming the run's
 * page-receipts key; with `of`, only a receipt whose JSON holds it: other items' tasks run meanwhile):
 * what a task killed between the hand-off's add and its receipt leaves. The item of the receipt it
 * failed goes to `failing.failed`.
 */
function failingReceipts(client: Redis, failing: Failing): Redis {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== 'multi' && prop !== 'pipeline') return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const multi = (value as (...a: unknown[]) => { exec: (...a: unknown[]) => Promise<unknown> }).apply(target, args);
        const exec = multi.exec.bind(multi);
        multi.exec = (...execArgs: unknown[]) => {
          const queued = (multi as unknown as { _queue: { name: string; args: unknown[] }[] })._queue;
          // The receipt's write: one call of writePageReceipt-2.lua (its key, then its receipt among the arguments).
          const receipt = (c: { name: string; args: unknown[] }) => c.name === 'evalsha' && String(c.args[0]) === WRITE_RECEIPT && String(c.args[2]).endsWith(':page-receipts') && (failing.of === undefined || c.args.some((a) => String(a).includes(failing.of!)));
          if (failing.receipts && queued.some(receipt)) {
            failing.receipts = false;
            failing.failed = queued.filter(receipt).map((c) => /"kind":"(?:set|queue)","name":"[^"]*"/.exec(c.args.map(String).join(' '))?.[0] ?? '(no item)');
            return Promise.reject(new Error('killed before the receipt was written'));
          }
          return exec(...execArgs);
        };
        return multi;
      };
    },
  });
}
const WRITE_RECEIPT = new LuaScript('writePageReceipt-2').sha;
/** Which receipt write fails next (`of`: only one whose JSON holds it), and the item of the one that failed. */
type Failing = { receipts: boolean; of?: string; failed?: string[] };
const receiptOf = (item: { kind: string; name: string }) => `"kind":"${item.kind}","name":"${item.name}"`;

interface Fault {
  /** The first hand-off's answer is lost (Lambda.ServiceException, retried by the definition) after it ran to its end. */
  readonly loseFirstHandOffAnswer?: boolean;
  /** …and its receipt was never written (the task was killed after the continuation was added). */
  readonly noReceipt?: boolean;
  /** …and it fails for good instead (FatalError: no Retry; the item is caught as failed). */
  readonly fatal?: boolean;
  /**
   * `schedule`'s task whose answer reaches the item's loop cap (maxIterations: it has added the
   * item's continuation, its pages done, its receipt written) fails for good after it ran: the
   * general case of an item continuation that never starts.
   */
  readonly failAtCap?: number;
  /** …and that task's receipt was never written (killed after its pages, before its receipt). */
  readonly noReceiptAtCap?: boolean;
}

async function runCli(given: Record<string, unknown>, fault: Fault = {}): Promise<{ code: number; stdout: string; plans: string[]; handOffs: number }> {
  const urls = redis.urls();
  const provider = new UrlConnections({ source: { url: urls.source }, ...(given['mode'] === 'transfer' ? { target: { url: urls.target } } : {}) });
  connections = provider;
  const failing: Failing = { receipts: false };
  const wrapped: ConnectionProvider = {
    get: async (name: string): Promise<Connection> => {
      const c = await provider.get(name);
      return name === 'source' ? { ...c, redis: failingReceipts(c.redis, failing) } : c;
    },
  };
  const { handlers, plans } = counting(localTaskHandlers(wrapped));
  const task = setTask(handlers, given['mode'] as string);
  const real = handlers[task] as (input: unknown, context?: unknown) => Promise<unknown>;
  let handOffs = 0;
  let lost = false;
  let faulted: string | undefined;
  const faulty = {
    ...handlers,
    [task]: async (input: unknown, context?: unknown) => {
      const item = (input as { item: { iteration: number; continues?: string; kind: string; name: string } }).item;
      const firstTask = item.iteration === 0 && item.continues === undefined && item.name !== 'dead';
      if (firstTask) handOffs++;
      const losing = firstTask && fault.loseFirstHandOffAnswer === true && !lost;
      if (losing) lost = true;
      // Only this task's receipt: the Map runs other items' tasks beside it (MaxConcurrency 4), whose receipts go first as often as not.
      if (losing && fault.noReceipt) Object.assign(failing, { receipts: true, of: (faulted = receiptOf(item)) });
      const atCap = fault.failAtCap !== undefined && item.name === 'schedule' && item.continues === undefined && item.iteration + 1 >= fault.failAtCap;
      if (atCap && fault.noReceiptAtCap) Object.assign(failing, { receipts: true, of: receiptOf(item) });
      const answer = await real(input, context);
      if (fault.failAtCap !== undefined && item.name === 'schedule' && item.continues === undefined && (answer as { iteration: number }).iteration >= fault.failAtCap) {
        throw Object.assign(new Error('The task failed for good at its loop cap'), { name: 'FatalError' });
      }
      if (losing) {
        if (fault.fatal) throw Object.assign(new Error('The task failed for good after its hand-off'), { name: 'FatalError' });
        throw Object.assign(new Error('The answer was lost on its way back'), { name: 'Lambda.ServiceException' });
      }
      return answer;
    },
  } as LocalHandlers;
  const io = bufferIo();
  const endpoint = given['mode'] === 'reroute' ? urls.source : `${urls.source} -> ${urls.target}`;
  const code = await runWorkflowFromCli({ input: given, connections: provider, handlers: faulty, io, json: false, endpoint });
  // The receipt not written is the faulted task's, not that of another item's task running beside it.
  if (fault.noReceipt) expect(failing.failed, "the receipt not written is the lost hand-off's").toEqual([faulted]);
  if (fault.noReceiptAtCap) expect(failing.failed, "the receipt not written is schedule's at its cap").toEqual([receiptOf({ kind: 'set', name: 'schedule' })]);
  return { code, stdout: io.stdout(), plans, handOffs };
}

const move = { runId: 'sets-apart', mode: 'transfer', source: 'source', target: 'target', pageSize: 10, pagesPerInvocation: 1 };
const reroute = { runId: 'sets-apart', mode: 'reroute', source: 'source', routing: { kind: 'renames', renames: Object.fromEntries(QUEUES.map((q) => [q, `${q}-new`])) }, pageSize: 10, pagesPerInvocation: 1 };

const movedExactly = ({ queued, inSets }: Seeded): string[] =>
  [...queued.map((q) => jobEntry(`queue:${q.queue}`, q.payload)), ...inSets.map((s) => jobEntry(s.set, s.payload, s.score))].sort();
const reroutedExactly = ({ queued, inSets }: Seeded): string[] =>
  [...queued.map((q) => jobEntry(`queue:${q.queue}-new`, withQueue(q.payload, q.queue, `${q.queue}-new`))), ...inSets.map((s) => jobEntry(s.set, withQueue(s.payload, JSON.parse(s.payload).queue as string, `${JSON.parse(s.payload).queue as string}-new`), s.score))].sort();

async function nothingOfTheRunLeft(): Promise<void> {
  expect(await keysUnder(redis.source(), 'sidekiq-migrate:sets-apart:inflight')).toEqual([]);
  expect(await redis.source().exists('sidekiq-migrate:lock', 'sidekiq-migrate:sets-apart:executions', 'sidekiq-migrate:sets-apart:page-receipts')).toBe(0);
}

/**
 * What a complete transfer leaves of the run (docs/runbooks/redis-move.md, *What a transfer leaves
 * behind*), and nothing else, each key with its expiry: on the source the record of its finish (an
 * hour) and what it was started with (30 days); on the target each set's and queue's ledger (7
 * days once nothing is in flight), the target's id, its index of ledgers and its index of in-flight keys (a mark).
 */
async function leftAsACompleteTransfer(moved: readonly string[]): Promise<void> {
  const [source, target] = [redis.source(), redis.target()];
  expect(await keysUnder(source, 'sidekiq-migrate:')).toEqual(['sidekiq-migrate:sets-apart:finished', 'sidekiq-migrate:sets-apart:started-with']);
  expect(await keysUnder(target, 'sidekiq-migrate:')).toEqual([...moved.map((k) => `sidekiq-migrate:sets-apart:ledger:${k}`), 'sidekiq-migrate:inflight-keys', 'sidekiq-migrate:ledgers', 'sidekiq-migrate:target-id'].sort());
  // The index of ledgers without an expiry (core/transfer/ledger-index.ts) names none: only its mark.
  expect(await target.smembers('sidekiq-migrate:ledgers')).toEqual(['walked']);
  // The target's index of in-flight keys (core/transfer/inflight-index.ts): only the mark its
  // summary's one walk left; the source's (its claims named their keys there) is gone with them.
  expect(await target.smembers('sidekiq-migrate:inflight-keys')).toEqual(['walked']);
  for (const [redisOf, key] of [
    [source, 'sidekiq-migrate:sets-apart:finished'],
    [source, 'sidekiq-migrate:sets-apart:started-with'],
    ...moved.map((k) => [target, `sidekiq-migrate:sets-apart:ledger:${k}`] as const),
  ] as const) {
    expect({ key, expires: (await redisOf.pttl(key)) > 0 }).toEqual({ key, expires: true });
  }
}

const COMPLETE = 'Complete: everything that could be moved was moved.';
/** What a failed item whose continuation had been added, and never started, says after its error. */
const NEVER_STARTED = '(the execution it was to go on in never started: the same command again resumes it)';

describe('sets of more than one page run in executions of their own', { timeout: 120_000 }, () => {
  it('a move: every job exactly once on the target, "Complete", exit 0, one execution for the root and one per set of more than one page', async () => {
    const seeded = await seed(redis.source());
    const run = await runCli(move);

    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(movedExactly(seeded));
    expect(run.plans).toEqual(['root', 'continuation', 'continuation']);
    expect(run.stdout).not.toContain('Still continuing');
    const jobs = seeded.queued.length + seeded.inSets.length;
    expect(run.stdout).toMatch(new RegExp(`\ntotal +${jobs} +${jobs} +0\n`));
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(run.code).toBe(0);
    await nothingOfTheRunLeft();
  });

  it('a re-route (`run`): every job exactly once where its mapping puts it, "Complete", exit 0, executions 1 + 2', async () => {
    const seeded = await seed(redis.source());
    const run = await runCli(reroute);

    expect(await jobsIn(redis.source())).toEqual(reroutedExactly(seeded));
    expect(run.plans).toEqual(['root', 'continuation', 'continuation']);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(run.code).toBe(0);
    await nothingOfTheRunLeft();
  });

  it.each([
    { lost: 'a hand-off whose answer was lost after its receipt: the retry answers from the receipt', fault: { loseFirstHandOffAnswer: true } },
    { lost: 'a hand-off killed after its continuation was added, before its receipt: the retry hands on again', fault: { loseFirstHandOffAnswer: true, noReceipt: true } },
  ])('$lost, one continuation, every job once, counts exact', async ({ fault }) => {
    const seeded = await seed(redis.source());
    const run = await runCli(move, fault);

    expect(run.handOffs).toBe(3); // two sets, the first retried
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(movedExactly(seeded));
    expect(run.plans).toEqual(['root', 'continuation', 'continuation']);
    expect(run.stdout).not.toContain('may be short');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(run.code).toBe(0);
    await nothingOfTheRunLeft();
  });

  it('a re-route killed at the hand-off before its receipt: every job once, "Complete"', async () => {
    const seeded = await seed(redis.source());
    const run = await runCli(reroute, { loseFirstHandOffAnswer: true, noReceipt: true });

    expect(await jobsIn(redis.source())).toEqual(reroutedExactly(seeded));
    expect(run.plans).toEqual(['root', 'continuation', 'continuation']);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(run.code).toBe(0);
    await nothingOfTheRunLeft();
  });

  it('a hand-off that fails for good after its continuation was added: the run says so, never "Complete", ends (its lock released), and the same command again finishes it, every job once', async () => {
    const seeded = await seed(redis.source());
    const failed = await runCli(move, { loseFirstHandOffAnswer: true, noReceipt: true, fatal: true });
    // The continuation it added never starts (the item was caught as failed): the root and the other set's.
    expect(failed.plans).toEqual(['root', 'continuation']);
    expect(failed.stdout).toContain(`\nFAILED set schedule: FatalError: The task failed for good after its hand-off ${NEVER_STARTED}\n`);
    // A hand-off moves no job: nothing of it can be uncounted.
    expect(failed.stdout).not.toContain('may be short');
    expect(failed.stdout).not.toContain('Complete:');
    // Every slice of the run was acknowledged: the look of an execution that ended while another
    // still moved (it named a queue's slice in flight) is not the run's.
    expect(failed.stdout).not.toContain('in flight');
    expect(failed.stdout.trimEnd().split('\n').at(-1)).toBe('Not complete: run the same command again to resume.');
    expect(failed.code).toBe(1);
    // Nothing was lost or doubled meanwhile: `schedule` untouched on the source, every other job on the target, once.
    expect(await jobsIn(redis.source())).toEqual(seeded.inSets.filter((s) => s.set === 'schedule').map((s) => jobEntry(s.set, s.payload, s.score)).sort());
    expect(await jobsIn(redis.target())).toEqual(movedExactly({ queued: seeded.queued, inSets: seeded.inSets.filter((s) => s.set !== 'schedule') }));
    // The run ended: no execution waits for the continuation that never started, its lock is released.
    await nothingOfTheRunLeft();

    const again = await runCli(move);
    // Its list (the three sets; the queues are empty) is one batch: nothing waits for `schedule`, which is not handed on.
    expect(again.plans).toEqual(['root']);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(movedExactly(seeded));
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(again.code).toBe(0);
    await nothingOfTheRunLeft();
    await leftAsACompleteTransfer(['schedule', 'retry', 'dead', ...QUEUES.map((q) => `queue:${q}`)]);
  });

  it('a re-route (`run`) whose hand-off fails for good after its continuation was added: the same words, the run ends, and the same command again finishes it, every job once', async () => {
    const seeded = await seed(redis.source());
    const failed = await runCli(reroute, { loseFirstHandOffAnswer: true, noReceipt: true, fatal: true });
    expect(failed.plans).toEqual(['root', 'continuation']);
    expect(failed.stdout).toContain(`\nFAILED set schedule: FatalError: The task failed for good after its hand-off ${NEVER_STARTED}\n`);
    // A hand-off moves no job: nothing of it can be uncounted.
    expect(failed.stdout).not.toContain('may be short');
    expect(failed.stdout).not.toContain('Complete:');
    expect(failed.stdout.trimEnd().split('\n').at(-1)).toBe('Not complete: run the same command again to resume.');
    expect(failed.code).toBe(1);
    // `schedule` untouched, every other job where its mapping puts it.
    const schedule = seeded.inSets.filter((e) => e.set === 'schedule');
    expect(await jobsIn(redis.source())).toEqual(
      [...reroutedExactly({ queued: seeded.queued, inSets: seeded.inSets.filter((e) => e.set !== 'schedule') }), ...schedule.map((e) => jobEntry(e.set, e.payload, e.score))].sort(),
    );
    await nothingOfTheRunLeft();

    const again = await runCli(reroute);
    expect(await jobsIn(redis.source())).toEqual(reroutedExactly(seeded));
    expect(again.stdout).toMatch(/\nschedule +25 +25 +0\n/);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(again.code).toBe(0);
    await nothingOfTheRunLeft();
  });

  it.each([
    { when: 'after its receipt: its pages are counted from it', fault: { failAtCap: 2 }, written: 53, schedule: 20, short: false },
    { when: 'before its receipt: its pages are said uncounted', fault: { failAtCap: 2, noReceiptAtCap: true }, written: 43, schedule: 10, short: true },
  ])('an item continuation that never starts (the task at its loop cap failed for good $when): the run says so, ends (its lock released), and the same command again finishes it, every job once', async ({ fault, written, schedule: scheduleWritten, short }) => {
    const seeded = await seed(redis.source());
    // One batch (the three sets and two queues): nothing goes apart; `schedule` (25) and `retry` (23) reach the cap of 2 pages.
    const gone = QUEUES.slice(2);
    await redis.source().del(...gone.map((q) => `queue:${q}`));
    await redis.source().srem('queues', ...gone);
    const queued = seeded.queued.filter((q) => !gone.includes(q.queue));
    const failed = await runCli({ ...move, maxIterations: 2 }, fault);

    // `retry` continued; `schedule`'s continuation was added, never started.
    expect(failed.plans).toEqual(['root', 'continuation']);
    expect(failed.stdout).toContain(`\nFAILED set schedule: FatalError: The task failed for good at its loop cap ${NEVER_STARTED}\n`);
    expect(failed.stdout).not.toContain('Complete:');
    expect(failed.stdout).not.toContain('in flight');
    // The failed task's second page (10 entries) wrote: counted from its receipt, or said to be uncounted when it has none.
    expect(failed.stdout).toMatch(new RegExp(`\ntotal +${written} +${written} +0\n`));
    expect(failed.stdout).toMatch(new RegExp(`\nschedule +${scheduleWritten} +${scheduleWritten} +0\n`));
    if (short) {
      expect(failed.stdout).toContain(
        '\nCounts may be short: 1 attempt of a page task may have moved jobs these counts do not include (an attempt retried while it still ran or after it ran out of time, a page call whose reply was lost, or a task that failed for good after its pages ran); those a retried slice found written already are counted as "written before", the others not at all. Every job was moved once all the same: look at the keys, not at the counts (drain-check; LLEN of the queues, ZCARD of the sets).\n',
      );
    }
    else expect(failed.stdout).not.toContain('may be short');
    expect(failed.stdout.trimEnd().split('\n').at(-1)).toBe('Not complete: run the same command again to resume.');
    expect(failed.code).toBe(1);
    // Its two pages were written (the soonest 20 entries), the other 5 are on the source, every other job on the target once.
    const schedule = seeded.inSets.filter((s) => s.set === 'schedule').sort((a, b) => a.score - b.score);
    expect(await jobsIn(redis.source())).toEqual(schedule.slice(20).map((s) => jobEntry(s.set, s.payload, s.score)).sort());
    expect(await jobsIn(redis.target())).toEqual(movedExactly({ queued, inSets: seeded.inSets.filter((s) => !schedule.slice(20).includes(s)) }));
    await nothingOfTheRunLeft();

    const again = await runCli({ ...move, maxIterations: 2 });
    expect(again.plans).toEqual(['root']);
    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(movedExactly({ queued, inSets: seeded.inSets }));
    expect(again.stdout).toMatch(/\nschedule +5 +5 +0\n/);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(again.code).toBe(0);
    await nothingOfTheRunLeft();
    await leftAsACompleteTransfer(['schedule', 'retry', 'dead', 'queue:q00', 'queue:q01']);
  });

  it('a move of more destinations than a summary names: the sets, which ended in executions of their own, are named among the largest', async () => {
    const seeded = await seed(redis.source());
    // 45 more queues of one job: 57 queues and 3 sets written to, past the 50 a summary names.
    const more = Array.from({ length: 45 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    for (const queue of more) {
      const payload = sidekiqPayload({ className: 'A', queue, args: '[0]' });
      seeded.queued.push({ queue, payload });
      await redis.source().rpush(`queue:${queue}`, payload);
    }
    await redis.source().sadd('queues', ...more);
    const run = await runCli(move);

    expect(await jobsIn(redis.target())).toEqual(movedExactly(seeded));
    expect(run.plans).toEqual(['root', 'continuation', 'continuation']);
    // Named largest first: schedule and retry, then dead and the queues of three; ten of the 1-job queues fold.
    expect(run.stdout).toContain('\nWritten to (at least 3 sets, 48 queues): schedule 25 · retry 23 · dead 4 · q00 3 · ');
    expect(run.stdout).toContain('; 10 job(s) to queues the summary does not name\n');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(run.code).toBe(0);
  });

  it('a run whose list is one batch (the three sets and two queues) hands nothing on: one execution, every job once', async () => {
    const seeded = await seed(redis.source());
    const gone = QUEUES.slice(2);
    await redis.source().del(...gone.map((q) => `queue:${q}`));
    await redis.source().srem('queues', ...gone);
    const run = await runCli(move);

    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(movedExactly({ queued: seeded.queued.filter((q) => !gone.includes(q.queue)), inSets: seeded.inSets }));
    expect(run.plans).toEqual(['root']);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(run.code).toBe(0);
  });

  it('a rate-limited run hands nothing on (its operator bounded the load: each set apart would add a rate of its own): one execution, every job once', async () => {
    const seeded = await seed(redis.source());
    const run = await runCli({ ...move, rateLimit: 100_000 });

    expect(await jobsIn(redis.source())).toEqual([]);
    expect(await jobsIn(redis.target())).toEqual(movedExactly(seeded));
    expect(run.plans).toEqual(['root']);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(COMPLETE);
    expect(run.code).toBe(0);
  });

  it('a dry run hands nothing on: one execution', async () => {
    const seeded = await seed(redis.source());
    const run = await runCli({ ...move, dryRun: true });

    expect(await jobsIn(redis.target())).toEqual([]);
    expect(await jobsIn(redis.source())).toEqual([...seeded.queued.map((q) => jobEntry(`queue:${q.queue}`, q.payload)), ...seeded.inSets.map((s) => jobEntry(s.set, s.payload, s.score))].sort());
    expect(run.plans).toEqual(['root']);
    expect(run.code).toBe(0);
  });
});
