import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { FatalError } from '../../core/errors/sidekiq-migrate-error.js';
import type { LockHolder } from '../../core/redis/run-lock.js';
import { RunLockedError, runLockKey } from '../../core/redis/run-lock.js';
import { findInflightLeftovers } from '../../core/transfer/resume-inflight.js';
import type { Connection } from '../../core/workflow/connections.js';
import { runExecutionsKey } from '../../core/workflow/run-executions.js';
import { parsedRecord, startedWithKey } from '../../core/workflow/started-with.js';

/**
 * A dead transfer of this machine holds the lock on this move's target, and this move cannot
 * resume it: it went the other way (a shard move's step back while the step there is dead) or
 * came from another Redis. Taking its id would move under it without finishing it (its jobs
 * stay in flight on its source) and mix this run's in-flight keys and ledgers with its own; a
 * new id would be refused by its lock. Nothing is touched.
 */
export class DeadRunInTheWayError extends FatalError {}

/**
 * The run id for a CLI run: the one given, or — when a run of this machine holds the lock but its
 * process is gone (killed, crashed, machine rebooted) — that run's id, so that this run resumes
 * it at once instead of waiting for its lock to expire; otherwise a new one, e.g.
 * `reroute-20261123-204512-3f9a`.
 *
 * A transfer (connections: source, target) resumes a dead transfer only one that went the same
 * way: it is refused (DeadRunInTheWayError) when the dead run holding the target's lock started
 * from the target (its run's executions are kept on its source: run-executions.ts), or does not
 * hold the source's lock as well (it came from another Redis).
 *
 * A given run id whose lock is held by a live process of this machine is refused as any run's lock
 * is (RunLockedError): the same id takes its own lock again, so this command would take the run
 * from under that process and both would move its jobs (with other routing, elsewhere). A dry
 * run takes no lock and writes nothing: nothing is in its way.
 */
export async function chooseRunId(given: string | undefined, mode: 'reroute' | 'transfer', connections: readonly Connection[], { dryRun = false, isAlive = pidAlive }: { dryRun?: boolean; isAlive?: (pid: number) => boolean } = {}): Promise<{ runId: string; resumes: boolean }> {
  if (given) {
    if (!dryRun) for (const [i, c] of connections.entries()) await refuseLiveHolder(c, i === 0 ? 'source' : 'target', given, isAlive);
    return { runId: given, resumes: false };
  }
  const dead: (LockHolder | undefined)[] = [];
  for (const c of connections) dead.push(await deadRunOfThisMachine(c, isAlive));
  if (mode === 'transfer' && connections.length === 2) await refuseDeadRunInTheWay(connections[0]!, connections[1]!, dead[0], dead[1]);
  for (const holder of dead) if (holder?.operation === mode) return { runId: holder.runId, resumes: true };
  return { runId: newRunId(mode), resumes: false };
}

/** The holder of the lock on `c` when it is a run of this machine whose process is gone and whose lock has not expired. */
export async function deadRunOfThisMachine(c: Connection, isAlive: (pid: number) => boolean = pidAlive): Promise<LockHolder | undefined> {
  const value = await c.redis.get(runLockKey(c.keys.prefix));
  if (value === null) return undefined;
  try {
    const holder = JSON.parse(value) as LockHolder;
    // An expired lock (it stays as a key: its expiry is in its value) is nobody's to resume.
    if (holder.expiresAt !== undefined && holder.expiresAt < Date.now()) return undefined;
    if (holder.host === hostname() && !isAlive(holder.pid)) return holder;
  } catch {
    // not a lock we wrote: the plan step will name it
  }
  return undefined;
}

/** Refuses run `runId` when a live process of this machine (not this one) holds its lock on `c`, unexpired. */
async function refuseLiveHolder(c: Connection, name: string, runId: string, isAlive: (pid: number) => boolean): Promise<void> {
  const value = await c.redis.get(runLockKey(c.keys.prefix));
  if (value === null) return;
  let holder: LockHolder;
  try {
    holder = JSON.parse(value) as LockHolder;
  } catch {
    return; // not a lock we wrote: the plan step will name it
  }
  if (holder.runId !== runId || holder.host !== hostname() || holder.pid === process.pid || !isAlive(holder.pid)) return;
  const [seconds] = await c.redis.time();
  const expiresInMs = holder.expiresAt === undefined ? -1 : holder.expiresAt - Number(seconds) * 1000;
  if (holder.expiresAt !== undefined && expiresInMs <= 0) return;
  throw new RunLockedError(`${name} ${c.name}`, holder, expiresInMs);
}

async function refuseDeadRunInTheWay(source: Connection, target: Connection, onSource: LockHolder | undefined, onTarget: LockHolder | undefined): Promise<void> {
  if (onTarget?.operation !== 'transfer') return;
  const fromTarget = (await target.redis.exists(runExecutionsKey(target.keys.prefix, onTarget.runId))) === 1;
  const sameRun = onSource?.runId === onTarget.runId || (!fromTarget && (await releasedOnSourceOnly(source, onTarget.runId)));
  if (!fromTarget && sameRun) return;
  const id = onTarget.runId;
  // Its jobs in flight are on its source: the target here when it started there.
  const held = fromTarget ? (await findInflightLeftovers({ source: target.redis, sourceKeys: target.keys })).filter((l) => l.runId === id).reduce((n, l) => n + l.size, 0) : 0;
  const inflight = held > 0 ? ` (${held} job(s) of it in flight on ${target.name}, where no worker runs them)` : '';
  if (fromTarget && sameRun) {
    // Its move again without its routing or classes (a shard runbook's --store, --classes) is refused in turn: say so in the command named.
    const started = parsedRecord(await target.redis.get(startedWithKey(target.keys.prefix, id)));
    const selective = started !== undefined && (started.routing !== null || started.classes !== null) ? ', with the routing and classes it was started with' : '';
    throw new DeadRunInTheWayError(
      `Run ${id}, a transfer from ${target.name} to ${source.name} whose process on this machine is gone, still holds the run lock on both${inflight}. ` +
        `This move goes the other way and would not finish it. Finish that run first by running its move again (sidekiq-migrate move --from ${target.name} --to ${source.name}${selective}: it resumes ${id}), then this one. Nothing was touched.`,
    );
  }
  const what = fromTarget ? `a transfer from ${target.name}` : 'a transfer into it from another Redis';
  throw new DeadRunInTheWayError(
    `Run ${id}, ${what} whose process on this machine is gone, still holds the run lock on ${target.name}${inflight}. ` +
      `This move would not finish it. Finish that run first by running its move again (with its --from and --to: it resumes ${id}), then this one. Nothing was touched.`,
  );
}

/**
 * Whether run `runId` started from `source` and its lock there is gone while it still holds the
 * target's: a stop (Ctrl-C, `stop`) releases the source's lock first, then the target's, and a
 * second Ctrl-C in between quits at once. Its executions are kept on its source
 * (run-executions.ts), so the same move resumes it; refused, the very command the refusal names
 * would be refused again until the target's lock expired. A source lock of any holder (another
 * run's, a live one's) leaves it to the refusal and to the plan.
 */
async function releasedOnSourceOnly(source: Connection, runId: string): Promise<boolean> {
  const [lock, started] = await Promise.all([source.redis.get(runLockKey(source.keys.prefix)), source.redis.exists(runExecutionsKey(source.keys.prefix, runId))]);
  return lock === null && started === 1;
}

/** A new run id: `reroute-20261123-204512-3f9a` — sortable, unique enough, a valid execution name. */
export function newRunId(kind: 'reroute' | 'transfer' | 'rollback', now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${kind}-${stamp}-${randomBytes(2).toString('hex')}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
