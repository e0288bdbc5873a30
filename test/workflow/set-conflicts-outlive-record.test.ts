// A set transfer records the conflicts it gives back (entries whose bytes are already in the target
// set: they go back to the source set) so that its claims step over them (claimSetEntries-16.lua,
// the run's `:conflicts:<set>`). The record had 7 days from the last conflict given back, and a
// rate-limited move of a large set runs longer: past them the claims took the conflicts again,
// each one using up one of the pass's count of the set's entries at its start. The pass then
// ended with as many of its own entries never moved, said to be "added during the run", and the
// conflicts counted twice. Each page task now gives the record its 7 days again (beside its look
// at its receipt, as the run's list: store-run-plan.ts keepRunRecords).
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { conflictsKey } from '../../core/transfer/transfer-keys.js';
import type { TransferCounters } from '../../core/transfer/transfer-counters.js';
import { CONFLICTS_TTL_SECONDS } from '../../core/transfer/acknowledge.js';
import { runWorkflowLocally, type LocalHandlers } from '../../infra/local/run-workflow-locally.js';
import { jobEntry, jobsIn } from '../support/exact-jobs.js';
import { privateSourceAndTarget } from '../support/private-redis.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { connectionsPerTest } from '../support/test-connections.js';

const redis = privateSourceAndTarget();
const { connect } = connectionsPerTest(redis);
const RUN = 'long-set-run';
/** How near the end of its 7 days the record is put before each page: longer than any page takes, however loaded the machine. */
const NEAR_END_MS = 600_000;

describe("a set transfer that lasts longer than its conflicts record's 7 days", () => {
  it('steps over its conflicts to the end: every other entry moved, the conflict counted once', async () => {
    const [source, target] = [redis.source(), redis.target()];
    // The conflict is due first: the first slice meets it, gives it back, and every later claim starts at it.
    const c = sidekiqPayload({ className: 'W', queue: 'default', args: '["c"]', jid: 'c00000000000000000000000' });
    await source.zadd('schedule', '1', c);
    await target.zadd('schedule', '1', c);
    const moved = Array.from({ length: 8 }, (_, i) => sidekiqPayload({ className: 'W', queue: 'default', args: `[${i}]` }));
    for (const [i, job] of moved.entries()) await source.zadd('schedule', String(10 + i), job);
    await source.sadd('queues', 'default');
    const record = conflictsKey('', RUN, 'schedule');
    const real = localTaskHandlers(connect());
    const ttls: number[] = [];
    // Time as a long run sees it, shrunk: before each page the record is NEAR_END_MS from the end
    // of the 7 days it was given (the conflict long ago), and that time has passed when the page
    // ends: not given its time again by the page, it is deleted then, as Redis would expire it.
    // (It was a 300 ms expiry and a 400 ms sleep: a page that took over 300 ms to renew it, on a
    // loaded machine, lost the record under the pass.)
    const handlers: LocalHandlers = {
      ...real,
      transferSet: async (input, context) => {
        if (await source.exists(record)) await source.pexpire(record, NEAR_END_MS);
        const answer = await real.transferSet(input, context);
        ttls.push(await source.ttl(record));
        const ms = await source.pttl(record);
        if (ms >= 0 && ms <= NEAR_END_MS) await source.del(record);
        return answer;
      },
    };

    const executions = await runWorkflowLocally({ runId: RUN, mode: 'transfer', target: 'target', sets: ['schedule'], queues: false, pageSize: 2, pagesPerInvocation: 1 }, handlers, { retryIntervalMs: 0 });

    expect(executions.map((e) => e.error)).toEqual([undefined]);
    const summary = executions[0]!.output as RunSummary;
    const totals = summary.totals as TransferCounters;
    expect({ written: totals.written, conflicts: totals.conflicts, leftOnSource: totals.leftOnSource ?? 0 }).toEqual({ written: 8, conflicts: 1, leftOnSource: 0 });
    expect(await jobsIn(target)).toEqual([jobEntry('schedule', c, '1'), ...moved.map((job, i) => jobEntry('schedule', job, String(10 + i)))].sort());
    expect(await jobsIn(source)).toEqual([jobEntry('schedule', c, '1')]);
    // Each page after the conflict gave the record its 7 days again.
    expect(ttls.length).toBeGreaterThan(3);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(CONFLICTS_TTL_SECONDS - 60);
  }, 60_000);
});
