import { summarizeStep, type RunSummary } from '../core/workflow/steps/summarize-step.js';
import { connections } from './support/container.js';
import { counterDelta } from './support/counter-metrics.js';
import { createHandler } from './support/create-handler.js';
import { logger } from './support/powertools.js';
import { parseSummarizeInput, scopeOfSettings } from './support/task-inputs.js';

/**
 * "Summarize". Input: `{settings, results, resumed?}` (the plan's settings, the items' results,
 * what the plan resumed). Releases the run lock and returns the RunSummary. No metrics: the page
 * tasks counted the work as it was done.
 */
export const handler = createHandler(
  {
    task: 'summarize',
    scope: scopeOfSettings,
    parse: parseSummarizeInput,
    run: async (input): Promise<RunSummary> => {
      const summary = await summarizeStep(input, connections);
      logger.info(`run ${summary.complete ? 'complete' : 'incomplete'}`, {
        complete: summary.complete,
        totals: counterDelta(summary.mode, summary.totals),
        failures: summary.failures.length,
        continuedIn: summary.continuedIn.length,
      });
      return summary;
    },
  },
  connections,
);
