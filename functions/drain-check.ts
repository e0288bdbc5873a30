import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { validateConfig } from '../core/config/validate-config.js';
import { drainCheck } from '../core/drain/drain-check.js';
import type { DrainReport } from '../core/drain/drain-report.js';
import { connections } from './support/container.js';
import { addCountMetrics, createHandler } from './support/create-handler.js';
import { DrainStateValues, MetricModes, MetricNames } from './support/metric-names.js';
import { logger, metrics } from './support/powertools.js';

/** The previous report, as this function returned it: what the verdict compares with. */
const previousSchema = z.looseObject({
  checkedAt: z.number(),
  remaining: z.number(),
  readyNow: z.number(),
});

const inputSchema = z.strictObject({
  /** The connection to check (default "source"). */
  connection: z.string().min(1).default('source'),
  previous: previousSchema.optional(),
  /** Queues that should receive nothing any more: the check is scoped to them, arrivals are reported. */
  retiredQueues: z.array(z.string().min(1)).optional(),
});

/**
 * "Drain check", run on a schedule after a cut-over. Input: `{connection?, previous?,
 * retiredQueues?}`. Output: the DrainReport (pass it back as `previous` next time). Reads only.
 * Metrics: QueueDepth, OrphanedJobs, RemainingJobs, InflightJobs, RetiredQueueArrivals, DrainState.
 */
export const handler = createHandler(
  {
    task: 'drain-check',
    scope: () => ({ mode: MetricModes.drainCheck }),
    parse: (event) => validateConfig(inputSchema, event ?? {}, (path) => ['input', ...path.map(String)].join('.')),
    run: async (input): Promise<DrainReport> => {
      const { redis, keys, name } = await connections.get(input.connection);
      const report = await drainCheck(redis, keys, {
        ...(input.previous ? { previous: input.previous as unknown as DrainReport } : {}),
        ...(input.retiredQueues ? { retiredQueues: input.retiredQueues } : {}),
        name,
      });
      const values = {
        [MetricNames.QueueDepth]: report.queues.reduce((n, q) => n + q.depth, 0),
        [MetricNames.OrphanedJobs]: report.orphans.total,
        [MetricNames.RemainingJobs]: report.remaining,
        [MetricNames.InflightJobs]: report.inflight.reduce((n, l) => n + l.size, 0),
        [MetricNames.RetiredQueueArrivals]: report.queues.reduce((n, q) => n + (q.arrivedSinceLastCheck ?? 0), 0),
      };
      addCountMetrics(values);
      metrics.addMetric(MetricNames.DrainState, MetricUnit.NoUnit, DrainStateValues[report.verdict.state]);
      logger.info(`${name} is ${report.verdict.state}`, { connection: input.connection, redis: name, ...values, state: report.verdict.state, readyNow: report.readyNow, reasons: report.verdict.reasons });
      return report;
    },
  },
  connections,
);
