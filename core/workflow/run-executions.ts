import type { Redis } from 'ioredis';

/** Longer than any run with its continuations; the last execution deletes the key anyway. */
const EXECUTIONS_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The executions of a run that have not summarized yet, on the source Redis beside the run lock:
 * `<prefix>sidekiq-migrate:<runId>:executions`, a hash whose fields name each execution by its
 * place in the run — `root`, `item:<kind>:<name>:<continues>` for an item continued in a new
 * execution, `list:<next>` for the rest of the list continued in one. An execution is added
 * before it is started (by the step that decides to continue), so that the one starting it can
 * never see itself last; only the last execution to summarize releases the run lock.
 */
export const runExecutionsKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:executions`;

export const ROOT_EXECUTION = 'root';
export const itemContinuationName = (item: { readonly kind: string; readonly name: string; readonly continues?: string }): string =>
  `item:${item.kind}:${item.name}:${item.continues ?? ROOT_EXECUTION}`;
export const listContinuationName = (next: number): string => `list:${next}`;

/** A new run (or a re-run of a stopped one): its only execution is the root. */
export async function startRunExecutions(redis: Redis, prefix: string, runId: string): Promise<void> {
  const key = runExecutionsKey(prefix, runId);
  await redis.multi().del(key).hset(key, ROOT_EXECUTION, '1').expire(key, EXECUTIONS_TTL_SECONDS).exec();
}

/** Adds an execution about to start (idempotent: a retried step adds it again). */
export async function addRunExecution(redis: Redis, prefix: string, runId: string, name: string): Promise<void> {
  const key = runExecutionsKey(prefix, runId);
  await redis.multi().hset(key, name, '1').expire(key, EXECUTIONS_TTL_SECONDS).exec();
}

/**
 * Removes an execution that has summarized, and says how many are left (0: it was the last one,
 * which releases the lock). Idempotent: a retried summarize removes nothing and counts again.
 */
export async function endRunExecution(redis: Redis, prefix: string, runId: string, name: string): Promise<number> {
  const key = runExecutionsKey(prefix, runId);
  const replies = await redis.multi().hdel(key, name).hlen(key).exec();
  const left = replies?.[1];
  if (!left || left[0]) throw left?.[0] ?? new Error(`could not count the executions of run ${runId}`);
  return Number(left[1]);
}
