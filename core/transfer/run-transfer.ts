import { FatalError } from '../errors/sidekiq-migrate-error.js';
import { RunLock } from '../redis/run-lock.js';
import type { SortedSetName } from '../redis/sidekiq-keys.js';
import { discoverQueues } from '../reroute/discover-queues.js';
import type { PageResult } from '../reroute/drive-pages.js';
import type { Placement } from '../reroute/queue-slice.js';
import { transferQueue } from './queue-transfer.js';
import { RateLimiter } from './rate-limiter.js';
import { resumeInflight } from './resume-inflight.js';
import { transferSet } from './set-transfer.js';
import { ensureTargetId } from './target-identity.js';
import type { LockRenewals, RenewedSlice } from './slice-renewal.js';
import { addTransferCounters, emptyTransferCounters, type TransferCounters } from './transfer-counters.js';
import { assertRunId } from './transfer-keys.js';
import { retireRunLedgers } from './retire-ledger.js';
import { DEFAULT_LEDGER_TTL_SECONDS, type TransferContext } from './transfer-options.js';
import { forgetGoneInflightKeys } from './inflight-index.js';

export interface TransferRunRequest extends TransferContext {
  readonly sets: readonly SortedSetName[];
  /** true: every queue list of the source (other fetchers' private lists excluded); or these names. */
  readonly queues: boolean | readonly string[];
  /** Jobs per claim. */
  readonly sliceSize: number;
  readonly placement?: Placement;
  /** Jobs per second, on average; absent: as fast as Redis goes. */
  readonly rateLimit?: number;
  /** The run locks' time to live; renewed with every slice (default 60 s). */
  readonly lockTtlMs?: number;
  readonly onPage?: (key: string, page: PageResult<unknown, TransferCounters>) => void;
}

export interface TransferRunSummary {
  readonly resumed: TransferCounters;
  readonly sets: Partial<Record<SortedSetName, TransferCounters>>;
  readonly queues: Record<string, TransferCounters>;
  readonly totals: TransferCounters;
}

/**
 * A whole transfer in this process: take the run lock on both Redis servers, finish whatever
 * interrupted runs left in flight, then move each selected set and queue slice by slice, renewing
 * the locks as it goes, and release them at the end (also on failure). A dry run takes no lock
 * and writes nothing.
 */
export async function runTransfer(request: TransferRunRequest): Promise<TransferRunSummary> {
  assertRunId(request.runId);
  const ttl = request.lockTtlMs ?? 60_000;
  const locks: RunLock[] = [];
  const limiter = new RateLimiter(request.rateLimit);
  try {
    if (!request.dryRun) {
      const holder = { runId: request.runId, operation: 'transfer' as const };
      locks.push(await RunLock.acquire(request.source, request.sourceKeys.prefix, holder, ttl, `source ${request.sourceName ?? ''}`.trim()));
      locks.push(await RunLock.acquire(request.target, request.targetKeys.prefix, holder, ttl, `target ${request.targetName ?? ''}`.trim()));
    }
    // Each slice renews both locks in its last round trip on each server (slice-renewal.ts); a
    // slice that did not (class-selective, nothing claimed on a dry run) is followed by a renewal.
    const [sourceLock, targetLock] = locks;
    const renewLocks: LockRenewals | undefined = sourceLock && targetLock ? { source: () => sourceLock.renew(), target: () => targetLock.renew() } : undefined;
    const afterSlice = async (key: string, page: PageResult<unknown, TransferCounters> & RenewedSlice) => {
      request.onPage?.(key, page);
      const renewal = page.locks ?? { held: (await Promise.all(locks.map((l) => l.renew()))).every(Boolean) };
      if ('error' in renewal) throw renewal.error; // RunStoppedError
      if (!renewal.held) {
        throw new FatalError(`Run ${request.runId} lost its run lock (it expired, and another run took it or it is gone) after a slice of ${key}; stopping. Nothing is lost: jobs in flight are finished by the next run.`);
      }
      await limiter.after(page.counters.claimed);
    };

    // A run that writes names its target first: every batch it claims carries that name.
    const context = request.dryRun ? request : { ...request, targetId: await ensureTargetId(request.target, request.targetKeys) };
    const totals = emptyTransferCounters();
    // Its WAITs cover a renewal of the lock first (what it finishes was an earlier attempt's: replica-wait.ts `writtenElsewhere`).
    const resumed = await resumeInflight({ ...context, ...(renewLocks ? { replicationFences: renewLocks } : {}) }, request.placement);
    addTransferCounters(totals, resumed);

    const sets: Partial<Record<SortedSetName, TransferCounters>> = {};
    for (const set of request.sets) {
      const run = await transferSet({ ...context, set, renewLocks, ...(renewLocks ? { replicationFences: renewLocks } : {}), onPage: (page) => afterSlice(set, page as PageResult<unknown, TransferCounters>) });
      sets[set] = run.counters;
      addTransferCounters(totals, run.counters);
    }

    const queues: Record<string, TransferCounters> = {};
    const names = request.queues === true ? (await discoverQueues(request.source, request.sourceKeys)).queues : request.queues === false ? [] : request.queues;
    for (const queue of names) {
      const run = await transferQueue({ ...context, queue, renewLocks, ...(renewLocks ? { replicationFences: renewLocks } : {}), onPage: (page) => afterSlice(queue, page as PageResult<unknown, TransferCounters>) });
      queues[queue] = run.counters;
      addTransferCounters(totals, run.counters);
    }
    if (!request.dryRun) {
      await retireRunLedgers(request, [...request.sets, ...names.map((q) => `queue:${q}`)], request.ledgerTtlSeconds ?? DEFAULT_LEDGER_TTL_SECONDS);
      // As a workflow's summary does: the source's index names no in-flight key that is gone (a whole run leaves none).
      await forgetGoneInflightKeys(request.source, request.sourceKeys.prefix);
    }
    return { resumed, sets, queues, totals };
  } finally {
    await Promise.allSettled(locks.map((l) => l.release()));
  }
}
