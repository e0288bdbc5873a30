import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { validateConfig } from '../core/config/validate-config.js';
import { drainCheckBudget } from '../core/drain/check-budget.js';
import { drainCheck } from '../core/drain/drain-check.js';
import type { DrainReport } from '../core/drain/drain-report.js';
import { jobsNobodyWillRun } from '../core/drain/judge-drain.js';
import { withNoSidekiqData } from '../core/drain/no-sidekiq-data.js';
import { recallCheck, rememberCheck, rememberedCheckKey } from '../core/drain/remembered-check.js';
import { checkSidekiqPrefixLook } from '../core/redis/sidekiq-prefixes.js';
import { lookAtMoveTarget } from '../core/drain/move-target.js';
import type { Connection } from '../core/workflow/connections.js';
import { InputError } from '../core/errors/input-error.js';
import { envVariable } from './support/connection-env.js';
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
  /** The connection to check (default: the function's one connection, see defaultConnection). */
  connection: z.string().min(1).optional(),
  previous: previousSchema.optional(),
  /** Queues that should receive nothing any more: the check is scoped to them, arrivals are reported. */
  retiredQueues: z.array(z.string().min(1)).optional(),
  /**
   * Compare with the last check of the same scope remembered on the Redis when no `previous` is
   * given, and remember this one (default): what lets scheduled checks report rates, ETAs, "no
   * progress" and arrivals. False keeps the check strictly read-only.
   */
  remember: z.boolean().default(true),
  /**
   * A move out of the checked connection (its run id): the check also looks at whether its target
   * (`target`, default the deployment's "target" connection) still carries the id the move found
   * there, and says so when it lost what was moved (move-target.ts): `stuck` then, never "drained".
   */
  runId: z.string().regex(/^[A-Za-z0-9_.-]{1,80}$/, 'use 1–80 letters, digits, "_", "." or "-"').optional(),
  target: z.string().min(1).optional(),
  /**
   * Set by the deployment's schedule only (migration-schedules.ts): its metrics then go to the
   * scheduled check's series (mode `drain-check`), which the drain alarms judge. Without it (the
   * CLI never sends it) they go to `drain-check-on-demand`: a check of another scope does not
   * move the schedule's Minimum or Maximum.
   */
  scheduled: z.literal(true).optional(),
});

/** The `mode` dimension of a check's metrics: the schedule's series only for the schedule's checks. */
function drainCheckMode(event: unknown): typeof MetricModes.drainCheck | typeof MetricModes.drainCheckOnDemand {
  return typeof event === 'object' && event !== null && (event as { scheduled?: unknown }).scheduled === true ? MetricModes.drainCheck : MetricModes.drainCheckOnDemand;
}

/**
 * "Drain check", run on a schedule after a cut-over, or on demand (`sidekiq-migrate drain-check
 * --deployed`). Input: `{connection?, previous?, retiredQueues?, remember?, runId?, target?, scheduled?}`. Output: the
 * DrainReport. Reads only, but for the one small key it remembers itself under (see `remember`).
 * Metrics: QueueDepth, OrphanedJobs, RemainingJobs, InflightJobs, QuarantinedJobs, RetiredQueueArrivals, UnrunJobs, DrainState
 * (a move's target that lost what it moved makes it stuck: the `…-drain-stuck` alarm, never `…-drained`),
 * under mode `drain-check` for the schedule's checks and `drain-check-on-demand` for any other.
 */
export const handler = createHandler(
  {
    task: 'drain-check',
    scope: (event) => ({ mode: drainCheckMode(event) }),
    parse: (event) => validateConfig(inputSchema, event ?? {}, (path) => ['input', ...path.map(String)].join('.')),
    run: async (parsed, context): Promise<DrainReport> => {
      // Every metric of the check stamped with its start, the instant its schedule fired it: the
      // alarms count periods of the schedule's rate in a row, a missing one not breaching, and a
      // check stamped at its end (up to the function's 120 s later) crossed into the next period
      // whenever it took longer than the one before, leaving a period without a data point.
      metrics.setTimestamp(Date.now());
      // Half the invocation for reading set entries, three quarters for the looks over the keyspace
      // (the discovery of queue lists a sixth of it first; after the sets, in-flight keys,
      // quarantine lists, workers' private lists, sidekiq-cron namespaces and other prefixes' keys;
      // cut short, they say so: never "drained"), the rest for the rest: a check must end in time.
      const { dataLookUntil, readQueuesUntil, readSetsUntil, rereadSetsUntil, lookUntil, beatsUntil } = drainCheckBudget(Date.now(), context.getRemainingTimeInMillis());
      const input = { ...parsed, connection: parsed.connection ?? defaultConnection() };
      const { redis, keys, name } = await connections.get(input.connection);
      // "drained" under a wrong prefix would send an operator on: fails (and alarms) instead. Its
      // look walks every key when nothing is under the prefix: a quarter of the time, as the
      // plan's (time-budget.ts); cut short with nothing found, the report says so, never drained.
      const dataLook = await checkSidekiqPrefixLook(redis, keys, { name, option: `the connection's prefix ${envVariable(input.connection, 'PREFIX')}` }, { until: dataLookUntil });
      const rememberedKey = rememberedCheckKey(keys.prefix, input.retiredQueues);
      const previous = input.previous ?? (input.remember ? await recallCheck(redis, rememberedKey) : undefined);
      // The move's target: a connection this function was not given is bad input, named.
      const moveTarget = input.runId === undefined ? undefined : await lookAtMoveTarget({ redis, keys, name }, await moveTargetConnection(input.target), input.runId);
      const checked = await drainCheck(redis, keys, {
        ...(moveTarget ? { moveTarget } : {}),
        ...(previous ? { previous: previous as unknown as DrainReport } : {}),
        ...(input.retiredQueues ? { retiredQueues: input.retiredQueues } : {}),
        // Three eighths for reading the queues: those not read by then are named, never drained.
        readQueuesUntil,
        readSetsUntil,
        // Read again after the wait for heartbeats, up to fifteen sixteenths of the invocation.
        rereadSetsUntil,
        lookUntil,
        // As the CLI's: before `drained`, live processes beat twice (confirm-drained.ts), within the invocation.
        beatWait: { until: beatsUntil, onWait: (line) => logger.info(line, { connection: input.connection, redis: name }) },
        ...(dataLook.cutShort ? { sidekiqDataLookCutShort: dataLook.cutShort } : {}),
        name,
      });
      // Nothing of Sidekiq's anywhere on it (a connection to the wrong host or /db): said as the
      // CLI's local check says it, so that `drain-check --deployed` never prints a bare DRAINED.
      const report: DrainReport = withNoSidekiqData(checked, dataLook.hasData);
      const values = {
        [MetricNames.QueueDepth]: report.queues.reduce((n, q) => n + q.depth, 0),
        [MetricNames.OrphanedJobs]: report.orphans.total,
        [MetricNames.RemainingJobs]: report.remaining,
        [MetricNames.InflightJobs]: report.inflight.reduce((n, l) => n + l.size, 0),
        [MetricNames.QuarantinedJobs]: (report.quarantine ?? []).reduce((n, l) => n + l.size, 0),
        [MetricNames.RetiredQueueArrivals]: report.queues.reduce((n, q) => n + (q.arrivedSinceLastCheck ?? 0), 0),
        [MetricNames.UnrunJobs]: jobsNobodyWillRun(report),
      };
      if (input.remember) await rememberCheck(redis, rememberedKey, report);
      addCountMetrics(values);
      metrics.addMetric(MetricNames.DrainState, MetricUnit.NoUnit, DrainStateValues[report.verdict.state]);
      logger.info(`${name} is ${report.verdict.state}`, { connection: input.connection, redis: name, ...values, state: report.verdict.state, readyNow: report.readyNow, reasons: report.verdict.reasons, ...(report.keyspaceLookCutShort ? { keyspaceLookCutShort: report.keyspaceLookCutShort } : {}), ...(report.queuesCutShort ? { queuesCutShort: { read: report.queuesCutShort.read, queues: report.queuesCutShort.queues } } : {}), ...silentOnlyLog(report), comparedWith: input.previous ? 'input' : previous ? 'remembered' : 'none', ...(report.moveTarget ? { moveTarget: report.moveTarget } : {}), ...(report.noSidekiqData ? { noSidekiqData: true } : {}) });
      return report;
    },
  },
  connections,
);

/**
 * The move's target connection: the deployment gives this function its "target" too when its
 * schedule checks the source after a move (drainCheck.runId). Not given it: bad input, named.
 */
async function moveTargetConnection(name = 'target'): Promise<Connection> {
  if (!connections.names.includes(name)) {
    throw new InputError(`input.runId: this drain check has no connection "${name}" to look at the move's target on (it has ${connections.names.join(', ')}): deploy with drainCheck.runId (the deployment then gives it the target connection), or name one with input.target.`);
  }
  return connections.get(name);
}

/**
 * The deployment gives this function only the connection its schedule checks (drainCheck.connection,
 * "target" as well as "source"): `drain-check --deployed` without --connection checks that one.
 */
function defaultConnection(): string {
  const names = connections.names;
  return names.length === 1 ? names[0]! : 'source';
}

/**
 * Jobs waiting on queues only live processes not heard from for several beats listen to (they
 * may have been killed), as the report says them (heardOnlyBySilent, the queue table's
 * `0 (+N silent)`): counts only, for the log line alerts read alone. Not orphans, so not in
 * OrphanedJobs: the verdict keeps them apart too.
 */
function silentOnlyLog(report: DrainReport): { queuesHeardOnlyBySilent?: { queues: number; jobs: number; silentSeconds: number } } {
  const found = report.heardOnlyBySilent;
  return found ? { queuesHeardOnlyBySilent: { queues: found.total, jobs: found.jobs, silentSeconds: found.silentSeconds } } : {};
}
