// A run continued in a new execution (continue-as-new: its long queue went on there) whose target
// restarted empty in that execution, right after a slice's copy there and before the source
// acknowledged it: that execution's summary said what may have gone with the loss as it knew it,
// its own sets and queues only, so the 5 jobs of the queue the first execution had finished
// (written there and acknowledged) were never named ("Nothing this run had written there was
// acknowledged … no job went with it", or a list without them); and the first execution's summary,
// when it looked after the loss, said it too, in other words (the id-only line): two lines for one
// loss. The combined summary now says it once, naming what every execution wrote there.
import { describe, expect, it } from 'vitest';
import { localTaskHandlers } from '../../cli/workflow/task-handlers.js';
import { renderSummary } from '../../cli/workflow/render-summary.js';
import { combineSummaries } from '../../core/workflow/combine-summaries.js';
import type { RunSummary } from '../../core/workflow/steps/summarize-step.js';
import { StateNames } from '../../infra/constructs/state-names.js';
import { runWorkflowLocally, type LocalEvent } from '../../infra/local/run-workflow-locally.js';
import { sourceAndRestartableTarget } from '../support/restartable-target.js';
import { sidekiqPayload } from '../support/sidekiq-jobs.js';
import { waitUntil } from '../support/wait-until.js';

const servers = sourceAndRestartableTarget();
const { client } = servers;

/**
 * Two queues, a-small (5 jobs, finished by the first execution) and b-big (60, continued in a new
 * execution after 2 slices of 10); the target restarts empty right after the continuation's first
 * copy. `firstSummaryAfterLoss`: the first execution's summary waits for the restart (it looks
 * after the loss), else the continuation's pages wait for that summary (it looks before).
 */
async function continuedRunWithLoss(firstSummaryAfterLoss: boolean): Promise<{ words: string; perExecution: RunSummary[] }> {
  const src = client(servers.source.url);
  await src.lpush('queue:a-small', ...Array.from({ length: 5 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'a-small', args: `[${i}]` })));
  await src.lpush('queue:b-big', ...Array.from({ length: 60 }, (_, i) => sidekiqPayload({ className: 'A', queue: 'b-big', args: `[${i}]` })));
  await src.sadd('queues', 'a-small', 'b-big');
  let firstSummarized!: () => void;
  const summarized = new Promise<void>((resolve) => (firstSummarized = resolve));
  let inContinuation = false;
  const provider = servers.restartAfterCopy('copyJobsToLists-n4', { armed: () => inContinuation });
  const handlers = localTaskHandlers(provider);
  const held: typeof handlers = {
    ...handlers,
    transferQueue: async (input) => {
      const { item } = input as { item: { continues?: string } };
      if (item.continues && !inContinuation) {
        if (!firstSummaryAfterLoss) await summarized;
        inContinuation = true;
      }
      return handlers.transferQueue(input);
    },
    summarize: async (input) => {
      const { execution } = input as { execution: string };
      if (firstSummaryAfterLoss && execution === 'root') await waitUntil('the target restarted', () => provider.restarts() === 1);
      return handlers.summarize(input);
    },
  };
  // The first summary to end is the first execution's: the continuation's pages wait for it.
  const onEvent = (_arn: string, e: LocalEvent) => {
    if (e.type === 'StateExited' && e.state?.name === StateNames.summarize) firstSummarized();
  };

  const executions = await runWorkflowLocally({ runId: 'continued-loss', mode: 'transfer', target: 'target', sets: [], pageSize: 10, pagesPerInvocation: 1, maxIterations: 2 }, held, { onEvent, retryIntervalMs: 0 });

  expect(provider.restarts()).toBe(1);
  expect(executions.length).toBeGreaterThan(1);
  const chain = executions.filter((e) => e.output !== undefined).map((e) => ({ executionArn: e.executionArn, summary: e.output as RunSummary }));
  return { words: renderSummary(combineSummaries(chain), 'redis://source', { width: 1000 }), perExecution: chain.map((e) => e.summary) };
}

const lossLine = (wording: string) =>
  new RegExp(
    `\nFAILED execution continued-loss: TargetLostDataError: The target redis://127\\.0\\.0\\.1:\\d+ lost the copy of 10 job\\(s\\) during run continued-loss after they were written there and before the source acknowledged them ` +
      `\\(it restarted without persistence, was flushed, or failed over to a replica that had not received them; its target id \\S+ is gone\\): they were still in flight on the source and were written there again, none lost\\. ` +
      `Jobs this run had written there and acknowledged on the source before that loss may be gone with it: ${wording}\\. Restore it from a backup if there is one\\.\n`,
  );

describe('a run continued in a new execution whose target lost its data there', () => {
  it('the first execution summed up before the loss: the one line names what it wrote there (queue:a-small), not only the continuation\'s queue', { timeout: 120_000 }, async () => {
    const { words } = await continuedRunWithLoss(false);
    expect(words).not.toContain('Complete');
    expect(words.match(/TargetLostDataError/g), words).toHaveLength(1);
    expect(words).toMatch(lossLine('queue:b-big 20 \\(acknowledged before the loss\\) · queue:a-small up to 5 \\(written during the run; whether before the loss, the run cannot tell\\)'));
    expect(words).not.toContain('no job went with it');
  });

  it('the first execution summed up after the loss (its id-only line) and the continuation found the lost copy: one line for the one loss', { timeout: 120_000 }, async () => {
    const { words, perExecution } = await continuedRunWithLoss(true);
    // Each execution said it, in its own words.
    expect(perExecution.map((s) => s.failures.filter((f) => f.error.startsWith('TargetLostDataError: ')).length)).toEqual([1, 1]);
    expect(words).not.toContain('Complete');
    expect(words.match(/TargetLostDataError/g), words).toHaveLength(1);
    expect(words).not.toContain('its plan found there is gone');
    expect(words).toMatch(lossLine('queue:b-big 20 \\(acknowledged before the loss\\) · queue:a-small up to 5 \\(written during the run; whether before the loss, the run cannot tell\\)'));
  });
});
