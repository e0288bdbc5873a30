import { hostname } from 'node:os';
import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { lockHeldByAnotherRun } from '../redis/lock-held-by-another.js';
import type { LockHolder } from '../redis/run-lock.js';
import type { Connection } from './connections.js';
import { storedRoutingKey, type SerializedRouting } from './stored-routing.js';
import { parsedRecord, serverTimeMs, startedWithKey } from './started-with.js';

/**
 * A dry-run rollback of run `of` while `of` still runs, or a rollback of it does: refused.
 * A rollback then is refused as locked, but a dry run takes no lock, so it went on and counted a
 * moving target (a part of the jobs that run was still moving or putting back, and its own moves
 * as jobs that "arrived"), saying what a rollback would put back where a rollback puts back nothing.
 *
 * Told by the source's run lock (unexpired by the server's clock, renewed while its holder runs),
 * so it holds wherever that run was started: this machine, another one, or a deployed execution.
 * Asked by the local rollback command before it connects its run, and by the plan step of every
 * dry-run rollback (`start --rollback R --dry-run` on AWS, whose CLI cannot see the run's lock),
 * in the same words. A holder whose process is known gone (`isDead`: a local run of this machine
 * that was killed) is not refused: its moves are over, and its dry run counts what a rollback
 * would put back once its lock has expired.
 */
export async function refuseDryRunOfRunningRun(source: Connection, of: string, runId: string, isDead: (holder: LockHolder) => boolean | Promise<boolean>): Promise<void> {
  const held = await lockHeldByAnotherRun(source.redis, source.keys.prefix, runId, `source ${source.name}`);
  if (held === undefined || typeof held.holder === 'string') return;
  const holder = held.holder.runId;
  const rollback = holder !== of && (await isRollbackOf(source, holder, of));
  if ((holder !== of && !rollback) || (await isDead(held.holder))) return;
  const lock = held.message.slice(0, held.message.indexOf(';'));
  // A holder of this machine that is not dead is alive. One of another machine (to the plan Lambda,
  // every CLI run's) may have been killed: its lock holds until it expires, said with what to do.
  // A deployed execution's holder names the plan Lambda's sandbox as its host: a dry-run plan in
  // that same warm sandbox cannot tell either whether the execution ended without releasing it.
  const alive = held.holder.host === hostname() && !deployedHolder(held.holder);
  const expiresAt = typeof held.holder.expiresAt === 'number' ? held.holder.expiresAt : held.expiresInMs < 0 ? undefined : (await serverTimeMs(source.redis)) + held.expiresInMs;
  // A rollback taken over finishes the rollback: nothing is left to dry-run then.
  const gone = alive ? '' : ` ${ifGone(held.holder, expiresAt, rollback ? undefined : 'roll it back')}`;
  const running = alive ? 'is still running' : 'may still be running';
  if (rollback) {
    throw new FatalError(`Rollback ${holder} of run ${of} ${running}: ${lock}, and a rollback of ${of} is refused until it ends. A dry run now would count jobs it is still putting back. Dry-run the rollback again once ${holder} has ended (or stop it).${gone} Nothing was touched.`);
  }
  throw new FatalError(`Run ${of} ${running}: ${lock}, and a rollback of it is refused until it ends. A dry run now would count jobs it is still moving. Dry-run the rollback again once ${of} has ended (or stop it).${gone} Nothing was touched.`);
}

/** The local state machine's name in the ARNs of local executions (infra/local/local-state-machine-name.ts): a lock whose plannedBy names it was taken by a CLI run. */
const LOCAL_EXECUTIONS = ':execution:sidekiq-migrate-local:';

/** A lock taken by a deployed execution's plan (its plannedBy an ARN of another state machine than the local one). */
function deployedHolder(holder: LockHolder): boolean {
  return holder.plannedBy !== undefined && !holder.plannedBy.includes(LOCAL_EXECUTIONS);
}

/**
 * What to do when the lock's holder is gone without releasing it: the lock looks the same as a
 * live one's to a machine other than the holder's (the plan Lambda is always one) until it expires
 * (RUN_LOCK_TTL_MS after its last renewal), so the refusal says when, by the server's clock, and,
 * for a CLI run, the takeover: its own command again on its machine resumes it at once.
 */
function ifGone(holder: LockHolder, expiresAt: number | undefined, then: string | undefined): string {
  const deployed = deployedHolder(holder);
  const until = expiresAt === undefined ? 'until it is deleted by hand (it has no expiry)' : `until ${new Date(expiresAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`;
  const after = expiresAt === undefined ? 'once it is gone' : 'after that';
  if (deployed) return `If its execution ended without releasing its lock, the lock holds ${until}: dry-run the rollback again ${after}.`;
  const takeOver = `take ${holder.runId} over at once by running its command again on ${holder.host} (with --run-id ${holder.runId}: it resumes ${holder.runId})${then !== undefined ? `, then ${then}` : ''}`;
  return `If its process is gone (killed, or its machine down), its lock holds ${until}: dry-run the rollback again ${after}, or ${takeOver}.`;
}

/**
 * A lock holder that is a process of this host that is gone (a local run killed). On Lambda the
 * holder's host is the sandbox that planned it: one of this sandbox is its runtime, alive.
 */
export function deadProcessOfThisHost(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

/**
 * Whether run `runId` on `source` is a rollback (of run `of`, when given), by the routing its plan
 * stored, or, once that is gone (7 days: RUN_PLAN_TTL_SECONDS), by its started-with record, kept
 * as long as its record of moves (30 days): a week after `rollback r2`, its moves record read as
 * a re-route's refused `rollback r1` as sharing a place with it (audit-reviewb).
 */
export async function isRollbackOf(source: Connection, runId: string, of?: string): Promise<boolean> {
  const rolledBack = await rollbackOfWhich(source, runId);
  return rolledBack !== undefined && (of === undefined || rolledBack === of);
}

/** The run that run `runId` rolled back, by the same records as isRollbackOf; undefined when it is no rollback (or they are gone). */
export async function rollbackOfWhich(source: Connection, runId: string): Promise<string | undefined> {
  const [[routingError, text], [startedError, started]] = (await source.redis.pipeline().get(storedRoutingKey(source.keys.prefix, runId)).get(startedWithKey(source.keys.prefix, runId)).exec())! as [[Error | null, string | null], [Error | null, string | null]];
  if (routingError ?? startedError) throw routingError ?? startedError;
  try {
    const stored = text === null ? null : (JSON.parse(text) as SerializedRouting);
    if (stored !== null) return stored.kind === 'reverse' && typeof stored.of === 'string' ? stored.of : undefined;
    // Its canonical routing: ["reverse", of, moves] (started-with.ts canonicalRouting).
    const routing = parsedRecord(started)?.routing;
    const canonical = typeof routing === 'string' ? (JSON.parse(routing) as unknown) : null;
    return Array.isArray(canonical) && canonical[0] === 'reverse' && typeof canonical[1] === 'string' ? canonical[1] : undefined;
  } catch {
    return undefined;
  }
}
