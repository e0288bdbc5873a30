import { describe, expect, it } from 'vitest';
import { emptyCounters, OTHER_QUEUES } from '../../../core/reroute/reroute-counters.js';
import { emptyTransferCounters, type TransferCounters } from '../../../core/transfer/transfer-counters.js';
import { combineSummaries } from '../../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../../core/workflow/steps/summarize-step.js';
import { summaryVerdict } from '../../../cli/workflow/render-summary.js';

// A run continued in new executions (loop cap, or a set run apart: set-apart.ts) is shown as one
// summary (the CLI's local run, watch/status of a deployed chain). What each part of it says the
// user reads as the run's: whether it is Complete, what is still continuing, how many jobs went
// where, what was left on the source. The whole runs are in test/workflow/ (cli-sets-apart,
// cli-continued-run-findings); here each rule of the combining alone.
const transfer = (over: Partial<TransferCounters> = {}): TransferCounters => ({ ...emptyTransferCounters(), ...over });
const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
  runId: 'r',
  mode: 'transfer',
  dryRun: false,
  sets: {},
  queues: {},
  totals: transfer(),
  failures: [],
  continuedIn: [],
  complete: true,
  ...over,
});
const chain = (...summaries: RunSummary[]) => combineSummaries(summaries.map((s, i) => ({ executionArn: `arn:${i}`, summary: s })));

describe('combineSummaries of a continued run', () => {
  it('needs at least one execution', () => {
    expect(() => combineSummaries([])).toThrow('combineSummaries needs at least one execution');
  });

  it('adds the totals and counts; a continuation followed in the chain is no longer listed, and the run is complete', () => {
    const root = summary({
      queues: { default: transfer({ written: 3 }) },
      totals: transfer({ written: 3, writtenTo: { default: 3 } }),
      counts: { finished: 1, failed: 0, continued: 1 },
      continuedIn: [{ kind: 'set', name: 'schedule', execution: 'arn:1' }],
      complete: false,
      unlisted: 2,
    });
    const apart = summary({ sets: { schedule: transfer({ written: 5 }) }, totals: transfer({ written: 5, writtenTo: { default: 5 } }), counts: { finished: 1, failed: 0, continued: 0 }, unlisted: 1 });

    const combined = chain(root, apart);

    expect((combined.totals as TransferCounters).written).toBe(8);
    expect((combined.totals as TransferCounters).writtenTo).toEqual({ default: 8 });
    expect(combined.counts).toEqual({ finished: 2, failed: 0, continued: 0 });
    expect(combined.continuedIn).toEqual([]);
    expect(combined.unlisted).toBe(3);
    expect(combined.sets).toEqual({ schedule: transfer({ written: 5 }) });
    expect(combined.queues).toEqual({ default: transfer({ written: 3 }) });
    expect(combined.complete).toBe(true);
  });

  it('a continuation not yet in the chain stays listed, counted, and the run is not complete', () => {
    const root = summary({ counts: { finished: 1, failed: 0, continued: 1 }, continuedIn: [{ kind: 'set', name: 'schedule', execution: 'arn:later' }], complete: false });

    const combined = chain(root);

    expect(combined.continuedIn).toEqual([{ kind: 'set', name: 'schedule', execution: 'arn:later' }]);
    expect(combined.counts).toEqual({ finished: 1, failed: 0, continued: 1 });
    expect(combined.complete).toBe(false);
  });

  it('counts continued beyond those listed (a tally lists at most so many) as not followed, minus the executions the chain holds', () => {
    // Three continued, one listed (followed); the chain holds one more execution: two still running.
    const root = summary({ counts: { finished: 0, failed: 0, continued: 3 }, continuedIn: [{ kind: 'queue', name: 'a', execution: 'arn:1' }] });

    const combined = chain(root, summary());

    expect(combined.continuedIn).toEqual([]);
    expect(combined.counts?.continued).toBe(2);
    expect(combined.complete).toBe(false);
  });

  it('a summary of an older version (no counts): failures and continuations counted from its lists', () => {
    const root = summary({ failures: [{ kind: 'queue', name: 'a', error: 'Boom' }], continuedIn: [{ kind: 'queue', name: 'b', execution: 'arn:1' }] });

    const combined = chain(root, summary());

    expect(combined.counts).toEqual({ finished: 0, failed: 1, continued: 0 });
    expect(combined.failures).toEqual([{ kind: 'queue', name: 'a', error: 'Boom' }]);
    expect(combined.complete).toBe(false);
  });

  it('a failed item in a later execution makes the run not complete', () => {
    const combined = chain(summary({ counts: { finished: 1, failed: 0, continued: 1 }, continuedIn: [{ kind: 'queue', name: 'a', execution: 'arn:1' }] }), summary({ counts: { finished: 0, failed: 1, continued: 0 } }));

    expect(combined.counts).toEqual({ finished: 1, failed: 1, continued: 0 });
    expect(combined.complete).toBe(false);
  });

  it("what is left on the source is the execution's that ended the run, though it started first; its queues' counters win", () => {
    const left = [{ key: 'queue:default', jobs: 4 }] as unknown as RunSummary['leftOnSource'];
    const inflight = { jobs: 1, keys: ['k'], lists: 1 };
    const root = summary({ queues: { default: transfer({ leftOnSource: 4 }) }, leftOnSource: left, leftOnSourceLists: 1, inflightLeftOnSource: inflight, endedRun: true });
    const apart = summary({ queues: { default: transfer({ leftOnSource: 0 }) }, sets: { schedule: transfer({ written: 2 }) }, inflightOnTarget: inflight });

    const combined = chain(root, apart);

    expect(combined.leftOnSource).toEqual(left);
    expect(combined.leftOnSourceLists).toBe(1);
    expect(combined.inflightLeftOnSource).toEqual(inflight);
    expect(combined.inflightOnTarget).toBeUndefined();
    expect(combined.queues).toEqual({ default: transfer({ leftOnSource: 4 }) });
    expect(combined.sets).toEqual({ schedule: transfer({ written: 2 }) });
  });

  it('without an execution marked as ending the run (a dry run, an older summary): the last one started', () => {
    const left = [{ key: 'queue:default', jobs: 4 }] as unknown as RunSummary['leftOnSource'];
    const root = summary({ queues: { default: transfer({ leftOnSource: 4 }) }, leftOnSource: left, leftOnSourceLists: 1 });
    const last = summary({ queues: { default: transfer({ leftOnSource: 0 }) } });

    const combined = chain(root, last);

    expect(combined.leftOnSource).toBeUndefined();
    expect(combined.leftOnSourceLists).toBeUndefined();
    expect(combined.queues).toEqual({ default: transfer({ leftOnSource: 0 }) });
  });

  it('names the destinations of the most jobs across the chain, not the first execution\'s fifty (a set run apart wrote the most)', () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`q${String(i).padStart(2, '0')}`, 1]));
    const root = summary({ totals: transfer({ written: 50, writtenTo: many }) });
    const apart = summary({ totals: transfer({ written: 50_000, writtenTo: { scheduled_target: 50_000 } }) });

    const writtenTo = (chain(root, apart).totals as TransferCounters).writtenTo;

    const names = Object.keys(writtenTo);
    expect(names[0]).toBe('scheduled_target');
    expect(writtenTo.scheduled_target).toBe(50_000);
    // Fifty named; the one that no longer fits (the last of the equal ones) is counted under
    // OTHER_QUEUES, last; the sum is the same.
    expect(names).toHaveLength(51);
    expect(names.at(-1)).toBe(OTHER_QUEUES);
    expect(writtenTo[OTHER_QUEUES]).toBe(1);
    expect(writtenTo.q49).toBeUndefined();
    expect(Object.values(writtenTo).reduce((a, b) => a + b, 0)).toBe(50_050);
  });

  it("keeps a chain's OTHER_QUEUES last whatever its size, and a re-route's movedTo likewise", () => {
    const root = summary({ mode: 'reroute', totals: { ...emptyCounters(), movedTo: { [OTHER_QUEUES]: 900, a: 1 } } });
    const next = summary({ mode: 'reroute', totals: { ...emptyCounters(), movedTo: { b: 5 } } });

    const movedTo = chain(root, next).totals as ReturnType<typeof emptyCounters>;

    expect(Object.entries(movedTo.movedTo)).toEqual([
      ['b', 5],
      ['a', 1],
      [OTHER_QUEUES, 900],
    ]);
  });

  // What the looks at the end found: each an execution's own, not to be mixed with another's.
  const found = {
    leftOnSource: [{ key: 'queue:default', jobs: 4 }],
    leftOnSourceLists: 1,
    quarantinedInLists: 2,
    inflightOnTarget: { jobs: 1, keys: ['t'], lists: 1 },
    inflightLeftOnSource: { jobs: 2, keys: ['l'], lists: 1 },
    inflightStillOnSource: { jobs: 3, keys: ['s'], lists: 1 },
    inflightOnSource: { jobs: 4, keys: ['o'], lists: 1 },
    leftoverLooksCutShort: { source: { scanned: 10 } },
    underOtherPrefixes: [{ prefix: 'other:', jobs: 1 }],
    notLookedAt: { queues: 3 },
    heldByWorkers: { jobs: 5 },
    selectedArrivalsCutShort: { queues: 1 },
    deadSetOverCap: { entries: 10_010, drops: 12 },
  } as unknown as Partial<RunSummary>;
  const foundKeys = Object.keys(found) as (keyof RunSummary)[];

  it("takes what the looks found from the execution that ended the run only: none of the first execution's, all of the ending one's", () => {
    const staleFirst = chain(summary(found), summary());
    const fromEnding = chain(summary(), summary({ ...found, unheard: { liveProcesses: 1, queues: [{ queue: 'q', jobs: 2 }], total: 1 } }));

    for (const key of foundKeys) expect([key, staleFirst[key]]).toEqual([key, undefined]);
    for (const key of foundKeys) expect([key, fromEnding[key]]).toEqual([key, found[key]]);
    expect(fromEnding.unheard).toEqual({ liveProcesses: 1, queues: [{ queue: 'q', jobs: 2 }], total: 1 });
  });

  it('adds up the queues each execution left jobs in place on where nobody fetches, and the queues past their tallies (what `status` shows of a continued run)', () => {
    const first = summary({ leftUnheard: { liveProcesses: 0, queues: [{ queue: 'post_receive', jobs: 2 }], total: 1, unchecked: { queues: 3, jobs: 4 } } });
    const second = summary({ leftUnheard: { liveProcesses: 1, queues: [{ queue: 'post_receive', jobs: 1 }, { queue: 'gone', jobs: 5 }], total: 2 } });

    expect(chain(first, second).leftUnheard).toEqual({ liveProcesses: 1, queues: [{ queue: 'gone', jobs: 5 }, { queue: 'post_receive', jobs: 3 }], total: 2, unchecked: { queues: 3, jobs: 4 } });
    expect(chain(summary(), summary()).leftUnheard).toBeUndefined();
  });

  it('adds up the set entries each execution left in place naming queues nobody fetches, and those past their totals\' names (a set that ran in an execution of its own)', () => {
    const first = summary({ leftUnheardInSets: { liveProcesses: 0, queues: [{ queue: 'post_receive', jobs: 2 }], total: 1, unchecked: { jobs: 4 } } });
    const second = summary({ leftUnheardInSets: { liveProcesses: 1, queues: [{ queue: 'post_receive', jobs: 1 }, { queue: 'gone', jobs: 5 }], total: 2 } });

    expect(chain(first, second).leftUnheardInSets).toEqual({ liveProcesses: 1, queues: [{ queue: 'gone', jobs: 5 }, { queue: 'post_receive', jobs: 3 }], total: 2, unchecked: { jobs: 4 } });
    expect(chain(summary(), second).leftUnheardInSets).toEqual(second.leftUnheardInSets);
    expect(chain(summary(), summary()).leftUnheardInSets).toBeUndefined();
  });

  it("a dry run's dead-set forecast is the last one made, though the first execution made none", () => {
    const combined = chain(summary({ dryRun: true }), summary({ dryRun: true, deadSetOverCap: { entries: 10_005, drops: 6 } }));

    expect(combined.deadSetOverCap).toEqual({ entries: 10_005, drops: 6 });
  });

  it('keeps OTHER_QUEUES last when it first appears in a later execution', () => {
    const root = summary({ mode: 'reroute', totals: { ...emptyCounters(), movedTo: { a: 1 } } });
    const next = summary({ mode: 'reroute', totals: { ...emptyCounters(), movedTo: { [OTHER_QUEUES]: 900, b: 5 } } });

    const moved = chain(root, next).totals as ReturnType<typeof emptyCounters>;

    expect(Object.keys(moved.movedTo)).toEqual(['b', 'a', OTHER_QUEUES]);
  });
  it('an execution of the chain superseded by a later start of the run: not complete, superseded (the latest said), though nothing failed', () => {
    // A continuation whose add-up found the run superseded as it handed on the rest of the list:
    // every item it had ended, no failure, and the rest of the list left to the later start.
    const root = summary({ totals: transfer({ written: 3 }), counts: { finished: 1, failed: 0, continued: 0 }, complete: false, superseded: { laterPlannedAt: 2_000 } });
    const alone = chain(root);
    expect(alone).toMatchObject({ complete: false, superseded: { laterPlannedAt: 2_000 } });
    expect(summaryVerdict(alone, 'source').line).toBe('Not complete here: a later execution of run r carries the run on. Follow it: deployed, find it with sidekiq-migrate list, then sidekiq-migrate watch it; run locally, in the output of the command that started it; its summary says when the run is complete.');
    // Found by a continuation only (its plan, or its first page), the root's own summary complete: the chain's all the same.
    const continued = summary({ counts: { finished: 0, failed: 0, continued: 1 }, continuedIn: [{ kind: 'set', name: 'schedule', execution: 'arn:1' }], complete: false });
    const first = summary({ counts: { finished: 0, failed: 0, continued: 0 }, complete: false, superseded: { laterPlannedAt: 2_000 } });
    const second = summary({ counts: { finished: 0, failed: 0, continued: 0 }, complete: false, superseded: { laterPlannedAt: 3_000 } });
    expect(chain(continued, first, second)).toMatchObject({ complete: false, superseded: { laterPlannedAt: 3_000 } });
    expect(chain(summary())).not.toHaveProperty('superseded');
  });
});
