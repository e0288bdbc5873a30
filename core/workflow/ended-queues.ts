import type { Redis } from 'ioredis';
import type { ListedItem, RunTally } from './run-tally.js';
import type { RunSettings } from './work-item.js';

/**
 * The queues whose items ended in each execution of a run, with their counters, on the source
 * beside the run's executions: `<prefix>sidekiq-migrate:<runId>:ended-queues`, a hash, one field
 * per queue and start of the run (`<plannedAt>\n<plannedBy>\n<queue name>`: an execution superseded
 * by a later start, `start --resume`, that summarizes late overwrites nothing of the later start's)
 * holding the item's counters as it ended. The run's last execution to summarize looks for jobs put on those
 * queues after their items ended (Sidekiq's shutdown requeue, a late producer): it had looked at
 * the queues of its own tally only, and not at all when one of its items continued elsewhere, so
 * a job pushed onto a queue whose item ended in another execution was left on the source under
 * "Complete" (test/workflow/cli-continued-run-findings.test.ts). Each execution writes its own
 * before it ends among the run's executions, so the last one reads every other's; that one
 * deletes the hash when it finishes the run. A stopped or failed run's expires with its executions.
 */
export const endedQueuesKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:ended-queues`;

/** As long as the run's executions (run-executions.ts): longer than any run with its continuations. */
const ENDED_QUEUES_TTL_SECONDS = 7 * 24 * 3600;

/** The fields of one start of the run begin with its plannedAt and plannedBy (either may be unknown: an older version's settings). */
const startOf = (settings: RunSettings): string => `${settings.plannedAt ?? ''}\n${settings.plannedBy ?? ''}\n`;

/**
 * Writes the queues of `tally` whose items ended in this execution. Not when one of its items
 * failed: a failed item's queue still holds what it did not move, and the tally lists it among
 * the others (its counters say nothing of arrivals); the run is not complete then anyway.
 * Idempotent: a retried summary writes the same.
 */
export async function recordEndedQueues(redis: Redis, prefix: string, settings: RunSettings, tally: RunTally): Promise<void> {
  if (tally.counts.failed > 0) return;
  const queues = tally.listed.filter((l) => l.kind === 'queue');
  if (queues.length === 0) return;
  const key = endedQueuesKey(prefix, settings.runId);
  const start = startOf(settings);
  const fields = queues.flatMap((q) => [`${start}${q.name}`, JSON.stringify(q.counters)]);
  await redis.multi().hset(key, ...fields).expire(key, ENDED_QUEUES_TTL_SECONDS).exec();
}

/** The queues whose items ended in any execution of this start of the run (a record of an earlier start is left out). */
export async function readEndedQueues(redis: Redis, prefix: string, settings: RunSettings): Promise<ListedItem[]> {
  const all = await redis.hgetall(endedQueuesKey(prefix, settings.runId));
  const start = startOf(settings);
  const out: ListedItem[] = [];
  for (const [field, text] of Object.entries(all).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!field.startsWith(start)) continue;
    let counters: ListedItem['counters'];
    try {
      counters = JSON.parse(text) as ListedItem['counters'];
    } catch {
      continue;
    }
    out.push({ kind: 'queue', name: field.slice(start.length), counters });
  }
  return out;
}

/**
 * The sets (`schedule`, `retry`, `dead`) whose items ended in each execution of a transfer, in the
 * same hash, for the last execution's look at entries added there after their pass ended (a retry
 * handler, a scheduler): a set of more than one page runs in an execution of its own (set-apart.ts),
 * so the last execution's own tally often lists none. Each field is `set\n` then the start and the
 * set's name: a queue's field begins with its start (a plannedAt, or a newline when unknown), never
 * with `set\n`, so neither reads the other's (nor does an older version, which reads queues only).
 * Not when one of its items failed (as recordEndedQueues). Idempotent: a retried summary writes the same.
 */
export async function recordEndedSets(redis: Redis, prefix: string, settings: RunSettings, tally: RunTally): Promise<void> {
  if (tally.counts.failed > 0) return;
  const sets = tally.listed.filter((l) => l.kind === 'set');
  if (sets.length === 0) return;
  const key = endedQueuesKey(prefix, settings.runId);
  const start = `${SET_FIELD}${startOf(settings)}`;
  const fields = sets.flatMap((s) => [`${start}${s.name}`, JSON.stringify(s.counters)]);
  await redis.multi().hset(key, ...fields).expire(key, ENDED_QUEUES_TTL_SECONDS).exec();
}

/** What a set's field begins with (recordEndedSets). */
const SET_FIELD = 'set\n';

/** The sets whose items ended in any execution of this start of the run (recordEndedSets), in name order. */
export async function readEndedSets(redis: Redis, prefix: string, settings: RunSettings): Promise<ListedItem[]> {
  const all = await redis.hgetall(endedQueuesKey(prefix, settings.runId));
  const start = `${SET_FIELD}${startOf(settings)}`;
  const out: ListedItem[] = [];
  for (const [field, text] of Object.entries(all).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!field.startsWith(start)) continue;
    try {
      out.push({ kind: 'set', name: field.slice(start.length), counters: JSON.parse(text) as ListedItem['counters'] });
    } catch {
      continue;
    }
  }
  return out;
}

/** The run is over (its last execution finished it): nothing reads them any more. */
export async function forgetEndedQueues(redis: Redis, prefix: string, runId: string): Promise<void> {
  await redis.del(endedQueuesKey(prefix, runId));
}
