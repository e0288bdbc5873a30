import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { RoutingPlan } from '../routing/routing-plan.js';
import type { LockRenewals } from './slice-renewal.js';

/** What every transfer step needs. */
export interface TransferContext {
  readonly source: Redis;
  readonly target: Redis;
  readonly sourceKeys: SidekiqKeys;
  readonly targetKeys: SidekiqKeys;
  /** Names this run's in-flight keys and ledgers (letters, digits, '_', '.', '-'). */
  readonly runId: string;
  /** Re-route on the way (class mapping or renames); absent: every job keeps its queue. */
  readonly plan?: RoutingPlan;
  readonly dryRun: boolean;
  /**
   * How long the target keeps a run's ledger once nothing it records is in flight (default 7 days;
   * until then it has no TTL: retire-ledger.ts).
   */
  readonly ledgerTtlSeconds?: number;
  readonly rewriteActiveJobQueueName?: boolean;
  /**
   * Carry only the jobs of these worker classes (the class routing sees: Sidekiq's `class`, or
   * ActiveJob's `wrapped`); every other job stays exactly where it is. Absent: every job.
   */
  readonly classes?: readonly string[];
  /**
   * The target's id (target-identity.ts), named by every batch this run claims, so that a later
   * resume can tell jobs left in flight for this target from jobs left in flight for another one.
   * Set by every run that writes (runTransfer, the workflow's plan and page steps); a context
   * without it claims batches that name no target, which a resume cannot check.
   */
  readonly targetId?: string;
  /**
   * When the run's execution planned (the run lock's plannedAt, RunSettings.plannedAt): a slice's
   * claim claims nothing once a later execution of the run holds the lock (claim-calls.ts).
   */
  readonly plannedAt?: number;
  /**
   * The execution whose plan took the run lock (its `plannedBy`, RunSettings.plannedBy), when
   * known: a claim or a write is refused too when the lock carries the same plannedAt from
   * another execution (a start of the run in the same millisecond holds it).
   */
  readonly plannedBy?: string;
  /**
   * The run locks' renewals (run-transfer.ts), sent with each slice's last round trip on each
   * server instead of one of their own after it; the slice says how they went (`locks` in its
   * result, slice-renewal.ts). Absent, or a slice that does not send them (class-selective, dry
   * run): the caller renews after the slice.
   */
  readonly renewLocks?: LockRenewals;
  /**
   * A write on each server on its connection (the run lock's renewal: true when it renewed), for
   * a WAIT whose connection was opened again after the writes it confirms (replica-wait.ts
   * `fence`). Absent: such a WAIT fails the slice, retryable, nothing acknowledged.
   */
  readonly replicationFences?: LockRenewals;
  /**
   * The writes the step's WAITs confirm may have been made on another connection than this one: a
   * claim, or a copy, of an earlier attempt (a process that is gone) that resume-inflight.ts
   * finishes. No socket vouches for them, so each WAIT covers a write of its own first (the
   * `replicationFences` write, on the socket the WAIT then runs on): a WAIT on a connection opened
   * again since its last write (ioredis sends it again there) answered at once, every replica
   * counted. Without a fence such a WAIT fails the step, retryable, nothing acknowledged.
   */
  readonly writtenElsewhere?: boolean;
  /** How the endpoints are named in messages (redacted URLs); absent: host:port. */
  readonly sourceName?: string;
  readonly targetName?: string;
  /**
   * The replicas each server had when the run was planned (RunSettings.replicas): every WAIT asks
   * for at least these (replica-wait.ts), on whatever connection the step runs.
   */
  readonly plannedReplicas?: PlannedReplicas;
  /**
   * The replicas the operator asked each WAIT to wait for (`--from-replicas`/`--to-replicas`,
   * RunSettings.askedReplicas; 0: not asked), for a server whose INFO hides them (replica-wait.ts).
   */
  readonly askedReplicas?: PlannedReplicas;
  /**
   * The routing an interrupted run claimed its leftovers under (resume-inflight.ts): what it stored
   * on the source for its id, undefined when it stored none (it carried jobs as they were). Absent:
   * leftovers are routed by `plan`.
   */
  readonly leftoverRouting?: (runId: string) => Promise<RoutingPlan | undefined>;
}

/** How many replicas the source and the target had (INFO replication) when a transfer was planned. */
export interface PlannedReplicas {
  readonly source: number;
  readonly target: number;
}

export const DEFAULT_LEDGER_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The most jobs a slice claims, whatever the page size asks: a bigger page size simply means more
 * slices. Each slice costs its round trips (claim, write, acknowledge), whatever its size, so a
 * smaller cap costs throughput; the Lua calls stay short instead because the claim and the writes
 * go out as calls of MAX_JOBS_PER_CLAIM_CALL and MAX_JOBS_PER_WRITE jobs, one pipeline per step.
 * 1,000, the default page size: one slice a default page (issue #18; bench/README.md, "audit-cap":
 * against 250, `move` of 100,000 jobs took about a third fewer round trips on the source and less
 * process CPU). What bounds a slice's memory is not this count but its bytes: the claim's Lua
 * calls stop at MAX_PAGE_BYTES of payloads, or one larger job (claim-calls.ts), however many jobs
 * of what size the slice was sized for. A stop, or the source's lock taken, is seen by the next
 * slice's claim: after at most one slice of up to this many jobs (tens of milliseconds).
 */
export const MAX_JOBS_PER_CLAIM = 1_000;

/**
 * The most jobs one claim Lua call on the source takes: a slice's claim (up to MAX_JOBS_PER_CLAIM
 * jobs) goes out as calls of at most this many, all in one pipeline (claim-calls.ts), because every
 * Sidekiq client of the source waits while a call runs, and issue #18 allows 1 ms at the 99th
 * percentile and 2 ms at most. Measured with scripts/measure-transfer-claims.ts (Redis's own time
 * per call, ~700 B jobs, 2-core VM at load average 3.4–3.6): a claim of 250 took a median of
 * 0.9 ms (queue) / 1.3 ms (set), p99 1.9 ms, max 2.6 / 3.6 ms; of 50, 0.18 / 0.27 ms, p99 0.34 /
 * 0.43 ms. A queue's acknowledge stays one call (it trims its list: under 0.1 ms at 250); a set's
 * removes its members one by one (0.4 ms median at 250) and goes out in calls of this many too
 * (acknowledge.ts).
 */
export const MAX_JOBS_PER_CLAIM_CALL = 50;

/**
 * The most jobs one write Lua call on the target takes: a slice's writes (up to
 * MAX_JOBS_PER_CLAIM jobs) go out as calls of at most this many, all in one pipeline
 * (write-to-target.ts), for the same reason the claims are capped: every Sidekiq client of the
 * target waits while a call runs, and issue #18 allows 1 ms at the 99th percentile and 2 ms at
 * most. A write costs about 6 µs per queued job and 10 µs per set entry (a ledger SADD and a push
 * or ZADD NX of a ~700 B payload, as scripts/measure-transfer-writes.ts measures it; 2-core VM, load 7–8):
 * 250 per call averaged 1.5 / 2.4–2.8 ms (queues / sets), 100 still 0.9–1.1 ms for sets, 50
 * 0.3 / 0.5–1.1 ms — the re-route's DEFAULT_LUA_BATCH. The extra calls share one round trip, so a
 * slice costs no more of them.
 */
export const MAX_JOBS_PER_WRITE = 50;
