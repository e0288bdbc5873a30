// What a run was started with (`sidekiq-migrate:<run>:started-with`: its routing, classes and
// target, which `--run-id` must match) had 30 days from the run's first plan and was never renewed:
// its time to live was how `rollback` told when the run started. A run that went on for longer (tens
// of millions of jobs at `--rate-limit 10`) lost it while running: stopped then, `run --run-id` with
// other routing was no longer refused and moved the rest of the run's jobs elsewhere (its rollback
// record mixing both routings), and a rollback of it ordered runs by its last moving page rather than
// its start, missing a later run that had moved its jobs on. The record now carries the run's start
// (startedAt, the source's clock) and each page task gives it its 30 days again, beside the run's
// other records (store-run-plan.ts keepRunRecords): no round trip of its own.
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { stopRunStep } from '../../core/workflow/steps/stop-run-step.js';
import { STARTED_WITH_TTL_SECONDS, startedWithKey } from '../../core/workflow/started-with.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import type { PageInput } from '../../core/workflow/work-item.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn, keyValueSnapshot, withQueue } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { runCli as cli } from '../support/run-cli.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';
import { waitUntil } from '../support/wait-until.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
const AGED_MS = 2_000;

/**
 * The local handlers, with time as a long run sees it, shrunk: before each page task the run's
 * started-with record is AGED_MS from the end of its 30 days (its first plan long ago); a record
 * that task did not give its time again is let expire before the next (waited for, not slept).
 * `afterPage(n)`: after the n-th page task (1-based). The record's time to live after each task goes to `ttls`.
 */
function agingHandlers(runId: string, ttls: number[], afterPage?: (n: number, settings: Parameters<typeof stopRunStep>[0]) => Promise<void>): LocalHandlers {
  const real = localTaskHandlers(connect());
  const key = startedWithKey('', runId);
  let pages = 0;
  return {
    ...real,
    rerouteQueueSlice: async (input, context) => {
      if (await redis.source().exists(key)) await redis.source().pexpire(key, AGED_MS);
      const answer = await real.rerouteQueueSlice(input, context);
      const ttl = await redis.source().pttl(key);
      ttls.push(ttl);
      if (ttl <= AGED_MS) await waitUntil('the started-with record expired', async () => (await redis.source().exists(key)) === 0, { timeoutMs: AGED_MS + 5_000 });
      await afterPage?.(++pages, (input as PageInput).settings);
      return answer;
    },
  };
}

const both = async () => ({ source: await keyValueSnapshot(redis.source()), target: await keyValueSnapshot(redis.target()) });

describe("a run that lasts longer than its started-with record's 30 days", { timeout: 120_000 }, () => {
  it('keeps the record while its pages run: stopped, `run --run-id` with other routing is refused in the same words, nothing touched; its own routing finishes it', async () => {
    const source = redis.source();
    const url = redis.urls().source;
    const RUN = 'long-reroute';
    const jobs = Array.from({ length: 6 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await source.rpush('queue:old', ...jobs);
    await source.sadd('queues', 'old');
    const ttls: number[] = [];
    // Stopped after its third page, as `stop` (or Ctrl-C) stops it: its list is deleted, its lock released.
    const handlers = agingHandlers(RUN, ttls, async (n, settings) => {
      if (n === 3) await stopRunStep(settings, connect(), { reason: 'ABORTED' });
    });

    const executions = await runWorkflowLocally({ runId: RUN, mode: 'reroute', routing: { kind: 'renames', renames: { old: 'a' } }, sets: [], pageSize: 1, pagesPerInvocation: 1 }, handlers, { retryIntervalMs: 0 });

    expect((executions[0]!.output as RunSummary).complete).toBe(false);
    expect(await source.exists('sidekiq-migrate:lock', `sidekiq-migrate:${RUN}:list`)).toBe(0);
    const movedFirst = (await source.llen('queue:a')) as number;
    expect(movedFirst).toBeGreaterThanOrEqual(3);
    expect(movedFirst).toBeLessThan(6);
    const before = await both();

    const other = await cli('run', '--redis', url, '--rename', 'old=b', '--run-id', RUN);
    expect(other.stdout).toBe('');
    expect(other.stderr).toBe(
      `Run ${RUN} (reroute) was started with other routing than this command's (its first plan fixed them for good): resumed with this one, it would move the rest of its jobs elsewhere than the jobs it moved, and its rollback record would mix both. ` +
        `Finish it with its own routing (its own command again, with --run-id ${RUN}), or roll it back (sidekiq-migrate rollback ${RUN}); or run this command without --run-id ${RUN}, as a new run (the jobs ${RUN} moved stay as it moved them). Nothing was touched.\n`,
    );
    expect(other.code).toBe(1);
    expect(await both()).toEqual(before);

    const own = await cli('run', '--redis', url, '--rename', 'old=a', '--run-id', RUN);
    expect(own.stdout).toContain('Complete: everything that could be moved was moved.');
    expect(own.code).toBe(0);
    expect(await jobsIn(source)).toEqual(jobs.map((p) => jobEntry('queue:a', withQueue(p, 'old', 'a'))).sort());
    expect(await source.smembers(`sidekiq-migrate:${RUN}:moves`)).toEqual(['["A","old","a"]']);
    // Each page task of the long run gave the record its 30 days again.
    expect(ttls.length).toBeGreaterThanOrEqual(3);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan((STARTED_WITH_TTL_SECONDS - 60) * 1000);
  });

  it("rollback orders runs by their recorded start: r1 (a→b), r2 (b→c) moved r1's jobs on, r1 ran again for longer than 30 days: r1's rollback names r2 and leaves its jobs on c", async () => {
    const source = redis.source();
    const url = redis.urls().source;
    const first = sidekiqPayload({ className: 'A', queue: 'a', args: '["first"]' });
    await source.rpush('queue:a', first);
    await source.sadd('queues', 'a');
    const r1 = await cli('run', '--redis', url, '--rename', 'a=b', '--run-id', 'r1');
    expect(r1.code, r1.stderr).toBe(0);
    const r2 = await cli('run', '--redis', url, '--rename', 'b=c', '--run-id', 'r2');
    expect(r2.code, r2.stderr).toBe(0);
    // Jobs still enqueued to `a`: r1 run again, with its own routing, for longer than its record's 30 days.
    const later = Array.from({ length: 3 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a', args: `["later",${i}]` }));
    await source.rpush('queue:a', ...later);
    const ttls: number[] = [];
    const executions = await runWorkflowLocally({ runId: 'r1', mode: 'reroute', routing: { kind: 'renames', renames: { a: 'b' } }, pageSize: 1, pagesPerInvocation: 1 }, agingHandlers('r1', ttls), { retryIntervalMs: 0 });
    expect(executions.map((e) => e.error)).toEqual([undefined]);
    expect((executions[0]!.output as RunSummary).complete).toBe(true);
    expect(await jobsIn(source)).toEqual([jobEntry('queue:c', withQueue(withQueue(first, 'a', 'b'), 'b', 'c')), ...later.map((p) => jobEntry('queue:b', withQueue(p, 'a', 'b')))].sort());

    const back = await cli('rollback', 'r1', '--redis', url, '--run-id', 'back-1');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('Jobs of run r1 are no longer where it put them: later run(s) r2 moved them on');
    expect(back.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Done, but jobs were left behind: jobs of run r1 moved on by later run\(s\) r2 \(roll those back first\)/);
    // The jobs r1 put on b went back to a; the one r2 moved on stays on c.
    expect(await jobsIn(source)).toEqual([jobEntry('queue:c', withQueue(withQueue(first, 'a', 'b'), 'b', 'c')), ...later.map((p) => jobEntry('queue:a', p))].sort());
  });

  it("an older version's record (no start in it) is read as before: its routing fixed, its start when its 30 days began; a resume writes that start into it, and its pages renew it", async () => {
    const source = redis.source();
    const url = redis.urls().source;
    const DAY = 24 * 3600 * 1000;
    const first = sidekiqPayload({ className: 'A', queue: 'a', args: '["first"]' });
    await source.rpush('queue:a', first);
    await source.sadd('queues', 'a');
    expect((await cli('run', '--redis', url, '--rename', 'a=b', '--run-id', 'r1')).code).toBe(0);
    expect((await cli('run', '--redis', url, '--rename', 'b=c', '--run-id', 'r0')).code).toBe(0);
    // As an older version left them: r1 started 10 days ago and last moved 5 days ago; r0 started
    // and moved r1's job on 8 days ago. Their records without a start, never renewed.
    const [seconds] = await source.time();
    const now = Number(seconds) * 1000;
    const older = async (runId: string, startedDaysAgo: number) => {
      const key = startedWithKey('', runId);
      const { startedAt: _dropped, ...record } = JSON.parse((await source.get(key))!) as Record<string, unknown>;
      await source.set(key, JSON.stringify(record), 'PX', 30 * DAY - startedDaysAgo * DAY);
    };
    await older('r1', 10);
    await older('r0', 8);
    const r1Record = JSON.parse((await source.get(startedWithKey('', 'r1')))!) as Record<string, unknown>;
    expect(Object.keys(r1Record).sort()).toEqual(['classes', 'mode', 'routing']);
    await source.pexpire('sidekiq-migrate:r1:moves', 25 * DAY);
    await source.pexpire('sidekiq-migrate:r0:moves', 22 * DAY);
    const before = await both();

    // Its routing: other routing is refused as before.
    const other = await cli('run', '--redis', url, '--rename', 'a=z', '--run-id', 'r1');
    expect(other.stderr).toMatch(/^Run r1 \(reroute\) was started with other routing than this command's .* Nothing was touched\.\n$/);
    expect(other.code).toBe(1);
    expect(await both()).toEqual(before);
    // Its start: r0 moved r1's job on after r1 started (8 days ago, r1 10 days ago), though before r1's last move.
    const preview = await cli('rollback', 'r1', '--redis', url, '--dry-run');
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain('Jobs of run r1 are no longer where it put them: later run(s) r0 moved them on');
    expect(await both()).toEqual(before);

    // Resumed with its own routing: the start its time to live told is written into it, and its page renewed it.
    const later = sidekiqPayload({ className: 'A', queue: 'a', args: '["later"]' });
    await source.rpush('queue:a', later);
    const again = await cli('run', '--redis', url, '--rename', 'a=b', '--run-id', 'r1');
    expect(again.code, again.stderr).toBe(0);
    const { startedAt, ...record } = JSON.parse((await source.get(startedWithKey('', 'r1')))!) as { startedAt?: number };
    expect(record).toEqual(r1Record);
    expect(Math.abs(startedAt! - (now - 10 * DAY))).toBeLessThan(60_000);
    expect(await source.pttl(startedWithKey('', 'r1'))).toBeGreaterThan(30 * DAY - 60_000);
    // So its rollback still names r0, though r1 moved again last.
    const back = await cli('rollback', 'r1', '--redis', url, '--run-id', 'back-1');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('Jobs of run r1 are no longer where it put them: later run(s) r0 moved them on');
    expect(await jobsIn(source)).toEqual([jobEntry('queue:c', withQueue(withQueue(first, 'a', 'b'), 'b', 'c')), jobEntry('queue:a', later)].sort());
  });

  it("an execution an older version planned (its settings say nothing of the start) never renews an older record: its time to live still tells when the run started", async () => {
    const source = redis.source();
    const DAY = 24 * 3600 * 1000;
    const jobs = Array.from({ length: 2 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'old', args: `[${i}]` }));
    await source.rpush('queue:old', ...jobs);
    await source.sadd('queues', 'old');
    const key = startedWithKey('', 'inflight');
    const real = localTaskHandlers(connect());
    const kept: { text: string | null; pttl: number }[] = [];
    const handlers: LocalHandlers = {
      ...real,
      rerouteQueueSlice: async (input, context) => {
        // As an older version's plan left the record (no start, 10 days old) and the settings (no renewsStartedWith).
        if (kept.length === 0) {
          const { startedAt: _dropped, ...record } = JSON.parse((await source.get(key))!) as Record<string, unknown>;
          await source.set(key, JSON.stringify(record), 'PX', 20 * DAY);
          kept.push({ text: await source.get(key), pttl: 20 * DAY });
        }
        const { renewsStartedWith: _older, ...settings } = (input as PageInput).settings;
        const answer = await real.rerouteQueueSlice({ ...(input as PageInput), settings }, context);
        kept.push({ text: await source.get(key), pttl: await source.pttl(key) });
        return answer;
      },
    };

    const executions = await runWorkflowLocally({ runId: 'inflight', mode: 'reroute', routing: { kind: 'renames', renames: { old: 'a' } }, sets: [], pageSize: 1, pagesPerInvocation: 1 }, handlers, { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    expect(await jobsIn(source)).toEqual(jobs.map((p) => jobEntry('queue:a', withQueue(p, 'old', 'a'))).sort());
    expect(kept.length).toBeGreaterThanOrEqual(3);
    for (const { text, pttl } of kept.slice(1)) {
      expect(text).toBe(kept[0]!.text);
      expect(pttl).toBeLessThanOrEqual(20 * DAY);
    }
  });
});
