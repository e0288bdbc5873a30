import type { Redis } from 'ioredis';
import { RedisUnavailableError } from './redis-errors.js';

/**
 * How long a transfer's WAIT gives a server's replicas to confirm its writes. A few seconds: on
 * a healthy link a replica has them within milliseconds, so one that has not after seconds is
 * stalled or far behind, and waiting longer would only hold the page (and its run locks) without
 * making anything safer; the page fails as retryable and its next attempt asks again. Never more
 * than an eighth of the connection's command timeout (COMMAND_TIMEOUT_SHARE), so that WAIT's
 * reply, and the replies of what waits behind it, are not given up on first.
 */
export const REPLICA_WAIT_MS = 3_000;

/**
 * The share of a connection's command timeout one WAIT may take. The CLI runs up to 4 pages side
 * by side (the state machine's MaxConcurrency) on one connection per server, and Redis serves a
 * client's commands in order, so their WAITs run one after the other and every other command of
 * that connection waits behind them: eight WAITs fit in the timeout, the others' included.
 */
const COMMAND_TIMEOUT_SHARE = 8;

/**
 * How long the number of replicas read from `INFO replication` is trusted on a connection: long
 * enough that a transfer's pages do not each pay an INFO round trip, short enough that a replica
 * added or removed (a failover, a resize) is seen within a few pages.
 */
const REPLICA_COUNT_TTL_MS = 5_000;

const replicaCounts = new WeakMap<Redis, { readonly replicas: number; readonly until: number }>();

/**
 * The most replicas a connection has seen its server report, within REPLICA_MEMORY_MS of when it
 * last saw that many. A replica whose link broke (stalled past repl-timeout, restarted) is not
 * counted while it reconnects and syncs again, yet a failover may promote it: were the count taken
 * as it is then, the run would go on without waiting for it and acknowledge what only the primary
 * has (a stalled replica did exactly that after a minute of retries). So fewer replicas than the
 * connection saw lately fails the page (retryable). Not for ever: a replica removed for good would
 * block a Lambda container's kept connection for its whole life.
 */
const mostReplicas = new WeakMap<Redis, { readonly replicas: number; readonly seenAt: number }>();

/** How long a replica count once seen is still asked for (see mostReplicas): past the state machine's retries of a page (about 2 min). */
const REPLICA_MEMORY_MS = 10 * 60_000;

/** `connected_slaves` of an INFO reply (the `replication` section, or all of them). */
export function connectedSlaves(info: string): number {
  return Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
}

/** Remembers what an INFO reply read on this connection said of its replicas (connect-redis.ts reads one anyway). */
export function noteReplicas(redis: Redis, info: string): void {
  const replicas = connectedSlaves(info);
  replicaCounts.set(redis, { replicas, until: Date.now() + REPLICA_COUNT_TTL_MS });
  const most = mostReplicas.get(redis);
  if (!most || replicas >= most.replicas || Date.now() - most.seenAt > REPLICA_MEMORY_MS) mostReplicas.set(redis, { replicas, seenAt: Date.now() });
}

/**
 * How many replicas the server has, as its `INFO replication` says (`connected_slaves`; INFO is
 * allowed on ElastiCache, where CONFIG is not), read at most every REPLICA_COUNT_TTL_MS per
 * connection. A proxy that hides its replicas (Redis Enterprise's) says 0.
 */
export async function connectedReplicas(redis: Redis): Promise<number> {
  const known = replicaCounts.get(redis);
  if (known && known.until > Date.now()) return known.replicas;
  noteReplicas(redis, await redis.info('replication'));
  return replicaCounts.get(redis)!.replicas;
}

/**
 * The most replicas this connection has seen its server have (mostReplicas) or has now: what a
 * run's plan records (RunSettings.replicas), so that a page on a connection that never saw them
 * (a new Lambda container, after a replica dropped out) still asks for them.
 */
export async function replicasSeen(redis: Redis): Promise<number> {
  const connected = await connectedReplicas(redis);
  return Math.max(connected, mostReplicas.get(redis)?.replicas ?? 0);
}

/** When a replica removed for good stops being asked for: the run's plan counted it, or only this connection did. */
function forgotten(replicas: number, seenHere: number): string {
  return replicas > seenHere
    ? 'A replica removed for good is asked for until the run is planned again (its command run again, or a new execution).'
    : `A replica removed for good is no longer asked for ${REPLICA_MEMORY_MS / 60_000} min after it was last seen.`;
}

/** What a confirmation is about, for its error: the step, the server's role and name, and what a failure leaves. */
export interface ReplicatedStep {
  /** "Claiming from queue:default", "Writing retry": what was just written. */
  readonly doing: string;
  /** "source", "target". */
  readonly role: string;
  /** The server as the operator knows it (a redacted URL); host:port when not given. */
  readonly name: string | undefined;
  /** What a WAIT that came short leaves, and what finishes it. */
  readonly leaves: string;
  /**
   * How many replicas the run's plan saw the server have (RunSettings.replicas; absent: none
   * recorded): asked for like the ones this connection saw, since a connection opened later (a
   * page retried in a new Lambda container) does not know a replica that dropped out before it.
   */
  readonly planned?: number;
  /**
   * How many replicas the operator asked for (`--from-replicas`/`--to-replicas`) and under which
   * option: a proxy that hides its replicas (Redis Enterprise's, some managed services) reports
   * none in INFO, and the move would send no WAIT at all. WAIT asks for at least this many; not
   * held against INFO's count (the proxy reports 0 however many there are).
   */
  readonly asked?: { readonly replicas: number; readonly option: string };
  /**
   * The socket the connection was on (`socketOf`) before the writes to confirm were sent. WAIT
   * waits for its own socket's last write (a new socket's WAIT, having written nothing, answers at
   * once with every replica counted): when the connection has connected again since (ioredis
   * reconnects, and sends an unanswered WAIT or write again), the WAIT is not believed. `fence`
   * then writes on the socket now in use and WAIT covers that write, so everything the server ran
   * before it, whichever socket wrote it. Absent: the caller vouches for the socket.
   */
  readonly wroteOn?: unknown;
  /**
   * A write on the server (the run lock's renewal), made after everything to confirm had run:
   * true when it wrote. Absent, or it wrote nothing: a WAIT on another socket than `wroteOn`'s
   * fails the step (retryable) instead.
   */
  readonly fence?: () => Promise<boolean>;
  /**
   * The writes to confirm may have been made on another connection (an earlier attempt's claim or
   * copy, which resume-inflight.ts finishes; its process may be gone): no socket vouches for them,
   * and a WAIT on a connection opened again since its own last write covers nothing (it answers at
   * once, every replica counted). The WAIT covers `fence` first, written on the socket in use: the
   * writes were on the server before it (the step read them there). No fence, it wrote nothing, or
   * the connection opened again under the two: a retryable error, nothing confirmed.
   */
  readonly writtenElsewhere?: boolean;
  /**
   * The step's own call wrote nothing (a retried copy whose jobs the ledger already had, a claim
   * that only returned jobs an earlier attempt left in flight): what WAIT is to cover was written
   * by an earlier call, perhaps on another socket. Redis 7.2 and later (Valkey too) move a
   * connection's WAIT offset only with a write that replicates, so such a WAIT covers this socket's
   * last write, which may be older than those writes, or none at all on a socket opened again
   * since (it answers at once, every replica counted). The WAIT covers `fence` first, as for
   * `writtenElsewhere`; without a fence to write, it waits as before. Costs a round trip only
   * when the call wrote nothing.
   */
  readonly wroteNothing?: boolean;
}

/** The socket a connection is on now: ioredis opens a new one each time it connects again. */
export function socketOf(redis: Redis): unknown {
  return (redis as unknown as { stream?: unknown }).stream;
}

/**
 * Waits until every replica of the server has this connection's writes (WAIT), before the caller
 * takes a step that makes them irreversible on the other server: a failover that promoted a
 * replica without them would undo a claim whose copy exists (duplicates) or lose a copy whose
 * source the acknowledge deleted. WAIT waits for this connection's last write; every transfer step
 * takes or renews its run lock on the connection (a write) before it claims or copies anything,
 * so that write is at or after whatever an earlier attempt, of this process or another, wrote.
 *
 * Nothing is sent to a server without replicas: WAIT for N > 0 replicas there would block until
 * its timeout. Fewer confirmations than replicas within REPLICA_WAIT_MS, or fewer replicas
 * connected than the connection saw before (mostReplicas) or the run's plan saw (`step.planned`): a retryable error naming the server
 * and how many confirmed; the caller's step does not happen.
 */
export async function confirmReplicated(redis: Redis, step: ReplicatedStep): Promise<void> {
  const connected = await connectedReplicas(redis);
  const seen = Math.max(connected, mostReplicas.get(redis)?.replicas ?? 0, step.planned ?? 0);
  // Never fewer than INFO reports; the operator's count where INFO reports fewer (a hiding proxy).
  const replicas = Math.max(seen, step.asked?.replicas ?? 0);
  if (replicas === 0) return;
  const name = step.name ?? `${redis.options.host ?? '?'}:${redis.options.port ?? '?'}`;
  if (connected < seen) {
    // Read the count again next time: the replica may be back.
    replicaCounts.delete(redis);
    throw new RedisUnavailableError(
      `${step.doing}: the ${step.role} ${name} has ${connected} replica(s) connected, ${replicas} earlier in this run (one lost its link, or is syncing again), ` +
        `and a failover could promote one without these writes; ${step.leaves} ${forgotten(seen, Math.max(connected, mostReplicas.get(redis)?.replicas ?? 0))}`,
    );
  }
  const timeoutMs = Math.max(1, Math.min(REPLICA_WAIT_MS, Math.floor((redis.options.commandTimeout ?? Infinity) / COMMAND_TIMEOUT_SHARE)));
  const waitedOn = socketOf(redis);
  // Written elsewhere (a resumed claim or copy): only a write of the step's own on this socket is waited for.
  const fenced = step.writtenElsewhere === true || (step.wroteNothing === true && step.fence !== undefined);
  let confirmed = fenced ? await fencedWait(redis, step, name, replicas, timeoutMs) : await waitFor(redis, step, name, replicas, timeoutMs);
  if (!fenced && confirmed >= replicas && step.wroteOn !== undefined && (step.wroteOn !== waitedOn || socketOf(redis) !== waitedOn)) {
    // Connected again since the writes were sent: this WAIT may have covered none of them.
    confirmed = await fencedWait(redis, step, name, replicas, timeoutMs);
  }
  if (confirmed >= replicas) return;
  // Read the count again next time: a replica may have gone for good.
  replicaCounts.delete(redis);
  throw new RedisUnavailableError(
    `${step.doing}: only ${confirmed} of the ${replicas} replica(s) of the ${step.role} ${name}${askedNote(step, seen)} confirmed the writes within ${timeoutMs / 1000} s (WAIT), ` +
      `so a failover there could still undo them; ${step.leaves}`,
  );
}

/** Where a WAIT's count came from when the operator's option raised it above what INFO reports. */
function askedNote(step: ReplicatedStep, seen: number): string {
  if (!step.asked || step.asked.replicas <= seen) return '';
  // The count is the run's (asked-replicas.ts): a lower one is for a new run.
  return ` (${step.asked.replicas} asked for with ${step.asked.option}; it reports ${seen}: if it has fewer, move the rest as a new run with a lower ${step.asked.option})`;
}

/**
 * WAIT after a write of the step's own (`fence`) on one socket: the fence ran after every write to
 * confirm (they had answered), so a replica that has it has them. The connection connecting again
 * under the two (the fence, or the WAIT, sent again on another socket) or no fence written: a
 * retryable error, nothing confirmed.
 */
async function fencedWait(redis: Redis, step: ReplicatedStep, name: string, replicas: number, timeoutMs: number): Promise<number> {
  const socket = socketOf(redis);
  const fenced = step.fence ? await step.fence() : false;
  const confirmed = fenced ? await waitFor(redis, step, name, replicas, timeoutMs) : 0;
  if (fenced && socketOf(redis) === socket) return confirmed;
  replicaCounts.delete(redis);
  if (step.writtenElsewhere && !fenced) {
    throw new RedisUnavailableError(
      `${step.doing}: an earlier attempt made these writes on a connection of its own, and no write of this step's own could be made on the ${step.role} ${name} for a WAIT to cover them; ${step.leaves}`,
    );
  }
  if (step.wroteNothing && !fenced) {
    throw new RedisUnavailableError(
      `${step.doing}: this attempt wrote none of them (an earlier one had), and no write of this step's own could be made on the ${step.role} ${name} for a WAIT to cover them; ${step.leaves}`,
    );
  }
  throw new RedisUnavailableError(
    `${step.doing}: the connection to the ${step.role} ${name} was opened again after the writes, and a WAIT there does not wait for them; ${step.leaves}`,
  );
}

/** One WAIT: how many replicas confirmed the connection's last write. */
async function waitFor(redis: Redis, step: ReplicatedStep, name: string, replicas: number, timeoutMs: number): Promise<number> {
  try {
    return Number(await redis.call('WAIT', replicas, timeoutMs));
  } catch (error) {
    // A connection shared by pages running side by side (the CLI's) runs their WAITs one after
    // the other: with stalled replicas the last ones outlast the command timeout.
    if (!/Command timed out/i.test(String((error as Error)?.message))) throw error;
    replicaCounts.delete(redis);
    throw new RedisUnavailableError(
      `${step.doing}: the ${replicas} replica(s) of the ${step.role} ${name} did not confirm the writes (WAIT got no reply within the command timeout), ` +
        `so a failover there could still undo them; ${step.leaves}`,
      { cause: error },
    );
  }
}
