import { InputError, inputErrorText } from '../../core/errors/input-error.js';
import { SidekiqMigrateError } from '../../core/errors/sidekiq-migrate-error.js';
import { classifyRedisError } from '../../core/redis/redis-errors.js';

/**
 * The error names a handler throws. Step Functions matches Retry and Catch on the error name
 * (the Lambda runtime reports `error.name` as the errorType), so these three names are the whole
 * contract between the handlers and the state machine:
 *
 * - `InvalidInputError`: the task's input or the function's configuration is wrong (core's
 *   InputError, ConfigError included). Nothing was touched. Never retried.
 * - `RetryableError`: a transient failure (connection lost, failover, timeout, throttled secret
 *   read). Doing the same again may succeed, and is safe: every step resumes from its cursor.
 *   The only name the state machine retries (besides Lambda service errors).
 * - `FatalError`: anything else, core's non-retryable errors and unexpected ones alike. Retrying
 *   would fail the same way; the item is recorded as failed.
 */
export const TaskErrorNames = {
  invalidInput: 'InvalidInputError',
  retryable: 'RetryableError',
  fatal: 'FatalError',
} as const;

export type TaskErrorName = (typeof TaskErrorNames)[keyof typeof TaskErrorNames];

/** The names worth a Retry in the state machine. */
export const RETRYABLE_TASK_ERRORS: readonly TaskErrorName[] = [TaskErrorNames.retryable];

/**
 * Characters of a RetryableError's or FatalError's message (an InvalidInputError's names every
 * problem of the input, and stays whole). Step Functions carries a failed item's error (the
 * Lambda runtime's JSON of name, message and stack) in the Map's results: with a bounded message
 * a batch of failed items stays far below the 256 KiB a state may hold, whatever a Redis or
 * library error says.
 */
export const TASK_ERROR_MESSAGE_CHARS = 1_000;

/** What a handler throws: one of TaskErrorNames, the original error kept as `cause`. */
export class TaskError extends Error {
  constructor(
    override readonly name: TaskErrorName,
    message: string,
    options: { cause: unknown },
  ) {
    const bounded = name === TaskErrorNames.invalidInput || message.length <= TASK_ERROR_MESSAGE_CHARS;
    super(bounded ? message : `${message.slice(0, TASK_ERROR_MESSAGE_CHARS - 1)}…`, options);
  }

  get retryable(): boolean {
    return this.name === TaskErrorNames.retryable;
  }
}

/**
 * Maps whatever a task threw to a TaskError, explicitly:
 * - core InputError (ConfigError included) → InvalidInputError, said as the CLI says it (inputErrorText);
 * - core errors with `retryable: true` → RetryableError; other core errors → FatalError;
 * - middy's early timeout (the Lambda was about to be killed mid-page) → RetryableError: pages
 *   are atomic per Lua call and resume from the cursor, so running the task again is safe;
 * - an unclassified error that core's Redis classification recognises as transient (a
 *   dropped connection, READONLY during a failover…) → RetryableError;
 * - anything else → FatalError.
 */
export function toTaskError(error: unknown, task: string): TaskError {
  if (error instanceof TaskError) return error;
  if (error instanceof InputError) return new TaskError(TaskErrorNames.invalidInput, inputErrorText(error), { cause: error });
  if (error instanceof SidekiqMigrateError) {
    return new TaskError(error.retryable ? TaskErrorNames.retryable : TaskErrorNames.fatal, error.message, { cause: error });
  }
  if (isMiddyTimeout(error)) {
    return new TaskError(TaskErrorNames.retryable, `${task} ran out of time before finishing its page; running it again resumes from the same cursor`, { cause: error });
  }
  // The classified error as cause (the original is its cause): whoever reads only the cause (the
  // local runner's events, say) reads the same words as the message.
  const redis = classifyRedisError(error, `${task}`);
  if (redis.retryable) return new TaskError(TaskErrorNames.retryable, redis.message, { cause: redis });
  const e = error as { name?: unknown; message?: unknown } | null;
  const what = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  // Refusals the classification explains in words (out of memory: what to do; a wrong key type;
  // a MULTI aborted for one of those; credentials changed during the run) are no unexpected error.
  if (/^(OOM|WRONGTYPE|EXECABORT|NOAUTH|WRONGPASS|ERR Protocol error: unauthenticated)\b/.test(message) && redis.message !== `${task}: ${message}`) return new TaskError(TaskErrorNames.fatal, redis.message, { cause: redis });
  return new TaskError(TaskErrorNames.fatal, `Unexpected ${what} in ${task}: ${message}`, { cause: error });
}

/** middy's early timeout: the invocation was about to be killed, whatever it was waiting on. */
export function isMiddyTimeout(error: unknown): boolean {
  const e = error as { name?: unknown; cause?: { package?: unknown } } | null;
  return e?.name === 'TimeoutError' && e.cause?.package === '@middy/core';
}

/** True when `error` or one of its causes is an instance of `type`. */
export function hasCause(error: unknown, type: abstract new (...args: never[]) => Error): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof type) return true;
  }
  return false;
}

/**
 * An error as it may be logged: names and messages along the cause chain, nothing else. Error
 * objects are never logged as they are: ioredis attaches the failed command with its arguments
 * (the AUTH password, the payloads a script was given) as an enumerable property, which
 * Powertools' formatter would print.
 */
export function describeError(error: unknown): { name: string; message: string; causes?: { name: string; message: string }[] } {
  const describe = (e: unknown) => {
    const o = e as { name?: unknown; message?: unknown } | null;
    if (typeof o?.message === 'string') return { name: typeof o.name === 'string' ? o.name : 'Error', message: o.message };
    return { name: typeof e, message: typeof e === 'object' ? '(not an Error)' : String(e) };
  };
  const causes: { name: string; message: string }[] = [];
  let cause = (error as { cause?: unknown } | null)?.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 5; depth++) {
    causes.push(describe(cause));
    cause = (cause as { cause?: unknown }).cause;
  }
  return { ...describe(error), ...(causes.length > 0 ? { causes } : {}) };
}
