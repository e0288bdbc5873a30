import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj, type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import { RedisUnavailableError } from '../../core/redis/redis-errors.js';
import { MetricDimensions, MetricModes, MetricNames } from './metric-names.js';
import { logger, metrics, tracer } from './powertools.js';
import { describeError, hasCause, isMiddyTimeout, toTaskError } from './task-error.js';

export { RETRYABLE_TASK_ERRORS, TaskError, TaskErrorNames, type TaskErrorName } from './task-error.js';

/** What an invocation is about, for the persistent log keys and the `mode` metric dimension. */
export interface InvocationScope {
  readonly runId?: string;
  readonly mode?: string;
  readonly itemKind?: string;
  readonly itemName?: string;
}

export interface TaskSpec<I, O> {
  /** The task's name in logs and messages: "reroute-set-page". */
  readonly task: string;
  /** Reads the scope off the raw event, best effort (the event may be malformed); must not throw. */
  readonly scope: (event: unknown) => InvocationScope;
  /** Validates the event: throws core's InputError (or ConfigError) when it is wrong. */
  readonly parse: (event: unknown) => I;
  /** Runs the core step. Logs once and records its metrics (on `metrics`) itself. */
  readonly run: (input: I, context: Context) => Promise<O>;
}

/**
 * A Lambda handler around a core step, with middy and Powertools: the logger with the Lambda
 * context and persistent keys (task, runId, mode, item kind and name), the tracer, and EMF
 * metrics published once per invocation. Whatever the step throws leaves as a TaskError named
 * InvalidInputError, RetryableError or FatalError (see TaskErrorNames), logged once, without its
 * cause's properties (see describeError). A failed Redis connection also counts in
 * RedisConnectionErrors (a connection attempt of `connections` failed during the invocation,
 * or the error came from a connection that broke).
 *
 * An invocation that failed on a connection, or ran out of time (with a command waiting on one),
 * leaves the container's connections behind (`connections.discard`): the task's retry, a few
 * seconds later and most often on this same warm container, opens new ones. A connection whose
 * path went silent (the node behind the endpoint's name replaced, a middlebox that forgot it: no
 * reset ever comes) looks open to ioredis, whose commands on it only time out: kept, it failed
 * every retry the same way (test/functions/stale-connection-retry.test.ts).
 */
export function createHandler<I, O>(spec: TaskSpec<I, O>, connections: { readonly failedConnects: number; discard?(): void }): MiddyfiedHandler<unknown, O> {
  let failedConnectsBefore = 0;

  const scope: MiddlewareObj<unknown, O> = {
    before: (request) => {
      const s = readScope(spec, request.event);
      logger.appendKeys({ task: spec.task, ...s });
      metrics.addDimension(MetricDimensions.mode, KNOWN_MODES.has(s.mode ?? '') ? s.mode! : MetricModes.unknown);
      failedConnectsBefore = connections.failedConnects;
    },
    onError: (request) => {
      const original = request.error;
      const error = toTaskError(original, spec.task);
      const onConnection = hasCause(original, RedisUnavailableError);
      if (connections.failedConnects > failedConnectsBefore || onConnection) {
        metrics.addMetric(MetricNames.RedisConnectionErrors, MetricUnit.Count, 1);
      }
      // After the early timeout too, as Lambda's own timeout would have (it ends the runtime, and
      // every connection with it): a reply still awaited is lost either way, which the retry's
      // page attempt counts (uncountedAttempts), rather than kept on a connection that may be dead.
      if (onConnection || isMiddyTimeout(original)) connections.discard?.();
      logger.error(`${spec.task} failed: ${error.name}`, { error: describeError(error) });
      request.error = error;
    },
  };

  // Publish only what the invocation recorded: Powertools' logMetrics warns on every invocation
  // that has nothing to publish (release-lock, a failed validation), one more log line each time.
  const publishMetrics: MiddlewareObj<unknown, O> = {
    after: flushMetrics,
    onError: flushMetrics,
  };

  return middy(async (event: unknown, context: Context): Promise<O> => spec.run(spec.parse(event), context))
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(publishMetrics)
    .use(scope); // last: its onError runs first, so the others see the TaskError
}

// The dimension's values are ours, never whatever a malformed event says (cardinality).
const KNOWN_MODES = new Set<string>([MetricModes.reroute, MetricModes.transfer, MetricModes.drainCheck, MetricModes.drainCheckOnDemand]);

function flushMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  else {
    metrics.clearDimensions();
    // And a timestamp the invocation set (the drain check's start): the next one stamps its own.
    metrics.clearMetrics();
  }
}

function readScope<I, O>(spec: TaskSpec<I, O>, event: unknown): Record<string, string> {
  let s: InvocationScope = {};
  try {
    s = spec.scope(event);
  } catch {
    // a malformed event: parse() reports it
  }
  const keys: Record<string, string> = {};
  for (const [k, v] of Object.entries(s)) if (typeof v === 'string' && v !== '') keys[k] = v.slice(0, 200);
  return keys;
}

/** Records counters as Count metrics (once per invocation: never per job). */
export function addCountMetrics(values: Readonly<Partial<Record<string, number>>>): void {
  for (const [name, value] of Object.entries(values)) if (value !== undefined) metrics.addMetric(name, MetricUnit.Count, value);
}
