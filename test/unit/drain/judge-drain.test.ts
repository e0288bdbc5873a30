// The drain check's verdict from a report, branch by branch: the words an operator reads and the
// state ("drained" only when nothing is left that would run or that nobody will run). The report's
// counting is checked against real Redis in test/redis/drain/; these are the verdicts no Redis test
// reaches cheaply (GitLab's interrupted set, cron, quarantine, many names, other prefixes, rates).
import { describe, expect, it } from 'vitest';
import type { DrainReport, SetState } from '../../../core/drain/drain-report.js';
import { jobsNobodyWillRun, judgeDrain, unrunElsewhere } from '../../../core/drain/judge-drain.js';
import type { SortedSetName } from '../../../core/redis/sidekiq-keys.js';

type Report = Omit<DrainReport, 'verdict'>;

const emptySet = (): SetState => ({ total: 0, dueNow: 0, dueWithinHour: 0, lastDueAt: null, orphaned: 0, toRetiredQueues: 0, orphanedEstimated: false });

/** An empty Redis with one live process, checked at 1,000 s; `sets` and the rest overridden. */
function report(over: Partial<Omit<Report, 'sets'>> & { sets?: Partial<Record<SortedSetName, Partial<SetState>>> } = {}): Report {
  const { sets: setsOver = {}, ...rest } = over;
  const sets = Object.fromEntries((['schedule', 'retry', 'dead', 'interrupted'] as const).map((s) => [s, { ...emptySet(), ...setsOver[s] }])) as Record<SortedSetName, SetState>;
  return {
    checkedAt: 1_000,
    redis: 'redis://old',
    prefix: '',
    processes: { live: 1, quiet: 0, stale: 0 },
    queues: [],
    sets,
    orphans: { queued: 0, scheduled: 0, total: 0, queues: [] },
    inflight: [],
    quarantine: [],
    fetched: [],
    cron: [],
    otherPrefixes: [],
    remaining: 0,
    readyNow: 0,
    ...rest,
  };
}

const asPrevious = (r: Report): DrainReport => ({ ...r, verdict: judgeDrain(r) });

describe('judgeDrain: drained', () => {
  it('an empty Redis is drained, with no reason', () => {
    expect(judgeDrain(report())).toEqual({ state: 'drained', reasons: [] });
  });

  it("names dead and GitLab's interrupted jobs, which never run unless retried, without blocking", () => {
    const r = report({ sets: { dead: { total: 2 }, interrupted: { total: 3 } } });
    expect(judgeDrain(r)).toEqual({
      state: 'drained',
      reasons: [
        '2 dead job(s) remain; they never run unless retried: transfer them or accept losing them',
        "3 interrupted job(s) remain (GitLab's reliable fetcher set them aside; they never run unless retried): transfer them or accept losing them",
      ],
    });
  });

  it('a check scoped to retired queues names only the dead and interrupted entries naming them, and never says to transfer them', () => {
    // The live queues' own dead jobs (a routing change rewrote the rest): nothing to say.
    expect(judgeDrain(report({ retiredQueues: ['old'], sets: { dead: { total: 5 }, interrupted: { total: 2 } } }))).toEqual({ state: 'drained', reasons: [] });
    expect(judgeDrain(report({ retiredQueues: ['old'], sets: { dead: { total: 5, toRetiredQueues: 2 }, interrupted: { total: 2, toRetiredQueues: 1 } } }))).toEqual({
      state: 'drained',
      reasons: [
        '2 dead job(s) name retired queues; retried, they would go where nobody fetches after the change: run the migration again (it rewrites them), or accept losing them',
        "1 interrupted job(s) (GitLab's reliable fetcher set them aside) name retired queues: run the migration again (it rewrites them), or accept losing them",
      ],
    });
  });

  it('a check scoped to retired queues is drained with orphans elsewhere, and names where they wait', () => {
    const r = report({ retiredQueues: ['old'], orphans: { queued: 4, scheduled: 1, total: 5, queues: ['nobody'] } });
    expect(judgeDrain(r)).toEqual({
      state: 'drained',
      reasons: ['5 job(s) outside the retired queues will never run as things stand (queues nobody listens to: nobody): give their queues a listener'],
    });
    // The CLI's exit code 3 and the deployed UnrunJobs count them.
    expect(jobsNobodyWillRun(r)).toBe(5);
    // Orphaned set entries alone: no queue to name.
    expect(judgeDrain(report({ retiredQueues: ['old'], orphans: { queued: 0, scheduled: 1, total: 1, queues: [] } })).reasons).toEqual([
      '1 job(s) outside the retired queues will never run as things stand: give their queues a listener',
    ]);
  });

  it('is never drained while set entries beyond the count limit are estimated', () => {
    const r = report({ retiredQueues: ['old'], sets: { retry: { total: 2_000_000, orphanedEstimated: true } } });
    expect(judgeDrain(r)).toEqual({ state: 'draining', reasons: ['retry holds 2000000 entries, more than a check counts: what they hold is estimated, so this is not a verdict of drained'] });
  });
});

describe('judgeDrain: stuck', () => {
  it('an enabled cron definition pushing to a retired queue keeps even an empty scope stuck, named first', () => {
    const cron = [
      { name: 'a_worker', key: 'cron_job:a_worker', queue: 'old', enabled: true, listeners: 0 },
      // Disabled, or pushing to a live queue: not counted (one whose queue is not known: below).
      { name: 'b_worker', key: 'cron_job:b_worker', queue: 'old', enabled: false, listeners: 0 },
      { name: 'd_worker', key: 'cron_job:d_worker', queue: 'new', enabled: true, listeners: 1 },
    ];
    const r = report({ retiredQueues: ['old'], cron, sets: { dead: { total: 1, toRetiredQueues: 1 } } });
    expect(judgeDrain(r)).toEqual({
      state: 'stuck',
      reasons: [
        "1 sidekiq-cron definition(s) still push to retired queues (a_worker → old): restart Sidekiq with the new rules (GitLab saves its cron definitions at boot) or run with --rewrite-cron",
        '1 dead job(s) name retired queues; retried, they would go where nobody fetches after the change: run the migration again (it rewrites them), or accept losing them',
      ],
    });
    // Without retired queues there is nothing retired to push to.
    expect(judgeDrain(report({ cron, sets: { dead: { total: 1 } } })).state).toBe('drained');
  });

  it('an enabled cron definition whose queue is not known is never a drained scope: named with why; disabled or unscoped, it does not count', () => {
    const unknown = { name: 'c_worker', key: 'cron_job:c_worker', queue: null, queueUnknown: 'no message field and no queue field', enabled: true, listeners: 0 };
    const off = { ...unknown, name: 'e_worker', key: 'cron_job:e_worker', enabled: false };
    expect(judgeDrain(report({ retiredQueues: ['old'], cron: [unknown, off] }))).toEqual({
      state: 'draining',
      reasons: [
        "sidekiq-cron: 1 enabled definition(s) push to a queue this check cannot know (c_worker: no message field and no queue field): one may push to a retired queue, so this is not a verdict of drained; check where they push by hand (the class's sidekiq_options, or the message of their cron_job:… hash)",
      ],
    });
    expect(judgeDrain(report({ retiredQueues: ['old'], cron: [off] })).state).toBe('drained');
    expect(judgeDrain(report({ cron: [unknown] })).state).toBe('drained');
  });

  it('jobs in quarantine lists are stuck, counted and named', () => {
    const quarantine = [
      { key: 'sidekiq-migrate:quarantine:a', queue: 'a', size: 2 },
      { key: 'sidekiq-migrate:quarantine:b', queue: 'b', size: 5 },
    ];
    const r = report({ quarantine, remaining: 7 });
    expect(judgeDrain(r)).toEqual({
      state: 'stuck',
      reasons: ['7 job(s) sit in quarantine lists nobody fetches (sidekiq-migrate:quarantine:a 2, sidekiq-migrate:quarantine:b 5): put them back on a queue or delete them by hand'],
    });
    expect(jobsNobodyWillRun(r)).toBe(7);
  });

  it('jobs in flight from interrupted transfers are stuck, each run named once', () => {
    const inflight = [
      { key: 'sidekiq-migrate:r1:inflight:queue:a', runId: 'r1', sourceKey: 'queue:a', type: 'list' as const, size: 2 },
      { key: 'sidekiq-migrate:r1:inflight:retry', runId: 'r1', sourceKey: 'retry', type: 'zset' as const, size: 1 },
      { key: 'sidekiq-migrate:r2:inflight:queue:a', runId: 'r2', sourceKey: 'queue:a', type: 'list' as const, size: 4 },
    ];
    const r = report({ inflight, remaining: 7 });
    expect(judgeDrain(r)).toEqual({ state: 'stuck', reasons: ['7 job(s) are in flight from interrupted transfers (r1, r2): run the transfer again to finish them'] });
    expect(jobsNobodyWillRun(r)).toBe(7);
  });

  it('names at most ten queues in a reason, and how many more', () => {
    const names = Array.from({ length: 1_012 }, (_, i) => `q${i}`);
    const r = report({ orphans: { queued: 1_012, scheduled: 0, total: 1_012, queues: names }, remaining: 1_012, readyNow: 1_012 });
    expect(judgeDrain(r)).toEqual({
      state: 'stuck',
      reasons: ['1012 job(s) will never run as things stand (queues nobody listens to: q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, … and 1,002 more)'],
    });
    // Exactly ten: all named, no "more".
    const ten = names.slice(0, 10);
    expect(judgeDrain(report({ orphans: { queued: 10, scheduled: 0, total: 10, queues: ten }, remaining: 10 })).reasons).toEqual([
      `10 job(s) will never run as things stand (queues nobody listens to: ${ten.join(', ')})`,
    ]);
  });
});

describe('judgeDrain: jobs taken by workers', () => {
  const list = (i: number, ownerAlive: boolean, size: number) => ({
    key: `working:queue:q${i}:host:${i}`,
    queue: `q${i}`,
    owner: `host:${i}`,
    fetcher: 'reliable-fetch' as const,
    ownerAlive,
    size,
  });

  it('jobs live processes work on are draining; the lists of gone workers are named, five at most', () => {
    const fetched = [list(0, true, 3), ...Array.from({ length: 7 }, (_, i) => list(i + 1, false, 1))];
    const r = report({ fetched, remaining: 10 });
    expect(judgeDrain(r)).toEqual({
      state: 'draining',
      reasons: [
        '3 job(s) are being worked on by live processes: they finish here, or fail into retry on this Redis',
        "7 job(s) sit in the private lists of workers that are gone (working:queue:q1:host:1 1, working:queue:q2:host:2 1, working:queue:q3:host:3 1, working:queue:q4:host:4 1, working:queue:q5:host:5 1, and 2 more): a live process with the same fetcher returns them to their queues on this Redis (GitLab's reliable fetcher within the hour)",
      ],
    });
    expect(jobsNobodyWillRun(r)).toBe(0);
  });

  it('with no live process left, the lists of gone workers are stuck: nobody puts them back', () => {
    const r = report({ processes: { live: 0, quiet: 0, stale: 1 }, fetched: [list(1, false, 2)], remaining: 2 });
    expect(judgeDrain(r)).toEqual({
      state: 'stuck',
      reasons: [
        "2 job(s) sit in the private lists of workers that are gone (working:queue:q1:host:1 2), and no live Sidekiq process is here to put them back: start one with the same fetcher against this Redis (it returns them to their queues, GitLab's within the hour), then move them",
      ],
    });
    expect(jobsNobodyWillRun(r)).toBe(2);
  });
});

describe('judgeDrain: progress between checks', () => {
  it('the rate is what remaining fell by per second; the estimate covers what is left, and at least until the last entry is due', () => {
    const before = report({ checkedAt: 1_000, remaining: 100, readyNow: 100, queues: [{ queue: 'a', depth: 100, oldestAgeSeconds: 5, listeners: 1 }] });
    // 60 s later: 40 left, 10 of them scheduled for 2,000 s from now.
    const after = report({
      checkedAt: 1_060,
      remaining: 40,
      readyNow: 30,
      sets: { schedule: { total: 10, dueNow: 0, dueWithinHour: 10, lastDueAt: 3_060 } },
    });
    expect(judgeDrain(after, asPrevious(before))).toEqual({
      state: 'draining',
      reasons: ['10 scheduled or retrying job(s) come due later, the last in 33 min'],
      ratePerSecond: 1,
      // (40 - 10) / 1 = 30 s of work, but the last entry is due in 2,000 s.
      etaSeconds: 2_000,
    });
    // Without future entries the estimate is the work left at that rate.
    const quick = report({ checkedAt: 1_060, remaining: 40, readyNow: 40 });
    expect(judgeDrain(quick, asPrevious(before))).toEqual({ state: 'draining', reasons: [], ratePerSecond: 1, etaSeconds: 40 });
  });

  it('work ready now that did not shrink is stuck; work that shrank, or nothing ready, is not', () => {
    const before = report({ checkedAt: 1_000, remaining: 50, readyNow: 20 });
    expect(judgeDrain(report({ checkedAt: 1_030, remaining: 50, readyNow: 20 }), asPrevious(before))).toEqual({
      state: 'stuck',
      reasons: ['no progress since the previous check, 30 s ago: 20 → 20 job(s) ready to run'],
      ratePerSecond: 0,
    });
    expect(judgeDrain(report({ checkedAt: 1_030, remaining: 49, readyNow: 19 }), asPrevious(before)).state).toBe('draining');
    // Only future entries left: waiting for them is not "no progress".
    const waiting = report({ checkedAt: 1_030, remaining: 5, readyNow: 0, sets: { retry: { total: 5, lastDueAt: 1_130 } } });
    expect(judgeDrain(waiting, asPrevious(report({ checkedAt: 1_000, remaining: 5, readyNow: 0, sets: { retry: { total: 5, lastDueAt: 1_130 } } })))).toEqual({
      state: 'draining',
      reasons: ['5 scheduled or retrying job(s) come due later, the last in 100 s'],
      ratePerSecond: 0,
      etaSeconds: 100,
    });
  });

  it('two checks at the same instant give a rate of 0, not a division by zero', () => {
    const before = report({ checkedAt: 1_000, remaining: 10, readyNow: 10 });
    expect(judgeDrain(report({ checkedAt: 1_000, remaining: 9, readyNow: 9 }), asPrevious(before))).toEqual({ state: 'draining', reasons: [], ratePerSecond: 0, etaSeconds: 0 });
  });

  it('a scoped check waits only for the entries that name retired queues', () => {
    const r = report({
      retiredQueues: ['old'],
      remaining: 3,
      sets: { schedule: { total: 50, dueNow: 10, toRetiredQueues: 2, lastDueAt: 1_500 }, retry: { total: 9, toRetiredQueues: 1, lastDueAt: 1_200 } },
    });
    expect(judgeDrain(r)).toEqual({ state: 'draining', reasons: ['3 scheduled or retrying job(s) name retired queues, the last due in 8 min: the migration rewrites them (run it again), or they reach those queues when due'] });
  });
});

describe('judgeDrain: other prefixes of the same Redis', () => {
  const tail =
    ': check them with --namespace, or carry them onto this prefix with move --from URL --to URL --namespace OTHER --to-namespace THIS (GitLab\'s namespace move leaves resque:gitlab: leftovers)';

  it('names them without changing the verdict of this prefix; the unreadable and the taken are said', () => {
    const r = report({
      otherPrefixes: [
        { prefix: '', keys: 3, jobs: 4, liveProcesses: 1 },
        { prefix: 'resque:gitlab', keys: 9, jobs: 6, taken: 2, unreadable: 3, liveProcesses: 2 },
        // Nothing there: not named.
        { prefix: 'empty', keys: 1, jobs: 0 },
      ],
    });
    expect(judgeDrain(r)).toEqual({
      state: 'drained',
      reasons: [
        // Live processes run them there: never advised to carry them onto this prefix.
        `jobs under another prefix of this Redis, not counted here (no prefix: 4, "resque:gitlab": 6 (2 in reliable-fetch working lists, which no move carries: check them with --namespace) counted, 3 key(s) this user may not read): check them with --namespace (no prefix, "resque:gitlab": live Sidekiq processes run them there, so leave them there)`,
      ],
    });
    expect(unrunElsewhere(r)).toEqual([]);
    expect(jobsNobodyWillRun(r)).toBe(0);
  });

  it('a prefix whose keys this user may not read is named even with no job counted', () => {
    const r = report({ otherPrefixes: [{ prefix: 'hidden', keys: 2, jobs: 0, unreadable: 2 }] });
    expect(judgeDrain(r).reasons).toEqual(['jobs under another prefix of this Redis, not counted here ("hidden": 0 counted, 2 key(s) this user may not read): check them with --namespace']);
  });

  it('says which of their jobs nobody will run: where no Sidekiq runs, and ours in flight or quarantined', () => {
    const otherPrefixes = [
      // 10 jobs, 2 of them ours in flight, 3 dead: 5 a Sidekiq would run, and none runs there.
      { prefix: 'a', keys: 5, jobs: 10, held: 2, dormant: 3, liveProcesses: 0 },
      // A live Sidekiq there runs the rest; ours in flight still nobody runs.
      { prefix: 'b', keys: 5, jobs: 7, held: 4, liveProcesses: 1 },
      // Only dead jobs and no process: nothing there would run anyway.
      { prefix: 'c', keys: 1, jobs: 3, dormant: 3, liveProcesses: 0 },
    ];
    const r = report({ otherPrefixes });
    expect(unrunElsewhere(r).map((p) => p.prefix)).toEqual(['a', 'b']);
    expect(judgeDrain(r)).toEqual({
      state: 'drained',
      reasons: [
        `jobs under another prefix of this Redis, not counted here ("a": 10, "b": 7, "c": 3); 7 under "a", where no Sidekiq process runs, 4 under "b" in flight from an interrupted transfer or quarantined, will never run as things stand (exit code 3)${tail}`,
      ],
    });
    // a: 5 runnable + 2 held; b: 4 held.
    expect(jobsNobodyWillRun(r)).toBe(11);
  });
});
