import { classifyRedisError } from '../redis/redis-errors.js';
import { SORTED_SET_NAMES, type SortedSetName } from '../redis/sidekiq-keys.js';
import { escapeGlob } from '../reroute/discover-queues.js';
import { carryQueuedJob, carryScheduledJob } from './carry-job.js';
import { emptyTransferCounters, tallyCarried, type TransferCounters } from './transfer-counters.js';
import { listEntryIds, setEntryId } from './ledger-id.js';
import { batchKey, inflightPattern, ledgerKey, parseInflightKey } from './transfer-keys.js';
import { DEFAULT_LEDGER_TTL_SECONDS, type TransferContext } from './transfer-options.js';
import { writeEntriesToSet, writeJobsToQueues } from './write-to-target.js';

/** An in-flight key left on the source by an interrupted run. */
export interface InflightLeftover {
  readonly key: string;
  readonly runId: string;
  /** The source key it was claimed from (`queue:default`, `retry`). */
  readonly sourceKey: string;
  readonly type: 'list' | 'zset';
  readonly size: number;
}

/** Every run's in-flight keys on a source (a SCAN of the `sidekiq-migrate:*:inflight:*` keys). */
export async function findInflightLeftovers(context: Pick<TransferContext, 'source' | 'sourceKeys'>): Promise<InflightLeftover[]> {
  const { source, sourceKeys } = context;
  const found: InflightLeftover[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await source.scan(cursor, 'MATCH', inflightPattern(escapeGlob(sourceKeys.prefix)), 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const parsed = parseInflightKey(sourceKeys.prefix, key);
        if (parsed === null) continue;
        const type = await source.type(key);
        if (type === 'list') found.push({ key, ...parsed, type, size: await source.llen(key) });
        else if (type === 'zset') found.push({ key, ...parsed, type, size: await source.zcard(key) });
      }
    } while (cursor !== '0');
  } catch (error) {
    throw classifyRedisError(error, 'Looking for in-flight jobs of interrupted transfers');
  }
  return found;
}

/**
 * Finishes what interrupted runs left in flight — this run's or another's — before anything new
 * is claimed: writes each leftover to the target through the ledger of the run that claimed it
 * (so what that run already wrote is not written again), then deletes the in-flight key.
 */
export async function resumeInflight(context: TransferContext, placement: 'front' | 'append' = 'front'): Promise<TransferCounters> {
  const counters = emptyTransferCounters();
  if (context.dryRun) return counters;
  const ttl = context.ledgerTtlSeconds ?? DEFAULT_LEDGER_TTL_SECONDS;
  const aj = context.rewriteActiveJobQueueName ?? true;
  for (const leftover of await findInflightLeftovers(context)) {
    try {
      const ledger = ledgerKey(context.targetKeys.prefix, leftover.runId, leftover.sourceKey);
      // The batch id the claiming run gave these entries: the ids its ledger knows them by.
      const batch = batchKey(context.sourceKeys.prefix, leftover.runId, leftover.sourceKey);
      const batchId = (await context.source.get(batch)) ?? '';
      if (leftover.type === 'list' && leftover.sourceKey.startsWith('queue:')) {
        const queue = leftover.sourceKey.slice('queue:'.length);
        const held = await context.source.lrangeBuffer(leftover.key, 0, -1);
        const ids = listEntryIds(batchId, held.length);
        const jobs = held.map((job, i) => ({ ...carryQueuedJob(job, queue, context.plan, aj), id: ids[i]! }));
        tallyCarried(counters, jobs);
        // In-flight lists keep claim order, so the push that matches the claim keeps job order.
        await writeJobsToQueues(context.target, context.targetKeys, ledger, ttl, placement === 'front' ? 'RPUSH' : 'LPUSH', jobs, counters);
        counters.resumed += jobs.length;
      } else if (leftover.type === 'zset' && (SORTED_SET_NAMES as readonly string[]).includes(leftover.sourceKey)) {
        const set = leftover.sourceKey as SortedSetName;
        const flat = await context.source.zrangeBuffer(leftover.key, 0, '-1', 'WITHSCORES');
        const entries = [];
        for (let i = 0; i < flat.length; i += 2) entries.push({ ...carryScheduledJob(flat[i]!, context.plan, aj), id: setEntryId(batchId, flat[i]!), score: flat[i + 1]!.toString('latin1') });
        tallyCarried(counters, entries);
        await writeEntriesToSet(context.target, context.targetKeys.sortedSet(set), set, ledger, ttl, entries, counters);
        counters.resumed += entries.length;
      } else {
        continue; // not a shape we write: left for an operator, and reported by the drain check
      }
      await context.source.del(leftover.key, batch);
    } catch (error) {
      throw classifyRedisError(error, `Resuming ${leftover.key}`);
    }
  }
  return counters;
}
