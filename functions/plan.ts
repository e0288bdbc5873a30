import { planStep, type PlanOutput } from '../core/workflow/steps/plan-step.js';
import { connections } from './support/container.js';
import { counterDelta, counterMetrics } from './support/counter-metrics.js';
import { addCountMetrics, createHandler } from './support/create-handler.js';
import { logger } from './support/powertools.js';
import { parsePlanEvent, scopeOfSettings } from './support/task-inputs.js';
import { planLookUntil, planResumeUntil, planWalkUntil } from './support/time-budget.js';

/**
 * "Plan migration". Input: `{executionInput, executionArn}` — the execution input (WorkflowInput,
 * or `{continuation}` for a continued execution), validated by the plan step, and the execution's
 * ARN, which a new run's plan records as the one that planned it (parsePlanEvent). Output: `{settings, itemCount, plannedJobs,
 * work, execution, resumed}` — the first batch of items only, the list itself stays on the source;
 * `plannedJobs` (a new run's) is what progress measures against.
 * Metrics (transfers): what it finished of transfers left in flight by interrupted runs.
 */
export const handler = createHandler(
  {
    task: 'plan',
    scope: scopeOfSettings,
    parse: parsePlanEvent,
    run: async ({ input, execution }, context): Promise<PlanOutput> => {
      const plan = await planStep(input, connections, execution, { lookUntil: () => planLookUntil(context), walkUntil: () => planWalkUntil(context), resumeUntil: () => planResumeUntil(context) });
      const resumed = counterDelta('transfer', plan.resumed);
      if (plan.settings.mode === 'transfer') addCountMetrics(counterMetrics('transfer', resumed));
      logger.info(`planned ${plan.itemCount} item(s)`, {
        dryRun: plan.settings.dryRun,
        execution: plan.execution,
        ...(plan.plannedJobs === undefined ? {} : { plannedJobs: plan.plannedJobs }),
        firstBatch: plan.work.batch.map((i) => `${i.kind}:${i.name}`),
        ...(plan.settings.mode === 'transfer' ? { resumed } : {}),
      });
      return plan;
    },
  },
  connections,
);
