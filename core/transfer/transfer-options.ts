import type { Redis } from 'ioredis';
import type { SidekiqKeys } from '../redis/sidekiq-keys.js';
import type { RoutingPlan } from '../routing/routing-plan.js';

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
}

export const DEFAULT_LEDGER_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The most jobs one claim takes, whatever the page size asks: a claim is one Lua call on the
 * source, and every Sidekiq client of that Redis waits while it runs. Its time grows with the
 * jobs it moves and returns (≈ 2.4 ms for 1,000 GitLab-sized jobs on a 2-core VM, bench/README.md);
 * 250 keeps each call well under the 2 ms that issue #18 allows, and a bigger page size simply
 * means more slices.
 */
export const MAX_JOBS_PER_CLAIM = 250;

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
