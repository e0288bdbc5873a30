import type { ConnectionProvider } from '../../core/workflow/connections.js';
import { pageStep } from '../../core/workflow/steps/page-step.js';
import type { WorkItem } from '../../core/workflow/work-item.js';
import { counterDelta, counterMetrics } from './counter-metrics.js';
import { addCountMetrics, createHandler } from './create-handler.js';
import { MetricNames } from './metric-names.js';
import { logger } from './powertools.js';
import { parsePageInput, scopeOfSettings } from './task-inputs.js';
import { pageDeadline } from './time-budget.js';

export interface PageTask {
  /** "reroute-set-page", "transfer-queue"… */
  readonly task: string;
  readonly mode: 'reroute' | 'transfer';
  readonly kind: 'set' | 'queue';
}

/**
 * A page task's handler: checks that the input is this task's (mode, kind, cursor), runs pages of
 * the item until it is done, the time budget is spent (pageDeadline) or the run's
 * pagesPerInvocation is reached, and returns the item with its new cursor and counters. One log
 * line and one set of metrics per invocation, from what this invocation did (output counters −
 * input counters).
 */
export function createPageHandler(task: PageTask, connections: ConnectionProvider & { readonly failedConnects: number; discard?(): void }) {
  return createHandler(
    {
      task: task.task,
      scope: scopeOfSettings,
      parse: (event) => parsePageInput(event, task),
      run: async (input, context): Promise<WorkItem> => {
        if (input.item.done) {
          logger.info(`${task.kind} ${input.item.name} is already done: nothing to do`, { cursor: input.item.cursor });
          return input.item;
        }
        const deadline = pageDeadline(context);
        let pages = 0;
        let fromReceipt = false;
        const item = await pageStep(input, connections, {
          deadline,
          onReceipt: () => {
            fromReceipt = true;
          },
          onPage: (page) => {
            pages++;
            logger.debug('page', { page: pages, done: page.done, counters: counterDelta(task.mode, page.counters as object) });
          },
          onFailureAfterProgress: (error, written) => {
            logger.warn(`${task.kind} ${input.item.name}: a page failed after ${written} page(s) were written; returning those, the next task starts at the failed page`, {
              error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
            });
          },
        });
        if (fromReceipt) {
          // Counted once already, by the attempt that did the work: no metrics again.
          logger.info(`${task.kind} ${item.name}: an earlier attempt of this task did these pages, its answer lost on the way back; answering with it again`, {
            done: item.done,
            iteration: item.iteration,
            cursor: item.cursor,
          });
          return item;
        }
        const uncounted = (item.counters.uncountedAttempts ?? 0) - (input.item.counters.uncountedAttempts ?? 0);
        if (uncounted > 0) {
          logger.warn(`${task.kind} ${item.name}: ${uncounted} attempt(s) may have moved jobs these counts do not include (an earlier attempt of this task never answered, or a page call's reply was lost); the jobs moved once all the same`, { uncountedAttempts: uncounted });
        }
        // A target that lost a slice's copy before the acknowledge (copy-kept.ts): written again, said per task.
        const recopied = ((item.counters as { recopied?: number }).recopied ?? 0) - ((input.item.counters as { recopied?: number }).recopied ?? 0);
        if (recopied > 0) {
          logger.warn(`${task.kind} ${item.name}: the target lost the copy of ${recopied} job(s) after they were written there and before the source acknowledged them (restarted empty, flushed or failed over); they were still in flight on the source and were written again, none lost. The target lost data: the run's summary says so`, { recopied });
        }
        const counters = counterDelta(task.mode, item.counters, input.item.counters);
        addCountMetrics({ ...counterMetrics(task.mode, counters), [MetricNames.PagesProcessed]: pages });
        logger.info(`${task.kind} ${item.name}: ${pages} page(s), ${item.done ? 'done' : 'to be continued'}`, {
          pages,
          done: item.done,
          iteration: item.iteration,
          cursor: item.cursor,
          counters,
          ...perDestination(item, input.item),
          msLeftBeforeDeadline: deadline - Date.now(),
        });
        return item;
      },
    },
    connections,
  );
}

/** This invocation's moves per destination (`movedTo` / `writtenTo`): queue and set names, no jobs. */
function perDestination(after: WorkItem, before: WorkItem): { to?: Record<string, number> } {
  const field = 'movedTo' in after.counters ? 'movedTo' : 'writtenTo';
  const now = (after.counters as unknown as Record<string, Record<string, number> | undefined>)[field] ?? {};
  const then = (before.counters as unknown as Record<string, Record<string, number> | undefined>)[field] ?? {};
  const to: Record<string, number> = {};
  for (const [name, n] of Object.entries(now)) if (n - (then[name] ?? 0) !== 0) to[name] = n - (then[name] ?? 0);
  return Object.keys(to).length > 0 ? { to } : {};
}
