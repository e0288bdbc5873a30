import { InputError } from '../errors/input-error.js';
import { classifyRedisError } from '../redis/redis-errors.js';
import { readTargetId } from '../transfer/target-identity.js';
import type { Connection } from '../workflow/connections.js';
import { readStartedWith } from '../workflow/started-with.js';
import { workListKey } from '../workflow/work-list.js';

/**
 * What a drain check saw of the target of a move out of the Redis it checks (DrainReport.moveTarget):
 * the id the move's first plan found there, the one there now, and whether they differ.
 */
export interface MoveTargetState {
  readonly runId: string;
  /** How the target is named (a redacted URL, or the deployment's connection). */
  readonly target: string;
  /** The target id the run's first plan found there (its started-with record on the source). */
  readonly plannedId: string;
  /** The target id there now; null: none (the server holds no data of any move). */
  readonly idNow: string | null;
  /** The target no longer carries the id the run found there: it lost its data since. */
  readonly lost: boolean;
}

/**
 * Why a drain check given the move looks at its target: the source drained by a move says nothing
 * of where its jobs went. A target that restarted without persistence, was flushed, or failed over
 * to a replica that had not received its id after the run's summary (which looks itself) holds
 * none of what was moved, and the source no longer holds it either: "DRAINED" there sent operators
 * on to decommission the only place the jobs had been. The target names itself with an id it
 * keeps without a TTL (target-identity.ts) and which goes with its data; the run's first plan
 * recorded the id it found there on the source (started-with.ts, 30 days). Two GETs.
 *
 * What it does not see: a target that kept its id but lost part of what it held (an older snapshot
 * reloaded after the move's summary, a failover to a replica a little behind): the run's ledgers,
 * which its summary looks at, expire 7 days after their set or queue is done and are not written
 * for a set or queue that held nothing, so their absence later is no proof of a loss.
 */
export async function lookAtMoveTarget(source: Connection, target: Connection, runId: string): Promise<MoveTargetState> {
  const prefix = source.keys.prefix;
  let started;
  let idNow: string | null;
  try {
    started = await readStartedWith(source.redis, prefix, runId, { routingKey: `${prefix}sidekiq-migrate:${runId}:routing`, selectionKey: `${prefix}sidekiq-migrate:${runId}:selection`, workListKey: workListKey(prefix, runId), mode: 'transfer' });
  } catch (error) {
    throw classifyRedisError(error, `Reading run ${runId}'s record on ${source.name}`);
  }
  if (started === undefined) {
    throw new InputError(`--run-id ${runId}: ${source.name} holds no record of that run (never planned there, a dry run, another prefix, or over 30 days ago): give the run id of a move out of this Redis, as its summary printed it. Nothing was checked.`);
  }
  if (started.mode !== 'transfer') throw new InputError(`--run-id ${runId}: that run re-routed jobs on ${source.name}, it moved none to another Redis: give the run id of a move (transfer). Nothing was checked.`);
  if (started.target === undefined) {
    throw new InputError(`--run-id ${runId}: that run's record on ${source.name} does not name its target (an older version kept it, or the run is still planning): whether ${target.name} still holds what it moved cannot be told. Nothing was checked.`);
  }
  try {
    idNow = await readTargetId(target.redis, target.keys);
  } catch (error) {
    throw classifyRedisError(error, `Reading the target id of ${target.name}`);
  }
  return { runId, target: target.name, plannedId: started.target, idNow, lost: idNow !== started.target };
}

/** The verdict's words for a move's target that lost its data since (judge-drain.ts). */
export function moveTargetLostReason(state: MoveTargetState): string {
  return (
    `the target ${state.target} lost what run ${state.runId} moved there: its target id ${state.plannedId}, which the run found there, is ${state.idNow === null ? 'gone' : `now ${state.idNow}`} ` +
    `(it restarted without persistence, was flushed, or failed over to a replica that had not received it). The jobs the move wrote there are gone from it, and they are no longer on this Redis either: ` +
    `restore the target from a backup if there is one, and keep this Redis until you know what is lost; this is not a verdict of drained`
  );
}
