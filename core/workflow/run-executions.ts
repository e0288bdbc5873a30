import type { Redis } from 'ioredis';
import { LuaScript, type RedisCommand } from '../redis/lua-script.js';
import { runLockKey } from '../redis/run-lock.js';
import { workListKey } from './work-list.js';

const addScript = new LuaScript('addRunExecution-4');
const endScript = new LuaScript('endRunExecution-3');
const finishScript = new LuaScript('finishRun-4');

/** Longer than any run with its continuations; the last execution deletes the key anyway. */
const EXECUTIONS_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The executions of a run that have not summarized yet, on the source Redis beside the run lock:
 * `<prefix>sidekiq-migrate:<runId>:executions`, a hash whose fields name each execution by its
 * place in the run — `root`, `item:<kind>:<name>:<continues>` for an item continued in a new
 * execution, `list:<next>` for the rest of the list continued in one. An execution is added
 * before it is started (by the step that decides to continue), so that the one starting it can
 * never see itself last; only the last execution to summarize releases the run lock. A new start
 * of the run (or a re-run of a stopped one) records its root alone, with its list (store-run-plan.ts).
 */
export const runExecutionsKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:executions`;

export const ROOT_EXECUTION = 'root';
export const itemContinuationName = (item: { readonly kind: string; readonly name: string; readonly continues?: string }): string =>
  `item:${item.kind}:${item.name}:${item.continues ?? ROOT_EXECUTION}`;
export const listContinuationName = (next: number): string => `list:${next}`;


/**
 * Adds an execution about to start (idempotent: a retried step adds it again), unless a later
 * start of the run holds its lock (`plannedAt`: when the adding execution planned; `plannedBy`:
 * the execution whose plan it belongs to, which tells a start in the same millisecond): then nothing
 * is added and the later plannedAt is returned. One atomic step (addRunExecution-4.lua).
 */
export async function addRunExecution(redis: Redis, prefix: string, runId: string, name: string, plannedAt?: number, plannedBy?: string): Promise<{ readonly supersededBy?: number }> {
  const reply = (await addScript.run(redis, { keys: [runLockKey(prefix), runExecutionsKey(prefix, runId)], args: [runId, name, plannedAt ?? '', EXECUTIONS_TTL_SECONDS, plannedBy ?? ''] })) as [number, number?];
  return reply[0] === 3 ? { supersededBy: Number(reply[1]) } : {};
}

/** How an execution's end among the run's executions went (endRunExecution). */
export type ExecutionEnd = { readonly left: number } | { readonly supersededBy: number };

/**
 * Removes an execution that has summarized, and says how many are left (0: it was the last one,
 * which releases the lock) — unless a later start of the run holds its lock (`plannedAt`: when
 * the ending execution planned; `plannedBy`, as for addRunExecution): then nothing is removed, and the later plannedAt is returned.
 * One atomic step (endRunExecution-3.lua): a later start that plans meanwhile records its own
 * `root`, which the superseded execution must not end. Idempotent: a retried summarize removes
 * nothing and counts again.
 */
export async function endRunExecution(redis: Redis, prefix: string, runId: string, name: string, plannedAt?: number, plannedBy?: string): Promise<ExecutionEnd> {
  const reply = (await endScript.run(redis, { keys: [runLockKey(prefix), runExecutionsKey(prefix, runId)], args: [runId, name, plannedAt ?? '', plannedBy ?? ''] })) as [number, number];
  return reply[0] === 3 ? { supersededBy: Number(reply[1]) } : { left: Number(reply[1]) };
}

/** What the last execution's finish did on the source (finishRun). */
export type RunFinish = { readonly released: boolean } | { readonly supersededBy: number };

/**
 * The last execution of the run to summarize, or a plan that failed once it held the lock: deletes
 * the run's list and executions and releases the run's lock on the source, unless a later start of
 * the run holds the lock (it planned meanwhile: the list and executions under the run's keys are
 * its own; with `plannedBy`, also one whose lock names another execution's plan, whatever the
 * clocks say). One atomic step (finishRun-4.lua), after the `before` commands.
 */
export async function finishRun(redis: Redis, prefix: string, runId: string, plannedAt?: number, plannedBy?: string, before: readonly RedisCommand[] = []): Promise<RunFinish> {
  const args = [runId, plannedAt ?? '', plannedBy ?? ''];
  // `before`: a record that the finish must never have happened without (run-finish-record.ts),
  // sent ahead of it in the same round trip.
  const [reply] = (await finishScript.runAll(redis, [{ keys: [runLockKey(prefix), workListKey(prefix, runId), runExecutionsKey(prefix, runId)], args }], before)) as [[number, number?]];
  return reply[0] === 3 ? { supersededBy: Number(reply[1]) } : { released: reply[0] === 1 };
}
