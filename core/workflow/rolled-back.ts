import type { Redis } from 'ioredis';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { MOVES_TTL_SECONDS, movesKey } from '../reroute/move-record.js';
import { STARTED_WITH_TTL_SECONDS, serverTimeMs } from './started-with.js';

/**
 * A lasting record that a rollback of run R finished and put back everything R moved
 * (`sidekiq-migrate:<R>:rolled-back`: which rollback, and when it finished by the Redis's clock).
 * Without it nothing told, once the rollback's stored routing and work list were gone, that R's
 * rollback had run: a later run r2 that moved one of R's classes to the same queue from another
 * queue had its rollback refused as sharing that place with R (moved-on-since.ts sharedPlacesAmong),
 * for as long as R's record of moves is kept, though R's jobs were all back where they came from;
 * and `rollback R` again moved whatever was on R's queues by then (audit-rollbackrec).
 *
 * Written by the summary of a rollback's last execution (summarize-step.ts) only when the rollback
 * looked at every set and queue and left nothing behind (its verdict "Complete"). Kept as long as
 * the started-with record (30 days), which outlives R's record of moves: R's moves were recorded
 * before its rollback finished.
 */
export const ROLLED_BACK_TTL_SECONDS = STARTED_WITH_TTL_SECONDS;

export const rolledBackKey = (prefix: string, runId: string): string => `${prefix}sidekiq-migrate:${runId}:rolled-back`;

/** Which rollback put back everything the run moved, and when it finished (epoch ms, the Redis's clock). */
export interface RolledBack {
  readonly by: string;
  readonly at: number;
}

/** Records that rollback `by` put back everything run `of` moved, now (the server's clock), for 30 days. Two round trips (TIME, SET). */
export async function recordRolledBack(redis: Redis, prefix: string, of: string, by: string): Promise<void> {
  const at = await serverTimeMs(redis);
  await redis.set(rolledBackKey(prefix, of), JSON.stringify({ by, at } satisfies RolledBack), 'EX', ROLLED_BACK_TTL_SECONDS);
}

/** How deep a chain of rollbacks of rollbacks is followed (each a run of its own): deeper, the run is not taken as rolled back. */
const CHAIN_FOLLOWED = 16;

/**
 * The rollback that put back everything run `runId` moved, while that still holds: not when the
 * run moved jobs again after it (run again, or resumed: its record of moves, renewed by every
 * moving page, was given its 30 days after the rollback finished), nor when that rollback was
 * itself rolled back in the same way (its rollback put R's jobs back where R had put them).
 * Undefined otherwise (never rolled back so, its record gone, or none of ours).
 */
export async function rolledBackBy(redis: Redis, prefix: string, runId: string, depth = 0): Promise<RolledBack | undefined> {
  if (depth >= CHAIN_FOLLOWED) return undefined;
  const replies = (await redis.pipeline().time().get(rolledBackKey(prefix, runId)).pttl(movesKey(prefix, runId)).exec())!;
  for (const [error] of replies) if (error) throw error;
  const [seconds, micros] = replies[0]![1] as [string, string];
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const record = parsedRolledBack(replies[1]![1] as string | null);
  if (record === undefined) return undefined;
  // When the run last moved: its moves record was given its 30 days then.
  const movesTtl = replies[2]![1] as number;
  if (movesTtl > 0 && now + movesTtl - MOVES_TTL_SECONDS * 1000 > record.at) return undefined;
  if ((await rolledBackBy(redis, prefix, record.by, depth + 1)) !== undefined) return undefined;
  return record;
}

function parsedRolledBack(text: string | null): RolledBack | undefined {
  if (text === null) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<RolledBack> | null;
    return parsed !== null && typeof parsed === 'object' && typeof parsed.by === 'string' && typeof parsed.at === 'number' ? { by: parsed.by, at: parsed.at } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A rollback of run `of` when a rollback of it already put back everything it moved (rolledBackBy):
 * refused, dry run too, before any lock or write. A rollback again would move the jobs of its
 * classes on the queues it moved them to, none of them its own by then.
 */
export async function refuseRollbackOfRolledBack(redis: Redis, prefix: string, of: string): Promise<void> {
  const done = await rolledBackBy(redis, prefix, of);
  if (done === undefined) return;
  const at = new Date(done.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  throw new FatalError(
    `Run ${of} was rolled back already: rollback ${done.by} put back what it moved, leaving nothing behind, and finished at ${at}. ` +
      'A rollback of it again would move the jobs of its classes on the queues it moved them to, none of them its own now (jobs pushed there since, or moved there by another run): move those with a re-route of their own (sidekiq-migrate run). Nothing was touched.',
  );
}

/**
 * A rollback of run `rollback` (not a dry run) is about to move: when `rollback` is itself the
 * rollback whose record says it put back everything run R moved (`R:rolled-back`, by `rollback`),
 * that record is taken out first. Whatever this rollback ends with (Complete or not, killed midway,
 * continued), it may put R's jobs back where R had moved them, and only a Complete one recorded
 * `rollback:rolled-back` (which rolledBackBy's chain follows): left standing, R was still taken as
 * rolled back, and a rollback of a later run sharing R's place moved R's jobs to that run's queue
 * (audit-reviewb). Called under the run's lock, after its refusals, before its first page: its
 * only effect is that R is no longer taken as rolled back (a refusal where one was not), never a
 * job moved. GET then DEL: a record another rollback of R wrote meanwhile (named `by` another) is
 * left as it is.
 */
export async function forgetRolledBackOfRollback(redis: Redis, prefix: string, rolledBackRun: string | undefined, rollback: string): Promise<void> {
  if (rolledBackRun === undefined) return;
  const key = rolledBackKey(prefix, rolledBackRun);
  const record = parsedRolledBack(await redis.get(key));
  if (record?.by === rollback) await redis.del(key);
}
