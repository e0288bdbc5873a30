import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../cli/deployed/watch-execution.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { SidekiqKeys } from '../../core/redis/sidekiq-keys.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { expectExactJobs, jobEntry } from '../support/exact-jobs.js';
import { heartbeat } from '../support/sidekiq-heartbeat.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { captureOutput, fakeContext, logRecords } from './support/lambda-harness.js';
import { lambdaOnOwnServers } from './support/lambda-on-own-servers.js';
import { runToSummary, summarizeInput, viaJson } from './support/run-workflow.js';

// The deployed summarize function of a move (transfer) to which jobs arrived on the source after
// their queue's transfer ended (a producer still on the old Redis), and whose destination queue,
// on the target, only a Sidekiq process not heard from for more than 3 beats listens to (killed,
// its heartbeat hash not yet expired): the summary it returns, rendered as the deployed CLI
// renders it, says what the local `move` says (test/workflow/cli-move-arrivals-silent.test.ts),
// and its log line never says "run complete".
const lambda = lambdaOnOwnServers();
const keys = new SidekiqKeys('');
const SILENT = 'worker-1:4242:0a1b2c3d4e5f';
const job = (i: number) => sidekiqPayload({ className: 'A', queue: 'q', args: `[${i}]`, jid: String(i).padStart(24, '0') });

describe('the summarize handler of a move: jobs arrived on the source, their queue on the target heard only by a process not heard from', { timeout: 120_000 }, () => {
  it('returns a summary whose verdict says both, as the local move does; logs "done, but jobs were left behind"', async () => {
    const { source, target, h } = lambda;
    const originals = [0, 1, 2, 3].map(job);
    await source.lpush('queue:q', ...originals);
    await source.sadd('queues', 'q');
    await heartbeat(target, keys, 'new:1:eeeeeeeeeeee', ['default'], { beatAt: Date.now() / 1000 });
    await heartbeat(target, keys, SILENT, ['q'], { beatAt: Date.now() / 1000 - 40, beating: false });
    await target.pexpire(SILENT, 20_000);

    const run = await runToSummary(h, { runId: 'arrivals-silent-1', mode: 'transfer', target: 'target', sets: [] });
    // A producer still on the old Redis, after the queue's transfer ended.
    const late = [10, 11].map(job);
    await source.lpush('queue:q', ...late);
    const out = captureOutput();
    let summary: RunSummary;
    try {
      summary = viaJson((await h.summarize(summarizeInput(run), fakeContext())) as RunSummary);
    } finally {
      out.stop();
    }
    expect(summary.complete).toBe(true);
    expect(summary.unheardSilent).toMatchObject({ queues: [{ queue: 'q', jobs: 4 }], total: 1, beatingProcesses: 1 });
    expect(summary).not.toHaveProperty('unheard');
    const rendered = renderSummary(summary, 'source');
    expect(rendered.trimEnd().split('\n').at(-1)).toBe(
      'Done, but jobs remain on the source (2, above): run move again. 4 of the jobs moved went to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).',
    );
    expect(exitCodeOf({ status: 'SUCCEEDED', summary } as Parameters<typeof exitCodeOf>[0])).toBe(0);
    const line = logRecords(out.records()).find((r) => /^run /.test(String(r['message'])));
    expect(line).toMatchObject({ message: 'run done, but jobs were left behind', complete: true, leftBehind: ['2 remain on the source'] });
    await expectExactJobs(source, '', late.map((p) => jobEntry('queue:q', p)));
    await expectExactJobs(target, '', originals.map((p) => jobEntry('queue:q', p)));
  });

  it("a move that left nothing: its log line says 'run complete, but …' of both kinds of queue, as counts without names", async () => {
    const { source, target, h } = lambda;
    await source.flushall();
    await target.flushall();
    const onQ = [20, 21, 22].map(job);
    const onR = [30, 31].map((i) => sidekiqPayload({ className: 'A', queue: 'r', args: `[${i}]`, jid: String(i).padStart(24, '0') }));
    await source.lpush('queue:q', ...onQ);
    await source.lpush('queue:r', ...onR);
    await source.sadd('queues', 'q', 'r');
    await heartbeat(target, keys, 'new:1:eeeeeeeeeeee', ['default'], { beatAt: Date.now() / 1000 });
    await heartbeat(target, keys, SILENT, ['q'], { beatAt: Date.now() / 1000 - 40, beating: false });
    await target.pexpire(SILENT, 20_000);

    const run = await runToSummary(h, { runId: 'arrivals-silent-2', mode: 'transfer', target: 'target', sets: [] });
    const out = captureOutput();
    let summary: RunSummary;
    try {
      summary = viaJson((await h.summarize(summarizeInput(run), fakeContext())) as RunSummary);
    } finally {
      out.stop();
    }
    expect(summary.complete).toBe(true);
    expect(renderSummary(summary, 'source').trimEnd().split('\n').at(-1)).toBe(
      'Complete: everything that could be moved was moved, but 2 of them went to queues nobody fetches from and 3 went to queues listened to only by Sidekiq processes that may have been killed (see "Needs a look" above).',
    );
    const line = logRecords(out.records()).find((r) => /^run /.test(String(r['message'])));
    expect(line).toMatchObject({
      message: 'run complete, but some went to queues nobody fetches from and some went to queues listened to only by Sidekiq processes that may have been killed',
      complete: true,
      unheardQueues: { queues: 1, jobs: 2 },
      queuesHeardOnlyBySilent: { queues: 1, jobs: 3 },
    });
    expect((line as { queuesHeardOnlyBySilent: { silentSeconds: number } }).queuesHeardOnlyBySilent.silentSeconds).toBeGreaterThan(15);
    // Counts only: no queue name, no job data in the line.
    expect(JSON.stringify(line)).not.toMatch(/"q"|"r"|\[2\d\]|\[3\d\]/);
    await expectExactJobs(source, '', []);
    await expectExactJobs(target, '', [...onQ.map((p) => jobEntry('queue:q', p)), ...onR.map((p) => jobEntry('queue:r', p))]);
  });
});
