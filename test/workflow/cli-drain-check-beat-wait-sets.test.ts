import { afterEach, describe, expect, it } from 'vitest';
import { drainExitCode } from '../../cli/commands/drain-check-command.js';
import { main } from '../../cli/main.js';
import { drainCheck } from '../../core/drain/drain-check.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import { beatingProcess, type BeatingProcess } from '../support/beating-process.js';
import { bufferIo } from '../support/buffer-io.js';
import { privateRedis } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';

// drain-check --retired-queues found nothing, waited for the live processes fetching from them to
// beat twice (confirm-drained.ts), then looked again: at the retired queues' lists, in-flight,
// quarantine and private lists, but at no set entry. The first look counts every schedule and
// retry entry naming a retired queue (and names the dead ones): a job that failed into `retry`
// while the check waited (the very job the wait is for: one a process ran, in no list) was in none
// of its looks, and the check said "DRAINED — 0 job(s) left", exit 0; the routing runbook's next
// step (a restart without the retired queue) then leaves that retry where nobody fetches. The look
// after the wait now reads the sets as the first did (the same count limit, its own time bound).
const redis = privateRedis();
const keys = new SidekiqKeys('');
const processes: BeatingProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});

const WAITING = /^Nothing left of the retired queues in lists and sets; waiting up to \d+ s for the 1 live Sidekiq process\(es\) fetching from them to beat twice/m;

/** drain-check as a user types it; `duringWait` runs once it says it waits for the beats. */
async function checkWhile(duringWait: () => Promise<void>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; acted: boolean; waitNotBefore: number }> {
  const io = bufferIo();
  let acted = false;
  let done = false;
  // A time at which it had not said it waits yet: its wait began after it (epoch ms).
  let waitNotBefore = Date.now();
  const running = main(['node', 'sidekiq-migrate', 'drain-check', ...args], io).finally(() => (done = true));
  for (;;) {
    const at = Date.now();
    if (done || WAITING.test(io.stderr())) break;
    waitNotBefore = at;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (!done) {
    await duringWait();
    acted = true;
  }
  const code = await running;
  return { code, stdout: io.stdout(), stderr: io.stderr(), acted, waitNotBefore };
}

/** "the last due in N s" of a retry naming a retired queue, as the check says it: N. */
function saidDueIn(stdout: string): number {
  const said = /^ {2}- 1 scheduled or retrying job\(s\) name retired queues, the last due in (\d+) s: the migration rewrites them \(run it again\), or they reach those queues when due$/m.exec(stdout);
  expect(said, stdout).not.toBeNull();
  return Number(said![1]);
}

/**
 * The check of retired queue `old`, a live process (`pid`) beating every `everyMs` fetching from
 * `old` and `new`; once the check says it waits for the beats, the job that process ran fails:
 * Sidekiq's retry puts it in `retry`, due in 30 s (`dueAt`, epoch s). `endedAt`: after the check.
 */
async function retryDuringWait(pid: string, everyMs: number): Promise<{ checked: Awaited<ReturnType<typeof checkWhile>>; failed: string; dueAt: number; endedAt: number }> {
  const c = redis.client();
  await c.sadd('queues', 'old', 'new');
  processes.push(beatingProcess(c, keys, pid, ['old', 'new'], { everyMs }));
  const failed = sidekiqPayload({ className: 'OldWorker', queue: 'old', extra: '"retry_count":0,"error_class":"RuntimeError"' });
  let dueAt = 0;
  const checked = await checkWhile(async () => {
    dueAt = Date.now() / 1000 + 30;
    await c.zadd('retry', String(dueAt), failed);
  }, '--redis', redis.url(), '--retired-queues', 'old');
  return { checked, failed, dueAt, endedAt: Date.now() / 1000 };
}

describe('drain-check --retired-queues and a job that fails into retry or dies while it waits for the beats', { timeout: 90_000 }, () => {
  it('is not DRAINED when a retry entry naming a retired queue appears during the wait: it counts it and says when it comes due', async () => {
    const c = redis.client();
    // Another queue's entry, which a scoped check does not count (due before the failed one: the
    // reason's "last due" is reckoned over the whole set, as the first look's is).
    const other = sidekiqPayload({ className: 'NewWorker', queue: 'new' });
    await c.zadd('retry', String(Date.now() / 1000 + 15), other);

    const { checked, failed, dueAt, endedAt } = await retryDuringWait('web-1:7:aaaaaaaaaaaa', 1000);

    expect(checked.acted).toBe(true);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/^redis:\/\/\S+: DRAINING — 1 job\(s\) left of the 1 retired queue\(s\) only \(jobs of other queues are not counted\)\n/);
    // From the sets' reading after the wait (two beats 1 s apart after the wait began), before the check ended.
    expect(saidDueIn(checked.stdout)).toBeLessThanOrEqual(Math.ceil(dueAt - checked.waitNotBefore / 1000 - 1));
    expect(saidDueIn(checked.stdout)).toBeGreaterThanOrEqual(Math.floor(dueAt - endedAt));
    expect(checked.stdout).not.toContain('DRAINED');
    // Read only: the jobs are where they were.
    expect((await c.zrange('retry', '0', '-1')).sort()).toEqual([failed, other].sort());
    expect(await c.llen('queue:old')).toBe(0);
  });

  it("says when an entry that appeared during the wait comes due from when it read it, not from the check's start", async () => {
    // The reason's "last due in" was reckoned from the check's start, the entry read after the
    // wait (up to 30 s): a retry due in 25 s was said due in 30 s or more. Beats 3 s apart: the
    // second reading comes at least 3 s after the entry appeared.
    const { checked, failed, dueAt, endedAt } = await retryDuringWait('web-1:10:dddddddddddd', 3000);

    expect(checked.acted).toBe(true);
    expect(checked.code, checked.stderr).toBe(0);
    // Read after two beats 3 s apart after the wait began (the entry appeared a few ms after it
    // began: said due in at most 28 s, not 30 or more), before the check ended.
    expect(saidDueIn(checked.stdout)).toBeLessThanOrEqual(Math.ceil(dueAt - checked.waitNotBefore / 1000 - 3));
    expect(saidDueIn(checked.stdout)).toBeGreaterThanOrEqual(Math.floor(dueAt - endedAt));
    expect(await redis.client().zrange('retry', '0', '-1')).toEqual([failed]);
  });

  it('names a dead entry naming a retired queue that appears during the wait, as the first look names those it finds', async () => {
    const c = redis.client();
    await c.sadd('queues', 'old', 'new');
    processes.push(beatingProcess(c, keys, 'web-1:8:bbbbbbbbbbbb', ['old', 'new'], { everyMs: 1000 }));
    const died = sidekiqPayload({ className: 'OldWorker', queue: 'old', extra: '"retry_count":25,"error_class":"RuntimeError"' });

    const checked = await checkWhile(async () => {
      await c.zadd('dead', String(Date.now() / 1000), died);
    }, '--redis', redis.url(), '--retired-queues', 'old');

    expect(checked.acted).toBe(true);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/^redis:\/\/\S+: DRAINED — 0 job\(s\) left to run of the 1 retired queue\(s\) only \(jobs of other queues are not counted\); 1 dead or interrupted entries that never run by themselves \(below\)\n/);
    expect(checked.stdout).toContain('  - 1 dead job(s) name retired queues; retried, they would go where nobody fetches after the change: run the migration again (it rewrites them), or accept losing them\n');
    expect(await c.zrange('dead', '0', '-1')).toEqual([died]);
  });

  it('bounds the second reading of the sets by its own time, as the first by its: cut short, it says so and is never drained', async () => {
    const c = redis.client();
    await c.sadd('queues', 'old', 'new');
    processes.push(beatingProcess(c, keys, 'web-1:9:cccccccccccc', ['old', 'new'], { everyMs: 300 }));
    // More entries than one ZSCAN page, none naming the retired queue.
    const p = c.pipeline();
    for (let i = 0; i < 1_000; i++) p.zadd('retry', String(Date.now() / 1000 + 600), sidekiqPayload({ className: 'NewWorker', queue: 'new' }));
    await p.exec();

    // The first reading has all the time it needs; the second's is spent before it starts.
    const report = await drainCheck(c, keys, { retiredQueues: ['old'], rereadSetsUntil: 0, moreTime: 'More time: --time-limit.' });

    expect(report.beatWait?.processes).toBe(1);
    expect(report.verdict.state).toBe('draining');
    expect(report.sets.retry.readBeforeTimeRanOut).toBeGreaterThan(0);
    expect(report.sets.retry.readBeforeTimeRanOut).toBeLessThan(1_000);
    expect(report.verdict.reasons).toEqual([
      `retry holds 1000 entries, more than the check could read in its time (it read ${report.sets.retry.readBeforeTimeRanOut}): what they hold is estimated, so this is not a verdict of drained. More time: --time-limit.`,
    ]);
    expect(drainExitCode(report)).toBe(1);
    expect(await c.zcard('retry')).toBe(1_000);
  });
});
