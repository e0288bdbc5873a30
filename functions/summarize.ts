import { cronLeftWords } from '../core/cron/cron-left.js';
import { leftBehindOf } from '../core/workflow/left-behind.js';
import { addUpStep } from '../core/workflow/steps/add-up-step.js';
import { summarizeStep, type RunSummary } from '../core/workflow/steps/summarize-step.js';
import type { WorkState } from '../core/workflow/work-list.js';
import { connections } from './support/container.js';
import { counterDelta } from './support/counter-metrics.js';
import { createHandler } from './support/create-handler.js';
import { logger } from './support/powertools.js';
import { addUpListUntil, summaryLookUntil } from './support/time-budget.js';
import { parseAddUpInput, parseSummarizeInput, scopeOfSettings, SummarizeFunctionSteps, summarizeFunctionStep } from './support/task-inputs.js';

type Parsed = { step: 'add-up'; input: ReturnType<typeof parseAddUpInput> } | { step: 'summarize'; input: ReturnType<typeof parseSummarizeInput> };

/**
 * Two states of the loop over a run's sets and queues, both adding up what the items did:
 * - "Add up and list the next sets and queues" (`step: "add-up"`). Input `{settings, work,
 *   results}`: folds the batch's results into the bounded tally and returns the next WorkState.
 * - "Summarize". Input `{settings, execution, tally, resumed?, listContinuedIn?}`: ends this
 *   execution among the run's executions (the last one releases the run lock) and returns the
 *   RunSummary.
 * No metrics: the page tasks counted the work as it was done.
 */
export const handler = createHandler(
  {
    task: 'summarize',
    scope: scopeOfSettings,
    parse: (event): Parsed =>
      summarizeFunctionStep(event) === SummarizeFunctionSteps.addUp ? { step: 'add-up', input: parseAddUpInput(event) } : { step: 'summarize', input: parseSummarizeInput(event) },
    run: async (parsed, context): Promise<RunSummary | WorkState> => {
      if (parsed.step === 'add-up') {
        const work = await addUpStep(parsed.input, connections, { listUntil: addUpListUntil(context) });
        logger.info(`added up batch ${work.batches}`, { counts: work.tally.counts, next: work.next, continueAt: work.continueAt });
        return work;
      }
      const summary = await summarizeStep(parsed.input, connections, { lookUntil: summaryLookUntil(context) });
      // "complete" only where the CLI's summary of the same run would say "Complete": every item
      // finished and no job left anywhere it names (left-behind.ts); the clauses are counts, no keys.
      const behind = leftBehindOf(summary);
      const ended = !summary.complete ? 'incomplete' : summary.dryRun ? 'dry run done' : behind.verdict === 'left' ? 'done, but jobs were left behind' : behind.verdict === 'unmatched' ? 'done, but a rename moved nothing' : behind.verdict === 'unknown' ? 'done, but jobs may have been left behind' : behind.verdict === 'running' ? `done, but ${heldBy(behind)} (drain-check tells when they are gone)` : 'complete';
      // Attempts whose moves no counter has (a page task retried while an attempt still ran, a
      // lost reply): the totals below are not said as exact.
      const uncounted = summary.totals.uncountedAttempts ?? 0;
      // Jobs put where nobody fetches, or only processes that may have been killed listen: the CLI's
      // "Complete" says them in a "but …" tail; so does this line (counts, never queue names).
      const unheard = summary.dryRun ? [] : [...(summary.unheard ? ['some went to queues nobody fetches from'] : []), ...(summary.unheardSilent ? ['some went to queues listened to only by Sidekiq processes that may have been killed'] : [])];
      const but = ended === 'complete' && unheard.length > 0 ? `, but ${unheard.join(' and ')}` : '';
      // sidekiq-cron definitions the run was asked to carry or rewrite and left (unread, unjudged),
      // in the words of the CLI's verdict (cron-left.ts), which watch and status end "Done, but"
      // with (exit 1): never "complete" over them; said after the other reasons, as the CLI does.
      const cronLeft = summary.dryRun ? undefined : parsed.input.settings.cronLeft;
      const cronWords = cronLeftWords(cronLeft, summary.mode);
      // A "complete, but …" (jobs where nobody fetches) keeps its reason first, as any other does:
      // the line has no "Needs a look" above it to say that reason (the CLI's verdict has one).
      const verdict = cronWords === undefined ? `${ended}${but}` : ended !== 'complete' ? `${ended}; also ${cronWords}` : unheard.length > 0 ? `done, but ${unheard.join(' and ')}; also ${cronWords}` : `done, but ${cronWords}`;
      logger.info(`run ${verdict}${uncounted > 0 ? ' (counts may be short: look at the keys, drain-check)' : ''}`, {
        ...(uncounted > 0 ? { countsMayBeShort: { uncountedAttempts: uncounted } } : {}),
        complete: summary.complete,
        ...(cronWords !== undefined ? { cronLeft } : {}),
        ...(behind.left.length > 0 ? { leftBehind: behind.left } : {}),
        ...(behind.uncertain.length > 0 ? { mayHaveLeftBehind: behind.uncertain } : {}),
        ...(behind.unmatched.length > 0 ? { renamesMovedNothing: behind.unmatched } : {}),
        ...(behind.working.length > 0 ? { workingInPrivateLists: behind.working } : {}),
        ...(behind.running.length > 0 ? { runningInNoList: behind.running } : {}),
        ...(behind.notHeardFrom.length > 0 ? { notHeardFrom: behind.notHeardFrom } : {}),
        totals: counterDelta(summary.mode, summary.totals),
        counts: summary.counts,
        releasedLock: summary.releasedLock,
        // The looks over the keyspace that stopped before its end (at the summary's time bound).
        ...(summary.heldByWorkers?.cutShort ? { privateListsLookCutShort: summary.heldByWorkers.cutShort } : {}),
        ...(summary.leftoverLooksCutShort ? { leftoverLooksCutShort: summary.leftoverLooksCutShort } : {}),
        // How far each got (no key names, no job data): 'time' or 'keys' for jobs under other
        // prefixes, a KeyspaceCut for the queues --no-queues left out.
        ...(summary.underOtherPrefixes?.cutShort ? { underOtherPrefixesCutShort: summary.underOtherPrefixes.cutShort } : {}),
        ...(summary.notLookedAt?.queuesCutShort ? { notLookedAtQueuesCutShort: summary.notLookedAt.queuesCutShort } : {}),
        ...(summary.selectedArrivalsCutShort ? { selectedArrivalsCutShort: summary.selectedArrivalsCutShort } : {}),
        // The target's dead set at Sidekiq's cap: its next death drops the oldest (counts only).
        ...(summary.deadSetOverCap ? { deadSetOverCap: summary.deadSetOverCap } : {}),
        // Where the run put jobs no process fetches, or only silent ones listen (counts only: the
        // jobs are those of the first queues listed, all of them when `queues` is no larger).
        ...(summary.unheard ? { unheardQueues: queueCounts(summary.unheard) } : {}),
        ...(summary.unheardSilent ? { queuesHeardOnlyBySilent: { ...queueCounts(summary.unheardSilent), silentSeconds: summary.unheardSilent.silentSeconds } } : {}),
      });
      return summary;
    },
  },
  connections,
);

/**
 * Who holds jobs of the run's queues (left-behind.ts heldByLiveWorkers, one rule for all): live
 * processes, in their fetchers' private lists (`workingInPrivateLists`) or in no list
 * (`runningInNoList`); processes not heard from for several beats, which may have been killed and
 * whose jobs nobody then works on (`notHeardFrom`), said apart.
 */
function heldBy(behind: { readonly working: readonly string[]; readonly running: readonly string[]; readonly notHeardFrom: readonly string[] }): string {
  const where = [...(behind.working.length > 0 ? ["in their fetchers' private lists"] : []), ...(behind.running.length > 0 ? ['in no list'] : [])].join(' and ');
  return [
    ...(where ? [`live Sidekiq processes run jobs of its queues, ${where}`] : []),
    ...(behind.notHeardFrom.length > 0 ? [`Sidekiq processes not heard from for several beats, which may have been killed, hold jobs of its queues`] : []),
  ].join('; ');
}

/** A list of queues as counts only (no names): all told, and the jobs of those listed (`jobsOfFirst` of them when fewer than all). */
function queueCounts(found: { readonly queues: readonly { readonly jobs: number }[]; readonly total: number }): { queues: number; jobs: number; jobsOfFirst?: number } {
  const jobs = found.queues.reduce((sum, q) => sum + q.jobs, 0);
  return { queues: found.total, jobs, ...(found.total > found.queues.length ? { jobsOfFirst: found.queues.length } : {}) };
}
